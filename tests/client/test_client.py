"""The Python client against the real app in-process: the POS surface and the admin configuration, typed errors
with the API's codes, retries that never double anything (a transport that loses answers after the engine
committed), token renewal, 429 with Retry-After, and the offline journal with offline pricing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from loyalty.client import (
    AsyncLoyaltyClient,
    NotFound,
    OfflinePricedBasket,
    OfflineRefused,
    Queued,
    Refused,
    RetryPolicy,
    Unreachable,
)
from loyalty.services import tenants as tenant_service
from loyalty.storage.database import Database
from loyalty.storage.tables import orders, point_entries
from tests.conftest import TenantKit

FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01)
ONE_POINT_PER_POUND = {
    "operation": "PRODUCT",
    "arguments": [{"type": "PAYLOAD_QUERY", "value": "$.totalSpend"}, {"type": "NUMBER", "value": "1"}],
    "roundingDirection": "DOWN",
}


class Switchable(httpx.AsyncBaseTransport):
    """The app behind a transport that can be cut (the engine unreachable) or made to lose the next answers after
    the engine has handled the request (a response lost on the way back)."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.down = False
        self.lose_answers = 0
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.sent.append(request)
        response = await self.inner.handle_async_request(request)
        if self.lose_answers and request.url.path != "/v1/oauth/token":
            self.lose_answers -= 1
            await response.aread()
            raise httpx.ReadError("connection reset after the request was sent", request=request)
        return response


@pytest.fixture
def transport(app: Any) -> Switchable:
    return Switchable(app)


@pytest.fixture
async def pos(transport: Switchable, tenant: TenantKit, tmp_path: Path) -> AsyncIterator[AsyncLoyaltyClient]:
    async with AsyncLoyaltyClient(
        "http://engine.test",
        tenant.api_key,
        tenant.pos_client_id,
        tenant.pos_secret,
        transport=transport,
        retry=FAST,
        journal=tmp_path / "till.journal",
    ) as client:
        yield client


@pytest.fixture
async def admin(transport: Switchable, tenant: TenantKit) -> AsyncIterator[AsyncLoyaltyClient]:
    async with AsyncLoyaltyClient(
        "http://engine.test",
        tenant.api_key,
        tenant.admin_client_id,
        tenant.admin_secret,
        transport=transport,
        retry=FAST,
    ) as client:
        yield client


async def program(admin: AsyncLoyaltyClient) -> dict[str, str]:
    """A small program built through the client's admin surface."""
    await admin.create_event_type({"name": "VISITED_SHOP", "description": "A member walked in."})
    await admin.create_reactor(
        {
            "name": "Core earn",
            "eventType": "ORDER_PLACED",
            "reactions": [{"type": "POINTS", "points": ONE_POINT_PER_POUND}],
        }
    )
    bonus = {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "5"}]}
    await admin.create_reactor(
        {"name": "Visit bonus", "eventType": "VISITED_SHOP", "reactions": [{"type": "POINTS", "points": bonus}]}
    )
    offer = await admin.create_reward(
        {"name": "Pastry 20% off", "type": "GENERIC_OFFER", "price": 0, "purchasable": False}
    )
    await admin.add_discount(offer.id, {"type": "PERCENTAGE", "value": 20, "productSku": "CROISSANT"})
    voucher = await admin.create_reward(
        {
            "name": "£1 off",
            "type": "VOUCHER",
            "price": 100,
            "purchasable": True,
            "codeType": "OTP",
            "code": {"format": "ONE-{code}"},
        }
    )
    await admin.add_discount(voucher.id, {"type": "ABSOLUTE", "value": 100})
    venue = await admin.create_venue({"name": "Store 372", "externalIdentifier": "372"})
    await admin.create_tier({"name": "Gold", "priority": 1, "pointsRequirement": 1000, "calculation": "LIFETIME_EARN"})
    staff = {"properties": {"flags": {"required": ["staff"]}}, "required": ["flags"]}
    criteria = {"criteriaFormat": "JSON_SCHEMA", "criteria": staff, "triggerFrequency": "REACTIVE"}
    await admin.create_audience({"name": "Staff", "isActive": True, "criteriaDefinition": criteria})
    await admin.update_settings({"restoreVouchersOnRefund": True})
    expiry = {"expiryBasedOn": "EARN_DATE", "dateModifier": "P12M"}
    await admin.create_criterion(
        {"name": "A year", "type": "SIMPLE_EXPIRY", "liabilityType": "EXPIRY", "config": expiry}
    )
    return {"offer": offer.id, "voucher": voucher.id, "venue": venue.id}


def sale(member: str, external_id: str | None = None) -> dict[str, Any]:
    lines = [
        {"sku": "LATTE-M", "name": "Latte", "quantity": 2, "unitPrice": 350, "total": 700},
        {"sku": "CROISSANT", "name": "Croissant", "quantity": 1, "unitPrice": 300, "total": 300},
    ]
    return {
        "externalId": external_id or f"T1-{uuid.uuid4().hex[:10]}",
        "submitter": {"accountNumber": member},
        "currency": "GBP",
        "lineItems": lines,
        "totals": {"subtotal": 1000, "discount": 0, "total": 1000},
    }


def basket(member: str, **extra: Any) -> dict[str, Any]:
    return {
        "user": member,
        "currency": "GBP",
        "lineItems": [
            {"sku": "LATTE-M", "quantity": 2, "unitPrice": 350},
            {"sku": "CROISSANT", "category": "BAKERY", "quantity": 1, "unitPrice": 300},
        ],
        **extra,
    }


async def count(db: Database, kit: TenantKit, table: Any, *conditions: Any) -> int:
    query = select(func.count()).select_from(table).where(table.c.tenant_id == uuid.UUID(kit.tenant_id), *conditions)

    async def work(tx: Any) -> int:
        return int((await tx.execute(query)).scalar_one())

    return await db.run(work, write=False)


async def test_a_whole_sale_through_the_client(pos: AsyncLoyaltyClient, admin: AsyncLoyaltyClient):
    ids = await program(admin)
    member = await pos.sign_up(
        {
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": "ada@example.com"},
            "authIdentifier": "idp-ada@example.com",
        }
    )
    assert (await pos.identify(member.account_number)).id == member.id
    await admin.adjust_points(member.id, 500)
    voucher = await pos.purchase(ids["voucher"], member.account_number)
    code = (await pos.redeem(voucher.id)).code
    assert code is not None
    checked = await pos.validate_voucher(code.value, member=member.account_number)
    assert checked.burned_at is None
    offers = await pos.offers(member.account_number)
    assert [o.id for o in offers] == [ids["offer"]]
    quote = await pos.price(basket(member.account_number, voucherCodes=[code.value], pointsToSpend=100))
    assert not isinstance(quote, OfflinePricedBasket)
    # 20% off the croissant (60), £1 off (100), 100 points worth £1 (100).
    assert (quote.totals.subtotal, quote.totals.discount, quote.totals.total) == (1000, 260, 740)
    receipt = await pos.checkout(
        basket(member.account_number, voucherCodes=[code.value], pointsToSpend=100, externalId="T1-1")
    )
    assert (receipt.points_spent, receipt.points_earned) == (100, 7)
    assert (await pos.wallet(member.id)).points == 500 - 100 - 100 + 7
    voided = await pos.void(receipt.id)
    assert voided.voided_at is not None
    placed = await pos.place_order(sale(member.account_number))
    assert not isinstance(placed, Queued)
    refund = await pos.refund(placed.id, "R-1")
    assert refund.points_reversed == 10
    event = await pos.report_event("VISITED_SHOP", member.id)
    assert not isinstance(event, Queued)
    assert [r.points for r in event.reactions] == [5]
    assert (await pos.predictions(member.id)).expiring
    assert (await pos.ledger(member.id))[0].delta == 5


async def test_errors_are_typed_and_carry_the_apis_code(pos: AsyncLoyaltyClient, admin: AsyncLoyaltyClient):
    with pytest.raises(NotFound) as missing:
        await pos.identify("no-such-member")
    assert missing.value.code == "USER_NOT_FOUND"
    assert missing.value.status == 404
    member = await pos.sign_up(
        {
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": "ada2@example.com"},
            "authIdentifier": "idp-ada2@example.com",
        }
    )
    with pytest.raises(Refused) as refused:
        await admin.adjust_points(member.id, -5, liabilityHandlingPolicy="REJECT_EVENT")
    assert refused.value.code == "INSUFFICIENT_POINTS"


async def test_an_order_whose_answers_are_lost_is_placed_and_earned_once(
    pos: AsyncLoyaltyClient, admin: AsyncLoyaltyClient, transport: Switchable, db: Database, tenant: TenantKit
):
    """The same logical order sent three times (the first two answers lost after the engine committed): one
    order, one earn — the retries carry the operation's one Idempotency-Key."""
    await program(admin)
    member = await pos.sign_up(
        {
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": "ada3@example.com"},
            "authIdentifier": "idp-ada3@example.com",
        }
    )
    transport.lose_answers = 2
    placed = await pos.place_order(sale(member.account_number, "T1-LOST"))
    assert not isinstance(placed, Queued)
    assert placed.external_id == "T1-LOST"  # the first attempt's stored answer, replayed byte for byte
    attempts = [r for r in transport.sent if r.url.path == "/v1/orders"]
    assert len(attempts) == 3
    assert len({r.headers["Idempotency-Key"] for r in attempts}) == 1
    assert await count(db, tenant, orders) == 1
    earned = await count(db, tenant, point_entries, point_entries.c.kind == "EARN")
    assert earned == 1
    assert (await pos.wallet(member.id)).points == 10


async def test_an_expired_token_is_renewed(pos: AsyncLoyaltyClient, admin: AsyncLoyaltyClient):
    member = await pos.sign_up(
        {
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": "ada4@example.com"},
            "authIdentifier": "idp-ada4@example.com",
        }
    )
    pos._token.value = "not-a-token-any-more"  # as if it had expired or the signing key had rotated
    assert (await pos.identify(member.id)).id == member.id


async def test_429_is_retried_after_the_advised_wait(pos: AsyncLoyaltyClient, db: Database, tenant: TenantKit):
    member = await pos.sign_up(
        {
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": "ada5@example.com"},
            "authIdentifier": "idp-ada5@example.com",
        }
    )
    await db.run(lambda tx: tenant_service.set_rate_limit(tx, uuid.UUID(tenant.tenant_id), 1000, 1))
    # A bucket of one that refills in a millisecond: requests sent back to back meet 429s and get through on retry.
    results = [await pos.wallet(member.id) for _ in range(5)]
    assert all(r.user.id == member.id for r in results)


async def test_offline_earns_are_journalled_and_replayed_once_in_order(
    pos: AsyncLoyaltyClient, admin: AsyncLoyaltyClient, transport: Switchable, db: Database, tenant: TenantKit
):
    ids = await program(admin)
    member = await pos.sign_up(
        {
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": "ada6@example.com"},
            "authIdentifier": "idp-ada6@example.com",
        }
    )
    await admin.adjust_points(member.id, 300)
    voucher = await pos.purchase(ids["voucher"], member.id)
    code = (await pos.redeem(voucher.id)).code
    assert code is not None
    await pos.offers(member.account_number)  # cached for offline pricing

    transport.down = True
    queued = [await pos.place_order(sale(member.account_number, f"OFF-{n}")) for n in range(3)]
    visit = await pos.report_event("VISITED_SHOP", member.id)
    assert all(isinstance(q, Queued) for q in [*queued, visit])
    with pytest.raises(OfflineRefused):
        await pos.validate_voucher(code.value, burn=True)
    with pytest.raises(OfflineRefused):
        await pos.report_event("REDEEMED_POINTS", member.id, spends_points=True)
    with pytest.raises(OfflineRefused):
        await pos.checkout(basket(member.account_number, externalId="OFF-CHECKOUT"))
    with pytest.raises(Unreachable):
        await pos.wallet(member.id)
    offline = await pos.price(basket(member.account_number, voucherCodes=[code.value], pointsToSpend=50))
    assert isinstance(offline, OfflinePricedBasket)
    assert offline.offline is True
    # The cached offer applies (20% off the croissant); the voucher cannot be checked and no points are spent.
    assert (offline.totals.discount, offline.points_spent) == (60, 0)
    assert [(r.code, r.reason) for r in offline.rejected] == [(code.value, "OFFLINE")]
    assert pos.journal is not None
    assert pos.journal.pending() == 4
    assert await count(db, tenant, orders) == 0

    transport.down = False
    report = await pos.flush()
    assert (report.sent, report.failed, report.pending) == (4, 0, 0)
    assert await count(db, tenant, orders) == 3
    again = await pos.flush()
    assert again.sent == 0
    assert (await pos.wallet(member.id)).points == 300 - 100 + 3 * 10 + 5
    # The journalled orders kept the time they were made at, not the time they were replayed.
    stored = await count(
        db, tenant, orders, orders.c.external_id.like("OFF-%"), orders.c.occurred_at < orders.c.created_at
    )
    assert stored == 3


async def test_the_journal_is_replayed_after_the_next_successful_call(
    pos: AsyncLoyaltyClient, admin: AsyncLoyaltyClient, transport: Switchable, db: Database, tenant: TenantKit
):
    await program(admin)
    member = await pos.sign_up(
        {
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": "ada7@example.com"},
            "authIdentifier": "idp-ada7@example.com",
        }
    )
    transport.down = True
    assert isinstance(await pos.place_order(sale(member.account_number, "AUTO-1")), Queued)
    transport.down = False
    await pos.identify(member.id)  # any success replays what waits
    assert pos.journal is not None
    assert pos.journal.pending() == 0
    assert await count(db, tenant, orders) == 1


async def test_a_refused_replay_is_kept_aside_and_does_not_block_the_rest(
    pos: AsyncLoyaltyClient, admin: AsyncLoyaltyClient, transport: Switchable, db: Database, tenant: TenantKit
):
    await program(admin)
    member = await pos.sign_up(
        {
            "profile": {"givenName": "Ada", "familyName": "Lovelace", "emailAddress": "ada8@example.com"},
            "authIdentifier": "idp-ada8@example.com",
        }
    )
    transport.down = True
    broken = sale(member.account_number, "BAD-1")
    broken["totals"]["total"] = 1  # does not add up: the engine refuses it
    await pos.place_order(broken)
    await pos.place_order(sale(member.account_number, "GOOD-1"))
    transport.down = False
    report = await pos.flush()
    assert (report.sent, report.failed) == (1, 1)
    assert report.errors[0][1] == "ORDER_TOTALS_MISMATCH"
    assert pos.journal is not None
    assert [e.body["externalId"] for e in pos.journal.entries("FAILED")] == ["BAD-1"]
    assert await count(db, tenant, orders) == 1
