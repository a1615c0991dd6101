"""The ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from loyalty import __version__
from loyalty.api import errors
from loyalty.api.bodylimit import BodySizeLimitMiddleware
from loyalty.api.limits import Limits
from loyalty.api.observability import RequestLogMiddleware, TrailingSlashMiddleware
from loyalty.api.routes import (
    audiences,
    audit,
    badges,
    benefits,
    categories,
    checkouts,
    clients,
    code_pools,
    commands,
    dashboard,
    event_types,
    events,
    liability,
    members,
    oauth,
    ops,
    orders,
    reactors,
    rewards,
    tiers,
    venues,
    webhooks,
)
from loyalty.api.routes import settings as settings_routes
from loyalty.api.shedding import LoadSheddingMiddleware
from loyalty.api.web import mount_web
from loyalty.settings import Settings
from loyalty.storage.database import Database

# The order matters only where paths overlap: fixed paths are declared before parameterised ones in each module.
ROUTE_MODULES = (
    oauth,
    members,
    commands,
    clients,
    events,
    event_types,
    reactors,
    badges,
    webhooks,
    settings_routes,
    venues,
    tiers,
    audiences,
    categories,
    rewards,
    code_pools,
    benefits,
    orders,
    checkouts,
    liability,
    audit,
    dashboard,
    ops,
)

DESCRIPTION = """\
Loyalty engine for points of sale. Wire-compatible with the WLL Rewards API for what a POS uses, with
idempotency on every POST (`Idempotency-Key`).

Every `/v1` request sends the tenant's `X-Api-Key`; most also send `Authorization: Bearer <token>` — a client token
from `POST /v1/oauth/token`, or a member token from the retailer's identity provider.
Responses use the JSend envelope: `{"status": "success", "data": …}` or
`{"status": "fail", "message": …, "data": {"code": …}}`.
"""


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    db = database or Database(settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if database is None:  # we made it, we close it
            await db.dispose()

    app = FastAPI(
        title="Loyalty Engine",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.limits = Limits(settings)

    for module in ROUTE_MODULES:
        # Routes are copied in, not included as sub-routers, so the route table stays one flat list of
        # APIRoutes with full paths: the route-access test, metrics and logs all read it.
        app.router.routes.extend(module.router.routes)
    errors.install(app)
    mount_web(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Shed inside the request log, so a shed request is logged and counted like any other.
    app.add_middleware(LoadSheddingMiddleware, max_in_flight=settings.max_in_flight)
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(TrailingSlashMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        _drop_framework_validation_responses(schema)
        _require_all_credentials(schema)
        schema.setdefault("components", {}).setdefault("schemas", {})["TokenRequest"] = {
            "type": "object",
            "required": ["grant_type", "client_id", "client_secret"],
            "properties": {
                "grant_type": {"type": "string", "enum": ["client_credentials"]},
                "client_id": {"type": "string"},
                "client_secret": {"type": "string"},
                "scope": {"type": "string", "description": "Space-separated subset of the client's scopes."},
            },
        }
        app.openapi_schema = schema
    return app.openapi_schema


def _drop_framework_validation_responses(schema: dict[str, Any]) -> None:
    """FastAPI documents a 422 ``HTTPValidationError`` on every route with input; this engine answers invalid
    input with a JSend 400 instead (see ``api/errors.py``), so those entries would describe answers it never gives."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422", {})
            content = answer.get("content", {}).get("application/json", {}).get("schema", {})
            if content.get("$ref", "").endswith("/HTTPValidationError"):
                del operation["responses"]["422"]
    schemas = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def _require_all_credentials(schema: dict[str, Any]) -> None:
    """FastAPI lists each security dependency as an alternative; the engine needs the API key *and* the token."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            requirements = operation.get("security")
            if requirements and len(requirements) > 1:
                operation["security"] = [{name: scopes for req in requirements for name, scopes in req.items()}]
