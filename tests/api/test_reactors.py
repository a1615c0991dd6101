"""Reactors over HTTP (contract §3.4): checked at save time, versioned on edit, ended (never deleted); the
ATTRIBUTE and BADGE reactions; badges and the award_badge command (§4.6)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from loyalty.storage.database import Database
from tests.conftest import TenantKit, create_member, make_tenant

NUMBER_ONE = {"type": "NUMBER", "value": "1"}


def fixed(points: int) -> dict[str, Any]:
    return {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": str(points)}]}


def points_reaction(points: int) -> dict[str, Any]:
    return {"type": "POINTS", "points": fixed(points)}


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


def day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).isoformat()


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


async def create_type(client: httpx.AsyncClient, tenant: TenantKit, name: str = "VISITED_SHOP") -> dict[str, Any]:
    body = {"name": name, "description": "A visit", "schema": {"type": "object"}}
    return dict(ok(await client.post("/v1/event_types", headers=tenant.admin, json=body)))


def reactor_body(event_type: Any = "VISITED_SHOP", **extra: Any) -> dict[str, Any]:
    return {"name": "Visit bonus", "eventType": event_type, "reactions": [points_reaction(10)], **extra}


async def post_reactor(client: httpx.AsyncClient, tenant: TenantKit, **extra: Any) -> httpx.Response:
    return await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor_body(**extra))


async def create_reactor(client: httpx.AsyncClient, tenant: TenantKit, **extra: Any) -> dict[str, Any]:
    return dict(ok(await post_reactor(client, tenant, **extra)))


async def visit(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any], **payload: Any) -> dict[str, Any]:
    body = {"type": "VISITED_SHOP", "subject": member["id"], "payload": payload}
    return dict(ok(await client.post("/v1/events", headers=tenant.pos, json=body)))


async def balance(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any]) -> int:
    return int(ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.admin))["points"])


async def create_badge(client: httpx.AsyncClient, tenant: TenantKit, name: str = "Coffee lover") -> dict[str, Any]:
    body = {"internalName": name, "details": [{"name": name, "locale": "en"}]}
    return dict(ok(await client.post("/v1/badges", headers=tenant.admin, json=body)))


async def earned(client: httpx.AsyncClient, headers: dict[str, str], member: dict[str, Any]) -> list[dict[str, Any]]:
    answer = await client.get("/v1/badges/earned", headers={**headers, "X-User-Id": member["id"]})
    return list(ok(answer))


async def events_of(
    client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any], event_type: str
) -> list[dict[str, Any]]:
    params = {"type": event_type, "subject": member["id"], "limit": 1000, "order": "ASC"}
    return list(ok(await client.get("/v1/events", headers=tenant.admin, params=params)))


# ---- creating ----


async def test_an_admin_creates_a_reactor(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    constraint = {"required": ["shop"], "properties": {"shop": {"const": "372"}}}

    reactor = await create_reactor(
        client,
        tenant,
        description="Ten points a visit",
        constraint=constraint,
        effectivity={"start": "2025-01-01", "end": "2999-01-01T00:00:00Z"},
        maxActivations=3,
        activationContext="SUBJECT",
    )

    assert str(uuid.UUID(reactor["id"])) == reactor["id"]
    assert reactor["name"] == "Visit bonus"
    assert reactor["description"] == "Ten points a visit"
    assert reactor["eventType"] == "VISITED_SHOP"
    assert reactor["constraint"] == constraint
    assert reactor["effectivity"] == {"start": "2025-01-01T00:00:00.000Z", "end": "2999-01-01T00:00:00.000Z"}
    assert (reactor["maxActivations"], reactor["activationContext"]) == (3, "SUBJECT")
    assert reactor["reactions"] == [
        {"type": "POINTS", "points": fixed(10), "liabilityHandlingPolicy": "BYPASS", "bypassCaps": False}
    ]
    assert reactor["previousVersionId"] is None
    assert ok(await client.get(f"/v1/event_reactors/{reactor['id']}", headers=tenant.admin)) == reactor


async def test_a_reactor_starts_now_and_never_ends_by_default(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    before = datetime.now(UTC) - timedelta(seconds=1)

    reactor = await create_reactor(client, tenant)

    assert before <= parse(reactor["effectivity"]["start"]) <= datetime.now(UTC)
    assert reactor["effectivity"]["end"] is None
    assert (reactor["maxActivations"], reactor["activationContext"], reactor["constraint"]) == (None, None, None)


async def test_a_limit_without_a_context_counts_globally(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    reactor = await create_reactor(client, tenant, maxActivations=2)

    assert (reactor["maxActivations"], reactor["activationContext"]) == (2, "GLOBAL")


async def test_the_event_type_may_be_named_by_name_or_id(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_type(client, tenant)
    registered = ok(await client.get("/v1/event_types/REGISTERED_ACCOUNT", headers=tenant.admin))

    for reference in ("VISITED_SHOP", {"name": "VISITED_SHOP"}, {"id": created["id"]}):
        assert (await create_reactor(client, tenant, eventType=reference))["eventType"] == "VISITED_SHOP"
    assert (await create_reactor(client, tenant, eventType={"id": registered["id"]}))["eventType"] == (
        "REGISTERED_ACCOUNT"
    )


async def test_an_unknown_event_type_is_400_unknown_event_type(client: httpx.AsyncClient, tenant: TenantKit):
    for reference in ("NEVER_CREATED", {"name": "NEVER_CREATED"}, {"id": str(uuid.uuid4())}):
        data = assert_fail(await post_reactor(client, tenant, eventType=reference), 400, "UNKNOWN_EVENT_TYPE")
        assert data["field"] == "eventType"


async def test_another_tenants_event_type_is_unknown(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    other = await make_tenant(client, db, "other shop")
    foreign = await create_type(client, other)

    answer = await post_reactor(client, tenant, eventType={"id": foreign["id"]})

    assert_fail(answer, 400, "UNKNOWN_EVENT_TYPE")


async def test_a_malformed_event_type_reference_is_400(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    for reference in ({"name": "VISITED_SHOP", "id": str(uuid.uuid4())}, {"code": "VISITED_SHOP"}, {}):
        assert_fail(await post_reactor(client, tenant, eventType=reference), 400, "VALIDATION_ERROR")


async def test_an_invalid_constraint_is_400_invalid_schema(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    for constraint in ({"type": "nope"}, {"properties": {"shop": {"minimum": "ten"}}}, {"$ref": "#/missing"}):
        data = assert_fail(await post_reactor(client, tenant, constraint=constraint), 400, "INVALID_SCHEMA")
        assert data["field"] == "constraint"


async def test_derivation_errors_are_400_with_their_codes(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    cases = [
        ({"operation": "DIVIDE", "arguments": [NUMBER_ONE]}, "INVALID_DERIVATION", "reactions[0].points.operation"),
        ({"operation": "SUM", "arguments": []}, "INVALID_DERIVATION", "reactions[0].points.arguments"),
        (
            {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "1e5"}]},
            "INVALID_DERIVATION",
            "reactions[0].points.arguments[0].value",
        ),
        (
            {"operation": "SUM", "arguments": [{"type": "PAYLOAD_QUERY", "value": "totalSpend"}]},
            "INVALID_JSONPATH",
            "reactions[0].points.arguments[0].value",
        ),
        (
            {"operation": "SUM", "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.["}]},
            "INVALID_JSONPATH",
            "reactions[0].points.arguments[0].value",
        ),
        (
            {"operation": "SUM", "arguments": [NUMBER_ONE], "roundingDirection": "SIDEWAYS"},
            "INVALID_DERIVATION",
            "reactions[0].points.roundingDirection",
        ),
        ({"operation": "SUM", "arguments": [NUMBER_ONE], "min": 1}, "UNKNOWN_FIELD", "reactions[0].points"),
        (None, "INVALID_DERIVATION", "reactions[0].points"),
    ]
    for derivation, code, field in cases:
        reactions = [{"type": "POINTS", "points": derivation}]
        data = assert_fail(await post_reactor(client, tenant, reactions=reactions), 400, code)
        assert data["field"] == field, data
    listed = ok(await client.get("/v1/event_reactors", headers=tenant.admin, params={"includeEnded": "true"}))
    assert listed == []


async def test_a_rounding_unit_out_of_range_is_400(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    for unit in (0, -5, 1.5, 1_000_001):
        derivation = {"operation": "SUM", "arguments": [NUMBER_ONE], "roundingUnit": unit}
        answer = await post_reactor(client, tenant, reactions=[{"type": "POINTS", "points": derivation}])
        data = assert_fail(answer, 400, "INVALID_DERIVATION")
        assert data["field"] == "reactions[0].points.roundingUnit"
    derivation = {"operation": "SUM", "arguments": [NUMBER_ONE], "roundingUnit": 1_000_000}
    ok(await post_reactor(client, tenant, reactions=[{"type": "POINTS", "points": derivation}]))


async def test_an_unknown_liability_policy_is_400_invalid_reaction(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    reaction = {"type": "POINTS", "points": fixed(1), "liabilityHandlingPolicy": "HOPE"}

    data = assert_fail(await post_reactor(client, tenant, reactions=[reaction]), 400, "INVALID_REACTION")

    assert data["field"] == "reactions[0].liabilityHandlingPolicy"


async def test_an_unknown_reaction_type_is_400_unsupported_reaction(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    for kind in ("TELEPORT", "HANDLER", "POINTS_CAP", None):
        reactions = [points_reaction(1), {"type": kind}]
        data = assert_fail(await post_reactor(client, tenant, reactions=reactions), 400, "UNSUPPORTED_REACTION")
        assert data["field"] == "reactions[1].type"


async def test_a_badge_reaction_naming_no_badge_is_400_badge_not_found(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    await create_type(client, tenant)
    other = await make_tenant(client, db, "other shop")
    foreign = await create_badge(client, other)

    for badge_id in (str(uuid.uuid4()), foreign["id"]):
        reactions = [{"type": "BADGE", "badge": {"id": badge_id}}]
        data = assert_fail(await post_reactor(client, tenant, reactions=reactions), 400, "BADGE_NOT_FOUND")
        assert data["field"] == "reactions[0].badge.id"
    malformed = [{"type": "BADGE", "badge": {"id": "not-a-uuid"}}]
    assert_fail(await post_reactor(client, tenant, reactions=malformed), 400, "INVALID_REACTION")


async def test_a_webhook_needs_an_http_url(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    for url in ("ftp://files.example.com/hook", "https://", "hooks.example.com/loyalty", None):
        reactions = [{"type": "WEBHOOK", "url": url}]
        data = assert_fail(await post_reactor(client, tenant, reactions=reactions), 400, "INVALID_REACTION")
        assert data["field"] == "reactions[0].url"
    bad_headers = [{"type": "WEBHOOK", "url": "https://hooks.example.com/x", "headers": {"X-A": 1}}]
    assert_fail(await post_reactor(client, tenant, reactions=bad_headers), 400, "INVALID_REACTION")
    good = [{"type": "WEBHOOK", "url": "https://hooks.example.com/x", "headers": {"X-Shop": "372"}}]
    reactor = ok(await post_reactor(client, tenant, reactions=good))
    assert reactor["reactions"] == [
        {"type": "WEBHOOK", "url": "https://hooks.example.com/x", "headers": {"X-Shop": "372"}}
    ]


async def test_an_attribute_reaction_needs_keys(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    for attributes in ([], None, [{"value": "v"}], [{"key": "", "value": "v"}], [{"key": "k", "colour": "red"}]):
        reactions = [{"type": "ATTRIBUTE", "attributes": attributes}]
        assert_fail(await post_reactor(client, tenant, reactions=reactions), 400, "INVALID_REACTION")


async def test_a_field_of_another_reaction_type_is_400_unknown_field(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    reactions = [{"type": "POINTS", "points": fixed(1), "url": "https://hooks.example.com/x"}]

    data = assert_fail(await post_reactor(client, tenant, reactions=reactions), 400, "UNKNOWN_FIELD")

    assert data["field"] == "reactions[0]"


async def test_max_activations_of_zero_is_400(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    for limit in (0, -1):
        data = assert_fail(await post_reactor(client, tenant, maxActivations=limit), 400, "VALIDATION_ERROR")
        assert [e["field"] for e in data["errors"]] == ["maxActivations"]


async def test_an_unknown_activation_context_is_400(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    data = assert_fail(
        await post_reactor(client, tenant, maxActivations=1, activationContext="PLANET"), 400, "VALIDATION_ERROR"
    )

    assert data["field"] == "activationContext"


async def test_an_effectivity_ending_before_it_starts_is_400(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    tomorrow = day(1)
    for effectivity in ({"start": day(2), "end": tomorrow}, {"start": tomorrow, "end": tomorrow}, {"end": day(-1)}):
        data = assert_fail(await post_reactor(client, tenant, effectivity=effectivity), 400, "INVALID_EFFECTIVITY")
        assert data["field"] == "effectivity.end"
    assert_fail(await post_reactor(client, tenant, effectivity={"begin": day(0)}), 400, "INVALID_EFFECTIVITY")
    assert_fail(await post_reactor(client, tenant, effectivity={"start": "next tuesday"}), 400, "INVALID_DATE")


async def test_unknown_fields_are_400_unknown_field(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    data = assert_fail(await post_reactor(client, tenant, priority=5), 400, "UNKNOWN_FIELD")

    assert [e["field"] for e in data["errors"]] == ["priority"]


async def test_wll_ownership_fields_are_400_unsupported_field(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    for extra in ({"isLocked": True}, {"ownerId": "o-1"}, {"ownerType": "CAMPAIGN"}):
        data = assert_fail(await post_reactor(client, tenant, **extra), 400, "UNSUPPORTED_FIELD")
        assert [e["field"] for e in data["errors"]] == list(extra)


async def test_a_name_of_one_character_is_400(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)

    assert_fail(await post_reactor(client, tenant, name="X"), 400, "VALIDATION_ERROR")


async def test_pos_cannot_create_or_read_reactors(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    reactor = await create_reactor(client, tenant)

    answer = await client.post("/v1/event_reactors", headers=tenant.pos, json=reactor_body())

    assert_fail(answer, 403, "FORBIDDEN")
    assert_fail(await client.get("/v1/event_reactors", headers=tenant.pos), 403, "FORBIDDEN")
    assert_fail(await client.get(f"/v1/event_reactors/{reactor['id']}", headers=tenant.pos), 403, "FORBIDDEN")
    patch = await client.patch(f"/v1/event_reactors/{reactor['id']}", headers=tenant.pos, json={"name": "Mine"})
    assert_fail(patch, 403, "FORBIDDEN")
    assert_fail(await client.delete(f"/v1/event_reactors/{reactor['id']}", headers=tenant.pos), 403, "FORBIDDEN")
    listed = ok(await client.get("/v1/event_reactors", headers=tenant.admin))
    assert [r["id"] for r in listed] == [reactor["id"]]


async def test_an_unknown_reactor_is_404(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    other = await make_tenant(client, db, "other shop")
    await create_type(client, other)
    foreign = await create_reactor(client, other)

    for reactor_id in (str(uuid.uuid4()), "not-an-id", foreign["id"]):
        assert_fail(
            await client.get(f"/v1/event_reactors/{reactor_id}", headers=tenant.admin), 404, "REACTOR_NOT_FOUND"
        )
        answer = await client.patch(f"/v1/event_reactors/{reactor_id}", headers=tenant.admin, json={"name": "Mine"})
        assert_fail(answer, 404, "REACTOR_NOT_FOUND")
        assert_fail(
            await client.delete(f"/v1/event_reactors/{reactor_id}", headers=tenant.admin), 404, "REACTOR_NOT_FOUND"
        )
    assert (
        ok(await client.get(f"/v1/event_reactors/{foreign['id']}", headers=other.admin))["effectivity"]["end"] is None
    )


# ---- editing: a new version ----


async def test_patch_ends_the_old_version_and_creates_a_new_one(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    old = await create_reactor(client, tenant, description="Ten points a visit")
    before_patch = datetime.now(UTC)

    new = ok(
        await client.patch(
            f"/v1/event_reactors/{old['id']}", headers=tenant.admin, json={"reactions": [points_reaction(20)]}
        )
    )

    assert new["id"] != old["id"]
    assert new["previousVersionId"] == old["id"]
    assert (new["name"], new["description"], new["eventType"]) == ("Visit bonus", "Ten points a visit", "VISITED_SHOP")
    assert new["reactions"][0]["points"] == fixed(20)
    assert new["effectivity"]["end"] is None
    ended = ok(await client.get(f"/v1/event_reactors/{old['id']}", headers=tenant.admin))
    assert ended["effectivity"]["end"] is not None
    assert before_patch - timedelta(seconds=1) <= parse(ended["effectivity"]["end"]) <= datetime.now(UTC)
    assert ended["reactions"][0]["points"] == fixed(10)


async def test_the_next_event_uses_the_new_version(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    old = await create_reactor(client, tenant)
    member = await create_member(client, tenant.admin)
    first = await visit(client, tenant, member)

    new = ok(
        await client.patch(
            f"/v1/event_reactors/{old['id']}", headers=tenant.admin, json={"reactions": [points_reaction(20)]}
        )
    )
    second = await visit(client, tenant, member)

    assert [(r["reactorId"], r["points"]) for r in first["reactions"]] == [(old["id"], 10)]
    assert [(r["reactorId"], r["points"]) for r in second["reactions"]] == [(new["id"], 20)]
    assert await balance(client, tenant, member) == 30


async def test_the_list_shows_ended_versions_only_when_asked(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    old = await create_reactor(client, tenant)
    new = ok(await client.patch(f"/v1/event_reactors/{old['id']}", headers=tenant.admin, json={"name": "Renamed"}))

    live = await client.get("/v1/event_reactors", headers=tenant.admin)
    everything = await client.get("/v1/event_reactors", headers=tenant.admin, params={"includeEnded": "true"})

    assert [r["id"] for r in ok(live)] == [new["id"]]
    assert live.json()["meta"]["total"] == 1
    assert sorted(r["id"] for r in ok(everything)) == sorted([old["id"], new["id"]])
    assert everything.json()["meta"]["total"] == 2


async def test_the_list_filters_by_event_type(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    visit_reactor = await create_reactor(client, tenant)
    sign_up = await create_reactor(client, tenant, eventType="REGISTERED_ACCOUNT", name="Sign-up")

    visits = ok(await client.get("/v1/event_reactors", headers=tenant.admin, params={"eventType": "VISITED_SHOP"}))
    registered = ok(
        await client.get("/v1/event_reactors", headers=tenant.admin, params={"eventType": "REGISTERED_ACCOUNT"})
    )

    assert [r["id"] for r in visits] == [visit_reactor["id"]]
    assert [r["id"] for r in registered] == [sign_up["id"]]


async def test_an_ended_version_cannot_be_edited_again(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    old = await create_reactor(client, tenant)
    new = ok(await client.patch(f"/v1/event_reactors/{old['id']}", headers=tenant.admin, json={"name": "Second"}))

    again = await client.patch(f"/v1/event_reactors/{old['id']}", headers=tenant.admin, json={"name": "Third"})

    assert_fail(again, 409, "REACTOR_ENDED")
    everything = ok(await client.get("/v1/event_reactors", headers=tenant.admin, params={"includeEnded": "true"}))
    assert sorted(r["id"] for r in everything) == sorted([old["id"], new["id"]])
    assert ok(await client.get(f"/v1/event_reactors/{new['id']}", headers=tenant.admin))["name"] == "Second"


async def test_an_invalid_patch_leaves_the_reactor_running(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    reactor = await create_reactor(client, tenant)
    member = await create_member(client, tenant.admin)

    answer = await client.patch(
        f"/v1/event_reactors/{reactor['id']}", headers=tenant.admin, json={"constraint": {"type": "nope"}}
    )

    assert_fail(answer, 400, "INVALID_SCHEMA")
    assert ok(await client.get(f"/v1/event_reactors/{reactor['id']}", headers=tenant.admin)) == reactor
    assert [r["reactorId"] for r in (await visit(client, tenant, member))["reactions"]] == [reactor["id"]]


async def test_the_event_type_of_a_reactor_cannot_be_patched(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    reactor = await create_reactor(client, tenant)

    answer = await client.patch(
        f"/v1/event_reactors/{reactor['id']}", headers=tenant.admin, json={"eventType": "REGISTERED_ACCOUNT"}
    )

    assert_fail(answer, 400, "UNKNOWN_FIELD")


async def test_patch_may_remove_the_constraint_and_the_limit(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    old = await create_reactor(client, tenant, constraint={"required": ["shop"]}, maxActivations=1)

    new = ok(
        await client.patch(
            f"/v1/event_reactors/{old['id']}", headers=tenant.admin, json={"constraint": None, "maxActivations": None}
        )
    )

    assert (new["constraint"], new["maxActivations"]) == (None, None)


async def test_delete_ends_the_reactor_and_keeps_it_readable(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    reactor = await create_reactor(client, tenant)
    member = await create_member(client, tenant.admin)
    await visit(client, tenant, member)

    ended = ok(await client.delete(f"/v1/event_reactors/{reactor['id']}", headers=tenant.admin))
    after = await visit(client, tenant, member)

    assert ended["id"] == reactor["id"]
    assert ended["effectivity"]["end"] is not None
    assert after["reactions"] == []
    assert await balance(client, tenant, member) == 10
    assert ok(await client.get(f"/v1/event_reactors/{reactor['id']}", headers=tenant.admin)) == ended
    assert ok(await client.get("/v1/event_reactors", headers=tenant.admin)) == []
    listed = ok(await client.get("/v1/event_reactors", headers=tenant.admin, params={"includeEnded": "true"}))
    assert [r["id"] for r in listed] == [reactor["id"]]
    again = ok(await client.delete(f"/v1/event_reactors/{reactor['id']}", headers=tenant.admin))
    assert again["effectivity"]["end"] == ended["effectivity"]["end"]
    assert_fail(
        await client.patch(f"/v1/event_reactors/{reactor['id']}", headers=tenant.admin, json={"name": "Back"}),
        409,
        "REACTOR_ENDED",
    )


# ---- activation limits ----


async def test_activation_counts_restart_after_an_edit(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    old = await create_reactor(client, tenant, maxActivations=1)
    member = await create_member(client, tenant.admin)

    first = await visit(client, tenant, member)
    second = await visit(client, tenant, member)
    new = ok(await client.patch(f"/v1/event_reactors/{old['id']}", headers=tenant.admin, json={"name": "Edited"}))
    third = await visit(client, tenant, member)
    fourth = await visit(client, tenant, member)

    assert [(r["status"], r["reason"]) for r in first["reactions"]] == [("APPLIED", None)]
    assert [(r["status"], r["reason"]) for r in second["reactions"]] == [("SKIPPED", "ACTIVATION_LIMIT_REACHED")]
    assert [(r["reactorId"], r["status"]) for r in third["reactions"]] == [(new["id"], "APPLIED")]
    assert [(r["status"], r["reason"]) for r in fourth["reactions"]] == [("SKIPPED", "ACTIVATION_LIMIT_REACHED")]
    assert await balance(client, tenant, member) == 20


async def test_a_subject_limit_counts_each_member_apart(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    await create_reactor(client, tenant, maxActivations=1, activationContext="SUBJECT")
    ada = await create_member(client, tenant.admin)
    bob = await create_member(client, tenant.admin)

    outcomes = [(await visit(client, tenant, member))["reactions"][0]["status"] for member in (ada, bob, ada, bob)]

    assert outcomes == ["APPLIED", "APPLIED", "SKIPPED", "SKIPPED"]
    assert (await balance(client, tenant, ada), await balance(client, tenant, bob)) == (10, 10)


async def test_a_global_limit_counts_every_member_together(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    await create_reactor(client, tenant, maxActivations=2, activationContext="GLOBAL")
    members = [await create_member(client, tenant.admin) for _ in range(3)]

    outcomes = [(await visit(client, tenant, member))["reactions"][0]["status"] for member in members]

    assert outcomes == ["APPLIED", "APPLIED", "SKIPPED"]


async def test_only_activations_whose_conditions_pass_are_counted(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    await create_reactor(
        client, tenant, maxActivations=1, constraint={"required": ["shop"], "properties": {"shop": {"const": "372"}}}
    )
    member = await create_member(client, tenant.admin)

    reasons = [
        (await visit(client, tenant, member, **payload))["reactions"][0]["reason"]
        for payload in ({"shop": "1"}, {"shop": "372"}, {"shop": "372"})
    ]

    assert reasons == ["CONDITION_NOT_MET", None, "ACTIVATION_LIMIT_REACHED"]
    assert await balance(client, tenant, member) == 10


# ---- ATTRIBUTE reactions ----


async def test_an_attribute_reaction_sets_profile_attributes(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    attributes = [
        {"isEnabled": True, "key": "favouriteShop", "value": "372"},
        {"isEnabled": True, "key": "visits", "value": 1},
        {"isEnabled": False, "key": "ignored", "value": "x"},
    ]
    await create_reactor(client, tenant, reactions=[{"type": "ATTRIBUTE", "attributes": attributes}])
    member = await create_member(
        client,
        tenant.admin,
        profile={
            "givenName": "Ada",
            "familyName": "Lovelace",
            "emailAddress": f"ada.{uuid.uuid4().hex[:8]}@example.com",
            "attributes": {"tier": "gold"},
        },
    )

    event = await visit(client, tenant, member)

    assert [(r["type"], r["status"]) for r in event["reactions"]] == [("ATTRIBUTE", "APPLIED")]
    assert event["reactions"][0]["detail"] == {"attributes": ["favouriteShop", "visits"]}
    profile = ok(await client.get(f"/v1/users/{member['id']}", headers=tenant.admin))["profile"]
    assert profile["attributes"] == {"tier": "gold", "favouriteShop": "372", "visits": 1}
    assert profile["givenName"] == "Ada"


# ---- BADGE reactions and badges ----


async def test_a_badge_reaction_awards_the_badge_and_emits_badge_awarded(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    badge = await create_badge(client, tenant)
    reactor = await create_reactor(client, tenant, reactions=[{"type": "BADGE", "badge": {"id": badge["id"]}}])
    member = await create_member(client, tenant.admin)

    event = await visit(client, tenant, member)

    [reaction] = event["reactions"]
    assert (reaction["reactorId"], reaction["type"], reaction["status"]) == (reactor["id"], "BADGE", "APPLIED")
    assert reaction["detail"]["badgeId"] == badge["id"]
    for headers in (tenant.admin, tenant.pos):
        [award] = await earned(client, headers, member)
        assert award["badge"]["id"] == badge["id"]
        assert award["userId"] == member["id"]
        assert award["eventId"] == reaction["detail"]["eventId"]
    [awarded] = await events_of(client, tenant, member, "BADGE_AWARDED")
    assert awarded["id"] == reaction["detail"]["eventId"]
    assert awarded["payload"] == {"badgeId": badge["id"], "badgeName": "Coffee lover", "comment": None}
    assert awarded["executor"] == f"reactor:{reactor['id']}"


async def test_a_badge_awarded_reactor_fires_from_a_badge_reaction(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    badge = await create_badge(client, tenant)
    await create_reactor(client, tenant, reactions=[{"type": "BADGE", "badge": {"id": badge["id"]}}])
    bonus = await create_reactor(
        client, tenant, eventType="BADGE_AWARDED", name="Badge bonus", reactions=[points_reaction(50)]
    )
    member = await create_member(client, tenant.admin)

    await visit(client, tenant, member)

    [awarded] = await events_of(client, tenant, member, "BADGE_AWARDED")
    assert [(r["reactorId"], r["status"], r["points"]) for r in awarded["reactions"]] == [(bonus["id"], "APPLIED", 50)]
    assert await balance(client, tenant, member) == 50


async def test_a_loop_of_badge_rules_stops(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    badge = await create_badge(client, tenant)
    award = [{"type": "BADGE", "badge": {"id": badge["id"]}}]
    await create_reactor(client, tenant, reactions=award)
    await create_reactor(client, tenant, eventType="BADGE_AWARDED", name="Again", reactions=award)
    member = await create_member(client, tenant.admin)

    await visit(client, tenant, member)

    awarded = await events_of(client, tenant, member, "BADGE_AWARDED")
    # The visit's award and three more from the loop; the deepest event is recorded without running reactors.
    assert len(awarded) == 4
    assert len(await earned(client, tenant.admin, member)) == 4
    assert sum(1 for e in awarded if e["reactions"] == []) == 1


async def test_an_inactive_badge_fails_the_reaction(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant)
    badge = await create_badge(client, tenant)
    await create_reactor(
        client, tenant, reactions=[{"type": "BADGE", "badge": {"id": badge["id"]}}, points_reaction(10)]
    )
    member = await create_member(client, tenant.admin)
    ok(await client.patch(f"/v1/badges/{badge['id']}", headers=tenant.admin, json={"status": "INACTIVE"}))

    event = await visit(client, tenant, member)

    assert [(r["type"], r["status"], r["reason"]) for r in event["reactions"]] == [
        ("BADGE", "FAILED", "BADGE_NOT_ACTIVE"),
        ("POINTS", "APPLIED", None),
    ]
    assert event["reactions"][0]["detail"] == {"badgeId": badge["id"]}
    assert await earned(client, tenant.admin, member) == []
    assert await events_of(client, tenant, member, "BADGE_AWARDED") == []
    assert await balance(client, tenant, member) == 10


async def test_the_award_badge_command_awards_and_emits_badge_awarded(client: httpx.AsyncClient, tenant: TenantKit):
    badge = await create_badge(client, tenant)
    bonus = await create_reactor(
        client, tenant, eventType="BADGE_AWARDED", name="Badge bonus", reactions=[points_reaction(50)]
    )
    member = await create_member(client, tenant.admin)

    body = {"badgeId": badge["id"], "beneficiaryId": member["accountNumber"], "comment": "Barista's pick"}
    award = ok(await client.post("/v1/commands/award_badge", headers=tenant.admin, json=body))

    assert award["badge"]["id"] == badge["id"]
    assert award["userId"] == member["id"]
    assert award["comment"] == "Barista's pick"
    [awarded] = await events_of(client, tenant, member, "BADGE_AWARDED")
    assert awarded["id"] == award["eventId"]
    assert awarded["payload"] == {"badgeId": badge["id"], "badgeName": "Coffee lover", "comment": "Barista's pick"}
    assert awarded["executor"] == f"client:{tenant.admin_client_id}"
    assert [(r["reactorId"], r["points"]) for r in awarded["reactions"]] == [(bonus["id"], 50)]
    assert [a["id"] for a in await earned(client, tenant.pos, member)] == [award["id"]]
    assert await balance(client, tenant, member) == 50


async def test_the_award_badge_command_is_refused_for_bad_input(client: httpx.AsyncClient, tenant: TenantKit):
    badge = await create_badge(client, tenant)
    member = await create_member(client, tenant.admin)

    unknown_badge = {"badgeId": str(uuid.uuid4()), "beneficiaryId": member["id"]}
    assert_fail(
        await client.post("/v1/commands/award_badge", headers=tenant.admin, json=unknown_badge), 404, "BADGE_NOT_FOUND"
    )
    unknown_member = {"badgeId": badge["id"], "beneficiaryId": "nobody"}
    assert_fail(
        await client.post("/v1/commands/award_badge", headers=tenant.admin, json=unknown_member), 404, "USER_NOT_FOUND"
    )
    by_pos = {"badgeId": badge["id"], "beneficiaryId": member["id"]}
    assert_fail(await client.post("/v1/commands/award_badge", headers=tenant.pos, json=by_pos), 403, "FORBIDDEN")
    assert await earned(client, tenant.admin, member) == []
    assert await events_of(client, tenant, member, "BADGE_AWARDED") == []


async def test_earned_badges_need_a_member(client: httpx.AsyncClient, tenant: TenantKit):
    assert_fail(await client.get("/v1/badges/earned", headers=tenant.pos), 400, "USER_CONTEXT_REQUIRED")
    answer = await client.get("/v1/badges/earned", headers={**tenant.pos, "X-User-Id": "nobody"})
    assert_fail(answer, 404, "USER_NOT_FOUND")


async def test_badges_are_created_read_listed_and_patched(client: httpx.AsyncClient, tenant: TenantKit):
    body = {
        "internalName": "Coffee lover",
        "internalDescription": "Ten coffees",
        "details": [
            {"name": "Coffee lover", "locale": "en", "description": "You love coffee"},
            {"name": "Amateur de café", "locale": "fr"},
        ],
        "priority": 5,
    }
    created = ok(await client.post("/v1/badges", headers=tenant.admin, json=body))
    second = await create_badge(client, tenant, "Early bird")

    assert (created["internalName"], created["internalDescription"], created["priority"]) == (
        "Coffee lover",
        "Ten coffees",
        5,
    )
    assert created["status"] == "ACTIVE"
    assert created["details"] == [
        {"name": "Coffee lover", "locale": "en", "description": "You love coffee"},
        {"name": "Amateur de café", "locale": "fr"},
    ]
    for headers in (tenant.admin, tenant.pos):
        assert ok(await client.get(f"/v1/badges/{created['id']}", headers=headers)) == created
    listed = await client.get("/v1/badges", headers=tenant.pos)
    assert [b["id"] for b in ok(listed)] == [created["id"], second["id"]]
    assert listed.json()["meta"]["total"] == 2

    patched = ok(
        await client.patch(
            f"/v1/badges/{created['id']}", headers=tenant.admin, json={"status": "INACTIVE", "priority": 0}
        )
    )

    assert (patched["status"], patched["priority"], patched["internalName"]) == ("INACTIVE", 0, "Coffee lover")
    assert ok(await client.get(f"/v1/badges/{created['id']}", headers=tenant.admin)) == patched


async def test_badge_input_is_checked(client: httpx.AsyncClient, tenant: TenantKit):
    badge = await create_badge(client, tenant)

    assert_fail(await client.post("/v1/badges", headers=tenant.admin, json={"details": []}), 400, "VALIDATION_ERROR")
    bad_locale = {"internalName": "Klingon", "details": [{"name": "Klingon", "locale": "tlh"}]}
    assert_fail(await client.post("/v1/badges", headers=tenant.admin, json=bad_locale), 400, "VALIDATION_ERROR")
    assert_fail(
        await client.post("/v1/badges", headers=tenant.admin, json={"internalName": "X y", "points": 5}),
        400,
        "UNKNOWN_FIELD",
    )
    patch = await client.patch(f"/v1/badges/{badge['id']}", headers=tenant.admin, json={"status": "DELETED"})
    assert_fail(patch, 400, "VALIDATION_ERROR")
    assert_fail(await client.post("/v1/badges", headers=tenant.pos, json={"internalName": "Mine"}), 403, "FORBIDDEN")
    assert_fail(await client.get(f"/v1/badges/{uuid.uuid4()}", headers=tenant.admin), 404, "BADGE_NOT_FOUND")
    assert_fail(await client.get("/v1/badges/not-an-id", headers=tenant.admin), 404, "BADGE_NOT_FOUND")
