"""Fixtures shared by every suite: a real SQLite file and a real PostgreSQL database, both migrated to head.

PostgreSQL is found through ``LOYALTY_TEST_POSTGRES_URL`` (a server URL; each test session creates and drops its
own database on it). Without it, the local server at 127.0.0.1:5432 is tried. When no server answers, the
PostgreSQL half of the suite is skipped with a loud message — except under CI (``CI=true``), where a missing
PostgreSQL is a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from loyalty.api.app import create_app
from loyalty.settings import Settings
from loyalty.storage import migrate
from loyalty.storage.database import Database

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", "postgresql"]


def postgres_server_url() -> str:
    return os.environ.get("LOYALTY_TEST_POSTGRES_URL") or DEFAULT_POSTGRES


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_postgres_database() -> str:
    """Create an empty database on the test server and return its URL."""
    server = postgres_server_url()
    name = f"loyalty_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(postgres_server_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def postgres_available() -> bool:
    try:
        asyncio.run(_admin(postgres_server_url(), "SELECT 1"))
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_ready() -> bool:
    if postgres_available():
        return True
    message = f"PostgreSQL is not reachable at {postgres_server_url()}"
    if os.environ.get("CI"):
        pytest.fail(message + " — CI requires it")
    print(f"\n\n!!! {message}: PostgreSQL tests are SKIPPED !!!\n")
    return False


@pytest.fixture(scope="session")
def migrated_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One migrated database per backend for the whole session (tests isolate themselves by tenant)."""
    urls: dict[str, str] = {}
    sqlite_path = tmp_path_factory.mktemp("sqlite") / "loyalty.db"
    urls["sqlite"] = f"sqlite:///{sqlite_path}"
    migrate.upgrade(urls["sqlite"])
    created: str | None = None
    if postgres_available():
        created = create_postgres_database()
        migrate.upgrade(created)
        urls["postgresql"] = created
    yield urls
    if created:
        drop_postgres_database(created)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, postgres_ready: bool) -> str:
    if request.param == "postgresql" and not postgres_ready:
        pytest.skip("PostgreSQL not reachable")
    return str(request.param)


@pytest.fixture
def db_url(backend: str, migrated_urls: dict[str, str]) -> str:
    return migrated_urls[backend]


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
def app(db_url: str, db: Database) -> Any:
    # Shedding off: the race tests put 50 requests in flight at once on purpose, which is what shedding exists to
    # refuse. Shedding itself is tested with its own limit (tests/api/test_shedding.py).
    return create_app(Settings(database_url=db_url, max_in_flight=0), database=db)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://engine.test") as http:
        yield http


@dataclass
class TenantKit:
    """A tenant with an admin and a pos client, and ready-made request headers for each."""

    tenant_id: str
    api_key: str
    admin_client_id: str
    admin_secret: str
    pos_client_id: str
    pos_secret: str
    admin: dict[str, str]
    pos: dict[str, str]

    @property
    def anonymous(self) -> dict[str, str]:
        return {"X-Api-Key": self.api_key}


async def get_token(http: httpx.AsyncClient, api_key: str, client_id: str, secret: str) -> str:
    answer = await http.post(
        "/v1/oauth/token",
        headers={"X-Api-Key": api_key},
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def make_tenant(http: httpx.AsyncClient, db: Database, name: str = "shop") -> TenantKit:
    from loyalty.services import clients as client_service
    from loyalty.services import tenants as tenant_service

    async def setup(tx: Any) -> tuple[Any, Any, Any]:
        created = await tenant_service.create_tenant(tx, name)
        admin = await client_service.create_client(tx, created.tenant.tenant_id, "admin")
        pos = await client_service.create_client(tx, created.tenant.tenant_id, "pos")
        return created, admin, pos

    created, admin, pos = await db.run(setup)
    api_key = created.api_key
    admin_token = await get_token(http, api_key, str(admin.client.client_id), admin.client_secret)
    pos_token = await get_token(http, api_key, str(pos.client.client_id), pos.client_secret)
    return TenantKit(
        tenant_id=str(created.tenant.tenant_id),
        api_key=api_key,
        admin_client_id=str(admin.client.client_id),
        admin_secret=admin.client_secret,
        pos_client_id=str(pos.client.client_id),
        pos_secret=pos.client_secret,
        admin={"X-Api-Key": api_key, "Authorization": f"Bearer {admin_token}"},
        pos={"X-Api-Key": api_key, "Authorization": f"Bearer {pos_token}"},
    )


@pytest.fixture
async def tenant(client: httpx.AsyncClient, db: Database) -> TenantKit:
    return await make_tenant(client, db)


def member_body(**overrides: Any) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    body: dict[str, Any] = {
        "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": f"ada.{suffix}@example.com"},
        "authIdentifier": f"idp-{suffix}",
    }
    body.update(overrides)
    return body


async def create_member(http: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    answer = await http.post("/v1/users", headers=headers, json=member_body(**overrides))
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


async def adjust(
    http: httpx.AsyncClient, headers: dict[str, str], member: str, points: int, **extra: Any
) -> httpx.Response:
    return await http.post(
        "/v1/commands/adjust_points", headers=headers, json={"actorId": member, "points": points, **extra}
    )


PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, migrated database holding only what the test puts in it (for server processes and the CLI)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        migrate.upgrade(url)
        yield url
        return
    url = create_postgres_database()
    try:
        migrate.upgrade(url)
        yield url
    finally:
        drop_postgres_database(url)
