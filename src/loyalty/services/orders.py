"""Orders and refunds: place a sale, read orders, refund them.

Placing an order is one transaction: the order and its lines are stored and, for a member sale, ``ORDER_PLACED``
is emitted so the program's reactors (the core earn, bonuses, badges) run in the same commit. The till's
``externalId`` is a unique key per tenant: a retry with the same body is answered with the stored order
(``replayed``), nothing runs twice, and of many concurrent posts of one sale exactly one inserts — on PostgreSQL
the others wait on the unique key and then read the winner.

A refund locks its order row first, so refunds of one order run one after the other, and every quantity it takes
is also a conditional update (``… WHERE refunded_quantity + :q <= quantity``). What it is worth, and the points
it reverses and gives back, come from the order's own lines and running totals (see ``domain/orders.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, select, update

from loyalty.domain.errors import InvalidInput, MemberNotFound, NotFound
from loyalty.domain.ledger import BalanceChange, EntryKind, Impact, LiabilityPolicy, SourceType
from loyalty.domain.members import Member
from loyalty.domain.orders import (
    AppliedDiscount,
    Channel,
    CurrencyMismatch,
    MemberField,
    MemberReference,
    OrderConflict,
    OrderDraft,
    OrderLine,
    OrderNotFound,
    OrderStatus,
    OrderTotals,
    Payment,
    RefundableLine,
    RefundConflict,
    RefundExceedsOrder,
    RefundPart,
    RefundPoints,
    RefundRequestLine,
    VenueField,
    VenueReference,
    allocate_refund,
    check_order,
    json_number,
    line_value,
    major_units,
    order_fingerprint,
    quantity_units,
    refund_fingerprint,
    refund_points,
    units_quantity,
)
from loyalty.domain.reactors import ReactionStatus, ReactionType
from loyalty.domain.timestamps import iso
from loyalty.services import benefits as benefit_service
from loyalty.services import events
from loyalty.services import members as member_service
from loyalty.services import points as point_service
from loyalty.services import settings as settings_service
from loyalty.services import venues as venue_service
from loyalty.services.clock import now
from loyalty.storage.database import Tx
from loyalty.storage.sql import ignoring_conflicts, storable
from loyalty.storage.tables import members, order_lines, orders, refund_lines, refunds, venues

__all__ = [
    "AppliedDiscount",
    "Channel",
    "MemberField",
    "MemberReference",
    "Order",
    "OrderDraft",
    "OrderFilter",
    "OrderLine",
    "OrderTotals",
    "Payment",
    "PlacedOrder",
    "RecordedRefund",
    "RefundDraft",
    "RefundRequestLine",
    "VenueField",
    "VenueReference",
    "get_order",
    "list_orders",
    "place_order",
    "refund_order",
    "with_stored_event",
]


@dataclass(frozen=True)
class StoredLine:
    index: int
    sku: str
    name: str | None
    category: str | None
    quantity: int  # thousandths
    unit_price: int
    discount: int
    total: int
    refunded_quantity: int  # thousandths


@dataclass(frozen=True)
class RefundSummary:
    refund_id: uuid.UUID
    external_id: str
    value: int
    points_reversed: int
    points_returned: int
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class Order:
    order_id: uuid.UUID
    external_id: str
    status: OrderStatus
    member_id: uuid.UUID | None
    account_number: str | None
    venue_id: uuid.UUID | None
    venue_external_identifier: str | None
    channel: Channel
    occurred_at: datetime
    currency: str
    lines: tuple[StoredLine, ...]
    totals: OrderTotals
    applied_discounts: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    metadata: dict[str, Any]
    event_id: uuid.UUID | None
    points_earned: int
    points_spent: int
    points_spent_value: int
    burned_benefit_ids: list[str]
    checkout: bool
    voided_at: datetime | None
    refunded_value: int
    points_reversed: int
    points_returned: int
    refunds: tuple[RefundSummary, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PlacedOrder:
    """An order with the outcome of its ``ORDER_PLACED`` event (none for a non-member sale)."""

    order: Order
    event: events.StoredEvent | None
    replayed: bool = False

    @property
    def points_earned(self) -> int:
        return self.order.points_earned


@dataclass(frozen=True)
class OrderFilter:
    member_id: uuid.UUID | None = None
    venue_id: uuid.UUID | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


@dataclass(frozen=True)
class RefundDraft:
    external_id: str
    lines: tuple[RefundRequestLine, ...] | None = None  # None: everything that remains
    reason: str | None = None


@dataclass(frozen=True)
class RefundedLine:
    index: int
    sku: str
    quantity: int  # thousandths
    value: int


@dataclass(frozen=True)
class RecordedRefund:
    refund_id: uuid.UUID
    external_id: str
    order_id: uuid.UUID
    order_external_id: str
    order_status: OrderStatus
    currency: str
    reason: str | None
    value: int
    points_reversed: int
    points_returned: int
    lines: tuple[RefundedLine, ...]
    event: events.StoredEvent | None
    created_at: datetime
    replayed: bool = False


# ---- placing an order ----


async def place_order(tx: Tx, tenant_id: uuid.UUID, draft: OrderDraft, *, actor: str) -> PlacedOrder:
    """Store a sale and, for a member, emit ``ORDER_PLACED`` so reactors run in this transaction.

    The same ``externalId`` with the same body answers the stored order (``replayed``); with another body, 409
    ``ORDER_CONFLICT``. A checkout calls this inside its own transaction, with the points it spent on the order.
    """
    check_order(draft)
    fingerprint = order_fingerprint(draft)
    stored = await _replay(tx, tenant_id, draft.external_id, fingerprint)
    if stored is not None:
        return stored
    base_currency = (await settings_service.get_settings(tx, tenant_id)).base_currency
    if draft.currency != base_currency:
        raise CurrencyMismatch(draft.currency, base_currency)
    member = await _submitter(tx, tenant_id, draft.submitter)
    venue = await _venue(tx, tenant_id, draft.venue)
    venue_id = venue.venue_id if venue is not None else None
    order_id = uuid.uuid4()
    event_id = uuid.uuid4() if member is not None else None
    moment = now()
    inserted = (
        await tx.execute(
            ignoring_conflicts(tx, orders, returning=True),
            dict(
                tenant_id=tenant_id,
                order_id=order_id,
                external_id=draft.external_id,
                fingerprint=fingerprint,
                member_id=member.member_id if member is not None else None,
                venue_id=venue_id,
                channel=draft.channel.value,
                status=OrderStatus.PLACED.value,
                occurred_at=draft.occurred_at or moment,
                currency=draft.currency,
                subtotal=draft.totals.subtotal,
                discount=draft.totals.discount,
                tax=draft.totals.tax,
                total=draft.totals.total,
                applied_discounts=[d.document() for d in draft.applied_discounts],
                payments=[p.document() for p in draft.payments],
                order_metadata=dict(draft.metadata),
                event_id=event_id,
                points_spent=draft.points_spent,
                points_spent_value=draft.points_spent_value,
                burned_benefit_ids=list(draft.burned_benefit_ids),
                checkout=draft.checkout,
                created_at=moment,
                updated_at=moment,
            ),
        )
    ).first()
    if inserted is None:
        # Another transaction placed this externalId first (on PostgreSQL this insert waited for it to commit).
        stored = await _replay(tx, tenant_id, draft.external_id, fingerprint)
        if stored is None:
            raise AssertionError("an order's externalId conflicted but no order holds it")
        return stored
    line_rows = await tx.execute(
        order_lines.insert().returning(*order_lines.c),
        [
            {
                "tenant_id": tenant_id,
                "order_id": order_id,
                "line_index": index,
                "sku": line.sku,
                "name": line.name,
                "category": line.category,
                "quantity": quantity_units(line.quantity),
                "unit_price": line.unit_price,
                "discount": line.discount,
                "total": line.total,
            }
            for index, line in enumerate(draft.lines)
        ],
    )
    # The order as _load would read it, without reading it back: both inserts answered the rows as stored
    # (RETURNING, server defaults included), what _load joins in was read above in this transaction (the member's
    # account number, the venue's external identifier), and a new order has no refunds.
    stored_lines = sorted((_stored_line(r) for r in line_rows), key=lambda line: line.index)
    joined = SimpleNamespace(
        **inserted._mapping,
        account_number=member.account_number if member is not None else None,
        venue_external_identifier=venue.external_identifier if venue is not None else None,
    )
    order = _order(joined, stored_lines, ())
    used = vouchers_used(draft.burned_benefit_ids, [d.document() for d in draft.applied_discounts])
    await benefit_service.link_burns_to_order(tx, tenant_id, used, order_id)
    if member is None or event_id is None:
        return PlacedOrder(order, None)
    event = await events.emit(
        tx,
        tenant_id,
        events.IntrinsicEvent.ORDER_PLACED,
        subject=member,
        payload=placed_payload(order),
        executor=actor,
        event_id=event_id,
    )
    # What the event's POINTS reactions gave (spendable or pending), straight from their outcomes.
    earned = sum(
        r.points or 0
        for r in event.reactions
        if r.type == ReactionType.POINTS.value and r.status is ReactionStatus.APPLIED and (r.points or 0) > 0
    )
    if earned:
        await tx.execute(
            update(orders)
            .where(orders.c.tenant_id == tenant_id, orders.c.order_id == order_id)
            .values(points_earned=earned)
        )
        order = replace(order, points_earned=earned)
    return PlacedOrder(order, event)


def placed_payload(order: Order) -> dict[str, Any]:
    """``ORDER_PLACED``'s payload: the order without personal data (the member is the event's subject), plus the
    fields rules use — ``totalSpend`` in major units, so ``$.totalSpend × 1`` is a point per pound."""
    quantities = sum((units_quantity(line.quantity) for line in order.lines), units_quantity(0))
    return {
        "orderId": str(order.order_id),
        "externalId": order.external_id,
        "channel": order.channel.value,
        "occurredAt": iso(order.occurred_at),
        "currency": order.currency,
        "venue": order.venue_external_identifier,
        "venueId": str(order.venue_id) if order.venue_id else None,
        "totalSpend": json_number(major_units(order.totals.total, order.currency)),
        "totalSpendMinor": order.totals.total,
        "itemCount": json_number(quantities),
        "skus": list(dict.fromkeys(line.sku for line in order.lines)),
        "categories": list(dict.fromkeys(line.category for line in order.lines if line.category)),
        "lineItems": [_line_document(line) for line in order.lines],
        "totals": _totals_document(order.totals),
        "appliedDiscounts": order.applied_discounts,
        "payments": order.payments,
        "metadata": order.metadata,
        "checkout": order.checkout,
        "pointsSpent": order.points_spent,
    }


def _line_document(line: StoredLine) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "name": line.name,
        "category": line.category,
        "quantity": json_number(units_quantity(line.quantity)),
        "unitPrice": line.unit_price,
        "discount": line.discount,
        "total": line.total,
    }


def _totals_document(totals: OrderTotals) -> dict[str, int]:
    return {"subtotal": totals.subtotal, "discount": totals.discount, "tax": totals.tax, "total": totals.total}


async def _replay(tx: Tx, tenant_id: uuid.UUID, external_id: str, fingerprint: str) -> PlacedOrder | None:
    row = (
        await tx.execute(
            select(orders.c.order_id, orders.c.fingerprint).where(
                orders.c.tenant_id == tenant_id, orders.c.external_id == external_id
            )
        )
    ).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise OrderConflict(external_id, str(row.order_id))
    order = await _load(tx, tenant_id, row.order_id)
    return PlacedOrder(order, await _event(tx, tenant_id, order.event_id), replayed=True)


async def _submitter(tx: Tx, tenant_id: uuid.UUID, reference: MemberReference | None) -> Member | None:
    """The member the order names by one identifier field (404 ``USER_NOT_FOUND`` when none has it)."""
    if reference is None:
        return None
    value = reference.value.strip()
    if reference.field is MemberField.ID:
        try:
            return await member_service.get_member(tx, tenant_id, uuid.UUID(value))
        except ValueError as error:
            raise MemberNotFound(reference.value) from error
    if reference.field is MemberField.AUTH_IDENTIFIER:
        return await member_service.find_by_auth_identifier(tx, tenant_id, value)
    column = (
        members.c.account_number if reference.field is MemberField.ACCOUNT_NUMBER else members.c.external_identifier
    )
    # One query for the member row (the column is unique), not its id and then the row.
    member = await member_service.find_open_member(tx, tenant_id, column, value)
    if member is None:
        raise MemberNotFound(reference.value)
    return member


async def _venue(tx: Tx, tenant_id: uuid.UUID, reference: VenueReference | None) -> venue_service.Venue | None:
    """The live venue the order names; an unknown one is a bad order (400 ``VENUE_NOT_FOUND``)."""
    if reference is None:
        return None
    field = f"venue.{reference.field.value}"
    try:
        venue = await venue_service.resolve_venue(tx, tenant_id, reference.value)
    except NotFound:
        venue = None
    if venue is not None and (
        str(venue.venue_id) == reference.value.strip().lower()
        if reference.field is VenueField.ID
        else venue.external_identifier == reference.value.strip()
    ):
        return venue
    raise InvalidInput(
        f"No venue has this {reference.field.value}.",
        code="VENUE_NOT_FOUND",
        field=field,
        errors=[{"field": field, "message": "no live venue has this value"}],
    )


async def _event(tx: Tx, tenant_id: uuid.UUID, event_id: uuid.UUID | None) -> events.StoredEvent | None:
    if event_id is None:
        return None
    try:
        return await events.get_event(tx, tenant_id, event_id)
    except NotFound:
        return None


# ---- reading orders ----


def _order_query() -> Any:
    return select(
        orders,
        members.c.account_number,
        venues.c.external_identifier.label("venue_external_identifier"),
    ).select_from(
        orders.outerjoin(
            members, and_(members.c.tenant_id == orders.c.tenant_id, members.c.member_id == orders.c.member_id)
        ).outerjoin(venues, and_(venues.c.tenant_id == orders.c.tenant_id, venues.c.venue_id == orders.c.venue_id))
    )


def _order(row: Any, lines: Sequence[StoredLine], refund_rows: Sequence[RefundSummary]) -> Order:
    return Order(
        order_id=row.order_id,
        external_id=row.external_id,
        status=OrderStatus(row.status),
        member_id=row.member_id,
        account_number=row.account_number,
        venue_id=row.venue_id,
        venue_external_identifier=row.venue_external_identifier,
        channel=Channel(row.channel),
        occurred_at=row.occurred_at,
        currency=row.currency,
        lines=tuple(lines),
        totals=OrderTotals(subtotal=row.subtotal, discount=row.discount, tax=row.tax, total=row.total),
        applied_discounts=list(row.applied_discounts),
        payments=list(row.payments),
        metadata=dict(row.order_metadata),
        event_id=row.event_id,
        points_earned=row.points_earned,
        points_spent=row.points_spent,
        points_spent_value=row.points_spent_value,
        burned_benefit_ids=list(row.burned_benefit_ids),
        checkout=row.checkout,
        voided_at=row.voided_at,
        refunded_value=row.refunded_value,
        points_reversed=row.points_reversed,
        points_returned=row.points_returned,
        refunds=tuple(refund_rows),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _stored_line(row: Any) -> StoredLine:
    return StoredLine(
        index=row.line_index,
        sku=row.sku,
        name=row.name,
        category=row.category,
        quantity=row.quantity,
        unit_price=row.unit_price,
        discount=row.discount,
        total=row.total,
        refunded_quantity=row.refunded_quantity,
    )


async def _hydrate(tx: Tx, tenant_id: uuid.UUID, rows: Sequence[Any]) -> list[Order]:
    """Orders with their lines and refunds, two queries for any number of orders."""
    ids = [row.order_id for row in rows]
    if not ids:
        return []
    lines: dict[uuid.UUID, list[StoredLine]] = {order_id: [] for order_id in ids}
    for line in await tx.execute(
        select(order_lines)
        .where(order_lines.c.tenant_id == tenant_id, order_lines.c.order_id.in_(ids))
        .order_by(order_lines.c.order_id, order_lines.c.line_index)
    ):
        lines[line.order_id].append(_stored_line(line))
    found: dict[uuid.UUID, list[RefundSummary]] = {order_id: [] for order_id in ids}
    for refund in await tx.execute(
        select(refunds)
        .where(refunds.c.tenant_id == tenant_id, refunds.c.order_id.in_(ids))
        .order_by(refunds.c.created_at, refunds.c.refund_id)
    ):
        found[refund.order_id].append(
            RefundSummary(
                refund_id=refund.refund_id,
                external_id=refund.external_id,
                value=refund.value,
                points_reversed=refund.points_reversed,
                points_returned=refund.points_returned,
                reason=refund.reason,
                created_at=refund.created_at,
            )
        )
    return [_order(row, lines[row.order_id], found[row.order_id]) for row in rows]


async def _load(tx: Tx, tenant_id: uuid.UUID, order_id: uuid.UUID) -> Order:
    row = (await tx.execute(_order_query().where(orders.c.tenant_id == tenant_id, orders.c.order_id == order_id))).one()
    return (await _hydrate(tx, tenant_id, [row]))[0]


def _named(tenant_id: uuid.UUID, identifier: str) -> list[ColumnElement[bool]]:
    """Conditions finding the order an identifier names: its id, else its externalId."""
    text = identifier.strip()
    try:
        order_id: uuid.UUID | None = uuid.UUID(text)
    except ValueError:
        order_id = None
    named = orders.c.external_id == identifier if storable(identifier) else false()
    if order_id is not None:
        named = named | (orders.c.order_id == order_id)
    return [orders.c.tenant_id == tenant_id, named]


async def _find_order_id(tx: Tx, tenant_id: uuid.UUID, identifier: str) -> uuid.UUID:
    rows = (
        await tx.execute(select(orders.c.order_id, orders.c.external_id).where(*_named(tenant_id, identifier)))
    ).all()
    if not rows:
        raise OrderNotFound(identifier)
    # An id wins over an externalId that happens to look like one.
    by_id: list[uuid.UUID] = [r.order_id for r in rows if str(r.order_id) == identifier.strip().lower()]
    found: uuid.UUID = by_id[0] if by_id else rows[0].order_id
    return found


async def get_order(tx: Tx, tenant_id: uuid.UUID, identifier: str) -> PlacedOrder:
    """An order by its id or its externalId (404 ``ORDER_NOT_FOUND``), with its ORDER_PLACED outcome."""
    order = await _load(tx, tenant_id, await _find_order_id(tx, tenant_id, identifier))
    return await with_stored_event(tx, tenant_id, order)


async def with_stored_event(tx: Tx, tenant_id: uuid.UUID, order: Order) -> PlacedOrder:
    """``order`` with its ORDER_PLACED outcome as stored, as :func:`get_order` answers it."""
    return PlacedOrder(order, await _event(tx, tenant_id, order.event_id))


async def list_orders(
    tx: Tx, tenant_id: uuid.UUID, where: OrderFilter, *, limit: int, skip: int, ascending: bool
) -> tuple[list[PlacedOrder], int]:
    """Orders by creation time, filtered by member, venue and the time of the sale (``from`` ≤ occurredAt <
    ``to``)."""
    condition = orders.c.tenant_id == tenant_id
    if where.member_id is not None:
        condition = condition & (orders.c.member_id == where.member_id)
    if where.venue_id is not None:
        condition = condition & (orders.c.venue_id == where.venue_id)
    if where.occurred_from is not None:
        condition = condition & (orders.c.occurred_at >= where.occurred_from)
    if where.occurred_to is not None:
        condition = condition & (orders.c.occurred_at < where.occurred_to)
    total = (await tx.execute(select(func.count()).select_from(orders).where(condition))).scalar_one()
    ordering = (
        (orders.c.created_at.asc(), orders.c.order_id) if ascending else (orders.c.created_at.desc(), orders.c.order_id)
    )
    rows = (await tx.execute(_order_query().where(condition).order_by(*ordering).limit(limit).offset(skip))).all()
    found = await _hydrate(tx, tenant_id, rows)
    return [PlacedOrder(order, await _event(tx, tenant_id, order.event_id)) for order in found], int(total)


# ---- refunds ----


async def refund_order(
    tx: Tx, tenant_id: uuid.UUID, order_identifier: str, draft: RefundDraft, *, actor: str
) -> RecordedRefund:
    """Refund part or all of what remains of an order, reversing its points in proportion.

    The order row is locked first, so refunds of one order (and retries of one refund) run one after the other;
    a retry with the same ``externalId`` and body answers the stored refund (``replayed``) and moves nothing.
    """
    order_id = await _find_order_id(tx, tenant_id, order_identifier)
    row = (
        await tx.execute(
            select(orders).where(orders.c.tenant_id == tenant_id, orders.c.order_id == order_id).with_for_update()
        )
    ).one()
    fingerprint = refund_fingerprint(draft.lines, draft.reason)
    existing = (
        await tx.execute(
            select(refunds).where(
                refunds.c.tenant_id == tenant_id,
                refunds.c.order_id == order_id,
                refunds.c.external_id == draft.external_id,
            )
        )
    ).first()
    if existing is not None:
        if existing.fingerprint != fingerprint:
            raise RefundConflict(draft.external_id, str(existing.refund_id))
        return await _stored_refund(tx, tenant_id, existing)
    lines = [
        _stored_line(line)
        for line in await tx.execute(
            select(order_lines)
            .where(order_lines.c.tenant_id == tenant_id, order_lines.c.order_id == order_id)
            .order_by(order_lines.c.line_index)
        )
    ]
    parts = allocate_refund(
        [
            RefundableLine(
                index=line.index,
                sku=line.sku,
                quantity=line.quantity,
                refunded=line.refunded_quantity,
                total=line.total,
                value=line_value(units_quantity(line.quantity), line.unit_price),
            )
            for line in lines
        ],
        draft.lines,
    )
    for part in parts:
        await _take(tx, tenant_id, order_id, part)
    remaining = (
        await tx.execute(
            select(func.count()).where(
                order_lines.c.tenant_id == tenant_id,
                order_lines.c.order_id == order_id,
                order_lines.c.refunded_quantity < order_lines.c.quantity,
            )
        )
    ).scalar_one()
    fully_refunded = remaining == 0
    value = sum(part.value for part in parts)
    gross = sum(part.gross for part in parts)
    member = await _open_member(tx, tenant_id, row.member_id)
    points = (
        refund_points(
            total=row.total,
            subtotal=row.subtotal,
            earned=row.points_earned,
            already_reversed=row.points_reversed,
            refunded_value=row.refunded_value + value,
            spent=row.points_spent,
            already_returned=row.points_returned,
            refunded_gross=row.refunded_gross + gross,
            fully_refunded=fully_refunded,
        )
        if member is not None
        else RefundPoints(reversed=0, returned=0)
    )
    status = OrderStatus.REFUNDED if fully_refunded else OrderStatus.PARTIALLY_REFUNDED
    moment = now()
    await tx.execute(
        update(orders)
        .where(orders.c.tenant_id == tenant_id, orders.c.order_id == order_id)
        .values(
            status=status.value,
            refunded_value=orders.c.refunded_value + value,
            refunded_gross=orders.c.refunded_gross + gross,
            points_reversed=orders.c.points_reversed + points.reversed,
            points_returned=orders.c.points_returned + points.returned,
            updated_at=moment,
        )
    )
    refund_id = uuid.uuid4()
    event_id = uuid.uuid4() if member is not None else None
    await tx.execute(
        refunds.insert().values(
            tenant_id=tenant_id,
            refund_id=refund_id,
            order_id=order_id,
            external_id=draft.external_id,
            fingerprint=fingerprint,
            reason=draft.reason,
            value=value,
            points_reversed=points.reversed,
            points_returned=points.returned,
            event_id=event_id,
            actor=actor,
            created_at=moment,
        )
    )
    await tx.execute(
        refund_lines.insert(),
        [
            {
                "tenant_id": tenant_id,
                "refund_id": refund_id,
                "order_id": order_id,
                "line_index": part.index,
                "quantity": part.quantity,
                "value": part.value,
            }
            for part in parts
        ],
    )
    refunded = tuple(RefundedLine(part.index, part.sku, part.quantity, part.value) for part in parts)
    if fully_refunded and member is not None:
        await _restore_vouchers(tx, tenant_id, row, member.member_id, draft, actor)
    event = None
    if member is not None and event_id is not None:
        comment = f"Refund {draft.external_id} of order {row.external_id}"
        await _move_points(
            tx, tenant_id, member, refund_id, points, earned_by=row.event_id, comment=comment, actor=actor
        )
        event = await events.emit(
            tx,
            tenant_id,
            events.IntrinsicEvent.ORDER_REFUNDED,
            subject=member,
            payload={
                "orderId": str(order_id),
                "orderExternalId": row.external_id,
                "refundId": str(refund_id),
                "externalId": draft.external_id,
                "currency": row.currency,
                "refundedValue": json_number(major_units(value, row.currency)),
                "refundedValueMinor": value,
                "pointsReversed": points.reversed,
                "pointsReturned": points.returned,
                "orderStatus": status.value,
                "lineItems": [
                    {"sku": line.sku, "quantity": json_number(units_quantity(line.quantity)), "value": line.value}
                    for line in refunded
                ],
            },
            executor=actor,
            event_id=event_id,
        )
    return RecordedRefund(
        refund_id=refund_id,
        external_id=draft.external_id,
        order_id=order_id,
        order_external_id=row.external_id,
        order_status=status,
        currency=row.currency,
        reason=draft.reason,
        value=value,
        points_reversed=points.reversed,
        points_returned=points.returned,
        lines=refunded,
        event=event,
        created_at=moment,
    )


async def _restore_vouchers(
    tx: Tx, tenant_id: uuid.UUID, row: Any, member_id: uuid.UUID, draft: RefundDraft, actor: str
) -> None:
    """With the ``restoreVouchersOnRefund`` setting, a fully refunded order gives back the vouchers it used: those a
    checkout burned and those the till reported in ``appliedDiscounts``."""
    if not (await settings_service.get_settings(tx, tenant_id)).restore_vouchers_on_refund:
        return
    for benefit_id in vouchers_used(row.burned_benefit_ids, row.applied_discounts):
        try:
            parsed = uuid.UUID(str(benefit_id))
        except ValueError:
            continue
        await benefit_service.restore_voucher(
            tx,
            tenant_id,
            parsed,
            member_id=member_id,
            order_id=row.order_id,
            reason=f"refund {draft.external_id}",
            actor=actor,
        )


def vouchers_used(burned_benefit_ids: Iterable[str], applied_discounts: Iterable[Mapping[str, Any]]) -> list[str]:
    """The vouchers a sale used, once each: those its checkout burned and those the till reported as applied."""
    reported = [d["benefitId"] for d in applied_discounts if d.get("source") == "VOUCHER" and d.get("benefitId")]
    return list(dict.fromkeys([*burned_benefit_ids, *reported]))


async def _take(tx: Tx, tenant_id: uuid.UUID, order_id: uuid.UUID, part: RefundPart) -> None:
    """Take a refunded quantity from a line: one conditional update, so a line is never refunded beyond it."""
    line = order_lines.c
    taken = (
        await tx.execute(
            update(order_lines)
            .where(
                line.tenant_id == tenant_id,
                line.order_id == order_id,
                line.line_index == part.index,
                line.refunded_quantity + part.quantity <= line.quantity,
            )
            .values(refunded_quantity=line.refunded_quantity + part.quantity)
            .returning(line.refunded_quantity)
        )
    ).first()
    if taken is None:
        raise RefundExceedsOrder(
            "This refund takes more than remains of the order.", field="lineItems", sku=part.sku, remaining=0
        )


async def _open_member(tx: Tx, tenant_id: uuid.UUID, member_id: uuid.UUID | None) -> Member | None:
    """The order's member, unless it was a non-member sale or the account has been closed since."""
    if member_id is None:
        return None
    try:
        return await member_service.get_member(tx, tenant_id, member_id)
    except MemberNotFound:
        return None


async def _move_points(
    tx: Tx,
    tenant_id: uuid.UUID,
    member: Member,
    refund_id: uuid.UUID,
    points: RefundPoints,
    *,
    earned_by: uuid.UUID | None,
    comment: str,
    actor: str,
) -> None:
    """Reverse the earn (impact EARN, so lifetime earn goes down): points of the order still pending are cancelled
    first, the rest comes off the balance, which may go negative (a debt). Then give back spent points (impact
    NONE). Every entry names the refund as its source."""
    if points.reversed and earned_by is not None:
        await point_service.reverse_earn(
            tx,
            tenant_id,
            member.member_id,
            points.reversed,
            earned_by=earned_by,
            source_type=SourceType.REFUND,
            source_id=refund_id,
            comment=comment,
            actor=actor,
        )
    if points.returned:
        await point_service.apply_change(
            tx,
            tenant_id,
            member.member_id,
            BalanceChange(delta=points.returned, impact=Impact.NONE, policy=LiabilityPolicy.BYPASS),
            kind=EntryKind.REVERSAL,
            source_type=SourceType.REFUND,
            source_id=refund_id,
            comment=comment,
            actor=actor,
            cause="spent",
        )


async def _stored_refund(tx: Tx, tenant_id: uuid.UUID, row: Any) -> RecordedRefund:
    order = (
        await tx.execute(
            select(orders.c.external_id, orders.c.status, orders.c.currency).where(
                orders.c.tenant_id == tenant_id, orders.c.order_id == row.order_id
            )
        )
    ).one()
    skus = {
        line.line_index: line.sku
        for line in await tx.execute(
            select(order_lines.c.line_index, order_lines.c.sku).where(
                order_lines.c.tenant_id == tenant_id, order_lines.c.order_id == row.order_id
            )
        )
    }
    refunded = tuple(
        RefundedLine(line.line_index, skus[line.line_index], line.quantity, line.value)
        for line in await tx.execute(
            select(refund_lines)
            .where(refund_lines.c.tenant_id == tenant_id, refund_lines.c.refund_id == row.refund_id)
            .order_by(refund_lines.c.line_index)
        )
    )
    return RecordedRefund(
        refund_id=row.refund_id,
        external_id=row.external_id,
        order_id=row.order_id,
        order_external_id=order.external_id,
        order_status=OrderStatus(order.status),
        currency=order.currency,
        reason=row.reason,
        value=row.value,
        points_reversed=row.points_reversed,
        points_returned=row.points_returned,
        lines=refunded,
        event=await _event(tx, tenant_id, row.event_id),
        created_at=row.created_at,
        replayed=True,
    )
