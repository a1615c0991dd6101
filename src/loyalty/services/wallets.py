"""The wallet: what a till or an app shows a member — points, tier progress, vouchers, and what they cost."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from loyalty.domain.benefits import Benefit
from loyalty.domain.ledger import PointAccount
from loyalty.domain.members import Member
from loyalty.domain.tiers import TierProgress
from loyalty.services import benefits as benefit_service
from loyalty.services import points as point_service
from loyalty.services import tiers as tier_service
from loyalty.storage.database import Tx


@dataclass(frozen=True)
class Wallet:
    member: Member
    account: PointAccount
    tier: TierProgress | None
    vouchers: list[Benefit]
    loyalty_cost: int


async def get_wallet(tx: Tx, tenant_id: uuid.UUID, member: Member) -> Wallet:
    return Wallet(
        member=member,
        account=await point_service.get_account(tx, tenant_id, member.member_id),
        tier=await tier_service.wallet_tier(tx, tenant_id, member.member_id),
        vouchers=await benefit_service.wallet_vouchers(tx, tenant_id, member.member_id),
        loyalty_cost=await benefit_service.loyalty_cost(tx, tenant_id, member.member_id),
    )
