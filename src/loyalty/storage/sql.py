"""Small statement builders that differ by dialect."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def storable(text: str) -> bool:
    """Whether a stored text could equal ``text``. No backend holds U+0000 (PostgreSQL refuses it outright, and the
    API refuses it everywhere for that reason), so a lookup by text holding one finds nothing, and must not reach
    PostgreSQL, which would fail the statement instead."""
    return "\x00" not in text


def insert_ignoring_conflicts(tx: AsyncConnection, table: Table, **values: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the connection's dialect (both SQLite and PostgreSQL have it)."""
    dialect = postgresql if tx.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).values(**values).on_conflict_do_nothing()


@cache
def _ignoring_conflicts(dialect_name: str, table: Table) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def ignoring_conflicts(tx: AsyncConnection, table: Table) -> Any:
    """:func:`insert_ignoring_conflicts` built once per dialect and table, for hot paths: execute it with the row's
    values as parameters (building a statement costs more than running one SQLAlchemy has compiled before)."""
    return _ignoring_conflicts(tx.dialect.name, table)
