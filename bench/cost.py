"""``python -m bench.cost``: what one operation of each scenario costs the engine — CPU time and SQL statements —
with the engine in-process, one operation at a time.

The load runs (``python -m bench``) answer "how fast under load"; their figures move with whatever else the machine
is doing. These answer "how much work per operation", which moves much less: CPU time is counted for this process only
(the engine, the in-process client and, on SQLite, the database, which runs in the engine's threads; PostgreSQL's
own CPU is not counted, its statements are), and the statements are counted exactly. They are what an
optimisation should move, and they bound the throughput: a process cannot serve more than 1 / (CPU per operation)
operations a second.

The tenant is the load runs' (``bench.seed``, smaller by default) and the operations are the load runs' own
scenarios, sent through an in-process ASGI client with the POS client's token.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import random
import statistics
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import event

from bench.scenarios import SCENARIOS, Context
from bench.seed import Sizes, Tenant, get_token, mint_vouchers, seed
from loyalty.api.app import create_app
from loyalty.api.observability import configure_logging
from loyalty.settings import Settings
from loyalty.storage.database import Database


class InProcessClient:
    """The load generator's client interface (``call``, ``json``) over an in-process ASGI transport."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers

    async def call(
        self,
        name: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> bytes:
        payload = orjson.dumps(body) if body is not None else raw
        sent = {
            **self.headers,
            **({"Content-Type": "application/json"} if payload is not None else {}),
            **(headers or {}),
        }
        answer = await self.http.request(method, path, content=payload, headers=sent, params=params)
        if answer.status_code >= 300:
            raise RuntimeError(f"{name} -> {answer.status_code}: {answer.text[:300]}")
        return answer.content

    async def json(self, name: str, method: str, path: str, **kwargs: Any) -> Any:
        return orjson.loads(await self.call(name, method, path, **kwargs))


class StatementCounter:
    """Counts the statements sent to the database; keeps their text while ``show`` is set."""

    def __init__(self, db: Database) -> None:
        self.count = 0
        self.show = False
        self.seen: list[str] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        if self.show:
            self.seen.append(" ".join(statement.split())[:160])


@contextmanager
def measured() -> Iterator[dict[str, float]]:
    figures: dict[str, float] = {}
    cpu, wall = time.process_time(), time.perf_counter()
    yield figures
    figures["cpu"] = time.process_time() - cpu
    figures["wall"] = time.perf_counter() - wall


async def cost_of(
    url: str,
    *,
    members: int,
    operations: int,
    warmup: int,
    scenarios: list[str],
    show: bool = False,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    rng = random.Random(7)  # noqa: S311 - load data, not secrets
    tenant: Tenant = await seed(url, Sizes(members, 0), rng=rng)
    db = Database(url)
    counter = StatementCounter(db)
    app = create_app(Settings(database_url=url), database=db)
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://engine") as http:
        token = await get_token(http, tenant.api_key, tenant.pos_client_id, tenant.pos_secret)
        client = InProcessClient(http, {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {token}"})
        for scenario in (s for s in SCENARIOS if s.name in scenarios):
            needed = (warmup + operations) if scenario.burns_vouchers else 0
            tenant.vouchers = await mint_vouchers(url, tenant, max(needed, 50), rng=rng)
            supply = deque(tenant.vouchers)
            context = Context(client, tenant, supply, rng, f"cost-{scenario.name}")  # type: ignore[arg-type]
            operation = scenario.make(context)
            for index in range(warmup):
                await operation(index)
            if show:
                counter.show, counter.seen = True, []
                await operation(warmup)
                counter.show = False
                sys.stdout.write(f"-- {scenario.name}: {len(counter.seen)} statements\n")
                sys.stdout.write("".join(f"{n:3d} {text}\n" for n, text in enumerate(counter.seen, 1)))
            cpu: list[float] = []
            statements: list[int] = []
            profiler = cProfile.Profile() if profile_dir else None
            for index in range(operations):
                before = counter.count
                with measured() as figures:
                    if profiler:
                        profiler.enable()
                    await operation(index)
                    if profiler:
                        profiler.disable()
                cpu.append(figures["cpu"] * 1000)
                statements.append(counter.count - before)
            if profiler and profile_dir:
                # cProfile slows every call, so the CPU figures of a profiled run are not comparable with others.
                backend = "sqlite" if url.startswith("sqlite") else "postgresql"
                profiler.dump_stats(profile_dir / f"{backend}-{scenario.name}.pstats")
            results[scenario.name] = {
                "title": scenario.title,
                "requests": scenario.requests,
                "operations": operations,
                "cpuMsMedian": round(statistics.median(cpu), 2),
                "cpuMsMean": round(statistics.fmean(cpu), 2),
                "statementsMedian": statistics.median(statements),
                "statementsMax": max(statements),
                "ceilingPerProcess": round(1000 / statistics.fmean(cpu), 1),
            }
    await db.dispose()
    return results


def table(backend: str, results: dict[str, Any]) -> str:
    lines = [
        f"### {backend}",
        "",
        "| Scenario | CPU ms / op (median, mean) | SQL statements / op (median, max) | ops/s one process could do |",
        "|---|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['cpuMsMedian']} / {r['cpuMsMean']} | {r['statementsMedian']:g} / {r['statementsMax']} "
            f"| {r['ceilingPerProcess']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", required=True, help="a database URL (repeat for several)")
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--operations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument("--out", type=Path, help="write the figures as JSON here too")
    parser.add_argument("--show-statements", action="store_true", help="print the statements of one operation")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="write a cProfile of each scenario's operations here (pstats)"
    )
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    chosen = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    everything = {}
    for url in args.url:
        backend = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
        results = asyncio.run(
            cost_of(
                url,
                members=args.members,
                operations=args.operations,
                warmup=args.warmup,
                scenarios=chosen,
                show=args.show_statements,
                profile_dir=args.profile,
            )
        )
        everything[backend] = results
        sys.stdout.write(table(backend, results) + "\n")
    if args.out:
        args.out.write_text(json.dumps(everything, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
