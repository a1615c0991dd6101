"""API clients (OAuth2 client credentials): create, list, revoke, and check a secret."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update

from loyalty.domain import credentials
from loyalty.domain.errors import InvalidInput, NotAuthenticated, NotFound
from loyalty.domain.tenancy import Client, Tenant, parse_scopes
from loyalty.services import tenants as tenant_service
from loyalty.services.clock import now
from loyalty.storage.database import Tx
from loyalty.storage.tables import clients, tenants


@dataclass(frozen=True)
class NewClient:
    client: Client
    client_secret: str  # shown once


def _client(row: Any) -> Client:
    return Client(
        tenant_id=row.tenant_id,
        client_id=row.client_id,
        name=row.name,
        scopes=frozenset(row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


async def create_client(tx: Tx, tenant_id: uuid.UUID, scopes: str | list[str], name: str | None = None) -> NewClient:
    granted = parse_scopes(scopes)
    label = (name or ",".join(sorted(granted))).strip()
    if len(label) > 200:
        raise InvalidInput("A client name is at most 200 characters.", field="name")
    client_id = uuid.uuid4()
    secret = credentials.new_secret()
    await tx.execute(
        clients.insert().values(
            tenant_id=tenant_id,
            client_id=client_id,
            name=label,
            scopes=sorted(granted),
            secret_hash=credentials.digest(secret),
            created_at=now(),
        )
    )
    return NewClient(client=await get_client(tx, tenant_id, client_id), client_secret=secret)


# Built once: this runs before every request made with a client token, and building a statement costs more than
# executing a prepared one (SQLAlchemy caches the compiled form of a statement object it has seen).
_TENANT_AND_CLIENT = (
    select(tenants, *(column.label(f"client_{column.name}") for column in clients.c))
    .select_from(
        tenants.outerjoin(
            clients, (clients.c.tenant_id == tenants.c.tenant_id) & (clients.c.client_id == bindparam("client_id"))
        )
    )
    .where(tenants.c.tenant_id == bindparam("tenant_id"))
)


async def tenant_and_client(tx: Tx, api_key: str | None, client_id: uuid.UUID) -> tuple[Tenant, Client | None]:
    """The tenant of the API key and its client ``client_id`` (None when it has no such client), read in one
    statement."""
    tenant_id = tenant_service.tenant_id_of_api_key(api_key)
    row = None
    if tenant_id is not None:
        row = (await tx.execute(_TENANT_AND_CLIENT, {"tenant_id": tenant_id, "client_id": client_id})).first()
    tenant = tenant_service.tenant_of_api_key(api_key or "", row)
    if row is None or row.client_client_id is None:
        return tenant, None
    return tenant, Client(
        tenant_id=row.client_tenant_id,
        client_id=row.client_client_id,
        name=row.client_name,
        scopes=frozenset(row.client_scopes),
        created_at=row.client_created_at,
        revoked_at=row.client_revoked_at,
    )


async def get_client(tx: Tx, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Client:
    row = (
        await tx.execute(select(clients).where(clients.c.tenant_id == tenant_id, clients.c.client_id == client_id))
    ).first()
    if row is None:
        raise NotFound("No such client.", code="CLIENT_NOT_FOUND")
    return _client(row)


async def list_clients(tx: Tx, tenant_id: uuid.UUID) -> list[Client]:
    rows = await tx.execute(select(clients).where(clients.c.tenant_id == tenant_id).order_by(clients.c.created_at))
    return [_client(r) for r in rows]


async def revoke_client(tx: Tx, tenant_id: uuid.UUID, client_id: uuid.UUID) -> Client:
    """Revoke a client: its secret and every token issued to it stop working at once."""
    await tx.execute(
        update(clients)
        .where(clients.c.tenant_id == tenant_id, clients.c.client_id == client_id, clients.c.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return await get_client(tx, tenant_id, client_id)


async def authenticate_client(tx: Tx, tenant_id: uuid.UUID, client_id: str, client_secret: str) -> Client:
    try:
        parsed = uuid.UUID(client_id)
        row = (
            await tx.execute(select(clients).where(clients.c.tenant_id == tenant_id, clients.c.client_id == parsed))
        ).first()
    except ValueError:
        row = None
    stored = row.secret_hash if row is not None else credentials.digest("")
    if not credentials.matches(client_secret, stored) or row is None or row.revoked_at is not None:
        raise NotAuthenticated("Unknown client or wrong secret.", code="INVALID_CLIENT")
    return _client(row)
