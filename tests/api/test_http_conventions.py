"""Cross-cutting HTTP rules of the API contract (§1): the JSend envelope, input validation, trailing slashes,
pagination, operations endpoints and request ids."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from loyalty.api.app import create_app
from loyalty.settings import Settings
from loyalty.storage.database import Database
from loyalty.storage.migrate import head_revision
from tests.conftest import TenantKit, adjust, create_member, make_tenant, member_body

HEX_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def assert_fail(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The JSend fail envelope with this status and code; returns ``data``."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    document = answer.json()
    assert document["status"] == "fail"
    assert isinstance(document["message"], str)
    assert document["message"]
    assert document["data"]["code"] == code
    return dict(document["data"])


def error_fields(data: dict[str, Any]) -> list[str]:
    return [e["field"] for e in data["errors"]]


async def member_total(client: httpx.AsyncClient, kit: TenantKit) -> int:
    answer = await client.get("/v1/users", headers=kit.admin)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["meta"]["total"])


# ---- envelope of routing failures ----


async def test_an_unknown_route_is_404_not_found_in_the_envelope(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.get("/v1/no_such_thing", headers=tenant.admin)
    data = assert_fail(answer, 404, "NOT_FOUND")
    assert data == {"code": "NOT_FOUND"}


async def test_an_unknown_route_outside_v1_is_also_enveloped(client: httpx.AsyncClient):
    assert_fail(await client.get("/nowhere"), 404, "NOT_FOUND")


async def test_a_wrong_method_is_405_method_not_allowed_in_the_envelope(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.put("/v1/users", headers=tenant.admin, json=member_body())
    assert_fail(answer, 405, "METHOD_NOT_ALLOWED")
    allowed = {m.strip() for m in answer.headers["allow"].split(",")}
    assert "POST" in allowed
    assert "PUT" not in allowed


# ---- request bodies ----


async def test_a_malformed_json_body_is_400_malformed_json(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post(
        "/v1/users",
        headers={**tenant.admin, "Content-Type": "application/json"},
        content=b'{"profile": {"givenName": "Ada",',
    )
    data = assert_fail(answer, 400, "MALFORMED_JSON")
    assert error_fields(data) == ["body"]


async def test_a_missing_body_is_400_validation_error(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post("/v1/users", headers={**tenant.admin, "Content-Type": "application/json"}, content=b"")
    data = assert_fail(answer, 400, "VALIDATION_ERROR")
    assert error_fields(data) == ["body"]


async def test_a_json_body_that_is_not_an_object_is_400_validation_error(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post("/v1/users", headers=tenant.admin, json=[member_body()])
    data = assert_fail(answer, 400, "VALIDATION_ERROR")
    assert error_fields(data) == ["body"]


async def test_an_unknown_top_level_field_is_400_unknown_field(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post("/v1/users", headers=tenant.admin, json=member_body(points=5))
    data = assert_fail(answer, 400, "UNKNOWN_FIELD")
    assert error_fields(data) == ["points"]
    assert "points" in answer.json()["message"]


async def test_an_unknown_nested_field_is_named_by_its_path(client: httpx.AsyncClient, tenant: TenantKit):
    body = member_body()
    body["profile"]["foo"] = "bar"
    data = assert_fail(await client.post("/v1/users", headers=tenant.admin, json=body), 400, "UNKNOWN_FIELD")
    assert error_fields(data) == ["profile.foo"]


async def test_snake_case_field_names_are_unknown_fields(client: httpx.AsyncClient, tenant: TenantKit):
    body = member_body()
    body["auth_identifier"] = body.pop("authIdentifier")
    data = assert_fail(await client.post("/v1/users", headers=tenant.admin, json=body), 400, "UNKNOWN_FIELD")
    assert error_fields(data) == ["auth_identifier"]


async def test_unknown_fields_are_refused_on_commands_too(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    answer = await adjust(client, tenant.admin, member["id"], 10, burnedAt="2025-01-01T00:00:00Z")
    data = assert_fail(answer, 400, "UNKNOWN_FIELD")
    assert error_fields(data) == ["burnedAt"]


@pytest.mark.parametrize("field", ["userToken", "referralInviteCode"])
async def test_a_wll_user_field_the_engine_does_not_implement_is_400_unsupported_field(
    client: httpx.AsyncClient, tenant: TenantKit, field: str
):
    answer = await client.post("/v1/users", headers=tenant.admin, json=member_body(**{field: "abc"}))
    data = assert_fail(answer, 400, "UNSUPPORTED_FIELD")
    assert error_fields(data) == [field]
    assert field in answer.json()["message"]


async def test_an_unsupported_profile_field_is_named_by_its_path(client: httpx.AsyncClient, tenant: TenantKit):
    body = member_body()
    body["profile"]["attributionData"] = {"campaign": "spring"}
    data = assert_fail(await client.post("/v1/users", headers=tenant.admin, json=body), 400, "UNSUPPORTED_FIELD")
    assert error_fields(data) == ["profile.attributionData"]


async def test_unsupported_fields_are_refused_on_patch_too(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    answer = await client.patch(f"/v1/users/{member['id']}", headers=tenant.admin, json={"referralActivity": {}})
    data = assert_fail(answer, 400, "UNSUPPORTED_FIELD")
    assert error_fields(data) == ["referralActivity"]


@pytest.mark.parametrize(
    ("profile_change", "field"),
    [
        ({"emailAddress": "not-an-email"}, "profile.emailAddress"),
        ({"givenName": "A" * 65}, "profile.givenName"),
        ({"familyName": ""}, "profile.familyName"),
        ({"birthdate": "1990-13-01"}, "profile.birthdate"),
        ({"birthdate": "01/02/1990"}, "profile.birthdate"),
        ({"country": "gb"}, "profile.country"),
        ({"gender": "ROBOT"}, "profile.gender"),
    ],
)
async def test_schema_invalid_values_are_400_validation_error_with_field_paths(
    client: httpx.AsyncClient, tenant: TenantKit, profile_change: dict[str, str], field: str
):
    body = member_body()
    body["profile"].update(profile_change)
    data = assert_fail(await client.post("/v1/users", headers=tenant.admin, json=body), 400, "VALIDATION_ERROR")
    assert error_fields(data) == [field]
    assert all(e["message"] for e in data["errors"])


async def test_a_missing_required_profile_field_is_named(client: httpx.AsyncClient, tenant: TenantKit):
    body = member_body()
    del body["profile"]["emailAddress"]
    data = assert_fail(await client.post("/v1/users", headers=tenant.admin, json=body), 400, "VALIDATION_ERROR")
    assert error_fields(data) == ["profile.emailAddress"]


async def test_every_invalid_field_is_listed(client: httpx.AsyncClient, tenant: TenantKit):
    body = member_body()
    body["profile"].update(emailAddress="nope", givenName="A" * 65)
    data = assert_fail(await client.post("/v1/users", headers=tenant.admin, json=body), 400, "VALIDATION_ERROR")
    assert sorted(error_fields(data)) == ["profile.emailAddress", "profile.givenName"]


async def test_a_given_name_of_64_characters_is_accepted(client: httpx.AsyncClient, tenant: TenantKit):
    body = member_body()
    body["profile"]["givenName"] = "A" * 64
    answer = await client.post("/v1/users", headers=tenant.admin, json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["profile"]["givenName"] == "A" * 64


async def test_nothing_is_written_when_a_request_is_refused_with_400(client: httpx.AsyncClient, db: Database):
    kit = await make_tenant(client, db, "refusals")
    assert await member_total(client, kit) == 0
    bad_email = member_body()
    bad_email["profile"]["emailAddress"] = "nope"
    refused = [
        await client.post("/v1/users", headers=kit.admin, json=member_body(points=5)),
        await client.post("/v1/users", headers=kit.admin, json=member_body(userToken="t")),
        await client.post("/v1/users", headers=kit.admin, json=bad_email),
        await client.post(
            "/v1/users", headers={**kit.admin, "Content-Type": "application/json"}, content=b'{"profile": '
        ),
    ]
    assert [a.status_code for a in refused] == [400, 400, 400, 400]
    assert await member_total(client, kit) == 0

    member = await create_member(client, kit.admin)
    assert (await adjust(client, kit.admin, member["id"], 10, comment="x" * 1001)).status_code == 400
    assert (await adjust(client, kit.admin, member["id"], 10, tier="gold")).status_code == 400
    ledger = await client.get(f"/v1/users/{member['id']}/points", headers=kit.admin)
    assert ledger.json()["meta"]["total"] == 0
    wallet = await client.get(f"/v1/users/{member['id']}/wallet", headers=kit.admin)
    assert wallet.json()["data"]["points"] == 0
    assert await member_total(client, kit) == 1


# ---- success envelope ----


async def test_a_success_is_enveloped_with_data(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post("/v1/users", headers=tenant.admin, json=member_body())
    assert answer.status_code == 200
    document = answer.json()
    assert set(document) == {"status", "data"}
    assert document["status"] == "success"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", document["data"]["createdAt"])


# ---- trailing slash ----


async def test_a_collection_accepts_a_trailing_slash(client: httpx.AsyncClient, db: Database):
    kit = await make_tenant(client, db, "slashes")
    created = await client.post("/v1/users/", headers=kit.admin, json=member_body())
    assert created.status_code == 200, created.text
    member_id = created.json()["data"]["id"]

    with_slash = await client.get("/v1/users/", headers=kit.admin)
    without_slash = await client.get("/v1/users", headers=kit.admin)
    assert with_slash.status_code == 200
    assert with_slash.json() == without_slash.json()
    assert [m["id"] for m in with_slash.json()["data"]] == [member_id]

    one = await client.get(f"/v1/users/{member_id}/", headers=kit.admin)
    assert one.status_code == 200
    assert one.json()["data"]["id"] == member_id


# ---- pagination ----


async def test_lists_carry_limit_skip_and_total_and_page_in_both_orders(client: httpx.AsyncClient, db: Database):
    kit = await make_tenant(client, db, "pages")
    created = [(await create_member(client, kit.admin))["id"] for _ in range(3)]

    default = await client.get("/v1/users", headers=kit.admin)
    assert default.json()["meta"] == {"limit": 20, "skip": 0, "total": 3}
    assert [m["id"] for m in default.json()["data"]] == created[::-1]  # newest first by default

    ascending = await client.get("/v1/users", headers=kit.admin, params={"order": "ASC"})
    assert [m["id"] for m in ascending.json()["data"]] == created
    descending = await client.get("/v1/users", headers=kit.admin, params={"order": "DESC"})
    assert [m["id"] for m in descending.json()["data"]] == created[::-1]

    first = await client.get("/v1/users", headers=kit.admin, params={"limit": 2, "order": "ASC"})
    assert first.json()["meta"] == {"limit": 2, "skip": 0, "total": 3}
    assert [m["id"] for m in first.json()["data"]] == created[:2]
    rest = await client.get("/v1/users", headers=kit.admin, params={"limit": 2, "skip": 2, "order": "ASC"})
    assert rest.json()["meta"] == {"limit": 2, "skip": 2, "total": 3}
    assert [m["id"] for m in rest.json()["data"]] == created[2:]
    beyond = await client.get("/v1/users", headers=kit.admin, params={"skip": 3})
    assert beyond.json()["data"] == []
    assert beyond.json()["meta"] == {"limit": 20, "skip": 3, "total": 3}

    biggest = await client.get("/v1/users", headers=kit.admin, params={"limit": 1000})
    assert biggest.status_code == 200
    assert biggest.json()["meta"]["limit"] == 1000


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"skip": -1}, "skip"),
        ({"order": "SIDEWAYS"}, "order"),
    ],
)
async def test_out_of_range_pagination_is_400(
    client: httpx.AsyncClient, tenant: TenantKit, params: dict[str, Any], field: str
):
    data = assert_fail(await client.get("/v1/users", headers=tenant.admin, params=params), 400, "VALIDATION_ERROR")
    assert error_fields(data) == [field]


async def test_the_points_ledger_is_paginated_too(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    for points in (1, 2, 3):
        assert (await adjust(client, tenant.admin, member["id"], points)).status_code == 200
    page = await client.get(f"/v1/users/{member['id']}/points", headers=tenant.admin, params={"limit": 2})
    assert page.json()["meta"] == {"limit": 2, "skip": 0, "total": 3}
    assert [e["delta"] for e in page.json()["data"]] == [3, 2]
    ascending = await client.get(f"/v1/users/{member['id']}/points", headers=tenant.admin, params={"order": "ASC"})
    assert [e["delta"] for e in ascending.json()["data"]] == [1, 2, 3]
    refused = await client.get(f"/v1/users/{member['id']}/points", headers=tenant.admin, params={"limit": 1001})
    assert_fail(refused, 400, "VALIDATION_ERROR")


# ---- operations endpoints ----


async def test_healthz_answers_200(client: httpx.AsyncClient):
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "success", "data": {"alive": True}}


async def test_readyz_answers_200_with_the_schema_revision(client: httpx.AsyncClient):
    answer = await client.get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "success", "data": {"ready": True, "revision": head_revision()}}


def _gauge(text: str, name: str) -> float:
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")]
    assert len(values) == 1, text
    return values[0]


async def test_metrics_count_requests_and_ledger_entries(client: httpx.AsyncClient, tenant: TenantKit):
    assert (await client.get("/healthz")).status_code == 200
    before = await client.get("/metrics")
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    assert 'loyalty_http_requests_total{method="GET",route="/healthz",status="200"}' in before.text
    entries_before = _gauge(before.text, "loyalty_ledger_entries")

    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 5)).status_code == 200
    assert (await adjust(client, tenant.admin, member["id"], -2)).status_code == 200
    after = await client.get("/metrics")
    assert _gauge(after.text, "loyalty_ledger_entries") == entries_before + 2
    assert 'loyalty_http_requests_total{method="POST",route="/v1/commands/adjust_points",status="200"}' in after.text


async def test_unmatched_paths_are_counted_under_one_label(client: httpx.AsyncClient):
    assert (await client.get("/v1/not-a-route-at-all")).status_code == 404
    text = (await client.get("/metrics")).text
    assert 'route="unmatched",status="404"' in text
    assert "not-a-route-at-all" not in text


# ---- request ids ----


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient, tenant: TenantKit):
    answers = [
        await client.get("/healthz"),
        await client.get("/v1/users", headers=tenant.admin),
        await client.get("/v1/users"),
        await client.get("/v1/no_such_thing"),
        await client.post("/v1/users", headers=tenant.admin, json=member_body(points=1)),
    ]
    ids = [a.headers.get("x-request-id") for a in answers]
    assert [a.status_code for a in answers] == [200, 200, 401, 404, 400]
    assert all(i is not None and HEX_REQUEST_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)


async def test_a_sane_client_request_id_is_echoed(client: httpx.AsyncClient):
    answer = await client.get("/healthz", headers={"X-Request-Id": "till-3:req-42"})
    assert answer.headers["x-request-id"] == "till-3:req-42"


async def test_an_oversized_client_request_id_is_replaced(client: httpx.AsyncClient):
    offered = "r" * 65
    answer = await client.get("/healthz", headers={"X-Request-Id": offered})
    assert answer.headers["x-request-id"] != offered
    assert HEX_REQUEST_ID.match(answer.headers["x-request-id"])


# ---- unexpected failures ----


async def test_an_unexpected_failure_is_500_in_the_error_envelope_without_a_trace(db_url: str, db: Database):
    app = create_app(Settings(database_url=db_url), database=db)

    @app.get("/v1/explode")
    async def explode() -> None:
        raise RuntimeError("secret internal detail")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://engine.test") as http:
        answer = await http.get("/v1/explode", headers={"X-Request-Id": "crash-1"})
    assert answer.status_code == 500
    document = answer.json()
    assert document == {
        "status": "error",
        "message": "The server failed to process the request; nothing was changed.",
        "requestId": "crash-1",
    }
    assert "secret internal detail" not in answer.text
    assert "Traceback" not in answer.text
