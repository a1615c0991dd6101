"""The daily jobs (contract §6): CALENDAR_PERIOD tier review, DAILY audience refresh, idempotency-key reaping;
on demand with trigger_daily_cron, and once with ``loyalty daily``."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import time_machine
from sqlalchemy import select

from loyalty.services import tiers as tier_service
from loyalty.storage.database import Database
from loyalty.storage.tables import events
from tests.conftest import TenantKit, adjust, create_member, get_token
from tests.processes import loyalty_cli

TRIGGER = "/v1/points_liability_criteria/trigger_daily_cron"
STAFF = {
    "properties": {"flags": {"properties": {"staff": {"const": True}}, "required": ["staff"]}},
    "required": ["flags"],
}
NOTHING = {
    "tierMoves": 0,
    "audiencesRefreshed": 0,
    "audienceJoins": 0,
    "audienceLeaves": 0,
    "pointsActivated": 0,
    "pointsExpired": 0,
    "membersExpired": 0,
}


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"
    return answer.json()["data"]


async def admin_now(client: httpx.AsyncClient, tenant: TenantKit) -> dict[str, str]:
    """Admin headers with a token issued at the (possibly travelled) current time."""
    token = await get_token(client, tenant.api_key, tenant.admin_client_id, tenant.admin_secret)
    return {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {token}"}


async def typed_events(db: Database, tenant: TenantKit, member_id: str, event_type: str) -> list[dict[str, Any]]:
    async def read(tx: Any) -> list[dict[str, Any]]:
        rows = await tx.execute(
            select(events.c.payload)
            .where(
                events.c.tenant_id == uuid.UUID(tenant.tenant_id),
                events.c.subject_id == uuid.UUID(member_id),
                events.c.type == event_type,
            )
            .order_by(events.c.reported_at)
        )
        return [dict(r.payload) for r in rows]

    return await db.run(read, write=False)


async def held_tier(db: Database, tenant: TenantKit, member_id: str) -> str | None:
    tier = await db.run(
        lambda tx: tier_service.member_tier(tx, uuid.UUID(tenant.tenant_id), uuid.UUID(member_id)), write=False
    )
    return tier.name if tier else None


async def test_calendar_period_tier_lapses_on_the_daily_review(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    silver = ok(
        await client.post(
            "/v1/tiers",
            headers=tenant.admin,
            json={
                "name": "Silver",
                "priority": 1,
                "pointsRequirement": 2000,
                "calculation": "CALENDAR_PERIOD",
                "accumulationPeriod": "P1Y",
            },
        )
    )
    member = await create_member(client, tenant.admin)
    with time_machine.travel(datetime(2023, 9, 22, 10, tzinfo=UTC), tick=False):
        headers = {**await admin_now(client, tenant), "Idempotency-Key": f"earn-{uuid.uuid4()}"}
        assert (await adjust(client, headers, member["id"], 2000)).status_code == 200
    assert await held_tier(db, tenant, member["id"]) == "Silver"

    # Nothing happens to the member in 2024 or 2025: only the daily review notices the window has moved on.
    with time_machine.travel(datetime(2025, 2, 1, 9, tzinfo=UTC), tick=False):
        headers = await admin_now(client, tenant)
        first = ok(await client.post(TRIGGER, headers=headers))
        assert await held_tier(db, tenant, member["id"]) is None
        second = ok(await client.post(TRIGGER, headers=headers))

    assert first == {**NOTHING, "tierMoves": 1, "idempotencyKeysReaped": 1}
    assert second == {**NOTHING, "idempotencyKeysReaped": 0}
    assert await typed_events(db, tenant, member["id"], "TIER_CHANGED") == [
        {"fromTierId": None, "toTierId": silver["id"]},
        {"fromTierId": silver["id"], "toTierId": None},
    ]


async def test_daily_audience_is_refreshed(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    audience = ok(
        await client.post(
            "/v1/audiences",
            headers=tenant.admin,
            json={
                "name": "Staff",
                "isActive": True,
                "criteriaDefinition": {"criteriaFormat": "JSON_SCHEMA", "criteria": STAFF, "triggerFrequency": "DAILY"},
                "sendAudienceJoinedEvent": True,
                "sendAudienceLeftEvent": True,
            },
        )
    )
    member = await create_member(client, tenant.admin)
    ok(await client.patch(f"/v1/users/{member['id']}", headers=tenant.admin, json={"flags": {"staff": True}}))
    results = f"/v1/audiences/{audience['id']}/results"
    # Only REACTIVE audiences follow a change at once; a DAILY one waits for the daily refresh.
    assert ok(await client.get(results, headers=tenant.admin)) == []

    first = ok(await client.post(TRIGGER, headers=tenant.admin))
    assert first == {**NOTHING, "audiencesRefreshed": 1, "audienceJoins": 1, "idempotencyKeysReaped": 0}
    assert [m["id"] for m in ok(await client.get(results, headers=tenant.admin))] == [member["id"]]
    assert await typed_events(db, tenant, member["id"], "AUDIENCE_JOINED") == [{"audienceId": audience["id"]}]

    second = ok(await client.post(TRIGGER, headers=tenant.admin))
    assert second == {**NOTHING, "audiencesRefreshed": 1, "idempotencyKeysReaped": 0}
    assert len(await typed_events(db, tenant, member["id"], "AUDIENCE_JOINED")) == 1


async def test_daily_command_on_a_fresh_database(fresh_database_url: str):
    code, output = await loyalty_cli(fresh_database_url, "daily", "--json")
    assert code == 0, output
    assert json.loads(output)["tenants"] == 0
    code, output = await loyalty_cli(fresh_database_url, "tenants", "create", "shop", "--json")
    assert code == 0, output
    code, output = await loyalty_cli(fresh_database_url, "daily", "--json")
    assert code == 0, output
    assert json.loads(output) == {
        "tenants": 1,
        "tierMoves": 0,
        "audiencesRefreshed": 0,
        "audienceJoins": 0,
        "audienceLeaves": 0,
        "idempotencyKeysReaped": 0,
        "pointsActivated": 0,
        "pointsExpired": 0,
        "membersExpired": 0,
    }
