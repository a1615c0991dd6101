"""docs/pos-integration.md is executed: every shell example (in order, in one bash session) and every Python
example (in order, in one namespace) runs against a real server holding the demo program. An example that fails —
a curl that gets a 4xx or 5xx, a Python exception or assertion — fails the test."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PROJECT_ROOT
from tests.processes import free_port, kill_engine, loyalty_cli, start_engine

pytestmark = pytest.mark.e2e

GUIDE = PROJECT_ROOT / "docs" / "pos-integration.md"
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [body for kind, body in BLOCK.findall(GUIDE.read_text()) if kind == language]


def test_the_guide_has_both_kinds_of_example_for_every_task():
    text = GUIDE.read_text()
    sections = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    for section in sections:
        title = section.splitlines()[0]
        assert "```python" in section, f"no Python example in: {title}"
        if title != "Signing in" or "```sh" in section:
            assert "```sh" in section or title == "Idempotency and working offline", f"no curl example in: {title}"
    assert len(blocks("sh")) >= 8
    assert len(blocks("python")) >= 9


async def run_shell(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = "set -euo pipefail\n" + "\n".join(blocks("sh"))
    return await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", script],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_python(environment: dict[str, Any]) -> None:
    namespace: dict[str, Any] = dict(environment)
    for number, block in enumerate(blocks("python"), start=1):
        exec(compile(block, f"{GUIDE.name} (Python example {number})", "exec"), namespace)  # noqa: S102


async def test_every_example_runs_against_a_real_engine(fresh_database_url: str, tmp_path: Path):
    url = fresh_database_url
    code, output = await loyalty_cli(url, "demo", "--json")
    assert code == 0, output
    demo = json.loads(output)
    port = free_port()
    server = await start_engine(url, port, tmp_path / "server.log")
    try:
        common = {
            "BASE": f"http://127.0.0.1:{port}",
            "KEY": demo["apiKey"],
            "POS_ID": demo["posClientId"],
            "POS_SECRET": demo["posClientSecret"],
            "FIVE_OFF": demo["rewards"]["fiveOff"],
        }
        # Each run as a different member with points enough for a voucher and a spend.
        shell = await run_shell({**common, "MEMBER": demo["members"][1]})
        assert shell.returncode == 0, f"stdout:\n{shell.stdout}\nstderr:\n{shell.stderr}"
        assert '"pointsEarned"' in shell.stdout
        journal = tmp_path / "till.journal"
        await asyncio.to_thread(run_python, {**common, "MEMBER": demo["members"][2], "JOURNAL": str(journal)})
        async with httpx.AsyncClient(base_url=common["BASE"]) as http:
            token = (
                await http.post(
                    "/v1/oauth/token",
                    headers={"X-Api-Key": demo["apiKey"]},
                    data={
                        "grant_type": "client_credentials",
                        "client_id": demo["adminClientId"],
                        "client_secret": demo["adminClientSecret"],
                    },
                )
            ).json()["access_token"]
            headers = {"X-Api-Key": demo["apiKey"], "Authorization": f"Bearer {token}"}
            listed = (await http.get("/v1/orders", headers=headers, params={"limit": 100})).json()["data"]
        external_ids = sorted(order["externalId"] for order in listed)
        # Shell: a checkout, an order and its idempotent retry (one order); Python: a checkout and an order.
        assert sum(1 for e in external_ids if e.startswith("SH-")) == 3
        assert sum(1 for e in external_ids if e.startswith("PY-")) == 2
    finally:
        await kill_engine(server)
    code, output = await loyalty_cli(url, "ledger", "verify", "--json")
    assert code == 0, output
