"""The demo program: a coffee shop's loyalty scheme, built through the public API with the Python client, so it is
exactly what an operator could build by hand.

- Event types `PURCHASE_COMPLETED` (a sale reported as an event, with the member's tier added by the engine) and
  `REDEEMED_POINTS` (points spent on something outside the catalogue).
- Reactors: a sign-up bonus, a point per pound on every order, a "£5 off" voucher for orders of £30 or more,
  a point per pound on purchase events and a second one for Gold members, and the points spend.
- Rewards: the "£5 off" voucher (500 points), a free coffee (an offer that adds a regular coffee at no cost),
  a 10% staff offer seen only by the Staff audience.
- Tiers Bronze, Silver and Gold by lifetime earn; the Staff audience; one venue; and a few members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loyalty.client import AsyncLoyaltyClient

STORE = "372"
COFFEE_SKU = "COFFEE-R"


def _points(*arguments: dict[str, Any], rounding: str = "DOWN") -> dict[str, Any]:
    return {"operation": "PRODUCT", "arguments": list(arguments), "roundingDirection": rounding}


def _number(value: str) -> dict[str, Any]:
    return {"type": "NUMBER", "value": value}


def _path(value: str) -> dict[str, Any]:
    return {"type": "PAYLOAD_QUERY", "value": value}


PER_POUND = _points(_path("$.totalSpend"), _number("1"))

MEMBERS = (
    ("Ada", "Lovelace", 40),
    ("Grace", "Hopper", 1200),
    ("Alan", "Turing", 2600),
    ("Katherine", "Johnson", 0),
    ("Edsger", "Dijkstra", 300),
)


@dataclass
class DemoProgram:
    rewards: dict[str, str] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # account numbers
    staff: str | None = None  # the account number of a staff member
    venue: str = STORE


async def build(admin: AsyncLoyaltyClient) -> DemoProgram:
    demo = DemoProgram()
    await admin.update_settings({"timezone": "Europe/London", "baseCurrency": "GBP"})
    await admin.create_venue({"name": "Store 372, King's Cross", "externalIdentifier": STORE})
    await admin.create_event_type(
        {
            "name": "PURCHASE_COMPLETED",
            "description": "A sale reported as an event; the engine adds the member's tier.",
            "schema": {
                "type": "object",
                "required": ["totalSpend"],
                "properties": {"totalSpend": {"type": "number", "minimum": 0}, "store": {"type": "string"}},
            },
            "enhancers": ["TIER_ENHANCER"],
        }
    )
    await admin.create_event_type(
        {
            "name": "REDEEMED_POINTS",
            "description": "Points spent on something outside the catalogue.",
            "schema": {
                "type": "object",
                "required": ["points"],
                "properties": {"points": {"type": "integer", "minimum": 1}},
            },
        }
    )
    for name, requirement, priority in (("Bronze", 0, 1), ("Silver", 1000, 2), ("Gold", 2500, 3)):
        await admin.create_tier(
            {"name": name, "priority": priority, "pointsRequirement": requirement, "calculation": "LIFETIME_EARN"}
        )
    staff_criteria = {
        "required": ["flags"],
        "properties": {"flags": {"required": ["staff"], "properties": {"staff": {"const": True}}}},
    }
    staff = await admin.create_audience(
        {
            "name": "Staff",
            "description": "Everyone who works for us",
            "criteriaDefinition": {
                "criteriaFormat": "JSON_SCHEMA",
                "criteria": staff_criteria,
                "triggerFrequency": "REACTIVE",
            },
        }
    )
    five_off = await admin.create_reward(
        {
            "name": "£5 off",
            "type": "VOUCHER",
            "price": 500,
            "value": 500,
            "currency": "GBP",
            "purchasable": True,
            "codeType": "OTP",
            "code": {"format": "FIVE-{code}"},
            "purchaseExpiration": 60 * 60 * 24 * 90,
        }
    )
    await admin.add_discount(five_off.id, {"type": "ABSOLUTE", "value": 500})
    coffee = await admin.create_reward(
        {"name": "Free coffee", "type": "GENERIC_OFFER", "price": 0, "purchasable": False, "summary": "On us, today."}
    )
    await admin.add_discount(coffee.id, {"type": "FIXED", "value": 0, "sku": COFFEE_SKU})
    staff_offer = await admin.create_reward(
        {
            "name": "Staff 10% off",
            "type": "GENERIC_OFFER",
            "price": 0,
            "purchasable": False,
            "visibleToAudiences": [{"id": staff.id}],
        }
    )
    await admin.add_discount(staff_offer.id, {"type": "PERCENTAGE", "value": 10})
    demo.rewards = {"fiveOff": five_off.id, "freeCoffee": coffee.id, "staff": staff_offer.id}

    await admin.create_reactor(
        {
            "name": "Sign-up bonus",
            "eventType": "REGISTERED_ACCOUNT",
            "reactions": [{"type": "POINTS", "points": {"operation": "SUM", "arguments": [_number("50")]}}],
        }
    )
    await admin.create_reactor(
        {
            "name": "A point per pound",
            "eventType": "ORDER_PLACED",
            "reactions": [{"type": "POINTS", "points": PER_POUND}],
        }
    )
    await admin.create_reactor(
        {
            "name": "£5 off for a £30 order",
            "eventType": "ORDER_PLACED",
            "constraint": {"required": ["totalSpend"], "properties": {"totalSpend": {"minimum": 30}}},
            "reactions": [{"type": "REWARD", "reward": {"id": five_off.id}}],
        }
    )
    await admin.create_reactor(
        {
            "name": "A point per pound (purchase events)",
            "eventType": "PURCHASE_COMPLETED",
            "reactions": [{"type": "POINTS", "points": PER_POUND}],
        }
    )
    gold = {
        "required": ["enhanced"],
        "properties": {
            "enhanced": {
                "required": ["tier"],
                "properties": {
                    "tier": {"type": "object", "required": ["name"], "properties": {"name": {"const": "Gold"}}}
                },
            }
        },
    }
    await admin.create_reactor(
        {
            "name": "Double points for Gold",
            "eventType": "PURCHASE_COMPLETED",
            "constraint": gold,
            "reactions": [{"type": "POINTS", "points": PER_POUND}],
        }
    )
    await admin.create_reactor(
        {
            "name": "Spend points",
            "eventType": "REDEEMED_POINTS",
            "reactions": [
                {
                    "type": "POINTS",
                    "points": _points(_path("$.points"), _number("-1")),
                    "liabilityHandlingPolicy": "REJECT_EVENT",
                }
            ],
        }
    )
    for index, (given, family, points) in enumerate(MEMBERS):
        member = await admin.sign_up(
            {
                "profile": {"givenName": given, "familyName": family, "emailAddress": f"{given.lower()}@example.com"},
                "authIdentifier": f"demo-{given.lower()}",
                "externalIdentifier": f"CARD-{1000 + index}",
                "flags": {"staff": index == len(MEMBERS) - 1},
            }
        )
        if points:
            await admin.adjust_points(member.id, points, comment="Opening balance")
        demo.members.append(member.account_number)
    demo.staff = demo.members[-1]
    return demo
