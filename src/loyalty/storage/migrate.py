"""Alembic, driven from code so an installed engine can migrate itself without an ini file."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection

from loyalty.storage.urls import async_url, ensure_sqlite_directory

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Kept as an attribute, not an ini option, so '%' in passwords needs no escaping.
    config.attributes["database_url"] = async_url(url).render_as_string(hide_password=False)
    return config


def upgrade(url: str, revision: str = "head") -> None:
    ensure_sqlite_directory(async_url(url))
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(conn: AsyncConnection) -> str | None:
    def read(sync_conn: object) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()  # type: ignore[arg-type]

    return await conn.run_sync(read)
