"""Voucher codes: code pools with bulk upload, one-time codes, and finding the code a till scanned.

Every code value of a tenant lives in ``voucher_codes`` under one unique key, so an OTP can never equal a pool or
static code. A pool code is handed out with a single conditional update, so two purchases can never get the same
one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from loyalty.domain.codes import check_code_value, new_code
from loyalty.domain.errors import Conflict, InvalidInput, NotFound, Refused
from loyalty.services.clock import now
from loyalty.services.config import bump_config_version
from loyalty.storage.database import Tx
from loyalty.storage.sql import ignoring_conflicts
from loyalty.storage.tables import code_pools, voucher_codes

MAX_BULK_CODES = 100_000
_INSERT_CHUNK = 1000
_OTP_ATTEMPTS = 5


@dataclass(frozen=True)
class CodePool:
    pool_id: uuid.UUID
    name: str
    description: str | None
    active: bool
    created_at: datetime
    total: int
    issued: int


@dataclass(frozen=True)
class Code:
    code_id: uuid.UUID
    value: str
    kind: str
    pool_id: uuid.UUID | None
    reward_id: uuid.UUID | None
    benefit_id: uuid.UUID | None
    created_at: datetime
    issued_at: datetime | None


@dataclass(frozen=True)
class BulkResult:
    created: int
    duplicates: list[str]


def _code(row: Any) -> Code:
    return Code(
        code_id=row.code_id,
        value=row.value,
        kind=row.kind,
        pool_id=row.pool_id,
        reward_id=row.reward_id,
        benefit_id=row.benefit_id,
        created_at=row.created_at,
        issued_at=row.issued_at,
    )


# ---- pools ----


async def create_pool(tx: Tx, tenant_id: uuid.UUID, name: str, description: str | None, active: bool) -> CodePool:
    pool_id = uuid.uuid4()
    await tx.execute(
        code_pools.insert().values(
            tenant_id=tenant_id, pool_id=pool_id, name=name, description=description, active=active, created_at=now()
        )
    )
    await bump_config_version(tx, tenant_id)
    return await get_pool(tx, tenant_id, pool_id)


async def get_pool(tx: Tx, tenant_id: uuid.UUID, pool_id: uuid.UUID) -> CodePool:
    row = (
        await tx.execute(select(code_pools).where(code_pools.c.tenant_id == tenant_id, code_pools.c.pool_id == pool_id))
    ).first()
    if row is None:
        raise NotFound("No such code pool.", code="CODE_POOL_NOT_FOUND")
    counts = (
        await tx.execute(
            select(func.count(), func.count(voucher_codes.c.issued_at)).where(
                voucher_codes.c.tenant_id == tenant_id, voucher_codes.c.pool_id == pool_id
            )
        )
    ).one()
    return CodePool(row.pool_id, row.name, row.description, row.active, row.created_at, counts[0], counts[1])


async def list_pools(tx: Tx, tenant_id: uuid.UUID) -> list[CodePool]:
    ids = [
        r.pool_id
        for r in await tx.execute(
            select(code_pools.c.pool_id).where(code_pools.c.tenant_id == tenant_id).order_by(code_pools.c.created_at)
        )
    ]
    return [await get_pool(tx, tenant_id, pool_id) for pool_id in ids]


async def list_pool_codes(
    tx: Tx, tenant_id: uuid.UUID, pool_id: uuid.UUID, *, limit: int, skip: int
) -> tuple[list[Code], int]:
    await get_pool(tx, tenant_id, pool_id)
    condition = (voucher_codes.c.tenant_id == tenant_id) & (voucher_codes.c.pool_id == pool_id)
    total = (await tx.execute(select(func.count()).select_from(voucher_codes).where(condition))).scalar_one()
    rows = await tx.execute(
        select(voucher_codes)
        .where(condition)
        .order_by(voucher_codes.c.created_at, voucher_codes.c.value)
        .limit(limit)
        .offset(skip)
    )
    return [_code(r) for r in rows], total


async def add_codes(tx: Tx, tenant_id: uuid.UUID, pool_id: uuid.UUID, values: list[str]) -> BulkResult:
    """Add codes to a pool (at most 100,000 per call). Values already used anywhere in the tenant, or repeated in
    the request, are reported as duplicates and skipped; the rest are added."""
    await get_pool(tx, tenant_id, pool_id)
    if len(values) > MAX_BULK_CODES:
        raise InvalidInput(f"At most {MAX_BULK_CODES} codes per call.", code="TOO_MANY_CODES", field="codes")
    for index, value in enumerate(values):
        check_code_value(value, field=f"codes[{index}]")
    seen: set[str] = set()
    duplicates: list[str] = []
    fresh: list[str] = []
    for value in values:
        (duplicates if value in seen else fresh).append(value)
        seen.add(value)
    created = 0
    moment = now()
    for start in range(0, len(fresh), _INSERT_CHUNK):
        chunk = fresh[start : start + _INSERT_CHUNK]
        taken = {
            r.value
            for r in await tx.execute(
                select(voucher_codes.c.value).where(
                    voucher_codes.c.tenant_id == tenant_id, voucher_codes.c.value.in_(chunk)
                )
            )
        }
        new_values = [v for v in chunk if v not in taken]
        duplicates.extend(v for v in chunk if v in taken)
        if new_values:
            rows = [
                {
                    "tenant_id": tenant_id,
                    "code_id": uuid.uuid4(),
                    "value": value,
                    "kind": "POOL",
                    "pool_id": pool_id,
                    "created_at": moment,
                }
                for value in new_values
            ]
            result = await tx.execute(ignoring_conflicts(tx, voucher_codes), rows)
            created += result.rowcount if result.rowcount >= 0 else len(rows)
    return BulkResult(created=created, duplicates=duplicates)


async def delete_code(tx: Tx, tenant_id: uuid.UUID, pool_id: uuid.UUID, code_id: uuid.UUID) -> None:
    """Remove a code that has not been handed out (an issued code belongs to a member's benefit)."""
    deleted = await tx.execute(
        delete(voucher_codes).where(
            voucher_codes.c.tenant_id == tenant_id,
            voucher_codes.c.pool_id == pool_id,
            voucher_codes.c.code_id == code_id,
            voucher_codes.c.issued_at.is_(None),
        )
    )
    if not deleted.rowcount:
        exists = (
            await tx.execute(
                select(voucher_codes.c.code_id).where(
                    voucher_codes.c.tenant_id == tenant_id,
                    voucher_codes.c.pool_id == pool_id,
                    voucher_codes.c.code_id == code_id,
                )
            )
        ).first()
        if exists is None:
            await get_pool(tx, tenant_id, pool_id)  # an unknown pool is reported as such, before the code
            raise NotFound("No such code in this pool.", code="CODE_NOT_FOUND")
        raise Conflict("This code was already handed out and cannot be removed.", code="CODE_ALREADY_ISSUED")


async def delete_unissued_codes(tx: Tx, tenant_id: uuid.UUID, pool_id: uuid.UUID) -> int:
    await get_pool(tx, tenant_id, pool_id)
    deleted = await tx.execute(
        delete(voucher_codes).where(
            voucher_codes.c.tenant_id == tenant_id,
            voucher_codes.c.pool_id == pool_id,
            voucher_codes.c.issued_at.is_(None),
        )
    )
    return int(deleted.rowcount)


# ---- handing codes out ----


async def issue_otp(tx: Tx, tenant_id: uuid.UUID, benefit_id: uuid.UUID, template: str) -> Code:
    """A new one-time code for a benefit. A collision (astronomically rare at 64 bits) just draws again."""
    for _ in range(_OTP_ATTEMPTS):
        code_id = uuid.uuid4()
        moment = now()
        try:
            async with tx.begin_nested():
                await tx.execute(
                    voucher_codes.insert().values(
                        tenant_id=tenant_id,
                        code_id=code_id,
                        value=new_code(template),
                        kind="OTP",
                        benefit_id=benefit_id,
                        created_at=moment,
                        issued_at=moment,
                    )
                )
        except IntegrityError:
            continue
        return await get_code(tx, tenant_id, code_id)
    raise Conflict("Could not draw a unique code; try again.", code="CODE_COLLISION")


async def issue_from_pool(tx: Tx, tenant_id: uuid.UUID, pool_id: uuid.UUID, benefit_id: uuid.UUID) -> Code:
    """Hand the oldest free code of a pool to a benefit; an empty or inactive pool is out of stock."""
    pool = await get_pool(tx, tenant_id, pool_id)
    if not pool.active:
        raise Refused("The code pool is not active.", code="OUT_OF_STOCK")
    for _ in range(_OTP_ATTEMPTS):
        candidate = (
            await tx.execute(
                select(voucher_codes.c.code_id)
                .where(
                    voucher_codes.c.tenant_id == tenant_id,
                    voucher_codes.c.pool_id == pool_id,
                    voucher_codes.c.issued_at.is_(None),
                )
                .order_by(voucher_codes.c.created_at, voucher_codes.c.code_id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if candidate is None:
            raise Refused("The code pool is empty.", code="OUT_OF_STOCK")
        taken = await tx.execute(
            update(voucher_codes)
            .where(
                voucher_codes.c.tenant_id == tenant_id,
                voucher_codes.c.code_id == candidate.code_id,
                voucher_codes.c.issued_at.is_(None),
            )
            .values(issued_at=now(), benefit_id=benefit_id)
        )
        if taken.rowcount:
            return await get_code(tx, tenant_id, candidate.code_id)
    raise Conflict("The code pool is busy; try again.", code="CODE_POOL_BUSY")


async def get_code(tx: Tx, tenant_id: uuid.UUID, code_id: uuid.UUID) -> Code:
    row = (
        await tx.execute(
            select(voucher_codes).where(voucher_codes.c.tenant_id == tenant_id, voucher_codes.c.code_id == code_id)
        )
    ).one()
    return _code(row)


_CODE = select(voucher_codes).where(
    voucher_codes.c.tenant_id == bindparam("tenant_id"), voucher_codes.c.value == bindparam("value")
)  # built once: read on every validation


async def find_code(tx: Tx, tenant_id: uuid.UUID, value: str) -> Code | None:
    """The code a till sent (exact match after trimming spaces)."""
    row = (await tx.execute(_CODE, {"tenant_id": tenant_id, "value": value.strip()})).first()
    return _code(row) if row is not None else None
