"""POST /v1/oauth/token: the OAuth2 client-credentials grant (RFC 6749 §4.4), answered in plain OAuth2 form."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from loyalty.api.auth import API_KEY_ONLY, database
from loyalty.api.envelope import ServerError
from loyalty.api.models.clients import TokenResponse
from loyalty.api.tokens import issue_client_token
from loyalty.domain.errors import NotAuthenticated
from loyalty.domain.tenancy import Tenant, effective_scopes
from loyalty.services import clients as client_service

router = APIRouter(prefix="/v1", tags=["Authentication"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(status_code: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status_code, headers=_NO_STORE)


async def _form(request: Request) -> dict[str, Any] | None:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            document = json.loads(await request.body() or b"null")
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    responses={
        400: {"description": "OAuth2 error: `invalid_request`, `unsupported_grant_type`, `invalid_scope`."},
        401: {"description": "OAuth2 error: `invalid_client`."},
        500: {"model": ServerError, "description": "Unexpected failure."},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/TokenRequest"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/TokenRequest"}},
            }
        }
    },
)
async def issue_token(request: Request, tenant: Tenant = Depends(API_KEY_ONLY)) -> Response:
    """Exchange a client id and secret for an access token (24 h). Send the tenant's `X-Api-Key` too."""
    form = await _form(request)
    if form is None:
        return _oauth_error(400, "invalid_request", "Send a form-encoded or JSON object body.")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported.")
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        return _oauth_error(400, "invalid_request", "client_id and client_secret are required.")
    try:
        client = await database(request).run(
            lambda tx: client_service.authenticate_client(tx, tenant.tenant_id, client_id, client_secret), write=False
        )
    except NotAuthenticated:
        return _oauth_error(401, "invalid_client", "Unknown client or wrong secret.")
    requested = form.get("scope")
    scopes = frozenset(str(requested).split()) if requested else client.scopes
    allowed = effective_scopes(client.scopes)
    if not scopes <= allowed:
        return _oauth_error(400, "invalid_scope", f"This client may request only: {' '.join(sorted(allowed))}.")
    ttl = request.app.state.settings.token_ttl_seconds
    token = issue_client_token(tenant, client, scopes, ttl)
    answer = TokenResponse(access_token=token, expires_in=ttl, scope=" ".join(sorted(scopes)))
    return JSONResponse(answer.model_dump(), headers=_NO_STORE)
