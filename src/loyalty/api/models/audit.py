"""Audit entries on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from loyalty.api.models.common import ResponseModel, Timestamp
from loyalty.domain.audit import AuditEntry


class AuditActorOut(ResponseModel):
    client_id: str
    name: str = Field(description="The client's name when it acted.")


class AuditEntryOut(ResponseModel):
    id: str
    occurred_at: Timestamp
    actor: AuditActorOut
    method: str
    route: str = Field(description="The route template, e.g. `/v1/users/{id}/points`.")
    path: str = Field(description="The path as called.")
    target_ids: dict[str, str] = Field(description="The path parameters, by name, as written in the path.")
    request_body: Any = Field(
        description="The request body with secret-looking keys redacted; when `requestBodyTruncated`, a string "
        "holding the first 16 KiB of its JSON text (or null when it could not be read as JSON)."
    )
    request_body_truncated: bool
    status: int = Field(description="The HTTP status answered.")
    idempotency_key: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        request = entry.request
        return cls(
            id=str(entry.audit_id),
            occurred_at=entry.occurred_at,
            actor=AuditActorOut(client_id=str(request.client_id), name=request.client_name),
            method=request.method,
            route=request.route,
            path=request.path,
            target_ids=request.target_ids,
            request_body=request.body,
            request_body_truncated=request.body_truncated,
            status=request.status_code,
            idempotency_key=request.idempotency_key,
        )
