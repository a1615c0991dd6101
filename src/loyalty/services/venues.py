"""Venues: the tenant's stores. ``externalIdentifier`` is the store number a POS sends.

Venues are configuration (rewards and discounts name them), so every write bumps the config version. Deleting
is soft: the row stays for the orders and vouchers that point at it, and its externalIdentifier is released so the
store number can be given to a new venue.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import false, func, select, update
from sqlalchemy.exc import IntegrityError

from loyalty.domain.errors import Conflict, InvalidInput, NotFound
from loyalty.domain.reactors import parse_moment
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.sql import storable
from loyalty.storage.tables import venues

# What a draft may carry (python names); a patch names only the ones it changes.
VENUE_FIELDS = frozenset(
    {"name", "address", "description", "external_identifier", "postcode", "coordinates", "attributes", "availability"}
)


@dataclass(frozen=True)
class Venue:
    venue_id: uuid.UUID
    name: str
    address: str | None
    description: str | None
    external_identifier: str | None
    postcode: str | None
    coordinates: dict[str, float] | None
    attributes: dict[str, Any]
    available_from: datetime | None
    available_until: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    def is_available(self, moment: datetime) -> bool:
        return (self.available_from is None or self.available_from <= moment) and (
            self.available_until is None or moment < self.available_until
        )


def _venue(row: Any) -> Venue:
    return Venue(
        venue_id=row.venue_id,
        name=row.name,
        address=row.address,
        description=row.description,
        external_identifier=row.external_identifier,
        postcode=row.postcode,
        coordinates=row.coordinates,
        attributes=row.attributes,
        available_from=row.available_from,
        available_until=row.available_until,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
    )


def _availability(window: Mapping[str, Any] | None) -> dict[str, datetime | None]:
    """``{start, end}`` (dates or date-times) as column values; ``None`` clears the window."""
    if window is None:
        return {"available_from": None, "available_until": None}
    start = parse_moment(window["start"], field="availability.start") if window.get("start") else None
    end = parse_moment(window["end"], field="availability.end") if window.get("end") else None
    return {"available_from": start, "available_until": end}


def _check_window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise InvalidInput(
            "availability.end must be after availability.start.", code="INVALID_EFFECTIVITY", field="availability.end"
        )


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - VENUE_FIELDS
    if unknown:
        raise ValueError(f"not venue fields: {sorted(unknown)}")
    columns = {k: v for k, v in values.items() if k != "availability"}
    if "availability" in values:
        columns.update(_availability(values["availability"]))
    if "attributes" in columns and columns["attributes"] is None:
        columns["attributes"] = {}
    return columns


async def _write(tx: Tx, statement: Any) -> None:
    try:
        # A savepoint: the unique key on (tenant, externalIdentifier) decides a race between two writers.
        async with tx.begin_nested():
            await tx.execute(statement)
    except IntegrityError as error:
        raise Conflict(
            "Another venue has this externalIdentifier.", code="VENUE_ALREADY_EXISTS", field="externalIdentifier"
        ) from error


async def create_venue(tx: Tx, tenant_id: uuid.UUID, values: Mapping[str, Any]) -> Venue:
    columns = _columns(values)
    if not columns.get("name"):
        raise InvalidInput("A venue needs a name.", code="VALIDATION_ERROR", field="name")
    _check_window(columns.get("available_from"), columns.get("available_until"))
    venue_id = uuid.uuid4()
    moment = now()
    await _write(
        tx,
        venues.insert().values(
            tenant_id=tenant_id,
            venue_id=venue_id,
            **{"attributes": {}, **columns},
            created_at=moment,
            updated_at=moment,
        ),
    )
    await bump_config_version(tx, tenant_id)
    return await get_venue(tx, tenant_id, venue_id)


async def get_venue(tx: Tx, tenant_id: uuid.UUID, venue_id: uuid.UUID) -> Venue:
    row = (
        await tx.execute(
            select(venues).where(
                venues.c.tenant_id == tenant_id, venues.c.venue_id == venue_id, venues.c.deleted_at.is_(None)
            )
        )
    ).first()
    if row is None:
        raise NotFound("No such venue.", code="VENUE_NOT_FOUND")
    return _venue(row)


async def resolve_venue(tx: Tx, tenant_id: uuid.UUID, identifier: str) -> Venue:
    """The live venue ``identifier`` names: its UUID id first, then its externalIdentifier (the store number)."""
    text = identifier.strip()
    try:
        return await get_venue(tx, tenant_id, uuid.UUID(text))
    except (ValueError, NotFound):
        pass
    row = (
        await tx.execute(
            select(venues).where(
                venues.c.tenant_id == tenant_id,
                venues.c.external_identifier == text if storable(text) else false(),
                venues.c.deleted_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise NotFound("No venue has this id or externalIdentifier.", code="VENUE_NOT_FOUND", identifier=identifier)
    return _venue(row)


async def list_venues(
    tx: Tx, tenant_id: uuid.UUID, *, limit: int, skip: int, order: Literal["ASC", "DESC"]
) -> tuple[list[Venue], int]:
    condition = (venues.c.tenant_id == tenant_id) & venues.c.deleted_at.is_(None)
    total = (await tx.execute(select(func.count()).select_from(venues).where(condition))).scalar_one()
    ordering = venues.c.created_at.asc() if order == "ASC" else venues.c.created_at.desc()
    rows = await tx.execute(
        select(venues).where(condition).order_by(ordering, venues.c.venue_id).limit(limit).offset(skip)
    )
    return [_venue(r) for r in rows], total


async def update_venue(tx: Tx, tenant_id: uuid.UUID, identifier: str, changes: Mapping[str, Any]) -> Venue:
    """Change the fields named in ``changes``; ``None`` clears an optional field."""
    venue = await resolve_venue(tx, tenant_id, identifier)
    columns = _columns(changes)
    if "name" in columns and not columns["name"]:
        raise InvalidInput("A venue needs a name.", code="VALIDATION_ERROR", field="name")
    _check_window(
        columns.get("available_from", venue.available_from), columns.get("available_until", venue.available_until)
    )
    await _write(
        tx,
        update(venues)
        .where(venues.c.tenant_id == tenant_id, venues.c.venue_id == venue.venue_id)
        .values(**columns, updated_at=now()),
    )
    await bump_config_version(tx, tenant_id)
    return await get_venue(tx, tenant_id, venue.venue_id)


async def delete_venue(tx: Tx, tenant_id: uuid.UUID, identifier: str) -> Venue:
    """Soft-delete: the venue is no longer found, and its externalIdentifier is free for another venue."""
    venue = await resolve_venue(tx, tenant_id, identifier)
    moment = now()
    await tx.execute(
        update(venues)
        .where(venues.c.tenant_id == tenant_id, venues.c.venue_id == venue.venue_id)
        .values(deleted_at=moment, updated_at=moment, external_identifier=None)
    )
    await bump_config_version(tx, tenant_id)
    row = (
        await tx.execute(select(venues).where(venues.c.tenant_id == tenant_id, venues.c.venue_id == venue.venue_id))
    ).one()
    return _venue(row)
