"""The compiled rules of a tenant, cached per process and keyed by the tenant's ``config_version``.

An event costs one read of the version; while it is unchanged, the event types' validators, the reactors'
compiled constraints and derivations, and the badges are reused, so evaluating reactors costs no queries.
Any configuration write bumps the version in its own transaction, so the very next event in every process
sees the change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from loyalty.domain.audiences import CompiledAudience
from loyalty.domain.caps import Cap, cap_of
from loyalty.domain.event_types import EventType
from loyalty.domain.jsonpaths import PayloadQuery
from loyalty.domain.lots import ExpiryPolicy, expiry_of
from loyalty.domain.reactors import CompiledReactor, compile_reactor
from loyalty.domain.schemas import compile_schema
from loyalty.domain.tiers import Tier
from loyalty.services import badges as badge_service
from loyalty.services import event_types as event_type_service
from loyalty.services import liability as liability_service
from loyalty.services import reactors as reactor_service
from loyalty.services.config import config_version
from loyalty.storage.database import Tx


@dataclass(frozen=True)
class CompiledEventType:
    event_type: EventType
    validator: jsonschema_rs.Validator
    dedupe_key: PayloadQuery | None


@dataclass(frozen=True)
class Rules:
    version: int
    event_types: dict[str, CompiledEventType]
    reactors_by_type: dict[str, tuple[CompiledReactor, ...]]
    badges: dict[uuid.UUID, badge_service.Badge] = field(default_factory=dict)
    caps: tuple[Cap, ...] = ()
    # The active SIMPLE_EXPIRY criterion (at most one), read by every credit to date its lot.
    expiry: ExpiryPolicy | None = None
    # Live tiers and active audiences (criteria compiled): every change to a member reads them, and a tenant with
    # neither skips reassessment altogether.
    tiers: tuple[Tier, ...] = ()
    audiences: tuple[CompiledAudience, ...] = ()

    def reactors_for(self, event_type: str) -> tuple[CompiledReactor, ...]:
        return self.reactors_by_type.get(event_type, ())


_cache: dict[uuid.UUID, Rules] = {}


async def _load(tx: Tx, tenant_id: uuid.UUID, version: int) -> Rules:
    compiled_types = {
        t.name: CompiledEventType(
            event_type=t,
            validator=compile_schema(t.schema, field="schema"),
            dedupe_key=PayloadQuery(t.dedupe_key_path, field="dedupeKeyPath") if t.dedupe_key_path else None,
        )
        for t in await event_type_service.list_event_types(tx, tenant_id)
    }
    by_type: dict[str, list[CompiledReactor]] = {}
    for reactor in await reactor_service.live_reactors(tx, tenant_id):
        by_type.setdefault(reactor.event_type, []).append(compile_reactor(reactor))
    found, _ = await badge_service.list_badges(tx, tenant_id, limit=100_000, skip=0)
    # Imported here: reassessing members emits events, and the events pipeline imports this module.
    from loyalty.services.member_state import load_member_rules

    member_rules = await load_member_rules(tx, tenant_id)
    return Rules(
        version=version,
        event_types=compiled_types,
        reactors_by_type={k: tuple(v) for k, v in by_type.items()},
        badges={b.badge_id: b for b in found},
        tiers=member_rules.tiers,
        audiences=member_rules.audiences,
        **await _points_criteria(tx, tenant_id),
    )


async def _points_criteria(tx: Tx, tenant_id: uuid.UUID) -> dict[str, Any]:
    criteria, _ = await liability_service.list_criteria(tx, tenant_id, limit=10_000, skip=0)
    active = [c for c in criteria if c.is_active]
    caps = (cap_of(c.type, c.config) for c in active)
    policies = [policy for policy in (expiry_of(c.type, c.config) for c in active) if policy is not None]
    return {"caps": tuple(cap for cap in caps if cap is not None), "expiry": policies[0] if policies else None}


async def current_rules(tx: Tx, tenant_id: uuid.UUID) -> Rules:
    version = await config_version(tx, tenant_id)
    cached = _cache.get(tenant_id)
    if cached is not None and cached.version == version:
        return cached
    rules = await _load(tx, tenant_id, version)
    # Cache only what was loaded at a version still current: on READ COMMITTED a configuration write may commit
    # between the version read and the loads.
    if await config_version(tx, tenant_id, fresh=True) == version:
        _cache[tenant_id] = rules
    return rules
