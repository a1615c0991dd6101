"""/v1/event_types: custom event types (admin) and the intrinsic catalogue."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from loyalty.api.auth import ADMIN, ADMIN_POS
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.models.events import EventSecretOut, EventTypeDefinition, EventTypeOut, EventTypePatch
from loyalty.domain.tenancy import Principal
from loyalty.services import event_types as event_type_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Event types"])


@router.post("/event_types", response_model=Success[EventTypeOut], responses=errors(400, 401, 403, 409, 422))
async def create_event_type(
    request: Request, body: EventTypeDefinition, principal: Principal = Depends(ADMIN)
) -> Response:
    """Create a custom event type. Its `schema` is checked to be a valid JSON Schema of `type: object`."""
    draft = event_type_service.EventTypeDraft(
        name=body.name,
        description=body.description,
        schema=body.schema_,
        is_private=body.is_private,
        is_active=body.is_active,
        enhancers=body.enhancers,
        omit_from_user_activity=body.omit_from_user_activity,
        dedupe_key_path=body.dedupe_key_path,
    )

    async def effect(tx: Tx) -> EventTypeOut:
        return EventTypeOut.of(await event_type_service.create_event_type(tx, principal.tenant.tenant_id, draft))

    return await run_command(request, principal, effect)


@router.get("/event_types", response_model=Page[EventTypeOut], responses=errors(400, 401, 403))
async def list_event_types(
    request: Request, page: Pagination = Depends(pagination), principal: Principal = Depends(ADMIN_POS)
) -> Response:
    """Custom types, then the intrinsic ones (with their published payload schemas)."""

    async def query(tx: Tx) -> Response:
        found = await event_type_service.list_event_types(tx, principal.tenant.tenant_id)
        if page.order == "DESC":
            found = found[::-1]
        shown = found[page.skip : page.skip + page.limit]
        return success([EventTypeOut.of(t) for t in shown], meta=page.meta(len(found)))

    return await run_query(request, query)


@router.get("/event_types/{id}", response_model=Success[EventTypeOut], responses=errors(401, 403, 404))
async def get_event_type(request: Request, id: str, principal: Principal = Depends(ADMIN_POS)) -> Response:
    """An event type by id or name (intrinsic ones included)."""

    async def query(tx: Tx) -> Response:
        return success(EventTypeOut.of(await event_type_service.get_event_type(tx, principal.tenant.tenant_id, id)))

    return await run_query(request, query)


@router.patch("/event_types/{id}", response_model=Success[EventTypeOut], responses=errors(400, 401, 403, 404, 409, 422))
async def update_event_type(
    request: Request, id: str, body: EventTypePatch, principal: Principal = Depends(ADMIN)
) -> Response:
    """Change a custom event type (not its name). Deactivate instead of deleting: types are never deleted."""
    patch = event_type_service.EventTypeDraft(
        name=body.name,
        description=body.description,
        schema=body.schema_,
        is_private=body.is_private,
        is_active=body.is_active,
        enhancers=body.enhancers,
        omit_from_user_activity=body.omit_from_user_activity,
        dedupe_key_path=body.dedupe_key_path,
    )

    async def effect(tx: Tx) -> EventTypeOut:
        return EventTypeOut.of(await event_type_service.update_event_type(tx, principal.tenant.tenant_id, id, patch))

    return await run_command(request, principal, effect)


@router.get("/event_types/{id}/secret", response_model=Success[EventSecretOut], responses=errors(400, 401, 403, 404))
async def get_event_type_secret(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """The type's secret, for back-office systems reporting it with `X-Event-Secret` (no token)."""

    async def query(tx: Tx) -> Response:
        return success(EventSecretOut(secret=await event_type_service.get_event_secret(tx, principal.tenant, id)))

    return await run_query(request, query)


@router.post(
    "/event_types/{id}/secret/rotate",
    response_model=Success[EventSecretOut],
    responses=errors(400, 401, 403, 404, 409, 422),
)
async def rotate_event_type_secret(request: Request, id: str, principal: Principal = Depends(ADMIN)) -> Response:
    """Replace the type's secret; the old one stops working at once."""

    async def effect(tx: Tx) -> EventSecretOut:
        return EventSecretOut(secret=await event_type_service.get_event_secret(tx, principal.tenant, id, rotate=True))

    return await run_command(request, principal, effect)
