"""Domain errors: each carries a stable ``code`` that clients can branch on.

The class says which family of HTTP status it maps to (see ``api/errors.py``); the code says exactly what
went wrong. Codes are part of the public contract: never rename one.
"""

from __future__ import annotations

import math
from typing import Any


class DomainError(Exception):
    code = "ERROR"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    """The request is malformed or breaks a field rule (400)."""

    code = "INVALID_INPUT"


class NotAuthenticated(DomainError):
    """Missing or unknown API key or token (401)."""

    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    """Authenticated, but not allowed to do this (403)."""

    code = "FORBIDDEN"


class NotFound(DomainError):
    """Unknown resource, or one that belongs to another tenant (404)."""

    code = "NOT_FOUND"


class Conflict(DomainError):
    """The resource's state does not allow this now (409)."""

    code = "CONFLICT"


class Refused(DomainError):
    """A business rule refuses the request (422)."""

    code = "REFUSED"


class RateLimited(DomainError):
    """Too many requests, or too many failed attempts, for now (429); ``retry_after`` says when to try again."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(message, code=code, retryAfter=self.retry_after)


class MemberNotFound(NotFound):
    code = "USER_NOT_FOUND"

    def __init__(self, identifier: str) -> None:
        super().__init__("No member matches that identifier.", identifier=identifier)


class InsufficientPoints(Refused):
    code = "INSUFFICIENT_POINTS"

    def __init__(self, *, balance: int, requested: int) -> None:
        super().__init__(
            f"The member has {balance} points; {requested} cannot be taken without going below zero.",
            balance=balance,
            requested=requested,
        )
