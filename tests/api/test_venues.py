"""Venues over HTTP (contract §4.6, WLL's VenueDefinition): the store number is the externalIdentifier."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from loyalty.domain.errors import NotFound
from loyalty.services import venues as venue_service
from loyalty.storage.database import Database
from tests.conftest import TenantKit, make_tenant


def assert_fail(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert document["status"] == "fail", answer.text
    assert document["data"]["code"] == code, answer.text
    return dict(document["data"])


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"
    return answer.json()["data"]


def store(number: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": "High Street",
        "address": "1 High Street, Oxford",
        "description": "Our first shop",
        "availability": {"start": "2024-01-01", "end": "2030-01-01T18:00:00+01:00"},
        "coordinates": {"latitude": 51.752, "longitude": -1.2577},
        "attributes": {"telephoneNumber": "+44 1865 000000", "openingTimes": {"mon": "8-18"}},
        "externalIdentifier": number or f"S{uuid.uuid4().hex[:6]}",
        "postcode": "OX1 1AA",
        **extra,
    }


async def create(client: httpx.AsyncClient, tenant: TenantKit, **extra: Any) -> dict[str, Any]:
    return dict(ok(await client.post("/v1/venues", headers=tenant.admin, json=store(**extra))))


async def test_a_venue_is_created_with_every_wll_field(client: httpx.AsyncClient, tenant: TenantKit):
    body = store("372")

    venue = ok(await client.post("/v1/venues", headers=tenant.admin, json=body))

    assert str(uuid.UUID(venue["id"])) == venue["id"]
    assert {k: venue[k] for k in ("name", "address", "description", "coordinates", "attributes", "postcode")} == {
        k: body[k] for k in ("name", "address", "description", "coordinates", "attributes", "postcode")
    }
    assert venue["externalIdentifier"] == "372"
    assert venue["availability"] == {"start": "2024-01-01T00:00:00.000Z", "end": "2030-01-01T17:00:00.000Z"}
    assert venue["createdAt"].endswith("Z")


async def test_only_a_name_is_required(client: httpx.AsyncClient, tenant: TenantKit):
    venue = ok(await client.post("/v1/venues", headers=tenant.admin, json={"name": "Pop-up"}))

    assert venue["externalIdentifier"] is None
    assert venue["attributes"] == {}
    assert venue["availability"] == {"start": None, "end": None}


async def test_a_venue_is_found_by_id_or_store_number(client: httpx.AsyncClient, tenant: TenantKit):
    venue = await create(client, tenant, number="0042")

    by_id = ok(await client.get(f"/v1/venues/{venue['id']}", headers=tenant.pos))
    by_number = ok(await client.get("/v1/venues/0042", headers=tenant.pos))

    assert by_id == by_number == venue


async def test_the_engine_resolves_a_venue_by_id_or_store_number(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    venue = await create(client, tenant, number="S-17")
    tenant_id = uuid.UUID(tenant.tenant_id)

    by_number = await db.run(lambda tx: venue_service.resolve_venue(tx, tenant_id, "S-17"), write=False)
    by_id = await db.run(lambda tx: venue_service.resolve_venue(tx, tenant_id, venue["id"]), write=False)

    assert by_number.venue_id == by_id.venue_id == uuid.UUID(venue["id"])
    with pytest.raises(NotFound) as caught:
        await db.run(lambda tx: venue_service.resolve_venue(tx, tenant_id, "S-18"), write=False)
    assert caught.value.code == "VENUE_NOT_FOUND"


async def test_venues_are_listed_newest_first(client: httpx.AsyncClient, db: Database):
    tenant = await make_tenant(client, db, "lister")
    first = await create(client, tenant)
    second = await create(client, tenant)

    answer = await client.get("/v1/venues", headers=tenant.pos)

    assert [v["id"] for v in ok(answer)] == [second["id"], first["id"]]
    assert answer.json()["meta"] == {"limit": 20, "skip": 0, "total": 2}
    ascending = ok(await client.get("/v1/venues", headers=tenant.pos, params={"order": "ASC", "limit": 1}))
    assert [v["id"] for v in ascending] == [first["id"]]


async def test_a_store_number_is_unique_in_the_tenant(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    await create(client, tenant, number="372")

    data = assert_fail(
        await client.post("/v1/venues", headers=tenant.admin, json=store("372")), 409, "VENUE_ALREADY_EXISTS"
    )

    assert data["field"] == "externalIdentifier"
    other = await make_tenant(client, db, "other shop")
    assert (await client.post("/v1/venues", headers=other.admin, json=store("372"))).status_code == 200


async def test_two_venues_created_at_once_with_one_store_number_make_one(client: httpx.AsyncClient, tenant: TenantKit):
    number = f"R{uuid.uuid4().hex[:6]}"

    answers = await asyncio.gather(
        *(client.post("/v1/venues", headers=tenant.admin, json=store(number)) for _ in range(5))
    )

    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409]
    assert ok(await client.get(f"/v1/venues/{number}", headers=tenant.admin))["externalIdentifier"] == number


async def test_patch_changes_the_fields_given_and_null_clears(client: httpx.AsyncClient, tenant: TenantKit):
    venue = await create(client, tenant)

    patched = ok(
        await client.patch(
            f"/v1/venues/{venue['id']}",
            headers=tenant.admin,
            json={"name": "High Street (new)", "description": None, "availability": None},
        )
    )

    assert patched["name"] == "High Street (new)"
    assert patched["description"] is None
    assert patched["availability"] == {"start": None, "end": None}
    assert patched["address"] == venue["address"]
    assert patched["externalIdentifier"] == venue["externalIdentifier"]


async def test_patch_to_a_taken_store_number_is_409(client: httpx.AsyncClient, tenant: TenantKit):
    taken = await create(client, tenant)
    venue = await create(client, tenant)

    answer = await client.patch(
        f"/v1/venues/{venue['id']}", headers=tenant.admin, json={"externalIdentifier": taken["externalIdentifier"]}
    )

    assert_fail(answer, 409, "VENUE_ALREADY_EXISTS")


async def test_delete_hides_the_venue_and_frees_its_store_number(client: httpx.AsyncClient, tenant: TenantKit):
    venue = await create(client, tenant, number="900")

    deleted = ok(await client.delete("/v1/venues/900", headers=tenant.admin))

    assert deleted["id"] == venue["id"]
    assert deleted["deletedAt"] is not None
    assert_fail(await client.get(f"/v1/venues/{venue['id']}", headers=tenant.admin), 404, "VENUE_NOT_FOUND")
    assert_fail(await client.get("/v1/venues/900", headers=tenant.admin), 404, "VENUE_NOT_FOUND")
    assert venue["id"] not in [v["id"] for v in ok(await client.get("/v1/venues", headers=tenant.admin))]
    assert ok(await client.post("/v1/venues", headers=tenant.admin, json=store("900")))["id"] != venue["id"]


async def test_invalid_coordinates_are_400(client: httpx.AsyncClient, tenant: TenantKit):
    for coordinates in ({"latitude": 91, "longitude": 0}, {"latitude": 0, "longitude": -180.5}, {"latitude": 1}):
        answer = await client.post("/v1/venues", headers=tenant.admin, json=store(coordinates=coordinates))
        data = assert_fail(answer, 400, "VALIDATION_ERROR")
        assert data["errors"][0]["field"].startswith("coordinates")


async def test_field_limits_are_wlls(client: httpx.AsyncClient, tenant: TenantKit):
    assert_fail(await client.post("/v1/venues", headers=tenant.admin, json=store(name="")), 400, "VALIDATION_ERROR")
    too_long = store(name="x" * 65)
    assert_fail(await client.post("/v1/venues", headers=tenant.admin, json=too_long), 400, "VALIDATION_ERROR")
    long_number = store("9" * 513)
    assert_fail(await client.post("/v1/venues", headers=tenant.admin, json=long_number), 400, "VALIDATION_ERROR")
    assert (await client.post("/v1/venues", headers=tenant.admin, json=store("9" * 512))).status_code == 200


async def test_an_availability_that_ends_before_it_starts_is_400(client: httpx.AsyncClient, tenant: TenantKit):
    window = {"start": "2025-02-01", "end": "2025-01-01"}
    answer = await client.post("/v1/venues", headers=tenant.admin, json=store(availability=window))
    assert_fail(answer, 400, "INVALID_EFFECTIVITY")
    venue = await create(client, tenant)
    patched = await client.patch(f"/v1/venues/{venue['id']}", headers=tenant.admin, json={"availability": window})
    assert_fail(patched, 400, "INVALID_EFFECTIVITY")
    bad_date = await client.post("/v1/venues", headers=tenant.admin, json=store(availability={"start": "soon"}))
    assert_fail(bad_date, 400, "INVALID_DATE")


async def test_wll_fields_the_engine_does_not_implement_are_400_unsupported(
    client: httpx.AsyncClient, tenant: TenantKit
):
    for field, value in (("isUserModifiable", True), ("type", "MERCHANT")):
        answer = await client.post("/v1/venues", headers=tenant.admin, json=store(**{field: value}))
        data = assert_fail(answer, 400, "UNSUPPORTED_FIELD")
        assert data["errors"] == [{"field": field, "message": "not supported by this engine"}]


async def test_pos_reads_venues_but_may_not_change_them(client: httpx.AsyncClient, tenant: TenantKit):
    venue = await create(client, tenant)

    assert_fail(await client.post("/v1/venues", headers=tenant.pos, json=store()), 403, "FORBIDDEN")
    assert_fail(
        await client.patch(f"/v1/venues/{venue['id']}", headers=tenant.pos, json={"name": "x"}), 403, "FORBIDDEN"
    )
    assert_fail(await client.delete(f"/v1/venues/{venue['id']}", headers=tenant.pos), 403, "FORBIDDEN")
    assert ok(await client.get(f"/v1/venues/{venue['id']}", headers=tenant.pos))["name"] == venue["name"]


async def test_another_tenants_venue_is_404(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    venue = await create(client, tenant, number="55")
    other = await make_tenant(client, db, "other shop")

    assert_fail(await client.get(f"/v1/venues/{venue['id']}", headers=other.admin), 404, "VENUE_NOT_FOUND")
    assert_fail(await client.get("/v1/venues/55", headers=other.admin), 404, "VENUE_NOT_FOUND")
    assert_fail(await client.delete(f"/v1/venues/{venue['id']}", headers=other.admin), 404, "VENUE_NOT_FOUND")
