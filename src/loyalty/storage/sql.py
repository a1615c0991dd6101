"""Small statement builders that differ by dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_ignoring_conflicts(tx: AsyncConnection, table: Table, **values: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the connection's dialect (both SQLite and PostgreSQL have it)."""
    dialect = postgresql if tx.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).values(**values).on_conflict_do_nothing()
