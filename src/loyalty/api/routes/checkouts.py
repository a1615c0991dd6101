"""/v1/baskets/price and /v1/checkouts: price a basket (no side effects) and commit a whole checkout."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN_POS
from loyalty.api.commands import run_command
from loyalty.api.envelope import Success, errors
from loyalty.api.models.checkouts import BasketBody, CheckoutBody, PricedBasketOut, ReceiptOut, RejectedOut
from loyalty.domain.orders import Payment
from loyalty.domain.pricing import BasketLine
from loyalty.domain.tenancy import Principal
from loyalty.services import checkouts as checkout_service
from loyalty.services.baskets import BasketDraft, quote_basket
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Checkout"])


def _basket(body: BasketBody) -> BasketDraft:
    return BasketDraft(
        lines=tuple(
            BasketLine(sku=line.sku, category=line.category, quantity=line.quantity, unit_price=line.unit_price)
            for line in body.line_items
        ),
        currency=body.currency,
        user=body.user,
        venue=body.venue,
        channel=body.channel,
        voucher_codes=tuple(body.voucher_codes),
        points_to_spend=body.points_to_spend,
        add_items=dict(body.add_items),
    )


def _names(body: BasketBody) -> Mapping[int, tuple[str | None, str | None]]:
    return {index: (line.name, line.category) for index, line in enumerate(body.line_items)}


@router.post("/baskets/price", response_model=Success[PricedBasketOut], responses=errors(400, 401, 403, 404, 409, 422))
async def price_basket(request: Request, body: BasketBody, principal: Principal = Depends(ADMIN_POS)) -> Response:
    """Apply the member's offers, the vouchers presented and the points to spend to a basket, and say how each line
    changes. Nothing is written: vouchers are only checked, and `estimatedPointsEarned` comes from a dry run of
    the `ORDER_PLACED` reactors."""
    draft = _basket(body)

    async def effect(tx: Tx) -> PricedBasketOut:
        tenant_id = principal.tenant.tenant_id
        quote = await quote_basket(tx, tenant_id, draft)
        refused = [
            RejectedOut(code=r.code, reward_id=None, benefit_id=None, reason=r.error.code) for r in quote.refused
        ]
        estimated = await checkout_service.estimate_points(tx, tenant_id, quote, draft, _names(body))
        return PricedBasketOut.of(quote.result, refused, estimated)

    return await run_command(request, principal, effect, dry_run=True)


@router.post("/checkouts", response_model=Success[ReceiptOut], responses=errors(400, 401, 403, 404, 409, 422))
async def checkout(request: Request, body: CheckoutBody, principal: Principal = Depends(ADMIN_POS)) -> Response:
    """Price the basket, burn its vouchers, place the order (its reactors earn points) and spend the points, in one
    transaction: any refusal rolls back everything with its own error. Idempotent on `externalId`. Answers the
    receipt."""
    draft = checkout_service.CheckoutDraft(
        basket=_basket(body),
        external_id=body.external_id,
        payments=tuple(Payment(type=p.type, amount=p.amount) for p in body.payments),
        metadata=body.metadata,
        occurred_at=body.occurred_at,
    )

    async def effect(tx: Tx) -> ReceiptOut:
        receipt = await checkout_service.checkout(
            tx, principal.tenant.tenant_id, draft, _names(body), actor=principal.credential
        )
        return ReceiptOut.of_receipt(receipt)

    return await run_command(request, principal, effect)


@router.post("/checkouts/{id}/void", response_model=Success[ReceiptOut], responses=errors(400, 401, 403, 404, 409, 422))
async def void_checkout(request: Request, id: str, principal: Principal = Depends(ADMIN_POS)) -> Response:
    """Undo a checkout within 24 hours (by order id or externalId): the vouchers restored, the spent points
    returned, the earn reversed."""

    async def effect(tx: Tx) -> ReceiptOut:
        receipt = await checkout_service.void_checkout(tx, principal.tenant.tenant_id, id, actor=principal.credential)
        return ReceiptOut.of_receipt(receipt)

    return await run_command(request, principal, effect)
