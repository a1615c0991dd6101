"""Tenant settings (pointsCurrencyValue, timezone, baseCurrency, …): read them typed, list them, change them.

Settings are configuration: every write bumps the tenant's config version in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from loyalty.domain.errors import InvalidInput, NotFound
from loyalty.domain.settings import (
    SETTING_NAMES,
    TenantSettings,
    default_value,
    is_known,
    normalize_setting,
    tenant_settings,
)
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx, memo
from loyalty.storage.sql import ignoring_conflicts
from loyalty.storage.tables import settings

__all__ = ["Setting", "TenantSettings", "get_setting", "get_settings", "list_settings", "set_settings"]


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any


async def _stored(tx: Tx, tenant_id: uuid.UUID) -> dict[str, Any]:
    rows = await tx.execute(select(settings.c.name, settings.c.value).where(settings.c.tenant_id == tenant_id))
    return {row.name: row.value for row in rows}


async def get_settings(tx: Tx, tenant_id: uuid.UUID) -> TenantSettings:
    """The tenant's settings, typed, with defaults for those never set (read once per transaction)."""
    remembered = memo(tx)
    key = ("settings", tenant_id)
    if key not in remembered:
        remembered[key] = tenant_settings(await _stored(tx, tenant_id))
    found: TenantSettings = remembered[key]
    return found


async def list_settings(tx: Tx, tenant_id: uuid.UUID) -> list[Setting]:
    """Every known setting with its current value (its default when never set)."""
    stored = await _stored(tx, tenant_id)
    return [Setting(name, stored.get(name, default_value(name))) for name in SETTING_NAMES]


async def get_setting(tx: Tx, tenant_id: uuid.UUID, name: str) -> Setting:
    if not is_known(name):
        raise NotFound(f"No setting {name!r}.", code="SETTING_NOT_FOUND")
    stored = await _stored(tx, tenant_id)
    return Setting(name, stored.get(name, default_value(name)))


async def set_settings(tx: Tx, tenant_id: uuid.UUID, values: Mapping[str, Any]) -> list[Setting]:
    """Set one or more settings, all or none: every value is checked before anything is written."""
    if not values:
        raise InvalidInput("Name at least one setting.", code="VALIDATION_ERROR")
    unknown = [name for name in values if not is_known(name)]
    if unknown:
        raise InvalidInput(
            f"Unknown setting(s): {', '.join(unknown)}; known settings are {', '.join(SETTING_NAMES)}.",
            code="UNKNOWN_SETTING",
            errors=[{"field": name, "message": "unknown setting"} for name in unknown],
        )
    normalized: dict[str, Any] = {}
    problems: list[InvalidInput] = []
    for name, value in values.items():
        try:
            normalized[name] = normalize_setting(name, value)
        except InvalidInput as problem:
            problems.append(problem)
    if problems:
        raise InvalidInput(
            "; ".join(p.message for p in problems),
            code="INVALID_SETTING",
            errors=[{"field": p.details["field"], "message": p.message} for p in problems],
        )
    moment = now()
    for name, value in normalized.items():
        # Insert-or-update as two keyed statements, the same on both databases; concurrent writers of one
        # setting simply leave the last value.
        await tx.execute(
            ignoring_conflicts(tx, settings),
            {"tenant_id": tenant_id, "name": name, "value": value, "updated_at": moment},
        )
        await tx.execute(
            update(settings)
            .where(settings.c.tenant_id == tenant_id, settings.c.name == name)
            .values(value=value, updated_at=moment)
        )
    memo(tx).pop(("settings", tenant_id), None)
    await bump_config_version(tx, tenant_id)
    return await list_settings(tx, tenant_id)
