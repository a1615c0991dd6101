"""Reward categories: how the catalogue is grouped for display."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from loyalty.domain.errors import NotFound
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.tables import reward_categories


@dataclass(frozen=True)
class Category:
    category_id: uuid.UUID
    name: str
    description: str | None
    created_at: datetime


class CategoryNotFound(NotFound):
    code = "CATEGORY_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("No such reward category.")


def _category(row: Any) -> Category:
    return Category(category_id=row.category_id, name=row.name, description=row.description, created_at=row.created_at)


async def create_category(tx: Tx, tenant_id: uuid.UUID, *, name: str, description: str | None) -> Category:
    category_id = uuid.uuid4()
    await tx.execute(
        reward_categories.insert().values(
            tenant_id=tenant_id, category_id=category_id, name=name, description=description, created_at=now()
        )
    )
    await bump_config_version(tx, tenant_id)
    return await get_category(tx, tenant_id, category_id)


async def get_category(tx: Tx, tenant_id: uuid.UUID, category_id: uuid.UUID) -> Category:
    row = (
        await tx.execute(
            select(reward_categories).where(
                reward_categories.c.tenant_id == tenant_id, reward_categories.c.category_id == category_id
            )
        )
    ).first()
    if row is None:
        raise CategoryNotFound()
    return _category(row)


async def list_categories(
    tx: Tx, tenant_id: uuid.UUID, *, limit: int, skip: int, descending: bool
) -> tuple[list[Category], int]:
    condition = reward_categories.c.tenant_id == tenant_id
    total = (await tx.execute(select(func.count()).select_from(reward_categories).where(condition))).scalar_one()
    created = reward_categories.c.created_at
    rows = await tx.execute(
        select(reward_categories)
        .where(condition)
        .order_by(created.desc() if descending else created, reward_categories.c.category_id)
        .limit(limit)
        .offset(skip)
    )
    return [_category(r) for r in rows], total


async def categories_by_id(tx: Tx, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Category]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await tx.execute(
        select(reward_categories).where(
            reward_categories.c.tenant_id == tenant_id, reward_categories.c.category_id.in_(wanted)
        )
    )
    return {r.category_id: _category(r) for r in rows}
