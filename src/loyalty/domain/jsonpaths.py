"""JSONPath queries into event payloads (RFC 9535 syntax, rooted at ``$``)."""

from __future__ import annotations

from typing import Any

import jsonpath

from loyalty.domain.errors import InvalidInput


class PayloadQuery:
    """A compiled JSONPath. Only paths rooted at ``$`` are accepted: the payload is the only document."""

    def __init__(self, path: str, *, field: str) -> None:
        if not isinstance(path, str) or not path.startswith("$"):
            raise InvalidInput(
                f"A JSONPath must start at the payload root '$' (got {path!r}).", code="INVALID_JSONPATH", field=field
            )
        try:
            self._compiled = jsonpath.compile(path)
        except jsonpath.JSONPathError as error:
            raise InvalidInput(f"Invalid JSONPath {path!r}: {error}.", code="INVALID_JSONPATH", field=field) from error
        self.path = path

    def values(self, document: Any) -> list[Any]:
        return list(self._compiled.findall(document))
