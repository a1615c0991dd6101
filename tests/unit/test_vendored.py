"""The console's vendored chart library is exactly the published file its VENDORED.md names."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import loyalty.web

CONSOLE = Path(loyalty.web.__file__).resolve().parent / "console"


def test_the_vendored_chart_library_is_the_recorded_release() -> None:
    recorded = re.search(r"`chart\.umd\.min\.js`.*?\| `([0-9a-f]{64})` \|", (CONSOLE / "VENDORED.md").read_text())
    assert recorded, "VENDORED.md names no checksum for chart.umd.min.js"
    actual = hashlib.sha256((CONSOLE / "chart.umd.min.js").read_bytes()).hexdigest()
    assert actual == recorded.group(1)
    assert (CONSOLE / "chart.LICENSE.md").read_text().startswith("The MIT License")
