"""Helpers for the catalogue tests: reward bodies, answers, member tokens, and the tier, venue, audience and code
pool rows a reward can refer to.

Those rows are written straight into their tables (``db.run``), not through ``/v1/tiers``, ``/v1/venues`` or
``/v1/audiences``: the catalogue only reads them, and its tests should not depend on how they are managed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import delete, insert

from loyalty.services import tenants as tenant_service
from loyalty.storage.database import Database
from loyalty.storage.tables import audience_members, audiences, code_pools, member_tiers, tiers, venues
from tests.conftest import TenantKit

ISSUER = "https://idp.example.com/"
SHARED_SECRET = "catalogue-idp-shared-secret-0123456789-abcd"


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    assert answer.json()["status"] == "success", answer.text
    return answer.json()["data"]


def assert_fail(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert document["status"] == "fail", answer.text
    assert document["data"]["code"] == code, answer.text
    return dict(document["data"])


def moment(days: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def reward_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "VOUCHER",
        "name": "Free coffee",
        "price": 100,
        "purchasable": True,
        "availability": {"start": moment(-1)},
    }
    body.update(overrides)
    return body


def offer_body(**overrides: Any) -> dict[str, Any]:
    return reward_body(
        **{"type": "GENERIC_OFFER", "name": "10% off everything", "price": 0, "purchasable": False, **overrides}
    )


async def create_reward(client: httpx.AsyncClient, kit: TenantKit, **overrides: Any) -> dict[str, Any]:
    return dict(ok(await client.post("/v1/rewards", headers=kit.admin, json=reward_body(**overrides))))


async def create_offer(client: httpx.AsyncClient, kit: TenantKit, **overrides: Any) -> dict[str, Any]:
    return dict(ok(await client.post("/v1/rewards", headers=kit.admin, json=offer_body(**overrides))))


async def add_discount(client: httpx.AsyncClient, kit: TenantKit, reward_id: str, **body: Any) -> dict[str, Any]:
    answer = await client.post(f"/v1/rewards/{reward_id}/discounts", headers=kit.admin, json=body)
    return dict(ok(answer, 201))


async def listed(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    return list(ok(await client.get("/v1/rewards", headers=headers, params={"limit": 1000, **params})))


def names(rewards: list[dict[str, Any]]) -> set[str]:
    return {r["name"] for r in rewards}


# ---- rows a reward refers to ----


def _now() -> datetime:
    return datetime.now(UTC)


async def insert_tier(
    db: Database, kit: TenantKit, name: str, priority: int, *, deleted: bool = False
) -> dict[str, Any]:
    tier_id = uuid.uuid4()
    await db.run(
        lambda tx: tx.execute(
            insert(tiers).values(
                tenant_id=uuid.UUID(kit.tenant_id),
                tier_id=tier_id,
                name=name,
                details={},
                default_locale="en",
                points_requirement=priority * 1000,
                calculation="LIFETIME_EARN",
                priority=priority,
                created_at=_now(),
                updated_at=_now(),
                deleted_at=_now() if deleted else None,
            )
        )
    )
    return {"id": str(tier_id), "name": name, "priority": priority}


async def set_member_tier(db: Database, kit: TenantKit, member: dict[str, Any], tier: dict[str, Any] | None) -> None:
    tenant_id, member_id = uuid.UUID(kit.tenant_id), uuid.UUID(member["id"])

    async def write(tx: Any) -> None:
        await tx.execute(
            delete(member_tiers).where(member_tiers.c.tenant_id == tenant_id, member_tiers.c.member_id == member_id)
        )
        await tx.execute(
            insert(member_tiers).values(
                tenant_id=tenant_id,
                member_id=member_id,
                tier_id=uuid.UUID(tier["id"]) if tier else None,
                updated_at=_now(),
            )
        )

    await db.run(write)


async def insert_audience(
    db: Database, kit: TenantKit, name: str, *, active: bool = True, deleted: bool = False
) -> dict[str, Any]:
    audience_id = uuid.uuid4()
    await db.run(
        lambda tx: tx.execute(
            insert(audiences).values(
                tenant_id=uuid.UUID(kit.tenant_id),
                audience_id=audience_id,
                name=name,
                is_active=active,
                criteria={},
                trigger_frequency="MANUAL",
                send_joined_event=False,
                send_left_event=False,
                created_at=_now(),
                updated_at=_now(),
                deleted_at=_now() if deleted else None,
            )
        )
    )
    return {"id": str(audience_id), "name": name}


async def join_audience(db: Database, kit: TenantKit, audience: dict[str, Any], member: dict[str, Any]) -> None:
    await db.run(
        lambda tx: tx.execute(
            insert(audience_members).values(
                tenant_id=uuid.UUID(kit.tenant_id),
                audience_id=uuid.UUID(audience["id"]),
                member_id=uuid.UUID(member["id"]),
                joined_at=_now(),
            )
        )
    )


async def insert_venue(db: Database, kit: TenantKit, name: str, *, deleted: bool = False) -> dict[str, Any]:
    venue_id = uuid.uuid4()
    await db.run(
        lambda tx: tx.execute(
            insert(venues).values(
                tenant_id=uuid.UUID(kit.tenant_id),
                venue_id=venue_id,
                name=name,
                attributes={},
                created_at=_now(),
                updated_at=_now(),
                deleted_at=_now() if deleted else None,
            )
        )
    )
    return {"id": str(venue_id), "name": name}


async def insert_code_pool(db: Database, kit: TenantKit, name: str = "Partner codes") -> dict[str, Any]:
    pool_id = uuid.uuid4()
    await db.run(
        lambda tx: tx.execute(
            insert(code_pools).values(
                tenant_id=uuid.UUID(kit.tenant_id), pool_id=pool_id, name=name, active=True, created_at=_now()
            )
        )
    )
    return {"id": str(pool_id)}


# ---- member tokens ----


async def enable_member_tokens(db: Database, kit: TenantKit) -> None:
    config = {"algorithm": "HS256", "issuer": ISSUER, "sharedSecret": SHARED_SECRET}
    await db.run(lambda tx: tenant_service.set_user_auth(tx, uuid.UUID(kit.tenant_id), config))


def member_headers(kit: TenantKit, member: dict[str, Any]) -> dict[str, str]:
    claims = {"sub": member["authIdentifier"], "iss": ISSUER, "iat": 1_700_000_000, "exp": 4_000_000_000}
    return {"X-Api-Key": kit.api_key, "Authorization": f"Bearer {jwt.encode(claims, SHARED_SECRET)}"}
