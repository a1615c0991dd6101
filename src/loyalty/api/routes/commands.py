"""/v1/commands: the engine's verbs. Points adjustment lives here now; rewards and vouchers join later."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN
from loyalty.api.commands import run_command
from loyalty.api.envelope import Success, errors
from loyalty.api.models.points import AdjustPoints, LedgerEntryOut
from loyalty.domain.tenancy import Principal
from loyalty.services import members as member_service
from loyalty.services import points as point_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Commands"])


@router.post(
    "/commands/adjust_points", response_model=Success[LedgerEntryOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def adjust_points(request: Request, body: AdjustPoints, principal: Principal = Depends(ADMIN)) -> Response:
    """Credit or debit a member's points by hand. Emits `POINTS_ADJUSTED`; the ledger entry records the client.

    With `liabilityHandlingPolicy: REJECT_EVENT` a debit that would take the balance below zero is refused with
    422 `INSUFFICIENT_POINTS` and nothing is written."""

    async def effect(tx: Tx) -> LedgerEntryOut:
        member = await member_service.resolve_member(tx, principal.tenant.tenant_id, body.actor_id)
        entry = await point_service.adjust_points(
            tx,
            principal.tenant.tenant_id,
            member,
            body.points,
            comment=body.comment,
            impact=body.impact_type,
            policy=body.liability_handling_policy,
            actor=principal.credential,
            bypass_caps=body.bypass_caps,
        )
        return LedgerEntryOut.of(entry)

    return await run_command(request, principal, effect)
