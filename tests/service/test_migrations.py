"""Migrations on real databases: empty → head → base → head, the schema they build matches the table
definitions, and the ``loyalty db`` commands work against a fresh file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from loyalty.storage import migrate
from loyalty.storage.tables import metadata
from loyalty.storage.urls import async_url
from tests.conftest import PROJECT_ROOT, create_postgres_database, drop_postgres_database

T = TypeVar("T")

ENGINE_TABLES = set(metadata.tables)


def inspect_database(url: str, look: Callable[[Connection], T]) -> T:
    """Run ``look`` on a synchronous view of a fresh connection to ``url``."""

    async def main() -> T:
        engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def table_names(url: str) -> set[str]:
    return inspect_database(url, lambda conn: set(inspect(conn).get_table_names()))


def revision_of(url: str) -> str | None:
    async def main() -> str | None:
        engine = create_async_engine(async_url(url), poolclass=pool.NullPool)
        try:
            async with engine.connect() as conn:
                return await migrate.current_revision(conn)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def schema_differences(url: str) -> list[Any]:
    def compare(conn: Connection) -> list[Any]:
        # Server defaults are compared on PostgreSQL only: Alembic's SQLite comparison reports the correctly
        # migrated DEFAULT '' of members.search_text as changed.
        options = {"compare_type": True, "compare_server_default": conn.dialect.name == "postgresql"}
        context = MigrationContext.configure(conn, opts=options)
        return list(compare_metadata(context, metadata))

    return inspect_database(url, compare)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend; PostgreSQL ones are dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'loyalty.db'}"
        return
    if not request.getfixturevalue("postgres_ready"):
        pytest.skip("PostgreSQL not reachable")
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


def test_the_migration_chain_has_exactly_one_head():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert script.get_heads() == [migrate.head_revision()]
    assert migrate.head_revision()


def test_upgrade_downgrade_upgrade(empty_url: str):
    head = migrate.head_revision()
    assert table_names(empty_url) == set()
    assert revision_of(empty_url) is None

    migrate.upgrade(empty_url)
    assert revision_of(empty_url) == head
    tables = table_names(empty_url)
    assert tables >= ENGINE_TABLES, ENGINE_TABLES - tables
    assert tables - ENGINE_TABLES == {"alembic_version"}

    migrate.downgrade(empty_url, "base")
    assert revision_of(empty_url) is None
    assert table_names(empty_url) <= {"alembic_version"}

    migrate.upgrade(empty_url)
    assert revision_of(empty_url) == head
    assert table_names(empty_url) >= ENGINE_TABLES


def test_upgrade_twice_is_harmless(empty_url: str):
    migrate.upgrade(empty_url)
    migrate.upgrade(empty_url)
    assert revision_of(empty_url) == migrate.head_revision()


def test_migrated_schema_matches_the_table_definitions(empty_url: str):
    migrate.upgrade(empty_url)
    assert schema_differences(empty_url) == []


def test_the_comparison_notices_a_table_without_a_migration(empty_url: str):
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "base")
    differences = schema_differences(empty_url)
    added = {diff[1].name for diff in differences if isinstance(diff, tuple) and diff[0] == "add_table"}
    assert added == ENGINE_TABLES


def _loyalty(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOYALTY_DATABASE_URL": url, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "loyalty", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_db_commands(tmp_path: Path):
    head = migrate.head_revision()
    assert head
    # The directory does not exist yet: the first upgrade creates it, as on a fresh checkout.
    path = tmp_path / "var" / "cli.db"
    url = f"sqlite:///{path}"

    upgraded = _loyalty(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database at head" in upgraded.stdout
    assert path.is_file()

    current = _loyalty(url, "db", "current")
    assert current.returncode == 0, current.stderr
    assert f"current: {head}  head: {head}" in current.stdout
    assert revision_of(url) == head
    assert table_names(url) >= ENGINE_TABLES

    downgraded = _loyalty(url, "db", "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert "database at base" in downgraded.stdout
    after = _loyalty(url, "db", "current")
    assert after.returncode == 0, after.stderr
    assert f"current: empty  head: {head}" in after.stdout
    assert table_names(url) <= {"alembic_version"}


def test_db_current_on_an_empty_database(tmp_path: Path):
    result = _loyalty(f"sqlite:///{tmp_path / 'empty.db'}", "db", "current")
    assert result.returncode == 0, result.stderr
    assert f"current: empty  head: {migrate.head_revision()}" in result.stdout


def test_lots_are_backfilled_from_existing_balances(empty_url: str):
    """Balances made before lots existed become one undated lot each (a debt none), so the ledger check holds
    across the upgrade, and last activity is the last earn or spend."""
    import uuid

    from loyalty.services import members as member_service
    from loyalty.services import points as point_service
    from loyalty.services import tenants as tenant_service
    from loyalty.storage.database import Database
    from loyalty.storage.tables import point_accounts, point_lots

    migrate.upgrade(empty_url)

    async def seed() -> tuple[uuid.UUID, list[uuid.UUID]]:
        db = Database(empty_url)
        try:
            tenant_id = (await db.run(lambda tx: tenant_service.create_tenant(tx, "old"))).tenant.tenant_id
            members = []
            for points in ((100, -30), (-20,), ()):
                suffix = uuid.uuid4().hex[:8]
                definition = member_service.MemberDefinition(
                    profile={"givenName": "Ada", "emailAddress": f"ada.{suffix}@example.com"},
                    auth_identifier=f"idp-{suffix}",
                )

                async def work(tx: Any, definition: Any = definition, points: tuple[int, ...] = points) -> uuid.UUID:
                    member = await member_service.create_member(tx, tenant_id, definition, "client:test")
                    for change in points:
                        await point_service.adjust_points(
                            tx, tenant_id, member, change, comment=None, impact=None, policy=None, actor="client:test"
                        )
                    return member.member_id

                members.append(await db.run(work))
            return tenant_id, members
        finally:
            await db.dispose()

    tenant_id, members = asyncio.run(seed())
    migrate.downgrade(empty_url, "0006")
    assert "point_lots" not in table_names(empty_url)
    migrate.upgrade(empty_url)

    async def check() -> tuple[list[Any], dict[uuid.UUID, list[tuple[int, int, Any]]], dict[uuid.UUID, Any]]:
        from sqlalchemy import select

        db = Database(empty_url)
        try:

            async def read(tx: Any) -> Any:
                found: list[Any] = []
                async for _, batch in point_service.verify_ledger(tx):
                    found.extend(batch)
                lots: dict[uuid.UUID, list[tuple[int, int, Any]]] = {m: [] for m in members}
                for row in await tx.execute(select(point_lots).where(point_lots.c.tenant_id == tenant_id)):
                    lots[row.member_id].append((row.points, row.remaining, row.expires_at))
                activity = {
                    row.member_id: row.last_activity_at
                    for row in await tx.execute(
                        select(point_accounts.c.member_id, point_accounts.c.last_activity_at).where(
                            point_accounts.c.tenant_id == tenant_id
                        )
                    )
                }
                return found, lots, activity

            return await db.run(read, write=False)
        finally:
            await db.dispose()

    mismatches, lots, activity = asyncio.run(check())
    assert mismatches == []
    assert [lots[m] for m in members] == [[(70, 70, None)], [], []]
    assert activity[members[0]] is not None
    assert activity[members[1]] is not None
    assert activity[members[2]] is None


def test_the_audit_trail_revision_goes_down_and_up_alone(empty_url: str):
    """0009 adds the audit trail and nothing else: down to 0008 drops only its table, and up again restores it as
    the table definitions say."""
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "0008")
    assert revision_of(empty_url) == "0008"
    assert table_names(empty_url) == (ENGINE_TABLES - {"audit_entries"}) | {"alembic_version"}

    migrate.upgrade(empty_url)
    assert revision_of(empty_url) == migrate.head_revision()
    assert "audit_entries" in table_names(empty_url)
    indexes = inspect_database(empty_url, lambda conn: inspect(conn).get_indexes("audit_entries"))
    assert [(i["name"], i["column_names"]) for i in indexes] == [
        ("ix_audit_entries_tenant_id_occurred_at", ["tenant_id", "occurred_at"])
    ]
    assert schema_differences(empty_url) == []


def test_the_voucher_burn_order_revision_goes_down_and_up_alone(empty_url: str):
    """0010 adds the column that ties a voucher's burn to its order, and nothing else."""
    migrate.upgrade(empty_url)
    migrate.downgrade(empty_url, "0009")
    assert revision_of(empty_url) == "0009"
    columns = inspect_database(empty_url, lambda conn: [c["name"] for c in inspect(conn).get_columns("benefits")])
    assert "burn_order_id" not in columns
    assert "burned_at" in columns

    migrate.upgrade(empty_url)
    assert revision_of(empty_url) == migrate.head_revision()
    columns = inspect_database(empty_url, lambda conn: [c["name"] for c in inspect(conn).get_columns("benefits")])
    assert "burn_order_id" in columns
    assert schema_differences(empty_url) == []
