"""Orders and refunds on the wire (contract §5.1, §5.2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, StrictInt, StringConstraints, model_validator

from loyalty.api.models.common import JsonObject, RequestModel, ResponseModel, Timestamp
from loyalty.api.models.events import ReactionOut
from loyalty.domain.orders import (
    MAX_MINOR_UNITS,
    Allocation,
    AppliedDiscount,
    Channel,
    MemberField,
    MemberReference,
    OrderDraft,
    OrderLine,
    OrderStatus,
    OrderTotals,
    Payment,
    RefundRequestLine,
    VenueField,
    VenueReference,
    json_number,
    quantity_units,
    units_quantity,
)
from loyalty.services.events import StoredEvent
from loyalty.services.orders import Order, PlacedOrder, RecordedRefund, RefundDraft, RefundSummary, StoredLine

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Minor = Annotated[StrictInt, Field(ge=0, le=MAX_MINOR_UNITS)]
Quantity = Annotated[
    Decimal,
    Field(gt=0, le=1_000_000, decimal_places=3, description="Greater than 0, at most 3 decimals (weighed goods)."),
]
Kind = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Submitter(RequestModel):
    """Exactly one member identifier."""

    id: Identifier | None = None
    account_number: Identifier | None = None
    auth_identifier: Identifier | None = None
    external_identifier: Identifier | None = None

    @model_validator(mode="after")
    def _one(self) -> Submitter:
        if len(self.model_fields_set) != 1 or None in (getattr(self, name) for name in self.model_fields_set):
            raise ValueError(
                "name the member with exactly one of id, accountNumber, authIdentifier, externalIdentifier"
            )
        return self

    def reference(self) -> MemberReference:
        name = next(iter(self.model_fields_set))
        field = type(self).model_fields[name].alias or name
        return MemberReference(MemberField(field), str(getattr(self, name)))


class VenueIn(RequestModel):
    """Exactly one of the venue's id or its externalIdentifier (the store number)."""

    id: Identifier | None = None
    external_identifier: Identifier | None = None

    @model_validator(mode="after")
    def _one(self) -> VenueIn:
        if len(self.model_fields_set) != 1 or None in (getattr(self, name) for name in self.model_fields_set):
            raise ValueError("name the venue with exactly one of id, externalIdentifier")
        return self

    def reference(self) -> VenueReference:
        if self.id is not None:
            return VenueReference(VenueField.ID, self.id)
        assert self.external_identifier is not None
        return VenueReference(VenueField.EXTERNAL_IDENTIFIER, self.external_identifier)


class LineItemIn(RequestModel):
    sku: Sku
    name: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    category: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    quantity: Quantity
    unit_price: Minor = Field(description="Minor units per unit.")
    discount: Minor = Field(default=0, description="Minor units taken off this line (its share of every discount).")
    total: Minor = Field(description="round_half_up(quantity × unitPrice) − discount.")


class TotalsIn(RequestModel):
    subtotal: Minor = Field(description="Σ round_half_up(quantity × unitPrice).")
    discount: Minor = Field(default=0, description="Σ line discounts.")
    tax: Minor = Field(default=0, description="Informational.")
    total: Minor = Field(description="subtotal − discount.")


class AllocationIn(RequestModel):
    line_index: Annotated[StrictInt, Field(ge=0, lt=500)]
    amount: Minor


class AppliedDiscountIn(RequestModel):
    source: Kind = Field(description="Where the discount came from: OFFER, VOUCHER, POINTS, MANUAL, …")
    reward_id: Reference | None = None
    benefit_id: Reference | None = None
    code: Reference | None = None
    discount_id: Reference | None = None
    points: Annotated[StrictInt, Field(ge=0, le=MAX_MINOR_UNITS)] | None = Field(
        default=None, description="For source POINTS: the points spent."
    )
    amount: Minor
    allocations: list[AllocationIn] = Field(default_factory=list, max_length=500)


class PaymentIn(RequestModel):
    type: Kind = Field(description="CARD, CASH, GIFT_CARD, …")
    amount: Minor


class OrderDefinition(RequestModel):
    external_id: ExternalId = Field(description="The till's transaction id; one order per value in the tenant.")
    submitter: Submitter | None = Field(default=None, description="The member; omit for a non-member sale.")
    venue: VenueIn | None = None
    channel: Channel = Channel.IN_STORE
    occurred_at: AwareDatetime | None = Field(default=None, description="ISO 8601 with offset; defaults to now.")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 4217; must be the program's baseCurrency."
    )
    line_items: list[LineItemIn] = Field(min_length=1, max_length=500)
    totals: TotalsIn
    applied_discounts: list[AppliedDiscountIn] = Field(default_factory=list, max_length=100)
    payments: list[PaymentIn] = Field(default_factory=list, max_length=50)
    metadata: JsonObject = Field(default_factory=dict, description="Free-form (till, cashier); no personal data.")

    def draft(self) -> OrderDraft:
        return OrderDraft(
            external_id=self.external_id,
            submitter=self.submitter.reference() if self.submitter is not None else None,
            venue=self.venue.reference() if self.venue is not None else None,
            channel=self.channel,
            occurred_at=self.occurred_at,
            currency=self.currency,
            lines=tuple(
                OrderLine(
                    sku=line.sku,
                    name=line.name,
                    category=line.category,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount=line.discount,
                    total=line.total,
                )
                for line in self.line_items
            ),
            totals=OrderTotals(
                subtotal=self.totals.subtotal,
                discount=self.totals.discount,
                tax=self.totals.tax,
                total=self.totals.total,
            ),
            applied_discounts=tuple(
                AppliedDiscount(
                    source=d.source,
                    amount=d.amount,
                    reward_id=d.reward_id,
                    benefit_id=d.benefit_id,
                    code=d.code,
                    discount_id=d.discount_id,
                    points=d.points,
                    allocations=tuple(Allocation(a.line_index, a.amount) for a in d.allocations),
                )
                for d in self.applied_discounts
            ),
            payments=tuple(Payment(type=p.type, amount=p.amount) for p in self.payments),
            metadata=self.metadata,
        )


class RefundLineIn(RequestModel):
    sku: Sku
    quantity: Quantity


class RefundDefinition(RequestModel):
    external_id: ExternalId = Field(description="The till's refund id; one refund per value for an order.")
    line_items: list[RefundLineIn] | None = Field(
        default=None, min_length=1, max_length=500, description="What is refunded; omit to refund all that remains."
    )
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None

    def draft(self) -> RefundDraft:
        lines = (
            None
            if self.line_items is None
            else tuple(
                RefundRequestLine(item.sku, quantity_units(item.quantity, f"lineItems[{index}].quantity"))
                for index, item in enumerate(self.line_items)
            )
        )
        return RefundDraft(external_id=self.external_id, lines=lines, reason=self.reason)


# ---- answers ----


class OrderUser(ResponseModel):
    id: str
    account_number: str | None


class OrderVenue(ResponseModel):
    id: str
    external_identifier: str | None


class LineItemOut(ResponseModel):
    sku: str
    name: str | None
    category: str | None
    quantity: int | float
    unit_price: int
    discount: int
    total: int
    refunded_quantity: int | float

    @classmethod
    def of(cls, line: StoredLine) -> LineItemOut:
        return cls(
            sku=line.sku,
            name=line.name,
            category=line.category,
            quantity=json_number(units_quantity(line.quantity)),
            unit_price=line.unit_price,
            discount=line.discount,
            total=line.total,
            refunded_quantity=json_number(units_quantity(line.refunded_quantity)),
        )


class TotalsOut(ResponseModel):
    subtotal: int
    discount: int
    tax: int
    total: int


class OrderEventOut(ResponseModel):
    id: str
    reactions: list[ReactionOut]

    @classmethod
    def of(cls, event: StoredEvent | None) -> OrderEventOut | None:
        if event is None:
            return None
        return cls(id=str(event.event_id), reactions=[ReactionOut.of(r) for r in event.reactions])


class RefundSummaryOut(ResponseModel):
    id: str
    external_id: str
    value: int
    points_reversed: int
    points_returned: int
    reason: str | None
    created_at: Timestamp

    @classmethod
    def of(cls, refund: RefundSummary) -> RefundSummaryOut:
        return cls(
            id=str(refund.refund_id),
            external_id=refund.external_id,
            value=refund.value,
            points_reversed=refund.points_reversed,
            points_returned=refund.points_returned,
            reason=refund.reason,
            created_at=refund.created_at,
        )


class OrderOut(ResponseModel):
    id: str
    external_id: str
    status: OrderStatus
    user: OrderUser | None = Field(description="The member; null for a non-member sale.")
    venue: OrderVenue | None
    channel: Channel
    occurred_at: Timestamp
    currency: str
    line_items: list[LineItemOut]
    totals: TotalsOut
    applied_discounts: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    metadata: dict[str, Any]
    event: OrderEventOut | None = Field(description="The ORDER_PLACED event and its reactions; null for non-members.")
    points_earned: int = Field(description="Points the ORDER_PLACED event earned the member.")
    points_spent: int = Field(description="Points spent on the order at a checkout.")
    refunded_value: int = Field(description="Minor units refunded so far.")
    points_reversed: int = Field(description="Earned points taken back by refunds so far.")
    refunds: list[RefundSummaryOut]
    voided_at: Timestamp | None = Field(default=None, description="When the checkout was voided; null otherwise.")
    created_at: Timestamp

    @classmethod
    def fields_of(cls, placed: PlacedOrder) -> dict[str, Any]:
        order: Order = placed.order
        return {
            "id": str(order.order_id),
            "external_id": order.external_id,
            "status": order.status,
            "user": OrderUser(id=str(order.member_id), account_number=order.account_number)
            if order.member_id
            else None,
            "venue": OrderVenue(id=str(order.venue_id), external_identifier=order.venue_external_identifier)
            if order.venue_id
            else None,
            "channel": order.channel,
            "occurred_at": order.occurred_at,
            "currency": order.currency,
            "line_items": [LineItemOut.of(line) for line in order.lines],
            "totals": TotalsOut(**vars(order.totals)),
            "applied_discounts": order.applied_discounts,
            "payments": order.payments,
            "metadata": order.metadata,
            "event": OrderEventOut.of(placed.event),
            "points_earned": order.points_earned,
            "points_spent": order.points_spent,
            "refunded_value": order.refunded_value,
            "points_reversed": order.points_reversed,
            "refunds": [RefundSummaryOut.of(r) for r in order.refunds],
            "voided_at": order.voided_at,
            "created_at": order.created_at,
        }

    @classmethod
    def of(cls, placed: PlacedOrder) -> OrderOut:
        return cls(**cls.fields_of(placed))


class PlacedOrderOut(OrderOut):
    replayed: bool = Field(description="True when this answers a retry with the order already placed.")

    @classmethod
    def placed(cls, placed: PlacedOrder) -> PlacedOrderOut:
        return cls(**cls.fields_of(placed), replayed=placed.replayed)


class RefundedLineOut(ResponseModel):
    line_index: int
    sku: str
    quantity: int | float
    value: int = Field(description="Minor units: this line's share of the refund.")


class RefundOut(ResponseModel):
    id: str
    external_id: str
    order_id: str
    order_external_id: str
    order_status: OrderStatus
    currency: str
    reason: str | None
    value: int = Field(description="Minor units refunded, from the order's own lines.")
    points_reversed: int = Field(description="Earned points this refund took back.")
    points_returned: int = Field(description="Spent points this refund gave back.")
    line_items: list[RefundedLineOut]
    event: OrderEventOut | None = Field(description="The ORDER_REFUNDED event; null for non-member orders.")
    created_at: Timestamp
    replayed: bool

    @classmethod
    def of(cls, refund: RecordedRefund) -> RefundOut:
        return cls(
            id=str(refund.refund_id),
            external_id=refund.external_id,
            order_id=str(refund.order_id),
            order_external_id=refund.order_external_id,
            order_status=refund.order_status,
            currency=refund.currency,
            reason=refund.reason,
            value=refund.value,
            points_reversed=refund.points_reversed,
            points_returned=refund.points_returned,
            line_items=[
                RefundedLineOut(
                    line_index=line.index,
                    sku=line.sku,
                    quantity=json_number(units_quantity(line.quantity)),
                    value=line.value,
                )
                for line in refund.lines
            ],
            event=OrderEventOut.of(refund.event),
            created_at=refund.created_at,
            replayed=refund.replayed,
        )
