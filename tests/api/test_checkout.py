"""The till's moment of truth: basket pricing and the atomic checkout, end to end over the API."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from loyalty.storage import tables
from tests.api.test_orders import member_order
from tests.api.test_vouchers import add_discount, create_reward, member_with_points, purchase, redeem
from tests.conftest import TenantKit


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


async def earn_one_point_per_pound(client: httpx.AsyncClient, kit: TenantKit) -> None:
    reactor = {
        "name": "Core earn",
        "eventType": "ORDER_PLACED",
        "reactions": [
            {
                "type": "POINTS",
                "points": {
                    "operation": "PRODUCT",
                    "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.totalSpend"}, {"type": "NUMBER", "value": "1"}],
                    "roundingDirection": "DOWN",
                },
            }
        ],
    }
    ok(await client.post("/v1/event_reactors", headers=kit.admin, json=reactor))


async def voucher_code(client: httpx.AsyncClient, kit: TenantKit, member: dict, amount_off: int) -> str:
    reward = await create_reward(client, kit.admin, name=f"{amount_off}p off", price=0)
    await add_discount(client, kit.admin, reward["id"], type="ABSOLUTE", value=amount_off)
    benefit = ok(await purchase(client, kit, reward["id"], member["id"]))
    return str(ok(await redeem(client, kit, benefit["id"]))["code"]["value"])


def basket(member: dict | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "currency": "GBP",
        "lineItems": [
            {"sku": "LATTE-M", "category": "HOT-DRINKS", "quantity": 2, "unitPrice": 350},
            {"sku": "CROISSANT", "category": "BAKERY", "quantity": 1, "unitPrice": 300},
        ],
    }
    if member is not None:
        body["user"] = member["accountNumber"]
    body.update(extra)
    return body


async def test_the_whole_pos_guide_in_one_sale(client, tenant: TenantKit):
    await earn_one_point_per_pound(client, tenant)
    offer = ok(
        await client.post(
            "/v1/rewards",
            headers=tenant.admin,
            json={"type": "GENERIC_OFFER", "name": "10% off hot drinks", "price": 0, "purchasable": False},
        )
    )
    await add_discount(client, tenant.admin, offer["id"], type="PERCENTAGE", value=10, productSku="HOT-DRINKS")
    member = await member_with_points(client, tenant, 1000)
    code = await voucher_code(client, tenant, member, 100)

    # 1. Identify the member by the account number on their card.
    found = ok(await client.get(f"/v1/users/{member['accountNumber']}", headers=tenant.pos))
    assert found["id"] == member["id"]
    # 2. The offers to apply.
    offers = ok(
        await client.get(
            "/v1/rewards",
            headers={**tenant.pos, "X-User-Id": member["accountNumber"]},
            params={"type": "GENERIC_OFFER"},
        )
    )
    assert [(o["name"], [d["value"] for d in o["discounts"]]) for o in offers] == [("10% off hot drinks", [10])]
    # 3. Price the basket: the offer (10% of 700 = 70 on the lattes), the voucher (100 over the rest), 200 points.
    body = basket(member, voucherCodes=[code], pointsToSpend=200)
    priced = ok(await client.post("/v1/baskets/price", headers=tenant.pos, json=body))
    assert priced["totals"] == {"subtotal": 1000, "discount": 370, "total": 630}
    assert [(d["source"], d["amount"]) for d in priced["appliedDiscounts"]] == [
        ("OFFER", 70),
        ("VOUCHER", 100),
        ("POINTS", 200),
    ]
    assert (priced["pointsSpent"], priced["pointsValue"]) == (200, 200)
    assert priced["estimatedPointsEarned"] == 6
    assert sum(line["discount"] for line in priced["lineItems"]) == 370
    assert ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos))["points"] == 1000

    # 4. Check out.
    receipt = ok(await client.post("/v1/checkouts", headers=tenant.pos, json={**body, "externalId": "T1-0001"}))
    assert receipt["totals"]["total"] == 630
    assert (receipt["pointsSpent"], receipt["pointsValue"], receipt["pointsEarned"]) == (200, 200, 6)
    assert receipt["balance"] == 1000 - 200 + 6
    assert [line["total"] for line in receipt["lineItems"]] == [line["total"] for line in priced["lineItems"]]

    # 5. The wallet and the stored order agree.
    wallet = ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos))
    assert wallet["points"] == 806
    assert wallet["vouchers"] == []  # the voucher is burned
    order = ok(await client.get("/v1/orders/T1-0001", headers=tenant.pos))
    assert (order["totals"]["total"], order["pointsSpent"], order["pointsEarned"]) == (630, 200, 6)
    burned = await client.post("/v1/commands/validate_voucher", headers=tenant.pos, json={"code": code})
    assert burned.json()["data"]["code"] == "VOUCHER_ALREADY_BURNED"


async def test_pricing_writes_nothing(client, db, tenant: TenantKit):
    await earn_one_point_per_pound(client, tenant)
    member = await member_with_points(client, tenant, 500)
    code = await voucher_code(client, tenant, member, 50)

    async def snapshot(tx: Any) -> dict[str, int]:
        counts = {}
        for table in tables.metadata.sorted_tables:
            if "tenant_id" in table.c:
                counts[table.name] = (
                    await tx.execute(
                        select(func.count()).select_from(table).where(table.c.tenant_id == uuid.UUID(tenant.tenant_id))
                    )
                ).scalar_one()
        return counts

    before = await db.run(snapshot, write=False)
    priced = ok(
        await client.post(
            "/v1/baskets/price", headers=tenant.pos, json=basket(member, voucherCodes=[code], pointsToSpend=100)
        )
    )
    assert priced["estimatedPointsEarned"] > 0
    assert await db.run(snapshot, write=False) == before


async def test_rejected_vouchers_are_listed_with_the_validation_codes(client, tenant: TenantKit):
    member = await member_with_points(client, tenant, 0)
    stranger = await member_with_points(client, tenant, 0)
    theirs = await voucher_code(client, tenant, stranger, 50)
    priced = ok(
        await client.post("/v1/baskets/price", headers=tenant.pos, json=basket(member, voucherCodes=["NOPE-1", theirs]))
    )
    assert [(r["code"], r["reason"]) for r in priced["rejected"]] == [
        ("NOPE-1", "VOUCHER_NOT_FOUND"),
        (theirs, "VOUCHER_OWNER_MISMATCH"),
    ]
    assert priced["totals"]["discount"] == 0


async def test_spending_more_points_than_the_member_has_is_refused(client, tenant: TenantKit):
    member = await member_with_points(client, tenant, 100)
    answer = await client.post("/v1/baskets/price", headers=tenant.pos, json=basket(member, pointsToSpend=101))
    assert answer.status_code == 422
    assert answer.json()["data"]["code"] == "INSUFFICIENT_POINTS"


@pytest.mark.concurrency
async def test_two_tills_with_one_voucher_one_wins_and_the_other_writes_nothing(client, tenant: TenantKit):
    await earn_one_point_per_pound(client, tenant)
    member = await member_with_points(client, tenant, 1000)
    code = await voucher_code(client, tenant, member, 100)
    bodies = [{**basket(member, voucherCodes=[code], pointsToSpend=100), "externalId": f"TILL{i}-1"} for i in (1, 2)]
    answers = await asyncio.gather(*(client.post("/v1/checkouts", headers=tenant.pos, json=b) for b in bodies))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["data"]["code"] == "VOUCHER_ALREADY_BURNED"
    winner = next(a for a in answers if a.status_code == 200).json()["data"]
    orders = ok(await client.get("/v1/orders", headers=tenant.admin, params={"user": member["id"]}))
    assert [o["externalId"] for o in orders] == [winner["externalId"]]
    wallet = ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos))
    assert wallet["points"] == 1000 - 100 + winner["pointsEarned"]


@pytest.mark.concurrency
async def test_ten_checkouts_spending_100_of_300_points_let_exactly_three_through(client, tenant: TenantKit):
    member = await member_with_points(client, tenant, 300)
    bodies = [{**basket(member, pointsToSpend=100), "externalId": f"SPEND-{i}"} for i in range(10)]
    answers = await asyncio.gather(*(client.post("/v1/checkouts", headers=tenant.pos, json=b) for b in bodies))
    assert [a.status_code for a in answers].count(200) == 3
    assert {a.json()["data"]["code"] for a in answers if a.status_code != 200} == {"INSUFFICIENT_POINTS"}
    assert ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos))["points"] == 0
    orders = ok(await client.get("/v1/orders", headers=tenant.admin, params={"user": member["id"]}))
    assert len(orders) == 3


async def test_a_checkout_retried_with_its_external_id_is_replayed_and_a_different_one_conflicts(
    client, tenant: TenantKit
):
    await earn_one_point_per_pound(client, tenant)
    member = await member_with_points(client, tenant, 500)
    code = await voucher_code(client, tenant, member, 100)
    body = {**basket(member, voucherCodes=[code], pointsToSpend=50), "externalId": "R-1"}
    first = ok(await client.post("/v1/checkouts", headers=tenant.pos, json=body))
    again = ok(await client.post("/v1/checkouts", headers=tenant.pos, json=body))
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["id"] == first["id"]
    assert again["balance"] == first["balance"] == 500 - 50 + first["pointsEarned"]
    other = await client.post("/v1/checkouts", headers=tenant.pos, json={**body, "pointsToSpend": 10})
    assert other.status_code == 409
    assert other.json()["data"]["code"] == "ORDER_CONFLICT"


async def test_a_void_undoes_the_checkout_exactly(client, tenant: TenantKit):
    await earn_one_point_per_pound(client, tenant)
    member = await member_with_points(client, tenant, 500)
    code = await voucher_code(client, tenant, member, 100)
    body = {**basket(member, voucherCodes=[code], pointsToSpend=200), "externalId": "V-1"}
    receipt = ok(await client.post("/v1/checkouts", headers=tenant.pos, json=body))
    assert receipt["balance"] == 500 - 200 + receipt["pointsEarned"]
    assert ok(await client.get("/v1/orders/V-1", headers=tenant.pos))["voidedAt"] is None
    voided = ok(await client.post("/v1/checkouts/V-1/void", headers=tenant.pos))
    assert voided["status"] == "REFUNDED"
    assert voided["voidedAt"] is not None
    # The order says so too, to whoever reads it later.
    assert ok(await client.get("/v1/orders/V-1", headers=tenant.pos))["voidedAt"] == voided["voidedAt"]
    wallet = ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos))
    assert wallet["points"] == 500
    assert wallet["lifetimeEarn"] == 500
    assert [v["code"]["value"] for v in wallet["vouchers"]] == [code]
    again = await client.post("/v1/checkouts/V-1/void", headers=tenant.pos)
    assert again.status_code == 409
    assert again.json()["data"]["code"] == "ALREADY_VOIDED"
    # The voucher is usable again.
    assert (
        await client.post(
            "/v1/commands/validate_voucher", headers=tenant.pos, json={"code": code, "allowFutureValidation": True}
        )
    ).status_code == 200


async def test_an_anonymous_checkout_takes_offers_for_everyone_and_earns_nothing(client, tenant: TenantKit):
    offer = ok(
        await client.post(
            "/v1/rewards",
            headers=tenant.admin,
            json={"type": "GENERIC_OFFER", "name": "50p off", "price": 0, "purchasable": False},
        )
    )
    await add_discount(client, tenant.admin, offer["id"], type="ABSOLUTE", value=50)
    receipt = ok(await client.post("/v1/checkouts", headers=tenant.pos, json={**basket(None), "externalId": "A-1"}))
    assert (receipt["totals"]["total"], receipt["pointsEarned"], receipt["balance"], receipt["user"]) == (
        950,
        0,
        None,
        None,
    )


async def test_a_voucher_typed_with_spaces_at_an_anonymous_checkout_is_burned_for_its_owner(client, tenant: TenantKit):
    member = await member_with_points(client, tenant, 0)
    code = await voucher_code(client, tenant, member, 100)

    sale = {**basket(None, voucherCodes=[f"  {code} "]), "externalId": "ANON-VOUCHER-1"}
    receipt = ok(await client.post("/v1/checkouts", headers=tenant.pos, json=sale))

    assert receipt["totals"]["total"] == 1000 - 100
    assert [d["code"] for d in receipt["appliedDiscounts"] if d["source"] == "VOUCHER"] == [code]
    wallet = ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos))
    assert code not in {v["code"]["value"] for v in wallet["vouchers"]}
    burns = ok(
        await client.get("/v1/events", headers=tenant.admin, params={"type": "BURNED_VOUCHER", "user": member["id"]})
    )
    assert len(burns) == 1


@pytest.mark.parametrize("restore", [True, False])
async def test_a_full_refund_restores_the_vouchers_only_when_the_setting_says_so(client, tenant: TenantKit, restore):
    ok(await client.patch("/v1/settings", headers=tenant.admin, json={"restoreVouchersOnRefund": restore}))
    member = await member_with_points(client, tenant, 0)
    code = await voucher_code(client, tenant, member, 100)
    receipt = ok(
        await client.post(
            "/v1/checkouts", headers=tenant.pos, json={**basket(member, voucherCodes=[code]), "externalId": "RF-1"}
        )
    )
    partial = await client.post(
        f"/v1/orders/{receipt['id']}/refunds",
        headers=tenant.pos,
        json={"externalId": "RF-1-a", "lineItems": [{"sku": "CROISSANT", "quantity": 1}]},
    )
    assert partial.status_code == 200, partial.text
    check = {"code": code, "allowFutureValidation": True}
    still_burned = await client.post("/v1/commands/validate_voucher", headers=tenant.pos, json=check)
    assert still_burned.json()["data"]["code"] == "VOUCHER_ALREADY_BURNED"  # a partial refund keeps it used
    full = await client.post(f"/v1/orders/{receipt['id']}/refunds", headers=tenant.pos, json={"externalId": "RF-1-b"})
    assert full.status_code == 200, full.text
    after = await client.post("/v1/commands/validate_voucher", headers=tenant.pos, json=check)
    if restore:
        assert after.status_code == 200, after.text
    else:
        assert after.json()["data"]["code"] == "VOUCHER_ALREADY_BURNED"


async def test_a_void_or_refund_gives_back_only_the_burn_of_its_own_sale(client, tenant: TenantKit):
    """Sale A uses the voucher; A's full refund gives it back; sale B uses it again. Voiding A must leave it burned
    (it is B's now); voiding B gives it back."""
    ok(await client.patch("/v1/settings", headers=tenant.admin, json={"restoreVouchersOnRefund": True}))
    member = await member_with_points(client, tenant, 0)
    code = await voucher_code(client, tenant, member, 100)
    check = {"code": code, "allowFutureValidation": True}

    async def voucher_state() -> str:
        answer = await client.post("/v1/commands/validate_voucher", headers=tenant.pos, json=check)
        return "usable" if answer.status_code == 200 else str(answer.json()["data"]["code"])

    sale_a = ok(
        await client.post(
            "/v1/checkouts", headers=tenant.pos, json={**basket(member, voucherCodes=[code]), "externalId": "OWN-A"}
        )
    )
    ok(await client.post(f"/v1/orders/{sale_a['id']}/refunds", headers=tenant.pos, json={"externalId": "OWN-A-r"}))
    assert await voucher_state() == "usable"
    ok(
        await client.post(
            "/v1/checkouts", headers=tenant.pos, json={**basket(member, voucherCodes=[code]), "externalId": "OWN-B"}
        )
    )
    assert await voucher_state() == "VOUCHER_ALREADY_BURNED"

    ok(await client.post("/v1/checkouts/OWN-A/void", headers=tenant.pos))
    assert await voucher_state() == "VOUCHER_ALREADY_BURNED"  # B's burn is left alone
    ok(await client.post("/v1/checkouts/OWN-B/void", headers=tenant.pos))
    assert await voucher_state() == "usable"


async def test_an_order_claims_the_burn_of_a_voucher_it_reports(client, tenant: TenantKit, db):
    """A till burns a voucher (validate_voucher) and reports the sale with the voucher among its appliedDiscounts:
    the burn is the order's, so the order's full refund gives it back and another order's refund does not."""
    ok(await client.patch("/v1/settings", headers=tenant.admin, json={"restoreVouchersOnRefund": True}))
    member = await member_with_points(client, tenant, 0)
    code = await voucher_code(client, tenant, member, 100)
    burned = ok(await client.post("/v1/commands/validate_voucher", headers=tenant.pos, json={"code": code}))

    def order(external_id: str) -> dict[str, Any]:
        applied = [{"source": "VOUCHER", "benefitId": burned["id"], "code": code, "amount": 100}]
        return {**member_order(member, appliedDiscounts=applied), "externalId": external_id}

    first = ok(await client.post("/v1/orders", headers=tenant.pos, json=order("CLAIM-1")))
    second = ok(await client.post("/v1/orders", headers=tenant.pos, json=order("CLAIM-2")))

    async def burn_order() -> uuid.UUID | None:
        async def work(tx: Any) -> uuid.UUID | None:
            query = select(tables.benefits.c.burn_order_id).where(
                tables.benefits.c.benefit_id == uuid.UUID(burned["id"])
            )
            return (await tx.execute(query)).scalar_one()

        return await db.run(work, write=False)

    assert await burn_order() == uuid.UUID(first["id"])  # the first order to report it claims it
    ok(await client.post(f"/v1/orders/{second['id']}/refunds", headers=tenant.pos, json={"externalId": "CLAIM-2-r"}))
    assert await burn_order() == uuid.UUID(first["id"])  # not the second order's to give back
    ok(await client.post(f"/v1/orders/{first['id']}/refunds", headers=tenant.pos, json={"externalId": "CLAIM-1-r"}))
    assert await burn_order() is None
    assert (
        await client.post(
            "/v1/commands/validate_voucher", headers=tenant.pos, json={"code": code, "allowFutureValidation": True}
        )
    ).status_code == 200


async def test_a_static_code_prices_and_checks_out_without_being_used_up(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, codeType="STATIC", code={"value": "SPRING20"}, price=0)
    await add_discount(client, tenant.admin, reward["id"], type="PERCENTAGE", value=20)
    body = basket(None, voucherCodes=["SPRING20"])
    priced = ok(await client.post("/v1/baskets/price", headers=tenant.pos, json=body))
    assert [(d["source"], d["code"], d["amount"]) for d in priced["appliedDiscounts"]] == [("VOUCHER", "SPRING20", 200)]
    for external_id in ("S-1", "S-2"):
        receipt = ok(await client.post("/v1/checkouts", headers=tenant.pos, json={**body, "externalId": external_id}))
        assert receipt["totals"]["total"] == 800
