"""Audiences over HTTP (contract §4.6, WLL §8.8): JSON Schema criteria over the member document, reassessed in the
same transaction as every change to the member, AUDIENCE_JOINED / AUDIENCE_LEFT when asked for."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from loyalty.services import audiences as audience_service
from loyalty.services import member_state
from loyalty.services.clock import now
from loyalty.services.config import config_version
from loyalty.storage.database import Database
from loyalty.storage.tables import benefits, events, rewards
from tests.conftest import TenantKit, adjust, create_member, make_tenant

STAFF = {
    "properties": {"flags": {"properties": {"staff": {"const": True}}, "required": ["staff"]}},
    "required": ["flags"],
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


def definition(criteria: dict[str, Any], **extra: Any) -> dict[str, Any]:
    frequency = extra.pop("triggerFrequency", "REACTIVE")
    return {
        "name": extra.pop("name", "Staff"),
        "description": "Everyone who works for us",
        "isActive": True,
        "criteriaDefinition": {"criteriaFormat": "JSON_SCHEMA", "criteria": criteria, "triggerFrequency": frequency},
        "sendAudienceJoinedEvent": True,
        "sendAudienceLeftEvent": True,
        **extra,
    }


async def create_audience(client: httpx.AsyncClient, tenant: TenantKit, criteria: dict[str, Any], **extra: Any) -> Any:
    return ok(await client.post("/v1/audiences", headers=tenant.admin, json=definition(criteria, **extra)))


async def results(client: httpx.AsyncClient, tenant: TenantKit, audience: dict[str, Any]) -> list[str]:
    answer = await client.get(f"/v1/audiences/{audience['id']}/results", headers=tenant.admin, params={"limit": 1000})
    return [m["id"] for m in ok(answer)]


async def set_staff(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any], staff: bool) -> None:
    ok(await client.patch(f"/v1/users/{member['id']}", headers=tenant.admin, json={"flags": {"staff": staff}}))


async def moves(db: Database, tenant: TenantKit, member_id: str) -> list[tuple[str, str]]:
    """(type, audienceId) of the member's AUDIENCE_JOINED / AUDIENCE_LEFT events, oldest first."""

    async def read(tx: Any) -> list[tuple[str, str]]:
        rows = await tx.execute(
            select(events.c.type, events.c.payload)
            .where(
                events.c.tenant_id == uuid.UUID(tenant.tenant_id),
                events.c.subject_id == uuid.UUID(member_id),
                events.c.type.in_(["AUDIENCE_JOINED", "AUDIENCE_LEFT"]),
            )
            .order_by(events.c.reported_at)
        )
        return [(r.type, r.payload["audienceId"]) for r in rows]

    return await db.run(read, write=False)


async def audience_ids(db: Database, tenant: TenantKit, member_id: str) -> frozenset[uuid.UUID]:
    return await db.run(
        lambda tx: audience_service.member_audience_ids(tx, uuid.UUID(tenant.tenant_id), uuid.UUID(member_id)),
        write=False,
    )


# ---- the staff example ----


async def test_a_member_flagged_staff_joins_at_once_and_leaves_when_unflagged(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    staff = await create_audience(client, tenant, STAFF)
    member = await create_member(client, tenant.admin)
    bystander = await create_member(client, tenant.admin)
    assert await results(client, tenant, staff) == []

    await set_staff(client, tenant, member, True)

    assert await results(client, tenant, staff) == [member["id"]]
    assert await moves(db, tenant, member["id"]) == [("AUDIENCE_JOINED", staff["id"])]
    assert await audience_ids(db, tenant, member["id"]) == {uuid.UUID(staff["id"])}

    await set_staff(client, tenant, member, False)

    assert await results(client, tenant, staff) == []
    assert await moves(db, tenant, member["id"]) == [
        ("AUDIENCE_JOINED", staff["id"]),
        ("AUDIENCE_LEFT", staff["id"]),
    ]
    assert await audience_ids(db, tenant, member["id"]) == frozenset()
    assert await moves(db, tenant, bystander["id"]) == []


async def test_events_are_emitted_only_when_the_audience_asks(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    quiet = await create_audience(client, tenant, STAFF, sendAudienceJoinedEvent=False, sendAudienceLeftEvent=False)
    member = await create_member(client, tenant.admin)

    await set_staff(client, tenant, member, True)
    assert await results(client, tenant, quiet) == [member["id"]]
    await set_staff(client, tenant, member, False)

    assert await results(client, tenant, quiet) == []
    assert await moves(db, tenant, member["id"]) == []


async def test_a_new_audience_takes_in_existing_members_at_once(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    worker = await create_member(client, tenant.admin, flags={"staff": True})
    customer = await create_member(client, tenant.admin)

    staff = await create_audience(client, tenant, STAFF)

    assert await results(client, tenant, staff) == [worker["id"]]
    assert await moves(db, tenant, worker["id"]) == [("AUDIENCE_JOINED", staff["id"])]
    assert await moves(db, tenant, customer["id"]) == []


async def test_a_member_signing_up_as_staff_joins_on_sign_up(client: httpx.AsyncClient, tenant: TenantKit):
    staff = await create_audience(client, tenant, STAFF)

    worker = await create_member(client, tenant.admin, flags={"staff": True})

    assert await results(client, tenant, staff) == [worker["id"]]


# ---- what criteria can look at ----


async def test_points_earned_move_a_member_into_an_audience(client: httpx.AsyncClient, tenant: TenantKit):
    big_spenders = await create_audience(
        client, tenant, {"properties": {"points": {"properties": {"lifetimeEarn": {"minimum": 100}}}}}
    )
    member = await create_member(client, tenant.admin)

    await adjust(client, tenant.admin, member["id"], 99)
    assert await results(client, tenant, big_spenders) == []
    await adjust(client, tenant.admin, member["id"], 1)
    assert await results(client, tenant, big_spenders) == [member["id"]]


async def test_criteria_see_the_tier_reached_by_the_same_change(client: httpx.AsyncClient, tenant: TenantKit):
    tier = {"name": "Silver", "priority": 2, "pointsRequirement": 2000, "calculation": "LIFETIME_EARN"}
    ok(await client.post("/v1/tiers", headers=tenant.admin, json=tier))
    silver_and_up = await create_audience(
        client, tenant, {"properties": {"tier": {"type": "object", "properties": {"priority": {"minimum": 2}}}}}
    )
    member = await create_member(client, tenant.admin)

    await adjust(client, tenant.admin, member["id"], 2000)

    assert await results(client, tenant, silver_and_up) == [member["id"]]


async def test_renaming_a_tier_reassesses_criteria_on_tier_names(client: httpx.AsyncClient, tenant: TenantKit):
    tier = {"name": "Gold", "priority": 1, "pointsRequirement": 10, "calculation": "LIFETIME_EARN"}
    gold = ok(await client.post("/v1/tiers", headers=tenant.admin, json=tier))
    gold_members = await create_audience(
        client, tenant, {"properties": {"tier": {"type": "object", "properties": {"name": {"const": "Gold"}}}}}
    )
    member = await create_member(client, tenant.admin)
    await adjust(client, tenant.admin, member["id"], 10)
    assert await results(client, tenant, gold_members) == [member["id"]]

    ok(await client.patch(f"/v1/tiers/{gold['id']}", headers=tenant.admin, json={"name": "Or"}))

    assert await results(client, tenant, gold_members) == []


async def test_a_badge_award_moves_a_member_into_an_audience(client: httpx.AsyncClient, tenant: TenantKit):
    badge = ok(await client.post("/v1/badges", headers=tenant.admin, json={"internalName": "Barista"}))
    baristas = await create_audience(client, tenant, {"properties": {"badges": {"contains": {"const": badge["id"]}}}})
    member = await create_member(client, tenant.admin)

    award = {"badgeId": badge["id"], "beneficiaryId": member["id"]}
    ok(await client.post("/v1/commands/award_badge", headers=tenant.admin, json=award))

    assert await results(client, tenant, baristas) == [member["id"]]


async def test_criteria_see_the_rewards_a_member_purchased(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    reward_id, given_id = uuid.uuid4(), uuid.uuid4()
    buyers = await create_audience(
        client, tenant, {"properties": {"rewardsPurchased": {"contains": {"const": str(reward_id)}}}}
    )
    gifted = await create_audience(
        client, tenant, {"properties": {"rewardsPurchased": {"contains": {"const": str(given_id)}}}}, name="Gifted"
    )
    member = await create_member(client, tenant.admin)
    tenant_id, member_id = uuid.UUID(tenant.tenant_id), uuid.UUID(member["id"])

    async def buy_and_receive(tx: Any) -> None:
        moment = now()
        for rid, name in ((reward_id, "Free coffee"), (given_id, "Birthday cake")):
            await tx.execute(
                rewards.insert().values(
                    tenant_id=tenant_id,
                    reward_id=rid,
                    type="VOUCHER",
                    name=name,
                    price=100,
                    available_from=moment,
                    purchasable=True,
                    priority=0,
                    venue_ids=[],
                    redemption_channels=[],
                    purchasable_for_audiences=[],
                    visible_to_audiences=[],
                    reactor_only=False,
                    code_type="HUMAN",
                    hide_code=False,
                    redeem_on_purchase=False,
                    stacking="STACKABLE",
                    details={},
                    default_locale="en",
                    created_at=moment,
                    updated_at=moment,
                )
            )
        for rid, origin in ((reward_id, "PURCHASE"), (given_id, "GIVEN")):
            await tx.execute(
                benefits.insert().values(
                    tenant_id=tenant_id,
                    benefit_id=uuid.uuid4(),
                    reward_id=rid,
                    member_id=member_id,
                    type="VOUCHER",
                    origin=origin,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        await member_state.member_changed(tx, tenant_id, member_id)

    await db.run(buy_and_receive)

    assert await results(client, tenant, buyers) == [member["id"]]
    assert await results(client, tenant, gifted) == []


# ---- trigger frequencies, activity, deletion ----


async def test_a_manual_audience_changes_only_when_refreshed(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    staff = await create_audience(client, tenant, STAFF, triggerFrequency="MANUAL")
    member = await create_member(client, tenant.admin)
    await set_staff(client, tenant, member, True)
    assert await results(client, tenant, staff) == []

    refreshed = ok(await client.post(f"/v1/audiences/{staff['id']}/refresh", headers=tenant.admin))

    assert (refreshed["joined"], refreshed["left"]) == (1, 0)
    assert refreshed["audience"]["criteriaDefinition"]["triggerFrequency"] == "MANUAL"
    assert await results(client, tenant, staff) == [member["id"]]
    again = ok(await client.post(f"/v1/audiences/{staff['id']}/refresh", headers=tenant.admin))
    assert (again["joined"], again["left"]) == (0, 0)
    assert await moves(db, tenant, member["id"]) == [("AUDIENCE_JOINED", staff["id"])]


async def test_an_inactive_audience_is_not_evaluated_and_counts_for_nothing(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    staff = await create_audience(client, tenant, STAFF)
    member = await create_member(client, tenant.admin, flags={"staff": True})
    newcomer = await create_member(client, tenant.admin)

    ok(await client.patch(f"/v1/audiences/{staff['id']}", headers=tenant.admin, json={"isActive": False}))
    await set_staff(client, tenant, newcomer, True)

    assert await audience_ids(db, tenant, member["id"]) == frozenset()
    assert await results(client, tenant, staff) == [member["id"]]
    refused = await client.post(f"/v1/audiences/{staff['id']}/refresh", headers=tenant.admin)
    assert_fail(refused, 400, "AUDIENCE_INACTIVE")

    ok(await client.patch(f"/v1/audiences/{staff['id']}", headers=tenant.admin, json={"isActive": True}))
    assert sorted(await results(client, tenant, staff)) == sorted([member["id"], newcomer["id"]])
    assert await audience_ids(db, tenant, member["id"]) == {uuid.UUID(staff["id"])}


async def test_new_criteria_reassess_every_member(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    audience = await create_audience(client, tenant, STAFF)
    worker = await create_member(client, tenant.admin, flags={"staff": True})
    manager = await create_member(client, tenant.admin, flags={"manager": True})
    managers = {"properties": {"flags": {"required": ["manager"]}}}

    patched = await client.patch(
        f"/v1/audiences/{audience['id']}", headers=tenant.admin, json={"criteriaPatch": {"criteria": managers}}
    )

    assert ok(patched)["criteriaDefinition"]["criteria"] == managers
    assert await results(client, tenant, audience) == [manager["id"]]
    assert await moves(db, tenant, worker["id"]) == [
        ("AUDIENCE_JOINED", audience["id"]),
        ("AUDIENCE_LEFT", audience["id"]),
    ]


async def test_a_deleted_audience_is_gone_with_its_memberships(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    staff = await create_audience(client, tenant, STAFF)
    member = await create_member(client, tenant.admin, flags={"staff": True})

    ok(await client.delete(f"/v1/audiences/{staff['id']}", headers=tenant.admin))

    assert_fail(await client.get(f"/v1/audiences/{staff['id']}", headers=tenant.admin), 404, "AUDIENCE_NOT_FOUND")
    assert await audience_ids(db, tenant, member["id"]) == frozenset()
    await set_staff(client, tenant, member, False)
    assert await moves(db, tenant, member["id"]) == [("AUDIENCE_JOINED", staff["id"])]


async def test_closed_accounts_leave_the_results(client: httpx.AsyncClient, tenant: TenantKit):
    staff = await create_audience(client, tenant, STAFF)
    leaver = await create_member(client, tenant.admin, flags={"staff": True})
    stayer = await create_member(client, tenant.admin, flags={"staff": True})

    ok(await client.delete(f"/v1/users/{leaver['id']}", headers=tenant.admin))

    assert await results(client, tenant, staff) == [stayer["id"]]


async def test_results_are_paginated_by_joining_time(client: httpx.AsyncClient, tenant: TenantKit):
    staff = await create_audience(client, tenant, STAFF)
    members = [await create_member(client, tenant.admin, flags={"staff": True}) for _ in range(3)]

    page = await client.get(
        f"/v1/audiences/{staff['id']}/results", headers=tenant.admin, params={"limit": 2, "order": "ASC"}
    )

    assert [m["id"] for m in ok(page)] == [m["id"] for m in members[:2]]
    assert page.json()["meta"] == {"limit": 2, "skip": 0, "total": 3}
    first = ok(page)[0]
    assert first["accountNumber"] == members[0]["accountNumber"]
    assert first["joinedAt"].endswith("Z")


# ---- enhancer, loops, concurrency ----


async def test_the_audience_enhancer_lists_the_members_audiences(client: httpx.AsyncClient, tenant: TenantKit):
    staff = await create_audience(client, tenant, STAFF)
    await create_audience(client, tenant, {"not": {}}, name="Nobody")
    ok(
        await client.post(
            "/v1/event_types", headers=tenant.admin, json={"name": "VISITED_SHOP", "enhancers": ["AUDIENCE_ENHANCER"]}
        )
    )
    member = await create_member(client, tenant.admin, flags={"staff": True})

    event = ok(
        await client.post("/v1/events", headers=tenant.pos, json={"type": "VISITED_SHOP", "subject": member["id"]})
    )

    assert event["payload"]["enhanced"] == {"audiences": [{"id": staff["id"], "name": "Staff"}]}


async def test_a_reactor_discount_for_an_audience_applies_through_the_enhancer(
    client: httpx.AsyncClient, tenant: TenantKit
):
    staff = await create_audience(client, tenant, STAFF)
    ok(
        await client.post(
            "/v1/event_types", headers=tenant.admin, json={"name": "VISITED_SHOP", "enhancers": ["AUDIENCE_ENHANCER"]}
        )
    )
    in_staff = {
        "properties": {
            "enhanced": {"properties": {"audiences": {"contains": {"properties": {"id": {"const": staff["id"]}}}}}}
        }
    }
    reaction = {"type": "POINTS", "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "5"}]}}
    reactor = {"name": "Staff visit", "eventType": "VISITED_SHOP", "constraint": in_staff, "reactions": [reaction]}
    ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor))
    worker = await create_member(client, tenant.admin, flags={"staff": True})
    customer = await create_member(client, tenant.admin)

    for member, expected in ((worker, "APPLIED"), (customer, "SKIPPED")):
        event = ok(
            await client.post("/v1/events", headers=tenant.pos, json={"type": "VISITED_SHOP", "subject": member["id"]})
        )
        assert [r["status"] for r in event["reactions"]] == [expected]


async def test_reactors_that_bounce_a_member_in_and_out_settle(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    """Joining takes 100 points (so the member leaves), leaving gives them back (so they join again): the chain
    stops once events are past the pipeline's depth limit, and membership matches the member's final state."""
    rich = await create_audience(
        client, tenant, {"properties": {"points": {"properties": {"balance": {"minimum": 100}}}}}
    )

    def points(value: str) -> dict[str, Any]:
        return {"type": "POINTS", "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": value}]}}

    for event_type, value in (("AUDIENCE_JOINED", "-100"), ("AUDIENCE_LEFT", "100")):
        reactor = {"name": event_type, "eventType": event_type, "reactions": [points(value)]}
        ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor))
    member = await create_member(client, tenant.admin)

    assert (await adjust(client, tenant.admin, member["id"], 100)).status_code == 200

    # Reactors run for events down to depth 3; the fifth move (depth 4) is recorded and reacts no further.
    history = [kind for kind, _ in await moves(db, tenant, member["id"])]
    assert history == ["AUDIENCE_JOINED", "AUDIENCE_LEFT"] * 2 + ["AUDIENCE_JOINED"]
    assert ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.admin))["points"] == 100
    assert await results(client, tenant, rich) == [member["id"]]


async def test_concurrent_changes_to_one_member_leave_a_consistent_membership(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    """The criteria need both the staff flag and 100 points earned; a flag change and an earn land at once."""
    criteria = {
        "properties": {
            **STAFF["properties"],
            "points": {"properties": {"lifetimeEarn": {"minimum": 100}}},
        },
        "required": ["flags"],
    }
    audience = await create_audience(client, tenant, criteria)
    members = [await create_member(client, tenant.admin) for _ in range(6)]

    await asyncio.gather(
        *(
            task
            for m in members
            for task in (set_staff(client, tenant, m, True), adjust(client, tenant.admin, m["id"], 100))
        )
    )

    assert sorted(await results(client, tenant, audience)) == sorted(m["id"] for m in members)
    for member in members:
        assert await moves(db, tenant, member["id"]) == [("AUDIENCE_JOINED", audience["id"])]


# ---- definitions ----


async def test_an_audience_is_answered_in_wlls_shape(client: httpx.AsyncClient, tenant: TenantKit):
    audience = await create_audience(client, tenant, STAFF)

    assert {
        k: audience[k] for k in ("name", "description", "isActive", "sendAudienceJoinedEvent", "sendAudienceLeftEvent")
    } == {
        "name": "Staff",
        "description": "Everyone who works for us",
        "isActive": True,
        "sendAudienceJoinedEvent": True,
        "sendAudienceLeftEvent": True,
    }
    assert audience["criteriaDefinition"] == {
        "criteriaFormat": "JSON_SCHEMA",
        "criteria": STAFF,
        "triggerFrequency": "REACTIVE",
    }
    assert ok(await client.get(f"/v1/audiences/{audience['id']}", headers=tenant.pos)) == audience
    assert audience["id"] in [a["id"] for a in ok(await client.get("/v1/audiences", headers=tenant.pos))]


async def test_wlls_other_criteria_formats_are_400_unsupported(client: httpx.AsyncClient, tenant: TenantKit):
    for criteria_definition in (
        {"criteriaFormat": "QUERY_TREE", "criteria": {}, "triggerFrequency": "REACTIVE"},
        {"criteriaFormat": "JSONATA", "criteria": {}, "triggerFrequency": "REACTIVE"},
        {"criteriaTree": {"and": []}, "criteria": {}},
        {"criteria": {}, "triggerFrequency": "HOURLY"},
    ):
        body = {**definition(STAFF), "criteriaDefinition": criteria_definition}
        assert_fail(await client.post("/v1/audiences", headers=tenant.admin, json=body), 400, "UNSUPPORTED_FIELD")


async def test_invalid_criteria_are_400_invalid_schema(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post("/v1/audiences", headers=tenant.admin, json=definition({"type": "staff"}))

    data = assert_fail(answer, 400, "INVALID_SCHEMA")
    assert data["field"] == "criteriaDefinition.criteria"
    assert ok(await client.get("/v1/audiences", headers=tenant.admin)) == []


async def test_an_audience_write_bumps_the_configuration_version(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    tenant_id = uuid.UUID(tenant.tenant_id)
    before = await db.run(lambda tx: config_version(tx, tenant_id), write=False)

    audience = await create_audience(client, tenant, STAFF)
    ok(await client.patch(f"/v1/audiences/{audience['id']}", headers=tenant.admin, json={"name": "Crew"}))
    ok(await client.delete(f"/v1/audiences/{audience['id']}", headers=tenant.admin))

    # Every write gives the configuration a new version.
    assert await db.run(lambda tx: config_version(tx, tenant_id), write=False) != before


async def test_pos_reads_audiences_but_not_their_members(client: httpx.AsyncClient, tenant: TenantKit):
    staff = await create_audience(client, tenant, STAFF)

    assert ok(await client.get(f"/v1/audiences/{staff['id']}", headers=tenant.pos))["id"] == staff["id"]
    assert_fail(await client.get(f"/v1/audiences/{staff['id']}/results", headers=tenant.pos), 403, "FORBIDDEN")
    assert_fail(await client.post("/v1/audiences", headers=tenant.pos, json=definition(STAFF)), 403, "FORBIDDEN")


async def test_another_tenants_audience_is_404(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    staff = await create_audience(client, tenant, STAFF)
    other = await make_tenant(client, db, "other shop")

    assert_fail(await client.get(f"/v1/audiences/{staff['id']}", headers=other.admin), 404, "AUDIENCE_NOT_FOUND")
    assert_fail(
        await client.get(f"/v1/audiences/{staff['id']}/results", headers=other.admin), 404, "AUDIENCE_NOT_FOUND"
    )
    assert_fail(
        await client.post(f"/v1/audiences/{staff['id']}/refresh", headers=other.admin), 404, "AUDIENCE_NOT_FOUND"
    )
