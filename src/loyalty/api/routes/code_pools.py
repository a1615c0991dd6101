"""/v1/code_pools: pools of uploaded voucher codes (admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.benefits import (
    BulkCodes,
    BulkResultOut,
    CodeDefinition,
    CodeOut,
    CodePoolDefinition,
    CodePoolOut,
)
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.paths import path_id
from loyalty.domain.errors import NotFound
from loyalty.domain.tenancy import Principal
from loyalty.services import codes as code_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Code pools"])


def _uuid(raw: str, what: str, code: str) -> uuid.UUID:
    return path_id(raw, NotFound(f"No such {what}.", code=code))


@router.post("/code_pools", response_model=Success[CodePoolOut], responses=errors(400, 401, 403, 409, 422))
async def create_pool(request: Request, body: CodePoolDefinition, principal: Principal = Depends(ADMIN)) -> Response:
    async def effect(tx: Tx) -> CodePoolOut:
        pool = await code_service.create_pool(tx, principal.tenant.tenant_id, body.name, body.description, body.active)
        return CodePoolOut.of(pool)

    return await run_command(request, principal, effect)


@router.get("/code_pools", response_model=Success[list[CodePoolOut]], responses=errors(401, 403))
async def list_pools(request: Request, principal: Principal = Depends(ADMIN)) -> Response:
    async def query(tx: Tx) -> Response:
        return success([CodePoolOut.of(p) for p in await code_service.list_pools(tx, principal.tenant.tenant_id)])

    return await run_query(request, query)


@router.get("/code_pools/{pool_id}", response_model=Success[CodePoolOut], responses=errors(401, 403, 404))
async def get_pool(request: Request, pool_id: str, principal: Principal = Depends(ADMIN)) -> Response:
    pool_uuid = _uuid(pool_id, "code pool", "CODE_POOL_NOT_FOUND")

    async def query(tx: Tx) -> Response:
        return success(CodePoolOut.of(await code_service.get_pool(tx, principal.tenant.tenant_id, pool_uuid)))

    return await run_query(request, query)


@router.get("/code_pools/{pool_id}/codes", response_model=Page[CodeOut], responses=errors(400, 401, 403, 404))
async def list_codes(
    request: Request,
    pool_id: str,
    page: Pagination = Depends(pagination),
    principal: Principal = Depends(ADMIN),
) -> Response:
    pool_uuid = _uuid(pool_id, "code pool", "CODE_POOL_NOT_FOUND")

    async def query(tx: Tx) -> Response:
        found, total = await code_service.list_pool_codes(
            tx, principal.tenant.tenant_id, pool_uuid, limit=page.limit, skip=page.skip
        )
        return success([CodeOut.of(c) for c in found], meta=page.meta(total))

    return await run_query(request, query)


@router.post(
    "/code_pools/{pool_id}/codes", response_model=Success[BulkResultOut], responses=errors(400, 401, 403, 404, 409, 422)
)
async def add_code(
    request: Request,
    pool_id: str,
    body: CodeDefinition,
    principal: Principal = Depends(ADMIN),
) -> Response:
    """Add one code; a value already used in the tenant is reported as a duplicate."""
    pool_uuid = _uuid(pool_id, "code pool", "CODE_POOL_NOT_FOUND")

    async def effect(tx: Tx) -> BulkResultOut:
        return BulkResultOut.of(await code_service.add_codes(tx, principal.tenant.tenant_id, pool_uuid, [body.value]))

    return await run_command(request, principal, effect)


@router.post(
    "/code_pools/{pool_id}/codes/create_bulk",
    response_model=Success[BulkResultOut],
    responses=errors(400, 401, 403, 404, 409, 422),
)
async def add_codes_in_bulk(
    request: Request,
    pool_id: str,
    body: BulkCodes,
    principal: Principal = Depends(ADMIN),
) -> Response:
    """Upload up to 100,000 codes at once; duplicates are skipped and listed."""
    pool_uuid = _uuid(pool_id, "code pool", "CODE_POOL_NOT_FOUND")

    async def effect(tx: Tx) -> BulkResultOut:
        return BulkResultOut.of(await code_service.add_codes(tx, principal.tenant.tenant_id, pool_uuid, body.codes))

    return await run_command(request, principal, effect)


@router.delete(
    "/code_pools/{pool_id}/codes",
    response_model=Success[dict[str, int]],
    responses=errors(400, 401, 403, 404, 409, 422),
)
async def delete_unissued_codes(request: Request, pool_id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """Remove every code of the pool that has not been handed out."""
    pool_uuid = _uuid(pool_id, "code pool", "CODE_POOL_NOT_FOUND")

    async def effect(tx: Tx) -> dict[str, int]:
        return {"deleted": await code_service.delete_unissued_codes(tx, principal.tenant.tenant_id, pool_uuid)}

    return await run_command(request, principal, effect)


@router.delete(
    "/code_pools/{pool_id}/codes/{code_id}",
    response_model=Success[dict[str, int]],
    responses=errors(400, 401, 403, 404, 409, 422),
)
async def delete_code(
    request: Request,
    pool_id: str,
    code_id: str,
    principal: Principal = Depends(ADMIN),
) -> Response:
    """Remove one code that has not been handed out (409 CODE_ALREADY_ISSUED otherwise)."""
    pool_uuid = _uuid(pool_id, "code pool", "CODE_POOL_NOT_FOUND")
    code_uuid = _uuid(code_id, "code", "CODE_NOT_FOUND")

    async def effect(tx: Tx) -> dict[str, int]:
        await code_service.delete_code(tx, principal.tenant.tenant_id, pool_uuid, code_uuid)
        return {"deleted": 1}

    return await run_command(request, principal, effect)
