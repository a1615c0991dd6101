from tests.conftest import TenantKit, adjust, create_member


async def test_member_points_round_trip(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    answer = await adjust(client, tenant.admin, member["accountNumber"], 40)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["balanceAfter"] == 40
    wallet = (await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos)).json()["data"]
    assert wallet["points"] == 40
    assert wallet["lifetimeEarn"] == 40
