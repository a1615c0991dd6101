"""Points liability criteria over HTTP (contract §6): stored and validated (not yet enforced), admin only."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import TenantKit, make_tenant

URL = "/v1/points_liability_criteria"
EXPIRY = {
    "name": "Twelve months",
    "type": "SIMPLE_EXPIRY",
    "liabilityType": "EXPIRY",
    "config": {"expiryBasedOn": "EARN_DATE", "dateModifier": "P12M"},
}
EARN_CAP = {
    "name": "Weekly earn cap",
    "type": "MAXIMUM_POINTS_EARN_CAP",
    "liabilityType": "EARNING_CAP",
    "config": {"intervalType": "CALENDAR_WEEK", "arg": {"startOfWeek": "MON"}, "maximumPoints": 1000},
}
SPEND_CAP = {
    "name": "Rolling spend cap",
    "type": "MAXIMUM_POINTS_SPEND_CAP",
    "liabilityType": "SPENDING_CAP",
    "config": {"intervalType": "RUNNING_DAYS", "arg": {"n": 7}, "maximumPoints": 500},
}
BALANCE_CAP = {
    "name": "Balance cap",
    "type": "MAXIMUM_POINTS_BALANCE_CAP",
    "liabilityType": "EARNING_CAP",
    "config": {"maxPointsInCirculation": 100000, "liabilityEntity": "ACTOR"},
}


def assert_fail(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert document["status"] == "fail", answer.text
    assert document["data"]["code"] == code, answer.text
    return dict(document["data"])


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"
    return answer.json()["data"]


async def create(client: httpx.AsyncClient, tenant: TenantKit, body: dict[str, Any]) -> dict[str, Any]:
    return dict(ok(await client.post(URL, headers=tenant.admin, json=body)))


async def test_crud_round_trip(client: httpx.AsyncClient, tenant: TenantKit):
    created = [await create(client, tenant, body) for body in (EXPIRY, EARN_CAP, SPEND_CAP, BALANCE_CAP)]
    for body, criterion in zip((EXPIRY, EARN_CAP, SPEND_CAP, BALANCE_CAP), created, strict=True):
        assert {k: criterion[k] for k in body} == body
        assert criterion["isActive"] is True
        assert ok(await client.get(f"{URL}/{criterion['id']}", headers=tenant.admin)) == criterion

    listed = await client.get(URL, headers=tenant.admin)
    assert [c["id"] for c in ok(listed)] == [c["id"] for c in created]
    assert listed.json()["meta"]["total"] == 4

    cap = created[1]
    changed = ok(
        await client.patch(
            f"{URL}/{cap['id']}",
            headers=tenant.admin,
            json={
                "name": "Daily earn cap",
                "isActive": False,
                "config": {"intervalType": "RUNNING_HOURS", "arg": {"n": 24}, "maximumPoints": 200},
            },
        )
    )
    assert (changed["name"], changed["isActive"], changed["config"]["arg"]) == ("Daily earn cap", False, {"n": 24})
    assert changed["type"] == "MAXIMUM_POINTS_EARN_CAP"

    removed = ok(await client.delete(f"{URL}/{cap['id']}", headers=tenant.admin))
    assert removed["id"] == cap["id"]
    assert_fail(await client.get(f"{URL}/{cap['id']}", headers=tenant.admin), 404, "CRITERIA_NOT_FOUND")
    assert_fail(await client.delete(f"{URL}/{cap['id']}", headers=tenant.admin), 404, "CRITERIA_NOT_FOUND")
    assert_fail(await client.get(f"{URL}/not-a-uuid", headers=tenant.admin), 404, "CRITERIA_NOT_FOUND")
    assert len(ok(await client.get(URL, headers=tenant.admin))) == 3


async def test_validation_codes(client: httpx.AsyncClient, tenant: TenantKit):
    bad_duration = {**EXPIRY, "config": {"expiryBasedOn": "EARN_DATE", "dateModifier": "twelve months"}}
    data = assert_fail(await client.post(URL, headers=tenant.admin, json=bad_duration), 400, "INVALID_CRITERIA")
    assert data["field"] == "config.dateModifier"

    mismatch = {**EARN_CAP, "liabilityType": "SPENDING_CAP"}
    data = assert_fail(await client.post(URL, headers=tenant.admin, json=mismatch), 400, "INVALID_CRITERIA")
    assert data["field"] == "liabilityType"

    zero = {**SPEND_CAP, "config": {**SPEND_CAP["config"], "maximumPoints": 0}}  # type: ignore[dict-item]
    data = assert_fail(await client.post(URL, headers=tenant.admin, json=zero), 400, "INVALID_CRITERIA")
    assert data["field"] == "config.maximumPoints"

    purchase = {**EXPIRY, "type": "PURCHASE_REWARDS", "liabilityType": "PURCHASE_REWARDS", "config": {"rewardIds": []}}
    data = assert_fail(await client.post(URL, headers=tenant.admin, json=purchase), 400, "UNSUPPORTED_FIELD")
    assert data["field"] == "type"

    assert_fail(await client.post(URL, headers=tenant.admin, json={**EXPIRY, "color": "red"}), 400, "UNKNOWN_FIELD")
    assert_fail(await client.post(URL, headers=tenant.admin, json={**EXPIRY, "name": ""}), 400, "VALIDATION_ERROR")
    missing = {k: v for k, v in EXPIRY.items() if k != "config"}
    assert_fail(await client.post(URL, headers=tenant.admin, json=missing), 400, "VALIDATION_ERROR")

    # A patch is validated as a whole: a new type needs its own liability type and config.
    cap = await create(client, tenant, EARN_CAP)
    data = assert_fail(
        await client.patch(f"{URL}/{cap['id']}", headers=tenant.admin, json={"type": "MAXIMUM_POINTS_BALANCE_CAP"}),
        400,
        "INVALID_CRITERIA",
    )
    assert data["field"] == "config.arg"  # the earn cap's fields are not a balance cap's
    data = assert_fail(
        await client.patch(f"{URL}/{cap['id']}", headers=tenant.admin, json={"type": "MAXIMUM_POINTS_SPEND_CAP"}),
        400,
        "INVALID_CRITERIA",
    )
    assert data["field"] == "liabilityType"
    assert ok(await client.get(f"{URL}/{cap['id']}", headers=tenant.admin)) == cap
    assert len(ok(await client.get(URL, headers=tenant.admin))) == 1


async def test_one_simple_expiry_per_tenant(client: httpx.AsyncClient, db: Any, tenant: TenantKit):
    first = await create(client, tenant, EXPIRY)
    again = {**EXPIRY, "name": "Another", "config": {"expiryBasedOn": "LAST_ACTIVITY", "dateModifier": "P30D"}}
    data = assert_fail(await client.post(URL, headers=tenant.admin, json=again), 409, "CRITERIA_ALREADY_EXISTS")
    assert data["criteriaId"] == first["id"]

    # Turning a cap into a second expiry is refused too; changing the expiry itself is fine.
    cap = await create(client, tenant, EARN_CAP)
    turned = {"type": "SIMPLE_EXPIRY", "liabilityType": "EXPIRY", "config": EXPIRY["config"]}
    assert_fail(
        await client.patch(f"{URL}/{cap['id']}", headers=tenant.admin, json=turned), 409, "CRITERIA_ALREADY_EXISTS"
    )
    changed = ok(await client.patch(f"{URL}/{first['id']}", headers=tenant.admin, json={"config": again["config"]}))
    assert changed["config"] == again["config"]

    # Another tenant has its own; once deleted, a new one may be created.
    other = await make_tenant(client, db, name="other")
    await create(client, other, EXPIRY)
    ok(await client.delete(f"{URL}/{first['id']}", headers=tenant.admin))
    await create(client, tenant, again)


async def test_tenants_are_isolated(client: httpx.AsyncClient, db: Any, tenant: TenantKit):
    mine = await create(client, tenant, EARN_CAP)
    other = await make_tenant(client, db, name="other")
    assert_fail(await client.get(f"{URL}/{mine['id']}", headers=other.admin), 404, "CRITERIA_NOT_FOUND")
    assert_fail(
        await client.patch(f"{URL}/{mine['id']}", headers=other.admin, json={"name": "x"}), 404, "CRITERIA_NOT_FOUND"
    )
    assert ok(await client.get(URL, headers=other.admin)) == []


async def test_pos_and_anonymous_are_refused(client: httpx.AsyncClient, tenant: TenantKit):
    cap = await create(client, tenant, EARN_CAP)
    target = f"{URL}/{cap['id']}"
    for headers, status in ((tenant.pos, 403), (tenant.anonymous, 401)):
        assert (await client.get(URL, headers=headers)).status_code == status
        assert (await client.post(URL, headers=headers, json=SPEND_CAP)).status_code == status
        assert (await client.get(target, headers=headers)).status_code == status
        assert (await client.patch(target, headers=headers, json={"name": "x"})).status_code == status
        assert (await client.delete(target, headers=headers)).status_code == status
        assert (await client.post(f"{URL}/trigger_daily_cron", headers=headers)).status_code == status
    assert ok(await client.get(target, headers=tenant.admin)) == cap


async def test_idempotent_create(client: httpx.AsyncClient, tenant: TenantKit):
    headers = {**tenant.admin, "Idempotency-Key": f"criteria-{uuid.uuid4()}"}
    first = ok(await client.post(URL, headers=headers, json=EXPIRY))
    replay = await client.post(URL, headers=headers, json=EXPIRY)
    assert ok(replay) == first
    assert replay.headers["Idempotent-Replayed"] == "true"
