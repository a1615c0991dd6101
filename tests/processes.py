"""Helpers for tests that run the engine as real processes (servers, the CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def loyalty_cli(url: str, *args: str) -> tuple[int, str]:
    """Run ``python -m loyalty ARGS`` against the database at ``url``; answers its exit code and stdout."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "loyalty",
        *args,
        env={**os.environ, "LOYALTY_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode is not None
    assert stdout, stderr.decode()
    return process.returncode, stdout.decode()


def _output_of(log: Path) -> str:
    return log.read_text(errors="replace")


async def start_engine(
    url: str, port: int, log: Path, *, workers: int = 1, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """``loyalty serve`` on ``port`` (its own process group, output appended to ``log``), ready to answer;
    ``env`` adds to its environment."""
    with log.open("ab") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "loyalty",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-demo",
            env={**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_LOG_LEVEL": "WARNING", **(env or {})},
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        while time.monotonic() < deadline:
            assert process.returncode is None, _output_of(log)
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return process
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not become ready:\n" + _output_of(log))


async def kill_engine(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the server's whole process group (workers included) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
