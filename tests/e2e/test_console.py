"""The operator console's shell at /console/, in headless Chromium against a real server: how it is served, signing
in and out, who may sign in, and navigation by keyboard at laptop and tablet widths. The pages themselves are
tested in test_console_members.py and test_console_program.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.web_kit import Served

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e
TABLET = {"width": 768, "height": 1024}


def test_the_console_is_served_from_the_engine_alone(served: Served) -> None:
    index = served.http.get("/console/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in index.headers["content-security-policy"]
    # Everything the page loads is its own: no address of another origin anywhere in it.
    assert not re.search(r"(src|href)=\"(https?:)?//", index.text), index.text
    chart = served.http.get("/console/chart.umd.min.js")
    assert chart.status_code == 200
    assert chart.headers["content-type"].startswith("text/javascript")
    assert served.http.get("/console/VENDORED.md").status_code == 404  # only web files are served
    assert served.http.get("/console/..%2Fpos%2Findex.html").status_code == 404
    assert "/console" not in served.http.get("/openapi.json").text


def sign_in(page: Page, api_key: str, client_id: str, secret: str) -> None:
    page.get_by_label("API key").fill(api_key)
    page.get_by_label("Client id").fill(client_id)
    page.get_by_label("Client secret").fill(secret)
    page.get_by_role("button", name="Sign in").click()


def test_signing_in_needs_an_admin_client(browser: Any, served: Served) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{served.base_url}/console/")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_label("API key")).to_be_focused()

        sign_in(page, served.api_key, served.admin_id, "not-the-secret")
        expect(page.get_by_role("alert")).to_contain_text("Could not sign in")
        expect(page.get_by_role("navigation", name="Console sections")).to_be_hidden()

        sign_in(page, served.api_key, served.pos_id, served.pos_secret)
        expect(page.get_by_role("alert")).to_have_text(
            "This client may not administer the program: use an admin client."
        )

        sign_in(page, served.api_key, served.admin_id, served.admin_secret)
        expect(page.get_by_role("navigation", name="Console sections")).to_be_visible()
        # The session lasts as long as the tab: a reload stays signed in, signing out forgets the secret.
        page.reload()
        expect(page.get_by_role("navigation", name="Console sections")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert page.evaluate("JSON.stringify(sessionStorage)") == "{}"
    finally:
        context.close()


def test_an_unknown_address_says_so(console: Page, served: Served) -> None:
    console.goto(f"{served.base_url}/console/#/no-such-page")
    expect(console.get_by_role("heading", name="Not found")).to_be_visible()
    expect(console.get_by_role("heading", name="Not found")).to_be_focused()


def test_the_skip_link_and_the_sections_are_reachable_by_keyboard(console: Page) -> None:
    expect(console.locator("#page-title")).to_be_focused()  # the first page has rendered and taken the focus
    # The skip link is the first stop of the page: just before the top bar's Sign out button.
    console.get_by_role("button", name="Sign out").focus()
    console.keyboard.press("Shift+Tab")
    skip = console.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    address = console.url
    console.keyboard.press("Enter")
    expect(console.locator("#main")).to_be_focused()
    assert console.url == address  # the router's address is left alone
    links = console.get_by_role("navigation", name="Console sections").get_by_role("link")
    assert links.count() > 0
    links.first.focus()
    console.keyboard.press("Enter")
    expect(links.first).to_have_attribute("aria-current", "page")


@pytest.mark.parametrize("console", [TABLET], indirect=True)
def test_at_tablet_width_the_sections_fold_behind_a_menu_button(console: Page) -> None:
    nav = console.get_by_role("navigation", name="Console sections")
    menu = console.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(nav).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    links = nav.get_by_role("link")
    if links.count():
        links.first.click()
        expect(nav).to_be_hidden()  # choosing a section closes the menu
    assert console.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
