"""Reactors: create, read, edit (a new version), end. Never hard-deleted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, func, or_, select, update

from loyalty.domain.errors import Conflict, InvalidInput, NotFound
from loyalty.domain.reactors import (
    ActivationContext,
    Reactor,
    normalize_reactions,
    parse_effectivity,
)
from loyalty.domain.schemas import compile_schema
from loyalty.services import badges as badge_service
from loyalty.services import event_types as event_type_service
from loyalty.services import rewards as reward_service
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.sql import storable
from loyalty.storage.tables import reactors

_UNSET: Any = object()


@dataclass(frozen=True)
class ReactorDraft:
    """A definition, or a patch where fields left at ``_UNSET`` keep the current version's value."""

    name: Any = _UNSET
    description: Any = _UNSET
    event_type: Any = _UNSET
    constraint: Any = _UNSET
    effectivity: Any = _UNSET
    max_activations: Any = _UNSET
    activation_context: Any = _UNSET
    reactions: Any = _UNSET

    def given(self, name: str) -> bool:
        return getattr(self, name) is not _UNSET


def _reactor(row: Any) -> Reactor:
    return Reactor(
        reactor_id=row.reactor_id,
        name=row.name,
        description=row.description,
        event_type=row.event_type,
        constraint=row.constraint,
        effective_from=row.effective_from,
        effective_until=row.effective_until,
        max_activations=row.max_activations,
        activation_context=ActivationContext(row.activation_context) if row.activation_context else None,
        reactions=row.reactions,
        previous_version_id=row.previous_version_id,
        created_at=row.created_at,
    )


def event_type_name(reference: Any) -> str:
    """``eventType`` may be a name, ``{"name": …}`` or ``{"id": …}``; returns what to look up."""
    if isinstance(reference, str):
        return reference
    if isinstance(reference, dict) and len(reference) == 1:
        value = reference.get("name") or reference.get("id")
        if isinstance(value, str):
            return value
    raise InvalidInput('eventType is a name, {"name": …} or {"id": …}.', code="VALIDATION_ERROR", field="eventType")


async def _values(tx: Tx, tenant_id: uuid.UUID, draft: ReactorDraft, base: Reactor | None) -> dict[str, Any]:
    """Check a definition (merged over ``base`` for a patch) and return the row values."""
    moment = now()

    def pick(name: str, current: Any) -> Any:
        return getattr(draft, name) if draft.given(name) else current

    name = pick("name", base.name if base else None)
    if not isinstance(name, str) or not 2 <= len(name) <= 64:
        raise InvalidInput("name is 2–64 characters.", code="VALIDATION_ERROR", field="name")
    reference = pick("event_type", base.event_type if base else None)
    try:
        event_type = await event_type_service.get_event_type(tx, tenant_id, event_type_name(reference))
    except NotFound as error:
        raise InvalidInput(
            f"No event type {event_type_name(reference)!r}.", code="UNKNOWN_EVENT_TYPE", field="eventType"
        ) from error
    constraint = pick("constraint", base.constraint if base else None)
    if constraint is not None:
        compile_schema(constraint, field="constraint")
    if draft.given("effectivity"):
        start, end = parse_effectivity(draft.effectivity, moment)
    elif base is not None:
        start, end = max(base.effective_from, moment), base.effective_until
    else:
        start, end = moment, None
    max_activations = pick("max_activations", base.max_activations if base else None)
    if max_activations is not None and (not isinstance(max_activations, int) or max_activations < 1):
        raise InvalidInput("maxActivations is a whole number ≥ 1.", code="VALIDATION_ERROR", field="maxActivations")
    context = pick("activation_context", base.activation_context if base else None)
    if context is not None:
        try:
            context = ActivationContext(context)
        except ValueError as error:
            raise InvalidInput(
                "activationContext is GLOBAL, TENANT or SUBJECT.", code="VALIDATION_ERROR", field="activationContext"
            ) from error
    if max_activations is not None and context is None:
        context = ActivationContext.GLOBAL
    reactions = normalize_reactions(pick("reactions", base.reactions if base else []))
    for index, reaction in enumerate(reactions):
        if reaction["type"] == "REWARD":
            try:
                await reward_service.get_reward(tx, tenant_id, uuid.UUID(reaction["reward"]["id"]))
            except NotFound as error:
                raise InvalidInput(
                    "No such reward.", code="REWARD_NOT_FOUND", field=f"reactions[{index}].reward.id"
                ) from error
        if reaction["type"] == "BADGE":
            try:
                await badge_service.get_badge(tx, tenant_id, uuid.UUID(reaction["badge"]["id"]))
            except NotFound as error:
                raise InvalidInput(
                    "No such badge.", code="BADGE_NOT_FOUND", field=f"reactions[{index}].badge.id"
                ) from error
    return {
        "name": name,
        "description": pick("description", base.description if base else None),
        "event_type": event_type.name,
        "constraint": constraint,
        "effective_from": start,
        "effective_until": end,
        "max_activations": max_activations,
        "activation_context": context.value if context else None,
        "reactions": reactions,
    }


async def create_reactor(tx: Tx, tenant_id: uuid.UUID, draft: ReactorDraft) -> Reactor:
    values = await _values(tx, tenant_id, draft, None)
    return await _insert(tx, tenant_id, values, previous_version_id=None)


async def _insert(
    tx: Tx, tenant_id: uuid.UUID, values: dict[str, Any], *, previous_version_id: uuid.UUID | None
) -> Reactor:
    reactor_id = uuid.uuid4()
    await tx.execute(
        reactors.insert().values(
            tenant_id=tenant_id,
            reactor_id=reactor_id,
            previous_version_id=previous_version_id,
            created_at=now(),
            **values,
        )
    )
    await bump_config_version(tx, tenant_id)
    return await get_reactor(tx, tenant_id, reactor_id)


async def get_reactor(tx: Tx, tenant_id: uuid.UUID, reactor_id: uuid.UUID) -> Reactor:
    row = (
        await tx.execute(select(reactors).where(reactors.c.tenant_id == tenant_id, reactors.c.reactor_id == reactor_id))
    ).first()
    if row is None:
        raise NotFound("No such reactor.", code="REACTOR_NOT_FOUND")
    return _reactor(row)


async def versions(tx: Tx, tenant_id: uuid.UUID, reactor_id: uuid.UUID) -> list[Reactor]:
    """Every version of the reactor that ``reactor_id`` is one version of, oldest first.

    Versions form a chain through ``previous_version_id`` (an edit ends a version and adds exactly one successor;
    editing an ended one is refused). The tenant's links are read in one query and walked both ways from the
    version named, then the chain's rows in a second."""
    await get_reactor(tx, tenant_id, reactor_id)
    links = await tx.execute(
        select(reactors.c.reactor_id, reactors.c.previous_version_id).where(reactors.c.tenant_id == tenant_id)
    )
    previous = {row.reactor_id: row.previous_version_id for row in links}
    following = {before: after for after, before in previous.items() if before is not None}
    chain = [reactor_id]
    while (earlier := previous.get(chain[0])) is not None:
        chain.insert(0, earlier)
    while (later := following.get(chain[-1])) is not None:
        chain.append(later)
    rows = await tx.execute(select(reactors).where(reactors.c.tenant_id == tenant_id, reactors.c.reactor_id.in_(chain)))
    found = {row.reactor_id: _reactor(row) for row in rows}
    return [found[version] for version in chain]


async def list_reactors(
    tx: Tx, tenant_id: uuid.UUID, *, include_ended: bool, event_type: str | None, limit: int, skip: int
) -> tuple[list[Reactor], int]:
    condition = reactors.c.tenant_id == tenant_id
    if not include_ended:
        condition = condition & or_(reactors.c.effective_until.is_(None), reactors.c.effective_until > now())
    if event_type:
        condition = condition & (reactors.c.event_type == event_type if storable(event_type) else false())
    total = (await tx.execute(select(func.count()).select_from(reactors).where(condition))).scalar_one()
    rows = await tx.execute(
        select(reactors).where(condition).order_by(reactors.c.created_at.desc()).limit(limit).offset(skip)
    )
    return [_reactor(r) for r in rows], total


async def _end(tx: Tx, tenant_id: uuid.UUID, reactor: Reactor) -> bool:
    """End a live version now; False when it had already ended (a concurrent edit won)."""
    moment = now()
    ended = await tx.execute(
        update(reactors)
        .where(
            reactors.c.tenant_id == tenant_id,
            reactors.c.reactor_id == reactor.reactor_id,
            or_(reactors.c.effective_until.is_(None), reactors.c.effective_until > moment),
        )
        .values(effective_until=moment)
    )
    return bool(ended.rowcount)


async def update_reactor(tx: Tx, tenant_id: uuid.UUID, reactor_id: uuid.UUID, patch: ReactorDraft) -> Reactor:
    """WLL's edit semantics: end this version now and create its successor (activation counts start again)."""
    current = await get_reactor(tx, tenant_id, reactor_id)
    values = await _values(tx, tenant_id, patch, current)
    if not await _end(tx, tenant_id, current):
        raise Conflict(
            "This reactor version has ended and cannot be edited; edit its latest version.", code="REACTOR_ENDED"
        )
    return await _insert(tx, tenant_id, values, previous_version_id=current.reactor_id)


async def end_reactor(tx: Tx, tenant_id: uuid.UUID, reactor_id: uuid.UUID) -> Reactor:
    current = await get_reactor(tx, tenant_id, reactor_id)
    if await _end(tx, tenant_id, current):
        await bump_config_version(tx, tenant_id)
    return await get_reactor(tx, tenant_id, reactor_id)


async def live_reactors(tx: Tx, tenant_id: uuid.UUID) -> list[Reactor]:
    """Every version that has not ended (some may start later); the rules cache compiles these."""
    rows = await tx.execute(
        select(reactors)
        .where(
            reactors.c.tenant_id == tenant_id,
            or_(reactors.c.effective_until.is_(None), reactors.c.effective_until > now()),
        )
        .order_by(reactors.c.created_at, reactors.c.reactor_id)
    )
    return [_reactor(r) for r in rows]
