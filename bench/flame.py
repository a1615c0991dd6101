"""A flame graph of the engine serving tills: the demo program on a fresh database, one ``loyalty serve`` worker,
``loyalty demo traffic`` driving it from another process, and py-spy sampling the server the whole time.

    python -m bench.flame [--backend sqlite|postgresql] [--seconds 30] [--out docs/benchmarks]

Writes ``flame-<backend>.svg`` (open it in a browser: wider means more time) and prints the traffic summary.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import servers

# Every command run here is this engine's own CLI, the server, or py-spy, with arguments built here.
# ruff: noqa: S603

ROOT = Path(__file__).resolve().parent.parent


def _loyalty(url: str, *args: str) -> dict[str, object]:
    env = {**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_LOG_LEVEL": "WARNING"}
    found = subprocess.run(
        [sys.executable, "-m", "loyalty", *args, "--json"], env=env, capture_output=True, text=True, check=True
    )
    document: dict[str, object] = json.loads(found.stdout)
    return document


def profile(backend: str, seconds: float, out: Path, postgres: str) -> Path:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    work = Path(tempfile.mkdtemp(prefix="loyalty-flame-"))
    if backend == "sqlite":
        url = f"sqlite:///{work / 'flame.db'}"
    else:
        url = asyncio.run(servers.create_database(postgres, "flame"))
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [sys.executable, "-m", "loyalty", "db", "upgrade"],
            env={**os.environ, "LOYALTY_DATABASE_URL": url},
            check=True,
            capture_output=True,
        )
        demo = _loyalty(url, "demo")
        port = servers.free_port()
        env = {
            **os.environ,
            "LOYALTY_DATABASE_URL": url,
            "LOYALTY_LOG_LEVEL": "WARNING",
            "LOYALTY_RATE_LIMIT_PER_SECOND": "0",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "loyalty.api.asgi:app", "--port", str(port), "--log-level", "warning"],
            env=env,
            start_new_session=True,
        )
        time.sleep(3)  # the server starts; the traffic command retries until it answers anyway
        out.mkdir(parents=True, exist_ok=True)
        svg = out / f"flame-{backend}.svg"
        recorder = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(server.pid),
                "--duration",
                str(int(seconds)),
                "--format",
                "flamegraph",
                "--output",
                str(svg),
                "--nonblocking",
            ],
        )
        traffic = _loyalty(
            url,
            "demo",
            "traffic",
            "--api-key",
            str(demo["apiKey"]),
            "--minutes",
            str(seconds / 60),
            "--tills",
            "8",
            "--url",
            f"http://127.0.0.1:{port}",
        )
        recorder.wait(timeout=seconds + 60)
        retitle(svg, f"loyalty serve on {backend}: {int(seconds)} s of py-spy samples while 8 tills run")
        print(json.dumps(traffic, indent=1))
        return svg
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        if backend == "postgresql":
            asyncio.run(servers.drop_database(postgres, url))
        shutil.rmtree(work, ignore_errors=True)


def retitle(svg: Path, title: str) -> None:
    """py-spy titles the graph with its own command line, which holds local paths: say what it shows instead."""
    heading = re.compile(r'(<text id="title"[^>]*>)[^<]*<')
    svg.write_text(heading.sub(lambda m: f"{m.group(1)}{html.escape(title)}<", svg.read_text(), count=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LOYALTY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    options = parser.parse_args()
    print(profile(options.backend, options.seconds, options.out, options.postgres_url))


if __name__ == "__main__":
    main()
