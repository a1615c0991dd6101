# Shortcuts. The README's two commands are the front door; these are for the long runs.
.PHONY: test soak bench bench-quick

# Everything CI runs (the README's test command).
test:
	bash scripts/test

# The long versions of the reliability suite: concurrency rounds, crash kills, model and fuzz examples
# (LOYALTY_SOAK=1 makes each suite take its soak-length count; see docs/reliability.md).
soak:
	bash scripts/install
	LOYALTY_SOAK=1 .venv/bin/pytest -p no:cacheprovider -m "concurrency or crash or model or fuzz" $(SOAK_ARGS)

# The benchmark harness (bench/README.md): the engine under an open-loop load on SQLite and PostgreSQL, against the
# machine's HTTP and database ceilings. The full run takes a while: run it on a quiet machine. BENCH_ARGS passes
# options through (e.g. BENCH_ARGS="--backends sqlite --scenarios checkout").
bench:
	bash scripts/install
	.venv/bin/python -m pip install -q -c constraints.txt -e '.[bench]'
	.venv/bin/python -m bench $(BENCH_ARGS)

# A few minutes: short steps, fewer rates, one run per step, a smaller tenant.
bench-quick:
	bash scripts/install
	.venv/bin/python -m pip install -q -c constraints.txt -e '.[bench]'
	.venv/bin/python -m bench --quick $(BENCH_ARGS)
