"""Pricing without the engine: the member's offers as last seen, through the same calculator the engine uses.

Vouchers cannot be checked offline, so every presented code is set aside (reason ``OFFLINE``), and no points are
spent (spending fails closed). The result says it is offline, so a till can tell the cashier the prices are
provisional.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from loyalty.api.models.checkouts import PricedBasketOut, RejectedOut
from loyalty.api.models.rewards import RewardOut
from loyalty.domain.pricing import BasketLine, Candidate, PricingRequest, Source, price_basket
from loyalty.domain.rewards import Discount, DiscountType, Stacking
from loyalty.domain.settings import DiscountStacking

OFFLINE = "OFFLINE"


class OfflinePricedBasket(PricedBasketOut):
    offline: bool = True


def _moment(text: Any) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def candidate(offer: RewardOut) -> Candidate:
    reward_id = uuid.UUID(offer.id)
    return Candidate(
        reward_id=reward_id,
        source=Source.OFFER,
        benefit_id=None,
        code=None,
        stacking=Stacking(offer.stacking),
        min_transaction_amount=offer.min_transaction_amount,
        venue_ids=tuple(uuid.UUID(v.id) for v in offer.venues),
        discounts=tuple(
            Discount(
                discount_id=uuid.UUID(d.id),
                reward_id=reward_id,
                type=DiscountType(d.type),
                value=Decimal(str(d.value)),
                product_sku=d.product_sku,
                sku=d.sku,
                venue_ids=tuple(uuid.UUID(v.id) for v in d.venues),
                created_at=d.created_at,
                updated_at=d.updated_at,
            )
            for d in offer.discounts
        ),
    )


def _available(offer: RewardOut, moment: datetime) -> bool:
    start, end = offer.availability.start, offer.availability.end
    return offer.archived_at is None and start <= moment and (end is None or moment < end)


def price_offline(
    basket: dict[str, Any], offers: Sequence[RewardOut], stacking: DiscountStacking = DiscountStacking.STACK
) -> OfflinePricedBasket:
    moment = datetime.now(UTC)
    lines = tuple(
        BasketLine(
            sku=str(line["sku"]),
            category=line.get("category"),
            quantity=Decimal(str(line["quantity"])),
            unit_price=int(line["unitPrice"]),
        )
        for line in basket["lineItems"]
    )
    venue = basket.get("venue")
    try:
        venue_id = uuid.UUID(str(venue)) if venue else None
    except ValueError:
        venue_id = None  # a store number: venue-limited offers are then not applied
    result = price_basket(
        PricingRequest(
            lines=lines,
            candidates=tuple(candidate(o) for o in offers if o.discounts and _available(o, moment)),
            venue_id=venue_id,
            stacking_mode=stacking,
            add_item_prices=dict(basket.get("addItems") or {}),
        )
    )
    refused = [
        RejectedOut(code=code, reward_id=None, benefit_id=None, reason=OFFLINE)
        for code in basket.get("voucherCodes", [])
    ]
    priced = PricedBasketOut.of(result, refused, 0)
    return OfflinePricedBasket(**priced.model_dump())
