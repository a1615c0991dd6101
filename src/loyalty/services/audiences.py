"""Audiences: definitions (configuration), who is in each, and reassessing members against their criteria.

Membership lives in ``audience_members``. A join is ``INSERT … ON CONFLICT DO NOTHING`` and a leave a delete by
key, and ``AUDIENCE_JOINED`` / ``AUDIENCE_LEFT`` are emitted only by the statement that made the change, so two
reassessments of one member can never announce a move twice or leave a half-written membership.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, select, update

from loyalty.domain.audiences import (
    Audience,
    CompiledAudience,
    MemberFacts,
    TriggerFrequency,
    check_criteria_format,
    compile_audience,
    compile_criteria,
    member_document,
    membership_change,
    trigger_frequency,
)
from loyalty.domain.errors import InvalidInput, NotFound
from loyalty.domain.members import Member
from loyalty.services import events, member_state
from loyalty.services import members as member_service
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.sql import ignoring_conflicts
from loyalty.storage.tables import (
    audience_members,
    audiences,
    badge_awards,
    benefits,
    member_tiers,
    members,
    point_accounts,
    tiers,
)

__all__ = [
    "Audience",
    "AudienceDraft",
    "AudienceMember",
    "Count",
    "Membership",
    "Refresh",
    "audience_results",
    "count_matching",
    "create_audience",
    "delete_audience",
    "get_audience",
    "list_audiences",
    "live_audiences",
    "member_audience_ids",
    "member_audiences",
    "memberships",
    "reassess_members",
    "refresh_audience",
    "update_audience",
]

# Benefits that count as "rewards purchased" (given and reaction-made vouchers do not).
PURCHASE_ORIGIN = "PURCHASE"


@dataclass(frozen=True)
class AudienceDraft:
    """A new audience, or (with ``None`` meaning "unchanged") a patch."""

    name: str | None = None
    description: str | None = None
    is_active: bool | None = None
    criteria_format: str | None = None
    criteria: dict[str, Any] | None = None
    trigger_frequency: str | None = None
    send_joined_event: bool | None = None
    send_left_event: bool | None = None


@dataclass(frozen=True)
class AudienceMember:
    member: Member
    joined_at: datetime


@dataclass(frozen=True)
class Refresh:
    audience: Audience
    joined: int
    left: int


@dataclass(frozen=True)
class Membership:
    audience: Audience
    joined_at: datetime


@dataclass(frozen=True)
class Count:
    matching: int
    assessed: int


def _audience(row: Any) -> Audience:
    return Audience(
        audience_id=row.audience_id,
        name=row.name,
        description=row.description,
        is_active=row.is_active,
        criteria=row.criteria,
        trigger_frequency=TriggerFrequency(row.trigger_frequency),
        send_joined_event=row.send_joined_event,
        send_left_event=row.send_left_event,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _live(tenant_id: uuid.UUID) -> Any:
    return (audiences.c.tenant_id == tenant_id) & audiences.c.deleted_at.is_(None)


def _check(draft: AudienceDraft) -> None:
    if draft.criteria_format is not None:
        check_criteria_format(draft.criteria_format)
    if draft.trigger_frequency is not None:
        trigger_frequency(draft.trigger_frequency)
    if draft.criteria is not None:
        compile_criteria(draft.criteria)


async def create_audience(tx: Tx, tenant_id: uuid.UUID, draft: AudienceDraft) -> Audience:
    """Create an audience and assess every member against it at once (an active one)."""
    if not draft.name or draft.criteria is None:
        raise InvalidInput("name and criteriaDefinition.criteria are required.", code="VALIDATION_ERROR")
    _check(draft)
    audience_id = uuid.uuid4()
    moment = now()
    await tx.execute(
        audiences.insert().values(
            tenant_id=tenant_id,
            audience_id=audience_id,
            name=draft.name,
            description=draft.description,
            is_active=True if draft.is_active is None else draft.is_active,
            criteria=draft.criteria,
            trigger_frequency=trigger_frequency(draft.trigger_frequency or TriggerFrequency.REACTIVE.value).value,
            send_joined_event=bool(draft.send_joined_event),
            send_left_event=bool(draft.send_left_event),
            created_at=moment,
            updated_at=moment,
        )
    )
    audience = await get_audience(tx, tenant_id, audience_id)
    if audience.is_active:
        await member_state.reassess_everyone(tx, tenant_id, audience=compile_audience(audience))
    await bump_config_version(tx, tenant_id)
    return audience


async def get_audience(tx: Tx, tenant_id: uuid.UUID, audience_id: uuid.UUID) -> Audience:
    row = (await tx.execute(select(audiences).where(_live(tenant_id), audiences.c.audience_id == audience_id))).first()
    if row is None:
        raise NotFound("No such audience.", code="AUDIENCE_NOT_FOUND")
    return _audience(row)


async def list_audiences(
    tx: Tx, tenant_id: uuid.UUID, *, limit: int, skip: int, order: Literal["ASC", "DESC"]
) -> tuple[list[Audience], int]:
    total = (await tx.execute(select(func.count()).select_from(audiences).where(_live(tenant_id)))).scalar_one()
    ordering = audiences.c.created_at.asc() if order == "ASC" else audiences.c.created_at.desc()
    rows = await tx.execute(
        select(audiences).where(_live(tenant_id)).order_by(ordering, audiences.c.audience_id).limit(limit).offset(skip)
    )
    return [_audience(r) for r in rows], total


async def live_audiences(tx: Tx, tenant_id: uuid.UUID) -> list[Audience]:
    """Every audience not deleted, active or not, oldest first."""
    rows = await tx.execute(select(audiences).where(_live(tenant_id)).order_by(audiences.c.created_at))
    return [_audience(r) for r in rows]


async def update_audience(tx: Tx, tenant_id: uuid.UUID, audience_id: uuid.UUID, patch: AudienceDraft) -> Audience:
    """Change an audience. New criteria, or switching it on, reassess every member; switching it off keeps the
    members it had but it no longer counts (nor is it evaluated)."""
    current = await get_audience(tx, tenant_id, audience_id)
    _check(patch)
    values: dict[str, Any] = {
        key: value
        for key, value in {
            "name": patch.name,
            "description": patch.description,
            "is_active": patch.is_active,
            "criteria": patch.criteria,
            "trigger_frequency": patch.trigger_frequency,
            "send_joined_event": patch.send_joined_event,
            "send_left_event": patch.send_left_event,
        }.items()
        if value is not None
    }
    values["updated_at"] = now()
    await tx.execute(
        update(audiences)
        .where(audiences.c.tenant_id == tenant_id, audiences.c.audience_id == audience_id)
        .values(**values)
    )
    audience = await get_audience(tx, tenant_id, audience_id)
    switched_on = audience.is_active and not current.is_active
    if audience.is_active and (switched_on or audience.criteria != current.criteria):
        await member_state.reassess_everyone(tx, tenant_id, audience=compile_audience(audience))
    await bump_config_version(tx, tenant_id)
    return audience


async def delete_audience(tx: Tx, tenant_id: uuid.UUID, audience_id: uuid.UUID) -> Audience:
    """Retire an audience (kept for history) and forget its members; no AUDIENCE_LEFT is emitted."""
    audience = await get_audience(tx, tenant_id, audience_id)
    await tx.execute(
        delete(audience_members).where(
            audience_members.c.tenant_id == tenant_id, audience_members.c.audience_id == audience_id
        )
    )
    await tx.execute(
        update(audiences)
        .where(audiences.c.tenant_id == tenant_id, audiences.c.audience_id == audience_id)
        .values(deleted_at=now(), updated_at=now())
    )
    await bump_config_version(tx, tenant_id)
    return audience


async def refresh_audience(tx: Tx, tenant_id: uuid.UUID, audience_id: uuid.UUID) -> Refresh:
    """Reassess every member against the audience now, whatever its trigger frequency."""
    audience = await get_audience(tx, tenant_id, audience_id)
    if not audience.is_active:
        raise InvalidInput("An inactive audience is not evaluated; activate it first.", code="AUDIENCE_INACTIVE")
    joined, left = await member_state.reassess_everyone(tx, tenant_id, audience=compile_audience(audience))
    return Refresh(audience=audience, joined=joined, left=left)


async def audience_results(
    tx: Tx, tenant_id: uuid.UUID, audience_id: uuid.UUID, *, limit: int, skip: int, order: Literal["ASC", "DESC"]
) -> tuple[list[AudienceMember], int]:
    """The audience's members (open accounts), by the time they joined."""
    await get_audience(tx, tenant_id, audience_id)
    condition = (
        (audience_members.c.tenant_id == tenant_id)
        & (audience_members.c.audience_id == audience_id)
        & members.c.closed_at.is_(None)
    )
    joined = audience_members.join(
        members,
        (members.c.tenant_id == audience_members.c.tenant_id) & (members.c.member_id == audience_members.c.member_id),
    )
    total = (await tx.execute(select(func.count()).select_from(joined).where(condition))).scalar_one()
    ordering = audience_members.c.joined_at.asc() if order == "ASC" else audience_members.c.joined_at.desc()
    rows = await tx.execute(
        select(members, audience_members.c.joined_at)
        .select_from(joined)
        .where(condition)
        .order_by(ordering, members.c.member_id)
        .limit(limit)
        .offset(skip)
    )
    # Members are read with the members service's own row mapping, one query for the page.
    return [AudienceMember(member=member_service._member(r), joined_at=r.joined_at) for r in rows], total


# ---- what a member belongs to ----


def _memberships(tenant_id: uuid.UUID, member_id: uuid.UUID) -> Any:
    return (
        select(audiences)
        .join(
            audience_members,
            (audience_members.c.tenant_id == audiences.c.tenant_id)
            & (audience_members.c.audience_id == audiences.c.audience_id),
        )
        .where(_live(tenant_id), audiences.c.is_active.is_(True), audience_members.c.member_id == member_id)
    )


async def member_audiences(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> list[Audience]:
    """The active audiences the member is in, oldest first."""
    rows = await tx.execute(_memberships(tenant_id, member_id).order_by(audiences.c.created_at))
    return [_audience(r) for r in rows]


async def memberships(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> list[Membership]:
    """The active audiences the member is in and since when, oldest membership first."""
    query = _memberships(tenant_id, member_id).add_columns(audience_members.c.joined_at)
    rows = await tx.execute(query.order_by(audience_members.c.joined_at, audiences.c.created_at))
    return [Membership(audience=_audience(r), joined_at=r.joined_at) for r in rows]


async def member_audience_ids(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """Ids of the active audiences the member is in (what reward eligibility checks)."""
    return frozenset(a.audience_id for a in await member_audiences(tx, tenant_id, member_id))


# ---- reassessment ----


async def count_matching(tx: Tx, tenant_id: uuid.UUID, draft: AudienceDraft) -> Count:
    """A dry run of a definition: how many open members its criteria admit now. The members are assessed as a
    refresh assesses them (the same documents, in the same batches), and nothing is written."""
    if draft.criteria is None:
        raise InvalidInput("criteriaDefinition.criteria is required.", code="VALIDATION_ERROR")
    _check(draft)
    validator = compile_criteria(draft.criteria)
    matching = assessed = 0
    async for batch in member_state.open_member_batches(tx, tenant_id):
        documents = await _documents(tx, tenant_id, batch)
        assessed += len(documents)
        matching += sum(1 for document in documents.values() if validator.is_valid(document))
    return Count(matching=matching, assessed=assessed)


async def _documents(tx: Tx, tenant_id: uuid.UUID, member_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The criteria documents of the open members among ``member_ids``: three queries for the whole batch."""
    m, account, held, tier = members.c, point_accounts.c, member_tiers.c, tiers.c
    rows = await tx.execute(
        select(m.member_id, m.profile, m.flags, account.balance, account.lifetime_earn, tier.name, tier.priority)
        .select_from(
            members.join(point_accounts, (account.tenant_id == m.tenant_id) & (account.member_id == m.member_id))
            .outerjoin(member_tiers, (held.tenant_id == m.tenant_id) & (held.member_id == m.member_id))
            .outerjoin(
                tiers,
                (tier.tenant_id == held.tenant_id) & (tier.tier_id == held.tier_id) & tier.deleted_at.is_(None),
            )
        )
        .where(m.tenant_id == tenant_id, m.member_id.in_(member_ids), m.closed_at.is_(None))
    )
    found = list(rows)
    if not found:
        return {}
    ids = [r.member_id for r in found]
    badges: dict[uuid.UUID, set[uuid.UUID]] = {}
    for award in await tx.execute(
        select(badge_awards.c.member_id, badge_awards.c.badge_id)
        .where(badge_awards.c.tenant_id == tenant_id, badge_awards.c.member_id.in_(ids))
        .distinct()
    ):
        badges.setdefault(award.member_id, set()).add(award.badge_id)
    purchased: dict[uuid.UUID, set[uuid.UUID]] = {}
    for benefit in await tx.execute(
        select(benefits.c.member_id, benefits.c.reward_id)
        .where(benefits.c.tenant_id == tenant_id, benefits.c.member_id.in_(ids), benefits.c.origin == PURCHASE_ORIGIN)
        .distinct()
    ):
        purchased.setdefault(benefit.member_id, set()).add(benefit.reward_id)
    return {
        r.member_id: member_document(
            MemberFacts(
                profile=r.profile,
                flags=r.flags,
                balance=r.balance,
                lifetime_earn=r.lifetime_earn,
                tier_name=r.name,
                tier_priority=r.priority,
                badge_ids=badges.get(r.member_id, set()),
                purchased_reward_ids=purchased.get(r.member_id, set()),
            )
        )
        for r in found
    }


async def reassess_members(
    tx: Tx,
    tenant_id: uuid.UUID,
    member_ids: Sequence[uuid.UUID],
    candidates: Sequence[CompiledAudience],
    *,
    depth: int,
) -> tuple[int, int]:
    """Join or leave each of ``candidates`` as the members' documents now say. Returns (joins, leaves)."""
    documents = await _documents(tx, tenant_id, member_ids)
    if not documents:
        return 0, 0
    current: dict[uuid.UUID, set[uuid.UUID]] = {}
    for row in await tx.execute(
        select(audience_members.c.member_id, audience_members.c.audience_id).where(
            audience_members.c.tenant_id == tenant_id,
            audience_members.c.member_id.in_(list(documents)),
            audience_members.c.audience_id.in_([a.audience_id for a in candidates]),
        )
    ):
        current.setdefault(row.member_id, set()).add(row.audience_id)
    joins = leaves = 0
    for member_id, document in documents.items():
        change = membership_change(candidates, document, current.get(member_id, set()))
        for audience in change.joined:
            joined = await tx.execute(
                ignoring_conflicts(tx, audience_members),
                {
                    "tenant_id": tenant_id,
                    "audience_id": audience.audience_id,
                    "member_id": member_id,
                    "joined_at": now(),
                },
            )
            if joined.rowcount:
                joins += 1
                if audience.audience.send_joined_event:
                    await _announce(tx, tenant_id, member_id, audience, events.IntrinsicEvent.AUDIENCE_JOINED, depth)
        for audience in change.left:
            left = await tx.execute(
                delete(audience_members).where(
                    audience_members.c.tenant_id == tenant_id,
                    audience_members.c.audience_id == audience.audience_id,
                    audience_members.c.member_id == member_id,
                )
            )
            if left.rowcount:
                leaves += 1
                if audience.audience.send_left_event:
                    await _announce(tx, tenant_id, member_id, audience, events.IntrinsicEvent.AUDIENCE_LEFT, depth)
    return joins, leaves


async def _announce(
    tx: Tx,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    audience: CompiledAudience,
    event_type: events.IntrinsicEvent,
    depth: int,
) -> None:
    await events.emit(
        tx,
        tenant_id,
        event_type,
        subject=await member_service.get_member(tx, tenant_id, member_id),
        payload={"audienceId": str(audience.audience_id)},
        depth=depth,
    )
