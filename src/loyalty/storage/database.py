"""The database handle and its unit of work.

A unit of work is one transaction. Write transactions on SQLite start with ``BEGIN IMMEDIATE`` so writers
serialise at the start instead of failing at the first write (SQLAlchemy drops ``FOR UPDATE`` on SQLite).
:meth:`Database.run` retries the whole unit of work on serialization failures, deadlocks and ``SQLITE_BUSY``,
which is what lets every check-then-act be written as plain conditional statements.

On SQLite the writers of one process also queue on an in-process lock before they begin. SQLite admits one writer
at a time anyway; without the queue, the others wait inside SQLite's busy handler, which polls with sleeps of up to
100 ms, so the write lock sits idle between writers and a burst of fifty writes takes seconds. With the queue the
next writer begins the moment the previous one commits. Writers in other processes (``--workers``, the worker, the
command line) still meet at SQLite's own lock and its busy timeout.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from loyalty.storage.types import read_json
from loyalty.storage.urls import async_url, ensure_sqlite_directory

T = TypeVar("T")
Tx = AsyncConnection

# SQLSTATEs worth retrying the whole transaction for: serialization_failure, deadlock_detected.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}
# SQLite primary result codes: SQLITE_BUSY (5) and SQLITE_LOCKED (6); extended codes share the low byte.
_RETRYABLE_SQLITE_CODES = {5, 6}
MAX_ATTEMPTS = 12


_MEMO = "loyalty.memo"


def memo(tx: Tx) -> dict[Any, Any]:
    """Values read once per transaction (the tenant's configuration version, its settings): the dict lives on the
    connection for as long as the transaction does, and whoever changes such a value in the transaction updates or
    drops its entry."""
    found: dict[Any, Any] = tx.info.setdefault(_MEMO, {})
    return found


def is_retryable(error: BaseException) -> bool:
    """True for failures where running the same transaction again is correct and may succeed."""
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in _RETRYABLE_SQLITE_CODES:
        return True
    return "database is locked" in str(orig)


def sqlstate_of(error: BaseException) -> str | None:
    if isinstance(error, DBAPIError):
        orig = error.orig
        value = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        return str(value) if value else None
    return None


class Database:
    """One engine per process; hands out units of work."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 10) -> None:
        self.url = async_url(url)
        ensure_sqlite_directory(self.url)
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {"pool_pre_ping": False}
        if self.dialect == "postgresql":
            kwargs.update(pool_size=pool_size, max_overflow=2 * pool_size, json_deserializer=read_json)
        else:
            kwargs.update(pool_size=pool_size, max_overflow=2 * pool_size, connect_args={"timeout": 30})
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, sqlite_synchronous)
        self._immediate = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        # Reads of a single statement need no transaction around them: no BEGIN and COMMIT round trips.
        self._untransacted = self.engine.execution_options(
            **({"sqlite_begin": None} if self.dialect == "sqlite" else {"isolation_level": "AUTOCOMMIT"})
        )
        # One queue of SQLite writers per event loop (an asyncio lock belongs to the loop it is first used on).
        self._writer_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def _writer_queue(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        queue = self._writer_queues.get(loop)
        if queue is None:
            queue = self._writer_queues[loop] = asyncio.Lock()
        return queue

    @asynccontextmanager
    async def transaction(self, *, write: bool = True, single_read: bool = False) -> AsyncIterator[Tx]:
        """One transaction; commits when the block ends normally, rolls back on any exception. A
        ``single_read`` is one statement that reads: it runs in autocommit mode, outside any transaction."""
        if write and self.is_sqlite:
            async with self._writer_queue(), self._begin(self._immediate) as conn:
                yield conn
        else:
            async with self._begin(self._untransacted if single_read else self.engine) as conn:
                yield conn

    @asynccontextmanager
    async def _begin(self, engine: AsyncEngine) -> AsyncIterator[Tx]:
        async with engine.begin() as conn:
            conn.info.pop(_MEMO, None)
            try:
                yield conn
            finally:
                conn.info.pop(_MEMO, None)

    async def run(self, work: Callable[[Tx], Awaitable[T]], *, write: bool = True, single_read: bool = False) -> T:
        """Run ``work`` in a transaction, retrying the whole of it on transient conflicts. ``single_read``: work
        that sends one reading statement (see :meth:`transaction`)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self.transaction(write=write and not single_read, single_read=single_read) as tx:
                    return await work(tx)
            except DBAPIError as error:
                if attempt == MAX_ATTEMPTS or not is_retryable(error):
                    raise
                # Jittered exponential backoff so colliding transactions do not collide again in step.
                await asyncio.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))  # noqa: S311
        raise AssertionError("unreachable")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine, synchronous: str) -> None:
    if synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
        raise ValueError("LOYALTY_SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:  # None: a single read, in SQLite's autocommit mode
            conn.exec_driver_sql(f"BEGIN {mode}")
