"""Event types: the rules for custom types and the catalogue of intrinsic ones."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from loyalty.domain.errors import InvalidInput

NAME = re.compile(r"^[A-Z]+(_[A-Z]+)*$")


class Enhancer(StrEnum):
    POINTS_ENHANCER = "POINTS_ENHANCER"
    RANDOM_NUMBER = "RANDOM_NUMBER"
    AUDIENCE_ENHANCER = "AUDIENCE_ENHANCER"
    TIER_ENHANCER = "TIER_ENHANCER"


def check_name(name: str, field: str = "name") -> str:
    if not (2 <= len(name) <= 64 and NAME.match(name)):
        raise InvalidInput(
            "An event type name is 2–64 upper-case words joined by underscores, e.g. PURCHASE_COMPLETED.",
            code="INVALID_EVENT_TYPE_NAME",
            field=field,
        )
    return name


def check_enhancers(names: list[str]) -> list[str]:
    for index, name in enumerate(names):
        try:
            Enhancer(name)
        except ValueError as error:
            raise InvalidInput(
                f"Unknown enhancer {name!r}.", code="UNKNOWN_ENHANCER", field=f"enhancers[{index}]"
            ) from error
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class EventType:
    event_type_id: uuid.UUID
    name: str
    description: str | None
    schema: dict[str, Any]
    is_private: bool
    is_active: bool
    enhancers: tuple[str, ...]
    omit_from_user_activity: bool
    dedupe_key_path: str | None
    is_intrinsic: bool
    created_at: datetime | None
    updated_at: datetime | None
    secret_version: int = 1


# ---- intrinsic event types: emitted by the engine, never reported by clients ----

_ID = {"type": "string", "format": "uuid"}


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


_LINE = {
    "type": "object",
    "properties": {
        "sku": {"type": "string"},
        "name": {"type": ["string", "null"]},
        "category": {"type": ["string", "null"]},
        "quantity": {"type": "number"},
        "unitPrice": {"type": "integer"},
        "discount": {"type": "integer"},
        "total": {"type": "integer"},
    },
}
_TOTALS = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in ("subtotal", "discount", "tax", "total")},
}

INTRINSIC_SCHEMAS: dict[str, dict[str, Any]] = {
    "REGISTERED_ACCOUNT": _schema({"userId": _ID, "accountNumber": {"type": "string"}}, ["userId", "accountNumber"]),
    "PROFILE_UPDATED": _schema(
        {"userId": _ID, "changed": {"type": "array", "items": {"type": "string"}}}, ["userId", "changed"]
    ),
    "CLOSED_ACCOUNT": _schema({"userId": _ID}, ["userId"]),
    "POINTS_ADJUSTED": _schema(
        {
            "points": {"type": "integer"},
            "impactType": {"enum": ["EARN", "SPEND", "NONE"]},
            "balance": {"type": "integer"},
            "comment": {"type": ["string", "null"]},
        },
        ["points", "impactType", "balance"],
    ),
    "BADGE_AWARDED": _schema(
        {"badgeId": _ID, "badgeName": {"type": "string"}, "comment": {"type": ["string", "null"]}},
        ["badgeId", "badgeName"],
    ),
    # Emitted once the parts of the engine that cause them exist; published now so reactors can be written.
    "PURCHASED_REWARD": _schema({"rewardId": _ID, "benefitId": _ID}, ["rewardId"]),
    "REDEEMED_VOUCHER": _schema({"rewardId": _ID, "benefitId": _ID}, ["benefitId"]),
    "BURNED_VOUCHER": _schema({"rewardId": _ID, "benefitId": _ID}, ["benefitId"]),
    "VOUCHER_GIVEN": _schema({"rewardId": _ID, "benefitId": _ID}, ["rewardId"]),
    "POINTS_EXPIRED": _schema(
        {
            "points": {"type": "integer", "minimum": 1},
            "balance": {"type": "integer"},
            "expiryBasedOn": {"enum": ["EARN_DATE", "LAST_ACTIVITY"]},
        },
        ["points", "balance", "expiryBasedOn"],
    ),
    "AUDIENCE_JOINED": _schema({"audienceId": _ID}, ["audienceId"]),
    "AUDIENCE_LEFT": _schema({"audienceId": _ID}, ["audienceId"]),
    "ORDER_PLACED": _schema(
        {
            "orderId": _ID,
            "externalId": {"type": "string"},
            "channel": {"enum": ["IN_STORE", "ONLINE"]},
            "occurredAt": {"type": "string"},
            "currency": {"type": "string"},
            "venue": {"type": ["string", "null"], "description": "The venue's externalIdentifier (store number)."},
            "venueId": {"type": ["string", "null"]},
            "totalSpend": {"type": "number", "description": "The total in major units (12.5 for £12.50)."},
            "totalSpendMinor": {"type": "integer"},
            "itemCount": {"type": "number"},
            "skus": {"type": "array", "items": {"type": "string"}},
            "categories": {"type": "array", "items": {"type": "string"}},
            "lineItems": {"type": "array", "items": _LINE},
            "totals": _TOTALS,
            "appliedDiscounts": {"type": "array", "items": {"type": "object"}},
            "payments": {"type": "array", "items": {"type": "object"}},
            "metadata": {"type": "object"},
            "checkout": {"type": "boolean"},
            "pointsSpent": {"type": "integer"},
        },
        ["orderId", "externalId", "currency", "totalSpend", "totalSpendMinor", "itemCount", "skus", "lineItems"],
    ),
    "ORDER_REFUNDED": _schema(
        {
            "orderId": _ID,
            "orderExternalId": {"type": "string"},
            "refundId": _ID,
            "externalId": {"type": "string"},
            "currency": {"type": "string"},
            "refundedValue": {"type": "number", "description": "Major units."},
            "refundedValueMinor": {"type": "integer"},
            "pointsReversed": {"type": "integer"},
            "pointsReturned": {"type": "integer"},
            "orderStatus": {"enum": ["PARTIALLY_REFUNDED", "REFUNDED"]},
            "lineItems": {"type": "array", "items": {"type": "object"}},
        },
        ["orderId", "refundId", "externalId", "refundedValueMinor", "pointsReversed", "orderStatus"],
    ),
    "TIER_CHANGED": _schema({"fromTierId": {"type": ["string", "null"]}, "toTierId": {"type": ["string", "null"]}}, []),
    "POINTS_ACTIVATED": _schema(
        {"points": {"type": "integer", "minimum": 1}, "balance": {"type": "integer"}, "pending": {"type": "integer"}},
        ["points", "balance", "pending"],
    ),
}

_INTRINSIC_NAMESPACE = uuid.UUID("6f6b3c1e-3d41-4b8e-9a53-0c7d2f1e5a90")


def intrinsic_event_type(tenant_id: uuid.UUID, name: str) -> EventType:
    """The intrinsic type ``name``; its id is derived from the tenant and name, so it is stable everywhere."""
    return EventType(
        event_type_id=uuid.uuid5(_INTRINSIC_NAMESPACE, f"{tenant_id}:{name}"),
        name=name,
        description="Emitted by the engine.",
        schema=INTRINSIC_SCHEMAS[name],
        is_private=True,
        is_active=True,
        enhancers=(),
        omit_from_user_activity=False,
        dedupe_key_path=None,
        is_intrinsic=True,
        created_at=None,
        updated_at=None,
    )
