"""Writing the results: ``results.json`` (everything, machine-readable), ``report.md`` (tables that can be pasted
into docs/benchmarks.md) and one PNG per scenario (latency percentiles against offered rate, both databases)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
ERROR_KINDS = ("4xx", "429", "503", "5xx", "timeout", "connection", "harness")


def write(results: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(_clean(results), indent=1, allow_nan=False) + "\n")
    plots = write_plots(results, out_dir)
    (out_dir / "report.md").write_text(markdown(results, plots))
    return out_dir


def _clean(value: Any) -> Any:
    """NaN (no sample) becomes null, so the JSON stays standard."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _ms(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _ratio(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def _errors(counts: dict[str, float]) -> str:
    found = [f"{int(counts.get(kind, 0))} {kind}" for kind in ERROR_KINDS if counts.get(kind)]
    return ", ".join(found) if found else "none"


def _rig_table(results: dict[str, Any]) -> list[str]:
    rig, plan = results["rig"], results["plan"]
    packages = rig["packages"]
    rows = [
        ("CPU", f"{rig['cpus']} × {rig['cpuModel']}"),
        ("Memory", f"{rig['memoryGiB']} GiB"),
        ("OS, Python", f"{rig['os']}, Python {rig['python']}"),
        (
            "Engine",
            f"loyalty-engine {packages.get('loyalty-engine')}: `{rig['server']}` ({rig.get('serverDetail', '')}); "
            f"uvicorn {packages.get('uvicorn')}, "
            f"uvloop {packages.get('uvloop')}, httptools {packages.get('httptools')}, FastAPI "
            f"{packages.get('fastapi')}, SQLAlchemy {packages.get('sqlalchemy')}; engine log level "
            f"{plan['engineLogLevel']}",
        ),
    ]
    for name, backend in results["backends"].items():
        database = backend["database"]
        if name == "sqlite":
            rows.append(
                (
                    "SQLite",
                    f"{rig['sqlite']} (aiosqlite {packages.get('aiosqlite')}), journal "
                    f"{database['journalMode']}, synchronous={database['synchronous']}, a fresh file",
                )
            )
        else:
            rows.append(
                (
                    "PostgreSQL",
                    f"{database['server_version']} (asyncpg {packages.get('asyncpg')}), "
                    f"synchronous_commit={database['synchronous_commit']}, fsync={database['fsync']}, "
                    f"wal_sync_method={database['wal_sync_method']}, shared_buffers="
                    f"{database['shared_buffers']}, a fresh database on the same machine",
                )
            )
    rates = ", ".join(f"{r:g}" for r in plan["ratesRequestsPerSecond"])
    seeds = ", ".join(f"{BACKEND_NAMES[n]} {b['seed'].get('total_s', 0):.0f} s" for n, b in results["backends"].items())
    rows += [
        ("Load generator", f"{rig['client']}; aiohttp {packages.get('aiohttp')}; on the same machine"),
        (
            "Offered rates",
            f"{rates} requests/s (an operation of n requests is offered at rate ÷ n), "
            f"{plan['stepSeconds']:g} s per step, warm-up {plan['warmupSeconds']:g} s",
        ),
        ("Runs", f"{plan['runs']} per step; every figure is the median over the runs"),
        (
            "Concurrency",
            f"at most {plan['concurrency']} client connections; the ceilings run {plan['concurrency']} "
            "closed-loop workers (the database ceiling in 2 processes with 10 connections each)",
        ),
        ("Timeout", f"{plan['requestTimeoutSeconds']:g} s per operation, counted from its intended start"),
        (
            "Saturation rule",
            f"the highest offered rate with p99 ≤ {plan['p99BoundMs']:g} ms and errors < "
            f"{100 * plan['maxErrorRate']:g} % (in an open loop, a rate the engine cannot sustain shows as growing "
            "latency)",
        ),
        (
            "Tenant",
            f"{plan['members']:,} members, 20 reactors, 3 tiers, 50 rewards with discounts "
            f"(20 offers, 30 vouchers), {plan['vouchers']:,} redeemed vouchers; seeded in {seeds}",
        ),
        (
            "Load average (1, 5, 15 min)",
            f"{_loads(rig.get('loadAverageAtStart'))} at the start, {_loads(rig.get('loadAverageAtEnd'))} at the end",
        ),
        ("Run", f"{plan['mode']} mode, {results['startedAt']} → {results.get('finishedAt', '?')}"),
    ]
    lines = ["| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows]
    return lines


def _loads(values: list[float] | None) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "?"


def _summary_table(backend: dict[str, Any], highest_rate: float) -> list[str]:
    lines = [
        "| Scenario | Saturating rate (req/s) | Throughput (op/s) | p50 / p99 / p99.9 (ms) | HTTP ceiling (op/s) "
        "| ÷ HTTP | DB ceiling (op/s) | ÷ DB | Overload (2×): completed op/s, errors | Recovery (½×): p99 ms, "
        "errors, recovered after |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for name, found in backend["scenarios"].items():
        saturating = found["saturating"]
        overload, recovery = found["overload"], found["recovery"]
        ceilings, ratios = found["ceilings"], found["ratios"]
        if saturating:
            # Every rate offered was sustained: the engine may do more than the sweep asked of it.
            floor = "≥ " if saturating["requestsPerSecond"] >= highest_rate else ""
            rate = f"{floor}{saturating['requestsPerSecond']:g}"
            achieved = floor + _rate(saturating["achievedOperations"])
            latency = saturating["latencyMs"]
            latencies = f"{_ms(latency['p50'])} / {_ms(latency['p99'])} / {_ms(latency['p99.9'])}"
        else:
            first = found["steps"][0]
            rate = f"< {first['requestsPerSecond']:g}"
            achieved, latencies = "–", "–"
        recovered = recovery.get("recoverySeconds")
        lines.append(
            f"| {name} | {rate} | {achieved} | {latencies} | {_rate(ceilings.get('http', {}).get('opsPerSecond'))} "
            f"| {_ratio(ratios.get('http'))} | {_rate(ceilings.get('db', {}).get('opsPerSecond'))} "
            f"| {_ratio(ratios.get('db'))} "
            f"| {_rate(overload['achieved'])} op/s, {_percent(overload['errorRate'])} ({_errors(overload['counts'])}) "
            f"| {_ms(recovery['latencyMs']['p99'])}, {_percent(recovery['errorRate'])}, "
            f"{'not within the step' if recovered is None else f'{recovered:g} s'} |"
        )
    return lines


def _engine_log_table(routes: dict[str, Any], timeout: float) -> list[str]:
    if not routes:
        return []
    lines = [
        "Time spent inside the engine, from its request log (whole run, all steps):",
        "",
        f"| Route | Requests | Statuses | p50 (ms) | p99 (ms) | max (ms) "
        f"| Still running past the client's {timeout:g} s |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for route, found in routes.items():
        statuses = ", ".join(f"{count} × {status}" for status, count in sorted(found["statuses"].items()))
        lines.append(
            f"| `{route}` | {found['requests']} | {statuses} | {_ms(found['p50Ms'])} | {_ms(found['p99Ms'])} "
            f"| {_ms(found['maxMs'])} | {found['pastClientTimeout']} |"
        )
    return [*lines, ""]


def _detail_table(found: dict[str, Any]) -> list[str]:
    lines = [
        "| Step | Offered op/s | Completed op/s | p50 | p90 | p99 | p99.9 | max (ms) | Errors | Error kinds "
        "| Generator lag p99 (ms) | Verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    rows = [*found["steps"], found["overload"], found["recovery"]]
    for step in rows:
        latency = step["latencyMs"]
        verdict = {True: "sustained", False: "**over**"}.get(step.get("passed"), "")
        lines.append(
            f"| {step['label']} | {_rate(step['offeredRate'])} | {_rate(step['achieved'])} | {_ms(latency['p50'])} "
            f"| {_ms(latency['p90'])} | {_ms(latency['p99'])} | {_ms(latency['p99.9'])} | {_ms(latency['max'])} "
            f"| {_percent(step['errorRate'])} | {_errors(step['counts'])} | {_ms(step['generatorLagMs'])} "
            f"| {verdict} |"
        )
    return lines


def _problems(results: dict[str, Any]) -> list[str]:
    lines = []
    for backend_name, backend in results["backends"].items():
        for name, found in backend["scenarios"].items():
            for step in [*found["steps"], found["overload"], found["recovery"]]:
                for sample in step["errorSamples"]:
                    lines.append(f"- {BACKEND_NAMES[backend_name]}, {name}, {step['label']}: `{sample}`")
        verify = backend["ledgerVerify"]
        if not verify["ok"]:
            lines.append(
                f"- {BACKEND_NAMES[backend_name]}: `loyalty ledger verify` found {verify['mismatches']} "
                "mismatch(es) after the run"
            )
    return lines


EXPLANATION = """\
## Reading the numbers

- **Operation**: what one till does for one customer in the scenario — one request, or a sequence (lookup + wallet
  is 2 requests, the POS mix 5). Rates are offered in requests per second; an operation of *n* requests is started
  at rate ÷ *n* per second. Throughput is in operations per second.
- **Open loop**: operations start on a fixed schedule whatever the server does, and latency is measured from the
  intended start, so queueing anywhere (client pool, server backlog, database locks) counts. An operation that has
  not finished within the timeout counts as an error (`timeout`); its latency is counted as the time it was given up.
- **Completed op/s**: successful operations finished per second over the step (its first tenth left out while the
  pipeline fills). Up to saturation it equals the offered rate; past it, the engine's capacity.
- **Saturating rate**: the highest offered rate meeting the saturation rule above; its throughput is what the
  ratios use. "< x" means even the lowest rate missed it.
- **HTTP ceiling**: the same requests (methods, body and response sizes, headers) against a bare ASGI app under
  the same uvicorn setup, closed loop: the most this machine, this server stack and this generator can carry.
  **DB ceiling**: the least database work of the operation, straight through the driver, closed loop, same
  concurrency. **÷ HTTP** and **÷ DB** are the engine's saturating throughput divided by each: how much of what the
  machine could do the engine reaches (1.00 = all of it).
- **Overload** offers twice the saturating rate; **recovery** follows at once at half of it, so it starts with the
  overload's backlog. "Recovered after" is the first second of the recovery step from which every second had its p99
  within the bound and no error. 429/503 answers mean the engine shed load; timeouts mean it queued it.
- **Generator lag**: how late the generator started operations (p99). Well above a few milliseconds, the client
  itself was short of CPU and the step measured it too.
"""


def markdown(results: dict[str, Any], plots: dict[str, str]) -> str:
    plan = results["plan"]
    lines = [f"# Benchmarks ({plan['mode']} run)", ""]
    if plan["mode"] != "full":
        lines += ["> A quick run: short steps and a single run per step. Indicative only.", ""]
    lines += ["## Rig", "", *_rig_table(results), ""]
    for backend_name, backend in results["backends"].items():
        lines += [
            f"## {BACKEND_NAMES[backend_name]}",
            "",
            *_summary_table(backend, max(plan["ratesRequestsPerSecond"])),
            "",
        ]
        verify = backend["ledgerVerify"]
        lines += [
            f"`loyalty ledger verify` after the run: {verify['accounts']:,} accounts, "
            f"{'no mismatch' if verify['ok'] else str(verify['mismatches']) + ' mismatch(es)'}.",
            "",
        ]
        lines += _engine_log_table(backend.get("engineLog", {}), plan["requestTimeoutSeconds"])
    lines += ["## Scenarios", ""]
    scenario_names = list(next(iter(results["backends"].values()))["scenarios"]) if results["backends"] else []
    for name in scenario_names:
        title = next(iter(results["backends"].values()))["scenarios"][name]["title"]
        lines += [f"### {name}: {title}", ""]
        if name in plots:
            lines += [f"![{name}]({plots[name]})", ""]
        for backend_name, backend in results["backends"].items():
            found = backend["scenarios"][name]
            wire = ", ".join(f"{w['method']} {w['name']} ({w['request']} B → {w['response']} B)" for w in found["wire"])
            lines += [f"**{BACKEND_NAMES[backend_name]}** — requests: {wire}", "", *_detail_table(found), ""]
    problems = _problems(results)
    lines += ["## Errors seen", ""]
    lines += problems or ["None: every request of every step succeeded."]
    lines += ["", EXPLANATION]
    return "\n".join(lines)


def write_plots(results: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """One PNG per scenario: p50, p99 and p99.9 against offered rate, one colour per database."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    bound = results["plan"]["p99BoundMs"]
    names: list[str] = []
    for backend in results["backends"].values():
        names += [n for n in backend["scenarios"] if n not in names]
    colours = {"sqlite": "tab:blue", "postgresql": "tab:orange"}
    styles = {"p50": ":", "p99": "-", "p99.9": "--"}
    written = {}
    for name in names:
        figure, axes = plt.subplots(figsize=(8, 4.8))
        for backend_name, backend in results["backends"].items():
            found = backend["scenarios"].get(name)
            if found is None:
                continue
            steps = found["steps"]
            rates = [s["requestsPerSecond"] for s in steps]
            for key, style in styles.items():
                values = [_positive(s["latencyMs"][key]) for s in steps]
                axes.plot(
                    rates,
                    values,
                    style,
                    marker="o",
                    color=colours[backend_name],
                    label=f"{BACKEND_NAMES[backend_name]} {key}",
                )
            overload = found["overload"]
            axes.scatter(
                [overload["requestsPerSecond"]],
                [_positive(overload["latencyMs"]["p99"])],
                marker="x" if backend_name == "sqlite" else "+",
                s=80,
                color=colours[backend_name],
                label=f"{BACKEND_NAMES[backend_name]} p99 at 2× (overload)",
            )
        axes.axhline(bound, color="grey", linewidth=0.8, linestyle="-.", label=f"p99 bound {bound:g} ms")
        axes.set_yscale("log")
        axes.set_xscale("log")
        ticks = sorted(
            {
                s["requestsPerSecond"]
                for b in results["backends"].values()
                if name in b["scenarios"]
                for s in [*b["scenarios"][name]["steps"], b["scenarios"][name]["overload"]]
            }
        )
        axes.set_xticks(ticks, [f"{t:g}" for t in ticks])
        axes.xaxis.set_minor_locator(NullLocator())
        axes.set_xlabel("offered rate (requests/s)")
        axes.set_ylabel("latency from intended start (ms)")
        axes.set_title(f"{name}: latency against offered rate ({results['plan']['mode']} run)")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=7, ncol=2)
        figure.tight_layout()
        filename = f"{name}.png"
        figure.savefig(out_dir / filename, dpi=110)
        plt.close(figure)
        written[name] = filename
    return written


def _positive(value: float | None) -> float:
    return value if value is not None and not math.isnan(value) and value > 0 else math.nan
