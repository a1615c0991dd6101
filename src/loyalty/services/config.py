"""Configuration versioning: every configuration write bumps the tenant's ``config_version`` in its own
transaction, so each process can tell with one cheap read whether its compiled rules are still current."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from loyalty.storage.database import Tx
from loyalty.storage.tables import tenants


async def bump_config_version(tx: Tx, tenant_id: uuid.UUID) -> None:
    await tx.execute(
        update(tenants).where(tenants.c.tenant_id == tenant_id).values(config_version=tenants.c.config_version + 1)
    )


async def config_version(tx: Tx, tenant_id: uuid.UUID) -> int:
    return int(
        (await tx.execute(select(tenants.c.config_version).where(tenants.c.tenant_id == tenant_id))).scalar_one()
    )
