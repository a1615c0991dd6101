"""Alembic environment: runs migrations over the engine's async drivers."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy import JSON, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from loyalty.storage.tables import metadata
from loyalty.storage.types import UTCDateTime

config = context.config


def _render_item(kind: str, value: Any, _context: Any) -> str | Literal[False]:
    """Autogenerate writes the engine's own column types by name (the revision template imports them)."""
    if kind == "type":
        if isinstance(value, UTCDateTime):
            return "UTCDateTime()"
        if isinstance(value, JSON) and getattr(value, "_variant_mapping", None):
            return "JsonDocument"
    return False


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run() -> None:
    engine = create_async_engine(config.attributes["database_url"], poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_migrate)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `loyalty db upgrade`")
asyncio.run(_run())
