"""The console's configuration pages at /console/, driven in headless Chromium against a real server process.

The central test starts from an empty tenant and builds the demo program through the console alone: an event type
(its schema checked as typed and by the engine), the earn reactor on ORDER_PLACED made with the points builder and
tried in the test panel (which must change nothing), the "£5 off" voucher with its discount, a Staff audience with
an offer only its members see, and tiers. Then, through the API only, members shop and the engine must apply that
program. Other tests cover reactor versions and the JSON tab, a CSV upload of codes in batches, the audience's live
count, the confirmation in front of every delete, and tablet width.

A screenshot of the reactor editor with its test result goes to ``$LOYALTY_SCREENSHOTS`` (or a temporary
directory); the SQLite run's is also copied to ``docs/screenshots/console-reactor.png``.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_ROOT
from tests.e2e.web_kit import Served

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import FilePayload, Locator, Page, ViewportSize, expect
from playwright.sync_api import Request as BrowserRequest

pytestmark = pytest.mark.e2e
expect.set_options(timeout=10_000)

DOCS_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "console-reactor.png"
TABLET: ViewportSize = {"width": 768, "height": 1024}
ITEM_SCHEMA = json.dumps(
    {"type": "object", "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}}, "required": ["sku"]}
)
PER_POUND = {
    "operation": "PRODUCT",
    "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.totalSpend"}, {"type": "NUMBER", "value": "1"}],
    "roundingDirection": "DOWN",
}

# ---------------------------------------------------------------- helpers


def api_get(served: Served, path: str, **params: Any) -> Any:
    return served.ok(served.http.get(path, headers=served.admin, params=params))


def api_post(served: Served, path: str, body: dict[str, Any]) -> Any:
    return served.ok(served.http.post(path, headers=served.admin, json=body))


def new_member(served: Served, **extra: Any) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    profile = {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": f"ada.{suffix}@example.com"}
    profile.update(extra.pop("profile", {}))
    return dict(api_post(served, "/v1/users", {"profile": profile, "authIdentifier": f"card-{suffix}", **extra}))


def sale(member: dict[str, Any], pence: int) -> dict[str, Any]:
    """A one-line sale of ``pence`` for the member, as a till reports it."""
    line = {"sku": "LATTE-M", "name": "Latte", "quantity": 1, "unitPrice": pence, "total": pence}
    return {
        "externalId": f"T-{uuid.uuid4().hex[:12]}",
        "submitter": {"id": member["id"]},
        "currency": "GBP",
        "lineItems": [line],
        "totals": {"subtotal": pence, "total": pence},
    }


def open_page(page: Page, served: Served, path: str, heading: str) -> None:
    page.goto(f"{served.base_url}/console/#/{path}")
    expect(page.get_by_role("heading", level=1, name=heading, exact=True)).to_be_visible()


def go_to(page: Page, nav_label: str, heading: str) -> None:
    """Through the navigation, as an operator would."""
    page.get_by_role("navigation", name="Console sections").get_by_role("link", name=nav_label, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=heading, exact=True)).to_be_visible()


def current_id(page: Page) -> str:
    """The id at the end of the address (#/rewards/<id>)."""
    return page.url.rsplit("/", 1)[-1]


def field_error(page: Page, name: str) -> Locator:
    return page.locator(f'.field[data-field="{name}"] .field-error')


def bare_text(page: Page) -> list[str]:
    """Text put straight into the page's view rather than into an element (such as a stray "null")."""
    return list(
        page.evaluate(
            "[...document.getElementById('view').childNodes].filter((n) => n.nodeType === 3).map((n) => n.data)"
        )
    )


def record_writes(page: Page) -> list[tuple[str, str]]:
    """Every write request the page sends, as (method, path)."""
    sent: list[tuple[str, str]] = []

    def record(request: BrowserRequest) -> None:
        path = request.url.split("/v1/", 1)[-1]
        # The audience count is a POST that only reads (a dry run), as the live count sends it.
        if request.method in ("POST", "PATCH", "PUT", "DELETE") and "/v1/" in request.url and path != "audiences/count":
            sent.append((request.method, path))

    page.on("request", record)
    return sent


# ---------------------------------------------------------------- the demo program, built in the browser


def build_event_type(page: Page, served: Served) -> None:
    go_to(page, "Event types", "Event types")
    page.get_by_role("link", name="New event type").click()
    page.get_by_label("Name", exact=True).fill("ITEM_SCANNED")
    schema = page.get_by_label("Payload schema (JSON Schema)")
    # Broken JSON is pointed out next to the field while typing, before anything is sent.
    schema.fill('{"type": "object",')
    expect(field_error(page, "schema")).to_contain_text("Not valid JSON")
    expect(schema).to_have_attribute("aria-invalid", "true")
    # Valid JSON that is not a schema of an object: the engine's own error lands next to the field.
    schema.fill('{"type": "array"}')
    expect(field_error(page, "schema")).to_be_hidden()
    page.get_by_role("button", name="Create event type").click()
    expect(field_error(page, "schema")).to_have_text('An event payload schema must have "type": "object".')
    expect(schema).to_be_focused()
    schema.fill(ITEM_SCHEMA)
    page.get_by_role("group", name="Enhancers (added under payload.enhanced)").get_by_label("The member's tier").check()
    page.get_by_role("button", name="Create event type").click()
    expect(page.get_by_role("heading", level=1, name="ITEM_SCANNED")).to_be_visible()
    stored = api_get(served, "/v1/event_types/ITEM_SCANNED")
    assert stored["schema"]["required"] == ["sku"]
    assert stored["enhancers"] == ["TIER_ENHANCER"]


def build_earn_reactor(page: Page, served: Served) -> str:
    go_to(page, "Reactors", "Reactors")
    page.get_by_role("link", name="New reactor").click()
    page.get_by_label("Name", exact=True).fill("A point per pound")
    expect(page.get_by_label("Event type")).to_have_value("ORDER_PLACED")
    page.get_by_label("New reaction type").select_option("POINTS")
    page.get_by_role("button", name="Add reaction").click()
    expect(page.get_by_label("Points are (reaction 1)")).to_have_value("product")
    expect(page.get_by_label("Payload field (reaction 1)")).to_have_value("$.totalSpend")
    page.get_by_label("Multiply by (reaction 1)").fill("1")
    page.get_by_label("Round (reaction 1)").select_option("DOWN")
    expect(page.locator(".preview")).to_have_text("points = round down($.totalSpend × 1)")
    page.get_by_role("button", name="Create reactor").click()
    expect(page.get_by_role("heading", level=1, name="A point per pound")).to_be_visible()
    reactor_id = current_id(page)
    stored = api_get(served, f"/v1/event_reactors/{reactor_id}")
    assert stored["eventType"] == "ORDER_PLACED"
    assert stored["reactions"][0]["points"] == PER_POUND
    return reactor_id


def try_reactor(page: Page, served: Served, member: dict[str, Any], screenshots: Path) -> None:
    """The test panel reports the points of a £12.50 sale and writes nothing."""
    page.get_by_label("Member (any identifier)").fill(member["accountNumber"])
    page.get_by_role("button", name="Run test").click()
    result = page.locator("#reactor-test-result")
    expect(result.locator(".test-points")).to_have_text("12")
    expect(result).to_contain_text("Dry run: nothing was stored.")
    # Each reaction's outcome, this reactor's marked.
    row = result.get_by_role("row", name=re.compile(r"A point per pound \(this reactor\)"))
    expect(row).to_contain_text("APPLIED")
    expect(row).to_contain_text("12")
    assert api_get(served, f"/v1/users/{member['id']}/points") == []
    assert api_get(served, f"/v1/users/{member['id']}/wallet")["points"] == 0
    shot = screenshots / f"console-reactor-{served.backend}.png"
    page.screenshot(path=str(shot), full_page=True)
    if served.backend == "sqlite":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def build_voucher(page: Page, served: Served) -> str:
    go_to(page, "Rewards", "Rewards")
    page.get_by_role("link", name="New reward").click()
    page.get_by_label("Type", exact=True).select_option("VOUCHER")
    page.get_by_label("Name", exact=True).fill("£5 off")
    page.get_by_label("Price (points)").fill("500")
    page.get_by_label("Value (minor units, 500 = £5.00)").fill("500")
    expect(page.get_by_label("Currency")).to_have_value("GBP")  # the program's base currency
    page.get_by_label("Code", exact=True).select_option("OTP")
    page.get_by_label("Code format or value").fill("FIVE-{code}")
    page.get_by_label("Valid for (seconds after purchase)").fill(str(90 * 24 * 3600))
    page.get_by_role("button", name="Create reward").click()
    expect(page.get_by_role("heading", level=1, name="£5 off")).to_be_visible()
    reward_id = current_id(page)
    page.get_by_label("Discount type").select_option("ABSOLUTE")
    page.get_by_label("Discount value").fill("500")
    page.get_by_role("button", name="Add discount").click()
    expect(page.locator("#reward-discounts")).to_contain_text("£5.00 off")
    expect(page.locator("#reward-discounts")).to_contain_text("Whole basket")
    stored = api_get(served, f"/v1/rewards/{reward_id}")
    assert (stored["type"], stored["price"], stored["value"], stored["currency"]) == ("VOUCHER", 500, 500, "GBP")
    assert (stored["codeType"], stored["code"]) == ("OTP", {"format": "FIVE-{code}"})
    assert [(d["type"], d["value"], d["productSku"]) for d in stored["discounts"]] == [("ABSOLUTE", 500, None)]
    return reward_id


def build_staff_audience(page: Page, served: Served) -> str:
    go_to(page, "Audiences", "Audiences")
    page.get_by_role("link", name="New audience").click()
    page.get_by_label("Name", exact=True).fill("Staff")
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Field of condition 1").fill("flags.staff")
    page.get_by_label("Test of condition 1").select_option("true")
    expect(page.locator("#audience-count")).to_have_text(re.compile(r"Members matching now: 0 of \d+"))
    page.get_by_role("button", name="Create audience").click()
    expect(page.get_by_role("heading", level=1, name="Staff")).to_be_visible()
    audience_id = current_id(page)
    criteria = api_get(served, f"/v1/audiences/{audience_id}")["criteriaDefinition"]["criteria"]
    assert criteria["properties"]["flags"]["properties"]["staff"] == {"const": True}
    return audience_id


def build_staff_offer(page: Page, served: Served, audience_id: str) -> str:
    go_to(page, "Rewards", "Rewards")
    page.get_by_role("link", name="New reward").click()
    page.get_by_label("Type", exact=True).select_option("GENERIC_OFFER")
    page.get_by_label("Name", exact=True).fill("Staff 10% off")
    page.get_by_label("Price (points)").fill("0")
    page.get_by_label("Members may buy it with points").uncheck()
    page.get_by_role("group", name="Visible only to members of").get_by_label("Staff").check()
    page.get_by_role("button", name="Create reward").click()
    expect(page.get_by_role("heading", level=1, name="Staff 10% off")).to_be_visible()
    offer_id = current_id(page)
    page.get_by_label("Discount type").select_option("PERCENTAGE")
    page.get_by_label("Discount value").fill("10")
    page.get_by_role("button", name="Add discount").click()
    expect(page.locator("#reward-discounts")).to_contain_text("10% off")
    stored = api_get(served, f"/v1/rewards/{offer_id}")
    assert stored["visibleToAudiences"] == [{"id": audience_id}]
    assert stored["purchasable"] is False
    return offer_id


def build_tier(page: Page, name: str, requirement: int, priority: int) -> None:
    go_to(page, "Tiers", "Tiers")
    page.get_by_role("link", name="New tier").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Points required").fill(str(requirement))
    page.get_by_label("Counted over").select_option("LIFETIME_EARN")
    page.get_by_label("Priority", exact=True).fill(str(priority))
    page.get_by_role("button", name="Create tier").click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()


def test_the_demo_program_is_built_through_the_console_alone(console: Page, served: Served, screenshots: Path) -> None:
    page = console
    member = new_member(served)  # the test panel needs someone to try the rule on

    build_event_type(page, served)
    build_earn_reactor(page, served)
    try_reactor(page, served, member, screenshots)
    five_off = build_voucher(page, served)
    staff_audience = build_staff_audience(page, served)
    staff_offer = build_staff_offer(page, served, staff_audience)
    build_tier(page, "Silver", 500, 1)
    build_tier(page, "Gold", 2000, 2)
    go_to(page, "Tiers", "Tiers")
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.locator("tbody tr").first).to_contain_text("Silver")

    # Now the API alone: a £612.50 sale earns 612 points, which make the member Silver and buy the £5 off voucher.
    order = api_post(served, "/v1/orders", sale(member, 61250))
    assert order["pointsEarned"] == 612
    wallet = api_get(served, f"/v1/users/{member['id']}/wallet")
    assert (wallet["points"], wallet["lifetimeEarn"], wallet["tier"]["name"]) == (612, 612, "Silver")
    bought = api_post(served, "/v1/commands/purchase_reward", {"rewardId": five_off, "beneficiaryId": member["id"]})
    assert bought["reward"]["discounts"][0]["value"] == 500
    assert api_get(served, f"/v1/users/{member['id']}/wallet")["points"] == 112

    # A member flagged staff joins the audience at once and sees the staff offer; the first member does not.
    staff = new_member(served, flags={"staff": True})
    offers_for = {
        who["id"]: [r["name"] for r in api_get(served, "/v1/rewards", type="GENERIC_OFFER", userId=who["id"])]
        for who in (member, staff)
    }
    assert offers_for == {member["id"]: [], staff["id"]: ["Staff 10% off"]}
    assert api_get(served, f"/v1/rewards/{staff_offer}", userId=staff["id"])["discounts"][0]["value"] == 10

    # The console shows the audience's member.
    go_to(page, "Audiences", "Audiences")
    page.get_by_role("link", name="Staff", exact=True).click()
    members = page.get_by_role("table", name="Members")
    expect(members.locator("tbody tr")).to_have_count(1)
    expect(members).to_contain_text(staff["accountNumber"])


# ---------------------------------------------------------------- reactors: versions, the JSON tab, the test panel


def test_a_reactor_edit_makes_a_second_version_and_the_json_tab_round_trips(console: Page, served: Served) -> None:
    page = console
    api_post(
        served,
        "/v1/event_types",
        {"name": "COFFEE_BOUGHT", "schema": {"type": "object", "properties": {"cups": {"type": "integer"}}}},
    )
    first = api_post(
        served,
        "/v1/event_reactors",
        {
            "name": "Ten a cup",
            "eventType": "COFFEE_BOUGHT",
            "reactions": [
                {
                    "type": "POINTS",
                    "points": {
                        **PER_POUND,
                        "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.cups"}, {"type": "NUMBER", "value": "10"}],
                    },
                }
            ],
        },
    )
    open_page(page, served, f"reactors/{first['id']}", "Ten a cup")
    versions = page.get_by_role("table", name="Newest first")
    expect(versions.locator("tbody tr")).to_have_count(1)

    page.get_by_label("Multiply by (reaction 1)").fill("20")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page).not_to_have_url(re.compile(first["id"]))
    second = current_id(page)
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions.locator("tbody tr").first).to_contain_text("2 (shown)")
    expect(versions.get_by_role("link", name="Version 1")).to_be_visible()
    history = api_get(served, f"/v1/event_reactors/{second}/versions")
    assert [v["id"] for v in history] == [first["id"], second]
    assert history[1]["previousVersionId"] == first["id"]
    assert history[1]["reactions"][0]["points"]["arguments"][1]["value"] == "20"

    # The JSON tab holds the same definition; what is changed there comes back to the form.
    page.get_by_role("tab", name="JSON", exact=True).click()
    definition = page.get_by_label("Definition (JSON)")
    expect(definition).to_have_value(re.compile(r'"value": "20"'))
    definition.fill(definition.input_value().replace('"Ten a cup"', '"Twenty a cup"'))
    page.get_by_role("tab", name="Form", exact=True).click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Twenty a cup")
    expect(page.get_by_label("Multiply by (reaction 1)")).to_have_value("20")
    # Broken JSON keeps the JSON tab open and says why.
    page.get_by_role("tab", name="JSON", exact=True).click()
    definition.fill('{"name": ')
    expect(page.locator('.field:has(> textarea[aria-invalid="true"]) .field-error')).to_contain_text("Not valid JSON")
    page.get_by_role("tab", name="Form", exact=True).click()
    expect(page.get_by_role("tab", name="JSON", exact=True)).to_have_attribute("aria-selected", "true")

    # The test panel runs the live version on a sample event of the custom type, and stores nothing.
    member = new_member(served)
    page.reload()
    page.get_by_label("Member (any identifier)").fill(member["authIdentifier"])
    page.get_by_label("Sample payload").fill('{"cups": 2}')
    page.get_by_role("button", name="Run test").click()
    row = page.locator("#reactor-test-result tbody tr", has_text="(this reactor)")
    expect(row).to_contain_text("APPLIED")
    expect(row).to_contain_text("40")
    assert api_get(served, f"/v1/users/{member['id']}/points") == []

    # The first version is read-only and points to the latest.
    versions.get_by_role("link", name="Version 1").click()
    expect(page.locator(".notice")).to_contain_text("This version has ended.")
    assert not bare_text(page)
    expect(page.get_by_role("button", name="Save as a new version")).to_have_count(0)
    page.get_by_role("link", name="Open the latest version").click()
    expect(page).to_have_url(re.compile(second))


# ---------------------------------------------------------------- code pools: a CSV upload


def test_a_csv_of_codes_is_uploaded_in_batches_with_a_report_of_duplicates(console: Page, served: Served) -> None:
    page = console
    writes = record_writes(page)
    go_to(page, "Code pools", "Code pools")
    page.get_by_role("link", name="New code pool").click()
    page.get_by_label("Name", exact=True).fill("Summer codes")
    page.get_by_role("button", name="Create code pool").click()
    expect(page.get_by_role("heading", level=1, name="Summer codes")).to_be_visible()
    pool_id = current_id(page)
    api_post(served, f"/v1/code_pools/{pool_id}/codes", {"value": "SUMMER-TAKEN"})

    # 250 lines after the header: 247 new codes, two repeated in the file, one already in the pool.
    fresh = [f"SUMMER-{n:04d}" for n in range(247)]
    lines = ["code", *fresh[:100], "SUMMER-0007", *fresh[100:200], "SUMMER-TAKEN", "SUMMER-0150", *fresh[200:]]
    csv: FilePayload = {"name": "codes.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}
    page.get_by_label("CSV file of codes").set_input_files(files=[csv])
    page.get_by_role("button", name="Upload codes").click()
    report = page.locator("#upload-report")
    expect(report).to_contain_text("247 codes added; 3 duplicates skipped.")
    progress = page.get_by_label("Upload progress")
    expect(progress).to_have_attribute("max", "250")
    assert progress.evaluate("bar => bar.value") == 250
    duplicates = report.get_by_role("table", name="Duplicates")
    expect(duplicates.locator("tbody tr")).to_have_count(3)
    expect(duplicates.locator("tr", has_text="SUMMER-0007")).to_contain_text("Repeated in the file")
    expect(duplicates.locator("tr", has_text="SUMMER-0150")).to_contain_text("Repeated in the file")
    expect(duplicates.locator("tr", has_text="SUMMER-TAKEN")).to_contain_text("Already a code of the program")
    batches = [path for method, path in writes if path.endswith("/codes/create_bulk")]
    assert len(batches) == 3  # about a twentieth of the file each, at least 100: 100, 100, 50
    assert api_get(served, f"/v1/code_pools/{pool_id}")["totalCodes"] == 248
    expect(page.locator("#pool-total")).to_have_text("248")
    expect(page.get_by_role("table", name="Codes", exact=True).locator("tbody tr")).to_have_count(20)  # the first page

    # Removing codes asks first: one code, then every code not handed out.
    newest = api_get(served, f"/v1/code_pools/{pool_id}/codes")[0]  # the table's first row: newest first
    code_path = f"code_pools/{pool_id}/codes/{newest['id']}"
    delete_with_confirmation(
        page, writes, f"Delete {newest['value']}", "Delete", code_path, f"Code {newest['value']} deleted."
    )
    expect(page.locator("#pool-total")).to_have_text("247")
    delete_with_confirmation(
        page, writes, "Delete codes not handed out", "Delete codes", f"code_pools/{pool_id}/codes", "247 codes deleted."
    )
    assert api_get(served, f"/v1/code_pools/{pool_id}")["totalCodes"] == 0


# ---------------------------------------------------------------- audiences: the live count


def test_the_audience_count_follows_the_conditions_as_they_change(console: Page, served: Served) -> None:
    page = console
    for _ in range(2):
        new_member(served, profile={"attributes": {"team": "night"}})
    new_member(served, profile={"attributes": {"team": "day"}})
    counted: list[str] = []
    page.on("request", lambda r: counted.append(r.url) if r.url.endswith("/v1/audiences/count") else None)
    open_page(page, served, "audiences/new", "New audience")
    count = page.locator("#audience-count")
    expect(count).to_have_text(re.compile(r"Members matching now: (\d+) of \1$"))  # no condition: everyone
    page.get_by_label("Name", exact=True).fill("Night team")
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Field of condition 1").fill("attributes.team")
    page.get_by_label("Test of condition 1").select_option("eq")
    page.get_by_label("Value of condition 1").fill("night")
    expect(count).to_have_text(re.compile(r"Members matching now: 2 of \d+"))
    page.get_by_label("Value of condition 1").fill("day")
    expect(count).to_have_text(re.compile(r"Members matching now: 1 of \d+"))
    page.get_by_label("Value of condition 1").fill("evening")
    expect(count).to_have_text(re.compile(r"Members matching now: 0 of \d+"))
    asked = len(counted)
    assert 4 <= asked < 20, counted  # debounced: not one request per keystroke

    # The JSON Schema tab shows the same condition; a change there is counted too.
    page.get_by_role("tab", name="JSON Schema").click()
    criteria = page.get_by_label("Members who match as JSON Schema")
    expect(criteria).to_have_value(re.compile(r'"const": "evening"'))
    criteria.fill(criteria.input_value().replace("evening", "night"))
    expect(count).to_have_text(re.compile(r"Members matching now: 2 of \d+"))
    page.get_by_role("tab", name="Conditions").click()
    expect(page.get_by_label("Value of condition 1")).to_have_value("night")

    page.get_by_role("button", name="Create audience").click()
    expect(page.get_by_role("heading", level=1, name="Night team")).to_be_visible()
    members = page.get_by_role("table", name="Members")
    expect(members.locator("tbody tr")).to_have_count(2)
    page.get_by_role("button", name="Refresh members").click()
    expect(page.locator("#status")).to_contain_text("Audience refreshed: 0 joined, 0 left.")
    # An invalid schema from the JSON tab is refused by the engine, next to the criteria.
    page.get_by_role("tab", name="JSON Schema").click()
    criteria.fill('{"type": "nonsense"}')
    page.get_by_role("button", name="Save audience").click()
    expect(page.locator(".field", has=criteria).locator(".field-error")).to_contain_text("Not a valid JSON Schema")


# ---------------------------------------------------------------- deletes ask first


def delete_with_confirmation(
    page: Page, writes: list[tuple[str, str]], button: str, confirm: str, path: str, done: str
) -> None:
    """Cancel sends nothing; Confirm sends the DELETE."""
    before = len(writes)
    page.get_by_role("button", name=button).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert writes[before:] == []
    page.get_by_role("button", name=button).click()
    dialog.get_by_role("button", name=confirm, exact=True).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#status")).to_have_text(done)  # said once the engine has answered
    assert ("DELETE", path) in writes[before:], writes[before:]


def test_every_delete_asks_first(console: Page, served: Served) -> None:
    page = console
    writes = record_writes(page)
    tier = api_post(
        served,
        "/v1/tiers",
        {"name": "Platinum", "pointsRequirement": 9000, "calculation": "LIFETIME_EARN", "priority": 90},
    )
    venue = api_post(served, "/v1/venues", {"name": "Old shop", "externalIdentifier": f"S-{uuid.uuid4().hex[:6]}"})
    audience = api_post(served, "/v1/audiences", {"name": "Leavers", "criteriaDefinition": {"criteria": {}}})
    rule = api_post(
        served,
        "/v1/points_liability_criteria",
        {
            "name": "Expire",
            "type": "SIMPLE_EXPIRY",
            "liabilityType": "EXPIRY",
            "config": {"expiryBasedOn": "EARN_DATE", "dateModifier": "P12M"},
        },
    )
    reward = api_post(
        served, "/v1/rewards", {"type": "VOUCHER", "name": "Old voucher", "price": 10, "purchasable": True}
    )
    api_post(served, f"/v1/rewards/{reward['id']}/discounts", {"type": "ABSOLUTE", "value": 100})
    discount = api_post(served, f"/v1/rewards/{reward['id']}/discounts", {"type": "PERCENTAGE", "value": 5})
    reactor = api_post(
        served, "/v1/event_reactors", {"name": "Old rule", "eventType": "REGISTERED_ACCOUNT", "reactions": []}
    )

    open_page(page, served, f"tiers/{tier['id']}", "Platinum")
    delete_with_confirmation(page, writes, "Retire tier", "Retire", f"tiers/{tier['id']}", "Tier “Platinum” retired.")
    expect(page.get_by_role("heading", level=1, name="Tiers")).to_be_visible()
    assert served.http.get(f"/v1/tiers/{tier['id']}", headers=served.admin).status_code == 404

    open_page(page, served, f"venues/{venue['id']}", "Old shop")
    delete_with_confirmation(
        page, writes, "Delete venue", "Delete", f"venues/{venue['id']}", "Venue “Old shop” deleted."
    )
    assert served.http.get(f"/v1/venues/{venue['id']}", headers=served.admin).status_code == 404

    open_page(page, served, f"audiences/{audience['id']}", "Leavers")
    delete_with_confirmation(
        page, writes, "Delete audience", "Delete", f"audiences/{audience['id']}", "Audience “Leavers” deleted."
    )
    assert served.http.get(f"/v1/audiences/{audience['id']}", headers=served.admin).status_code == 404

    open_page(page, served, f"points-rules/{rule['id']}", "Expire")
    delete_with_confirmation(
        page,
        writes,
        "Delete rule",
        "Delete",
        f"points_liability_criteria/{rule['id']}",
        "Points rule “Expire” deleted.",
    )
    assert served.http.get(f"/v1/points_liability_criteria/{rule['id']}", headers=served.admin).status_code == 404

    open_page(page, served, f"rewards/{reward['id']}", "Old voucher")
    delete_with_confirmation(
        page,
        writes,
        "Remove 5% off",
        "Remove",
        f"rewards/{reward['id']}/discounts/{discount['id']}",
        "Discount removed.",
    )
    expect(page.locator("#reward-discounts tbody tr")).to_have_count(1)
    delete_with_confirmation(
        page, writes, "Archive reward", "Archive", f"rewards/{reward['id']}", "Reward “Old voucher” archived."
    )
    assert api_get(served, f"/v1/rewards/{reward['id']}")["archivedAt"] is not None

    open_page(page, served, f"reactors/{reactor['id']}", "Old rule")
    delete_with_confirmation(
        page, writes, "End reactor", "End reactor", f"event_reactors/{reactor['id']}", "Reactor “Old rule” ended."
    )
    assert api_get(served, f"/v1/event_reactors/{reactor['id']}")["effectivity"]["end"] is not None


# ---------------------------------------------------------------- tablet width and the keyboard


def test_the_reactor_editor_fits_a_tablet_and_works_from_the_keyboard(console: Page, served: Served) -> None:
    page = console
    # Signed in at laptop width (where the fixture checks the navigation), then turned into a tablet.
    page.set_viewport_size(TABLET)
    expect(page.get_by_role("navigation", name="Console sections")).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    go_to(page, "Reactors", "Reactors")
    page.get_by_role("link", name="New reactor").click()
    expect(page.get_by_role("heading", level=1, name="New reactor")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Everything at once")
    page.get_by_label("Event type").select_option("POINTS_ADJUSTED")
    for kind in ("POINTS", "ATTRIBUTE", "BADGE", "REWARD", "WEBHOOK"):
        page.get_by_label("New reaction type").select_option(kind)
        page.get_by_role("button", name="Add reaction").click()
    page.get_by_role("button", name="Add condition").click()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # Every control has a name.
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('#view input, #view select, #view textarea, #view button')]
            .filter((node) => !node.labels?.length && !node.getAttribute('aria-label') && !node.textContent.trim())
            .map((node) => node.outerHTML)"""
    )
    assert unnamed == []
    page.get_by_role("button", name="Remove condition 1").click()
    page.get_by_role("button", name="Remove reaction 3").click()
    page.get_by_role("button", name="Remove reaction 3").click()  # the reward, now third
    expect(page.get_by_role("group", name=re.compile("^Reaction 3: Call a webhook"))).to_be_visible()
    page.get_by_label("Attribute 1 key (reaction 2)").fill("vip")
    page.get_by_label("Attribute 1 value (reaction 2)").fill("true")
    # Tabs move with the arrow keys, carrying the definition across.
    page.get_by_role("tab", name="Form", exact=True).focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="JSON", exact=True)).to_be_focused()
    expect(page.get_by_label("Definition (JSON)")).to_have_value(re.compile('"type": "WEBHOOK"'))
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name="Form", exact=True)).to_have_attribute("aria-selected", "true")
    # The engine's errors land next to the reaction at fault: a webhook without a URL.
    page.get_by_role("button", name="Create reactor").click()
    url_error = page.locator(".field", has=page.get_by_label("URL (reaction 3)")).locator(".field-error")
    expect(url_error).to_have_text("url is an http(s) URL.")
    page.get_by_label("URL (reaction 3)").fill("https://example.com/hook")
    page.get_by_role("button", name="Create reactor").click()
    expect(page.get_by_role("heading", level=1, name="Everything at once")).to_be_visible()
    stored = api_get(served, f"/v1/event_reactors/{current_id(page)}")
    assert [r["type"] for r in stored["reactions"]] == ["POINTS", "ATTRIBUTE", "WEBHOOK"]
    assert stored["reactions"][1]["attributes"] == [{"isEnabled": True, "key": "vip", "value": True}]


# ---------------------------------------------------------------- the smaller pages save what they show


def test_settings_venues_badges_categories_and_points_rules_are_saved(console: Page, served: Served) -> None:
    page = console
    go_to(page, "Settings", "Settings")
    page.get_by_label("Time zone").fill("Europe/London")
    page.get_by_label("Pending period for points from orders").fill("P2M")
    page.get_by_role("button", name="Save settings").click()
    expect(field_error(page, "pendingPeriod")).to_be_visible()  # months have no fixed length: refused
    page.get_by_label("Pending period for points from orders").fill("P14D")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#status")).to_have_text("Saved: timezone, pendingPeriod.")
    settings = {s["name"]: s["value"] for s in api_get(served, "/v1/settings")}
    assert (settings["timezone"], settings["pendingPeriod"]) == ("Europe/London", "P14D")
    page.get_by_label("Pending period for points from orders").fill("")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#status")).to_have_text("Saved: pendingPeriod.")

    go_to(page, "Venues", "Venues")
    page.get_by_role("link", name="New venue").click()
    page.get_by_label("Name", exact=True).fill("Store 372, King's Cross")
    page.get_by_label("Store number (external identifier)").fill("372")
    page.get_by_label("Latitude").fill("51.53")
    page.get_by_label("Longitude").fill("-0.12")
    page.get_by_role("button", name="Create venue").click()
    expect(page.get_by_role("heading", level=1, name="Store 372, King's Cross")).to_be_visible()
    page.get_by_label("Postcode").fill("N1C 4AB")
    page.get_by_label("Longitude").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#status")).to_have_text("Venue saved.")
    venue = api_get(served, "/v1/venues/372")
    assert (venue["postcode"], venue["coordinates"]) == ("N1C 4AB", None)

    go_to(page, "Badges", "Badges")
    page.get_by_role("link", name="New badge").click()
    page.get_by_label("Internal name").fill("Night owl")
    page.get_by_label("Name shown to members (English)").fill("Night owl")
    page.get_by_role("button", name="Create badge").click()
    expect(page.get_by_role("heading", level=1, name="Night owl")).to_be_visible()
    badge = api_get(served, f"/v1/badges/{current_id(page)}")
    assert (badge["status"], badge["details"][0]["name"]) == ("ACTIVE", "Night owl")

    go_to(page, "Reward categories", "Reward categories")
    page.get_by_label("Name", exact=True).fill("Hot drinks")
    page.get_by_role("button", name="Add category").click()
    expect(page.get_by_role("table", name="Reward categories")).to_contain_text("Hot drinks")

    go_to(page, "Points rules", "Points rules")
    page.get_by_role("link", name="New points rule").click()
    page.get_by_label("Name", exact=True).fill("Weekly earn cap")
    page.get_by_label("Rule", exact=True).select_option("MAXIMUM_POINTS_EARN_CAP")
    expect(page.get_by_label("Rule settings (JSON)")).to_have_value(re.compile('"intervalType": "RUNNING_DAYS"'))
    page.get_by_role("button", name="Create points rule").click()
    expect(page.get_by_role("heading", level=1, name="Weekly earn cap")).to_be_visible()
    rule = api_get(served, f"/v1/points_liability_criteria/{current_id(page)}")
    assert (rule["type"], rule["liabilityType"], rule["config"]["maximumPoints"]) == (
        "MAXIMUM_POINTS_EARN_CAP",
        "EARNING_CAP",
        1000,
    )
    page.get_by_label("Active").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#status")).to_have_text("Points rule saved.")
    assert api_get(served, f"/v1/points_liability_criteria/{rule['id']}")["isActive"] is False


def test_an_event_type_and_a_reward_are_edited(console: Page, served: Served) -> None:
    page = console
    api_post(served, "/v1/event_types", {"name": "TABLE_BOOKED", "schema": {"type": "object"}})
    open_page(page, served, "event-types/TABLE_BOOKED", "TABLE_BOOKED")
    assert not bare_text(page)  # a part left out is not written as the text "null"
    page.get_by_label("Description").fill("A table booked online.")
    page.get_by_label("Duplicate key (JSONPath)").fill("$.bookingId")
    page.get_by_label("Active (accepts events)").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#status")).to_have_text("Event type saved.")
    stored = api_get(served, "/v1/event_types/TABLE_BOOKED")
    assert (stored["description"], stored["dedupeKeyPath"], stored["isActive"]) == (
        "A table booked online.",
        "$.bookingId",
        False,
    )

    reward = api_post(
        served,
        "/v1/rewards",
        {"type": "VOUCHER", "name": "Free cake", "price": 300, "purchasable": True, "stockCapacity": 5},
    )
    open_page(page, served, f"rewards/{reward['id']}", "Free cake")
    expect(page.get_by_label("Type", exact=True)).to_be_disabled()
    page.get_by_label("Name", exact=True).fill("Free cake slice")
    page.get_by_label("Stock").fill("")
    page.get_by_label("Summary").fill("Any cake, any day.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1, name="Free cake slice")).to_be_visible()
    stored = api_get(served, f"/v1/rewards/{reward['id']}")
    assert (stored["name"], stored["stockCapacity"], stored["summary"], stored["price"]) == (
        "Free cake slice",
        None,
        "Any cake, any day.",
        300,
    )
    assert stored["availability"]["start"] == reward["availability"]["start"]  # untouched, so unchanged
