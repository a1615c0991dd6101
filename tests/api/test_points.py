"""Points over HTTP: the adjust_points command, the member's ledger and the wallet."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from loyalty.storage.database import Database
from loyalty.storage.tables import events
from tests.conftest import TenantKit, adjust, create_member

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def assert_fail(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert document["status"] == "fail"
    assert document["data"]["code"] == code
    return dict(document["data"])


async def wallet_of(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any]) -> dict[str, Any]:
    answer = await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


async def ledger_of(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any], **params: Any) -> Any:
    answer = await client.get(f"/v1/users/{member['id']}/points", headers=tenant.pos, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def adjusted_events(db: Database, tenant: TenantKit, member_id: str) -> list[Any]:
    async def work(tx: Any) -> list[Any]:
        rows = await tx.execute(
            select(events).where(
                events.c.tenant_id == uuid.UUID(tenant.tenant_id),
                events.c.subject_id == uuid.UUID(member_id),
                events.c.type == "POINTS_ADJUSTED",
            )
        )
        return list(rows)

    return await db.run(work, write=False)


async def test_a_credit_returns_its_ledger_entry(client, db, tenant: TenantKit):
    member = await create_member(client, tenant.admin)

    answer = await adjust(client, tenant.admin, member["accountNumber"], 50, comment="welcome bonus")

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"
    entry = answer.json()["data"]
    assert str(uuid.UUID(entry["id"])) == entry["id"]
    assert entry["userId"] == member["id"]
    assert entry["delta"] == 50
    assert entry["kind"] == "ADJUST"
    assert entry["impactType"] == "EARN"
    assert entry["source"]["type"] == "COMMAND"
    assert str(uuid.UUID(entry["source"]["id"])) == entry["source"]["id"]
    assert entry["balanceAfter"] == 50
    assert entry["comment"] == "welcome bonus"
    assert entry["expiresAt"] is None
    assert TIMESTAMP.match(entry["createdAt"]), entry["createdAt"]
    # The entry's source is the POINTS_ADJUSTED event the command emitted, recorded with the admin client.
    emitted = await adjusted_events(db, tenant, member["id"])
    assert len(emitted) == 1
    assert str(emitted[0].event_id) == entry["source"]["id"]
    assert emitted[0].executor == f"client:{tenant.admin_client_id}"
    assert emitted[0].payload["points"] == 50
    assert emitted[0].payload["balance"] == 50
    wallet = await wallet_of(client, tenant, member)
    assert (wallet["points"], wallet["lifetimeEarn"]) == (50, 50)


async def test_a_member_is_named_by_any_identifier_in_adjust_points(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin, externalIdentifier=f"ext-{uuid.uuid4().hex[:8]}")
    balances = []
    for identifier in (member["id"], member["accountNumber"], member["authIdentifier"], member["externalIdentifier"]):
        answer = await adjust(client, tenant.admin, identifier, 1)
        assert answer.status_code == 200, (identifier, answer.text)
        assert answer.json()["data"]["userId"] == member["id"]
        balances.append(answer.json()["data"]["balanceAfter"])
    assert balances == [1, 2, 3, 4]


async def test_a_debit_defaults_to_spend_and_does_not_reduce_lifetime_earn(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 100)).status_code == 200

    answer = await adjust(client, tenant.admin, member["id"], -30)

    assert answer.status_code == 200, answer.text
    entry = answer.json()["data"]
    assert entry["delta"] == -30
    assert entry["impactType"] == "SPEND"
    assert entry["balanceAfter"] == 70
    wallet = await wallet_of(client, tenant, member)
    assert wallet["points"] == 70
    assert wallet["lifetimeEarn"] == 100


async def test_a_credit_with_impact_none_does_not_count_as_lifetime_earn(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)

    answer = await adjust(client, tenant.admin, member["id"], 25, impactType="NONE")

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["impactType"] == "NONE"
    wallet = await wallet_of(client, tenant, member)
    assert wallet["points"] == 25
    assert wallet["lifetimeEarn"] == 0


async def test_a_debit_with_impact_earn_reduces_lifetime_earn(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 100)).status_code == 200

    answer = await adjust(client, tenant.admin, member["id"], -40, impactType="EARN")

    assert answer.status_code == 200, answer.text
    wallet = await wallet_of(client, tenant, member)
    assert (wallet["points"], wallet["lifetimeEarn"]) == (60, 60)


async def test_bypass_lets_the_balance_go_negative(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 10)).status_code == 200

    answer = await adjust(client, tenant.admin, member["id"], -25, liabilityHandlingPolicy="BYPASS")

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["balanceAfter"] == -15
    wallet = await wallet_of(client, tenant, member)
    assert wallet["points"] == -15
    assert wallet["lifetimeEarn"] == 10


async def test_without_a_policy_an_overdraw_is_allowed_as_with_bypass(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)

    answer = await adjust(client, tenant.admin, member["id"], -5)

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["balanceAfter"] == -5
    assert (await wallet_of(client, tenant, member))["points"] == -5


async def test_an_overdraw_with_reject_event_writes_nothing(client, db, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 30)).status_code == 200

    answer = await adjust(client, tenant.admin, member["id"], -31, liabilityHandlingPolicy="REJECT_EVENT")

    details = assert_fail(answer, 422, "INSUFFICIENT_POINTS")
    assert details["balance"] == 30
    assert details["requested"] == 31
    ledger = await ledger_of(client, tenant, member)
    assert ledger["meta"]["total"] == 1
    assert [e["delta"] for e in ledger["data"]] == [30]
    assert len(await adjusted_events(db, tenant, member["id"])) == 1
    wallet = await wallet_of(client, tenant, member)
    assert (wallet["points"], wallet["lifetimeEarn"]) == (30, 30)


async def test_a_debit_to_exactly_zero_with_reject_event_succeeds(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 30)).status_code == 200

    answer = await adjust(client, tenant.admin, member["id"], -30, liabilityHandlingPolicy="REJECT_EVENT")

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["balanceAfter"] == 0


async def test_a_credit_with_reject_event_on_a_negative_balance_succeeds(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], -50)).status_code == 200

    answer = await adjust(client, tenant.admin, member["id"], 20, liabilityHandlingPolicy="REJECT_EVENT")

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["balanceAfter"] == -30


async def test_an_adjustment_of_zero_points_is_400(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)

    answer = await adjust(client, tenant.admin, member["id"], 0)

    assert_fail(answer, 400, "INVALID_POINTS")
    assert (await ledger_of(client, tenant, member))["meta"]["total"] == 0


async def test_fractional_points_are_400(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)

    answer = await adjust(client, tenant.admin, member["id"], 1.5)  # type: ignore[arg-type]

    details = assert_fail(answer, 400, "VALIDATION_ERROR")
    assert [e["field"] for e in details["errors"]] == ["points"]
    assert (await ledger_of(client, tenant, member))["meta"]["total"] == 0


async def test_points_given_as_a_string_are_400(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    answer = await client.post(
        "/v1/commands/adjust_points", headers=tenant.admin, json={"actorId": member["id"], "points": "abc"}
    )
    assert_fail(answer, 400, "VALIDATION_ERROR")


async def test_an_adjustment_beyond_the_largest_change_is_400(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    answer = await adjust(client, tenant.admin, member["id"], 1_000_000_001)
    assert_fail(answer, 400, "VALIDATION_ERROR")
    assert (await ledger_of(client, tenant, member))["meta"]["total"] == 0


async def test_an_unknown_field_in_adjust_points_is_400(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    answer = await adjust(client, tenant.admin, member["id"], 5, balance=1000)
    assert_fail(answer, 400, "UNKNOWN_FIELD")


async def test_an_adjustment_for_an_unknown_member_is_404(client, tenant: TenantKit):
    answer = await adjust(client, tenant.admin, str(uuid.uuid4()), 10)
    assert_fail(answer, 404, "USER_NOT_FOUND")
    answer = await adjust(client, tenant.admin, "no-such-member", 10)
    assert_fail(answer, 404, "USER_NOT_FOUND")


async def test_a_pos_client_may_not_adjust_points(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    answer = await adjust(client, tenant.pos, member["id"], 10)
    assert_fail(answer, 403, "FORBIDDEN")
    assert (await ledger_of(client, tenant, member))["meta"]["total"] == 0


async def test_the_ledger_lists_entries_newest_first_with_meta(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    for points in (10, 20, -5):
        assert (await adjust(client, tenant.admin, member["id"], points, comment=f"c{points}")).status_code == 200

    ledger = await ledger_of(client, tenant, member)

    assert ledger["status"] == "success"
    assert ledger["meta"] == {"limit": 20, "skip": 0, "total": 3}
    entries = ledger["data"]
    assert [e["delta"] for e in entries] == [-5, 20, 10]
    assert [e["balanceAfter"] for e in entries] == [25, 30, 10]
    assert [e["comment"] for e in entries] == ["c-5", "c20", "c10"]
    assert [e["impactType"] for e in entries] == ["SPEND", "EARN", "EARN"]
    assert all(e["kind"] == "ADJUST" and e["userId"] == member["id"] for e in entries)
    assert all(TIMESTAMP.match(e["createdAt"]) for e in entries)
    assert entries[0]["createdAt"] >= entries[1]["createdAt"] >= entries[2]["createdAt"]

    page = await ledger_of(client, tenant, member, limit=2, skip=1)
    assert page["meta"] == {"limit": 2, "skip": 1, "total": 3}
    assert [e["delta"] for e in page["data"]] == [20, 10]

    oldest_first = await ledger_of(client, tenant, member, order="ASC")
    assert [e["delta"] for e in oldest_first["data"]] == [10, 20, -5]


async def test_the_ledger_of_an_unknown_member_is_404(client, tenant: TenantKit):
    answer = await client.get(f"/v1/users/{uuid.uuid4()}/points", headers=tenant.pos)
    assert_fail(answer, 404, "USER_NOT_FOUND")


async def test_the_wallet_has_the_contract_shape(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 120)).status_code == 200
    assert (await adjust(client, tenant.admin, member["id"], -20)).status_code == 200

    answer = await client.get(f"/v1/users/{member['authIdentifier']}/wallet", headers=tenant.pos)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "status": "success",
        "data": {
            "user": {
                "id": member["id"],
                "accountNumber": member["accountNumber"],
                "authIdentifier": member["authIdentifier"],
            },
            "points": 100,
            "pendingPoints": 0,
            "lifetimeEarn": 120,
            "loyaltyCost": 0,
            "tier": None,
            "vouchers": [],
            "expiringPoints": [],
        },
    }


async def test_a_new_members_wallet_is_empty(client, tenant: TenantKit):
    member = await create_member(client, tenant.pos)
    wallet = await wallet_of(client, tenant, member)
    assert (wallet["points"], wallet["pendingPoints"], wallet["lifetimeEarn"]) == (0, 0, 0)


async def test_my_wallet_with_x_user_id_is_the_named_members_wallet(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 7)).status_code == 200

    answer = await client.get("/v1/users/me/wallet", headers={**tenant.pos, "X-User-Id": member["accountNumber"]})

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["user"]["id"] == member["id"]
    assert answer.json()["data"]["points"] == 7
