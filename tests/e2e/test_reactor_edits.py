"""Editing a reactor while events flow through two server processes on one database: no reaction is lost or
applied twice, and once the edit is answered, every process runs the new version (each one's compiled-rules cache
follows the tenant's ``config_version``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import create_member, get_token
from tests.processes import free_port, kill_engine, loyalty_cli, start_engine

pytestmark = pytest.mark.e2e

EVENT_TYPE = "COFFEE_POURED"
EVENTS = 60
BEFORE, DURING = 20, 20  # the rest are sent once the edit has been answered


def plus(points: int) -> list[dict[str, Any]]:
    return [{"type": "POINTS", "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": str(points)}]}}]


@dataclass
class Server:
    name: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


async def start_server(url: str, name: str, tmp_path: Path) -> Server:
    """``loyalty serve`` with one process, ready to answer."""
    port = free_port()
    log = tmp_path / f"{name}.log"
    return Server(name, port, await start_engine(url, port, log), log)


async def stop(server: Server) -> None:
    if server.process.returncode is None:
        await kill_engine(server.process)


@dataclass
class Cluster:
    url: str
    servers: list[Server]
    clients: list[httpx.AsyncClient]
    admin: dict[str, str]


@pytest.fixture
async def cluster(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    """Two single-process servers on one database, a tenant and an admin token that works on both."""
    url = fresh_database_url
    code, output = await loyalty_cli(url, "tenants", "create", "cafe", "--json")
    assert code == 0, output
    tenant = json.loads(output)
    code, output = await loyalty_cli(
        url, "clients", "create", "--tenant", tenant["tenantId"], "--scopes", "admin", "--json"
    )
    assert code == 0, output
    admin_client = json.loads(output)

    servers: list[Server] = []
    async with contextlib.AsyncExitStack() as stack:
        try:
            for name in ("left", "right"):
                servers.append(await start_server(url, name, tmp_path))
            clients = [
                await stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{s.port}", timeout=60))
                for s in servers
            ]
            token = await get_token(
                clients[0], tenant["apiKey"], admin_client["clientId"], admin_client["clientSecret"]
            )
            admin = {"X-Api-Key": tenant["apiKey"], "Authorization": f"Bearer {token}"}
            yield Cluster(url, servers, clients, admin)
        finally:
            for server in servers:
                await stop(server)


@dataclass(frozen=True)
class Sent:
    index: int
    server: int
    after_edit_answered: bool
    answer: httpx.Response

    @property
    def reaction(self) -> dict[str, Any]:
        assert self.answer.status_code == 200, self.answer.text
        reactions = self.answer.json()["data"]["reactions"]
        assert len(reactions) == 1, reactions
        return dict(reactions[0])


async def test_editing_a_reactor_mid_stream_across_two_servers_loses_and_doubles_nothing(cluster: Cluster):
    left, right = cluster.clients
    admin = cluster.admin
    created = await left.post("/v1/event_types", headers=admin, json={"name": EVENT_TYPE})
    assert created.status_code == 200, created.text
    first = await left.post(
        "/v1/event_reactors",
        headers=admin,
        json={"name": "a point a cup", "eventType": EVENT_TYPE, "reactions": plus(1)},
    )
    assert first.status_code == 200, first.text
    old_id = first.json()["data"]["id"]
    member = await create_member(left, admin)

    async def report(server: int, index: int, after_edit_answered: bool) -> Sent:
        answer = await cluster.clients[server].post(
            "/v1/events",
            headers=admin,
            json={"type": EVENT_TYPE, "subject": member["id"], "payload": {"cup": index}},
        )
        return Sent(index, server, after_edit_answered, answer)

    # Both processes compile and cache the first version before the edit.
    warm = [await report(0, -1, False), await report(1, -2, False)]
    assert [(s.reaction["points"], s.reaction["reactorId"]) for s in warm] == [(1, old_id), (1, old_id)]

    # The stream: a first part that ends before the edit is sent, a second part released together with the edit,
    # and a third part sent as soon as the edit has been answered (while the second part may still be in flight).
    before = await asyncio.gather(*(report(i % 2, i, False) for i in range(BEFORE)))
    gate = asyncio.Event()
    edited: dict[str, Any] = {}

    async def edit_then_stream_on() -> list[Sent]:
        await gate.wait()
        answer = await right.patch(f"/v1/event_reactors/{old_id}", headers=admin, json={"reactions": plus(2)})
        assert answer.status_code == 200, answer.text
        edited.update(answer.json()["data"])
        return list(await asyncio.gather(*(report(i % 2, i, True) for i in range(BEFORE + DURING, EVENTS))))

    async def during_edit(index: int) -> Sent:
        await gate.wait()
        return await report(index % 2, index, False)

    pending = [asyncio.ensure_future(during_edit(i)) for i in range(BEFORE, BEFORE + DURING)]
    tail = asyncio.ensure_future(edit_then_stream_on())
    gate.set()
    during = await asyncio.gather(*pending)
    after = await tail
    stream = [*before, *during, *after]

    new_id = edited["id"]
    assert new_id != old_id
    assert edited["previousVersionId"] == old_id
    assert sorted(s.index for s in stream) == list(range(EVENTS))
    assert Counter(s.server for s in stream) == {0: EVENTS // 2, 1: EVENTS // 2}

    # Every event got exactly one applied POINTS reaction, from the version it ran: +1 old, +2 new.
    for sent in stream:
        reaction = sent.reaction
        assert (reaction["type"], reaction["status"]) == ("POINTS", "APPLIED"), reaction
        assert (reaction["reactorId"], reaction["points"]) in {(old_id, 1), (new_id, 2)}, reaction
    assert {s.reaction["points"] for s in before} == {1}
    # Once the edit is answered, both processes run the new version.
    assert {(s.server, s.reaction["points"]) for s in after} == {(0, 2), (1, 2)}

    # And so does the very next event on either server.
    last = [await report(0, EVENTS, True), await report(1, EVENTS + 1, True)]
    assert [(s.reaction["points"], s.reaction["reactorId"]) for s in last] == [(2, new_id), (2, new_id)]

    everything = [*warm, *stream, *last]
    points_in_answers = sum(int(s.reaction["points"]) for s in everything)
    for http in (left, right):
        wallet = await http.get(f"/v1/users/{member['id']}/wallet", headers=admin)
        assert wallet.status_code == 200, wallet.text
        assert wallet.json()["data"]["points"] == points_in_answers
        ledger = await http.get(f"/v1/users/{member['id']}/points", headers=admin, params={"limit": 1000})
        assert ledger.status_code == 200, ledger.text
        assert ledger.json()["meta"]["total"] == len(everything)
        entries = ledger.json()["data"]
        assert sorted(e["source"]["id"] for e in entries) == sorted(s.answer.json()["data"]["id"] for s in everything)
        assert sum(e["delta"] for e in entries) == points_in_answers
        by_reactor = Counter((e["reactorId"], e["delta"]) for e in entries)
        assert by_reactor == Counter((s.reaction["reactorId"], s.reaction["points"]) for s in everything)

    versions = await left.get("/v1/event_reactors", headers=admin, params={"includeEnded": "true"})
    assert versions.status_code == 200, versions.text
    by_id = {v["id"]: v for v in versions.json()["data"]}
    assert set(by_id) == {old_id, new_id}
    assert by_id[old_id]["effectivity"]["end"] is not None
    assert by_id[new_id]["effectivity"]["end"] is None
    live = await right.get("/v1/event_reactors", headers=admin)
    assert [v["id"] for v in live.json()["data"]] == [new_id]

    for server in cluster.servers:
        await stop(server)
    code, output = await loyalty_cli(cluster.url, "ledger", "verify", "--json")
    assert code == 0, output
    assert json.loads(output) == {"accounts": 1, "mismatches": [], "ok": True}
