"""Audiences on the wire (after WLL's AudienceDefinition and AudiencePatch, with JSON Schema criteria)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints

from loyalty.api.models.common import JsonObject, RequestModel, ResponseModel, Timestamp
from loyalty.api.models.members import UserOut
from loyalty.domain.audiences import CRITERIA_FORMAT, Audience
from loyalty.services.audiences import AudienceMember, Count, Membership, Refresh

AudienceName = Annotated[str, StringConstraints(min_length=2, max_length=200)]
AudienceDescription = Annotated[str, StringConstraints(min_length=2, max_length=1024)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=64)]

# WLL's criteria fields for its own formats (QUERY_TREE, JSONATA), which this engine does not implement.
_WLL_CRITERIA_FIELDS = frozenset({"criteriaTree", "criteriaJsonLogic", "criteriaJsonata"})


class CriteriaDefinition(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _WLL_CRITERIA_FIELDS

    criteria_format: Token = Field(default=CRITERIA_FORMAT, description="JSON_SCHEMA (WLL's other formats: 400).")
    criteria: JsonObject = Field(
        description="A JSON Schema over {profile, flags, attributes, points: {balance, lifetimeEarn}, "
        "tier: {priority, name} | null, badges: [ids], rewardsPurchased: [ids]}."
    )
    trigger_frequency: Token = Field(default="REACTIVE", description="REACTIVE, DAILY or MANUAL.")


class CriteriaPatch(RequestModel):
    unsupported: ClassVar[frozenset[str]] = _WLL_CRITERIA_FIELDS

    criteria_format: Token | None = None
    criteria: JsonObject | None = None
    trigger_frequency: Token | None = None


class AudienceDefinition(RequestModel):
    name: AudienceName
    description: AudienceDescription | None = None
    is_active: bool = True
    criteria_definition: CriteriaDefinition
    send_audience_joined_event: bool = Field(default=False, description="Emit AUDIENCE_JOINED when a member joins.")
    send_audience_left_event: bool = Field(default=False, description="Emit AUDIENCE_LEFT when a member leaves.")


class AudiencePatch(RequestModel):
    name: AudienceName | None = None
    description: AudienceDescription | None = None
    is_active: bool | None = None
    criteria_definition: CriteriaPatch | None = None
    criteria_patch: CriteriaPatch | None = Field(default=None, description="WLL's name for criteriaDefinition.")
    send_audience_joined_event: bool | None = None
    send_audience_left_event: bool | None = None

    @property
    def criteria_changes(self) -> CriteriaPatch:
        return self.criteria_definition or self.criteria_patch or CriteriaPatch()


class CriteriaOut(ResponseModel):
    criteria_format: str
    criteria: dict[str, Any]
    trigger_frequency: str


class AudienceOut(ResponseModel):
    id: str
    name: str
    description: str | None
    is_active: bool
    criteria_definition: CriteriaOut
    send_audience_joined_event: bool
    send_audience_left_event: bool
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, audience: Audience) -> AudienceOut:
        return cls(
            id=str(audience.audience_id),
            name=audience.name,
            description=audience.description,
            is_active=audience.is_active,
            criteria_definition=CriteriaOut(
                criteria_format=CRITERIA_FORMAT,
                criteria=audience.criteria,
                trigger_frequency=audience.trigger_frequency.value,
            ),
            send_audience_joined_event=audience.send_joined_event,
            send_audience_left_event=audience.send_left_event,
            created_at=audience.created_at,
            updated_at=audience.updated_at,
        )


class AudienceMemberOut(UserOut):
    joined_at: Timestamp

    @classmethod
    def of_membership(cls, membership: AudienceMember) -> AudienceMemberOut:
        return cls(**UserOut.of(membership.member).model_dump(), joined_at=membership.joined_at)


class RefreshOut(ResponseModel):
    audience: AudienceOut
    joined: int = Field(description="Members who joined in this refresh.")
    left: int = Field(description="Members who left in this refresh.")

    @classmethod
    def of(cls, refresh: Refresh) -> RefreshOut:
        return cls(audience=AudienceOut.of(refresh.audience), joined=refresh.joined, left=refresh.left)


class AudienceCountOut(ResponseModel):
    count: int = Field(description="Open members the criteria admit now.")
    assessed: int = Field(description="Open members assessed.")

    @classmethod
    def of(cls, found: Count) -> AudienceCountOut:
        return cls(count=found.matching, assessed=found.assessed)


class MemberAudienceOut(ResponseModel):
    id: str
    name: str
    description: str | None
    joined_at: Timestamp = Field(description="When the member joined the audience.")

    @classmethod
    def of(cls, membership: Membership) -> MemberAudienceOut:
        audience = membership.audience
        return cls(
            id=str(audience.audience_id),
            name=audience.name,
            description=audience.description,
            joined_at=membership.joined_at,
        )
