"""The webhook outbox: messages are written in the event's transaction and delivered by the worker after commit.

Delivery is at least once. A worker takes a message by setting a lease (``locked_until``) in a short transaction,
sends it with no transaction open, and records the outcome in another. A worker killed mid-delivery leaves a
lease that simply expires, and the message is sent again; receivers drop repeats by the message ``id``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from loyalty.domain import webhooks as rules
from loyalty.domain.errors import NotFound
from loyalty.services.clock import now
from loyalty.storage.database import Tx
from loyalty.storage.tables import tenants, webhook_deliveries


@dataclass(frozen=True)
class Delivery:
    tenant_id: uuid.UUID
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    reactor_id: uuid.UUID
    url: str
    headers: dict[str, str]
    body: bytes
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _delivery(row: Any) -> Delivery:
    return Delivery(
        tenant_id=row.tenant_id,
        delivery_id=row.delivery_id,
        event_id=row.event_id,
        reactor_id=row.reactor_id,
        url=row.url,
        headers=row.headers,
        body=row.body,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


async def enqueue(
    tx: Tx,
    tenant_id: uuid.UUID,
    *,
    event_id: uuid.UUID,
    reactor_id: uuid.UUID,
    url: str,
    headers: dict[str, str],
    event_type: str,
    reported_at: str,
    subject: str | None,
    payload: dict[str, Any],
) -> uuid.UUID:
    delivery_id = uuid.uuid4()
    moment = now()
    await tx.execute(
        webhook_deliveries.insert().values(
            tenant_id=tenant_id,
            delivery_id=delivery_id,
            event_id=event_id,
            reactor_id=reactor_id,
            url=url,
            headers=headers,
            body=rules.message_body(str(delivery_id), event_type, reported_at, subject, payload),
            status="PENDING",
            attempts=0,
            next_attempt_at=moment,
            created_at=moment,
        )
    )
    return delivery_id


async def list_deliveries(
    tx: Tx, tenant_id: uuid.UUID, *, status: str | None, event_id: uuid.UUID | None, limit: int, skip: int
) -> tuple[list[Delivery], int]:
    condition = webhook_deliveries.c.tenant_id == tenant_id
    if status:
        condition = condition & (webhook_deliveries.c.status == status)
    if event_id:
        condition = condition & (webhook_deliveries.c.event_id == event_id)
    total = (await tx.execute(select(func.count()).select_from(webhook_deliveries).where(condition))).scalar_one()
    rows = await tx.execute(
        select(webhook_deliveries)
        .where(condition)
        .order_by(webhook_deliveries.c.created_at.desc())
        .limit(limit)
        .offset(skip)
    )
    return [_delivery(r) for r in rows], total


async def get_delivery(tx: Tx, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
    row = (
        await tx.execute(
            select(webhook_deliveries).where(
                webhook_deliveries.c.tenant_id == tenant_id, webhook_deliveries.c.delivery_id == delivery_id
            )
        )
    ).first()
    if row is None:
        raise NotFound("No such webhook delivery.", code="WEBHOOK_DELIVERY_NOT_FOUND")
    return _delivery(row)


async def webhook_secret(tx: Tx, tenant_id: uuid.UUID) -> str:
    return str(
        (await tx.execute(select(tenants.c.webhook_secret).where(tenants.c.tenant_id == tenant_id))).scalar_one()
    )


# ---- the worker's side ----


@dataclass(frozen=True)
class Claimed:
    delivery: Delivery
    secret: str


async def claim_due(tx: Tx, *, lease: timedelta, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due messages under a lease. Tenants are walked one by one so every query stays
    within one tenant's keys; on PostgreSQL rows locked by another worker are skipped, not waited for."""
    moment = now()
    claimed: list[Claimed] = []
    tenant_rows = (await tx.execute(select(tenants.c.tenant_id, tenants.c.webhook_secret))).all()
    for tenant_id, secret in tenant_rows:
        due = (
            select(webhook_deliveries.c.delivery_id)
            .where(
                webhook_deliveries.c.tenant_id == tenant_id,
                webhook_deliveries.c.status == "PENDING",
                webhook_deliveries.c.next_attempt_at <= moment,
                or_(webhook_deliveries.c.locked_until.is_(None), webhook_deliveries.c.locked_until < moment),
            )
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit - len(claimed))
            .with_for_update(skip_locked=True)
        )
        ids = [r.delivery_id for r in await tx.execute(due)]
        if not ids:
            continue
        await tx.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.tenant_id == tenant_id, webhook_deliveries.c.delivery_id.in_(ids))
            .values(locked_until=moment + lease)
        )
        for delivery_id in ids:
            claimed.append(Claimed(await get_delivery(tx, tenant_id, delivery_id), secret))
        if len(claimed) >= limit:
            break
    return claimed


async def record_attempt(
    tx: Tx,
    delivery: Delivery,
    *,
    status_code: int | None,
    error: str | None,
    backoff_base_seconds: float,
) -> None:
    """Record one delivery attempt: delivered on a 2xx; otherwise retried later, or given up after the last try."""
    moment = now()
    attempts = delivery.attempts + 1
    succeeded = status_code is not None and 200 <= status_code < 300
    values: dict[str, Any] = {"attempts": attempts, "last_status_code": status_code, "locked_until": None}
    if succeeded:
        values.update(status="DELIVERED", delivered_at=moment, last_error=None)
    elif attempts >= rules.MAX_ATTEMPTS:
        values.update(status="FAILED", last_error=(error or f"HTTP {status_code}")[:500])
    else:
        values.update(
            next_attempt_at=moment + rules.retry_delay(attempts, backoff_base_seconds),
            last_error=(error or f"HTTP {status_code}")[:500],
        )
    await tx.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.tenant_id == delivery.tenant_id,
            webhook_deliveries.c.delivery_id == delivery.delivery_id,
            webhook_deliveries.c.status == "PENDING",
        )
        .values(**values)
    )
