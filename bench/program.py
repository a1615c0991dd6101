"""The loyalty program the benchmark tenant runs: tiers, event types, reactors and the reward catalogue.

Everything here is plain request bodies for the admin API, so the program is defined exactly as an operator would
define it. Counts: 3 tiers, 5 custom event types, 20 reactors (3 on ORDER_PLACED, 5 on PURCHASE, 1 on
REGISTERED_ACCOUNT, 1 on BURNED_VOUCHER, 10 on
types the load never sends), 50 rewards (20 offers, 30 vouchers), each with discounts.
"""

from __future__ import annotations

from typing import Any

PURCHASE = "PURCHASE"
# The SKUs and categories of the baskets the load sends; offers target some of them, so some apply and some not.
BASKET_CATEGORIES = ("HOT-DRINKS", "BAKERY", "FOOD", "FUEL", "GROCERY")

TIERS: list[dict[str, Any]] = [
    {"name": "Bronze", "priority": 1, "pointsRequirement": 0, "calculation": "LIFETIME_EARN"},
    {"name": "Silver", "priority": 2, "pointsRequirement": 4_000, "calculation": "LIFETIME_EARN"},
    {"name": "Gold", "priority": 3, "pointsRequirement": 8_000, "calculation": "LIFETIME_EARN"},
]

EVENT_TYPES: list[dict[str, Any]] = [
    {
        "name": PURCHASE,
        "description": "A purchase reported by a partner system (fuel station, online shop).",
        "schema": {
            "type": "object",
            "required": ["amount", "category", "storeId"],
            "properties": {
                "amount": {"type": "number", "minimum": 0},
                "category": {"type": "string"},
                "storeId": {"type": "string"},
                "channel": {"enum": ["IN_STORE", "ONLINE"]},
            },
        },
        "enhancers": ["POINTS_ENHANCER"],
    },
    {"name": "APP_LOGIN", "description": "The member opened the app."},
    {"name": "REVIEW_WRITTEN", "description": "The member reviewed a product."},
    {"name": "FRIEND_REFERRED", "description": "A friend joined with the member's code."},
    {"name": "SURVEY_COMPLETED", "description": "The member answered a survey."},
]


def _number(value: str | int) -> dict[str, Any]:
    return {"type": "NUMBER", "value": str(value)}


def _query(path: str) -> dict[str, Any]:
    return {"type": "PAYLOAD_QUERY", "value": path}


def points_fixed(points: int) -> list[dict[str, Any]]:
    return [{"type": "POINTS", "points": {"operation": "SUM", "arguments": [_number(points)]}}]


def points_per_unit(path: str, factor: str, *, maximum: int | None = None) -> list[dict[str, Any]]:
    derivation: dict[str, Any] = {
        "operation": "PRODUCT",
        "arguments": [_query(path), _number(factor)],
        "roundingDirection": "DOWN",
    }
    if maximum is not None:
        derivation["max"] = maximum
    return [{"type": "POINTS", "points": derivation}]


def _reactor(name: str, event_type: str, reactions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": name, "eventType": event_type, "reactions": reactions, **extra}


REACTORS: list[dict[str, Any]] = [
    # ORDER_PLACED: the till's sales (orders and checkouts); all three run for every member sale.
    _reactor("Core earn: 1 point per pound", "ORDER_PLACED", points_per_unit("$.totalSpend", "1")),
    _reactor(
        "Big basket bonus",
        "ORDER_PLACED",
        points_fixed(50),
        constraint={"required": ["totalSpend"], "properties": {"totalSpend": {"minimum": 20}}},
    ),
    _reactor(
        "Coffee lovers",
        "ORDER_PLACED",
        points_fixed(10),
        constraint={"required": ["categories"], "properties": {"categories": {"contains": {"const": "HOT-DRINKS"}}}},
    ),
    # PURCHASE: partner purchases, with conditions on the payload.
    _reactor("Partner earn: 2 points per pound", PURCHASE, points_per_unit("$.amount", "2", maximum=1000)),
    _reactor(
        "Fuel bonus",
        PURCHASE,
        points_per_unit("$.amount", "1"),
        constraint={"required": ["category"], "properties": {"category": {"const": "FUEL"}}},
    ),
    _reactor(
        "Online bonus",
        PURCHASE,
        points_fixed(25),
        constraint={"required": ["channel"], "properties": {"channel": {"const": "ONLINE"}}},
    ),
    _reactor(
        "Big spender",
        PURCHASE,
        points_fixed(100),
        constraint={"required": ["amount"], "properties": {"amount": {"minimum": 80}}},
    ),
    _reactor(
        "First partner purchase",
        PURCHASE,
        points_fixed(200),
        maxActivations=1,
        activationContext="SUBJECT",
    ),
    # Sign-up.
    _reactor("Welcome bonus", "REGISTERED_ACCOUNT", points_fixed(1_000)),
    # Types the load never sends: they are part of the program's rules, not of the work measured.
    _reactor("Daily app visit", "APP_LOGIN", points_fixed(5), maxActivations=1, activationContext="SUBJECT"),
    _reactor("App streak", "APP_LOGIN", points_fixed(1)),
    _reactor("Review reward", "REVIEW_WRITTEN", points_fixed(20)),
    _reactor("Photo review", "REVIEW_WRITTEN", points_fixed(10), constraint={"required": ["photo"]}),
    _reactor("Referral reward", "FRIEND_REFERRED", points_fixed(500)),
    _reactor("Referral cap bonus", "FRIEND_REFERRED", points_fixed(50), maxActivations=10, activationContext="SUBJECT"),
    _reactor("Survey reward", "SURVEY_COMPLETED", points_fixed(30)),
    _reactor("Long survey", "SURVEY_COMPLETED", points_fixed(20), constraint={"required": ["long"]}),
    _reactor("Voucher used", "BURNED_VOUCHER", points_fixed(1)),
    _reactor("Review streak", "REVIEW_WRITTEN", points_fixed(5), maxActivations=5, activationContext="SUBJECT"),
    _reactor("Survey streak", "SURVEY_COMPLETED", points_fixed(5), maxActivations=5, activationContext="SUBJECT"),
]

OFFER_COUNT = 20
VOUCHER_REWARD_COUNT = 30


def offers(tier_ids: dict[str, str]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """20 GENERIC_OFFER rewards and their discounts: public ones, tier-only ones, and some that target SKUs or
    categories the load's baskets do not contain (so pricing has to reject them)."""
    made: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for index in range(OFFER_COUNT):
        category = BASKET_CATEGORIES[index % len(BASKET_CATEGORIES)]
        body: dict[str, Any] = {
            "type": "GENERIC_OFFER",
            "name": f"Offer {index + 1:02d}: {category.lower()} deal",
            "summary": "Applied at the till to the member's basket.",
            "description": "A benchmark offer. " * 4,
            "price": 0,
            "purchasable": False,
            "availability": {"start": "2020-01-01"},
            "priority": index % 5,
            "redemptionChannels": ["IN_STORE"],
        }
        if index % 4 == 3:
            body["tier"] = {"id": tier_ids["Silver" if index % 8 == 3 else "Gold"]}
        if index % 5 == 4:
            body["minTransactionAmount"] = 5_000  # more than the load's baskets: rejected when priced
        discounts: list[dict[str, Any]]
        if index % 3 == 0:
            discounts = [{"type": "PERCENTAGE", "value": 5 + index % 10, "productSku": category}]
        elif index % 3 == 1:
            discounts = [{"type": "ABSOLUTE", "value": 20 + 5 * (index % 6), "productSku": f"{category},EXTRA-SKU"}]
        else:
            discounts = [
                {"type": "PERCENTAGE", "value": 2, "productSku": None},
                {"type": "ABSOLUTE", "value": 15, "productSku": "NOT-IN-ANY-BASKET"},
            ]
        made.append((body, discounts))
    return made


def voucher_rewards() -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """30 VOUCHER rewards with one-time codes and a basket-level discount each (so a voucher always applies to the
    load's baskets)."""
    made: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for index in range(VOUCHER_REWARD_COUNT):
        value = 100 + 50 * (index % 5)
        body: dict[str, Any] = {
            "type": "VOUCHER",
            "name": f"Voucher {index + 1:02d}: {value}p off",
            "summary": "Money off the next shop.",
            "description": "A benchmark voucher. " * 4,
            "price": 100 + 30 * index,
            "value": value,
            "currency": "GBP",
            "availability": {"start": "2020-01-01"},
            "purchasable": True,
            "priority": index % 3,
            "codeType": "OTP",
            "code": {"format": "BENCH-{code}"},
            "details": {"en": {"name": f"{value}p off", "terms": "One per basket. " * 3}},
        }
        discount = (
            {"type": "ABSOLUTE", "value": value, "productSku": None}
            if index % 2 == 0
            else {"type": "PERCENTAGE", "value": 5 + index % 4, "productSku": None}
        )
        made.append((body, [discount]))
    return made
