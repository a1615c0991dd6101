"""The payload schemas published for intrinsic event types describe the payloads the engine actually emits."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jsonschema_rs
import time_machine

from tests.api.test_orders import core_earn, member_order
from tests.api.test_points_lifecycle import expiry_criterion, headers_now
from tests.api.test_vouchers import add_discount, create_reward, member_with_points, purchase, redeem
from tests.conftest import TenantKit, adjust, create_member


async def emitted(client, kit: TenantKit) -> dict[str, list[dict]]:
    """Make the engine emit every intrinsic event it emits today, then read them back by type."""
    member = await member_with_points(client, kit, 1000)
    await client.patch(f"/v1/users/{member['id']}", headers=kit.admin, json={"profile": {"givenName": "Ada"}})
    assert (await adjust(client, kit.admin, member["id"], -10)).status_code == 200
    reward = await create_reward(client, kit.admin, price=100)
    await add_discount(client, kit.admin, reward["id"], type="ABSOLUTE", value=100)
    benefit = (await purchase(client, kit, reward["id"], member["id"])).json()["data"]
    code = (await redeem(client, kit, benefit["id"])).json()["data"]["code"]["value"]
    burned = await client.post("/v1/commands/validate_voucher", headers=kit.pos, json={"code": code})
    assert burned.status_code == 200
    given = {"rewardId": reward["id"], "beneficiaryId": member["id"]}
    assert (await client.post("/v1/commands/give_reward", headers=kit.admin, json=given)).status_code == 200
    order = {
        "externalId": "P-1",
        "submitter": {"id": member["id"]},
        "currency": "GBP",
        "lineItems": [{"sku": "LATTE", "quantity": 2, "unitPrice": 350, "total": 700}],
        "totals": {"subtotal": 700, "discount": 0, "total": 700},
    }
    assert (await client.post("/v1/orders", headers=kit.pos, json=order)).status_code == 200
    refund = {"externalId": "R-1"}
    assert (await client.post("/v1/orders/P-1/refunds", headers=kit.pos, json=refund)).status_code == 200
    closing = await create_member(client, kit.admin)
    assert (await client.delete(f"/v1/users/{closing['id']}", headers=kit.admin)).status_code == 200
    listed = (await client.get("/v1/events", headers=kit.admin, params={"limit": 1000})).json()["data"]
    found: dict[str, list[dict]] = {}
    for event in listed:
        found.setdefault(event["type"], []).append(event["payload"])
    return found


async def test_every_emitted_payload_matches_its_published_schema(client, tenant: TenantKit):
    found = await emitted(client, tenant)
    expected = {
        "REGISTERED_ACCOUNT",
        "PROFILE_UPDATED",
        "POINTS_ADJUSTED",
        "PURCHASED_REWARD",
        "REDEEMED_VOUCHER",
        "BURNED_VOUCHER",
        "VOUCHER_GIVEN",
        "ORDER_PLACED",
        "ORDER_REFUNDED",
        "CLOSED_ACCOUNT",
    }
    assert expected <= set(found)
    for name in expected:
        published = (await client.get(f"/v1/event_types/{name}", headers=tenant.admin)).json()["data"]["schema"]
        validator = jsonschema_rs.validator_for(published)
        for payload in found[name]:
            problems = [e.message for e in validator.iter_errors(payload)]
            assert problems == [], (name, payload, problems)


async def test_points_job_payloads_match_their_published_schemas(client, tenant: TenantKit):
    """POINTS_ACTIVATED and POINTS_EXPIRED, from the points jobs: a lot earned two days ago under a one-day expiry,
    and an order's pending points whose hour has passed."""
    await expiry_criterion(client, tenant, "EARN_DATE", "P1D")
    settings = await client.patch("/v1/settings", headers=tenant.admin, json={"pendingPeriod": "PT1H"})
    assert settings.status_code == 200
    member = await create_member(client, tenant.admin)
    with time_machine.travel(datetime.now(UTC) - timedelta(days=2), tick=False):
        admin = await headers_now(client, tenant)
        await core_earn(client, replace(tenant, admin=admin))  # in effect from two days ago
        assert (await adjust(client, admin, member["id"], 40)).status_code == 200
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=2), tick=False):
        placed = await client.post(
            "/v1/orders", headers=await headers_now(client, tenant, pos=True), json=member_order(member)
        )
        assert placed.status_code == 200
    ran = await client.post("/v1/points_liability_criteria/trigger_daily_cron", headers=tenant.admin)
    assert ran.status_code == 200
    assert (ran.json()["data"]["pointsActivated"], ran.json()["data"]["pointsExpired"]) == (13, 40)
    listed = (await client.get("/v1/events", headers=tenant.admin, params={"limit": 1000})).json()["data"]
    for name in ("POINTS_ACTIVATED", "POINTS_EXPIRED"):
        payloads = [event["payload"] for event in listed if event["type"] == name]
        assert len(payloads) == 1
        published = (await client.get(f"/v1/event_types/{name}", headers=tenant.admin)).json()["data"]["schema"]
        validator = jsonschema_rs.validator_for(published)
        assert [e.message for e in validator.iter_errors(payloads[0])] == [], (name, payloads[0])
