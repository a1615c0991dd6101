"""Abuse controls: the API rate limit per tenant, the limit on failed voucher validations (enumeration cannot go
faster than it, even with concurrent attempts), the request body size limit, token edge cases, and secrets kept
out of the logs on failure paths too."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
import structlog
from sqlalchemy import func, select

from loyalty.api.app import create_app
from loyalty.api.observability import configure_logging
from loyalty.api.tokens import ENGINE_ISSUER
from loyalty.domain.ratelimit import Bucket, Buckets, Limit
from loyalty.services import tenants as tenant_service
from loyalty.settings import Settings
from loyalty.storage.database import Database
from loyalty.storage.tables import members
from tests.api.test_authentication import ISSUER, SHARED_SECRET, hs256_tenant, sign_hs256, with_token  # noqa: F401
from tests.api.test_vouchers import add_discount, create_reward, member_with_points, purchase, redeem
from tests.conftest import TenantKit, create_member, make_tenant

# ---- the token bucket itself (pure) ----


def test_a_bucket_allows_its_burst_then_refills_at_its_rate():
    bucket = Bucket(Limit(rate=2, burst=3), tokens=3, updated=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(100.0) == pytest.approx(0.5)  # two tokens a second: the next in half a second
    assert bucket.take(100.25) == pytest.approx(0.25)
    assert bucket.take(100.5) == 0
    assert bucket.take(110.0) == 0  # refilled, but never beyond the burst
    assert bucket.tokens == pytest.approx(2)


def test_buckets_take_from_every_key_or_from_none():
    buckets = Buckets()
    tight, loose = Limit(1, 1), Limit(1, 5)
    keys = [("a", tight), ("b", loose)]
    assert buckets.take_all(keys, 0.0) == 0
    assert buckets.take_all(keys, 0.0) == pytest.approx(1.0)
    # The refused attempt took nothing from the loose bucket.
    assert buckets.bucket("b", loose, 0.0).tokens == pytest.approx(4)
    buckets.give_back(keys, 0.0)
    assert buckets.take_all(keys, 0.0) == 0


def test_idle_full_buckets_are_forgotten():
    buckets = Buckets()
    limit = Limit(10, 10)
    for n in range(100):
        buckets.take_all([(f"caller-{n}", limit)], 0.0)
    buckets.take_all([("late", limit)], 1000.0)
    assert list(buckets.buckets) == ["late"]


# ---- the API rate limit ----


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


async def limit_tenant(db: Database, kit: TenantKit, per_second: int, burst: int) -> None:
    await db.run(lambda tx: tenant_service.set_rate_limit(tx, uuid.UUID(kit.tenant_id), per_second, burst))


async def test_requests_past_the_tenants_burst_get_429_with_retry_after(client: httpx.AsyncClient, db, tenant):
    other = await make_tenant(client, db, "bystander")
    member = await create_member(client, tenant.admin)
    await limit_tenant(db, tenant, per_second=1, burst=5)
    started = time.monotonic()
    answers = await asyncio.gather(*(client.get(f"/v1/users/{member['id']}", headers=tenant.admin) for _ in range(30)))
    elapsed = time.monotonic() - started
    statuses = Counter(a.status_code for a in answers)
    # Five at once, plus at most one a second while the requests were being answered.
    assert 5 <= statuses[200] <= 5 + int(elapsed) + 1
    assert statuses[200] + statuses[429] == 30
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["data"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["data"]["retryAfter"] == int(refused.headers["Retry-After"])
    # Another tenant's key has a bucket of its own.
    assert (await client.get("/v1/users", headers=other.admin)).status_code == 200
    # Back to the default: the tenant is served again.
    await db.run(lambda tx: tenant_service.set_rate_limit(tx, uuid.UUID(tenant.tenant_id), None, None))
    assert (await client.get(f"/v1/users/{member['id']}", headers=tenant.admin)).status_code == 200


async def test_the_token_endpoint_is_rate_limited_too(client: httpx.AsyncClient, db, tenant):
    await limit_tenant(db, tenant, per_second=1, burst=2)
    form = {"grant_type": "client_credentials", "client_id": tenant.admin_client_id, "client_secret": "wrong"}
    answers = [await client.post("/v1/oauth/token", headers=tenant.anonymous, data=form) for _ in range(6)]
    assert [a.status_code for a in answers].count(429) >= 3


async def test_a_rate_limit_is_set_with_the_cli(fresh_database_url: str):
    from tests.processes import loyalty_cli

    code, output = await loyalty_cli(fresh_database_url, "tenants", "create", "shop", "--json")
    assert code == 0, output
    tenant_id = json.loads(output)["tenantId"]
    args = ("tenants", "rate-limit", "--tenant", tenant_id)
    code, output = await loyalty_cli(fresh_database_url, *args, "--per-second", "50", "--json")
    assert code == 0, output
    assert json.loads(output)["rateLimit"] == {"perSecond": 50, "burst": 100}
    code, output = await loyalty_cli(fresh_database_url, *args, "--default", "--json")
    assert code == 0, output
    assert json.loads(output)["rateLimit"] is None


# ---- failed voucher validations ----


@pytest.fixture
async def strict(db_url: str, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An engine that allows 5 failed validations a minute per credential and 3 per member (and does not shed: the
    guesses below arrive 40 at once)."""
    settings = Settings(
        database_url=db_url, voucher_failures_per_credential=5, voucher_failures_per_member=3, max_in_flight=0
    )
    transport = httpx.ASGITransport(app=create_app(settings, database=db), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://engine.test") as http:
        yield http


async def validate(http: httpx.AsyncClient, kit: TenantKit, code: str, **extra: Any) -> httpx.Response:
    body = {"code": code, "allowFutureValidation": True, **extra}
    return await http.post("/v1/commands/validate_voucher", headers=kit.pos, json=body)


async def a_redeemed_voucher(http: httpx.AsyncClient, kit: TenantKit) -> tuple[dict[str, Any], str]:
    member = await member_with_points(http, kit, 500)
    reward = await create_reward(http, kit.admin, price=100)
    await add_discount(http, kit.admin, reward["id"], type="ABSOLUTE", value=100)
    benefit = ok(await purchase(http, kit, reward["id"], member["id"]))
    return member, ok(await redeem(http, kit, benefit["id"]))["code"]["value"]


async def test_concurrent_guesses_never_pass_the_failure_limit(strict: httpx.AsyncClient, db, tenant: TenantKit):
    answers = await asyncio.gather(*(validate(strict, tenant, f"GUESS-{n:04d}") for n in range(40)))
    codes = Counter(a.json()["data"]["code"] for a in answers)
    assert codes == {"VOUCHER_NOT_FOUND": 5, "TOO_MANY_FAILED_VALIDATIONS": 35}
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1
    # The limit holds for real codes too while it lasts: the caller learns nothing more.
    _, code = await a_redeemed_voucher(strict, tenant)
    assert (await validate(strict, tenant, code)).json()["data"]["code"] == "TOO_MANY_FAILED_VALIDATIONS"


async def test_successful_validations_cost_nothing(strict: httpx.AsyncClient, tenant: TenantKit):
    _, code = await a_redeemed_voucher(strict, tenant)
    for _ in range(20):
        assert (await validate(strict, tenant, code)).status_code == 200
    assert (await validate(strict, tenant, "NOPE")).json()["data"]["code"] == "VOUCHER_NOT_FOUND"


async def test_another_members_code_counts_as_a_failure_and_reveals_no_owner(
    strict: httpx.AsyncClient, db, tenant: TenantKit
):
    owner, code = await a_redeemed_voucher(strict, tenant)
    presenter = await create_member(strict, tenant.admin)
    mismatch = await validate(strict, tenant, code, userIdentifier=presenter["id"])
    assert mismatch.status_code == 403
    assert mismatch.json()["data"] == {"code": "VOUCHER_OWNER_MISMATCH"}
    assert owner["id"] not in mismatch.text
    assert owner["accountNumber"] not in mismatch.text
    # Per member: three failures for one presenter, whichever till (credential) they come from.
    second_till = await make_tenant_pos(strict, db, tenant)
    assert (await validate(strict, tenant, "NOPE-1", userIdentifier=presenter["id"])).status_code == 404
    answer = await strict.post(
        "/v1/commands/validate_voucher",
        headers=second_till,
        json={"code": "NOPE-2", "allowFutureValidation": True, "userIdentifier": presenter["id"]},
    )
    assert answer.status_code == 404
    blocked = await validate(strict, tenant, code, userIdentifier=presenter["id"])
    assert blocked.json()["data"]["code"] == "TOO_MANY_FAILED_VALIDATIONS"
    # The owner presenting their own code is not held back by someone else's failures.
    assert (await validate(strict, tenant, code, userIdentifier=owner["id"])).status_code == 200


async def make_tenant_pos(http: httpx.AsyncClient, db: Database, kit: TenantKit) -> dict[str, str]:
    """Headers of a second pos client of the same tenant (another till)."""
    from loyalty.services import clients as client_service
    from tests.conftest import get_token

    created = await db.run(lambda tx: client_service.create_client(tx, uuid.UUID(kit.tenant_id), ["pos"], "Till 2"))
    token = await get_token(http, kit.api_key, str(created.client.client_id), created.client_secret)
    return {"X-Api-Key": kit.api_key, "Authorization": f"Bearer {token}"}


# ---- request body size ----


@pytest.fixture
async def small_bodies(db_url: str, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=db_url, max_body_bytes=2000)
    transport = httpx.ASGITransport(app=create_app(settings, database=db), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://engine.test") as http:
        yield http


async def count_members(db: Database, kit: TenantKit) -> int:
    query = select(func.count()).where(members.c.tenant_id == uuid.UUID(kit.tenant_id))
    return int(await db.run(lambda tx: _scalar(tx, query), write=False))


async def _scalar(tx: Any, query: Any) -> Any:
    return (await tx.execute(query)).scalar_one()


def big_member() -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "profile": {"givenName": "Ada", "emailAddress": f"ada.{suffix}@example.com"},
        "authIdentifier": f"idp-{suffix}",
        "attributes": {"notes": "x" * 3000},
    }


async def test_a_body_over_the_limit_is_413_and_nothing_is_written(small_bodies: httpx.AsyncClient, db, tenant):
    before = await count_members(db, tenant)
    declared = await small_bodies.post("/v1/users", headers=tenant.admin, json=big_member())
    assert declared.status_code == 413
    assert declared.json()["data"]["code"] == "PAYLOAD_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:
        document = json.dumps(big_member()).encode()
        for start in range(0, len(document), 500):
            yield document[start : start + 500]

    streamed = await small_bodies.post(
        "/v1/users", headers={**tenant.admin, "Content-Type": "application/json"}, content=chunks()
    )
    assert streamed.status_code == 413
    assert streamed.json()["data"]["code"] == "PAYLOAD_TOO_LARGE"
    assert await count_members(db, tenant) == before
    assert (await create_member(small_bodies, tenant.admin))["id"]


# ---- token edge cases ----


def client_token(kit: TenantKit, key: str, **claims: Any) -> str:
    now = int(time.time())
    document = {
        "iss": ENGINE_ISSUER,
        "sub": kit.admin_client_id,
        "tid": kit.tenant_id,
        "scope": "admin",
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    return jwt.encode(document, key, algorithm="HS256")


async def signing_key(db: Database, kit: TenantKit) -> str:
    found = await db.run(lambda tx: tenant_service.get_tenant(tx, kit.tenant_id), write=False)
    return found.token_signing_key


async def test_client_tokens_that_are_not_yet_valid_or_from_another_issuer_are_401(client, db, tenant: TenantKit):
    key = await signing_key(db, tenant)
    future = int(time.time()) + 3600
    good = client_token(tenant, key)
    assert (await client.get("/v1/users", headers=with_token(tenant, good))).status_code == 200
    for token in (
        client_token(tenant, key, nbf=future),
        client_token(tenant, key, iat=future, exp=future + 600),
        client_token(tenant, key, iss="someone-else"),
    ):
        answer = await client.get("/v1/users", headers=with_token(tenant, token))
        assert answer.status_code == 401, token
        assert answer.json()["data"]["code"] == "INVALID_TOKEN"


async def test_an_unsigned_client_token_is_401(client, tenant: TenantKit):
    now = int(time.time())
    claims = {
        "iss": ENGINE_ISSUER,
        "sub": tenant.admin_client_id,
        "tid": tenant.tenant_id,
        "scope": "admin",
        "iat": now,
        "exp": now + 600,
    }
    unsigned = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    answer = await client.get("/v1/users", headers=with_token(tenant, unsigned))
    assert answer.status_code == 401
    assert answer.json()["data"]["code"] == "INVALID_TOKEN"


async def test_a_member_token_not_yet_valid_is_401(client, hs256_tenant: TenantKit):  # noqa: F811
    member = await create_member(client, hs256_tenant.admin)
    future = int(time.time()) + 3600
    for extra in ({"nbf": future}, {"iat": future, "exp": future + 600}):
        token = jwt.encode(
            {"iss": ISSUER, "sub": member["authIdentifier"], "exp": future + 600, **extra}
            | ({"iat": int(time.time())} if "iat" not in extra else {}),
            SHARED_SECRET,
            algorithm="HS256",
        )
        answer = await client.get("/v1/users/me", headers=with_token(hs256_tenant, token))
        assert answer.status_code == 401, extra
    assert (
        await client.get("/v1/users/me", headers=with_token(hs256_tenant, sign_hs256(member["authIdentifier"])))
    ).status_code == 200


# ---- secrets stay out of the logs, on failures too ----


async def test_no_secret_reaches_the_log_on_success_or_failure(client: httpx.AsyncClient, db, tenant: TenantKit):
    captured = io.StringIO()
    configure_logging("INFO", captured, cache=False)
    try:
        from loyalty.services import clients as client_service

        created = await db.run(
            lambda tx: client_service.create_client(tx, uuid.UUID(tenant.tenant_id), ["pos"], "Till")
        )
        secret = created.client_secret
        form = {"grant_type": "client_credentials", "client_id": str(created.client.client_id), "client_secret": secret}
        token = ok_token(await client.post("/v1/oauth/token", headers=tenant.anonymous, data=form))
        wrong = {**form, "client_secret": secret[::-1]}
        assert (await client.post("/v1/oauth/token", headers=tenant.anonymous, data=wrong)).status_code == 401
        bad_key = tenant.api_key[:-4] + "AAAA"
        assert (await client.get("/v1/users", headers={"X-Api-Key": bad_key})).status_code == 401
        tampered = token[:-3] + "abc"
        headers = {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {tampered}"}
        assert (await client.get("/v1/users", headers=headers)).status_code == 401
        _, code = await a_redeemed_voucher(client, tenant)
        assert (await validate(client, tenant, code)).status_code == 200
        assert (await validate(client, tenant, "SECRET-GUESS-77")).status_code == 404
    finally:
        structlog.reset_defaults()
    everything = captured.getvalue()
    assert "request" in everything  # the requests were logged
    for hidden in (tenant.api_key, bad_key, secret, secret[::-1], token, tampered, code, "SECRET-GUESS-77"):
        assert hidden not in everything


def ok_token(answer: httpx.Response) -> str:
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])
