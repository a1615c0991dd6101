"""Turn the URLs people write (``sqlite:///…``, ``postgresql://…``) into driver URLs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> URL:
    """The async driver URL for a plain or explicit database URL.

    ``postgres://`` (Heroku style) is accepted as ``postgresql://``. Unknown schemes are refused so a typo
    does not silently create a database somewhere unexpected.
    """
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    backend = parsed.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:/// or postgresql://")
    return parsed.set(drivername=ASYNC_DRIVERS[backend])


def ensure_sqlite_directory(url: URL) -> None:
    """Create the directory of a SQLite file so the first start works from an empty checkout."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
