"""Reactors: what happens when an event arrives. Parsing (at save time) and the compiled form (at run time).

A reactor names an event type, a ``constraint`` (JSON Schema over the enhanced payload), an ``effectivity``
window, an optional activation limit and a list of reactions. Saving checks everything that can be checked
without the database, so a bad reactor is a 400 at save time, never a failure at event time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

import jsonschema_rs

from loyalty.domain.derivation import Derivation, parse_derivation
from loyalty.domain.errors import InvalidInput
from loyalty.domain.ledger import LiabilityPolicy
from loyalty.domain.schemas import compile_schema


class ActivationContext(StrEnum):
    GLOBAL = "GLOBAL"
    TENANT = "TENANT"
    SUBJECT = "SUBJECT"


class ReactionType(StrEnum):
    POINTS = "POINTS"
    REWARD = "REWARD"
    BADGE = "BADGE"
    ATTRIBUTE = "ATTRIBUTE"
    WEBHOOK = "WEBHOOK"


class ReactionStatus(StrEnum):
    APPLIED = "APPLIED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Reactor:
    """A reactor as stored: one version. Editing makes a new version; the old one is ended."""

    reactor_id: uuid.UUID
    name: str
    description: str | None
    event_type: str
    constraint: dict[str, Any] | None
    effective_from: datetime
    effective_until: datetime | None
    max_activations: int | None
    activation_context: ActivationContext | None
    reactions: list[dict[str, Any]]
    previous_version_id: uuid.UUID | None
    created_at: datetime

    def is_effective(self, moment: datetime) -> bool:
        return self.effective_from <= moment and (self.effective_until is None or moment < self.effective_until)


# ---- parsing ----


def parse_moment(value: Any, *, field: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 date-time (UTC when no offset is given)."""
    if isinstance(value, str):
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return datetime(day.year, day.month, day.day, tzinfo=UTC)
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except ValueError:
            pass
    raise InvalidInput(f"{value!r} is not an ISO 8601 date or date-time.", code="INVALID_DATE", field=field)


def parse_effectivity(document: Any, now: datetime) -> tuple[datetime, datetime | None]:
    if document is None:
        return now, None
    if not isinstance(document, dict) or set(document) - {"start", "end"}:
        raise InvalidInput("effectivity is {start, end}.", code="INVALID_EFFECTIVITY", field="effectivity")
    start = parse_moment(document["start"], field="effectivity.start") if document.get("start") else now
    end = parse_moment(document["end"], field="effectivity.end") if document.get("end") else None
    if end is not None and end <= start:
        raise InvalidInput("effectivity.end must be after start.", code="INVALID_EFFECTIVITY", field="effectivity.end")
    return start, end


_REACTION_FIELDS = {
    ReactionType.POINTS: {"points", "liabilityHandlingPolicy", "bypassCaps"},
    ReactionType.REWARD: {"reward"},
    ReactionType.BADGE: {"badge"},
    ReactionType.ATTRIBUTE: {"attributes"},
    ReactionType.WEBHOOK: {"url", "headers", "forFailure"},
}


def _reference_id(value: Any, field: str) -> str:
    reference = value.get("id") if isinstance(value, dict) else value
    try:
        return str(uuid.UUID(str(reference)))
    except ValueError as error:
        raise InvalidInput('Expected {"id": "<uuid>"}.', code="INVALID_REACTION", field=field) from error


def normalize_reaction(document: Any, index: int) -> dict[str, Any]:
    """Check one reaction and return the form that is stored."""
    field = f"reactions[{index}]"
    if not isinstance(document, dict):
        raise InvalidInput("A reaction is an object.", code="INVALID_REACTION", field=field)
    try:
        kind = ReactionType(str(document.get("type")))
    except ValueError as error:
        raise InvalidInput(
            f"Unsupported reaction type {document.get('type')!r}; use POINTS, REWARD, BADGE, ATTRIBUTE or WEBHOOK.",
            code="UNSUPPORTED_REACTION",
            field=field + ".type",
        ) from error
    unknown = sorted(set(document) - _REACTION_FIELDS[kind] - {"type"})
    if unknown:
        raise InvalidInput(
            f"Unknown field(s) for a {kind} reaction: {', '.join(unknown)}.", code="UNKNOWN_FIELD", field=field
        )
    if kind is ReactionType.REWARD:
        return {"type": kind.value, "reward": {"id": _reference_id(document.get("reward"), field + ".reward")}}
    if kind is ReactionType.POINTS:
        parse_derivation(document.get("points"), field=field + ".points")
        policy = document.get("liabilityHandlingPolicy", LiabilityPolicy.BYPASS.value)
        if not isinstance(policy, str) or policy not in {p.value for p in LiabilityPolicy}:
            raise InvalidInput(
                "liabilityHandlingPolicy is BYPASS or REJECT_EVENT.",
                code="INVALID_REACTION",
                field=field + ".liabilityHandlingPolicy",
            )
        bypass_caps = document.get("bypassCaps", False)
        if not isinstance(bypass_caps, bool):
            raise InvalidInput("bypassCaps is true or false.", code="INVALID_REACTION", field=field + ".bypassCaps")
        return {
            "type": kind.value,
            "points": document["points"],
            "liabilityHandlingPolicy": policy,
            "bypassCaps": bypass_caps,
        }
    if kind is ReactionType.BADGE:
        return {"type": kind.value, "badge": {"id": _reference_id(document.get("badge"), field + ".badge")}}
    if kind is ReactionType.ATTRIBUTE:
        return {"type": kind.value, "attributes": _attributes(document.get("attributes"), field + ".attributes")}
    return _webhook(document, field)


def _attributes(items: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise InvalidInput("attributes is a non-empty list.", code="INVALID_REACTION", field=field)
    result = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if not isinstance(item, dict) or set(item) - {"isEnabled", "key", "value"} or "key" not in item:
            raise InvalidInput("An attribute is {isEnabled, key, value}.", code="INVALID_REACTION", field=where)
        key = item["key"]
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise InvalidInput("key is a string of 1–128 characters.", code="INVALID_REACTION", field=where + ".key")
        enabled = item.get("isEnabled", True)
        if not isinstance(enabled, bool):
            raise InvalidInput("isEnabled is true or false.", code="INVALID_REACTION", field=where + ".isEnabled")
        result.append({"isEnabled": enabled, "key": key, "value": item.get("value")})
    return result


def _webhook(document: dict[str, Any], field: str) -> dict[str, Any]:
    if "forFailure" in document:
        raise InvalidInput(
            "forFailure is not supported by this engine.", code="UNSUPPORTED_FIELD", field=field + ".forFailure"
        )
    url = document.get("url")
    try:
        parsed = urlparse(url) if isinstance(url, str) else None
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parsed = None
    if parsed is None or parsed.scheme not in {"http", "https"} or not parsed.netloc or len(url or "") > 2048:
        raise InvalidInput("url is an http(s) URL.", code="INVALID_REACTION", field=field + ".url")
    headers = document.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and "\n" not in k + v for k, v in headers.items()
    ):
        raise InvalidInput("headers is an object of strings.", code="INVALID_REACTION", field=field + ".headers")
    return {"type": ReactionType.WEBHOOK.value, "url": url, "headers": headers}


def normalize_reactions(documents: Any) -> list[dict[str, Any]]:
    if documents is None:
        return []
    if not isinstance(documents, list):
        raise InvalidInput("reactions is a list.", code="INVALID_REACTION", field="reactions")
    return [normalize_reaction(d, i) for i, d in enumerate(documents)]


# ---- compiled form ----


@dataclass(frozen=True)
class PointsReaction:
    derivation: Derivation
    policy: LiabilityPolicy
    bypass_caps: bool


@dataclass(frozen=True)
class CompiledReaction:
    index: int
    type: ReactionType
    points: PointsReaction | None = None
    badge_id: uuid.UUID | None = None
    reward_id: uuid.UUID | None = None
    attributes: tuple[tuple[str, Any], ...] = ()
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CompiledReactor:
    reactor: Reactor
    constraint: jsonschema_rs.Validator | None
    reactions: tuple[CompiledReaction, ...]

    def accepts(self, enhanced_payload: dict[str, Any]) -> bool:
        return self.constraint is None or self.constraint.is_valid(enhanced_payload)


def compile_reactor(reactor: Reactor) -> CompiledReactor:
    constraint = compile_schema(reactor.constraint, field="constraint") if reactor.constraint else None
    compiled: list[CompiledReaction] = []
    for index, reaction in enumerate(reactor.reactions):
        kind = ReactionType(reaction["type"])
        if kind is ReactionType.POINTS:
            points = PointsReaction(
                derivation=parse_derivation(reaction["points"], field="points"),
                policy=LiabilityPolicy(reaction["liabilityHandlingPolicy"]),
                bypass_caps=reaction["bypassCaps"],
            )
            compiled.append(CompiledReaction(index, kind, points=points))
        elif kind is ReactionType.BADGE:
            compiled.append(CompiledReaction(index, kind, badge_id=uuid.UUID(reaction["badge"]["id"])))
        elif kind is ReactionType.REWARD:
            compiled.append(CompiledReaction(index, kind, reward_id=uuid.UUID(reaction["reward"]["id"])))
        elif kind is ReactionType.ATTRIBUTE:
            pairs = tuple((a["key"], a["value"]) for a in reaction["attributes"] if a["isEnabled"])
            compiled.append(CompiledReaction(index, kind, attributes=pairs))
        elif kind is ReactionType.WEBHOOK:
            compiled.append(
                CompiledReaction(index, kind, url=reaction["url"], headers=tuple(reaction["headers"].items()))
            )
    return CompiledReactor(reactor=reactor, constraint=constraint, reactions=tuple(compiled))


def activation_key(context: ActivationContext | None, subject_id: uuid.UUID | None) -> str | None:
    """The counter a reactor's activation counts against; None when the event cannot be counted (no subject)."""
    if context is ActivationContext.SUBJECT:
        return str(subject_id) if subject_id is not None else None
    return ""
