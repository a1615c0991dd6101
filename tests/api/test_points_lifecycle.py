"""The points lifecycle (contract §6): lots consumed soonest-expiring first, expiry as EXPIRE entries (by earn date
and by inactivity), predictions, pending points from orders with activation and cancellation by refunds — the
clock moved with time-machine, and the ledger check clean after every step."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import time_machine
from sqlalchemy import func, select

from loyalty.services import points as point_service
from loyalty.storage.database import Database
from loyalty.storage.tables import events, point_entries
from tests.api.test_orders import core_earn, member_order, place
from tests.api.test_refunds import refund
from tests.conftest import TenantKit, adjust, create_member, get_token

TRIGGER = "/v1/points_liability_criteria/trigger_daily_cron"
# A Monday noon far from any clock change, so day arithmetic is plain.
DAY0 = datetime(2031, 3, 3, 12, 0, tzinfo=UTC)


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def headers_now(client: httpx.AsyncClient, kit: TenantKit, *, pos: bool = False) -> dict[str, str]:
    """Headers with a token issued at the (travelled) current time."""
    client_id, secret = (kit.pos_client_id, kit.pos_secret) if pos else (kit.admin_client_id, kit.admin_secret)
    token = await get_token(client, kit.api_key, client_id, secret)
    return {"X-Api-Key": kit.api_key, "Authorization": f"Bearer {token}"}


async def expiry_criterion(client: httpx.AsyncClient, kit: TenantKit, basis: str, modifier: str) -> None:
    body = {
        "name": "Expiry",
        "type": "SIMPLE_EXPIRY",
        "liabilityType": "EXPIRY",
        "config": {"expiryBasedOn": basis, "dateModifier": modifier},
    }
    ok(await client.post("/v1/points_liability_criteria", headers=kit.admin, json=body))


async def mismatches(db: Database, kit: TenantKit) -> list[Any]:
    async def work(tx: Any) -> list[Any]:
        found: list[Any] = []
        async for _, batch in point_service.verify_ledger(tx):
            found.extend(m for m in batch if str(m.tenant_id) == kit.tenant_id)
        return found

    return await db.run(work, write=False)


async def wallet(client: httpx.AsyncClient, headers: dict[str, str], member: dict[str, Any]) -> dict[str, Any]:
    return dict(ok(await client.get(f"/v1/users/{member['id']}/wallet", headers=headers)))


async def entries(client: httpx.AsyncClient, headers: dict[str, str], member: dict[str, Any]) -> list[dict[str, Any]]:
    return list(ok(await client.get(f"/v1/users/{member['id']}/points", headers=headers, params={"limit": 1000})))


async def count_events(db: Database, kit: TenantKit, event_type: str) -> int:
    async def work(tx: Any) -> int:
        query = select(func.count()).where(events.c.tenant_id == uuid.UUID(kit.tenant_id), events.c.type == event_type)
        return int((await tx.execute(query)).scalar_one())

    return await db.run(work, write=False)


async def expire_entries(db: Database, kit: TenantKit) -> int:
    async def work(tx: Any) -> int:
        query = select(func.count()).where(
            point_entries.c.tenant_id == uuid.UUID(kit.tenant_id), point_entries.c.kind == "EXPIRE"
        )
        return int((await tx.execute(query)).scalar_one())

    return await db.run(work, write=False)


# ---- expiry by earn date, FEFO ----


async def test_fefo_golden_case(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    """Earn 100 that expires on day 30 and 100 that expires on day 60, spend 150: the spend empties the first lot,
    so day 31 expires nothing and day 61 expires the 50 left of the second."""
    await expiry_criterion(client, tenant, "EARN_DATE", "P60D")
    member = await create_member(client, tenant.admin)
    with time_machine.travel(DAY0 - timedelta(days=30), tick=False):
        first = ok(await adjust(client, await headers_now(client, tenant), member["id"], 100))
    assert first["expiresAt"] == iso(DAY0 + timedelta(days=30))
    with time_machine.travel(DAY0, tick=False):
        admin = await headers_now(client, tenant)
        second = ok(await adjust(client, admin, member["id"], 100))
        assert second["expiresAt"] == iso(DAY0 + timedelta(days=60))
        ok(await adjust(client, admin, member["id"], -150))
        held = await wallet(client, admin, member)
        assert held["points"] == 50
        assert held["expiringPoints"] == [{"points": 50, "expiresAt": iso(DAY0 + timedelta(days=60))}]
    assert await mismatches(db, tenant) == []

    with time_machine.travel(DAY0 + timedelta(days=31), tick=False):
        admin = await headers_now(client, tenant)
        report = ok(await client.post(TRIGGER, headers=admin))
        assert (report["pointsExpired"], report["membersExpired"]) == (0, 0)
        held = await wallet(client, admin, member)
        assert held["points"] == 50
        assert held["expiringPoints"] == [{"points": 50, "expiresAt": iso(DAY0 + timedelta(days=60))}]
    assert await mismatches(db, tenant) == []
    assert await expire_entries(db, tenant) == 0

    with time_machine.travel(DAY0 + timedelta(days=61), tick=False):
        admin = await headers_now(client, tenant)
        report = ok(await client.post(TRIGGER, headers=admin))
        assert (report["pointsExpired"], report["membersExpired"]) == (50, 1)
        held = await wallet(client, admin, member)
        assert (held["points"], held["expiringPoints"]) == (0, [])
        newest = (await entries(client, admin, member))[0]
        assert (newest["kind"], newest["delta"], newest["balanceAfter"]) == ("EXPIRE", -50, 0)
        # The entry names the lot it emptied: the second earn.
        assert newest["source"] == {"type": "JOB", "id": second["id"]}
        again = ok(await client.post(TRIGGER, headers=admin))
        assert again["pointsExpired"] == 0
    assert await mismatches(db, tenant) == []
    assert await expire_entries(db, tenant) == 1
    assert await count_events(db, tenant, "POINTS_EXPIRED") == 1


async def test_a_debt_is_paid_before_a_credit_becomes_a_lot(client, db: Database, tenant: TenantKit):
    await expiry_criterion(client, tenant, "EARN_DATE", "P30D")
    member = await create_member(client, tenant.admin)
    with time_machine.travel(DAY0, tick=False):
        admin = await headers_now(client, tenant)
        ok(await adjust(client, admin, member["id"], -40))  # BYPASS: a debt of 40
        ok(await adjust(client, admin, member["id"], 100))
        held = await wallet(client, admin, member)
        assert held["points"] == 60
        assert held["expiringPoints"] == [{"points": 60, "expiresAt": iso(DAY0 + timedelta(days=30))}]
    assert await mismatches(db, tenant) == []
    with time_machine.travel(DAY0 + timedelta(days=30), tick=False):
        admin = await headers_now(client, tenant)
        assert ok(await client.post(TRIGGER, headers=admin))["pointsExpired"] == 60
        assert (await wallet(client, admin, member))["points"] == 0
    assert await mismatches(db, tenant) == []


async def test_predictions_per_month(client, db: Database, tenant: TenantKit):
    await expiry_criterion(client, tenant, "EARN_DATE", "P1M")
    member = await create_member(client, tenant.admin)
    with time_machine.travel(datetime(2031, 1, 10, 12, tzinfo=UTC), tick=False):
        ok(await adjust(client, await headers_now(client, tenant), member["id"], 30))
    with time_machine.travel(datetime(2031, 1, 20, 12, tzinfo=UTC), tick=False):
        ok(await adjust(client, await headers_now(client, tenant), member["id"], 20))
    with time_machine.travel(datetime(2031, 2, 5, 12, tzinfo=UTC), tick=False):
        admin = await headers_now(client, tenant)
        ok(await adjust(client, admin, member["id"], 50))
        found = ok(await client.get(f"/v1/users/{member['id']}/wallet/predictions", headers=admin))
        assert found["period"] == "MONTH"
        assert found["expiring"] == [
            {"startsAt": "2031-02-01T00:00:00.000Z", "endsAt": "2031-03-01T00:00:00.000Z", "points": 50},
            {"startsAt": "2031-03-01T00:00:00.000Z", "endsAt": "2031-04-01T00:00:00.000Z", "points": 50},
        ]
        assert found["activating"] == []
        daily = ok(
            await client.get(f"/v1/users/{member['id']}/wallet/predictions", headers=admin, params={"period": "DAY"})
        )
        assert [(p["startsAt"], p["points"]) for p in daily["expiring"]] == [
            ("2031-02-10T00:00:00.000Z", 30),
            ("2031-02-20T00:00:00.000Z", 20),
            ("2031-03-05T00:00:00.000Z", 50),
        ]
        wrong = await client.get(
            f"/v1/users/{member['id']}/wallet/predictions", headers=admin, params={"period": "YEAR"}
        )
        assert wrong.status_code == 400


# ---- expiry by inactivity ----


async def test_last_activity_expires_the_whole_balance_after_the_period_without_activity(
    client, db: Database, tenant: TenantKit
):
    await expiry_criterion(client, tenant, "LAST_ACTIVITY", "P90D")
    member = await create_member(client, tenant.admin)
    with time_machine.travel(DAY0, tick=False):
        ok(await adjust(client, await headers_now(client, tenant), member["id"], 100))
    with time_machine.travel(DAY0 + timedelta(days=60), tick=False):
        admin = await headers_now(client, tenant)
        ok(await adjust(client, admin, member["id"], -10))  # activity: the clock starts again
        held = await wallet(client, admin, member)
        assert held["expiringPoints"] == [{"points": 90, "expiresAt": iso(DAY0 + timedelta(days=150))}]
    with time_machine.travel(DAY0 + timedelta(days=120), tick=False):
        admin = await headers_now(client, tenant)
        assert ok(await client.post(TRIGGER, headers=admin))["pointsExpired"] == 0
    with time_machine.travel(DAY0 + timedelta(days=150), tick=False):
        admin = await headers_now(client, tenant)
        report = ok(await client.post(TRIGGER, headers=admin))
        assert (report["pointsExpired"], report["membersExpired"]) == (90, 1)
        assert ok(await client.post(TRIGGER, headers=admin))["pointsExpired"] == 0
        held = await wallet(client, admin, member)
        assert (held["points"], held["expiringPoints"]) == (0, [])
        newest = (await entries(client, admin, member))[0]
        assert (newest["kind"], newest["delta"]) == ("EXPIRE", -90)
    assert await mismatches(db, tenant) == []
    assert await count_events(db, tenant, "POINTS_EXPIRED") == 1


# ---- pending points ----


async def pending_program(client: httpx.AsyncClient, kit: TenantKit) -> None:
    """A point per pound on orders, pending for 14 days."""
    await core_earn(client, kit)
    ok(await client.patch("/v1/settings", headers=kit.admin, json={"pendingPeriod": "P14D"}))


async def test_pending_points_cancelled_by_a_refund_inside_the_window(client, db: Database, tenant: TenantKit):
    await pending_program(client, tenant)
    member = await create_member(client, tenant.admin)
    with time_machine.travel(DAY0, tick=False):
        pos = await headers_now(client, tenant, pos=True)
        order = ok(await place(client, pos, member_order(member)))  # £13.50: 13 points
        assert order["pointsEarned"] == 13
        held = await wallet(client, pos, member)
        assert (held["points"], held["pendingPoints"]) == (0, 13)
        earn = (await entries(client, pos, member))[0]
        assert (earn["kind"], earn["delta"], earn["pendingDelta"]) == ("EARN", 0, 13)
        # Pending points cannot be spent.
        refused = await adjust(
            client, await headers_now(client, tenant), member["id"], -5, liabilityHandlingPolicy="REJECT_EVENT"
        )
        assert refused.status_code == 422
    with time_machine.travel(DAY0 + timedelta(days=3), tick=False):
        pos = await headers_now(client, tenant, pos=True)
        ok(await refund(client, pos, order["id"]))
        held = await wallet(client, pos, member)
        assert (held["points"], held["pendingPoints"], held["lifetimeEarn"]) == (0, 0, 0)
        reversal = (await entries(client, pos, member))[0]
        assert (reversal["kind"], reversal["delta"], reversal["pendingDelta"]) == ("REVERSAL", 0, -13)
    assert await mismatches(db, tenant) == []
    with time_machine.travel(DAY0 + timedelta(days=15), tick=False):
        report = ok(await client.post(TRIGGER, headers=await headers_now(client, tenant)))
        assert report["pointsActivated"] == 0
    assert await count_events(db, tenant, "POINTS_ACTIVATED") == 0
    assert await mismatches(db, tenant) == []


async def test_pending_points_activate_after_the_window_and_can_be_spent(client, db: Database, tenant: TenantKit):
    await pending_program(client, tenant)
    member = await create_member(client, tenant.admin)
    with time_machine.travel(DAY0, tick=False):
        order = ok(await place(client, await headers_now(client, tenant, pos=True), member_order(member)))
        admin = await headers_now(client, tenant)
        found = ok(await client.get(f"/v1/users/{member['id']}/wallet/predictions", headers=admin))
        assert [p["points"] for p in found["activating"]] == [13]
    with time_machine.travel(DAY0 + timedelta(days=13), tick=False):
        report = ok(await client.post(TRIGGER, headers=await headers_now(client, tenant)))
        assert report["pointsActivated"] == 0
    with time_machine.travel(DAY0 + timedelta(days=14), tick=False):
        admin = await headers_now(client, tenant)
        assert ok(await client.post(TRIGGER, headers=admin))["pointsActivated"] == 13
        assert ok(await client.post(TRIGGER, headers=admin))["pointsActivated"] == 0
        held = await wallet(client, admin, member)
        assert (held["points"], held["pendingPoints"], held["lifetimeEarn"]) == (13, 0, 13)
        activation = (await entries(client, admin, member))[0]
        assert (activation["kind"], activation["delta"], activation["pendingDelta"]) == ("ACTIVATE", 13, -13)
        ok(await adjust(client, admin, member["id"], -13, liabilityHandlingPolicy="REJECT_EVENT"))
        # A refund after activation takes the points back from the balance: here a debt.
        ok(await refund(client, await headers_now(client, tenant, pos=True), order["id"]))
        held = await wallet(client, admin, member)
        assert (held["points"], held["pendingPoints"]) == (-13, 0)
    assert await count_events(db, tenant, "POINTS_ACTIVATED") == 1
    assert await mismatches(db, tenant) == []


async def test_a_partial_refund_cancels_pending_points_first(client, db: Database, tenant: TenantKit):
    await pending_program(client, tenant)
    member = await create_member(client, tenant.admin)
    with time_machine.travel(DAY0, tick=False):
        pos = await headers_now(client, tenant, pos=True)
        ok(await adjust(client, await headers_now(client, tenant), member["id"], 100))
        order = ok(await place(client, pos, member_order(member)))
        # Refund the croissants (£7.50 of £13.50): of the 13 points, 13 × 750 / 1350 = 7.2, so 7 come off the
        # pending points and the balance is untouched.
        ok(await refund(client, pos, order["id"], lineItems=[{"sku": "CROISSANT", "quantity": 3}]))
        held = await wallet(client, pos, member)
        assert (held["points"], held["pendingPoints"]) == (100, 6)
    with time_machine.travel(DAY0 + timedelta(days=14), tick=False):
        admin = await headers_now(client, tenant)
        assert ok(await client.post(TRIGGER, headers=admin))["pointsActivated"] == 6
        held = await wallet(client, admin, member)
        assert (held["points"], held["pendingPoints"]) == (106, 0)
    assert await mismatches(db, tenant) == []
