"""Helpers for tests that run the engine as real processes (servers, the CLI)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys


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
