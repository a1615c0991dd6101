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


@cache
def _ignoring_conflicts(dialect_name: str, table: Table, returning: bool) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing()
    return statement.returning(*table.c) if returning else statement


def ignoring_conflicts(tx: AsyncConnection, table: Table, *, returning: bool = False) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for the connection's dialect (both SQLite and PostgreSQL have it), built
    once per dialect and table: execute it with the row's values as parameters (or a list of rows). Building a
    statement costs more than running one SQLAlchemy has compiled before. ``returning`` adds ``RETURNING`` of every
    column, which gives the inserted row, or none when the row was already there."""
    return _ignoring_conflicts(tx.dialect.name, table, returning)
