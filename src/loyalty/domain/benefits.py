"""Benefits: a member's instance of a reward, and the voucher state table the till relies on.

The state lives in timestamps (as WLL): ``createdAt`` → ``redeemedAt`` (the code is revealed) →
``code.validatedAt`` (checked at a till) → ``burnedAt`` (used). ``status`` is derived. A deliberate difference from
WLL: ``expiresAt`` bounds redemption, validation and burning alike, since a "valid until" printed for the member
must hold at the till.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from loyalty.domain.errors import Conflict, Forbidden, Refused
from loyalty.domain.timestamps import iso


class BenefitStatus(StrEnum):
    CREATED = "CREATED"
    REDEEMED = "REDEEMED"
    VALIDATED = "VALIDATED"
    BURNED = "BURNED"
    EXPIRED = "EXPIRED"


class Origin(StrEnum):
    PURCHASE = "PURCHASE"
    GIVEN = "GIVEN"
    REACTION = "REACTION"


# A burned voucher may be restored (after a voided sale) for this long.
UNBURN_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Benefit:
    benefit_id: uuid.UUID
    reward_id: uuid.UUID
    member_id: uuid.UUID
    type: str
    code_id: uuid.UUID | None
    code_value: str | None
    code_created_at: datetime | None
    origin: Origin
    points_spent: int
    created_at: datetime
    expires_at: datetime | None
    redeemed_at: datetime | None
    code_validated_at: datetime | None
    burned_at: datetime | None
    burned_venue_id: uuid.UUID | None
    updated_at: datetime

    def status(self, moment: datetime) -> BenefitStatus:
        if self.burned_at is not None:
            return BenefitStatus.BURNED
        if self.is_expired(moment):
            return BenefitStatus.EXPIRED
        if self.code_validated_at is not None:
            return BenefitStatus.VALIDATED
        if self.redeemed_at is not None:
            return BenefitStatus.REDEEMED
        return BenefitStatus.CREATED

    def is_expired(self, moment: datetime) -> bool:
        return self.burned_at is None and self.expires_at is not None and moment > self.expires_at


def expiry(created_at: datetime, purchase_expiration_seconds: int | None) -> datetime | None:
    return created_at + timedelta(seconds=purchase_expiration_seconds) if purchase_expiration_seconds else None


def check_validation(
    benefit: Benefit,
    moment: datetime,
    *,
    owner_matches: bool,
    valid_at_venue: bool,
) -> None:
    """The validate_voucher table, in the contract's order (unknown code is the caller's: it has no benefit):
    owner, venue, burned, expired, not redeemed."""
    if not owner_matches:
        raise Forbidden("This voucher belongs to another member.", code="VOUCHER_OWNER_MISMATCH")
    if not valid_at_venue:
        raise Refused("This voucher is not valid at this venue.", code="VOUCHER_NOT_VALID_AT_VENUE")
    if benefit.burned_at is not None:
        raise Conflict("This voucher was already used.", code="VOUCHER_ALREADY_BURNED", burnedAt=iso(benefit.burned_at))
    if benefit.is_expired(moment):
        assert benefit.expires_at is not None
        raise Conflict("This voucher has expired.", code="VOUCHER_EXPIRED", expiresAt=iso(benefit.expires_at))
    if benefit.redeemed_at is None:
        raise Conflict("This voucher has not been redeemed yet.", code="BENEFIT_NOT_REDEEMED")


def check_unburn(benefit: Benefit, moment: datetime, *, venue_matches: bool) -> None:
    if benefit.burned_at is None:
        raise Conflict("This voucher is not burned.", code="VOUCHER_NOT_BURNED")
    if moment - benefit.burned_at > UNBURN_WINDOW:
        raise Refused("A voucher can be restored only within 24 hours of its use.", code="UNBURN_WINDOW_PASSED")
    if not venue_matches:
        raise Forbidden("Only the venue that used the voucher may restore it.", code="VOUCHER_OWNER_MISMATCH")
