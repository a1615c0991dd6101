"""Fixtures of the browser suites."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.e2e.web_kit import Served, launched_browser, served_tenant


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$LOYALTY_SCREENSHOTS`` or a temporary directory."""
    chosen = os.environ.get("LOYALTY_SCREENSHOTS")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, one per test module."""
    with launched_browser() as launched:
        yield launched


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, postgres_ready: bool, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A server process on a fresh database (SQLite, then PostgreSQL) with one empty tenant."""
    backend = str(request.param)
    if backend == "postgresql" and not postgres_ready:
        pytest.skip("PostgreSQL not reachable")
    with served_tenant(backend, tmp_path_factory.mktemp(f"engine-{backend}")) as running:
        yield running


LAPTOP = {"width": 1366, "height": 820}


@pytest.fixture
def console(browser: Any, served: Served, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser tab on /console/, signed in with the tenant's admin client (laptop width unless the test is
    parametrised indirectly with a viewport). Fails the test if the page threw or logged an error."""
    from playwright.sync_api import expect

    viewport = getattr(request, "param", LAPTOP)
    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A refused request is logged by the browser itself ("Failed to load resource"): that is the console showing the
    # engine's answer, not a fault of the page.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    try:
        page.goto(f"{served.base_url}/console/")
        page.get_by_label("API key").fill(served.api_key)
        page.get_by_label("Client id").fill(served.admin_id)
        page.get_by_label("Client secret").fill(served.admin_secret)
        page.get_by_label("Client secret").press("Enter")
        # Signed in: the Sign out button shows at every width (the sections fold behind a menu on narrow screens).
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        yield page
        assert errors == [], errors
    finally:
        context.close()
