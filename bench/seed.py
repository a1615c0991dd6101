"""Seeding the benchmark tenant in-process, through the engine's own code.

The program (event types, reactors, tiers, rewards and discounts: a few dozen objects) is defined through the
engine's API, served in-process (``create_app`` over an ASGI transport), so every body is validated as an
operator's would be. The bulk — members, their points and their vouchers — goes through the service functions the
routes call, many to a transaction (one durable commit per member would dominate the time).

The order keeps it quick without changing the end state: sign-up reactors and voucher rewards first; then the
members (the welcome reactor gives their first points) and their vouchers; then the tiers — creating a tier
reassesses every member at once, in batches, instead of once per sign-up — and the offers, some of which need a
tier. ``loyalty ledger verify`` passes on the result.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench import program
from loyalty.api.app import create_app
from loyalty.api.observability import configure_logging
from loyalty.domain.benefits import Origin
from loyalty.domain.members import Member
from loyalty.services import benefits as benefit_service
from loyalty.services import clients as client_service
from loyalty.services import members as member_service
from loyalty.services import points as point_service
from loyalty.services import tenants as tenant_service
from loyalty.settings import Settings
from loyalty.storage import migrate
from loyalty.storage.database import Database, Tx

SEED_ACTOR = "bench:seed"
BATCH = 250
# Seeding transactions run side by side on PostgreSQL (within the engine's pool of 10).
PARALLEL_POSTGRES = 6
T = TypeVar("T")


@dataclass(frozen=True)
class MemberRef:
    member_id: str
    account_number: str


@dataclass(frozen=True)
class VoucherRef:
    """A redeemed voucher: its code and the account number of the member who holds it."""

    code: str
    account_number: str


@dataclass
class Tenant:
    tenant_id: str
    api_key: str
    admin_client_id: str
    admin_secret: str
    pos_client_id: str
    pos_secret: str
    members: list[MemberRef] = field(default_factory=list)
    vouchers: list[VoucherRef] = field(default_factory=list)
    voucher_reward_ids: list[str] = field(default_factory=list)
    offer_ids: list[str] = field(default_factory=list)
    reactors: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Sizes:
    members: int = 10_000
    vouchers: int = 5_000


def _ok(answer: httpx.Response, *expected: int) -> Any:
    if answer.status_code not in (expected or (200,)):
        raise RuntimeError(
            f"seeding: {answer.request.method} {answer.request.url.path} -> {answer.status_code}: {answer.text[:500]}"
        )
    return answer.json()["data"]


async def _batched(
    db: Database, items: Sequence[T], work: Callable[[Tx, T], Awaitable[Any]], *, parallel: int = 1
) -> list[Any]:
    """Run ``work`` for every item, ``BATCH`` items to a transaction, ``parallel`` transactions at a time (SQLite
    serialises writers, so it gets 1; PostgreSQL runs several side by side). Answers the results in item order."""
    chunks = [items[start : start + BATCH] for start in range(0, len(items), BATCH)]
    results: list[list[Any]] = [[] for _ in chunks]
    gate = asyncio.Semaphore(parallel)

    async def one(index: int) -> None:
        async def unit(tx: Tx) -> list[Any]:
            return [await work(tx, item) for item in chunks[index]]

        async with gate:
            results[index] = await db.run(unit)

    await asyncio.gather(*(one(index) for index in range(len(chunks))))
    return [result for chunk in results for result in chunk]


async def _define_rules(http: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant) -> None:
    """Event types, reactors and the voucher rewards: what sign-ups and vouchers need to exist first."""
    for body in program.EVENT_TYPES:
        _ok(await http.post("/v1/event_types", headers=admin, json=body))
    for body in program.REACTORS:
        _ok(await http.post("/v1/event_reactors", headers=admin, json=body))
    tenant.reactors = len(program.REACTORS)
    tenant.voucher_reward_ids = await _create_rewards(http, admin, program.voucher_rewards())


async def _define_tiers_and_offers(http: httpx.AsyncClient, admin: dict[str, str], tenant: Tenant) -> None:
    """The tiers, then the offers (some of which need a tier). Creating a tier reassesses every member at once, in
    batches, which is far cheaper than reassessing each member as they sign up."""
    tier_ids: dict[str, str] = {}
    for body in program.TIERS:
        tier_ids[body["name"]] = _ok(await http.post("/v1/tiers", headers=admin, json=body))["id"]
    tenant.offer_ids = await _create_rewards(http, admin, program.offers(tier_ids))


async def _create_rewards(
    http: httpx.AsyncClient, admin: dict[str, str], catalogue: list[tuple[dict[str, Any], list[dict[str, Any]]]]
) -> list[str]:
    created = []
    for body, discounts in catalogue:
        reward = _ok(await http.post("/v1/rewards", headers=admin, json=body))
        for discount in discounts:
            _ok(await http.post(f"/v1/rewards/{reward['id']}/discounts", headers=admin, json=discount), 201)
        created.append(str(reward["id"]))
    return created


def _profile(index: int) -> dict[str, Any]:
    return {
        "givenName": f"Member{index}",
        "familyName": "Bench",
        "emailAddress": f"member{index}@bench.example.com",
        "attributes": {"homeStore": f"S{index % 50:03d}", "newsletter": index % 3 == 0},
    }


async def seed(url: str, sizes: Sizes, *, rng: random.Random) -> Tenant:
    """Create the tenant and its program, members, points and vouchers on a migrated database at ``url``."""
    started = time.perf_counter()
    await asyncio.to_thread(migrate.upgrade, url)  # Alembic runs its own event loop
    db = Database(url, sqlite_synchronous="FULL")
    try:

        async def setup(tx: Tx) -> Tenant:
            created = await tenant_service.create_tenant(tx, "bench")
            admin = await client_service.create_client(tx, created.tenant.tenant_id, "admin", "bench admin")
            pos = await client_service.create_client(tx, created.tenant.tenant_id, "pos", "bench till")
            return Tenant(
                tenant_id=str(created.tenant.tenant_id),
                api_key=created.api_key,
                admin_client_id=str(admin.client.client_id),
                admin_secret=admin.client_secret,
                pos_client_id=str(pos.client.client_id),
                pos_secret=pos.client_secret,
            )

        tenant = await db.run(setup)
        tenant_id = uuid.UUID(tenant.tenant_id)
        app = create_app(Settings(database_url=url, rate_limit_per_second=0), database=db)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://engine.seed") as http:
            token = await get_token(http, tenant.api_key, tenant.admin_client_id, tenant.admin_secret)
            admin = {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {token}"}
            await _define_rules(http, admin, tenant)
            tenant.timings["rules_s"] = time.perf_counter() - started

            mark = time.perf_counter()

            async def sign_up(tx: Tx, index: int) -> Member:
                definition = member_service.MemberDefinition(profile=_profile(index), auth_identifier=f"bench-{index}")
                # The welcome reactor gives 1,000 points: enough for the points every checkout spends.
                member = await member_service.create_member(tx, tenant_id, definition, SEED_ACTOR)
                if index % 4 == 0:
                    # A quarter of the members bring a balance from an earlier scheme, which spreads them over the
                    # tiers.
                    await point_service.adjust_points(
                        tx,
                        tenant_id,
                        member,
                        1_000 + rng.randrange(11_000),
                        comment="opening balance",
                        impact=None,
                        policy=None,
                        actor=SEED_ACTOR,
                    )
                return member

            parallel = 1 if db.is_sqlite else PARALLEL_POSTGRES
            members: list[Member] = await _batched(db, range(sizes.members), sign_up, parallel=parallel)
            tenant.members = [MemberRef(str(m.member_id), m.account_number) for m in members]
            tenant.timings["members_s"] = time.perf_counter() - mark

            mark = time.perf_counter()
            tenant.vouchers = await _give_vouchers(db, tenant, members, sizes.vouchers, rng=rng, parallel=parallel)
            tenant.timings["vouchers_s"] = time.perf_counter() - mark

            mark = time.perf_counter()
            await _define_tiers_and_offers(http, admin, tenant)
            tenant.timings["tiers_and_offers_s"] = time.perf_counter() - mark
        tenant.timings["total_s"] = time.perf_counter() - started
        return tenant
    finally:
        await db.dispose()


async def _give_vouchers(
    db: Database, tenant: Tenant, members: Sequence[Member], count: int, *, rng: random.Random, parallel: int
) -> list[VoucherRef]:
    """Give ``count`` vouchers to random members, as a campaign would, and redeem them (their codes are shown)."""
    tenant_id = uuid.UUID(tenant.tenant_id)
    reward_ids = [uuid.UUID(r) for r in tenant.voucher_reward_ids]
    picks = [(members[rng.randrange(len(members))], reward_ids[rng.randrange(len(reward_ids))]) for _ in range(count)]

    async def give(tx: Tx, pick: tuple[Member, uuid.UUID]) -> VoucherRef:
        member, reward_id = pick
        given = await benefit_service.give_reward(
            tx, tenant_id, reward_id, member, origin=Origin.GIVEN, actor=SEED_ACTOR
        )
        redeemed = await benefit_service.redeem_benefit(tx, tenant_id, given, member, actor=SEED_ACTOR)
        assert redeemed.code_value is not None
        return VoucherRef(redeemed.code_value, member.account_number)

    return list(await _batched(db, picks, give, parallel=parallel))


async def mint_vouchers(url: str, tenant: Tenant, count: int, *, rng: random.Random) -> list[VoucherRef]:
    """More vouchers for random members: the supply that checkouts burn. Runs between measurement steps, never
    during one."""
    if count <= 0:
        return []
    db = Database(url, sqlite_synchronous="FULL")
    try:
        tenant_id = uuid.UUID(tenant.tenant_id)
        refs = [tenant.members[rng.randrange(len(tenant.members))] for _ in range(count)]

        async def load(tx: Tx) -> list[Member]:
            return [await member_service.get_member(tx, tenant_id, uuid.UUID(ref.member_id)) for ref in refs]

        members = await db.run(load, write=False)
        parallel = 1 if db.is_sqlite else PARALLEL_POSTGRES
        return await _give_vouchers(db, tenant, members, count, rng=rng, parallel=parallel)
    finally:
        await db.dispose()


async def get_token(http: httpx.AsyncClient, api_key: str, client_id: str, secret: str) -> str:
    answer = await http.post(
        "/v1/oauth/token",
        headers={"X-Api-Key": api_key},
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    if answer.status_code != 200:
        raise RuntimeError(f"token request refused: {answer.status_code} {answer.text[:300]}")
    return str(answer.json()["access_token"])


def tenant_document(tenant: Tenant) -> dict[str, Any]:
    document = dataclasses.asdict(tenant)
    document["members"] = [[m.member_id, m.account_number] for m in tenant.members]
    document["vouchers"] = [[v.code, v.account_number] for v in tenant.vouchers]
    return document


def tenant_from(document: dict[str, Any]) -> Tenant:
    fields = dict(document)
    fields["members"] = [MemberRef(member_id, number) for member_id, number in document["members"]]
    fields["vouchers"] = [VoucherRef(code, number) for code, number in document["vouchers"]]
    return Tenant(**fields)


def main(argv: list[str]) -> None:
    """``python -m bench.seed --url URL --members N --vouchers M --out FILE``: seed a migrated or empty database
    and write what the load needs (credentials, members, vouchers) to FILE as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.seed")
    parser.add_argument("--url", required=True)
    parser.add_argument("--members", type=int, default=Sizes.members)
    parser.add_argument("--vouchers", type=int, default=Sizes.vouchers)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    rng = random.Random(args.seed)  # noqa: S311 - load data, not secrets
    tenant = asyncio.run(seed(args.url, Sizes(args.members, args.vouchers), rng=rng))
    args.out.write_text(json.dumps(tenant_document(tenant)))
    sys.stdout.write(json.dumps(tenant.timings) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
