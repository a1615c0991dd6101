"""Tiers over HTTP (contract §4.6, WLL §8.7): held by points earned, reassessed on every change, TIER_CHANGED."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import time_machine
from sqlalchemy import select

from loyalty.services import tenants as tenant_service
from loyalty.services import tiers as tier_service
from loyalty.services.config import config_version
from loyalty.storage.database import Database
from loyalty.storage.tables import events
from tests.conftest import TenantKit, adjust, create_member, get_token, make_tenant

ISSUER = "https://idp.example.com/"
SHARED_SECRET = "tiers-idp-shared-secret-0123456789-abcdefgh"


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


def yearly(name: str, priority: int, requirement: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "priority": priority,
        "pointsRequirement": requirement,
        "calculation": "CALENDAR_PERIOD",
        "accumulationPeriod": "P1Y",
        **extra,
    }


def lifetime(name: str, priority: int, requirement: int) -> dict[str, Any]:
    return {"name": name, "priority": priority, "pointsRequirement": requirement, "calculation": "LIFETIME_EARN"}


async def create_tier(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    return dict(ok(await client.post("/v1/tiers", headers=headers, json=body)))


async def tier_changes(db: Database, tenant: TenantKit, member_id: str) -> list[dict[str, Any]]:
    """TIER_CHANGED payloads of a member, oldest first."""

    async def read(tx: Any) -> list[dict[str, Any]]:
        rows = await tx.execute(
            select(events.c.payload)
            .where(
                events.c.tenant_id == uuid.UUID(tenant.tenant_id),
                events.c.subject_id == uuid.UUID(member_id),
                events.c.type == "TIER_CHANGED",
            )
            .order_by(events.c.reported_at)
        )
        return [dict(r.payload) for r in rows]

    return await db.run(read, write=False)


async def held_tier(db: Database, tenant: TenantKit, member_id: str) -> str | None:
    tier = await db.run(
        lambda tx: tier_service.member_tier(tx, uuid.UUID(tenant.tenant_id), uuid.UUID(member_id)), write=False
    )
    return tier.name if tier else None


async def wallet_tier(db: Database, tenant: TenantKit, member_id: str) -> tier_service.TierProgress | None:
    return await db.run(
        lambda tx: tier_service.wallet_tier(tx, uuid.UUID(tenant.tenant_id), uuid.UUID(member_id)), write=False
    )


async def admin_now(client: httpx.AsyncClient, tenant: TenantKit) -> dict[str, str]:
    """Admin headers with a token issued at the (possibly travelled) current time."""
    token = await get_token(client, tenant.api_key, tenant.admin_client_id, tenant.admin_secret)
    return {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {token}"}


# ---- WLL's example (§8.7) ----


async def test_silver_reached_in_september_2023_holds_through_2024_and_lapses_in_2025(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    bronze = await create_tier(client, tenant.admin, yearly("Bronze", 1, 1000))
    silver = await create_tier(client, tenant.admin, yearly("Silver", 2, 2000))
    await create_tier(client, tenant.admin, yearly("Gold", 3, 5000))
    member = await create_member(client, tenant.admin)
    assert await held_tier(db, tenant, member["id"]) is None

    with time_machine.travel(datetime(2023, 9, 22, 10, tzinfo=UTC), tick=False):
        assert (await adjust(client, await admin_now(client, tenant), member["id"], 2000)).status_code == 200
    progress = await wallet_tier(db, tenant, member["id"])
    assert progress is not None
    assert (progress.name, progress.attained, progress.points_requirement) == ("Silver", True, 2000)
    assert await tier_changes(db, tenant, member["id"]) == [{"fromTierId": None, "toTierId": silver["id"]}]

    with time_machine.travel(datetime(2024, 6, 1, 9, tzinfo=UTC), tick=False):
        assert (await adjust(client, await admin_now(client, tenant), member["id"], 1)).status_code == 200
        assert await held_tier(db, tenant, member["id"]) == "Silver"
        progress = await wallet_tier(db, tenant, member["id"])
    assert progress is not None
    assert (progress.name, progress.earned_points) == ("Silver", 2001)
    assert len(await tier_changes(db, tenant, member["id"])) == 1

    with time_machine.travel(datetime(2025, 2, 1, 9, tzinfo=UTC), tick=False):
        assert (await adjust(client, await admin_now(client, tenant), member["id"], 1)).status_code == 200
        progress = await wallet_tier(db, tenant, member["id"])
    assert await held_tier(db, tenant, member["id"]) is None
    assert await tier_changes(db, tenant, member["id"]) == [
        {"fromTierId": None, "toTierId": silver["id"]},
        {"fromTierId": silver["id"], "toTierId": None},
    ]
    # Only the +1 of 2024 and the +1 of 2025 count now: the wallet shows progress towards Bronze.
    assert progress is not None
    assert (progress.tier_id, progress.attained, progress.earned_points) == (uuid.UUID(bronze["id"]), False, 2)


async def test_calendar_periods_follow_the_tenant_time_zone(client: httpx.AsyncClient, db: Database):
    """Points earned at 20:00 UTC on 31 Dec 2024 are 2025 points in Tokyo: they still count in 2026 there."""
    tokyo = await make_tenant(client, db, "tokyo")
    london = await make_tenant(client, db, "utc")
    await client.post("/v1/settings", headers=tokyo.admin, json={"name": "timezone", "value": "Asia/Tokyo"})
    members = {}
    for kit in (tokyo, london):
        await create_tier(client, kit.admin, yearly("Silver", 2, 2000))
        members[kit.tenant_id] = await create_member(client, kit.admin)

    for moment, points in ((datetime(2024, 12, 31, 20, tzinfo=UTC), 2000), (datetime(2026, 6, 1, tzinfo=UTC), 1)):
        with time_machine.travel(moment, tick=False):
            for kit in (tokyo, london):
                headers = await admin_now(client, kit)
                assert (await adjust(client, headers, members[kit.tenant_id]["id"], points)).status_code == 200

    assert await held_tier(db, tokyo, members[tokyo.tenant_id]["id"]) == "Silver"
    assert await held_tier(db, london, members[london.tenant_id]["id"]) is None


# ---- reassessment ----


async def test_tiers_follow_points_earned_not_the_balance(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    await create_tier(client, tenant.admin, lifetime("Bronze", 1, 1000))
    member = await create_member(client, tenant.admin)

    await adjust(client, tenant.admin, member["id"], 1200)
    await adjust(client, tenant.admin, member["id"], -1100)

    assert await held_tier(db, tenant, member["id"]) == "Bronze"
    await adjust(client, tenant.admin, member["id"], 500, impactType="NONE")
    assert len(await tier_changes(db, tenant, member["id"])) == 1


async def test_earnings_from_a_reactor_move_the_member_at_once(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    await create_tier(client, tenant.admin, lifetime("Regular", 1, 10))
    ok(await client.post("/v1/event_types", headers=tenant.admin, json={"name": "VISITED_SHOP"}))
    reaction = {"type": "POINTS", "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "10"}]}}
    reactor = {"name": "Visit", "eventType": "VISITED_SHOP", "reactions": [reaction]}
    ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor))
    member = await create_member(client, tenant.admin)

    ok(await client.post("/v1/events", headers=tenant.pos, json={"type": "VISITED_SHOP", "subject": member["id"]}))

    assert await held_tier(db, tenant, member["id"]) == "Regular"


async def test_an_event_whose_reactors_cross_two_tiers_makes_one_move(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    await create_tier(client, tenant.admin, lifetime("Silver", 1, 100))
    gold = await create_tier(client, tenant.admin, lifetime("Gold", 2, 200))
    ok(await client.post("/v1/event_types", headers=tenant.admin, json={"name": "BIG_SPEND"}))
    for name, points in (("First half", "150"), ("Second half", "100")):
        amount = {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": points}]}
        reaction = {"type": "POINTS", "points": amount}
        reactor = {"name": name, "eventType": "BIG_SPEND", "reactions": [reaction]}
        ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor))
    member = await create_member(client, tenant.admin)

    ok(await client.post("/v1/events", headers=tenant.pos, json={"type": "BIG_SPEND", "subject": member["id"]}))

    # The member is reassessed once, after both reactions: one move straight to Gold, not one through Silver.
    assert await tier_changes(db, tenant, member["id"]) == [{"fromTierId": None, "toTierId": gold["id"]}]
    assert await held_tier(db, tenant, member["id"]) == "Gold"


async def test_a_tier_change_may_trigger_reactors_that_earn_more_and_the_chain_settles(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    bronze = await create_tier(client, tenant.admin, lifetime("Bronze", 1, 1000))
    silver = await create_tier(client, tenant.admin, lifetime("Silver", 2, 1100))
    bonus = {"type": "POINTS", "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "100"}]}}
    reactor = {"name": "Welcome to your tier", "eventType": "TIER_CHANGED", "reactions": [bonus]}
    ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor))
    member = await create_member(client, tenant.admin)

    await adjust(client, tenant.admin, member["id"], 1000)

    assert await tier_changes(db, tenant, member["id"]) == [
        {"fromTierId": None, "toTierId": bronze["id"]},
        {"fromTierId": bronze["id"], "toTierId": silver["id"]},
    ]
    wallet = ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.admin))
    assert wallet["points"] == 1200


async def test_creating_a_tier_places_existing_members_at_once(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    rich = await create_member(client, tenant.admin)
    poor = await create_member(client, tenant.admin)
    await adjust(client, tenant.admin, rich["id"], 1500)

    gold = await create_tier(client, tenant.admin, lifetime("Gold", 1, 1000))

    assert await held_tier(db, tenant, rich["id"]) == "Gold"
    assert await tier_changes(db, tenant, rich["id"]) == [{"fromTierId": None, "toTierId": gold["id"]}]
    assert await held_tier(db, tenant, poor["id"]) is None
    assert await tier_changes(db, tenant, poor["id"]) == []


async def test_raising_a_requirement_or_deleting_a_tier_moves_its_holders(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    bronze = await create_tier(client, tenant.admin, lifetime("Bronze", 1, 100))
    silver = await create_tier(client, tenant.admin, lifetime("Silver", 2, 1000))
    member = await create_member(client, tenant.admin)
    await adjust(client, tenant.admin, member["id"], 1000)
    assert await held_tier(db, tenant, member["id"]) == "Silver"

    ok(await client.patch(f"/v1/tiers/{silver['id']}", headers=tenant.admin, json={"pointsRequirement": 2000}))
    assert await held_tier(db, tenant, member["id"]) == "Bronze"

    ok(await client.delete(f"/v1/tiers/{bronze['id']}", headers=tenant.admin))
    assert await held_tier(db, tenant, member["id"]) is None
    assert await tier_changes(db, tenant, member["id"]) == [
        {"fromTierId": None, "toTierId": silver["id"]},
        {"fromTierId": silver["id"], "toTierId": bronze["id"]},
        {"fromTierId": bronze["id"], "toTierId": None},
    ]
    assert_fail(await client.get(f"/v1/tiers/{bronze['id']}", headers=tenant.admin), 404, "TIER_NOT_FOUND")


async def test_renaming_a_tier_moves_no_one(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    gold = await create_tier(client, tenant.admin, lifetime("Gold", 1, 10))
    member = await create_member(client, tenant.admin)
    await adjust(client, tenant.admin, member["id"], 10)

    renamed = ok(await client.patch(f"/v1/tiers/{gold['id']}", headers=tenant.admin, json={"name": "Or"}))

    assert renamed["name"] == "Or"
    assert renamed["details"] == {"en": {"name": "Or"}}
    assert len(await tier_changes(db, tenant, member["id"])) == 1


async def test_a_tenant_without_tiers_holds_no_tier(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    await adjust(client, tenant.admin, member["id"], 10_000)

    assert await held_tier(db, tenant, member["id"]) is None
    assert await wallet_tier(db, tenant, member["id"]) is None


async def test_the_tier_enhancer_adds_the_held_tier(client: httpx.AsyncClient, tenant: TenantKit):
    gold = await create_tier(client, tenant.admin, lifetime("Gold", 3, 100))
    body = {"name": "VISITED_SHOP", "enhancers": ["TIER_ENHANCER"]}
    ok(await client.post("/v1/event_types", headers=tenant.admin, json=body))
    member = await create_member(client, tenant.admin)
    report = {"type": "VISITED_SHOP", "subject": member["id"]}

    before = ok(await client.post("/v1/events", headers=tenant.pos, json=report))
    await adjust(client, tenant.admin, member["id"], 100)
    after = ok(await client.post("/v1/events", headers=tenant.pos, json=report))

    assert before["payload"]["enhanced"] == {"tier": None}
    assert after["payload"]["enhanced"] == {"tier": {"id": gold["id"], "name": "Gold", "priority": 3}}


# ---- definitions ----


async def test_a_tier_with_localised_details(client: httpx.AsyncClient, tenant: TenantKit):
    body = {
        "pointsRequirement": 0,
        "calculation": "LIFETIME_EARN",
        "priority": 0,
        "defaultLocale": "fr",
        "details": {
            "fr": {"name": "Membre", "description": "Pour tous", "artworkUrl": "https://cdn.example.com/m.png"},
            "en": {"name": "Member", "locale": "en"},
        },
    }

    tier = await create_tier(client, tenant.admin, body)

    assert (tier["name"], tier["description"], tier["artworkUrl"]) == (
        "Membre",
        "Pour tous",
        "https://cdn.example.com/m.png",
    )
    assert tier["defaultLocale"] == "fr"
    assert tier["details"]["en"] == {"name": "Member"}
    english = ok(await client.get(f"/v1/tiers/{tier['id']}", headers=tenant.pos, params={"locale": "en"}))
    assert english["name"] == "Member"
    assert (tier["calculation"], tier["accumulationPeriod"], tier["pointsRequirement"]) == ("LIFETIME_EARN", None, 0)


async def test_tiers_are_listed_by_priority(client: httpx.AsyncClient, db: Database):
    tenant = await make_tenant(client, db, "lister")
    for name, priority in (("Gold", 3), ("Bronze", 1), ("Silver", 2)):
        await create_tier(client, tenant.admin, lifetime(name, priority, priority * 1000))

    ascending = ok(await client.get("/v1/tiers", headers=tenant.pos, params={"order": "ASC"}))
    descending = await client.get("/v1/tiers", headers=tenant.pos)

    assert [t["name"] for t in ascending] == ["Bronze", "Silver", "Gold"]
    assert [t["name"] for t in ok(descending)] == ["Gold", "Silver", "Bronze"]
    assert descending.json()["meta"]["total"] == 3


async def test_a_member_sees_their_progress_with_each_tier(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    for name, priority, requirement in (("Bronze", 1, 100), ("Silver", 2, 1000)):
        await create_tier(client, tenant.admin, lifetime(name, priority, requirement))
    member = await create_member(client, tenant.admin)
    await adjust(client, tenant.admin, member["id"], 150)
    config = {"algorithm": "HS256", "issuer": ISSUER, "sharedSecret": SHARED_SECRET}
    await db.run(lambda tx: tenant_service.set_user_auth(tx, uuid.UUID(tenant.tenant_id), config))
    issued = int(time.time())
    claims = {"sub": member["authIdentifier"], "iss": ISSUER, "iat": issued, "exp": issued + 600}
    headers = {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {jwt.encode(claims, SHARED_SECRET)}"}

    as_member = ok(await client.get("/v1/tiers", headers=headers, params={"order": "ASC"}))
    as_pos = ok(await client.get("/v1/tiers", headers={**tenant.pos, "X-User-Id": member["accountNumber"]}))
    anonymous = ok(await client.get("/v1/tiers", headers=tenant.pos))

    progress = [(t["name"], t["earnedPoints"], t["attained"]) for t in as_member]
    assert progress == [("Bronze", 150, True), ("Silver", 150, False)]
    assert sorted((t["name"], t["earnedPoints"], t["attained"]) for t in as_pos) == progress
    assert {(t["earnedPoints"], t["attained"]) for t in anonymous} == {(None, None)}


async def test_two_live_tiers_cannot_share_a_priority(client: httpx.AsyncClient, tenant: TenantKit):
    gold = await create_tier(client, tenant.admin, lifetime("Gold", 3, 5000))
    silver = await create_tier(client, tenant.admin, lifetime("Silver", 2, 2000))

    data = assert_fail(
        await client.post("/v1/tiers", headers=tenant.admin, json=lifetime("Platinum", 3, 9000)),
        409,
        "TIER_PRIORITY_TAKEN",
    )
    assert data["priority"] == 3
    moved = await client.patch(f"/v1/tiers/{silver['id']}", headers=tenant.admin, json={"priority": 3})
    assert_fail(moved, 409, "TIER_PRIORITY_TAKEN")
    ok(await client.delete(f"/v1/tiers/{gold['id']}", headers=tenant.admin))
    ok(await client.patch(f"/v1/tiers/{silver['id']}", headers=tenant.admin, json={"priority": 3}))


async def test_tiers_created_at_once_with_one_priority_make_one(client: httpx.AsyncClient, tenant: TenantKit):
    answers = await asyncio.gather(
        *(client.post("/v1/tiers", headers=tenant.admin, json=lifetime(f"T{n}", 7, 100)) for n in range(5))
    )

    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409]
    assert [t["priority"] for t in ok(await client.get("/v1/tiers", headers=tenant.admin))] == [7]


async def test_invalid_tiers_are_400(client: httpx.AsyncClient, tenant: TenantKit):
    cases = [
        ({**yearly("Silver", 2, 2000), "accumulationPeriod": None}, "ACCUMULATION_PERIOD_REQUIRED"),
        ({**lifetime("Silver", 2, 2000), "accumulationPeriod": "P1W"}, "VALIDATION_ERROR"),
        ({**lifetime("Silver", 2, -1)}, "VALIDATION_ERROR"),
        ({**lifetime("Silver", -2, 1)}, "VALIDATION_ERROR"),
        ({**lifetime("Silver", 2, 1), "calculation": "ROLLING"}, "VALIDATION_ERROR"),
        ({k: v for k, v in lifetime("Silver", 2, 1).items() if k != "name"}, "TIER_NAME_REQUIRED"),
        ({**lifetime("Silver", 2, 1), "effectivity": {"start": "2025-01-01"}}, "UNSUPPORTED_FIELD"),
        ({**lifetime("Silver", 2, 1), "points": 5}, "UNKNOWN_FIELD"),
    ]
    for body, code in cases:
        assert_fail(await client.post("/v1/tiers", headers=tenant.admin, json=body), 400, code)
    assert ok(await client.get("/v1/tiers", headers=tenant.admin)) == []


async def test_a_tier_write_bumps_the_configuration_version(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    tenant_id = uuid.UUID(tenant.tenant_id)
    before = await db.run(lambda tx: config_version(tx, tenant_id), write=False)

    tier = await create_tier(client, tenant.admin, lifetime("Gold", 1, 10))
    ok(await client.patch(f"/v1/tiers/{tier['id']}", headers=tenant.admin, json={"name": "Golden"}))
    ok(await client.delete(f"/v1/tiers/{tier['id']}", headers=tenant.admin))

    # Every write gives the configuration a new version.
    assert await db.run(lambda tx: config_version(tx, tenant_id), write=False) != before


async def test_another_tenants_tier_is_404(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    tier = await create_tier(client, tenant.admin, lifetime("Gold", 1, 10))
    other = await make_tenant(client, db, "other shop")

    assert_fail(await client.get(f"/v1/tiers/{tier['id']}", headers=other.admin), 404, "TIER_NOT_FOUND")
    assert_fail(await client.delete(f"/v1/tiers/{tier['id']}", headers=other.admin), 404, "TIER_NOT_FOUND")
    assert_fail(await client.get("/v1/tiers/not-a-uuid", headers=tenant.admin), 404, "TIER_NOT_FOUND")
