"""Reporting events and what their reactors do (contract §3.1, §3.4; WLL's examples as written)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import select

from loyalty.services import tenants as tenant_service
from loyalty.storage.database import Database
from loyalty.storage.tables import metadata
from tests.conftest import TenantKit, adjust, create_member, make_tenant

ISSUER = "https://idp.example.com/"
SHARED_SECRET = "events-idp-shared-secret-0123456789-abcdefgh"

PURCHASE_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-06/schema#",
    "type": "object",
    "required": ["transactionId", "totalSpend", "currency"],
    "properties": {
        "transactionId": {"type": "string"},
        "totalSpend": {"type": "number"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "quantity", "price"],
                "properties": {"sku": {"type": "string"}, "quantity": {"type": "number"}, "price": {"type": "number"}},
            },
        },
    },
}
REDEEMED_POINTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["points"],
    "properties": {"points": {"type": "integer", "minimum": 1}, "transactionId": {"type": "string"}},
}
SPEND_TIMES_ONE = {
    "operation": "PRODUCT",
    "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.totalSpend"}, {"type": "NUMBER", "value": "1"}],
    "roundingDirection": "DOWN",
}
POINTS_TIMES_MINUS_ONE = {
    "operation": "PRODUCT",
    "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.points"}, {"type": "NUMBER", "value": "-1"}],
}


def fixed(points: int) -> dict[str, Any]:
    return {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": str(points)}]}


def points_reaction(derivation: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "POINTS", "points": derivation, **extra}


def assert_fail(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert document["status"] == "fail", answer.text
    assert document["data"]["code"] == code, answer.text
    return dict(document["data"])


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"
    return answer.json()["data"]


async def create_type(
    client: httpx.AsyncClient, tenant: TenantKit, name: str, schema: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    body = {"name": name, "description": f"{name} events", "schema": schema or {"type": "object"}, **extra}
    return dict(ok(await client.post("/v1/event_types", headers=tenant.admin, json=body)))


async def create_reactor(
    client: httpx.AsyncClient,
    tenant: TenantKit,
    event_type: str,
    reactions: list[dict[str, Any]],
    name: str = "Core earn",
    **extra: Any,
) -> dict[str, Any]:
    body = {"name": name, "eventType": event_type, "reactions": reactions, **extra}
    return dict(ok(await client.post("/v1/event_reactors", headers=tenant.admin, json=body)))


async def report(
    client: httpx.AsyncClient, headers: dict[str, str], event_type: str, subject: str | None = None, **payload: Any
) -> httpx.Response:
    body: dict[str, Any] = {"type": event_type, "payload": payload}
    if subject is not None:
        body["subject"] = subject
    return await client.post("/v1/events", headers=headers, json=body)


def purchase(transaction: str | None = None, total: float = 12.5, **extra: Any) -> dict[str, Any]:
    return {"transactionId": transaction or uuid.uuid4().hex, "totalSpend": total, "currency": "GBP", **extra}


async def balance(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any]) -> int:
    return int(ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.admin))["points"])


async def ledger(client: httpx.AsyncClient, tenant: TenantKit, member: dict[str, Any]) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/users/{member['id']}/points", headers=tenant.admin, params={"limit": 1000})
    return list(ok(answer))


async def listed_events(client: httpx.AsyncClient, tenant: TenantKit, **params: Any) -> list[dict[str, Any]]:
    return list(ok(await client.get("/v1/events", headers=tenant.admin, params={"limit": 1000, **params})))


async def snapshot(db: Database, tenant: TenantKit) -> dict[str, list[str]]:
    """Every row of every table that belongs to the tenant, in a comparable form."""
    tenant_id = uuid.UUID(tenant.tenant_id)

    async def read(tx: Any) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for table in metadata.sorted_tables:
            rows = await tx.execute(select(table).where(table.c.tenant_id == tenant_id))
            found[table.name] = sorted(repr(tuple(row)) for row in rows)
        return found

    return await db.run(read, write=False)


async def member_token_headers(db: Database, tenant: TenantKit, member: dict[str, Any]) -> dict[str, str]:
    config = {"algorithm": "HS256", "issuer": ISSUER, "sharedSecret": SHARED_SECRET}
    await db.run(lambda tx: tenant_service.set_user_auth(tx, uuid.UUID(tenant.tenant_id), config))
    issued = int(time.time())
    claims = {"sub": member["authIdentifier"], "iss": ISSUER, "iat": issued, "exp": issued + 600}
    token = jwt.encode(claims, SHARED_SECRET, algorithm="HS256")
    return {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {token}"}


def day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).isoformat()


# ---- WLL's examples ----


async def test_a_sign_up_bonus_of_500_lands_in_the_new_members_wallet(client: httpx.AsyncClient, tenant: TenantKit):
    reactor = await create_reactor(client, tenant, "REGISTERED_ACCOUNT", [points_reaction(fixed(500))], "Sign-up")

    member = await create_member(client, tenant.admin)

    assert await balance(client, tenant, member) == 500
    registered = await listed_events(client, tenant, type="REGISTERED_ACCOUNT", subject=member["id"])
    assert len(registered) == 1
    assert registered[0]["payload"] == {"userId": member["id"], "accountNumber": member["accountNumber"]}
    assert registered[0]["reactions"] == [
        {
            "reactorId": reactor["id"],
            "reactorName": "Sign-up",
            "type": "POINTS",
            "status": "APPLIED",
            "reason": None,
            "points": 500,
            "detail": None,
        }
    ]
    [entry] = await ledger(client, tenant, member)
    assert entry["delta"] == 500
    assert entry["kind"] == "EARN"
    assert entry["source"] == {"type": "EVENT", "id": registered[0]["id"]}
    assert entry["balanceAfter"] == 500


async def test_spend_times_one_rounded_down_earns_12_points_for_12_50(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    reactor = await create_reactor(client, tenant, "PURCHASE_COMPLETED", [points_reaction(SPEND_TIMES_ONE)])
    member = await create_member(client, tenant.admin)

    event = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase(total=12.5)))

    assert event["type"] == "PURCHASE_COMPLETED"
    assert event["subject"] == member["id"]
    assert event["duplicate"] is False
    assert event["payload"]["totalSpend"] == 12.5
    [reaction] = event["reactions"]
    assert (reaction["reactorId"], reaction["reactorName"]) == (reactor["id"], "Core earn")
    assert (reaction["type"], reaction["status"], reaction["points"]) == ("POINTS", "APPLIED", 12)
    assert await balance(client, tenant, member) == 12
    [entry] = await ledger(client, tenant, member)
    assert (entry["delta"], entry["kind"], entry["source"]) == (12, "EARN", {"type": "EVENT", "id": event["id"]})


async def test_redeemed_points_times_minus_one_takes_200_points(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "REDEEMED_POINTS", REDEEMED_POINTS_SCHEMA)
    await create_reactor(client, tenant, "REDEEMED_POINTS", [points_reaction(POINTS_TIMES_MINUS_ONE)], "Redeem")
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 500)).status_code == 200

    event = ok(await report(client, tenant.pos, "REDEEMED_POINTS", member["id"], points=200))

    assert [(r["status"], r["points"]) for r in event["reactions"]] == [("APPLIED", -200)]
    assert await balance(client, tenant, member) == 300
    newest = (await ledger(client, tenant, member))[0]
    assert (newest["delta"], newest["kind"], newest["balanceAfter"]) == (-200, "SPEND", 300)
    assert newest["source"] == {"type": "EVENT", "id": event["id"]}


async def test_a_reject_event_redemption_beyond_the_balance_is_422_and_stores_nothing(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    await create_type(client, tenant, "REDEEMED_POINTS", REDEEMED_POINTS_SCHEMA)
    reaction = points_reaction(POINTS_TIMES_MINUS_ONE, liabilityHandlingPolicy="REJECT_EVENT")
    await create_reactor(client, tenant, "REDEEMED_POINTS", [reaction], "Redeem")
    await create_reactor(client, tenant, "REDEEMED_POINTS", [points_reaction(fixed(7))], "Thank you")
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 100)).status_code == 200
    entries_before = await ledger(client, tenant, member)
    before = await snapshot(db, tenant)

    answer = await report(client, tenant.pos, "REDEEMED_POINTS", member["id"], points=200)

    data = assert_fail(answer, 422, "INSUFFICIENT_POINTS")
    assert (data["balance"], data["requested"]) == (100, 200)
    assert await listed_events(client, tenant, type="REDEEMED_POINTS") == []
    assert await balance(client, tenant, member) == 100
    assert await ledger(client, tenant, member) == entries_before
    assert await snapshot(db, tenant) == before


async def test_a_reject_event_redemption_within_the_balance_is_applied(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "REDEEMED_POINTS", REDEEMED_POINTS_SCHEMA)
    reaction = points_reaction(POINTS_TIMES_MINUS_ONE, liabilityHandlingPolicy="REJECT_EVENT")
    await create_reactor(client, tenant, "REDEEMED_POINTS", [reaction], "Redeem")
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 200)).status_code == 200

    event = ok(await report(client, tenant.pos, "REDEEMED_POINTS", member["id"], points=200))

    assert [(r["status"], r["points"]) for r in event["reactions"]] == [("APPLIED", -200)]
    assert await balance(client, tenant, member) == 0


async def test_a_bypass_redemption_may_take_the_balance_below_zero(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "REDEEMED_POINTS", REDEEMED_POINTS_SCHEMA)
    await create_reactor(client, tenant, "REDEEMED_POINTS", [points_reaction(POINTS_TIMES_MINUS_ONE)], "Redeem")
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 100)).status_code == 200

    ok(await report(client, tenant.pos, "REDEEMED_POINTS", member["id"], points=200))

    assert await balance(client, tenant, member) == -100


async def test_a_sku_constraint_fires_only_when_that_sku_is_bought(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    constraint = {"properties": {"items": {"contains": {"properties": {"sku": {"const": "LATTE-M"}}}}}}
    reactor = await create_reactor(
        client, tenant, "PURCHASE_COMPLETED", [points_reaction(fixed(50))], "Latte bonus", constraint=constraint
    )
    member = await create_member(client, tenant.admin)
    latte = {"sku": "LATTE-M", "quantity": 1, "price": 3.2}
    muffin = {"sku": "MUFFIN", "quantity": 1, "price": 2.5}

    without = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase(items=[muffin])))
    with_latte = ok(
        await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase(items=[muffin, latte]))
    )

    assert without["reactions"] == [
        {
            "reactorId": reactor["id"],
            "reactorName": "Latte bonus",
            "type": "POINTS",
            "status": "SKIPPED",
            "reason": "CONDITION_NOT_MET",
            "points": None,
            "detail": None,
        }
    ]
    assert [(r["status"], r["points"]) for r in with_latte["reactions"]] == [("APPLIED", 50)]
    assert await balance(client, tenant, member) == 50


async def test_a_spend_of_30_or_more_earns_the_bonus(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    constraint = {"required": ["totalSpend"], "properties": {"totalSpend": {"minimum": 30}}}
    await create_reactor(
        client, tenant, "PURCHASE_COMPLETED", [points_reaction(fixed(100))], "Spend 30 bonus", constraint=constraint
    )
    member = await create_member(client, tenant.admin)

    outcomes = []
    for total in (29.99, 30, 45.5):
        event = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase(total=total)))
        outcomes.append([(r["status"], r["reason"], r["points"]) for r in event["reactions"]])

    assert outcomes == [
        [("SKIPPED", "CONDITION_NOT_MET", None)],
        [("APPLIED", None, 100)],
        [("APPLIED", None, 100)],
    ]
    assert await balance(client, tenant, member) == 200


# ---- subjects ----


async def test_an_anonymous_event_is_stored_and_its_points_are_skipped(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    reactor = await create_reactor(client, tenant, "PURCHASE_COMPLETED", [points_reaction(SPEND_TIMES_ONE)])

    event = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", **purchase()))

    assert event["subject"] is None
    assert event["reactions"] == [
        {
            "reactorId": reactor["id"],
            "reactorName": "Core earn",
            "type": "POINTS",
            "status": "SKIPPED",
            "reason": "NO_SUBJECT",
            "points": None,
            "detail": None,
        }
    ]
    stored = ok(await client.get(f"/v1/events/{event['id']}", headers=tenant.admin))
    assert stored == event


async def test_the_subject_may_be_named_by_account_number_or_auth_identifier(
    client: httpx.AsyncClient, tenant: TenantKit
):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    await create_reactor(client, tenant, "PURCHASE_COMPLETED", [points_reaction(SPEND_TIMES_ONE)])
    member = await create_member(client, tenant.admin, externalIdentifier=f"crm-{uuid.uuid4().hex[:8]}")

    for identifier in (member["accountNumber"], member["authIdentifier"], member["externalIdentifier"]):
        event = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", identifier, **purchase(total=10)))
        assert event["subject"] == member["id"]

    assert await balance(client, tenant, member) == 30


async def test_an_unknown_subject_is_404_user_not_found(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)

    for subject in (str(uuid.uuid4()), "0000000", "nobody"):
        answer = await report(client, tenant.pos, "PURCHASE_COMPLETED", subject, **purchase())
        assert_fail(answer, 404, "USER_NOT_FOUND")
    assert await listed_events(client, tenant, type="PURCHASE_COMPLETED") == []


async def test_a_member_of_another_tenant_is_not_a_subject(client: httpx.AsyncClient, db: Database, tenant: TenantKit):

    other = await make_tenant(client, db, "other shop")
    stranger = await create_member(client, other.admin)
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)

    answer = await report(client, tenant.pos, "PURCHASE_COMPLETED", stranger["id"], **purchase())

    assert_fail(answer, 404, "USER_NOT_FOUND")


async def test_a_member_token_reports_a_public_event_about_itself(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    await create_type(client, tenant, "VISITED_SHOP")
    await create_reactor(client, tenant, "VISITED_SHOP", [points_reaction(fixed(5))], "Visit")
    member = await create_member(client, tenant.admin)
    other = await create_member(client, tenant.admin)
    headers = await member_token_headers(db, tenant, member)

    omitted = ok(await report(client, headers, "VISITED_SHOP"))
    named = ok(await report(client, headers, "VISITED_SHOP", member["accountNumber"]))
    refused = await report(client, headers, "VISITED_SHOP", other["id"])

    assert omitted["subject"] == member["id"]
    assert named["subject"] == member["id"]
    assert_fail(refused, 403, "FORBIDDEN")
    assert await balance(client, tenant, member) == 10
    assert await balance(client, tenant, other) == 0
    assert await listed_events(client, tenant, type="VISITED_SHOP", subject=other["id"]) == []


# ---- refused events ----


async def test_an_unknown_event_type_is_400_unknown_event_type(client: httpx.AsyncClient, tenant: TenantKit):
    assert_fail(await report(client, tenant.pos, "NEVER_CREATED"), 400, "UNKNOWN_EVENT_TYPE")


async def test_an_inactive_event_type_is_400_unknown_event_type(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP", isActive=False)
    assert_fail(await report(client, tenant.pos, "VISITED_SHOP"), 400, "UNKNOWN_EVENT_TYPE")

    ok(await client.patch("/v1/event_types/VISITED_SHOP", headers=tenant.admin, json={"isActive": True}))
    assert ok(await report(client, tenant.pos, "VISITED_SHOP"))["type"] == "VISITED_SHOP"

    ok(await client.patch("/v1/event_types/VISITED_SHOP", headers=tenant.admin, json={"isActive": False}))
    assert_fail(await report(client, tenant.pos, "VISITED_SHOP"), 400, "UNKNOWN_EVENT_TYPE")
    assert len(await listed_events(client, tenant, type="VISITED_SHOP")) == 1


async def test_an_intrinsic_event_type_cannot_be_reported(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    payload = {"userId": member["id"], "accountNumber": member["accountNumber"]}

    for headers in (tenant.admin, tenant.pos):
        answer = await report(client, headers, "REGISTERED_ACCOUNT", member["id"], **payload)
        assert_fail(answer, 400, "INTRINSIC_EVENT_TYPE")
    assert len(await listed_events(client, tenant, type="REGISTERED_ACCOUNT")) == 1


async def test_a_payload_that_breaks_the_schema_is_400_with_field_errors(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    member = await create_member(client, tenant.admin)

    answer = await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase(total="lots"))

    data = assert_fail(answer, 400, "INVALID_PAYLOAD")
    assert [e["field"] for e in data["errors"]] == ["payload.totalSpend"]
    assert data["errors"][0]["message"]
    assert await listed_events(client, tenant, type="PURCHASE_COMPLETED") == []


async def test_a_missing_required_field_and_a_nested_error_are_named(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    payload = {"transactionId": "t-1", "currency": "GBP", "items": [{"sku": 7, "quantity": 1, "price": 1}]}

    data = assert_fail(await report(client, tenant.pos, "PURCHASE_COMPLETED", **payload), 400, "INVALID_PAYLOAD")

    fields = sorted(e["field"] for e in data["errors"])
    assert fields == ["payload", "payload.items.0.sku"]


async def test_a_client_payload_may_not_carry_enhanced(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")
    member = await create_member(client, tenant.admin)

    answer = await report(client, tenant.pos, "VISITED_SHOP", member["id"], enhanced={"points": {"balance": 10**6}})

    data = assert_fail(answer, 400, "INVALID_PAYLOAD")
    assert [e["field"] for e in data["errors"]] == ["payload.enhanced"]
    assert await listed_events(client, tenant, type="VISITED_SHOP") == []


# ---- enhancers ----


async def test_the_points_enhancer_adds_balance_and_lifetime_earn(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP", enhancers=["POINTS_ENHANCER"])
    await create_reactor(client, tenant, "VISITED_SHOP", [points_reaction(fixed(5))], "Visit")
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 90)).status_code == 200
    assert (await adjust(client, tenant.admin, member["id"], -50)).status_code == 200

    event = ok(await report(client, tenant.pos, "VISITED_SHOP", member["id"], shop="372"))

    # The state before the event: its own reaction's 5 points are not in it.
    assert event["payload"] == {"shop": "372", "enhanced": {"points": {"balance": 40, "lifetimeEarn": 90}}}
    assert ok(await client.get(f"/v1/events/{event['id']}", headers=tenant.admin))["payload"] == event["payload"]
    assert await balance(client, tenant, member) == 45


async def test_a_constraint_on_the_enhanced_balance_works(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP", enhancers=["POINTS_ENHANCER"])
    constraint = {
        "required": ["enhanced"],
        "properties": {
            "enhanced": {
                "required": ["points"],
                "properties": {"points": {"properties": {"balance": {"minimum": 100}}}},
            }
        },
    }
    await create_reactor(
        client, tenant, "VISITED_SHOP", [points_reaction(fixed(25))], "Big spender", constraint=constraint
    )
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 99)).status_code == 200

    poorer = ok(await report(client, tenant.pos, "VISITED_SHOP", member["id"]))
    assert (await adjust(client, tenant.admin, member["id"], 1)).status_code == 200
    richer = ok(await report(client, tenant.pos, "VISITED_SHOP", member["id"]))
    anonymous = ok(await report(client, tenant.pos, "VISITED_SHOP"))

    assert [(r["status"], r["reason"]) for r in poorer["reactions"]] == [("SKIPPED", "CONDITION_NOT_MET")]
    assert [(r["status"], r["points"]) for r in richer["reactions"]] == [("APPLIED", 25)]
    assert anonymous["payload"] == {"enhanced": {}}
    assert [(r["status"], r["reason"]) for r in anonymous["reactions"]] == [("SKIPPED", "CONDITION_NOT_MET")]
    assert await balance(client, tenant, member) == 125


async def test_a_derivation_may_read_the_enhanced_balance(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "INTEREST_PAID", enhancers=["POINTS_ENHANCER"])
    interest = {
        "operation": "PRODUCT",
        "arguments": [
            {"type": "PAYLOAD_QUERY", "value": "$.enhanced.points.balance"},
            {"type": "NUMBER", "value": "0.1"},
        ],
    }
    await create_reactor(client, tenant, "INTEREST_PAID", [points_reaction(interest)], "Interest")
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 255)).status_code == 200

    event = ok(await report(client, tenant.pos, "INTEREST_PAID", member["id"]))

    assert [(r["status"], r["points"]) for r in event["reactions"]] == [("APPLIED", 25)]
    assert await balance(client, tenant, member) == 280


async def test_the_random_number_enhancer_gives_a_number_from_zero_to_below_one(
    client: httpx.AsyncClient, tenant: TenantKit
):
    await create_type(client, tenant, "SCRATCH_CARD", enhancers=["RANDOM_NUMBER"])
    member = await create_member(client, tenant.admin)

    draws = []
    for _ in range(5):
        event = ok(await report(client, tenant.pos, "SCRATCH_CARD", member["id"], card="A"))
        assert set(event["payload"]) == {"card", "enhanced"}
        assert set(event["payload"]["enhanced"]) == {"randomNumber"}
        draws.append(event["payload"]["enhanced"]["randomNumber"])

    for draw in draws:
        assert isinstance(draw, float)
        assert 0 <= draw < 1
    assert len(set(draws)) > 1


async def test_a_type_without_enhancers_stores_the_payload_as_sent(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")

    event = ok(await report(client, tenant.pos, "VISITED_SHOP", shop="372", nested={"a": [1, 2.5, None]}))

    assert event["payload"] == {"shop": "372", "nested": {"a": [1, 2.5, None]}}


# ---- reaction outcomes ----


async def test_a_missing_path_skips_the_reaction_with_missing_value(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")
    reactor = await create_reactor(client, tenant, "VISITED_SHOP", [points_reaction(SPEND_TIMES_ONE)])
    member = await create_member(client, tenant.admin)

    event = ok(await report(client, tenant.pos, "VISITED_SHOP", member["id"], shop="372"))

    assert event["reactions"] == [
        {
            "reactorId": reactor["id"],
            "reactorName": "Core earn",
            "type": "POINTS",
            "status": "SKIPPED",
            "reason": "MISSING_VALUE",
            "points": None,
            "detail": {"path": "$.totalSpend"},
        }
    ]
    assert await balance(client, tenant, member) == 0
    assert await ledger(client, tenant, member) == []


async def test_a_value_that_is_not_a_number_fails_the_reaction(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")
    await create_reactor(client, tenant, "VISITED_SHOP", [points_reaction(SPEND_TIMES_ONE)])
    member = await create_member(client, tenant.admin)

    event = ok(await report(client, tenant.pos, "VISITED_SHOP", member["id"], totalSpend="twelve"))

    assert [(r["status"], r["reason"]) for r in event["reactions"]] == [("FAILED", "NOT_A_NUMBER")]
    assert await balance(client, tenant, member) == 0


async def test_a_huge_result_fails_the_reaction_out_of_range(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")
    await create_reactor(client, tenant, "VISITED_SHOP", [points_reaction(SPEND_TIMES_ONE)])
    member = await create_member(client, tenant.admin)

    event = ok(await report(client, tenant.pos, "VISITED_SHOP", member["id"], totalSpend=1e300))

    assert [(r["status"], r["reason"]) for r in event["reactions"]] == [("FAILED", "OUT_OF_RANGE")]
    assert await balance(client, tenant, member) == 0


async def test_zero_points_are_skipped(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    await create_reactor(client, tenant, "PURCHASE_COMPLETED", [points_reaction(SPEND_TIMES_ONE)])
    member = await create_member(client, tenant.admin)

    event = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase(total=0.99)))

    assert [(r["status"], r["reason"], r["points"]) for r in event["reactions"]] == [("SKIPPED", "ZERO_POINTS", 0)]
    assert await ledger(client, tenant, member) == []


async def test_the_reactions_of_several_reactors_are_all_listed(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    earn = await create_reactor(client, tenant, "PURCHASE_COMPLETED", [points_reaction(SPEND_TIMES_ONE)], "Core earn")
    bonus = await create_reactor(
        client,
        tenant,
        "PURCHASE_COMPLETED",
        [points_reaction(fixed(100))],
        "Spend 30 bonus",
        constraint={"required": ["totalSpend"], "properties": {"totalSpend": {"minimum": 30}}},
    )
    double = await create_reactor(
        client, tenant, "PURCHASE_COMPLETED", [points_reaction(fixed(1)), points_reaction(fixed(2))], "Two parts"
    )
    await create_type(client, tenant, "VISITED_SHOP")
    await create_reactor(client, tenant, "VISITED_SHOP", [points_reaction(fixed(1000))], "Other type")
    member = await create_member(client, tenant.admin)

    event = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase(total=12.5)))

    summary = [(r["reactorId"], r["reactorName"], r["status"], r["reason"], r["points"]) for r in event["reactions"]]
    assert summary == [
        (earn["id"], "Core earn", "APPLIED", None, 12),
        (bonus["id"], "Spend 30 bonus", "SKIPPED", "CONDITION_NOT_MET", None),
        (double["id"], "Two parts", "APPLIED", None, 1),
        (double["id"], "Two parts", "APPLIED", None, 2),
    ]
    assert await balance(client, tenant, member) == 15
    assert ok(await client.get(f"/v1/events/{event['id']}/reactions", headers=tenant.pos)) == event["reactions"]


# ---- effectivity ----


async def test_a_reactor_that_starts_tomorrow_does_not_run(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")
    await create_reactor(
        client, tenant, "VISITED_SHOP", [points_reaction(fixed(10))], "Later", effectivity={"start": day(1)}
    )
    now_reactor = await create_reactor(client, tenant, "VISITED_SHOP", [points_reaction(fixed(1))], "Now")
    member = await create_member(client, tenant.admin)

    event = ok(await report(client, tenant.pos, "VISITED_SHOP", member["id"]))

    assert [r["reactorId"] for r in event["reactions"]] == [now_reactor["id"]]
    assert await balance(client, tenant, member) == 1


async def test_a_reactor_that_ended_yesterday_does_not_run(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")
    await create_reactor(
        client,
        tenant,
        "VISITED_SHOP",
        [points_reaction(fixed(10))],
        "Last week",
        effectivity={"start": day(-7), "end": day(-1)},
    )
    member = await create_member(client, tenant.admin)

    event = ok(await report(client, tenant.pos, "VISITED_SHOP", member["id"]))

    assert event["reactions"] == []
    assert await balance(client, tenant, member) == 0


async def test_a_reactor_within_its_window_runs(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")
    await create_reactor(
        client,
        tenant,
        "VISITED_SHOP",
        [points_reaction(fixed(10))],
        "This week",
        effectivity={"start": day(-1), "end": day(1)},
    )
    member = await create_member(client, tenant.admin)

    event = ok(await report(client, tenant.pos, "VISITED_SHOP", member["id"]))

    assert [(r["status"], r["points"]) for r in event["reactions"]] == [("APPLIED", 10)]


# ---- reading events ----


async def test_an_event_reads_back_with_its_reactions(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    await create_reactor(client, tenant, "PURCHASE_COMPLETED", [points_reaction(SPEND_TIMES_ONE)])
    member = await create_member(client, tenant.admin)
    body = {
        "type": "PURCHASE_COMPLETED",
        "subject": member["id"],
        "executor": "cashier-17",
        "occurredAt": "2025-01-10T12:34:56.789+01:00",
        "payload": purchase(total=20),
    }

    event = ok(await client.post("/v1/events", headers=tenant.pos, json=body))

    assert event["executor"] == "cashier-17"
    assert event["occurredAt"] == "2025-01-10T11:34:56.789Z"
    assert event["reportedAt"].endswith("Z")
    by_admin = ok(await client.get(f"/v1/events/{event['id']}", headers=tenant.admin))
    by_pos = ok(await client.get(f"/v1/events/{event['id']}", headers=tenant.pos))
    assert by_admin == by_pos == event
    reactions = ok(await client.get(f"/v1/events/{event['id']}/reactions", headers=tenant.admin))
    assert reactions == event["reactions"]
    assert [r["points"] for r in reactions] == [20]


async def test_an_unknown_event_is_404(client: httpx.AsyncClient, tenant: TenantKit):
    for path in (f"/v1/events/{uuid.uuid4()}", "/v1/events/not-an-id", f"/v1/events/{uuid.uuid4()}/reactions"):
        assert_fail(await client.get(path, headers=tenant.admin), 404, "EVENT_NOT_FOUND")


async def test_another_tenants_event_is_404(client: httpx.AsyncClient, db: Database, tenant: TenantKit):

    other = await make_tenant(client, db, "other shop")
    await create_type(client, other, "VISITED_SHOP")
    event = ok(await report(client, other.pos, "VISITED_SHOP"))

    assert_fail(await client.get(f"/v1/events/{event['id']}", headers=tenant.admin), 404, "EVENT_NOT_FOUND")
    assert await listed_events(client, tenant, type="VISITED_SHOP") == []


async def test_the_event_list_is_for_admins(client: httpx.AsyncClient, tenant: TenantKit):
    assert_fail(await client.get("/v1/events", headers=tenant.pos), 403, "FORBIDDEN")


async def test_the_event_list_filters_by_type_and_subject(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")
    await create_type(client, tenant, "SCRATCH_CARD")
    ada = await create_member(client, tenant.admin)
    bob = await create_member(client, tenant.admin)
    visit_ada = ok(await report(client, tenant.pos, "VISITED_SHOP", ada["id"]))
    visit_bob = ok(await report(client, tenant.pos, "VISITED_SHOP", bob["id"]))
    card_ada = ok(await report(client, tenant.pos, "SCRATCH_CARD", ada["id"]))

    visits = await listed_events(client, tenant, type="VISITED_SHOP", order="ASC")
    of_ada = await listed_events(client, tenant, subject=ada["accountNumber"], order="ASC")
    both = await listed_events(client, tenant, type="SCRATCH_CARD", subject=ada["authIdentifier"])

    assert [e["id"] for e in visits] == [visit_ada["id"], visit_bob["id"]]
    registered = [e for e in of_ada if e["type"] == "REGISTERED_ACCOUNT"]
    assert [e["id"] for e in of_ada] == [registered[0]["id"], visit_ada["id"], card_ada["id"]]
    assert [e["id"] for e in both] == [card_ada["id"]]
    assert_fail(
        await client.get("/v1/events", headers=tenant.admin, params={"subject": "nobody"}), 404, "USER_NOT_FOUND"
    )


async def test_the_event_list_filters_by_time_range(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")
    marks = [datetime.now(UTC)]
    reported = []
    for _ in range(3):
        reported.append(ok(await report(client, tenant.pos, "VISITED_SHOP"))["id"])
        marks.append(datetime.now(UTC))

    def window(start: datetime | None, end: datetime | None) -> dict[str, str]:
        params = {"type": "VISITED_SHOP", "order": "ASC"}
        if start is not None:
            params["from"] = start.isoformat()
        if end is not None:
            params["to"] = end.isoformat()
        return params

    assert [e["id"] for e in await listed_events(client, tenant, **window(marks[1], marks[2]))] == [reported[1]]
    assert [e["id"] for e in await listed_events(client, tenant, **window(marks[1], None))] == reported[1:]
    assert [e["id"] for e in await listed_events(client, tenant, **window(None, marks[2]))] == reported[:2]
    assert [e["id"] for e in await listed_events(client, tenant, **window(marks[0], marks[3]))] == reported
    assert await listed_events(client, tenant, **window(marks[3], None)) == []
    naive = await client.get("/v1/events", headers=tenant.admin, params={"from": "2025-01-01T00:00:00"})
    assert_fail(naive, 400, "VALIDATION_ERROR")


async def test_the_event_list_is_paginated_newest_first(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED_SHOP")
    reported = [ok(await report(client, tenant.pos, "VISITED_SHOP", shop=str(n)))["id"] for n in range(5)]

    first = await client.get("/v1/events", headers=tenant.admin, params={"type": "VISITED_SHOP", "limit": 2})
    second = await client.get(
        "/v1/events", headers=tenant.admin, params={"type": "VISITED_SHOP", "limit": 2, "skip": 2}
    )
    oldest = await client.get(
        "/v1/events", headers=tenant.admin, params={"type": "VISITED_SHOP", "limit": 2, "order": "ASC"}
    )

    assert [e["id"] for e in ok(first)] == [reported[4], reported[3]]
    assert first.json()["meta"] == {"limit": 2, "skip": 0, "total": 5}
    assert [e["id"] for e in ok(second)] == [reported[2], reported[1]]
    assert second.json()["meta"] == {"limit": 2, "skip": 2, "total": 5}
    assert [e["id"] for e in ok(oldest)] == [reported[0], reported[1]]


# ---- duplicates ----


async def test_a_duplicate_event_runs_nothing_twice(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA, dedupeKeyPath="$.transactionId")
    await create_reactor(client, tenant, "PURCHASE_COMPLETED", [points_reaction(SPEND_TIMES_ONE)])
    member = await create_member(client, tenant.admin)

    original = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase("T-1", 12.5)))
    again = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase("T-1", 99)))

    assert original["duplicate"] is False
    assert again["duplicate"] is True
    assert again["id"] == original["id"]
    assert again["reactions"] == original["reactions"]
    assert again["payload"] == original["payload"]
    assert [(r["status"], r["points"]) for r in again["reactions"]] == [("APPLIED", 12)]
    assert await balance(client, tenant, member) == 12
    assert len(await ledger(client, tenant, member)) == 1
    assert [e["id"] for e in await listed_events(client, tenant, type="PURCHASE_COMPLETED")] == [original["id"]]


async def test_the_same_transaction_of_another_subject_is_not_a_duplicate(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA, dedupeKeyPath="$.transactionId")
    await create_reactor(client, tenant, "PURCHASE_COMPLETED", [points_reaction(SPEND_TIMES_ONE)])
    ada = await create_member(client, tenant.admin)
    bob = await create_member(client, tenant.admin)

    first = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", ada["id"], **purchase("T-1", 10)))
    second = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", bob["id"], **purchase("T-1", 20)))
    other_transaction = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", ada["id"], **purchase("T-2", 5)))

    assert second["duplicate"] is False
    assert other_transaction["duplicate"] is False
    assert len({first["id"], second["id"], other_transaction["id"]}) == 3
    assert await balance(client, tenant, ada) == 15
    assert await balance(client, tenant, bob) == 20


async def test_without_a_dedupe_key_path_repeats_are_separate_events(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "PURCHASE_COMPLETED", PURCHASE_SCHEMA)
    await create_reactor(client, tenant, "PURCHASE_COMPLETED", [points_reaction(SPEND_TIMES_ONE)])
    member = await create_member(client, tenant.admin)

    first = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase("T-1", 10)))
    second = ok(await report(client, tenant.pos, "PURCHASE_COMPLETED", member["id"], **purchase("T-1", 10)))

    assert second["duplicate"] is False
    assert second["id"] != first["id"]
    assert await balance(client, tenant, member) == 20


# ---- dry runs ----


async def test_a_dry_run_answers_the_reactions_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    await create_type(
        client,
        tenant,
        "PURCHASE_COMPLETED",
        PURCHASE_SCHEMA,
        dedupeKeyPath="$.transactionId",
        enhancers=["POINTS_ENHANCER"],
    )
    badge = ok(
        await client.post(
            "/v1/badges",
            headers=tenant.admin,
            json={"internalName": "Coffee lover", "details": [{"name": "Coffee lover", "locale": "en"}]},
        )
    )
    earn = await create_reactor(
        client,
        tenant,
        "PURCHASE_COMPLETED",
        [
            points_reaction(SPEND_TIMES_ONE),
            {"type": "ATTRIBUTE", "attributes": [{"isEnabled": True, "key": "buyer", "value": "yes"}]},
            {"type": "BADGE", "badge": {"id": badge["id"]}},
            {"type": "WEBHOOK", "url": "https://hooks.example.com/loyalty"},
        ],
        maxActivations=1,
        activationContext="SUBJECT",
    )
    await create_reactor(client, tenant, "BADGE_AWARDED", [points_reaction(fixed(50))], "Badge bonus")
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 40)).status_code == 200
    before = await snapshot(db, tenant)
    assert (len(before["members"]), len(before["reactors"]), len(before["point_entries"])) == (1, 2, 1)
    assert len(before["events"]) == 2  # REGISTERED_ACCOUNT and POINTS_ADJUSTED
    body = {"type": "PURCHASE_COMPLETED", "subject": member["id"], "payload": purchase("T-1", 12.5)}

    dry = ok(await client.post("/v1/events/test_reaction", headers=tenant.pos, json=body))

    assert dry["duplicate"] is False
    assert dry["payload"]["enhanced"] == {"points": {"balance": 40, "lifetimeEarn": 40}}
    assert [(r["reactorId"], r["type"], r["status"]) for r in dry["reactions"]] == [
        (earn["id"], "POINTS", "APPLIED"),
        (earn["id"], "ATTRIBUTE", "APPLIED"),
        (earn["id"], "BADGE", "APPLIED"),
        (earn["id"], "WEBHOOK", "APPLIED"),
    ]
    assert dry["reactions"][0]["points"] == 12
    after = await snapshot(db, tenant)
    assert {name: len(rows) for name, rows in after.items()} == {name: len(rows) for name, rows in before.items()}
    assert after == before
    assert await balance(client, tenant, member) == 40
    assert_fail(await client.get(f"/v1/events/{dry['id']}", headers=tenant.admin), 404, "EVENT_NOT_FOUND")
    # The real event afterwards behaves as the dry run said: not a duplicate, the activation not used up.
    real = ok(await client.post("/v1/events", headers=tenant.pos, json=body))
    assert real["duplicate"] is False
    assert [(r["type"], r["status"]) for r in real["reactions"]] == [(r["type"], r["status"]) for r in dry["reactions"]]
    assert await balance(client, tenant, member) == 40 + 12 + 50


async def test_a_dry_run_of_a_refused_event_is_refused_the_same_way(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    await create_type(client, tenant, "REDEEMED_POINTS", REDEEMED_POINTS_SCHEMA)
    reaction = points_reaction(POINTS_TIMES_MINUS_ONE, liabilityHandlingPolicy="REJECT_EVENT")
    await create_reactor(client, tenant, "REDEEMED_POINTS", [reaction], "Redeem")
    member = await create_member(client, tenant.admin)
    before = await snapshot(db, tenant)
    body = {"type": "REDEEMED_POINTS", "subject": member["id"], "payload": {"points": 200}}

    assert_fail(
        await client.post("/v1/events/test_reaction", headers=tenant.admin, json=body), 422, "INSUFFICIENT_POINTS"
    )
    body["payload"] = {"points": "two hundred"}
    assert_fail(await client.post("/v1/events/test_reaction", headers=tenant.admin, json=body), 400, "INVALID_PAYLOAD")
    assert await snapshot(db, tenant) == before


async def test_a_dry_run_may_try_the_engines_own_event_types(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    """An operator tries an ORDER_PLACED earn reactor on a sample sale: the answer says what it would give, nothing
    is kept, and reporting ORDER_PLACED for real is still refused."""
    earn = await create_reactor(client, tenant, "ORDER_PLACED", [points_reaction(SPEND_TIMES_ONE)], "Core earn")
    member = await create_member(client, tenant.admin)
    before = await snapshot(db, tenant)
    sale = {
        "orderId": str(uuid.uuid4()),
        "externalId": "SAMPLE-1",
        "currency": "GBP",
        "totalSpend": 42.5,
        "totalSpendMinor": 4250,
        "itemCount": 2,
        "skus": ["LATTE-M", "BEANS"],
        "lineItems": [],
    }
    body = {"type": "ORDER_PLACED", "subject": member["id"], "payload": sale}

    dry = ok(await client.post("/v1/events/test_reaction", headers=tenant.admin, json=body))

    assert [(r["reactorId"], r["status"], r["points"]) for r in dry["reactions"]] == [(earn["id"], "APPLIED", 42)]
    assert await snapshot(db, tenant) == before
    assert_fail(await client.post("/v1/events", headers=tenant.admin, json=body), 400, "INTRINSIC_EVENT_TYPE")
    body["payload"] = {**sale, "totalSpend": "lots"}
    assert_fail(await client.post("/v1/events/test_reaction", headers=tenant.admin, json=body), 400, "INVALID_PAYLOAD")
