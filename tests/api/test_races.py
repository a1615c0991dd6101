"""The repeated concurrency suite: every check-then-act of the engine is attacked by fifty requests released at
once, round after round, on SQLite and on PostgreSQL (where each request runs on its own connection).

After every round the exact number of winners, the exact final state (balance, stock, voucher, orders, refunds)
and a clean ledger check for the tenant are asserted. Each test keeps one tenant and sets up a fresh member,
voucher, reward or order per round. ``make soak`` runs a thousand rounds instead of twenty.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from loyalty.services import points as point_service
from loyalty.storage.database import Database
from loyalty.storage.tables import benefits, events, orders, point_accounts, point_entries, refunds
from tests.api.test_caps import criterion
from tests.api.test_checkout import basket
from tests.api.test_orders import core_earn, line, member_order, place
from tests.api.test_refunds import items, placed_for, refund
from tests.api.test_spending_points import redeem as redeem_points
from tests.api.test_spending_points import set_up_redemption
from tests.api.test_vouchers import add_discount, create_reward, purchase, redeem, validate
from tests.conftest import TenantKit, adjust, create_member
from tests.soak import repeats

pytestmark = pytest.mark.concurrency

RACERS = 50
ROUNDS = repeats(ci=20, soak=1000)
REPLAYED = "Idempotent-Replayed"

Request = Callable[[], Awaitable[httpx.Response]]
Outcome = tuple[int, str | None]


# ---- releasing the racers ----


async def released_together(requests: Sequence[Request]) -> list[httpx.Response]:
    """Run every request, parked at one barrier until the last has arrived, then all let go at once."""
    barrier = asyncio.Barrier(len(requests))

    async def one(request: Request) -> httpx.Response:
        await barrier.wait()
        return await request()

    return list(await asyncio.gather(*(one(r) for r in requests)))


async def fifty_times(request: Request) -> list[httpx.Response]:
    return await released_together([request] * RACERS)


def outcome(answer: httpx.Response) -> Outcome:
    """``(200, None)`` for a success, else the status and the error code; a server error has no code, so its
    message stands in (its request id is left out, so that the same failure counts as one)."""
    if answer.status_code == 200:
        return 200, None
    try:
        document = dict(answer.json())
    except (ValueError, TypeError):
        return answer.status_code, answer.text[:300]
    return answer.status_code, str((document.get("data") or {}).get("code") or document.get("message"))


def assert_outcomes(answers: list[httpx.Response], expected: dict[Outcome, int]) -> None:
    found = Counter(outcome(a) for a in answers)
    assert found == {k: v for k, v in expected.items() if v}, found


def data(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def succeeded(answers: Iterable[httpx.Response]) -> list[Any]:
    return [a.json()["data"] for a in answers if a.status_code == 200]


# ---- reading the final state ----


async def assert_ledger_clean(db: Database, kit: TenantKit) -> None:
    async def work(tx: Any) -> list[point_service.LedgerMismatch]:
        found: list[point_service.LedgerMismatch] = []
        async for _, batch in point_service.verify_ledger(tx, tenant_id=uuid.UUID(kit.tenant_id)):
            found.extend(batch)
        return found

    assert await db.run(work, write=False) == []


async def wallet(client: httpx.AsyncClient, kit: TenantKit, member: dict[str, Any]) -> dict[str, Any]:
    return dict(data(await client.get(f"/v1/users/{member['id']}/wallet", headers=kit.admin)))


async def ledger(client: httpx.AsyncClient, kit: TenantKit, member: dict[str, Any]) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/users/{member['id']}/points", headers=kit.admin, params={"limit": 1000})
    return list(data(answer))


async def balances(db: Database, kit: TenantKit) -> dict[str, int]:
    """Every account of the tenant: member id → balance."""

    async def work(tx: Any) -> dict[str, int]:
        query = select(point_accounts.c.member_id, point_accounts.c.balance).where(
            point_accounts.c.tenant_id == uuid.UUID(kit.tenant_id)
        )
        return {str(row.member_id): int(row.balance) for row in await tx.execute(query)}

    return await db.run(work, write=False)


async def count(db: Database, kit: TenantKit, table: Any, **equal: Any) -> int:
    """Rows of ``table`` in the tenant whose columns equal the given values."""

    async def work(tx: Any) -> int:
        condition = table.c.tenant_id == uuid.UUID(kit.tenant_id)
        for column, value in equal.items():
            condition = condition & (table.c[column] == value)
        return int((await tx.execute(select(func.count()).select_from(table).where(condition))).scalar_one())

    return await db.run(work, write=False)


def member_uuid(member: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(member["id"])


# ---- 1. one single-use voucher, fifty tills ----


async def test_fifty_tills_burning_one_voucher_burn_it_once_every_round(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
) -> None:
    price = 10
    reward = await create_reward(client, tenant.admin, price=price)
    member = await create_member(client, tenant.admin)
    data(await adjust(client, tenant.admin, member["id"], price * ROUNDS))

    for done in range(1, ROUNDS + 1):
        benefit = data(await purchase(client, tenant, reward["id"], member["id"]))
        code = data(await redeem(client, tenant, benefit["id"]))["code"]["value"]

        answers = await fifty_times(partial(validate, client, tenant, code))

        assert_outcomes(answers, {(200, None): 1, (409, "VOUCHER_ALREADY_BURNED"): RACERS - 1})
        [burn] = succeeded(answers)
        assert (burn["id"], burn["status"]) == (benefit["id"], "BURNED")
        assert {a.json()["data"]["burnedAt"] for a in answers} == {burn["burnedAt"]}
        stored = data(await client.get(f"/v1/benefits/{benefit['id']}", headers=tenant.admin))
        assert (stored["status"], stored["burnedAt"]) == ("BURNED", burn["burnedAt"])
        assert await count(db, tenant, events, type="BURNED_VOUCHER") == done
        assert (await wallet(client, tenant, member))["points"] == price * (ROUNDS - done)
        await assert_ledger_clean(db, tenant)


# ---- 2. one wallet spent through events and adjustments ----


async def test_fifty_spends_of_one_wallet_take_exactly_what_it_holds(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
) -> None:
    """Every other spend is a REDEEMED_POINTS event (the WLL way: a reactor takes the points with REJECT_EVENT), the
    rest admin adjustments with REJECT_EVENT, all against one wallet at once."""
    cost = 7
    await set_up_redemption(client, tenant)

    for done in range(ROUNDS):
        start = 100 + done % 20
        affordable = start // cost
        member = await create_member(client, tenant.admin)
        data(await adjust(client, tenant.admin, member["id"], start))
        by_event = partial(redeem_points, client, tenant, member, cost)
        by_adjustment = partial(
            adjust, client, tenant.admin, member["id"], -cost, liabilityHandlingPolicy="REJECT_EVENT"
        )

        answers = await released_together([by_event if i % 2 == 0 else by_adjustment for i in range(RACERS)])

        assert_outcomes(answers, {(200, None): affordable, (422, "INSUFFICIENT_POINTS"): RACERS - affordable})
        redeemed = succeeded(answers[0::2])
        for event in redeemed:
            assert [(r["status"], r["points"]) for r in event["reactions"]] == [("APPLIED", -cost)]
        assert {e["delta"] for e in succeeded(answers[1::2])} <= {-cost}
        account = await wallet(client, tenant, member)
        assert (account["points"], account["lifetimeEarn"]) == (start - affordable * cost, start)
        entries = await ledger(client, tenant, member)
        # Each winner saw the balance the one before it left: the spends ran one after the other.
        assert [e["balanceAfter"] for e in entries] == [start - cost * i for i in range(affordable, -1, -1)]
        assert [e["delta"] for e in entries] == [-cost] * affordable + [start]
        # A refused spend stores nothing: no event, no adjustment.
        subject = member_uuid(member)
        assert await count(db, tenant, events, type="REDEEMED_POINTS", subject_id=subject) == len(redeemed)
        assert await count(db, tenant, events, type="POINTS_ADJUSTED", subject_id=subject) == 1 + affordable - len(
            redeemed
        )
        await assert_ledger_clean(db, tenant)


# ---- 3. one wallet spent through checkouts, each sale sent twice ----

SALES = RACERS // 2


async def test_fifty_checkouts_spending_one_wallet_let_exactly_the_affordable_sales_through(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
) -> None:
    """Twenty-five sales paying with points, every other one with a voucher of its own too, each sent twice at once
    (a till retrying): exactly the sales the wallet affords go through, once each (the twin answers the replay), and
    the others are refused whole, their vouchers left usable."""
    cost = 70
    reward = await create_reward(client, tenant.admin, price=0, redeemOnPurchase=True)
    await add_discount(client, tenant.admin, reward["id"], type="ABSOLUTE", value=100)

    for done in range(ROUNDS):
        start = 300 + 10 * (done % 20)
        affordable = start // cost
        member = await create_member(client, tenant.admin)
        data(await adjust(client, tenant.admin, member["id"], start))
        codes = [
            data(await purchase(client, tenant, reward["id"], member["id"]))["code"]["value"]
            for _ in range(0, SALES, 2)
        ]
        sales = [
            {
                **basket(member, voucherCodes=[codes[i // 2]] if i % 2 == 0 else [], pointsToSpend=cost),
                "externalId": f"TILL-{uuid.uuid4().hex}",
            }
            for i in range(SALES)
        ]

        answers = await released_together(
            [partial(client.post, "/v1/checkouts", headers=tenant.pos, json=sale) for sale in sales for _ in range(2)]
        )

        assert_outcomes(answers, {(200, None): 2 * affordable, (422, "INSUFFICIENT_POINTS"): 2 * (SALES - affordable)})
        receipts = succeeded(answers)
        fresh = {r["externalId"]: r for r in receipts if not r["replayed"]}
        assert len(fresh) == affordable
        # Each replay is its twin's receipt (but for the balance, which a replay shows as it is now).
        assert sorted(r["externalId"] for r in receipts if r["replayed"]) == sorted(fresh)
        for receipt in receipts:
            twin = fresh[receipt["externalId"]]
            assert {k: v for k, v in receipt.items() if k not in {"replayed", "balance"}} == {
                k: v for k, v in twin.items() if k not in {"replayed", "balance"}
            }
            vouchers = [d["amount"] for d in receipt["appliedDiscounts"] if d["source"] == "VOUCHER"]
            assert (receipt["pointsSpent"], receipt["pointsValue"]) == (cost, cost)
            assert receipt["totals"]["total"] == 1000 - cost - sum(vouchers)
        assert sorted(r["balance"] for r in fresh.values()) == [start - cost * i for i in range(affordable, 0, -1)]
        account = await wallet(client, tenant, member)
        assert account["points"] == start - affordable * cost
        burned = {d["code"] for r in fresh.values() for d in r["appliedDiscounts"] if d["source"] == "VOUCHER"}
        assert {v["code"]["value"] for v in account["vouchers"]} == set(codes) - burned
        # A refused checkout leaves no order and no burn behind.
        assert await count(db, tenant, orders, member_id=member_uuid(member)) == affordable
        assert await count(db, tenant, events, type="BURNED_VOUCHER", subject_id=member_uuid(member)) == len(burned)
        assert len(await ledger(client, tenant, member)) == 1 + affordable
        await assert_ledger_clean(db, tenant)


# ---- 4. a reward with limited stock ----


async def test_fifty_members_buying_a_reward_in_short_supply_get_exactly_the_stock(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
) -> None:
    price = 10
    buyers = [await create_member(client, tenant.admin) for _ in range(RACERS)]
    for buyer in buyers:
        data(await adjust(client, tenant.admin, buyer["id"], price * ROUNDS))
    expected = {b["id"]: price * ROUNDS for b in buyers}

    for done in range(ROUNDS):
        stock = 1 + done % 10
        reward = await create_reward(client, tenant.admin, price=price, stockCapacity=stock)

        answers = await released_together([partial(purchase, client, tenant, reward["id"], b["id"]) for b in buyers])

        assert_outcomes(answers, {(200, None): stock, (422, "OUT_OF_STOCK"): RACERS - stock})
        owners = [b["owner"]["id"] for b in succeeded(answers)]
        assert len(set(owners)) == stock
        stored = data(await client.get(f"/v1/rewards/{reward['id']}", headers=tenant.admin))
        assert stored["stockConsumed"] == stock
        assert await count(db, tenant, benefits, reward_id=uuid.UUID(reward["id"])) == stock
        for owner in owners:
            expected[owner] -= price
        assert await balances(db, tenant) == expected
        await assert_ledger_clean(db, tenant)


# ---- 5. reactor activation limits ----

CUP_BOUGHT = "CUP_BOUGHT"
PLUS_ONE = {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "1"}]}
AT_LEAST_TEN = {"required": ["amount"], "properties": {"amount": {"minimum": 10}}}
FAILING = 10  # events of each burst that fail the constraint: they must not use up an activation
MEMBERS = 5


def limits(done: int) -> dict[str, int]:
    """Each round's limits: GLOBAL and TENANT below the 40 events that pass the constraint, SUBJECT below the 8 of
    them each member gets."""
    return {"GLOBAL": 5 + done % 30, "TENANT": 3 + (7 * done) % 35, "SUBJECT": 3 + done % 5}


async def test_fifty_events_against_activation_limits_activate_exactly_each_limit(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
) -> None:
    """Three limited reactors on one event type, one per activation context, race on the same fifty events."""
    schema = {"type": "object", "properties": {"amount": {"type": "number"}}}
    data(await client.post("/v1/event_types", headers=tenant.admin, json={"name": CUP_BOUGHT, "schema": schema}))
    members = [await create_member(client, tenant.admin) for _ in range(MEMBERS)]
    expected = {m["id"]: 0 for m in members}

    async def report(member: dict[str, Any], amount: int) -> httpx.Response:
        body = {"type": CUP_BOUGHT, "subject": member["id"], "payload": {"amount": amount}}
        return await client.post("/v1/events", headers=tenant.pos, json=body)

    for done in range(ROUNDS):
        limit = limits(done)
        reactors: dict[str, str] = {}
        for context, maximum in limit.items():
            body = {
                "name": f"{context} {done}",
                "eventType": CUP_BOUGHT,
                "constraint": AT_LEAST_TEN,
                "maxActivations": maximum,
                "activationContext": context,
                "reactions": [{"type": "POINTS", "points": PLUS_ONE}],
            }
            reactors[data(await client.post("/v1/event_reactors", headers=tenant.admin, json=body))["id"]] = context
        bursts = [partial(report, members[i % MEMBERS], 3 if i < FAILING else 25) for i in range(RACERS)]

        answers = await released_together(bursts)

        assert_outcomes(answers, {(200, None): RACERS})
        outcomes: dict[str, Counter[tuple[str, str | None, int | None]]] = {c: Counter() for c in limit}
        applied: dict[str, Counter[str]] = {c: Counter() for c in limit}
        for event in succeeded(answers):
            assert sorted(r["reactorId"] for r in event["reactions"]) == sorted(reactors)
            for reaction in event["reactions"]:
                context = reactors[reaction["reactorId"]]
                outcomes[context][reaction["status"], reaction["reason"], reaction["points"]] += 1
                if reaction["status"] == "APPLIED":
                    applied[context][event["subject"]] += 1
        for context, maximum in limit.items():
            activations = maximum * MEMBERS if context == "SUBJECT" else maximum
            assert outcomes[context] == {
                ("APPLIED", None, 1): activations,
                ("SKIPPED", "ACTIVATION_LIMIT_REACHED", None): RACERS - FAILING - activations,
                ("SKIPPED", "CONDITION_NOT_MET", None): FAILING,
            }, context
        assert applied["SUBJECT"] == {m["id"]: limit["SUBJECT"] for m in members}
        for gained in applied.values():
            for member_id, points in gained.items():
                expected[member_id] += points
        assert await balances(db, tenant) == expected
        await assert_ledger_clean(db, tenant)
        # The next round's reactors are the only ones live.
        for reactor_id in reactors:
            data(await client.delete(f"/v1/event_reactors/{reactor_id}", headers=tenant.admin))


# ---- 6. one Idempotency-Key, fifty times ----


async def test_fifty_requests_with_one_idempotency_key_have_one_effect(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit, backend: str
) -> None:
    member = await create_member(client, tenant.admin)
    in_use = (409, "IDEMPOTENCY_KEY_IN_USE")

    for done in range(1, ROUNDS + 1):
        headers = {**tenant.admin, "Idempotency-Key": f"race-{uuid.uuid4().hex}"}

        answers = await fifty_times(partial(adjust, client, headers, member["id"], 10, comment="once only"))

        # One request runs; every other one waits for it and replays its answer, or, on PostgreSQL after waiting
        # five seconds, is told the key is still in use. SQLite serialises writers, so there every one replays.
        waited_too_long = sum(outcome(a) == in_use for a in answers)
        assert_outcomes(answers, {(200, None): RACERS - waited_too_long, in_use: waited_too_long})
        if backend == "sqlite":
            assert waited_too_long == 0
        [ran] = [a for a in answers if a.status_code == 200 and REPLAYED not in a.headers]
        replays = [a for a in answers if a.status_code == 200 and REPLAYED in a.headers]
        assert len(replays) == RACERS - 1 - waited_too_long
        # Replays are the first answer, byte for byte.
        assert {(a.headers[REPLAYED], a.headers["content-type"], a.content) for a in replays} <= {
            ("true", ran.headers["content-type"], ran.content)
        }
        entries = await ledger(client, tenant, member)
        assert len(entries) == done
        assert entries[0]["id"] == ran.json()["data"]["id"]
        assert (await wallet(client, tenant, member))["points"] == 10 * done
        assert await count(db, tenant, events, type="POINTS_ADJUSTED") == done
        await assert_ledger_clean(db, tenant)


# ---- 7. one order externalId, fifty times ----


def without_replayed(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "replayed"}


async def test_fifty_posts_of_one_sale_make_one_order_and_one_earn(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
) -> None:
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)

    for done in range(1, ROUNDS + 1):
        body = member_order(member)

        answers = await fifty_times(partial(place, client, tenant.pos, body))

        assert_outcomes(answers, {(200, None): RACERS})
        placed = succeeded(answers)
        assert Counter(p["replayed"] for p in placed) == {False: 1, True: RACERS - 1}
        first = next(p for p in placed if not p["replayed"])
        assert (first["externalId"], first["pointsEarned"]) == (body["externalId"], 13)
        assert all(without_replayed(p) == without_replayed(first) for p in placed)
        assert await count(db, tenant, orders) == done
        assert await count(db, tenant, events, type="ORDER_PLACED") == done
        entries = await ledger(client, tenant, member)
        assert [e["delta"] for e in entries] == [13] * done
        assert entries[0]["source"] == {"type": "EVENT", "id": first["event"]["id"]}
        assert (await wallet(client, tenant, member))["points"] == 13 * done
        await assert_ledger_clean(db, tenant)


# ---- 8. one refund externalId, fifty times ----


async def test_fifty_posts_of_one_refund_make_one_refund_and_one_reversal(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
) -> None:
    await core_earn(client, tenant)
    member = await create_member(client, tenant.admin)

    for done in range(1, ROUNDS + 1):
        # Five mugs at 333: 1665 → 16 points; two of them back: 666 → floor(16 × 666 / 1665) = 6 points reversed.
        order = await placed_for(client, tenant, member, [line("MUG", 5, 333)])
        assert order["pointsEarned"] == 16
        external_id = f"REF-{uuid.uuid4().hex}"

        answers = await fifty_times(
            partial(refund, client, tenant.pos, order["id"], external_id, lineItems=items(("MUG", 2)))
        )

        assert_outcomes(answers, {(200, None): RACERS})
        answered = succeeded(answers)
        assert Counter(r["replayed"] for r in answered) == {False: 1, True: RACERS - 1}
        first = next(r for r in answered if not r["replayed"])
        assert (first["externalId"], first["value"], first["pointsReversed"]) == (external_id, 666, 6)
        assert all(without_replayed(r) == without_replayed(first) for r in answered)
        stored = data(await client.get(f"/v1/orders/{order['id']}", headers=tenant.pos))
        assert (stored["status"], stored["refundedValue"], stored["pointsReversed"]) == ("PARTIALLY_REFUNDED", 666, 6)
        assert [item["refundedQuantity"] for item in stored["lineItems"]] == [2]
        assert [r["id"] for r in stored["refunds"]] == [first["id"]]
        assert await count(db, tenant, refunds) == done
        assert await count(db, tenant, events, type="ORDER_REFUNDED") == done
        reversals = await count(db, tenant, point_entries, kind="REVERSAL", member_id=member_uuid(member))
        assert reversals == done
        account = await wallet(client, tenant, member)
        assert (account["points"], account["lifetimeEarn"]) == (10 * done, 10 * done)
        await assert_ledger_clean(db, tenant)


# ---- 9. caps ----


def week_starting_in_a_few_days() -> str:
    """A start of week at least two days away, so a round never straddles the start of a new week."""
    return (datetime.now(UTC) + timedelta(days=3)).strftime("%a").upper()


async def test_fifty_earns_and_spends_never_pass_the_earn_and_spend_caps(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
) -> None:
    """Twenty-five earns under a weekly earn cap and twenty-five spends under a daily spend cap, interleaved against
    one member at once: the earns are cut exactly at the cap, and exactly the spends that fit the cap go through."""
    earn_cap, spend_cap, earn, start = 1000, 500, 70, 2000
    weekly = {
        "intervalType": "CALENDAR_WEEK",
        "arg": {"startOfWeek": week_starting_in_a_few_days()},
        "maximumPoints": earn_cap,
    }
    await criterion(client, tenant, "MAXIMUM_POINTS_EARN_CAP", "EARNING_CAP", weekly)
    daily = {"intervalType": "RUNNING_DAYS", "arg": {"n": 1}, "maximumPoints": spend_cap}
    await criterion(client, tenant, "MAXIMUM_POINTS_SPEND_CAP", "SPENDING_CAP", daily)
    earns = spends = RACERS // 2
    # 14 earns fit whole, the 15th is cut to the 20 left, and the rest give nothing: the excess is forfeited.
    whole, rest = divmod(earn_cap, earn)
    cut = [earn] * whole + [rest] + [0] * (earns - whole - 1)

    for done in range(ROUNDS):
        cost = 21 + done % 14
        allowed = spend_cap // cost
        member = await create_member(client, tenant.admin)
        # Points that are not an earn (impact NONE), so the spends are never short of points and the earn cap
        # starts empty.
        data(await adjust(client, tenant.admin, member["id"], start, impactType="NONE"))
        by_earn = partial(adjust, client, tenant.admin, member["id"], earn)
        by_spend = partial(adjust, client, tenant.admin, member["id"], -cost, liabilityHandlingPolicy="REJECT_EVENT")

        answers = await released_together([by_earn if i % 2 == 0 else by_spend for i in range(RACERS)])

        assert_outcomes(answers, {(200, None): earns + allowed, (422, "SPEND_CAP_EXCEEDED"): spends - allowed})
        granted = [data(a) for a in answers[0::2]]
        assert sorted((e["delta"] for e in granted), reverse=True) == cut
        assert all(e["delta"] + e["forfeited"] == earn for e in granted)
        assert {e["delta"] for e in succeeded(answers[1::2])} == {-cost}
        account = await wallet(client, tenant, member)
        assert (account["points"], account["lifetimeEarn"]) == (start + earn_cap - allowed * cost, earn_cap)
        assert len(await ledger(client, tenant, member)) == 1 + earns + allowed
        await assert_ledger_clean(db, tenant)
