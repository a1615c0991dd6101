"""/v1/benefits, /v1/vouchers and the voucher commands: purchase, give, redeem, validate (burn), unburn."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN, ADMIN_POS, ADMIN_POS_USER
from loyalty.api.benefit_views import present
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.limits import limits_of
from loyalty.api.members_access import current_member, member_named
from loyalty.api.models.benefits import (
    BenefitOut,
    GiveReward,
    PurchaseReward,
    RedeemBenefit,
    UnburnVoucher,
    ValidateVoucher,
)
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.paths import path_id
from loyalty.api.routes.members import ImpersonatedUser
from loyalty.domain.benefits import Benefit, Origin
from loyalty.domain.errors import Forbidden, InvalidInput, NotFound
from loyalty.domain.members import Member
from loyalty.domain.tenancy import Principal
from loyalty.services import benefits as benefit_service
from loyalty.services import members as member_service
from loyalty.services import rewards as reward_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Benefits and vouchers"])


async def _visible_benefit(tx: Tx, principal: Principal, raw_id: str) -> Benefit:
    """A benefit the caller may see: any in the tenant for admin and pos, only their own for a member."""
    benefit_id = path_id(raw_id, NotFound("No such benefit.", code="BENEFIT_NOT_FOUND"))
    tenant_id = principal.tenant.tenant_id
    benefit = await benefit_service.get_benefit(tx, tenant_id, benefit_id)
    if principal.is_user:
        me = await member_service.find_by_auth_identifier(tx, tenant_id, principal.subject or "")
        if benefit.member_id != me.member_id:
            raise NotFound("No such benefit.", code="BENEFIT_NOT_FOUND")
    return benefit


async def _listed_member(tx: Tx, principal: Principal, x_user_id: str | None, user_id: str | None) -> Member | None:
    """Whose benefits to list: a member token's own; for clients the member named by X-User-Id or ?userId=,
    or (admin only) every member."""
    named = x_user_id or user_id
    if principal.is_user or named:
        return await current_member(tx, principal, named)
    if principal.is_admin:
        return None
    raise InvalidInput("Name the member with X-User-Id or ?userId=.", code="USER_CONTEXT_REQUIRED")


async def _list(
    request: Request,
    principal: Principal,
    page: Pagination,
    x_user_id: str | None,
    user_id: str | None,
    redeemable: bool | None,
    benefit_type: str | None,
) -> Response:
    async def query(tx: Tx) -> Response:
        tenant_id = principal.tenant.tenant_id
        member = await _listed_member(tx, principal, x_user_id, user_id)
        found, total = await benefit_service.list_benefits(
            tx,
            tenant_id,
            member.member_id if member else None,
            redeemable=redeemable,
            benefit_type=benefit_type,
            limit=page.limit,
            skip=page.skip,
        )
        return success([await present(tx, tenant_id, b) for b in found], meta=page.meta(total))

    return await run_query(request, query)


UserIdQuery = Annotated[str | None, Query(alias="userId", max_length=512, description="Admin and pos: the member.")]


@router.get("/benefits", response_model=Page[BenefitOut], responses=errors(400, 401, 403, 404))
async def list_benefits(
    request: Request,
    page: Pagination = Depends(pagination),
    redeemable: Annotated[bool | None, Query(description="true: not yet redeemed (nor burned).")] = None,
    user_id: UserIdQuery = None,
    x_user_id: ImpersonatedUser = None,
    principal: Principal = Depends(ADMIN_POS_USER),
) -> Response:
    """A member's benefits, newest first."""
    return await _list(request, principal, page, x_user_id, user_id, redeemable, None)


@router.get("/benefits/{id}", response_model=Success[BenefitOut], responses=errors(401, 403, 404))
async def get_benefit(request: Request, id: str, principal: Principal = Depends(ADMIN_POS_USER)) -> Response:
    async def query(tx: Tx) -> Response:
        return success(await present(tx, principal.tenant.tenant_id, await _visible_benefit(tx, principal, id)))

    return await run_query(request, query)


@router.get("/vouchers", response_model=Page[BenefitOut], responses=errors(400, 401, 403, 404))
async def list_vouchers(
    request: Request,
    page: Pagination = Depends(pagination),
    redeemable: Annotated[bool | None, Query()] = None,
    user_id: UserIdQuery = None,
    x_user_id: ImpersonatedUser = None,
    principal: Principal = Depends(ADMIN_POS_USER),
) -> Response:
    """A member's vouchers (benefits of type VOUCHER), newest first."""
    return await _list(request, principal, page, x_user_id, user_id, redeemable, "VOUCHER")


@router.get("/vouchers/{id}", response_model=Success[BenefitOut], responses=errors(401, 403, 404))
async def get_voucher(request: Request, id: str, principal: Principal = Depends(ADMIN_POS_USER)) -> Response:
    async def query(tx: Tx) -> Response:
        benefit = await _visible_benefit(tx, principal, id)
        if benefit.type != "VOUCHER":
            raise NotFound("No such voucher.", code="BENEFIT_NOT_FOUND")
        return success(await present(tx, principal.tenant.tenant_id, benefit))

    return await run_query(request, query)


@router.post(
    "/commands/purchase_reward", response_model=Success[BenefitOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def purchase_reward(
    request: Request, body: PurchaseReward, principal: Principal = Depends(ADMIN_POS_USER)
) -> Response:
    """Exchange points for a reward: a member for themselves, or a till / admin for the member in `beneficiaryId`.
    One transaction: eligibility, stock (422 `OUT_OF_STOCK`), points (422 `INSUFFICIENT_POINTS`, never overdrawn),
    the benefit and its code. Emits `PURCHASED_REWARD`."""

    async def effect(tx: Tx) -> BenefitOut:
        tenant_id = principal.tenant.tenant_id
        if principal.is_user:
            member = await current_member(tx, principal, None)
            if body.beneficiary_id is not None:
                member = await member_named(tx, principal, body.beneficiary_id)
        elif body.beneficiary_id is None:
            raise InvalidInput("beneficiaryId names the member.", code="VALIDATION_ERROR", field="beneficiaryId")
        else:
            member = await member_service.resolve_member(tx, tenant_id, body.beneficiary_id)
        benefit = await benefit_service.purchase_reward(
            tx, tenant_id, body.reward_id, member, actor=principal.credential
        )
        return await present(tx, tenant_id, benefit)

    return await run_command(request, principal, effect)


@router.post(
    "/commands/redeem_benefit", response_model=Success[BenefitOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def redeem_benefit(
    request: Request, body: RedeemBenefit, principal: Principal = Depends(ADMIN_POS_USER)
) -> Response:
    """Redeem a benefit: its code is revealed. Redeeming again answers the same benefit. Emits `REDEEMED_VOUCHER`."""

    async def effect(tx: Tx) -> BenefitOut:
        tenant_id = principal.tenant.tenant_id
        benefit = await _visible_benefit(tx, principal, str(body.benefit_id))
        owner = await benefit_service.owner_of(tx, tenant_id, benefit)
        redeemed = await benefit_service.redeem_benefit(tx, tenant_id, benefit, owner, actor=principal.credential)
        return await present(tx, tenant_id, redeemed)

    return await run_command(request, principal, effect)


@router.post(
    "/commands/validate_voucher", response_model=Success[BenefitOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def validate_voucher(
    request: Request, body: ValidateVoucher, principal: Principal = Depends(ADMIN_POS)
) -> Response:
    """Check a voucher code at the till and, unless `allowFutureValidation` is true, burn it. Checks in order:
    unknown code (404 `VOUCHER_NOT_FOUND`), owner (403 `VOUCHER_OWNER_MISMATCH`), venue (422
    `VOUCHER_NOT_VALID_AT_VENUE`), burned (409 `VOUCHER_ALREADY_BURNED`), expired (409 `VOUCHER_EXPIRED`), not
    redeemed (409 `BENEFIT_NOT_REDEEMED`). Answers the benefit with its reward and discounts.

    Failed attempts of the first two kinds (an unknown code, another member's code) are limited per credential
    and per member presenting codes: past the limit, 429 `TOO_MANY_FAILED_VALIDATIONS` with `Retry-After`."""

    async def effect(tx: Tx) -> BenefitOut:
        tenant_id = principal.tenant.tenant_id
        result = await benefit_service.validate_voucher(
            tx,
            tenant_id,
            body.code,
            allow_future_validation=body.allow_future_validation,
            user_identifier=body.user_identifier,
            venue_identifier=body.venue_identifier,
            actor=principal.credential,
        )
        # The reward (and the owner) were read by the validation in this transaction; when nothing has changed
        # them since, the answer is built from them instead of reading them again.
        if result.benefit is None:
            return BenefitOut.of_static_code(
                await reward_service.view_of(tx, tenant_id, result.reward), result.code_value
            )
        if result.owner is not None:
            view = await reward_service.view_of(tx, tenant_id, result.reward)
            return BenefitOut.of(result.benefit, view, result.owner)
        return await present(tx, tenant_id, result.benefit)

    async with limits_of(request).voucher_attempt(principal, body.user_identifier):
        return await run_command(request, principal, effect)


@router.post(
    "/commands/give_reward", response_model=Success[BenefitOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def give_reward(request: Request, body: GiveReward, principal: Principal = Depends(ADMIN)) -> Response:
    """Give a reward to a member without charging points. Emits `VOUCHER_GIVEN`."""

    async def effect(tx: Tx) -> BenefitOut:
        tenant_id = principal.tenant.tenant_id
        member = await member_service.resolve_member(tx, tenant_id, body.beneficiary_id)
        benefit = await benefit_service.give_reward(
            tx, tenant_id, body.reward_id, member, origin=Origin.GIVEN, actor=principal.credential
        )
        return await present(tx, tenant_id, benefit)

    return await run_command(request, principal, effect)


@router.post(
    "/commands/unburn_voucher", response_model=Success[BenefitOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def unburn_voucher(request: Request, body: UnburnVoucher, principal: Principal = Depends(ADMIN_POS)) -> Response:
    """Restore a burned voucher after a voided sale, within 24 hours of the burn (pos: at the venue that burned it)."""
    if not principal.is_admin and body.venue_identifier is None:
        raise Forbidden("A pos client names its venue (venueIdentifier) to restore a voucher.", code="FORBIDDEN")

    async def effect(tx: Tx) -> BenefitOut:
        tenant_id = principal.tenant.tenant_id
        benefit = await benefit_service.unburn_voucher(
            tx,
            tenant_id,
            body.benefit_id,
            reason=body.reason,
            venue_identifier=body.venue_identifier,
            venue_must_match=not principal.is_admin,
            actor=principal.credential,
        )
        return await present(tx, tenant_id, benefit)

    return await run_command(request, principal, effect)
