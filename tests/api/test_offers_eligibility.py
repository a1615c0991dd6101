"""What a member sees in the catalogue, and whether they may buy it now (contract §4.1; WLL's "offers at POS").

Tier and audience membership are written straight into ``tiers``/``member_tiers`` and
``audiences``/``audience_members`` with ``db.run`` (see ``tests/api/catalogue.py``): eligibility only reads those
tables, so these tests hold whatever manages them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from loyalty.domain.eligibility import Eligibility, Reason
from loyalty.services import members as member_service
from loyalty.services import rewards as reward_service
from loyalty.storage.database import Database
from loyalty.storage.tables import audiences, tiers
from tests.api.catalogue import (
    add_discount,
    assert_fail,
    create_offer,
    create_reward,
    enable_member_tokens,
    insert_audience,
    insert_tier,
    join_audience,
    listed,
    member_headers,
    moment,
    names,
    ok,
    set_member_tier,
)
from tests.conftest import TenantKit, adjust, create_member


def by_name(rewards: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in rewards}


async def eligibility(
    db: Database, kit: TenantKit, reward: dict[str, Any], member: dict[str, Any] | None
) -> Eligibility:
    """What purchase_reward sees: the service call, not the listing."""
    tenant_id = uuid.UUID(kit.tenant_id)

    async def check(tx: Any) -> Eligibility:
        found = await reward_service.get_reward(tx, tenant_id, uuid.UUID(reward["id"]))
        who = await member_service.get_member(tx, tenant_id, uuid.UUID(member["id"])) if member else None
        return await reward_service.check_eligibility(tx, tenant_id, found, who, now=datetime.now(UTC))

    return await db.run(check, write=False)


@pytest.fixture
async def shop(client: httpx.AsyncClient, db: Database, tenant: TenantKit) -> TenantKit:
    await enable_member_tokens(db, tenant)
    return tenant


async def test_a_member_sees_the_offers_of_their_audiences_and_tier_and_not_the_others(
    client: httpx.AsyncClient, db: Database, shop: TenantKit
):
    silver = await insert_tier(db, shop, "Silver", 1)
    gold = await insert_tier(db, shop, "Gold", 2)
    platinum = await insert_tier(db, shop, "Platinum", 3)
    staff = await insert_audience(db, shop, "Staff")
    students = await insert_audience(db, shop, "Students")
    await create_offer(client, shop, name="Everyone 5%")
    await create_offer(client, shop, name="Staff 10%", visibleToAudiences=[{"id": staff["id"]}])
    await create_offer(client, shop, name="Students 15%", visibleToAudiences=[{"id": students["id"]}])
    await create_offer(
        client, shop, name="Staff or students", visibleToAudiences=[{"id": staff["id"]}, {"id": students["id"]}]
    )
    await create_offer(client, shop, name="Silver and up", tier={"id": silver["id"]})
    await create_offer(client, shop, name="Gold and up", tier={"id": gold["id"]})
    await create_offer(client, shop, name="Platinum only", tier={"id": platinum["id"]})
    await create_offer(
        client, shop, name="Gold staff", tier={"id": gold["id"]}, visibleToAudiences=[{"id": staff["id"]}]
    )

    gold_staff = await create_member(client, shop.admin)
    await set_member_tier(db, shop, gold_staff, gold)
    await join_audience(db, shop, staff, gold_staff)
    newcomer = await create_member(client, shop.admin)

    expected_for_gold_staff = {
        "Everyone 5%",
        "Staff 10%",
        "Staff or students",
        "Silver and up",
        "Gold and up",
        "Gold staff",
    }
    assert names(await listed(client, member_headers(shop, gold_staff))) == expected_for_gold_staff
    assert (
        names(await listed(client, {**shop.pos, "X-User-Id": gold_staff["accountNumber"]})) == expected_for_gold_staff
    )
    assert names(await listed(client, shop.pos, userId=gold_staff["authIdentifier"])) == expected_for_gold_staff
    assert names(await listed(client, member_headers(shop, newcomer))) == {"Everyone 5%"}
    # Without a member: the public catalogue for pos, everything for admins.
    assert names(await listed(client, shop.pos)) == {"Everyone 5%"}
    assert len(await listed(client, shop.admin)) == 8

    # Leaving the tier (a member below Silver) takes the tier offers away.
    await set_member_tier(db, shop, gold_staff, None)
    assert names(await listed(client, member_headers(shop, gold_staff))) == {
        "Everyone 5%",
        "Staff 10%",
        "Staff or students",
    }


async def test_the_offers_at_pos_call_returns_the_members_offers_with_their_discounts(
    client: httpx.AsyncClient, db: Database, shop: TenantKit
):
    staff = await insert_audience(db, shop, "Staff")
    staff_offer = await create_offer(client, shop, name="Staff 10%", visibleToAudiences=[{"id": staff["id"]}])
    discount = await add_discount(client, shop, staff_offer["id"], type="PERCENTAGE", value=10)
    await create_reward(client, shop, name="Free coffee voucher")
    member = await create_member(client, shop.admin)
    await join_audience(db, shop, staff, member)

    offers = await listed(client, {**shop.pos, "X-User-Id": member["id"]}, type="GENERIC_OFFER")
    assert [(o["name"], o["discounts"]) for o in offers] == [("Staff 10%", [discount])]
    assert offers[0]["purchasableNow"] is False
    assert offers[0]["reason"] == "NOT_PURCHASABLE"


async def test_reactor_only_rewards_never_show(client: httpx.AsyncClient, db: Database, shop: TenantKit):
    hidden = await create_reward(client, shop, name="Birthday cake", reactorOnly=True, price=0)
    await create_reward(client, shop, name="Coffee")
    member = await create_member(client, shop.admin)
    await adjust(client, shop.admin, member["id"], 1000)

    assert names(await listed(client, member_headers(shop, member))) == {"Coffee"}
    assert names(await listed(client, shop.pos)) == {"Coffee"}
    assert names(await listed(client, shop.admin, userId=member["id"])) == {"Coffee"}
    assert_fail(
        await client.get(f"/v1/rewards/{hidden['id']}", headers=member_headers(shop, member)), 404, "REWARD_NOT_FOUND"
    )
    assert names(await listed(client, shop.admin)) == {"Coffee", "Birthday cake"}
    assert await eligibility(db, shop, hidden, member) == Eligibility(False, False, Reason.NOT_AVAILABLE)


async def test_a_reward_outside_its_availability_window_never_shows(
    client: httpx.AsyncClient, db: Database, shop: TenantKit
):
    ended = await create_offer(client, shop, name="Last month", availability={"start": moment(-30), "end": moment(-1)})
    future = await create_offer(client, shop, name="Next month", availability={"start": moment(1), "end": moment(30)})
    await create_offer(client, shop, name="This week", availability={"start": moment(-1), "end": moment(6)})
    await create_offer(client, shop, name="From a date", availability={"start": "2020-01-01"})
    member = await create_member(client, shop.admin)

    for headers in (member_headers(shop, member), shop.pos):
        assert names(await listed(client, headers)) == {"This week", "From a date"}
    for reward in (ended, future):
        path = f"/v1/rewards/{reward['id']}"
        assert_fail(await client.get(path, headers=member_headers(shop, member)), 404, "REWARD_NOT_FOUND")
        assert await eligibility(db, shop, reward, member) == Eligibility(False, False, Reason.NOT_AVAILABLE)
    assert len(await listed(client, shop.admin)) == 4


async def test_archived_rewards_never_show_and_cannot_be_bought(
    client: httpx.AsyncClient, db: Database, shop: TenantKit
):
    archived = await create_reward(client, shop, name="Old voucher", price=0)
    ok(await client.delete(f"/v1/rewards/{archived['id']}", headers=shop.admin))
    member = await create_member(client, shop.admin)
    for headers in (member_headers(shop, member), {**shop.pos, "X-User-Id": member["id"]}, shop.pos):
        assert await listed(client, headers, includeArchived="true") == []
    assert_fail(
        await client.get(f"/v1/rewards/{archived['id']}", headers=member_headers(shop, member)), 404, "REWARD_NOT_FOUND"
    )
    assert await eligibility(db, shop, archived, member) == Eligibility(False, False, Reason.NOT_AVAILABLE)


async def test_purchasable_now_and_the_reason_for_each_case(client: httpx.AsyncClient, db: Database, shop: TenantKit):
    vip = await insert_audience(db, shop, "VIP")
    await create_reward(client, shop, name="Affordable", price=100)
    await create_reward(client, shop, name="Free", price=0)
    await create_reward(client, shop, name="Too dear", price=1000)
    await create_reward(client, shop, name="Display only", price=0, purchasable=False)
    await create_offer(client, shop, name="An offer")
    await create_reward(client, shop, name="Sold out", price=0, stockCapacity=0)
    await create_reward(client, shop, name="Stock left", price=0, stockCapacity=1)
    await create_reward(client, shop, name="VIP purchase", price=0, purchasableForAudiences=[{"id": vip["id"]}])
    member = await create_member(client, shop.admin)
    assert ok(await adjust(client, shop.admin, member["id"], 150))

    seen = by_name(await listed(client, member_headers(shop, member)))
    assert {name: (r["purchasableNow"], r["reason"]) for name, r in seen.items()} == {
        "Affordable": (True, None),
        "Free": (True, None),
        "Too dear": (False, "INSUFFICIENT_POINTS"),
        "Display only": (False, "NOT_PURCHASABLE"),
        "An offer": (False, "NOT_PURCHASABLE"),
        "Sold out": (False, "OUT_OF_STOCK"),
        "Stock left": (True, None),
        "VIP purchase": (False, "NOT_IN_AUDIENCE"),
    }

    # Joining the audience makes the VIP reward purchasable; the same answer by id.
    await join_audience(db, shop, vip, member)
    vip_reward = by_name(await listed(client, member_headers(shop, member)))["VIP purchase"]
    assert (vip_reward["purchasableNow"], vip_reward["reason"]) == (True, None)
    read = ok(await client.get(f"/v1/rewards/{vip_reward['id']}", headers=member_headers(shop, member)))
    assert (read["purchasableNow"], read["reason"]) == (True, None)


async def test_without_a_member_nothing_says_purchasable(client: httpx.AsyncClient, shop: TenantKit):
    created = await create_reward(client, shop, price=0)
    for headers in (shop.pos, shop.admin):
        [shown] = await listed(client, headers)
        assert (shown["purchasableNow"], shown["reason"]) == (None, None)
    assert ok(await client.get(f"/v1/rewards/{created['id']}", headers=shop.pos))["purchasableNow"] is None


async def test_a_member_below_the_tier_or_outside_the_audience_is_told_why(
    client: httpx.AsyncClient, db: Database, shop: TenantKit
):
    gold = await insert_tier(db, shop, "Gold", 2)
    silver = await insert_tier(db, shop, "Silver", 1)
    staff = await insert_audience(db, shop, "Staff")
    gold_reward = await create_reward(client, shop, name="Gold lounge", price=0, tier={"id": gold["id"]})
    staff_reward = await create_reward(
        client, shop, name="Staff meal", price=0, visibleToAudiences=[{"id": staff["id"]}]
    )
    member = await create_member(client, shop.admin)
    await set_member_tier(db, shop, member, silver)

    assert await eligibility(db, shop, gold_reward, member) == Eligibility(False, False, Reason.TIER_REQUIRED)
    assert await eligibility(db, shop, staff_reward, member) == Eligibility(False, False, Reason.NOT_IN_AUDIENCE)
    assert await eligibility(db, shop, gold_reward, None) == Eligibility(False, False, Reason.TIER_REQUIRED)
    for reward in (gold_reward, staff_reward):
        answer = await client.get(f"/v1/rewards/{reward['id']}", headers=member_headers(shop, member))
        assert_fail(answer, 404, "REWARD_NOT_FOUND")

    await set_member_tier(db, shop, member, gold)
    await join_audience(db, shop, staff, member)
    assert await eligibility(db, shop, gold_reward, member) == Eligibility(True, True, None)
    assert await eligibility(db, shop, staff_reward, member) == Eligibility(True, True, None)


async def test_deleted_and_inactive_audiences_and_a_deleted_tier_count_for_nothing(
    client: httpx.AsyncClient, db: Database, shop: TenantKit
):
    """Membership rows that outlive their audience or tier do not open anything."""
    gold = await insert_tier(db, shop, "Gold", 2)
    staff = await insert_audience(db, shop, "Staff")
    paused = await insert_audience(db, shop, "Paused", active=False)
    await create_offer(client, shop, name="Staff", visibleToAudiences=[{"id": staff["id"]}])
    await create_offer(client, shop, name="Paused", visibleToAudiences=[{"id": paused["id"]}])
    await create_offer(client, shop, name="Gold", tier={"id": gold["id"]})
    member = await create_member(client, shop.admin)
    await join_audience(db, shop, staff, member)
    await join_audience(db, shop, paused, member)
    await set_member_tier(db, shop, member, gold)
    assert names(await listed(client, member_headers(shop, member))) == {"Staff", "Gold"}

    async def delete_both(tx: Any) -> None:
        now = datetime.now(UTC)
        tenant_id = uuid.UUID(shop.tenant_id)
        await tx.execute(update(tiers).where(tiers.c.tenant_id == tenant_id).values(deleted_at=now))
        await tx.execute(
            update(audiences)
            .where(audiences.c.tenant_id == tenant_id, audiences.c.audience_id == uuid.UUID(staff["id"]))
            .values(deleted_at=now)
        )

    await db.run(delete_both)
    assert names(await listed(client, member_headers(shop, member))) == set()


async def test_a_member_token_lists_only_for_itself(client: httpx.AsyncClient, db: Database, shop: TenantKit):
    await create_reward(client, shop)
    me = await create_member(client, shop.admin)
    someone = await create_member(client, shop.admin)
    mine = member_headers(shop, me)
    assert_fail(await client.get("/v1/rewards", headers=mine, params={"userId": someone["id"]}), 403, "FORBIDDEN")
    assert_fail(await client.get("/v1/rewards", headers={**mine, "X-User-Id": someone["id"]}), 403, "FORBIDDEN")
    assert len(await listed(client, mine, userId=me["accountNumber"])) == 1
    unknown = await client.get("/v1/rewards", headers={**shop.pos, "X-User-Id": "0000000"})
    assert_fail(unknown, 404, "USER_NOT_FOUND")


async def test_a_members_list_is_paginated_after_filtering(client: httpx.AsyncClient, db: Database, shop: TenantKit):
    staff = await insert_audience(db, shop, "Staff")
    for index in range(5):
        await create_offer(client, shop, name=f"Public {index}", priority=index)
        await create_offer(
            client, shop, name=f"Staff {index}", priority=index, visibleToAudiences=[{"id": staff["id"]}]
        )
    member = await create_member(client, shop.admin)
    answer = await client.get("/v1/rewards", headers=member_headers(shop, member), params={"limit": 2, "skip": 1})
    assert [r["name"] for r in ok(answer)] == ["Public 3", "Public 2"]
    assert answer.json()["meta"] == {"limit": 2, "skip": 1, "total": 5}
