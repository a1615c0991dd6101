"""The harness: seed, serve, sweep, overload, recover, measure the ceilings, report.

For each database (SQLite, PostgreSQL): a fresh database is seeded (in a subprocess, all databases at once, before
anything is measured), the tenant's rate limit is raised with the ``loyalty`` CLI so it does not shape the numbers,
and ``loyalty serve --workers 2`` is started on a free loopback port. Each scenario then gets a warm-up, a sweep of
fixed offered rates (each step run ``runs`` times; the median of each figure is kept), an overload step at twice
the saturating rate followed at once by a recovery step at half of it, and — with the engine stopped — its HTTP
ceiling (the same requests against a bare ASGI app under the same uvicorn setup) and its database ceiling (the
least database work of the operation, straight through the driver). The engine's ledger is verified afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp

from bench import dbceiling, loadgen, report
from bench.scenarios import BY_NAME, SCENARIOS, Context, Scenario
from bench.seed import Tenant, VoucherRef, mint_vouchers, tenant_from
from bench.servers import (
    LOOPBACK,
    Processes,
    child_env,
    create_database,
    drop_database,
    free_port,
    postgres_settings,
    python,
    require_loopback,
    vacuum_analyze,
    wait_ready,
)

BACKENDS = ("sqlite", "postgresql")
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results"
WORKERS = 2
MAX_ERROR_RATE = 0.01


@dataclass(frozen=True)
class Plan:
    mode: str
    backends: tuple[str, ...] = BACKENDS
    scenarios: tuple[str, ...] = tuple(s.name for s in SCENARIOS)
    rates: tuple[float, ...] = (10, 25, 50, 100, 200, 300, 400, 600)  # requests per second
    step_seconds: float = 10.0
    runs: int = 3
    warmup_seconds: float = 3.0
    ceiling_seconds: float = 10.0
    pause_seconds: float = 2.0
    concurrency: int = 128
    request_timeout: float = 10.0
    p99_bound_ms: float = 500.0
    members: int = 10_000
    vouchers: int = 5_000
    engine_log_level: str = "INFO"
    postgres_url: str = DEFAULT_POSTGRES
    seed: int = 1

    def document(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "backends": list(self.backends),
            "scenarios": list(self.scenarios),
            "ratesRequestsPerSecond": list(self.rates),
            "stepSeconds": self.step_seconds,
            "runs": self.runs,
            "warmupSeconds": self.warmup_seconds,
            "ceilingSeconds": self.ceiling_seconds,
            "concurrency": self.concurrency,
            "requestTimeoutSeconds": self.request_timeout,
            "p99BoundMs": self.p99_bound_ms,
            "members": self.members,
            "vouchers": self.vouchers,
            "workers": WORKERS,
            "engineLogLevel": self.engine_log_level,
            "maxErrorRate": MAX_ERROR_RATE,
        }

    def budget_seconds(self) -> float:
        """An upper bound on the run's length, past which the harness stops itself."""
        per_run = self.step_seconds + self.request_timeout + self.pause_seconds + 5
        overload = 2 * self.step_seconds + self.request_timeout + self.pause_seconds + 5
        per_scenario = self.warmup_seconds + self.request_timeout + self.runs * (len(self.rates) * per_run + overload)
        ceilings = 2 * self.runs * (self.ceiling_seconds + 30)
        minting = 300.0 if any(BY_NAME[s].burns_vouchers for s in self.scenarios) else 0.0
        per_backend = len(self.scenarios) * (per_scenario + ceilings) + minting + 600
        return 1200 + len(self.backends) * per_backend


FULL = Plan(mode="full")
QUICK = Plan(
    mode="quick",
    rates=(10, 25, 50, 100),
    step_seconds=3.0,
    runs=1,
    warmup_seconds=1.0,
    ceiling_seconds=3.0,
    pause_seconds=1.0,
    concurrency=64,
    request_timeout=5.0,
    members=2_000,
    vouchers=1_000,
)


# ---- the machine ----


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def rig() -> dict[str, Any]:
    import sqlite3

    return {
        "cpus": os.cpu_count(),
        "cpuModel": _cpu_model(),
        "memoryGiB": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "loadAverageAtStart": list(os.getloadavg()),
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            name: _version(name)
            for name in (
                "loyalty-engine",
                "uvicorn",
                "uvloop",
                "httptools",
                "fastapi",
                "sqlalchemy",
                "asyncpg",
                "aiosqlite",
                "aiohttp",
            )
        },
        "server": f"loyalty serve --workers {WORKERS}",
        "serverDetail": f"uvicorn, {WORKERS} worker processes, on {LOOPBACK}",
        "client": "aiohttp, one process, "
        + ("uvloop" if "uvloop" in sys.modules else "asyncio")
        + " event loop, open loop (latency from the intended send time)",
    }


# ---- one backend ----


@dataclass
class Backend:
    name: str
    url: str
    work_dir: Path
    tenant: Tenant | None = None
    seed_timings: dict[str, float] = field(default_factory=dict)
    database: dict[str, Any] = field(default_factory=dict)


def _median_of(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def median_step(runs: list[loadgen.StepResult]) -> dict[str, Any]:
    """The median of each figure across the runs of one step."""
    documents = [run.document() for run in runs]
    first = documents[0]
    summary: dict[str, Any] = {
        "label": first["label"],
        "offeredRate": first["offeredRate"],
        "durationSeconds": first["durationSeconds"],
        "runs": len(documents),
    }
    for key in ("sent", "achieved", "errorRate", "generatorLagMs", "generatorCpu", "peakInFlight"):
        summary[key] = _median_of([d[key] for d in documents])
    summary["counts"] = {k: _median_of([d["counts"].get(k, 0) for d in documents]) for k in loadgen.KINDS}
    summary["latencyMs"] = {k: _median_of([d["latencyMs"][k] for d in documents]) for k in first["latencyMs"]}
    error_latencies = [d["errorLatencyMs"] for d in documents if d["errorLatencyMs"]]
    summary["errorLatencyMs"] = (
        {k: _median_of([e[k] for e in error_latencies]) for k in error_latencies[0]} if error_latencies else {}
    )
    summary["errorSamples"] = sorted({s for d in documents for s in d["errorSamples"]})[: loadgen.ERROR_SAMPLES]
    summary["perRun"] = documents
    return summary


def recovery_seconds(step: dict[str, Any], bound_ms: float) -> float | None:
    """Seconds from the start of the recovery step until every later second of it met the bound with no error;
    None if it never did."""
    timeline = step["timeline"]
    for start in range(len(timeline)):
        rest = timeline[start:]
        if all(row["errors"] == 0 and (row["sent"] == 0 or row["p99Ms"] <= bound_ms) for row in rest):
            return float(start)
    return None


class Sweep:
    """Drives one scenario against a running engine."""

    def __init__(self, plan: Plan, backend: Backend, scenario: Scenario, ctx: Context) -> None:
        self.plan = plan
        self.backend = backend
        self.scenario = scenario
        self.ctx = ctx
        self.operation = scenario.make(ctx)
        self.next_index = 0
        self.minted = 0

    def operations_per_second(self, requests_per_second: float) -> float:
        return requests_per_second / self.scenario.requests

    async def _top_up(self, operations: float) -> None:
        """Enough vouchers for every checkout the phases can send, minted while nothing is measured."""
        if not self.scenario.burns_vouchers:
            return
        needed = int(operations * 1.05) + 10 - len(self.ctx.supply)
        if needed > 0:
            assert self.backend.tenant is not None
            rng = random.Random(self.plan.seed * 7919 + self.minted)  # noqa: S311 - load data, not secrets
            fresh = await mint_vouchers(self.backend.url, self.backend.tenant, needed, rng=rng)
            self.ctx.supply.extend(fresh)
            self.minted += needed

    async def phases(self, phases: list[tuple[str, float, float]]) -> list[loadgen.StepResult]:
        """Run phases given in requests per second; results are in operations."""
        in_operations = [(label, self.operations_per_second(rate), seconds) for label, rate, seconds in phases]
        await self._top_up(sum(rate * seconds for _label, rate, seconds in in_operations))
        results = await loadgen.open_loop(
            self.operation, in_operations, operation_timeout=self.plan.request_timeout, first_index=self.next_index
        )
        self.next_index += sum(r.sent for r in results)
        return results

    def passes(self, summary: dict[str, Any]) -> bool:
        # In an open loop a server that falls behind shows it as growing latency, so a p99 within the bound means
        # the rate was sustained; the completion rate is reported beside it.
        return bool(summary["errorRate"] < MAX_ERROR_RATE and summary["latencyMs"]["p99"] <= self.plan.p99_bound_ms)

    async def run(self) -> dict[str, Any]:
        plan = self.plan
        await self.phases([("warm-up", plan.rates[0], plan.warmup_seconds)])
        await asyncio.sleep(plan.pause_seconds)
        steps: list[dict[str, Any]] = []
        saturating: dict[str, Any] | None = None
        for rate in plan.rates:
            runs = []
            for _ in range(plan.runs):
                runs.extend(await self.phases([(f"{rate:g} req/s", rate, plan.step_seconds)]))
                await asyncio.sleep(plan.pause_seconds)
            summary = median_step(runs)
            summary["requestsPerSecond"] = rate
            summary["passed"] = self.passes(summary)
            steps.append(summary)
            _progress(self.backend.name, self.scenario.name, summary)
            if not summary["passed"]:
                break  # past saturation: higher rates only queue more
            saturating = summary

        base = saturating["requestsPerSecond"] if saturating else plan.rates[0]
        overload_rate, recovery_rate = 2 * base, base / 2
        overloads, recoveries = [], []
        for _ in range(plan.runs):
            overload, recovery = await self.phases(
                [
                    (f"overload {overload_rate:g} req/s", overload_rate, plan.step_seconds),
                    (f"recovery {recovery_rate:g} req/s", recovery_rate, plan.step_seconds),
                ]
            )
            overloads.append(overload)
            recoveries.append(recovery)
            await asyncio.sleep(plan.pause_seconds)
        overload_summary = median_step(overloads)
        overload_summary["requestsPerSecond"] = overload_rate
        recovery_summary = median_step(recoveries)
        recovery_summary["requestsPerSecond"] = recovery_rate
        recovery_summary["passed"] = self.passes(recovery_summary)
        recovery_summary["recoverySeconds"] = _median_or_none(
            [recovery_seconds(r.document(), plan.p99_bound_ms) for r in recoveries]
        )
        _progress(self.backend.name, self.scenario.name, overload_summary)
        _progress(self.backend.name, self.scenario.name, recovery_summary)
        return {
            "title": self.scenario.title,
            "requestsPerOperation": self.scenario.requests,
            "steps": steps,
            "saturating": _saturation(saturating),
            "overload": overload_summary,
            "recovery": recovery_summary,
            "wire": self.ctx.client.wire_shape(),
            "vouchersMinted": self.minted,
        }


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    if len(known) * 2 <= len(values):  # most runs never recovered
        return None
    return float(statistics.median(known))


def _saturation(step: dict[str, Any] | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {
        "requestsPerSecond": step["requestsPerSecond"],
        "offeredOperations": step["offeredRate"],
        "achievedOperations": step["achieved"],
        "latencyMs": step["latencyMs"],
        "errorRate": step["errorRate"],
    }


def _progress(backend: str, scenario: str, summary: dict[str, Any]) -> None:
    latency = summary["latencyMs"]
    passed = summary.get("passed")
    verdict = "" if passed is None else "ok" if passed else "FAIL"
    counts = summary["counts"]
    errors = {k: int(v) for k, v in counts.items() if k != loadgen.OK and v}
    print(
        f"  [{backend}] {scenario:<17} {summary['label']:<26} achieved {summary['achieved']:7.1f} op/s  "
        f"p50 {latency['p50']:7.1f}  p99 {latency['p99']:7.1f}  p99.9 {latency['p99.9']:7.1f} ms  "
        f"errors {summary['errorRate']:6.1%} {errors or ''} {verdict}",
        flush=True,
    )


async def _pos_token(http: aiohttp.ClientSession, tenant: Tenant) -> str:
    form = {"grant_type": "client_credentials", "client_id": tenant.pos_client_id, "client_secret": tenant.pos_secret}
    async with http.post("/v1/oauth/token", data=form, headers={"X-Api-Key": tenant.api_key}) as answer:
        if answer.status != 200:
            raise RuntimeError(f"token request refused: {answer.status} {await answer.text()}")
        return str((await answer.json())["access_token"])


async def _engine_phase(
    plan: Plan, backend: Backend, processes: Processes
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """Serve, sweep every scenario; answers the scenarios' results, the request headers used and a summary of
    the engine's own request log."""
    tenant = backend.tenant
    assert tenant is not None
    port = free_port()
    env = child_env(
        LOYALTY_DATABASE_URL=backend.url,
        LOYALTY_SQLITE_SYNCHRONOUS="FULL",
        LOYALTY_LOG_LEVEL=plan.engine_log_level,
    )
    args = [*python(), "-m", "loyalty", "serve", "--host", LOOPBACK, "--port", str(port)]
    server = await processes.start(
        f"engine-{backend.name}", [*args, "--workers", str(WORKERS), "--no-demo"], env, backend.work_dir
    )
    results: dict[str, Any] = {}
    headers: dict[str, str] = {}
    try:
        await wait_ready(server, f"http://{LOOPBACK}:{port}/readyz")
        async with loadgen.session(f"http://{LOOPBACK}:{port}", plan.concurrency) as http:
            token = await _pos_token(http, tenant)
            headers.update({"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {token}"})
            supply: deque[VoucherRef] = deque()
            for name in plan.scenarios:
                scenario = BY_NAME[name]
                client = loadgen.Client(http, headers)
                rng = random.Random(f"{plan.seed}-{backend.name}-{name}")  # noqa: S311 - load data, not secrets
                tag = f"{name}-{datetime.now(UTC):%H%M%S}-{os.getpid()}"
                ctx = Context(client=client, tenant=tenant, supply=supply, rng=rng, tag=tag)
                results[name] = await Sweep(plan, backend, scenario, ctx).run()
                results[name]["loadAverage"] = list(os.getloadavg())
                if not server.running:
                    raise RuntimeError(f"the engine exited during {name}:\n{server.tail()}")
    finally:
        await processes.stop(server)
    return results, headers, engine_log_summary(server.log, plan.request_timeout)


def engine_log_summary(log: Path, client_timeout: float) -> dict[str, Any]:
    """Per route, from the engine's JSON request log: requests, statuses, and the time each spent inside the
    engine — and how many ran on past the client's timeout (work nobody was waiting for any more)."""
    durations: dict[str, list[float]] = {}
    statuses: dict[str, dict[str, int]] = {}
    with contextlib.suppress(OSError), log.open(errors="replace") as lines:
        for line in lines:
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            route, duration = entry.get("route"), entry.get("duration_ms")
            if not isinstance(route, str) or not route.startswith("/v1/") or not isinstance(duration, int | float):
                continue
            durations.setdefault(route, []).append(float(duration))
            counted = statuses.setdefault(route, {})
            counted[str(entry.get("status"))] = counted.get(str(entry.get("status")), 0) + 1
    summary = {}
    for route, found in sorted(durations.items()):
        found.sort()
        summary[route] = {
            "requests": len(found),
            "statuses": statuses[route],
            "p50Ms": loadgen.percentile(found, 0.5),
            "p99Ms": loadgen.percentile(found, 0.99),
            "maxMs": found[-1],
            "pastClientTimeout": sum(1 for d in found if d > 1000 * client_timeout),
        }
    return summary


async def _http_ceiling(
    plan: Plan, backend: Backend, processes: Processes, scenarios: dict[str, Any], headers: dict[str, str]
) -> None:
    port = free_port()
    args = [*python(), "-m", "uvicorn", "bench.ceiling_app:app", "--host", LOOPBACK, "--port", str(port)]
    args += ["--workers", str(WORKERS), "--log-level", "warning", "--no-access-log", "--no-proxy-headers"]
    server = await processes.start(f"ceiling-app-{backend.name}", args, child_env(), backend.work_dir)
    try:
        await wait_ready(server, f"http://{LOOPBACK}:{port}/healthz")
        async with loadgen.session(f"http://{LOOPBACK}:{port}", plan.concurrency) as http:
            for name, found in scenarios.items():
                client = loadgen.Client(http, headers)
                client.record = False
                wire = found["wire"]
                bodies = [b"{" + b" " * max(0, r["request"] - 2) + b"}" if r["request"] else None for r in wire]

                async def operation(
                    _index: int, client: loadgen.Client = client, wire: Any = wire, bodies: list[bytes | None] = bodies
                ) -> None:
                    for request, body in zip(wire, bodies, strict=True):
                        await client.call(request["name"], request["method"], f"/bytes/{request['response']}", raw=body)

                runs = [
                    await loadgen.closed_loop(
                        operation,
                        concurrency=plan.concurrency,
                        duration=plan.ceiling_seconds,
                        operation_timeout=plan.request_timeout,
                    )
                    for _ in range(plan.runs)
                ]
                found["ceilings"]["http"] = _median_ceiling(runs)
                print(
                    f"  [{backend.name}] {name:<17} HTTP ceiling {found['ceilings']['http']['opsPerSecond']:8.1f} op/s",
                    flush=True,
                )
    finally:
        await processes.stop(server)


async def _db_ceiling(plan: Plan, backend: Backend, processes: Processes, scenarios: dict[str, Any]) -> None:
    if backend.name == "sqlite":
        target = str(backend.work_dir / "ceiling.db")
    else:
        target = await create_database(plan.postgres_url, "loyalty_bench_ceiling")
    try:
        await dbceiling.prepare(backend.name, target, members=plan.members, vouchers=plan.vouchers)
        for name, found in scenarios.items():
            runs = [
                await dbceiling.measure(
                    processes,
                    backend.name,
                    target,
                    name,
                    concurrency=plan.concurrency,
                    duration=plan.ceiling_seconds,
                    work_dir=backend.work_dir,
                )
                for _ in range(plan.runs)
            ]
            found["ceilings"]["db"] = _median_ceiling(runs)
            print(
                f"  [{backend.name}] {name:<17} DB ceiling   {found['ceilings']['db']['opsPerSecond']:8.1f} op/s",
                flush=True,
            )
    finally:
        if backend.name == "postgresql":
            await drop_database(plan.postgres_url, target)


def _median_ceiling(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {
        "opsPerSecond": _median_of([r["opsPerSecond"] for r in runs]),
        "failuresPerSecond": _median_of([r["failuresPerSecond"] for r in runs]),
        "runs": runs,
    }


async def _cli_json(backend: Backend, processes: Processes, *args: str) -> dict[str, Any]:
    """Run the ``loyalty`` CLI against the backend's database; its last output line is JSON. Exit code 1 (the
    ledger check found mismatches) still answers the document."""
    started = await processes.start(
        f"cli-{backend.name}-{args[0]}",
        [*python(), "-m", "loyalty", *args],
        child_env(LOYALTY_DATABASE_URL=backend.url, LOYALTY_LOG_LEVEL="WARNING"),
        backend.work_dir,
    )
    try:
        await asyncio.wait_for(started.process.wait(), timeout=600)
    finally:
        await processes.stop(started)
    lines = [line for line in started.log.read_text(errors="replace").splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"loyalty {' '.join(args)} printed no JSON:\n{started.tail()}")
    document: dict[str, Any] = json.loads(lines[-1])
    return document


async def run_backend(plan: Plan, backend: Backend, processes: Processes) -> dict[str, Any]:
    print(f"[{backend.name}] serving with {WORKERS} workers; sweeping {', '.join(plan.scenarios)}", flush=True)
    scenarios, headers, engine_log = await _engine_phase(plan, backend, processes)
    verified = await _cli_json(backend, processes, "ledger", "verify", "--json")
    for found in scenarios.values():
        found["ceilings"] = {}
    await _http_ceiling(plan, backend, processes, scenarios, headers)
    await _db_ceiling(plan, backend, processes, scenarios)
    for found in scenarios.values():
        found["ratios"] = _ratios(found)
    return {
        "database": backend.database,
        "seed": backend.seed_timings,
        "ledgerVerify": {
            "accounts": verified["accounts"],
            "mismatches": len(verified["mismatches"]),
            "ok": verified["ok"],
        },
        "scenarios": scenarios,
        "engineLog": engine_log,
    }


def _ratios(found: dict[str, Any]) -> dict[str, float | None]:
    saturating = found["saturating"]
    achieved = saturating["achievedOperations"] if saturating else None
    ratios: dict[str, float | None] = {}
    for kind in ("http", "db"):
        ceiling = found["ceilings"].get(kind, {}).get("opsPerSecond")
        ratios[kind] = achieved / ceiling if achieved and ceiling else None
    return ratios


# ---- the whole run ----


async def _prepare(plan: Plan, backends: list[Backend], processes: Processes) -> None:
    """Seed every database at once (nothing is measured yet), then raise the tenants' rate limits."""
    jobs = []
    for backend in backends:
        out = backend.work_dir / "tenant.json"
        args = [*python(), "-m", "bench.seed", "--url", backend.url, "--members", str(plan.members)]
        args += ["--vouchers", str(plan.vouchers), "--seed", str(plan.seed), "--out", str(out)]
        jobs.append(processes.run(f"seed-{backend.name}", args, child_env(), backend.work_dir, limit_seconds=3600))
    started = time.perf_counter()
    outputs = await asyncio.gather(*jobs)
    print(f"seeded {', '.join(b.name for b in backends)} in {time.perf_counter() - started:.0f} s", flush=True)
    for backend, output in zip(backends, outputs, strict=True):
        backend.seed_timings = json.loads(output.strip().splitlines()[-1])
        backend.tenant = tenant_from(json.loads((backend.work_dir / "tenant.json").read_text()))
        await processes.run(
            f"rate-limit-{backend.name}",
            [
                *python(),
                "-m",
                "loyalty",
                "tenants",
                "rate-limit",
                "--tenant",
                backend.tenant.tenant_id,
                "--per-second",
                "1000000",
                "--burst",
                "1000000",
            ],
            child_env(LOYALTY_DATABASE_URL=backend.url, LOYALTY_LOG_LEVEL="WARNING"),
            backend.work_dir,
            limit_seconds=120,
        )
        if backend.name == "postgresql":
            await vacuum_analyze(backend.url)
            backend.database = {"kind": "PostgreSQL", **await postgres_settings(backend.url)}
        else:
            backend.database = {"kind": "SQLite", "journalMode": "WAL", "synchronous": "FULL"}


async def run(plan: Plan, out_dir: Path, *, keep_work_dir: bool = False) -> Path:
    if "postgresql" in plan.backends:
        require_loopback(plan.postgres_url)
    work_root = Path(tempfile.mkdtemp(prefix="loyalty-bench-"))
    processes = Processes(work_root)
    backends: list[Backend] = []
    results: dict[str, Any] = {
        "startedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "rig": rig(),
        "plan": plan.document(),
        "backends": {},
    }
    failed = True
    try:
        async with asyncio.timeout(plan.budget_seconds()):
            for name in plan.backends:
                work_dir = work_root / name
                work_dir.mkdir()
                if name == "sqlite":
                    url = f"sqlite:///{work_dir / 'loyalty.db'}"
                else:
                    url = await create_database(plan.postgres_url, "loyalty_bench")
                backends.append(Backend(name, url, work_dir))
            await _prepare(plan, backends, processes)
            for backend in backends:
                results["backends"][backend.name] = await run_backend(plan, backend, processes)
        results["rig"]["loadAverageAtEnd"] = list(os.getloadavg())
        results["finishedAt"] = datetime.now(UTC).isoformat(timespec="seconds")
        written = report.write(results, out_dir)
        failed = False
        return written
    finally:
        await processes.stop_all()
        for backend in backends:
            if backend.name == "postgresql":
                with contextlib.suppress(Exception):
                    await drop_database(plan.postgres_url, backend.url)
        if failed or keep_work_dir:
            print(f"logs and databases kept in {work_root}", file=sys.stderr)
        else:
            shutil.rmtree(work_root, ignore_errors=True)


def main_run(plan: Plan, out_dir: Path | None, *, keep_work_dir: bool) -> int:
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        runner = asyncio.run
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = out_dir or RESULTS / f"{stamp}-{plan.mode}"

    async def guarded() -> Path:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, task.cancel)
        return await run(plan, target, keep_work_dir=keep_work_dir)

    written = runner(guarded())
    print(f"\nresults: {written}")
    return 0
