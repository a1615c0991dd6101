"""A reward's discounts (contract §4.2): what a till applies for an offer or a voucher. Values are checked against
their type when saved, stored exactly, and answered as JSON numbers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from loyalty.storage.database import Database
from loyalty.storage.tables import reward_discounts
from tests.api.catalogue import (
    add_discount,
    assert_fail,
    create_offer,
    create_reward,
    insert_venue,
    ok,
)
from tests.conftest import TenantKit, make_tenant


async def stored_value(db: Database, kit: TenantKit, discount_id: str) -> str:
    async def read(tx: Any) -> str:
        return str(
            (
                await tx.execute(
                    select(reward_discounts.c.value).where(
                        reward_discounts.c.tenant_id == uuid.UUID(kit.tenant_id),
                        reward_discounts.c.discount_id == uuid.UUID(discount_id),
                    )
                )
            ).scalar_one()
        )

    return await db.run(read, write=False)


@pytest.mark.parametrize(
    ("kind", "value", "answered", "stored"),
    [
        ("ABSOLUTE", 500, 500, "500"),
        ("ABSOLUTE", 500.0, 500, "500"),
        ("PERCENTAGE", 10, 10, "10"),
        ("PERCENTAGE", 12.5, 12.5, "12.5"),
        ("PERCENTAGE", 33.333333, 33.333333, "33.333333"),
        ("PERCENTAGE", "7.25", 7.25, "7.25"),
        ("PERCENTAGE", 100, 100, "100"),
        ("FIXED", 0, 0, "0"),
        ("FIXED", 250, 250, "250"),
    ],
)
async def test_a_discount_is_created_with_201_and_its_value_is_a_json_number_stored_exactly(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit, kind: str, value: Any, answered: Any, stored: str
):
    reward = await create_offer(client, tenant)
    created = await add_discount(client, tenant, reward["id"], type=kind, value=value)
    assert created["type"] == kind
    assert created["value"] == answered
    assert type(created["value"]) is type(answered)
    assert created["rewardId"] == reward["id"]
    assert created["productSku"] is None
    assert created["sku"] is None
    assert created["venues"] == []
    assert await stored_value(db, tenant, created["id"]) == stored


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "ABSOLUTE", "value": 0}, "INVALID_DISCOUNT"),
        ({"type": "ABSOLUTE", "value": -100}, "INVALID_DISCOUNT"),
        ({"type": "ABSOLUTE", "value": 1.5}, "INVALID_DISCOUNT"),
        ({"type": "ABSOLUTE", "value": 2**60}, "INVALID_DISCOUNT"),
        ({"type": "PERCENTAGE", "value": 0}, "INVALID_DISCOUNT"),
        ({"type": "PERCENTAGE", "value": 100.5}, "INVALID_DISCOUNT"),
        ({"type": "PERCENTAGE", "value": 1000}, "INVALID_DISCOUNT"),
        ({"type": "PERCENTAGE", "value": 12.1234567}, "INVALID_DISCOUNT"),
        ({"type": "PERCENTAGE", "value": "ten"}, "INVALID_DISCOUNT"),
        ({"type": "PERCENTAGE", "value": "NaN"}, "INVALID_DISCOUNT"),
        ({"type": "FIXED", "value": -1}, "INVALID_DISCOUNT"),
        ({"type": "FIXED", "value": 99.9}, "INVALID_DISCOUNT"),
        ({"type": "ABSOLUTE", "value": 500, "productSku": "LATTE,,MOCHA"}, "INVALID_DISCOUNT"),
        ({"type": "ABSOLUTE", "value": True}, "VALIDATION_ERROR"),
        ({"type": "ABSOLUTE"}, "VALIDATION_ERROR"),
        ({"type": "BOGOF", "value": 1}, "VALIDATION_ERROR"),
        ({"type": "ABSOLUTE", "value": 500, "venues": [{"id": str(uuid.uuid4())}]}, "VENUE_NOT_FOUND"),
        ({"type": "ABSOLUTE", "value": 500, "amount": 3}, "UNKNOWN_FIELD"),
    ],
)
async def test_an_invalid_discount_is_400_and_nothing_is_saved(
    client: httpx.AsyncClient, tenant: TenantKit, body: dict[str, Any], code: str
):
    reward = await create_offer(client, tenant)
    assert_fail(await client.post(f"/v1/rewards/{reward['id']}/discounts", headers=tenant.admin, json=body), 400, code)
    assert ok(await client.get(f"/v1/rewards/{reward['id']}/discounts", headers=tenant.admin)) == []


async def test_skus_and_venues_are_kept(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    venue = await insert_venue(db, tenant, "Station kiosk")
    reward = await create_reward(client, tenant)
    created = await add_discount(
        client,
        tenant,
        reward["id"],
        type="PERCENTAGE",
        value=100,
        productSku=" LATTE, MOCHA ",
        sku="FREE-COFFEE",
        venues=[{"id": venue["id"]}],
    )
    assert created["productSku"] == "LATTE,MOCHA"
    assert created["sku"] == "FREE-COFFEE"
    assert created["venues"] == [{"id": venue["id"]}]
    deleted_venue = await insert_venue(db, tenant, "Closed", deleted=True)
    answer = await client.post(
        f"/v1/rewards/{reward['id']}/discounts",
        headers=tenant.admin,
        json={"type": "ABSOLUTE", "value": 100, "venues": [{"id": deleted_venue["id"]}]},
    )
    assert_fail(answer, 400, "VENUE_NOT_FOUND")


async def test_every_reward_answer_carries_its_discounts(client: httpx.AsyncClient, tenant: TenantKit):
    reward = await create_offer(client, tenant)
    assert reward["discounts"] == []
    first = await add_discount(client, tenant, reward["id"], type="PERCENTAGE", value=10)
    second = await add_discount(client, tenant, reward["id"], type="ABSOLUTE", value=500, productSku="CAKE")

    read = ok(await client.get(f"/v1/rewards/{reward['id']}", headers=tenant.admin))
    assert read["discounts"] == [first, second]
    assert read["updatedAt"] >= reward["updatedAt"]
    listed = ok(await client.get("/v1/rewards", headers=tenant.pos))
    assert listed[0]["discounts"] == [first, second]
    answer = await client.get(f"/v1/rewards/{reward['id']}/discounts", headers=tenant.pos)
    assert ok(answer) == [first, second]
    assert answer.json()["meta"] == {"limit": 20, "skip": 0, "total": 2}
    assert ok(await client.get(f"/v1/rewards/{reward['id']}/discounts/{second['id']}", headers=tenant.pos)) == second


async def test_a_patch_changes_the_fields_sent_and_checks_the_whole_discount(
    client: httpx.AsyncClient, tenant: TenantKit
):
    reward = await create_offer(client, tenant)
    created = await add_discount(client, tenant, reward["id"], type="PERCENTAGE", value=12.5, productSku="CAKE")
    path = f"/v1/rewards/{reward['id']}/discounts/{created['id']}"

    assert_fail(await client.patch(path, headers=tenant.admin, json={"type": "ABSOLUTE"}), 400, "INVALID_DISCOUNT")
    assert_fail(await client.patch(path, headers=tenant.admin, json={"value": None}), 400, "VALIDATION_ERROR")
    assert_fail(
        await client.patch(path, headers=tenant.admin, json={"reward": {"id": reward["id"]}}), 400, "UNSUPPORTED_FIELD"
    )
    assert ok(await client.get(path, headers=tenant.admin)) == created

    changed = ok(await client.patch(path, headers=tenant.admin, json={"type": "ABSOLUTE", "value": 300}))
    assert (changed["type"], changed["value"], changed["productSku"]) == ("ABSOLUTE", 300, "CAKE")
    cleared = ok(await client.patch(path, headers=tenant.admin, json={"productSku": None}))
    assert (cleared["type"], cleared["value"], cleared["productSku"]) == ("ABSOLUTE", 300, None)
    assert ok(await client.get(f"/v1/rewards/{reward['id']}", headers=tenant.admin))["discounts"] == [cleared]


async def test_deleting_a_discount_answers_it_and_removes_it(client: httpx.AsyncClient, tenant: TenantKit):
    reward = await create_offer(client, tenant)
    kept = await add_discount(client, tenant, reward["id"], type="FIXED", value=0, sku="COFFEE")
    gone = await add_discount(client, tenant, reward["id"], type="PERCENTAGE", value=5)
    path = f"/v1/rewards/{reward['id']}/discounts/{gone['id']}"
    assert ok(await client.delete(path, headers=tenant.admin)) == gone
    assert_fail(await client.get(path, headers=tenant.admin), 404, "DISCOUNT_NOT_FOUND")
    assert_fail(await client.delete(path, headers=tenant.admin), 404, "DISCOUNT_NOT_FOUND")
    assert ok(await client.get(f"/v1/rewards/{reward['id']}", headers=tenant.admin))["discounts"] == [kept]


async def test_a_discount_is_found_only_under_its_own_reward(client: httpx.AsyncClient, tenant: TenantKit):
    reward = await create_offer(client, tenant)
    other = await create_offer(client, tenant)
    created = await add_discount(client, tenant, reward["id"], type="PERCENTAGE", value=5)
    wrong = f"/v1/rewards/{other['id']}/discounts/{created['id']}"
    assert_fail(await client.get(wrong, headers=tenant.admin), 404, "DISCOUNT_NOT_FOUND")
    assert_fail(await client.patch(wrong, headers=tenant.admin, json={"value": 6}), 404, "DISCOUNT_NOT_FOUND")
    assert_fail(await client.delete(wrong, headers=tenant.admin), 404, "DISCOUNT_NOT_FOUND")
    for path in (f"/v1/rewards/{uuid.uuid4()}/discounts", f"/v1/rewards/{uuid.uuid4()}/discounts/{created['id']}"):
        assert_fail(await client.get(path, headers=tenant.admin), 404, "REWARD_NOT_FOUND")
    unknown = await client.post(
        f"/v1/rewards/{uuid.uuid4()}/discounts", headers=tenant.admin, json={"type": "PERCENTAGE", "value": 5}
    )
    assert_fail(unknown, 404, "REWARD_NOT_FOUND")
    assert_fail(
        await client.get(f"/v1/rewards/{reward['id']}/discounts/not-a-uuid", headers=tenant.admin),
        404,
        "DISCOUNT_NOT_FOUND",
    )


async def test_another_tenants_discounts_are_not_found(client: httpx.AsyncClient, db: Database):
    shop = await make_tenant(client, db, "shop")
    rival = await make_tenant(client, db, "rival")
    reward = await create_offer(client, shop)
    created = await add_discount(client, shop, reward["id"], type="PERCENTAGE", value=5)
    path = f"/v1/rewards/{reward['id']}/discounts"
    assert_fail(await client.get(path, headers=rival.admin), 404, "REWARD_NOT_FOUND")
    assert_fail(
        await client.post(path, headers=rival.admin, json={"type": "ABSOLUTE", "value": 1}), 404, "REWARD_NOT_FOUND"
    )
    assert_fail(await client.delete(f"{path}/{created['id']}", headers=rival.admin), 404, "REWARD_NOT_FOUND")
    assert ok(await client.get(path, headers=shop.admin)) == [created]


async def test_an_archived_rewards_discounts_are_read_only(client: httpx.AsyncClient, tenant: TenantKit):
    reward = await create_offer(client, tenant)
    created = await add_discount(client, tenant, reward["id"], type="PERCENTAGE", value=5)
    ok(await client.delete(f"/v1/rewards/{reward['id']}", headers=tenant.admin))
    path = f"/v1/rewards/{reward['id']}/discounts"
    answer = await client.post(path, headers=tenant.admin, json={"type": "ABSOLUTE", "value": 1})
    assert_fail(answer, 409, "REWARD_ARCHIVED")
    assert_fail(
        await client.patch(f"{path}/{created['id']}", headers=tenant.admin, json={"value": 9}), 409, "REWARD_ARCHIVED"
    )
    assert_fail(await client.delete(f"{path}/{created['id']}", headers=tenant.admin), 409, "REWARD_ARCHIVED")
    assert ok(await client.get(path, headers=tenant.admin)) == [created]


async def test_pos_reads_discounts_but_only_admins_change_them(client: httpx.AsyncClient, tenant: TenantKit):
    reward = await create_offer(client, tenant)
    created = await add_discount(client, tenant, reward["id"], type="PERCENTAGE", value=5)
    path = f"/v1/rewards/{reward['id']}/discounts"
    assert ok(await client.get(path, headers=tenant.pos)) == [created]
    assert_fail(await client.post(path, headers=tenant.pos, json={"type": "ABSOLUTE", "value": 1}), 403, "FORBIDDEN")
    assert_fail(await client.patch(f"{path}/{created['id']}", headers=tenant.pos, json={"value": 9}), 403, "FORBIDDEN")
    assert_fail(await client.delete(f"{path}/{created['id']}", headers=tenant.pos), 403, "FORBIDDEN")
    assert ok(await client.get(path, headers=tenant.admin)) == [created]


async def test_a_replayed_discount_creation_answers_201_once(client: httpx.AsyncClient, tenant: TenantKit):
    reward = await create_offer(client, tenant)
    path = f"/v1/rewards/{reward['id']}/discounts"
    headers = {**tenant.admin, "Idempotency-Key": "discount-1"}
    first = await client.post(path, headers=headers, json={"type": "PERCENTAGE", "value": 15})
    again = await client.post(path, headers=headers, json={"type": "PERCENTAGE", "value": 15})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert len(ok(await client.get(path, headers=tenant.admin))) == 1
