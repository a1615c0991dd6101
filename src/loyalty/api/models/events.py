"""Events, event types and reactors on the wire (after WLL's EventDefinition, EventTypeDefinition and
EventReactorDefinition)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AwareDatetime, Field, StringConstraints

from loyalty.api.models.common import JsonObject, RequestModel, ResponseModel, Timestamp
from loyalty.domain.event_types import EventType
from loyalty.domain.reactors import Reactor
from loyalty.services.events import ReactionOutcome, StoredEvent

TypeName = Annotated[str, StringConstraints(min_length=2, max_length=64, pattern=r"^[A-Z]+(_[A-Z]+)*$")]
Description = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class EventDefinition(RequestModel):
    type: TypeName
    subject: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="Any member identifier; omit for an anonymous event."
    )
    executor: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="Who acted on the member's behalf (a cashier, say); recorded for audit."
    )
    payload: JsonObject = Field(default_factory=dict)
    occurred_at: AwareDatetime | None = Field(default=None, description="ISO 8601 with offset; defaults to now.")


class ReactionOut(ResponseModel):
    reactor_id: str
    reactor_name: str
    type: str
    status: str = Field(description="APPLIED, SKIPPED or FAILED.")
    reason: str | None = Field(
        default=None,
        description="Why a reaction was skipped or failed: CONDITION_NOT_MET, ACTIVATION_LIMIT_REACHED, "
        "MISSING_VALUE, ZERO_POINTS, NO_SUBJECT, NOT_A_NUMBER, OUT_OF_RANGE, BADGE_NOT_ACTIVE, "
        "OUT_OF_STOCK, NOT_AVAILABLE (a REWARD reaction).",
    )
    points: int | None = None
    detail: dict[str, Any] | None = None

    @classmethod
    def of(cls, outcome: ReactionOutcome) -> ReactionOut:
        return cls(
            reactor_id=str(outcome.reactor_id),
            reactor_name=outcome.reactor_name,
            type=outcome.type,
            status=outcome.status.value,
            reason=outcome.reason,
            points=outcome.points,
            detail=outcome.detail,
        )


class EventOut(ResponseModel):
    id: str
    type: str
    subject: str | None = Field(description="The member's id, or null for an anonymous event.")
    executor: str | None
    payload: dict[str, Any]
    occurred_at: Timestamp
    reported_at: Timestamp
    duplicate: bool = Field(description="True when this answers a duplicate with the original event.")
    reactions: list[ReactionOut]

    @classmethod
    def of(cls, event: StoredEvent) -> EventOut:
        return cls(
            id=str(event.event_id),
            type=event.type,
            subject=str(event.subject_id) if event.subject_id else None,
            executor=event.executor,
            payload=event.payload,
            occurred_at=event.occurred_at,
            reported_at=event.reported_at,
            duplicate=event.duplicate,
            reactions=[ReactionOut.of(r) for r in event.reactions],
        )


_WLL_EVENT_TYPE_EXTRAS = frozenset({"metaTypeMappings"})


class EventTypeDefinition(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _WLL_EVENT_TYPE_EXTRAS

    name: TypeName
    description: Description | None = None
    schema_: JsonObject | None = Field(default=None, alias="schema", description="JSON Schema; type must be object.")
    is_private: bool = False
    is_active: bool = True
    enhancers: list[str] = Field(default_factory=list, description="POINTS_ENHANCER, RANDOM_NUMBER.")
    omit_from_user_activity: bool = False
    dedupe_key_path: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = Field(
        default=None,
        description="JSONPath (e.g. `$.transactionId`): a second event with the same value is a duplicate.",
    )


class EventTypePatch(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _WLL_EVENT_TYPE_EXTRAS

    name: TypeName | None = None
    description: Description | None = None
    schema_: JsonObject | None = Field(default=None, alias="schema")
    is_private: bool | None = None
    is_active: bool | None = None
    enhancers: list[str] | None = None
    omit_from_user_activity: bool | None = None
    dedupe_key_path: Annotated[str, StringConstraints(max_length=512)] | None = Field(
        default=None, description="An empty string removes duplicate detection."
    )


class EventTypeOut(ResponseModel):
    id: str
    name: str
    description: str | None
    schema_: dict[str, Any] = Field(alias="schema")
    is_private: bool
    is_active: bool
    enhancers: list[str]
    omit_from_user_activity: bool
    dedupe_key_path: str | None
    is_intrinsic: bool
    created_at: Timestamp | None
    updated_at: Timestamp | None

    @classmethod
    def of(cls, event_type: EventType) -> EventTypeOut:
        return cls(
            id=str(event_type.event_type_id),
            name=event_type.name,
            description=event_type.description,
            schema=event_type.schema,
            is_private=event_type.is_private,
            is_active=event_type.is_active,
            enhancers=list(event_type.enhancers),
            omit_from_user_activity=event_type.omit_from_user_activity,
            dedupe_key_path=event_type.dedupe_key_path,
            is_intrinsic=event_type.is_intrinsic,
            created_at=event_type.created_at,
            updated_at=event_type.updated_at,
        )


class EventSecretOut(ResponseModel):
    secret: str = Field(description="Send as `X-Event-Secret` to report this type without a token.")


_WLL_REACTOR_EXTRAS = frozenset({"isLocked", "ownerId", "ownerType"})


class EventReactorDefinition(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _WLL_REACTOR_EXTRAS

    name: Annotated[str, StringConstraints(min_length=2, max_length=64)]
    description: Description | None = None
    event_type: str | dict[str, str] = Field(description='Event type name, or {"name": …} or {"id": …}.')
    constraint: JsonObject | None = Field(default=None, description="JSON Schema over the enhanced payload.")
    effectivity: dict[str, Any] | None = Field(default=None, description="{start, end}: dates or date-times.")
    max_activations: int | None = Field(default=None, ge=1)
    activation_context: str | None = Field(default=None, description="GLOBAL, TENANT or SUBJECT.")
    reactions: list[JsonObject] = Field(default_factory=list)


class EventReactorPatch(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _WLL_REACTOR_EXTRAS

    name: Annotated[str, StringConstraints(min_length=2, max_length=64)] | None = None
    description: Description | None = None
    constraint: JsonObject | None = None
    effectivity: dict[str, Any] | None = None
    max_activations: int | None = Field(default=None, ge=1)
    activation_context: str | None = None
    reactions: list[JsonObject] | None = None


class Effectivity(ResponseModel):
    start: Timestamp
    end: Timestamp | None


class ReactorOut(ResponseModel):
    id: str
    name: str
    description: str | None
    event_type: str
    constraint: dict[str, Any] | None
    effectivity: Effectivity
    max_activations: int | None
    activation_context: str | None
    reactions: list[dict[str, Any]]
    previous_version_id: str | None
    created_at: Timestamp

    @classmethod
    def of(cls, reactor: Reactor) -> ReactorOut:
        return cls(
            id=str(reactor.reactor_id),
            name=reactor.name,
            description=reactor.description,
            event_type=reactor.event_type,
            constraint=reactor.constraint,
            effectivity=Effectivity(start=reactor.effective_from, end=reactor.effective_until),
            max_activations=reactor.max_activations,
            activation_context=reactor.activation_context.value if reactor.activation_context else None,
            reactions=reactor.reactions,
            previous_version_id=str(reactor.previous_version_id) if reactor.previous_version_id else None,
            created_at=reactor.created_at,
        )
