"""What follows from a change to a member: their tier, then their audiences (whose criteria may look at the tier).

Every use case that changes a member (points, profile, flags, attributes, badges) calls :func:`member_changed` in
its own transaction. A tenant with no tiers and no reactive audiences pays one cached-rules lookup and nothing
else. Reassessment is idempotent: only a real move writes, and only the statement that made it emits an event,
so the reactors those events run (which may change the member again, and so reassess again) settle instead of
looping; past ``events.MAX_DEPTH`` nested reassessments, events are recorded without running reactors.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import select

from loyalty.domain.audiences import CompiledAudience, compile_audience
from loyalty.domain.tiers import Calculation, Tier
from loyalty.services import audiences as audience_service
from loyalty.services import rules as rules_service
from loyalty.services import tiers as tier_service
from loyalty.storage.database import Tx
from loyalty.storage.tables import members, point_accounts

_BATCH = 500


@dataclass(frozen=True)
class MemberRules:
    """The configuration a reassessment reads: live tiers and active audiences."""

    tiers: tuple[Tier, ...]
    audiences: tuple[CompiledAudience, ...]

    @property
    def reactive_audiences(self) -> tuple[CompiledAudience, ...]:
        return tuple(a for a in self.audiences if a.is_reactive)


# How many reassessments enclose the current one: events they emit carry it as their depth.
_nesting: ContextVar[int] = ContextVar("loyalty_member_state_nesting", default=0)
# While a configuration write reassesses everyone, the configuration as this transaction has written it (not yet
# committed, so not in the cached rules): nested reassessments caused by the events it emits must use it too.
_uncommitted: ContextVar[tuple[uuid.UUID, MemberRules] | None] = ContextVar(
    "loyalty_member_state_uncommitted", default=None
)
# While an event's reactions run, the members they change (tenant, members): reassessed once, after the last.
_deferred: ContextVar[tuple[uuid.UUID, set[uuid.UUID]] | None] = ContextVar(
    "loyalty_member_state_deferred", default=None
)


async def _member_rules(tx: Tx, tenant_id: uuid.UUID) -> MemberRules:
    pending = _uncommitted.get()
    if pending is not None and pending[0] == tenant_id:
        return pending[1]
    rules = await rules_service.current_rules(tx, tenant_id)
    return MemberRules(tiers=rules.tiers, audiences=rules.audiences)


async def _lock_accounts(tx: Tx, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID]) -> None:
    """Take the members' account rows (in id order) so reassessments of one member run one after the other and
    each reads what the previous one committed."""
    await tx.execute(
        select(point_accounts.c.member_id)
        .where(point_accounts.c.tenant_id == tenant_id, point_accounts.c.member_id.in_(member_ids))
        .order_by(point_accounts.c.member_id)
        .with_for_update()
    )


async def _reassess(
    tx: Tx,
    tenant_id: uuid.UUID,
    member_ids: Sequence[uuid.UUID],
    tier_set: Sequence[Tier] | None,
    audiences: Sequence[CompiledAudience],
) -> tuple[int, int]:
    depth = _nesting.get()
    token = _nesting.set(depth + 1)
    try:
        if tier_set is not None:
            await tier_service.reassess_members(tx, tenant_id, member_ids, tier_set, depth=depth)
        if audiences:
            return await audience_service.reassess_members(tx, tenant_id, member_ids, audiences, depth=depth)
        return 0, 0
    finally:
        _nesting.reset(token)


async def member_changed(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """Reassess the member's tier, then their reactive audiences, in the caller's transaction (at the end of
    :func:`reassessed_once`'s block, inside one)."""
    deferred = _deferred.get()
    if deferred is not None and deferred[0] == tenant_id:
        deferred[1].add(member_id)
        return
    rules = await _member_rules(tx, tenant_id)
    if not rules.tiers and not rules.reactive_audiences:
        return
    await _lock_accounts(tx, tenant_id, [member_id])
    # Read again once the member is ours: a configuration change may have committed while we waited.
    rules = await _member_rules(tx, tenant_id)
    await _reassess(tx, tenant_id, [member_id], rules.tiers if rules.tiers else None, rules.reactive_audiences)


@asynccontextmanager
async def reassessed_once(tx: Tx, tenant_id: uuid.UUID) -> AsyncIterator[None]:
    """Reassess the members the block changes once, when it ends, instead of after each change.

    An event's reactions use it: three earn reactors on one sale would otherwise reassess the member three times
    (and could announce two tier moves where the sale made one). Nothing in a reaction reads the tier or the
    audiences: conditions see the payload as enhanced before the first reaction ran. If the block fails, nothing
    is reassessed: the transaction is rolled back anyway."""
    changed: set[uuid.UUID] = set()
    token = _deferred.set((tenant_id, changed))
    try:
        yield
    finally:
        _deferred.reset(token)
    for member_id in sorted(changed):
        await member_changed(tx, tenant_id, member_id)


async def load_member_rules(tx: Tx, tenant_id: uuid.UUID) -> MemberRules:
    """Straight from storage, uncached (it includes what the current transaction has written); the cached rules
    (``services/rules.py``) are built with it."""
    return MemberRules(
        tiers=tuple(await tier_service.list_tiers(tx, tenant_id)),
        audiences=tuple(
            compile_audience(a) for a in await audience_service.live_audiences(tx, tenant_id) if a.is_active
        ),
    )


async def open_member_batches(tx: Tx, tenant_id: uuid.UUID) -> AsyncIterator[list[uuid.UUID]]:
    """The ids of the tenant's open members, in batches of 500, in id order."""
    after: uuid.UUID | None = None
    while True:
        query = select(members.c.member_id).where(members.c.tenant_id == tenant_id, members.c.closed_at.is_(None))
        if after is not None:
            query = query.where(members.c.member_id > after)
        batch = list((await tx.execute(query.order_by(members.c.member_id).limit(_BATCH))).scalars())
        if not batch:
            return
        yield batch
        after = batch[-1]


async def reassess_everyone(
    tx: Tx, tenant_id: uuid.UUID, *, tiers_changed: bool = False, audience: CompiledAudience | None = None
) -> tuple[int, int]:
    """Reassess every open member after a tier write (tiers, then reactive audiences, which may use the tier),
    or against one audience (created, changed or refreshed). Returns the audience joins and leaves.

    Runs before the caller bumps the configuration version, with the configuration read from this transaction,
    so the events it emits are processed with rules that are already committed.
    """
    fresh = await load_member_rules(tx, tenant_id)
    if tiers_changed:
        tier_set: Sequence[Tier] | None = fresh.tiers
        audiences: Sequence[CompiledAudience] = fresh.reactive_audiences
    else:
        tier_set, audiences = None, [audience] if audience is not None else []
    token = _uncommitted.set((tenant_id, fresh))
    joins = leaves = 0
    try:
        async for batch in open_member_batches(tx, tenant_id):
            await _lock_accounts(tx, tenant_id, batch)
            joined, left = await _reassess(tx, tenant_id, batch, tier_set, audiences)
            joins, leaves = joins + joined, leaves + left
    finally:
        _uncommitted.reset(token)
    return joins, leaves


async def review_tiers(tx: Tx, tenant_id: uuid.UUID) -> int:
    """The daily tier review: reassess every open member's tier when the tenant has a CALENDAR_PERIOD tier, whose
    qualifying window moves with the calendar even when nothing happens to the member; then the reactive
    audiences of the members that moved (their criteria may look at the tier). Only real moves write and emit
    ``TIER_CHANGED``, so a second run, or another worker's run, changes nothing. Returns how many members moved."""
    rules = await load_member_rules(tx, tenant_id)
    if not any(t.calculation is Calculation.CALENDAR_PERIOD for t in rules.tiers):
        return 0
    moved = 0
    async for batch in open_member_batches(tx, tenant_id):
        await _lock_accounts(tx, tenant_id, batch)
        depth = _nesting.get()
        token = _nesting.set(depth + 1)
        try:
            changed = await tier_service.reassess_members(tx, tenant_id, batch, rules.tiers, depth=depth)
            if changed and rules.reactive_audiences:
                await audience_service.reassess_members(tx, tenant_id, changed, rules.reactive_audiences, depth=depth)
        finally:
            _nesting.reset(token)
        moved += len(changed)
    return moved
