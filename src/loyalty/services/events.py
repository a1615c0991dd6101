"""Events: the record of what happened to a member. Intrinsic events are emitted by other use cases.

Reactors (rules that react to events) arrive in a later piece of work; for now every intrinsic event is stored
in the same transaction as the change that caused it, so the history is complete from the first day.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from loyalty.services.clock import now
from loyalty.storage.database import Tx
from loyalty.storage.tables import events


class IntrinsicEvent(StrEnum):
    REGISTERED_ACCOUNT = "REGISTERED_ACCOUNT"
    PROFILE_UPDATED = "PROFILE_UPDATED"
    CLOSED_ACCOUNT = "CLOSED_ACCOUNT"
    POINTS_ADJUSTED = "POINTS_ADJUSTED"


async def emit(
    tx: Tx,
    tenant_id: uuid.UUID,
    event_type: IntrinsicEvent,
    *,
    subject_id: uuid.UUID | None,
    payload: dict[str, Any],
    executor: str | None = None,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> uuid.UUID:
    event_id = event_id or uuid.uuid4()
    reported_at = now()
    await tx.execute(
        events.insert().values(
            tenant_id=tenant_id,
            event_id=event_id,
            type=event_type.value,
            subject_id=subject_id,
            executor=executor,
            payload=payload,
            occurred_at=occurred_at or reported_at,
            reported_at=reported_at,
        )
    )
    return event_id
