"""/v1/users: members, their wallet and their points ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN, ADMIN_POS_USER, ADMIN_USER
from loyalty.api.benefit_views import present
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.members_access import USER_ID_HEADER, current_member, member_named
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.models.members import ClosedUserOut, UserDefinition, UserOut, UserPatch, profile_document
from loyalty.api.models.points import LedgerEntryOut, PredictionsOut, WalletOut
from loyalty.domain.errors import Forbidden
from loyalty.domain.lots import Period
from loyalty.domain.members import Member
from loyalty.domain.tenancy import Principal
from loyalty.services import members as member_service
from loyalty.services import points as point_service
from loyalty.services import wallets as wallet_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Members"])

PeriodParam = Annotated[Period, Query(description="DAY, WEEK or MONTH (the default).")]
ImpersonatedUser = Annotated[
    str | None,
    Header(alias=USER_ID_HEADER, description="Admin or pos clients: the member to act as (any identifier)."),
]


@router.post("/users", response_model=Success[UserOut], responses=errors(400, 401, 403, 409, 422))
async def create_user(
    request: Request, body: UserDefinition, principal: Principal = Depends(ADMIN_POS_USER)
) -> Response:
    """Register a member (admin; pos for sign-up at the till; a member token for self-registration).

    Emits `REGISTERED_ACCOUNT`."""
    auth_identifier = body.auth_identifier
    if body.flags is not None and not principal.is_admin:
        raise Forbidden("Only admin clients may set flags.", code="FORBIDDEN_FIELD")
    if principal.is_user:
        if auth_identifier not in (None, principal.subject):
            raise Forbidden("A member token may only register its own authIdentifier.", code="FORBIDDEN_FIELD")
        if body.external_identifier is not None:
            # As for PATCH: the identifier a till or partner system uses is assigned by clients, never claimed by
            # the member (a 409 for a taken one would also tell them who else is registered).
            raise Forbidden("Only admin and pos clients may set externalIdentifier.", code="FORBIDDEN_FIELD")
        auth_identifier = principal.subject
    definition = member_service.MemberDefinition(
        profile=profile_document(body.profile),
        auth_identifier=auth_identifier,
        external_identifier=body.external_identifier,
        flags=body.flags,
        is_restricted=body.is_restricted,
    )

    async def effect(tx: Tx) -> UserOut:
        member = await member_service.create_member(tx, principal.tenant.tenant_id, definition, principal.credential)
        return UserOut.of(member)

    return await run_command(request, principal, effect)


@router.get("/users", response_model=Page[UserOut], responses=errors(400, 401, 403))
async def list_users(
    request: Request,
    page: Pagination = Depends(pagination),
    search: Annotated[str | None, Query(max_length=200, description="Part of an e-mail, name or identifier.")] = None,
    principal: Principal = Depends(ADMIN),
) -> Response:
    async def query(tx: Tx) -> Response:
        found, total = await member_service.list_members(
            tx, principal.tenant.tenant_id, search=search, limit=page.limit, skip=page.skip, order=page.order
        )
        return success([UserOut.of(m) for m in found], meta=page.meta(total))

    return await run_query(request, query)


@router.get("/users/me", response_model=Success[UserOut], responses=errors(400, 401, 403, 404))
async def get_me(
    request: Request, x_user_id: ImpersonatedUser = None, principal: Principal = Depends(ADMIN_POS_USER)
) -> Response:
    async def query(tx: Tx) -> Response:
        return success(UserOut.of(await current_member(tx, principal, x_user_id)))

    return await run_query(request, query)


@router.get("/users/me/wallet", response_model=Success[WalletOut], responses=errors(400, 401, 403, 404))
async def get_my_wallet(
    request: Request, x_user_id: ImpersonatedUser = None, principal: Principal = Depends(ADMIN_POS_USER)
) -> Response:
    async def query(tx: Tx) -> Response:
        member = await current_member(tx, principal, x_user_id)
        return success(await _wallet(tx, principal, member))

    return await run_query(request, query)


@router.get(
    "/users/me/wallet/predictions", response_model=Success[PredictionsOut], responses=errors(400, 401, 403, 404)
)
async def get_my_predictions(
    request: Request,
    period: PeriodParam = Period.MONTH,
    x_user_id: ImpersonatedUser = None,
    principal: Principal = Depends(ADMIN_POS_USER),
) -> Response:
    """The caller's points that will expire, and pending points that will activate, per calendar period."""

    async def query(tx: Tx) -> Response:
        member = await current_member(tx, principal, x_user_id)
        found = await wallet_service.predictions(tx, principal.tenant.tenant_id, member, period)
        return success(PredictionsOut.of(found))

    return await run_query(request, query)


@router.get("/users/me/points", response_model=Page[LedgerEntryOut], responses=errors(400, 401, 403, 404))
async def get_my_ledger(
    request: Request,
    page: Pagination = Depends(pagination),
    x_user_id: ImpersonatedUser = None,
    principal: Principal = Depends(ADMIN_POS_USER),
) -> Response:
    async def query(tx: Tx) -> Response:
        member = await current_member(tx, principal, x_user_id)
        return await _ledger_page(tx, principal, member, page)

    return await run_query(request, query)


@router.get("/users/{id}", response_model=Success[UserOut], responses=errors(401, 403, 404))
async def get_user(request: Request, id: str, principal: Principal = Depends(ADMIN_POS_USER)) -> Response:
    """A member by id, 7-digit account number, authIdentifier or externalIdentifier."""

    async def query(tx: Tx) -> Response:
        return success(UserOut.of(await member_named(tx, principal, id)))

    return await run_query(request, query)


@router.patch("/users/{id}", response_model=Success[UserOut], responses=errors(400, 401, 403, 404, 409, 422))
async def update_user(
    request: Request, id: str, body: UserPatch, principal: Principal = Depends(ADMIN_USER)
) -> Response:
    """Change a member. Admins may change everything; a member only their own `profile`. Emits `PROFILE_UPDATED`."""
    patch = member_service.MemberPatch(
        profile=profile_document(body.profile) if body.profile is not None else None,
        flags=body.flags,
        external_identifier=body.external_identifier,
        is_restricted=body.is_restricted,
    )

    async def effect(tx: Tx) -> UserOut:
        member = await member_named(tx, principal, id)
        updated = await member_service.update_member(
            tx, principal.tenant.tenant_id, member, patch, by_admin=principal.is_admin, actor=principal.credential
        )
        return UserOut.of(updated)

    return await run_command(request, principal, effect)


@router.delete("/users/{id}", response_model=Success[ClosedUserOut], responses=errors(400, 401, 403, 404, 409, 422))
async def close_user(request: Request, id: str, principal: Principal = Depends(ADMIN_USER)) -> Response:
    """Close an account: personal data erased, identifiers released, the ledger kept. Emits `CLOSED_ACCOUNT`."""

    async def effect(tx: Tx) -> ClosedUserOut:
        member = await member_named(tx, principal, id)
        closed = await member_service.close_member(tx, principal.tenant.tenant_id, member, principal.credential)
        return ClosedUserOut.closed(closed)

    return await run_command(request, principal, effect)


@router.get("/users/{id}/wallet", response_model=Success[WalletOut], responses=errors(401, 403, 404))
async def get_wallet(request: Request, id: str, principal: Principal = Depends(ADMIN_POS_USER)) -> Response:
    async def query(tx: Tx) -> Response:
        member = await member_named(tx, principal, id)
        return success(await _wallet(tx, principal, member))

    return await run_query(request, query)


@router.get(
    "/users/{id}/wallet/predictions", response_model=Success[PredictionsOut], responses=errors(400, 401, 403, 404)
)
async def get_predictions(
    request: Request, id: str, period: PeriodParam = Period.MONTH, principal: Principal = Depends(ADMIN_POS_USER)
) -> Response:
    """The member's points that will expire, and pending points that will activate, per calendar period (DAY,
    WEEK or MONTH in the tenant's time zone); periods with nothing are left out."""

    async def query(tx: Tx) -> Response:
        member = await member_named(tx, principal, id)
        found = await wallet_service.predictions(tx, principal.tenant.tenant_id, member, period)
        return success(PredictionsOut.of(found))

    return await run_query(request, query)


@router.get("/users/{id}/points", response_model=Page[LedgerEntryOut], responses=errors(400, 401, 403, 404))
async def get_ledger(
    request: Request, id: str, page: Pagination = Depends(pagination), principal: Principal = Depends(ADMIN_POS_USER)
) -> Response:
    """The member's points ledger, newest first: why points were earned or lost."""

    async def query(tx: Tx) -> Response:
        return await _ledger_page(tx, principal, await member_named(tx, principal, id), page)

    return await run_query(request, query)


async def _wallet(tx: Tx, principal: Principal, member: Member) -> WalletOut:
    tenant_id = principal.tenant.tenant_id
    wallet = await wallet_service.get_wallet(tx, tenant_id, member)
    # The vouchers are the member's own, and the member (open) was read in this transaction: not read again.
    return WalletOut.of(wallet, [await present(tx, tenant_id, voucher, owner=member) for voucher in wallet.vouchers])


async def _ledger_page(tx: Tx, principal: Principal, member: Member, page: Pagination) -> Response:
    entries, total = await point_service.list_entries(
        tx, principal.tenant.tenant_id, member.member_id, limit=page.limit, skip=page.skip, order=page.order
    )
    return success([LedgerEntryOut.of(e) for e in entries], meta=page.meta(total))
