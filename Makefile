# Shortcuts. The README's two commands are the front door; these are for the long runs.
.PHONY: test soak

# Everything CI runs (the README's test command).
test:
	bash scripts/test

# The long versions of the reliability suite: concurrency rounds, crash kills, model and fuzz examples
# (LOYALTY_SOAK=1 makes each suite take its soak-length count; see docs/reliability.md).
soak:
	bash scripts/install
	LOYALTY_SOAK=1 .venv/bin/pytest -p no:cacheprovider -m "concurrency or crash or model or fuzz" $(SOAK_ARGS)
