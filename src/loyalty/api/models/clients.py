"""API clients and the OAuth2 token response."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from loyalty.api.models.common import RequestModel, ResponseModel, Timestamp
from loyalty.domain.tenancy import Client


class ClientDefinition(RequestModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    scopes: list[str] = Field(min_length=1, description="`admin` and/or `pos`.")


class ClientOut(ResponseModel):
    client_id: str
    name: str
    scopes: list[str]
    created_at: Timestamp
    revoked_at: Timestamp | None

    @classmethod
    def of(cls, client: Client) -> ClientOut:
        return cls(
            client_id=str(client.client_id),
            name=client.name,
            scopes=sorted(client.scopes),
            created_at=client.created_at,
            revoked_at=client.revoked_at,
        )


class NewClientOut(ClientOut):
    client_secret: str = Field(description="Shown once; only its hash is stored.")


class TokenResponse(BaseModel):
    """RFC 6749 §5.1: snake_case and not enveloped."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str
