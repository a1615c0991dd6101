"""Small reads for the operator console (ext): a member's audiences, a dry-run count of an audience definition, and
every version of a reactor."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from loyalty.storage.database import Database
from loyalty.storage.tables import audience_members
from tests.api.catalogue import assert_fail, ok
from tests.api.test_audiences import STAFF, create_audience, definition, results, set_staff
from tests.api.test_events import create_reactor, create_type, fixed, points_reaction, snapshot
from tests.conftest import TenantKit, adjust, create_member

# ---- GET /v1/users/{id}/audiences ----


async def audiences_of(client: httpx.AsyncClient, tenant: TenantKit, identifier: str) -> list[dict[str, Any]]:
    return list(ok(await client.get(f"/v1/users/{identifier}/audiences", headers=tenant.admin)))


async def joined_at(db: Database, tenant: TenantKit, audience: dict[str, Any], member: dict[str, Any]) -> str:
    async def read(tx: Any) -> Any:
        query = select(audience_members.c.joined_at).where(
            audience_members.c.tenant_id == uuid.UUID(tenant.tenant_id),
            audience_members.c.audience_id == uuid.UUID(audience["id"]),
            audience_members.c.member_id == uuid.UUID(member["id"]),
        )
        return (await tx.execute(query)).scalar_one()

    moment = await db.run(read, write=False)
    return str(moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"))


async def test_a_members_audiences_with_when_they_joined(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    member = await create_member(client, tenant.admin, externalIdentifier=f"card-{uuid.uuid4().hex[:6]}")
    everyone = await create_audience(client, tenant, {}, name="Everyone")
    await set_staff(client, tenant, member, True)
    staff = await create_audience(client, tenant, STAFF, name="Staff")
    rich = await create_audience(
        client, tenant, {"properties": {"points": {"properties": {"balance": {"minimum": 1000}}}}}, name="Rich"
    )
    switched_off = await create_audience(client, tenant, {}, name="Switched off")
    ok(await client.patch(f"/v1/audiences/{switched_off['id']}", headers=tenant.admin, json={"isActive": False}))
    retired = await create_audience(client, tenant, {}, name="Retired")
    ok(await client.delete(f"/v1/audiences/{retired['id']}", headers=tenant.admin))

    found = await audiences_of(client, tenant, member["id"])
    # Active, live audiences only, oldest membership first; the inactive one keeps the member but does not count.
    assert found == [
        {
            "id": everyone["id"],
            "name": "Everyone",
            "description": "Everyone who works for us",
            "joinedAt": await joined_at(db, tenant, everyone, member),
        },
        {
            "id": staff["id"],
            "name": "Staff",
            "description": "Everyone who works for us",
            "joinedAt": await joined_at(db, tenant, staff, member),
        },
    ]
    # Any identifier names the member.
    for identifier in (member["accountNumber"], member["authIdentifier"], member["externalIdentifier"]):
        assert await audiences_of(client, tenant, identifier) == found

    # Points move the member into another audience; losing the flag out of one.
    ok(await adjust(client, tenant.admin, member["id"], 1000))
    await set_staff(client, tenant, member, False)
    assert [a["name"] for a in await audiences_of(client, tenant, member["id"])] == ["Everyone", "Rich"]
    assert rich["id"] in {a["id"] for a in await audiences_of(client, tenant, member["id"])}

    newcomer = await create_member(client, tenant.admin)
    assert [a["name"] for a in await audiences_of(client, tenant, newcomer["id"])] == ["Everyone"]


async def test_a_members_audiences_refusals(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert await audiences_of(client, tenant, member["id"]) == []
    assert_fail(await client.get(f"/v1/users/{uuid.uuid4()}/audiences", headers=tenant.admin), 404, "USER_NOT_FOUND")
    assert_fail(await client.get(f"/v1/users/{member['id']}/audiences", headers=tenant.pos), 403, "FORBIDDEN")
    ok(await client.delete(f"/v1/users/{member['id']}", headers=tenant.admin))
    assert_fail(await client.get(f"/v1/users/{member['id']}/audiences", headers=tenant.admin), 404, "USER_NOT_FOUND")


# ---- POST /v1/audiences/count ----


async def count(client: httpx.AsyncClient, tenant: TenantKit, body: dict[str, Any]) -> dict[str, Any]:
    return dict(ok(await client.post("/v1/audiences/count", headers=tenant.admin, json=body)))


async def test_counting_a_definition_assesses_every_open_member_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    staff = [await create_member(client, tenant.admin, flags={"staff": True}) for _ in range(2)]
    await create_member(client, tenant.admin)
    leaver = await create_member(client, tenant.admin, flags={"staff": True})
    ok(await client.delete(f"/v1/users/{leaver['id']}", headers=tenant.admin))
    ok(await adjust(client, tenant.admin, staff[0]["id"], 500))
    before = await snapshot(db, tenant)

    assert await count(client, tenant, definition(STAFF)) == {"count": 2, "assessed": 3}
    assert await count(client, tenant, definition({})) == {"count": 3, "assessed": 3}
    rich = {"properties": {"points": {"properties": {"balance": {"minimum": 500}}}}}
    assert await count(client, tenant, definition(rich, triggerFrequency="MANUAL", isActive=False)) == {
        "count": 1,
        "assessed": 3,
    }
    # With an Idempotency-Key too: a read keeps nothing.
    keyed = await client.post(
        "/v1/audiences/count", headers={**tenant.admin, "Idempotency-Key": "count-1"}, json=definition(STAFF)
    )
    assert ok(keyed) == {"count": 2, "assessed": 3}

    # Not a row of any table changed: no audience, no membership, no event, no idempotency key, no audit entry.
    assert await snapshot(db, tenant) == before

    # What the count said is what creating the audience does.
    created = await create_audience(client, tenant, STAFF)
    assert sorted(await results(client, tenant, created)) == sorted(m["id"] for m in staff)


async def test_counting_refuses_what_creating_refuses(client: httpx.AsyncClient, tenant: TenantKit):
    bad_schema = definition({"type": "nonsense"})
    assert_fail(await client.post("/v1/audiences/count", headers=tenant.admin, json=bad_schema), 400, "INVALID_SCHEMA")
    tree = definition({})
    tree["criteriaDefinition"]["criteriaFormat"] = "QUERY_TREE"
    assert_fail(await client.post("/v1/audiences/count", headers=tenant.admin, json=tree), 400, "UNSUPPORTED_FIELD")
    nameless = definition({})
    del nameless["name"]
    assert_fail(await client.post("/v1/audiences/count", headers=tenant.admin, json=nameless), 400, "VALIDATION_ERROR")
    assert_fail(await client.post("/v1/audiences/count", headers=tenant.pos, json=definition({})), 403, "FORBIDDEN")


# ---- GET /v1/event_reactors/{id}/versions ----


async def versions(client: httpx.AsyncClient, tenant: TenantKit, reactor_id: str) -> list[dict[str, Any]]:
    return list(ok(await client.get(f"/v1/event_reactors/{reactor_id}/versions", headers=tenant.admin)))


async def test_every_version_of_a_reactor_oldest_first_from_any_of_them(client: httpx.AsyncClient, tenant: TenantKit):
    await create_type(client, tenant, "VISITED")
    first = await create_reactor(client, tenant, "VISITED", [points_reaction(fixed(5))], "Visit bonus")
    other = await create_reactor(client, tenant, "VISITED", [points_reaction(fixed(1))], "Something else")
    second = ok(
        await client.patch(f"/v1/event_reactors/{first['id']}", headers=tenant.admin, json={"name": "Visit bonus 2"})
    )
    third = ok(
        await client.patch(
            f"/v1/event_reactors/{second['id']}",
            headers=tenant.admin,
            json={"reactions": [points_reaction(fixed(7))]},
        )
    )
    ok(await client.delete(f"/v1/event_reactors/{third['id']}", headers=tenant.admin))

    chain = await versions(client, tenant, first["id"])
    assert [v["id"] for v in chain] == [first["id"], second["id"], third["id"]]
    assert [v["previousVersionId"] for v in chain] == [None, first["id"], second["id"]]
    assert [v["name"] for v in chain] == ["Visit bonus", "Visit bonus 2", "Visit bonus 2"]
    assert all(v["effectivity"]["end"] is not None for v in chain)
    # Each version is what GET /v1/event_reactors/{id} answers for it; any version names the whole chain.
    for version in chain:
        assert ok(await client.get(f"/v1/event_reactors/{version['id']}", headers=tenant.admin)) == version
        assert await versions(client, tenant, version["id"]) == chain

    assert [v["id"] for v in await versions(client, tenant, other["id"])] == [other["id"]]
    missing = await client.get(f"/v1/event_reactors/{uuid.uuid4()}/versions", headers=tenant.admin)
    assert_fail(missing, 404, "REACTOR_NOT_FOUND")
    assert_fail(await client.get(f"/v1/event_reactors/{first['id']}/versions", headers=tenant.pos), 403, "FORBIDDEN")
