"""Running a state-changing request: one retried transaction holding the idempotency claim, the effect, the
audit entry and the stored response (see services/idempotency.py for why the claim lives in the same transaction,
and services/audit.py for the entry)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from loyalty.api.auth import database
from loyalty.api.envelope import JSendResponse, success_body
from loyalty.domain.audit import AuditedRequest, kept_body, target_ids_of
from loyalty.domain.errors import InvalidInput
from loyalty.domain.tenancy import Principal
from loyalty.services import audit, idempotency
from loyalty.storage.database import Tx

IDEMPOTENCY_HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not _VALID_KEY.match(key):
        raise InvalidInput(
            "Idempotency-Key must be 1–255 printable ASCII characters without spaces.", code="INVALID_IDEMPOTENCY_KEY"
        )
    return key


async def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b"\n" + request.url.path.encode() + b"?" + request.url.query.encode())
    digest.update(b"\n" + await request.body())
    return digest.hexdigest()


async def _audited(request: Request, principal: Principal, key: str | None, status_code: int) -> AuditedRequest | None:
    """What the audit trail keeps of this request: admin clients' requests only (a till's sales and a member's own
    changes are the ledger's and the orders' business, not an operator's action)."""
    if not principal.is_admin or principal.client_id is None:
        return None
    body = kept_body(await request.body())
    return AuditedRequest(
        client_id=principal.client_id,
        client_name=principal.client_name or "",
        method=request.method,
        route=getattr(request.scope.get("route"), "path", request.url.path),
        path=request.url.path,
        target_ids=target_ids_of(request.path_params, body.document),
        body=body.document,
        body_truncated=body.truncated,
        status_code=status_code,
        idempotency_key=key,
    )


async def run_command(
    request: Request,
    principal: Principal,
    effect: Callable[[Tx], Awaitable[Any]],
    *,
    status_code: int = 200,
    dry_run: bool = False,
) -> Response:
    """Run ``effect`` (which returns the response's ``data``) exactly once per Idempotency-Key, and record it in
    the audit trail in the same transaction. A ``dry_run`` (whose effect keeps nothing) is not recorded."""
    key = _idempotency_key(request)
    fingerprint = await _fingerprint(request) if key else ""
    tenant_id = principal.tenant.tenant_id
    audited = None if dry_run else await _audited(request, principal, key, status_code)

    async def work(tx: Tx) -> Response:
        if key is not None:
            stored = await idempotency.claim(tx, tenant_id, principal.credential, key, fingerprint)
            if stored is not None:
                return JSendResponse(
                    stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
                )
        body = success_body(await effect(tx))
        if audited is not None:
            await audit.record(tx, tenant_id, audited)
        if key is not None:
            await idempotency.store(
                tx, tenant_id, principal.credential, key, idempotency.StoredResponse(status_code, body)
            )
        return JSendResponse(body, status_code=status_code)

    return await database(request).run(work)


async def run_query(request: Request, query: Callable[[Tx], Awaitable[Response]]) -> Response:
    """A read: one read-only transaction (no write lock on SQLite)."""
    return await database(request).run(query, write=False)
