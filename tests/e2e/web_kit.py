"""What the browser suites share: a real server process on a fresh database (SQLite file or PostgreSQL) holding one
tenant with an admin and a POS client, and headless Debian Chromium driven by Playwright.

Playwright's sync API keeps an event loop running in the test's thread, so anything that needs ``asyncio.run`` (the
database helpers) is run in a thread of its own (``off_the_loop``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from loyalty.storage import migrate
from loyalty.storage.database import Database
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.processes import free_port

T = TypeVar("T")

CHROMIUM = Path(os.environ.get("LOYALTY_CHROMIUM", "/usr/bin/chromium"))
READY_SECONDS = 30

# The engine's application (it serves the till and the console), run by uvicorn on the port given.
SERVER = """
import sys

import uvicorn

from loyalty.api.app import create_app

uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


@dataclass
class Served:
    """A running engine with one tenant: its address, credentials, and an HTTP client signed in as the admin."""

    base_url: str
    backend: str
    api_key: str
    admin_id: str
    admin_secret: str
    pos_id: str
    pos_secret: str
    http: httpx.Client
    admin: dict[str, str]
    log: Path

    def ok(self, answer: httpx.Response) -> Any:
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["data"]


def off_the_loop(function: Callable[..., T], *args: Any) -> T:
    """Runs ``function`` in a thread of its own (see the module's note)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


async def _create_tenant(url: str) -> tuple[str, tuple[str, str], tuple[str, str]]:
    from loyalty.services import clients as client_service
    from loyalty.services import tenants as tenant_service

    database = Database(url)
    try:

        async def setup(tx: Any) -> tuple[Any, Any, Any]:
            created = await tenant_service.create_tenant(tx, "Demo café")
            admin = await client_service.create_client(tx, created.tenant.tenant_id, "admin")
            pos = await client_service.create_client(tx, created.tenant.tenant_id, "pos", name="till 1")
            return created, admin, pos

        created, admin, pos = await database.run(setup)
    finally:
        await database.dispose()
    return (
        created.api_key,
        (str(admin.client.client_id), admin.client_secret),
        (str(pos.client.client_id), pos.client_secret),
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_ready(http: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while True:
        assert process.poll() is None, f"the server exited early:\n{log.read_text(errors='replace')}"
        with contextlib.suppress(httpx.TransportError):
            if http.get("/readyz").status_code == 200:
                return
        assert time.monotonic() < deadline, f"the server was not ready:\n{log.read_text(errors='replace')}"
        time.sleep(0.1)


@contextlib.contextmanager
def served_tenant(backend: str, workdir: Path) -> Iterator[Served]:
    """A server process on a fresh, migrated database of ``backend`` with one empty tenant."""
    url = f"sqlite:///{workdir / 'engine.db'}" if backend == "sqlite" else off_the_loop(create_postgres_database)
    process: subprocess.Popen[bytes] | None = None
    log = workdir / "server.log"
    try:
        off_the_loop(migrate.upgrade, url)
        api_key, (admin_id, admin_secret), (pos_id, pos_secret) = off_the_loop(asyncio.run, _create_tenant(url))
        port = free_port()
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-c", SERVER, str(port)],
                env={**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_LOG_LEVEL": "WARNING"},
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base_url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base_url, timeout=30) as http:
            _wait_ready(http, process, log)
            token = http.post(
                "/v1/oauth/token",
                headers={"X-Api-Key": api_key},
                data={"grant_type": "client_credentials", "client_id": admin_id, "client_secret": admin_secret},
            )
            assert token.status_code == 200, token.text
            admin = {"X-Api-Key": api_key, "Authorization": f"Bearer {token.json()['access_token']}"}
            yield Served(base_url, backend, api_key, admin_id, admin_secret, pos_id, pos_secret, http, admin, log)
    finally:
        if process is not None:
            stop(process)
        if backend == "postgresql":
            off_the_loop(drop_postgres_database, url)


@contextlib.contextmanager
def launched_browser() -> Iterator[Any]:
    """Headless Debian Chromium (skips the test when it is missing: ``scripts/install`` installs it)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (scripts/install installs Debian's)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()
