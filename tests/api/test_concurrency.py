"""Many requests released together against one check-then-act: spends never overdraw, sign-ups never duplicate."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from loyalty.services import points as point_service
from loyalty.storage.database import Database
from tests.conftest import (
    TenantKit,
    adjust,
    create_member,
    get_token,
    member_body,
)
from tests.processes import free_port, kill_engine, loyalty_cli, start_engine

pytestmark = pytest.mark.concurrency

START_BALANCE = 100
SPEND = 10
SPENDERS = 50


async def released_together(count: int, request: Any) -> list[httpx.Response]:
    """Start ``count`` requests, hold them at one gate, then let them all go at once."""
    gate = asyncio.Event()

    async def one() -> httpx.Response:
        await gate.wait()
        return await request()

    pending = [asyncio.ensure_future(one()) for _ in range(count)]
    gate.set()
    return list(await asyncio.gather(*pending))


async def tenant_mismatches(db: Database, tenant_id: str) -> list[point_service.LedgerMismatch]:
    async def work(tx: Any) -> list[point_service.LedgerMismatch]:
        found: list[point_service.LedgerMismatch] = []
        async for _, mismatches in point_service.verify_ledger(tx):
            found.extend(m for m in mismatches if str(m.tenant_id) == tenant_id)
        return found

    return await db.run(work, write=False)


def assert_spend_round(answers: list[httpx.Response]) -> None:
    """Exactly the affordable spends succeeded, each saw a distinct balance, and the rest were refused."""
    outcomes = Counter(a.status_code for a in answers)
    assert outcomes == {200: START_BALANCE // SPEND, 422: SPENDERS - START_BALANCE // SPEND}, [a.text for a in answers]
    refused = [a.json()["data"]["code"] for a in answers if a.status_code == 422]
    assert set(refused) == {"INSUFFICIENT_POINTS"}
    balances_after = sorted(a.json()["data"]["balanceAfter"] for a in answers if a.status_code == 200)
    assert balances_after == list(range(0, START_BALANCE, SPEND))


async def test_fifty_concurrent_spends_of_a_hundred_points_never_overdraw(client, db, tenant: TenantKit):
    for _ in range(3):
        member = await create_member(client, tenant.admin)
        credit = await adjust(client, tenant.admin, member["id"], START_BALANCE)
        assert credit.status_code == 200, credit.text

        answers = await released_together(
            SPENDERS,
            lambda member=member: adjust(
                client, tenant.admin, member["id"], -SPEND, liabilityHandlingPolicy="REJECT_EVENT"
            ),
        )

        assert_spend_round(answers)
        wallet = (await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.admin)).json()["data"]
        assert wallet["points"] == 0
        assert wallet["lifetimeEarn"] == START_BALANCE
        ledger = (await client.get(f"/v1/users/{member['id']}/points", headers=tenant.admin)).json()
        assert ledger["meta"]["total"] == 1 + START_BALANCE // SPEND
        assert sum(e["delta"] for e in ledger["data"]) == 0
    assert await tenant_mismatches(db, tenant.tenant_id) == []


async def test_thirty_concurrent_sign_ups_with_one_auth_identifier_create_one_member(client, tenant: TenantKit):
    auth_identifier = f"idp-race-{uuid.uuid4().hex[:8]}"

    answers = await released_together(
        30, lambda: client.post("/v1/users", headers=tenant.pos, json=member_body(authIdentifier=auth_identifier))
    )

    outcomes = Counter(a.status_code for a in answers)
    assert outcomes == {200: 1, 409: 29}, [a.text for a in answers]
    assert {a.json()["data"]["code"] for a in answers if a.status_code == 409} == {"USER_ALREADY_EXISTS"}
    created = next(a.json()["data"] for a in answers if a.status_code == 200)
    listed = (await client.get("/v1/users", headers=tenant.admin)).json()
    assert listed["meta"]["total"] == 1
    assert listed["data"][0]["id"] == created["id"]
    found = await client.get(f"/v1/users/{auth_identifier}", headers=tenant.pos)
    assert found.json()["data"]["id"] == created["id"]


async def test_concurrent_sign_ups_with_one_external_identifier_create_one_member(client, tenant: TenantKit):
    external = f"ext-race-{uuid.uuid4().hex[:8]}"

    answers = await released_together(
        20, lambda: client.post("/v1/users", headers=tenant.admin, json=member_body(externalIdentifier=external))
    )

    assert Counter(a.status_code for a in answers) == {200: 1, 409: 19}, [a.text for a in answers]
    assert (await client.get("/v1/users", headers=tenant.admin)).json()["meta"]["total"] == 1


# ---- the same round against a real server with two worker processes ----


async def test_fifty_concurrent_spends_over_http_against_two_workers_never_overdraw(fresh_database_url, tmp_path: Path):
    url = fresh_database_url
    code, output = await loyalty_cli(url, "tenants", "create", "t", "--json")
    assert code == 0, output
    created = json.loads(output)
    code, output = await loyalty_cli(
        url, "clients", "create", "--tenant", created["tenantId"], "--scopes", "admin", "--json"
    )
    assert code == 0, output
    admin_client = json.loads(output)

    port = free_port()
    # Fifty requests at once on purpose: shedding (on by default) would refuse some of them.
    server = await start_engine(url, port, tmp_path / "server.log", workers=2, env={"LOYALTY_MAX_IN_FLIGHT": "0"})
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            token = await get_token(http, created["apiKey"], admin_client["clientId"], admin_client["clientSecret"])
            admin = {"X-Api-Key": created["apiKey"], "Authorization": f"Bearer {token}"}
            member = await create_member(http, admin)
            credit = await adjust(http, admin, member["id"], START_BALANCE)
            assert credit.status_code == 200, credit.text

            answers = await released_together(
                SPENDERS,
                lambda: adjust(http, admin, member["id"], -SPEND, liabilityHandlingPolicy="REJECT_EVENT"),
            )

            assert_spend_round(answers)
            wallet = (await http.get(f"/v1/users/{member['id']}/wallet", headers=admin)).json()["data"]
            assert wallet["points"] == 0
            ledger = (await http.get(f"/v1/users/{member['id']}/points", headers=admin)).json()
            assert ledger["meta"]["total"] == 1 + START_BALANCE // SPEND
    finally:
        await kill_engine(server)

    code, output = await loyalty_cli(url, "ledger", "verify", "--json")
    assert code == 0, output
    assert json.loads(output) == {"accounts": 1, "mismatches": [], "ok": True}
