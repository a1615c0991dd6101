"""Rewards (vouchers and offers), their discounts, and who may see and buy them.

Everything a definition refers to (category, tier, venues, audiences, code pool) is checked when it is saved.
A STATIC reward's code is also written to ``voucher_codes``, whose unique key makes a code value name one thing in
a tenant, whatever its kind. Rewards are archived, never deleted: benefits keep pointing at them.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from loyalty.domain import eligibility as rules
from loyalty.domain.eligibility import Eligibility, Standing
from loyalty.domain.errors import Conflict, InvalidInput, NotFound
from loyalty.domain.members import Member
from loyalty.domain.reward_definitions import (
    check_code,
    check_transaction_amounts,
    discount_value_text,
    normalize_skus,
    parse_availability,
    parse_discount_value,
)
from loyalty.domain.rewards import CodeType, Discount, DiscountType, Reward, RewardType, Stacking
from loyalty.services import categories as category_service
from loyalty.services import points as point_service
from loyalty.services.categories import Category, CategoryNotFound
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.tables import (
    audience_members,
    audiences,
    code_pools,
    member_tiers,
    reward_discounts,
    rewards,
    tiers,
    venues,
    voucher_codes,
)

_UNSET: Any = object()

# Reward types of WLL's schema that belong to partner integrations this engine does not have.
PARTNER_REWARD_TYPES = frozenset(
    {"AWIN_PROGRAMME", "FIDEL_OFFER", "KINDRED", "OLIVE_OFFER", "WEGIFT_PRODUCT", "XOXO_PRODUCT"}
)


class RewardNotFound(NotFound):
    code = "REWARD_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("No such reward.")


class DiscountNotFound(NotFound):
    code = "DISCOUNT_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("No such discount on this reward.")


class RewardArchived(Conflict):
    code = "REWARD_ARCHIVED"

    def __init__(self) -> None:
        super().__init__("The reward is archived; it can no longer be changed.")


class CodeAlreadyExists(Conflict):
    code = "CODE_ALREADY_EXISTS"

    def __init__(self, value: str) -> None:
        super().__init__("This code value is already in use in this program.", value=value)


@dataclass(frozen=True)
class RewardDraft:
    """A definition, or a patch in which fields left at ``_UNSET`` keep their current value.

    References are plain ids (``category_id``, ``tier_id``, ``venue_ids``, …); ``availability`` is
    ``{"start", "end"}`` with dates or date-times as text.
    """

    type: Any = _UNSET
    name: Any = _UNSET
    summary: Any = _UNSET
    description: Any = _UNSET
    picture_url: Any = _UNSET
    price: Any = _UNSET
    value: Any = _UNSET
    currency: Any = _UNSET
    availability: Any = _UNSET
    purchasable: Any = _UNSET
    priority: Any = _UNSET
    category_id: Any = _UNSET
    tier_id: Any = _UNSET
    venue_ids: Any = _UNSET
    redemption_channels: Any = _UNSET
    purchasable_for_audiences: Any = _UNSET
    visible_to_audiences: Any = _UNSET
    reactor_only: Any = _UNSET
    code_type: Any = _UNSET
    code: Any = _UNSET
    code_pool_id: Any = _UNSET
    hide_code: Any = _UNSET
    purchase_expiration: Any = _UNSET
    stock_capacity: Any = _UNSET
    redeem_on_purchase: Any = _UNSET
    min_transaction_amount: Any = _UNSET
    max_transaction_amount: Any = _UNSET
    stacking: Any = _UNSET
    details: Any = _UNSET
    default_locale: Any = _UNSET

    def given(self, name: str) -> bool:
        return getattr(self, name) is not _UNSET


@dataclass(frozen=True)
class DiscountDraft:
    """A discount definition, or a patch (fields left at ``_UNSET`` keep their value)."""

    type: Any = _UNSET
    value: Any = _UNSET
    product_sku: Any = _UNSET
    sku: Any = _UNSET
    venue_ids: Any = _UNSET

    def given(self, name: str) -> bool:
        return getattr(self, name) is not _UNSET


@dataclass(frozen=True)
class TierRef:
    tier_id: uuid.UUID
    name: str
    priority: int


@dataclass(frozen=True)
class RewardView:
    """A reward as answered: with its category and tier, and — when a member is looking — their eligibility."""

    reward: Reward
    category: Category | None
    tier: TierRef | None
    eligibility: Eligibility | None = None


class ViewerKind(StrEnum):
    ADMIN = "ADMIN"  # the whole catalogue
    CLIENT = "CLIENT"  # a pos (or narrower) client with no member: the public catalogue
    MEMBER = "MEMBER"  # what this member may see now


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the catalogue."""

    kind: ViewerKind
    member: Member | None = None

    @classmethod
    def admin(cls) -> Viewer:
        return cls(ViewerKind.ADMIN)

    @classmethod
    def client(cls) -> Viewer:
        return cls(ViewerKind.CLIENT)

    @classmethod
    def of(cls, member: Member) -> Viewer:
        return cls(ViewerKind.MEMBER, member)


# ---- reading ----


def _ids(values: Any) -> tuple[uuid.UUID, ...]:
    return tuple(uuid.UUID(str(v)) for v in values or ())


def _discount(row: Any) -> Discount:
    return Discount(
        discount_id=row.discount_id,
        reward_id=row.reward_id,
        type=DiscountType(row.type),
        value=Decimal(row.value),
        product_sku=row.product_sku,
        sku=row.sku,
        venue_ids=_ids(row.venue_ids),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _reward(row: Any, discounts: Sequence[Discount] = ()) -> Reward:
    return Reward(
        reward_id=row.reward_id,
        type=RewardType(row.type),
        name=row.name,
        summary=row.summary,
        description=row.description,
        picture_url=row.picture_url,
        price=row.price,
        value=row.value,
        currency=row.currency,
        available_from=row.available_from,
        available_until=row.available_until,
        purchasable=row.purchasable,
        priority=row.priority,
        category_id=row.category_id,
        tier_id=row.tier_id,
        venue_ids=_ids(row.venue_ids),
        redemption_channels=tuple(row.redemption_channels or ()),
        purchasable_for_audiences=_ids(row.purchasable_for_audiences),
        visible_to_audiences=_ids(row.visible_to_audiences),
        reactor_only=row.reactor_only,
        code_type=CodeType(row.code_type),
        code=row.code,
        code_pool_id=row.code_pool_id,
        hide_code=row.hide_code,
        purchase_expiration=row.purchase_expiration,
        stock_capacity=row.stock_capacity,
        stock_consumed=row.stock_consumed,
        redeem_on_purchase=row.redeem_on_purchase,
        min_transaction_amount=row.min_transaction_amount,
        max_transaction_amount=row.max_transaction_amount,
        stacking=Stacking(row.stacking),
        details=row.details,
        default_locale=row.default_locale,
        created_at=row.created_at,
        updated_at=row.updated_at,
        archived_at=row.archived_at,
        discounts=tuple(discounts),
    )


# Built once: read on every validation and offer list.
_DISCOUNTS = (
    select(reward_discounts)
    .where(
        reward_discounts.c.tenant_id == bindparam("tenant_id"),
        reward_discounts.c.reward_id.in_(bindparam("reward_ids", expanding=True)),
    )
    .order_by(reward_discounts.c.created_at, reward_discounts.c.discount_id)
)
_REWARD = select(rewards).where(
    rewards.c.tenant_id == bindparam("tenant_id"), rewards.c.reward_id == bindparam("reward_id")
)


async def _discounts_of(
    tx: Tx, tenant_id: uuid.UUID, reward_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[Discount]]:
    wanted = set(reward_ids)
    found: dict[uuid.UUID, list[Discount]] = {reward_id: [] for reward_id in wanted}
    if not wanted:
        return found
    rows = await tx.execute(_DISCOUNTS, {"tenant_id": tenant_id, "reward_ids": list(wanted)})
    for row in rows:
        found[row.reward_id].append(_discount(row))
    return found


async def _reward_row(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID) -> Any:
    row = (await tx.execute(_REWARD, {"tenant_id": tenant_id, "reward_id": reward_id})).first()
    if row is None:
        raise RewardNotFound()
    return row


async def get_reward(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID) -> Reward:
    """The reward with its discounts, archived or not (404 ``REWARD_NOT_FOUND`` when unknown)."""
    row = await _reward_row(tx, tenant_id, reward_id)
    return _reward(row, (await _discounts_of(tx, tenant_id, [reward_id]))[reward_id])


async def list_discounts(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID) -> list[Discount]:
    """A reward's discounts, oldest first (404 ``REWARD_NOT_FOUND`` when the reward is unknown)."""
    await _reward_row(tx, tenant_id, reward_id)
    return (await _discounts_of(tx, tenant_id, [reward_id]))[reward_id]


async def _tiers_by_id(tx: Tx, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, TierRef]:
    """Tiers by id, deleted ones included: a reward keeps naming the tier it was restricted to."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await tx.execute(
        select(tiers.c.tier_id, tiers.c.name, tiers.c.priority).where(
            tiers.c.tenant_id == tenant_id, tiers.c.tier_id.in_(wanted)
        )
    )
    return {r.tier_id: TierRef(r.tier_id, r.name, r.priority) for r in rows}


# A member's standing, read for every offer list and every reward they look at: built once.
_TIER_PRIORITY = (
    select(tiers.c.priority)
    .select_from(member_tiers)
    .join(tiers, and_(tiers.c.tenant_id == member_tiers.c.tenant_id, tiers.c.tier_id == member_tiers.c.tier_id))
    .where(
        member_tiers.c.tenant_id == bindparam("tenant_id"),
        member_tiers.c.member_id == bindparam("member_id"),
        tiers.c.deleted_at.is_(None),
    )
)
_AUDIENCE_IDS = (
    select(audience_members.c.audience_id)
    .select_from(audience_members)
    .join(
        audiences,
        and_(
            audiences.c.tenant_id == audience_members.c.tenant_id,
            audiences.c.audience_id == audience_members.c.audience_id,
        ),
    )
    .where(
        audience_members.c.tenant_id == bindparam("tenant_id"),
        audience_members.c.member_id == bindparam("member_id"),
        audiences.c.deleted_at.is_(None),
        audiences.c.is_active.is_(True),
    )
)


async def _standing(tx: Tx, tenant_id: uuid.UUID, member: Member, balance: int | None = None) -> Standing:
    """The member's tier priority, audiences and balance. Deleted tiers and audiences, and inactive audiences,
    count for nothing. ``balance``: the member's balance, when the caller read it in this transaction already."""
    whose = {"tenant_id": tenant_id, "member_id": member.member_id}
    tier_priority = (await tx.execute(_TIER_PRIORITY, whose)).scalar_one_or_none()
    audience_rows = await tx.execute(_AUDIENCE_IDS, whose)
    if balance is None:
        balance = (await point_service.get_account(tx, tenant_id, member.member_id)).balance
    return Standing(
        tier_priority=tier_priority,
        audience_ids=frozenset(r.audience_id for r in audience_rows),
        balance=balance,
    )


def _required_priority(reward: Reward, tier_refs: dict[uuid.UUID, TierRef]) -> int | None:
    tier = tier_refs.get(reward.tier_id) if reward.tier_id is not None else None
    return tier.priority if tier is not None else None


async def check_eligibility(
    tx: Tx, tenant_id: uuid.UUID, reward: Reward, member: Member | None, *, now: datetime
) -> Eligibility:
    """Whether ``member`` may see ``reward`` at ``now`` and may buy it now, and if not, why.

    Without a member: visible when it is in the public catalogue; never purchasable."""
    standing = await _standing(tx, tenant_id, member) if member is not None else None
    tier_refs = await _tiers_by_id(tx, tenant_id, [reward.tier_id])
    return rules.evaluate(reward, standing, required_tier_priority=_required_priority(reward, tier_refs), now=now)


async def _views(
    tx: Tx,
    tenant_id: uuid.UUID,
    found: Sequence[Reward],
    eligibilities: Sequence[Eligibility | None] | None = None,
    *,
    discounts_read: bool = False,
) -> list[RewardView]:
    """Hydrate rewards for an answer: discounts, category and tier, three queries for the whole page.

    ``discounts_read``: the rewards come from :func:`get_reward` in this transaction, discounts included, so they
    are not read again."""
    if discounts_read:
        discounts = {r.reward_id: list(r.discounts) for r in found}
    else:
        discounts = await _discounts_of(tx, tenant_id, [r.reward_id for r in found])
    category_refs = await category_service.categories_by_id(
        tx, tenant_id, [r.category_id for r in found if r.category_id is not None]
    )
    tier_refs = await _tiers_by_id(tx, tenant_id, [r.tier_id for r in found])
    marks = eligibilities if eligibilities is not None else [None] * len(found)
    return [
        RewardView(
            reward=dataclasses.replace(reward, discounts=tuple(discounts[reward.reward_id])),
            category=category_refs.get(reward.category_id) if reward.category_id is not None else None,
            tier=tier_refs.get(reward.tier_id) if reward.tier_id is not None else None,
            eligibility=mark,
        )
        for reward, mark in zip(found, marks, strict=True)
    ]


async def show_reward(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID, viewer: Viewer) -> RewardView:
    """One reward as ``viewer`` may see it. A member gets 404 for a reward they may not see now (archived,
    outside its window, reactor-only, above their tier, outside its audiences); clients see every reward."""
    reward = await get_reward(tx, tenant_id, reward_id)
    if viewer.member is None:
        return (await _views(tx, tenant_id, [reward], discounts_read=True))[0]
    mark = await check_eligibility(tx, tenant_id, reward, viewer.member, now=now())
    if not mark.visible:
        raise RewardNotFound()
    return (await _views(tx, tenant_id, [reward], [mark], discounts_read=True))[0]


async def view_of(tx: Tx, tenant_id: uuid.UUID, reward: Reward) -> RewardView:
    """What ``show_reward`` answers an admin, for a reward the caller already read with :func:`get_reward` in this
    transaction and that nothing has changed since (it is not read again)."""
    return (await _views(tx, tenant_id, [reward], discounts_read=True))[0]


@cache
def _live_catalogue(*, by_type: bool, by_category: bool, descending: bool) -> Any:
    """What the database can rule out of a member's or a till's catalogue (archived, reactor-only, outside its
    window); tiers and audiences (JSON lists) are then judged by the domain rules. Built once per shape: it runs
    for every offer list at the till."""
    moment = bindparam("moment", type_=rewards.c.available_from.type)
    conditions: list[ColumnElement[bool]] = [
        rewards.c.tenant_id == bindparam("tenant_id"),
        rewards.c.archived_at.is_(None),
        rewards.c.reactor_only.is_(false()),
        rewards.c.available_from <= moment,
        or_(rewards.c.available_until.is_(None), rewards.c.available_until > moment),
    ]
    if by_type:
        conditions.append(rewards.c.type == bindparam("type"))
    if by_category:
        conditions.append(rewards.c.category_id == bindparam("category_id"))
    created = rewards.c.created_at.desc() if descending else rewards.c.created_at
    return select(rewards).where(*conditions).order_by(rewards.c.priority.desc(), created, rewards.c.reward_id)


async def list_rewards(
    tx: Tx,
    tenant_id: uuid.UUID,
    viewer: Viewer,
    *,
    reward_type: RewardType | None = None,
    category_id: uuid.UUID | None = None,
    include_archived: bool = False,
    limit: int,
    skip: int,
    descending: bool = True,
    balance: int | None = None,
) -> tuple[list[RewardView], int]:
    """The catalogue as ``viewer`` may see it, by priority (highest first) then creation time.

    Admins see every reward (archived ones with ``include_archived``); a client without a member sees the public
    catalogue; a member sees what they may see now, each with their eligibility. ``category_id`` names a category
    that must exist (404 ``CATEGORY_NOT_FOUND``). ``balance``: the member's balance, when the caller read it in
    this transaction already and nothing has changed it since (it is not read again).
    """
    moment = now()
    if category_id is not None:
        await category_service.get_category(tx, tenant_id, category_id)
    if viewer.kind is ViewerKind.ADMIN:
        conditions: list[ColumnElement[bool]] = [rewards.c.tenant_id == tenant_id]
        if reward_type is not None:
            conditions.append(rewards.c.type == reward_type.value)
        if category_id is not None:
            conditions.append(rewards.c.category_id == category_id)
        created = rewards.c.created_at.desc() if descending else rewards.c.created_at
        ordering = (rewards.c.priority.desc(), created, rewards.c.reward_id)
        if not include_archived:
            conditions.append(rewards.c.archived_at.is_(None))
        total = (await tx.execute(select(func.count()).select_from(rewards).where(*conditions))).scalar_one()
        rows = await tx.execute(select(rewards).where(*conditions).order_by(*ordering).limit(limit).offset(skip))
        return await _views(tx, tenant_id, [_reward(r) for r in rows]), total

    query = _live_catalogue(by_type=reward_type is not None, by_category=category_id is not None, descending=descending)
    parameters = {
        "tenant_id": tenant_id,
        "type": reward_type.value if reward_type is not None else None,
        "category_id": category_id,
        "moment": moment,
    }
    candidates = [_reward(r) for r in await tx.execute(query, parameters)]
    standing = await _standing(tx, tenant_id, viewer.member, balance) if viewer.member is not None else None
    tier_refs = await _tiers_by_id(tx, tenant_id, [r.tier_id for r in candidates])
    shown: list[tuple[Reward, Eligibility]] = []
    for reward in candidates:
        mark = rules.evaluate(
            reward, standing, required_tier_priority=_required_priority(reward, tier_refs), now=moment
        )
        if mark.visible:
            shown.append((reward, mark))
    page = shown[skip : skip + limit]
    marks = [mark if viewer.member is not None else None for _, mark in page]
    return await _views(tx, tenant_id, [reward for reward, _ in page], marks), len(shown)


# ---- writing ----


def _invalid(message: str, code: str, field: str, **details: Any) -> InvalidInput:
    return InvalidInput(message, code=code, field=field, **details)


async def _check_category(tx: Tx, tenant_id: uuid.UUID, category_id: uuid.UUID | None) -> None:
    if category_id is None:
        return
    try:
        await category_service.get_category(tx, tenant_id, category_id)
    except CategoryNotFound as error:
        raise _invalid("No such reward category.", "CATEGORY_NOT_FOUND", "category.id") from error


async def _check_live(
    tx: Tx, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID], *, table: Any, key: str, code: str, field: str
) -> None:
    """Every id names a row of ``table`` in this tenant that is not deleted."""
    if not ids:
        return
    column = table.c[key]
    rows = await tx.execute(
        select(column).where(table.c.tenant_id == tenant_id, column.in_(set(ids)), table.c.deleted_at.is_(None))
    )
    missing = sorted(str(i) for i in set(ids) - {r[0] for r in rows})
    if missing:
        raise _invalid(f"Unknown id(s) in {field}: {', '.join(missing)}.", code, field, ids=missing)


async def _check_code_pool(tx: Tx, tenant_id: uuid.UUID, pool_id: uuid.UUID | None) -> None:
    if pool_id is None:
        return
    found = (
        await tx.execute(
            select(code_pools.c.pool_id).where(code_pools.c.tenant_id == tenant_id, code_pools.c.pool_id == pool_id)
        )
    ).first()
    if found is None:
        raise _invalid("No such code pool.", "CODE_POOL_NOT_FOUND", "codePool.id")


def _unique(ids: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(ids))


def _reward_type(raw: Any) -> RewardType:
    if raw in PARTNER_REWARD_TYPES:
        raise _invalid(
            f"Reward type {raw} needs a partner integration this engine does not have.",
            "UNSUPPORTED_REWARD_TYPE",
            "type",
        )
    try:
        return RewardType(raw)
    except ValueError as error:
        raise _invalid("type is VOUCHER or GENERIC_OFFER.", "VALIDATION_ERROR", "type") from error


async def _values(
    tx: Tx, tenant_id: uuid.UUID, draft: RewardDraft, base: Reward | None, moment: datetime
) -> dict[str, Any]:
    """Check a definition (a patch is merged over ``base``) and return the row values it sets; a missing
    availability start is ``moment``, the write's own time (so a new reward starts exactly when it was created)."""
    if base is None and not (draft.given("type") and draft.given("name")):
        raise _invalid(
            "A reward needs a type and a name.", "VALIDATION_ERROR", "type" if draft.given("name") else "name"
        )

    def pick(name: str, fallback: Any) -> Any:
        return getattr(draft, name) if draft.given(name) else fallback

    def current(name: str, default: Any = None) -> Any:
        return getattr(base, name) if base is not None else default

    reward_type = _reward_type(draft.type) if draft.given("type") else current("type")
    try:
        code_type = CodeType(draft.code_type) if draft.given("code_type") else current("code_type", CodeType.HUMAN)
    except ValueError as error:
        raise _invalid("codeType is OTP, POOL, STATIC or HUMAN.", "VALIDATION_ERROR", "codeType") from error
    code_pool_id = pick("code_pool_id", current("code_pool_id"))
    if base is not None:
        for name, field, value in (
            ("type", "type", reward_type),
            ("code_type", "codeType", code_type),
            ("code_pool_id", "codePool", code_pool_id),
        ):
            if value != getattr(base, name):
                raise _invalid(f"{field} cannot change once a reward exists.", "REWARD_FIELD_IMMUTABLE", field)

    # Fields stored as given, with what a new reward has when they are not sent.
    plain: dict[str, Any] = {
        "name": None,
        "summary": None,
        "description": None,
        "picture_url": None,
        "price": 0,
        "value": None,
        "currency": None,
        "purchasable": False,
        "priority": 0,
        "reactor_only": False,
        "hide_code": False,
        "purchase_expiration": None,
        "stock_capacity": None,
        "redeem_on_purchase": False,
        "min_transaction_amount": None,
        "max_transaction_amount": None,
        "details": {},
        "default_locale": "en",
    }
    values = {name: pick(name, default) for name, default in plain.items() if base is None or draft.given(name)}
    if base is None:
        values.update(type=reward_type.value, code_type=code_type.value, code_pool_id=code_pool_id)

    check_transaction_amounts(
        pick("min_transaction_amount", current("min_transaction_amount")),
        pick("max_transaction_amount", current("max_transaction_amount")),
    )
    if draft.given("availability") or base is None:
        values["available_from"], values["available_until"] = parse_availability(pick("availability", None), moment)
    if draft.given("stacking") or base is None:
        values["stacking"] = Stacking(pick("stacking", Stacking.STACKABLE)).value
    if draft.given("redemption_channels") or base is None:
        values["redemption_channels"] = _unique(pick("redemption_channels", []))

    if draft.given("category_id"):
        await _check_category(tx, tenant_id, draft.category_id)
        values["category_id"] = draft.category_id
    if draft.given("tier_id"):
        tier_ids = [draft.tier_id] if draft.tier_id is not None else []
        await _check_live(tx, tenant_id, tier_ids, table=tiers, key="tier_id", code="TIER_NOT_FOUND", field="tier.id")
        values["tier_id"] = draft.tier_id
    for name, field, table, key, code in (
        ("venue_ids", "venues", venues, "venue_id", "VENUE_NOT_FOUND"),
        ("purchasable_for_audiences", "purchasableForAudiences", audiences, "audience_id", "AUDIENCE_NOT_FOUND"),
        ("visible_to_audiences", "visibleToAudiences", audiences, "audience_id", "AUDIENCE_NOT_FOUND"),
    ):
        if draft.given(name) or base is None:
            ids = _unique(pick(name, []))
            await _check_live(tx, tenant_id, ids, table=table, key=key, code=code, field=field)
            values[name] = [str(i) for i in ids]
    if draft.given("code") or base is None:
        values["code"] = check_code(code_type, pick("code", None), code_pool_id)
    if base is None:
        await _check_code_pool(tx, tenant_id, code_pool_id)
    return values


async def _claim_static_code(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID, value: str) -> None:
    """Give the reward its static code value, or move it to a new value: one row per STATIC reward, so the
    code's id stays the same when the value changes."""
    moment = now()
    try:
        async with tx.begin_nested():
            moved = await tx.execute(
                update(voucher_codes)
                .where(
                    voucher_codes.c.tenant_id == tenant_id,
                    voucher_codes.c.reward_id == reward_id,
                    voucher_codes.c.kind == CodeType.STATIC.value,
                )
                .values(value=value)
            )
            if not moved.rowcount:
                await tx.execute(
                    voucher_codes.insert().values(
                        tenant_id=tenant_id,
                        code_id=uuid.uuid4(),
                        value=value,
                        kind=CodeType.STATIC.value,
                        reward_id=reward_id,
                        created_at=moment,
                    )
                )
    except IntegrityError as error:
        raise CodeAlreadyExists(value) from error


async def create_reward(tx: Tx, tenant_id: uuid.UUID, draft: RewardDraft) -> RewardView:
    moment = now()
    values = await _values(tx, tenant_id, draft, None, moment)
    reward_id = uuid.uuid4()
    if values["code_type"] == CodeType.STATIC.value:
        await _claim_static_code(tx, tenant_id, reward_id, values["code"]["value"])
    await tx.execute(
        rewards.insert().values(
            tenant_id=tenant_id, reward_id=reward_id, created_at=moment, updated_at=moment, **values
        )
    )
    await bump_config_version(tx, tenant_id)
    return (await _views(tx, tenant_id, [await get_reward(tx, tenant_id, reward_id)]))[0]


async def update_reward(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID, patch: RewardDraft) -> RewardView:
    """Change the fields given. ``type``, ``codeType`` and ``codePool`` are fixed once the reward exists (they
    decide how benefits already handed out work); an archived reward cannot change (409 ``REWARD_ARCHIVED``)."""
    current = await get_reward(tx, tenant_id, reward_id)
    if current.archived_at is not None:
        raise RewardArchived()
    values = await _values(tx, tenant_id, patch, current, now())
    if current.code_type is CodeType.STATIC and values.get("code"):
        await _claim_static_code(tx, tenant_id, reward_id, values["code"]["value"])
    await tx.execute(
        update(rewards)
        .where(rewards.c.tenant_id == tenant_id, rewards.c.reward_id == reward_id)
        .values(updated_at=now(), **values)
    )
    await bump_config_version(tx, tenant_id)
    return (await _views(tx, tenant_id, [await get_reward(tx, tenant_id, reward_id)]))[0]


async def archive_reward(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID) -> RewardView:
    """Archive: members no longer see it and nobody can buy it; benefits already issued keep working.
    Archiving an archived reward changes nothing."""
    current = await get_reward(tx, tenant_id, reward_id)
    if current.archived_at is None:
        moment = now()
        await tx.execute(
            update(rewards)
            .where(rewards.c.tenant_id == tenant_id, rewards.c.reward_id == reward_id, rewards.c.archived_at.is_(None))
            .values(archived_at=moment, updated_at=moment)
        )
        await bump_config_version(tx, tenant_id)
    return (await _views(tx, tenant_id, [await get_reward(tx, tenant_id, reward_id)]))[0]


# ---- discounts ----


async def get_discount(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID, discount_id: uuid.UUID) -> Discount:
    await _reward_row(tx, tenant_id, reward_id)
    row = (
        await tx.execute(
            select(reward_discounts).where(
                reward_discounts.c.tenant_id == tenant_id,
                reward_discounts.c.reward_id == reward_id,
                reward_discounts.c.discount_id == discount_id,
            )
        )
    ).first()
    if row is None:
        raise DiscountNotFound()
    return _discount(row)


async def _writable_reward(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID) -> None:
    if (await _reward_row(tx, tenant_id, reward_id)).archived_at is not None:
        raise RewardArchived()


async def _discount_values(tx: Tx, tenant_id: uuid.UUID, draft: DiscountDraft, base: Discount | None) -> dict[str, Any]:
    def pick(name: str, fallback: Any) -> Any:
        return getattr(draft, name) if draft.given(name) else fallback

    try:
        discount_type = DiscountType(pick("type", base.type if base else None))
    except ValueError as error:
        raise _invalid("type is ABSOLUTE, PERCENTAGE or FIXED.", "INVALID_DISCOUNT", "type") from error
    raw_value = pick("value", base.value if base else None)
    values: dict[str, Any] = {
        "type": discount_type.value,
        "value": discount_value_text(parse_discount_value(discount_type, raw_value)),
    }
    if draft.given("product_sku") or base is None:
        values["product_sku"] = normalize_skus(pick("product_sku", None), field="productSku")
    if draft.given("sku") or base is None:
        values["sku"] = normalize_skus(pick("sku", None), field="sku")
    if draft.given("venue_ids") or base is None:
        ids = _unique(pick("venue_ids", []))
        await _check_live(tx, tenant_id, ids, table=venues, key="venue_id", code="VENUE_NOT_FOUND", field="venues")
        values["venue_ids"] = [str(i) for i in ids]
    return values


async def _touch_reward(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID) -> None:
    """A discount is part of its reward: changing one changes the reward (``updatedAt``) and the configuration."""
    await tx.execute(
        update(rewards)
        .where(rewards.c.tenant_id == tenant_id, rewards.c.reward_id == reward_id)
        .values(updated_at=now())
    )
    await bump_config_version(tx, tenant_id)


async def create_discount(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID, draft: DiscountDraft) -> Discount:
    await _writable_reward(tx, tenant_id, reward_id)
    values = await _discount_values(tx, tenant_id, draft, None)
    discount_id = uuid.uuid4()
    moment = now()
    await tx.execute(
        reward_discounts.insert().values(
            tenant_id=tenant_id,
            discount_id=discount_id,
            reward_id=reward_id,
            created_at=moment,
            updated_at=moment,
            **values,
        )
    )
    await _touch_reward(tx, tenant_id, reward_id)
    return await get_discount(tx, tenant_id, reward_id, discount_id)


async def update_discount(
    tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID, discount_id: uuid.UUID, patch: DiscountDraft
) -> Discount:
    """Change the fields given; the result is checked as a whole (a new type must suit the value)."""
    current = await get_discount(tx, tenant_id, reward_id, discount_id)
    await _writable_reward(tx, tenant_id, reward_id)
    values = await _discount_values(tx, tenant_id, patch, current)
    await tx.execute(
        update(reward_discounts)
        .where(reward_discounts.c.tenant_id == tenant_id, reward_discounts.c.discount_id == discount_id)
        .values(updated_at=now(), **values)
    )
    await _touch_reward(tx, tenant_id, reward_id)
    return await get_discount(tx, tenant_id, reward_id, discount_id)


async def delete_discount(tx: Tx, tenant_id: uuid.UUID, reward_id: uuid.UUID, discount_id: uuid.UUID) -> Discount:
    """Remove a discount; the answer is the discount as it was."""
    current = await get_discount(tx, tenant_id, reward_id, discount_id)
    await _writable_reward(tx, tenant_id, reward_id)
    await tx.execute(
        reward_discounts.delete().where(
            reward_discounts.c.tenant_id == tenant_id, reward_discounts.c.discount_id == discount_id
        )
    )
    await _touch_reward(tx, tenant_id, reward_id)
    return current
