"""Activation limits under load: a reactor with ``maxActivations`` activates exactly that many times, however many
events arrive at once, and only events whose conditions pass count towards the limit."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TenantKit, create_member

pytestmark = pytest.mark.concurrency

EVENT_TYPE = "CUP_BOUGHT"
LIMIT = 10
EVENTS = 100
PLUS_ONE = {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "1"}]}
# Only a purchase of at least 10 counts; smaller ones fail the constraint.
AT_LEAST_TEN = {"required": ["amount"], "properties": {"amount": {"minimum": 10}}}


async def released_together(requests: list[Callable[[], Awaitable[httpx.Response]]]) -> list[httpx.Response]:
    """Start every request, hold them at one gate, then let them all go at once."""
    gate = asyncio.Event()

    async def one(request: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        await gate.wait()
        return await request()

    pending = [asyncio.ensure_future(one(r)) for r in requests]
    gate.set()
    return list(await asyncio.gather(*pending))


async def limited_reactor(client: httpx.AsyncClient, tenant: TenantKit, context: str) -> dict[str, Any]:
    created = await client.post(
        "/v1/event_types",
        headers=tenant.admin,
        json={
            "name": EVENT_TYPE,
            "schema": {"type": "object", "properties": {"amount": {"type": "number"}}},
        },
    )
    assert created.status_code == 200, created.text
    reactor = await client.post(
        "/v1/event_reactors",
        headers=tenant.admin,
        json={
            "name": f"first ten ({context})",
            "eventType": EVENT_TYPE,
            "constraint": AT_LEAST_TEN,
            "maxActivations": LIMIT,
            "activationContext": context,
            "reactions": [{"type": "POINTS", "points": PLUS_ONE}],
        },
    )
    assert reactor.status_code == 200, reactor.text
    data = dict(reactor.json()["data"])
    assert data["maxActivations"] == LIMIT
    assert data["activationContext"] == context
    return data


def report(
    client: httpx.AsyncClient, tenant: TenantKit, member: str, amount: int
) -> Callable[[], Awaitable[httpx.Response]]:
    def send() -> Awaitable[httpx.Response]:
        return client.post(
            "/v1/events",
            headers=tenant.pos,
            json={"type": EVENT_TYPE, "subject": member, "payload": {"amount": amount}},
        )

    return send


def single_reaction(answer: httpx.Response, reactor_id: str) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    event = answer.json()["data"]
    assert event["type"] == EVENT_TYPE
    assert len(event["reactions"]) == 1, event
    reaction = dict(event["reactions"][0])
    assert reaction["reactorId"] == reactor_id
    assert reaction["type"] == "POINTS"
    return reaction


def outcome(reaction: dict[str, Any]) -> tuple[str, str | None, int | None]:
    return reaction["status"], reaction["reason"], reaction["points"]


async def balance(client: httpx.AsyncClient, tenant: TenantKit, member: str) -> int:
    wallet = await client.get(f"/v1/users/{member}/wallet", headers=tenant.admin)
    assert wallet.status_code == 200, wallet.text
    return int(wallet.json()["data"]["points"])


async def ledger_size(client: httpx.AsyncClient, tenant: TenantKit, member: str) -> int:
    ledger = await client.get(f"/v1/users/{member}/points", headers=tenant.admin)
    assert ledger.status_code == 200, ledger.text
    return int(ledger.json()["meta"]["total"])


async def test_global_limit_of_ten_activates_exactly_ten_of_a_hundred_concurrent_events(
    client: httpx.AsyncClient, tenant: TenantKit
):
    reactor = await limited_reactor(client, tenant, "GLOBAL")
    members = [(await create_member(client, tenant.admin))["id"] for _ in range(5)]

    # Events failing the constraint come first, all at once: none of them may use up an activation.
    failing = await released_together([report(client, tenant, members[i % 5], 3) for i in range(30)])
    assert Counter(outcome(single_reaction(a, reactor["id"])) for a in failing) == {
        ("SKIPPED", "CONDITION_NOT_MET", None): 30
    }

    answers = await released_together([report(client, tenant, members[i % 5], 25) for i in range(EVENTS)])

    outcomes = Counter(outcome(single_reaction(a, reactor["id"])) for a in answers)
    assert outcomes == {
        ("APPLIED", None, 1): LIMIT,
        ("SKIPPED", "ACTIVATION_LIMIT_REACHED", None): EVENTS - LIMIT,
    }
    balances = [await balance(client, tenant, m) for m in members]
    assert sum(balances) == LIMIT
    assert sum([await ledger_size(client, tenant, m) for m in members]) == LIMIT
    # Who got the points matches the answers, member by member.
    applied_per_member = Counter(
        a.json()["data"]["subject"] for a in answers if a.json()["data"]["reactions"][0]["status"] == "APPLIED"
    )
    assert {m: applied_per_member.get(m, 0) for m in members} == dict(zip(members, balances, strict=True))

    # The limit stays reached for later events.
    later = single_reaction(await report(client, tenant, members[0], 99)(), reactor["id"])
    assert outcome(later) == ("SKIPPED", "ACTIVATION_LIMIT_REACHED", None)
    assert sum([await balance(client, tenant, m) for m in members]) == LIMIT


async def test_subject_limit_of_ten_gives_each_of_four_members_exactly_ten_points(
    client: httpx.AsyncClient, tenant: TenantKit
):
    reactor = await limited_reactor(client, tenant, "SUBJECT")
    members = [(await create_member(client, tenant.admin))["id"] for _ in range(4)]

    # Failing events for every member, at once: no member's counter moves.
    failing = await released_together([report(client, tenant, members[i % 4], 9) for i in range(20)])
    assert Counter(outcome(single_reaction(a, reactor["id"])) for a in failing) == {
        ("SKIPPED", "CONDITION_NOT_MET", None): 20
    }

    answers = await released_together([report(client, tenant, members[i % 4], 10) for i in range(EVENTS)])

    per_member: dict[str, Counter[tuple[str, str | None, int | None]]] = {m: Counter() for m in members}
    for answer in answers:
        per_member[answer.json()["data"]["subject"]][outcome(single_reaction(answer, reactor["id"]))] += 1
    expected = {("APPLIED", None, 1): LIMIT, ("SKIPPED", "ACTIVATION_LIMIT_REACHED", None): EVENTS // 4 - LIMIT}
    assert per_member == {m: expected for m in members}
    for member in members:
        assert await balance(client, tenant, member) == LIMIT
        assert await ledger_size(client, tenant, member) == LIMIT

    # A fifth member has a counter of their own.
    newcomer = (await create_member(client, tenant.admin))["id"]
    first = single_reaction(await report(client, tenant, newcomer, 10)(), reactor["id"])
    assert outcome(first) == ("APPLIED", None, 1)
    assert await balance(client, tenant, newcomer) == 1
