"""Configuration versioning: every configuration write sets a new ``config_version`` for the tenant in its own
transaction, so each process can tell with one cheap read whether its compiled rules are still current."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import bindparam, select, update

from loyalty.storage.database import Tx, memo
from loyalty.storage.tables import tenants


async def bump_config_version(tx: Tx, tenant_id: uuid.UUID) -> None:
    """Give the configuration a new version. Versions are random, not counted up: a transaction that bumped the
    version and then rolled back can never leave a cached version that a later write would reuse."""
    version = _new_version()
    await tx.execute(update(tenants).where(tenants.c.tenant_id == tenant_id).values(config_version=version))
    memo(tx)[("config_version", tenant_id)] = version


def _new_version() -> int:
    return secrets.randbits(62)


_VERSION = select(tenants.c.config_version).where(tenants.c.tenant_id == bindparam("tenant_id"))  # built once


async def config_version(tx: Tx, tenant_id: uuid.UUID, *, fresh: bool = False) -> int:
    """The tenant's configuration version, read once per transaction (``fresh``: read it again now)."""
    remembered = memo(tx)
    key = ("config_version", tenant_id)
    if fresh or key not in remembered:
        remembered[key] = int((await tx.execute(_VERSION, {"tenant_id": tenant_id})).scalar_one())
    return int(remembered[key])
