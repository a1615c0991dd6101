"""/v1/settings: the tenant's settings (pointsCurrencyValue, timezone, baseCurrency, discountStacking,
pendingPeriod, restoreVouchersOnRefund)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import Response
from pydantic import AfterValidator

from loyalty.api.auth import ADMIN, ADMIN_POS
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.common import check_json_value
from loyalty.api.models.settings import SettingDefinition, SettingOut
from loyalty.domain.tenancy import Principal
from loyalty.services import settings as settings_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Settings"])

SettingsPatch = Annotated[
    dict[str, Any],
    AfterValidator(check_json_value),
    Body(
        description='`{"<name>": <value>, …}` sets several settings at once, all or none. WLL\'s '
        '`{"name": …, "value": …}` is accepted too.',
        examples=[{"pointsCurrencyValue": "0.01", "timezone": "Europe/London"}],
    ),
]


def _page(found: list[settings_service.Setting]) -> Response:
    return success([SettingOut.of(s) for s in found], meta={"limit": len(found), "skip": 0, "total": len(found)})


@router.get("/settings", response_model=Page[SettingOut], responses=errors(401, 403))
async def list_settings(request: Request, principal: Principal = Depends(ADMIN_POS)) -> Response:
    """Every setting with its current value (its default when never set)."""

    async def query(tx: Tx) -> Response:
        return _page(await settings_service.list_settings(tx, principal.tenant.tenant_id))

    return await run_query(request, query)


@router.post(
    "/settings", status_code=201, response_model=Success[SettingOut], responses=errors(400, 401, 403, 409, 422)
)
async def set_setting(request: Request, body: SettingDefinition, principal: Principal = Depends(ADMIN)) -> Response:
    """Set one setting (201, as WLL). Unknown names are 400 `UNKNOWN_SETTING`, bad values 400 `INVALID_SETTING`."""

    async def effect(tx: Tx) -> SettingOut:
        await settings_service.set_settings(tx, principal.tenant.tenant_id, {body.name: body.value})
        return SettingOut.of(await settings_service.get_setting(tx, principal.tenant.tenant_id, body.name))

    return await run_command(request, principal, effect, status_code=201)


@router.patch("/settings", response_model=Success[list[SettingOut]], responses=errors(400, 401, 403, 409, 422))
async def update_settings(request: Request, body: SettingsPatch, principal: Principal = Depends(ADMIN)) -> Response:
    """Set several settings at once; answers every setting as it now is."""
    # WLL's SettingPatch names one setting as {"name", "value"}; neither is a setting name, so the forms cannot clash.
    wll_form = isinstance(body.get("name"), str) and set(body) <= {"name", "value"}
    values = {body["name"]: body.get("value")} if wll_form else body

    async def effect(tx: Tx) -> list[SettingOut]:
        found = await settings_service.set_settings(tx, principal.tenant.tenant_id, values)
        return [SettingOut.of(s) for s in found]

    return await run_command(request, principal, effect)


@router.get("/settings/{id}", response_model=Success[SettingOut], responses=errors(401, 403, 404))
async def get_setting(
    request: Request,
    id: Annotated[str, Path(description="The setting's name, e.g. `pointsCurrencyValue`.")],
    principal: Principal = Depends(ADMIN_POS),
) -> Response:
    async def query(tx: Tx) -> Response:
        return success(SettingOut.of(await settings_service.get_setting(tx, principal.tenant.tenant_id, id)))

    return await run_query(request, query)
