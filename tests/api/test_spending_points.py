"""Spending points at the POS the WLL way (contract §5.3): a custom REDEEMED_POINTS event whose reactor takes
`$.points × −1`. With REJECT_EVENT the engine refuses an overdraw instead of going negative, atomically."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from loyalty.storage.database import Database
from loyalty.storage.tables import events
from tests.api.test_orders import assert_fail, ledger, line, member_order, ok, place, released_together, wallet
from tests.api.test_refunds import ledger_mismatches
from tests.conftest import TenantKit, adjust, create_member

REDEEMED_POINTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["points"],
    "properties": {"points": {"type": "integer", "minimum": 1}, "transactionId": {"type": "string"}},
}
POINTS_TIMES_MINUS_ONE = {
    "operation": "PRODUCT",
    "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.points"}, {"type": "NUMBER", "value": "-1"}],
}


async def set_up_redemption(client: httpx.AsyncClient, tenant: TenantKit, policy: str | None = "REJECT_EVENT") -> None:
    """WLL's two prerequisites: the event type, and the reactor that deducts ``$.points × −1``."""
    event_type = {"name": "REDEEMED_POINTS", "description": "points spent at a till", "schema": REDEEMED_POINTS_SCHEMA}
    ok(await client.post("/v1/event_types", headers=tenant.admin, json=event_type))
    reaction: dict[str, Any] = {"type": "POINTS", "points": POINTS_TIMES_MINUS_ONE}
    if policy is not None:
        reaction["liabilityHandlingPolicy"] = policy
    reactor = {"name": "Points redemption", "eventType": "REDEEMED_POINTS", "reactions": [reaction]}
    ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor))


async def redeem(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any], points: int) -> httpx.Response:
    body = {
        "type": "REDEEMED_POINTS",
        "subject": member["accountNumber"],
        "payload": {"points": points, "transactionId": uuid.uuid4().hex},
    }
    return await client.post("/v1/events", headers=tenant.pos, json=body)


async def redemption_events(db: Database, tenant: TenantKit) -> int:
    async def work(tx: Any) -> int:
        condition = (events.c.tenant_id == uuid.UUID(tenant.tenant_id)) & (events.c.type == "REDEEMED_POINTS")
        return int((await tx.execute(select(func.count()).select_from(events).where(condition))).scalar_one())

    return await db.run(work, write=False)


async def test_a_redemption_deducts_the_points(client, db, tenant: TenantKit):
    await set_up_redemption(client, tenant)
    member = await create_member(client, tenant.admin)
    ok(await adjust(client, tenant.admin, member["id"], 300))

    event = ok(await redeem(client, tenant, member, 120))

    assert [(r["status"], r["points"]) for r in event["reactions"]] == [("APPLIED", -120)]
    account = await wallet(client, tenant, member)
    assert (account["points"], account["lifetimeEarn"]) == (180, 300)
    entry = (await ledger(client, tenant, member))[0]
    assert (entry["delta"], entry["kind"], entry["impactType"], entry["source"]) == (
        -120,
        "SPEND",
        "SPEND",
        {"type": "EVENT", "id": event["id"]},
    )


async def test_reject_event_never_overdraws_and_stores_nothing(client, db, tenant: TenantKit):
    await set_up_redemption(client, tenant)
    member = await create_member(client, tenant.admin)
    ok(await adjust(client, tenant.admin, member["id"], 300))
    ok(await redeem(client, tenant, member, 100))

    data = assert_fail(await redeem(client, tenant, member, 201), 422, "INSUFFICIENT_POINTS")

    assert (data["balance"], data["requested"]) == (200, 201)
    assert (await wallet(client, tenant, member))["points"] == 200
    assert [e["delta"] for e in await ledger(client, tenant, member)] == [-100, 300]
    assert await redemption_events(db, tenant) == 1
    # Exactly the balance is fine: down to zero, never below.
    ok(await redeem(client, tenant, member, 200))
    assert (await wallet(client, tenant, member))["points"] == 0
    assert_fail(await redeem(client, tenant, member, 1), 422, "INSUFFICIENT_POINTS")


async def test_without_reject_event_the_balance_may_go_negative_as_in_wll(client, tenant: TenantKit):
    await set_up_redemption(client, tenant, policy=None)
    member = await create_member(client, tenant.admin)
    ok(await adjust(client, tenant.admin, member["id"], 500))

    ok(await redeem(client, tenant, member, 1000))

    assert (await wallet(client, tenant, member))["points"] == -500


@pytest.mark.concurrency
async def test_ten_concurrent_redemptions_of_100_against_300_points_exactly_three_succeed(
    client, db, tenant: TenantKit
):
    await set_up_redemption(client, tenant)
    member = await create_member(client, tenant.admin)
    ok(await adjust(client, tenant.admin, member["id"], 300))

    answers = await released_together(10, lambda: redeem(client, tenant, member, 100))

    assert Counter(a.status_code for a in answers) == {200: 3, 422: 7}, [a.text for a in answers]
    assert {a.json()["data"]["code"] for a in answers if a.status_code == 422} == {"INSUFFICIENT_POINTS"}
    account = await wallet(client, tenant, member)
    assert (account["points"], account["lifetimeEarn"]) == (0, 300)
    assert sorted(e["balanceAfter"] for e in await ledger(client, tenant, member) if e["delta"] < 0) == [0, 100, 200]
    assert await redemption_events(db, tenant) == 3
    assert await ledger_mismatches(db, tenant) == []


async def test_the_till_prices_the_redemption_with_points_currency_value_and_reports_the_sale(
    client, tenant: TenantKit
):
    """The whole WLL flow at a till: read the wallet, price the points with ``pointsCurrencyValue``, report the
    redemption before giving the discount, then report the sale with the discount on its lines."""
    await set_up_redemption(client, tenant)
    member = await create_member(client, tenant.admin)
    ok(await adjust(client, tenant.admin, member["id"], 250))

    balance = (await wallet(client, tenant, member))["points"]
    rate = Decimal(ok(await client.get("/v1/settings/pointsCurrencyValue", headers=tenant.pos))["value"])
    points = min(balance, 200)
    discount = int(points * rate * 100)  # pence
    assert (points, discount) == (200, 200)
    ok(await redeem(client, tenant, member, points))

    sandwich = line("SANDWICH", 1, 450, discount=discount)
    body = member_order(
        member,
        lineItems=[sandwich],
        totals={"subtotal": 450, "discount": discount, "tax": 0, "total": 450 - discount},
        appliedDiscounts=[{"source": "POINTS", "points": points, "amount": discount}],
        payments=[{"type": "CARD", "amount": 450 - discount}],
    )
    order = ok(await place(client, tenant.pos, body))

    assert order["appliedDiscounts"] == [{"source": "POINTS", "points": 200, "amount": 200}]
    assert order["totals"]["total"] == 250
    assert (await wallet(client, tenant, member))["points"] == 50
