"""Access tokens: the engine's own client tokens, and member tokens from the retailer's identity provider."""

from __future__ import annotations

import asyncio
import time
import uuid
from functools import lru_cache
from typing import Any

import jwt

from loyalty.domain.errors import NotAuthenticated
from loyalty.domain.tenancy import Client, Tenant

ENGINE_ISSUER = "loyalty-engine"
_ALGORITHM = "HS256"
_LEEWAY_SECONDS = 30


def issue_client_token(tenant: Tenant, client: Client, scopes: frozenset[str], ttl_seconds: int) -> str:
    issued_at = int(time.time())
    claims = {
        "iss": ENGINE_ISSUER,
        "sub": str(client.client_id),
        "tid": str(tenant.tenant_id),
        "scope": " ".join(sorted(scopes)),
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, tenant.token_signing_key, algorithm=_ALGORITHM)


# A till sends the same token with every request until it expires, so decoding is remembered per token (a few
# thousand of them). Only successes are remembered; what can change for a token that once verified — its expiry
# passing, its client being revoked — is checked on every request all the same.
_REMEMBERED_TOKENS = 4096


@lru_cache(maxsize=_REMEMBERED_TOKENS)
def _unverified_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def is_engine_token(token: str) -> bool:
    try:
        claims = _unverified_claims(token)
    except jwt.PyJWTError as error:
        raise NotAuthenticated("The bearer token is not a JWT.", code="INVALID_TOKEN") from error
    return claims.get("iss") == ENGINE_ISSUER


def unverified_subject(token: str) -> uuid.UUID | None:
    """The client id an engine token claims, read before its signature is checked (to load that client)."""
    try:
        return uuid.UUID(str(_unverified_claims(token).get("sub")))
    except (jwt.PyJWTError, ValueError):
        return None


@lru_cache(maxsize=_REMEMBERED_TOKENS)
def _verified_claims(token: str, signing_key: str) -> dict[str, Any]:
    """The claims of a token signed with ``signing_key`` (keyed by both: a new signing key verifies afresh)."""
    claims: dict[str, Any] = jwt.decode(
        token,
        signing_key,
        algorithms=[_ALGORITHM],
        issuer=ENGINE_ISSUER,
        options={"require": ["exp", "iat", "sub", "tid"]},
        leeway=_LEEWAY_SECONDS,
    )
    return claims


def verify_client_token(tenant: Tenant, token: str) -> dict[str, Any]:
    try:
        claims = _verified_claims(token, tenant.token_signing_key)
    except jwt.PyJWTError as error:
        raise NotAuthenticated(f"The access token is not valid: {error}.", code="INVALID_TOKEN") from error
    # A remembered token may have expired since it was first verified.
    if int(claims["exp"]) + _LEEWAY_SECONDS <= time.time():
        raise NotAuthenticated("The access token is not valid: Signature has expired.", code="INVALID_TOKEN")
    if claims.get("tid") != str(tenant.tenant_id):
        raise NotAuthenticated("The access token belongs to another tenant.", code="INVALID_TOKEN")
    return claims


# JWKS fetched from a URL are cached per URL; PyJWKClient keeps the key set for `_JWKS_LIFESPAN` seconds.
_JWKS_LIFESPAN = 300
_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def _jwks_client(url: str) -> jwt.PyJWKClient:
    client = _jwks_clients.get(url)
    if client is None:
        client = jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=_JWKS_LIFESPAN, timeout=5)
        _jwks_clients[url] = client
    return client


async def _signing_key(config: dict[str, Any], token: str) -> Any:
    if config["algorithm"] == "HS256":
        return config["sharedSecret"]
    try:
        if config.get("jwks"):
            header = jwt.get_unverified_header(token)
            keys = jwt.PyJWKSet.from_dict(config["jwks"])
            kid = header.get("kid")
            matching = [k for k in keys.keys if kid is None or k.key_id == kid]
            if not matching:
                raise NotAuthenticated("No key in the tenant's JWKS matches the token's kid.", code="INVALID_TOKEN")
            return matching[0].key
        # The fetch is blocking network I/O: keep it off the event loop.
        return (await asyncio.to_thread(_jwks_client(config["jwksUrl"]).get_signing_key_from_jwt, token)).key
    except jwt.PyJWTError as error:
        raise NotAuthenticated(f"The token's signing key cannot be found: {error}.", code="INVALID_TOKEN") from error


async def verify_user_token(tenant: Tenant, token: str) -> str:
    """Verify a member token from the tenant's identity provider; return its ``sub`` (the authIdentifier)."""
    config = tenant.user_auth
    if not config:
        raise NotAuthenticated("This tenant does not accept member tokens.", code="INVALID_TOKEN")
    key = await _signing_key(config, token)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[config["algorithm"]],
            issuer=config["issuer"],
            audience=config.get("audience"),
            options={"require": ["sub", "iss", "iat", "exp"], "verify_aud": bool(config.get("audience"))},
            leeway=_LEEWAY_SECONDS,
        )
    except jwt.PyJWTError as error:
        raise NotAuthenticated(f"The member token is not valid: {error}.", code="INVALID_TOKEN") from error
    return str(claims["sub"])
