"""Vouchers at the till: purchase, redeem, validate and burn, with every row of the validate_voucher table."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine

from tests.conftest import TenantKit, adjust, create_member, get_token


async def create_reward(http: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "VOUCHER",
        "name": "£5 off",
        "price": 500,
        "value": 500,
        "currency": "GBP",
        "availability": {"start": "2020-01-01"},
        "purchasable": True,
        "codeType": "OTP",
        "code": {"format": "PROMO-{code}"},
    }
    body.update(overrides)
    answer = await http.post("/v1/rewards", headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


async def add_discount(http: httpx.AsyncClient, headers: dict[str, str], reward_id: str, **body: Any) -> dict[str, Any]:
    answer = await http.post(f"/v1/rewards/{reward_id}/discounts", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json()["data"])


async def member_with_points(http: httpx.AsyncClient, kit: TenantKit, points: int) -> dict[str, Any]:
    member = await create_member(http, kit.admin)
    if points:
        assert (await adjust(http, kit.admin, member["id"], points)).status_code == 200
    return member


async def purchase(http, kit: TenantKit, reward_id: str, member_id: str) -> httpx.Response:
    return await http.post(
        "/v1/commands/purchase_reward", headers=kit.pos, json={"rewardId": reward_id, "beneficiaryId": member_id}
    )


async def redeem(http, kit: TenantKit, benefit_id: str) -> httpx.Response:
    return await http.post("/v1/commands/redeem_benefit", headers=kit.pos, json={"benefitId": benefit_id})


async def validate(http, kit: TenantKit, code: str, **extra: Any) -> httpx.Response:
    return await http.post("/v1/commands/validate_voucher", headers=kit.pos, json={"code": code, **extra})


async def balance(http, kit: TenantKit, member_id: str) -> int:
    return int((await http.get(f"/v1/users/{member_id}/wallet", headers=kit.admin)).json()["data"]["points"])


async def bought_and_redeemed(http, kit: TenantKit, **reward: Any) -> tuple[dict, dict, str]:
    created = await create_reward(http, kit.admin, **reward)
    member = await member_with_points(http, kit, int(created["price"]) + 100)
    bought = await purchase(http, kit, created["id"], member["id"])
    assert bought.status_code == 200, bought.text
    redeemed = await redeem(http, kit, bought.json()["data"]["id"])
    assert redeemed.status_code == 200, redeemed.text
    return created, member, redeemed.json()["data"]["code"]["value"]


async def test_the_pos_voucher_flow_of_the_wll_guide(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin)
    await add_discount(client, tenant.admin, reward["id"], type="ABSOLUTE", value=500)
    member = await member_with_points(client, tenant, 600)

    bought = await purchase(client, tenant, reward["id"], member["id"])
    assert bought.status_code == 200, bought.text
    benefit = bought.json()["data"]
    assert benefit["status"] == "CREATED"
    assert benefit["code"]["value"] is None  # not revealed before redemption
    assert await balance(client, tenant, member["id"]) == 100

    redeemed = (await redeem(client, tenant, benefit["id"])).json()["data"]
    code = redeemed["code"]["value"]
    assert redeemed["status"] == "REDEEMED"
    assert code.startswith("PROMO-")

    checked = await validate(client, tenant, code, allowFutureValidation=True)
    assert checked.status_code == 200, checked.text
    assert checked.json()["data"]["status"] == "VALIDATED"
    assert checked.json()["data"]["burnedAt"] is None
    assert [d["value"] for d in checked.json()["data"]["reward"]["discounts"]] == [500]

    burned = await validate(client, tenant, code)
    assert burned.status_code == 200, burned.text
    assert burned.json()["data"]["status"] == "BURNED"
    assert burned.json()["data"]["burnedAt"] is not None

    again = await validate(client, tenant, code)
    assert again.status_code == 409
    assert again.json()["data"]["code"] == "VOUCHER_ALREADY_BURNED"
    assert again.json()["data"]["burnedAt"] == burned.json()["data"]["burnedAt"]

    kinds = [
        e["type"]
        for e in (
            await client.get("/v1/events", headers=tenant.admin, params={"subject": member["id"], "order": "ASC"})
        ).json()["data"]
    ]
    assert [k for k in kinds if k in {"PURCHASED_REWARD", "REDEEMED_VOUCHER", "BURNED_VOUCHER"}] == [
        "PURCHASED_REWARD",
        "REDEEMED_VOUCHER",
        "BURNED_VOUCHER",
    ]


async def test_an_unknown_code_is_404(client, tenant: TenantKit):
    answer = await validate(client, tenant, "NOPE-123")
    assert answer.status_code == 404
    assert answer.json()["data"]["code"] == "VOUCHER_NOT_FOUND"


async def test_a_voucher_not_yet_redeemed_is_a_conflict(client, tenant: TenantKit):
    pool = (await client.post("/v1/code_pools", headers=tenant.admin, json={"name": "Spring"})).json()["data"]
    uploaded = await client.post(
        f"/v1/code_pools/{pool['id']}/codes/create_bulk", headers=tenant.admin, json={"codes": ["SPRING-1", "SPRING-2"]}
    )
    assert uploaded.json()["data"] == {"created": 2, "duplicates": []}
    reward = await create_reward(client, tenant.admin, codeType="POOL", codePool={"id": pool["id"]}, code=None)
    member = await member_with_points(client, tenant, 500)
    benefit = (await purchase(client, tenant, reward["id"], member["id"])).json()["data"]
    assert benefit["code"]["value"] is None  # hidden until the member redeems it
    codes = (await client.get(f"/v1/code_pools/{pool['id']}/codes", headers=tenant.admin)).json()["data"]
    issued = next(c["value"] for c in codes if c["benefitId"] == benefit["id"])
    answer = await validate(client, tenant, issued)
    assert answer.status_code == 409
    assert answer.json()["data"]["code"] == "BENEFIT_NOT_REDEEMED"


async def test_an_expired_voucher_is_a_conflict(client, tenant: TenantKit):
    _reward, _member, code = await bought_and_redeemed(client, tenant, purchaseExpiration=3600)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2), tick=False):
        answer = await validate(client, tenant, code)
    assert answer.status_code == 409
    assert answer.json()["data"]["code"] == "VOUCHER_EXPIRED"


async def test_another_members_voucher_is_refused(client, tenant: TenantKit):
    _reward, member, code = await bought_and_redeemed(client, tenant)
    stranger = await create_member(client, tenant.admin)
    answer = await validate(client, tenant, code, userIdentifier=stranger["accountNumber"])
    assert answer.status_code == 403
    assert answer.json()["data"]["code"] == "VOUCHER_OWNER_MISMATCH"
    owner = await validate(client, tenant, code, userIdentifier=member["accountNumber"], allowFutureValidation=True)
    assert owner.status_code == 200


async def test_a_voucher_limited_to_other_venues_is_refused(client, tenant: TenantKit):
    here = await client.post("/v1/venues", headers=tenant.admin, json={"name": "Here", "externalIdentifier": "372"})
    there = await client.post("/v1/venues", headers=tenant.admin, json={"name": "There", "externalIdentifier": "999"})
    assert here.status_code == 200, here.text
    _reward, _member, code = await bought_and_redeemed(client, tenant, venues=[{"id": there.json()["data"]["id"]}])
    answer = await validate(client, tenant, code, venueIdentifier="372")
    assert answer.status_code == 422
    assert answer.json()["data"]["code"] == "VOUCHER_NOT_VALID_AT_VENUE"
    assert (await validate(client, tenant, code, venueIdentifier="999")).status_code == 200


@pytest.mark.concurrency
async def test_fifty_tills_burning_one_code_burn_it_once(client, tenant: TenantKit):
    _reward, _member, code = await bought_and_redeemed(client, tenant)
    answers = await asyncio.gather(*(validate(client, tenant, code) for _ in range(50)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) == 1
    assert statuses.count(409) == 49
    assert {a.json()["data"]["code"] for a in answers if a.status_code == 409} == {"VOUCHER_ALREADY_BURNED"}


@pytest.mark.concurrency
async def test_fifty_purchases_of_five_in_stock_sell_exactly_five(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, stockCapacity=5, price=100)
    members = [await member_with_points(client, tenant, 100) for _ in range(50)]
    answers = await asyncio.gather(*(purchase(client, tenant, reward["id"], m["id"]) for m in members))
    assert sorted(a.status_code for a in answers).count(200) == 5
    assert {a.json()["data"]["code"] for a in answers if a.status_code != 200} == {"OUT_OF_STOCK"}
    balances = [await balance(client, tenant, m["id"]) for m in members]
    assert sorted(balances) == [0] * 5 + [100] * 45
    stored = (await client.get(f"/v1/rewards/{reward['id']}", headers=tenant.admin)).json()["data"]
    assert stored["stockConsumed"] == 5


@pytest.mark.concurrency
async def test_twenty_purchases_with_points_for_three_buy_exactly_three(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=100)
    member = await member_with_points(client, tenant, 300)
    answers = await asyncio.gather(*(purchase(client, tenant, reward["id"], member["id"]) for _ in range(20)))
    assert [a.status_code for a in answers].count(200) == 3
    assert {a.json()["data"]["code"] for a in answers if a.status_code != 200} == {"INSUFFICIENT_POINTS"}
    assert await balance(client, tenant, member["id"]) == 0


# ---- purchases ----


async def test_a_member_token_purchases_for_itself_and_a_pos_must_name_the_member(client, db, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=100)
    answer = await client.post("/v1/commands/purchase_reward", headers=tenant.pos, json={"rewardId": reward["id"]})
    assert answer.status_code == 400
    assert answer.json()["data"]["code"] == "VALIDATION_ERROR"


async def test_a_purchase_is_refused_for_an_archived_reward(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=100)
    assert (await client.delete(f"/v1/rewards/{reward['id']}", headers=tenant.admin)).status_code == 200
    member = await member_with_points(client, tenant, 500)
    answer = await purchase(client, tenant, reward["id"], member["id"])
    assert answer.status_code == 422
    assert answer.json()["data"]["code"] == "NOT_AVAILABLE"
    assert await balance(client, tenant, member["id"]) == 500


async def test_a_purchase_without_enough_points_writes_nothing(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=500, stockCapacity=3)
    member = await member_with_points(client, tenant, 499)
    answer = await purchase(client, tenant, reward["id"], member["id"])
    assert answer.status_code == 422
    assert answer.json()["data"]["code"] == "INSUFFICIENT_POINTS"
    stored = (await client.get(f"/v1/rewards/{reward['id']}", headers=tenant.admin)).json()["data"]
    assert stored["stockConsumed"] == 0
    listed = await client.get("/v1/benefits", headers={**tenant.admin, "X-User-Id": member["id"]})
    assert listed.json()["meta"]["total"] == 0


async def test_a_purchase_debits_the_price_with_a_spend_entry(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=300)
    member = await member_with_points(client, tenant, 1000)
    benefit = (await purchase(client, tenant, reward["id"], member["id"])).json()["data"]
    entry = (await client.get(f"/v1/users/{member['id']}/points", headers=tenant.admin)).json()["data"][0]
    assert (entry["delta"], entry["kind"], entry["source"]) == (-300, "SPEND", {"type": "COMMAND", "id": benefit["id"]})
    assert benefit["owner"]["id"] == member["id"]
    assert benefit["reward"]["id"] == reward["id"]


async def test_a_one_step_reward_shows_its_code_at_once(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=0, redeemOnPurchase=True)
    member = await member_with_points(client, tenant, 0)
    benefit = (await purchase(client, tenant, reward["id"], member["id"])).json()["data"]
    assert benefit["status"] == "REDEEMED"
    assert benefit["code"]["value"].startswith("PROMO-")
    assert (await validate(client, tenant, benefit["code"]["value"])).status_code == 200


async def test_a_hidden_code_is_never_shown(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=0, hideCode=True)
    member = await member_with_points(client, tenant, 0)
    benefit = (await purchase(client, tenant, reward["id"], member["id"])).json()["data"]
    redeemed = (await redeem(client, tenant, benefit["id"])).json()["data"]
    assert redeemed["status"] == "REDEEMED"
    assert redeemed["code"]["value"] is None


async def test_redeeming_twice_answers_the_same_benefit_and_emits_once(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=0)
    member = await member_with_points(client, tenant, 0)
    benefit = (await purchase(client, tenant, reward["id"], member["id"])).json()["data"]
    first = (await redeem(client, tenant, benefit["id"])).json()["data"]
    second = (await redeem(client, tenant, benefit["id"])).json()["data"]
    assert first["redeemedAt"] == second["redeemedAt"]
    assert first["code"]["value"] == second["code"]["value"]
    redeemed = await client.get(
        "/v1/events", headers=tenant.admin, params={"subject": member["id"], "type": "REDEEMED_VOUCHER"}
    )
    assert redeemed.json()["meta"]["total"] == 1


async def test_an_expired_benefit_cannot_be_redeemed(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=0, purchaseExpiration=60)
    member = await member_with_points(client, tenant, 0)
    benefit = (await purchase(client, tenant, reward["id"], member["id"])).json()["data"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5), tick=False):
        answer = await redeem(client, tenant, benefit["id"])
        listed = await client.get(f"/v1/benefits/{benefit['id']}", headers=tenant.admin)
    assert answer.status_code == 409
    assert answer.json()["data"]["code"] == "VOUCHER_EXPIRED"
    assert listed.json()["data"]["status"] == "EXPIRED"


# ---- codes ----


async def test_a_static_code_validates_the_reward_for_everyone_and_is_never_burned(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, codeType="STATIC", code={"value": "SUMMER5"}, price=0)
    await add_discount(client, tenant.admin, reward["id"], type="PERCENTAGE", value=10)
    for _ in range(2):
        answer = await validate(client, tenant, "SUMMER5")
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert (data["id"], data["status"], data["code"]["value"]) == (None, "VALIDATED", "SUMMER5")
        assert [d["value"] for d in data["reward"]["discounts"]] == [10]


async def test_an_empty_pool_is_out_of_stock(client, tenant: TenantKit):
    pool = (await client.post("/v1/code_pools", headers=tenant.admin, json={"name": "One"})).json()["data"]
    await client.post(f"/v1/code_pools/{pool['id']}/codes", headers=tenant.admin, json={"value": "ONLY-1"})
    reward = await create_reward(client, tenant.admin, codeType="POOL", codePool={"id": pool["id"]}, code=None, price=0)
    first = await member_with_points(client, tenant, 0)
    second = await member_with_points(client, tenant, 0)
    assert (await purchase(client, tenant, reward["id"], first["id"])).status_code == 200
    refused = await purchase(client, tenant, reward["id"], second["id"])
    assert refused.status_code == 422
    assert refused.json()["data"]["code"] == "OUT_OF_STOCK"
    stored = (await client.get(f"/v1/code_pools/{pool['id']}", headers=tenant.admin)).json()["data"]
    assert (stored["totalCodes"], stored["issuedCodes"]) == (1, 1)


async def test_bulk_upload_reports_duplicates_and_each_code_is_issued_once(client, tenant: TenantKit):
    pool = (await client.post("/v1/code_pools", headers=tenant.admin, json={"name": "Bulk"})).json()["data"]
    codes = [f"BULK-{i:05d}" for i in range(3000)]
    first = await client.post(
        f"/v1/code_pools/{pool['id']}/codes/create_bulk", headers=tenant.admin, json={"codes": [*codes, codes[0]]}
    )
    assert first.json()["data"] == {"created": 3000, "duplicates": [codes[0]]}
    again = await client.post(
        f"/v1/code_pools/{pool['id']}/codes/create_bulk", headers=tenant.admin, json={"codes": [*codes[:10], "NEW-1"]}
    )
    assert again.json()["data"] == {"created": 1, "duplicates": codes[:10]}
    reward = await create_reward(client, tenant.admin, codeType="POOL", codePool={"id": pool["id"]}, code=None, price=0)
    members = [await member_with_points(client, tenant, 0) for _ in range(20)]
    bought = await asyncio.gather(*(purchase(client, tenant, reward["id"], m["id"]) for m in members))
    assert [b.status_code for b in bought] == [200] * 20
    values = [(await redeem(client, tenant, b.json()["data"]["id"])).json()["data"]["code"]["value"] for b in bought]
    assert len(set(values)) == 20


async def test_a_bulk_upload_over_100_000_codes_is_refused(client, tenant: TenantKit):
    pool = (await client.post("/v1/code_pools", headers=tenant.admin, json={"name": "Huge"})).json()["data"]
    answer = await client.post(
        f"/v1/code_pools/{pool['id']}/codes/create_bulk",
        headers=tenant.admin,
        json={"codes": [f"C{i}" for i in range(100_001)]},
    )
    assert answer.status_code == 400


async def test_an_issued_pool_code_cannot_be_deleted_but_a_free_one_can(client, tenant: TenantKit):
    pool = (await client.post("/v1/code_pools", headers=tenant.admin, json={"name": "Del"})).json()["data"]
    await client.post(
        f"/v1/code_pools/{pool['id']}/codes/create_bulk", headers=tenant.admin, json={"codes": ["D-1", "D-2"]}
    )
    reward = await create_reward(client, tenant.admin, codeType="POOL", codePool={"id": pool["id"]}, code=None, price=0)
    member = await member_with_points(client, tenant, 0)
    benefit = (await purchase(client, tenant, reward["id"], member["id"])).json()["data"]
    listed = (await client.get(f"/v1/code_pools/{pool['id']}/codes", headers=tenant.admin)).json()["data"]
    issued = next(c for c in listed if c["benefitId"] == benefit["id"])
    free = next(c for c in listed if c["benefitId"] is None)
    refused = await client.delete(f"/v1/code_pools/{pool['id']}/codes/{issued['id']}", headers=tenant.admin)
    assert refused.status_code == 409
    assert refused.json()["data"]["code"] == "CODE_ALREADY_ISSUED"
    assert (
        await client.delete(f"/v1/code_pools/{pool['id']}/codes/{free['id']}", headers=tenant.admin)
    ).status_code == 200


async def test_an_otp_code_cannot_collide_with_a_pool_or_static_code(client, tenant: TenantKit):
    pool = (await client.post("/v1/code_pools", headers=tenant.admin, json={"name": "Clash"})).json()["data"]
    await create_reward(client, tenant.admin, codeType="STATIC", code={"value": "CLASH-1"}, price=0)
    answer = await client.post(
        f"/v1/code_pools/{pool['id']}/codes/create_bulk", headers=tenant.admin, json={"codes": ["CLASH-1"]}
    )
    assert answer.json()["data"] == {"created": 0, "duplicates": ["CLASH-1"]}


# ---- give, unburn, reactions, wallet ----


async def test_give_reward_costs_no_points_and_emits_voucher_given(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=1000)
    member = await member_with_points(client, tenant, 0)
    answer = await client.post(
        "/v1/commands/give_reward", headers=tenant.admin, json={"rewardId": reward["id"], "beneficiaryId": member["id"]}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["status"] == "CREATED"
    assert await balance(client, tenant, member["id"]) == 0
    given = await client.get(
        "/v1/events", headers=tenant.admin, params={"subject": member["id"], "type": "VOUCHER_GIVEN"}
    )
    assert given.json()["meta"]["total"] == 1
    pos = await client.post(
        "/v1/commands/give_reward", headers=tenant.pos, json={"rewardId": reward["id"], "beneficiaryId": member["id"]}
    )
    assert pos.status_code == 403


async def test_a_burned_voucher_can_be_restored_within_24_hours(client, tenant: TenantKit):
    await client.post("/v1/venues", headers=tenant.admin, json={"name": "Store", "externalIdentifier": "372"})
    _reward, _member, code = await bought_and_redeemed(client, tenant)
    burned = (await validate(client, tenant, code, venueIdentifier="372")).json()["data"]
    elsewhere = await client.post(
        "/v1/commands/unburn_voucher",
        headers=tenant.pos,
        json={"benefitId": burned["id"], "reason": "void", "venueIdentifier": burned["id"]},
    )
    assert elsewhere.status_code == 404  # an unknown venue
    restored = await client.post(
        "/v1/commands/unburn_voucher",
        headers=tenant.pos,
        json={"benefitId": burned["id"], "reason": "sale voided", "venueIdentifier": "372"},
    )
    assert restored.status_code == 200, restored.text
    assert (restored.json()["data"]["status"], restored.json()["data"]["burnedAt"]) == ("REDEEMED", None)
    assert (await validate(client, tenant, code)).status_code == 200  # usable, and so burned again
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=25), tick=False):
        # A day later the morning's token has expired too: take a fresh one.
        token = await get_token(client, tenant.api_key, tenant.admin_client_id, tenant.admin_secret)
        late = await client.post(
            "/v1/commands/unburn_voucher",
            headers={**tenant.anonymous, "Authorization": f"Bearer {token}"},
            json={"benefitId": burned["id"], "reason": "late"},
        )
    assert late.status_code == 422
    assert late.json()["data"]["code"] == "UNBURN_WINDOW_PASSED"


async def test_a_reward_reaction_gives_a_voucher_and_fails_cleanly_when_out_of_stock(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=0, stockCapacity=1)
    reactor = {
        "name": "Welcome voucher",
        "eventType": "REGISTERED_ACCOUNT",
        "reactions": [{"type": "REWARD", "reward": {"id": reward["id"]}}],
    }
    assert (await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor)).status_code == 200
    first = await create_member(client, tenant.admin)
    second = await create_member(client, tenant.admin)
    wallet = (await client.get(f"/v1/users/{first['id']}/wallet", headers=tenant.pos)).json()["data"]
    assert [v["reward"]["id"] for v in wallet["vouchers"]] == [reward["id"]]
    assert (await client.get(f"/v1/users/{second['id']}/wallet", headers=tenant.pos)).json()["data"]["vouchers"] == []
    registered = await client.get(
        "/v1/events", headers=tenant.admin, params={"subject": second["id"], "type": "REGISTERED_ACCOUNT"}
    )
    reaction = registered.json()["data"][0]["reactions"][0]
    assert (reaction["type"], reaction["status"], reaction["reason"]) == ("REWARD", "FAILED", "OUT_OF_STOCK")


async def test_a_reward_reaction_naming_an_unknown_reward_is_400(client, tenant: TenantKit):
    reactor = {
        "name": "Broken",
        "eventType": "REGISTERED_ACCOUNT",
        "reactions": [{"type": "REWARD", "reward": {"id": "00000000-0000-0000-0000-000000000001"}}],
    }
    answer = await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor)
    assert answer.status_code == 400
    assert answer.json()["data"]["code"] == "REWARD_NOT_FOUND"


async def test_the_wallet_lists_unburned_vouchers_and_their_cost(client, tenant: TenantKit):
    cheap = await create_reward(client, tenant.admin, price=0, value=250)
    dear = await create_reward(client, tenant.admin, price=0, value=1000)
    member = await member_with_points(client, tenant, 0)
    kept = (await purchase(client, tenant, cheap["id"], member["id"])).json()["data"]
    used = (await purchase(client, tenant, dear["id"], member["id"])).json()["data"]
    code = (await redeem(client, tenant, used["id"])).json()["data"]["code"]["value"]
    assert (await validate(client, tenant, code)).status_code == 200
    wallet = (await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos)).json()["data"]
    assert [v["id"] for v in wallet["vouchers"]] == [kept["id"]]
    assert wallet["loyaltyCost"] == 1250
    redeemable = await client.get(
        "/v1/benefits", headers={**tenant.pos, "X-User-Id": member["id"]}, params={"redeemable": "true"}
    )
    assert [b["id"] for b in redeemable.json()["data"]] == [kept["id"]]


async def test_a_member_sees_only_their_own_benefits(client, tenant: TenantKit):
    reward = await create_reward(client, tenant.admin, price=0)
    owner = await member_with_points(client, tenant, 0)
    benefit = (await purchase(client, tenant, reward["id"], owner["id"])).json()["data"]
    other = await client.get(f"/v1/benefits/{benefit['id']}", headers=tenant.pos)
    assert other.status_code == 200
    vouchers = await client.get("/v1/vouchers", headers=tenant.pos, params={"userId": owner["accountNumber"]})
    assert [v["id"] for v in vouchers.json()["data"]] == [benefit["id"]]
    unnamed = await client.get("/v1/vouchers", headers=tenant.pos)
    assert unnamed.status_code == 400
    assert unnamed.json()["data"]["code"] == "USER_CONTEXT_REQUIRED"
