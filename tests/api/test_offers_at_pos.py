"""Offers at the till, end to end through the API: audiences and tiers decide which offers a member gets."""

from typing import Any

import httpx

from tests.conftest import TenantKit, adjust, create_member

STAFF_CRITERIA = {
    "properties": {"flags": {"properties": {"staff": {"const": True}}, "required": ["staff"]}},
    "required": ["flags"],
}


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["data"]


async def offer(client: httpx.AsyncClient, kit: TenantKit, name: str, percent: int, **restrictions: Any) -> dict:
    body = {"type": "GENERIC_OFFER", "name": name, "price": 0, "purchasable": False, **restrictions}
    created = ok(await client.post("/v1/rewards", headers=kit.admin, json=body))
    ok(
        await client.post(
            f"/v1/rewards/{created['id']}/discounts", headers=kit.admin, json={"type": "PERCENTAGE", "value": percent}
        )
    )
    return dict(created)


async def offers_for(client: httpx.AsyncClient, kit: TenantKit, member: dict) -> dict[str, list]:
    listed = ok(
        await client.get(
            "/v1/rewards", headers={**kit.pos, "X-User-Id": member["accountNumber"]}, params={"type": "GENERIC_OFFER"}
        )
    )
    return {o["name"]: [d["value"] for d in o["discounts"]] for o in listed}


async def test_a_staff_only_offer_appears_for_staff_only(client, tenant: TenantKit):
    criteria = {"criteriaFormat": "JSON_SCHEMA", "criteria": STAFF_CRITERIA, "triggerFrequency": "REACTIVE"}
    staff = ok(
        await client.post(
            "/v1/audiences",
            headers=tenant.admin,
            json={"name": "Staff", "criteriaDefinition": criteria, "sendAudienceJoinedEvent": True},
        )
    )
    await offer(client, tenant, "Staff 10%", 10, visibleToAudiences=[{"id": staff["id"]}])
    await offer(client, tenant, "Everyone 5%", 5)

    colleague = await create_member(client, tenant.admin, flags={"staff": True})
    customer = await create_member(client, tenant.admin)
    assert await offers_for(client, tenant, colleague) == {"Staff 10%": [10], "Everyone 5%": [5]}
    assert await offers_for(client, tenant, customer) == {"Everyone 5%": [5]}

    # Flags change: membership follows at once, and so do the offers.
    ok(await client.patch(f"/v1/users/{customer['id']}", headers=tenant.admin, json={"flags": {"staff": True}}))
    ok(await client.patch(f"/v1/users/{colleague['id']}", headers=tenant.admin, json={"flags": {"staff": False}}))
    assert await offers_for(client, tenant, customer) == {"Staff 10%": [10], "Everyone 5%": [5]}
    assert await offers_for(client, tenant, colleague) == {"Everyone 5%": [5]}


async def test_a_gold_offer_appears_once_the_member_earns_gold(client, tenant: TenantKit):
    ok(
        await client.post(
            "/v1/tiers",
            headers=tenant.admin,
            json={"name": "Silver", "pointsRequirement": 1000, "calculation": "LIFETIME_EARN", "priority": 1},
        )
    )
    gold = ok(
        await client.post(
            "/v1/tiers",
            headers=tenant.admin,
            json={"name": "Gold", "pointsRequirement": 5000, "calculation": "LIFETIME_EARN", "priority": 2},
        )
    )
    await offer(client, tenant, "Gold 20%", 20, tier={"id": gold["id"]})
    member = await create_member(client, tenant.admin)
    assert await offers_for(client, tenant, member) == {}
    assert (await adjust(client, tenant.admin, member["id"], 5000)).status_code == 200
    assert await offers_for(client, tenant, member) == {"Gold 20%": [20]}
    wallet = ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos))
    assert (wallet["tier"]["name"], wallet["tier"]["attained"]) == ("Gold", True)
