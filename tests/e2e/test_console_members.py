"""The operator console's program and activity pages, driven in headless Chromium against a real server process.

A program is seeded through the API (an earn reactor on ORDER_PLACED, a tier, a voucher reward, a badge); each test
makes its own members. Checked: the dashboard shows exactly the figures /v1/dashboard reports and draws its charts;
members are found by name, e-mail, identifier and account number; the member page shows the wallet, the tier and a
ledger whose entries link to their sources; every action on a member asks first (Cancel sends nothing, Confirm
does it) and lands on the audit trail; the engine's refusals show next to the field; the pages work from the
keyboard and at tablet width.

Screenshots of the dashboard and of a member page go to ``$LOYALTY_SCREENSHOTS`` (or a temporary directory); the
SQLite run's are also copied to ``docs/screenshots/``.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT
from tests.e2e.web_kit import Served

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Page, ViewportSize, expect

pytestmark = pytest.mark.e2e
expect.set_options(timeout=10_000)  # a busy machine: two cores shared with other suites

DOCS_DASHBOARD = PROJECT_ROOT / "docs" / "screenshots" / "console-dashboard.png"
DOCS_MEMBER = PROJECT_ROOT / "docs" / "screenshots" / "console-member.png"
TABLET_PORTRAIT: ViewportSize = {"width": 768, "height": 1024}

# ---------------------------------------------------------------- the program, through the API


@dataclass
class Program:
    """The served tenant with its program: a voucher reward and a badge to give, a tier to work towards."""

    served: Served
    reward_id: str
    reward_name: str
    badge_id: str
    badge_name: str

    def get(self, path: str, **params: Any) -> Any:
        return self.served.ok(self.served.http.get(path, headers=self.served.admin, params=params))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.served.ok(self.served.http.post(path, headers=self.served.admin, json=body))

    def member(self, given: str = "Ada", family: str = "Lovelace", points: int = 0) -> dict[str, Any]:
        """A fresh member with unique e-mail and identifiers, and ``points`` credited by an adjustment."""
        suffix = uuid.uuid4().hex[:8]
        member = dict(
            self.post(
                "/v1/users",
                {
                    "profile": {
                        "givenName": given,
                        "familyName": family,
                        "emailAddress": f"{given.lower()}.{suffix}@example.com",
                    },
                    "authIdentifier": f"card-{suffix}",
                    "externalIdentifier": f"crm-{suffix}",
                },
            )
        )
        if points:
            self.post("/v1/commands/adjust_points", {"actorId": member["id"], "points": points, "comment": "welcome"})
        return member

    def order(self, member: dict[str, Any], pence: int = 1250) -> dict[str, Any]:
        """A sale of two lattes for ``pence`` to the member (which the reactor turns into points)."""
        body = {
            "externalId": f"TILL-{uuid.uuid4().hex[:10]}",
            "submitter": {"id": member["id"]},
            "currency": "GBP",
            "lineItems": [{"sku": "LATTE", "name": "Latte", "quantity": 2, "unitPrice": pence // 2, "total": pence}],
            "totals": {"subtotal": pence, "total": pence},
            "payments": [{"type": "CARD", "amount": pence}],
        }
        return dict(self.post("/v1/orders", body))

    def wallet(self, member: dict[str, Any]) -> dict[str, Any]:
        return dict(self.get(f"/v1/users/{member['id']}/wallet"))

    def benefits(self, member: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.get("/v1/benefits", userId=member["id"], limit=100))

    def badges(self, member: dict[str, Any]) -> list[dict[str, Any]]:
        answer = self.served.http.get(
            "/v1/badges/earned", headers={**self.served.admin, "X-User-Id": member["id"]}, params={"limit": 100}
        )
        return list(self.served.ok(answer))

    def audit(self, action: str, **about: str) -> list[dict[str, Any]]:
        """The audit entries of ``action`` (a route) whose body or path names each of ``about``'s values."""
        entries = self.get("/v1/audit_log", action=action, limit=1000)

        def names(entry: dict[str, Any]) -> bool:
            body = entry["requestBody"] if isinstance(entry["requestBody"], dict) else {}
            return all(body.get(key) == value or entry["targetIds"].get(key) == value for key, value in about.items())

        return [e for e in entries if e["route"] == action and names(e)]


def _seed(served: Served) -> Program:
    def post(path: str, body: dict[str, Any]) -> Any:
        return served.ok(served.http.post(path, headers=served.admin, json=body))

    post("/v1/tiers", {"name": "Silver", "pointsRequirement": 500, "calculation": "LIFETIME_EARN", "priority": 1})
    # One point per pound spent, rounded down.
    post(
        "/v1/event_reactors",
        {
            "name": "A point a pound",
            "eventType": "ORDER_PLACED",
            "reactions": [
                {
                    "type": "POINTS",
                    "points": {
                        "operation": "PRODUCT",
                        "arguments": [
                            {"type": "PAYLOAD_QUERY", "value": "$.totalSpend"},
                            {"type": "NUMBER", "value": "1"},
                        ],
                        "roundingDirection": "DOWN",
                    },
                }
            ],
        },
    )
    voucher = post(
        "/v1/rewards",
        {
            "type": "VOUCHER",
            "name": "£1 off your order",
            "price": 100,
            "value": 100,
            "currency": "GBP",
            "availability": {"start": "2020-01-01"},
            "purchasable": True,
            "codeType": "OTP",
            "code": {"format": "CAFE-{code}"},
        },
    )
    badge = post("/v1/badges", {"internalName": "Early bird", "details": [{"name": "Early bird", "locale": "en"}]})
    return Program(served, voucher["id"], voucher["name"], badge["id"], badge["internalName"])


@pytest.fixture(scope="module")
def program(served: Served) -> Program:
    return _seed(served)


# ---------------------------------------------------------------- driving the console


class Writes:
    """The console's requests that change something (anything but a GET), as they leave the browser."""

    def __init__(self, page: Page) -> None:
        self.sent: list[str] = []
        page.on("request", lambda r: self.sent.append(f"{r.method} {r.url}") if r.method != "GET" else None)


def go(page: Page, hash_path: str) -> None:
    """Show a console page (only the hash changes: the signed-in document stays)."""
    page.evaluate("(target) => { location.hash = target; }", hash_path)


def open_member(page: Page, member: dict[str, Any]) -> None:
    go(page, f"#/members/{member['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{member['profile']['givenName']} {member['profile']['familyName']}"
    )
    # The forms that need the catalogue load after the page: wait until they are there.
    expect(page.locator("#give-reward")).to_be_visible()
    expect(page.locator("#award-badge")).to_be_visible()


def dialog(page: Page) -> Any:
    return page.get_by_role("dialog")


def cancel(page: Page) -> None:
    expect(dialog(page)).to_be_visible()
    dialog(page).get_by_role("button", name="Cancel").click()
    expect(dialog(page)).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("Cancelled")


def confirm(page: Page, label: str) -> None:
    expect(dialog(page)).to_be_visible()
    dialog(page).get_by_role("button", name=label).click()
    expect(dialog(page)).to_be_hidden()


def audit_row_shows(page: Page, action: str, link_to: str) -> None:
    """The audit trail page, filtered on ``action``, lists a change with a link to ``link_to`` (a hash)."""
    go(page, f"#/audit?action={action}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    row = page.locator("tbody tr").filter(has=page.locator(f'a[href="{link_to}"]')).first
    expect(row).to_be_visible()
    expect(row).to_contain_text(f"POST {action}" if not action.startswith("/v1/users/") else f"DELETE {action}")


def no_page_overflow(page: Page) -> None:
    """Nothing wider than the window: wide tables scroll inside their own box."""
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def points_text(n: int) -> str:
    return f"{n:,}"


def pounds(minor: int) -> str:
    return f"{'-' if minor < 0 else ''}£{abs(minor) / 100:,.2f}"


# ---------------------------------------------------------------- the dashboard


def _dashboard(program: Program) -> dict[str, Any]:
    start = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    return dict(program.get("/v1/dashboard", **{"from": start, "interval": "DAY"}))


def test_the_dashboard_shows_the_engines_figures_and_charts(
    console: Page, program: Program, served: Served, screenshots: Path
) -> None:
    before = _dashboard(program)["totals"]
    member = program.member("Dora", "Dashboard")
    order = program.order(member, pence=2000)
    program.post(f"/v1/orders/{order['id']}/refunds", {"externalId": f"R-{uuid.uuid4().hex[:8]}", "reason": "cold"})
    program.post("/v1/commands/adjust_points", {"actorId": member["id"], "points": 7, "comment": "sorry"})
    after = _dashboard(program)["totals"]
    # What was seeded, as the engine counts it: one member, one sale of £20 earning 20 points, its refund, 7 points.
    assert after["members"]["new"] - before["members"]["new"] == 1
    assert after["orders"]["count"] - before["orders"]["count"] == 1
    assert after["orders"]["value"] - before["orders"]["value"] == 2000
    assert after["refunds"]["count"] - before["refunds"]["count"] == 1
    assert after["points"]["issued"] - before["points"]["issued"] == order["pointsEarned"] + 7

    go(console, "#/dashboard?range=30&interval=DAY")
    expect(console.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(console.locator('[data-tile="orders-count"] .value')).to_be_visible()
    shown = _dashboard(program)["totals"]
    expected = {
        "members-total": points_text(shown["members"]["total"]),
        "members-new": points_text(shown["members"]["new"]),
        "points-issued": points_text(shown["points"]["issued"]),
        "points-spent": points_text(shown["points"]["spent"]),
        "points-expired": points_text(shown["points"]["expired"]),
        "points-reversed": points_text(shown["points"]["reversed"]),
        "points-outstanding": points_text(shown["points"]["outstanding"]),
        "points-pending": points_text(shown["points"]["pending"]),
        "benefits-issued": points_text(shown["benefits"]["issued"]),
        "benefits-burned": points_text(shown["benefits"]["burned"]),
        "orders-count": points_text(shown["orders"]["count"]),
        "orders-value": pounds(shown["orders"]["value"]),
        "refunds-count": points_text(shown["refunds"]["count"]),
        "refunds-value": pounds(shown["refunds"]["value"]),
    }
    for key, text in expected.items():
        expect(console.locator(f'[data-tile="{key}"] .value'), key).to_have_text(text)
    # Each tile is a group named by its label.
    expect(console.get_by_role("group", name="Orders", exact=True)).to_contain_text(expected["orders-count"])

    # The charts were drawn: Chart.js owns each canvas, and each has a size and an accessible name.
    canvases = console.locator("canvas[data-chart]")
    expect(canvases).to_have_count(4)
    for index in range(4):
        canvas = canvases.nth(index)
        box = canvas.bounding_box()
        assert box is not None
        assert box["width"] > 0
        assert box["height"] > 0
        assert canvas.get_attribute("aria-label")
        assert canvas.evaluate("(c) => Boolean(window.Chart.getChart(c))")

    shot = screenshots / f"console-dashboard-{served.backend}.png"
    console.screenshot(path=str(shot), full_page=True)
    if served.backend == "sqlite":
        DOCS_DASHBOARD.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_DASHBOARD)

    # The numbers behind the points chart, for those who cannot see it.
    console.get_by_text("The numbers of “Points issued, spent and expired”").click()
    numbers = console.get_by_role("table", name="Points issued, spent and expired")
    expect(numbers).to_be_visible()
    issued = console.locator('[data-chart="points"]').evaluate(
        "(c) => window.Chart.getChart(c).data.datasets[0].data.reduce((a, b) => a + b, 0)"
    )
    assert issued == shown["points"]["issued"]

    # Another period and interval: the charts are drawn afresh (the old instances destroyed), and a refused period
    # is shown next to its field.
    console.get_by_label("Interval").select_option("WEEK")
    console.get_by_role("button", name="Show").click()
    expect(console).to_have_url(re.compile(r"interval=WEEK"))
    expect(console.locator("canvas[data-chart]")).to_have_count(4)
    assert console.evaluate("() => Object.keys(window.Chart.instances).length") == 4
    console.get_by_label("Period", exact=True).select_option("custom")
    console.get_by_label("From (custom)").fill("2024-03-10")
    console.get_by_label("To, included (custom)").fill("2024-03-01")
    console.get_by_role("button", name="Show").click()
    from_row = console.locator('.field[data-field="from"]')
    expect(from_row.locator(".field-error")).to_contain_text("from must be before to")


# ---------------------------------------------------------------- members


def test_members_are_found_by_name_email_identifier_and_account_number(console: Page, program: Program) -> None:
    suffix = uuid.uuid4().hex[:6]
    member = program.member(f"Grace{suffix}", "Hopper")
    other = program.member(f"Alan{suffix}", "Turing")
    go(console, "#/members")
    search = console.get_by_role("searchbox", name="Search members")
    for text in (
        f"grace{suffix} hopper",
        member["profile"]["emailAddress"],
        member["authIdentifier"],
        member["externalIdentifier"],
        member["accountNumber"],
    ):
        search.fill(text)
        search.press("Enter")
        results = console.get_by_role("table", name=f"Members matching “{text}”")
        expect(results).to_be_visible()
        expect(results.get_by_role("link", name=f"Grace{suffix} Hopper")).to_be_visible()
        expect(results.get_by_role("link", name=f"Alan{suffix} Turing")).to_have_count(0)
    results.get_by_role("link", name=f"Grace{suffix} Hopper").click()
    expect(console.get_by_role("heading", level=1)).to_have_text(f"Grace{suffix} Hopper")
    assert other["id"] not in console.url


def test_a_new_member_is_registered_and_a_refused_field_is_marked(console: Page, program: Program) -> None:
    suffix = uuid.uuid4().hex[:6]
    go(console, "#/members")
    console.get_by_text("New member").click()
    registration = console.locator("#new-member")
    registration.get_by_label("Given name").fill(f"Katherine{suffix}")
    registration.get_by_label("Family name").fill("Johnson")
    registration.get_by_label("E-mail address").fill("not an address")
    writes = Writes(console)
    registration.get_by_role("button", name="Register member").click()
    # The engine refuses the address: its message is under the e-mail field, which is marked invalid.
    email_row = registration.locator('.field[data-field="profile.emailAddress"]')
    expect(email_row.locator(".field-error")).to_be_visible()
    expect(registration.get_by_label("E-mail address")).to_have_attribute("aria-invalid", "true")
    assert len(writes.sent) == 1
    registration.get_by_label("E-mail address").fill(f"katherine.{suffix}@example.com")
    registration.get_by_role("button", name="Register member").click()
    expect(console.get_by_role("heading", level=1)).to_have_text(f"Katherine{suffix} Johnson")
    found = program.get("/v1/users", search=f"katherine.{suffix}@example.com")
    assert [m["profile"]["familyName"] for m in found] == ["Johnson"]


def test_the_member_page_shows_wallet_tier_and_a_ledger_linked_to_its_sources(
    console: Page, program: Program, served: Served, screenshots: Path
) -> None:
    member = program.member("Mary", "Somerville", points=120)
    order = program.order(member, pence=4200)
    wallet = program.wallet(member)
    open_member(console, member)
    expect(console.locator('[data-wallet="points"]')).to_have_text(f"{points_text(wallet['points'])} points")
    expect(console.locator('[data-wallet="pending"]')).to_have_text(f"{points_text(wallet['pendingPoints'])} points")
    tier = wallet["tier"]
    expect(console.locator(f'[data-tier="{tier["name"]}"]')).to_contain_text(
        f"Working towards Silver: {points_text(tier['earnedPoints'])} of 500 points."
    )
    expect(console.get_by_role("progressbar", name="Working towards Silver")).to_have_attribute(
        "value", str(tier["earnedPoints"])
    )
    # The ledger: the order's earn links to its ORDER_PLACED event, the welcome adjustment names its command.
    ledger = console.get_by_role("table", name="Points ledger, newest first")
    entries = program.get(f"/v1/users/{member['id']}/points")
    earn = next(e for e in entries if e["kind"] == "EARN")
    adjust = next(e for e in entries if e["kind"] == "ADJUST")
    assert earn["source"]["type"] == "EVENT"
    assert adjust["source"]["type"] == "COMMAND"
    earn_row = ledger.locator("tr").filter(has=console.locator(f'a[href="#/events/{earn["source"]["id"]}"]'))
    expect(earn_row).to_contain_text(f"+{order['pointsEarned']}")
    adjust_row = ledger.locator("tr").filter(has_text="welcome")
    expect(adjust_row).to_contain_text("Command")
    expect(adjust_row.get_by_role("link")).to_have_count(0)
    # The orders section links to the order.
    expect(console.get_by_role("link", name=order["externalId"])).to_be_visible()

    shot = screenshots / f"console-member-{served.backend}.png"
    console.screenshot(path=str(shot), full_page=True)
    if served.backend == "sqlite":
        DOCS_MEMBER.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_MEMBER)

    # Following the source: the event with its payload and reactions, then the order with its lines.
    earn_row.get_by_role("link").click()
    expect(console.get_by_role("heading", level=1)).to_have_text("Event ORDER_PLACED")
    expect(console.get_by_role("region", name="Event payload")).to_contain_text(order["externalId"])
    expect(console.get_by_role("cell", name="A point a pound")).to_be_visible()
    expect(console.get_by_role("cell", name="APPLIED")).to_be_visible()
    go(console, f"#/members/{member['id']}")
    console.get_by_role("link", name=order["externalId"]).click()
    expect(console.get_by_role("heading", level=1)).to_have_text(f"Order {order['externalId']}")
    expect(console.get_by_role("cell", name="LATTE", exact=True)).to_be_visible()
    expect(console.get_by_text("No refunds.")).to_be_visible()


# ---------------------------------------------------------------- actions: asked first, then audited


def test_adjusting_points_asks_first_and_is_audited(console: Page, program: Program) -> None:
    member = program.member("Ada", "Adjusted", points=10)
    open_member(console, member)
    writes = Writes(console)
    form = console.locator("#adjust-points")
    form.get_by_label("Points").fill("25")
    form.get_by_label("Reason").fill("Goodwill after a cold latte")
    form.get_by_role("button", name="Adjust points…").click()
    expect(dialog(console)).to_contain_text("Credit 25 points to Ada Adjusted?")
    cancel(console)
    assert writes.sent == []
    assert program.wallet(member)["points"] == 10
    assert (
        program.audit("/v1/commands/adjust_points", actorId=member["id"], comment="Goodwill after a cold latte") == []
    )

    form.get_by_role("button", name="Adjust points…").click()
    confirm(console, "Adjust points")
    expect(console.locator("#status")).to_contain_text("Adjusted by +25 points; balance 35.")
    expect(console.locator('[data-wallet="points"]')).to_have_text("35 points")
    assert program.wallet(member)["points"] == 35
    [entry] = program.audit("/v1/commands/adjust_points", actorId=member["id"], comment="Goodwill after a cold latte")
    assert entry["requestBody"]["points"] == 25
    assert entry["method"] == "POST"
    audit_row_shows(console, "/v1/commands/adjust_points", f"#/members/{member['id']}")


def test_adjusting_points_shows_the_engines_refusal_next_to_the_field(console: Page, program: Program) -> None:
    member = program.member("Ada", "Refused", points=10)
    open_member(console, member)
    writes = Writes(console)
    form = console.locator("#adjust-points")
    # A missing reason is refused before anything is asked or sent.
    form.get_by_label("Points").fill("5")
    form.get_by_role("button", name="Adjust points…").click()
    expect(form.locator('.field[data-field="comment"] .field-error')).to_have_text("Reason is required.")
    expect(dialog(console)).to_be_hidden()
    assert writes.sent == []
    # 0 points: the engine refuses, and says so under the Points field.
    form.get_by_label("Points").fill("0")
    form.get_by_label("Reason").fill("Testing")
    form.get_by_role("button", name="Adjust points…").click()
    confirm(console, "Adjust points")
    points_error = form.locator('.field[data-field="points"] .field-error')
    expect(points_error).to_have_text("An adjustment of 0 points changes nothing.")
    expect(form.get_by_label("Points")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Points")).to_be_focused()
    assert program.wallet(member)["points"] == 10


def test_giving_a_reward_asks_first_and_is_audited(console: Page, program: Program) -> None:
    member = program.member("Gill", "Given")
    open_member(console, member)
    writes = Writes(console)
    form = console.locator("#give-reward")
    form.get_by_label("Reward", exact=True).select_option(program.reward_id)
    form.get_by_label("Comment").fill("Birthday")
    form.get_by_role("button", name="Give reward…").click()
    expect(dialog(console)).to_contain_text(f"Give “{program.reward_name}” to Gill Given")
    cancel(console)
    assert writes.sent == []
    assert program.benefits(member) == []

    form.get_by_role("button", name="Give reward…").click()
    confirm(console, "Give reward")
    expect(console.locator("#status")).to_contain_text(f"Gave “{program.reward_name}” to Gill Given.")
    benefits = console.get_by_role("table", name="Benefits and vouchers, newest first")
    expect(benefits.get_by_role("cell", name=program.reward_name)).to_be_visible()
    [benefit] = program.benefits(member)
    assert benefit["reward"]["id"] == program.reward_id
    assert benefit["status"] == "CREATED"
    assert len(program.audit("/v1/commands/give_reward", beneficiaryId=member["id"], rewardId=program.reward_id)) == 1
    audit_row_shows(console, "/v1/commands/give_reward", f"#/members/{member['id']}")


def test_awarding_a_badge_asks_first_and_is_audited(console: Page, program: Program) -> None:
    member = program.member("Bea", "Badged")
    open_member(console, member)
    writes = Writes(console)
    form = console.locator("#award-badge")
    form.get_by_label("Badge").select_option(program.badge_id)
    form.get_by_role("button", name="Award badge…").click()
    expect(dialog(console)).to_contain_text(f"Award “{program.badge_name}” to Bea Badged?")
    cancel(console)
    assert writes.sent == []
    assert program.badges(member) == []

    form.get_by_role("button", name="Award badge…").click()
    confirm(console, "Award badge")
    expect(console.locator("#status")).to_contain_text(f"Awarded “{program.badge_name}” to Bea Badged.")
    [award] = program.badges(member)
    assert award["badge"]["id"] == program.badge_id
    expect(console.get_by_role("cell", name=program.badge_name)).to_be_visible()
    assert len(program.audit("/v1/commands/award_badge", beneficiaryId=member["id"], badgeId=program.badge_id)) == 1
    audit_row_shows(console, "/v1/commands/award_badge", f"#/members/{member['id']}")


def test_unburning_a_voucher_asks_first_and_is_audited(console: Page, program: Program) -> None:
    member = program.member("Una", "Unburned")
    given = program.post("/v1/commands/give_reward", {"rewardId": program.reward_id, "beneficiaryId": member["id"]})
    redeemed = program.post("/v1/commands/redeem_benefit", {"benefitId": given["id"]})
    program.post("/v1/commands/validate_voucher", {"code": redeemed["code"]["value"]})
    assert program.benefits(member)[0]["status"] == "BURNED"
    open_member(console, member)
    writes = Writes(console)
    benefits = console.get_by_role("table", name="Benefits and vouchers, newest first")
    benefits.get_by_role("button", name=f"Restore {program.reward_name}").click()
    reason = console.get_by_label("Reason for restoring")
    expect(reason).to_be_focused()
    reason.fill("Sale voided at the till")
    console.get_by_role("button", name="Restore voucher…").click()
    expect(dialog(console)).to_contain_text(f"Restore “{program.reward_name}”")
    cancel(console)
    assert writes.sent == []
    assert program.benefits(member)[0]["status"] == "BURNED"

    console.get_by_role("button", name="Restore voucher…").click()
    confirm(console, "Restore voucher")
    expect(console.locator("#status")).to_contain_text(f"Restored “{program.reward_name}”")
    assert program.benefits(member)[0]["status"] != "BURNED"
    expect(benefits.get_by_role("button", name=f"Restore {program.reward_name}")).to_have_count(0)
    [entry] = program.audit("/v1/commands/unburn_voucher", benefitId=given["id"])
    assert entry["requestBody"]["reason"] == "Sale voided at the till"
    # The trail names the voucher, not a member: its row shows the benefit id in the body.
    go(console, "#/audit?action=/v1/commands/unburn_voucher")
    row = console.locator("tbody tr").filter(has_text="POST /v1/commands/unburn_voucher").first
    expect(row).to_be_visible()
    row.get_by_text("Body").click()
    expect(row).to_contain_text(given["id"])


def test_closing_an_account_asks_first_and_is_audited(console: Page, program: Program) -> None:
    member = program.member("Clara", "Closed")
    open_member(console, member)
    writes = Writes(console)
    console.get_by_role("button", name="Close account…").click()
    expect(dialog(console)).to_contain_text(f"Close Clara Closed's account ({member['accountNumber']})?")
    cancel(console)
    assert writes.sent == []
    assert program.served.http.get(f"/v1/users/{member['id']}", headers=program.served.admin).status_code == 200

    console.get_by_role("button", name="Close account…").click()
    confirm(console, "Close account")
    expect(console.locator("#status")).to_contain_text(f"Closed account {member['accountNumber']}.")
    expect(console.get_by_role("heading", level=1)).to_have_text("Members")
    assert program.served.http.get(f"/v1/users/{member['id']}", headers=program.served.admin).status_code == 404
    [entry] = program.audit("/v1/users/{id}", id=member["id"])
    assert entry["method"] == "DELETE"
    audit_row_shows(console, "/v1/users/{id}", f"#/members/{member['id']}")


# ---------------------------------------------------------------- activity pages


def test_the_event_stream_and_webhook_deliveries_filter_through_the_address(console: Page, program: Program) -> None:
    member = program.member("Evie", "Events")
    program.order(member)
    go(console, "#/events")
    console.get_by_label("Type", exact=True).fill("ORDER_PLACED")
    console.get_by_label("Member", exact=True).fill(member["id"])
    console.get_by_role("button", name="Filter").click()
    expect(console).to_have_url(re.compile(r"type=ORDER_PLACED"))
    rows = console.get_by_role("table", name="Events, newest first").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("1 applied")
    # An unknown member is refused by the engine, next to the Member filter.
    console.get_by_label("Member", exact=True).fill("nobody-at-all")
    console.get_by_role("button", name="Filter").click()
    expect(console.locator(".paged .form-error")).to_contain_text("USER_NOT_FOUND")

    go(console, "#/webhooks")
    expect(console.get_by_role("heading", level=1)).to_have_text("Webhook deliveries")
    expect(console.get_by_text("No deliveries match.")).to_be_visible()
    console.get_by_label("Event id").fill("not-a-uuid")
    console.get_by_role("button", name="Filter").click()
    expect(console.locator('.field[data-field="eventId"] .field-error')).to_be_visible()


# ---------------------------------------------------------------- keyboard and tablet


def test_the_console_is_used_from_the_keyboard(console: Page, program: Program) -> None:
    member = program.member("Kay", "Keyboard")
    go(console, "#/dashboard")
    expect(console.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(console.get_by_role("heading", level=1)).to_be_focused()  # the page has loaded
    # From the top of the page (the skip link), Tab along to the Members entry of the navigation.
    console.get_by_role("link", name="Skip to content").focus()
    for _ in range(20):
        console.keyboard.press("Tab")
        if console.evaluate("() => document.activeElement.textContent === 'Members'"):
            break
    members_link = console.get_by_role("navigation").get_by_role("link", name="Members")
    expect(members_link).to_be_focused()
    console.keyboard.press("Enter")
    expect(console.get_by_role("heading", level=1)).to_have_text("Members")
    expect(console.get_by_role("heading", level=1)).to_be_focused()
    expect(members_link).to_have_attribute("aria-current", "page")
    console.keyboard.press("Tab")
    expect(console.get_by_role("searchbox", name="Search members")).to_be_focused()
    console.keyboard.type(member["authIdentifier"])
    console.keyboard.press("Enter")
    link = console.get_by_role("link", name="Kay Keyboard")
    link.focus()
    console.keyboard.press("Enter")
    expect(console.get_by_role("heading", level=1)).to_have_text("Kay Keyboard")


def test_the_pages_fit_a_tablet(console: Page, program: Program) -> None:
    member = program.member("Tabitha", "Tablet", points=40)
    program.order(member)
    # Signed in at laptop width (the fixture waits for the navigation, which a tablet folds away), then turned into
    # a tablet held upright.
    console.set_viewport_size(TABLET_PORTRAIT)
    nav = console.get_by_role("navigation", name="Console sections")
    expect(nav).to_be_hidden()
    menu = console.get_by_role("button", name="Menu")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="Members").click()
    expect(nav).to_be_hidden()
    expect(console.get_by_role("heading", level=1)).to_have_text("Members")
    no_page_overflow(console)
    open_member(console, member)
    no_page_overflow(console)
    # The ledger is wider than a tablet: it scrolls in its own box.
    ledger = console.get_by_role("table", name="Points ledger, newest first")
    expect(ledger).to_be_visible()
    for hash_path in ("#/dashboard", "#/events", "#/webhooks", "#/audit"):
        go(console, hash_path)
        expect(console.get_by_role("heading", level=1)).to_be_visible()
        expect(console.locator(".muted", has_text="Loading…")).to_have_count(0)
        no_page_overflow(console)
