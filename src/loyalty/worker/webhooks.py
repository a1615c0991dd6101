"""Deliver webhook messages from the outbox: take a batch under a lease, send each with no transaction open,
record the outcome. Several workers may run at once (PostgreSQL skips rows another worker holds; SQLite
serialises the short claim transactions)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import structlog

from loyalty.domain.webhooks import SIGNATURE_HEADER, signature
from loyalty.services import webhooks as webhook_service
from loyalty.storage.database import Database, Tx

log = structlog.get_logger("loyalty.worker")


async def _send(http: httpx.AsyncClient, claimed: webhook_service.Claimed) -> tuple[int | None, str | None]:
    delivery = claimed.delivery
    headers = {
        **delivery.headers,
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(claimed.secret, delivery.body),
        "X-Loyalty-Delivery": str(delivery.delivery_id),
    }
    try:
        answer = await http.post(delivery.url, content=delivery.body, headers=headers)
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"[:500]
    return answer.status_code, None


def _recorder(
    item: webhook_service.Claimed, status_code: int | None, error: str | None, backoff_base_seconds: float
) -> Callable[[Tx], Awaitable[None]]:
    async def record(tx: Tx) -> None:
        await webhook_service.record_attempt(
            tx, item.delivery, status_code=status_code, error=error, backoff_base_seconds=backoff_base_seconds
        )

    return record


async def deliver_due(
    db: Database, http: httpx.AsyncClient, *, lease: timedelta, backoff_base_seconds: float, batch: int = 50
) -> int:
    """One round: deliver what is due now. Returns how many messages were attempted."""
    claimed = await db.run(lambda tx: webhook_service.claim_due(tx, lease=lease, limit=batch))
    results = await asyncio.gather(*(_send(http, item) for item in claimed))
    for item, (status_code, error) in zip(claimed, results, strict=True):
        await db.run(_recorder(item, status_code, error, backoff_base_seconds))
        log.info(
            "webhook_attempt",
            delivery_id=str(item.delivery.delivery_id),
            tenant_id=str(item.delivery.tenant_id),
            status_code=status_code,
            error=error,
            attempt=item.delivery.attempts + 1,
        )
    return len(claimed)
