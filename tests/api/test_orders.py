"""Placing orders (contract §5.1): exact arithmetic, ORDER_PLACED and its reactors, idempotency on externalId,
reading orders back."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from loyalty.storage.database import Database
from loyalty.storage.tables import events, order_lines, orders
from tests.conftest import TenantKit, adjust, create_member, make_tenant

SPEND_TIMES_ONE = {
    "operation": "PRODUCT",
    "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.totalSpend"}, {"type": "NUMBER", "value": "1"}],
    "roundingDirection": "DOWN",
}


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"
    return answer.json()["data"]


def assert_fail(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert document["status"] == "fail", answer.text
    assert document["data"]["code"] == code, answer.text
    return dict(document["data"])


def line(sku: str, quantity: Any, unit_price: int, discount: int = 0, **extra: Any) -> dict[str, Any]:
    """A line whose total is right unless ``total`` is given."""
    from decimal import ROUND_HALF_UP, Decimal

    value = int((Decimal(str(quantity)) * unit_price).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return {
        "sku": sku,
        "name": sku.title(),
        "quantity": quantity,
        "unitPrice": unit_price,
        "discount": discount,
        "total": value - discount,
        **extra,
    }


def order_body(lines: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid order: totals computed from the lines (a latte and a croissant, £12.50 by default)."""
    items = lines or [
        line("LATTE-M", 2, 350, discount=100, category="HOT-DRINKS"),
        line("CROISSANT", 3, 250, category="BAKERY"),
    ]
    subtotal = sum(i["total"] + i.get("discount", 0) for i in items)
    discount = sum(i.get("discount", 0) for i in items)
    body: dict[str, Any] = {
        "externalId": f"STORE372-{uuid.uuid4().hex[:12]}",
        "channel": "IN_STORE",
        "occurredAt": "2025-01-10T12:34:56.000Z",
        "currency": "GBP",
        "lineItems": items,
        "totals": {"subtotal": subtotal, "discount": discount, "tax": 100, "total": subtotal - discount},
        "payments": [{"type": "CARD", "amount": subtotal - discount}],
        "metadata": {"tillId": "T3", "cashierId": "C17"},
    }
    body.update(overrides)
    return body


def member_order(member: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return order_body(submitter={"authIdentifier": member["authIdentifier"]}, **overrides)


async def place(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/orders", headers=headers, json=body)


async def core_earn(client: httpx.AsyncClient, tenant: TenantKit, derivation: dict[str, Any] | None = None) -> Any:
    """The WLL core earn rule on ORDER_PLACED: a point per pound spent (``$.totalSpend × 1``, rounded down)."""
    body = {
        "name": "Core earn",
        "eventType": "ORDER_PLACED",
        "reactions": [{"type": "POINTS", "points": derivation or SPEND_TIMES_ONE}],
    }
    return ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=body))


async def wallet(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any]) -> dict[str, Any]:
    return dict(ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.admin)))


async def ledger(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any]) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/users/{member['id']}/points", headers=tenant.admin, params={"limit": 1000})
    return list(ok(answer))


async def stored_counts(db: Database, tenant: TenantKit, event_type: str = "ORDER_PLACED") -> tuple[int, int, int]:
    """(orders, order lines, events of ``event_type``) stored for the tenant."""
    tenant_id = uuid.UUID(tenant.tenant_id)

    async def work(tx: Any) -> tuple[int, int, int]:
        counted = []
        for table, extra in ((orders, None), (order_lines, None), (events, events.c.type == event_type)):
            condition = table.c.tenant_id == tenant_id
            if extra is not None:
                condition = condition & extra
            counted.append(int((await tx.execute(select(func.count()).select_from(table).where(condition))).scalar()))
        return counted[0], counted[1], counted[2]

    return await db.run(work, write=False)


async def released_together(count: int, request: Any) -> list[httpx.Response]:
    gate = asyncio.Event()

    async def one() -> httpx.Response:
        await gate.wait()
        return await request()

    pending = [asyncio.ensure_future(one()) for _ in range(count)]
    gate.set()
    return list(await asyncio.gather(*pending))


# ---- a member sale ----


async def test_a_member_sale_earns_through_order_placed(client, db, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    body = member_order(member)

    data = ok(await place(client, tenant.pos, body))

    assert data["externalId"] == body["externalId"]
    assert str(uuid.UUID(data["id"])) == data["id"]
    assert data["status"] == "PLACED"
    assert data["user"] == {"id": member["id"], "accountNumber": member["accountNumber"]}
    assert data["totals"] == {"subtotal": 1450, "discount": 100, "tax": 100, "total": 1350}
    assert data["pointsEarned"] == 13
    assert data["replayed"] is False
    assert [(r["status"], r["points"]) for r in data["event"]["reactions"]] == [("APPLIED", 13)]
    assert (await wallet(client, tenant, member))["points"] == 13


async def test_the_core_earn_gives_12_points_for_a_12_50_order(client, db, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    body = member_order(member, lineItems=[line("LUNCH-DEAL", 1, 1250)])
    body["totals"] = {"subtotal": 1250, "discount": 0, "tax": 208, "total": 1250}

    data = ok(await place(client, tenant.pos, body))

    assert data["pointsEarned"] == 12
    reaction = data["event"]["reactions"][0]
    assert (reaction["reactorName"], reaction["type"], reaction["status"], reaction["points"]) == (
        "Core earn",
        "POINTS",
        "APPLIED",
        12,
    )
    entries = await ledger(client, tenant, member)
    assert [(e["delta"], e["kind"], e["impactType"], e["source"]) for e in entries] == [
        (12, "EARN", "EARN", {"type": "EVENT", "id": data["event"]["id"]})
    ]
    account = await wallet(client, tenant, member)
    assert (account["points"], account["lifetimeEarn"]) == (12, 12)
    assert await stored_counts(db, tenant) == (1, 1, 1)


async def test_the_answer_is_the_stored_order(client, tenant: TenantKit):
    venue = ok(
        await client.post("/v1/venues", headers=tenant.admin, json={"name": "High St", "externalIdentifier": "372"})
    )
    member = await create_member(client, tenant.admin)
    body = member_order(
        member,
        venue={"externalIdentifier": "372"},
        appliedDiscounts=[{"source": "VOUCHER", "code": "PROMO-7HD3XP", "amount": 100}],
    )

    data = ok(await place(client, tenant.pos, body))

    assert data["venue"] == {"id": venue["id"], "externalIdentifier": "372"}
    assert data["channel"] == "IN_STORE"
    assert data["occurredAt"] == "2025-01-10T12:34:56.000Z"
    assert data["currency"] == "GBP"
    assert data["lineItems"] == [
        {
            "sku": "LATTE-M",
            "name": "Latte-M",
            "category": "HOT-DRINKS",
            "quantity": 2,
            "unitPrice": 350,
            "discount": 100,
            "total": 600,
            "refundedQuantity": 0,
        },
        {
            "sku": "CROISSANT",
            "name": "Croissant",
            "category": "BAKERY",
            "quantity": 3,
            "unitPrice": 250,
            "discount": 0,
            "total": 750,
            "refundedQuantity": 0,
        },
    ]
    assert data["totals"] == {"subtotal": 1450, "discount": 100, "tax": 100, "total": 1350}
    assert data["appliedDiscounts"] == [{"source": "VOUCHER", "code": "PROMO-7HD3XP", "amount": 100}]
    assert data["payments"] == [{"type": "CARD", "amount": 1350}]
    assert data["metadata"] == {"tillId": "T3", "cashierId": "C17"}
    assert data["pointsEarned"] == 0
    assert data["event"] == {"id": data["event"]["id"], "reactions": []}
    assert data["refunds"] == []
    # Read back by id and by externalId, by the till and by an admin: the same order.
    for identifier in (data["id"], body["externalId"]):
        for headers in (tenant.pos, tenant.admin):
            read = ok(await client.get(f"/v1/orders/{identifier}", headers=headers))
            assert read == {k: v for k, v in data.items() if k != "replayed"}


async def test_order_placed_carries_the_order_without_personal_data(client, tenant: TenantKit):
    await client.post("/v1/venues", headers=tenant.admin, json={"name": "High St", "externalIdentifier": "372"})
    member = await create_member(client, tenant.admin)
    body = member_order(
        member,
        venue={"externalIdentifier": "372"},
        lineItems=[line("LATTE-M", 2, 350, category="HOT-DRINKS"), line("APPLES", "0.455", 299, category="FRUIT")],
    )
    body["totals"] = {"subtotal": 836, "discount": 0, "tax": 0, "total": 836}

    data = ok(await place(client, tenant.pos, body))

    event = ok(await client.get(f"/v1/events/{data['event']['id']}", headers=tenant.admin))
    assert event["type"] == "ORDER_PLACED"
    assert event["subject"] == member["id"]
    payload = event["payload"]
    assert payload["orderId"] == data["id"]
    assert payload["externalId"] == body["externalId"]
    assert payload["totalSpend"] == 8.36
    assert payload["totalSpendMinor"] == 836
    assert payload["itemCount"] == 2.455
    assert payload["skus"] == ["LATTE-M", "APPLES"]
    assert payload["categories"] == ["HOT-DRINKS", "FRUIT"]
    assert payload["venue"] == "372"
    assert payload["channel"] == "IN_STORE"
    assert [(i["sku"], i["quantity"], i["total"]) for i in payload["lineItems"]] == [
        ("LATTE-M", 2, 700),
        ("APPLES", 0.455, 136),
    ]
    text = str(payload)
    assert member["authIdentifier"] not in text
    assert member["accountNumber"] not in text
    assert "submitter" not in payload


async def test_the_submitter_may_be_named_by_any_identifier(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin, externalIdentifier=f"crm-{uuid.uuid4().hex[:8]}")
    for field in ("id", "accountNumber", "authIdentifier", "externalIdentifier"):
        data = ok(await place(client, tenant.pos, order_body(submitter={field: member[field]})))
        assert data["user"]["id"] == member["id"], field


async def test_an_unknown_submitter_is_404_and_nothing_is_stored(client, db, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    for submitter in (
        {"authIdentifier": "idp-nobody"},
        {"id": str(uuid.uuid4())},
        {"id": "not-a-uuid"},
        {"accountNumber": "1000000" if member["accountNumber"] != "1000000" else "1000001"},
        # An identifier of one kind is not looked up as another.
        {"externalIdentifier": member["authIdentifier"]},
    ):
        assert_fail(await place(client, tenant.pos, order_body(submitter=submitter)), 404, "USER_NOT_FOUND")
    assert await stored_counts(db, tenant) == (0, 0, 0)


async def test_the_submitter_names_exactly_one_identifier(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    for submitter in ({}, {"id": member["id"], "authIdentifier": member["authIdentifier"]}, {"id": None}):
        data = assert_fail(await place(client, tenant.pos, order_body(submitter=submitter)), 400, "VALIDATION_ERROR")
        assert data["errors"][0]["field"] == "submitter"


# ---- a non-member sale ----


async def test_a_non_member_sale_is_stored_without_an_event(client, db, tenant: TenantKit):
    await core_earn(client, tenant)

    data = ok(await place(client, tenant.pos, order_body()))

    assert data["user"] is None
    assert data["event"] is None
    assert data["pointsEarned"] == 0
    assert data["status"] == "PLACED"
    assert await stored_counts(db, tenant) == (1, 2, 0)
    assert ok(await client.get(f"/v1/orders/{data['id']}", headers=tenant.pos))["user"] is None


# ---- malformed orders: 400 naming the field, nothing stored ----


def _with_line(index: int, **changes: Any) -> dict[str, Any]:
    body = order_body()
    body["lineItems"][index].update(changes)
    return body


def _with_totals(**changes: Any) -> dict[str, Any]:
    body = order_body()
    body["totals"].update(changes)
    return body


MALFORMED = {
    "negative quantity": (_with_line(0, quantity=-2), "VALIDATION_ERROR", "lineItems.0.quantity", None),
    "zero quantity": (_with_line(1, quantity=0), "VALIDATION_ERROR", "lineItems.1.quantity", None),
    "four decimals": (_with_line(1, quantity=1.0005), "VALIDATION_ERROR", "lineItems.1.quantity", None),
    "negative price": (_with_line(0, unitPrice=-350), "VALIDATION_ERROR", "lineItems.0.unitPrice", None),
    "price as a string": (_with_line(0, unitPrice="350"), "VALIDATION_ERROR", "lineItems.0.unitPrice", None),
    "line total off by one": (_with_line(1, total=751), "ORDER_TOTALS_MISMATCH", "lineItems[1].total", 750),
    "discount above the line": (
        _with_line(1, discount=800, total=0),
        "ORDER_TOTALS_MISMATCH",
        "lineItems[1].discount",
        750,
    ),
    "subtotal": (_with_totals(subtotal=1400), "ORDER_TOTALS_MISMATCH", "totals.subtotal", 1450),
    "discount": (_with_totals(discount=0, total=1450), "ORDER_TOTALS_MISMATCH", "totals.discount", 100),
    "total": (_with_totals(total=1450), "ORDER_TOTALS_MISMATCH", "totals.total", 1350),
    "applied discounts above the discount": (
        order_body(appliedDiscounts=[{"source": "VOUCHER", "amount": 60}, {"source": "OFFER", "amount": 41}]),
        "ORDER_TOTALS_MISMATCH",
        "appliedDiscounts",
        100,
    ),
    "no lines": (order_body(lineItems=[]), "VALIDATION_ERROR", "lineItems", None),
    "lower-case currency": (order_body(currency="gbp"), "VALIDATION_ERROR", "currency", None),
    "unknown currency code": (order_body(currency="XYZ"), "CURRENCY_MISMATCH", "currency", None),
    "another currency": (order_body(currency="EUR"), "CURRENCY_MISMATCH", "currency", None),
    "no offset": (order_body(occurredAt="2025-01-10T12:34:56"), "VALIDATION_ERROR", "occurredAt", None),
    "unknown channel": (order_body(channel="PHONE"), "VALIDATION_ERROR", "channel", None),
    "no externalId": (
        {k: v for k, v in order_body().items() if k != "externalId"},
        "VALIDATION_ERROR",
        "externalId",
        None,
    ),
    "externalId too long": (order_body(externalId="x" * 256), "VALIDATION_ERROR", "externalId", None),
    "line without sku": (
        order_body(lineItems=[{"quantity": 1, "unitPrice": 100, "total": 100}]),
        "VALIDATION_ERROR",
        "lineItems.0.sku",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_a_malformed_order_is_400_naming_the_field_and_stores_nothing(client, db, tenant: TenantKit, case: str):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    body, code, field, expected = MALFORMED[case]
    body = {**body, "submitter": {"id": member["id"]}}

    data = assert_fail(await place(client, tenant.pos, body), 400, code)

    assert field in [e["field"] for e in data["errors"]], data
    if expected is not None:
        assert data["field"] == field
        assert data["expected"] == expected
        assert field in (await place(client, tenant.pos, body)).json()["message"]
    assert await stored_counts(db, tenant) == (0, 0, 0)
    assert (await wallet(client, tenant, member))["points"] == 0
    if "externalId" in body:
        assert_fail(await client.get(f"/v1/orders/{body['externalId']}", headers=tenant.pos), 404, "ORDER_NOT_FOUND")


async def test_every_mismatch_is_listed(client, tenant: TenantKit):
    body = order_body()
    body["lineItems"][0]["total"] = 599
    body["totals"]["tax"] = 0
    body["totals"]["total"] = 1349

    data = assert_fail(await place(client, tenant.pos, body), 400, "ORDER_TOTALS_MISMATCH")

    assert [(e["field"], e["expected"], e["given"]) for e in data["errors"]] == [
        ("lineItems[0].total", 600, 599),
        ("totals.total", 1350, 1349),
    ]


async def test_unknown_fields_are_refused(client, tenant: TenantKit):
    body = order_body()
    body["lineItems"][0]["points"] = 500
    data = assert_fail(await place(client, tenant.pos, body), 400, "UNKNOWN_FIELD")
    assert data["errors"][0]["field"] == "lineItems.0.points"


async def test_weighed_goods_round_half_up_to_a_whole_total(client, tenant: TenantKit):
    # 0.455 kg at £2.99/kg = 136.045p → 136; 1.5 × 3p = 4.5p → 5; 0.125 × 4p = 0.5p → 1.
    items = [line("APPLES", 0.455, 299), line("NAILS", 1.5, 3), line("SPICE", "0.125", 4)]
    assert [i["total"] for i in items] == [136, 5, 1]
    body = order_body(items)

    data = ok(await place(client, tenant.pos, body))

    assert [(i["quantity"], i["total"]) for i in data["lineItems"]] == [(0.455, 136), (1.5, 5), (0.125, 1)]
    assert data["totals"]["total"] == 142
    # Rounding half down or truncating would be refused.
    wrong = order_body([line("NAILS", 1.5, 3, total=4)])
    wrong["lineItems"][0]["total"] = 4
    wrong["totals"] = {"subtotal": 4, "discount": 0, "tax": 0, "total": 4}
    data = assert_fail(await place(client, tenant.pos, wrong), 400, "ORDER_TOTALS_MISMATCH")
    assert (data["field"], data["expected"]) == ("lineItems[0].total", 5)


async def test_the_currency_must_be_the_base_currency(client, tenant: TenantKit):
    answer = await client.post("/v1/settings", headers=tenant.admin, json={"name": "baseCurrency", "value": "JPY"})
    assert answer.status_code == 201, answer.text
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)

    data = assert_fail(await place(client, tenant.pos, member_order(member)), 400, "CURRENCY_MISMATCH")
    assert data["expected"] == "JPY"

    # Yen have no minor unit: 1,350 yen are totalSpend 1350.
    placed = ok(await place(client, tenant.pos, member_order(member, currency="JPY")))
    assert placed["pointsEarned"] == 1350
    event = ok(await client.get(f"/v1/events/{placed['event']['id']}", headers=tenant.admin))
    assert event["payload"]["totalSpend"] == 1350


async def test_an_unknown_venue_is_400(client, db, tenant: TenantKit):
    for venue, field in (
        ({"externalIdentifier": "999"}, "venue.externalIdentifier"),
        ({"id": str(uuid.uuid4())}, "venue.id"),
    ):
        data = assert_fail(await place(client, tenant.pos, order_body(venue=venue)), 400, "VENUE_NOT_FOUND")
        assert data["field"] == field
    data = assert_fail(await place(client, tenant.pos, order_body(venue={})), 400, "VALIDATION_ERROR")
    assert data["errors"][0]["field"] == "venue"
    assert await stored_counts(db, tenant) == (0, 0, 0)


async def test_a_venue_by_id(client, tenant: TenantKit):
    venue = ok(await client.post("/v1/venues", headers=tenant.admin, json={"name": "Online shop"}))
    data = ok(await place(client, tenant.pos, order_body(venue={"id": venue["id"]}, channel="ONLINE")))
    assert data["venue"] == {"id": venue["id"], "externalIdentifier": None}
    assert data["channel"] == "ONLINE"


async def test_occurred_at_defaults_to_now(client, tenant: TenantKit):
    body = order_body()
    del body["occurredAt"]
    data = ok(await place(client, tenant.pos, body))
    assert data["occurredAt"] == data["createdAt"]
    # The retry without occurredAt is the same order, not a new moment.
    assert ok(await place(client, tenant.pos, body))["replayed"] is True


async def test_a_reject_event_reaction_that_would_overdraw_refuses_the_order(client, db, tenant: TenantKit):
    """A rule on ORDER_PLACED that takes points it may not take refuses the whole order: nothing is stored."""
    body = {
        "name": "Order fee",
        "eventType": "ORDER_PLACED",
        "reactions": [
            {
                "type": "POINTS",
                "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "-5"}]},
                "liabilityHandlingPolicy": "REJECT_EVENT",
            }
        ],
    }
    ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=body))
    member = await create_member(client, tenant.admin)
    order = member_order(member)

    assert_fail(await place(client, tenant.pos, order), 422, "INSUFFICIENT_POINTS")

    assert await stored_counts(db, tenant) == (0, 0, 0)
    ok(await adjust(client, tenant.admin, member["id"], 5))
    placed = ok(await place(client, tenant.pos, order))
    assert placed["replayed"] is False
    assert (await wallet(client, tenant, member))["points"] == 0


# ---- idempotency on externalId ----


async def test_the_same_order_again_is_replayed_without_a_second_earn(client, db, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    body = member_order(member)
    first = ok(await place(client, tenant.pos, body))

    # The same order, written differently: keys reordered, 2 as 2.000, and sent by an admin.
    again = {key: body[key] for key in reversed(list(body))}
    again["lineItems"] = [dict(body["lineItems"][0], quantity="2.000"), body["lineItems"][1]]
    second = ok(await place(client, tenant.admin, again))

    assert second["replayed"] is True
    assert {k: v for k, v in second.items() if k != "replayed"} == {k: v for k, v in first.items() if k != "replayed"}
    assert second["event"]["id"] == first["event"]["id"]
    assert len(await ledger(client, tenant, member)) == 1
    assert (await wallet(client, tenant, member))["points"] == 13
    assert await stored_counts(db, tenant) == (1, 2, 1)


async def test_another_body_with_the_same_external_id_is_409(client, db, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    body = member_order(member)
    first = ok(await place(client, tenant.pos, body))

    for changed in (
        {**body, "metadata": {"tillId": "T4"}},
        {**body, "submitter": {"id": member["id"]}},
        {k: v for k, v in body.items() if k != "submitter"},
        {**body, "occurredAt": "2025-01-10T12:34:57.000Z"},
    ):
        data = assert_fail(await place(client, tenant.pos, changed), 409, "ORDER_CONFLICT")
        assert data["orderId"] == first["id"]
    assert await stored_counts(db, tenant) == (1, 2, 1)


async def test_external_ids_are_per_tenant(client, db, tenant: TenantKit):
    other = await make_tenant(client, db, "other shop")
    body = order_body()
    mine = ok(await place(client, tenant.pos, body))
    theirs = ok(await place(client, other.pos, body))
    assert theirs["id"] != mine["id"]
    assert theirs["replayed"] is False
    # Neither sees the other's order.
    assert_fail(await client.get(f"/v1/orders/{mine['id']}", headers=other.pos), 404, "ORDER_NOT_FOUND")
    assert ok(await client.get(f"/v1/orders/{body['externalId']}", headers=other.pos))["id"] == theirs["id"]


@pytest.mark.concurrency
async def test_twenty_concurrent_posts_of_one_sale_make_one_order_and_one_earn(client, db, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    body = member_order(member)

    answers = await released_together(20, lambda: place(client, tenant.pos, body))

    assert Counter(a.status_code for a in answers) == {200: 20}, [a.text for a in answers]
    datas = [a.json()["data"] for a in answers]
    assert Counter(d["replayed"] for d in datas) == {False: 1, True: 19}
    assert {d["id"] for d in datas} == {datas[0]["id"]}
    assert {d["pointsEarned"] for d in datas} == {13}
    assert await stored_counts(db, tenant) == (1, 2, 1)
    entries = await ledger(client, tenant, member)
    assert [e["delta"] for e in entries] == [13]
    assert (await wallet(client, tenant, member))["lifetimeEarn"] == 13


# ---- reading ----


async def test_an_unknown_order_is_404(client, tenant: TenantKit):
    for identifier in (str(uuid.uuid4()), "NO-SUCH-SALE"):
        assert_fail(await client.get(f"/v1/orders/{identifier}", headers=tenant.pos), 404, "ORDER_NOT_FOUND")


async def test_listing_orders_filters_by_member_venue_and_time(client, tenant: TenantKit):
    ok(await client.post("/v1/venues", headers=tenant.admin, json={"name": "High St", "externalIdentifier": "372"}))
    ada = await create_member(client, tenant.admin)
    bob = await create_member(client, tenant.admin)
    placed = [
        ok(await place(client, tenant.pos, member_order(ada, occurredAt="2025-01-10T09:00:00Z"))),
        ok(await place(client, tenant.pos, member_order(bob, occurredAt="2025-01-11T09:00:00Z"))),
        ok(
            await place(
                client,
                tenant.pos,
                member_order(ada, occurredAt="2025-01-12T09:00:00Z", venue={"externalIdentifier": "372"}),
            )
        ),
        ok(await place(client, tenant.pos, order_body(occurredAt="2025-01-13T09:00:00+01:00"))),
    ]
    ids = [p["id"] for p in placed]

    async def listed(**params: Any) -> tuple[list[str], int]:
        answer = await client.get("/v1/orders", headers=tenant.admin, params=params)
        assert answer.status_code == 200, answer.text
        return [o["id"] for o in answer.json()["data"]], answer.json()["meta"]["total"]

    assert await listed() == (ids[::-1], 4)
    assert await listed(order="ASC") == (ids, 4)
    assert await listed(user=ada["accountNumber"]) == ([ids[2], ids[0]], 2)
    assert await listed(user=bob["authIdentifier"]) == ([ids[1]], 1)
    assert await listed(venue="372") == ([ids[2]], 1)
    assert await listed(**{"from": "2025-01-11T00:00:00Z", "to": "2025-01-13T08:00:00Z"}) == ([ids[2], ids[1]], 2)
    assert await listed(limit=1, skip=1, order="ASC") == ([ids[1]], 4)
    assert_fail(
        await client.get("/v1/orders", headers=tenant.admin, params={"user": "idp-nobody"}), 404, "USER_NOT_FOUND"
    )
    assert_fail(await client.get("/v1/orders", headers=tenant.pos), 403, "FORBIDDEN")


async def test_the_idempotency_key_header_works_on_orders_too(client, tenant: TenantKit):
    headers = {**tenant.pos, "Idempotency-Key": f"till-3-{uuid.uuid4().hex}"}
    body = order_body()
    first = await client.post("/v1/orders", headers=headers, json=body)
    second = await client.post("/v1/orders", headers=headers, json=body)
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.content == first.content
