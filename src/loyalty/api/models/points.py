"""Ledger entries, the wallet, and the adjust_points command."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from loyalty.api.models.benefits import BenefitOut
from loyalty.api.models.common import RequestModel, ResponseModel, Timestamp
from loyalty.domain.ledger import MAX_POINTS_CHANGE, EntryKind, Impact, LedgerEntry, LiabilityPolicy, SourceType
from loyalty.domain.lots import Period, PeriodTotal
from loyalty.domain.tiers import TierProgress
from loyalty.services.wallets import Predictions, Wallet


class AdjustPoints(RequestModel):
    actor_id: Annotated[str, StringConstraints(min_length=1, max_length=512)] = Field(
        description="The member: id, account number, authIdentifier or externalIdentifier."
    )
    points: int = Field(ge=-MAX_POINTS_CHANGE, le=MAX_POINTS_CHANGE, description="Whole points; negative debits.")
    comment: Annotated[str, StringConstraints(max_length=1000)] | None = None
    impact_type: Impact | None = Field(
        default=None, description="EARN counts towards lifetime earn. Default: EARN for credits, SPEND for debits."
    )
    liability_handling_policy: LiabilityPolicy | None = Field(
        default=None, description="BYPASS (default) may take the balance negative; REJECT_EVENT refuses with 422."
    )
    bypass_caps: bool = Field(default=False, description="Ignore earn, spend and balance caps.")


class EntrySource(ResponseModel):
    type: SourceType
    id: str


class LedgerEntryOut(ResponseModel):
    id: str
    user_id: str
    delta: int
    kind: EntryKind
    impact_type: Impact
    source: EntrySource
    balance_after: int
    created_at: Timestamp
    expires_at: Timestamp | None
    comment: str | None
    reactor_id: str | None = Field(description="The reactor whose reaction made this entry, if any.")
    forfeited: int = Field(description="Points a cap took away from this change (it asked for delta + forfeited).")
    pending_delta: int = Field(
        description="The change to pending points: a pending earn (delta 0), its activation, or its cancellation."
    )

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryOut:
        return cls(
            id=str(entry.entry_id),
            user_id=str(entry.member_id),
            delta=entry.delta,
            kind=entry.kind,
            impact_type=entry.impact,
            source=EntrySource(type=entry.source_type, id=str(entry.source_id)),
            balance_after=entry.balance_after,
            created_at=entry.created_at,
            expires_at=entry.expires_at,
            comment=entry.comment,
            reactor_id=str(entry.reactor_id) if entry.reactor_id else None,
            forfeited=entry.forfeited,
            pending_delta=entry.pending_delta,
        )


class WalletUser(ResponseModel):
    id: str
    account_number: str
    auth_identifier: str | None


class ExpiringPoints(ResponseModel):
    points: int
    expires_at: Timestamp


class PeriodPoints(ResponseModel):
    starts_at: Timestamp
    ends_at: Timestamp
    points: int

    @classmethod
    def of(cls, total: PeriodTotal) -> PeriodPoints:
        return cls(starts_at=total.starts_at, ends_at=total.ends_at, points=total.points)


class PredictionsOut(ResponseModel):
    period: Period = Field(description="DAY, WEEK (from Monday) or MONTH, in the tenant's time zone.")
    expiring: list[PeriodPoints] = Field(description="Spendable points that will expire, per period with any.")
    activating: list[PeriodPoints] = Field(description="Pending points that will become spendable, per period.")

    @classmethod
    def of(cls, predictions: Predictions) -> PredictionsOut:
        return cls(
            period=predictions.period,
            expiring=[PeriodPoints.of(t) for t in predictions.expiring],
            activating=[PeriodPoints.of(t) for t in predictions.activating],
        )


class WalletTier(ResponseModel):
    id: str
    name: str
    priority: int
    points_requirement: int
    earned_points: int = Field(description="Points earned that count towards this tier.")
    attained: bool

    @classmethod
    def of(cls, progress: TierProgress) -> WalletTier:
        return cls(
            id=str(progress.tier_id),
            name=progress.name,
            priority=progress.priority,
            points_requirement=progress.points_requirement,
            earned_points=progress.earned_points,
            attained=progress.attained,
        )


class WalletOut(ResponseModel):
    user: WalletUser
    points: int = Field(description="Spendable balance; negative only where a policy allowed it (a debt).")
    pending_points: int
    lifetime_earn: int
    loyalty_cost: int = Field(description="What the member's benefits cost the business (sum of reward values).")
    tier: WalletTier | None
    vouchers: list[BenefitOut] = Field(description="Vouchers not burned: created, redeemed, validated or expired.")
    expiring_points: list[ExpiringPoints] = Field(
        description="The next (at most 10) expiries of spendable points, soonest first; see /wallet/predictions."
    )

    @classmethod
    def of(cls, wallet: Wallet, vouchers: list[BenefitOut]) -> WalletOut:
        member, account = wallet.member, wallet.account
        return cls(
            user=WalletUser(
                id=str(member.member_id),
                account_number=member.account_number,
                auth_identifier=member.auth_identifier,
            ),
            points=account.balance,
            pending_points=account.pending,
            lifetime_earn=account.lifetime_earn,
            loyalty_cost=wallet.loyalty_cost,
            tier=WalletTier.of(wallet.tier) if wallet.tier else None,
            vouchers=vouchers,
            expiring_points=[ExpiringPoints(points=e.points, expires_at=e.expires_at) for e in wallet.expiring],
        )
