"""Shared model configuration, timestamps and pagination."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from loyalty.domain.timestamps import iso

Timestamp = Annotated[datetime, PlainSerializer(iso, return_type=str)]


_INT64 = 2**63


def check_json_value(value: Any) -> Any:
    """Refuse what JSON storage and rendering cannot carry exactly: integers beyond 64 bits, NaN and infinities."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise ValueError("integers must fit in 64 bits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
    elif isinstance(value, dict):
        for item in value.values():
            check_json_value(item)
    elif isinstance(value, list):
        for item in value:
            check_json_value(item)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(check_json_value)]


def refuse_nul_characters(value: Any) -> Any:
    """Refuse U+0000 in any string, key or nested value: PostgreSQL text and jsonb cannot hold it, so no backend
    accepts it (the same request gets the same answer on SQLite)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_nul_characters(key)
            refuse_nul_characters(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            refuse_nul_characters(item)
    return value


class RequestModel(BaseModel):
    """A request body: camelCase only, and any field we do not know is refused (no mass assignment).

    ``unsupported`` names fields that WLL's schema defines but this engine does not implement; they are
    refused with ``UNSUPPORTED_FIELD`` rather than silently ignored.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid")
    unsupported: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="wrap")
    @classmethod
    def _refuse_unsupported(cls, data: Any, handler: Any) -> Any:
        if isinstance(data, dict):
            named = sorted(set(data) & cls.unsupported)
            if named:
                raise PydanticCustomError(
                    "unsupported_field",
                    "{fields} not supported by this engine",
                    {"fields": ", ".join(named)},
                )
        return handler(data)

    @field_validator("*")
    @classmethod
    def _refuse_nul_characters(cls, value: Any) -> Any:
        # Nested request models check their own fields; this walks strings, lists and free-form JSON.
        return refuse_nul_characters(value)


class ResponseModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Pagination(BaseModel):
    limit: int
    skip: int
    order: Literal["ASC", "DESC"]

    def meta(self, total: int) -> dict[str, int]:
        return {"limit": self.limit, "skip": self.skip, "total": total}


async def pagination(  # async: FastAPI would run a plain function in its thread pool, a needless hop per request
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size, 1–1000.")] = 20,
    skip: Annotated[int, Query(ge=0, le=9007199254740991, description="Items to skip.")] = 0,
    order: Annotated[Literal["ASC", "DESC"], Query(description="By creation time.")] = "DESC",
) -> Pagination:
    return Pagination(limit=limit, skip=skip, order=order)
