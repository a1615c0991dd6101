"""Ids taken from a request path."""

from __future__ import annotations

import uuid

from loyalty.domain.errors import NotFound


def path_id(raw: str, missing: NotFound) -> uuid.UUID:
    """The UUID a path names; a value that is not a UUID names nothing, so it is the resource's own 404."""
    try:
        return uuid.UUID(raw)
    except ValueError as error:
        raise missing from error
