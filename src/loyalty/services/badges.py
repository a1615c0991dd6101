"""Badges: what a member can earn. Never deleted (archive them); awards are kept as history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update

from loyalty.domain.errors import Conflict, InvalidInput, NotFound
from loyalty.domain.members import Member
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.tables import badge_awards, badges


class BadgeStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    ARCHIVED = "ARCHIVED"


@dataclass(frozen=True)
class Badge:
    badge_id: uuid.UUID
    internal_name: str
    internal_description: str | None
    details: list[dict[str, Any]]
    priority: int
    status: BadgeStatus
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BadgeAward:
    award_id: uuid.UUID
    badge: Badge
    member_id: uuid.UUID
    event_id: uuid.UUID | None
    comment: str | None
    awarded_at: datetime


@dataclass(frozen=True)
class BadgeDraft:
    internal_name: str | None = None
    internal_description: str | None = None
    details: list[dict[str, Any]] | None = None
    priority: int | None = None
    status: BadgeStatus | None = None


def _badge(row: Any) -> Badge:
    return Badge(
        badge_id=row.badge_id,
        internal_name=row.internal_name,
        internal_description=row.internal_description,
        details=row.details,
        priority=row.priority,
        status=BadgeStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create_badge(tx: Tx, tenant_id: uuid.UUID, draft: BadgeDraft) -> Badge:
    if not draft.internal_name:
        raise InvalidInput("internalName is required.", code="VALIDATION_ERROR", field="internalName")
    badge_id = uuid.uuid4()
    moment = now()
    await tx.execute(
        badges.insert().values(
            tenant_id=tenant_id,
            badge_id=badge_id,
            internal_name=draft.internal_name,
            internal_description=draft.internal_description,
            details=draft.details or [],
            priority=draft.priority or 0,
            status=(draft.status or BadgeStatus.ACTIVE).value,
            created_at=moment,
            updated_at=moment,
        )
    )
    await bump_config_version(tx, tenant_id)
    return await get_badge(tx, tenant_id, badge_id)


async def get_badge(tx: Tx, tenant_id: uuid.UUID, badge_id: uuid.UUID) -> Badge:
    row = (
        await tx.execute(select(badges).where(badges.c.tenant_id == tenant_id, badges.c.badge_id == badge_id))
    ).first()
    if row is None:
        raise NotFound("No such badge.", code="BADGE_NOT_FOUND")
    return _badge(row)


async def list_badges(tx: Tx, tenant_id: uuid.UUID, *, limit: int, skip: int) -> tuple[list[Badge], int]:
    condition = badges.c.tenant_id == tenant_id
    total = (await tx.execute(select(func.count()).select_from(badges).where(condition))).scalar_one()
    rows = await tx.execute(
        select(badges)
        .where(condition)
        .order_by(badges.c.priority.desc(), badges.c.created_at)
        .limit(limit)
        .offset(skip)
    )
    return [_badge(r) for r in rows], total


async def update_badge(tx: Tx, tenant_id: uuid.UUID, badge_id: uuid.UUID, patch: BadgeDraft) -> Badge:
    await get_badge(tx, tenant_id, badge_id)
    values: dict[str, Any] = {
        k: v
        for k, v in {
            "internal_name": patch.internal_name,
            "internal_description": patch.internal_description,
            "details": patch.details,
            "priority": patch.priority,
            "status": patch.status.value if patch.status else None,
        }.items()
        if v is not None
    }
    values["updated_at"] = now()
    await tx.execute(
        update(badges).where(badges.c.tenant_id == tenant_id, badges.c.badge_id == badge_id).values(**values)
    )
    await bump_config_version(tx, tenant_id)
    return await get_badge(tx, tenant_id, badge_id)


async def record_award(
    tx: Tx, tenant_id: uuid.UUID, badge: Badge, member_id: uuid.UUID, *, event_id: uuid.UUID | None, comment: str | None
) -> BadgeAward:
    """Write an award (the caller emits BADGE_AWARDED). Only active badges can be awarded."""
    if badge.status is not BadgeStatus.ACTIVE:
        raise Conflict(f"The badge is {badge.status}; only ACTIVE badges can be awarded.", code="BADGE_NOT_ACTIVE")
    award_id = uuid.uuid4()
    awarded_at = now()
    await tx.execute(
        badge_awards.insert().values(
            tenant_id=tenant_id,
            award_id=award_id,
            badge_id=badge.badge_id,
            member_id=member_id,
            event_id=event_id,
            comment=comment,
            awarded_at=awarded_at,
        )
    )
    # Imported here: the rules cache imports this module, and reassessing members runs the events pipeline.
    from loyalty.services import member_state

    await member_state.member_changed(tx, tenant_id, member_id)
    return BadgeAward(award_id, badge, member_id, event_id, comment, awarded_at)


async def award_badge(
    tx: Tx, tenant_id: uuid.UUID, badge_id: uuid.UUID, member: Member, *, comment: str | None, actor: str
) -> BadgeAward:
    """The admin command: award a badge and emit ``BADGE_AWARDED`` (which reactors may react to)."""
    # Imported here: events runs reactions, and a BADGE reaction records awards through this module.
    from loyalty.services import events

    badge = await get_badge(tx, tenant_id, badge_id)
    event_id = uuid.uuid4()
    award = await record_award(tx, tenant_id, badge, member.member_id, event_id=event_id, comment=comment)
    await events.emit(
        tx,
        tenant_id,
        events.IntrinsicEvent.BADGE_AWARDED,
        subject=member,
        payload={"badgeId": str(badge.badge_id), "badgeName": badge.internal_name, "comment": comment},
        executor=actor,
        event_id=event_id,
    )
    return award


async def earned_badges(
    tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, *, limit: int, skip: int
) -> tuple[list[BadgeAward], int]:
    condition = (badge_awards.c.tenant_id == tenant_id) & (badge_awards.c.member_id == member_id)
    total = (await tx.execute(select(func.count()).select_from(badge_awards).where(condition))).scalar_one()
    rows = await tx.execute(
        select(badge_awards, badges)
        .join(badges, (badges.c.tenant_id == badge_awards.c.tenant_id) & (badges.c.badge_id == badge_awards.c.badge_id))
        .where(condition)
        .order_by(badge_awards.c.awarded_at.desc())
        .limit(limit)
        .offset(skip)
    )
    return [BadgeAward(r.award_id, _badge(r), r.member_id, r.event_id, r.comment, r.awarded_at) for r in rows], total
