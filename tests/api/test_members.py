"""Members over HTTP: sign-up, lookup by any identifier, profile changes, closing an account, admin search."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from loyalty.storage.database import Database
from loyalty.storage.tables import events, point_entries
from tests.conftest import TenantKit, adjust, create_member, make_tenant, member_body

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


async def event_types(db: Database, tenant: TenantKit, member_id: str) -> list[str]:
    """The types of the stored events whose subject is this member, in no particular order."""

    async def work(tx: Any) -> list[str]:
        rows = await tx.execute(
            select(events.c.type).where(
                events.c.tenant_id == uuid.UUID(tenant.tenant_id), events.c.subject_id == uuid.UUID(member_id)
            )
        )
        return sorted(r.type for r in rows)

    return await db.run(work, write=False)


async def ledger_row_count(db: Database, tenant: TenantKit, member_id: str) -> int:
    async def work(tx: Any) -> int:
        query = (
            select(func.count())
            .select_from(point_entries)
            .where(
                point_entries.c.tenant_id == uuid.UUID(tenant.tenant_id),
                point_entries.c.member_id == uuid.UUID(member_id),
            )
        )
        return int((await tx.execute(query)).scalar_one())

    return await db.run(work, write=False)


async def search(client: httpx.AsyncClient, tenant: TenantKit, text: str, **params: Any) -> dict[str, Any]:
    answer = await client.get("/v1/users", headers=tenant.admin, params={"search": text, **params})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def assert_fail(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert document["status"] == "fail"
    assert document["data"]["code"] == code


# ---- sign-up ----


async def test_a_sign_up_returns_the_member_with_ids_profile_and_timestamps(client, tenant: TenantKit):
    body = member_body(externalIdentifier=f"ext-{uuid.uuid4().hex[:8]}")
    answer = await client.post("/v1/users", headers=tenant.admin, json=body)

    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["status"] == "success"
    member = document["data"]
    assert str(uuid.UUID(member["id"])) == member["id"]
    assert re.fullmatch(r"[1-9]\d{6}", member["accountNumber"])
    assert member["authIdentifier"] == body["authIdentifier"]
    assert member["externalIdentifier"] == body["externalIdentifier"]
    assert member["profile"] == {
        "givenName": "Ada",
        "familyName": "Lovelace",
        "emailAddress": body["profile"]["emailAddress"],
        "gender": "UNKNOWN",
        "attributes": {},
    }
    assert member["flags"] == {}
    assert member["isRestricted"] is False
    assert TIMESTAMP.match(member["createdAt"]), member["createdAt"]
    assert TIMESTAMP.match(member["updatedAt"]), member["updatedAt"]
    assert member["createdAt"] == member["updatedAt"]


async def test_a_sign_up_keeps_the_given_gender_attributes_flags_and_restriction(client, tenant: TenantKit):
    body = member_body(flags={"staff": True}, isRestricted=True)
    body["profile"].update(gender="FEMALE", attributes={"shoeSize": 38, "newsletter": True})
    member = await create_member(client, tenant.admin, **body)

    assert member["profile"]["gender"] == "FEMALE"
    assert member["profile"]["attributes"] == {"shoeSize": 38, "newsletter": True}
    assert member["flags"] == {"staff": True}
    assert member["isRestricted"] is True


async def test_every_sign_up_gets_its_own_account_number(client, tenant: TenantKit):
    numbers = {(await create_member(client, tenant.pos))["accountNumber"] for _ in range(5)}
    assert len(numbers) == 5


async def test_a_duplicate_auth_identifier_is_refused_with_user_already_exists(client, tenant: TenantKit):
    first = await create_member(client, tenant.admin)
    answer = await client.post(
        "/v1/users", headers=tenant.admin, json=member_body(authIdentifier=first["authIdentifier"])
    )
    assert_fail(answer, 409, "USER_ALREADY_EXISTS")
    assert (await search(client, tenant, first["authIdentifier"]))["meta"]["total"] == 1


async def test_a_duplicate_external_identifier_is_refused_with_user_already_exists(client, tenant: TenantKit):
    external = f"ext-{uuid.uuid4().hex[:8]}"
    await create_member(client, tenant.admin, externalIdentifier=external)
    answer = await client.post("/v1/users", headers=tenant.admin, json=member_body(externalIdentifier=external))
    assert_fail(answer, 409, "USER_ALREADY_EXISTS")
    assert (await search(client, tenant, external))["meta"]["total"] == 1


async def test_a_sign_up_emits_registered_account(client, db, tenant: TenantKit):
    member = await create_member(client, tenant.pos)
    assert await event_types(db, tenant, member["id"]) == ["REGISTERED_ACCOUNT"]


# ---- lookup ----


async def test_a_member_is_found_by_id_account_number_auth_and_external_identifier(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin, externalIdentifier=f"ext-{uuid.uuid4().hex[:8]}")
    for identifier in (
        member["id"],
        member["accountNumber"],
        member["authIdentifier"],
        member["externalIdentifier"],
    ):
        answer = await client.get(f"/v1/users/{identifier}", headers=tenant.pos)
        assert answer.status_code == 200, (identifier, answer.text)
        assert answer.json()["data"] == member


async def test_an_account_number_match_wins_over_an_auth_identifier_match(client, tenant: TenantKit):
    numbered = await create_member(client, tenant.admin)
    # A second member whose authIdentifier is the first member's account number.
    shadow = await create_member(client, tenant.admin, authIdentifier=numbered["accountNumber"])
    assert shadow["id"] != numbered["id"]

    answer = await client.get(f"/v1/users/{numbered['accountNumber']}", headers=tenant.admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["id"] == numbered["id"]


async def test_an_auth_identifier_match_wins_over_an_external_identifier_match(client, tenant: TenantKit):
    shared = f"name-{uuid.uuid4().hex[:8]}"
    by_external = await create_member(client, tenant.admin, externalIdentifier=shared)
    by_auth = await create_member(client, tenant.admin, authIdentifier=shared)
    assert by_external["id"] != by_auth["id"]

    answer = await client.get(f"/v1/users/{shared}", headers=tenant.admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["id"] == by_auth["id"]


async def test_a_uuid_match_wins_over_an_auth_identifier_match(client, tenant: TenantKit):
    target = await create_member(client, tenant.admin)
    await create_member(client, tenant.admin, authIdentifier=target["id"])

    answer = await client.get(f"/v1/users/{target['id']}", headers=tenant.admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["id"] == target["id"]


async def test_an_unknown_member_is_404_user_not_found(client, tenant: TenantKit):
    for identifier in (str(uuid.uuid4()), "1000000", "nobody-here"):
        answer = await client.get(f"/v1/users/{identifier}", headers=tenant.admin)
        assert_fail(answer, 404, "USER_NOT_FOUND")


async def test_a_member_of_another_tenant_is_not_found(client, db, tenant: TenantKit):
    other = await make_tenant(client, db, "other shop")
    member = await create_member(client, other.admin)
    for identifier in (member["id"], member["accountNumber"], member["authIdentifier"]):
        answer = await client.get(f"/v1/users/{identifier}", headers=tenant.admin)
        assert_fail(answer, 404, "USER_NOT_FOUND")


# ---- profile changes ----


async def test_a_patch_merges_profile_fields_and_attributes_and_null_removes_an_attribute(
    client, db, tenant: TenantKit
):
    body = member_body()
    body["profile"]["attributes"] = {"shoeSize": 38, "favourite": "tea", "newsletter": True}
    member = await create_member(client, tenant.admin, **body)

    answer = await client.patch(
        f"/v1/users/{member['id']}",
        headers=tenant.admin,
        json={"profile": {"givenName": "Grace", "city": "London", "attributes": {"favourite": None, "vip": 1}}},
    )

    assert answer.status_code == 200, answer.text
    updated = answer.json()["data"]
    assert updated["profile"] == {
        "givenName": "Grace",
        "familyName": "Lovelace",
        "emailAddress": body["profile"]["emailAddress"],
        "city": "London",
        "gender": "UNKNOWN",
        "attributes": {"shoeSize": 38, "newsletter": True, "vip": 1},
    }
    assert updated["accountNumber"] == member["accountNumber"]
    assert updated["createdAt"] == member["createdAt"]
    assert TIMESTAMP.match(updated["updatedAt"])
    assert updated["updatedAt"] >= member["updatedAt"]
    fetched = await client.get(f"/v1/users/{member['id']}", headers=tenant.admin)
    assert fetched.json()["data"] == updated
    assert await event_types(db, tenant, member["id"]) == ["PROFILE_UPDATED", "REGISTERED_ACCOUNT"]


async def test_an_admin_sets_flags_external_identifier_and_restriction(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin, flags={"staff": True})
    external = f"ext-{uuid.uuid4().hex[:8]}"

    answer = await client.patch(
        f"/v1/users/{member['accountNumber']}",
        headers=tenant.admin,
        json={"flags": {"vip": True}, "externalIdentifier": external, "isRestricted": True},
    )

    assert answer.status_code == 200, answer.text
    updated = answer.json()["data"]
    assert updated["flags"] == {"staff": True, "vip": True}
    assert updated["externalIdentifier"] == external
    assert updated["isRestricted"] is True
    assert updated["profile"] == member["profile"]
    found = await client.get(f"/v1/users/{external}", headers=tenant.pos)
    assert found.status_code == 200, found.text
    assert found.json()["data"]["id"] == member["id"]


async def test_a_patch_to_another_members_external_identifier_is_409(client, tenant: TenantKit):
    taken = f"ext-{uuid.uuid4().hex[:8]}"
    owner = await create_member(client, tenant.admin, externalIdentifier=taken)
    member = await create_member(client, tenant.admin)

    answer = await client.patch(f"/v1/users/{member['id']}", headers=tenant.admin, json={"externalIdentifier": taken})

    assert_fail(answer, 409, "USER_ALREADY_EXISTS")
    unchanged = (await client.get(f"/v1/users/{member['id']}", headers=tenant.admin)).json()["data"]
    assert unchanged["externalIdentifier"] is None
    assert (await client.get(f"/v1/users/{taken}", headers=tenant.admin)).json()["data"]["id"] == owner["id"]


async def test_a_patch_keeping_the_members_own_external_identifier_succeeds(client, tenant: TenantKit):
    own = f"ext-{uuid.uuid4().hex[:8]}"
    member = await create_member(client, tenant.admin, externalIdentifier=own)
    answer = await client.patch(
        f"/v1/users/{member['id']}", headers=tenant.admin, json={"externalIdentifier": own, "isRestricted": True}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["externalIdentifier"] == own
    assert answer.json()["data"]["isRestricted"] is True


async def test_a_patch_of_an_unknown_member_is_404(client, tenant: TenantKit):
    answer = await client.patch(
        f"/v1/users/{uuid.uuid4()}", headers=tenant.admin, json={"profile": {"givenName": "Nobody"}}
    )
    assert_fail(answer, 404, "USER_NOT_FOUND")


# ---- closing an account ----


async def test_closing_an_account_erases_the_profile_and_releases_the_identifiers(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin, externalIdentifier=f"ext-{uuid.uuid4().hex[:8]}")

    answer = await client.delete(f"/v1/users/{member['id']}", headers=tenant.admin)

    assert answer.status_code == 200, answer.text
    closed = answer.json()["data"]
    assert closed["id"] == member["id"]
    assert closed["accountNumber"] == member["accountNumber"]
    assert closed["profile"]["givenName"] == "REDACTED"
    assert closed["profile"]["familyName"] == "REDACTED"
    assert closed["profile"]["emailAddress"] is None
    assert closed["profile"]["attributes"] == {}
    assert closed["authIdentifier"] is None
    assert closed["externalIdentifier"] is None
    assert closed["flags"] == {}
    assert TIMESTAMP.match(closed["closedAt"]), closed["closedAt"]
    assert member["profile"]["emailAddress"] not in answer.text


async def test_a_closed_member_is_no_longer_found_by_any_identifier(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin, externalIdentifier=f"ext-{uuid.uuid4().hex[:8]}")
    assert (await client.delete(f"/v1/users/{member['id']}", headers=tenant.admin)).status_code == 200

    for identifier in (
        member["id"],
        member["accountNumber"],
        member["authIdentifier"],
        member["externalIdentifier"],
    ):
        answer = await client.get(f"/v1/users/{identifier}", headers=tenant.admin)
        assert_fail(answer, 404, "USER_NOT_FOUND")
    again = await client.delete(f"/v1/users/{member['id']}", headers=tenant.admin)
    assert_fail(again, 404, "USER_NOT_FOUND")
    assert (await search(client, tenant, member["authIdentifier"]))["meta"]["total"] == 0


async def test_a_closed_members_auth_identifier_can_be_registered_again_with_a_new_account_number(
    client, tenant: TenantKit
):
    member = await create_member(client, tenant.admin, externalIdentifier=f"ext-{uuid.uuid4().hex[:8]}")
    assert (await client.delete(f"/v1/users/{member['accountNumber']}", headers=tenant.admin)).status_code == 200

    reborn = await create_member(
        client,
        tenant.admin,
        authIdentifier=member["authIdentifier"],
        externalIdentifier=member["externalIdentifier"],
    )

    assert reborn["id"] != member["id"]
    assert reborn["accountNumber"] != member["accountNumber"]
    found = await client.get(f"/v1/users/{member['authIdentifier']}", headers=tenant.admin)
    assert found.status_code == 200, found.text
    assert found.json()["data"]["id"] == reborn["id"]


async def test_a_closed_members_ledger_is_kept(client, db, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 40)).status_code == 200
    assert (await adjust(client, tenant.admin, member["id"], -15)).status_code == 200

    assert (await client.delete(f"/v1/users/{member['id']}", headers=tenant.admin)).status_code == 200

    assert await ledger_row_count(db, tenant, member["id"]) == 2


async def test_the_member_lifecycle_emits_its_intrinsic_events(client, db, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    patched = await client.patch(f"/v1/users/{member['id']}", headers=tenant.admin, json={"isRestricted": True})
    assert patched.status_code == 200, patched.text
    assert (await adjust(client, tenant.admin, member["id"], 10)).status_code == 200
    assert (await client.delete(f"/v1/users/{member['id']}", headers=tenant.admin)).status_code == 200

    assert await event_types(db, tenant, member["id"]) == [
        "CLOSED_ACCOUNT",
        "POINTS_ADJUSTED",
        "PROFILE_UPDATED",
        "REGISTERED_ACCOUNT",
    ]


# ---- admin search ----


async def test_search_finds_a_member_by_part_of_the_email_case_insensitively(client, tenant: TenantKit):
    marker = uuid.uuid4().hex[:10]
    member = await create_member(
        client,
        tenant.admin,
        profile={"givenName": "Ada", "familyName": "Lovelace", "emailAddress": f"Ada.{marker}@Example.com"},
    )
    await create_member(client, tenant.admin)

    for text in (marker.upper(), f"ada.{marker}", f"{marker}@EXAMPLE"):
        found = await search(client, tenant, text)
        assert [m["id"] for m in found["data"]] == [member["id"]], text
        assert found["meta"]["total"] == 1


async def test_search_finds_a_member_by_account_number(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    await create_member(client, tenant.admin)

    found = await search(client, tenant, member["accountNumber"])

    assert [m["id"] for m in found["data"]] == [member["id"]]
    assert found["meta"]["total"] == 1


async def test_search_finds_members_by_name_case_insensitively(client, tenant: TenantKit):
    first = await create_member(
        client, tenant.admin, profile={"givenName": "Zenobia", "familyName": "Quill", "emailAddress": "zq@example.com"}
    )
    second = await create_member(
        client, tenant.admin, profile={"givenName": "Otto", "familyName": "ZENOBIA", "emailAddress": "oz@example.com"}
    )
    await create_member(client, tenant.admin)

    found = await search(client, tenant, "zEnObIa")

    assert sorted(m["id"] for m in found["data"]) == sorted([first["id"], second["id"]])
    assert found["meta"]["total"] == 2


async def test_percent_and_underscore_in_a_search_are_literal(client, tenant: TenantKit):
    underscored = await create_member(
        client, tenant.admin, profile={"givenName": "Ann", "familyName": "Lee", "emailAddress": "ann_lee@example.com"}
    )
    await create_member(
        client, tenant.admin, profile={"givenName": "Ann", "familyName": "Lee", "emailAddress": "annxlee@example.com"}
    )
    percent = await create_member(
        client, tenant.admin, profile={"givenName": "Half", "familyName": "50%Off", "emailAddress": "half@example.com"}
    )
    await create_member(
        client, tenant.admin, profile={"givenName": "Half", "familyName": "50Off", "emailAddress": "half2@example.com"}
    )

    by_underscore = await search(client, tenant, "ann_lee")
    assert [m["id"] for m in by_underscore["data"]] == [underscored["id"]]
    assert by_underscore["meta"]["total"] == 1

    by_percent = await search(client, tenant, "50%off")
    assert [m["id"] for m in by_percent["data"]] == [percent["id"]]
    assert by_percent["meta"]["total"] == 1

    only_percent = await search(client, tenant, "%")
    assert [m["id"] for m in only_percent["data"]] == [percent["id"]]

    only_underscore = await search(client, tenant, "_")
    assert [m["id"] for m in only_underscore["data"]] == [underscored["id"]]


async def test_a_backslash_in_a_search_is_literal(client, tenant: TenantKit):
    slashed = await create_member(client, tenant.admin, authIdentifier=f"corp\\ada-{uuid.uuid4().hex[:6]}")
    await create_member(client, tenant.admin, authIdentifier=f"corpada-{uuid.uuid4().hex[:6]}")

    found = await search(client, tenant, "corp\\ada")

    assert [m["id"] for m in found["data"]] == [slashed["id"]]


async def test_the_member_list_is_paginated_with_the_total_in_meta(client, tenant: TenantKit):
    created = [await create_member(client, tenant.admin) for _ in range(5)]

    first = await client.get("/v1/users", headers=tenant.admin, params={"limit": 2})
    assert first.status_code == 200, first.text
    assert first.json()["meta"] == {"limit": 2, "skip": 0, "total": 5}
    assert [m["id"] for m in first.json()["data"]] == [created[4]["id"], created[3]["id"]]

    last = await client.get("/v1/users", headers=tenant.admin, params={"limit": 2, "skip": 4})
    assert last.json()["meta"] == {"limit": 2, "skip": 4, "total": 5}
    assert [m["id"] for m in last.json()["data"]] == [created[0]["id"]]

    oldest_first = await client.get("/v1/users", headers=tenant.admin, params={"order": "ASC", "limit": 1000})
    assert [m["id"] for m in oldest_first.json()["data"]] == [m["id"] for m in created]

    searched = await client.get("/v1/users", headers=tenant.admin, params={"search": "example.com", "limit": 1})
    assert searched.json()["meta"] == {"limit": 1, "skip": 0, "total": 5}
    assert len(searched.json()["data"]) == 1


async def test_closed_members_are_not_listed(client, tenant: TenantKit):
    kept = await create_member(client, tenant.admin)
    closed = await create_member(client, tenant.admin)
    assert (await client.delete(f"/v1/users/{closed['id']}", headers=tenant.admin)).status_code == 200

    listed = await client.get("/v1/users", headers=tenant.admin)

    assert [m["id"] for m in listed.json()["data"]] == [kept["id"]]
    assert listed.json()["meta"]["total"] == 1


async def test_the_member_list_is_for_admins_only(client, tenant: TenantKit):
    answer = await client.get("/v1/users", headers=tenant.pos)
    assert_fail(answer, 403, "FORBIDDEN")


async def test_a_pos_client_may_not_set_flags_at_sign_up(client, tenant: TenantKit):
    answer = await client.post("/v1/users", headers=tenant.pos, json=member_body(flags={"staff": True}))
    assert_fail(answer, 403, "FORBIDDEN_FIELD")
    assert (await client.get("/v1/users", headers=tenant.admin)).json()["meta"]["total"] == 0


async def test_a_pos_client_may_neither_change_nor_close_a_member(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    patched = await client.patch(f"/v1/users/{member['id']}", headers=tenant.pos, json={"isRestricted": True})
    assert_fail(patched, 403, "FORBIDDEN")
    closed = await client.delete(f"/v1/users/{member['id']}", headers=tenant.pos)
    assert_fail(closed, 403, "FORBIDDEN")
    assert (await client.get(f"/v1/users/{member['id']}", headers=tenant.pos)).json()["data"] == member


async def test_search_follows_a_changed_email_address(client, tenant: TenantKit):
    old, new = f"old.{uuid.uuid4().hex[:8]}", f"new.{uuid.uuid4().hex[:8]}"
    member = await create_member(
        client,
        tenant.admin,
        profile={"givenName": "Ada", "familyName": "Lovelace", "emailAddress": f"{old}@example.com"},
    )

    answer = await client.patch(
        f"/v1/users/{member['id']}", headers=tenant.admin, json={"profile": {"emailAddress": f"{new}@example.com"}}
    )

    assert answer.status_code == 200, answer.text
    assert (await search(client, tenant, old))["meta"]["total"] == 0
    assert [m["id"] for m in (await search(client, tenant, new))["data"]] == [member["id"]]


async def test_search_finds_a_member_by_auth_and_external_identifier(client, tenant: TenantKit):
    external = f"EXT-{uuid.uuid4().hex[:8]}"
    member = await create_member(client, tenant.admin, externalIdentifier=external)
    await create_member(client, tenant.admin)

    assert [m["id"] for m in (await search(client, tenant, external.lower()))["data"]] == [member["id"]]
    assert [m["id"] for m in (await search(client, tenant, member["authIdentifier"]))["data"]] == [member["id"]]


async def test_points_cannot_be_adjusted_for_a_closed_member(client, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await client.delete(f"/v1/users/{member['id']}", headers=tenant.admin)).status_code == 200

    answer = await adjust(client, tenant.admin, member["id"], 10)

    assert_fail(answer, 404, "USER_NOT_FOUND")
