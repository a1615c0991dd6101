"""Tiers: their definitions (configuration), the tier each member holds, and the progress a wallet shows.

A member's tier is kept in ``member_tiers`` and reassessed after every change to the member
(``services/member_state.py``) and, for every member, after every tier write. A move is written before
``TIER_CHANGED`` is emitted, so the reactors it runs see the new tier and a reassessment they cause finds
nothing more to do.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, update

from loyalty.domain.errors import Conflict, InvalidInput, NotFound
from loyalty.domain.ledger import Impact
from loyalty.domain.members import Member
from loyalty.domain.tiers import (
    AccumulationPeriod,
    Calculation,
    Earnings,
    Tier,
    TierProgress,
    check_calculation,
    current_tier,
    naming,
    periods_used,
    progress,
    qualifying_since,
)
from loyalty.domain.tiers import wallet_tier as shown_in_wallet
from loyalty.services import events, member_state
from loyalty.services import members as member_service
from loyalty.services import settings as settings_service
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.sql import ignoring_conflicts
from loyalty.storage.tables import member_tiers, members, point_accounts, point_entries, tenants, tiers

__all__ = [
    "Tier",
    "TierDraft",
    "TierProgress",
    "create_tier",
    "delete_tier",
    "get_tier",
    "list_tiers",
    "member_tier",
    "reassess_members",
    "tier_progress",
    "update_tier",
    "wallet_tier",
]

DEFAULT_LOCALE = "en"


@dataclass(frozen=True)
class TierDraft:
    """A new tier, or (with ``None`` meaning "unchanged") a patch."""

    name: str | None = None
    details: dict[str, dict[str, Any]] | None = None
    default_locale: str | None = None
    points_requirement: int | None = None
    calculation: Calculation | None = None
    accumulation_period: AccumulationPeriod | None = None
    priority: int | None = None


def _tier(row: Any) -> Tier:
    return Tier(
        tier_id=row.tier_id,
        name=row.name,
        priority=row.priority,
        points_requirement=row.points_requirement,
        calculation=Calculation(row.calculation),
        accumulation_period=AccumulationPeriod(row.accumulation_period) if row.accumulation_period else None,
        details=row.details,
        default_locale=row.default_locale,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _live(tenant_id: uuid.UUID) -> Any:
    return (tiers.c.tenant_id == tenant_id) & tiers.c.deleted_at.is_(None)


async def list_tiers(tx: Tx, tenant_id: uuid.UUID) -> list[Tier]:
    """Live tiers, lowest priority first."""
    rows = await tx.execute(select(tiers).where(_live(tenant_id)).order_by(tiers.c.priority))
    return [_tier(r) for r in rows]


async def get_tier(tx: Tx, tenant_id: uuid.UUID, tier_id: uuid.UUID) -> Tier:
    row = (await tx.execute(select(tiers).where(_live(tenant_id), tiers.c.tier_id == tier_id))).first()
    if row is None:
        raise NotFound("No such tier.", code="TIER_NOT_FOUND")
    return _tier(row)


async def _lock_tier_configuration(tx: Tx, tenant_id: uuid.UUID) -> None:
    """Serialise the tenant's tier writes (the tenant row, locked until commit), so "one live tier per priority"
    holds under concurrency. SQLite writers are serialised by BEGIN IMMEDIATE already."""
    await tx.execute(select(tenants.c.tenant_id).where(tenants.c.tenant_id == tenant_id).with_for_update())


async def _ensure_priority_free(tx: Tx, tenant_id: uuid.UUID, priority: int, tier_id: uuid.UUID | None) -> None:
    query = select(tiers.c.tier_id).where(_live(tenant_id), tiers.c.priority == priority)
    if tier_id is not None:
        query = query.where(tiers.c.tier_id != tier_id)
    if (await tx.execute(query.limit(1))).first() is not None:
        raise Conflict(f"Another tier has priority {priority}.", code="TIER_PRIORITY_TAKEN", priority=priority)


async def create_tier(tx: Tx, tenant_id: uuid.UUID, draft: TierDraft) -> Tier:
    if draft.points_requirement is None or draft.calculation is None or draft.priority is None:
        raise InvalidInput(
            "pointsRequirement, calculation and priority are required.", code="VALIDATION_ERROR", field="body"
        )
    default_locale = draft.default_locale or DEFAULT_LOCALE
    name, details = naming(draft.name, draft.details or {}, default_locale)
    check_calculation(draft.calculation, draft.accumulation_period)
    await _lock_tier_configuration(tx, tenant_id)
    await _ensure_priority_free(tx, tenant_id, draft.priority, None)
    tier_id = uuid.uuid4()
    moment = now()
    await tx.execute(
        tiers.insert().values(
            tenant_id=tenant_id,
            tier_id=tier_id,
            name=name,
            details=details,
            default_locale=default_locale,
            points_requirement=draft.points_requirement,
            calculation=draft.calculation.value,
            accumulation_period=draft.accumulation_period.value if draft.accumulation_period else None,
            priority=draft.priority,
            created_at=moment,
            updated_at=moment,
        )
    )
    await member_state.reassess_everyone(tx, tenant_id, tiers_changed=True)
    await bump_config_version(tx, tenant_id)
    return await get_tier(tx, tenant_id, tier_id)


async def update_tier(tx: Tx, tenant_id: uuid.UUID, tier_id: uuid.UUID, patch: TierDraft) -> Tier:
    await _lock_tier_configuration(tx, tenant_id)
    current = await get_tier(tx, tenant_id, tier_id)
    default_locale = patch.default_locale or current.default_locale
    name, details = naming(patch.name, patch.details if patch.details is not None else current.details, default_locale)
    calculation = patch.calculation or current.calculation
    period = patch.accumulation_period or current.accumulation_period
    check_calculation(calculation, period)
    priority = current.priority if patch.priority is None else patch.priority
    if priority != current.priority:
        await _ensure_priority_free(tx, tenant_id, priority, tier_id)
    requirement = current.points_requirement if patch.points_requirement is None else patch.points_requirement
    await tx.execute(
        update(tiers)
        .where(tiers.c.tenant_id == tenant_id, tiers.c.tier_id == tier_id)
        .values(
            name=name,
            details=details,
            default_locale=default_locale,
            points_requirement=requirement,
            calculation=calculation.value,
            accumulation_period=period.value if period else None,
            priority=priority,
            updated_at=now(),
        )
    )
    # A rename moves no one, but audience criteria may look at tier names.
    changed = (name, priority, requirement, calculation, period) != (
        current.name,
        current.priority,
        current.points_requirement,
        current.calculation,
        current.accumulation_period,
    )
    if changed:
        await member_state.reassess_everyone(tx, tenant_id, tiers_changed=True)
    await bump_config_version(tx, tenant_id)
    return await get_tier(tx, tenant_id, tier_id)


async def delete_tier(tx: Tx, tenant_id: uuid.UUID, tier_id: uuid.UUID) -> Tier:
    """Retire a tier (kept for history); its holders move to the tier their points now give them."""
    await _lock_tier_configuration(tx, tenant_id)
    tier = await get_tier(tx, tenant_id, tier_id)
    await tx.execute(
        update(tiers).where(tiers.c.tenant_id == tenant_id, tiers.c.tier_id == tier_id).values(deleted_at=now())
    )
    await member_state.reassess_everyone(tx, tenant_id, tiers_changed=True)
    await bump_config_version(tx, tenant_id)
    return tier


# ---- the tier a member holds ----


def _accounts_of(tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID], *columns: Any) -> Any:
    """The point accounts of the open members among ``member_ids``, with ``columns``."""
    account = point_accounts.c
    return (
        select(account.member_id, account.lifetime_earn, *columns)
        .join(members, (members.c.tenant_id == account.tenant_id) & (members.c.member_id == account.member_id))
        .where(account.tenant_id == tenant_id, account.member_id.in_(member_ids), members.c.closed_at.is_(None))
    )


async def _window_earnings(
    tx: Tx, tenant_id: uuid.UUID, lifetime: dict[uuid.UUID, int], tier_set: Sequence[Tier], moment: datetime
) -> dict[uuid.UUID, Earnings]:
    """Each member's lifetime earn with the EARN entries since the start of each qualifying window the tiers use
    (one grouped query, none if no tier uses a window; windows in the tenant's time zone)."""
    periods = sorted(periods_used(tier_set))
    windows: dict[uuid.UUID, dict[AccumulationPeriod, int]] = {}
    if periods and lifetime:
        zone = (await settings_service.get_settings(tx, tenant_id)).zone
        starts = {period: qualifying_since(moment, zone, period) for period in periods}
        entry = point_entries.c
        sums = [
            func.sum(case((entry.created_at >= start, entry.delta), else_=0)).label(period.value)
            for period, start in starts.items()
        ]
        found = await tx.execute(
            select(entry.member_id, *sums)
            .where(
                entry.tenant_id == tenant_id,
                entry.member_id.in_(list(lifetime)),
                entry.impact == Impact.EARN.value,
                entry.created_at >= min(starts.values()),
            )
            .group_by(entry.member_id)
        )
        for row in found:
            windows[row.member_id] = {period: int(row._mapping[period.value] or 0) for period in periods}
    return {member_id: Earnings(total, windows.get(member_id, {})) for member_id, total in lifetime.items()}


async def _earnings(
    tx: Tx, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID], tier_set: Sequence[Tier], moment: datetime
) -> dict[uuid.UUID, Earnings]:
    """Earnings of the open members among ``member_ids``."""
    rows = await tx.execute(_accounts_of(tenant_id, member_ids))
    return await _window_earnings(tx, tenant_id, {r.member_id: int(r.lifetime_earn) for r in rows}, tier_set, moment)


async def _earnings_and_held(
    tx: Tx, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID], tier_set: Sequence[Tier], moment: datetime
) -> tuple[dict[uuid.UUID, Earnings], dict[uuid.UUID, uuid.UUID | None]]:
    """:func:`_earnings`, and the stored tier of each of those members that has a ``member_tiers`` row (``None``:
    a row saying "no tier"), read in the same statement."""
    holding = member_tiers.c
    rows = await tx.execute(
        _accounts_of(tenant_id, member_ids, holding.member_id.label("holder"), holding.tier_id).outerjoin(
            member_tiers,
            (holding.tenant_id == point_accounts.c.tenant_id) & (holding.member_id == point_accounts.c.member_id),
        )
    )
    lifetime: dict[uuid.UUID, int] = {}
    held: dict[uuid.UUID, uuid.UUID | None] = {}
    for row in rows:
        lifetime[row.member_id] = int(row.lifetime_earn)
        if row.holder is not None:
            held[row.member_id] = row.tier_id
    return await _window_earnings(tx, tenant_id, lifetime, tier_set, moment), held


async def _move(
    tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, stored: dict[uuid.UUID, uuid.UUID | None], to: Tier | None
) -> bool:
    """Record the member's new tier; True only if this statement made the change (so it is announced once)."""
    target = to.tier_id if to else None
    if member_id not in stored:
        if target is None:
            return False
        inserted = await tx.execute(
            ignoring_conflicts(tx, member_tiers),
            {"tenant_id": tenant_id, "member_id": member_id, "tier_id": target, "updated_at": now()},
        )
        return bool(inserted.rowcount)
    held = stored[member_id]
    if held == target:
        return False
    row = member_tiers.c
    unchanged = row.tier_id.is_(None) if held is None else row.tier_id == held
    moved = await tx.execute(
        update(member_tiers)
        .where(row.tenant_id == tenant_id, row.member_id == member_id, unchanged)
        .values(tier_id=target, updated_at=now())
    )
    return bool(moved.rowcount)


async def reassess_members(
    tx: Tx, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID], tier_set: Sequence[Tier], *, depth: int
) -> list[uuid.UUID]:
    """Move each member to the tier their earnings give them now; emits ``TIER_CHANGED`` for real moves only.
    Returns the members that moved."""
    earnings, stored = await _earnings_and_held(tx, tenant_id, member_ids, tier_set, now())
    moved: list[uuid.UUID] = []
    for member_id, earned in earnings.items():
        target = current_tier(tier_set, earned)
        if not await _move(tx, tenant_id, member_id, stored, target):
            continue
        moved.append(member_id)
        held = stored.get(member_id)
        await events.emit(
            tx,
            tenant_id,
            events.IntrinsicEvent.TIER_CHANGED,
            subject=await member_service.get_member(tx, tenant_id, member_id),
            payload={
                "fromTierId": str(held) if held else None,
                "toTierId": str(target.tier_id) if target else None,
            },
            depth=depth,
        )
    return moved


async def member_tier(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> Tier | None:
    """The tier the member holds now (``None``: no tier)."""
    row = (
        await tx.execute(
            select(tiers)
            .join(
                member_tiers,
                (member_tiers.c.tenant_id == tiers.c.tenant_id) & (member_tiers.c.tier_id == tiers.c.tier_id),
            )
            .where(_live(tenant_id), member_tiers.c.member_id == member_id)
        )
    ).first()
    return _tier(row) if row is not None else None


# Built once: every wallet reads it.
_TIERS_AND_HELD = (
    select(tiers, member_tiers.c.member_id.label("holder"))
    .outerjoin(
        member_tiers,
        (member_tiers.c.tenant_id == tiers.c.tenant_id)
        & (member_tiers.c.tier_id == tiers.c.tier_id)
        & (member_tiers.c.member_id == bindparam("member_id")),
    )
    .where(tiers.c.tenant_id == bindparam("tenant_id"), tiers.c.deleted_at.is_(None))
    .order_by(tiers.c.priority)
)


async def _tiers_and_held(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> tuple[list[Tier], Tier | None]:
    """What :func:`list_tiers` and :func:`member_tier` answer, in one query: the live tiers (lowest priority
    first), each joined to the member's ``member_tiers`` row if it is the tier held (a member has one row at most)."""
    rows = await tx.execute(_TIERS_AND_HELD, {"tenant_id": tenant_id, "member_id": member_id})
    tier_set: list[Tier] = []
    held: Tier | None = None
    for row in rows:
        tier_set.append(_tier(row))
        if row.holder is not None:
            held = tier_set[-1]
    return tier_set, held


async def tier_progress(tx: Tx, tenant_id: uuid.UUID, member: Member) -> dict[uuid.UUID, TierProgress]:
    """The member's progress with every live tier (earned points and whether it is attained)."""
    tier_set, held = await _tiers_and_held(tx, tenant_id, member.member_id)
    if not tier_set:
        return {}
    earned = (await _earnings(tx, tenant_id, [member.member_id], tier_set, now())).get(member.member_id, Earnings(0))
    return {t.tier_id: progress(t, earned, held) for t in tier_set}


async def wallet_tier(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> TierProgress | None:
    """The wallet's tier: the one held (``attained``), or before any is reached the first to reach, with the
    points earned towards it. ``None`` when the tenant has no tiers."""
    tier_set, held = await _tiers_and_held(tx, tenant_id, member_id)
    shown = shown_in_wallet(tier_set, held)
    if shown is None:
        return None
    earned = (await _earnings(tx, tenant_id, [member_id], [shown], now())).get(member_id, Earnings(0))
    return progress(shown, earned, held)
