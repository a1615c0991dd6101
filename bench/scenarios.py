"""The scenarios: what tills send, as operations of one or more requests.

Every request is made as the POS client (admin-free, as at a till). Every POST carries an ``Idempotency-Key``
(the API takes one on every POST). Members, vouchers and baskets are drawn at random from the seeded tenant.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.loadgen import Client, Operation
from bench.seed import MemberRef, Tenant, VoucherRef

POINTS_PER_CHECKOUT = 100
PARTNER_CATEGORIES = ("FUEL", "GROCERY", "FOOD", "ELECTRONICS")


class SupplyExhausted(Exception):
    """No voucher left to burn (the harness tops the supply up before every step, so this is a harness bug)."""


@dataclass
class Context:
    client: Client
    tenant: Tenant
    supply: deque[VoucherRef]
    rng: random.Random
    tag: str

    def __post_init__(self) -> None:
        self._keys = itertools.count()

    def key(self) -> dict[str, str]:
        return {"Idempotency-Key": f"{self.tag}-{next(self._keys)}"}

    def external_id(self, prefix: str) -> str:
        return f"{self.tag}-{prefix}{next(self._keys)}"

    def member(self) -> MemberRef:
        return self.tenant.members[self.rng.randrange(len(self.tenant.members))]

    def seeded_voucher(self) -> VoucherRef:
        return self.tenant.vouchers[self.rng.randrange(len(self.tenant.vouchers))]

    def fresh_voucher(self) -> VoucherRef:
        if not self.supply:
            raise SupplyExhausted("the voucher supply ran out")
        return self.supply.popleft()


def basket_lines(rng: random.Random) -> list[dict[str, Any]]:
    """A café-and-shop basket: two lattes, a croissant, one to three sandwiches (£14.50 to £23.50)."""
    return [
        {"sku": "LATTE-M", "name": "Latte (medium)", "category": "HOT-DRINKS", "quantity": 2, "unitPrice": 350},
        {"sku": "CROISSANT", "name": "Croissant", "category": "BAKERY", "quantity": 1, "unitPrice": 300},
        {"sku": "SANDWICH", "name": "Sandwich", "category": "FOOD", "quantity": 1 + rng.randrange(3), "unitPrice": 450},
    ]


def order_body(ctx: Context, member: MemberRef) -> dict[str, Any]:
    lines = []
    for line in basket_lines(ctx.rng):
        value = line["quantity"] * line["unitPrice"]
        lines.append({**line, "discount": 0, "total": value})
    total = sum(line["total"] for line in lines)
    return {
        "externalId": ctx.external_id("O"),
        "submitter": {"accountNumber": member.account_number},
        "channel": "IN_STORE",
        "currency": "GBP",
        "lineItems": lines,
        "totals": {"subtotal": total, "discount": 0, "tax": 0, "total": total},
        "payments": [{"type": "CARD", "amount": total}],
    }


def basket_body(ctx: Context, voucher: VoucherRef) -> dict[str, Any]:
    return {
        "user": voucher.account_number,
        "channel": "IN_STORE",
        "currency": "GBP",
        "lineItems": [
            {key: line[key] for key in ("sku", "name", "category", "quantity", "unitPrice")}
            for line in basket_lines(ctx.rng)
        ],
        "voucherCodes": [voucher.code],
        "pointsToSpend": POINTS_PER_CHECKOUT,
    }


def event_body(ctx: Context, member: MemberRef) -> dict[str, Any]:
    return {
        "type": "PURCHASE",
        "subject": member.account_number,
        "payload": {
            "amount": round(ctx.rng.uniform(5, 120), 2),
            "category": PARTNER_CATEGORIES[ctx.rng.randrange(len(PARTNER_CATEGORIES))],
            "storeId": f"S{ctx.rng.randrange(50):03d}",
            "channel": "ONLINE" if ctx.rng.random() < 0.3 else "IN_STORE",
        },
    }


OFFER_PARAMS = {"type": "GENERIC_OFFER", "limit": "50"}


def lookup_wallet(ctx: Context) -> Operation:
    async def operation(_index: int) -> None:
        member = ctx.member()
        found = await ctx.client.json("identify", "GET", f"/v1/users/{member.account_number}")
        await ctx.client.call("wallet", "GET", f"/v1/users/{found['data']['id']}/wallet")

    return operation


def offers(ctx: Context) -> Operation:
    async def operation(_index: int) -> None:
        member = ctx.member()
        headers = {"X-User-Id": member.account_number}
        await ctx.client.call("offers", "GET", "/v1/rewards", params=OFFER_PARAMS, headers=headers)

    return operation


def validate_voucher(ctx: Context) -> Operation:
    async def operation(_index: int) -> None:
        voucher = ctx.seeded_voucher()
        body = {"code": voucher.code, "allowFutureValidation": True, "userIdentifier": voucher.account_number}
        await ctx.client.call("validate_voucher", "POST", "/v1/commands/validate_voucher", body=body, headers=ctx.key())

    return operation


def event(ctx: Context) -> Operation:
    async def operation(_index: int) -> None:
        await ctx.client.call("event", "POST", "/v1/events", body=event_body(ctx, ctx.member()), headers=ctx.key())

    return operation


def order(ctx: Context) -> Operation:
    async def operation(_index: int) -> None:
        await ctx.client.call("order", "POST", "/v1/orders", body=order_body(ctx, ctx.member()), headers=ctx.key())

    return operation


def checkout(ctx: Context) -> Operation:
    async def operation(_index: int) -> None:
        body = {**basket_body(ctx, ctx.fresh_voucher()), "externalId": ctx.external_id("C")}
        await ctx.client.call("checkout", "POST", "/v1/checkouts", body=body, headers=ctx.key())

    return operation


def pos_mix(ctx: Context) -> Operation:
    """The till's sequence for one customer: identify the card, show the wallet, fetch the offers, price the
    basket with a voucher and points, check out."""

    async def operation(_index: int) -> None:
        voucher = ctx.fresh_voucher()
        found = await ctx.client.json("identify", "GET", f"/v1/users/{voucher.account_number}")
        member_id = found["data"]["id"]
        await ctx.client.call("wallet", "GET", f"/v1/users/{member_id}/wallet")
        await ctx.client.call("offers", "GET", "/v1/rewards", params=OFFER_PARAMS, headers={"X-User-Id": member_id})
        basket = basket_body(ctx, voucher)
        await ctx.client.call("price", "POST", "/v1/baskets/price", body=basket, headers=ctx.key())
        body = {**basket, "externalId": ctx.external_id("M")}
        await ctx.client.call("checkout", "POST", "/v1/checkouts", body=body, headers=ctx.key())

    return operation


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    requests: int  # HTTP requests per operation
    burns_vouchers: bool
    make: Callable[[Context], Operation]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("lookup_wallet", "Member lookup + wallet (GET user, GET wallet)", 2, False, lookup_wallet),
    Scenario("offers", "Offers for a member (GET /v1/rewards?type=GENERIC_OFFER, X-User-Id)", 1, False, offers),
    Scenario("validate_voucher", "validate_voucher, allowFutureValidation", 1, False, validate_voucher),
    Scenario("event", "POST /v1/events (PURCHASE, 5 reactors with conditions)", 1, False, event),
    Scenario("order", "POST /v1/orders (3 earn reactors on ORDER_PLACED)", 1, False, order),
    Scenario("checkout", "POST /v1/checkouts (offers + a voucher + 100 points)", 1, True, checkout),
    Scenario("pos_mix", "POS sequence: identify, wallet, offers, price, checkout", 5, True, pos_mix),
)
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
