"""Benefits as answered: each with its reward (discounts, category, tier) and its owner."""

from __future__ import annotations

import uuid

from loyalty.api.models.benefits import BenefitOut
from loyalty.domain.benefits import Benefit
from loyalty.domain.members import Member
from loyalty.services import benefits as benefit_service
from loyalty.services import rewards as reward_service
from loyalty.storage.database import Tx


async def present(tx: Tx, tenant_id: uuid.UUID, benefit: Benefit, *, owner: Member | None = None) -> BenefitOut:
    """``owner``: the benefit's owner, when the caller read it (open) in this transaction already."""
    view = await reward_service.show_reward(tx, tenant_id, benefit.reward_id, reward_service.Viewer.admin())
    if owner is None or owner.member_id != benefit.member_id:
        owner = await benefit_service.owner_of(tx, tenant_id, benefit)
    return BenefitOut.of(benefit, view, owner)
