"""Earn, spend and balance caps on the ledger: an earn over a cap is cut and the excess recorded, a spend over a
cap is refused, and concurrent changes can never pass a cap together."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine

from loyalty.services import points as point_service
from tests.conftest import TenantKit, adjust, create_member, get_token


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


async def criterion(client: httpx.AsyncClient, kit: TenantKit, type_: str, liability: str, config: dict) -> None:
    body = {"name": type_, "type": type_, "liabilityType": liability, "config": config}
    answer = await client.post("/v1/points_liability_criteria", headers=kit.admin, json=body)
    assert answer.status_code == 200, answer.text


async def weekly_earn_cap(client: httpx.AsyncClient, kit: TenantKit, maximum: int) -> None:
    config = {"intervalType": "CALENDAR_WEEK", "arg": {"startOfWeek": "MON"}, "maximumPoints": maximum}
    await criterion(client, kit, "MAXIMUM_POINTS_EARN_CAP", "EARNING_CAP", config)


async def balance(client: httpx.AsyncClient, kit: TenantKit, member: dict) -> int:
    return int(ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=kit.admin))["points"])


async def test_an_earn_over_the_weekly_cap_is_cut_and_the_excess_recorded(client, tenant: TenantKit):
    await weekly_earn_cap(client, tenant, 1000)
    ok(await client.post("/v1/event_types", headers=tenant.admin, json={"name": "VISITED_SHOP", "description": "x"}))
    reactor = {
        "name": "Visit bonus",
        "eventType": "VISITED_SHOP",
        "reactions": [
            {"type": "POINTS", "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "200"}]}}
        ],
    }
    ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor))
    member = await create_member(client, tenant.admin)
    ok(await adjust(client, tenant.admin, member["id"], 900))

    event = ok(
        await client.post("/v1/events", headers=tenant.pos, json={"type": "VISITED_SHOP", "subject": member["id"]})
    )
    reaction = event["reactions"][0]
    assert (reaction["status"], reaction["points"], reaction["detail"]) == ("APPLIED", 100, {"forfeited": 100})
    assert await balance(client, tenant, member) == 1000
    entry = ok(await client.get(f"/v1/users/{member['id']}/points", headers=tenant.admin))[0]
    assert (entry["delta"], entry["forfeited"]) == (100, 100)

    # At the cap, the next earn gives nothing — recorded, so the ledger says why.
    again = ok(
        await client.post("/v1/events", headers=tenant.pos, json={"type": "VISITED_SHOP", "subject": member["id"]})
    )
    assert (again["reactions"][0]["points"], again["reactions"][0]["detail"]) == (0, {"forfeited": 200})
    assert await balance(client, tenant, member) == 1000


async def test_an_admin_may_bypass_the_caps(client, tenant: TenantKit):
    await weekly_earn_cap(client, tenant, 100)
    member = await create_member(client, tenant.admin)
    capped = ok(await adjust(client, tenant.admin, member["id"], 150))
    assert (capped["delta"], capped["forfeited"]) == (100, 50)
    bypassed = ok(await adjust(client, tenant.admin, member["id"], 150, bypassCaps=True))
    assert (bypassed["delta"], bypassed["forfeited"]) == (150, 0)
    assert await balance(client, tenant, member) == 250


@pytest.mark.concurrency
async def test_twenty_concurrent_earns_never_pass_the_cap(client, db, tenant: TenantKit):
    await weekly_earn_cap(client, tenant, 1000)
    member = await create_member(client, tenant.admin)
    answers = await asyncio.gather(*(adjust(client, tenant.admin, member["id"], 100) for _ in range(20)))
    entries = [ok(a) for a in answers]
    assert sum(e["delta"] for e in entries) == 1000
    assert sum(e["forfeited"] for e in entries) == 1000
    assert await balance(client, tenant, member) == 1000

    async def verify(tx: Any) -> list:
        found = []
        async for _, mismatches in point_service.verify_ledger(tx):
            found.extend(m for m in mismatches if str(m.tenant_id) == tenant.tenant_id)
        return found

    assert await db.run(verify, write=False) == []


async def test_a_spend_over_the_cap_is_refused_and_writes_nothing(client, tenant: TenantKit):
    config = {"intervalType": "RUNNING_DAYS", "arg": {"n": 1}, "maximumPoints": 100}
    await criterion(client, tenant, "MAXIMUM_POINTS_SPEND_CAP", "SPENDING_CAP", config)
    member = await create_member(client, tenant.admin)
    ok(await adjust(client, tenant.admin, member["id"], 500))
    ok(await adjust(client, tenant.admin, member["id"], -80))
    refused = await adjust(client, tenant.admin, member["id"], -30)
    assert refused.status_code == 422
    assert refused.json()["data"]["code"] == "SPEND_CAP_EXCEEDED"
    assert await balance(client, tenant, member) == 420
    ok(await adjust(client, tenant.admin, member["id"], -20))  # exactly up to the cap


async def test_a_running_window_lets_points_through_again_once_it_has_passed(client, tenant: TenantKit):
    config = {"intervalType": "RUNNING_HOURS", "arg": {"n": 1}, "maximumPoints": 100}
    await criterion(client, tenant, "MAXIMUM_POINTS_EARN_CAP", "EARNING_CAP", config)
    member = await create_member(client, tenant.admin)
    assert ok(await adjust(client, tenant.admin, member["id"], 100))["delta"] == 100
    assert ok(await adjust(client, tenant.admin, member["id"], 100))["delta"] == 0
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2), tick=False):
        token = await get_token(client, tenant.api_key, tenant.admin_client_id, tenant.admin_secret)
        later = {**tenant.anonymous, "Authorization": f"Bearer {token}"}
        assert ok(await adjust(client, later, member["id"], 100))["delta"] == 100


async def test_a_balance_cap_per_member_cuts_what_would_pass_it(client, tenant: TenantKit):
    config = {"maxPointsInCirculation": 500, "liabilityEntity": "ACTOR"}
    await criterion(client, tenant, "MAXIMUM_POINTS_BALANCE_CAP", "EARNING_CAP", config)
    member = await create_member(client, tenant.admin)
    ok(await adjust(client, tenant.admin, member["id"], 450))
    topped = ok(await adjust(client, tenant.admin, member["id"], 100))
    assert (topped["delta"], topped["forfeited"]) == (50, 50)
    assert await balance(client, tenant, member) == 500
