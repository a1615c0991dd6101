"""Benefits and the voucher commands: purchase, give, redeem, validate (and burn), unburn.

Each command is one transaction. The checks that decide money-like outcomes are single conditional writes:
stock is taken with ``… WHERE stock_consumed < stock_capacity``, points with the ledger's guarded update, and a
burn with ``… WHERE burned_at IS NULL`` — so of many tills burning one code at once exactly one succeeds, and a
reward with 5 left is never sold 6 times.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update

from loyalty.domain.benefits import Benefit, Origin, check_unburn, check_validation, expiry
from loyalty.domain.codes import DEFAULT_FORMAT
from loyalty.domain.errors import Conflict, DomainError, Forbidden, MemberNotFound, NotFound, Refused
from loyalty.domain.ledger import BalanceChange, EntryKind, Impact, LiabilityPolicy, SourceType
from loyalty.domain.members import Member
from loyalty.domain.reactors import ReactionStatus
from loyalty.domain.rewards import CodeType, Reward
from loyalty.domain.timestamps import iso
from loyalty.services import codes as code_service
from loyalty.services import events, member_state
from loyalty.services import members as member_service
from loyalty.services import points as point_service
from loyalty.services import rewards as reward_service
from loyalty.services import venues as venue_service
from loyalty.services.clock import now
from loyalty.storage.database import Tx
from loyalty.storage.tables import benefit_audit, benefits, rewards, voucher_codes

_NOT_ELIGIBLE_REASONS = {"NOT_IN_AUDIENCE", "TIER_REQUIRED"}


@dataclass(frozen=True)
class Validation:
    """What validate_voucher answers: the benefit (none for a STATIC code) and its reward."""

    benefit: Benefit | None
    reward: Reward
    code_value: str
    burned: bool
    # The benefit's owner, when the owner and ``reward`` are still as read (no reaction to the burn applied: a
    # REWARD reaction takes stock from a reward), so the answer need not read them again; otherwise None.
    owner: Member | None = None


def _benefit(row: Any, code: Benefit | None = None) -> Benefit:
    """A benefit from a row of ``_select_benefits``, or from a ``benefits`` row alone (``UPDATE … RETURNING``) with
    the code taken from ``code``, the same benefit read before: a benefit's code never changes once issued."""
    return Benefit(
        benefit_id=row.benefit_id,
        reward_id=row.reward_id,
        member_id=row.member_id,
        type=row.type,
        code_id=row.code_id,
        code_value=code.code_value if code is not None else row.code_value,
        code_created_at=code.code_created_at if code is not None else row.code_created_at,
        origin=Origin(row.origin),
        points_spent=row.points_spent,
        created_at=row.created_at,
        expires_at=row.expires_at,
        redeemed_at=row.redeemed_at,
        code_validated_at=row.code_validated_at,
        burned_at=row.burned_at,
        burned_venue_id=row.burned_venue_id,
        updated_at=row.updated_at,
    )


def _select_benefits() -> Any:
    return select(
        benefits,
        voucher_codes.c.value.label("code_value"),
        voucher_codes.c.created_at.label("code_created_at"),
    ).outerjoin(
        voucher_codes,
        (voucher_codes.c.tenant_id == benefits.c.tenant_id) & (voucher_codes.c.code_id == benefits.c.code_id),
    )


_BENEFIT = _select_benefits().where(
    benefits.c.tenant_id == bindparam("tenant_id"), benefits.c.benefit_id == bindparam("benefit_id")
)  # built once: read on every validation


async def get_benefit(tx: Tx, tenant_id: uuid.UUID, benefit_id: uuid.UUID) -> Benefit:
    row = (await tx.execute(_BENEFIT, {"tenant_id": tenant_id, "benefit_id": benefit_id})).first()
    if row is None:
        raise NotFound("No such benefit.", code="BENEFIT_NOT_FOUND")
    return _benefit(row)


async def list_benefits(
    tx: Tx,
    tenant_id: uuid.UUID,
    member_id: uuid.UUID | None,
    *,
    redeemable: bool | None,
    benefit_type: str | None,
    limit: int,
    skip: int,
) -> tuple[list[Benefit], int]:
    condition = benefits.c.tenant_id == tenant_id
    if member_id is not None:
        condition = condition & (benefits.c.member_id == member_id)
    if redeemable is True:
        condition = condition & benefits.c.redeemed_at.is_(None) & benefits.c.burned_at.is_(None)
    elif redeemable is False:
        condition = condition & benefits.c.redeemed_at.is_not(None)
    if benefit_type:
        condition = condition & (benefits.c.type == benefit_type)
    total = (await tx.execute(select(func.count()).select_from(benefits).where(condition))).scalar_one()
    rows = await tx.execute(
        _select_benefits().where(condition).order_by(benefits.c.created_at.desc()).limit(limit).offset(skip)
    )
    return [_benefit(r) for r in rows], total


# The wallet's statements, built once.
_WALLET_VOUCHERS = (
    _select_benefits()
    .where(
        benefits.c.tenant_id == bindparam("tenant_id"),
        benefits.c.member_id == bindparam("member_id"),
        benefits.c.type == "VOUCHER",
        benefits.c.burned_at.is_(None),
    )
    .order_by(benefits.c.created_at.desc())
)
_LOYALTY_COST = (
    select(func.coalesce(func.sum(rewards.c.value), 0))
    .select_from(benefits)
    .join(rewards, (rewards.c.tenant_id == benefits.c.tenant_id) & (rewards.c.reward_id == benefits.c.reward_id))
    .where(benefits.c.tenant_id == bindparam("tenant_id"), benefits.c.member_id == bindparam("member_id"))
)


async def wallet_vouchers(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> list[Benefit]:
    """The wallet's vouchers: every VOUCHER benefit not burned (created, redeemed, validated or expired)."""
    rows = await tx.execute(_WALLET_VOUCHERS, {"tenant_id": tenant_id, "member_id": member_id})
    return [_benefit(r) for r in rows]


async def loyalty_cost(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID) -> int:
    """What the member's benefits cost the business: the sum of their rewards' ``value`` (minor units)."""
    total = (await tx.execute(_LOYALTY_COST, {"tenant_id": tenant_id, "member_id": member_id})).scalar_one()
    return int(total)


# ---- creating benefits ----


async def _take_stock(tx: Tx, tenant_id: uuid.UUID, reward: Reward) -> None:
    if reward.stock_capacity is None:
        return
    taken = await tx.execute(
        update(rewards)
        .where(
            rewards.c.tenant_id == tenant_id,
            rewards.c.reward_id == reward.reward_id,
            rewards.c.stock_consumed < rewards.c.stock_capacity,
        )
        .values(stock_consumed=rewards.c.stock_consumed + 1)
    )
    if not taken.rowcount:
        raise Refused(f"{reward.name} is out of stock.", code="OUT_OF_STOCK")


async def _create(
    tx: Tx, tenant_id: uuid.UUID, reward: Reward, member: Member, *, origin: Origin, points_spent: int
) -> Benefit:
    """Take stock, write the benefit and give it its code."""
    await _take_stock(tx, tenant_id, reward)
    benefit_id = uuid.uuid4()
    created_at = now()
    await tx.execute(
        benefits.insert().values(
            tenant_id=tenant_id,
            benefit_id=benefit_id,
            reward_id=reward.reward_id,
            member_id=member.member_id,
            type=reward.type.value,
            origin=origin.value,
            points_spent=points_spent,
            created_at=created_at,
            expires_at=expiry(created_at, reward.purchase_expiration),
            redeemed_at=created_at if reward.redeem_on_purchase else None,
            updated_at=created_at,
        )
    )
    code = None
    if reward.type.value == "VOUCHER" and reward.code_type is CodeType.OTP:
        template = (reward.code or {}).get("format") or DEFAULT_FORMAT
        code = await code_service.issue_otp(tx, tenant_id, benefit_id, template)
    elif reward.type.value == "VOUCHER" and reward.code_type is CodeType.POOL:
        assert reward.code_pool_id is not None
        code = await code_service.issue_from_pool(tx, tenant_id, reward.code_pool_id, benefit_id)
    if code is not None:
        await tx.execute(
            update(benefits)
            .where(benefits.c.tenant_id == tenant_id, benefits.c.benefit_id == benefit_id)
            .values(code_id=code.code_id)
        )
    return await get_benefit(tx, tenant_id, benefit_id)


def _refusal(reason: str | None, reward: Reward) -> DomainError:
    if reason in _NOT_ELIGIBLE_REASONS:
        return Forbidden(f"The member may not get {reward.name} ({reason}).", code="NOT_ELIGIBLE", reason=reason)
    if reason == "OUT_OF_STOCK":
        return Refused(f"{reward.name} is out of stock.", code="OUT_OF_STOCK")
    return Refused(f"{reward.name} cannot be purchased now ({reason}).", code="NOT_AVAILABLE", reason=reason)


async def purchase_reward(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID, member: Member, *, actor: str) -> Benefit:
    """A member exchanges points for a reward. Points are never overdrawn; emits ``PURCHASED_REWARD`` (and
    ``REDEEMED_VOUCHER`` for one-step rewards)."""
    reward = await reward_service.get_reward(tx, tenant_id, reward_id)
    eligibility = await reward_service.check_eligibility(tx, tenant_id, reward, member, now=now())
    # Points are checked by the ledger's guarded update below, atomically; any other refusal stops here.
    if not eligibility.purchasable_now and eligibility.reason != "INSUFFICIENT_POINTS":
        raise _refusal(eligibility.reason, reward)
    benefit = await _create(tx, tenant_id, reward, member, origin=Origin.PURCHASE, points_spent=reward.price)
    if reward.price > 0:
        await point_service.apply_change(
            tx,
            tenant_id,
            member.member_id,
            BalanceChange(delta=-reward.price, impact=Impact.SPEND, policy=LiabilityPolicy.REJECT_EVENT),
            kind=EntryKind.SPEND,
            source_type=SourceType.COMMAND,
            source_id=benefit.benefit_id,
            comment=f"Purchased {reward.name}",
            actor=actor,
        )
    # Audience criteria may count purchases (rewardsPurchased): reassess, even when no points moved.
    await member_state.member_changed(tx, tenant_id, member.member_id)
    await _announce(tx, tenant_id, events.IntrinsicEvent.PURCHASED_REWARD, benefit, member, actor)
    if reward.redeem_on_purchase:
        await _announce(tx, tenant_id, events.IntrinsicEvent.REDEEMED_VOUCHER, benefit, member, actor)
    return benefit


async def give_reward(
    tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID, member: Member, *, origin: Origin, actor: str
) -> Benefit:
    """Give a reward without charging points (an admin's gift, or a REWARD reaction); emits ``VOUCHER_GIVEN``.
    Stock still counts; archived or expired rewards cannot be given."""
    reward = await reward_service.get_reward(tx, tenant_id, reward_id)
    if not reward.is_available(now()):
        raise Refused(f"{reward.name} is not available.", code="NOT_AVAILABLE")
    benefit = await _create(tx, tenant_id, reward, member, origin=origin, points_spent=0)
    await _announce(tx, tenant_id, events.IntrinsicEvent.VOUCHER_GIVEN, benefit, member, actor)
    return benefit


async def _announce(
    tx: Tx, tenant_id: uuid.UUID, kind: events.IntrinsicEvent, benefit: Benefit, member: Member, actor: str
) -> events.StoredEvent:
    payload: dict[str, Any] = {"rewardId": str(benefit.reward_id), "benefitId": str(benefit.benefit_id)}
    return await events.emit(tx, tenant_id, kind, subject=member, payload=payload, executor=actor)


# ---- redeem, validate, burn, unburn ----


async def redeem_benefit(tx: Tx, tenant_id: uuid.UUID, benefit: Benefit, member: Member, *, actor: str) -> Benefit:
    """Reveal the code. Redeeming again answers the benefit unchanged (idempotent); an expired one is refused."""
    moment = now()
    if benefit.redeemed_at is not None:
        return benefit
    if benefit.is_expired(moment):
        assert benefit.expires_at is not None
        raise Conflict("This voucher has expired.", code="VOUCHER_EXPIRED", expiresAt=iso(benefit.expires_at))
    redeemed = await tx.execute(
        update(benefits)
        .where(
            benefits.c.tenant_id == tenant_id,
            benefits.c.benefit_id == benefit.benefit_id,
            benefits.c.redeemed_at.is_(None),
        )
        .values(redeemed_at=moment, updated_at=moment)
    )
    updated = await get_benefit(tx, tenant_id, benefit.benefit_id)
    if redeemed.rowcount:
        await _announce(tx, tenant_id, events.IntrinsicEvent.REDEEMED_VOUCHER, updated, member, actor)
    return updated


# The two writes of a validation, built once (bound names differ from the columns they set).
_MOMENT = bindparam("moment", type_=benefits.c.burned_at.type)
_UNBURNED = (
    (benefits.c.tenant_id == bindparam("at_tenant"))
    & (benefits.c.benefit_id == bindparam("at_benefit"))
    & benefits.c.burned_at.is_(None)
)
_MARK_VALIDATED = (
    update(benefits)
    .where(_UNBURNED)
    .values(code_validated_at=func.coalesce(benefits.c.code_validated_at, _MOMENT), updated_at=_MOMENT)
    .returning(*benefits.c)
)
_BURN = (
    update(benefits)
    .where(
        _UNBURNED,
        benefits.c.redeemed_at.is_not(None),
        benefits.c.expires_at.is_(None) | (benefits.c.expires_at >= _MOMENT),
    )
    .values(
        burned_at=_MOMENT,
        code_validated_at=func.coalesce(benefits.c.code_validated_at, _MOMENT),
        burned_venue_id=bindparam("venue", type_=benefits.c.burned_venue_id.type),
        burned_by=bindparam("actor", type_=benefits.c.burned_by.type),
        updated_at=_MOMENT,
    )
    .returning(*benefits.c)
)


async def validate_voucher(
    tx: Tx,
    tenant_id: uuid.UUID,
    code: str,
    *,
    allow_future_validation: bool,
    user_identifier: str | None,
    venue_identifier: str | None,
    actor: str,
) -> Validation:
    """The till checks a code. Without ``allowFutureValidation`` a valid voucher is burned (one conditional
    write: of many tills burning one code at once exactly one succeeds); with it, the code is only marked
    validated and can be checked again. Emits ``BURNED_VOUCHER`` on a burn."""
    found = await code_service.find_code(tx, tenant_id, code)
    if found is None or (found.kind != "STATIC" and found.benefit_id is None):
        raise NotFound("No voucher has this code.", code="VOUCHER_NOT_FOUND")
    venue = await venue_service.resolve_venue(tx, tenant_id, venue_identifier) if venue_identifier else None
    moment = now()
    if found.kind == "STATIC":
        assert found.reward_id is not None
        reward = await reward_service.get_reward(tx, tenant_id, found.reward_id)
        if user_identifier is not None:
            await member_service.resolve_member(tx, tenant_id, user_identifier)
        if reward.venue_ids and venue is not None and venue.venue_id not in reward.venue_ids:
            raise Refused("This voucher is not valid at this venue.", code="VOUCHER_NOT_VALID_AT_VENUE")
        if not reward.is_available(moment):
            raise expired_static_code()
        return Validation(benefit=None, reward=reward, code_value=found.value, burned=False)
    assert found.benefit_id is not None
    benefit = await get_benefit(tx, tenant_id, found.benefit_id)
    reward = await reward_service.get_reward(tx, tenant_id, benefit.reward_id)
    named: Member | None = None
    if user_identifier is not None:
        try:
            named = await member_service.resolve_member(tx, tenant_id, user_identifier)
        except MemberNotFound:
            named = None
    # The member the till names is usually the owner: an open member with the benefit's member_id, exactly what
    # get_member would read, so it is not read twice. (Reading it first changes no outcome: resolving writes
    # nothing, and a closed owner is never the member named, so get_member still refuses it.)
    if named is not None and named.member_id == benefit.member_id:
        owner = named
    else:
        owner = await member_service.get_member(tx, tenant_id, benefit.member_id)
    names_owner = user_identifier is None or (named is not None and named.member_id == owner.member_id)

    valid_here = not reward.venue_ids or venue is None or venue.venue_id in reward.venue_ids
    check_validation(benefit, moment, owner_matches=names_owner, valid_at_venue=valid_here)
    # Both updates answer the row they wrote (RETURNING), so the benefit is not read back.
    if allow_future_validation:
        which = {"at_tenant": tenant_id, "at_benefit": benefit.benefit_id, "moment": moment}
        marked = (await tx.execute(_MARK_VALIDATED, which)).first()
        # No row: burned meanwhile by another till (PostgreSQL); answer with what it is now, as before.
        updated = (
            _benefit(marked, benefit) if marked is not None else await get_benefit(tx, tenant_id, benefit.benefit_id)
        )
        return Validation(benefit=updated, reward=reward, code_value=found.value, burned=False, owner=owner)
    updated, event = await _burn(tx, tenant_id, benefit, owner, venue.venue_id if venue else None, actor, moment)
    # The owner as read is still the owner now unless the burn's reactions changed them.
    unchanged = not any(r.status is ReactionStatus.APPLIED for r in event.reactions)
    return Validation(
        benefit=updated, reward=reward, code_value=found.value, burned=True, owner=owner if unchanged else None
    )


async def _burn(
    tx: Tx,
    tenant_id: uuid.UUID,
    benefit: Benefit,
    owner: Member,
    venue_id: uuid.UUID | None,
    actor: str,
    moment: datetime,
) -> tuple[Benefit, events.StoredEvent]:
    """The conditional burn of a checked voucher, and its ``BURNED_VOUCHER``: of many tills burning one code at
    once exactly one succeeds, and a voucher that changed since it was checked is refused."""
    parameters = {
        "at_tenant": tenant_id,
        "at_benefit": benefit.benefit_id,
        "moment": moment,
        "venue": venue_id,
        "actor": actor,
    }
    done = (await tx.execute(_BURN, parameters)).first()
    if done is None:
        # Another till burned it first (or it changed underneath): answer with what it is now.
        current = await get_benefit(tx, tenant_id, benefit.benefit_id)
        check_validation(current, now(), owner_matches=True, valid_at_venue=True)
        raise Conflict("This voucher was already used.", code="VOUCHER_ALREADY_BURNED")
    updated = _benefit(done, benefit)
    return updated, await _announce(tx, tenant_id, events.IntrinsicEvent.BURNED_VOUCHER, updated, owner, actor)


async def burn_quoted_voucher(
    tx: Tx, tenant_id: uuid.UUID, benefit: Benefit, member: Member | None, venue_id: uuid.UUID | None, *, actor: str
) -> Benefit:
    """Burn a voucher that a basket quote has just checked in this transaction (a checkout): the quote's benefit,
    member and venue are used as read, not read again. The quote refused codes of other members and codes not
    valid at the venue; the burn itself is the same conditional write as :func:`validate_voucher`'s."""
    owner = member if member is not None and member.member_id == benefit.member_id else None
    if owner is None:
        owner = await member_service.get_member(tx, tenant_id, benefit.member_id)
    moment = now()
    check_validation(benefit, moment, owner_matches=True, valid_at_venue=True)
    updated, _ = await _burn(tx, tenant_id, benefit, owner, venue_id, actor, moment)
    return updated


async def unburn_voucher(
    tx: Tx,
    tenant_id: uuid.UUID,
    benefit_id: uuid.UUID,
    *,
    reason: str,
    venue_identifier: str | None,
    venue_must_match: bool,
    actor: str,
) -> Benefit:
    """Restore a burned voucher after a voided sale, within 24 hours of the burn; a pos client only at the venue
    that burned it. Recorded in the voucher's audit trail."""
    benefit = await get_benefit(tx, tenant_id, benefit_id)
    venue = await venue_service.resolve_venue(tx, tenant_id, venue_identifier) if venue_identifier else None
    same_venue = benefit.burned_venue_id is None or (venue is not None and venue.venue_id == benefit.burned_venue_id)
    check_unburn(benefit, now(), venue_matches=same_venue or not venue_must_match)
    moment = now()
    await tx.execute(
        update(benefits)
        .where(
            benefits.c.tenant_id == tenant_id,
            benefits.c.benefit_id == benefit_id,
            benefits.c.burned_at.is_not(None),
        )
        .values(**_unburned(moment))
    )
    await tx.execute(
        benefit_audit.insert().values(
            tenant_id=tenant_id,
            audit_id=uuid.uuid4(),
            benefit_id=benefit_id,
            action="UNBURN",
            reason=reason,
            actor=actor,
            created_at=moment,
        )
    )
    return await get_benefit(tx, tenant_id, benefit_id)


async def owner_of(tx: Tx, tenant_id: uuid.UUID, benefit: Benefit) -> Member:
    return await member_service.get_member(tx, tenant_id, benefit.member_id)


def expired_static_code() -> Conflict:
    return Conflict("This code's reward is no longer available.", code="VOUCHER_EXPIRED")


def _unburned(moment: datetime) -> dict[str, Any]:
    """The columns of a voucher given back: not burned, not validated, claimed by no order."""
    return {
        "burned_at": None,
        "code_validated_at": None,
        "burned_venue_id": None,
        "burned_by": None,
        "burn_order_id": None,
        "updated_at": moment,
    }


async def link_burns_to_order(tx: Tx, tenant_id: uuid.UUID, benefit_ids: Iterable[str], order_id: uuid.UUID) -> None:
    """Claim the current burns of the vouchers a sale used for that sale's order, so that only its refund or void
    may give them back. A burn another order already claimed is left with it."""
    ids = [parsed for parsed in (_uuid_or_none(b) for b in dict.fromkeys(benefit_ids)) if parsed is not None]
    if not ids:
        return
    row = benefits.c
    await tx.execute(
        update(benefits)
        .where(
            row.tenant_id == tenant_id,
            row.benefit_id.in_(ids),
            row.burned_at.is_not(None),
            row.burn_order_id.is_(None),
        )
        .values(burn_order_id=order_id)
    )


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def restore_voucher(
    tx: Tx,
    tenant_id: uuid.UUID,
    benefit_id: uuid.UUID,
    *,
    member_id: uuid.UUID,
    order_id: uuid.UUID,
    reason: str,
    actor: str,
) -> bool:
    """Make a burned voucher of ``member_id`` usable again after the sale of ``order_id`` was refunded or voided
    (no time limit: the refund or void decides). Only a burn that belongs to that order is undone — or one no order
    claimed (burns from before orders claimed theirs): once given back, a voucher another sale burned since is that
    sale's. A voucher that is not burned, or not the member's, is left alone. Recorded in the voucher's audit trail;
    answers whether anything changed."""
    moment = now()
    row = benefits.c
    restored = await tx.execute(
        update(benefits)
        .where(
            row.tenant_id == tenant_id,
            row.benefit_id == benefit_id,
            row.member_id == member_id,
            row.burned_at.is_not(None),
            (row.burn_order_id == order_id) | row.burn_order_id.is_(None),
        )
        .values(**_unburned(moment))
    )
    if not restored.rowcount:
        return False
    await tx.execute(
        benefit_audit.insert().values(
            tenant_id=tenant_id,
            audit_id=uuid.uuid4(),
            benefit_id=benefit_id,
            action="RESTORE",
            reason=reason,
            actor=actor,
            created_at=moment,
        )
    )
    return True
