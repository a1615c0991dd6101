"""The audit trail (ext): every successful change by an admin client is recorded in the change's own transaction —
and nothing else is: not pos clients, not members, not reads or dry runs, not failures, not idempotent replays.
``GET /v1/audit_log`` pages through it with filters, ``GET /v1/audit_log/{id}`` reads one entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import time_machine

from loyalty.domain.audit import MAX_BODY_BYTES, REDACTED
from tests.api.catalogue import assert_fail, enable_member_tokens, member_headers, ok
from tests.api.test_points_lifecycle import headers_now
from tests.conftest import TenantKit, adjust, create_member, get_token, make_tenant, member_body

LOG = "/v1/audit_log"


async def log(client: httpx.AsyncClient, kit: TenantKit, **params: Any) -> list[dict[str, Any]]:
    return list(ok(await client.get(LOG, headers=kit.admin, params={"limit": 1000, **params})))


async def audience(client: httpx.AsyncClient, kit: TenantKit) -> dict[str, Any]:
    body = {"name": "Everyone", "criteriaDefinition": {"criteria": {"type": "object"}, "triggerFrequency": "MANUAL"}}
    return dict(ok(await client.post("/v1/audiences", headers=kit.admin, json=body)))


async def test_an_admin_change_is_recorded_with_who_what_and_how_it_ended(client: httpx.AsyncClient, tenant: TenantKit):
    body = member_body()
    member = ok(await client.post("/v1/users", headers=tenant.admin, json=body))

    [entry] = await log(client, tenant)
    assert entry == {
        "id": entry["id"],
        "occurredAt": entry["occurredAt"],
        "actor": {"clientId": tenant.admin_client_id, "name": "admin"},
        "method": "POST",
        "route": "/v1/users",
        "path": "/v1/users",
        "targetIds": {},
        "requestBody": body,
        "requestBodyTruncated": False,
        "status": 200,
        "idempotencyKey": None,
    }
    assert ok(await client.get(f"{LOG}/{entry['id']}", headers=tenant.admin)) == entry
    occurred = datetime.fromisoformat(entry["occurredAt"])
    assert abs(occurred - datetime.now(UTC)) < timedelta(minutes=1)

    patched = await client.patch(
        f"/v1/users/{member['accountNumber']}",
        headers={**tenant.admin, "Idempotency-Key": "rename-1"},
        json={"profile": {"givenName": "Augusta"}},
    )
    ok(patched)
    latest = (await log(client, tenant))[0]
    assert (latest["method"], latest["route"], latest["path"]) == (
        "PATCH",
        "/v1/users/{id}",
        f"/v1/users/{member['accountNumber']}",
    )
    assert latest["targetIds"] == {"id": member["accountNumber"]}
    assert latest["idempotencyKey"] == "rename-1"
    assert latest["requestBody"] == {"profile": {"givenName": "Augusta"}}


async def test_the_status_and_the_targets_of_a_nested_route(client: httpx.AsyncClient, tenant: TenantKit):
    reward = ok(
        await client.post(
            "/v1/rewards",
            headers=tenant.admin,
            json={"type": "VOUCHER", "name": "Coffee", "price": 10, "purchasable": True},
        )
    )
    ok(
        await client.post(
            f"/v1/rewards/{reward['id']}/discounts", headers=tenant.admin, json={"type": "ABSOLUTE", "value": 50}
        ),
        201,
    )
    latest = (await log(client, tenant))[0]
    assert (latest["route"], latest["status"], latest["targetIds"]) == (
        "/v1/rewards/{rewardId}/discounts",
        201,
        {"rewardId": reward["id"]},
    )


async def test_an_idempotent_replay_records_nothing_more(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    headers = {**tenant.admin, "Idempotency-Key": "bonus-7"}
    first = await adjust(client, headers, member["id"], 25)
    again = await adjust(client, headers, member["id"], 25)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"

    adjustments = await log(client, tenant, action="/v1/commands/adjust_points")
    assert len(adjustments) == 1
    assert adjustments[0]["idempotencyKey"] == "bonus-7"
    assert adjustments[0]["requestBody"] == {"actorId": member["id"], "points": 25}


async def test_a_failed_command_leaves_no_entry(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    before = await log(client, tenant)
    # Refused by a business rule inside the effect: rolled back, entry and all.
    refused = await adjust(client, tenant.admin, member["id"], -50, liabilityHandlingPolicy="REJECT_EVENT")
    assert_fail(refused, 422, "INSUFFICIENT_POINTS")
    # Refused before the effect.
    assert_fail(await adjust(client, tenant.admin, member["id"], 0), 400, "INVALID_POINTS")
    assert_fail(await adjust(client, tenant.admin, str(uuid.uuid4()), 5), 404, "USER_NOT_FOUND")
    assert_fail(await client.post("/v1/users", headers=tenant.admin, json={"nope": 1}), 400, "UNKNOWN_FIELD")
    assert await log(client, tenant) == before


async def test_pos_clients_members_reads_and_dry_runs_are_not_recorded(
    client: httpx.AsyncClient, db: Any, tenant: TenantKit
):
    await enable_member_tokens(db, tenant)
    member = await create_member(client, tenant.admin)
    before = await log(client, tenant)
    assert len(before) == 1

    # A till signs a member up and reports a sale.
    ok(await client.post("/v1/users", headers=tenant.pos, json=member_body()))
    order = {
        "externalId": "T-1",
        "submitter": {"id": member["id"]},
        "currency": "GBP",
        "lineItems": [{"sku": "LATTE", "quantity": 1, "unitPrice": 350, "total": 350}],
        "totals": {"subtotal": 350, "total": 350},
    }
    ok(await client.post("/v1/orders", headers=tenant.pos, json=order))
    # A member changes their own profile.
    ok(
        await client.patch(
            f"/v1/users/{member['id']}",
            headers=member_headers(tenant, member),
            json={"profile": {"givenName": "Mine"}},
        )
    )
    # Reads and dry runs by an admin.
    ok(await client.get(f"/v1/users/{member['id']}", headers=tenant.admin))
    basket = {"currency": "GBP", "user": member["id"], "lineItems": [{"sku": "LATTE", "quantity": 1, "unitPrice": 350}]}
    ok(await client.post("/v1/baskets/price", headers=tenant.admin, json=basket))
    event_type = {"name": "VISITED", "schema": {"type": "object"}}
    ok(await client.post("/v1/event_types", headers=tenant.admin, json=event_type))
    dry = {"type": "VISITED", "subject": member["id"], "payload": {}}
    ok(await client.post("/v1/events/test_reaction", headers=tenant.admin, json=dry))
    definition = {"name": "All", "criteriaDefinition": {"criteria": {}}}
    ok(await client.post("/v1/audiences/count", headers=tenant.admin, json=definition))

    # Only the event type, the one admin change among them, was added.
    after = await log(client, tenant)
    assert [e["route"] for e in after] == ["/v1/event_types", "/v1/users"]
    assert after[1:] == before


async def test_secrets_in_a_body_are_redacted_and_a_large_body_is_cut(client: httpx.AsyncClient, tenant: TenantKit):
    group = await audience(client, tenant)
    refresh = f"/v1/audiences/{group['id']}/refresh"
    # The refresh takes no body; whatever is sent is recorded, as sent, but never a secret.
    sent = {"note": "quarterly", "clientSecret": "hunter2", "nested": [{"password": "pw", "keep": 1}]}
    ok(await client.post(refresh, headers=tenant.admin, json=sent))
    entry = (await log(client, tenant))[0]
    assert entry["requestBody"] == {
        "note": "quarterly",
        "clientSecret": REDACTED,
        "nested": [{"password": REDACTED, "keep": 1}],
    }
    assert entry["requestBodyTruncated"] is False
    assert entry["targetIds"] == {"id": group["id"]}

    large = {"apiKey": "k" * 100, "filler": "x" * (2 * MAX_BODY_BYTES)}
    ok(await client.post(refresh, headers=tenant.admin, json=large))
    entry = (await log(client, tenant))[0]
    assert entry["requestBodyTruncated"] is True
    assert isinstance(entry["requestBody"], str)
    assert len(entry["requestBody"].encode()) == MAX_BODY_BYTES
    assert entry["requestBody"].startswith('{"apiKey":"[REDACTED]","filler":"xxx')
    assert "k" * 10 not in entry["requestBody"]


async def test_filters_order_and_pages(client: httpx.AsyncClient, tenant: TenantKit):
    day0 = datetime(2031, 6, 2, 9, 0, tzinfo=UTC)
    members = []
    for day in range(3):
        with time_machine.travel(day0 + timedelta(days=day)):
            admin = await headers_now(client, tenant)
            member = await create_member(client, admin)
            ok(await adjust(client, admin, member["id"], 10 + day))
            ok(await client.patch(f"/v1/users/{member['id']}", headers=admin, json={"flags": {"vip": day != 1}}))
            members.append(member)
    with time_machine.travel(day0 + timedelta(days=4)):
        # Another admin client of the tenant.
        created = ok(
            await client.post(
                "/v1/clients", headers=await headers_now(client, tenant), json={"name": "ops", "scopes": ["admin"]}
            )
        )
        token = await get_token(client, tenant.api_key, created["clientId"], created["clientSecret"])
        other = {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {token}"}
        ok(await client.delete(f"/v1/users/{members[0]['id']}", headers=other))

    everything = await log(client, tenant)
    assert len(everything) == 3 * 3 + 2
    # Newest first by default; ASC is oldest first.
    times = [e["occurredAt"] for e in everything]
    assert times == sorted(times, reverse=True)
    assert [e["id"] for e in await log(client, tenant, order="ASC")] == [e["id"] for e in reversed(everything)]

    # from is inclusive, to exclusive.
    second_day = await log(
        client, tenant, **{"from": (day0 + timedelta(days=1)).isoformat(), "to": (day0 + timedelta(days=2)).isoformat()}
    )
    assert [e["route"] for e in second_day] == ["/v1/users/{id}", "/v1/commands/adjust_points", "/v1/users"]
    assert all(e["occurredAt"].startswith("2031-06-03T09:00:") for e in second_day)

    # action: a route template or its start.
    assert len(await log(client, tenant, action="/v1/commands/adjust_points")) == 3
    assert len(await log(client, tenant, action="/v1/commands/")) == 3
    assert len(await log(client, tenant, action="/v1/users/{id}")) == 4  # 3 PATCH, 1 DELETE
    assert len(await log(client, tenant, action="/v1/users")) == 3 + 4
    assert await log(client, tenant, action="/V1/USERS") == []
    assert [e["method"] for e in await log(client, tenant, method="DELETE")] == ["DELETE"]

    # actor: the client that acted.
    by_other = await log(client, tenant, actor=created["clientId"])
    assert [(e["method"], e["actor"]["name"]) for e in by_other] == [("DELETE", "ops")]
    assert len(await log(client, tenant, actor=tenant.admin_client_id)) == 10
    assert await log(client, tenant, actor=str(uuid.uuid4())) == []

    # target: a value of a path parameter or of a command's actorId (…), whole, any case.
    first = members[0]["id"]
    assert [e["route"] for e in await log(client, tenant, target=first)] == [
        "/v1/users/{id}",
        "/v1/users/{id}",
        "/v1/commands/adjust_points",
    ]
    assert len(await log(client, tenant, target=first.upper())) == 3
    assert await log(client, tenant, target=first[:8]) == []
    assert await log(client, tenant, target="%") == []

    # Combined, and paged with the total in meta.
    page = await client.get(LOG, headers=tenant.admin, params={"limit": 2, "skip": 1, "action": "/v1/users/{id}"})
    assert page.json()["meta"] == {"limit": 2, "skip": 1, "total": 4}
    assert [e["id"] for e in page.json()["data"]] == [
        e["id"] for e in await log(client, tenant, action="/v1/users/{id}")
    ][1:3]


async def test_reading_the_log_is_for_admins_of_the_tenant(client: httpx.AsyncClient, db: Any, tenant: TenantKit):
    await create_member(client, tenant.admin)
    [entry] = await log(client, tenant)
    assert_fail(await client.get(LOG, headers=tenant.pos), 403, "FORBIDDEN")
    assert_fail(await client.get(f"{LOG}/{entry['id']}", headers=tenant.pos), 403, "FORBIDDEN")
    assert_fail(await client.get(f"{LOG}/{uuid.uuid4()}", headers=tenant.admin), 404, "AUDIT_ENTRY_NOT_FOUND")
    assert_fail(await client.get(f"{LOG}/not-an-id", headers=tenant.admin), 404, "AUDIT_ENTRY_NOT_FOUND")
    other = await make_tenant(client, db, "other")
    assert await log(client, other) == []
    assert_fail(await client.get(f"{LOG}/{entry['id']}", headers=other.admin), 404, "AUDIT_ENTRY_NOT_FOUND")
    assert_fail(await client.get(LOG, headers=tenant.admin, params={"actor": "nobody"}), 400, "VALIDATION_ERROR")
    assert_fail(
        await client.get(LOG, headers=tenant.admin, params={"from": "2031-01-01T00:00:00"}), 400, "VALIDATION_ERROR"
    )
