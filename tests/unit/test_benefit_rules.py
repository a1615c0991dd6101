"""The voucher state table, as pure rules."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from loyalty.domain.benefits import Benefit, BenefitStatus, Origin, check_unburn, check_validation, expiry
from loyalty.domain.errors import Conflict, Forbidden, Refused

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def benefit(**changes) -> Benefit:
    base = Benefit(
        benefit_id=uuid.uuid4(),
        reward_id=uuid.uuid4(),
        member_id=uuid.uuid4(),
        type="VOUCHER",
        code_id=uuid.uuid4(),
        code_value="PROMO-ABC",
        code_created_at=T0,
        origin=Origin.PURCHASE,
        points_spent=500,
        created_at=T0,
        expires_at=T0 + timedelta(days=30),
        redeemed_at=None,
        code_validated_at=None,
        burned_at=None,
        burned_venue_id=None,
        updated_at=T0,
    )
    return replace(base, **changes)


def test_status_follows_the_timestamps():
    later = T0 + timedelta(hours=1)
    assert benefit().status(later) is BenefitStatus.CREATED
    assert benefit(redeemed_at=later).status(later) is BenefitStatus.REDEEMED
    assert benefit(redeemed_at=later, code_validated_at=later).status(later) is BenefitStatus.VALIDATED
    assert benefit(redeemed_at=later, burned_at=later).status(later) is BenefitStatus.BURNED


def test_a_voucher_past_its_expiry_is_expired_even_when_redeemed_but_not_once_burned():
    after = T0 + timedelta(days=31)
    assert benefit(redeemed_at=T0).status(after) is BenefitStatus.EXPIRED
    assert benefit(redeemed_at=T0, burned_at=T0).status(after) is BenefitStatus.BURNED
    assert benefit(expires_at=None).status(after) is BenefitStatus.CREATED


def test_expiry_is_set_from_the_purchase_expiration_in_seconds():
    assert expiry(T0, 86_400) == T0 + timedelta(days=1)
    assert expiry(T0, None) is None


def ready() -> Benefit:
    return benefit(redeemed_at=T0)


@pytest.mark.parametrize(
    ("state", "owner", "venue", "error", "code"),
    [
        (ready(), False, True, Forbidden, "VOUCHER_OWNER_MISMATCH"),
        (ready(), True, False, Refused, "VOUCHER_NOT_VALID_AT_VENUE"),
        (benefit(redeemed_at=T0, burned_at=T0), True, True, Conflict, "VOUCHER_ALREADY_BURNED"),
        (benefit(redeemed_at=T0, expires_at=T0 + timedelta(minutes=1)), True, True, Conflict, "VOUCHER_EXPIRED"),
        (benefit(), True, True, Conflict, "BENEFIT_NOT_REDEEMED"),
        # The order of the checks: owner before venue before burned before expired before not redeemed.
        (benefit(burned_at=T0, expires_at=T0), False, False, Forbidden, "VOUCHER_OWNER_MISMATCH"),
        (benefit(burned_at=T0, expires_at=T0), True, False, Refused, "VOUCHER_NOT_VALID_AT_VENUE"),
        (benefit(burned_at=T0, expires_at=T0), True, True, Conflict, "VOUCHER_ALREADY_BURNED"),
        (benefit(expires_at=T0), True, True, Conflict, "VOUCHER_EXPIRED"),
    ],
)
def test_the_validation_table(state, owner, venue, error, code):
    with pytest.raises(error) as refused:
        check_validation(state, T0 + timedelta(hours=1), owner_matches=owner, valid_at_venue=venue)
    assert refused.value.code == code


def test_a_redeemed_unexpired_unburned_voucher_validates():
    check_validation(ready(), T0 + timedelta(hours=1), owner_matches=True, valid_at_venue=True)


def test_unburn_is_allowed_for_24_hours_at_the_same_venue():
    burned = benefit(redeemed_at=T0, burned_at=T0)
    check_unburn(burned, T0 + timedelta(hours=23, minutes=59), venue_matches=True)
    with pytest.raises(Refused) as late:
        check_unburn(burned, T0 + timedelta(hours=24, seconds=1), venue_matches=True)
    assert late.value.code == "UNBURN_WINDOW_PASSED"
    with pytest.raises(Forbidden):
        check_unburn(burned, T0 + timedelta(hours=1), venue_matches=False)
    with pytest.raises(Conflict) as not_burned:
        check_unburn(ready(), T0, venue_matches=True)
    assert not_burned.value.code == "VOUCHER_NOT_BURNED"
