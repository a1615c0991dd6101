"""Benefits as answered: each with its reward (discounts, category, tier) and its owner."""

from __future__ import annotations

import uuid

from loyalty.api.models.benefits import BenefitOut
from loyalty.domain.benefits import Benefit
from loyalty.services import benefits as benefit_service
from loyalty.services import rewards as reward_service
from loyalty.storage.database import Tx


async def present(tx: Tx, tenant_id: uuid.UUID, benefit: Benefit) -> BenefitOut:
    view = await reward_service.show_reward(tx, tenant_id, benefit.reward_id, reward_service.Viewer.admin())
    owner = await benefit_service.owner_of(tx, tenant_id, benefit)
    return BenefitOut.of(benefit, view, owner)
