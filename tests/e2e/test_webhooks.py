"""Webhooks end to end: a real receiver on loopback, the real ``loyalty worker`` process, the real outbox.

Each module run gets a fresh database (a SQLite file, then a PostgreSQL database) shared by an in-process app,
which configures reactors and reports events, and by the worker subprocesses, which deliver.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from loyalty.api.app import create_app
from loyalty.settings import Settings
from loyalty.storage import migrate
from loyalty.storage.database import Database
from tests.conftest import (
    BACKENDS,
    TenantKit,
    adjust,
    create_member,
    create_postgres_database,
    drop_postgres_database,
    make_tenant,
)

pytestmark = pytest.mark.e2e

T = TypeVar("T")

EVENT_TYPE = "PARCEL_SHIPPED"
DELIVERY_SECONDS = 20
STALL_SECONDS = 3.0
WORKER_TIMINGS = {
    "LOYALTY_WEBHOOK_BACKOFF_SECONDS": "0.05",
    "LOYALTY_WORKER_POLL_SECONDS": "0.05",
    "LOYALTY_WEBHOOK_LEASE_SECONDS": "1",
    "LOYALTY_WEBHOOK_TIMEOUT_SECONDS": "10",
    "LOYALTY_LOG_LEVEL": "INFO",  # one line per delivery attempt, shown when a wait runs out
    "PYTHONUNBUFFERED": "1",
}
PROXY_VARIABLES = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"}


# ---- the receiver ----


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    answered_with: int
    received_at: float  # time.monotonic()

    @property
    def message(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request to its path. It can answer 500 to the first
    ``fail_first`` requests, and hold the first request for ``stall_first`` seconds before answering."""

    def __init__(self) -> None:
        # Only requests to this path count: a stray request from elsewhere to a reused port is answered 404.
        self.path = f"/hooks/{uuid.uuid4().hex}"
        self.fail_first = 0
        self.stall_first = 0.0
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._answered = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != receiver.path:
                    with suppress(BrokenPipeError, ConnectionResetError):
                        self.send_error(404)
                    return
                with receiver._lock:
                    index = len(receiver._requests)
                    status = 500 if index < receiver.fail_first else 200
                    receiver._requests.append(
                        Received(
                            method=self.command,
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                            answered_with=status,
                            received_at=time.monotonic(),
                        )
                    )
                if index == 0 and receiver.stall_first:
                    receiver.released.wait(receiver.stall_first)  # the deliberate stall
                # The client may be gone (a killed worker): nothing to answer to then.
                with suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                with receiver._lock:
                    receiver._answered += 1

            do_POST = do_PUT = do_GET = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def summary(self) -> str:
        started = self.requests
        lines = [f"{r.received_at:.3f} {r.method} {r.path} -> {r.answered_with} {r.body[:80]!r}" for r in started]
        return f"receiver at {self.url}, {self.answered} answered of {len(started)}:\n" + "\n".join(lines)

    @property
    def answered(self) -> int:
        with self._lock:
            return self._answered

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ---- the database, the in-process app, the worker ----


@pytest.fixture(scope="module", params=BACKENDS)
def worker_database(
    request: pytest.FixtureRequest, postgres_ready: bool, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, migrated database for this module only."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('webhooks') / 'outbox.db'}"
        migrate.upgrade(url)
        yield url
        return
    if not postgres_ready:
        pytest.skip("PostgreSQL not reachable")
    url = create_postgres_database()
    try:
        migrate.upgrade(url)
        yield url
    finally:
        drop_postgres_database(url)


@dataclass
class Engine:
    url: str
    http: httpx.AsyncClient
    tenant: TenantKit
    logs: Path


@pytest.fixture
async def engine(worker_database: str, tmp_path: Path) -> AsyncIterator[Engine]:
    database = Database(worker_database)
    app = create_app(Settings(database_url=worker_database), database=database)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://engine.test") as http:
            tenant = await make_tenant(http, database, "webhooks")
            yield Engine(url=worker_database, http=http, tenant=tenant, logs=tmp_path)
    finally:
        await database.dispose()


def worker_environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    env.update(WORKER_TIMINGS)
    env["LOYALTY_DATABASE_URL"] = url
    return env


def start_worker(engine: Engine, name: str, *args: str) -> subprocess.Popen[bytes]:
    log = engine.logs / f"{name}.log"
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "loyalty", "worker", *args],
            env=worker_environment(engine.url),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


@contextmanager
def running_worker(engine: Engine, name: str) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker(engine, name)
    try:
        yield process
    finally:
        kill(process)


def worker_output(engine: Engine) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for log in sorted(engine.logs.glob("*.log")))


def run_worker_once(engine: Engine) -> None:
    process = start_worker(engine, "once", "--once")
    try:
        code = process.wait(timeout=60)
    finally:
        kill(process)
    assert code == 0, worker_output(engine)


@dataclass
class Watch:
    """What a wait looks at: the engine, the receiver and the worker that should be doing the work."""

    engine: Engine
    receiver: Receiver
    worker: subprocess.Popen[bytes]

    async def report(self, problem: str) -> str:
        log = json.dumps((await deliveries(self.engine))["data"], indent=1)
        return (
            f"{problem} (now {time.monotonic():.3f})\n{self.receiver.summary()}\n"
            f"delivery log: {log}\n{worker_output(self.engine)}"
        )


async def eventually(probe: Callable[[], Awaitable[T | None]], *, seconds: float, what: str, watch: Watch) -> T:
    """Poll ``probe`` until it returns something, for at most ``seconds``; a worker that dies fails at once."""
    deadline = time.monotonic() + seconds
    for _ in range(100_000):
        found = await probe()
        if found is not None:
            return found
        if watch.worker.poll() is not None:
            pytest.fail(await watch.report(f"the worker exited ({watch.worker.returncode}) before {what}"))
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    pytest.fail(await watch.report(f"{what} did not happen within {seconds} s"))


# ---- the API, as a retailer uses it ----


async def configure(engine: Engine, reactions: list[dict[str, Any]]) -> dict[str, Any]:
    created = await engine.http.post(
        "/v1/event_types",
        headers=engine.tenant.admin,
        json={"name": EVENT_TYPE, "schema": {"type": "object", "properties": {"parcel": {"type": "string"}}}},
    )
    assert created.status_code == 200, created.text
    reactor = await engine.http.post(
        "/v1/event_reactors",
        headers=engine.tenant.admin,
        json={"name": "tell the shop", "eventType": EVENT_TYPE, "reactions": reactions},
    )
    assert reactor.status_code == 200, reactor.text
    return dict(reactor.json()["data"])


def webhook(receiver: Receiver, **headers: str) -> dict[str, Any]:
    return {"type": "WEBHOOK", "url": receiver.url, "headers": headers}


async def report(engine: Engine, member: dict[str, Any], payload: dict[str, Any]) -> httpx.Response:
    return await engine.http.post(
        "/v1/events",
        headers=engine.tenant.pos,
        json={"type": EVENT_TYPE, "subject": member["id"], "payload": payload},
    )


async def deliveries(engine: Engine, **query: str) -> dict[str, Any]:
    answer = await engine.http.get("/v1/webhook_deliveries", headers=engine.tenant.admin, params=query)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def delivery_of(engine: Engine, event_id: str) -> dict[str, Any]:
    page = await deliveries(engine, eventId=event_id)
    assert page["meta"]["total"] == 1, page
    return dict(page["data"][0])


async def delivered(watch: Watch, event_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await delivery_of(watch.engine, event_id)
        return found if found["status"] == "DELIVERED" else None

    return await eventually(probe, seconds=DELIVERY_SECONDS, what=f"the delivery for event {event_id}", watch=watch)


async def webhook_secret(engine: Engine) -> str:
    answer = await engine.http.get("/v1/webhook_secret", headers=engine.tenant.admin)
    assert answer.status_code == 200, answer.text
    secret = str(answer.json()["data"]["secret"])
    assert secret
    return secret


def signed_with(secret: str, request: Received) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers.get("x-signature", ""), expected)


def shipped_event(answer: httpx.Response, reactor: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The stored event and the id of the webhook message its reaction enqueued."""
    assert answer.status_code == 200, answer.text
    event = dict(answer.json()["data"])
    [reaction] = event["reactions"]
    assert reaction["reactorId"] == reactor["id"]
    assert reaction["type"] == "WEBHOOK"
    assert reaction["status"] == "APPLIED", reaction
    return event, str(reaction["detail"]["deliveryId"])


# ---- the tests ----


async def test_an_event_is_delivered_once_signed_with_the_tenant_secret(engine: Engine, receiver: Receiver):
    reactor = await configure(engine, [webhook(receiver, **{"X-Shop": "7"})])
    member = await create_member(engine.http, engine.tenant.admin)
    payload = {"parcel": "P-1001", "weight": 2.5, "items": [{"sku": "MUG"}]}

    event, delivery_id = shipped_event(await report(engine, member, payload), reactor)

    waiting = await delivery_of(engine, event["id"])
    assert (waiting["id"], waiting["status"], waiting["attempts"]) == (delivery_id, "PENDING", 0)
    assert receiver.requests == []

    with running_worker(engine, "worker") as worker:
        log = await delivered(Watch(engine, receiver, worker), event["id"])

    assert log["id"] == delivery_id
    assert log["eventId"] == event["id"]
    assert log["reactorId"] == reactor["id"]
    assert log["url"] == receiver.url
    assert (log["status"], log["attempts"], log["lastStatusCode"], log["lastError"]) == ("DELIVERED", 1, 200, None)
    assert log["deliveredAt"] is not None

    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", receiver.path)
    assert request.message == {
        "id": delivery_id,
        "type": EVENT_TYPE,
        "reportedAt": event["reportedAt"],
        "subject": member["authIdentifier"],
        "payload": payload,
    }
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-shop"] == "7"
    assert request.headers["x-signature"].startswith("sha256=")
    assert signed_with(await webhook_secret(engine), request)
    assert not signed_with("another secret", request)


async def test_a_failing_receiver_gets_the_message_on_the_third_try(engine: Engine, receiver: Receiver):
    receiver.fail_first = 2
    reactor = await configure(engine, [webhook(receiver)])
    member = await create_member(engine.http, engine.tenant.admin)

    event, delivery_id = shipped_event(await report(engine, member, {"parcel": "P-2002"}), reactor)
    with running_worker(engine, "worker") as worker:
        log = await delivered(Watch(engine, receiver, worker), event["id"])

    assert (log["id"], log["status"], log["attempts"], log["lastStatusCode"]) == (delivery_id, "DELIVERED", 3, 200)
    assert log["lastError"] is None
    seen = receiver.requests
    assert [r.answered_with for r in seen] == [500, 500, 200]
    assert [r.message["id"] for r in seen] == [delivery_id] * 3
    assert len({r.body for r in seen}) == 1
    secret = await webhook_secret(engine)
    assert all(signed_with(secret, r) for r in seen)


async def test_a_worker_killed_mid_delivery_loses_nothing(engine: Engine, receiver: Receiver):
    receiver.stall_first = STALL_SECONDS
    reactor = await configure(engine, [webhook(receiver)])
    member = await create_member(engine.http, engine.tenant.admin)
    event, delivery_id = shipped_event(await report(engine, member, {"parcel": "P-3003"}), reactor)

    async def first_request_in_flight() -> bool | None:
        return True if receiver.requests else None

    first = start_worker(engine, "first")
    try:
        await eventually(
            first_request_in_flight,
            seconds=DELIVERY_SECONDS,
            what="the first attempt",
            watch=Watch(engine, receiver, first),
        )
        assert receiver.answered == 0  # the receiver is still holding the request
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        kill(first)

    # The killed worker recorded nothing: the message is still pending, held only by its lease.
    pending = await delivery_of(engine, event["id"])
    assert (pending["status"], pending["attempts"]) == ("PENDING", 0)

    with running_worker(engine, "second") as second:
        log = await delivered(Watch(engine, receiver, second), event["id"])

    assert (log["id"], log["status"], log["lastStatusCode"]) == (delivery_id, "DELIVERED", 200)
    # Only the second worker lived to record its attempt.
    assert log["attempts"] == 1
    seen = receiver.requests
    assert len(seen) == 2
    assert [r.message["id"] for r in seen] == [delivery_id, delivery_id]
    assert seen[0].body == seen[1].body


async def test_nothing_is_sent_for_an_event_that_rolled_back(engine: Engine, receiver: Receiver):
    overdraw = {
        "type": "POINTS",
        "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "-100"}]},
        "liabilityHandlingPolicy": "REJECT_EVENT",
    }
    reactor = await configure(engine, [webhook(receiver), overdraw])
    member = await create_member(engine.http, engine.tenant.admin)

    refused = await report(engine, member, {"parcel": "P-4004"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["data"]["code"] == "INSUFFICIENT_POINTS"
    assert (await deliveries(engine))["meta"]["total"] == 0
    stored = await engine.http.get("/v1/events", headers=engine.tenant.admin, params={"type": EVENT_TYPE})
    assert stored.json()["meta"]["total"] == 0

    run_worker_once(engine)
    assert receiver.requests == []

    # With the points there, the same event commits and its message goes out.
    credit = await adjust(engine.http, engine.tenant.admin, member["id"], 100)
    assert credit.status_code == 200, credit.text
    answer = await report(engine, member, {"parcel": "P-4004"})
    assert answer.status_code == 200, answer.text
    event = answer.json()["data"]
    assert [(r["type"], r["status"], r["points"]) for r in event["reactions"]] == [
        ("WEBHOOK", "APPLIED", None),
        ("POINTS", "APPLIED", -100),
    ]
    assert all(r["reactorId"] == reactor["id"] for r in event["reactions"])
    delivery_id = event["reactions"][0]["detail"]["deliveryId"]
    assert (await deliveries(engine))["meta"]["total"] == 1

    run_worker_once(engine)

    log = await delivery_of(engine, event["id"])
    assert (log["id"], log["status"], log["attempts"]) == (delivery_id, "DELIVERED", 1)
    assert [r.message["id"] for r in receiver.requests] == [delivery_id]
