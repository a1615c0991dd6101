"""The wallet: what a till or an app shows a member — points, tier progress, vouchers, and what they cost."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from loyalty.domain.benefits import Benefit
from loyalty.domain.ledger import PointAccount
from loyalty.domain.lots import Expiring, Period, PeriodTotal, per_period
from loyalty.domain.members import Member
from loyalty.domain.tiers import TierProgress
from loyalty.services import benefits as benefit_service
from loyalty.services import expiry as expiry_service
from loyalty.services import points as point_service
from loyalty.services import settings as settings_service
from loyalty.services import tiers as tier_service
from loyalty.storage.database import Tx

# The wallet lists the next expiries only; the predictions give the whole picture per period.
WALLET_EXPIRING = 10


@dataclass(frozen=True)
class Wallet:
    member: Member
    account: PointAccount
    tier: TierProgress | None
    vouchers: list[Benefit]
    loyalty_cost: int
    expiring: list[Expiring]


async def get_wallet(tx: Tx, tenant_id: uuid.UUID, member: Member) -> Wallet:
    return Wallet(
        member=member,
        account=await point_service.get_account(tx, tenant_id, member.member_id),
        tier=await tier_service.wallet_tier(tx, tenant_id, member.member_id),
        vouchers=await benefit_service.wallet_vouchers(tx, tenant_id, member.member_id),
        loyalty_cost=await benefit_service.loyalty_cost(tx, tenant_id, member.member_id),
        expiring=(await expiry_service.expiring(tx, tenant_id, member.member_id))[:WALLET_EXPIRING],
    )


@dataclass(frozen=True)
class Predictions:
    period: Period
    expiring: list[PeriodTotal]
    activating: list[PeriodTotal]


async def predictions(tx: Tx, tenant_id: uuid.UUID, member: Member, period: Period) -> Predictions:
    """The member's points that will expire, and pending points that will activate, per calendar period."""
    zone = (await settings_service.get_settings(tx, tenant_id)).zone
    return Predictions(
        period=period,
        expiring=per_period(await expiry_service.expiring(tx, tenant_id, member.member_id), period, zone),
        activating=per_period(await expiry_service.activating(tx, tenant_id, member.member_id), period, zone),
    )
