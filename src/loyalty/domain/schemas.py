"""JSON Schema: checking a schema when it is saved, and validating documents against a compiled one.

The same condition language serves event payload schemas, reactor constraints and (later) audience criteria.
Validators are compiled once (jsonschema-rs) and reused; the draft is taken from ``$schema`` (draft 6, 7,
2019-09 or 2020-12), defaulting to 2020-12.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from loyalty.domain.errors import InvalidInput

_MAX_ERRORS = 20


@dataclass(frozen=True)
class SchemaProblem:
    field: str
    message: str


def _no_remote_references(uri: str) -> Any:
    """Schemas are self-contained: a remote ``$ref`` would make the engine fetch URLs chosen by a client."""
    raise ValueError(f"remote $ref is not allowed ({uri})")


def compile_schema(schema: Any, *, field: str, require_object: bool = False) -> jsonschema_rs.Validator:
    """Compile ``schema`` or raise a 400 ``INVALID_SCHEMA`` naming what is wrong."""
    if not isinstance(schema, dict):
        raise InvalidInput("A JSON Schema here is an object.", code="INVALID_SCHEMA", field=field)
    if require_object and schema.get("type") != "object":
        raise InvalidInput('An event payload schema must have "type": "object".', code="INVALID_SCHEMA", field=field)
    try:
        return jsonschema_rs.validator_for(schema, validate_formats=True, retriever=_no_remote_references)
    except (jsonschema_rs.ValidationError, ValueError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InvalidInput(f"Not a valid JSON Schema: {first_line}", code="INVALID_SCHEMA", field=field) from error


def problems(validator: jsonschema_rs.Validator, document: Any, *, prefix: str) -> list[SchemaProblem]:
    """Field-level problems of ``document`` (at most 20), with dotted paths under ``prefix``."""
    found: list[SchemaProblem] = []
    for error in validator.iter_errors(document):
        path = ".".join([prefix, *(str(p) for p in error.instance_path)])
        found.append(SchemaProblem(field=path, message=error.message))
        if len(found) == _MAX_ERRORS:
            break
    return found
