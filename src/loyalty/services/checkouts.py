"""Checkout: price the basket, burn the vouchers, place the order (its reactors earn), spend the points — one
transaction, so any refusal (a voucher burned a moment earlier at another till, too few points) leaves nothing
behind. A void within 24 hours undoes it exactly."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from loyalty.domain.errors import Conflict, NotFound, Refused
from loyalty.domain.ledger import BalanceChange, EntryKind, Impact, LiabilityPolicy, SourceType
from loyalty.domain.orders import (
    Allocation,
    AppliedDiscount,
    Channel,
    MemberField,
    MemberReference,
    OrderDraft,
    OrderLine,
    OrderTotals,
    Payment,
    VenueField,
    VenueReference,
)
from loyalty.domain.pricing import PricingResult, Source
from loyalty.services import benefits as benefit_service
from loyalty.services import orders as order_service
from loyalty.services import points as point_service
from loyalty.services.baskets import BasketDraft, Quote, quote_basket
from loyalty.services.clock import now
from loyalty.storage.database import Tx
from loyalty.storage.tables import orders

# A checkout can be voided (the sale cancelled at the till) for this long.
VOID_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class CheckoutDraft:
    basket: BasketDraft
    external_id: str
    payments: tuple[Payment, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Receipt:
    placed: order_service.PlacedOrder
    balance: int | None


def _refusal_of_voucher(quote: Quote) -> Exception | None:
    """The first reason a presented voucher cannot be used: at a checkout that refuses the whole sale."""
    if quote.refused:
        return quote.refused[0].error
    for rejection in quote.result.rejected:
        if rejection.code is not None:  # a voucher, not an offer that simply does not apply
            return Refused(
                f"Voucher {rejection.code} cannot be used on this basket ({rejection.reason}).",
                code="VOUCHER_NOT_APPLICABLE",
                reason=str(rejection.reason),
                voucherCode=rejection.code,
            )
    return None


def order_lines(result: PricingResult, names: Mapping[int, tuple[str | None, str | None]]) -> tuple[OrderLine, ...]:
    return tuple(
        OrderLine(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total=line.total,
            discount=line.discount,
            name=names.get(line.index, (None, None))[0],
            category=names.get(line.index, (None, None))[1],
        )
        for line in result.lines
    )


def applied_discounts(result: PricingResult) -> tuple[AppliedDiscount, ...]:
    return tuple(
        AppliedDiscount(
            source=applied.source.value,
            amount=applied.amount,
            reward_id=str(applied.reward_id) if applied.reward_id else None,
            benefit_id=applied.benefit_id,
            code=applied.code,
            discount_id=str(applied.discount_id) if applied.discount_id else None,
            points=result.points_spent if applied.source is Source.POINTS else None,
            allocations=tuple(Allocation(line_index=i, amount=a) for i, a in applied.allocations),
        )
        for applied in result.applied
    )


def order_draft(
    quote: Quote,
    *,
    external_id: str,
    currency: str,
    channel: str | None,
    names: Mapping[int, tuple[str | None, str | None]],
    payments: tuple[Payment, ...] = (),
    metadata: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
    burned: tuple[str, ...] = (),
) -> OrderDraft:
    result = quote.result
    return OrderDraft(
        external_id=external_id,
        currency=currency,
        lines=order_lines(result, names),
        totals=OrderTotals(subtotal=result.subtotal, total=result.total, discount=result.discount),
        submitter=MemberReference(MemberField.ID, str(quote.member.member_id)) if quote.member else None,
        venue=VenueReference(VenueField.ID, str(quote.venue.venue_id)) if quote.venue else None,
        channel=Channel(channel) if channel else Channel.IN_STORE,
        occurred_at=occurred_at,
        applied_discounts=applied_discounts(result),
        payments=payments,
        metadata=metadata or {},
        points_spent=result.points_spent,
        points_spent_value=result.points_value,
        burned_benefit_ids=burned,
        checkout=True,
    )


async def estimate_points(
    tx: Tx, tenant_id: uuid.UUID, quote: Quote, draft: BasketDraft, names: Mapping[int, tuple[str | None, str | None]]
) -> int:
    """What the ORDER_PLACED reactors would earn on this basket: the order is placed in a savepoint that is then
    rolled back, so the estimate is exactly what a checkout would give, and nothing is kept."""
    if quote.member is None:
        return 0
    async with tx.begin_nested() as savepoint:
        placed = await order_service.place_order(
            tx,
            tenant_id,
            order_draft(
                quote,
                external_id=f"estimate:{uuid.uuid4()}",
                currency=draft.currency,
                channel=draft.channel,
                names=names,
            ),
            actor="estimate",
        )
        earned = placed.points_earned
        await savepoint.rollback()
    return earned


async def checkout(
    tx: Tx,
    tenant_id: uuid.UUID,
    draft: CheckoutDraft,
    names: Mapping[int, tuple[str | None, str | None]],
    *,
    actor: str,
) -> Receipt:
    previous = await _existing(tx, tenant_id, draft.external_id)
    if previous is not None:
        return await _replay(tx, tenant_id, previous, draft)
    try:
        # A retry of this very checkout may be running alongside (PostgreSQL runs them side by side) and commit
        # first: then this attempt finds the vouchers burned, the points gone or the externalId taken. Its work is
        # undone with the savepoint and the committed checkout is answered as a replay.
        async with tx.begin_nested():
            return await _check_out(tx, tenant_id, draft, names, actor=actor)
    except (Conflict, Refused):
        previous = await _existing(tx, tenant_id, draft.external_id)
        if previous is None:
            raise
        return await _replay(tx, tenant_id, previous, draft)


async def _check_out(
    tx: Tx,
    tenant_id: uuid.UUID,
    draft: CheckoutDraft,
    names: Mapping[int, tuple[str | None, str | None]],
    *,
    actor: str,
) -> Receipt:
    quote = await quote_basket(tx, tenant_id, draft.basket)
    refusal = _refusal_of_voucher(quote)
    if refusal is not None:
        raise refusal
    burned: list[str] = []
    for applied in quote.result.applied:
        if applied.source is Source.VOUCHER and applied.benefit_id is not None and applied.code is not None:
            # The conditional burn: if another till burned it first, this raises and everything rolls back.
            await benefit_service.burn_quoted_voucher(
                tx,
                tenant_id,
                quote.benefits[applied.code],
                quote.member,
                quote.venue.venue_id if quote.venue else None,
                actor=actor,
            )
            burned.append(applied.benefit_id)
    placed = await order_service.place_order(
        tx,
        tenant_id,
        order_draft(
            quote,
            external_id=draft.external_id,
            currency=draft.basket.currency,
            channel=draft.basket.channel,
            names=names,
            payments=draft.payments,
            metadata=draft.metadata,
            occurred_at=draft.occurred_at,
            burned=tuple(burned),
        ),
        actor=actor,
    )
    if placed.replayed:
        raise Conflict("A concurrent checkout placed this externalId first.", code="ORDER_CONFLICT")
    balance = None
    if quote.result.points_spent:
        assert quote.member is not None
        spent = await point_service.apply_change(
            tx,
            tenant_id,
            quote.member.member_id,
            BalanceChange(delta=-quote.result.points_spent, impact=Impact.SPEND, policy=LiabilityPolicy.REJECT_EVENT),
            kind=EntryKind.SPEND,
            source_type=SourceType.ORDER,
            source_id=placed.order.order_id,
            comment=f"Spent at checkout {draft.external_id}",
            actor=actor,
        )
        balance = spent.balance_after  # the spend is the sale's last change to the balance
    # The order as placed is the order now (spending points writes nothing to it): it is not read back. Its
    # event is read as stored, as get_order answers it.
    stored = await order_service.with_stored_event(tx, tenant_id, placed.order)
    return await _receipt_of(tx, tenant_id, stored, balance=balance)


async def _existing(tx: Tx, tenant_id: uuid.UUID, external_id: str) -> order_service.PlacedOrder | None:
    try:
        return await order_service.get_order(tx, tenant_id, external_id)
    except NotFound:
        return None


def _same_request(placed: order_service.PlacedOrder, draft: CheckoutDraft) -> bool:
    """A retry of a checkout sends the same lines, vouchers and points; anything else under the same externalId
    is a different sale."""
    order = placed.order
    stored_lines = [(line.sku, Decimal(line.quantity) / 1000, line.unit_price) for line in order.lines]
    asked_lines = [(line.sku, line.quantity, line.unit_price) for line in draft.basket.lines]
    stored_codes = sorted(d["code"] for d in order.applied_discounts if d.get("source") == "VOUCHER" and d.get("code"))
    asked_points = draft.basket.points_to_spend
    return (
        order.checkout
        and stored_lines[: len(asked_lines)] == asked_lines
        # Beyond the lines asked for, only items a discount added (priced through addItems) may follow.
        and all(sku in draft.basket.add_items for sku, _, _ in stored_lines[len(asked_lines) :])
        and stored_codes == sorted(set(draft.basket.voucher_codes))
        and (order.points_spent == asked_points or (asked_points > order.points_spent and order.totals.total == 0))
    )


async def _replay(tx: Tx, tenant_id: uuid.UUID, placed: order_service.PlacedOrder, draft: CheckoutDraft) -> Receipt:
    if not _same_request(placed, draft):
        raise Conflict("An order with this externalId exists with a different content.", code="ORDER_CONFLICT")
    return await _receipt(tx, tenant_id, placed.order.order_id, replayed=True)


async def _receipt(tx: Tx, tenant_id: uuid.UUID, order_id: uuid.UUID, *, replayed: bool) -> Receipt:
    placed = await order_service.get_order(tx, tenant_id, str(order_id))
    return await _receipt_of(tx, tenant_id, placed, replayed=replayed)


async def _receipt_of(
    tx: Tx,
    tenant_id: uuid.UUID,
    placed: order_service.PlacedOrder,
    *,
    replayed: bool = False,
    balance: int | None = None,
) -> Receipt:
    """The receipt of a checkout; ``balance`` is the member's balance when the caller already knows it."""
    if balance is None and placed.order.member_id is not None:
        balance = (await point_service.get_account(tx, tenant_id, placed.order.member_id)).balance
    return Receipt(placed=order_service.PlacedOrder(placed.order, placed.event, replayed=replayed), balance=balance)


async def void_checkout(tx: Tx, tenant_id: uuid.UUID, identifier: str, *, actor: str) -> Receipt:
    """Undo a checkout within 24 hours: the earn reversed and the spent points returned (a full refund of what
    remains), the vouchers restored. Voiding again is 409 ``ALREADY_VOIDED``."""
    placed = await order_service.get_order(tx, tenant_id, identifier)
    order = placed.order
    if not order.checkout:
        raise Conflict("Only a checkout can be voided; refund an order instead.", code="NOT_A_CHECKOUT")
    moment = now()
    marked = await tx.execute(
        update(orders)
        .where(orders.c.tenant_id == tenant_id, orders.c.order_id == order.order_id, orders.c.voided_at.is_(None))
        .values(voided_at=moment)
    )
    if not marked.rowcount:
        raise Conflict("This checkout was already voided.", code="ALREADY_VOIDED")
    if moment - order.created_at > VOID_WINDOW:
        raise Refused("A checkout can be voided only within 24 hours.", code="VOID_WINDOW_PASSED")
    # What remains is every line not yet fully refunded — by quantity, not value: a line a discount or points paid
    # in full is worth nothing yet remains, and a sale already refunded in full has nothing left to refund.
    if any(line.refunded_quantity < line.quantity for line in order.lines):
        await order_service.refund_order(
            tx,
            tenant_id,
            str(order.order_id),
            order_service.RefundDraft(external_id=f"void:{order.order_id}", reason="checkout voided"),
            actor=actor,
        )
    for benefit_id in order.burned_benefit_ids:
        assert order.member_id is not None
        await benefit_service.restore_voucher(
            tx,
            tenant_id,
            uuid.UUID(benefit_id),
            member_id=order.member_id,
            order_id=order.order_id,
            reason=f"checkout {order.external_id} voided",
            actor=actor,
        )
    return await _receipt(tx, tenant_id, order.order_id, replayed=False)
