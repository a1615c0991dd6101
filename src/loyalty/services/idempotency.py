"""Idempotency keys: claimed in the same transaction as the effect they protect.

The claim is an ``INSERT … ON CONFLICT DO NOTHING`` made before the effect. A concurrent request with the same
key waits on the unique index (PostgreSQL) or on the write lock (SQLite) until the first commits — then it finds
the stored response and replays it — or rolls back, and then it becomes the one that runs. A crash before
commit leaves no claim, so the retry runs again safely.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.exc import DBAPIError

from loyalty.domain.errors import Conflict, Refused
from loyalty.services.clock import now
from loyalty.storage.database import Tx, sqlstate_of
from loyalty.storage.sql import ignoring_conflicts
from loyalty.storage.tables import idempotency_keys

# How long a request waits for another request holding the same key before answering 409 (PostgreSQL).
IN_USE_WAIT = "5s"
_LOCK_NOT_AVAILABLE = "55P03"
_WAIT_BRIEFLY = text(f"SET LOCAL lock_timeout = '{IN_USE_WAIT}'")
_WAIT_AS_USUAL = text("SET LOCAL lock_timeout TO DEFAULT")


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: bytes


def _key_filter(tenant_id: uuid.UUID, credential: str, key: str):  # type: ignore[no-untyped-def]
    c = idempotency_keys.c
    return (c.tenant_id == tenant_id) & (c.credential == credential) & (c.key == key)


async def claim(tx: Tx, tenant_id: uuid.UUID, credential: str, key: str, fingerprint: str) -> StoredResponse | None:
    """Claim ``key`` for this request; return the stored response when it was already used for the same request."""
    claimed = dict(tenant_id=tenant_id, credential=credential, key=key, fingerprint=fingerprint, created_at=now())
    postgres = tx.dialect.name == "postgresql"
    try:
        if postgres:
            await tx.execute(_WAIT_BRIEFLY)
        inserted = (await tx.execute(ignoring_conflicts(tx, idempotency_keys), claimed)).rowcount
        if postgres:
            await tx.execute(_WAIT_AS_USUAL)
    except DBAPIError as error:
        if sqlstate_of(error) == _LOCK_NOT_AVAILABLE:
            raise Conflict(
                "A request with this Idempotency-Key is still being processed.", code="IDEMPOTENCY_KEY_IN_USE"
            ) from error
        raise
    if inserted == 1:
        return None
    row = (
        await tx.execute(
            select(idempotency_keys.c.fingerprint, idempotency_keys.c.status_code, idempotency_keys.c.body).where(
                _key_filter(tenant_id, credential, key)
            )
        )
    ).one()
    if row.fingerprint != fingerprint:
        raise Refused("This Idempotency-Key was already used for a different request.", code="IDEMPOTENCY_KEY_REUSED")
    return StoredResponse(status_code=row.status_code, body=row.body)


# Built once (every request with a key stores its response); bound names differ from the columns they set.
_STORE = (
    update(idempotency_keys)
    .where(
        idempotency_keys.c.tenant_id == bindparam("at_tenant"),
        idempotency_keys.c.credential == bindparam("at_credential"),
        idempotency_keys.c.key == bindparam("at_key"),
    )
    .values(status_code=bindparam("stored_status"), body=bindparam("stored_body"))
)


async def store(tx: Tx, tenant_id: uuid.UUID, credential: str, key: str, response: StoredResponse) -> None:
    await tx.execute(
        _STORE,
        {
            "at_tenant": tenant_id,
            "at_credential": credential,
            "at_key": key,
            "stored_status": response.status_code,
            "stored_body": response.body,
        },
    )


async def reap(tx: Tx, older_than: timedelta, *, tenant_id: uuid.UUID | None = None) -> int:
    """Forget keys older than the retention window (of one tenant, or of all); returns how many were removed."""
    condition = idempotency_keys.c.created_at < now() - older_than
    if tenant_id is not None:
        condition = (idempotency_keys.c.tenant_id == tenant_id) & condition
    result = await tx.execute(delete(idempotency_keys).where(condition))
    return result.rowcount
