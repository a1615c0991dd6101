"""Edges of reactor definitions and event handling found by probing: each was once a wrong answer."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.api.test_reactors import (
    assert_fail,
    balance,
    create_badge,
    create_reactor,
    create_type,
    ok,
    points_reaction,
    post_reactor,
    visit,
)
from tests.conftest import TenantKit, create_member


@pytest.mark.parametrize("policy", [[], {}, 3])
async def test_a_non_string_liability_policy_is_400(client, tenant: TenantKit, policy: Any):
    await create_type(client, tenant)
    reaction = {**points_reaction(5), "liabilityHandlingPolicy": policy}
    assert_fail(await post_reactor(client, tenant, reactions=[reaction]), 400, "INVALID_REACTION")


async def test_a_malformed_webhook_url_is_400(client, tenant: TenantKit):
    await create_type(client, tenant)
    reaction = {"type": "WEBHOOK", "url": "http://[::1"}
    assert_fail(await post_reactor(client, tenant, reactions=[reaction]), 400, "INVALID_REACTION")


async def test_webhook_for_failure_is_unsupported(client, tenant: TenantKit):
    await create_type(client, tenant)
    reaction = {"type": "WEBHOOK", "url": "https://example.com/hook", "forFailure": True}
    assert_fail(await post_reactor(client, tenant, reactions=[reaction]), 400, "UNSUPPORTED_FIELD")


@pytest.mark.parametrize("direction", [{}, "", 0, False])
async def test_a_rounding_direction_that_is_not_up_or_down_is_400(client, tenant: TenantKit, direction: Any):
    await create_type(client, tenant)
    reaction = {"type": "POINTS", "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "5"}]}}
    reaction["points"]["roundingDirection"] = direction
    assert_fail(await post_reactor(client, tenant, reactions=[reaction]), 400, "INVALID_DERIVATION")


async def test_flags_of_reactions_must_be_real_booleans(client, tenant: TenantKit):
    await create_type(client, tenant)
    attribute = {"type": "ATTRIBUTE", "attributes": [{"isEnabled": "false", "key": "k", "value": "v"}]}
    assert_fail(await post_reactor(client, tenant, reactions=[attribute]), 400, "INVALID_REACTION")
    points = {**points_reaction(5), "bypassCaps": "no"}
    assert_fail(await post_reactor(client, tenant, reactions=[points]), 400, "INVALID_REACTION")


async def test_a_schema_with_a_remote_reference_is_refused_and_never_fetched(client, tenant: TenantKit):
    hits: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "object"}')

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        remote = {"type": "object", "$ref": f"http://127.0.0.1:{server.server_port}/x.json"}
        body = {"name": "REMOTE_THING", "description": "x", "schema": remote}
        assert_fail(await client.post("/v1/event_types", headers=tenant.admin, json=body), 400, "INVALID_SCHEMA")
        await create_type(client, tenant)
        assert_fail(await post_reactor(client, tenant, constraint=remote), 400, "INVALID_SCHEMA")
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


async def dedupe_type(client, tenant: TenantKit) -> None:
    body = {"name": "PAID", "description": "x", "schema": {"type": "object"}, "dedupeKeyPath": "$.transactionId"}
    ok(await client.post("/v1/event_types", headers=tenant.admin, json=body))
    reactor = {"name": "Pay", "eventType": "PAID", "reactions": [points_reaction(1)]}
    ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=reactor))


async def test_long_keys_sharing_a_prefix_are_not_duplicates(client, tenant: TenantKit):
    await dedupe_type(client, tenant)
    member = await create_member(client, tenant.admin)
    for suffix in ("A", "B"):
        body = {"type": "PAID", "subject": member["id"], "payload": {"transactionId": "T" * 600 + suffix}}
        assert ok(await client.post("/v1/events", headers=tenant.pos, json=body))["duplicate"] is False
    assert await balance(client, tenant, member) == 2


async def test_a_number_and_a_string_are_different_keys(client, tenant: TenantKit):
    await dedupe_type(client, tenant)
    member = await create_member(client, tenant.admin)
    for key in (123, "123"):
        body = {"type": "PAID", "subject": member["id"], "payload": {"transactionId": key}}
        assert ok(await client.post("/v1/events", headers=tenant.pos, json=body))["duplicate"] is False
    again = {"type": "PAID", "subject": member["id"], "payload": {"transactionId": 123}}
    assert ok(await client.post("/v1/events", headers=tenant.pos, json=again))["duplicate"] is True
    assert await balance(client, tenant, member) == 2


async def test_awarding_an_inactive_badge_is_a_conflict(client, tenant: TenantKit):
    badge = await create_badge(client, tenant)
    ok(await client.patch(f"/v1/badges/{badge['id']}", headers=tenant.admin, json={"status": "INACTIVE"}))
    member = await create_member(client, tenant.admin)
    answer = await client.post(
        "/v1/commands/award_badge", headers=tenant.admin, json={"badgeId": badge["id"], "beneficiaryId": member["id"]}
    )
    assert_fail(answer, 409, "BADGE_NOT_ACTIVE")


async def test_anonymous_events_do_not_use_up_a_global_limit(client, tenant: TenantKit):
    await create_type(client, tenant)
    await create_reactor(client, tenant, maxActivations=1, activationContext="GLOBAL")
    anonymous = ok(await client.post("/v1/events", headers=tenant.pos, json={"type": "VISITED_SHOP"}))
    assert [(r["status"], r["reason"]) for r in anonymous["reactions"]] == [("SKIPPED", "NO_SUBJECT")]
    member = await create_member(client, tenant.admin)
    answered = await visit(client, tenant, member)
    assert [r["status"] for r in answered["reactions"]] == ["APPLIED"]
    assert await balance(client, tenant, member) == 10
