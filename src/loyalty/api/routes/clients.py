"""/v1/clients: API client credentials of the caller's tenant (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Success, errors, success
from loyalty.api.models.clients import ClientDefinition, ClientOut, NewClientOut
from loyalty.api.paths import path_id
from loyalty.domain.errors import NotFound
from loyalty.domain.tenancy import Principal
from loyalty.services import clients as client_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Clients"])


@router.post("/clients", response_model=Success[NewClientOut], responses=errors(400, 401, 403, 409, 422))
async def create_client(request: Request, body: ClientDefinition, principal: Principal = Depends(ADMIN)) -> Response:
    """Create a client credential. The `clientSecret` is in this response only."""

    async def effect(tx: Tx) -> NewClientOut:
        created = await client_service.create_client(tx, principal.tenant.tenant_id, body.scopes, body.name)
        return NewClientOut(**ClientOut.of(created.client).model_dump(), client_secret=created.client_secret)

    return await run_command(request, principal, effect)


@router.get("/clients", response_model=Success[list[ClientOut]], responses=errors(401, 403))
async def list_clients(request: Request, principal: Principal = Depends(ADMIN)) -> Response:
    async def query(tx: Tx) -> Response:
        return success([ClientOut.of(c) for c in await client_service.list_clients(tx, principal.tenant.tenant_id)])

    return await run_query(request, query)


@router.delete(
    "/clients/{client_id}", response_model=Success[ClientOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def revoke_client(request: Request, client_id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """Revoke a client: its secret and all its tokens stop working immediately."""
    parsed = path_id(client_id, NotFound("No such client.", code="CLIENT_NOT_FOUND"))

    async def effect(tx: Tx) -> ClientOut:
        return ClientOut.of(await client_service.revoke_client(tx, principal.tenant.tenant_id, parsed))

    return await run_command(request, principal, effect)
