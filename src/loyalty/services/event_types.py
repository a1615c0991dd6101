"""Event types: custom types stored per tenant, intrinsic types from the engine's catalogue. Never deleted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, select, update
from sqlalchemy.exc import IntegrityError

from loyalty.domain import credentials
from loyalty.domain.errors import Conflict, InvalidInput, NotFound
from loyalty.domain.event_types import (
    INTRINSIC_SCHEMAS,
    EventType,
    check_enhancers,
    check_name,
    intrinsic_event_type,
)
from loyalty.domain.jsonpaths import PayloadQuery
from loyalty.domain.schemas import compile_schema
from loyalty.domain.tenancy import Tenant
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.sql import storable
from loyalty.storage.tables import event_types

DEFAULT_SCHEMA: dict[str, Any] = {"type": "object"}


@dataclass(frozen=True)
class EventTypeDraft:
    """A new type, or (with ``None`` meaning "unchanged") a patch."""

    name: str | None = None
    description: str | None = None
    schema: dict[str, Any] | None = None
    is_private: bool | None = None
    is_active: bool | None = None
    enhancers: list[str] | None = None
    omit_from_user_activity: bool | None = None
    dedupe_key_path: str | None = None


def _event_type(row: Any) -> EventType:
    return EventType(
        event_type_id=row.event_type_id,
        name=row.name,
        description=row.description,
        schema=row.schema,
        is_private=row.is_private,
        is_active=row.is_active,
        enhancers=tuple(row.enhancers),
        omit_from_user_activity=row.omit_from_user_activity,
        dedupe_key_path=row.dedupe_key_path,
        is_intrinsic=False,
        created_at=row.created_at,
        updated_at=row.updated_at,
        secret_version=row.secret_version,
    )


def _check(draft: EventTypeDraft) -> None:
    if draft.schema is not None:
        compile_schema(draft.schema, field="schema", require_object=True)
    if draft.enhancers is not None:
        check_enhancers(draft.enhancers)
    if draft.dedupe_key_path:
        PayloadQuery(draft.dedupe_key_path, field="dedupeKeyPath")


async def create_event_type(tx: Tx, tenant_id: uuid.UUID, draft: EventTypeDraft) -> EventType:
    name = check_name(draft.name or "")
    if name in INTRINSIC_SCHEMAS:
        raise InvalidInput(f"{name} is an intrinsic event type.", code="INTRINSIC_EVENT_TYPE", field="name")
    _check(draft)
    moment = now()
    event_type_id = uuid.uuid4()
    try:
        async with tx.begin_nested():
            await tx.execute(
                event_types.insert().values(
                    tenant_id=tenant_id,
                    event_type_id=event_type_id,
                    name=name,
                    description=draft.description,
                    schema=draft.schema or DEFAULT_SCHEMA,
                    is_private=bool(draft.is_private),
                    is_active=True if draft.is_active is None else draft.is_active,
                    enhancers=check_enhancers(draft.enhancers or []),
                    omit_from_user_activity=bool(draft.omit_from_user_activity),
                    dedupe_key_path=draft.dedupe_key_path or None,
                    created_at=moment,
                    updated_at=moment,
                )
            )
    except IntegrityError as error:
        raise Conflict(f"An event type named {name} exists already.", code="EVENT_TYPE_ALREADY_EXISTS") from error
    await bump_config_version(tx, tenant_id)
    return await get_event_type(tx, tenant_id, str(event_type_id))


async def get_event_type(tx: Tx, tenant_id: uuid.UUID, id_or_name: str) -> EventType:
    """A custom or intrinsic event type by id or name."""
    if id_or_name in INTRINSIC_SCHEMAS:
        return intrinsic_event_type(tenant_id, id_or_name)
    try:
        condition = event_types.c.event_type_id == uuid.UUID(id_or_name)
    except ValueError:
        condition = event_types.c.name == id_or_name if storable(id_or_name) else false()
    row = (await tx.execute(select(event_types).where(event_types.c.tenant_id == tenant_id, condition))).first()
    if row is not None:
        return _event_type(row)
    for name in INTRINSIC_SCHEMAS:
        intrinsic = intrinsic_event_type(tenant_id, name)
        if str(intrinsic.event_type_id) == id_or_name:
            return intrinsic
    raise NotFound(f"No event type {id_or_name!r}.", code="EVENT_TYPE_NOT_FOUND")


async def list_event_types(tx: Tx, tenant_id: uuid.UUID) -> list[EventType]:
    """Custom types (oldest first), then the intrinsic catalogue."""
    rows = await tx.execute(
        select(event_types).where(event_types.c.tenant_id == tenant_id).order_by(event_types.c.created_at)
    )
    return [_event_type(r) for r in rows] + [intrinsic_event_type(tenant_id, n) for n in INTRINSIC_SCHEMAS]


async def update_event_type(tx: Tx, tenant_id: uuid.UUID, id_or_name: str, patch: EventTypeDraft) -> EventType:
    current = await get_event_type(tx, tenant_id, id_or_name)
    if current.is_intrinsic:
        raise InvalidInput("Intrinsic event types cannot be changed.", code="INTRINSIC_EVENT_TYPE")
    if patch.name is not None and patch.name != current.name:
        # Reactors name their event type; renaming would silently detach them.
        raise InvalidInput("An event type cannot be renamed.", code="EVENT_TYPE_NAME_IMMUTABLE", field="name")
    _check(patch)
    values: dict[str, Any] = {
        key: value
        for key, value in {
            "description": patch.description,
            "schema": patch.schema,
            "is_private": patch.is_private,
            "is_active": patch.is_active,
            "enhancers": check_enhancers(patch.enhancers) if patch.enhancers is not None else None,
            "omit_from_user_activity": patch.omit_from_user_activity,
            "dedupe_key_path": patch.dedupe_key_path,
        }.items()
        if value is not None
    }
    if values.get("dedupe_key_path") == "":
        values["dedupe_key_path"] = None
    values["updated_at"] = now()
    await tx.execute(
        update(event_types)
        .where(event_types.c.tenant_id == tenant_id, event_types.c.event_type_id == current.event_type_id)
        .values(**values)
    )
    await bump_config_version(tx, tenant_id)
    return await get_event_type(tx, tenant_id, str(current.event_type_id))


def event_secret(tenant: Tenant, event_type: EventType) -> str:
    label = f"event-type:{event_type.event_type_id}:{event_type.secret_version}"
    return credentials.derived_secret(tenant.token_signing_key, label)


async def get_event_secret(tx: Tx, tenant: Tenant, id_or_name: str, *, rotate: bool = False) -> str:
    """The secret with which a back-office system may report this type (``X-Event-Secret``)."""
    event_type = await get_event_type(tx, tenant.tenant_id, id_or_name)
    if event_type.is_intrinsic:
        raise InvalidInput(
            "Intrinsic event types cannot be reported, so they have no secret.", code="INTRINSIC_EVENT_TYPE"
        )
    if rotate:
        await tx.execute(
            update(event_types)
            .where(event_types.c.tenant_id == tenant.tenant_id, event_types.c.event_type_id == event_type.event_type_id)
            .values(secret_version=event_types.c.secret_version + 1, updated_at=now())
        )
        await bump_config_version(tx, tenant.tenant_id)
    return event_secret(tenant, await get_event_type(tx, tenant.tenant_id, str(event_type.event_type_id)))
