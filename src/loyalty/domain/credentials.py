"""Secrets: API keys, client secrets and the hashes we keep of them.

Every secret has at least 192 bits from the OS CSPRNG, so a fast hash (SHA-256) is enough to store it: there is
nothing to brute-force, unlike a human password. Comparisons are constant time.

An API key starts with its tenant's id in hex. The engine reads the tenant from the key, loads that one row by
primary key and compares hashes, so no lookup index outside the tenant's own key space is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

_SECRET_BYTES = 24  # 192 bits


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)


def new_secret() -> str:
    return secrets.token_urlsafe(_SECRET_BYTES)


def new_api_key(tenant_id: uuid.UUID) -> str:
    return tenant_id.hex + new_secret()


def tenant_of_api_key(api_key: str) -> uuid.UUID | None:
    """The tenant an API key claims to belong to (still to be verified against the stored hash)."""
    try:
        return uuid.UUID(hex=api_key[:32])
    except ValueError:
        return None


def new_signing_key() -> str:
    return secrets.token_hex(32)


def derived_secret(key: str, label: str) -> str:
    """A secret derived from a stored key (HMAC-SHA256): it can be shown again on request without ever being
    stored, and changing ``label`` (e.g. a version number) rotates it."""
    return hmac.new(key.encode(), label.encode(), hashlib.sha256).hexdigest()
