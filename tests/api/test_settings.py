"""Tenant settings over HTTP (contract §4.6): known names with defaults, checked values, all-or-none writes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from loyalty.domain.settings import DiscountStacking
from loyalty.services import settings as settings_service
from loyalty.services.config import config_version
from loyalty.storage.database import Database
from tests.conftest import TenantKit, make_tenant

DEFAULTS = {
    "pointsCurrencyValue": "0.01",
    "timezone": "UTC",
    "baseCurrency": "GBP",
    "discountStacking": "STACK",
    "pendingPeriod": None,
    "restoreVouchersOnRefund": False,
}


def assert_fail(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert document["status"] == "fail", answer.text
    assert document["data"]["code"] == code, answer.text
    return dict(document["data"])


async def listed(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = await client.get("/v1/settings", headers=headers)
    assert answer.status_code == 200, answer.text
    return {item["name"]: item["value"] for item in answer.json()["data"]}


async def test_every_setting_is_listed_with_its_default(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.get("/v1/settings", headers=tenant.pos)

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == [{"name": name, "value": value} for name, value in DEFAULTS.items()]
    assert answer.json()["meta"] == {"limit": 6, "skip": 0, "total": 6}


async def test_one_setting_is_read_by_name(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.get("/v1/settings/pointsCurrencyValue", headers=tenant.pos)

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"name": "pointsCurrencyValue", "value": "0.01"}


async def test_reading_an_unknown_setting_is_404(client: httpx.AsyncClient, tenant: TenantKit):
    assert_fail(await client.get("/v1/settings/favouriteColour", headers=tenant.admin), 404, "SETTING_NOT_FOUND")


async def test_post_sets_a_setting_with_201(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post(
        "/v1/settings", headers=tenant.admin, json={"name": "pointsCurrencyValue", "value": "0.005"}
    )

    assert answer.status_code == 201, answer.text
    assert answer.json()["data"] == {"name": "pointsCurrencyValue", "value": "0.005"}
    assert (await listed(client, tenant.pos))["pointsCurrencyValue"] == "0.005"
    again = await client.post("/v1/settings", headers=tenant.admin, json={"name": "pointsCurrencyValue", "value": "1"})
    assert again.status_code == 201, again.text
    assert (await listed(client, tenant.pos))["pointsCurrencyValue"] == "1"


async def test_patch_sets_several_settings_at_once(client: httpx.AsyncClient, tenant: TenantKit):
    body = {"timezone": "Europe/London", "discountStacking": "BEST_ONLY", "pendingPeriod": "P14D"}

    answer = await client.patch("/v1/settings", headers=tenant.admin, json=body)

    assert answer.status_code == 200, answer.text
    returned = {item["name"]: item["value"] for item in answer.json()["data"]}
    assert returned == {**DEFAULTS, **body}
    assert await listed(client, tenant.admin) == {**DEFAULTS, **body}


async def test_patch_accepts_wlls_name_and_value_form(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.patch("/v1/settings", headers=tenant.admin, json={"name": "baseCurrency", "value": "EUR"})

    assert answer.status_code == 200, answer.text
    assert (await listed(client, tenant.admin))["baseCurrency"] == "EUR"


async def test_one_bad_value_in_a_patch_changes_nothing(client: httpx.AsyncClient, tenant: TenantKit):
    body = {"timezone": "Europe/Paris", "baseCurrency": "euro", "pendingPeriod": "P1M"}

    data = assert_fail(await client.patch("/v1/settings", headers=tenant.admin, json=body), 400, "INVALID_SETTING")

    assert sorted(e["field"] for e in data["errors"]) == ["baseCurrency", "pendingPeriod"]
    assert await listed(client, tenant.admin) == DEFAULTS


async def test_an_unknown_setting_is_400_unknown_setting(client: httpx.AsyncClient, tenant: TenantKit):
    posted = await client.post("/v1/settings", headers=tenant.admin, json={"name": "favouriteColour", "value": "red"})
    assert_fail(posted, 400, "UNKNOWN_SETTING")
    patched = await client.patch("/v1/settings", headers=tenant.admin, json={"timezone": "UTC", "colour": "red"})
    data = assert_fail(patched, 400, "UNKNOWN_SETTING")
    assert data["errors"] == [{"field": "colour", "message": "unknown setting"}]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("pointsCurrencyValue", "0"),
        ("pointsCurrencyValue", "-0.01"),
        ("pointsCurrencyValue", "one penny"),
        ("pointsCurrencyValue", 0.01),
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "../../etc/passwd"),
        ("timezone", 0),
        ("baseCurrency", "gbp"),
        ("baseCurrency", "POUND"),
        ("discountStacking", "ALL"),
        ("discountStacking", ["STACK"]),
        ("discountStacking", {"mode": "STACK"}),
        ("pendingPeriod", "14 days"),
        ("pendingPeriod", "P1M"),
        ("pendingPeriod", "P1Y"),
        ("pendingPeriod", "PT0S"),
        ("pendingPeriod", 14),
        ("restoreVouchersOnRefund", "yes"),
        ("restoreVouchersOnRefund", None),
    ],
)
async def test_an_invalid_value_is_400_invalid_setting_naming_it(
    client: httpx.AsyncClient, tenant: TenantKit, name: str, value: Any
):
    answer = await client.post("/v1/settings", headers=tenant.admin, json={"name": name, "value": value})

    data = assert_fail(answer, 400, "INVALID_SETTING")
    assert data["errors"][0]["field"] == name
    assert name in answer.json()["message"]


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("pendingPeriod", "PT12H", "PT12H"),
        ("pendingPeriod", "P1DT6H", "P1DT6H"),
        ("pendingPeriod", None, None),
        ("restoreVouchersOnRefund", "true", True),
        ("restoreVouchersOnRefund", True, True),
        ("timezone", "America/New_York", "America/New_York"),
        ("pointsCurrencyValue", "0.0125", "0.0125"),
    ],
)
async def test_valid_values_are_stored(
    client: httpx.AsyncClient, tenant: TenantKit, name: str, value: Any, stored: Any
):
    answer = await client.post("/v1/settings", headers=tenant.admin, json={"name": name, "value": value})

    assert answer.status_code == 201, answer.text
    assert (await listed(client, tenant.admin))[name] == stored


async def test_the_engine_reads_settings_typed(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    tenant_id = uuid.UUID(tenant.tenant_id)
    before = await db.run(lambda tx: settings_service.get_settings(tx, tenant_id), write=False)
    assert before == settings_service.TenantSettings()
    body = {
        "pointsCurrencyValue": "0.05",
        "timezone": "Asia/Tokyo",
        "discountStacking": "BEST_ONLY",
        "pendingPeriod": "P1DT12H",
        "restoreVouchersOnRefund": "true",
    }
    assert (await client.patch("/v1/settings", headers=tenant.admin, json=body)).status_code == 200

    after = await db.run(lambda tx: settings_service.get_settings(tx, tenant_id), write=False)

    assert after.points_currency_value == Decimal("0.05")
    assert str(after.zone) == "Asia/Tokyo"
    assert after.discount_stacking is DiscountStacking.BEST_ONLY
    assert after.pending_period == timedelta(days=1, hours=12)
    assert after.restore_vouchers_on_refund is True
    assert after.base_currency == "GBP"


async def test_a_settings_write_bumps_the_configuration_version(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    tenant_id = uuid.UUID(tenant.tenant_id)
    before = await db.run(lambda tx: config_version(tx, tenant_id), write=False)

    await client.post("/v1/settings", headers=tenant.admin, json={"name": "timezone", "value": "Europe/Madrid"})

    # Every write gives the configuration a new version.
    assert await db.run(lambda tx: config_version(tx, tenant_id), write=False) != before


async def test_pos_reads_but_may_not_write(client: httpx.AsyncClient, tenant: TenantKit):
    posted = await client.post("/v1/settings", headers=tenant.pos, json={"name": "baseCurrency", "value": "EUR"})
    assert_fail(posted, 403, "FORBIDDEN")
    assert_fail(await client.patch("/v1/settings", headers=tenant.pos, json={"baseCurrency": "EUR"}), 403, "FORBIDDEN")
    assert (await listed(client, tenant.pos))["baseCurrency"] == "GBP"


async def test_settings_belong_to_their_tenant(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    other = await make_tenant(client, db, "other shop")
    await client.post("/v1/settings", headers=tenant.admin, json={"name": "baseCurrency", "value": "USD"})

    assert (await listed(client, other.admin))["baseCurrency"] == "GBP"
    assert (await listed(client, tenant.admin))["baseCurrency"] == "USD"
