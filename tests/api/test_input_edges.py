"""Edges found by probing the API: each was once a wrong answer."""

from typing import Any

import httpx
import pytest
from fastapi import APIRouter

from loyalty.api.app import create_app
from loyalty.settings import Settings
from tests.conftest import TenantKit, create_member, get_token, make_tenant, member_body


async def test_an_admin_only_client_may_ask_for_a_pos_scoped_token(client, db, tenant: TenantKit):
    answer = await client.post(
        "/v1/oauth/token",
        headers=tenant.anonymous,
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.admin_client_id,
            "client_secret": tenant.admin_secret,
            "scope": "pos",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "pos"
    narrowed = {**tenant.anonymous, "Authorization": f"Bearer {answer.json()['access_token']}"}
    member = await create_member(client, narrowed)
    assert (await client.get(f"/v1/users/{member['id']}/wallet", headers=narrowed)).status_code == 200
    refused = await client.post(
        "/v1/commands/adjust_points", headers=narrowed, json={"actorId": member["id"], "points": 5}
    )
    assert refused.status_code == 403


async def test_an_admin_token_also_calls_pos_routes(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await client.get(f"/v1/users/{member['id']}/points", headers=tenant.admin)).status_code == 200


@pytest.mark.parametrize("value", [2**70, -(2**70)])
async def test_an_attribute_beyond_64_bits_is_400_not_500(client, tenant: TenantKit, value):
    body = {
        "profile": {
            "givenName": "Big",
            "familyName": "Number",
            "emailAddress": "big@example.com",
            "attributes": {"nested": {"n": [value]}},
        }
    }
    answer = await client.post("/v1/users", headers=tenant.admin, json=body)
    assert answer.status_code == 400
    assert answer.json()["data"]["code"] == "VALIDATION_ERROR"
    assert answer.json()["data"]["errors"][0]["field"] == "profile.attributes"


# PostgreSQL's jsonb gave such a float back as an integer of hundreds of digits, which no answer could render.
@pytest.mark.parametrize("value", [1e300, -(2.0**70), 1.7976931348623157e308])
async def test_a_float_attribute_beyond_64_bits_reads_back_as_that_float(
    client: httpx.AsyncClient, tenant: TenantKit, value: float
) -> None:
    body = member_body()
    body["profile"]["attributes"] = {"big": value}
    created = await client.post("/v1/users", headers=tenant.admin, json=body)
    assert created.status_code == 200, created.text
    read = await client.get(f"/v1/users/{created.json()['data']['id']}", headers=tenant.admin)
    assert read.status_code == 200, read.text
    assert read.json()["data"]["profile"]["attributes"] == {"big": value}


async def test_a_nan_attribute_is_refused(client, tenant: TenantKit):
    raw = (
        b'{"profile": {"givenName": "N", "familyName": "N", "emailAddress": "n@example.com", "attributes": {"x": NaN}}}'
    )
    answer = await client.post("/v1/users", headers={**tenant.admin, "Content-Type": "application/json"}, content=raw)
    assert answer.status_code == 400


@pytest.mark.parametrize("field", ["givenName", "familyName", "emailAddress"])
async def test_a_patch_cannot_null_a_required_profile_field(client, tenant: TenantKit, field):
    member = await create_member(client, tenant.admin)
    answer = await client.patch(f"/v1/users/{member['id']}", headers=tenant.admin, json={"profile": {field: None}})
    assert answer.status_code == 400
    assert answer.json()["data"]["errors"][0]["field"] == f"profile.{field}"
    stored = (await client.get(f"/v1/users/{member['id']}", headers=tenant.admin)).json()["data"]
    assert stored["profile"][field] == member["profile"][field]


async def test_405_lists_every_allowed_method(client, tenant: TenantKit):
    answer = await client.put("/v1/users", headers=tenant.admin)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"


async def test_a_500_carries_the_request_id_header_and_body(db_url, db):
    app = create_app(Settings(database_url=db_url), database=db)
    router = APIRouter()

    @router.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("boom")

    app.router.routes.extend(router.routes)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://engine.test") as http:
        answer = await http.get("/v1/broken/", headers={"X-Request-Id": "req-500"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "req-500"
    assert answer.json() == {
        "status": "error",
        "message": "The server failed to process the request; nothing was changed.",
        "requestId": "req-500",
    }


async def test_openapi_requires_the_api_key_and_the_token_together(client):
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/v1/users"]["get"]
    assert operation["security"] == [{"APIKeyHeader": [], "HTTPBearer": []}]
    assert "500" in document["paths"]["/v1/oauth/token"]["post"]["responses"]


async def test_tokens_of_a_second_tenant_work_beside_the_first(client, db, tenant: TenantKit):
    other = await make_tenant(client, db, "other shop")
    token = await get_token(client, other.api_key, other.admin_client_id, other.admin_secret)
    answer = await client.get("/v1/users", headers={**other.anonymous, "Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["meta"]["total"] == 0


# U+0000 cannot be stored by PostgreSQL, where each of these used to fail with a 500.
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/users",
            member_body(profile={"givenName": "A\x00", "familyName": "B", "emailAddress": "a@b.co"}),
            "profile.givenName",
        ),
        ("/v1/users", member_body(flags={"st\x00aff": True}), "flags"),
        ("/v1/venues", {"name": "High St", "attributes": {"hours": ["9\x00-5"]}}, "attributes"),
        ("/v1/commands/validate_voucher", {"code": "SUMMER\x005"}, "code"),
    ],
)
async def test_a_nul_character_in_a_body_is_400_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantKit, path: str, body: dict[str, Any], field: str
) -> None:
    answer = await client.post(path, headers=tenant.admin, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["data"]["code"] == "VALIDATION_ERROR"
    assert answer.json()["data"]["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/users/ada%00", 404, "USER_NOT_FOUND"),
        ("/v1/users?search=ada%00", 200, None),
        ("/v1/events?subject=ada%00", 404, "USER_NOT_FOUND"),
        ("/v1/events?type=VISITED%00", 200, None),
        ("/v1/event_types/VISITED%00", 404, "EVENT_TYPE_NOT_FOUND"),
        ("/v1/event_reactors?eventType=VISITED%00", 200, None),
        ("/v1/venues/37%002", 404, "VENUE_NOT_FOUND"),
        ("/v1/orders/STORE%00372", 404, "ORDER_NOT_FOUND"),
    ],
)
async def test_a_lookup_by_text_holding_a_nul_character_finds_nothing(
    client: httpx.AsyncClient, tenant: TenantKit, path: str, status: int, code: str | None
) -> None:
    answer = await client.get(path, headers=tenant.admin)
    assert answer.status_code == status, answer.text
    if code is None:
        assert answer.json()["data"] == []
    else:
        assert answer.json()["data"]["code"] == code
