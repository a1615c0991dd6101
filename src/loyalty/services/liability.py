"""Points liability criteria: points expiry and earn, spend and balance caps (contract §6).

Criteria are stored and validated only: the ledger does not yet expire points or apply caps. DELETE removes a
criterion for good (nothing refers to one yet); ``isActive: false`` switches one off and keeps it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from loyalty.domain.errors import Conflict, InvalidInput, NotFound
from loyalty.domain.liability import Criterion, CriterionType, LiabilityType, check_criterion
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.tables import points_liability_criteria, tenants

_EXPIRY_SLOT = "EXPIRY"


@dataclass(frozen=True)
class LiabilityCriterion:
    criterion_id: uuid.UUID
    name: str
    type: CriterionType
    liability_type: LiabilityType
    config: dict[str, Any]
    is_active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CriterionDraft:
    """A new criterion, or a patch (``None``: unchanged). Type, liability type and config are raw wire values,
    validated together once the patch is applied."""

    name: str | None = None
    type: str | None = None
    liability_type: str | None = None
    config: dict[str, Any] | None = None
    is_active: bool | None = None


def _criterion(row: Any) -> LiabilityCriterion:
    return LiabilityCriterion(
        criterion_id=row.criterion_id,
        name=row.name,
        type=CriterionType(row.type),
        liability_type=LiabilityType(row.liability_type),
        config=row.config,
        is_active=row.is_active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _of(tenant_id: uuid.UUID) -> Any:
    return points_liability_criteria.c.tenant_id == tenant_id


async def _lock_criteria(tx: Tx, tenant_id: uuid.UUID) -> None:
    """Serialise the tenant's criteria writes (the tenant row, locked until commit), so "one expiry criterion"
    is checked against committed state; the unique ``expiry_slot`` backs it. SQLite serialises writers anyway."""
    await tx.execute(select(tenants.c.tenant_id).where(tenants.c.tenant_id == tenant_id).with_for_update())


async def _ensure_one_expiry(tx: Tx, tenant_id: uuid.UUID, criterion: Criterion, own_id: uuid.UUID | None) -> None:
    if criterion.type is not CriterionType.SIMPLE_EXPIRY:
        return
    c = points_liability_criteria.c
    query = select(c.criterion_id).where(_of(tenant_id), c.expiry_slot == _EXPIRY_SLOT)
    if own_id is not None:
        query = query.where(c.criterion_id != own_id)
    existing = (await tx.execute(query.limit(1))).scalar_one_or_none()
    if existing is not None:
        raise Conflict(
            "The tenant already has a SIMPLE_EXPIRY criterion; change or delete it instead.",
            code="CRITERIA_ALREADY_EXISTS",
            criteriaId=str(existing),
        )


def _slot(criterion: Criterion) -> str | None:
    return _EXPIRY_SLOT if criterion.type is CriterionType.SIMPLE_EXPIRY else None


async def create_criterion(tx: Tx, tenant_id: uuid.UUID, draft: CriterionDraft) -> LiabilityCriterion:
    if not draft.name:
        raise InvalidInput("name is required.", code="VALIDATION_ERROR", field="name")
    criterion = check_criterion(draft.type, draft.liability_type, draft.config)
    await _lock_criteria(tx, tenant_id)
    await _ensure_one_expiry(tx, tenant_id, criterion, None)
    criterion_id = uuid.uuid4()
    moment = now()
    await tx.execute(
        points_liability_criteria.insert().values(
            tenant_id=tenant_id,
            criterion_id=criterion_id,
            name=draft.name,
            type=criterion.type.value,
            liability_type=criterion.liability_type.value,
            config=criterion.config,
            is_active=True if draft.is_active is None else draft.is_active,
            expiry_slot=_slot(criterion),
            created_at=moment,
            updated_at=moment,
        )
    )
    await bump_config_version(tx, tenant_id)
    return await get_criterion(tx, tenant_id, criterion_id)


async def get_criterion(tx: Tx, tenant_id: uuid.UUID, criterion_id: uuid.UUID) -> LiabilityCriterion:
    c = points_liability_criteria.c
    row = (
        await tx.execute(select(points_liability_criteria).where(_of(tenant_id), c.criterion_id == criterion_id))
    ).first()
    if row is None:
        raise NotFound("No such points liability criterion.", code="CRITERIA_NOT_FOUND")
    return _criterion(row)


async def list_criteria(tx: Tx, tenant_id: uuid.UUID, *, limit: int, skip: int) -> tuple[list[LiabilityCriterion], int]:
    c = points_liability_criteria.c
    total = (
        await tx.execute(select(func.count()).select_from(points_liability_criteria).where(_of(tenant_id)))
    ).scalar_one()
    rows = await tx.execute(
        select(points_liability_criteria)
        .where(_of(tenant_id))
        .order_by(c.created_at, c.criterion_id)
        .limit(limit)
        .offset(skip)
    )
    return [_criterion(r) for r in rows], total


async def update_criterion(
    tx: Tx, tenant_id: uuid.UUID, criterion_id: uuid.UUID, patch: CriterionDraft
) -> LiabilityCriterion:
    await _lock_criteria(tx, tenant_id)
    current = await get_criterion(tx, tenant_id, criterion_id)
    criterion = check_criterion(
        patch.type if patch.type is not None else current.type.value,
        patch.liability_type if patch.liability_type is not None else current.liability_type.value,
        patch.config if patch.config is not None else current.config,
    )
    await _ensure_one_expiry(tx, tenant_id, criterion, criterion_id)
    c = points_liability_criteria.c
    await tx.execute(
        update(points_liability_criteria)
        .where(_of(tenant_id), c.criterion_id == criterion_id)
        .values(
            name=patch.name if patch.name is not None else current.name,
            type=criterion.type.value,
            liability_type=criterion.liability_type.value,
            config=criterion.config,
            is_active=patch.is_active if patch.is_active is not None else current.is_active,
            expiry_slot=_slot(criterion),
            updated_at=now(),
        )
    )
    await bump_config_version(tx, tenant_id)
    return await get_criterion(tx, tenant_id, criterion_id)


async def delete_criterion(tx: Tx, tenant_id: uuid.UUID, criterion_id: uuid.UUID) -> LiabilityCriterion:
    """Remove the criterion for good; returns it as it was."""
    await _lock_criteria(tx, tenant_id)
    criterion = await get_criterion(tx, tenant_id, criterion_id)
    c = points_liability_criteria.c
    await tx.execute(delete(points_liability_criteria).where(_of(tenant_id), c.criterion_id == criterion_id))
    await bump_config_version(tx, tenant_id)
    return criterion
