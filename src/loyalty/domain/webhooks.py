"""Webhook messages: the body a receiver gets, its signature, and when to try again."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import timedelta
from typing import Any

import orjson

SIGNATURE_HEADER = "X-Signature"
# After this many failed attempts a message is given up (status FAILED) and stays in the delivery log.
MAX_ATTEMPTS = 10


def message_body(
    message_id: str, event_type: str, reported_at: str, subject: str | None, payload: dict[str, Any]
) -> bytes:
    """WLL's webhook body (``type``, ``reportedAt``, ``subject`` = the member's authIdentifier, ``payload``) plus
    ``id``, which receivers use to drop a redelivered message."""
    return orjson.dumps(
        {"id": message_id, "type": event_type, "reportedAt": reported_at, "subject": subject, "payload": payload}
    )


def signature(secret: str, body: bytes) -> str:
    """HMAC-SHA256 of the exact body bytes, hex, prefixed like ``sha256=…``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delay(attempts: int, base_seconds: float) -> timedelta:
    """Exponential backoff with full jitter: up to base × 2^(attempts−1), capped at one hour."""
    ceiling = min(3600.0, base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter, not a secret
