import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError

from loyalty.api.models.common import iso
from loyalty.storage.database import is_retryable, sqlstate_of
from loyalty.storage.types import UTCDateTime
from loyalty.storage.urls import async_url


class DriverError(Exception):
    """Stands in for a driver exception that reports a SQLSTATE (as asyncpg's do)."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


# ---- urls ----


def test_sqlite_urls_get_the_aiosqlite_driver():
    url = async_url("sqlite:///var/loyalty.db")
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == "var/loyalty.db"
    assert async_url("sqlite:////srv/loyalty/x.db").database == "/srv/loyalty/x.db"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_postgres_urls_get_the_asyncpg_driver(scheme: str):
    url = async_url(f"{scheme}://loyal:p%40ss@db.example:6543/engine")
    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "db.example"
    assert url.port == 6543
    assert url.database == "engine"
    assert url.username == "loyal"
    assert url.password == "p@ss"


@pytest.mark.parametrize("url", ["mysql://root@localhost/loyalty", "mssql+pyodbc://x", "oracle://u@h/db"])
def test_other_databases_are_refused(url: str):
    with pytest.raises(ValueError, match="unsupported database URL scheme"):
        async_url(url)


# ---- retryable errors ----


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_serialization_failures_and_deadlocks_are_retryable(sqlstate: str):
    error = OperationalError("UPDATE point_accounts", {}, DriverError("could not serialize", sqlstate))
    assert is_retryable(error)
    assert sqlstate_of(error) == sqlstate


def test_other_sqlstates_are_not_retryable():
    error = OperationalError("SELECT 1", {}, DriverError("syntax error", "42601"))
    assert not is_retryable(error)
    assert sqlstate_of(error) == "42601"


def test_a_locked_sqlite_database_is_retryable():
    error = OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
    assert is_retryable(error)
    assert sqlstate_of(error) is None


def test_a_busy_sqlite_error_code_is_retryable():
    busy = sqlite3.OperationalError("database table is busy")
    busy.sqlite_errorcode = 5 | (1 << 8)  # an extended SQLITE_BUSY code
    assert is_retryable(OperationalError("INSERT", {}, busy))


def test_integrity_errors_are_not_retryable():
    duplicate = IntegrityError("INSERT INTO members", {}, DriverError("duplicate key", "23505"))
    assert not is_retryable(duplicate)
    assert not is_retryable(IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")))


def test_non_database_errors_are_not_retryable():
    assert not is_retryable(RuntimeError("database is locked"))
    assert sqlstate_of(RuntimeError("x")) is None


# ---- timestamps ----


def test_iso_writes_utc_with_milliseconds_and_z():
    assert iso(datetime(2025, 1, 10, 12, 34, 56, tzinfo=UTC)) == "2025-01-10T12:34:56.000Z"
    assert iso(datetime(2025, 1, 10, 12, 34, 56, 789999, tzinfo=UTC)) == "2025-01-10T12:34:56.789Z"
    assert iso(datetime(999, 3, 1, tzinfo=UTC)) == "0999-03-01T00:00:00.000Z"  # four digits, as RFC 3339 requires


def test_iso_converts_other_zones_to_utc():
    paris = timezone(timedelta(hours=1))
    assert iso(datetime(2025, 1, 10, 13, 34, 56, 5000, tzinfo=paris)) == "2025-01-10T12:34:56.005Z"


def test_utc_datetime_refuses_naive_values():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2025, 1, 10, 12, 0), sqlite.dialect())
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2025, 1, 10, 12, 0), postgresql.dialect())


def test_utc_datetime_binds_utc():
    moment = datetime(2025, 1, 10, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    on_sqlite = UTCDateTime().process_bind_param(moment, sqlite.dialect())
    assert on_sqlite == datetime(2025, 1, 10, 12, 0)
    assert on_sqlite is not None
    assert on_sqlite.tzinfo is None
    on_postgres = UTCDateTime().process_bind_param(moment, postgresql.dialect())
    assert on_postgres == datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
    assert on_postgres is not None
    assert on_postgres.utcoffset() == timedelta(0)
    assert UTCDateTime().process_bind_param(None, sqlite.dialect()) is None


def test_utc_datetime_reads_back_aware_utc():
    read = UTCDateTime().process_result_value(datetime(2025, 1, 10, 12, 0), sqlite.dialect())
    assert read == datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
    assert read is not None
    assert read.tzinfo is UTC
    text = UTCDateTime().process_result_value("2025-01-10 12:00:00.123000", sqlite.dialect())
    assert text == datetime(2025, 1, 10, 12, 0, 0, 123000, tzinfo=UTC)
