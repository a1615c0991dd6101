"""Basket pricing: the offers and vouchers that apply to a basket, and the points spent on it — no side effects.

The arithmetic is ``domain.pricing`` (shared with checkout and, offline, the Python client); this module only
gathers its inputs: the member's visible offers, the vouchers presented (each checked like ``validate_voucher``
in validate-only mode), the tenant's stacking mode and point value.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from loyalty.domain.benefits import Benefit, check_validation
from loyalty.domain.errors import DomainError, InsufficientPoints, InvalidInput, NotFound
from loyalty.domain.members import Member
from loyalty.domain.pricing import BasketLine, Candidate, PricingRequest, PricingResult, Source, price_basket
from loyalty.domain.rewards import Reward, RewardType
from loyalty.services import benefits as benefit_service
from loyalty.services import codes as code_service
from loyalty.services import members as member_service
from loyalty.services import points as point_service
from loyalty.services import rewards as reward_service
from loyalty.services import settings as settings_service
from loyalty.services import venues as venue_service
from loyalty.services.clock import now
from loyalty.services.venues import Venue
from loyalty.storage.database import Tx

_MAX_OFFERS = 1000


@dataclass(frozen=True)
class BasketDraft:
    lines: tuple[BasketLine, ...]
    currency: str
    user: str | None = None
    venue: str | None = None
    channel: str | None = None
    voucher_codes: tuple[str, ...] = ()
    points_to_spend: int = 0
    add_items: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class VoucherRefusal:
    """A presented code that cannot apply, with the error validate_voucher would give."""

    code: str
    error: DomainError


@dataclass(frozen=True)
class Quote:
    member: Member | None
    venue: Venue | None
    result: PricingResult
    refused: tuple[VoucherRefusal, ...]
    # The benefit behind each applied benefit code, by the code as stored (to burn at checkout).
    benefits: Mapping[str, Benefit]


def _candidate(reward: Reward, source: Source, *, benefit_id: str | None = None, code: str | None = None) -> Candidate:
    return Candidate(
        reward_id=reward.reward_id,
        source=source,
        benefit_id=benefit_id,
        code=code,
        stacking=reward.stacking,
        min_transaction_amount=reward.min_transaction_amount,
        venue_ids=reward.venue_ids,
        discounts=reward.discounts,
    )


async def _offers(tx: Tx, tenant_id: uuid.UUID, member: Member | None, balance: int | None) -> list[Candidate]:
    viewer = reward_service.Viewer.of(member) if member else reward_service.Viewer.client()
    views, _ = await reward_service.list_rewards(
        tx, tenant_id, viewer, reward_type=RewardType.GENERIC_OFFER, limit=_MAX_OFFERS, skip=0, balance=balance
    )
    return [_candidate(v.reward, Source.OFFER) for v in views if v.reward.discounts and v.reward.is_available(now())]


async def _voucher(
    tx: Tx, tenant_id: uuid.UUID, code: str, member: Member | None
) -> tuple[Candidate, Benefit | None] | VoucherRefusal:
    """Check a presented code as validate_voucher would (without writing anything)."""
    try:
        found = await code_service.find_code(tx, tenant_id, code)
        if found is None or (found.kind != "STATIC" and found.benefit_id is None):
            raise NotFound("No voucher has this code.", code="VOUCHER_NOT_FOUND")
        if found.kind == "STATIC":
            assert found.reward_id is not None
            reward = await reward_service.get_reward(tx, tenant_id, found.reward_id)
            if not reward.is_available(now()):
                raise benefit_service.expired_static_code()
            return _candidate(reward, Source.VOUCHER, code=found.value), None
        assert found.benefit_id is not None
        benefit = await benefit_service.get_benefit(tx, tenant_id, found.benefit_id)
        owned = member is None or benefit.member_id == member.member_id
        # The venue is the calculator's to check (it may apply to only some of the reward's discounts).
        check_validation(benefit, now(), owner_matches=owned, valid_at_venue=True)
        reward = await reward_service.get_reward(tx, tenant_id, benefit.reward_id)
        return _candidate(reward, Source.VOUCHER, benefit_id=str(benefit.benefit_id), code=found.value), benefit
    except DomainError as error:
        return VoucherRefusal(code=code, error=error)


async def quote_basket(tx: Tx, tenant_id: uuid.UUID, draft: BasketDraft) -> Quote:
    """Price a basket for a member (or anonymously): offers, vouchers, then points. Writes nothing."""
    settings = await settings_service.get_settings(tx, tenant_id)
    if draft.currency != settings.base_currency:
        raise InvalidInput(
            f"The basket is in {draft.currency}; this program prices in {settings.base_currency}.",
            code="CURRENCY_MISMATCH",
            field="currency",
        )
    member = await member_service.resolve_member(tx, tenant_id, draft.user) if draft.user else None
    venue = await venue_service.resolve_venue(tx, tenant_id, draft.venue) if draft.venue else None
    # The balance, when read for the points to spend, also serves the offers' eligibility (nothing here writes).
    balance: int | None = None
    if draft.points_to_spend:
        if member is None:
            raise InvalidInput("Spending points needs the member (user).", code="USER_REQUIRED", field="user")
        balance = (await point_service.get_account(tx, tenant_id, member.member_id)).balance
        if balance < draft.points_to_spend:
            raise InsufficientPoints(balance=balance, requested=draft.points_to_spend)
    candidates = await _offers(tx, tenant_id, member, balance)
    refused: list[VoucherRefusal] = []
    benefits: dict[str, Benefit] = {}
    for code in dict.fromkeys(draft.voucher_codes):
        checked = await _voucher(tx, tenant_id, code, member)
        if isinstance(checked, VoucherRefusal):
            refused.append(checked)
            continue
        candidate, benefit = checked
        candidates.append(candidate)
        if benefit is not None and candidate.code is not None:
            benefits[candidate.code] = benefit  # by the code as stored (a till may send it with spaces around)
    result = price_basket(
        PricingRequest(
            lines=draft.lines,
            candidates=tuple(candidates),
            venue_id=venue.venue_id if venue else None,
            stacking_mode=settings.discount_stacking,
            points_to_spend=draft.points_to_spend,
            points_currency_value=settings.points_currency_value,
            add_item_prices=dict(draft.add_items),
        )
    )
    return Quote(member=member, venue=venue, result=result, refused=tuple(refused), benefits=benefits)
