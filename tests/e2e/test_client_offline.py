"""The blocking client against a real server process that is killed in the middle of a burst of orders: what
could not be sent is journalled, and once the engine is back ``flush()`` leaves every order placed exactly once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from loyalty.client import LoyaltyClient, Queued, RetryPolicy
from tests.processes import free_port, kill_engine, loyalty_cli, start_engine

pytestmark = pytest.mark.e2e

ORDERS = 40
KILL_AFTER = 12


def order(member: str, n: int) -> dict[str, Any]:
    lines = [{"sku": "LATTE-M", "quantity": 1, "unitPrice": 350, "total": 350}]
    return {
        "externalId": f"BURST-{n:03d}",
        "submitter": {"accountNumber": member},
        "currency": "GBP",
        "lineItems": lines,
        "totals": {"subtotal": 350, "discount": 0, "total": 350},
    }


async def test_a_killed_engine_then_flush_leaves_every_order_exactly_once(fresh_database_url: str, tmp_path: Path):
    url = fresh_database_url
    code, output = await loyalty_cli(url, "tenants", "create", "cafe", "--json")
    assert code == 0, output
    tenant = json.loads(output)
    credentials = {}
    for scope in ("admin", "pos"):
        code, output = await loyalty_cli(
            url, "clients", "create", "--tenant", tenant["tenantId"], "--scopes", scope, "--json"
        )
        assert code == 0, output
        credentials[scope] = json.loads(output)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    server = await start_engine(url, port, log)
    retry = RetryPolicy(attempts=3, base_delay=0.02, max_delay=0.1)
    admin = LoyaltyClient(
        base, tenant["apiKey"], credentials["admin"]["clientId"], credentials["admin"]["clientSecret"], retry=retry
    )
    till = LoyaltyClient(
        base,
        tenant["apiKey"],
        credentials["pos"]["clientId"],
        credentials["pos"]["clientSecret"],
        retry=retry,
        timeout=5,
        journal=tmp_path / "till.journal",
    )
    try:
        earn = {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "3"}]}
        await asyncio.to_thread(
            admin.create_reactor,
            {"name": "Three a visit", "eventType": "ORDER_PLACED", "reactions": [{"type": "POINTS", "points": earn}]},
        )
        suffix = uuid.uuid4().hex[:8]
        member = await asyncio.to_thread(
            till.sign_up,
            {"profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": f"ada.{suffix}@example.com"}},
        )
        answers: list[Any] = []
        loop = asyncio.get_running_loop()
        midway = asyncio.Event()

        def burst() -> None:
            for n in range(ORDERS):
                answers.append(till.place_order(order(member.account_number, n)))
                if n == KILL_AFTER:
                    loop.call_soon_threadsafe(midway.set)
                time.sleep(0.01)

        # The server is killed while the burst goes on: orders in flight and after it cannot reach it.
        sending = asyncio.create_task(asyncio.to_thread(burst))
        await midway.wait()
        await kill_engine(server)
        await sending
        queued = [a for a in answers if isinstance(a, Queued)]
        assert queued, "the kill should have left orders to journal"
        assert len(answers) == ORDERS

        server = await start_engine(url, port, log)
        report = await asyncio.to_thread(till.flush)
        assert (report.failed, report.pending) == (0, 0)
        assert report.sent == len(queued)
        wallet = await asyncio.to_thread(till.wallet, member.id)
        assert wallet.points == 3 * ORDERS
        for n in range(ORDERS):
            found = await asyncio.to_thread(admin.send, _order_call(f"BURST-{n:03d}"))
            assert found["externalId"] == f"BURST-{n:03d}"
        listed = await asyncio.to_thread(admin.send, _orders_call())
        assert sorted(o["externalId"] for o in listed) == [f"BURST-{n:03d}" for n in range(ORDERS)]
    finally:
        till.close()
        admin.close()
        await kill_engine(server)
    code, output = await loyalty_cli(url, "ledger", "verify", "--json")
    assert code == 0, output


def _order_call(external_id: str) -> Any:
    from loyalty.client.calls import query

    return query("order", f"/v1/orders/{external_id}", lambda data: data)


def _orders_call() -> Any:
    from loyalty.client.calls import query

    return query("orders", "/v1/orders", lambda data: data, params={"limit": 1000})
