"""Voucher codes: generation of one-time codes and the templates that format them.

The alphabet leaves out characters a cashier or a camera can confuse (0/O, 1/I/L), which leaves 31 symbols;
13 of them carry 13 × log2(31) ≈ 64.4 bits, above the 60 bits asked of a code that must not be guessable.
"""

from __future__ import annotations

import math
import re
import secrets

from loyalty.domain.errors import InvalidInput

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 13
MINIMUM_ENTROPY_BITS = 60
PLACEHOLDER = "{code}"
DEFAULT_FORMAT = PLACEHOLDER
MAX_CODE_LENGTH = 256
_TEMPLATE_TEXT = re.compile(r"^[\x21-\x7e]*$")


def entropy_bits(length: int = CODE_LENGTH, alphabet: str = ALPHABET) -> float:
    return length * math.log2(len(alphabet))


def check_format(template: str, *, field: str = "code.format") -> str:
    """A template holds ``{code}`` exactly once, in printable ASCII without spaces, e.g. ``PROMO-{code}``."""
    if template.count(PLACEHOLDER) != 1 or not _TEMPLATE_TEXT.match(template) or len(template) > 100:
        raise InvalidInput(
            "A code format holds {code} exactly once, in printable characters without spaces (at most 100).",
            code="INVALID_CODE_FORMAT",
            field=field,
        )
    return template


def new_code(template: str = DEFAULT_FORMAT) -> str:
    """A fresh one-time code from the OS CSPRNG, placed in its template."""
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return template.replace(PLACEHOLDER, random_part)


def check_code_value(value: str, *, field: str) -> str:
    """A code a person may type: 1–256 printable characters without spaces at either end."""
    if not value or len(value) > MAX_CODE_LENGTH or value != value.strip() or not value.isprintable():
        raise InvalidInput(
            "A code is 1–256 printable characters with no spaces at either end.", code="INVALID_CODE", field=field
        )
    return value
