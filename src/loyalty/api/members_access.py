"""Which member a request acts on, and whether the caller may act on them."""

from __future__ import annotations

from loyalty.domain.errors import Forbidden, InvalidInput
from loyalty.domain.members import Member
from loyalty.domain.tenancy import Principal
from loyalty.services import members as member_service
from loyalty.storage.database import Tx

USER_ID_HEADER = "X-User-Id"


async def member_named(tx: Tx, principal: Principal, identifier: str) -> Member:
    """The member ``identifier`` names. A member token may only name its own member (403 otherwise, whether or
    not the other member exists, so nothing is revealed)."""
    tenant_id = principal.tenant.tenant_id
    if not principal.is_user:
        return await member_service.resolve_member(tx, tenant_id, identifier)
    me = await member_service.find_by_auth_identifier(tx, tenant_id, principal.subject or "")
    own_names = {str(me.member_id), me.account_number, me.auth_identifier, me.external_identifier}
    if identifier.strip() not in own_names:
        raise Forbidden("A member token may only act on its own member.", code="FORBIDDEN")
    return me


async def current_member(tx: Tx, principal: Principal, impersonated: str | None) -> Member:
    """``/users/me``: the token's member, or — for admin and pos clients — the member named in X-User-Id."""
    tenant_id = principal.tenant.tenant_id
    if principal.is_user:
        return await member_service.find_by_auth_identifier(tx, tenant_id, principal.subject or "")
    if not impersonated:
        raise InvalidInput(
            f"A client token acting on /users/me must name the member in {USER_ID_HEADER}.",
            code="USER_CONTEXT_REQUIRED",
        )
    return await member_service.resolve_member(tx, tenant_id, impersonated)
