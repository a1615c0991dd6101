"""Event types over HTTP (contract §3.2–§3.3): custom types, the intrinsic catalogue, and reporting private
types with an event type's secret."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt

from loyalty.services import tenants as tenant_service
from loyalty.storage.database import Database
from tests.conftest import TenantKit, create_member, make_tenant

ISSUER = "https://idp.example.com/"
SHARED_SECRET = "event-types-idp-secret-0123456789-abcdefghijk"

PURCHASE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-06/schema#",
    "type": "object",
    "required": ["totalSpend"],
    "properties": {"totalSpend": {"type": "number"}, "transactionId": {"type": "string"}},
}

INTRINSIC = (
    "REGISTERED_ACCOUNT",
    "PROFILE_UPDATED",
    "CLOSED_ACCOUNT",
    "POINTS_ADJUSTED",
    "BADGE_AWARDED",
    "ORDER_PLACED",
    "PURCHASED_REWARD",
    "REDEEMED_VOUCHER",
    "BURNED_VOUCHER",
    "VOUCHER_GIVEN",
    "POINTS_EXPIRED",
    "AUDIENCE_JOINED",
    "AUDIENCE_LEFT",
)


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


def type_body(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": "A sale at the till", "schema": PURCHASE_SCHEMA, **extra}


async def create_type(client: httpx.AsyncClient, tenant: TenantKit, name: str, **extra: Any) -> dict[str, Any]:
    return dict(ok(await client.post("/v1/event_types", headers=tenant.admin, json=type_body(name, **extra))))


async def report(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/events", headers=headers, json=body)


async def secret_of(client: httpx.AsyncClient, tenant: TenantKit, id_or_name: str) -> str:
    return str(ok(await client.get(f"/v1/event_types/{id_or_name}/secret", headers=tenant.admin))["secret"])


def with_secret(tenant: TenantKit, secret: str) -> dict[str, str]:
    return {"X-Api-Key": tenant.api_key, "X-Event-Secret": secret}


async def member_headers(client: httpx.AsyncClient, db: Database, tenant: TenantKit) -> tuple[dict[str, Any], Any]:
    """A member and headers carrying a member token from the tenant's identity provider (HS256)."""
    config = {"algorithm": "HS256", "issuer": ISSUER, "sharedSecret": SHARED_SECRET}
    await db.run(lambda tx: tenant_service.set_user_auth(tx, uuid.UUID(tenant.tenant_id), config))
    member = await create_member(client, tenant.admin)
    issued = int(time.time())
    claims = {"sub": member["authIdentifier"], "iss": ISSUER, "iat": issued, "exp": issued + 600}
    token = jwt.encode(claims, SHARED_SECRET, algorithm="HS256")
    return member, {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {token}"}


# ---- creating ----


async def test_an_admin_creates_a_custom_event_type(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_type(
        client,
        tenant,
        "PURCHASE_COMPLETED",
        isPrivate=True,
        enhancers=["POINTS_ENHANCER", "RANDOM_NUMBER"],
        omitFromUserActivity=True,
        dedupeKeyPath="$.transactionId",
    )

    assert str(uuid.UUID(created["id"])) == created["id"]
    assert created["name"] == "PURCHASE_COMPLETED"
    assert created["description"] == "A sale at the till"
    assert created["schema"] == PURCHASE_SCHEMA
    assert created["isPrivate"] is True
    assert created["isActive"] is True
    assert created["enhancers"] == ["POINTS_ENHANCER", "RANDOM_NUMBER"]
    assert created["omitFromUserActivity"] is True
    assert created["dedupeKeyPath"] == "$.transactionId"
    assert created["isIntrinsic"] is False


async def test_a_new_event_type_defaults_to_public_active_and_an_object_schema(
    client: httpx.AsyncClient, tenant: TenantKit
):
    created = ok(await client.post("/v1/event_types", headers=tenant.admin, json={"name": "VISITED_SHOP"}))

    assert created["schema"] == {"type": "object"}
    assert (created["isPrivate"], created["isActive"], created["isIntrinsic"]) == (False, True, False)
    assert created["enhancers"] == []
    assert created["omitFromUserActivity"] is False
    assert created["dedupeKeyPath"] is None


async def test_a_duplicate_event_type_name_is_409(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED")

    again = await client.post("/v1/event_types", headers=tenant.admin, json=type_body("PURCHASE_COMPLETED"))

    assert_fail(again, 409, "EVENT_TYPE_ALREADY_EXISTS")


async def test_the_same_name_in_another_tenant_is_not_a_duplicate(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    other = await make_tenant(client, db, "other shop")
    await create_type(client, tenant, "PURCHASE_COMPLETED")
    await create_type(client, other, "PURCHASE_COMPLETED")


async def test_an_invalid_json_schema_is_400_invalid_schema(client: httpx.AsyncClient, tenant: TenantKit):
    for schema in (
        {"type": "nope"},
        {"type": "object", "properties": {"totalSpend": {"type": "nope"}}},
        {"type": "object", "required": "totalSpend"},
        {"type": "object", "properties": {"totalSpend": {"minimum": "thirty"}}},
    ):
        answer = await client.post("/v1/event_types", headers=tenant.admin, json=type_body("BAD_SCHEMA", schema=schema))
        data = assert_fail(answer, 400, "INVALID_SCHEMA")
        assert data["field"] == "schema"
    assert (await client.get("/v1/event_types/BAD_SCHEMA", headers=tenant.admin)).status_code == 404


async def test_a_schema_that_is_not_of_type_object_is_400_invalid_schema(client: httpx.AsyncClient, tenant: TenantKit):
    for schema in ({}, {"properties": {"totalSpend": {"type": "number"}}}, {"type": "array"}):
        answer = await client.post("/v1/event_types", headers=tenant.admin, json=type_body("NO_TYPE", schema=schema))
        assert_fail(answer, 400, "INVALID_SCHEMA")


async def test_a_lower_case_name_is_400(client: httpx.AsyncClient, tenant: TenantKit):
    for name in ("purchase_completed", "Purchase", "PURCHASE-COMPLETED", "PURCHASE_", "A"):
        answer = await client.post("/v1/event_types", headers=tenant.admin, json=type_body(name))
        data = assert_fail(answer, 400, "VALIDATION_ERROR")
        assert [e["field"] for e in data["errors"]] == ["name"]


async def test_an_intrinsic_name_cannot_be_created(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post("/v1/event_types", headers=tenant.admin, json=type_body("REGISTERED_ACCOUNT"))

    assert_fail(answer, 400, "INTRINSIC_EVENT_TYPE")


async def test_an_unknown_enhancer_is_400_unknown_enhancer(client: httpx.AsyncClient, tenant: TenantKit):
    body = type_body("PURCHASE_COMPLETED", enhancers=["POINTS_ENHANCER", "HOROSCOPE"])

    data = assert_fail(await client.post("/v1/event_types", headers=tenant.admin, json=body), 400, "UNKNOWN_ENHANCER")

    assert data["field"] == "enhancers[1]"


async def test_the_audience_and_tier_enhancers_are_accepted(client: httpx.AsyncClient, tenant: TenantKit):
    body = type_body("PURCHASE_COMPLETED", enhancers=["AUDIENCE_ENHANCER", "TIER_ENHANCER"])

    answer = await client.post("/v1/event_types", headers=tenant.admin, json=body)

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["enhancers"] == ["AUDIENCE_ENHANCER", "TIER_ENHANCER"]


async def test_a_dedupe_key_path_without_the_root_is_400_invalid_jsonpath(client: httpx.AsyncClient, tenant: TenantKit):
    for path in ("id", "$.["):
        body = type_body("PURCHASE_COMPLETED", dedupeKeyPath=path)
        answer = await client.post("/v1/event_types", headers=tenant.admin, json=body)
        data = assert_fail(answer, 400, "INVALID_JSONPATH")
        assert data["field"] == "dedupeKeyPath"


async def test_meta_type_mappings_are_unsupported(client: httpx.AsyncClient, tenant: TenantKit):
    body = type_body("PURCHASE_COMPLETED", metaTypeMappings=[{"metaType": "TRANSACTION"}])

    data = assert_fail(await client.post("/v1/event_types", headers=tenant.admin, json=body), 400, "UNSUPPORTED_FIELD")

    assert [e["field"] for e in data["errors"]] == ["metaTypeMappings"]


async def test_an_unknown_field_is_400_unknown_field(client: httpx.AsyncClient, tenant: TenantKit):
    body = type_body("PURCHASE_COMPLETED", isIntrinsic=True)

    data = assert_fail(await client.post("/v1/event_types", headers=tenant.admin, json=body), 400, "UNKNOWN_FIELD")

    assert [e["field"] for e in data["errors"]] == ["isIntrinsic"]


# ---- reading ----


async def test_an_event_type_is_read_by_id_and_by_name(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_type(client, tenant, "PURCHASE_COMPLETED")

    by_id = ok(await client.get(f"/v1/event_types/{created['id']}", headers=tenant.admin))
    by_name = ok(await client.get("/v1/event_types/PURCHASE_COMPLETED", headers=tenant.admin))

    assert by_id == created
    assert by_name == created


async def test_an_unknown_event_type_is_404(client: httpx.AsyncClient, tenant: TenantKit):
    assert_fail(await client.get("/v1/event_types/NEVER_CREATED", headers=tenant.admin), 404, "EVENT_TYPE_NOT_FOUND")
    assert_fail(await client.get(f"/v1/event_types/{uuid.uuid4()}", headers=tenant.admin), 404, "EVENT_TYPE_NOT_FOUND")


async def test_another_tenants_event_type_is_404(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    other = await make_tenant(client, db, "other shop")
    created = await create_type(client, other, "PURCHASE_COMPLETED")

    assert_fail(await client.get(f"/v1/event_types/{created['id']}", headers=tenant.admin), 404, "EVENT_TYPE_NOT_FOUND")
    assert_fail(
        await client.get("/v1/event_types/PURCHASE_COMPLETED", headers=tenant.admin), 404, "EVENT_TYPE_NOT_FOUND"
    )


async def test_the_list_holds_custom_and_intrinsic_types(client: httpx.AsyncClient, tenant: TenantKit):
    first = await create_type(client, tenant, "PURCHASE_COMPLETED")
    second = await create_type(client, tenant, "REDEEMED_POINTS")

    answer = await client.get("/v1/event_types", headers=tenant.admin, params={"limit": 1000, "order": "ASC"})

    listed = ok(answer)
    by_name = {t["name"]: t for t in listed}
    assert [t["name"] for t in listed[:2]] == ["PURCHASE_COMPLETED", "REDEEMED_POINTS"]
    assert by_name["PURCHASE_COMPLETED"]["id"] == first["id"]
    assert by_name["REDEEMED_POINTS"]["id"] == second["id"]
    assert by_name["PURCHASE_COMPLETED"]["isIntrinsic"] is False
    for name in INTRINSIC:
        intrinsic = by_name[name]
        assert intrinsic["isIntrinsic"] is True, name
        assert intrinsic["schema"]["type"] == "object", name
        assert isinstance(intrinsic["schema"]["properties"], dict), name
    assert answer.json()["meta"]["total"] == len(listed)
    assert len(listed) == len({t["id"] for t in listed})


async def test_the_list_is_paginated(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED")
    everything = ok(await client.get("/v1/event_types", headers=tenant.admin, params={"limit": 1000, "order": "ASC"}))

    page = await client.get("/v1/event_types", headers=tenant.admin, params={"limit": 2, "skip": 1, "order": "ASC"})

    assert [t["name"] for t in ok(page)] == [t["name"] for t in everything[1:3]]
    assert page.json()["meta"] == {"limit": 2, "skip": 1, "total": len(everything)}


async def test_the_registered_account_schema_is_published(client: httpx.AsyncClient, tenant: TenantKit):
    published = ok(await client.get("/v1/event_types/REGISTERED_ACCOUNT", headers=tenant.admin))

    assert published["name"] == "REGISTERED_ACCOUNT"
    assert published["isIntrinsic"] is True
    assert published["isActive"] is True
    assert published["schema"]["type"] == "object"
    assert set(published["schema"]["required"]) == {"userId", "accountNumber"}
    assert set(published["schema"]["properties"]) >= {"userId", "accountNumber"}
    # Its id is stable, and reads back the same type.
    by_id = ok(await client.get(f"/v1/event_types/{published['id']}", headers=tenant.admin))
    assert by_id == published


async def test_pos_may_read_event_types_but_not_create_them(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED")

    assert ok(await client.get("/v1/event_types/PURCHASE_COMPLETED", headers=tenant.pos))["name"] == (
        "PURCHASE_COMPLETED"
    )
    assert ok(await client.get("/v1/event_types", headers=tenant.pos))
    assert_fail(
        await client.post("/v1/event_types", headers=tenant.pos, json=type_body("VISITED_SHOP")), 403, "FORBIDDEN"
    )
    patch = await client.patch("/v1/event_types/PURCHASE_COMPLETED", headers=tenant.pos, json={"isActive": False})
    assert_fail(patch, 403, "FORBIDDEN")
    assert_fail(await client.get("/v1/event_types/PURCHASE_COMPLETED/secret", headers=tenant.pos), 403, "FORBIDDEN")
    assert (await client.get("/v1/event_types/VISITED_SHOP", headers=tenant.admin)).status_code == 404


# ---- changing ----


async def test_patch_changes_description_activity_and_schema(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_type(client, tenant, "PURCHASE_COMPLETED")
    schema = {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}

    patched = ok(
        await client.patch(
            f"/v1/event_types/{created['id']}",
            headers=tenant.admin,
            json={"description": "A sale online", "isActive": False, "schema": schema},
        )
    )

    assert patched["id"] == created["id"]
    assert (patched["description"], patched["isActive"], patched["schema"]) == ("A sale online", False, schema)
    assert patched["isPrivate"] is False
    assert ok(await client.get("/v1/event_types/PURCHASE_COMPLETED", headers=tenant.admin)) == patched


async def test_patch_by_name_and_back_to_active(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", isActive=False)

    patched = ok(
        await client.patch("/v1/event_types/PURCHASE_COMPLETED", headers=tenant.admin, json={"isActive": True})
    )

    assert patched["isActive"] is True
    assert patched["schema"] == PURCHASE_SCHEMA


async def test_an_empty_dedupe_key_path_removes_duplicate_detection(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_type(client, tenant, "PURCHASE_COMPLETED", dedupeKeyPath="$.transactionId")

    patched = ok(
        await client.patch(f"/v1/event_types/{created['id']}", headers=tenant.admin, json={"dedupeKeyPath": ""})
    )

    assert patched["dedupeKeyPath"] is None


async def test_patch_checks_the_schema_and_enhancers(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_type(client, tenant, "PURCHASE_COMPLETED")
    url = f"/v1/event_types/{created['id']}"

    assert_fail(await client.patch(url, headers=tenant.admin, json={"schema": {"type": "nope"}}), 400, "INVALID_SCHEMA")
    assert_fail(await client.patch(url, headers=tenant.admin, json={"enhancers": ["X"]}), 400, "UNKNOWN_ENHANCER")
    assert_fail(await client.patch(url, headers=tenant.admin, json={"dedupeKeyPath": "id"}), 400, "INVALID_JSONPATH")
    assert ok(await client.get(url, headers=tenant.admin)) == created


async def test_an_event_type_cannot_be_renamed(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_type(client, tenant, "PURCHASE_COMPLETED")

    answer = await client.patch(f"/v1/event_types/{created['id']}", headers=tenant.admin, json={"name": "SALE_DONE"})

    data = assert_fail(answer, 400, "EVENT_TYPE_NAME_IMMUTABLE")
    assert data["field"] == "name"
    assert (
        ok(await client.get(f"/v1/event_types/{created['id']}", headers=tenant.admin))["name"] == "PURCHASE_COMPLETED"
    )
    # Repeating the current name is not a rename.
    same = await client.patch(
        f"/v1/event_types/{created['id']}", headers=tenant.admin, json={"name": "PURCHASE_COMPLETED"}
    )
    assert ok(same)["name"] == "PURCHASE_COMPLETED"


async def test_an_intrinsic_event_type_cannot_be_patched(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.patch("/v1/event_types/REGISTERED_ACCOUNT", headers=tenant.admin, json={"isActive": False})

    assert_fail(answer, 400, "INTRINSIC_EVENT_TYPE")
    assert ok(await client.get("/v1/event_types/REGISTERED_ACCOUNT", headers=tenant.admin))["isActive"] is True


async def test_patching_an_unknown_event_type_is_404(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.patch(f"/v1/event_types/{uuid.uuid4()}", headers=tenant.admin, json={"isActive": False})

    assert_fail(answer, 404, "EVENT_TYPE_NOT_FOUND")


async def test_meta_type_mappings_cannot_be_patched_in(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_type(client, tenant, "PURCHASE_COMPLETED")

    answer = await client.patch(f"/v1/event_types/{created['id']}", headers=tenant.admin, json={"metaTypeMappings": []})

    assert_fail(answer, 400, "UNSUPPORTED_FIELD")


# ---- secrets ----


async def test_the_secret_of_an_event_type_is_stable(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True)

    first = await secret_of(client, tenant, created["id"])
    again = await secret_of(client, tenant, created["id"])
    by_name = await secret_of(client, tenant, "STOCK_COUNTED")

    assert first == again == by_name
    assert len(first) >= 22


async def test_event_types_have_different_secrets(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True)
    await create_type(client, tenant, "SHELF_FILLED", isPrivate=True)
    other = await make_tenant(client, db, "other shop")
    await create_type(client, other, "STOCK_COUNTED", isPrivate=True)

    secrets = {
        await secret_of(client, tenant, "STOCK_COUNTED"),
        await secret_of(client, tenant, "SHELF_FILLED"),
        await secret_of(client, other, "STOCK_COUNTED"),
    }

    assert len(secrets) == 3


async def test_an_intrinsic_event_type_has_no_secret(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.get("/v1/event_types/REGISTERED_ACCOUNT/secret", headers=tenant.admin)

    assert_fail(answer, 400, "INTRINSIC_EVENT_TYPE")


async def test_a_private_type_is_reported_with_its_secret_and_no_token(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})
    secret = await secret_of(client, tenant, "STOCK_COUNTED")

    answer = await report(
        client, with_secret(tenant, secret), {"type": "STOCK_COUNTED", "subject": member["id"], "payload": {"n": 3}}
    )

    event = ok(answer)
    assert event["type"] == "STOCK_COUNTED"
    assert event["subject"] == member["id"]
    assert event["payload"] == {"n": 3}
    stored = ok(await client.get(f"/v1/events/{event['id']}", headers=tenant.admin))
    assert stored["id"] == event["id"]


async def test_a_wrong_secret_is_403_invalid_event_secret(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})
    secret = await secret_of(client, tenant, "STOCK_COUNTED")
    wrong = secret[:-2] + ("AA" if not secret.endswith("AA") else "BB")

    answer = await report(client, with_secret(tenant, wrong), {"type": "STOCK_COUNTED"})

    assert_fail(answer, 403, "INVALID_EVENT_SECRET")
    listed = await client.get("/v1/events", headers=tenant.admin, params={"type": "STOCK_COUNTED"})
    assert ok(listed) == []


async def test_the_secret_of_one_type_does_not_report_another(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})
    await create_type(client, tenant, "SHELF_FILLED", isPrivate=True, schema={"type": "object"})
    await create_type(client, tenant, "VISITED_SHOP", schema={"type": "object"})
    secret = await secret_of(client, tenant, "STOCK_COUNTED")

    assert_fail(
        await report(client, with_secret(tenant, secret), {"type": "SHELF_FILLED"}), 403, "INVALID_EVENT_SECRET"
    )
    assert_fail(
        await report(client, with_secret(tenant, secret), {"type": "VISITED_SHOP"}), 403, "INVALID_EVENT_SECRET"
    )
    assert ok(await report(client, with_secret(tenant, secret), {"type": "STOCK_COUNTED"}))["type"] == "STOCK_COUNTED"


async def test_a_secret_needs_the_api_key_of_its_tenant(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    other = await make_tenant(client, db, "other shop")
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})
    await create_type(client, other, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})
    secret = await secret_of(client, tenant, "STOCK_COUNTED")

    assert_fail(
        await report(client, with_secret(other, secret), {"type": "STOCK_COUNTED"}), 403, "INVALID_EVENT_SECRET"
    )
    no_key = await client.post("/v1/events", headers={"X-Event-Secret": secret}, json={"type": "STOCK_COUNTED"})
    assert_fail(no_key, 401, "INVALID_API_KEY")


async def test_a_secret_opens_no_other_endpoint(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})
    headers = with_secret(tenant, await secret_of(client, tenant, "STOCK_COUNTED"))

    assert_fail(await client.get("/v1/events", headers=headers), 401, "MISSING_TOKEN")
    assert_fail(await client.get("/v1/event_types", headers=headers), 401, "MISSING_TOKEN")
    dry_run = await client.post("/v1/events/test_reaction", headers=headers, json={"type": "STOCK_COUNTED"})
    assert_fail(dry_run, 401, "MISSING_TOKEN")


async def test_rotating_the_secret_replaces_it(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})
    old = await secret_of(client, tenant, "STOCK_COUNTED")
    assert ok(await report(client, with_secret(tenant, old), {"type": "STOCK_COUNTED"}))

    rotated = ok(await client.post(f"/v1/event_types/{created['id']}/secret/rotate", headers=tenant.admin))["secret"]

    assert rotated != old
    assert await secret_of(client, tenant, "STOCK_COUNTED") == rotated
    assert_fail(await report(client, with_secret(tenant, old), {"type": "STOCK_COUNTED"}), 403, "INVALID_EVENT_SECRET")
    assert ok(await report(client, with_secret(tenant, rotated), {"type": "STOCK_COUNTED"}))["type"] == "STOCK_COUNTED"


async def test_pos_cannot_rotate_a_secret(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True)
    old = await secret_of(client, tenant, "STOCK_COUNTED")

    assert_fail(await client.post("/v1/event_types/STOCK_COUNTED/secret/rotate", headers=tenant.pos), 403, "FORBIDDEN")
    assert await secret_of(client, tenant, "STOCK_COUNTED") == old


# ---- who may report a private type ----


async def test_a_member_token_cannot_report_a_private_type(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})
    _, headers = await member_headers(client, db, tenant)

    assert_fail(await report(client, headers, {"type": "STOCK_COUNTED"}), 403, "PRIVATE_EVENT_TYPE")
    listed = await client.get("/v1/events", headers=tenant.admin, params={"type": "STOCK_COUNTED"})
    assert ok(listed) == []


async def test_a_pos_token_reports_a_private_type(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})

    event = ok(await report(client, tenant.pos, {"type": "STOCK_COUNTED", "subject": member["accountNumber"]}))

    assert event["subject"] == member["id"]


async def test_an_admin_token_reports_a_private_type(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})

    assert ok(await report(client, tenant.admin, {"type": "STOCK_COUNTED"}))["subject"] is None


async def test_a_private_type_without_token_or_secret_is_401(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "STOCK_COUNTED", isPrivate=True, schema={"type": "object"})

    assert_fail(await report(client, tenant.anonymous, {"type": "STOCK_COUNTED"}), 401, "MISSING_TOKEN")
