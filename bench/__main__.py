"""``python -m bench``: run the benchmark harness (``--quick`` for a short trial). See bench/README.md."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench.run import BACKENDS, DEFAULT_POSTGRES, FULL, QUICK, main_run
from bench.scenarios import SCENARIOS


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part.strip())


def _names(choices: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(part.strip() for part in text.split(",") if part.strip())
        unknown = [n for n in names if n not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}")
        return names

    return parse


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the loyalty engine as users run it (loyalty serve --workers 2) on SQLite and "
        "PostgreSQL, with an open-loop load generator, against the HTTP and database ceilings of the same machine.",
    )
    parser.add_argument("--quick", action="store_true", help="short steps, fewer rates, one run, a smaller tenant")
    parser.add_argument("--backends", type=_names(BACKENDS), help="comma-separated: sqlite,postgresql")
    parser.add_argument("--scenarios", type=_names(tuple(s.name for s in SCENARIOS)), help="comma-separated")
    parser.add_argument("--rates", type=_floats, help="offered rates in requests/s, comma-separated")
    parser.add_argument("--step-seconds", type=float, help="length of each step")
    parser.add_argument("--runs", type=int, help="runs per step (the median is reported)")
    parser.add_argument("--concurrency", type=int, help="client connections; closed-loop workers of the ceilings")
    parser.add_argument("--timeout", type=float, help="seconds an operation may take from its intended start")
    parser.add_argument("--p99-bound-ms", type=float, help="the p99 latency a sustained step must stay within")
    parser.add_argument("--members", type=int, help="members in the seeded tenant")
    parser.add_argument("--vouchers", type=int, help="redeemed vouchers in the seeded tenant")
    parser.add_argument("--engine-log-level", help="LOYALTY_LOG_LEVEL of the engine (default INFO, as shipped)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LOYALTY_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server on this machine (a database is created there and dropped afterwards); "
        "default $LOYALTY_BENCH_POSTGRES_URL or " + DEFAULT_POSTGRES,
    )
    parser.add_argument("--out", type=Path, help="where to write the results (default bench/results/STAMP-MODE)")
    parser.add_argument("--keep-work-dir", action="store_true", help="keep the databases and server logs")
    args = parser.parse_args(argv)

    plan = QUICK if args.quick else FULL
    overrides = {
        "backends": args.backends,
        "scenarios": args.scenarios,
        "rates": args.rates,
        "step_seconds": args.step_seconds,
        "runs": args.runs,
        "concurrency": args.concurrency,
        "request_timeout": args.timeout,
        "p99_bound_ms": args.p99_bound_ms,
        "members": args.members,
        "vouchers": args.vouchers,
        "engine_log_level": args.engine_log_level,
        "postgres_url": args.postgres_url,
    }
    plan = replace(plan, **{key: value for key, value in overrides.items() if value is not None})
    if plan.runs < 1 or plan.concurrency < 1 or not plan.rates or min(plan.rates) <= 0:
        parser.error("runs, concurrency and rates must be positive")
    return main_run(plan, args.out, keep_work_dir=args.keep_work_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
