"""Idempotency-Key on POSTs: replays are byte for byte, reuse for another request is refused, failures are not kept."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from loyalty.services import idempotency
from tests.conftest import TenantKit, adjust, create_member, get_token, make_tenant, member_body

REPLAYED = "Idempotent-Replayed"


def with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def new_key() -> str:
    return f"key-{uuid.uuid4().hex}"


def assert_fail(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["status"] == "fail"
    assert answer.json()["data"]["code"] == code


async def ledger_total(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any]) -> int:
    answer = await client.get(f"/v1/users/{member['id']}/points", headers=tenant.admin)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["meta"]["total"])


async def balance(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any]) -> int:
    answer = await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.admin)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["data"]["points"])


async def test_a_replay_returns_the_same_bytes_and_status_without_a_second_effect(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    headers = with_key(tenant.admin, new_key())

    first = await adjust(client, headers, member["id"], 25, comment="once")
    replay = await adjust(client, headers, member["id"], 25, comment="once")

    assert first.status_code == 200, first.text
    assert REPLAYED not in first.headers
    assert replay.status_code == 200
    assert replay.headers[REPLAYED] == "true"
    assert replay.headers["content-type"] == first.headers["content-type"]
    assert replay.content == first.content
    assert await ledger_total(client, tenant, member) == 1
    assert await balance(client, tenant, member) == 25


async def test_a_replayed_sign_up_returns_the_same_member_and_creates_no_other(client, tenant: TenantKit):
    headers = with_key(tenant.pos, new_key())
    body = member_body()

    first = await client.post("/v1/users", headers=headers, json=body)
    replay = await client.post("/v1/users", headers=headers, json=body)

    assert first.status_code == 200, first.text
    assert replay.status_code == 200, replay.text
    assert replay.headers[REPLAYED] == "true"
    assert replay.content == first.content
    listed = await client.get("/v1/users", headers=tenant.admin)
    assert listed.json()["meta"]["total"] == 1


async def test_the_same_key_with_a_different_body_is_422_idempotency_key_reused(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    headers = with_key(tenant.admin, new_key())
    assert (await adjust(client, headers, member["id"], 25)).status_code == 200

    answer = await adjust(client, headers, member["id"], 26)

    assert_fail(answer, 422, "IDEMPOTENCY_KEY_REUSED")
    assert REPLAYED not in answer.headers
    assert await ledger_total(client, tenant, member) == 1
    assert await balance(client, tenant, member) == 25


async def test_the_same_key_on_a_different_path_is_422_idempotency_key_reused(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    headers = with_key(tenant.admin, new_key())
    assert (await adjust(client, headers, member["id"], 25)).status_code == 200

    answer = await client.post("/v1/users", headers=headers, json=member_body())

    assert_fail(answer, 422, "IDEMPOTENCY_KEY_REUSED")
    assert (await client.get("/v1/users", headers=tenant.admin)).json()["meta"]["total"] == 1


@pytest.mark.parametrize(
    "key",
    ["has space", "x" * 256, "", "tab\there", "caf\u00e9"],
    ids=["space", "256-chars", "empty", "tab", "non-ascii"],
)
async def test_a_malformed_key_is_400_invalid_idempotency_key(client, tenant: TenantKit, key: str):
    member = await create_member(client, tenant.admin)
    headers: dict[str, Any] = {**tenant.admin, "Idempotency-Key": key.encode()}

    answer = await adjust(client, headers, member["id"], 5)

    assert_fail(answer, 400, "INVALID_IDEMPOTENCY_KEY")
    assert await ledger_total(client, tenant, member) == 0


async def test_a_key_of_255_printable_characters_is_accepted(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    headers = with_key(tenant.admin, "!" + "~" * 253 + "k")

    first = await adjust(client, headers, member["id"], 5)
    replay = await adjust(client, headers, member["id"], 5)

    assert first.status_code == 200, first.text
    assert replay.headers[REPLAYED] == "true"
    assert await ledger_total(client, tenant, member) == 1


async def test_the_same_key_from_another_credential_is_independent(client, tenant: TenantKit):
    key = new_key()
    by_pos = await client.post("/v1/users", headers=with_key(tenant.pos, key), json=member_body())
    assert by_pos.status_code == 200, by_pos.text

    by_admin = await client.post("/v1/users", headers=with_key(tenant.admin, key), json=member_body())

    assert by_admin.status_code == 200, by_admin.text
    assert REPLAYED not in by_admin.headers
    assert by_admin.json()["data"]["id"] != by_pos.json()["data"]["id"]
    assert (await client.get("/v1/users", headers=tenant.admin)).json()["meta"]["total"] == 2


async def test_the_same_key_in_another_tenant_is_independent(client, db, tenant: TenantKit):
    other = await make_tenant(client, db, "other shop")
    key = new_key()
    body = member_body()

    mine = await client.post("/v1/users", headers=with_key(tenant.admin, key), json=body)
    theirs = await client.post("/v1/users", headers=with_key(other.admin, key), json=body)

    assert mine.status_code == 200, mine.text
    assert theirs.status_code == 200, theirs.text
    assert REPLAYED not in theirs.headers
    assert theirs.json()["data"]["id"] != mine.json()["data"]["id"]


async def test_a_fresh_token_of_the_same_client_replays(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    key = new_key()
    first = await adjust(client, with_key(tenant.admin, key), member["id"], 25)
    assert first.status_code == 200, first.text

    token = await get_token(client, tenant.api_key, tenant.admin_client_id, tenant.admin_secret)
    fresh = {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {token}"}
    replay = await adjust(client, with_key(fresh, key), member["id"], 25)

    assert replay.headers[REPLAYED] == "true"
    assert replay.content == first.content
    assert await ledger_total(client, tenant, member) == 1


async def test_a_refused_request_is_not_stored_and_its_retry_runs_again(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    headers = with_key(tenant.admin, new_key())

    refused = await adjust(client, headers, member["id"], -10, liabilityHandlingPolicy="REJECT_EVENT")
    assert_fail(refused, 422, "INSUFFICIENT_POINTS")
    refused_again = await adjust(client, headers, member["id"], -10, liabilityHandlingPolicy="REJECT_EVENT")
    assert_fail(refused_again, 422, "INSUFFICIENT_POINTS")
    assert REPLAYED not in refused_again.headers

    assert (await adjust(client, tenant.admin, member["id"], 10)).status_code == 200
    retried = await adjust(client, headers, member["id"], -10, liabilityHandlingPolicy="REJECT_EVENT")

    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers
    assert retried.json()["data"]["balanceAfter"] == 0
    replay = await adjust(client, headers, member["id"], -10, liabilityHandlingPolicy="REJECT_EVENT")
    assert replay.headers[REPLAYED] == "true"
    assert replay.content == retried.content
    assert await ledger_total(client, tenant, member) == 2
    assert await balance(client, tenant, member) == 0


async def test_a_request_failing_validation_is_not_stored(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    headers = with_key(tenant.admin, new_key())
    body = {"actorId": member["id"], "points": 0}

    first = await client.post("/v1/commands/adjust_points", headers=headers, json=body)
    second = await client.post("/v1/commands/adjust_points", headers=headers, json=body)

    assert_fail(first, 400, "INVALID_POINTS")
    assert_fail(second, 400, "INVALID_POINTS")
    assert REPLAYED not in second.headers


async def test_a_sign_up_conflict_is_not_stored(client, tenant: TenantKit):
    taken = await create_member(client, tenant.admin)
    headers = with_key(tenant.admin, new_key())
    body = member_body(authIdentifier=taken["authIdentifier"])

    assert_fail(await client.post("/v1/users", headers=headers, json=body), 409, "USER_ALREADY_EXISTS")
    assert (await client.delete(f"/v1/users/{taken['id']}", headers=tenant.admin)).status_code == 200
    retried = await client.post("/v1/users", headers=headers, json=body)

    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers


async def test_without_a_key_the_same_request_runs_twice(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)

    first = await adjust(client, tenant.admin, member["id"], 25)
    second = await adjust(client, tenant.admin, member["id"], 25)

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert REPLAYED not in second.headers
    assert first.json()["data"]["id"] != second.json()["data"]["id"]
    assert await ledger_total(client, tenant, member) == 2
    assert await balance(client, tenant, member) == 50


@pytest.mark.concurrency
async def test_concurrent_requests_with_one_key_make_exactly_one_entry(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    headers = with_key(tenant.admin, new_key())
    start = asyncio.Event()

    async def attempt() -> httpx.Response:
        await start.wait()
        return await adjust(client, headers, member["id"], 10, comment="once only")

    pending = [asyncio.ensure_future(attempt()) for _ in range(20)]
    start.set()
    answers = await asyncio.gather(*pending)

    succeeded = [a for a in answers if a.status_code == 200]
    assert succeeded, [a.text for a in answers]
    for answer in answers:
        if answer.status_code != 200:
            assert_fail(answer, 409, "IDEMPOTENCY_KEY_IN_USE")
    assert {a.content for a in succeeded} == {succeeded[0].content}
    # Exactly one request did the work; every other 200 is a replay of it.
    assert sum(REPLAYED not in a.headers for a in succeeded) == 1
    assert await ledger_total(client, tenant, member) == 1
    assert await balance(client, tenant, member) == 10


class _Abandon(Exception):
    """Raised to roll back a transaction that held a key."""


@pytest.mark.concurrency
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_key_held_by_a_running_request_is_409_idempotency_key_in_use(client, db, tenant: TenantKit):
    # PostgreSQL only: there a request waits a bounded time for the key's holder; SQLite serialises all writers.
    member = await create_member(client, tenant.admin)
    key = new_key()
    headers = with_key(tenant.admin, key)

    async def request_while_the_key_is_held() -> None:
        async with db.transaction() as holder:
            claimed = await idempotency.claim(
                holder, uuid.UUID(tenant.tenant_id), f"client:{tenant.admin_client_id}", key, "in-flight"
            )
            assert claimed is None
            raise _Abandon(await adjust(client, headers, member["id"], 10))

    with pytest.raises(_Abandon) as abandoned:
        await request_while_the_key_is_held()

    assert_fail(abandoned.value.args[0], 409, "IDEMPOTENCY_KEY_IN_USE")
    assert await ledger_total(client, tenant, member) == 0
    retried = await adjust(client, headers, member["id"], 10)
    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers
    assert await ledger_total(client, tenant, member) == 1
