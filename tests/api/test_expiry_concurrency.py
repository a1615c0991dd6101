"""Points jobs and caps under concurrency: two workers expiring at once expire nothing twice (in one process and as
two ``loyalty daily`` processes), a spend racing the expiry of the lot it would take from never loses or doubles
points, and concurrent earns of different members never pass a tenant-wide balance cap."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import func, select

from loyalty.domain.errors import InsufficientPoints
from loyalty.domain.ledger import LiabilityPolicy
from loyalty.services import daily as daily_service
from loyalty.services import liability as liability_service
from loyalty.services import members as member_service
from loyalty.services import points as point_service
from loyalty.services import tenants as tenant_service
from loyalty.storage.database import Database
from loyalty.storage.tables import events, point_accounts, point_entries
from tests.conftest import TenantKit, adjust, create_member
from tests.processes import loyalty_cli

pytestmark = pytest.mark.concurrency

MEMBERS = 30
ACTOR = "client:concurrency-test"


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


async def seed(db: Database, tenant_id: uuid.UUID, members: int, *, points: int, days_ago: int) -> list[uuid.UUID]:
    """``members`` members, each with one lot of ``points`` earned ``days_ago`` days ago under a one-day expiry."""

    async def criterion(tx: Any) -> None:
        draft = liability_service.CriterionDraft(
            name="One day",
            type="SIMPLE_EXPIRY",
            liability_type="EXPIRY",
            config={"expiryBasedOn": "EARN_DATE", "dateModifier": "P1D"},
        )
        await liability_service.create_criterion(tx, tenant_id, draft)

    await db.run(criterion)
    created: list[uuid.UUID] = []
    with time_machine.travel(datetime.now(UTC) - timedelta(days=days_ago), tick=False):
        for _ in range(members):
            suffix = uuid.uuid4().hex[:8]
            definition = member_service.MemberDefinition(
                profile={"givenName": "Ada", "familyName": "Lovelace", "emailAddress": f"ada.{suffix}@example.com"},
                auth_identifier=f"idp-{suffix}",
            )

            async def earn(tx: Any, definition: member_service.MemberDefinition = definition) -> uuid.UUID:
                member = await member_service.create_member(tx, tenant_id, definition, ACTOR)
                await point_service.adjust_points(
                    tx, tenant_id, member, points, comment=None, impact=None, policy=None, actor=ACTOR
                )
                return member.member_id

            created.append(await db.run(earn))
    return created


async def counts(db: Database, tenant_id: uuid.UUID) -> tuple[int, int]:
    """(EXPIRE entries, POINTS_EXPIRED events) of the tenant."""

    async def work(tx: Any) -> tuple[int, int]:
        entries = select(func.count()).where(point_entries.c.tenant_id == tenant_id, point_entries.c.kind == "EXPIRE")
        expired = select(func.count()).where(events.c.tenant_id == tenant_id, events.c.type == "POINTS_EXPIRED")
        return int((await tx.execute(entries)).scalar_one()), int((await tx.execute(expired)).scalar_one())

    return await db.run(work, write=False)


async def mismatches(db: Database) -> list[Any]:
    async def work(tx: Any) -> list[Any]:
        found: list[Any] = []
        async for _, batch in point_service.verify_ledger(tx):
            found.extend(batch)
        return found

    return await db.run(work, write=False)


async def test_two_workers_expiring_at_once_expire_nothing_twice(db: Database):
    tenant_id = (await db.run(lambda tx: tenant_service.create_tenant(tx, "expiry"))).tenant.tenant_id
    await seed(db, tenant_id, MEMBERS, points=70, days_ago=3)
    reports = await asyncio.gather(*(daily_service.run_points_jobs(db.run, tenant_id) for _ in range(2)))
    assert sum(r.points_expired for r in reports) == MEMBERS * 70
    assert sum(r.members_expired for r in reports) == MEMBERS
    assert await counts(db, tenant_id) == (MEMBERS, MEMBERS)
    again = await daily_service.run_points_jobs(db.run, tenant_id)
    assert again.points_expired == 0
    assert [m for m in await mismatches(db) if m.tenant_id == tenant_id] == []


async def test_two_daily_processes_expire_nothing_twice(fresh_database_url: str):
    db = Database(fresh_database_url)
    try:
        tenant_id = (await db.run(lambda tx: tenant_service.create_tenant(tx, "expiry"))).tenant.tenant_id
        await seed(db, tenant_id, MEMBERS, points=40, days_ago=5)
        outputs = await asyncio.gather(*(loyalty_cli(fresh_database_url, "daily", "--json") for _ in range(2)))
        assert [code for code, _ in outputs] == [0, 0], outputs
        documents = [json.loads(output) for _, output in outputs]
        assert sum(d["pointsExpired"] for d in documents) == MEMBERS * 40
        assert await counts(db, tenant_id) == (MEMBERS, MEMBERS)
        code, output = await loyalty_cli(fresh_database_url, "ledger", "verify", "--json")
        assert code == 0, output
    finally:
        await db.dispose()


async def test_two_workers_started_at_once_expire_nothing_twice(fresh_database_url: str):
    db = Database(fresh_database_url)
    try:
        tenant_id = (await db.run(lambda tx: tenant_service.create_tenant(tx, "expiry"))).tenant.tenant_id
        await seed(db, tenant_id, MEMBERS, points=25, days_ago=2)
        outputs = await asyncio.gather(*(loyalty_cli(fresh_database_url, "worker", "--once") for _ in range(2)))
        assert [code for code, _ in outputs] == [0, 0], outputs
        assert await counts(db, tenant_id) == (MEMBERS, MEMBERS)

        async def balances(tx: Any) -> list[int]:
            query = select(point_accounts.c.balance).where(point_accounts.c.tenant_id == tenant_id)
            return [row.balance for row in await tx.execute(query)]

        assert await db.run(balances, write=False) == [0] * MEMBERS
        assert await mismatches(db) == []
    finally:
        await db.dispose()


async def test_a_spend_racing_the_expiry_of_its_lot(db: Database):
    """Lot A (100, expired) and lot B (100, live); a REJECT_EVENT spend of 150 races the expiry job. Either the
    spend goes first (A 100 + B 50, nothing left to expire) or the expiry does (A expires, the spend is refused):
    never both, never a lost or doubled point."""
    tenant_id = (await db.run(lambda tx: tenant_service.create_tenant(tx, "race"))).tenant.tenant_id
    members = await seed(db, tenant_id, 20, points=100, days_ago=3)

    async def earn_live(tx: Any, member_id: uuid.UUID) -> None:
        member = await member_service.get_member(tx, tenant_id, member_id)
        await point_service.adjust_points(
            tx, tenant_id, member, 100, comment=None, impact=None, policy=None, actor=ACTOR
        )

    for member_id in members:
        await db.run(lambda tx, member_id=member_id: earn_live(tx, member_id))

    async def spend(member_id: uuid.UUID) -> bool:
        async def work(tx: Any) -> None:
            member = await member_service.get_member(tx, tenant_id, member_id)
            await point_service.adjust_points(
                tx,
                tenant_id,
                member,
                -150,
                comment=None,
                impact=None,
                policy=LiabilityPolicy.REJECT_EVENT,
                actor=ACTOR,
            )

        try:
            await db.run(work)
        except InsufficientPoints:
            return False
        return True

    outcomes = await asyncio.gather(
        daily_service.run_points_jobs(db.run, tenant_id), *(spend(member_id) for member_id in members)
    )
    report, spent = outcomes[0], outcomes[1:]
    succeeded = sum(1 for s in spent if s)
    # Each member either spent 150 (and lost nothing to expiry) or lost 100 to expiry (and could not spend).
    assert report.points_expired == 100 * (len(members) - succeeded)

    async def balances(tx: Any) -> list[int]:
        return [(await point_service.get_account(tx, tenant_id, m)).balance for m in members]

    assert sorted(await db.run(balances, write=False)) == sorted(50 if s else 100 for s in spent)
    assert [m for m in await mismatches(db) if m.tenant_id == tenant_id] == []


async def test_concurrent_earns_never_pass_a_tenant_balance_cap(client: httpx.AsyncClient, db, tenant: TenantKit):
    body = {
        "name": "Tenant cap",
        "type": "MAXIMUM_POINTS_BALANCE_CAP",
        "liabilityType": "EARNING_CAP",
        "config": {"maxPointsInCirculation": 1000, "liabilityEntity": "TENANT"},
    }
    ok(await client.post("/v1/points_liability_criteria", headers=tenant.admin, json=body))
    members = [await create_member(client, tenant.admin) for _ in range(20)]
    answers = await asyncio.gather(*(adjust(client, tenant.admin, m["id"], 100) for m in members))
    granted = [ok(a) for a in answers]
    assert sum(e["delta"] for e in granted) == 1000
    assert sum(e["forfeited"] for e in granted) == 1000
    assert [m for m in await mismatches(db) if str(m.tenant_id) == tenant.tenant_id] == []
