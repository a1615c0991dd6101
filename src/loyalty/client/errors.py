"""What the client raises: the API's own error, typed by its HTTP family and carrying the stable ``code``."""

from __future__ import annotations

import contextlib
from typing import Any


class LoyaltyError(Exception):
    """Base of every error the client raises."""

    def __init__(self, message: str, *, code: str, status: int | None = None, data: dict[str, Any] | None = None):
        super().__init__(f"{code}: {message}")
        self.message = message
        self.code = code
        self.status = status
        self.data = data or {}


class InvalidRequest(LoyaltyError):
    """400: the request is malformed or breaks a field rule (``code`` says which)."""


class Unauthorized(LoyaltyError):
    """401: the API key or the credentials are not valid."""


class Forbidden(LoyaltyError):
    """403: this credential may not do this."""


class NotFound(LoyaltyError):
    """404: no such member, voucher, order… in this tenant."""


class Conflict(LoyaltyError):
    """409: the state does not allow it now (a voucher already burned, an idempotency conflict…)."""


class Refused(LoyaltyError):
    """422: a business rule refused it (insufficient points, a cap…)."""


class RateLimited(LoyaltyError):
    """429: too many requests; ``retry_after`` is the engine's advice in seconds."""

    @property
    def retry_after(self) -> float:
        return float(self.data.get("retryAfter", 1))


class ServerError(LoyaltyError):
    """5xx: the engine failed; nothing was committed, and a retry with the same key is safe."""


class Unreachable(LoyaltyError):
    """The engine could not be reached (connection refused, timeout, reset)."""


class OfflineRefused(LoyaltyError):
    """The engine is unreachable and this operation must not be done offline (a voucher burn, a points spend…)."""


_BY_STATUS: dict[int, type[LoyaltyError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: InvalidRequest,
    409: Conflict,
    413: InvalidRequest,
    422: Refused,
    429: RateLimited,
}


def error_of(status: int, document: Any, retry_after: str | None = None) -> LoyaltyError:
    """The typed error for an HTTP answer that is not a success (JSend ``fail``/``error`` or anything else)."""
    data = document.get("data") if isinstance(document, dict) else None
    data = data if isinstance(data, dict) else {}
    message = document.get("message") if isinstance(document, dict) else None
    code = str(data.get("code") or (document.get("error") if isinstance(document, dict) else None) or "HTTP_ERROR")
    if retry_after is not None and "retryAfter" not in data:
        with contextlib.suppress(ValueError):
            data = {**data, "retryAfter": float(retry_after)}
    kind = ServerError if status >= 500 else _BY_STATUS.get(status, LoyaltyError)
    return kind(str(message or f"HTTP {status}"), code=code, status=status, data=data)
