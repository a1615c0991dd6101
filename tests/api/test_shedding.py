"""Load shedding: past the requests in progress a process takes on, new ones get 503 OVERLOADED with Retry-After at
once, health checks are never shed, and service resumes as soon as the load drops."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from loyalty.api.app import create_app
from loyalty.settings import Settings
from loyalty.storage.database import Database
from tests.conftest import TenantKit, create_member


@pytest.fixture
async def small(db_url: str, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(
        app=create_app(Settings(database_url=db_url, max_in_flight=3), database=db), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://engine.test") as http:
        yield http


async def test_requests_past_the_limit_are_shed_at_once_and_service_resumes(small, tenant: TenantKit):
    member = await create_member(small, tenant.admin)
    answers = await asyncio.gather(
        *(small.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos) for _ in range(40)),
        *(small.get("/healthz") for _ in range(5)),
    )
    wallets, health = answers[:40], answers[40:]
    statuses = Counter(a.status_code for a in wallets)
    assert set(statuses) == {200, 503}
    assert statuses[200] >= 3
    shed = next(a for a in wallets if a.status_code == 503)
    assert shed.json()["data"]["code"] == "OVERLOADED"
    assert shed.headers["Retry-After"] == "1"
    assert [a.status_code for a in health] == [200] * 5
    # One at a time, nothing is shed.
    for _ in range(5):
        assert (await small.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos)).status_code == 200


async def test_the_shipped_default_sheds_past_32_requests_in_progress(db_url: str, db: Database, tenant: TenantKit):
    # The default engine, not the tests' own (which turns shedding off for the race suites).
    transport = httpx.ASGITransport(app=create_app(Settings(database_url=db_url), database=db))
    async with httpx.AsyncClient(transport=transport, base_url="http://engine.test") as http:
        member = await create_member(http, tenant.admin)
        answers = await asyncio.gather(
            *(http.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos) for _ in range(40))
        )
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) == {200, 503}
    assert Settings(database_url=db_url).max_in_flight == 32
