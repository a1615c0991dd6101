"""The audit trail: one entry per successful state-changing request of an admin client, and reading them back.

``record`` is called by ``api/commands.run_command`` inside the command's own transaction, after the effect: a
command that fails rolls its entry back with everything else, and an idempotent replay, which runs no effect,
records nothing. So an entry exists exactly when the change it describes does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, func, select

from loyalty.domain.audit import AuditedRequest, AuditEntry, target_text
from loyalty.domain.errors import NotFound
from loyalty.services.clock import now
from loyalty.storage.database import Tx
from loyalty.storage.sql import storable
from loyalty.storage.tables import audit_entries


async def record(tx: Tx, tenant_id: uuid.UUID, request: AuditedRequest) -> AuditEntry:
    entry = AuditEntry(audit_id=uuid.uuid4(), occurred_at=now(), request=request)
    await tx.execute(
        audit_entries.insert().values(
            tenant_id=tenant_id,
            audit_id=entry.audit_id,
            occurred_at=entry.occurred_at,
            actor_client_id=request.client_id,
            actor_name=request.client_name,
            method=request.method,
            route=request.route,
            path=request.path,
            target_ids=request.target_ids,
            targets=target_text(request.target_ids),
            request_body=request.body,
            request_body_truncated=request.body_truncated,
            status_code=request.status_code,
            idempotency_key=request.idempotency_key,
        )
    )
    return entry


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        audit_id=row.audit_id,
        occurred_at=row.occurred_at,
        request=AuditedRequest(
            client_id=row.actor_client_id,
            client_name=row.actor_name,
            method=row.method,
            route=row.route,
            path=row.path,
            target_ids=row.target_ids,
            body=row.request_body,
            body_truncated=row.request_body_truncated,
            status_code=row.status_code,
            idempotency_key=row.idempotency_key,
        ),
    )


async def get_entry(tx: Tx, tenant_id: uuid.UUID, audit_id: uuid.UUID) -> AuditEntry:
    row = (
        await tx.execute(
            select(audit_entries).where(audit_entries.c.tenant_id == tenant_id, audit_entries.c.audit_id == audit_id)
        )
    ).first()
    if row is None:
        raise NotFound("No such audit entry.", code="AUDIT_ENTRY_NOT_FOUND")
    return _entry(row)


@dataclass(frozen=True)
class AuditFilter:
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    action: str | None = None  # a route template, or the start of one
    method: str | None = None
    actor: uuid.UUID | None = None
    target: str | None = None  # a value of one of the path parameters


def _condition(tenant_id: uuid.UUID, where: AuditFilter) -> Any:
    entry = audit_entries.c
    condition = entry.tenant_id == tenant_id
    if where.occurred_from:
        condition = condition & (entry.occurred_at >= where.occurred_from)
    if where.occurred_to:
        condition = condition & (entry.occurred_at < where.occurred_to)
    if where.actor:
        condition = condition & (entry.actor_client_id == where.actor)
    if where.method:
        condition = condition & (entry.method == where.method)
    if where.action is not None:
        # An exact prefix on both backends (SQLite's LIKE would ignore case where PostgreSQL's does not).
        prefix = func.substr(entry.route, 1, len(where.action)) == where.action
        condition = condition & (prefix if storable(where.action) else false())
    if where.target is not None:
        # `targets` is stored lower-cased, so the search ignores case the same way on both backends.
        found = entry.targets.contains(target_text({"": where.target}), autoescape=True)
        condition = condition & (found if storable(where.target) else false())
    return condition


async def list_entries(
    tx: Tx, tenant_id: uuid.UUID, where: AuditFilter, *, limit: int, skip: int, ascending: bool
) -> tuple[list[AuditEntry], int]:
    """The entries matching ``where``, by time (newest first unless ``ascending``)."""
    condition = _condition(tenant_id, where)
    total = (await tx.execute(select(func.count()).select_from(audit_entries).where(condition))).scalar_one()
    entry = audit_entries.c
    # Ties (one clock tick) are broken by id, the same way round, so ASC is exactly DESC reversed.
    ordering = (
        (entry.occurred_at.asc(), entry.audit_id.asc())
        if ascending
        else (entry.occurred_at.desc(), entry.audit_id.desc())
    )
    rows = await tx.execute(select(audit_entries).where(condition).order_by(*ordering).limit(limit).offset(skip))
    return [_entry(r) for r in rows], total
