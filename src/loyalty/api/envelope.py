"""The JSend envelope, rendered once with orjson.

Routes build a response model, and these helpers turn it into bytes exactly once; the same bytes are what an
idempotent replay returns.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

import orjson
from fastapi.responses import Response
from pydantic import BaseModel, Field

T = TypeVar("T")


class JSendResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content)


def _plain(data: Any) -> Any:
    """``data`` ready for orjson: a model is serialised by pydantic straight to JSON (in Rust, without building the
    intermediate dicts) and embedded as a fragment."""
    if isinstance(data, BaseModel):
        return orjson.Fragment(data.model_dump_json(by_alias=True))
    if isinstance(data, list):
        return [_plain(item) for item in data]
    return data


def success_body(data: Any, meta: dict[str, int] | None = None) -> bytes:
    document: dict[str, Any] = {"status": "success", "data": _plain(data)}
    if meta is not None:
        document["meta"] = meta
    return orjson.dumps(document)


def success(data: Any, *, status_code: int = 200, meta: dict[str, int] | None = None) -> Response:
    return JSendResponse(success_body(data, meta), status_code=status_code)


def fail(status_code: int, code: str, message: str, headers: dict[str, str] | None = None, **details: Any) -> Response:
    body = {"status": "fail", "message": message, "data": {"code": code, **details}}
    return JSendResponse(orjson.dumps(body, default=str), status_code=status_code, headers=headers)


def error(message: str, request_id: str | None) -> Response:
    body: dict[str, Any] = {"status": "error", "message": message}
    if request_id:
        body["requestId"] = request_id
    return JSendResponse(orjson.dumps(body), status_code=500)


# ---- models used only to document the envelope in the OpenAPI document ----


class Success(BaseModel, Generic[T]):
    status: Literal["success"] = "success"
    data: T


class PageMeta(BaseModel):
    limit: int
    skip: int
    total: int


class Page(BaseModel, Generic[T]):
    status: Literal["success"] = "success"
    data: list[T]
    meta: PageMeta


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `profile.emailAddress`.")
    message: str


class FailData(BaseModel):
    code: str = Field(description="Stable machine-readable error code, e.g. `INSUFFICIENT_POINTS`.")
    errors: list[FieldError] | None = None


class Fail(BaseModel):
    status: Literal["fail"] = "fail"
    message: str
    data: FailData


class ServerError(BaseModel):
    status: Literal["error"] = "error"
    message: str
    requestId: str | None = None


_DESCRIPTIONS = {
    400: "Malformed or invalid input (`VALIDATION_ERROR`, `UNKNOWN_FIELD`, `UNSUPPORTED_FIELD`, `MALFORMED_JSON`).",
    401: "Missing or unknown API key or token (`INVALID_API_KEY`, `INVALID_TOKEN`).",
    403: "Authenticated but not allowed (`FORBIDDEN`).",
    404: "Unknown resource, or one of another tenant (`USER_NOT_FOUND`, `NOT_FOUND`).",
    409: "State or idempotency conflict (`USER_ALREADY_EXISTS`, `IDEMPOTENCY_KEY_IN_USE`).",
    422: "A business rule refused the request (`INSUFFICIENT_POINTS`, `IDEMPOTENCY_KEY_REUSED`).",
    413: "The request body is larger than the engine accepts (`PAYLOAD_TOO_LARGE`).",
    503: "The engine is overloaded (`OVERLOADED`): try again after `Retry-After` seconds.",
    429: "Too many requests for the API key (`RATE_LIMITED`), or too many failed voucher validations "
    "(`TOO_MANY_FAILED_VALIDATIONS`); `Retry-After` says when to try again.",
}


def errors(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the failures a route can answer, plus those every route can: 413 (body
    too large), 429 (rate limited), 503 (overloaded) and 500."""
    documented: dict[int | str, dict[str, Any]] = {
        code: {"model": Fail, "description": _DESCRIPTIONS[code]} for code in (*status_codes, 413, 429, 503)
    }
    documented[500] = {"model": ServerError, "description": "Unexpected failure; nothing was committed."}
    return documented
