"""GET /v1/dashboard (ext): members, points, benefits, orders and refunds over a period, per calendar bucket of the
tenant's time zone. One program is played out day by day with time-machine and every figure is checked — the
totals and the bucket each value lands in, including a moment that is one day in UTC and the day before in New
York."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import time_machine

from tests.api.catalogue import assert_fail, ok
from tests.api.test_orders import core_earn, member_order, order_body, place
from tests.api.test_points_lifecycle import TRIGGER, expiry_criterion, headers_now
from tests.api.test_refunds import refund
from tests.api.test_vouchers import create_reward
from tests.conftest import TenantKit, adjust, create_member

DASHBOARD = "/v1/dashboard"
# New York is on UTC−5 until 9 March 2031: its days start at 05:00Z. 3 March 2031 is a Monday.
MARCH = {day: datetime(2031, 3, day, 5, tzinfo=UTC) for day in range(1, 10)}


def at(day: int, hour: int) -> datetime:
    return datetime(2031, 3, day, hour, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def figures(
    members: tuple[int, int, int],
    points: tuple[int, int, int, int, int, int, int, int],
    benefits: tuple[int, int] = (0, 0),
    orders: tuple[int, int] = (0, 0),
    refunds: tuple[int, int] = (0, 0),
) -> dict[str, Any]:
    """The metrics of a bucket: members (total, new, closed); points (issued, spent, expired, debited, reversed,
    returned, outstanding, pending); benefits (issued, burned); orders and refunds (count, value)."""
    point_names = ("issued", "spent", "expired", "debited", "reversed", "returned", "outstanding", "pending")
    return {
        "members": dict(zip(("total", "new", "closed"), members, strict=True)),
        "points": dict(zip(point_names, points, strict=True)),
        "benefits": dict(zip(("issued", "burned"), benefits, strict=True)),
        "orders": dict(zip(("count", "value"), orders, strict=True)),
        "refunds": dict(zip(("count", "value"), refunds, strict=True)),
    }


async def dashboard(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    return dict(ok(await client.get(DASHBOARD, headers=headers, params=params)))


async def play_out_a_program(client: httpx.AsyncClient, kit: TenantKit) -> dict[str, Any]:
    """Three members, earns, a debit, pending points from an order and their activation, an expiry, a voucher bought
    and burned, two orders and a refund, a closed account — around 3 to 5 March 2031 in New York."""
    # The program, set up now: the clock only matters for what happens to members.
    zone = {"name": "timezone", "value": "America/New_York"}
    ok(await client.post("/v1/settings", headers=kit.admin, json=zone), 201)
    ok(await client.patch("/v1/settings", headers=kit.admin, json={"pendingPeriod": "P2D"}))
    await expiry_criterion(client, kit, "EARN_DATE", "P3D")
    await core_earn(client, kit)
    with time_machine.travel(at(1, 12), tick=False):
        admin = await headers_now(client, kit)
        ada = await create_member(client, admin)
        ok(await adjust(client, admin, ada["id"], 100))  # before the period: expires 4 March 12:00Z

    # 3 March in New York.
    with time_machine.travel(at(3, 12), tick=False):
        admin = await headers_now(client, kit)
        bea = await create_member(client, admin)
        ok(await adjust(client, admin, bea["id"], 50))
        ok(await adjust(client, admin, ada["id"], -30))
    with time_machine.travel(at(3, 13), tick=False):
        # £13.50: 13 points, pending for two days.
        sale = ok(
            await place(client, await headers_now(client, kit, pos=True), member_order(bea, occurredAt=iso(at(3, 13))))
        )
        assert sale["pointsEarned"] == 13
    with time_machine.travel(at(4, 3), tick=False):
        # 4 March 03:00Z is 3 March 22:00 in New York.
        admin = await headers_now(client, kit)
        cyd = await create_member(client, admin)
        ok(await adjust(client, admin, cyd["id"], 20))

    # 4 March in New York: what is left of Ada's first 100 points expires.
    with time_machine.travel(at(4, 14), tick=False):
        assert ok(await client.post(TRIGGER, headers=await headers_now(client, kit)))["pointsExpired"] == 70

    # 5 March in New York.
    with time_machine.travel(at(5, 14), tick=False):
        assert ok(await client.post(TRIGGER, headers=await headers_now(client, kit)))["pointsActivated"] == 13
    with time_machine.travel(at(5, 15), tick=False):
        admin, pos = await headers_now(client, kit), await headers_now(client, kit, pos=True)
        reward = await create_reward(client, admin, price=10)
        bought = ok(
            await client.post(
                "/v1/commands/purchase_reward", headers=pos, json={"rewardId": reward["id"], "beneficiaryId": bea["id"]}
            )
        )
        redeemed = ok(await client.post("/v1/commands/redeem_benefit", headers=pos, json={"benefitId": bought["id"]}))
        burned = ok(
            await client.post("/v1/commands/validate_voucher", headers=pos, json={"code": redeemed["code"]["value"]})
        )
        assert burned["status"] == "BURNED"
    with time_machine.travel(at(5, 16), tick=False):
        pos = await headers_now(client, kit, pos=True)
        # The croissants (£7.50 of £13.50): 7 of the 13 points, taken from the balance since they are active.
        ok(await refund(client, pos, sale["id"], lineItems=[{"sku": "CROISSANT", "quantity": 3}]))
        # A sale made on 4 March (New York) but reported today counts on the day it was made.
        ok(await place(client, pos, order_body(occurredAt=iso(at(4, 20)))))
    with time_machine.travel(at(5, 17), tick=False):
        ok(await client.delete(f"/v1/users/{cyd['id']}", headers=await headers_now(client, kit)))

    # After the period.
    with time_machine.travel(at(7, 12), tick=False):
        ok(await adjust(client, await headers_now(client, kit), bea["id"], 5))
    return {"ada": ada, "bea": bea, "cyd": cyd}


async def test_every_figure_of_a_program_lands_in_its_bucket(client: httpx.AsyncClient, tenant: TenantKit):
    await play_out_a_program(client, tenant)
    with time_machine.travel(at(8, 12), tick=False):
        admin = await headers_now(client, tenant)
        found = await dashboard(client, admin, **{"from": iso(MARCH[3]), "to": iso(MARCH[6]), "interval": "DAY"})

    assert found["period"] == {
        "startsAt": "2031-03-03T05:00:00.000Z",
        "endsAt": "2031-03-06T05:00:00.000Z",
        "interval": "DAY",
        "timeZone": "America/New_York",
        "currency": "GBP",
    }
    assert [(b["startsAt"], b["endsAt"]) for b in found["buckets"]] == [
        (iso(MARCH[3]), iso(MARCH[4])),
        (iso(MARCH[4]), iso(MARCH[5])),
        (iso(MARCH[5]), iso(MARCH[6])),
    ]
    buckets = [{k: v for k, v in b.items() if k not in ("startsAt", "endsAt")} for b in found["buckets"]]
    # Opening: one member with 100 points. 3 March: Bea and (at 22:00 local) Cyd join and earn 50 and 20, Ada is
    # debited 30, Bea's order earns 13 pending points.
    assert buckets[0] == figures((3, 2, 0), (70, 0, 0, 30, 0, 0, 140, 13), orders=(1, 1350))
    # 4 March: the 70 left of Ada's points expire; the sale reported on the 5th was made on the 4th.
    assert buckets[1] == figures((3, 0, 0), (0, 0, 70, 0, 0, 0, 70, 13), orders=(1, 1350))
    # 5 March: the 13 pending points activate, Bea spends 10 on a voucher that is burned, the refund takes back 7,
    # Cyd closes the account (the 20 points stay on the ledger).
    assert buckets[2] == figures((2, 0, 1), (13, 10, 0, 0, 7, 0, 66, 0), benefits=(1, 1), refunds=(1, 750))
    assert found["totals"] == figures(
        (2, 2, 1), (83, 10, 70, 30, 7, 0, 66, 0), benefits=(1, 1), orders=(2, 2700), refunds=(1, 750)
    )

    # The same period in weeks is one (clipped) bucket: the totals.
    with time_machine.travel(at(8, 12), tick=False):
        weekly = await dashboard(client, admin, **{"from": iso(MARCH[3]), "to": iso(MARCH[6]), "interval": "WEEK"})
    assert len(weekly["buckets"]) == 1
    assert {k: v for k, v in weekly["buckets"][0].items() if k not in ("startsAt", "endsAt")} == found["totals"]

    # Up to now, the points outstanding are what the accounts hold (5 more for Bea after the period).
    with time_machine.travel(at(8, 12), tick=False):
        upto_now = await dashboard(client, admin, **{"from": iso(MARCH[3])})
    assert upto_now["period"]["endsAt"] == iso(at(8, 12))
    assert upto_now["totals"]["points"]["outstanding"] == 71
    assert [b["startsAt"] for b in upto_now["buckets"]][-1] == iso(MARCH[8])


async def test_buckets_are_cut_in_the_tenants_time_zone(client: httpx.AsyncClient, tenant: TenantKit):
    await play_out_a_program(client, tenant)
    with time_machine.travel(at(8, 12), tick=False):
        admin = await headers_now(client, tenant)
        in_new_york = await dashboard(client, admin, **{"from": iso(MARCH[3]), "to": iso(MARCH[6])})
        ok(await client.patch("/v1/settings", headers=admin, json={"timezone": "UTC"}))
        in_utc = await dashboard(client, admin, **{"from": iso(at(3, 0)), "to": iso(at(6, 0))})
    # Cyd joined at 03:00Z on 4 March: 3 March in New York, 4 March in UTC.
    assert [b["members"]["new"] for b in in_new_york["buckets"]] == [2, 0, 0]
    assert [b["members"]["new"] for b in in_utc["buckets"]] == [1, 1, 0]
    assert [b["startsAt"] for b in in_utc["buckets"]] == [iso(at(3, 0)), iso(at(4, 0)), iso(at(5, 0))]
    assert in_utc["period"]["timeZone"] == "UTC"


async def test_the_default_period_is_the_last_30_days_by_day(client: httpx.AsyncClient, tenant: TenantKit):
    with time_machine.travel(at(20, 15), tick=False):
        found = await dashboard(client, await headers_now(client, tenant))
    assert (found["period"]["startsAt"], found["period"]["endsAt"]) == (
        iso(at(20, 15) - timedelta(days=30)),
        iso(at(20, 15)),
    )
    assert found["period"]["interval"] == "DAY"
    # Clipped at both ends: part of a day, 29 whole days, part of a day.
    assert len(found["buckets"]) == 31
    assert found["totals"] == figures((0, 0, 0), (0, 0, 0, 0, 0, 0, 0, 0))


async def test_refusals(client: httpx.AsyncClient, tenant: TenantKit):
    two_years = {"from": "2029-01-01T00:00:00Z", "to": "2031-01-01T00:00:00Z"}
    assert_fail(await client.get(DASHBOARD, headers=tenant.admin, params=two_years), 400, "TOO_MANY_BUCKETS")
    weekly = await dashboard(client, tenant.admin, **two_years, interval="WEEK")
    assert len(weekly["buckets"]) == 105
    backwards = {"from": "2031-01-02T00:00:00Z", "to": "2031-01-01T00:00:00Z"}
    assert_fail(await client.get(DASHBOARD, headers=tenant.admin, params=backwards), 400, "INVALID_PERIOD")
    ancient = {"to": "0001-01-05T00:00:00Z"}
    assert_fail(await client.get(DASHBOARD, headers=tenant.admin, params=ancient), 400, "INVALID_PERIOD")
    naive = {"from": "2031-01-01T00:00:00"}
    assert_fail(await client.get(DASHBOARD, headers=tenant.admin, params=naive), 400, "VALIDATION_ERROR")
    assert_fail(await client.get(DASHBOARD, headers=tenant.admin, params={"interval": "HOUR"}), 400, "VALIDATION_ERROR")
    assert_fail(await client.get(DASHBOARD, headers=tenant.pos), 403, "FORBIDDEN")
