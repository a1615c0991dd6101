"""Tenants: creation, lookup by API key, and the identity-provider settings for member tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update

from loyalty.domain import credentials
from loyalty.domain.errors import InvalidInput, NotAuthenticated, NotFound
from loyalty.domain.tenancy import Tenant
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.tables import tenants


@dataclass(frozen=True)
class NewTenant:
    tenant: Tenant
    api_key: str  # shown once


def _tenant(row: Any) -> Tenant:
    return Tenant(
        tenant_id=row.tenant_id,
        name=row.name,
        api_key_hash=row.api_key_hash,
        token_signing_key=row.token_signing_key,
        user_auth=row.user_auth,
        created_at=row.created_at,
        rate_limit=(
            (row.rate_limit_per_second, row.rate_limit_burst) if row.rate_limit_per_second is not None else None
        ),
    )


async def create_tenant(tx: Tx, name: str) -> NewTenant:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("A tenant name is 1 to 200 characters.", field="name")
    tenant_id = uuid.uuid4()
    api_key = credentials.new_api_key(tenant_id)
    await tx.execute(
        tenants.insert().values(
            tenant_id=tenant_id,
            name=name,
            api_key_hash=credentials.digest(api_key),
            token_signing_key=credentials.new_signing_key(),
            webhook_secret=credentials.new_signing_key(),
            created_at=now(),
        )
    )
    return NewTenant(tenant=await get_tenant(tx, str(tenant_id)), api_key=api_key)


async def get_tenant(tx: Tx, id_or_name: str) -> Tenant:
    """A tenant by id, or by name when the name is unambiguous (for the CLI)."""
    try:
        query = select(tenants).where(tenants.c.tenant_id == uuid.UUID(id_or_name))
    except ValueError:
        query = select(tenants).where(tenants.c.name == id_or_name)
    rows = (await tx.execute(query)).all()
    if len(rows) > 1:
        raise InvalidInput(f"Several tenants are named {id_or_name!r}: use the tenant id.", code="AMBIGUOUS_TENANT")
    if not rows:
        raise NotFound(f"No tenant {id_or_name!r}.", code="TENANT_NOT_FOUND")
    return _tenant(rows[0])


async def list_tenants(tx: Tx) -> list[Tenant]:
    rows = await tx.execute(select(tenants).order_by(tenants.c.created_at))
    return [_tenant(r) for r in rows]


_TENANT = select(tenants).where(tenants.c.tenant_id == bindparam("tenant_id"))  # built once: read per request


async def authenticate_api_key(tx: Tx, api_key: str | None) -> Tenant:
    tenant_id = tenant_id_of_api_key(api_key)
    row = None
    if tenant_id is not None:
        row = (await tx.execute(_TENANT, {"tenant_id": tenant_id})).first()
    return tenant_of_api_key(api_key or "", row)


def tenant_id_of_api_key(api_key: str | None) -> uuid.UUID | None:
    """The tenant id an API key names (unverified); a missing key is refused here."""
    if not api_key:
        raise NotAuthenticated("The X-Api-Key header is required.", code="INVALID_API_KEY")
    return credentials.tenant_of_api_key(api_key)


def tenant_of_api_key(api_key: str, row: Any | None) -> Tenant:
    """The tenant of ``row`` (its tenants columns) if ``api_key`` is its key; refused otherwise. The key is compared
    even when no row was found, so timing does not tell whether a tenant id exists."""
    stored = row.api_key_hash if row is not None else credentials.digest("")
    if not credentials.matches(api_key, stored) or row is None:
        raise NotAuthenticated("The API key is not valid.", code="INVALID_API_KEY")
    return _tenant(row)


USER_AUTH_ALGORITHMS = {"HS256", "RS256"}


def check_user_auth(config: dict[str, Any]) -> dict[str, Any]:
    """Validate the identity-provider settings used to verify member tokens."""
    algorithm = config.get("algorithm")
    if algorithm not in USER_AUTH_ALGORITHMS:
        raise InvalidInput("algorithm must be HS256 or RS256.", code="INVALID_USER_AUTH", field="algorithm")
    if not config.get("issuer"):
        raise InvalidInput("issuer (the expected 'iss' claim) is required.", code="INVALID_USER_AUTH")
    if algorithm == "HS256" and not config.get("sharedSecret"):
        raise InvalidInput("HS256 needs sharedSecret.", code="INVALID_USER_AUTH", field="sharedSecret")
    if algorithm == "RS256" and not (config.get("jwks") or config.get("jwksUrl")):
        raise InvalidInput("RS256 needs jwks (inline) or jwksUrl.", code="INVALID_USER_AUTH", field="jwks")
    allowed = {"algorithm", "issuer", "sharedSecret", "jwks", "jwksUrl", "audience"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise InvalidInput(f"Unknown setting(s): {', '.join(unknown)}.", code="UNKNOWN_FIELD")
    return {k: v for k, v in config.items() if v is not None}


async def set_user_auth(tx: Tx, tenant_id: uuid.UUID, config: dict[str, Any] | None) -> Tenant:
    value = check_user_auth(config) if config is not None else None
    await tx.execute(update(tenants).where(tenants.c.tenant_id == tenant_id).values(user_auth=value))
    await bump_config_version(tx, tenant_id)
    return await get_tenant(tx, str(tenant_id))


MAX_RATE = 1_000_000


async def set_rate_limit(tx: Tx, tenant_id: uuid.UUID, per_second: int | None, burst: int | None) -> Tenant:
    """Give the tenant its own API rate limit, or (``per_second`` None) go back to the engine's default."""
    if per_second is not None:
        burst = burst if burst is not None else per_second * 2
        if not 1 <= per_second <= MAX_RATE or not 1 <= burst <= MAX_RATE:
            raise InvalidInput(f"A rate limit is from 1 to {MAX_RATE} requests a second, with a burst as large.")
    else:
        burst = None
    await tx.execute(
        update(tenants)
        .where(tenants.c.tenant_id == tenant_id)
        .values(rate_limit_per_second=per_second, rate_limit_burst=burst)
    )
    return await get_tenant(tx, str(tenant_id))
