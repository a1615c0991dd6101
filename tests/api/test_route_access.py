"""Every /v1 route declares who may call it, read from the application's own route table.

A route without an ``Access`` (or ``TenantOnly``) dependency is open to anyone who finds it; these tests fail for
such a route as soon as it is added. The matrix tests then call every route that pos (or a member) may not use and
expect 403 before anything else happens.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from loyalty.api.app import create_app
from loyalty.api.auth import ADMIN, Access, Role, TenantOnly
from loyalty.services import clients as client_service
from loyalty.services import tenants as tenant_service
from loyalty.settings import Settings
from loyalty.storage.database import Database
from tests.conftest import TenantKit, create_member

ISSUER = "https://idp.example.com/"
SHARED_SECRET = "idp-shared-secret-0123456789-abcdefghijklmnop"


def _dependencies(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _dependencies(dependency)


def access_rule(route: APIRoute) -> Access | TenantOnly | None:
    """The route's access rule, wherever it sits in the dependency tree."""
    for call in _dependencies(route.dependant):
        if isinstance(call, Access | TenantOnly):
            return call
    return None


def v1_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/v1")]


def routes_without_access(app: FastAPI) -> list[str]:
    """``METHOD /path`` of every /v1 route that declares no access rule. A /v1 route that is not an APIRoute (a
    plain Starlette route or a mount) cannot carry one, so it is reported too."""
    reported = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/v1"):
            continue
        if not isinstance(route, APIRoute) or access_rule(route) is None:
            methods = getattr(route, "methods", None) or {"*"}
            reported.extend(f"{method} {path}" for method in sorted(methods))
    return sorted(reported)


def fresh_app(tmp_path: Path) -> FastAPI:
    return create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}"))


def test_every_v1_route_declares_an_access_rule(tmp_path: Path):
    app = fresh_app(tmp_path)
    assert len(v1_routes(app)) >= 14
    assert routes_without_access(app) == []


def test_the_checker_reports_a_new_route_without_an_access_rule(tmp_path: Path):
    app = fresh_app(tmp_path)

    @app.get("/v1/unguarded")
    async def unguarded() -> dict[str, str]:
        return {"secret": "everyone sees this"}

    async def who_is_calling(principal: Any = Depends(ADMIN)) -> Any:
        return principal

    @app.post("/v1/guarded_through_a_dependency")
    async def guarded(principal: Any = Depends(who_is_calling)) -> None:
        return None

    @app.get("/healthz_again")
    async def outside_v1() -> None:
        return None

    async def raw(request: Any) -> None:
        return None

    app.add_route("/v1/raw", raw, methods=["DELETE"])

    assert routes_without_access(app) == ["DELETE /v1/raw", "GET /v1/unguarded"]


def test_every_access_rule_admits_admin(tmp_path: Path):
    rules = {f"{sorted(r.methods)} {r.path}": access_rule(r) for r in v1_routes(fresh_app(tmp_path))}
    without_admin = [name for name, rule in rules.items() if isinstance(rule, Access) and Role.ADMIN not in rule.roles]
    assert without_admin == []


def _operations(app: FastAPI, excluded_role: Role) -> list[tuple[str, str]]:
    """(method, path template) of every /v1 route whose Access rule does not include ``excluded_role``."""
    found = []
    for route in v1_routes(app):
        rule = access_rule(route)
        if isinstance(rule, Access) and excluded_role not in rule.roles:
            found.extend((method, route.path) for method in sorted(route.methods))
    return sorted(found)


def _concrete(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    # Any other parameter names a parent or child resource that does not exist: the access rule must refuse the
    # caller before anything is looked up.
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


async def _call(client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    # An empty body: the access rule must refuse before the body is validated.
    body = {"json": {}} if method in {"POST", "PATCH", "PUT"} else {}
    return await client.request(method, path, headers=headers, **body)


async def _path_values(client: httpx.AsyncClient, db: Database, kit: TenantKit) -> dict[str, str]:
    member = await create_member(client, kit.admin)
    spare = await db.run(lambda tx: client_service.create_client(tx, uuid.UUID(kit.tenant_id), "pos", "spare till"))
    # A parent resource that does not exist: the access rule must refuse before it is looked up.
    return {"id": member["id"], "client_id": str(spare.client.client_id), "rewardId": str(uuid.uuid4())}


async def test_a_pos_token_gets_403_on_every_route_pos_may_not_call(
    client: httpx.AsyncClient, app: FastAPI, db: Database, tenant: TenantKit
):
    operations = _operations(app, Role.POS)
    assert {("GET", "/v1/users"), ("POST", "/v1/commands/adjust_points"), ("POST", "/v1/clients")} <= set(operations)
    values = await _path_values(client, db, tenant)
    answers = {}
    for method, template in operations:
        answer = await _call(client, method, _concrete(template, values), tenant.pos)
        answers[f"{method} {template}"] = (answer.status_code, answer.json()["data"]["code"])
    assert answers == dict.fromkeys(answers, (403, "FORBIDDEN"))

    # Nothing happened on the way: the member and the spare client are as they were.
    read = await client.get(f"/v1/users/{values['id']}", headers=tenant.admin)
    assert read.status_code == 200
    listed = {c["clientId"]: c for c in (await client.get("/v1/clients", headers=tenant.admin)).json()["data"]}
    assert listed[values["client_id"]]["revokedAt"] is None


async def test_a_member_token_gets_403_on_every_route_a_member_may_not_call(
    client: httpx.AsyncClient, app: FastAPI, db: Database, tenant: TenantKit
):
    config = {"algorithm": "HS256", "issuer": ISSUER, "sharedSecret": SHARED_SECRET}
    await db.run(lambda tx: tenant_service.set_user_auth(tx, uuid.UUID(tenant.tenant_id), config))
    values = await _path_values(client, db, tenant)
    me = (await client.get(f"/v1/users/{values['id']}", headers=tenant.admin)).json()["data"]
    claims = {"sub": me["authIdentifier"], "iss": ISSUER, "iat": 1_700_000_000, "exp": 4_000_000_000}
    headers = {"X-Api-Key": tenant.api_key, "Authorization": f"Bearer {jwt.encode(claims, SHARED_SECRET)}"}
    assert (await client.get("/v1/users/me", headers=headers)).status_code == 200

    operations = _operations(app, Role.USER)
    assert {("GET", "/v1/users"), ("POST", "/v1/commands/adjust_points")} <= set(operations)
    answers = {}
    for method, template in operations:
        answer = await _call(client, method, _concrete(template, values), headers)
        answers[f"{method} {template}"] = (answer.status_code, answer.json()["data"]["code"])
    assert answers == dict.fromkeys(answers, (403, "FORBIDDEN"))
