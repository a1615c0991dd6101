"""Map every failure to the JSend envelope with a stable code; never leak a stack trace."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from loyalty.api.bodylimit import TOO_LARGE
from loyalty.api.envelope import error, fail
from loyalty.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
    Refused,
)

log = structlog.get_logger("loyalty.api")

STATUS_OF = {
    InvalidInput: 400,
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Refused: 422,
    RateLimited: 429,
}


def status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "header", "path")]
    return ".".join(parts) or "body"


_CODE_OF_ERROR_TYPE = {
    "extra_forbidden": ("UNKNOWN_FIELD", "Unknown field(s) in the request"),
    "unsupported_field": ("UNSUPPORTED_FIELD", "Field(s) not supported by this engine"),
    "json_invalid": ("MALFORMED_JSON", "The request body is not valid JSON"),
}


def _field_errors(problem: Any) -> list[dict[str, str]]:
    loc = tuple(problem.get("loc", ()))
    if problem.get("type") == "json_invalid":
        return [{"field": "body", "message": str(problem.get("msg", ""))}]
    if problem.get("type") == "unsupported_field":
        # Raised once for the whole object: name each unsupported field under the object's path.
        base = _field_path(loc)
        prefix = "" if base == "body" else base + "."
        names = str(problem.get("ctx", {}).get("fields", "")).split(", ")
        return [{"field": prefix + name, "message": "not supported by this engine"} for name in names]
    return [{"field": _field_path(loc), "message": str(problem.get("msg", ""))}]


def validation_failure(exc: RequestValidationError) -> Response:
    problems = [(p.get("type"), e) for p in exc.errors() for e in _field_errors(p)]
    errors = [e for _, e in problems]
    for error_type, (code, summary) in _CODE_OF_ERROR_TYPE.items():
        named = [e["field"] for kind, e in problems if kind == error_type]
        if named:
            return fail(400, code, f"{summary}: {', '.join(named)}.", errors=errors)
    fields = ", ".join(e["field"] for e in errors)
    return fail(400, "VALIDATION_ERROR", f"Invalid request: {fields}.", errors=errors)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts on this path (the framework names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(request.url.path):
            methods |= route.methods or set()
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return fail(status_of(exc), exc.code, exc.message, headers=headers, **exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return validation_failure(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return fail(404, "NOT_FOUND", f"No route {request.method} {request.url.path}.")
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            return fail(
                405,
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not allowed on {request.url.path}.",
                headers={"Allow": ", ".join(allowed)} if allowed else None,
            )
        if exc.status_code == 413:
            return fail(413, TOO_LARGE, str(exc.detail))
        return fail(exc.status_code, "HTTP_ERROR", str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", None)
        log.exception("unhandled_error", request_id=request_id)
        response = error("The server failed to process the request; nothing was changed.", request_id)
        if request_id:
            # The framework answers 500s outside every middleware, so the id header is set here.
            response.headers["X-Request-Id"] = request_id
        return response
