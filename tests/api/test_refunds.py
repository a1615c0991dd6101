"""Refunds (contract §5.2): valued from the order's own lines, points reversed in proportion with a cumulative
allocation, spent points given back, idempotent on the refund's externalId, never more than remains."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest

from loyalty.domain.orders import MemberField, MemberReference, OrderDraft, OrderLine, OrderTotals
from loyalty.services import orders as order_service
from loyalty.services import points as point_service
from loyalty.storage.database import Database
from tests.api.test_orders import (
    assert_fail,
    core_earn,
    ledger,
    line,
    member_order,
    ok,
    order_body,
    place,
    released_together,
    wallet,
)
from tests.conftest import TenantKit, adjust, create_member, make_tenant


async def refund(
    client: httpx.AsyncClient, headers: dict[str, str], order: str, external_id: str | None = None, **body: Any
) -> httpx.Response:
    document = {"externalId": external_id or f"REF-{uuid.uuid4().hex[:10]}", **body}
    return await client.post(f"/v1/orders/{order}/refunds", headers=headers, json=document)


def items(*pairs: tuple[str, Any]) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": quantity} for sku, quantity in pairs]


async def placed_for(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any], lines: Any) -> Any:
    """A member order of ``lines`` (totals computed), placed by the till."""
    return ok(await place(client, tenant.pos, member_order(member, lineItems=lines, totals=_totals(lines))))


def _totals(lines: list[dict[str, Any]]) -> dict[str, int]:
    discount = sum(i.get("discount", 0) for i in lines)
    total = sum(i["total"] for i in lines)
    return {"subtotal": total + discount, "discount": discount, "tax": 0, "total": total}


async def ledger_mismatches(db: Database, tenant: TenantKit) -> list[Any]:
    async def work(tx: Any) -> list[Any]:
        found: list[Any] = []
        async for _, mismatches in point_service.verify_ledger(tx):
            found.extend(m for m in mismatches if str(m.tenant_id) == tenant.tenant_id)
        return found

    return await db.run(work, write=False)


# ---- value and points ----


async def test_a_partial_refund_reverses_its_share_of_the_earn(client, db, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    # £12.50 → 12 points. The latte line: 2 × 350 − 100 = 600.
    order = await placed_for(client, tenant, member, [line("LATTE-M", 2, 350, discount=100), line("CAKE", 1, 750)])
    assert order["pointsEarned"] == 13

    data = ok(await refund(client, tenant.pos, order["id"], "REF-1", lineItems=items(("LATTE-M", 1)), reason="cold"))

    # Half the latte line: 300 of 1350 → floor(13 × 300 / 1350) = 2 points.
    assert data["externalId"] == "REF-1"
    assert data["orderId"] == order["id"]
    assert data["orderExternalId"] == order["externalId"]
    assert data["orderStatus"] == "PARTIALLY_REFUNDED"
    assert data["value"] == 300
    assert data["currency"] == "GBP"
    assert data["reason"] == "cold"
    assert data["lineItems"] == [{"lineIndex": 0, "sku": "LATTE-M", "quantity": 1, "value": 300}]
    assert (data["pointsReversed"], data["pointsReturned"]) == (2, 0)
    assert data["replayed"] is False
    entries = await ledger(client, tenant, member)
    assert [(e["delta"], e["kind"], e["impactType"], e["source"]) for e in entries] == [
        (-2, "REVERSAL", "EARN", {"type": "REFUND", "id": data["id"]}),
        (13, "EARN", "EARN", {"type": "EVENT", "id": order["event"]["id"]}),
    ]
    account = await wallet(client, tenant, member)
    assert (account["points"], account["lifetimeEarn"]) == (11, 11)
    read = ok(await client.get(f"/v1/orders/{order['id']}", headers=tenant.pos))
    assert read["status"] == "PARTIALLY_REFUNDED"
    assert (read["refundedValue"], read["pointsReversed"]) == (300, 2)
    assert [i["refundedQuantity"] for i in read["lineItems"]] == [1, 0]
    assert [(r["id"], r["externalId"], r["value"], r["pointsReversed"]) for r in read["refunds"]] == [
        (data["id"], "REF-1", 300, 2)
    ]


async def test_order_refunded_is_emitted_for_reactors(client, tenant: TenantKit):
    await core_earn(client, tenant)
    body = {
        "name": "Refund webhook stand-in",
        "eventType": "ORDER_REFUNDED",
        "reactions": [{"type": "ATTRIBUTE", "attributes": [{"isEnabled": True, "key": "refunded", "value": "yes"}]}],
    }
    ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=body))
    member = await create_member(client, tenant.admin)
    order = await placed_for(client, tenant, member, [line("LUNCH", 1, 1250)])

    data = ok(await refund(client, tenant.pos, order["externalId"], "REF-ALL"))

    assert data["event"]["reactions"][0]["status"] == "APPLIED"
    event = ok(await client.get(f"/v1/events/{data['event']['id']}", headers=tenant.admin))
    assert event["type"] == "ORDER_REFUNDED"
    assert event["subject"] == member["id"]
    payload = event["payload"]
    assert payload["orderId"] == order["id"]
    assert payload["refundId"] == data["id"]
    assert (payload["refundedValue"], payload["refundedValueMinor"], payload["pointsReversed"]) == (12.5, 1250, 12)
    assert payload["orderStatus"] == "REFUNDED"
    user = ok(await client.get(f"/v1/users/{member['id']}", headers=tenant.admin))
    assert user["profile"]["attributes"] == {"refunded": "yes"}


async def test_one_third_three_times_reverses_exactly_what_was_earned(client, db, tenant: TenantKit):
    """The golden case: an order that earned 10 points, refunded a third at a time, reverses 3 + 3 + 4 = 10."""
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    order = await placed_for(client, tenant, member, [line("MUG", 3, 334, discount=2)])
    assert (order["totals"]["total"], order["pointsEarned"]) == (1000, 10)

    answers = [ok(await refund(client, tenant.pos, order["id"], lineItems=items(("MUG", 1)))) for _ in range(3)]

    assert [a["value"] for a in answers] == [333, 333, 334]
    assert [a["pointsReversed"] for a in answers] == [3, 3, 4]
    assert [a["orderStatus"] for a in answers] == ["PARTIALLY_REFUNDED", "PARTIALLY_REFUNDED", "REFUNDED"]
    account = await wallet(client, tenant, member)
    assert (account["points"], account["lifetimeEarn"]) == (0, 0)
    read = ok(await client.get(f"/v1/orders/{order['id']}", headers=tenant.admin))
    assert (read["status"], read["refundedValue"], read["pointsReversed"]) == ("REFUNDED", 1000, 10)
    assert await ledger_mismatches(db, tenant) == []


async def test_a_weighed_line_refunded_in_parts_never_exceeds_its_total(client, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    # 1.5 kg at 667p/kg = 1000.5 → 1001p.
    order = await placed_for(client, tenant, member, [line("CHEESE", 1.5, 667)])
    assert (order["lineItems"][0]["total"], order["pointsEarned"]) == (1001, 10)

    answers = [ok(await refund(client, tenant.pos, order["id"], lineItems=items(("CHEESE", 0.5)))) for _ in range(3)]

    assert [a["value"] for a in answers] == [333, 334, 334]
    assert sum(a["value"] for a in answers) == 1001
    assert sum(a["pointsReversed"] for a in answers) == 10
    assert answers[-1]["orderStatus"] == "REFUNDED"


async def test_a_full_refund_takes_everything_that_remains(client, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    order = await placed_for(client, tenant, member, [line("LATTE-M", 2, 350, discount=100), line("CAKE", 1, 750)])
    ok(await refund(client, tenant.pos, order["id"], lineItems=items(("CAKE", 1))))

    data = ok(await refund(client, tenant.pos, order["id"]))

    assert data["value"] == 600
    assert data["lineItems"] == [{"lineIndex": 0, "sku": "LATTE-M", "quantity": 2, "value": 600}]
    assert data["orderStatus"] == "REFUNDED"
    account = await wallet(client, tenant, member)
    assert (account["points"], account["lifetimeEarn"]) == (0, 0)
    # Nothing is left: another full refund is refused.
    failed = assert_fail(await refund(client, tenant.pos, order["id"]), 422, "REFUND_EXCEEDS_ORDER")
    assert failed["remaining"] == 0


async def test_a_refund_after_the_points_were_spent_leaves_a_visible_debt(client, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    order = await placed_for(client, tenant, member, [line("LUNCH", 1, 1250)])
    assert order["pointsEarned"] == 12
    ok(await adjust(client, tenant.admin, member["id"], -12, liabilityHandlingPolicy="REJECT_EVENT"))

    data = ok(await refund(client, tenant.pos, order["id"]))

    assert data["pointsReversed"] == 12
    account = await wallet(client, tenant, member)
    assert account["points"] == -12
    assert account["lifetimeEarn"] == 0
    assert (await ledger(client, tenant, member))[0]["balanceAfter"] == -12


async def test_a_non_member_order_is_refunded_without_points_or_event(client, tenant: TenantKit):
    await core_earn(client, tenant)
    order = ok(await place(client, tenant.pos, order_body()))

    data = ok(await refund(client, tenant.pos, order["id"], lineItems=items(("CROISSANT", 2))))

    assert (data["value"], data["pointsReversed"], data["pointsReturned"]) == (500, 0, 0)
    assert data["event"] is None
    assert data["orderStatus"] == "PARTIALLY_REFUNDED"


async def test_an_order_with_no_total_refunds_without_reversal(client, tenant: TenantKit):
    flat = {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "50"}]}
    await core_earn(client, tenant, flat)
    member = await create_member(client, tenant.admin)
    order = await placed_for(client, tenant, member, [line("FREE-REFILL", 1, 200, discount=200)])
    assert (order["totals"]["total"], order["pointsEarned"]) == (0, 50)

    data = ok(await refund(client, tenant.pos, order["id"]))

    assert (data["value"], data["pointsReversed"], data["orderStatus"]) == (0, 0, "REFUNDED")
    assert (await wallet(client, tenant, member))["points"] == 50


async def test_points_spent_on_a_checkout_come_back_in_the_same_proportion(client, db, tenant: TenantKit):
    """An order placed by a checkout that took 200 points: refunding half of it gives 100 back (impact NONE)."""
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    ok(await adjust(client, tenant.admin, member["id"], 200))
    ok(await adjust(client, tenant.admin, member["id"], -200))
    draft = OrderDraft(
        external_id=f"CHECKOUT-{uuid.uuid4().hex[:8]}",
        currency="GBP",
        submitter=MemberReference(MemberField.ID, member["id"]),
        lines=(OrderLine(sku="BOOK", quantity=Decimal(2), unit_price=600, discount=200, total=1000),),
        totals=OrderTotals(subtotal=1200, discount=200, total=1000),
        points_spent=200,
        points_spent_value=200,
        checkout=True,
    )
    placed = await db.run(lambda tx: order_service.place_order(tx, uuid.UUID(tenant.tenant_id), draft, actor="test"))
    assert (placed.points_earned, placed.order.points_spent, placed.replayed) == (10, 200, False)

    half = ok(await refund(client, tenant.pos, placed.order.external_id, lineItems=items(("BOOK", 1))))
    rest = ok(await refund(client, tenant.pos, placed.order.external_id))

    assert [(r["value"], r["pointsReversed"], r["pointsReturned"]) for r in (half, rest)] == [
        (500, 5, 100),
        (500, 5, 100),
    ]
    returned = [e for e in await ledger(client, tenant, member) if e["kind"] == "REVERSAL" and e["delta"] > 0]
    assert [(e["delta"], e["impactType"], e["source"]["type"]) for e in returned] == [
        (100, "NONE", "REFUND"),
        (100, "NONE", "REFUND"),
    ]
    account = await wallet(client, tenant, member)
    assert (account["points"], account["lifetimeEarn"]) == (200, 200)
    assert await ledger_mismatches(db, tenant) == []


# ---- refusals ----


async def test_refunding_more_than_remains_is_422_and_changes_nothing(client, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    order = await placed_for(client, tenant, member, [line("LATTE-M", 2, 350), line("CAKE", 1, 750)])
    ok(await refund(client, tenant.pos, order["id"], lineItems=items(("LATTE-M", 1))))

    data = assert_fail(
        await refund(client, tenant.pos, order["id"], lineItems=items(("CAKE", 1), ("LATTE-M", 1.5))),
        422,
        "REFUND_EXCEEDS_ORDER",
    )

    assert (data["field"], data["sku"], data["remaining"], data["requested"]) == (
        "lineItems[1].quantity",
        "LATTE-M",
        1,
        1.5,
    )
    read = ok(await client.get(f"/v1/orders/{order['id']}", headers=tenant.pos))
    assert [i["refundedQuantity"] for i in read["lineItems"]] == [1, 0]
    assert len(read["refunds"]) == 1
    assert (await wallet(client, tenant, member))["points"] == 14 - 3


async def test_an_unknown_sku_is_400(client, tenant: TenantKit):
    order = ok(await place(client, tenant.pos, order_body()))
    data = assert_fail(
        await refund(client, tenant.pos, order["id"], lineItems=items(("CROISSANT", 1), ("BAGEL", 1))),
        400,
        "SKU_NOT_IN_ORDER",
    )
    assert data["field"] == "lineItems[1].sku"
    assert ok(await client.get(f"/v1/orders/{order['id']}", headers=tenant.pos))["refunds"] == []


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        (items(("CROISSANT", -1)), "lineItems.0.quantity"),
        (items(("CROISSANT", 0)), "lineItems.0.quantity"),
        (items(("CROISSANT", 0.0001)), "lineItems.0.quantity"),
        ([], "lineItems"),
        ([{"sku": "CROISSANT"}], "lineItems.0.quantity"),
    ],
)
async def test_malformed_refund_lines_are_400(client, tenant: TenantKit, lines: Any, field: str):
    order = ok(await place(client, tenant.pos, order_body()))
    data = assert_fail(await refund(client, tenant.pos, order["id"], lineItems=lines), 400, "VALIDATION_ERROR")
    assert field in [e["field"] for e in data["errors"]]


async def test_a_refund_of_an_unknown_or_foreign_order_is_404(client, db, tenant: TenantKit):
    other = await make_tenant(client, db, "other shop")
    theirs = ok(await place(client, other.pos, order_body()))
    for identifier in (str(uuid.uuid4()), "NO-SUCH-SALE", theirs["id"], theirs["externalId"]):
        assert_fail(await refund(client, tenant.pos, identifier), 404, "ORDER_NOT_FOUND")
    assert ok(await client.get(f"/v1/orders/{theirs['id']}", headers=other.pos))["status"] == "PLACED"


# ---- idempotency ----


async def test_a_retried_refund_is_replayed_and_reverses_nothing_twice(client, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    order = await placed_for(client, tenant, member, [line("LUNCH", 1, 1250)])
    first = ok(await refund(client, tenant.pos, order["id"], "REF-9"))

    again = ok(await refund(client, tenant.admin, order["externalId"], "REF-9"))

    assert again["replayed"] is True
    assert {k: v for k, v in again.items() if k != "replayed"} == {k: v for k, v in first.items() if k != "replayed"}
    assert (await wallet(client, tenant, member))["points"] == 0
    assert len(await ledger(client, tenant, member)) == 2
    # Another body under the same externalId is a conflict; the same externalId on another order is a new refund.
    conflict = assert_fail(
        await refund(client, tenant.pos, order["id"], "REF-9", reason="changed my mind"), 409, "REFUND_CONFLICT"
    )
    assert conflict["refundId"] == first["id"]
    other = ok(await place(client, tenant.pos, order_body()))
    assert ok(await refund(client, tenant.pos, other["id"], "REF-9"))["replayed"] is False


@pytest.mark.concurrency
async def test_ten_concurrent_refunds_of_one_unit_against_five_take_exactly_five(client, db, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    order = await placed_for(client, tenant, member, [line("MUG", 5, 333)])
    assert order["pointsEarned"] == 16

    answers = await released_together(10, lambda: refund(client, tenant.pos, order["id"], lineItems=items(("MUG", 1))))

    assert Counter(a.status_code for a in answers) == {200: 5, 422: 5}, [a.text for a in answers]
    done = [a.json()["data"] for a in answers if a.status_code == 200]
    assert sum(d["value"] for d in done) == 1665
    assert sum(d["pointsReversed"] for d in done) == 16
    assert Counter(d["orderStatus"] for d in done) == {"PARTIALLY_REFUNDED": 4, "REFUNDED": 1}
    account = await wallet(client, tenant, member)
    assert (account["points"], account["lifetimeEarn"]) == (0, 0)
    assert await ledger_mismatches(db, tenant) == []


@pytest.mark.concurrency
async def test_concurrent_retries_of_one_refund_record_it_once(client, db, tenant: TenantKit):
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)
    order = await placed_for(client, tenant, member, [line("MUG", 5, 333)])

    answers = await released_together(
        10, lambda: refund(client, tenant.pos, order["id"], "REF-SAME", lineItems=items(("MUG", 2)))
    )

    assert Counter(a.status_code for a in answers) == {200: 10}, [a.text for a in answers]
    datas = [a.json()["data"] for a in answers]
    assert Counter(d["replayed"] for d in datas) == {False: 1, True: 9}
    assert {(d["id"], d["value"], d["pointsReversed"]) for d in datas} == {(datas[0]["id"], 666, 6)}
    assert (await wallet(client, tenant, member))["points"] == 10
    assert await ledger_mismatches(db, tenant) == []
