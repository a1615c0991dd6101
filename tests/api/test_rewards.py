"""Rewards over HTTP (contract §4.1): every field checked when saved, archived instead of deleted, static codes
unique in the program; reward categories (§4.6)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from loyalty.services.config import config_version
from loyalty.storage.database import Database
from loyalty.storage.tables import voucher_codes
from tests.api.catalogue import (
    assert_fail,
    create_reward,
    enable_member_tokens,
    insert_audience,
    insert_code_pool,
    insert_tier,
    insert_venue,
    listed,
    member_headers,
    moment,
    names,
    ok,
    reward_body,
)
from tests.conftest import TenantKit, create_member, make_tenant

WLL_FIXTURE_KEYS = {
    "id",
    "createdAt",
    "updatedAt",
    "type",
    "codeType",
    "code",
    "hideCode",
    "name",
    "summary",
    "pictureUrl",
    "price",
    "value",
    "priority",
    "purchasable",
    "availability",
    "purchaseExpiration",
    "tier",
    "category",
    "discounts",
    "stockCapacity",
    "stockConsumed",
}


async def create_category(client: httpx.AsyncClient, kit: TenantKit, name: str = "Hot drinks") -> dict[str, Any]:
    return dict(ok(await client.post("/v1/reward_categories", headers=kit.admin, json={"name": name})))


async def static_codes(db: Database, kit: TenantKit) -> list[tuple[str, str, str | None]]:
    async def read(tx: Any) -> list[tuple[str, str, str | None]]:
        rows = await tx.execute(
            select(voucher_codes.c.value, voucher_codes.c.kind, voucher_codes.c.reward_id)
            .where(voucher_codes.c.tenant_id == uuid.UUID(kit.tenant_id))
            .order_by(voucher_codes.c.value)
        )
        return [(r.value, r.kind, str(r.reward_id) if r.reward_id else None) for r in rows]

    return await db.run(read, write=False)


# ---- creating and reading ----


async def test_a_minimal_reward_is_created_with_its_defaults(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_reward(client, tenant)
    assert set(created) >= WLL_FIXTURE_KEYS
    assert created["type"] == "VOUCHER"
    assert created["codeType"] == "HUMAN"
    assert created["code"] is None
    assert created["discounts"] == []
    assert created["stockConsumed"] == 0
    assert created["stockCapacity"] is None
    assert created["category"] is None
    assert created["tier"] is None
    assert created["stacking"] == "STACKABLE"
    assert created["defaultLocale"] == "en"
    assert created["reactorOnly"] is False
    assert created["archivedAt"] is None
    assert created["availability"]["end"] is None
    assert created["createdAt"].endswith("Z")

    read = ok(await client.get(f"/v1/rewards/{created['id']}", headers=tenant.admin))
    assert read == created


async def test_every_field_is_stored_and_answered_with_hydrated_category_and_tier(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    category = await create_category(client, tenant)
    gold = await insert_tier(db, tenant, "Gold", 2)
    venue = await insert_venue(db, tenant, "High Street")
    staff = await insert_audience(db, tenant, "Staff")
    students = await insert_audience(db, tenant, "Students")
    body = reward_body(
        name="Summer voucher",
        summary="Five off",
        description="Five pounds off any basket",
        pictureUrl="https://cdn.example.com/summer.png",
        price=250,
        value=500,
        currency="GBP",
        availability={"start": "2024-06-01", "end": "2099-09-01T00:00:00+02:00"},
        priority=7,
        category={"id": category["id"]},
        tier={"id": gold["id"]},
        venues=[{"id": venue["id"]}],
        redemptionChannels=["IN_STORE", "ONLINE"],
        purchasableForAudiences=[{"id": staff["id"]}],
        visibleToAudiences=[{"id": staff["id"]}, {"id": students["id"]}],
        codeType="STATIC",
        code={"value": "SUMMER5"},
        hideCode=True,
        purchaseExpiration=86400,
        stockCapacity=50,
        redeemOnPurchase=True,
        minTransactionAmount=3000,
        maxTransactionAmount=100000,
        stacking="EXCLUSIVE",
        details={"fr": {"name": "Bon d'été", "terms": "Un par client", "redemptionMessage": "Montrez ce code"}},
        defaultLocale="fr",
    )
    created = ok(await client.post("/v1/rewards", headers=tenant.admin, json=body))

    assert created["category"] == {"id": category["id"], "name": "Hot drinks"}
    assert created["tier"] == {"id": gold["id"], "name": "Gold", "priority": 2}
    assert created["availability"] == {"start": "2024-06-01T00:00:00.000Z", "end": "2099-08-31T22:00:00.000Z"}
    assert created["venues"] == [{"id": venue["id"]}]
    assert created["purchasableForAudiences"] == [{"id": staff["id"]}]
    assert created["visibleToAudiences"] == [{"id": staff["id"]}, {"id": students["id"]}]
    assert created["code"] == {"value": "SUMMER5"}
    assert created["details"] == {
        "fr": {"locale": "fr", "name": "Bon d'été", "terms": "Un par client", "redemptionMessage": "Montrez ce code"}
    }
    for field in (
        "name",
        "summary",
        "description",
        "pictureUrl",
        "price",
        "value",
        "currency",
        "priority",
        "redemptionChannels",
        "codeType",
        "hideCode",
        "purchaseExpiration",
        "stockCapacity",
        "redeemOnPurchase",
        "minTransactionAmount",
        "maxTransactionAmount",
        "stacking",
        "defaultLocale",
    ):
        assert created[field] == body[field], field
    assert ok(await client.get(f"/v1/rewards/{created['id']}", headers=tenant.admin)) == created


async def test_a_pool_reward_names_its_pool(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    pool = await insert_code_pool(db, tenant)
    created = await create_reward(client, tenant, codeType="POOL", codePool=pool)
    assert created["codePool"] == pool
    otp = await create_reward(client, tenant, codeType="OTP", code={"format": "PROMO-{code}"})
    assert otp["code"] == {"format": "PROMO-{code}"}


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"name": "A"}, "VALIDATION_ERROR", "name"),
        ({"price": 10_000_001}, "VALIDATION_ERROR", "price"),
        ({"price": -1}, "VALIDATION_ERROR", "price"),
        ({"price": True}, "VALIDATION_ERROR", "price"),
        ({"value": -5}, "VALIDATION_ERROR", "value"),
        ({"currency": "gbp"}, "VALIDATION_ERROR", "currency"),
        ({"priority": -1}, "VALIDATION_ERROR", "priority"),
        ({"pictureUrl": "ftp://cdn/x.png"}, "VALIDATION_ERROR", "pictureUrl"),
        ({"type": "BOGUS"}, "VALIDATION_ERROR", "type"),
        ({"type": "FIDEL_OFFER"}, "UNSUPPORTED_REWARD_TYPE", "type"),
        ({"availability": {"start": "2025-06-01", "end": "2025-05-01"}}, "INVALID_AVAILABILITY", "availability.end"),
        ({"availability": {"start": "2025-06-01", "end": "2025-06-01"}}, "INVALID_AVAILABILITY", "availability.end"),
        ({"availability": {"start": "next tuesday"}}, "INVALID_DATE", "availability.start"),
        ({"redemptionChannels": ["BY_POST"]}, "VALIDATION_ERROR", "redemptionChannels.0"),
        ({"codeType": "STATIC"}, "INVALID_CODE", "code"),
        ({"codeType": "STATIC", "code": {"value": "  "}}, "INVALID_CODE", "code.value"),
        ({"codeType": "STATIC", "code": {"value": "X", "format": "{code}"}}, "INVALID_CODE", "code"),
        ({"codeType": "OTP", "code": {"format": "PROMO"}}, "INVALID_CODE", "code.format"),
        ({"codeType": "OTP", "code": {"format": "{code}-{code}"}}, "INVALID_CODE", "code.format"),
        ({"codeType": "OTP", "code": {"value": "X"}}, "INVALID_CODE", "code"),
        ({"codeType": "HUMAN", "code": {"value": "X"}}, "INVALID_CODE", "code"),
        ({"codeType": "POOL"}, "INVALID_CODE", "codePool"),
        ({"codeType": "POOL", "codePool": {"id": str(uuid.uuid4())}}, "CODE_POOL_NOT_FOUND", "codePool.id"),
        ({"codePool": {"id": str(uuid.uuid4())}}, "INVALID_CODE", "codePool"),
        ({"purchaseExpiration": 0}, "VALIDATION_ERROR", "purchaseExpiration"),
        ({"stockCapacity": -1}, "VALIDATION_ERROR", "stockCapacity"),
        (
            {"minTransactionAmount": 3000, "maxTransactionAmount": 2999},
            "INVALID_TRANSACTION_AMOUNT",
            "maxTransactionAmount",
        ),
        ({"stacking": "BEST_ONLY"}, "VALIDATION_ERROR", "stacking"),
        ({"category": {"id": str(uuid.uuid4())}}, "CATEGORY_NOT_FOUND", "category.id"),
        ({"category": {"id": "not-a-uuid"}}, "VALIDATION_ERROR", "category.id"),
        ({"tier": {"id": str(uuid.uuid4())}}, "TIER_NOT_FOUND", "tier.id"),
        ({"venues": [{"id": str(uuid.uuid4())}]}, "VENUE_NOT_FOUND", "venues"),
        ({"visibleToAudiences": [{"id": str(uuid.uuid4())}]}, "AUDIENCE_NOT_FOUND", "visibleToAudiences"),
        ({"purchasableForAudiences": [{"id": str(uuid.uuid4())}]}, "AUDIENCE_NOT_FOUND", "purchasableForAudiences"),
        ({"details": {"xx": {"name": "Nope"}}}, "VALIDATION_ERROR", "details.xx.[key]"),
        ({"details": {"en": {"locale": "fr"}}}, "VALIDATION_ERROR", "body"),
        ({"visibilityCriteriaDefinition": {}}, "UNSUPPORTED_FIELD", "visibilityCriteriaDefinition"),
        ({"notificationConfig": {}}, "UNSUPPORTED_FIELD", "notificationConfig"),
        ({"fidelBrandId": "b"}, "UNSUPPORTED_FIELD", "fidelBrandId"),
        ({"terms": "In details, please"}, "UNSUPPORTED_FIELD", "terms"),
        ({"points": 5}, "UNKNOWN_FIELD", "points"),
    ],
)
async def test_an_invalid_definition_is_400_with_a_stable_code_and_nothing_is_saved(
    client: httpx.AsyncClient, tenant: TenantKit, overrides: dict[str, Any], code: str, field: str
):
    answer = await client.post("/v1/rewards", headers=tenant.admin, json=reward_body(**overrides))
    failure = assert_fail(answer, 400, code)
    fields = [e["field"] for e in failure.get("errors", [])] or [failure.get("field")]
    assert field in fields, failure
    assert await listed(client, tenant.admin, includeArchived="true") == []


@pytest.mark.parametrize("missing", ["type", "name", "price", "purchasable"])
async def test_the_required_fields_of_a_definition(client: httpx.AsyncClient, tenant: TenantKit, missing: str):
    body = reward_body()
    del body[missing]
    assert_fail(await client.post("/v1/rewards", headers=tenant.admin, json=body), 400, "VALIDATION_ERROR")


async def test_deleted_tiers_venues_and_audiences_cannot_be_named(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    tier = await insert_tier(db, tenant, "Retired", 1, deleted=True)
    venue = await insert_venue(db, tenant, "Closed shop", deleted=True)
    audience = await insert_audience(db, tenant, "Old segment", deleted=True)
    for overrides, code in (
        ({"tier": {"id": tier["id"]}}, "TIER_NOT_FOUND"),
        ({"venues": [{"id": venue["id"]}]}, "VENUE_NOT_FOUND"),
        ({"visibleToAudiences": [{"id": audience["id"]}]}, "AUDIENCE_NOT_FOUND"),
    ):
        assert_fail(await client.post("/v1/rewards", headers=tenant.admin, json=reward_body(**overrides)), 400, code)


async def test_another_tenants_category_tier_and_venue_are_unknown(client: httpx.AsyncClient, db: Database):
    shop = await make_tenant(client, db, "shop")
    rival = await make_tenant(client, db, "rival")
    category = await create_category(client, rival)
    tier = await insert_tier(db, rival, "Gold", 1)
    venue = await insert_venue(db, rival, "Rival street")
    for overrides, code in (
        ({"category": {"id": category["id"]}}, "CATEGORY_NOT_FOUND"),
        ({"tier": {"id": tier["id"]}}, "TIER_NOT_FOUND"),
        ({"venues": [{"id": venue["id"]}]}, "VENUE_NOT_FOUND"),
    ):
        assert_fail(await client.post("/v1/rewards", headers=shop.admin, json=reward_body(**overrides)), 400, code)


# ---- static codes ----


async def test_a_static_code_is_written_to_the_code_table_and_is_unique_in_the_program(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    first = await create_reward(client, tenant, codeType="STATIC", code={"value": "SUMMER5"})
    assert await static_codes(db, tenant) == [("SUMMER5", "STATIC", first["id"])]

    again = await client.post(
        "/v1/rewards", headers=tenant.admin, json=reward_body(codeType="STATIC", code={"value": "SUMMER5"})
    )
    assert assert_fail(again, 409, "CODE_ALREADY_EXISTS")["value"] == "SUMMER5"
    assert len(await listed(client, tenant.admin)) == 1
    assert await static_codes(db, tenant) == [("SUMMER5", "STATIC", first["id"])]

    # Another program may use the same value.
    other = await make_tenant(client, db, "other shop")
    await create_reward(client, other, codeType="STATIC", code={"value": "SUMMER5"})


async def test_of_many_rewards_claiming_one_static_code_at_once_exactly_one_wins(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    gate = asyncio.Event()

    async def claim(index: int) -> httpx.Response:
        await gate.wait()
        body = reward_body(name=f"Racer {index}", codeType="STATIC", code={"value": "RACE"})
        return await client.post("/v1/rewards", headers=tenant.admin, json=body)

    pending = [asyncio.ensure_future(claim(i)) for i in range(10)]
    gate.set()
    answers = await asyncio.gather(*pending)
    assert sorted(a.status_code for a in answers) == [200] + [409] * 9
    assert {a.json()["data"]["code"] for a in answers if a.status_code == 409} == {"CODE_ALREADY_EXISTS"}
    [winner] = [a.json()["data"] for a in answers if a.status_code == 200]
    assert await static_codes(db, tenant) == [("RACE", "STATIC", winner["id"])]
    assert [r["id"] for r in await listed(client, tenant.admin)] == [winner["id"]]


async def test_a_static_code_may_not_take_the_value_of_a_pool_code(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    pool = await insert_code_pool(db, tenant)
    await db.run(
        lambda tx: tx.execute(
            insert(voucher_codes).values(
                tenant_id=uuid.UUID(tenant.tenant_id),
                code_id=uuid.uuid4(),
                value="POOL-0001",
                kind="POOL",
                pool_id=uuid.UUID(pool["id"]),
                created_at=datetime.now(UTC),
            )
        )
    )
    answer = await client.post(
        "/v1/rewards", headers=tenant.admin, json=reward_body(codeType="STATIC", code={"value": "POOL-0001"})
    )
    assert_fail(answer, 409, "CODE_ALREADY_EXISTS")


async def test_changing_a_static_code_moves_the_value_and_frees_the_old_one(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    first = await create_reward(client, tenant, codeType="STATIC", code={"value": "SPRING"})
    second = await create_reward(client, tenant, codeType="STATIC", code={"value": "AUTUMN"})
    taken = await client.patch(f"/v1/rewards/{first['id']}", headers=tenant.admin, json={"code": {"value": "AUTUMN"}})
    assert_fail(taken, 409, "CODE_ALREADY_EXISTS")

    moved = ok(
        await client.patch(f"/v1/rewards/{first['id']}", headers=tenant.admin, json={"code": {"value": "SUMMER"}})
    )
    assert moved["code"] == {"value": "SUMMER"}
    assert await static_codes(db, tenant) == [("AUTUMN", "STATIC", second["id"]), ("SUMMER", "STATIC", first["id"])]
    await create_reward(client, tenant, codeType="STATIC", code={"value": "SPRING"})


async def test_the_static_code_value_is_shown_to_admins_only(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    created = await create_reward(client, tenant, codeType="STATIC", code={"value": "SECRET10"})
    await enable_member_tokens(db, tenant)
    member = await create_member(client, tenant.admin)
    admin_view = ok(await client.get(f"/v1/rewards/{created['id']}", headers=tenant.admin))
    pos_view = ok(await client.get(f"/v1/rewards/{created['id']}", headers=tenant.pos))
    member_view = ok(await client.get(f"/v1/rewards/{created['id']}", headers=member_headers(tenant, member)))
    assert admin_view["code"] == {"value": "SECRET10"}
    assert pos_view["code"] is None
    assert member_view["code"] is None
    assert "SECRET10" not in str(await listed(client, tenant.pos))


# ---- changing ----


async def test_a_patch_changes_only_the_fields_sent_and_null_clears_optional_ones(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    gold = await insert_tier(db, tenant, "Gold", 2)
    created = await create_reward(client, tenant, tier={"id": gold["id"]}, summary="Old", stockCapacity=5)
    changed = ok(
        await client.patch(
            f"/v1/rewards/{created['id']}",
            headers=tenant.admin,
            json={"name": "Free flat white", "tier": None, "stockCapacity": None, "price": 150},
        )
    )
    assert changed["name"] == "Free flat white"
    assert changed["tier"] is None
    assert changed["stockCapacity"] is None
    assert changed["price"] == 150
    assert changed["summary"] == "Old"
    assert changed["availability"] == created["availability"]
    assert changed["createdAt"] == created["createdAt"]
    assert changed["updatedAt"] >= created["updatedAt"]
    assert ok(await client.get(f"/v1/rewards/{created['id']}", headers=tenant.admin)) == changed


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"name": None}, "VALIDATION_ERROR"),
        ({"availability": None}, "VALIDATION_ERROR"),
        ({"type": "GENERIC_OFFER"}, "REWARD_FIELD_IMMUTABLE"),
        ({"codeType": "OTP"}, "REWARD_FIELD_IMMUTABLE"),
        ({"maxTransactionAmount": 100}, "INVALID_TRANSACTION_AMOUNT"),
        ({"availability": {"start": "2030-01-01", "end": "2029-01-01"}}, "INVALID_AVAILABILITY"),
        ({"code": {"value": "X"}}, "INVALID_CODE"),
        ({"tier": {"id": str(uuid.uuid4())}}, "TIER_NOT_FOUND"),
        ({"visibilityCriteriaPatch": {}}, "UNSUPPORTED_FIELD"),
        ({"stockConsumed": 0}, "UNKNOWN_FIELD"),
    ],
)
async def test_an_invalid_patch_is_400_and_changes_nothing(
    client: httpx.AsyncClient, tenant: TenantKit, patch: dict[str, Any], code: str
):
    created = await create_reward(client, tenant, minTransactionAmount=500)
    assert_fail(await client.patch(f"/v1/rewards/{created['id']}", headers=tenant.admin, json=patch), 400, code)
    assert ok(await client.get(f"/v1/rewards/{created['id']}", headers=tenant.admin)) == created


async def test_sending_the_same_type_again_is_not_a_change(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_reward(client, tenant)
    same = await client.patch(
        f"/v1/rewards/{created['id']}", headers=tenant.admin, json={"type": "VOUCHER", "codeType": "HUMAN"}
    )
    assert ok(same)["type"] == "VOUCHER"


async def test_configuration_writes_bump_the_config_version(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    tenant_id = uuid.UUID(tenant.tenant_id)

    async def version() -> int:
        return await db.run(lambda tx: config_version(tx, tenant_id), write=False)

    seen = [await version()]
    created = await create_reward(client, tenant)
    seen.append(await version())
    ok(await client.patch(f"/v1/rewards/{created['id']}", headers=tenant.admin, json={"priority": 3}))
    seen.append(await version())
    ok(await client.delete(f"/v1/rewards/{created['id']}", headers=tenant.admin))
    seen.append(await version())
    ok(await client.post("/v1/reward_categories", headers=tenant.admin, json={"name": "Food"}))
    seen.append(await version())
    # Every write gives the configuration a new version (never one seen before).
    assert len(set(seen)) == len(seen)


# ---- archiving ----


async def test_deleting_archives_the_reward(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    kept = await create_reward(client, tenant, name="Kept")
    gone = await create_reward(client, tenant, name="Gone")
    archived = ok(await client.delete(f"/v1/rewards/{gone['id']}", headers=tenant.admin))
    assert archived["archivedAt"] is not None
    again = ok(await client.delete(f"/v1/rewards/{gone['id']}", headers=tenant.admin))
    assert again["archivedAt"] == archived["archivedAt"]

    assert ok(await client.get(f"/v1/rewards/{gone['id']}", headers=tenant.admin))["archivedAt"] is not None
    assert names(await listed(client, tenant.admin)) == {"Kept"}
    assert names(await listed(client, tenant.admin, includeArchived="true")) == {"Kept", "Gone"}
    assert names(await listed(client, tenant.pos, includeArchived="true")) == {"Kept"}

    await enable_member_tokens(db, tenant)
    member = await create_member(client, tenant.admin)
    as_member = member_headers(tenant, member)
    assert names(await listed(client, as_member, includeArchived="true")) == {"Kept"}
    assert_fail(await client.get(f"/v1/rewards/{gone['id']}", headers=as_member), 404, "REWARD_NOT_FOUND")
    assert ok(await client.get(f"/v1/rewards/{kept['id']}", headers=as_member))["id"] == kept["id"]

    assert_fail(
        await client.patch(f"/v1/rewards/{gone['id']}", headers=tenant.admin, json={"name": "Back"}),
        409,
        "REWARD_ARCHIVED",
    )


# ---- access, tenancy, pagination ----


async def test_only_admins_write_rewards(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    created = await create_reward(client, tenant)
    await enable_member_tokens(db, tenant)
    member = member_headers(tenant, await create_member(client, tenant.admin))
    for headers in (tenant.pos, member):
        assert_fail(await client.post("/v1/rewards", headers=headers, json=reward_body()), 403, "FORBIDDEN")
        assert_fail(
            await client.patch(f"/v1/rewards/{created['id']}", headers=headers, json={"name": "Mine"}), 403, "FORBIDDEN"
        )
        assert_fail(await client.delete(f"/v1/rewards/{created['id']}", headers=headers), 403, "FORBIDDEN")
    assert ok(await client.get(f"/v1/rewards/{created['id']}", headers=tenant.admin)) == created


async def test_another_tenants_reward_is_not_found(client: httpx.AsyncClient, db: Database):
    shop = await make_tenant(client, db, "shop")
    rival = await make_tenant(client, db, "rival")
    created = await create_reward(client, shop)
    path = f"/v1/rewards/{created['id']}"
    assert_fail(await client.get(path, headers=rival.admin), 404, "REWARD_NOT_FOUND")
    assert_fail(await client.patch(path, headers=rival.admin, json={"name": "Taken"}), 404, "REWARD_NOT_FOUND")
    assert_fail(await client.delete(path, headers=rival.admin), 404, "REWARD_NOT_FOUND")
    assert await listed(client, rival.admin) == []
    assert ok(await client.get(path, headers=shop.admin))["name"] == "Free coffee"


@pytest.mark.parametrize("path", ["/v1/rewards/not-a-uuid", f"/v1/rewards/{uuid.uuid4()}"])
async def test_an_unknown_reward_is_404(client: httpx.AsyncClient, tenant: TenantKit, path: str):
    assert_fail(await client.get(path, headers=tenant.admin), 404, "REWARD_NOT_FOUND")


async def test_the_list_is_ordered_by_priority_then_creation_and_paginated(
    client: httpx.AsyncClient, tenant: TenantKit
):
    for name, priority in (("Low", 0), ("High", 9), ("Middle", 5), ("Low again", 0)):
        await create_reward(client, tenant, name=name, priority=priority)
    assert [r["name"] for r in await listed(client, tenant.admin)] == ["High", "Middle", "Low again", "Low"]
    assert [r["name"] for r in await listed(client, tenant.admin, order="ASC")] == [
        "High",
        "Middle",
        "Low",
        "Low again",
    ]

    page = await client.get("/v1/rewards", headers=tenant.admin, params={"limit": 2, "skip": 1})
    assert [r["name"] for r in ok(page)] == ["Middle", "Low again"]
    assert page.json()["meta"] == {"limit": 2, "skip": 1, "total": 4}
    assert [r["name"] for r in await listed(client, tenant.pos, limit=2, skip=1)] == ["Middle", "Low again"]


async def test_the_list_filters_by_type(client: httpx.AsyncClient, tenant: TenantKit):
    await create_reward(client, tenant, name="Voucher")
    await create_reward(client, tenant, name="Offer", type="GENERIC_OFFER", purchasable=False)
    assert names(await listed(client, tenant.admin, type="GENERIC_OFFER")) == {"Offer"}
    assert names(await listed(client, tenant.admin, type="VOUCHER")) == {"Voucher"}
    assert_fail(await client.get("/v1/rewards?type=FIDEL_OFFER", headers=tenant.admin), 400, "VALIDATION_ERROR")


# ---- categories ----


async def test_categories_are_created_listed_and_read(client: httpx.AsyncClient, tenant: TenantKit):
    drinks = await create_category(client, tenant, "Hot drinks")
    food = ok(
        await client.post(
            "/v1/reward_categories", headers=tenant.admin, json={"name": "Food", "description": "Things to eat"}
        )
    )
    assert set(food) == {"id", "name", "description", "createdAt"}
    answer = await client.get("/v1/reward_categories", headers=tenant.pos)
    assert [c["name"] for c in ok(answer)] == ["Food", "Hot drinks"]
    assert answer.json()["meta"]["total"] == 2
    assert ok(await client.get(f"/v1/reward_categories/{drinks['id']}", headers=tenant.pos)) == drinks


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "X"}, "VALIDATION_ERROR"),
        ({}, "VALIDATION_ERROR"),
        ({"name": "Drinks", "priority": 1}, "UNSUPPORTED_FIELD"),
        ({"name": "Drinks", "parent": {"id": str(uuid.uuid4())}}, "UNSUPPORTED_FIELD"),
        ({"name": "Drinks", "colour": "red"}, "UNKNOWN_FIELD"),
    ],
)
async def test_an_invalid_category_is_400(
    client: httpx.AsyncClient, tenant: TenantKit, body: dict[str, Any], code: str
):
    assert_fail(await client.post("/v1/reward_categories", headers=tenant.admin, json=body), 400, code)


async def test_only_admins_create_categories(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post("/v1/reward_categories", headers=tenant.pos, json={"name": "Drinks"})
    assert_fail(answer, 403, "FORBIDDEN")


async def test_a_categorys_rewards_are_those_the_caller_may_see(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    drinks = await create_category(client, tenant, "Drinks")
    food = await create_category(client, tenant, "Food")
    gold = await insert_tier(db, tenant, "Gold", 3)
    await create_reward(client, tenant, name="Coffee", category={"id": drinks["id"]})
    await create_reward(client, tenant, name="Gold tea", category={"id": drinks["id"]}, tier={"id": gold["id"]})
    await create_reward(client, tenant, name="Hidden cake", category={"id": drinks["id"]}, reactorOnly=True)
    await create_reward(client, tenant, name="Sandwich", category={"id": food["id"]})

    path = f"/v1/reward_categories/{drinks['id']}/rewards"
    assert names(ok(await client.get(path, headers=tenant.admin))) == {"Coffee", "Gold tea", "Hidden cake"}
    assert names(ok(await client.get(path, headers=tenant.pos))) == {"Coffee"}
    member = await create_member(client, tenant.admin)
    as_member = ok(await client.get(path, headers={**tenant.pos, "X-User-Id": member["id"]}))
    assert [(r["name"], r["category"]["name"], r["purchasableNow"]) for r in as_member] == [("Coffee", "Drinks", False)]

    assert_fail(
        await client.get(f"/v1/reward_categories/{uuid.uuid4()}/rewards", headers=tenant.admin),
        404,
        "CATEGORY_NOT_FOUND",
    )
    assert_fail(await client.get("/v1/reward_categories/nope", headers=tenant.admin), 404, "CATEGORY_NOT_FOUND")


async def test_another_tenants_category_is_not_found(client: httpx.AsyncClient, db: Database):
    shop = await make_tenant(client, db, "shop")
    rival = await make_tenant(client, db, "rival")
    category = await create_category(client, shop)
    assert_fail(
        await client.get(f"/v1/reward_categories/{category['id']}", headers=rival.admin), 404, "CATEGORY_NOT_FOUND"
    )
    assert ok(await client.get("/v1/reward_categories", headers=rival.admin)) == []


async def test_an_availability_in_the_future_is_accepted(client: httpx.AsyncClient, tenant: TenantKit):
    created = await create_reward(client, tenant, availability={"start": moment(30), "end": moment(60)})
    assert created["availability"]["start"] > created["createdAt"]


async def test_a_null_availability_on_create_means_from_now_on(client: httpx.AsyncClient, tenant: TenantKit) -> None:
    created = await create_reward(client, tenant, availability=None)
    assert created["availability"] == {"start": created["createdAt"], "end": None}
