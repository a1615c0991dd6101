"""The points ledger: every balance change, the member's ledger and wallet, and the ledger check.

A balance change is one conditional ``UPDATE … RETURNING`` on the member's account row plus one appended
ledger entry, in the caller's transaction. There is no read-modify-write in Python, so concurrent spends can
never take a balance below zero when the policy forbids it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, case, func, select, tuple_, update

from loyalty.domain.caps import Cap, CapKind, allowed_earn, spend_fits
from loyalty.domain.errors import MemberNotFound, Refused
from loyalty.domain.ledger import (
    BalanceChange,
    EntryKind,
    Impact,
    LedgerEntry,
    LiabilityPolicy,
    PointAccount,
    SourceType,
    adjustment,
    check_overdraw,
)
from loyalty.domain.lots import allocate, lot_size
from loyalty.domain.members import Member
from loyalty.services import events, member_state
from loyalty.services import lots as lot_service
from loyalty.services import rules as rules_service
from loyalty.services import settings as settings_service
from loyalty.services.clock import now
from loyalty.storage.database import Tx
from loyalty.storage.tables import point_accounts, point_entries, tenants


def _entry(row: Any) -> LedgerEntry:
    return LedgerEntry(
        entry_id=row.entry_id,
        member_id=row.member_id,
        delta=row.delta,
        kind=EntryKind(row.kind),
        impact=Impact(row.impact),
        source_type=SourceType(row.source_type),
        source_id=row.source_id,
        balance_after=row.balance_after,
        expires_at=row.expires_at,
        comment=row.comment,
        actor=row.actor,
        created_at=row.created_at,
        reactor_id=row.reactor_id,
        forfeited=row.forfeited,
        pending_delta=row.pending_delta,
    )


_ACCOUNT = select(point_accounts).where(
    point_accounts.c.tenant_id == bindparam("tenant_id"), point_accounts.c.member_id == bindparam("member_id")
)  # built once (see storage/sql.py, ignoring_conflicts): read by wallets, spends and enhancers


async def get_account(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> PointAccount:
    row = (await tx.execute(_ACCOUNT, {"tenant_id": tenant_id, "member_id": member_id})).first()
    if row is None:
        raise MemberNotFound(str(member_id))
    return PointAccount(member_id=member_id, balance=row.balance, pending=row.pending, lifetime_earn=row.lifetime_earn)


async def apply_change(
    tx: Tx,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    change: BalanceChange,
    *,
    kind: EntryKind,
    source_type: SourceType,
    source_id: uuid.UUID,
    comment: str | None = None,
    actor: str | None = None,
    reactor_id: uuid.UUID | None = None,
    cause: str = "",
    bypass_caps: bool = False,
    pending_until: datetime | None = None,
) -> LedgerEntry:
    """Change a balance and append its ledger entry; raise ``InsufficientPoints`` instead of overdrawing.

    ``cause`` tells apart several entries of one kind from one source (two reactions to one event); the unique
    key over (source, member, kind, cause) makes a double entry impossible. Caps apply unless ``bypass_caps``:
    an earn over a cap is cut to what fits (the rest is recorded as forfeited), a spend over a cap is refused.
    A credit becomes a lot (dated by the tenant's expiry criterion); with ``pending_until`` it stays pending, not
    spendable, until then. A debit takes its points from the lots, soonest-expiring first."""
    rules = await rules_service.current_rules(tx, tenant_id)
    forfeited = 0
    if not bypass_caps and rules.caps:
        requested = change.delta
        change = await _within_caps(tx, tenant_id, member_id, change, rules.caps)
        forfeited = requested - change.delta
    moment = now()
    pending = pending_until is not None and change.delta > 0
    expires_at = rules.expiry.lot_expiry(moment) if rules.expiry is not None and change.delta > 0 else None
    entry = await record(
        tx,
        tenant_id,
        member_id,
        change,
        pending_delta=change.delta if pending else 0,
        kind=kind,
        source_type=source_type,
        source_id=source_id,
        comment=comment,
        actor=actor,
        reactor_id=reactor_id,
        cause=cause,
        forfeited=forfeited,
        expires_at=expires_at,
    )
    if change.delta > 0:
        size = change.delta if pending else lot_size(change.delta, entry.balance_after)
        if size > 0:
            await lot_service.add_lot(
                tx,
                tenant_id,
                member_id,
                entry_id=entry.entry_id,
                source_type=source_type,
                source_id=source_id,
                points=change.delta,
                remaining=size,
                created_at=moment,
                expires_at=expires_at,
                activates_at=pending_until if pending else None,
            )
    elif change.delta < 0:
        await lot_service.take_fefo(tx, tenant_id, member_id, entry.entry_id, -change.delta)
    return entry


async def record(
    tx: Tx,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    change: BalanceChange,
    *,
    kind: EntryKind,
    source_type: SourceType,
    source_id: uuid.UUID,
    pending_delta: int = 0,
    comment: str | None = None,
    actor: str | None = None,
    reactor_id: uuid.UUID | None = None,
    cause: str = "",
    forfeited: int = 0,
    expires_at: datetime | None = None,
) -> LedgerEntry:
    """The account update and the ledger entry of one change, lots aside.

    With ``pending_delta`` equal to ``change.delta`` the change goes to pending points only (a pending earn);
    otherwise the balance moves by ``change.delta`` and pending points by ``pending_delta`` (an activation moves
    points from one to the other, a cancelled pending earn takes from pending alone)."""
    to_pending_only = pending_delta != 0 and pending_delta == change.delta
    balance_delta = 0 if to_pending_only else change.delta
    lifetime_delta = 0 if to_pending_only else change.lifetime_earn_delta
    moment = now()
    account = point_accounts.c
    values: dict[str, Any] = {
        "balance": account.balance + balance_delta,
        "pending": account.pending + pending_delta,
        "lifetime_earn": account.lifetime_earn + lifetime_delta,
        "version": account.version + 1,
        "updated_at": moment,
    }
    if change.impact is not Impact.NONE and kind not in (EntryKind.ACTIVATE, EntryKind.EXPIRE):
        values["last_activity_at"] = moment
    statement = (
        update(point_accounts)
        .where(account.tenant_id == tenant_id, account.member_id == member_id)
        .values(**values)
        .returning(account.balance, account.version)
    )
    if balance_delta < 0 and not change.may_overdraw:
        statement = statement.where(account.balance + balance_delta >= 0)
    changed = (await tx.execute(statement)).first()
    while changed is None:
        # No account, or the guard refused: tell which from the current row. Under READ COMMITTED a credit may
        # commit between the two statements, so a change that fits now is simply tried again.
        current = await get_account(tx, tenant_id, member_id)
        check_overdraw(change, current.balance)
        changed = (await tx.execute(statement)).first()
    balance_after, sequence = changed
    entry = LedgerEntry(
        entry_id=uuid.uuid4(),
        member_id=member_id,
        delta=balance_delta,
        kind=kind,
        impact=change.impact,
        source_type=source_type,
        source_id=source_id,
        balance_after=balance_after,
        expires_at=expires_at,
        comment=comment,
        actor=actor,
        created_at=moment,
        reactor_id=reactor_id,
        forfeited=forfeited,
        pending_delta=pending_delta,
    )
    await tx.execute(
        point_entries.insert().values(
            tenant_id=tenant_id,
            entry_id=entry.entry_id,
            member_id=member_id,
            delta=entry.delta,
            pending_delta=pending_delta,
            kind=kind.value,
            impact=change.impact.value,
            source_type=source_type.value,
            source_id=source_id,
            balance_after=balance_after,
            forfeited=forfeited,
            sequence=sequence,
            expires_at=expires_at,
            comment=comment,
            actor=actor,
            reactor_id=reactor_id,
            cause=cause,
            created_at=moment,
        )
    )
    await member_state.member_changed(tx, tenant_id, member_id)
    return entry


async def reverse_earn(
    tx: Tx,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    points: int,
    *,
    earned_by: uuid.UUID,
    source_type: SourceType,
    source_id: uuid.UUID,
    comment: str,
    actor: str,
) -> None:
    """Take back ``points`` the event ``earned_by`` earned: first from its points still pending (cancelled, so no
    debt arises), then from the balance (which may go negative: a recorded debt)."""
    pending = await lot_service.pending_lots_of(tx, tenant_id, member_id, SourceType.EVENT, earned_by)
    taken = allocate(pending, points)
    cancelled = sum(part for _, part in taken)
    if cancelled:
        entry = await record(
            tx,
            tenant_id,
            member_id,
            BalanceChange(delta=0, impact=Impact.EARN, policy=LiabilityPolicy.BYPASS),
            pending_delta=-cancelled,
            kind=EntryKind.REVERSAL,
            source_type=source_type,
            source_id=source_id,
            comment=comment,
            actor=actor,
            cause="earned-pending",
        )
        await lot_service.take(tx, tenant_id, entry.entry_id, taken)
    if points > cancelled:
        await apply_change(
            tx,
            tenant_id,
            member_id,
            BalanceChange(delta=-(points - cancelled), impact=Impact.EARN, policy=LiabilityPolicy.BYPASS),
            kind=EntryKind.REVERSAL,
            source_type=source_type,
            source_id=source_id,
            comment=comment,
            actor=actor,
            cause="earned",
        )


async def _within_caps(
    tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, change: BalanceChange, caps: tuple[Cap, ...]
) -> BalanceChange:
    """Apply the tenant's earn, spend and balance caps to a change.

    The member's account row is locked first, so concurrent changes to one member are capped one after the other
    and can never jointly pass a cap; a tenant-wide balance cap also locks the tenant's row, so earns of different
    members are capped one after the other too."""
    earning = change.delta > 0 and change.impact is Impact.EARN
    spending = change.delta < 0 and change.impact is Impact.SPEND
    relevant = [
        cap
        for cap in caps
        if (cap.kind is CapKind.EARN and earning)
        or (cap.kind is CapKind.SPEND and spending)
        or (cap.kind is CapKind.BALANCE and change.delta > 0)
    ]
    if not relevant:
        return change
    if any(cap.kind is CapKind.BALANCE and not cap.per_member for cap in relevant):
        await tx.execute(select(tenants.c.tenant_id).where(tenants.c.tenant_id == tenant_id).with_for_update())
    await tx.execute(
        select(point_accounts.c.balance)
        .where(point_accounts.c.tenant_id == tenant_id, point_accounts.c.member_id == member_id)
        .with_for_update()
    )
    moment = now()
    zone = (await settings_service.get_settings(tx, tenant_id)).zone
    delta = change.delta
    for cap in relevant:
        if cap.kind is CapKind.BALANCE:
            held = await _points_held(tx, tenant_id, member_id if cap.per_member else None)
            delta = allowed_earn(delta, held, cap.maximum)
            continue
        since = cap.window_start(moment, zone)
        used = await _used_since(tx, tenant_id, member_id, Impact.EARN if earning else Impact.SPEND, since)
        if cap.kind is CapKind.EARN:
            delta = allowed_earn(delta, used, cap.maximum)
        elif not spend_fits(-delta, used, cap.maximum):
            raise Refused(
                f"This spend of {-delta} points would pass the spend cap of {cap.maximum} ({used} already spent).",
                code="SPEND_CAP_EXCEEDED",
                maximum=cap.maximum,
                used=used,
            )
    return replace(change, delta=delta)


async def _used_since(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, impact: Impact, since: datetime) -> int:
    """Points earned (or spent) by the member since ``since``: the positive EARN (or negative SPEND) changes.

    A pending earn counts when it is earned (its ``pending_delta``), not again when it is activated."""
    entry = point_entries.c
    amount = entry.delta + entry.pending_delta
    sign = (amount > 0) & (entry.kind != EntryKind.ACTIVATE.value) if impact is Impact.EARN else amount < 0
    total = (
        await tx.execute(
            select(func.coalesce(func.sum(amount), 0)).where(
                entry.tenant_id == tenant_id,
                entry.member_id == member_id,
                entry.impact == impact.value,
                sign,
                entry.created_at >= since,
            )
        )
    ).scalar_one()
    return abs(int(total))


async def _points_held(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID | None) -> int:
    """A member's points, pending included, or (for a tenant-wide balance cap) the points all members hold."""
    account = point_accounts.c
    condition = account.tenant_id == tenant_id
    if member_id is not None:
        condition = condition & (account.member_id == member_id)
    held = select(func.coalesce(func.sum(account.balance + account.pending), 0)).where(condition)
    return int((await tx.execute(held)).scalar_one())


async def adjust_points(
    tx: Tx,
    tenant_id: uuid.UUID,
    member: Member,
    points: int,
    *,
    comment: str | None,
    impact: Impact | None,
    policy: LiabilityPolicy | None,
    actor: str,
    bypass_caps: bool = False,
) -> LedgerEntry:
    """An admin's manual adjustment; emits ``POINTS_ADJUSTED``, whose id is the entry's source."""
    change = adjustment(points, impact, policy)
    command_id = uuid.uuid4()
    entry = await apply_change(
        tx,
        tenant_id,
        member.member_id,
        change,
        kind=EntryKind.ADJUST,
        source_type=SourceType.COMMAND,
        source_id=command_id,
        comment=comment,
        actor=actor,
        bypass_caps=bypass_caps,
    )
    await events.emit(
        tx,
        tenant_id,
        events.IntrinsicEvent.POINTS_ADJUSTED,
        event_id=command_id,
        subject=member,
        payload={
            "points": change.delta,
            "impactType": change.impact.value,
            "balance": entry.balance_after,
            "comment": comment,
        },
        executor=actor,
    )
    return entry


async def list_entries(
    tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, *, limit: int, skip: int, order: Literal["ASC", "DESC"]
) -> tuple[list[LedgerEntry], int]:
    condition = (point_entries.c.tenant_id == tenant_id) & (point_entries.c.member_id == member_id)
    total = (await tx.execute(select(func.count()).select_from(point_entries).where(condition))).scalar_one()
    ordering = point_entries.c.sequence.asc() if order == "ASC" else point_entries.c.sequence.desc()
    rows = await tx.execute(select(point_entries).where(condition).order_by(ordering).limit(limit).offset(skip))
    return [_entry(r) for r in rows], total


@dataclass(frozen=True)
class LedgerMismatch:
    tenant_id: uuid.UUID
    member_id: uuid.UUID
    field: str
    stored: int
    expected: int


async def count_accounts(tx: Tx) -> int:
    return int((await tx.execute(select(func.count()).select_from(point_accounts))).scalar_one())


async def verify_ledger(
    tx: Tx, batch_size: int = 1000, *, tenant_id: uuid.UUID | None = None
) -> AsyncIterator[tuple[int, list[LedgerMismatch]]]:
    """Check every account against its entries and lots, batch by batch.

    Yields (accounts checked in this batch, mismatches found) so a caller can show progress. Balance must equal
    the sum of all deltas, pending points the sum of the pending deltas, and lifetime earn the sum of the deltas
    of EARN-impact entries; the spendable lots must hold exactly the balance the entries give (none when it is
    negative) and the pending lots exactly the pending points they give. ``tenant_id`` checks one tenant only.
    """
    account = point_accounts.c
    entry = point_entries.c
    after: tuple[uuid.UUID, uuid.UUID] | None = None
    while True:
        query = select(account.tenant_id, account.member_id, account.balance, account.pending, account.lifetime_earn)
        if after is not None:
            query = query.where(tuple_(account.tenant_id, account.member_id) > tuple_(*after))
        if tenant_id is not None:
            query = query.where(account.tenant_id == tenant_id)
        batch = (await tx.execute(query.order_by(account.tenant_id, account.member_id).limit(batch_size))).all()
        if not batch:
            return
        keys = [(r.tenant_id, r.member_id) for r in batch]
        sums = {
            (r.tenant_id, r.member_id): (r.balance, r.pending, r.lifetime_earn)
            for r in await tx.execute(
                select(
                    entry.tenant_id,
                    entry.member_id,
                    func.sum(entry.delta).label("balance"),
                    func.sum(entry.pending_delta).label("pending"),
                    func.sum(case((entry.impact == Impact.EARN.value, entry.delta), else_=0)).label("lifetime_earn"),
                )
                .where(tuple_(entry.tenant_id, entry.member_id).in_(keys))
                .group_by(entry.tenant_id, entry.member_id)
            )
        }
        held = {
            (r.tenant_id, r.member_id): (r.spendable or 0, r.pending or 0)
            for r in await tx.execute(lot_service.sums_by_member(keys))
        }
        mismatches: list[LedgerMismatch] = []
        for row in batch:
            balance, pending, lifetime_earn = sums.get((row.tenant_id, row.member_id), (0, 0, 0))
            spendable_lots, pending_lots = held.get((row.tenant_id, row.member_id), (0, 0))
            for field, stored, expected in (
                ("balance", row.balance, int(balance)),
                ("pendingPoints", row.pending, int(pending)),
                ("lifetimeEarn", row.lifetime_earn, int(lifetime_earn)),
                ("lots", int(spendable_lots), max(int(balance), 0)),
                ("pendingLots", int(pending_lots), int(pending)),
            ):
                if stored != expected:
                    mismatches.append(LedgerMismatch(row.tenant_id, row.member_id, field, stored, expected))
        yield len(batch), mismatches
        after = keys[-1]
