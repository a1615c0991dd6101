"""The database ceiling: the least database work each operation needs, done straight with the engine's drivers
(asyncpg, aiosqlite) — no ORM, no web framework, no engine rules — at the same concurrency as the HTTP load.

It runs on a scratch database of its own (a fresh SQLite file in WAL mode with ``synchronous=FULL`` and
``BEGIN IMMEDIATE`` writers, or a fresh PostgreSQL database), shaped like the engine's data: 10,000 members with
their accounts and ledger, 50 rewards with discounts, vouchers. Like the engine it runs in two worker processes,
each with a pool of connections; each operation's transactions are the ones a request needs:

- identify: the member by account number;
- wallet: the member, the account, the unburned vouchers with their rewards (one read transaction);
- offers: the member's tier standing and the offers with their discounts (one read transaction);
- validate: the voucher with its reward, then a conditional update of its validation time (one write transaction);
- event / order: insert the event (or order), credit the account, insert the ledger entry (one write transaction);
- price: the member, the offers, the voucher (one read transaction);
- checkout: debit and credit the account, burn the voucher, insert the order and two ledger entries (one write
  transaction).

Run as ``python -m bench.dbceiling worker ...`` by the harness; :func:`measure` starts the workers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import sqlite3
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from bench.servers import Processes, asyncpg_dsn, child_env, python

WORKER_PROCESSES = 2
POOL_PER_PROCESS = 10  # the engine's pool size per process
TENANT = uuid.UUID("00000000-0000-4000-8000-00000000beef")

_TABLES = """
CREATE TABLE members (tenant_id {id} NOT NULL, member_id {id} PRIMARY KEY, account_number TEXT NOT NULL,
    auth_identifier TEXT, profile {json} NOT NULL, created_at {ts} NOT NULL, UNIQUE (tenant_id, account_number));
CREATE TABLE accounts (tenant_id {id} NOT NULL, member_id {id} PRIMARY KEY, balance BIGINT NOT NULL,
    lifetime BIGINT NOT NULL, updated_at {ts} NOT NULL);
CREATE TABLE rewards (tenant_id {id} NOT NULL, reward_id {id} PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL,
    priority INTEGER NOT NULL, tier_priority INTEGER, document {json} NOT NULL);
CREATE TABLE discounts (tenant_id {id} NOT NULL, discount_id {id} PRIMARY KEY, reward_id {id} NOT NULL,
    type TEXT NOT NULL, value TEXT NOT NULL, product_sku TEXT);
CREATE INDEX discounts_reward ON discounts (reward_id);
CREATE TABLE vouchers (tenant_id {id} NOT NULL, voucher_id {id} PRIMARY KEY, member_id {id} NOT NULL,
    reward_id {id} NOT NULL, code TEXT NOT NULL, validated_at {ts}, burned_at {ts}, UNIQUE (tenant_id, code));
CREATE INDEX vouchers_member ON vouchers (tenant_id, member_id);
CREATE TABLE ledger (tenant_id {id} NOT NULL, entry_id {id} PRIMARY KEY, member_id {id} NOT NULL,
    delta BIGINT NOT NULL, balance_after BIGINT NOT NULL, source_id {id} NOT NULL, created_at {ts} NOT NULL);
CREATE INDEX ledger_member ON ledger (tenant_id, member_id, created_at);
CREATE TABLE orders (tenant_id {id} NOT NULL, order_id {id} PRIMARY KEY, external_id TEXT NOT NULL,
    member_id {id}, total BIGINT NOT NULL, document {json} NOT NULL, created_at {ts} NOT NULL,
    UNIQUE (tenant_id, external_id));
CREATE TABLE events (tenant_id {id} NOT NULL, event_id {id} PRIMARY KEY, type TEXT NOT NULL, member_id {id},
    payload {json} NOT NULL, created_at {ts} NOT NULL);
CREATE INDEX events_member ON events (tenant_id, member_id, created_at);
"""

# Which database operations make up each scenario's operation (one per HTTP request of the scenario).
SCENARIO_OPS: dict[str, tuple[str, ...]] = {
    "lookup_wallet": ("identify", "wallet"),
    "offers": ("offers",),
    "validate_voucher": ("validate",),
    "event": ("event",),
    "order": ("order",),
    "checkout": ("checkout",),
    "pos_mix": ("identify", "wallet", "offers", "price", "checkout"),
}

_PLACEHOLDER = re.compile(r"\?")


class Store:
    """One dialect's connections, placeholders and value types."""

    def __init__(self, dialect: str, target: str) -> None:
        self.dialect = dialect
        self.target = target
        self.pg_pool: asyncpg.Pool | None = None
        self.sqlite_pool: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def sql(self, statement: str) -> str:
        if self.is_sqlite:
            return statement
        counter = iter(range(1, 1000))
        return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", statement)

    def ident(self, value: uuid.UUID) -> Any:
        return value.hex if self.is_sqlite else value

    def moment(self) -> Any:
        now = datetime.now(UTC)
        return now.replace(tzinfo=None).isoformat(sep=" ") if self.is_sqlite else now

    async def open(self, size: int) -> None:
        if self.is_sqlite:
            for _ in range(size):
                self.sqlite_pool.put_nowait(await _sqlite_connection(self.target))
        else:
            self.pg_pool = await asyncpg.create_pool(asyncpg_dsn(self.target), min_size=size, max_size=size)

    async def close(self) -> None:
        if self.pg_pool is not None:
            await self.pg_pool.close()
        while not self.sqlite_pool.empty():
            await self.sqlite_pool.get_nowait().close()

    @contextlib.asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[Tx]:
        if self.is_sqlite:
            connection = await self.sqlite_pool.get()
            try:
                await connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield Tx(self, connection)
                except BaseException:
                    await connection.execute("ROLLBACK")
                    raise
                await connection.execute("COMMIT")
            finally:
                self.sqlite_pool.put_nowait(connection)
        else:
            assert self.pg_pool is not None
            async with self.pg_pool.acquire() as connection, connection.transaction(readonly=not write):
                yield Tx(self, connection)


class Tx:
    def __init__(self, store: Store, connection: Any) -> None:
        self.store = store
        self.connection = connection

    async def rows(self, statement: str, *args: Any) -> list[Any]:
        if self.store.is_sqlite:
            async with self.connection.execute(statement, args) as cursor:
                return list(await cursor.fetchall())
        return list(await self.connection.fetch(self.store.sql(statement), *args))

    async def row(self, statement: str, *args: Any) -> Any:
        found = await self.rows(statement, *args)
        return found[0] if found else None

    async def run(self, statement: str, *args: Any) -> None:
        if self.store.is_sqlite:
            await self.connection.execute(statement, args)
        else:
            await self.connection.execute(self.store.sql(statement), *args)


async def _sqlite_connection(path: str) -> aiosqlite.Connection:
    connection = await aiosqlite.connect(path, timeout=30, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=10000", "foreign_keys=ON"):
        await connection.execute(f"PRAGMA {pragma}")
    return connection


# ---- the scratch database ----


async def prepare(dialect: str, target: str, *, members: int, vouchers: int, seed: int = 7) -> None:
    """Create the schema and load data shaped like the benchmark tenant's."""
    rng = random.Random(seed)  # noqa: S311 - load data, not secrets
    store = Store(dialect, target)
    types = (
        {"id": "TEXT", "json": "TEXT", "ts": "TEXT"}
        if store.is_sqlite
        else {"id": "uuid", "json": "jsonb", "ts": "timestamptz"}
    )
    statements = [s.strip() for s in _TABLES.format(**types).split(";") if s.strip()]
    tenant = store.ident(TENANT)
    now = store.moment()
    member_rows = []
    for index in range(members):
        member_id = store.ident(uuid.uuid4())
        profile = json.dumps({"givenName": f"Member{index}", "familyName": "Bench", "attributes": {"n": index}})
        member_rows.append((tenant, member_id, str(1_000_000 + index), f"bench-{index}", profile, now))
    account_rows = [
        (tenant, row[1], 1000 + rng.randrange(11_000), 1000 + rng.randrange(11_000), now) for row in member_rows
    ]
    ledger_rows = [
        (tenant, store.ident(uuid.uuid4()), row[1], row[2], row[2], store.ident(uuid.uuid4()), now)
        for row in account_rows
    ]
    reward_rows, discount_rows = [], []
    for index in range(50):
        reward_id = store.ident(uuid.uuid4())
        kind = "GENERIC_OFFER" if index < 20 else "VOUCHER"
        document = json.dumps(
            {
                "name": f"Reward {index}",
                "description": "A benchmark reward. " * 4,
                "details": {"en": {"terms": "One per basket. " * 3}},
            }
        )
        tier = (2 if index % 8 == 3 else 3) if kind == "GENERIC_OFFER" and index % 4 == 3 else None
        reward_rows.append((tenant, reward_id, kind, f"Reward {index}", index % 5, tier, document))
        for _ in range(2 if index % 3 == 2 else 1):
            discount_rows.append((tenant, store.ident(uuid.uuid4()), reward_id, "PERCENTAGE", "5", "HOT-DRINKS"))
    voucher_rewards = [row[1] for row in reward_rows if row[2] == "VOUCHER"]
    voucher_rows = [
        (
            tenant,
            store.ident(uuid.uuid4()),
            member_rows[rng.randrange(members)][1],
            rng.choice(voucher_rewards),
            f"CEIL-{index:09d}",
        )
        for index in range(vouchers)
    ]
    loads: list[tuple[str, list[tuple[Any, ...]]]] = [
        ("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?)", member_rows),
        ("INSERT INTO accounts VALUES (?, ?, ?, ?, ?)", account_rows),
        ("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?)", ledger_rows),
        ("INSERT INTO rewards VALUES (?, ?, ?, ?, ?, ?, ?)", reward_rows),
        ("INSERT INTO discounts VALUES (?, ?, ?, ?, ?, ?)", discount_rows),
        (
            "INSERT INTO vouchers (tenant_id, voucher_id, member_id, reward_id, code) VALUES (?, ?, ?, ?, ?)",
            voucher_rows,
        ),
    ]
    if store.is_sqlite:
        with contextlib.closing(sqlite3.connect(target)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            for statement in statements:
                connection.execute(statement)
            for statement, rows in loads:
                connection.executemany(statement, rows)
            connection.commit()
    else:
        connection = await asyncpg.connect(asyncpg_dsn(target))
        try:
            for statement in statements:
                await connection.execute(statement)
            for statement, rows in loads:
                await connection.executemany(store.sql(statement), rows)
            await connection.execute("VACUUM ANALYZE")
        finally:
            await connection.close()


# ---- the operations ----

OFFERS = (
    "SELECT r.reward_id, r.name, r.document, d.type, d.value, d.product_sku FROM rewards r"
    " LEFT JOIN discounts d ON d.reward_id = r.reward_id WHERE r.tenant_id = ? AND r.type = 'GENERIC_OFFER'"
    " AND (r.tier_priority IS NULL OR r.tier_priority <= ?) ORDER BY r.priority DESC"
)
MEMBER_BY_NUMBER = (
    "SELECT member_id, account_number, auth_identifier, profile, created_at FROM members"
    " WHERE tenant_id = ? AND account_number = ?"
)
VOUCHER_BY_CODE = (
    "SELECT v.voucher_id, v.member_id, v.burned_at, r.document FROM vouchers v"
    " JOIN rewards r ON r.reward_id = v.reward_id WHERE v.tenant_id = ? AND v.code = ?"
)


class Operations:
    def __init__(self, store: Store, members: Sequence[tuple[Any, str]], codes: Sequence[str], tag: str) -> None:
        self.store = store
        self.members = members
        self.codes = codes
        self.tenant = store.ident(TENANT)
        self.rng = random.Random()  # noqa: S311 - load data, not secrets
        self.tag = tag
        self.counter = 0

    def _member(self) -> tuple[Any, str]:
        return self.members[self.rng.randrange(len(self.members))]

    def _code(self) -> str:
        return self.codes[self.rng.randrange(len(self.codes))]

    def _external_id(self) -> str:
        self.counter += 1
        return f"{self.tag}-{self.counter}"

    async def identify(self) -> None:
        async with self.store.transaction(write=False) as tx:
            await tx.row(MEMBER_BY_NUMBER, self.tenant, self._member()[1])

    async def wallet(self) -> None:
        member_id, _number = self._member()
        async with self.store.transaction(write=False) as tx:
            await tx.row("SELECT * FROM members WHERE tenant_id = ? AND member_id = ?", self.tenant, member_id)
            await tx.row(
                "SELECT balance, lifetime FROM accounts WHERE tenant_id = ? AND member_id = ?", self.tenant, member_id
            )
            await tx.rows(
                "SELECT v.voucher_id, v.code, v.validated_at, r.name, r.document FROM vouchers v"
                " JOIN rewards r ON r.reward_id = v.reward_id"
                " WHERE v.tenant_id = ? AND v.member_id = ? AND v.burned_at IS NULL",
                self.tenant,
                member_id,
            )

    async def offers(self) -> None:
        member_id, _number = self._member()
        async with self.store.transaction(write=False) as tx:
            account = await tx.row(
                "SELECT lifetime FROM accounts WHERE tenant_id = ? AND member_id = ?", self.tenant, member_id
            )
            await tx.rows(OFFERS, self.tenant, 3 if account and account[0] >= 8000 else 2)

    async def price(self) -> None:
        async with self.store.transaction(write=False) as tx:
            await tx.row(MEMBER_BY_NUMBER, self.tenant, self._member()[1])
            await tx.rows(OFFERS, self.tenant, 2)
            await tx.row(VOUCHER_BY_CODE, self.tenant, self._code())

    async def validate(self) -> None:
        async with self.store.transaction(write=True) as tx:
            found = await tx.row(VOUCHER_BY_CODE, self.tenant, self._code())
            await tx.run(
                "UPDATE vouchers SET validated_at = COALESCE(validated_at, ?) WHERE tenant_id = ? AND voucher_id = ?",
                self.store.moment(),
                self.tenant,
                found[0],
            )

    async def _credit(self, tx: Tx, member_id: Any, delta: int, source: Any, now: Any) -> None:
        balance = await tx.row(
            "UPDATE accounts SET balance = balance + ?, lifetime = lifetime + ?, updated_at = ?"
            " WHERE tenant_id = ? AND member_id = ? RETURNING balance",
            delta,
            max(0, delta),
            now,
            self.tenant,
            member_id,
        )
        await tx.run(
            "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?)",
            self.tenant,
            self.store.ident(uuid.uuid4()),
            member_id,
            delta,
            balance[0],
            source,
            now,
        )

    async def event(self) -> None:
        member_id, _number = self._member()
        event_id, now = self.store.ident(uuid.uuid4()), self.store.moment()
        payload = json.dumps({"amount": 42.5, "category": "FUEL", "storeId": "S001", "channel": "IN_STORE"})
        async with self.store.transaction(write=True) as tx:
            await tx.run(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                self.tenant,
                event_id,
                "PURCHASE",
                member_id,
                payload,
                now,
            )
            await self._credit(tx, member_id, 85, event_id, now)

    async def order(self) -> None:
        member_id, _number = self._member()
        order_id, now = self.store.ident(uuid.uuid4()), self.store.moment()
        document = json.dumps({"lineItems": [{"sku": "LATTE-M", "quantity": 2, "unitPrice": 350}] * 3})
        async with self.store.transaction(write=True) as tx:
            await tx.run(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)",
                self.tenant,
                order_id,
                self._external_id(),
                member_id,
                1450,
                document,
                now,
            )
            await self._credit(tx, member_id, 24, order_id, now)

    async def checkout(self) -> None:
        member_id, _number = self._member()
        order_id, now = self.store.ident(uuid.uuid4()), self.store.moment()
        document = json.dumps({"lineItems": [{"sku": "LATTE-M", "quantity": 2, "unitPrice": 350}] * 3})
        async with self.store.transaction(write=True) as tx:
            await tx.run(
                "UPDATE vouchers SET burned_at = ? WHERE tenant_id = ? AND code = ?", now, self.tenant, self._code()
            )
            await tx.run(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)",
                self.tenant,
                order_id,
                self._external_id(),
                member_id,
                1150,
                document,
                now,
            )
            await self._credit(tx, member_id, -100, order_id, now)
            await self._credit(tx, member_id, 24, order_id, now)


async def _worker(args: argparse.Namespace) -> dict[str, float]:
    store = Store(args.dialect, args.target)
    await store.open(args.pool)
    try:
        async with store.transaction(write=False) as tx:
            members = [(row[0], row[1]) for row in await tx.rows("SELECT member_id, account_number FROM members")]
            codes = [row[0] for row in await tx.rows("SELECT code FROM vouchers")]
        operations = Operations(store, members, codes, f"{args.tag}-{uuid.uuid4().hex[:8]}")
        steps: list[Callable[[], Awaitable[None]]] = [getattr(operations, name) for name in args.ops.split(",")]
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.duration
        done = [0, 0]

        async def task() -> None:
            while loop.time() < deadline:
                try:
                    for step in steps:
                        await step()
                    done[0] += 1
                except (asyncpg.PostgresError, sqlite3.Error):
                    done[1] += 1

        start = loop.time()
        await asyncio.wait_for(asyncio.gather(*(task() for _ in range(args.tasks))), timeout=args.duration + 60)
        return {"ops": done[0], "failures": done[1], "seconds": loop.time() - start}
    finally:
        await store.close()


async def measure(
    processes: Processes,
    dialect: str,
    target: str,
    scenario: str,
    *,
    concurrency: int,
    duration: float,
    work_dir: Path,
) -> dict[str, float]:
    """Closed-loop throughput of the scenario's database work: ``concurrency`` tasks split over the worker
    processes. Answers operations (and failures) per second."""
    tasks = max(1, concurrency // WORKER_PROCESSES)
    start_at = time.time() + 6.0  # both workers start together, once both have loaded their keys
    runs = [
        processes.run(
            f"dbceiling-{dialect}-{scenario}-{number}",
            [
                *python(),
                "-m",
                "bench.dbceiling",
                "worker",
                "--dialect",
                dialect,
                "--target",
                target,
                "--ops",
                ",".join(SCENARIO_OPS[scenario]),
                "--tasks",
                str(tasks),
                "--pool",
                str(POOL_PER_PROCESS),
                "--duration",
                str(duration),
                "--start-at",
                str(start_at),
                "--tag",
                f"{scenario}{number}",
            ],
            child_env(),
            work_dir,
            limit_seconds=duration + 120,
        )
        for number in range(WORKER_PROCESSES)
    ]
    outputs = await asyncio.gather(*runs)
    documents = [json.loads(output.strip().splitlines()[-1]) for output in outputs]
    seconds = max(d["seconds"] for d in documents)
    return {
        "opsPerSecond": sum(d["ops"] for d in documents) / seconds,
        "failuresPerSecond": sum(d["failures"] for d in documents) / seconds,
        "seconds": seconds,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dbceiling")
    sub = parser.add_subparsers(dest="command", required=True)
    worker = sub.add_parser("worker", help="run one ceiling worker process (started by the harness)")
    worker.add_argument("--dialect", choices=("sqlite", "postgresql"), required=True)
    worker.add_argument("--target", required=True, help="the SQLite file, or the PostgreSQL URL")
    worker.add_argument("--ops", required=True)
    worker.add_argument("--tasks", type=int, required=True)
    worker.add_argument("--pool", type=int, default=POOL_PER_PROCESS)
    worker.add_argument("--duration", type=float, required=True)
    worker.add_argument("--start-at", type=float, default=0.0)
    worker.add_argument("--tag", default="w")
    args = parser.parse_args(argv)
    result = asyncio.run(_worker(args))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
