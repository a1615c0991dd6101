"""Processes the harness starts — the engine (``loyalty serve``), the bare ASGI app for the HTTP ceiling, the
database-ceiling workers, the seeders and the ``loyalty`` CLI — and the PostgreSQL databases it creates.

Every process leads its own process group, is bounded in time, and is stopped (SIGTERM, then SIGKILL of the whole
group) by the :class:`Processes` registry that owns it, whether the harness ends normally or fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

LOOPBACK = "127.0.0.1"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
STOP_SECONDS = 15.0
READY_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    """The harness's environment for a child, with the project root importable (for ``bench.*`` modules)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


@dataclass
class Process:
    name: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Processes:
    """Starts processes and guarantees they are stopped."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Process] = []

    async def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> Process:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as sink:
            process = await asyncio.create_subprocess_exec(
                *args,
                env=env,
                cwd=cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=sink,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        started = Process(name, process, log)
        self.started.append(started)
        return started

    async def stop(self, started: Process) -> None:
        if started.running:
            with contextlib.suppress(ProcessLookupError):
                started.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(started.process.wait(), timeout=STOP_SECONDS)
        # The process leads its own group: take down anything it left behind (uvicorn's workers, say).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(started.process.pid, signal.SIGKILL)
        if started.running:
            await started.process.wait()
        if started in self.started:
            self.started.remove(started)

    async def stop_all(self) -> None:
        for started in list(reversed(self.started)):
            await self.stop(started)

    async def run(self, name: str, args: list[str], env: dict[str, str], cwd: Path, *, limit_seconds: float) -> str:
        """Run a process to completion within ``limit_seconds``; answers its output, raises if it failed."""
        started = await self.start(name, args, env, cwd)
        try:
            await asyncio.wait_for(started.process.wait(), timeout=limit_seconds)
        except TimeoutError as error:
            raise RuntimeError(f"{name} did not finish within {limit_seconds:.0f} s:\n{started.tail()}") from error
        finally:
            await self.stop(started)
        output = started.log.read_text(errors="replace")
        if started.process.returncode != 0:
            raise RuntimeError(f"{name} exited with {started.process.returncode}:\n{started.tail()}")
        return output


def python() -> list[str]:
    return [sys.executable]


async def wait_ready(started: Process, url: str, *, expect: int = 200, within: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while time.monotonic() < deadline:
            if not started.running:
                raise RuntimeError(f"{started.name} exited early:\n{started.tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with http.get(url) as answer:
                    if answer.status == expect:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{started.name} was not ready within {within:.0f} s:\n{started.tail()}")


# ---- PostgreSQL ----


def require_loopback(url: str) -> None:
    """The harness only ever talks to this machine."""
    host = make_url(url).host or "localhost"
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to benchmark against {host}: the harness only talks to 127.0.0.1")


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(server_url: str, statement: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(server_url), timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def create_database(server_url: str, prefix: str) -> str:
    """A new, empty database on the server; answers its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def vacuum_analyze(url: str) -> None:
    """After a bulk load, as an operator would: fresh statistics, and no autovacuum storm during measurement."""
    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def postgres_settings(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        found = {}
        for name in (
            "server_version",
            "synchronous_commit",
            "fsync",
            "wal_sync_method",
            "shared_buffers",
            "max_connections",
        ):
            found[name] = str(await connection.fetchval(f"SHOW {name}"))
        return found
    finally:
        await connection.close()
