"""The audit trail of admin actions: what one entry holds, and how a request body is made safe to keep.

A body is kept as the JSON it was, with the values of keys that name a secret replaced (a secret in an audit log
is a secret leaked to everyone who may read the log), and cut to a size that keeps the table small.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

REDACTED = "[REDACTED]"
# What a body may take in an entry, once serialised; a longer one is kept as the first this many bytes of its text.
MAX_BODY_BYTES = 16 * 1024
# Parts of key names (lower-cased, without "_" and "-") whose values are never kept.
SECRET_KEY_PARTS = (
    "secret",
    "password",
    "passwd",
    "passphrase",
    "apikey",
    "token",
    "authorization",
    "credential",
    "privatekey",
)


@dataclass(frozen=True)
class AuditedRequest:
    """What the edge knows about a state-changing request, recorded once its effect has happened."""

    client_id: uuid.UUID
    client_name: str
    method: str
    route: str  # the route template, e.g. /v1/users/{id}/points
    path: str
    target_ids: dict[str, str]  # path parameter or body field → value, as written (see target_ids_of)
    body: Any  # the kept body (see kept_body), or None
    body_truncated: bool
    status_code: int
    idempotency_key: str | None


@dataclass(frozen=True)
class AuditEntry:
    audit_id: uuid.UUID
    occurred_at: datetime
    request: AuditedRequest


def is_secret_key(key: str) -> bool:
    normalised = key.lower().replace("_", "").replace("-", "")
    return any(part in normalised for part in SECRET_KEY_PARTS)


def redact(value: Any) -> Any:
    """``value`` with every value under a secret-looking key replaced by ``REDACTED``, at any depth. NUL characters
    become U+FFFD: no backend stores them, and a body a route never read may still hold one."""
    if isinstance(value, dict):
        return {_text(k): REDACTED if is_secret_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return _text(value)
    return value


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class KeptBody:
    document: Any
    truncated: bool


def kept_body(raw: bytes, limit: int = MAX_BODY_BYTES) -> KeptBody:
    """The body to keep for a request: its JSON redacted; past ``limit`` bytes, the first ``limit`` bytes of that
    JSON's text as a string, marked truncated. An empty body is None; one that cannot be read as JSON (or is nested
    too deeply to walk) is None, marked truncated, since something was sent that is not kept."""
    if not raw.strip():
        return KeptBody(None, False)
    try:
        document = redact(json.loads(raw, parse_constant=_refuse_constant))
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        return KeptBody(None, True)
    encoded = text.encode()
    if len(encoded) <= limit:
        return KeptBody(document, False)
    return KeptBody(encoded[:limit].decode(errors="ignore"), True)


# Body fields in which the commands (POST /v1/commands/...) name what they act on: a command has no id in its path.
BODY_TARGET_KEYS = ("actorId", "beneficiaryId", "userId", "benefitId", "rewardId", "badgeId")


def target_ids_of(path_params: Mapping[str, Any], body: Any) -> dict[str, str]:
    """The ids an entry is about: every path parameter, then the top-level body fields that name a member, a
    benefit, a reward or a badge (so "every change to member X" finds the commands that named X too)."""
    found = {name: str(value) for name, value in path_params.items()}
    if isinstance(body, dict):
        for key in BODY_TARGET_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value and key not in found:
                found[key] = value
    return found


def target_text(target_ids: dict[str, str]) -> str:
    """The target ids as one searchable text: each value lower-cased on a line of its own, so searching it for the
    text of one value finds whole values only, whatever their case."""
    return "".join(f"\n{_text(value).lower()}" for value in target_ids.values()) + "\n"
