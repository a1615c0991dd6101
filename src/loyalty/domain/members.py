"""Member profile rules: what search sees and what closing an account erases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Profile fields that are personal data; closing an account erases all of them.
ERASED_NAME = "REDACTED"


def search_text(
    profile: dict[str, Any], account_number: str, auth_identifier: str | None, external_identifier: str | None
) -> str:
    """The lower-cased text admin search matches against (e-mail, names, identifiers)."""
    parts = [
        profile.get("emailAddress"),
        profile.get("givenName"),
        profile.get("familyName"),
        account_number,
        auth_identifier,
        external_identifier,
    ]
    return " ".join(str(p).lower() for p in parts if p)


def erased_profile() -> dict[str, Any]:
    """What remains of a profile after the account is closed: placeholders and nothing personal."""
    return {"givenName": ERASED_NAME, "familyName": ERASED_NAME, "emailAddress": None, "attributes": {}}


def merge_profile(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A profile patch replaces the fields it names; ``attributes`` merge key by key (null removes a key)."""
    merged = {**current, **{k: v for k, v in patch.items() if k != "attributes"}}
    if "attributes" in patch:
        attributes = dict(current.get("attributes") or {})
        for key, value in (patch["attributes"] or {}).items():
            if value is None:
                attributes.pop(key, None)
            else:
                attributes[key] = value
        merged["attributes"] = attributes
    return merged


@dataclass(frozen=True)
class Member:
    tenant_id: uuid.UUID
    member_id: uuid.UUID
    account_number: str
    auth_identifier: str | None
    external_identifier: str | None
    profile: dict[str, Any]
    flags: dict[str, bool]
    is_restricted: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
