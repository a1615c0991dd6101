"""Ledger vocabulary and the arithmetic of a single balance change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from loyalty.domain.errors import InsufficientPoints, InvalidInput


class EntryKind(StrEnum):
    EARN = "EARN"
    SPEND = "SPEND"
    ADJUST = "ADJUST"
    EXPIRE = "EXPIRE"
    REVERSAL = "REVERSAL"
    ACTIVATE = "ACTIVATE"


class Impact(StrEnum):
    """Whether an entry counts as earning (lifetime earn, tiers), spending, or neither."""

    EARN = "EARN"
    SPEND = "SPEND"
    NONE = "NONE"


class SourceType(StrEnum):
    EVENT = "EVENT"
    ORDER = "ORDER"
    REFUND = "REFUND"
    COMMAND = "COMMAND"
    JOB = "JOB"


class LiabilityPolicy(StrEnum):
    """BYPASS lets a balance go negative (WLL's default); REJECT_EVENT refuses an overdraw."""

    BYPASS = "BYPASS"
    REJECT_EVENT = "REJECT_EVENT"


# Largest single change accepted: far beyond any real program, far below int64 overflow when summed.
MAX_POINTS_CHANGE = 1_000_000_000


@dataclass(frozen=True)
class BalanceChange:
    delta: int
    impact: Impact
    policy: LiabilityPolicy

    @property
    def may_overdraw(self) -> bool:
        return self.delta >= 0 or self.policy is LiabilityPolicy.BYPASS

    @property
    def lifetime_earn_delta(self) -> int:
        """Lifetime earn is the sum of the deltas of entries whose impact is EARN."""
        return self.delta if self.impact is Impact.EARN else 0


def adjustment(points: int, impact: Impact | None, policy: LiabilityPolicy | None) -> BalanceChange:
    """An admin adjustment. Without an impact type, credits count as earning and debits as spending."""
    if points == 0:
        raise InvalidInput("An adjustment of 0 points changes nothing.", code="INVALID_POINTS", field="points")
    if abs(points) > MAX_POINTS_CHANGE:
        raise InvalidInput(
            f"At most {MAX_POINTS_CHANGE} points can be adjusted at once.", code="INVALID_POINTS", field="points"
        )
    if impact is None:
        impact = Impact.EARN if points > 0 else Impact.SPEND
    return BalanceChange(delta=points, impact=impact, policy=policy or LiabilityPolicy.BYPASS)


def check_overdraw(change: BalanceChange, balance: int) -> None:
    """Raise when a change that must not overdraw would take the balance below zero."""
    if not change.may_overdraw and balance + change.delta < 0:
        raise InsufficientPoints(balance=balance, requested=-change.delta)


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: uuid.UUID
    member_id: uuid.UUID
    delta: int
    kind: EntryKind
    impact: Impact
    source_type: SourceType
    source_id: uuid.UUID
    balance_after: int
    expires_at: datetime | None
    comment: str | None
    actor: str | None
    created_at: datetime
    reactor_id: uuid.UUID | None = None
    forfeited: int = 0
    # The change to pending points: a pending earn adds to them (its delta is 0), an activation moves them to the
    # balance, a refund inside the pending window cancels them.
    pending_delta: int = 0


@dataclass(frozen=True)
class PointAccount:
    member_id: uuid.UUID
    balance: int
    pending: int
    lifetime_earn: int
