"""The reference till at /pos/, driven in headless Chromium against a real server process.

A program is seeded through the API (an earn reactor on ORDER_PLACED, a tier, an offer on hot drinks, a voucher
reward members buy with points and redeem), then a cashier's session is played in the browser: signing in with the
POS client, scanning a member, building a basket, presenting vouchers and points, paying, reading the receipt, and
refunding or voiding. What the till shows is checked against what the engine recorded.

Screenshots of the sale and the receipt go to ``$LOYALTY_SCREENSHOTS`` (or a temporary directory); the receipt of
the SQLite run is also copied to ``docs/screenshots/till-receipt.png``.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.conftest import BACKENDS, PROJECT_ROOT
from tests.e2e.web_kit import served_tenant

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Browser, Page, Route, ViewportSize, expect
from playwright.sync_api import Request as BrowserRequest

pytestmark = pytest.mark.e2e
expect.set_options(timeout=10_000)  # live pricing waits for the server; generous on a busy machine

T = TypeVar("T")

DOCS_RECEIPT = PROJECT_ROOT / "docs" / "screenshots" / "till-receipt.png"
TABLET: ViewportSize = {"width": 1024, "height": 768}
TABLET_PORTRAIT: ViewportSize = {"width": 768, "height": 1024}

# ---------------------------------------------------------------- the server and the program


@dataclass
class Program:
    """A tenant with its POS credentials, an admin HTTP client, and the program's rewards."""

    base_url: str
    backend: str
    api_key: str
    pos_client_id: str
    pos_secret: str
    http: httpx.Client
    admin: dict[str, str]
    offer_id: str = ""
    voucher_reward_id: str = ""
    log: Path = field(default_factory=Path)

    def ok(self, answer: httpx.Response) -> Any:
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["data"]

    def wallet(self, member_id: str) -> dict[str, Any]:
        return dict(self.ok(self.http.get(f"/v1/users/{member_id}/wallet", headers=self.admin)))

    def member(self, points: int) -> dict[str, Any]:
        suffix = uuid.uuid4().hex[:8]
        body = {
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": f"ada.{suffix}@example.com"},
            "authIdentifier": f"card-{suffix}",
        }
        member = dict(self.ok(self.http.post("/v1/users", headers=self.admin, json=body)))
        if points:
            self.ok(
                self.http.post(
                    "/v1/commands/adjust_points",
                    headers=self.admin,
                    json={"actorId": member["id"], "points": points, "comment": "welcome"},
                )
            )
        return member

    def voucher(self, member: dict[str, Any]) -> str:
        """The member buys the voucher reward with points and redeems it: answers the code to present."""
        bought = self.ok(
            self.http.post(
                "/v1/commands/purchase_reward",
                headers=self.admin,
                json={"rewardId": self.voucher_reward_id, "beneficiaryId": member["id"]},
            )
        )
        redeemed = self.ok(
            self.http.post("/v1/commands/redeem_benefit", headers=self.admin, json={"benefitId": bought["id"]})
        )
        return str(redeemed["code"]["value"])


def _seed(program: Program) -> None:
    http, admin = program.http, program.admin
    program.ok(
        http.post(
            "/v1/tiers",
            headers=admin,
            json={"name": "Silver", "pointsRequirement": 500, "calculation": "LIFETIME_EARN", "priority": 1},
        )
    )
    # One point per pound spent, rounded down.
    program.ok(
        http.post(
            "/v1/event_reactors",
            headers=admin,
            json={
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
    )
    offer = program.ok(
        http.post(
            "/v1/rewards",
            headers=admin,
            json={"type": "GENERIC_OFFER", "name": "10% off hot drinks", "price": 0, "purchasable": False},
        )
    )
    program.ok(
        http.post(
            f"/v1/rewards/{offer['id']}/discounts",
            headers=admin,
            json={"type": "PERCENTAGE", "value": 10, "productSku": "HOT-DRINKS"},
        )
    )
    voucher = program.ok(
        http.post(
            "/v1/rewards",
            headers=admin,
            json={
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
    )
    program.ok(
        http.post(f"/v1/rewards/{voucher['id']}/discounts", headers=admin, json={"type": "ABSOLUTE", "value": 100})
    )
    program.offer_id, program.voucher_reward_id = offer["id"], voucher["id"]


@pytest.fixture(scope="module", params=BACKENDS)
def program(
    request: pytest.FixtureRequest, postgres_ready: bool, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Program]:
    """A server process on a fresh database (SQLite or PostgreSQL) serving the till, with a program seeded."""
    backend = str(request.param)
    if backend == "postgresql" and not postgres_ready:
        pytest.skip("PostgreSQL not reachable")
    with served_tenant(backend, tmp_path_factory.mktemp(f"till-{backend}")) as served:
        seeded = Program(
            served.base_url,
            backend,
            served.api_key,
            served.pos_id,
            served.pos_secret,
            served.http,
            served.admin,
            log=served.log,
        )
        _seed(seeded)
        yield seeded


@dataclass
class Till:
    page: Page
    errors: list[str]
    checkouts: list[dict[str, Any]]


@pytest.fixture
def till(browser: Browser, program: Program, request: pytest.FixtureRequest) -> Iterator[Till]:
    """A fresh browser tab on /pos/, signed in with the POS client (typed, submitted with Enter)."""
    viewport: ViewportSize = getattr(request, "param", TABLET)
    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    checkouts: list[dict[str, Any]] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def record(req: BrowserRequest) -> None:
        if req.method == "POST" and req.url.endswith("/v1/checkouts"):
            checkouts.append({"headers": req.headers, "body": req.post_data_json})

    page.on("request", record)
    try:
        page.goto(f"{program.base_url}/pos/")
        expect(page.get_by_role("heading", name="Sign in to the till")).to_be_visible()
        expect(page.get_by_label("API key")).to_be_focused()
        page.get_by_label("API key").fill(program.api_key)
        page.get_by_label("Client ID").fill(program.pos_client_id)
        page.get_by_label("Client secret").fill(program.pos_secret)
        page.get_by_label("Client secret").press("Enter")
        expect(page.locator("#till-view")).to_be_visible()
        expect(page.get_by_label("Scan card or type member number")).to_be_focused()
        yield Till(page, errors, checkouts)
        assert errors == [], errors
    finally:
        context.close()


def scan_member(page: Page, member: dict[str, Any]) -> None:
    """A barcode scanner types the card number and presses Enter."""
    page.get_by_label("Scan card or type member number").fill(member["accountNumber"])
    page.keyboard.press("Enter")
    expect(page.locator("#member-account")).to_have_text(member["accountNumber"])


def page_text(page: Page) -> str:
    return str(page.locator("body").inner_text())


def assert_plain_words(page: Page) -> None:
    """Nothing the engine answered is shown raw: no JSON, no error codes."""
    text = page_text(page)
    assert "{" not in text, text
    assert not re.search(r"\b[A-Z]+_[A-Z_]+\b", text), text


# ---------------------------------------------------------------- the tests


def test_a_sale_with_an_offer_a_voucher_and_points(till: Till, program: Program, screenshots: Path) -> None:
    page = till.page
    member = program.member(1100)
    code = program.voucher(member)  # costs 100 points: 1000 left

    scan_member(page, member)
    expect(page.locator("#member-name")).to_have_text("Ada Lovelace")
    expect(page.locator("#member-balance")).to_have_text("1,000 points")
    expect(page.locator("#member-tier")).to_have_text("Silver")
    expect(page.locator("#member-offers")).to_contain_text("10% off hot drinks")
    expect(page.locator("#member-vouchers")).to_contain_text(code)
    expect(page.get_by_label("Scan or type a product code")).to_be_focused()

    # Two lattes (one typed, one tapped) and a croissant.
    page.keyboard.type("LATTE-M")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Add Latte, £3.50").click()
    page.get_by_role("button", name="Add Butter croissant, £3.00").click()
    page.get_by_label("Voucher code").fill(code)
    page.get_by_label("Voucher code").press("Enter")
    page.get_by_label("Points to spend").fill("200")

    expect(page.locator("#total-total")).to_have_text("£6.30")
    expect(page.locator("#total-subtotal")).to_have_text("£10.00")
    expect(page.locator("#total-discount")).to_have_text("−£3.70")
    applied = page.locator("#applied-discounts li")
    expect(applied).to_have_count(3)
    expect(applied.nth(0)).to_have_text(re.compile(r"Offer: 10% off hot drinks\s*−£0\.70"))
    expect(applied.nth(1)).to_have_text(re.compile(rf"Voucher {code} \(£1 off your order\)\s*−£1\.00"))
    expect(applied.nth(2)).to_have_text(re.compile(r"Points \(200 points\)\s*−£2\.00"))
    expect(page.locator("#voucher-list")).to_contain_text("applied, −£1.00")
    expect(page.locator("#points-estimate")).to_contain_text("earn about 6 points")
    # Per-line discounts: every line carries its share, and the shares add up to the basket's discount.
    line_discounts = page.locator("#basket-lines .line-discount").all_inner_texts()
    assert len(line_discounts) == 2, line_discounts
    assert all(text.startswith("−£") for text in line_discounts), line_discounts
    assert sum(round(float(text.removeprefix("−£")) * 100) for text in line_discounts) == 370
    page.screenshot(path=str(screenshots / f"till-sale-{program.backend}.png"), full_page=True)

    page.get_by_role("button", name="Pay £6.30 by card").click()
    receipt = page.locator("#receipt")
    expect(receipt).to_be_visible()
    expect(page.get_by_role("button", name="New sale")).to_be_focused()
    expect(page.locator("#receipt-total")).to_contain_text("£6.30")
    expect(page.locator("#receipt-total-discount")).to_contain_text("−£3.70")
    expect(page.locator("#receipt-points-earned")).to_contain_text("6 points")
    expect(page.locator("#receipt-points-spent")).to_contain_text("200 points")
    expect(page.locator("#receipt-balance")).to_contain_text("806 points")
    discounts = page.locator("#receipt-discounts tr")
    expect(discounts).to_have_count(3)
    expect(discounts.nth(0)).to_contain_text("Offer: 10% off hot drinks")
    expect(discounts.nth(1)).to_contain_text(f"Voucher {code}")
    expect(discounts.nth(2)).to_contain_text("Points (200 points)")
    expect(receipt).to_contain_text("Ada Lovelace")
    number = page.locator("#receipt-number").inner_text()
    receipt_shot = screenshots / f"till-receipt-{program.backend}.png"
    page.screenshot(path=str(receipt_shot), full_page=True)
    if program.backend == "sqlite":
        DOCS_RECEIPT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(receipt_shot, DOCS_RECEIPT)
    # Printed, the receipt stands alone.
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.get_by_role("button", name="Print receipt")).to_be_hidden()
    expect(receipt).to_be_visible()
    page.emulate_media(media="screen")
    page.get_by_role("button", name="New sale").focus()  # hiding it for print took the focus away

    # One checkout request, with the receipt number as its externalId and an Idempotency-Key.
    assert len(till.checkouts) == 1
    sent = till.checkouts[0]
    assert sent["body"]["externalId"] == number
    assert sent["body"]["voucherCodes"] == [code]
    assert sent["body"]["pointsToSpend"] == 200
    assert re.fullmatch(r"checkout-[A-Z0-9]{24}", sent["headers"]["idempotency-key"])

    # The engine agrees with the receipt.
    wallet = program.wallet(member["id"])
    assert wallet["points"] == 806
    assert wallet["vouchers"] == []  # the voucher is used up
    order = program.ok(program.http.get(f"/v1/orders/{number}", headers=program.admin))
    assert (order["totals"]["total"], order["pointsSpent"], order["pointsEarned"]) == (630, 200, 6)
    assert order["user"]["id"] == member["id"]

    # Enter on the focused button starts the next sale, with the member field ready for the next card.
    page.keyboard.press("Enter")
    expect(page.locator("#till-view")).to_be_visible()
    expect(page.get_by_label("Scan card or type member number")).to_be_focused()
    expect(page.locator("#sale-number")).not_to_have_text(number)


@pytest.mark.parametrize("till", [TABLET_PORTRAIT], indirect=True)
def test_refused_vouchers_and_points_are_explained_in_plain_words(till: Till, program: Program) -> None:
    page = till.page
    member = program.member(300)
    used = program.voucher(member)
    burned = program.http.post("/v1/commands/validate_voucher", headers=program.admin, json={"code": used})
    assert burned.status_code == 200, burned.text

    scan_member(page, member)
    page.get_by_role("button", name="Add Flat white, £3.30").click()
    voucher = page.get_by_label("Voucher code")
    voucher.fill("NOPE-12345")
    voucher.press("Enter")
    refused = page.locator("#rejected-discounts li")
    expect(refused).to_have_count(1)
    expect(refused.first).to_contain_text("Voucher NOPE-12345: This voucher code is not recognised.")
    voucher.fill(used)
    voucher.press("Enter")
    expect(refused).to_have_count(2)
    expect(page.locator("#rejected-discounts")).to_contain_text(f"Voucher {used}: This voucher has already been used.")
    expect(voucher).to_be_focused()
    # Refused codes leave the sale (they are not sent again), so the sale can still be paid.
    expect(page.locator("#voucher-list li")).to_have_count(0)
    expect(page.locator("#total-total")).to_have_text("£2.97")
    expect(page.get_by_role("button", name="Pay £2.97 by card")).to_be_enabled()

    # More points than the member has: said in words, and payment waits.
    page.get_by_label("Points to spend").fill("5000")
    expect(page.locator("#pricing-error")).to_have_text(
        "The member does not have enough points for that. Lower the points to spend."
    )
    expect(page.locator("#pay-card")).to_be_disabled()
    assert_plain_words(page)

    # At tablet width nothing runs off the side of the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_label("Points to spend").fill("0")
    expect(page.locator("#pricing-error")).to_be_hidden()
    page.get_by_role("button", name="Dismiss the message about voucher NOPE-12345").click()
    expect(refused).to_have_count(1)


def test_a_sale_refunded_in_full_from_the_receipt(till: Till, program: Program) -> None:
    page = till.page
    member = program.member(500)
    scan_member(page, member)
    page.get_by_role("button", name="Add Flat white, £3.30").click()
    page.get_by_role("button", name="Add BLT sandwich, £5.50").click()
    page.get_by_label("Points to spend").fill("100")
    # 880 − 33 (10% of the flat white) − 100 (points) = 747, which earns 7 points.
    expect(page.locator("#total-total")).to_have_text("£7.47")
    page.get_by_role("button", name="Pay £7.47 in cash").click()
    expect(page.locator("#receipt-balance")).to_contain_text("407 points")
    expect(page.locator("#receipt")).to_contain_text("Paid in cash")
    number = page.locator("#receipt-number").inner_text()

    page.get_by_role("button", name="Refund sale").click()
    dialog = page.get_by_role("dialog", name="Refund this sale in full?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Give the customer back £7.47")
    expect(page.get_by_role("button", name="No, go back")).to_be_focused()
    page.keyboard.press("Escape")  # Escape backs out and changes nothing
    expect(dialog).to_be_hidden()
    assert program.wallet(member["id"])["points"] == 407

    page.get_by_role("button", name="Refund sale").click()
    dialog.get_by_role("button", name="Refund").click()
    message = page.locator("#receipt-message")
    expect(message).to_have_text(
        "Refunded £7.47 to the customer. 7 points taken back, 100 points returned to the member. "
        "New balance: 500 points."
    )
    expect(page.get_by_role("button", name="Refund sale")).to_be_disabled()
    assert program.wallet(member["id"])["points"] == 500
    order = program.ok(program.http.get(f"/v1/orders/{number}", headers=program.admin))
    assert (order["status"], order["refundedValue"], order["pointsReversed"]) == ("REFUNDED", 747, 7)

    # The sale found again by its receipt number shows it refunded, with nothing left to refund.
    page.get_by_role("button", name="Refund or void a sale").click()
    returns = page.get_by_role("dialog", name="Refund or void a sale")
    page.get_by_label("Receipt number").fill(number)
    page.get_by_label("Receipt number").press("Enter")
    expect(returns.locator("#returns-facts")).to_contain_text("Refunded in full")
    expect(returns.get_by_role("button", name="Refund in full")).to_be_disabled()
    assert_plain_words(page)


def test_a_sale_voided_from_the_returns_desk_gives_the_voucher_back(till: Till, program: Program) -> None:
    page = till.page
    member = program.member(600)
    code = program.voucher(member)  # 500 points left
    scan_member(page, member)
    page.get_by_role("button", name="Use voucher £1 off your order").click()
    page.get_by_role("button", name="Add Cheese & pickle, £4.95").click()
    expect(page.locator("#total-total")).to_have_text("£3.95")
    page.get_by_role("button", name="Pay £3.95 by card").click()
    expect(page.locator("#receipt-balance")).to_contain_text("503 points")
    number = page.locator("#receipt-number").inner_text()
    page.get_by_role("button", name="New sale").click()

    page.get_by_role("button", name="Refund or void a sale").click()
    page.get_by_label("Receipt number").fill("T-NO-SUCH-SALE")
    page.get_by_label("Receipt number").press("Enter")
    expect(page.locator("#returns-error")).to_have_text("No sale was found with that receipt number.")
    page.get_by_label("Receipt number").fill(number)
    page.get_by_label("Receipt number").press("Enter")
    expect(page.locator("#returns-facts")).to_contain_text("£3.95")
    page.get_by_role("button", name="Void sale").click()
    page.get_by_role("dialog", name="Void this sale?").get_by_role("button", name="Void").click()
    expect(page.locator("#returns-message")).to_contain_text("voided")
    expect(page.locator("#returns-message")).to_contain_text("New balance: 500 points.")

    wallet = program.wallet(member["id"])
    assert wallet["points"] == 500
    assert [v["code"]["value"] for v in wallet["vouchers"]] == [code]
    # Nothing is left to refund or void.
    expect(page.locator("#returns-facts")).to_contain_text("Refunded in full")
    expect(page.get_by_role("button", name="Void sale")).to_be_disabled()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Refund or void a sale")).to_be_hidden()


def test_a_payment_whose_answer_is_lost_is_retried_without_charging_twice(till: Till, program: Program) -> None:
    page = till.page
    member = program.member(200)
    lost: list[int] = []

    def lose_the_first_answer(route: Route) -> None:
        if lost:
            route.continue_()
            return
        answer = route.fetch()  # the engine takes the sale...
        lost.append(answer.status)
        route.abort("connectionreset")  # ...and the till never hears back

    page.route("**/v1/checkouts", lose_the_first_answer)
    scan_member(page, member)
    page.get_by_role("button", name="Add Espresso, £2.20").click()
    page.get_by_role("button", name="Add Pain au chocolat, £3.20").click()
    page.get_by_label("Points to spend").fill("40")
    # 540 − 22 (10% of the espresso) − 40 (points) = 478, which earns 4 points.
    expect(page.locator("#total-total")).to_have_text("£4.78")
    page.get_by_role("button", name="Pay £4.78 by card").click()
    expect(page.locator("#pay-error")).to_contain_text("does not know whether the sale went through")
    assert lost == [200]
    # The basket cannot change until the sale is settled; the retry is the very same request.
    assert page.locator("#catalogue").evaluate("node => node.inert")
    page.get_by_role("button", name="Retry payment").click()
    expect(page.locator("#receipt-balance")).to_contain_text("164 points")

    assert len(till.checkouts) == 2
    first, retry = till.checkouts
    assert first["body"] == retry["body"]
    assert first["headers"]["idempotency-key"] == retry["headers"]["idempotency-key"]
    orders = program.ok(program.http.get("/v1/orders", headers=program.admin, params={"user": member["id"]}))
    assert [o["externalId"] for o in orders] == [first["body"]["externalId"]]
    assert program.wallet(member["id"])["points"] == 200 - 40 + 4


def test_an_expired_token_is_renewed_without_the_cashier_noticing(till: Till, program: Program) -> None:
    page = till.page
    member = program.member(10)
    # The stored token stops working (as when it expires or the engine's signing key changes).
    page.evaluate(
        """() => {
            const key = "loyalty.till.token";
            const stored = JSON.parse(sessionStorage.getItem(key));
            sessionStorage.setItem(key, JSON.stringify({ ...stored, token: "no-longer-valid" }));
        }"""
    )
    page.reload()
    expect(page.locator("#till-view")).to_be_visible()  # still signed in after a reload
    scan_member(page, member)
    expect(page.locator("#member-balance")).to_have_text("10 points")
    token = page.evaluate("JSON.parse(sessionStorage.getItem('loyalty.till.token')).token")
    assert token != "no-longer-valid"
    # Signing out forgets the credentials.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_focused()
    assert page.evaluate("sessionStorage.length") == 0
    # A wrong secret is explained, and the till stays signed out.
    page.get_by_label("API key").fill(program.api_key)
    page.get_by_label("Client ID").fill(program.pos_client_id)
    page.get_by_label("Client secret").fill("not-the-secret")
    page.keyboard.press("Enter")
    expect(page.locator("#sign-in-error")).to_have_text(
        "The client ID or secret was not accepted. Check them with your manager and sign in again."
    )
    expect(page.locator("#till-view")).to_be_hidden()
    assert_plain_words(page)


def test_the_till_is_served_outside_the_api_document(program: Program) -> None:
    page = program.http.get("/pos/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert program.http.get("/pos").status_code == 200
    script = program.http.get("/pos/app.js")
    assert (script.status_code, script.headers["content-type"]) == (200, "text/javascript; charset=utf-8")
    catalogue = program.http.get("/pos/catalogue.json").json()
    assert {p["category"] for p in catalogue["products"]} == {c["id"] for c in catalogue["categories"]}
    for missing in ("/pos/nothing.js", "/pos/..%2Fapi%2Fweb.py", "/pos/__init__.py"):
        answer = program.http.get(missing)
        assert answer.status_code == 404, missing
        assert answer.json()["data"]["code"] == "NOT_FOUND"
    paths = program.http.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/pos")]
