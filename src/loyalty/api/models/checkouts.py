"""Basket pricing and checkout on the wire."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from loyalty.api.models.common import JsonObject, RequestModel, ResponseModel
from loyalty.api.models.orders import PlacedOrderOut
from loyalty.domain.pricing import PricingResult
from loyalty.services.checkouts import Receipt

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class BasketLineIn(RequestModel):
    sku: Sku
    name: Annotated[str, StringConstraints(max_length=512)] | None = None
    category: Annotated[str, StringConstraints(max_length=256)] | None = None
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=3, description="Decimal for weighed goods.")
    unit_price: int = Field(ge=0, le=10**12, description="Minor units.")


class PaymentIn(RequestModel):
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    amount: int = Field(ge=0, le=10**12)


class BasketBody(RequestModel):
    user: Identifier | None = Field(default=None, description="The member (any identifier); omit for no member.")
    venue: Identifier | None = Field(default=None, description="Venue id or externalIdentifier (store number).")
    channel: Literal["IN_STORE", "ONLINE"] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    line_items: list[BasketLineIn] = Field(min_length=1, max_length=500)
    voucher_codes: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(
        default_factory=list, max_length=50
    )
    points_to_spend: int = Field(default=0, ge=0, le=1_000_000_000)
    add_items: dict[Sku, Annotated[int, Field(ge=0, le=10**12)]] = Field(
        default_factory=dict, description="Prices of items a discount may add to the basket (its `sku`)."
    )


class CheckoutBody(BasketBody):
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    payments: list[PaymentIn] = Field(default_factory=list, max_length=50)
    metadata: JsonObject = Field(default_factory=dict)
    occurred_at: AwareDatetime | None = None


class PricedLineOut(ResponseModel):
    index: int
    sku: str
    quantity: Decimal
    unit_price: int
    subtotal: int
    discount: int
    total: int


class AllocationOut(ResponseModel):
    line_index: int
    amount: int


class AppliedDiscountOut(ResponseModel):
    source: str = Field(description="OFFER, VOUCHER or POINTS.")
    reward_id: str | None
    discount_id: str | None
    benefit_id: str | None
    code: str | None
    amount: int
    allocations: list[AllocationOut]


class RejectedOut(ResponseModel):
    code: str | None = Field(description="The voucher code; null for an offer.")
    reward_id: str | None
    benefit_id: str | None
    reason: str = Field(description="The validate_voucher error code, or why the discount does not apply.")


class BasketTotals(ResponseModel):
    subtotal: int
    discount: int
    total: int


class PricedBasketOut(ResponseModel):
    line_items: list[PricedLineOut]
    applied_discounts: list[AppliedDiscountOut]
    rejected: list[RejectedOut]
    totals: BasketTotals
    points_spent: int
    points_value: int = Field(description="What the points spent are worth, in minor units.")
    estimated_points_earned: int = Field(description="What the ORDER_PLACED reactors would earn (a dry run).")

    @classmethod
    def of(cls, result: PricingResult, refused: list[RejectedOut], estimated: int) -> PricedBasketOut:
        return cls(
            line_items=[
                PricedLineOut(
                    index=line.index,
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    subtotal=line.subtotal,
                    discount=line.discount,
                    total=line.total,
                )
                for line in result.lines
            ],
            applied_discounts=[
                AppliedDiscountOut(
                    source=a.source.value,
                    reward_id=str(a.reward_id) if a.reward_id else None,
                    discount_id=str(a.discount_id) if a.discount_id else None,
                    benefit_id=a.benefit_id,
                    code=a.code,
                    amount=a.amount,
                    allocations=[AllocationOut(line_index=i, amount=amount) for i, amount in a.allocations],
                )
                for a in result.applied
            ],
            rejected=[
                *refused,
                *(
                    RejectedOut(
                        code=r.code,
                        reward_id=str(r.reward_id),
                        benefit_id=r.benefit_id,
                        reason=str(r.reason),
                    )
                    for r in result.rejected
                ),
            ],
            totals=BasketTotals(subtotal=result.subtotal, discount=result.discount, total=result.total),
            points_spent=result.points_spent,
            points_value=result.points_value,
            estimated_points_earned=estimated,
        )


class ReceiptOut(PlacedOrderOut):
    points_value: int = Field(description="What the points spent were worth, in minor units.")
    balance: int | None = Field(description="The member's balance after the checkout.")

    @classmethod
    def of_receipt(cls, receipt: Receipt) -> ReceiptOut:
        order = receipt.placed.order
        return cls(
            **cls.fields_of(receipt.placed),
            replayed=receipt.placed.replayed,
            points_value=order.points_spent_value,
            balance=receipt.balance,
        )
