"""The points jobs: expiry (SIMPLE_EXPIRY, by earn date or by inactivity) and activation of pending points.

Both work member by member, each member in its own transaction. A member's account row is claimed with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never work on the same member at once (the second skips
it; SQLite serialises writers anyway), and what is due is read only after the claim, so a member handled by one
worker offers nothing more to the next. The ledger backs this up: an EXPIRE or ACTIVATE entry names its lot as
source, and one entry per (source, kind) is all the unique key allows, so a lot can never expire or activate twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from loyalty.domain.errors import MemberNotFound
from loyalty.domain.ledger import BalanceChange, EntryKind, Impact, LiabilityPolicy, SourceType
from loyalty.domain.lots import Expiring, ExpiryBasis, fefo, lot_size
from loyalty.domain.lots import expiring as expiring_from
from loyalty.domain.members import Member
from loyalty.services import events
from loyalty.services import lots as lot_service
from loyalty.services import members as member_service
from loyalty.services import points as point_service
from loyalty.services import rules as rules_service
from loyalty.storage.database import Tx
from loyalty.storage.tables import point_accounts, point_lots

JOB_ACTOR = "job:points"
_INACTIVITY = uuid.UUID("2b0d5f8e-8c1a-4f57-9d7e-4f3b6a1c9e21")


@dataclass(frozen=True)
class MemberResult:
    points: int = 0
    entries: int = 0


async def _claim(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> tuple[int, datetime | None, int] | None:
    """Lock the member's account for this job, or None when another worker holds it."""
    row = (
        await tx.execute(
            select(point_accounts.c.balance, point_accounts.c.last_activity_at, point_accounts.c.version)
            .where(point_accounts.c.tenant_id == tenant_id, point_accounts.c.member_id == member_id)
            .with_for_update(skip_locked=True)
        )
    ).first()
    return None if row is None else (row.balance, row.last_activity_at, row.version)


async def _subject(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> Member | None:
    try:
        return await member_service.get_member(tx, tenant_id, member_id)
    except MemberNotFound:  # closed: the ledger still moves, the event has no subject
        return None


async def expire_member(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, moment: datetime) -> MemberResult:
    """Expire what is due for one member at ``moment``: each lot past its date (one EXPIRE entry per lot), then,
    under LAST_ACTIVITY, the whole balance if the member has neither earned nor spent for the period."""
    claimed = await _claim(tx, tenant_id, member_id)
    if claimed is None:
        return MemberResult()
    _, last_activity, version = claimed
    expire = BalanceChange(delta=0, impact=Impact.NONE, policy=LiabilityPolicy.BYPASS)
    total = 0
    entries = 0
    basis = ExpiryBasis.EARN_DATE
    for lot in fefo(await lot_service.expired_lots(tx, tenant_id, member_id, moment)):
        entry = await point_service.record(
            tx,
            tenant_id,
            member_id,
            BalanceChange(delta=-lot.remaining, impact=expire.impact, policy=expire.policy),
            kind=EntryKind.EXPIRE,
            source_type=SourceType.JOB,
            source_id=lot.lot_id,
            comment=f"{lot.remaining} points earned {lot.created_at.date().isoformat()} expired",
            actor=JOB_ACTOR,
        )
        await lot_service.take(tx, tenant_id, entry.entry_id, [(lot.lot_id, lot.remaining)])
        total += lot.remaining
        entries += 1
    policy = (await rules_service.current_rules(tx, tenant_id)).expiry
    if policy is not None and policy.basis is ExpiryBasis.LAST_ACTIVITY and last_activity is not None:
        balance = (await point_service.get_account(tx, tenant_id, member_id)).balance
        if balance > 0 and policy.is_inactive(last_activity, moment):
            basis = ExpiryBasis.LAST_ACTIVITY
            entry = await point_service.record(
                tx,
                tenant_id,
                member_id,
                BalanceChange(delta=-balance, impact=expire.impact, policy=expire.policy),
                kind=EntryKind.EXPIRE,
                source_type=SourceType.JOB,
                # One inactivity expiry per account version: the same state can never expire twice.
                source_id=uuid.uuid5(_INACTIVITY, f"{member_id}/{version}"),
                comment=f"{balance} points expired after no activity since {last_activity.date().isoformat()}",
                actor=JOB_ACTOR,
                cause="inactivity",
            )
            await lot_service.take_fefo(tx, tenant_id, member_id, entry.entry_id, balance)
            total += balance
            entries += 1
    if total:
        balance_after = (await point_service.get_account(tx, tenant_id, member_id)).balance
        await events.emit(
            tx,
            tenant_id,
            events.IntrinsicEvent.POINTS_EXPIRED,
            subject=await _subject(tx, tenant_id, member_id),
            payload={"points": total, "balance": balance_after, "expiryBasedOn": basis.value},
            executor=JOB_ACTOR,
        )
    return MemberResult(points=total, entries=entries)


async def activate_member(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, moment: datetime) -> MemberResult:
    """Make the member's pending lots whose window has passed spendable: one ACTIVATE entry per lot."""
    if await _claim(tx, tenant_id, member_id) is None:
        return MemberResult()
    total = 0
    entries = 0
    for lot in await lot_service.due_pending_lots(tx, tenant_id, member_id, moment):
        entry = await point_service.record(
            tx,
            tenant_id,
            member_id,
            BalanceChange(delta=lot.remaining, impact=Impact.EARN, policy=LiabilityPolicy.BYPASS),
            pending_delta=-lot.remaining,
            kind=EntryKind.ACTIVATE,
            source_type=SourceType.JOB,
            source_id=lot.lot_id,
            comment=f"{lot.remaining} pending points activated",
            actor=JOB_ACTOR,
            expires_at=lot.expires_at,
        )
        await lot_service.activated(tx, tenant_id, lot.lot_id, lot_size(lot.remaining, entry.balance_after))
        total += lot.remaining
        entries += 1
    if total:
        account = await point_service.get_account(tx, tenant_id, member_id)
        await events.emit(
            tx,
            tenant_id,
            events.IntrinsicEvent.POINTS_ACTIVATED,
            subject=await _subject(tx, tenant_id, member_id),
            payload={"points": total, "balance": account.balance, "pending": account.pending},
            executor=JOB_ACTOR,
        )
    return MemberResult(points=total, entries=entries)


async def members_due_expiry(
    tx: Tx, tenant_id: uuid.UUID, moment: datetime, *, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """The next members (by id, after ``after``) with points that expire by ``moment``."""
    lot = point_lots.c
    dated = await lot_service.members_with(
        tx, tenant_id, lot.pending.is_(False) & (lot.expires_at <= moment), after=after, limit=limit
    )
    policy = (await rules_service.current_rules(tx, tenant_id)).expiry
    if policy is None or policy.basis is not ExpiryBasis.LAST_ACTIVITY:
        return dated
    account = point_accounts.c
    query = select(account.member_id).where(
        account.tenant_id == tenant_id,
        account.balance > 0,
        account.last_activity_at <= policy.inactivity_search_bound(moment),
    )
    if after is not None:
        query = query.where(account.member_id > after)
    inactive = [row.member_id for row in await tx.execute(query.order_by(account.member_id).limit(limit))]
    return sorted(set(dated) | set(inactive))[:limit]


async def members_due_activation(
    tx: Tx, tenant_id: uuid.UUID, moment: datetime, *, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    lot = point_lots.c
    return await lot_service.members_with(
        tx, tenant_id, lot.pending.is_(True) & (lot.activates_at <= moment), after=after, limit=limit
    )


async def expiring(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> list[Expiring]:
    """What the member's spendable points will lose and when, soonest first: each dated lot, and under
    LAST_ACTIVITY the rest of the balance at the moment inactivity would expire it (if nothing happens first)."""
    lots = [lot for lot, pending, _ in await lot_service.outstanding(tx, tenant_id, member_id) if not pending]
    dated = expiring_from(lots)
    policy = (await rules_service.current_rules(tx, tenant_id)).expiry
    if policy is None or policy.basis is not ExpiryBasis.LAST_ACTIVITY:
        return dated
    row = (
        await tx.execute(
            select(point_accounts.c.balance, point_accounts.c.last_activity_at).where(
                point_accounts.c.tenant_id == tenant_id, point_accounts.c.member_id == member_id
            )
        )
    ).first()
    if row is None or row.balance <= 0 or row.last_activity_at is None:
        return dated
    deadline = policy.inactivity_deadline(row.last_activity_at)
    before = [item for item in dated if item.expires_at < deadline]
    rest = row.balance - sum(item.points for item in before)
    return before + ([Expiring(rest, deadline)] if rest > 0 else [])


async def activating(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> list[Expiring]:
    """The member's pending points and when each part becomes spendable, soonest first."""
    found: dict[datetime, int] = {}
    for lot, pending, activates_at in await lot_service.outstanding(tx, tenant_id, member_id):
        if pending and activates_at is not None:
            found[activates_at] = found.get(activates_at, 0) + lot.remaining
    return [Expiring(points, moment) for moment, points in sorted(found.items())]
