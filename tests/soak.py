"""Short runs in CI, long ones in a soak (``make soak`` sets ``LOYALTY_SOAK=1``): the suites that repeat a scenario
ask here how many times."""

from __future__ import annotations

import os


def soaking() -> bool:
    return os.environ.get("LOYALTY_SOAK", "") not in ("", "0")


def repeats(ci: int, soak: int) -> int:
    """``ci`` in an ordinary run, ``soak`` under ``make soak``."""
    return soak if soaking() else ci
