"""Member identifiers: how a string the POS sends is read, and how account numbers are made."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

ACCOUNT_NUMBER = re.compile(r"^[0-9]{7}$")  # ASCII digits only (\d would take any script's digits)
# 7-digit numbers without a leading zero, so a number survives being typed into a numeric field.
_FIRST_ACCOUNT_NUMBER = 1_000_000
_ACCOUNT_NUMBER_SPAN = 9_000_000


def new_account_number() -> str:
    """A random 7-digit account number (uniqueness is the storage's job: it retries on collision)."""
    return str(_FIRST_ACCOUNT_NUMBER + secrets.randbelow(_ACCOUNT_NUMBER_SPAN))


@dataclass(frozen=True)
class IdentifierCandidates:
    """The lookups to try, in the contract's order: UUID id → account number → authIdentifier → externalIdentifier."""

    member_id: uuid.UUID | None
    account_number: str | None
    text: str


def read_identifier(raw: str) -> IdentifierCandidates:
    text = raw.strip()
    try:
        member_id: uuid.UUID | None = uuid.UUID(text)
    except ValueError:
        member_id = None
    account_number = text if ACCOUNT_NUMBER.match(text) else None
    return IdentifierCandidates(member_id=member_id, account_number=account_number, text=text)
