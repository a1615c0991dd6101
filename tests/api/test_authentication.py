"""Authentication and authorisation (contract §1.4 and §2): API keys, client tokens and their scopes, client
credentials, tenant isolation, member tokens from the retailer's identity provider, and impersonation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from loyalty.api.tokens import issue_client_token
from loyalty.services import clients as client_service
from loyalty.services import tenants as tenant_service
from loyalty.storage.database import Database
from tests.conftest import TenantKit, adjust, create_member, get_token, make_tenant, member_body

ISSUER = "https://idp.example.com/"
SHARED_SECRET = "idp-shared-secret-0123456789-abcdefghijklmnop"
OTHER_SECRET = "not-the-idp-secret-0123456789-abcdefghijklmn"


def assert_fail(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    document = answer.json()
    assert document["status"] == "fail"
    assert document["data"]["code"] == code, answer.text


def with_token(kit: TenantKit, token: str) -> dict[str, str]:
    return {"X-Api-Key": kit.api_key, "Authorization": f"Bearer {token}"}


async def request_token(client: httpx.AsyncClient, api_key: str, **form: str) -> httpx.Response:
    return await client.post("/v1/oauth/token", headers={"X-Api-Key": api_key}, data=form)


async def balance(client: httpx.AsyncClient, kit: TenantKit, member: str) -> int:
    answer = await client.get(f"/v1/users/{member}/wallet", headers=kit.admin)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["data"]["points"])


# ---- API keys ----


async def test_a_request_without_an_api_key_is_401_invalid_api_key(client: httpx.AsyncClient, tenant: TenantKit):
    headers = {"Authorization": tenant.admin["Authorization"]}
    answer = await client.get("/v1/users", headers=headers)
    assert_fail(answer, 401, "INVALID_API_KEY")
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_a_garbage_api_key_is_401_invalid_api_key(client: httpx.AsyncClient, tenant: TenantKit):
    headers = {**tenant.admin, "X-Api-Key": "garbage"}
    assert_fail(await client.get("/v1/users", headers=headers), 401, "INVALID_API_KEY")


async def test_an_api_key_with_a_wrong_secret_part_is_401(client: httpx.AsyncClient, tenant: TenantKit):
    forged = tenant.api_key[:32] + "A" * (len(tenant.api_key) - 32)
    assert forged != tenant.api_key
    headers = {**tenant.admin, "X-Api-Key": forged}
    assert_fail(await client.get("/v1/users", headers=headers), 401, "INVALID_API_KEY")


async def test_an_api_key_of_no_tenant_is_401(client: httpx.AsyncClient, tenant: TenantKit):
    headers = {**tenant.admin, "X-Api-Key": uuid.uuid4().hex + tenant.api_key[32:]}
    assert_fail(await client.get("/v1/users", headers=headers), 401, "INVALID_API_KEY")


async def test_the_token_endpoint_needs_the_api_key(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.admin_client_id,
            "client_secret": tenant.admin_secret,
        },
    )
    assert answer.status_code == 401


# ---- bearer tokens ----


async def test_an_api_key_without_a_bearer_token_is_401_missing_token(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.get("/v1/users", headers=tenant.anonymous)
    assert_fail(answer, 401, "MISSING_TOKEN")
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_a_non_bearer_authorization_is_401_missing_token(client: httpx.AsyncClient, tenant: TenantKit):
    headers = {**tenant.anonymous, "Authorization": "Basic YWRtaW46YWRtaW4="}
    assert_fail(await client.get("/v1/users", headers=headers), 401, "MISSING_TOKEN")


async def test_a_garbage_bearer_token_is_401_invalid_token(client: httpx.AsyncClient, tenant: TenantKit):
    headers = {**tenant.anonymous, "Authorization": "Bearer not-a-jwt"}
    assert_fail(await client.get("/v1/users", headers=headers), 401, "INVALID_TOKEN")


async def test_a_client_token_with_a_tampered_signature_is_401(client: httpx.AsyncClient, tenant: TenantKit):
    token = tenant.admin["Authorization"].removeprefix("Bearer ")
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert_fail(await client.get("/v1/users", headers=with_token(tenant, tampered)), 401, "INVALID_TOKEN")


async def test_a_client_token_signed_with_another_key_is_401(client: httpx.AsyncClient, tenant: TenantKit):
    token = tenant.admin["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, "a-key-the-engine-never-issued-0123456789abcdef", algorithm="HS256")
    assert_fail(await client.get("/v1/users", headers=with_token(tenant, forged)), 401, "INVALID_TOKEN")


async def test_an_expired_client_token_is_401(client: httpx.AsyncClient, db: Database, tenant: TenantKit):
    async def load(tx: Any) -> tuple[Any, Any]:
        found = await tenant_service.get_tenant(tx, tenant.tenant_id)
        admin = await client_service.get_client(tx, found.tenant_id, uuid.UUID(tenant.admin_client_id))
        return found, admin

    found, admin = await db.run(load)
    expired = issue_client_token(found, admin, frozenset({"admin"}), ttl_seconds=-3600)
    assert_fail(await client.get("/v1/users", headers=with_token(tenant, expired)), 401, "INVALID_TOKEN")


async def test_a_token_that_worked_is_refused_once_it_expires(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    """The engine remembers tokens it has verified; expiry is still checked on every request."""

    async def load(tx: Any) -> tuple[Any, Any]:
        found = await tenant_service.get_tenant(tx, tenant.tenant_id)
        admin = await client_service.get_client(tx, found.tenant_id, uuid.UUID(tenant.admin_client_id))
        return found, admin

    found, admin = await db.run(load)
    token = issue_client_token(found, admin, frozenset({"admin"}), ttl_seconds=60)
    assert (await client.get("/v1/users", headers=with_token(tenant, token))).status_code == 200

    with time_machine.travel(time.time() + 60 + 31, tick=False):
        assert_fail(await client.get("/v1/users", headers=with_token(tenant, token)), 401, "INVALID_TOKEN")


async def test_a_token_of_tenant_a_with_tenant_b_api_key_is_401(client: httpx.AsyncClient, db: Database):
    shop_a = await make_tenant(client, db, "shop-a")
    shop_b = await make_tenant(client, db, "shop-b")
    headers = {"X-Api-Key": shop_b.api_key, "Authorization": shop_a.admin["Authorization"]}
    assert_fail(await client.get("/v1/users", headers=headers), 401, "INVALID_TOKEN")


# ---- POST /v1/oauth/token ----


def assert_token_answer(answer: httpx.Response, scope: str) -> str:
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"].startswith("application/json")
    document = answer.json()
    assert set(document) == {"access_token", "token_type", "expires_in", "scope"}
    assert document["token_type"] == "Bearer"
    assert document["expires_in"] == 86400
    assert document["scope"] == scope
    return str(document["access_token"])


async def test_a_form_encoded_token_request_answers_plain_oauth2_json(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await request_token(
        client,
        tenant.api_key,
        grant_type="client_credentials",
        client_id=tenant.admin_client_id,
        client_secret=tenant.admin_secret,
    )
    token = assert_token_answer(answer, "admin")
    assert (await client.get("/v1/users", headers=with_token(tenant, token))).status_code == 200


async def test_a_json_token_request_answers_plain_oauth2_json(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post(
        "/v1/oauth/token",
        headers=tenant.anonymous,
        json={
            "grant_type": "client_credentials",
            "client_id": tenant.pos_client_id,
            "client_secret": tenant.pos_secret,
        },
    )
    token = assert_token_answer(answer, "pos")
    member = await create_member(client, tenant.admin)
    assert (await client.get(f"/v1/users/{member['id']}", headers=with_token(tenant, token))).status_code == 200


async def test_a_wrong_client_secret_is_401_invalid_client(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await request_token(
        client,
        tenant.api_key,
        grant_type="client_credentials",
        client_id=tenant.admin_client_id,
        client_secret=tenant.pos_secret,
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert "status" not in answer.json()
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("client_id", ["not-a-uuid", str(uuid.uuid4())])
async def test_an_unknown_client_id_is_401_invalid_client(client: httpx.AsyncClient, tenant: TenantKit, client_id: str):
    answer = await request_token(
        client, tenant.api_key, grant_type="client_credentials", client_id=client_id, client_secret=tenant.admin_secret
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


async def test_a_client_of_another_tenant_is_401_invalid_client(client: httpx.AsyncClient, db: Database):
    shop_a = await make_tenant(client, db, "shop-a")
    shop_b = await make_tenant(client, db, "shop-b")
    answer = await request_token(
        client,
        shop_b.api_key,
        grant_type="client_credentials",
        client_id=shop_a.admin_client_id,
        client_secret=shop_a.admin_secret,
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


async def test_the_password_grant_is_400_unsupported_grant_type(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await request_token(
        client,
        tenant.api_key,
        grant_type="password",
        client_id=tenant.admin_client_id,
        client_secret=tenant.admin_secret,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


async def test_a_token_request_without_a_secret_is_400_invalid_request(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await request_token(
        client, tenant.api_key, grant_type="client_credentials", client_id=tenant.admin_client_id
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"grant_type": '])
async def test_a_json_token_request_that_is_not_an_object_is_400_invalid_request(
    client: httpx.AsyncClient, tenant: TenantKit, body: bytes
):
    headers = {**tenant.anonymous, "Content-Type": "application/json"}
    answer = await client.post("/v1/oauth/token", headers=headers, content=body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize("scope", ["admin", "pos admin", "superuser"])
async def test_a_pos_client_asking_for_more_than_pos_is_400_invalid_scope(
    client: httpx.AsyncClient, tenant: TenantKit, scope: str
):
    answer = await request_token(
        client,
        tenant.api_key,
        grant_type="client_credentials",
        client_id=tenant.pos_client_id,
        client_secret=tenant.pos_secret,
        scope=scope,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


async def test_a_narrower_scope_yields_a_token_that_cannot_call_admin_routes(
    client: httpx.AsyncClient, tenant: TenantKit
):
    both = await client.post("/v1/clients", headers=tenant.admin, json={"scopes": ["admin", "pos"]})
    assert both.status_code == 200, both.text
    created = both.json()["data"]
    assert created["scopes"] == ["admin", "pos"]
    full = await request_token(
        client,
        tenant.api_key,
        grant_type="client_credentials",
        client_id=created["clientId"],
        client_secret=created["clientSecret"],
    )
    assert_token_answer(full, "admin pos")
    answer = await request_token(
        client,
        tenant.api_key,
        grant_type="client_credentials",
        client_id=created["clientId"],
        client_secret=created["clientSecret"],
        scope="pos",
    )
    narrowed = with_token(tenant, assert_token_answer(answer, "pos"))
    assert_fail(await client.get("/v1/users", headers=narrowed), 403, "FORBIDDEN")
    assert_fail(await client.get("/v1/clients", headers=narrowed), 403, "FORBIDDEN")
    member = await create_member(client, narrowed)
    assert_fail(await adjust(client, narrowed, member["id"], 10), 403, "FORBIDDEN")
    assert (await client.get(f"/v1/users/{member['id']}/wallet", headers=narrowed)).status_code == 200


# ---- client credentials ----


async def test_a_created_client_secret_works_and_the_client_is_listed(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.post("/v1/clients", headers=tenant.admin, json={"name": "Till 7", "scopes": ["pos"]})
    assert answer.status_code == 200, answer.text
    created = answer.json()["data"]
    assert created["name"] == "Till 7"
    assert created["scopes"] == ["pos"]
    assert created["revokedAt"] is None
    assert len(created["clientSecret"]) >= 22  # ≥128 bits, URL-safe base64

    token = assert_token_answer(
        await request_token(
            client,
            tenant.api_key,
            grant_type="client_credentials",
            client_id=created["clientId"],
            client_secret=created["clientSecret"],
        ),
        "pos",
    )
    member = await create_member(client, tenant.admin)
    assert (await client.get(f"/v1/users/{member['id']}", headers=with_token(tenant, token))).status_code == 200

    listed = await client.get("/v1/clients", headers=tenant.admin)
    assert listed.status_code == 200
    by_id = {c["clientId"]: c for c in listed.json()["data"]}
    assert set(by_id) == {tenant.admin_client_id, tenant.pos_client_id, created["clientId"]}
    assert by_id[created["clientId"]]["name"] == "Till 7"
    assert "clientSecret" not in listed.text
    assert created["clientSecret"] not in listed.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"scopes": ["root"]}, "INVALID_SCOPE"),
        ({"scopes": []}, "VALIDATION_ERROR"),
        ({"scopes": ["pos"], "secret": "chosen"}, "UNKNOWN_FIELD"),
    ],
)
async def test_an_invalid_client_definition_is_400(
    client: httpx.AsyncClient, tenant: TenantKit, body: dict[str, Any], code: str
):
    assert_fail(await client.post("/v1/clients", headers=tenant.admin, json=body), 400, code)
    listed = await client.get("/v1/clients", headers=tenant.admin)
    assert len(listed.json()["data"]) == 2


async def test_revoking_a_client_makes_its_token_fail_at_once(client: httpx.AsyncClient, tenant: TenantKit):
    created = (await client.post("/v1/clients", headers=tenant.admin, json={"scopes": ["pos"]})).json()["data"]
    token = await get_token(client, tenant.api_key, created["clientId"], created["clientSecret"])
    member = await create_member(client, tenant.admin)
    assert (await client.get(f"/v1/users/{member['id']}", headers=with_token(tenant, token))).status_code == 200

    revoked = await client.delete(f"/v1/clients/{created['clientId']}", headers=tenant.admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["data"]["revokedAt"] is not None

    assert_fail(await client.get(f"/v1/users/{member['id']}", headers=with_token(tenant, token)), 401, "INVALID_TOKEN")
    again = await request_token(
        client,
        tenant.api_key,
        grant_type="client_credentials",
        client_id=created["clientId"],
        client_secret=created["clientSecret"],
    )
    assert again.status_code == 401
    assert again.json()["error"] == "invalid_client"
    listed = {c["clientId"]: c for c in (await client.get("/v1/clients", headers=tenant.admin)).json()["data"]}
    assert listed[created["clientId"]]["revokedAt"] is not None
    assert listed[tenant.pos_client_id]["revokedAt"] is None


async def test_revoking_a_client_in_the_service_makes_its_token_fail_at_once(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    member = await create_member(client, tenant.admin)
    assert (await client.get(f"/v1/users/{member['id']}", headers=tenant.pos)).status_code == 200
    await db.run(
        lambda tx: client_service.revoke_client(tx, uuid.UUID(tenant.tenant_id), uuid.UUID(tenant.pos_client_id))
    )
    assert_fail(await client.get(f"/v1/users/{member['id']}", headers=tenant.pos), 401, "INVALID_TOKEN")
    assert (await client.get(f"/v1/users/{member['id']}", headers=tenant.admin)).status_code == 200


@pytest.mark.parametrize("client_id", ["not-a-uuid", str(uuid.uuid4())])
async def test_revoking_an_unknown_client_is_404(client: httpx.AsyncClient, tenant: TenantKit, client_id: str):
    assert_fail(await client.delete(f"/v1/clients/{client_id}", headers=tenant.admin), 404, "CLIENT_NOT_FOUND")


async def test_an_admin_cannot_revoke_another_tenants_client(client: httpx.AsyncClient, db: Database):
    shop_a = await make_tenant(client, db, "shop-a")
    shop_b = await make_tenant(client, db, "shop-b")
    answer = await client.delete(f"/v1/clients/{shop_a.pos_client_id}", headers=shop_b.admin)
    assert_fail(answer, 404, "CLIENT_NOT_FOUND")
    member = await create_member(client, shop_a.admin)
    assert (await client.get(f"/v1/users/{member['id']}", headers=shop_a.pos)).status_code == 200


# ---- scopes: what a pos token may do ----


async def test_a_pos_token_cannot_adjust_points(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert_fail(await adjust(client, tenant.pos, member["id"], 100), 403, "FORBIDDEN")
    assert await balance(client, tenant, member["id"]) == 0


async def test_a_pos_token_cannot_list_users(client: httpx.AsyncClient, tenant: TenantKit):
    assert_fail(await client.get("/v1/users", headers=tenant.pos), 403, "FORBIDDEN")


async def test_a_pos_token_can_sign_up_and_read_a_member(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.pos)
    assert (await adjust(client, tenant.admin, member["id"], 7)).status_code == 200
    read = await client.get(f"/v1/users/{member['accountNumber']}", headers=tenant.pos)
    assert read.status_code == 200
    assert read.json()["data"]["id"] == member["id"]
    wallet = await client.get(f"/v1/users/{member['id']}/wallet", headers=tenant.pos)
    assert wallet.status_code == 200
    assert wallet.json()["data"]["points"] == 7
    ledger = await client.get(f"/v1/users/{member['id']}/points", headers=tenant.pos)
    assert ledger.status_code == 200
    assert [e["delta"] for e in ledger.json()["data"]] == [7]


async def test_a_pos_token_may_not_set_flags_at_sign_up(client: httpx.AsyncClient, tenant: TenantKit):
    body = member_body(flags={"staff": True})
    assert_fail(await client.post("/v1/users", headers=tenant.pos, json=body), 403, "FORBIDDEN_FIELD")
    found = await client.get("/v1/users", headers=tenant.admin, params={"search": body["profile"]["emailAddress"]})
    assert found.json()["meta"]["total"] == 0
    admin = await client.post("/v1/users", headers=tenant.admin, json=body)
    assert admin.status_code == 200
    assert admin.json()["data"]["flags"] == {"staff": True}


async def test_a_pos_token_cannot_change_or_close_a_member(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    patch = {"profile": {"givenName": "Grace"}}
    assert_fail(await client.patch(f"/v1/users/{member['id']}", headers=tenant.pos, json=patch), 403, "FORBIDDEN")
    assert_fail(await client.delete(f"/v1/users/{member['id']}", headers=tenant.pos), 403, "FORBIDDEN")
    read = await client.get(f"/v1/users/{member['id']}", headers=tenant.admin)
    assert read.json()["data"]["profile"]["givenName"] == "Ada"


async def test_a_pos_token_cannot_manage_clients(client: httpx.AsyncClient, tenant: TenantKit):
    assert_fail(await client.get("/v1/clients", headers=tenant.pos), 403, "FORBIDDEN")
    answer = await client.post("/v1/clients", headers=tenant.pos, json={"scopes": ["admin"]})
    assert_fail(answer, 403, "FORBIDDEN")
    assert_fail(await client.delete(f"/v1/clients/{tenant.admin_client_id}", headers=tenant.pos), 403, "FORBIDDEN")


# ---- tenant isolation ----


@pytest.fixture
async def two_shops(client: httpx.AsyncClient, db: Database) -> tuple[TenantKit, TenantKit, dict[str, Any]]:
    shop_a = await make_tenant(client, db, "shop-a")
    shop_b = await make_tenant(client, db, "shop-b")
    member = await create_member(client, shop_a.admin, externalIdentifier=f"ext-{uuid.uuid4().hex[:8]}")
    assert (await adjust(client, shop_a.admin, member["id"], 50)).status_code == 200
    return shop_a, shop_b, member


@pytest.mark.parametrize("identifier", ["id", "accountNumber", "authIdentifier", "externalIdentifier"])
async def test_another_tenants_admin_cannot_read_a_member_by_any_identifier(
    client: httpx.AsyncClient, two_shops: tuple[TenantKit, TenantKit, dict[str, Any]], identifier: str
):
    _, shop_b, member = two_shops
    answer = await client.get(f"/v1/users/{member[identifier]}", headers=shop_b.admin)
    assert_fail(answer, 404, "USER_NOT_FOUND")
    assert_fail(await client.get(f"/v1/users/{member[identifier]}", headers=shop_b.pos), 404, "USER_NOT_FOUND")


async def test_another_tenants_admin_cannot_touch_a_member(
    client: httpx.AsyncClient, two_shops: tuple[TenantKit, TenantKit, dict[str, Any]]
):
    shop_a, shop_b, member = two_shops
    target = f"/v1/users/{member['id']}"
    refused = [
        await client.patch(target, headers=shop_b.admin, json={"profile": {"givenName": "Mallory"}}),
        await client.delete(target, headers=shop_b.admin),
        await client.get(f"{target}/wallet", headers=shop_b.admin),
        await client.get(f"{target}/points", headers=shop_b.admin),
        await adjust(client, shop_b.admin, member["id"], 1000),
        await adjust(client, shop_b.admin, member["accountNumber"], 1000),
        await client.get("/v1/users/me/wallet", headers={**shop_b.admin, "X-User-Id": member["accountNumber"]}),
    ]
    for answer in refused:
        assert_fail(answer, 404, "USER_NOT_FOUND")

    still = await client.get(target, headers=shop_a.admin)
    assert still.status_code == 200
    assert still.json()["data"]["profile"]["givenName"] == "Ada"
    assert await balance(client, shop_a, member["id"]) == 50


async def test_another_tenants_list_does_not_show_a_member(
    client: httpx.AsyncClient, two_shops: tuple[TenantKit, TenantKit, dict[str, Any]]
):
    shop_a, shop_b, member = two_shops
    listed_b = await client.get("/v1/users", headers=shop_b.admin)
    assert listed_b.json()["data"] == []
    assert listed_b.json()["meta"]["total"] == 0
    searched = await client.get("/v1/users", headers=shop_b.admin, params={"search": member["accountNumber"]})
    assert searched.json()["meta"]["total"] == 0
    listed_a = await client.get("/v1/users", headers=shop_a.admin)
    assert [m["id"] for m in listed_a.json()["data"]] == [member["id"]]


# ---- member tokens from the retailer's identity provider ----


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """The identity provider's signing key, and a key it does not use."""
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


@dataclass
class JwksServer:
    """A real identity provider's JWKS endpoint on 127.0.0.1."""

    base_url: str
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def publish(self, document: dict[str, Any]) -> str:
        path = f"/jwks/{uuid.uuid4().hex}.json"  # a fresh URL per tenant: nothing cached from another test
        self.documents[path] = document
        return self.base_url + path


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    holder: list[JwksServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served = holder[0]
            served.hits.append(self.path)
            document = served.documents.get(self.path)
            body = json.dumps(document).encode() if document is not None else b"{}"
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    holder.append(JwksServer(base_url=f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


Signer = Callable[..., str]


def signer(key: Any, algorithm: str, kid: str | None = None) -> Signer:
    def sign(sub: str | None, *, issuer: str = ISSUER, lifetime: int = 600, age: int = 0, **extra: Any) -> str:
        issued = int(time.time()) - age
        claims: dict[str, Any] = {"iss": issuer, "iat": issued, "exp": issued + lifetime, **extra}
        if sub is not None:
            claims["sub"] = sub
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid} if kid else None)

    return sign


async def configure_user_auth(db: Database, kit: TenantKit, config: dict[str, Any] | None) -> None:
    await db.run(lambda tx: tenant_service.set_user_auth(tx, uuid.UUID(kit.tenant_id), config))


@dataclass
class MemberAuth:
    """A tenant that accepts member tokens: ``sign`` makes a token its IdP would issue, ``forge`` one signed with a
    key the tenant does not trust (same header, same claims)."""

    kit: TenantKit
    sign: Signer
    forge: Signer
    jwks: JwksServer | None = None


@pytest.fixture(params=["HS256", "RS256-inline-JWKS", "RS256-jwksUrl"])
async def member_auth(
    request: pytest.FixtureRequest,
    db: Database,
    tenant: TenantKit,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
) -> MemberAuth:
    trusted, untrusted = rsa_keys
    kid = f"key-{uuid.uuid4().hex[:6]}"
    if request.param == "HS256":
        await configure_user_auth(db, tenant, {"algorithm": "HS256", "issuer": ISSUER, "sharedSecret": SHARED_SECRET})
        return MemberAuth(tenant, signer(SHARED_SECRET, "HS256"), signer(OTHER_SECRET, "HS256"))
    document = {"keys": [public_jwk(trusted, kid)]}
    if request.param == "RS256-inline-JWKS":
        config = {"algorithm": "RS256", "issuer": ISSUER, "jwks": document}
        served = None
    else:
        served = request.getfixturevalue("jwks_server")
        config = {"algorithm": "RS256", "issuer": ISSUER, "jwksUrl": served.publish(document)}
    await configure_user_auth(db, tenant, config)
    return MemberAuth(tenant, signer(trusted, "RS256", kid), signer(untrusted, "RS256", kid), served)


@pytest.fixture
async def hs256_tenant(db: Database, tenant: TenantKit) -> TenantKit:
    await configure_user_auth(db, tenant, {"algorithm": "HS256", "issuer": ISSUER, "sharedSecret": SHARED_SECRET})
    return tenant


sign_hs256 = signer(SHARED_SECRET, "HS256")


async def member_with_token(client: httpx.AsyncClient, kit: TenantKit) -> tuple[dict[str, Any], dict[str, str]]:
    """A member of ``kit`` and request headers carrying an HS256 member token for them."""
    member = await create_member(client, kit.admin)
    return member, with_token(kit, sign_hs256(member["authIdentifier"]))


async def test_a_member_token_reads_its_own_member(client: httpx.AsyncClient, member_auth: MemberAuth):
    kit = member_auth.kit
    member = await create_member(client, kit.admin)
    assert (await adjust(client, kit.admin, member["id"], 25)).status_code == 200
    headers = with_token(kit, member_auth.sign(member["authIdentifier"]))

    me = await client.get("/v1/users/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["data"]["id"] == member["id"]
    wallet = await client.get("/v1/users/me/wallet", headers=headers)
    assert wallet.status_code == 200
    assert wallet.json()["data"]["user"]["id"] == member["id"]
    assert wallet.json()["data"]["points"] == 25
    ledger = await client.get("/v1/users/me/points", headers=headers)
    assert [e["delta"] for e in ledger.json()["data"]] == [25]
    for identifier in (member["id"], member["accountNumber"], member["authIdentifier"]):
        own = await client.get(f"/v1/users/{identifier}", headers=headers)
        assert own.status_code == 200, own.text
        assert own.json()["data"]["id"] == member["id"]
    assert (await client.get(f"/v1/users/{member['id']}/wallet", headers=headers)).status_code == 200
    assert (await client.get(f"/v1/users/{member['accountNumber']}/points", headers=headers)).status_code == 200
    if member_auth.jwks is not None:
        assert member_auth.jwks.hits  # the key set really came from the identity provider's URL


async def test_a_member_token_signed_with_an_untrusted_key_is_401(client: httpx.AsyncClient, member_auth: MemberAuth):
    member = await create_member(client, member_auth.kit.admin)
    forged = member_auth.forge(member["authIdentifier"])
    assert_fail(await client.get("/v1/users/me", headers=with_token(member_auth.kit, forged)), 401, "INVALID_TOKEN")


async def test_an_expired_member_token_is_401(client: httpx.AsyncClient, member_auth: MemberAuth):
    member = await create_member(client, member_auth.kit.admin)
    expired = member_auth.sign(member["authIdentifier"], age=3600, lifetime=600)
    assert_fail(await client.get("/v1/users/me", headers=with_token(member_auth.kit, expired)), 401, "INVALID_TOKEN")


async def test_a_member_token_from_another_issuer_is_401(client: httpx.AsyncClient, member_auth: MemberAuth):
    member = await create_member(client, member_auth.kit.admin)
    foreign = member_auth.sign(member["authIdentifier"], issuer="https://other-idp.example.com/")
    assert_fail(await client.get("/v1/users/me", headers=with_token(member_auth.kit, foreign)), 401, "INVALID_TOKEN")


async def test_a_member_token_without_a_subject_is_401(client: httpx.AsyncClient, member_auth: MemberAuth):
    nameless = member_auth.sign(None)
    assert_fail(await client.get("/v1/users/me", headers=with_token(member_auth.kit, nameless)), 401, "INVALID_TOKEN")


async def test_a_member_token_signed_with_the_wrong_secret_is_401(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    member = await create_member(client, hs256_tenant.admin)
    wrong = signer(OTHER_SECRET, "HS256")(member["authIdentifier"])
    assert_fail(await client.get("/v1/users/me", headers=with_token(hs256_tenant, wrong)), 401, "INVALID_TOKEN")


async def test_an_unsigned_member_token_is_401(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    member = await create_member(client, hs256_tenant.admin)
    now = int(time.time())
    claims = {"sub": member["authIdentifier"], "iss": ISSUER, "iat": now, "exp": now + 600}
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert_fail(await client.get("/v1/users/me", headers=with_token(hs256_tenant, unsigned)), 401, "INVALID_TOKEN")


async def test_a_member_token_without_an_expiry_is_401(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    member = await create_member(client, hs256_tenant.admin)
    claims = {"sub": member["authIdentifier"], "iss": ISSUER, "iat": int(time.time())}
    endless = jwt.encode(claims, SHARED_SECRET, algorithm="HS256")
    assert_fail(await client.get("/v1/users/me", headers=with_token(hs256_tenant, endless)), 401, "INVALID_TOKEN")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_an_rs256_tenant_refuses_an_hs256_token_keyed_with_its_public_key(
    client: httpx.AsyncClient,
    db: Database,
    tenant: TenantKit,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
):
    trusted, _ = rsa_keys
    await configure_user_auth(
        db, tenant, {"algorithm": "RS256", "issuer": ISSUER, "jwks": {"keys": [public_jwk(trusted, "k1")]}}
    )
    member = await create_member(client, tenant.admin)
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    claims = {"sub": member["authIdentifier"], "iss": ISSUER, "iat": now, "exp": now + 600}
    payload = _b64(json.dumps(claims).encode())
    public_pem = trusted.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signature = _b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    confused = f"{header}.{payload}.{signature}"
    assert_fail(await client.get("/v1/users/me", headers=with_token(tenant, confused)), 401, "INVALID_TOKEN")


async def test_a_member_token_whose_kid_is_not_in_the_jwks_is_401(
    client: httpx.AsyncClient,
    db: Database,
    tenant: TenantKit,
    rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey],
):
    trusted, _ = rsa_keys
    await configure_user_auth(
        db, tenant, {"algorithm": "RS256", "issuer": ISSUER, "jwks": {"keys": [public_jwk(trusted, "k1")]}}
    )
    member = await create_member(client, tenant.admin)
    token = signer(trusted, "RS256", "k2")(member["authIdentifier"])
    assert_fail(await client.get("/v1/users/me", headers=with_token(tenant, token)), 401, "INVALID_TOKEN")


async def test_a_member_token_is_checked_against_the_configured_audience(
    client: httpx.AsyncClient, db: Database, tenant: TenantKit
):
    await configure_user_auth(
        db,
        tenant,
        {"algorithm": "HS256", "issuer": ISSUER, "sharedSecret": SHARED_SECRET, "audience": "loyalty-api"},
    )
    member = await create_member(client, tenant.admin)
    sub = member["authIdentifier"]
    right = await client.get("/v1/users/me", headers=with_token(tenant, sign_hs256(sub, aud="loyalty-api")))
    assert right.status_code == 200, right.text
    wrong = await client.get("/v1/users/me", headers=with_token(tenant, sign_hs256(sub, aud="another-api")))
    assert_fail(wrong, 401, "INVALID_TOKEN")
    assert_fail(await client.get("/v1/users/me", headers=with_token(tenant, sign_hs256(sub))), 401, "INVALID_TOKEN")


async def test_a_tenant_without_user_auth_refuses_member_tokens(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    token = sign_hs256(member["authIdentifier"])
    assert_fail(await client.get("/v1/users/me", headers=with_token(tenant, token)), 401, "INVALID_TOKEN")


async def test_turning_user_auth_off_refuses_member_tokens_at_once(
    client: httpx.AsyncClient, db: Database, hs256_tenant: TenantKit
):
    _, headers = await member_with_token(client, hs256_tenant)
    assert (await client.get("/v1/users/me", headers=headers)).status_code == 200
    await configure_user_auth(db, hs256_tenant, None)
    assert_fail(await client.get("/v1/users/me", headers=headers), 401, "INVALID_TOKEN")


async def test_a_member_token_of_one_tenant_is_refused_by_another(
    client: httpx.AsyncClient, db: Database, hs256_tenant: TenantKit
):
    _, headers = await member_with_token(client, hs256_tenant)
    other = await make_tenant(client, db, "other-shop")
    foreign = {**headers, "X-Api-Key": other.api_key}
    assert_fail(await client.get("/v1/users/me", headers=foreign), 401, "INVALID_TOKEN")


async def test_a_member_token_gets_403_for_another_member(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    _, headers = await member_with_token(client, hs256_tenant)
    other = await create_member(client, hs256_tenant.admin)
    for path in (
        f"/v1/users/{other['id']}",
        f"/v1/users/{other['accountNumber']}",
        f"/v1/users/{other['authIdentifier']}",
        f"/v1/users/{other['id']}/wallet",
        f"/v1/users/{other['id']}/points",
    ):
        assert_fail(await client.get(path, headers=headers), 403, "FORBIDDEN")


async def test_a_member_token_gets_403_for_a_member_that_does_not_exist(
    client: httpx.AsyncClient, hs256_tenant: TenantKit
):
    _, headers = await member_with_token(client, hs256_tenant)
    for identifier in (str(uuid.uuid4()), "1000000", "idp-nobody"):
        assert_fail(await client.get(f"/v1/users/{identifier}", headers=headers), 403, "FORBIDDEN")


async def test_a_member_token_cannot_list_users(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    _, headers = await member_with_token(client, hs256_tenant)
    assert_fail(await client.get("/v1/users", headers=headers), 403, "FORBIDDEN")


async def test_a_member_token_cannot_adjust_points(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    member, headers = await member_with_token(client, hs256_tenant)
    assert_fail(await adjust(client, headers, member["id"], 1000), 403, "FORBIDDEN")
    assert await balance(client, hs256_tenant, member["id"]) == 0


async def test_a_member_token_cannot_manage_clients(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    _, headers = await member_with_token(client, hs256_tenant)
    assert_fail(await client.get("/v1/clients", headers=headers), 403, "FORBIDDEN")
    assert_fail(await client.post("/v1/clients", headers=headers, json={"scopes": ["admin"]}), 403, "FORBIDDEN")


async def test_a_member_may_patch_their_own_profile(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    member, headers = await member_with_token(client, hs256_tenant)
    answer = await client.patch(
        f"/v1/users/{member['id']}", headers=headers, json={"profile": {"givenName": "Augusta", "city": "London"}}
    )
    assert answer.status_code == 200, answer.text
    profile = answer.json()["data"]["profile"]
    assert profile["givenName"] == "Augusta"
    assert profile["city"] == "London"
    assert profile["familyName"] == "Lovelace"


@pytest.mark.parametrize(
    "patch", [{"flags": {"staff": True}}, {"externalIdentifier": "ext-mine"}, {"isRestricted": True}]
)
async def test_a_member_may_not_patch_admin_fields(
    client: httpx.AsyncClient, hs256_tenant: TenantKit, patch: dict[str, Any]
):
    member, headers = await member_with_token(client, hs256_tenant)
    answer = await client.patch(f"/v1/users/{member['id']}", headers=headers, json=patch)
    assert_fail(answer, 403, "FORBIDDEN_FIELD")
    unchanged = (await client.get(f"/v1/users/{member['id']}", headers=hs256_tenant.admin)).json()["data"]
    assert unchanged["flags"] == {}
    assert unchanged["externalIdentifier"] is None
    assert unchanged["isRestricted"] is False


async def test_a_member_may_not_patch_another_member(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    _, headers = await member_with_token(client, hs256_tenant)
    other = await create_member(client, hs256_tenant.admin)
    answer = await client.patch(f"/v1/users/{other['id']}", headers=headers, json={"profile": {"givenName": "Eve"}})
    assert_fail(answer, 403, "FORBIDDEN")
    assert_fail(await client.delete(f"/v1/users/{other['id']}", headers=headers), 403, "FORBIDDEN")
    still = (await client.get(f"/v1/users/{other['id']}", headers=hs256_tenant.admin)).json()["data"]
    assert still["profile"]["givenName"] == "Ada"


async def test_a_member_token_registers_its_own_member(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    sub = f"idp-new-{uuid.uuid4().hex[:8]}"
    headers = with_token(hs256_tenant, sign_hs256(sub))
    assert_fail(await client.get("/v1/users/me", headers=headers), 404, "USER_NOT_FOUND")

    body = member_body()
    del body["authIdentifier"]
    created = await client.post("/v1/users", headers=headers, json=body)
    assert created.status_code == 200, created.text
    assert created.json()["data"]["authIdentifier"] == sub

    me = await client.get("/v1/users/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["data"]["id"] == created.json()["data"]["id"]
    twice = await client.post("/v1/users", headers=headers, json=member_body(authIdentifier=sub))
    assert_fail(twice, 409, "USER_ALREADY_EXISTS")


async def test_a_member_token_may_not_register_another_auth_identifier(
    client: httpx.AsyncClient, hs256_tenant: TenantKit
):
    sub = f"idp-new-{uuid.uuid4().hex[:8]}"
    headers = with_token(hs256_tenant, sign_hs256(sub))
    body = member_body(authIdentifier="idp-somebody-else")
    assert_fail(await client.post("/v1/users", headers=headers, json=body), 403, "FORBIDDEN_FIELD")
    flagged = member_body(authIdentifier=sub, flags={"staff": True})
    assert_fail(await client.post("/v1/users", headers=headers, json=flagged), 403, "FORBIDDEN_FIELD")
    listed = await client.get("/v1/users", headers=hs256_tenant.admin)
    assert listed.json()["meta"]["total"] == 0


async def test_a_member_token_ignores_x_user_id(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    member, headers = await member_with_token(client, hs256_tenant)
    other = await create_member(client, hs256_tenant.admin)
    answer = await client.get("/v1/users/me/wallet", headers={**headers, "X-User-Id": other["accountNumber"]})
    assert answer.status_code == 200
    assert answer.json()["data"]["user"]["id"] == member["id"]


async def test_a_member_may_close_their_own_account(client: httpx.AsyncClient, hs256_tenant: TenantKit):
    member, headers = await member_with_token(client, hs256_tenant)
    closed = await client.delete(f"/v1/users/{member['id']}", headers=headers)
    assert closed.status_code == 200, closed.text
    assert closed.json()["data"]["closedAt"] is not None
    assert_fail(await client.get("/v1/users/me", headers=headers), 404, "USER_NOT_FOUND")


# ---- impersonation ----


async def test_a_pos_token_acts_as_the_member_named_in_x_user_id(client: httpx.AsyncClient, tenant: TenantKit):
    member = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, member["id"], 30)).status_code == 200
    for identifier in (member["accountNumber"], member["id"], member["authIdentifier"]):
        answer = await client.get("/v1/users/me/wallet", headers={**tenant.pos, "X-User-Id": identifier})
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["user"]["id"] == member["id"]
        assert answer.json()["data"]["points"] == 30
    me = await client.get("/v1/users/me", headers={**tenant.admin, "X-User-Id": member["accountNumber"]})
    assert me.json()["data"]["id"] == member["id"]


async def test_a_client_token_on_users_me_without_x_user_id_is_400_user_context_required(
    client: httpx.AsyncClient, tenant: TenantKit
):
    assert_fail(await client.get("/v1/users/me/wallet", headers=tenant.pos), 400, "USER_CONTEXT_REQUIRED")
    assert_fail(await client.get("/v1/users/me", headers=tenant.admin), 400, "USER_CONTEXT_REQUIRED")


async def test_impersonating_an_unknown_member_is_404_user_not_found(client: httpx.AsyncClient, tenant: TenantKit):
    answer = await client.get("/v1/users/me/wallet", headers={**tenant.pos, "X-User-Id": str(uuid.uuid4())})
    assert_fail(answer, 404, "USER_NOT_FOUND")
