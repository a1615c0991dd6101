"""Shared model configuration, timestamps and pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, PlainSerializer, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and Z, as WLL writes timestamps: 2025-01-10T12:34:56.000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


Timestamp = Annotated[datetime, PlainSerializer(iso, return_type=str)]


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


class ResponseModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Pagination(BaseModel):
    limit: int
    skip: int
    order: Literal["ASC", "DESC"]

    def meta(self, total: int) -> dict[str, int]:
        return {"limit": self.limit, "skip": self.skip, "total": total}


def pagination(
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size, 1–1000.")] = 20,
    skip: Annotated[int, Query(ge=0, le=9007199254740991, description="Items to skip.")] = 0,
    order: Annotated[Literal["ASC", "DESC"], Query(description="By creation time.")] = "DESC",
) -> Pagination:
    return Pagination(limit=limit, skip=skip, order=order)
