"""Tenants, API clients and who is calling."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from loyalty.domain.errors import InvalidInput


class Scope(StrEnum):
    """What a client credential may do. ``admin`` is everything in its tenant; ``pos`` the till's surface."""

    ADMIN = "admin"
    POS = "pos"


CLIENT_SCOPES = frozenset(s.value for s in Scope)


def effective_scopes(scopes: frozenset[str]) -> frozenset[str]:
    """The scopes a client may use: ``admin`` includes everything ``pos`` may do."""
    return scopes | {Scope.POS.value} if Scope.ADMIN.value in scopes else scopes


def parse_scopes(raw: str | list[str]) -> frozenset[str]:
    items = raw.replace(",", " ").split() if isinstance(raw, str) else raw
    scopes = frozenset(s.strip() for s in items if s.strip())
    if not scopes:
        raise InvalidInput("At least one scope is needed.", code="INVALID_SCOPE", field="scopes")
    unknown = sorted(scopes - CLIENT_SCOPES)
    if unknown:
        raise InvalidInput(
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(sorted(CLIENT_SCOPES))}.",
            code="INVALID_SCOPE",
            field="scopes",
        )
    return scopes


@dataclass(frozen=True)
class Tenant:
    tenant_id: uuid.UUID
    name: str
    api_key_hash: str
    token_signing_key: str
    user_auth: dict[str, Any] | None
    created_at: datetime
    # (requests a second, burst) when the tenant has its own API rate limit; None = the engine's default.
    rate_limit: tuple[int, int] | None = None


@dataclass(frozen=True)
class Client:
    tenant_id: uuid.UUID
    client_id: uuid.UUID
    name: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None


class PrincipalKind(StrEnum):
    CLIENT = "client"
    USER = "user"
    EVENT_SECRET = "event-secret"  # a back-office system holding one event type's secret


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request.

    A client principal holds scopes; a user principal is a member acting for themselves, known by the ``sub`` of
    their identity provider's token (their authIdentifier).
    """

    tenant: Tenant
    kind: PrincipalKind
    credential: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    subject: str | None = None
    event_secret: str | None = None
    # A client principal's client, as the audit trail names it.
    client_id: uuid.UUID | None = None
    client_name: str | None = None

    def has(self, scope: Scope) -> bool:
        return self.kind is PrincipalKind.CLIENT and (scope.value in self.scopes or Scope.ADMIN.value in self.scopes)

    @property
    def is_admin(self) -> bool:
        return self.kind is PrincipalKind.CLIENT and Scope.ADMIN.value in self.scopes

    @property
    def is_user(self) -> bool:
        return self.kind is PrincipalKind.USER
