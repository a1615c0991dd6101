"""The operations a POS (and an admin tool) performs, each described once as a :class:`Call`: method, path, body,
how to read the answer, and what may be done with it offline. Both clients send the same calls.

A call that changes something gets its ``Idempotency-Key`` when it is built: retries, and a replay from the
offline journal, send the same key and the same body, so the engine applies it once. Operations that may be
queued offline get their ``occurredAt`` when they are built, for the same reason (the body must not change).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, TypeAdapter

from loyalty.api.models.audiences import AudienceOut
from loyalty.api.models.benefits import BenefitOut
from loyalty.api.models.checkouts import PricedBasketOut, ReceiptOut
from loyalty.api.models.events import EventOut, EventTypeOut, ReactorOut
from loyalty.api.models.liability import CriterionOut
from loyalty.api.models.members import UserOut
from loyalty.api.models.orders import PlacedOrderOut, RefundOut
from loyalty.api.models.points import LedgerEntryOut, PredictionsOut, WalletOut
from loyalty.api.models.rewards import DiscountOut, RewardOut
from loyalty.api.models.settings import SettingOut
from loyalty.api.models.tiers import TierOut
from loyalty.api.models.venues import VenueOut
from loyalty.domain.timestamps import iso

T = TypeVar("T")
Body = Mapping[str, Any] | BaseModel


class Offline(StrEnum):
    """What the client does with a call when the engine cannot be reached."""

    FAIL = "FAIL"  # fail closed: a burn, a spend, a refund, a checkout must reach the engine
    QUEUE = "QUEUE"  # earn-only: journal it and replay it later, in order, with its key
    PRICE = "PRICE"  # price the basket locally from the member's cached offers


@dataclass
class Call(Generic[T]):
    operation: str
    method: str
    path: str
    parse: Callable[[Any], T]
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    offline: Offline = Offline.FAIL


def _json(body: Body) -> dict[str, Any]:
    if isinstance(body, BaseModel):
        return dict(body.model_dump(mode="json", by_alias=True, exclude_unset=True))
    return dict(body)


def _model(kind: type[T]) -> Callable[[Any], T]:
    adapter = TypeAdapter(kind)
    return adapter.validate_python


def _segment(identifier: str) -> str:
    return quote(str(identifier), safe="")


def command(
    operation: str, path: str, body: Body, parse: Callable[[Any], T], offline: Offline = Offline.FAIL
) -> Call[T]:
    """A POST that changes something: a fresh Idempotency-Key for this logical operation."""
    document = _json(body)
    if offline is Offline.QUEUE and "occurredAt" not in document:
        document["occurredAt"] = iso(datetime.now(UTC))
    return Call(operation, "POST", path, parse, body=document, idempotency_key=uuid.uuid4().hex, offline=offline)


def query(
    operation: str, path: str, parse: Callable[[Any], T], *, params: dict[str, Any] | None = None, **headers: str
) -> Call[T]:
    return Call(operation, "GET", path, parse, params=params, headers=dict(headers))


# ---- the POS surface ----


def identify(member: str) -> Call[UserOut]:
    """A member by any identifier: id, account number (card), authIdentifier or externalIdentifier."""
    return query("identify", f"/v1/users/{_segment(member)}", _model(UserOut))


def sign_up(definition: Body) -> Call[UserOut]:
    return command("sign_up", "/v1/users", definition, _model(UserOut))


def wallet(member: str) -> Call[WalletOut]:
    return query("wallet", f"/v1/users/{_segment(member)}/wallet", _model(WalletOut))


def predictions(member: str, period: str = "MONTH") -> Call[PredictionsOut]:
    path = f"/v1/users/{_segment(member)}/wallet/predictions"
    return query("predictions", path, _model(PredictionsOut), params={"period": period})


def ledger(member: str, limit: int = 100) -> Call[list[LedgerEntryOut]]:
    path = f"/v1/users/{_segment(member)}/points"
    return query("ledger", path, _model(list[LedgerEntryOut]), params={"limit": limit})


def offers(member: str) -> Call[list[RewardOut]]:
    """The offers the till applies for the member (what they may see now)."""
    params = {"type": "GENERIC_OFFER", "limit": 1000}
    return query("offers", "/v1/rewards", _model(list[RewardOut]), params=params, **{"X-User-Id": member})


def rewards(member: str | None = None, limit: int = 100) -> Call[list[RewardOut]]:
    params: dict[str, Any] = {"limit": limit}
    if member is not None:
        params["userId"] = member
    return query("rewards", "/v1/rewards", _model(list[RewardOut]), params=params)


def purchase(reward_id: str, member: str) -> Call[BenefitOut]:
    body = {"rewardId": reward_id, "beneficiaryId": member}
    return command("purchase", "/v1/commands/purchase_reward", body, _model(BenefitOut))


def redeem(benefit_id: str) -> Call[BenefitOut]:
    return command("redeem", "/v1/commands/redeem_benefit", {"benefitId": benefit_id}, _model(BenefitOut))


def validate_voucher(
    code: str, *, member: str | None = None, venue: str | None = None, burn: bool = False
) -> Call[BenefitOut]:
    """Check a code at the till; ``burn=True`` uses it up (without, the check can be repeated)."""
    body: dict[str, Any] = {"code": code, "allowFutureValidation": not burn}
    if member is not None:
        body["userIdentifier"] = member
    if venue is not None:
        body["venueIdentifier"] = venue
    return command("validate_voucher", "/v1/commands/validate_voucher", body, _model(BenefitOut))


def report_event(
    event_type: str,
    subject: str | None = None,
    payload: Mapping[str, Any] | None = None,
    *,
    occurred_at: datetime | None = None,
    spends_points: bool = False,
) -> Call[EventOut]:
    """Report an event. Events that only earn may be queued offline; say ``spends_points=True`` for one whose
    reactors spend points, so that it fails closed instead."""
    body: dict[str, Any] = {"type": event_type, "payload": dict(payload or {})}
    if subject is not None:
        body["subject"] = subject
    if occurred_at is not None:
        body["occurredAt"] = iso(occurred_at)
    offline = Offline.FAIL if spends_points else Offline.QUEUE
    return command("report_event", "/v1/events", body, _model(EventOut), offline)


def place_order(order: Body) -> Call[PlacedOrderOut]:
    """Report a sale (earn-only: queued offline, replayed with its key and original ``occurredAt``)."""
    return command("place_order", "/v1/orders", order, _model(PlacedOrderOut), Offline.QUEUE)


def refund(
    order: str, external_id: str, line_items: list[Mapping[str, Any]] | None = None, reason: str | None = None
) -> Call[RefundOut]:
    body: dict[str, Any] = {"externalId": external_id}
    if line_items is not None:
        body["lineItems"] = [dict(item) for item in line_items]
    if reason is not None:
        body["reason"] = reason
    return command("refund", f"/v1/orders/{_segment(order)}/refunds", body, _model(RefundOut))


def price(basket: Body) -> Call[PricedBasketOut]:
    call = command("price", "/v1/baskets/price", basket, _model(PricedBasketOut), Offline.PRICE)
    call.idempotency_key = None  # pricing changes nothing
    return call


def checkout(basket: Body) -> Call[ReceiptOut]:
    """Price, burn the vouchers, place the order and spend the points, in one transaction (fails closed)."""
    return command("checkout", "/v1/checkouts", basket, _model(ReceiptOut))


def void(checkout: str) -> Call[ReceiptOut]:
    return command("void", f"/v1/checkouts/{_segment(checkout)}/void", {}, _model(ReceiptOut))


def adjust_points(member: str, points: int, **options: Any) -> Call[LedgerEntryOut]:
    body = {"actorId": member, "points": points, **options}
    return command("adjust_points", "/v1/commands/adjust_points", body, _model(LedgerEntryOut))


# ---- configuration (admin) ----


def create_event_type(definition: Body) -> Call[EventTypeOut]:
    return command("create_event_type", "/v1/event_types", definition, _model(EventTypeOut))


def create_reactor(definition: Body) -> Call[ReactorOut]:
    return command("create_reactor", "/v1/event_reactors", definition, _model(ReactorOut))


def create_reward(definition: Body) -> Call[RewardOut]:
    return command("create_reward", "/v1/rewards", definition, _model(RewardOut))


def add_discount(reward_id: str, definition: Body) -> Call[DiscountOut]:
    path = f"/v1/rewards/{_segment(reward_id)}/discounts"
    return command("add_discount", path, definition, _model(DiscountOut))


def create_audience(definition: Body) -> Call[AudienceOut]:
    return command("create_audience", "/v1/audiences", definition, _model(AudienceOut))


def create_tier(definition: Body) -> Call[TierOut]:
    return command("create_tier", "/v1/tiers", definition, _model(TierOut))


def create_venue(definition: Body) -> Call[VenueOut]:
    return command("create_venue", "/v1/venues", definition, _model(VenueOut))


def update_settings(values: Mapping[str, Any]) -> Call[list[SettingOut]]:
    call = command("update_settings", "/v1/settings", values, _model(list[SettingOut]))
    call.method = "PATCH"
    call.idempotency_key = None  # setting values is naturally idempotent
    return call


def create_criterion(definition: Body) -> Call[CriterionOut]:
    return command("create_criterion", "/v1/points_liability_criteria", definition, _model(CriterionOut))
