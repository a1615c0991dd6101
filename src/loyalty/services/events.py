"""Events: report one, and run the reactors it triggers — all in the caller's transaction.

The pipeline (one transaction): resolve the subject → validate the payload → run enhancers → detect a duplicate
(``dedupeKeyPath``) → evaluate every live reactor of the type (constraint, effectivity, activation limit) → apply
reactions → store the outcome of each. A reaction that must not overdraw raises, and the whole event, with
everything it caused, rolls back. Intrinsic events emitted by other use cases run the same pipeline.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import bindparam, false, func, select, update

from loyalty.domain import schemas
from loyalty.domain.benefits import Origin
from loyalty.domain.derivation import Outcome
from loyalty.domain.errors import Forbidden, InvalidInput, NotFound, Refused
from loyalty.domain.event_types import INTRINSIC_SCHEMAS, Enhancer, EventType
from loyalty.domain.ledger import BalanceChange, EntryKind, Impact, SourceType
from loyalty.domain.members import Member
from loyalty.domain.reactors import CompiledReaction, CompiledReactor, ReactionStatus, ReactionType, activation_key
from loyalty.domain.tenancy import Tenant
from loyalty.domain.timestamps import iso
from loyalty.services import audiences as audience_service
from loyalty.services import badges as badge_service
from loyalty.services import benefits as benefit_service
from loyalty.services import member_state
from loyalty.services import members as member_service
from loyalty.services import points as point_service
from loyalty.services import rules as rules_service
from loyalty.services import settings as settings_service
from loyalty.services import tiers as tier_service
from loyalty.services import webhooks as webhook_service
from loyalty.services.clock import now
from loyalty.services.event_types import event_secret
from loyalty.storage.database import Tx
from loyalty.storage.sql import ignoring_conflicts, storable
from loyalty.storage.tables import event_reactions, events, reactor_activations

# Intrinsic events caused by reactions (BADGE_AWARDED) run reactors too, down to this depth; deeper events are
# recorded without running reactors, so a loop of rules cannot run away.
MAX_DEPTH = 3
ENHANCED = "enhanced"
_HASHED_KEY = "sha256:"


class IntrinsicEvent(StrEnum):
    REGISTERED_ACCOUNT = "REGISTERED_ACCOUNT"
    PROFILE_UPDATED = "PROFILE_UPDATED"
    CLOSED_ACCOUNT = "CLOSED_ACCOUNT"
    POINTS_ADJUSTED = "POINTS_ADJUSTED"
    BADGE_AWARDED = "BADGE_AWARDED"
    PURCHASED_REWARD = "PURCHASED_REWARD"
    REDEEMED_VOUCHER = "REDEEMED_VOUCHER"
    BURNED_VOUCHER = "BURNED_VOUCHER"
    VOUCHER_GIVEN = "VOUCHER_GIVEN"
    AUDIENCE_JOINED = "AUDIENCE_JOINED"
    AUDIENCE_LEFT = "AUDIENCE_LEFT"
    TIER_CHANGED = "TIER_CHANGED"
    ORDER_PLACED = "ORDER_PLACED"
    ORDER_REFUNDED = "ORDER_REFUNDED"
    POINTS_EXPIRED = "POINTS_EXPIRED"
    POINTS_ACTIVATED = "POINTS_ACTIVATED"


@dataclass(frozen=True)
class ReactionOutcome:
    reactor_id: uuid.UUID
    reactor_name: str
    type: str
    status: ReactionStatus
    reason: str | None = None
    points: int | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class StoredEvent:
    event_id: uuid.UUID
    type: str
    subject_id: uuid.UUID | None
    executor: str | None
    payload: dict[str, Any]
    occurred_at: datetime
    reported_at: datetime
    duplicate: bool
    reactions: tuple[ReactionOutcome, ...]


@dataclass(frozen=True)
class Reporter:
    """Who reports an event: a client (admin or pos), a member (their token's ``sub``), or a holder of the
    type's secret."""

    credential: str
    is_client: bool = False
    member_subject: str | None = None
    event_secret: str | None = None


# ---- reporting ----


async def report_event(
    tx: Tx,
    tenant: Tenant,
    *,
    type_name: str,
    subject: str | None,
    payload: dict[str, Any],
    executor: str | None,
    occurred_at: datetime | None,
    reporter: Reporter,
    dry_run: bool = False,
) -> StoredEvent:
    rules = await rules_service.current_rules(tx, tenant.tenant_id)
    # Only the engine reports its own events — except in a dry run, which keeps nothing: that is how an operator
    # tries an ORDER_PLACED reactor on a sample sale before the first till sends one.
    if type_name in INTRINSIC_SCHEMAS and not dry_run:
        raise InvalidInput(
            f"{type_name} is emitted by the engine and cannot be reported.", code="INTRINSIC_EVENT_TYPE", field="type"
        )
    compiled = rules.event_types.get(type_name)
    if compiled is None or not compiled.event_type.is_active:
        raise InvalidInput(f"No active event type {type_name}.", code="UNKNOWN_EVENT_TYPE", field="type")
    _authorize(tenant, compiled.event_type, reporter)
    member = await _subject(tx, tenant.tenant_id, subject, reporter)
    if ENHANCED in payload:
        raise InvalidInput(
            "payload.enhanced is written by the engine's enhancers.",
            code="INVALID_PAYLOAD",
            errors=[{"field": "payload.enhanced", "message": "reserved for enhancers"}],
        )
    found = schemas.problems(compiled.validator, payload, prefix="payload")
    if found:
        raise InvalidInput(
            f"The payload does not match the {type_name} schema.",
            code="INVALID_PAYLOAD",
            errors=[{"field": p.field, "message": p.message} for p in found],
        )
    return await _process(
        tx, tenant.tenant_id, rules, compiled, member, payload, executor=executor, occurred_at=occurred_at, depth=0
    )


async def test_reaction(tx: Tx, tenant: Tenant, **report: Any) -> StoredEvent:
    """The same answer as reporting the event, with nothing kept: everything runs inside a savepoint that is
    rolled back. The engine's own event types (ORDER_PLACED…) may be tried too, with a payload of their schema."""
    async with tx.begin_nested() as savepoint:
        outcome = await report_event(tx, tenant, **report, dry_run=True)
        await savepoint.rollback()
    return outcome


def _authorize(tenant: Tenant, event_type: EventType, reporter: Reporter) -> None:
    if reporter.event_secret is not None:
        import hmac

        if not hmac.compare_digest(reporter.event_secret, event_secret(tenant, event_type)):
            raise Forbidden("The event secret does not match this event type.", code="INVALID_EVENT_SECRET")
        return
    if event_type.is_private and not reporter.is_client:
        raise Forbidden(
            f"{event_type.name} is private: report it with an admin or pos token, or the type's secret.",
            code="PRIVATE_EVENT_TYPE",
        )


async def _subject(tx: Tx, tenant_id: uuid.UUID, subject: str | None, reporter: Reporter) -> Member | None:
    if reporter.member_subject is not None:
        me = await member_service.find_by_auth_identifier(tx, tenant_id, reporter.member_subject)
        if subject is not None and subject.strip() not in {
            str(me.member_id),
            me.account_number,
            me.auth_identifier,
            me.external_identifier,
        }:
            raise Forbidden("A member token may only report events about its own member.", code="FORBIDDEN")
        return me
    if subject is None:
        return None
    return await member_service.resolve_member(tx, tenant_id, subject)


async def emit(
    tx: Tx,
    tenant_id: uuid.UUID,
    event_type: IntrinsicEvent,
    *,
    subject: Member | None,
    payload: dict[str, Any],
    executor: str | None = None,
    event_id: uuid.UUID | None = None,
    depth: int = 0,
) -> StoredEvent:
    """Record an intrinsic event and run its reactors (a sign-up bonus on REGISTERED_ACCOUNT, say)."""
    rules = await rules_service.current_rules(tx, tenant_id)
    compiled = rules.event_types[event_type.value]
    return await _process(
        tx,
        tenant_id,
        rules,
        compiled,
        subject,
        payload,
        executor=executor,
        occurred_at=None,
        depth=depth,
        event_id=event_id,
    )


async def _pending_until(tx: Tx, tenant_id: uuid.UUID, event: StoredEvent) -> datetime | None:
    """Points earned from an order stay pending for the tenant's ``pendingPeriod``, if one is set."""
    if event.type != IntrinsicEvent.ORDER_PLACED.value:
        return None
    period = (await settings_service.get_settings(tx, tenant_id)).pending_period
    return now() + period if period is not None else None


# ---- the pipeline ----


async def _process(
    tx: Tx,
    tenant_id: uuid.UUID,
    rules: rules_service.Rules,
    compiled: rules_service.CompiledEventType,
    member: Member | None,
    payload: dict[str, Any],
    *,
    executor: str | None,
    occurred_at: datetime | None,
    depth: int,
    event_id: uuid.UUID | None = None,
) -> StoredEvent:
    event_type = compiled.event_type
    reported_at = now()
    enhanced = await _enhance(tx, tenant_id, event_type, member, payload)
    dedupe_key = _dedupe_value(compiled, enhanced)
    event = StoredEvent(
        event_id=event_id or uuid.uuid4(),
        type=event_type.name,
        subject_id=member.member_id if member else None,
        executor=executor,
        payload=enhanced,
        occurred_at=occurred_at or reported_at,
        reported_at=reported_at,
        duplicate=False,
        reactions=(),
    )
    row = {
        "tenant_id": tenant_id,
        "event_id": event.event_id,
        "type": event.type,
        "subject_id": event.subject_id,
        "executor": executor,
        "payload": enhanced,
        "occurred_at": event.occurred_at,
        "reported_at": reported_at,
        "dedupe_key": dedupe_key,
        "dedupe_subject": str(event.subject_id or "") if dedupe_key is not None else None,
    }
    if dedupe_key is not None:
        inserted = (await tx.execute(ignoring_conflicts(tx, events), row)).rowcount
        if not inserted:
            original = await _find_duplicate(tx, tenant_id, event.type, str(row["dedupe_subject"]), dedupe_key)
            return replace(original, duplicate=True)
    else:
        await tx.execute(events.insert().values(**row))
    outcomes: list[ReactionOutcome] = []
    if depth <= MAX_DEPTH:
        async with member_state.reassessed_once(tx, tenant_id):
            for reactor in rules.reactors_for(event.type):
                if reactor.reactor.is_effective(reported_at):
                    outcomes.extend(await _run_reactor(tx, tenant_id, rules, reactor, event, member, depth))
    if outcomes:
        await tx.execute(
            event_reactions.insert(),
            [
                {
                    "tenant_id": tenant_id,
                    "event_id": event.event_id,
                    "position": position,
                    "reactor_id": o.reactor_id,
                    "reactor_name": o.reactor_name,
                    "type": o.type,
                    "status": o.status.value,
                    "reason": o.reason,
                    "points": o.points,
                    "detail": o.detail,
                }
                for position, o in enumerate(outcomes)
            ],
        )
    return replace(event, reactions=tuple(outcomes))


async def _enhance(
    tx: Tx, tenant_id: uuid.UUID, event_type: EventType, member: Member | None, payload: dict[str, Any]
) -> dict[str, Any]:
    """Add engine data under ``payload.enhanced`` (before conditions and duplicate detection, as WLL does)."""
    if not event_type.enhancers:
        return payload
    enhanced: dict[str, Any] = {}
    for name in event_type.enhancers:
        if name == Enhancer.POINTS_ENHANCER and member is not None:
            account = await point_service.get_account(tx, tenant_id, member.member_id)
            enhanced["points"] = {"balance": account.balance, "lifetimeEarn": account.lifetime_earn}
        elif name == Enhancer.RANDOM_NUMBER:
            enhanced["randomNumber"] = random.random()  # noqa: S311 - for draws in rules, not for secrets
        elif name == Enhancer.AUDIENCE_ENHANCER and member is not None:
            joined = await audience_service.member_audiences(tx, tenant_id, member.member_id)
            enhanced["audiences"] = [{"id": str(a.audience_id), "name": a.name} for a in joined]
        elif name == Enhancer.TIER_ENHANCER and member is not None:
            tier = await tier_service.member_tier(tx, tenant_id, member.member_id)
            enhanced["tier"] = {"id": str(tier.tier_id), "name": tier.name, "priority": tier.priority} if tier else None
    return {**payload, ENHANCED: enhanced}


def _dedupe_value(compiled: rules_service.CompiledEventType, payload: dict[str, Any]) -> str | None:
    if compiled.dedupe_key is None:
        return None
    found = compiled.dedupe_key.values(payload)
    if not found or found[0] is None:
        return None
    value = found[0]
    if isinstance(value, str) and len(value) <= 512 and not value.startswith(_HASHED_KEY):
        return value
    # Anything else (a number, an object, a long string) is keyed by a digest of its JSON, so 123 and "123" differ
    # and long values are never truncated into each other.
    return _HASHED_KEY + hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _claim_activation(tx: Tx, tenant_id: uuid.UUID, reactor: CompiledReactor, key: str) -> bool:
    """Count one activation if the limit allows: a single conditional update, so concurrent events can never
    exceed the limit together."""
    reactor_id = reactor.reactor.reactor_id
    await tx.execute(
        ignoring_conflicts(tx, reactor_activations),
        {"tenant_id": tenant_id, "reactor_id": reactor_id, "context_key": key, "activations": 0},
    )
    claimed = await tx.execute(
        _CLAIM_ACTIVATION,
        {"at_tenant": tenant_id, "at_reactor": reactor_id, "at_key": key, "limit": reactor.reactor.max_activations},
    )
    return claimed.first() is not None


_counter = reactor_activations.c
_CLAIM_ACTIVATION = (
    update(reactor_activations)
    .where(
        _counter.tenant_id == bindparam("at_tenant"),
        _counter.reactor_id == bindparam("at_reactor"),
        _counter.context_key == bindparam("at_key"),
        _counter.activations < bindparam("limit"),
    )
    .values(activations=_counter.activations + 1)
    .returning(_counter.activations)
)  # built once (see storage/sql.py, ignoring_conflicts): every limited reactor of every event runs it


async def _run_reactor(
    tx: Tx,
    tenant_id: uuid.UUID,
    rules: rules_service.Rules,
    reactor: CompiledReactor,
    event: StoredEvent,
    member: Member | None,
    depth: int,
) -> list[ReactionOutcome]:
    definition = reactor.reactor

    def all_skipped(reason: str) -> list[ReactionOutcome]:
        return [
            ReactionOutcome(definition.reactor_id, definition.name, r.type.value, ReactionStatus.SKIPPED, reason)
            for r in reactor.reactions
        ]

    if not reactor.accepts(event.payload):
        return all_skipped("CONDITION_NOT_MET")
    if member is None and all(r.type is not ReactionType.WEBHOOK for r in reactor.reactions):
        # Nothing could apply to an anonymous event, so it must not use up an activation either.
        return all_skipped("NO_SUBJECT")
    if definition.max_activations is not None:
        key = activation_key(definition.activation_context, event.subject_id)
        if key is None:
            return all_skipped("NO_SUBJECT")
        if not await _claim_activation(tx, tenant_id, reactor, key):
            return all_skipped("ACTIVATION_LIMIT_REACHED")
    return [
        await _apply(tx, tenant_id, rules, reactor, reaction, event, member, depth) for reaction in reactor.reactions
    ]


async def _apply(
    tx: Tx,
    tenant_id: uuid.UUID,
    rules: rules_service.Rules,
    reactor: CompiledReactor,
    reaction: CompiledReaction,
    event: StoredEvent,
    member: Member | None,
    depth: int,
) -> ReactionOutcome:
    definition = reactor.reactor

    def outcome(status: ReactionStatus, reason: str | None = None, **extra: Any) -> ReactionOutcome:
        return ReactionOutcome(definition.reactor_id, definition.name, reaction.type.value, status, reason, **extra)

    if reaction.type is ReactionType.WEBHOOK:
        assert reaction.url is not None
        delivery_id = await webhook_service.enqueue(
            tx,
            tenant_id,
            event_id=event.event_id,
            reactor_id=definition.reactor_id,
            url=reaction.url,
            headers=dict(reaction.headers),
            event_type=event.type,
            reported_at=iso(event.reported_at),
            subject=member.auth_identifier if member else None,
            payload=event.payload,
        )
        return outcome(ReactionStatus.APPLIED, detail={"deliveryId": str(delivery_id)})
    if member is None:
        return outcome(ReactionStatus.SKIPPED, "NO_SUBJECT")
    if reaction.type is ReactionType.POINTS:
        assert reaction.points is not None
        evaluation = reaction.points.derivation.evaluate(event.payload)
        if evaluation.outcome is Outcome.MISSING_VALUE:
            return outcome(ReactionStatus.SKIPPED, "MISSING_VALUE", detail={"path": evaluation.detail})
        if evaluation.outcome is not Outcome.OK:
            return outcome(ReactionStatus.FAILED, evaluation.outcome.value, detail={"path": evaluation.detail})
        if evaluation.points == 0:
            return outcome(ReactionStatus.SKIPPED, "ZERO_POINTS", points=0)
        earning = evaluation.points > 0
        change = BalanceChange(
            delta=evaluation.points,
            impact=Impact.EARN if earning else Impact.SPEND,
            policy=reaction.points.policy,
        )
        entry = await point_service.apply_change(
            tx,
            tenant_id,
            member.member_id,
            change,
            kind=EntryKind.EARN if earning else EntryKind.SPEND,
            source_type=SourceType.EVENT,
            source_id=event.event_id,
            actor=f"reactor:{definition.reactor_id}",
            reactor_id=definition.reactor_id,
            cause=f"{definition.reactor_id}/{reaction.index}",
            bypass_caps=reaction.points.bypass_caps,
            pending_until=await _pending_until(tx, tenant_id, event) if earning else None,
        )
        detail: dict[str, Any] = {}
        if entry.forfeited:
            detail["forfeited"] = entry.forfeited
        if entry.pending_delta:
            detail["pending"] = True
        return outcome(ReactionStatus.APPLIED, points=entry.delta + entry.pending_delta, detail=detail or None)
    if reaction.type is ReactionType.REWARD:
        assert reaction.reward_id is not None
        try:
            # A savepoint: a refused gift (out of stock, archived) fails this reaction, not the whole event.
            async with tx.begin_nested():
                benefit = await benefit_service.give_reward(
                    tx,
                    tenant_id,
                    reaction.reward_id,
                    member,
                    origin=Origin.REACTION,
                    actor=f"reactor:{definition.reactor_id}",
                )
        except (Refused, NotFound) as refusal:
            return outcome(ReactionStatus.FAILED, refusal.code, detail={"rewardId": str(reaction.reward_id)})
        return outcome(ReactionStatus.APPLIED, detail={"benefitId": str(benefit.benefit_id)})
    if reaction.type is ReactionType.ATTRIBUTE:
        await member_service.set_attributes(tx, tenant_id, member.member_id, dict(reaction.attributes))
        return outcome(ReactionStatus.APPLIED, detail={"attributes": [key for key, _ in reaction.attributes]})
    # BADGE
    assert reaction.badge_id is not None
    badge = rules.badges.get(reaction.badge_id)
    if badge is None or badge.status is not badge_service.BadgeStatus.ACTIVE:
        return outcome(ReactionStatus.FAILED, "BADGE_NOT_ACTIVE", detail={"badgeId": str(reaction.badge_id)})
    awarded_event = uuid.uuid4()
    await badge_service.record_award(tx, tenant_id, badge, member.member_id, event_id=awarded_event, comment=None)
    await emit(
        tx,
        tenant_id,
        IntrinsicEvent.BADGE_AWARDED,
        subject=member,
        payload={"badgeId": str(badge.badge_id), "badgeName": badge.internal_name, "comment": None},
        executor=f"reactor:{definition.reactor_id}",
        event_id=awarded_event,
        depth=depth + 1,
    )
    return outcome(ReactionStatus.APPLIED, detail={"badgeId": str(badge.badge_id), "eventId": str(awarded_event)})


# ---- reading ----


def _outcome(row: Any) -> ReactionOutcome:
    return ReactionOutcome(
        reactor_id=row.reactor_id,
        reactor_name=row.reactor_name,
        type=row.type,
        status=ReactionStatus(row.status),
        reason=row.reason,
        points=row.points,
        detail=row.detail,
    )


async def _reactions_of(
    tx: Tx, tenant_id: uuid.UUID, event_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ReactionOutcome]]:
    found: dict[uuid.UUID, list[ReactionOutcome]] = {event_id: [] for event_id in event_ids}
    if not event_ids:
        return found
    rows = await tx.execute(
        select(event_reactions)
        .where(event_reactions.c.tenant_id == tenant_id, event_reactions.c.event_id.in_(event_ids))
        .order_by(event_reactions.c.event_id, event_reactions.c.position)
    )
    for row in rows:
        found[row.event_id].append(_outcome(row))
    return found


def _event(row: Any, reactions: list[ReactionOutcome]) -> StoredEvent:
    return StoredEvent(
        event_id=row.event_id,
        type=row.type,
        subject_id=row.subject_id,
        executor=row.executor,
        payload=row.payload,
        occurred_at=row.occurred_at,
        reported_at=row.reported_at,
        duplicate=False,
        reactions=tuple(reactions),
    )


async def _find_duplicate(tx: Tx, tenant_id: uuid.UUID, type_name: str, subject: str, key: str) -> StoredEvent:
    row = (
        await tx.execute(
            select(events).where(
                events.c.tenant_id == tenant_id,
                events.c.type == type_name,
                events.c.dedupe_subject == subject,
                events.c.dedupe_key == key,
            )
        )
    ).one()
    return _event(row, (await _reactions_of(tx, tenant_id, [row.event_id]))[row.event_id])


async def get_event(tx: Tx, tenant_id: uuid.UUID, event_id: uuid.UUID) -> StoredEvent:
    row = (
        await tx.execute(select(events).where(events.c.tenant_id == tenant_id, events.c.event_id == event_id))
    ).first()
    if row is None:
        raise NotFound("No such event.", code="EVENT_NOT_FOUND")
    return _event(row, (await _reactions_of(tx, tenant_id, [event_id]))[event_id])


@dataclass(frozen=True)
class EventFilter:
    type: str | None = None
    subject_id: uuid.UUID | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None


async def list_events(
    tx: Tx, tenant_id: uuid.UUID, where: EventFilter, *, limit: int, skip: int, ascending: bool
) -> tuple[list[StoredEvent], int]:
    condition = events.c.tenant_id == tenant_id
    if where.type:
        condition = condition & (events.c.type == where.type if storable(where.type) else false())
    if where.subject_id:
        condition = condition & (events.c.subject_id == where.subject_id)
    if where.reported_from:
        condition = condition & (events.c.reported_at >= where.reported_from)
    if where.reported_to:
        condition = condition & (events.c.reported_at < where.reported_to)
    total = (await tx.execute(select(func.count()).select_from(events).where(condition))).scalar_one()
    ordering = events.c.reported_at.asc() if ascending else events.c.reported_at.desc()
    rows = (await tx.execute(select(events).where(condition).order_by(ordering).limit(limit).offset(skip))).all()
    reactions = await _reactions_of(tx, tenant_id, [r.event_id for r in rows])
    return [_event(r, reactions[r.event_id]) for r in rows], total
