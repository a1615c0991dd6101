"""Crash safety: a real ``loyalty serve`` process is killed with SIGKILL at random moments while several tills
place orders, report visits, refund orders and an admin adjusts points. Every request carries an
``Idempotency-Key`` chosen for its logical operation, and a till that loses its answer (connection refused or
reset, timeout, 5xx) sends the very same request again until the engine, restarted on the same database, gives a
definitive answer.

Afterwards nothing may be lost, doubled or half-applied: every acknowledged operation is stored exactly once with
all of its parts (an order with its lines, its ``ORDER_PLACED`` event and its earn; a refund with its lines, its
reversal and its ``ORDER_REFUNDED`` event; an adjustment with its ``POINTS_ADJUSTED`` event), nothing is stored that
no operation asked for, every balance is both the sum of its ledger entries and what the answers add up to,
``loyalty ledger verify`` passes and, on SQLite, the file passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from loyalty.services import clients as client_service
from loyalty.services import tenants as tenant_service
from loyalty.storage.database import Database, Tx
from loyalty.storage.tables import (
    events,
    idempotency_keys,
    order_lines,
    orders,
    point_accounts,
    point_entries,
    refund_lines,
    refunds,
)
from tests.conftest import get_token, member_body
from tests.processes import free_port, loyalty_cli
from tests.soak import repeats

pytestmark = [pytest.mark.e2e, pytest.mark.crash]

KILLS = repeats(ci=20, soak=200)
TILLS = 4
MEMBERS = 6
OPENING_POINTS = 200
# How long the server lives between being ready and being killed.
UP_SECONDS = (0.2, 1.0)
READY_SECONDS = 30
REQUEST_SECONDS = 10
# One logical operation: bounded in attempts and in time (it may span a kill and a restart or two).
OPERATION_SECONDS = 60
MAX_ATTEMPTS = 2000
RETRY_PAUSE = 0.05
MAX_OPERATIONS_PER_TILL = 20_000
VISIT = "SHOP_VISITED"
# The core earn on ORDER_PLACED: a point per whole pound spent.
SPEND_TIMES_ONE = {
    "operation": "PRODUCT",
    "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.totalSpend"}, {"type": "NUMBER", "value": "1"}],
    "roundingDirection": "DOWN",
}
SEED = int(os.environ.get("LOYALTY_CRASH_SEED", "0")) or random.randrange(1, 2**31)

CATALOGUE = [
    ("LATTE", 350),
    ("FLAT-WHITE", 330),
    ("CROISSANT", 250),
    ("SANDWICH", 595),
    ("CAKE", 425),
    ("BEANS-1KG", 1899),
    ("MUG", 1250),
]


# ---- the server process ----


class Engine:
    """One ``loyalty serve`` process at a time, always on the same port and database."""

    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.port = free_port()
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.kills = 0
        self.restart_seconds: list[float] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    async def start(self) -> None:
        assert self.process is None or self.process.returncode is not None, "the previous server still runs"
        with self.log.open("ab") as sink:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "loyalty",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--no-demo",
                env={**os.environ, "LOYALTY_DATABASE_URL": self.url, "LOYALTY_LOG_LEVEL": "WARNING"},
                stdout=sink,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )

    async def kill(self) -> None:
        """SIGKILL to the server's whole process group, then reap it."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()

    async def crash(self) -> None:
        """Kill a server that must still be running on its own."""
        assert self.process is not None
        assert self.process.returncode is None, f"the server died by itself:\n{self.output()}"
        await self.kill()
        self.kills += 1

    async def wait_ready(self, http: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            assert self.process.returncode is None, f"the server exited while starting:\n{self.output()}"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.05)
        pytest.fail(f"the server was not ready within {READY_SECONDS} s:\n{self.output()}")


@contextlib.asynccontextmanager
async def running(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """Start the engine; whatever happens, no server process outlives the block."""
    try:
        await engine.start()
        async with httpx.AsyncClient(base_url=engine.base_url, timeout=REQUEST_SECONDS) as probe:
            await engine.wait_ready(probe)
            yield probe
    finally:
        await engine.kill()


# ---- what the tills do, and what they expect ----


@dataclass
class Line:
    sku: str
    quantity: int
    total: int
    refunded: int = 0

    def given_back(self, refunded: int) -> int:
        """What the line has given back once ``refunded`` units are refunded (cumulative, rounded down)."""
        return self.total * refunded // self.quantity


@dataclass
class Sale:
    """An acknowledged order, as the till that placed it knows it (only that till refunds it)."""

    external_id: str
    member: str | None
    lines: list[Line]
    total: int
    earned: int
    order_id: str = ""
    refunded_value: int = 0
    reversed: int = 0
    refunds: list[str] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return any(line.refunded < line.quantity for line in self.lines)


@dataclass
class Operation:
    kind: str  # order | visit | credit | debit | refund
    key: str
    path: str
    headers: dict[str, str]
    body: bytes
    member: str | None
    # The change to the member's balance if the operation is acknowledged.
    points: int
    sale: Sale | None = None
    refund_take: dict[int, int] | None = None
    refund_value: int = 0
    attempts: int = 0
    lost_answers: int = 0
    status: int | None = None
    document: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.document["data"])


@dataclass
class Tally:
    refused_connections: int = 0
    timeouts: int = 0
    in_use: int = 0
    server_errors: list[str] = field(default_factory=list)


@dataclass
class Program:
    tenant_id: uuid.UUID
    admin: dict[str, str]
    pos: dict[str, str]
    members: list[dict[str, Any]]
    setup_keys: set[str]
    setup_adjustments: int


def json_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def code_of(document: Any) -> str | None:
    """The stable error code of a JSend failure, if the document is one."""
    with contextlib.suppress(KeyError, TypeError):
        return str(document["data"]["code"])
    return None


async def execute(http: httpx.AsyncClient, op: Operation, tally: Tally) -> None:
    """Send ``op`` until it gets a definitive answer (2xx or 4xx), always with the same key and body bytes."""
    headers = {**op.headers, "Idempotency-Key": op.key, "Content-Type": "application/json"}
    deadline = time.monotonic() + OPERATION_SECONDS
    for _ in range(MAX_ATTEMPTS):
        op.attempts += 1
        try:
            answer = await http.post(op.path, headers=headers, content=op.body)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            tally.refused_connections += 1  # the server is down: the request never reached it
        except httpx.TimeoutException:
            tally.timeouts += 1
            op.lost_answers += 1
        except httpx.TransportError:
            op.lost_answers += 1  # sent, and the server died before answering: it may or may not have run
        else:
            if answer.status_code >= 500:
                tally.server_errors.append(f"{op.kind} {op.key}: {answer.status_code} {answer.text[:500]}")
            elif answer.status_code == 409 and code_of(answer.json()) == "IDEMPOTENCY_KEY_IN_USE":
                tally.in_use += 1
            else:
                op.status = answer.status_code
                op.document = answer.json()
                op.replayed = answer.headers.get("Idempotent-Replayed") == "true"
                return
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(RETRY_PAUSE)
    raise AssertionError(f"{op.kind} {op.key} got no definitive answer in {op.attempts} attempts")


def plan_order(program: Program, rng: random.Random, key: str) -> Operation:
    member = rng.choice(program.members) if rng.random() < 0.9 else None
    lines: list[Line] = []
    items: list[dict[str, Any]] = []
    for sku, price in rng.sample(CATALOGUE, rng.randint(1, 3)):
        quantity = rng.randint(1, 3)
        discount = rng.choice([0, 0, 50])
        total = quantity * price - discount
        lines.append(Line(sku, quantity, total))
        items.append(
            {"sku": sku, "quantity": quantity, "unitPrice": price, "discount": discount, "total": total, "name": sku}
        )
    discount = sum(item["discount"] for item in items)
    total = sum(line.total for line in lines)
    body: dict[str, Any] = {
        "externalId": f"SALE-{key}",
        "currency": "GBP",
        "occurredAt": "2025-01-10T12:34:56.000Z",
        "lineItems": items,
        "totals": {"subtotal": total + discount, "discount": discount, "tax": 0, "total": total},
        "payments": [{"type": "CARD", "amount": total}],
    }
    if member is not None:
        body["submitter"] = {"authIdentifier": member["authIdentifier"]}
    earned = total // 100 if member is not None else 0  # a point per whole pound
    sale = Sale(f"SALE-{key}", member["id"] if member else None, lines, total, earned)
    return Operation("order", key, "/v1/orders", program.pos, json_bytes(body), sale.member, earned, sale=sale)


def plan_refund(program: Program, rng: random.Random, key: str, sale: Sale) -> Operation:
    open_lines = [index for index, line in enumerate(sale.lines) if line.refunded < line.quantity]
    body: dict[str, Any] = {"externalId": f"REFUND-{key}", "reason": "crash test"}
    if rng.random() < 0.4:
        take = {index: sale.lines[index].quantity - sale.lines[index].refunded for index in open_lines}
    else:
        index = rng.choice(open_lines)
        take = {index: 1}
        body["lineItems"] = [{"sku": sale.lines[index].sku, "quantity": 1}]
    value = sum(
        sale.lines[i].given_back(sale.lines[i].refunded + q) - sale.lines[i].given_back(sale.lines[i].refunded)
        for i, q in take.items()
    )
    fully = all(line.refunded + take.get(i, 0) == line.quantity for i, line in enumerate(sale.lines))
    target = sale.earned if fully else sale.earned * (sale.refunded_value + value) // sale.total
    reversed_now = max(0, target - sale.reversed) if sale.member else 0
    return Operation(
        "refund",
        key,
        f"/v1/orders/{sale.external_id}/refunds",
        program.pos,
        json_bytes(body),
        sale.member,
        -reversed_now,
        sale=sale,
        refund_take=take,
        refund_value=value,
    )


def plan(program: Program, rng: random.Random, key: str, sales: list[Sale]) -> Operation:
    refundable = [sale for sale in sales if sale.open]
    roll = rng.random()
    if roll < 0.15 and refundable:
        return plan_refund(program, rng, key, rng.choice(refundable))
    if roll < 0.50:
        return plan_order(program, rng, key)
    member = rng.choice(program.members)["id"]
    if roll < 0.70:
        points = rng.randint(1, 40)
        body = {"type": VISIT, "subject": member, "payload": {"visitId": key, "points": points}}
        return Operation("visit", key, "/v1/events", program.pos, json_bytes(body), member, points)
    if roll < 0.85:
        points = rng.randint(1, 80)
        body = {"actorId": member, "points": points, "comment": key}
        return Operation("credit", key, "/v1/commands/adjust_points", program.admin, json_bytes(body), member, points)
    points = rng.randint(20, 200)
    body = {"actorId": member, "points": -points, "comment": key, "liabilityHandlingPolicy": "REJECT_EVENT"}
    return Operation("debit", key, "/v1/commands/adjust_points", program.admin, json_bytes(body), member, -points)


def settle(op: Operation, sales: list[Sale]) -> None:
    """Check an answer against what the till expects, and update the till's view of its sales."""
    if op.kind == "debit" and op.status == 422:
        assert code_of(op.document) == "INSUFFICIENT_POINTS", op.document
        op.points = 0
        return
    assert op.acknowledged, f"{op.kind} {op.key}: {op.status} {op.document}"
    data = op.data
    if op.kind in ("order", "refund"):
        # The order's and the refund's own replay (by externalId) answers only when the first attempt's effect
        # is stored without its Idempotency-Key: the key and the effect must commit together.
        assert data["replayed"] is False, (op.key, data)
    if op.kind == "order":
        assert op.sale is not None
        assert (data["externalId"], data["pointsEarned"]) == (op.sale.external_id, op.sale.earned), data
        assert (data["user"] or {}).get("id") == op.sale.member, data
        op.sale.order_id = data["id"]
        sales.append(op.sale)
    elif op.kind == "refund":
        assert op.sale is not None
        assert op.refund_take is not None
        assert data["orderExternalId"] == op.sale.external_id, data
        assert (data["value"], data["pointsReversed"]) == (op.refund_value, -op.points), (op.key, data)
        for index, quantity in op.refund_take.items():
            op.sale.lines[index].refunded += quantity
        op.sale.refunded_value += op.refund_value
        op.sale.reversed -= op.points
        op.sale.refunds.append(data["externalId"])
        assert data["orderStatus"] == ("PARTIALLY_REFUNDED" if op.sale.open else "REFUNDED"), data
    elif op.kind == "visit":
        assert [(r["status"], r["points"]) for r in data["reactions"]] == [("APPLIED", op.points)], data
    else:
        assert (data["userId"], data["delta"], data["comment"], data["kind"]) == (
            op.member,
            op.points,
            op.key,
            "ADJUST",
        ), data


async def till(
    number: int, engine: Engine, program: Program, stop: asyncio.Event, tally: Tally, done: list[Operation]
) -> None:
    rng = random.Random(SEED * 100 + number)
    sales: list[Sale] = []
    async with httpx.AsyncClient(base_url=engine.base_url, timeout=REQUEST_SECONDS) as http:
        for sequence in range(MAX_OPERATIONS_PER_TILL):
            if stop.is_set():
                return
            op = plan(program, rng, f"T{number}-{sequence}-{uuid.uuid4().hex[:8]}", sales)
            await execute(http, op, tally)
            settle(op, sales)
            done.append(op)


async def killer(engine: Engine, probe: httpx.AsyncClient, kills: int, rng: random.Random) -> None:
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(*UP_SECONDS))
        await engine.crash()
        restarted = time.monotonic()
        await engine.start()
        await engine.wait_ready(probe)
        engine.restart_seconds.append(time.monotonic() - restarted)


async def until_done(awaited: asyncio.Future[None], tasks: list[asyncio.Future[None]], deadline: float) -> None:
    """Wait for ``awaited``, failing as soon as any of ``tasks`` fails (a till's failed check stops the run)."""
    pending = set(tasks)
    while not awaited.done():
        finished, pending = await asyncio.wait(
            pending, timeout=max(0.0, deadline - time.monotonic()), return_when=asyncio.FIRST_COMPLETED
        )
        if not finished:
            pytest.fail("the crash run did not finish in time")
        for task in finished:
            task.result()
    awaited.result()


# ---- set-up ----


def ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


async def provision(url: str, http: httpx.AsyncClient) -> Program:
    """A tenant with an admin and a pos client, the core earn, a visit bonus and members holding points."""
    database = Database(url)
    try:

        async def work(tx: Tx) -> tuple[Any, Any, Any]:
            created = await tenant_service.create_tenant(tx, "crash-shop")
            admin = await client_service.create_client(tx, created.tenant.tenant_id, "admin")
            pos = await client_service.create_client(tx, created.tenant.tenant_id, "pos")
            return created, admin, pos

        created, admin_client, pos_client = await database.run(work)
    finally:
        await database.dispose()
    key = created.api_key
    admin_token = await get_token(http, key, str(admin_client.client.client_id), admin_client.client_secret)
    pos_token = await get_token(http, key, str(pos_client.client.client_id), pos_client.client_secret)
    admin = {"X-Api-Key": key, "Authorization": f"Bearer {admin_token}"}
    pos = {"X-Api-Key": key, "Authorization": f"Bearer {pos_token}"}
    setup_keys: set[str] = set()

    async def post(path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        idempotency_key = f"setup-{uuid.uuid4().hex}"
        setup_keys.add(idempotency_key)
        return ok(await http.post(path, headers={**headers, "Idempotency-Key": idempotency_key}, json=body))

    await post(
        "/v1/event_reactors",
        admin,
        {
            "name": "Core earn",
            "eventType": "ORDER_PLACED",
            "reactions": [{"type": "POINTS", "points": SPEND_TIMES_ONE}],
        },
    )
    schema = {
        "type": "object",
        "properties": {"visitId": {"type": "string"}, "points": {"type": "integer", "minimum": 1}},
        "required": ["visitId", "points"],
    }
    await post("/v1/event_types", admin, {"name": VISIT, "schema": schema})
    visit_points = {
        "operation": "PRODUCT",
        "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.points"}, {"type": "NUMBER", "value": "1"}],
    }
    await post(
        "/v1/event_reactors",
        admin,
        {"name": "Visit bonus", "eventType": VISIT, "reactions": [{"type": "POINTS", "points": visit_points}]},
    )
    members = [await post("/v1/users", admin, member_body()) for _ in range(MEMBERS)]
    for member in members:
        await post("/v1/commands/adjust_points", admin, {"actorId": member["id"], "points": OPENING_POINTS})
    return Program(created.tenant.tenant_id, admin, pos, members, setup_keys, len(members))


# ---- the checks ----


@dataclass
class Stored:
    orders: list[Any]
    lines: list[Any]
    refunds: list[Any]
    refund_lines: list[Any]
    events: list[Any]
    entries: list[Any]
    accounts: list[Any]
    keys: list[Any]


async def read_back(url: str, tenant_id: uuid.UUID) -> Stored:
    database = Database(url)
    try:

        async def work(tx: Tx) -> Stored:
            async def rows(table: Any) -> list[Any]:
                return list((await tx.execute(select(table).where(table.c.tenant_id == tenant_id))).all())

            return Stored(
                orders=await rows(orders),
                lines=await rows(order_lines),
                refunds=await rows(refunds),
                refund_lines=await rows(refund_lines),
                events=await rows(events),
                entries=await rows(point_entries),
                accounts=await rows(point_accounts),
                keys=await rows(idempotency_keys),
            )

        return await database.run(work, write=False)
    finally:
        await database.dispose()


def check_database(stored: Stored, program: Program, done: list[Operation], expected: dict[str, int]) -> None:
    acknowledged = [op for op in done if op.acknowledged]

    def of_kind(kind: str) -> list[Operation]:
        return [op for op in acknowledged if op.kind == kind]

    sales = {op.sale.external_id: op.sale for op in of_kind("order") if op.sale is not None}
    events_by_id = {row.event_id: row for row in stored.events}
    entries_by_source: dict[tuple[str, uuid.UUID], list[Any]] = defaultdict(list)
    for entry in stored.entries:
        entries_by_source[(entry.source_type, entry.source_id)].append(entry)

    # Orders: one row per acknowledged externalId, nothing else; each with its lines, event and earn.
    assert Counter(row.external_id for row in stored.orders) == Counter(list(sales)), "orders lost or doubled"
    lines_by_order: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for line in stored.lines:
        lines_by_order[line.order_id].append(line)
    refunds_by_order: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for refund in stored.refunds:
        refunds_by_order[refund.order_id].append(refund)
    refunded_by_line: Counter[tuple[uuid.UUID, int]] = Counter()
    value_by_refund: Counter[uuid.UUID] = Counter()
    for part in stored.refund_lines:
        refunded_by_line[(part.order_id, part.line_index)] += part.quantity
        value_by_refund[part.refund_id] += part.value
    for row in stored.orders:
        sale = sales[row.external_id]
        where = f"order {row.external_id}"
        assert str(row.order_id) == sale.order_id, where
        assert (str(row.member_id) if row.member_id else None) == sale.member, where
        assert row.total == sale.total, where
        lines = sorted(lines_by_order[row.order_id], key=lambda line: line.line_index)
        assert [(line.sku, line.quantity, line.total) for line in lines] == [
            (line.sku, line.quantity * 1000, line.total) for line in sale.lines
        ], where
        assert [line.refunded_quantity for line in lines] == [line.refunded * 1000 for line in sale.lines], where
        assert [refunded_by_line[(row.order_id, line.line_index)] for line in lines] == [
            line.refunded_quantity for line in lines
        ], where
        if sale.member is None:
            assert (row.event_id, row.points_earned) == (None, 0), where
        else:
            event = events_by_id.get(row.event_id)
            assert event is not None, f"{where} has no ORDER_PLACED event"
            assert event.type == "ORDER_PLACED", where
            assert str(event.subject_id) == sale.member, where
            earn = entries_by_source[("EVENT", row.event_id)]
            assert [(e.kind, e.delta) for e in earn] == ([("EARN", sale.earned)] if sale.earned else []), where
            assert row.points_earned == sale.earned, where
        # Its refunds: exactly the acknowledged ones, each complete.
        order_refunds = refunds_by_order[row.order_id]
        assert Counter(r.external_id for r in order_refunds) == Counter(sale.refunds), f"{where}: refunds"
        assert row.refunded_value == sum(r.value for r in order_refunds) == sale.refunded_value, where
        assert row.points_reversed == sum(r.points_reversed for r in order_refunds) == sale.reversed, where
        for refund in order_refunds:
            assert value_by_refund[refund.refund_id] == refund.value, f"{where}: refund {refund.external_id} lines"
            reversal = entries_by_source[("REFUND", refund.refund_id)]
            assert [(e.kind, e.delta) for e in reversal] == (
                [("REVERSAL", -refund.points_reversed)] if refund.points_reversed else []
            ), f"{where}: refund {refund.external_id}"
            if sale.member is None:
                assert refund.event_id is None, where
            else:
                event = events_by_id.get(refund.event_id)
                assert event is not None, f"{where}: refund {refund.external_id} without its event"
                assert event.type == "ORDER_REFUNDED", where
    assert len(stored.refunds) == len(of_kind("refund"))

    # Visits: one event per acknowledged visit, each with its points.
    visits = [row for row in stored.events if row.type == VISIT]
    assert Counter(row.payload["visitId"] for row in visits) == Counter(op.key for op in of_kind("visit"))
    by_visit = {op.key: op for op in of_kind("visit")}
    for row in visits:
        op = by_visit[row.payload["visitId"]]
        assert str(row.event_id) == op.data["id"], op.key
        assert [(e.kind, e.delta) for e in entries_by_source[("EVENT", row.event_id)]] == [("EARN", op.points)]

    # Adjustments: one entry (the one the answer named) and one POINTS_ADJUSTED event per acknowledged one.
    adjustments = [op for op in acknowledged if op.kind in ("credit", "debit")]
    adjust_entries = [e for e in stored.entries if e.kind == "ADJUST"]
    assert len(adjust_entries) == len(adjustments) + program.setup_adjustments
    load_entries = {e.comment: e for e in adjust_entries if e.comment is not None}
    assert Counter(e.comment for e in adjust_entries if e.comment is not None) == Counter(op.key for op in adjustments)
    for op in adjustments:
        entry = load_entries[op.key]
        assert (str(entry.entry_id), entry.delta, str(entry.member_id)) == (op.data["id"], op.points, op.member)
        event = events_by_id.get(entry.source_id)
        assert event is not None, f"adjustment {op.key} without its event"
        assert event.type == "POINTS_ADJUSTED", op.key
    # No refused debit left anything behind.
    refused = {op.key for op in done if op.kind == "debit" and not op.acknowledged}
    assert not refused & set(load_entries)

    # Events and entries in total: nothing stored that no acknowledged operation accounts for.
    member_sales = [s for s in sales.values() if s.member is not None]
    member_refunds = sum(len(s.refunds) for s in member_sales)
    assert Counter(row.type for row in stored.events) == Counter(
        {
            "REGISTERED_ACCOUNT": MEMBERS,
            "POINTS_ADJUSTED": len(adjustments) + program.setup_adjustments,
            "ORDER_PLACED": len(member_sales),
            "ORDER_REFUNDED": member_refunds,
            VISIT: len(of_kind("visit")),
        }
    )
    earns = sum(1 for s in member_sales if s.earned)
    reversals = sum(1 for r in stored.refunds if r.points_reversed)
    assert len(stored.entries) == program.setup_adjustments + len(adjustments) + earns + len(visits) + reversals

    # Idempotency keys: every one committed holds its answer, and they are exactly the acknowledged operations'.
    assert [row.key for row in stored.keys if row.status_code is None or row.body is None] == []
    assert Counter(row.key for row in stored.keys) == Counter(
        [*program.setup_keys, *(op.key for op in acknowledged)]
    ), "idempotency keys lost or left behind"

    # Balances: the sum of the entries, and what the acknowledged answers add up to.
    sums: Counter[str] = Counter()
    for entry in stored.entries:
        sums[str(entry.member_id)] += entry.delta
    balances = {str(row.member_id): row.balance for row in stored.accounts}
    assert balances == dict(sums) == expected


async def check_over_http(http: httpx.AsyncClient, program: Program, done: list[Operation]) -> dict[str, int]:
    """Every acknowledged order reads back by its externalId; answers each member's balance."""
    sales = [op.sale for op in done if op.kind == "order" and op.acknowledged and op.sale is not None]
    gate = asyncio.Semaphore(8)

    async def read(sale: Sale) -> None:
        async with gate:
            data = ok(await http.get(f"/v1/orders/{sale.external_id}", headers=program.pos))
        assert (data["id"], data["pointsEarned"]) == (sale.order_id, sale.earned), data
        assert (data["refundedValue"], data["pointsReversed"]) == (sale.refunded_value, sale.reversed), data
        assert sorted(r["externalId"] for r in data["refunds"]) == sorted(sale.refunds), data

    await asyncio.gather(*(read(sale) for sale in sales))
    balances: dict[str, int] = {}
    for member in program.members:
        wallet = ok(await http.get(f"/v1/users/{member['id']}/wallet", headers=program.admin))
        balances[member["id"]] = int(wallet["points"])
    return balances


def sqlite_path(url: str) -> str | None:
    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "sqlite" else None


# ---- the test ----


async def test_sigkill_under_pos_load_loses_doubles_and_half_applies_nothing(
    fresh_database_url: str, backend: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    engine = Engine(fresh_database_url, tmp_path / "server.log")
    tally = Tally()
    done: list[Operation] = []
    async with running(engine) as probe:
        program = await provision(fresh_database_url, probe)
        stop = asyncio.Event()
        tills = [asyncio.ensure_future(till(n, engine, program, stop, tally, done)) for n in range(TILLS)]
        killing = asyncio.ensure_future(killer(engine, probe, KILLS, rng))
        tasks: list[asyncio.Future[None]] = [killing, *tills]
        try:
            await until_done(killing, tasks, deadline=time.monotonic() + KILLS * 15 + 60)
            # Let the tills work on the last server a moment, then wait for every operation to get its answer.
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tills), timeout=OPERATION_SECONDS + 30)
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        loaded = time.monotonic()

        expected: Counter[str] = Counter({member["id"]: OPENING_POINTS for member in program.members})
        for op in done:
            if op.acknowledged and op.member is not None:
                expected[op.member] += op.points
        assert await check_over_http(probe, program, done) == dict(expected)

    stored = await read_back(fresh_database_url, program.tenant_id)
    check_database(stored, program, done, dict(expected))

    code, output = await loyalty_cli(fresh_database_url, "ledger", "verify", "--json")
    assert code == 0, output
    verdict = json.loads(output)
    assert (verdict["ok"], verdict["accounts"], verdict["mismatches"]) == (True, MEMBERS, []), verdict

    path = sqlite_path(fresh_database_url)
    if path is not None:
        with contextlib.closing(sqlite3.connect(path)) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []

    kinds = Counter(op.kind for op in done)
    interrupted = [op for op in done if op.lost_answers]
    replayed = [op for op in done if op.replayed]
    summary = (
        f"{backend}: {engine.kills} kills, {len(done)} operations {dict(kinds)}, "
        f"{sum(1 for op in done if not op.acknowledged)} refused debits, {len(interrupted)} answers lost in a kill "
        f"({len(replayed)} replayed from the stored answer, {len(interrupted) - len(replayed)} ran on retry), "
        f"{tally.refused_connections} refused connections, {tally.timeouts} timeouts, {tally.in_use} keys in use; "
        f"restarts {sum(engine.restart_seconds) / max(1, len(engine.restart_seconds)):.2f} s on average, "
        f"load {loaded - started:.1f} s, total {time.monotonic() - started:.1f} s, seed {SEED}"
    )
    print(summary)
    assert engine.kills == KILLS, summary
    assert [op.key for op in replayed if not op.lost_answers] == [], "a key replayed for an answer never lost"
    assert interrupted, f"no kill hit a request in flight: {summary}"
    assert tally.server_errors == [], "\n".join(tally.server_errors[:20])
