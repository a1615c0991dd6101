"""Point lots in storage: created by credits, taken from by debits (FEFO, with allocations recorded), emptied by
expiry, turned spendable by activation. Every function runs after the caller has changed the member's account
row in the same transaction, so the row lock orders everything done to one member's lots."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, tuple_, update

from loyalty.domain.ledger import SourceType
from loyalty.domain.lots import Lot, allocate
from loyalty.storage.database import Tx
from loyalty.storage.tables import point_allocations, point_lots


def _lot(row: Any) -> Lot:
    return Lot(lot_id=row.lot_id, remaining=row.remaining, created_at=row.created_at, expires_at=row.expires_at)


async def add_lot(
    tx: Tx,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    *,
    entry_id: uuid.UUID,
    source_type: SourceType,
    source_id: uuid.UUID,
    points: int,
    remaining: int,
    created_at: datetime,
    expires_at: datetime | None,
    activates_at: datetime | None = None,
) -> None:
    await tx.execute(
        point_lots.insert().values(
            tenant_id=tenant_id,
            lot_id=entry_id,
            member_id=member_id,
            source_type=source_type.value,
            source_id=source_id,
            points=points,
            remaining=remaining,
            created_at=created_at,
            expires_at=expires_at,
            pending=activates_at is not None,
            activates_at=activates_at,
        )
    )


def _of_member(tenant_id: uuid.UUID, member_id: uuid.UUID) -> Any:
    return and_(point_lots.c.tenant_id == tenant_id, point_lots.c.member_id == member_id, point_lots.c.remaining > 0)


async def spendable_lots(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> list[Lot]:
    rows = await tx.execute(select(point_lots).where(_of_member(tenant_id, member_id), point_lots.c.pending.is_(False)))
    return [_lot(row) for row in rows]


async def take(tx: Tx, tenant_id: uuid.UUID, entry_id: uuid.UUID, taken: Sequence[tuple[uuid.UUID, int]]) -> None:
    """Take points from lots for the debit ``entry_id`` and record where they came from."""
    for lot_id, points in taken:
        await tx.execute(
            update(point_lots)
            .where(point_lots.c.tenant_id == tenant_id, point_lots.c.lot_id == lot_id)
            .values(remaining=point_lots.c.remaining - points)
        )
    if taken:
        await tx.execute(
            point_allocations.insert(),
            [{"tenant_id": tenant_id, "entry_id": entry_id, "lot_id": lot, "points": points} for lot, points in taken],
        )


async def take_fefo(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, entry_id: uuid.UUID, points: int) -> None:
    """A debit consumes the member's spendable lots, soonest-expiring first."""
    await take(tx, tenant_id, entry_id, allocate(await spendable_lots(tx, tenant_id, member_id), points))


async def pending_lots_of(
    tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, source_type: SourceType, source_id: uuid.UUID
) -> list[Lot]:
    rows = await tx.execute(
        select(point_lots).where(
            _of_member(tenant_id, member_id),
            point_lots.c.pending.is_(True),
            point_lots.c.source_type == source_type.value,
            point_lots.c.source_id == source_id,
        )
    )
    return [_lot(row) for row in rows]


async def expired_lots(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, moment: datetime) -> list[Lot]:
    rows = await tx.execute(
        select(point_lots).where(
            _of_member(tenant_id, member_id),
            point_lots.c.pending.is_(False),
            point_lots.c.expires_at <= moment,
        )
    )
    return [_lot(row) for row in rows]


async def due_pending_lots(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID, moment: datetime) -> list[Lot]:
    rows = await tx.execute(
        select(point_lots).where(
            _of_member(tenant_id, member_id),
            point_lots.c.pending.is_(True),
            point_lots.c.activates_at <= moment,
        )
    )
    return [_lot(row) for row in rows]


async def activated(tx: Tx, tenant_id: uuid.UUID, lot_id: uuid.UUID, remaining: int) -> None:
    """A pending lot becomes spendable, keeping what is left once any debt is paid."""
    await tx.execute(
        update(point_lots)
        .where(point_lots.c.tenant_id == tenant_id, point_lots.c.lot_id == lot_id)
        .values(pending=False, remaining=remaining)
    )


async def members_with(
    tx: Tx, tenant_id: uuid.UUID, condition: Any, *, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """The next members (by id, after ``after``) that have a lot with points left matching ``condition``."""
    query = select(point_lots.c.member_id).where(point_lots.c.tenant_id == tenant_id, point_lots.c.remaining > 0)
    if after is not None:
        query = query.where(point_lots.c.member_id > after)
    rows = await tx.execute(
        query.where(condition).group_by(point_lots.c.member_id).order_by(point_lots.c.member_id).limit(limit)
    )
    return [row.member_id for row in rows]


async def outstanding(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> list[tuple[Lot, bool, datetime | None]]:
    """Every lot with points left: (lot, pending, activates at)."""
    rows = await tx.execute(select(point_lots).where(_of_member(tenant_id, member_id)))
    return [(_lot(row), row.pending, row.activates_at) for row in rows]


def sums_by_member(keys: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> Any:
    """Σ remaining of spendable and of pending lots of each (tenant, member) in ``keys`` (for the ledger check)."""
    lot = point_lots.c
    return (
        select(
            lot.tenant_id,
            lot.member_id,
            func.sum(lot.remaining).filter(lot.pending.is_(False)).label("spendable"),
            func.sum(lot.remaining).filter(lot.pending.is_(True)).label("pending"),
        )
        .where(tuple_(lot.tenant_id, lot.member_id).in_(keys))
        .group_by(lot.tenant_id, lot.member_id)
    )
