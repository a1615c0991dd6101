"""Each request is logged as one JSON line with its id, and nothing secret or personal reaches the log."""

import io
import json

import structlog

from loyalty.api.observability import configure_logging
from tests.conftest import TenantKit, create_member


async def test_a_request_log_line_names_the_route_and_caller_but_no_secret_or_personal_data(client, tenant: TenantKit):
    captured = io.StringIO()
    configure_logging("INFO", captured, cache=False)
    try:
        member = await create_member(client, tenant.admin)
        answer = await client.get(
            f"/v1/users/{member['id']}/wallet", headers={**tenant.admin, "X-Request-Id": "till-7-req-42"}
        )
    finally:
        structlog.reset_defaults()
    assert answer.headers["x-request-id"] == "till-7-req-42"
    lines = [json.loads(line) for line in captured.getvalue().splitlines() if line.startswith("{")]
    wallet_line = next(line for line in lines if line.get("request_id") == "till-7-req-42")
    assert wallet_line["route"] == "/v1/users/{id}/wallet"
    assert wallet_line["status"] == 200
    assert wallet_line["tenant_id"] == tenant.tenant_id
    assert wallet_line["credential"] == f"client:{tenant.admin_client_id}"
    everything = captured.getvalue()
    token = tenant.admin["Authorization"].removeprefix("Bearer ")
    for secret_or_pii in (tenant.api_key, token, member["profile"]["emailAddress"], "Lovelace"):
        assert secret_or_pii not in everything
