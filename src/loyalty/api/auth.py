"""Who is calling, and may they call this route.

Every route declares its access with an :class:`Access` dependency; ``tests/api/test_route_access.py`` fails for
a ``/v1`` route that declares none. Authentication costs one read: the tenant row (by the id
embedded in the API key) and, for client tokens, the client row (so revocation is immediate), in one statement run
outside any transaction.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from loyalty.api import tokens
from loyalty.api.limits import limits_of
from loyalty.domain.errors import Forbidden, NotAuthenticated
from loyalty.domain.tenancy import Client, Principal, PrincipalKind, Tenant, effective_scopes
from loyalty.services import clients as client_service
from loyalty.services import tenants as tenant_service
from loyalty.storage.database import Database, Tx

api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="The tenant's API key.")
bearer = HTTPBearer(auto_error=False, description="A client access token or a member token from the IdP.")
event_secret_header = APIKeyHeader(
    name="X-Event-Secret", auto_error=False, description="An event type's secret (POST /v1/events only)."
)


class Role(StrEnum):
    ADMIN = "admin"
    POS = "pos"
    USER = "user"  # a member, with a token from the retailer's identity provider


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _load(tx: Tx, api_key: str | None, token: str | None) -> tuple[Tenant, Client | None]:
    """The tenant of the API key and, for an engine token, the client it names (unverified yet)."""
    if token is None or not tokens.is_engine_token(token):
        return await tenant_service.authenticate_api_key(tx, api_key), None
    client_id = tokens.unverified_subject(token)
    if client_id is None:
        await tenant_service.authenticate_api_key(tx, api_key)  # a bad API key is reported first
        raise NotAuthenticated("The access token names no client.", code="INVALID_TOKEN")
    tenant, client = await client_service.tenant_and_client(tx, api_key, client_id)
    if client is None:
        raise NotAuthenticated("The client of this token does not exist.", code="INVALID_TOKEN")
    return tenant, client


async def authenticate(request: Request, api_key: str | None, token: str | None) -> Principal | Tenant:
    """Resolve the caller. The tenant's rate limit is taken before any signature is checked. Signatures are
    checked after the read transaction, since a member token's key may have to be fetched from the identity
    provider (no network I/O inside a transaction)."""
    tenant, client = await database(request).run(lambda tx: _load(tx, api_key, token), single_read=True)
    request.state.tenant_id = str(tenant.tenant_id)
    limits_of(request).admit(tenant)
    if token is None:
        return tenant
    if client is not None:
        claims = tokens.verify_client_token(tenant, token)
        if client.revoked_at is not None:
            raise NotAuthenticated("The client of this token was revoked.", code="INVALID_TOKEN")
        granted = frozenset(str(claims.get("scope", "")).split()) & effective_scopes(client.scopes)
        return Principal(
            tenant=tenant,
            kind=PrincipalKind.CLIENT,
            credential=f"client:{client.client_id}",
            scopes=granted,
            client_id=client.client_id,
            client_name=client.name,
        )
    subject = await tokens.verify_user_token(tenant, token)
    return Principal(tenant=tenant, kind=PrincipalKind.USER, credential=f"user:{subject}", subject=subject)


class Access:
    """A route's access rule: the roles that may call it. Every admin and pos route names ``admin``."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def allows(self, principal: Principal) -> bool:
        if principal.kind is PrincipalKind.EVENT_SECRET:
            return False
        if principal.is_user:
            return Role.USER in self.roles
        return any(role.value in principal.scopes for role in self.roles if role is not Role.USER)

    async def __call__(
        self,
        request: Request,
        api_key: str | None = Security(api_key_header),
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
    ) -> Principal:
        token = credentials.credentials if credentials is not None else None
        found = await authenticate(request, api_key, token)
        if isinstance(found, Tenant):
            raise NotAuthenticated("A bearer token is required.", code="MISSING_TOKEN")
        request.state.credential = found.credential
        if not self.allows(found):
            raise Forbidden("This credential may not call this endpoint.", code="FORBIDDEN")
        return found


class TenantOnly:
    """Routes that need only the API key (the token endpoint)."""

    roles = frozenset[Role]()

    async def __call__(self, request: Request, api_key: str | None = Security(api_key_header)) -> Tenant:
        db = database(request)
        tenant = await db.run(lambda tx: tenant_service.authenticate_api_key(tx, api_key), single_read=True)
        request.state.tenant_id = str(tenant.tenant_id)
        limits_of(request).admit(tenant)
        return tenant


class EventReporterAccess(Access):
    """``POST /v1/events``: admin, pos and member tokens, or — with no token — the event type's secret in
    ``X-Event-Secret`` (checked against the reported type by the events service)."""

    async def __call__(
        self,
        request: Request,
        api_key: str | None = Security(api_key_header),
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),
        event_secret: str | None = Security(event_secret_header),
    ) -> Principal:
        if credentials is None and event_secret:
            tenant = await authenticate(request, api_key, None)
            assert isinstance(tenant, Tenant)
            fingerprint = hashlib.sha256(event_secret.encode()).hexdigest()[:16]
            request.state.credential = f"event-secret:{fingerprint}"
            return Principal(
                tenant=tenant,
                kind=PrincipalKind.EVENT_SECRET,
                credential=f"event-secret:{fingerprint}",
                event_secret=event_secret,
            )
        return await super().__call__(request, api_key, credentials)


ADMIN = Access(Role.ADMIN)
ADMIN_POS = Access(Role.ADMIN, Role.POS)
ADMIN_POS_USER = Access(Role.ADMIN, Role.POS, Role.USER)
ADMIN_USER = Access(Role.ADMIN, Role.USER)
API_KEY_ONLY = TenantOnly()
EVENT_REPORTERS = EventReporterAccess(Role.ADMIN, Role.POS, Role.USER)
