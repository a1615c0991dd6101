"""``loyalty demo``: the demo program (``program.py``) and a simulated day of tills (``traffic.py``), both through
the Python client — in-process against the configured database, or against a running engine by URL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from pydantic import TypeAdapter

from loyalty.api.models.members import UserOut
from loyalty.client import AsyncLoyaltyClient
from loyalty.client.calls import Call, query
from loyalty.services import clients as client_service
from loyalty.services import tenants as tenant_service
from loyalty.settings import Settings
from loyalty.storage.database import Database, Tx

IN_PROCESS = "http://engine.local"


@dataclass(frozen=True)
class Credentials:
    tenant_id: str
    api_key: str
    client_id: str
    client_secret: str


async def new_tenant(tx: Tx, name: str) -> tuple[Credentials, Credentials]:
    """A tenant with an admin and a pos client: (admin, pos) credentials."""
    created = await tenant_service.create_tenant(tx, name)
    return await _clients(tx, created.tenant.tenant_id, created.api_key)


async def _clients(tx: Tx, tenant_id: uuid.UUID, api_key: str) -> tuple[Credentials, Credentials]:
    admin = await client_service.create_client(tx, tenant_id, "admin", "demo admin")
    pos = await client_service.create_client(tx, tenant_id, "pos", "demo till")
    return (
        Credentials(str(tenant_id), api_key, str(admin.client.client_id), admin.client_secret),
        Credentials(str(tenant_id), api_key, str(pos.client.client_id), pos.client_secret),
    )


async def clients_for(tx: Tx, api_key: str) -> tuple[Credentials, Credentials]:
    """Fresh admin and pos clients in the tenant of ``api_key`` (the key itself is never stored, so the caller
    gives it)."""
    tenant = await tenant_service.authenticate_api_key(tx, api_key)
    return await _clients(tx, tenant.tenant_id, api_key)


@asynccontextmanager
async def engine_client(
    settings: Settings, db: Database, credentials: Credentials, url: str | None = None
) -> AsyncIterator[AsyncLoyaltyClient]:
    """A client of the engine at ``url``, or — without one — of the app running in this process."""
    transport: httpx.AsyncBaseTransport | None = None
    if url is None:
        from loyalty.api.app import create_app

        transport = httpx.ASGITransport(app=create_app(settings, database=db))
    async with AsyncLoyaltyClient(
        url or IN_PROCESS,
        credentials.api_key,
        credentials.client_id,
        credentials.client_secret,
        transport=transport,
        timeout=30,
    ) as client:
        yield client


def list_members() -> Call[list[UserOut]]:
    """Every open member of the tenant (the demo's customers)."""
    return query("members", "/v1/users", TypeAdapter(list[UserOut]).validate_python, params={"limit": 1000})
