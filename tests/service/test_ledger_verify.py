"""The ledger check: balance = Σ deltas and lifetime earn = Σ EARN deltas, per member; and ``loyalty ledger verify``."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from loyalty.domain.errors import InsufficientPoints
from loyalty.domain.ledger import Impact, LiabilityPolicy
from loyalty.services import members as member_service
from loyalty.services import points as point_service
from loyalty.services import tenants as tenant_service
from loyalty.storage.database import Database
from loyalty.storage.tables import point_accounts, point_lots

ACTOR = "client:ledger-test"


async def new_tenant(db: Database) -> uuid.UUID:
    created = await db.run(lambda tx: tenant_service.create_tenant(tx, "ledger"))
    return created.tenant.tenant_id


async def new_member(db: Database, tenant_id: uuid.UUID) -> uuid.UUID:
    suffix = uuid.uuid4().hex[:8]
    definition = member_service.MemberDefinition(
        profile={"givenName": "Ada", "familyName": "Lovelace", "emailAddress": f"ada.{suffix}@example.com"},
        auth_identifier=f"idp-{suffix}",
    )
    member = await db.run(lambda tx: member_service.create_member(tx, tenant_id, definition, ACTOR))
    return member.member_id


async def adjust(
    db: Database,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID,
    points: int,
    *,
    impact: Impact | None = None,
    policy: LiabilityPolicy | None = None,
) -> int:
    async def work(tx: Any) -> int:
        member = await member_service.get_member(tx, tenant_id, member_id)
        entry = await point_service.adjust_points(
            tx, tenant_id, member, points, comment=None, impact=impact, policy=policy, actor=ACTOR
        )
        return entry.balance_after

    return await db.run(work)


async def mismatches_of(
    db: Database, tenant_id: uuid.UUID, batch_size: int = 1000
) -> tuple[int, list[point_service.LedgerMismatch]]:
    """Every account checked, and the mismatches of this tenant (other tests share the database)."""

    async def work(tx: Any) -> tuple[int, list[point_service.LedgerMismatch]]:
        checked = 0
        found: list[point_service.LedgerMismatch] = []
        async for count, mismatches in point_service.verify_ledger(tx, batch_size=batch_size):
            checked += count
            found.extend(m for m in mismatches if m.tenant_id == tenant_id)
        return checked, found

    return await db.run(work, write=False)


async def corrupt(db: Database, tenant_id: uuid.UUID, member_id: uuid.UUID, **shifts: int) -> None:
    """Shift stored totals behind the ledger's back, as a bad manual fix or a buggy writer would."""
    account = point_accounts.c
    values = {name: getattr(account, name) + shift for name, shift in shifts.items()}

    async def work(tx: Any) -> None:
        result = await tx.execute(
            update(point_accounts)
            .where(account.tenant_id == tenant_id, account.member_id == member_id)
            .values(**values)
        )
        assert result.rowcount == 1

    await db.run(work)


async def a_series_of_adjustments(db: Database, tenant_id: uuid.UUID, member_id: uuid.UUID) -> None:
    await adjust(db, tenant_id, member_id, 100)
    await adjust(db, tenant_id, member_id, -30)
    await adjust(db, tenant_id, member_id, 15, impact=Impact.NONE)
    await adjust(db, tenant_id, member_id, -20, impact=Impact.EARN)
    await adjust(db, tenant_id, member_id, -200, policy=LiabilityPolicy.BYPASS)
    await adjust(db, tenant_id, member_id, 500)


async def test_the_ledger_has_no_mismatch_after_a_series_of_adjustments(db):
    tenant_id = await new_tenant(db)
    members = [await new_member(db, tenant_id) for _ in range(3)]
    for member_id in members:
        await a_series_of_adjustments(db, tenant_id, member_id)

    checked, mismatches = await mismatches_of(db, tenant_id)

    assert mismatches == []
    total = await db.run(point_service.count_accounts, write=False)
    assert checked == total
    account = await db.run(lambda tx: point_service.get_account(tx, tenant_id, members[0]), write=False)
    assert (account.balance, account.lifetime_earn) == (365, 580)


async def test_a_refused_overdraw_leaves_the_ledger_consistent(db):
    tenant_id = await new_tenant(db)
    member_id = await new_member(db, tenant_id)
    await adjust(db, tenant_id, member_id, 10)

    with pytest.raises(InsufficientPoints) as refused:
        await adjust(db, tenant_id, member_id, -11, policy=LiabilityPolicy.REJECT_EVENT)

    assert refused.value.details == {"balance": 10, "requested": 11}
    account = await db.run(lambda tx: point_service.get_account(tx, tenant_id, member_id), write=False)
    assert account.balance == 10
    assert (await mismatches_of(db, tenant_id))[1] == []


async def test_a_corrupted_balance_is_reported_as_a_balance_mismatch(db):
    tenant_id = await new_tenant(db)
    member_id = await new_member(db, tenant_id)
    bystander = await new_member(db, tenant_id)
    await a_series_of_adjustments(db, tenant_id, member_id)
    await adjust(db, tenant_id, bystander, 40)
    await corrupt(db, tenant_id, member_id, balance=7)
    try:
        _, mismatches = await mismatches_of(db, tenant_id)

        assert mismatches == [point_service.LedgerMismatch(tenant_id, member_id, "balance", 372, 365)]
    finally:
        await corrupt(db, tenant_id, member_id, balance=-7)
    assert (await mismatches_of(db, tenant_id))[1] == []


async def test_a_corrupted_lifetime_earn_is_reported_as_a_lifetime_earn_mismatch(db):
    tenant_id = await new_tenant(db)
    member_id = await new_member(db, tenant_id)
    await a_series_of_adjustments(db, tenant_id, member_id)
    await corrupt(db, tenant_id, member_id, lifetime_earn=-80)
    try:
        _, mismatches = await mismatches_of(db, tenant_id)

        assert mismatches == [point_service.LedgerMismatch(tenant_id, member_id, "lifetimeEarn", 500, 580)]
    finally:
        await corrupt(db, tenant_id, member_id, lifetime_earn=80)
    assert (await mismatches_of(db, tenant_id))[1] == []


async def test_a_member_without_entries_must_have_zero_totals(db):
    tenant_id = await new_tenant(db)
    member_id = await new_member(db, tenant_id)
    await corrupt(db, tenant_id, member_id, balance=5, lifetime_earn=5)
    try:
        _, mismatches = await mismatches_of(db, tenant_id)

        assert sorted(mismatches, key=lambda m: m.field) == [
            point_service.LedgerMismatch(tenant_id, member_id, "balance", 5, 0),
            point_service.LedgerMismatch(tenant_id, member_id, "lifetimeEarn", 5, 0),
        ]
    finally:
        await corrupt(db, tenant_id, member_id, balance=-5, lifetime_earn=-5)


async def test_lots_that_do_not_hold_the_balance_are_reported(db):
    """The lots must hold exactly what the ledger says the member has: a lot changed behind the ledger's back
    (points that could be spent or expired twice) is a mismatch, while the balance itself still agrees."""
    tenant_id = await new_tenant(db)
    member_id = await new_member(db, tenant_id)
    await adjust(db, tenant_id, member_id, 100)
    await adjust(db, tenant_id, member_id, 50)
    await adjust(db, tenant_id, member_id, -120)
    assert (await mismatches_of(db, tenant_id))[1] == []

    async def shift_lots(tx: Any, by: int) -> None:
        lot = point_lots.c
        newest = (
            await tx.execute(
                select(lot.lot_id)
                .where(lot.tenant_id == tenant_id, lot.member_id == member_id)
                .order_by(lot.created_at.desc(), lot.points.asc())
                .limit(1)
            )
        ).scalar_one()
        await tx.execute(
            update(point_lots)
            .where(lot.tenant_id == tenant_id, lot.lot_id == newest)
            .values(remaining=lot.remaining + by)
        )

    await db.run(lambda tx: shift_lots(tx, 9))
    try:
        _, mismatches = await mismatches_of(db, tenant_id)
        assert mismatches == [point_service.LedgerMismatch(tenant_id, member_id, "lots", 39, 30)]
    finally:
        await db.run(lambda tx: shift_lots(tx, -9))
    assert (await mismatches_of(db, tenant_id))[1] == []


async def test_small_batches_check_every_account_and_find_every_mismatch(db):
    tenant_id = await new_tenant(db)
    members = [await new_member(db, tenant_id) for _ in range(5)]
    for points, member_id in enumerate(members, start=1):
        await adjust(db, tenant_id, member_id, points * 10)
    broken = [members[0], members[3], members[4]]
    for member_id in broken:
        await corrupt(db, tenant_id, member_id, balance=1)
    try:
        checked, mismatches = await mismatches_of(db, tenant_id, batch_size=2)

        assert checked == await db.run(point_service.count_accounts, write=False)
        assert sorted(m.member_id for m in mismatches) == sorted(broken)
        assert {m.field for m in mismatches} == {"balance"}
        assert sorted((m.stored, m.expected) for m in mismatches) == [(11, 10), (41, 40), (51, 50)]
    finally:
        for member_id in broken:
            await corrupt(db, tenant_id, member_id, balance=-1)


# ---- the CLI, on a database of its own ----


async def ledger_verify(url: str) -> tuple[int, dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "loyalty",
        "ledger",
        "verify",
        "--json",
        env={**os.environ, "LOYALTY_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    assert stdout, stderr.decode()
    return process.returncode, json.loads(stdout)


async def test_ledger_verify_exits_0_on_a_clean_ledger_and_1_with_the_mismatch_listed(fresh_database_url):
    db = Database(fresh_database_url)
    try:
        tenant_id = await new_tenant(db)
        member_id = await new_member(db, tenant_id)
        other = await new_member(db, tenant_id)
        await a_series_of_adjustments(db, tenant_id, member_id)
        await adjust(db, tenant_id, other, 12)

        code, report = await ledger_verify(fresh_database_url)
        assert (code, report) == (0, {"accounts": 2, "mismatches": [], "ok": True})

        await corrupt(db, tenant_id, member_id, balance=-65)
        code, report = await ledger_verify(fresh_database_url)
        assert code == 1
        assert report == {
            "accounts": 2,
            "mismatches": [
                {
                    "tenantId": str(tenant_id),
                    "userId": str(member_id),
                    "field": "balance",
                    "stored": 300,
                    "expected": 365,
                }
            ],
            "ok": False,
        }
    finally:
        await db.dispose()


async def test_ledger_verify_on_an_empty_database_is_ok(fresh_database_url):
    code, report = await ledger_verify(fresh_database_url)
    assert (code, report) == (0, {"accounts": 0, "mismatches": [], "ok": True})


async def test_verifying_one_tenant_checks_its_accounts_only(db):
    tenant_id = await new_tenant(db)
    other_tenant = await new_tenant(db)
    members = [await new_member(db, tenant_id) for _ in range(3)]
    stranger = await new_member(db, other_tenant)
    await adjust(db, other_tenant, stranger, 25)
    await corrupt(db, other_tenant, stranger, balance=3)
    try:

        async def work(tx: Any) -> tuple[int, list[point_service.LedgerMismatch]]:
            checked, found = 0, []
            async for count, mismatches in point_service.verify_ledger(tx, batch_size=2, tenant_id=tenant_id):
                checked += count
                found.extend(mismatches)
            return checked, found

        checked, found = await db.run(work, write=False)
        assert found == []  # the other tenant's corrupted account is not looked at
        assert checked == len(members)
        _, theirs = await mismatches_of(db, other_tenant)
        assert theirs == [point_service.LedgerMismatch(other_tenant, stranger, "balance", 28, 25)]
    finally:
        await corrupt(db, other_tenant, stranger, balance=-3)
