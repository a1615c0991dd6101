"""Badges, awards and the webhook delivery log on the wire."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from loyalty.api.models.common import RequestModel, ResponseModel, Timestamp
from loyalty.services.badges import Badge, BadgeAward
from loyalty.services.webhooks import Delivery

Locale = Literal["en", "fr", "de", "it", "es", "nl", "ar", "tr"]


class BadgeDetails(RequestModel):
    name: Annotated[str, StringConstraints(min_length=2, max_length=200)]
    description: Annotated[str, StringConstraints(min_length=2, max_length=1000)] | None = None
    artwork_url: Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://")] | None = None
    locale: Locale


class BadgeDefinition(RequestModel):
    internal_name: Annotated[str, StringConstraints(min_length=2, max_length=200)]
    internal_description: Annotated[str, StringConstraints(min_length=2, max_length=1000)] | None = None
    details: list[BadgeDetails] = Field(default_factory=list)
    priority: int = Field(default=0, ge=0, le=1_000_000)


class BadgePatch(RequestModel):
    internal_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    internal_description: Annotated[str, StringConstraints(min_length=2, max_length=1000)] | None = None
    details: list[BadgeDetails] | None = None
    priority: int | None = Field(default=None, ge=0, le=1_000_000)
    status: Literal["ACTIVE", "INACTIVE", "ARCHIVED"] | None = None


class BadgeOut(ResponseModel):
    id: str
    internal_name: str
    internal_description: str | None
    details: list[dict[str, object]]
    priority: int
    status: str
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, badge: Badge) -> BadgeOut:
        return cls(
            id=str(badge.badge_id),
            internal_name=badge.internal_name,
            internal_description=badge.internal_description,
            details=badge.details,
            priority=badge.priority,
            status=badge.status.value,
            created_at=badge.created_at,
            updated_at=badge.updated_at,
        )


class AwardBadge(RequestModel):
    badge_id: uuid.UUID
    beneficiary_id: Annotated[str, StringConstraints(min_length=1, max_length=512)] = Field(
        description="The member: any identifier."
    )
    comment: Annotated[str, StringConstraints(max_length=1000)] | None = None


class BadgeAwardOut(ResponseModel):
    id: str
    badge: BadgeOut
    user_id: str
    event_id: str | None
    comment: str | None
    awarded_at: Timestamp

    @classmethod
    def of(cls, award: BadgeAward) -> BadgeAwardOut:
        return cls(
            id=str(award.award_id),
            badge=BadgeOut.of(award.badge),
            user_id=str(award.member_id),
            event_id=str(award.event_id) if award.event_id else None,
            comment=award.comment,
            awarded_at=award.awarded_at,
        )


class WebhookDeliveryOut(ResponseModel):
    id: str
    event_id: str
    reactor_id: str
    url: str
    status: str = Field(description="PENDING, DELIVERED or FAILED (given up after the last attempt).")
    attempts: int
    next_attempt_at: Timestamp
    last_status_code: int | None
    last_error: str | None
    created_at: Timestamp
    delivered_at: Timestamp | None

    @classmethod
    def of(cls, delivery: Delivery) -> WebhookDeliveryOut:
        return cls(
            id=str(delivery.delivery_id),
            event_id=str(delivery.event_id),
            reactor_id=str(delivery.reactor_id),
            url=delivery.url,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )


class WebhookSecretOut(ResponseModel):
    secret: str = Field(description="Receivers check `X-Signature: sha256=<HMAC-SHA256 of the body>` with it.")
