"""Tenant isolation and member authorization, generated from the application's route table.

Three matrices, each over two "worlds": a tenant holding one object of every kind a route can name (a member with
points, badges, benefits and orders, and one of everything an admin configures).

* **Paths.** Every route with a path parameter is called with tenant B's credentials — admin, pos and a member
  token, as far as the route admits them — naming tenant A's objects by every identifier form the route accepts.
  Each call must answer 404 with the resource's own not-found code (a member token naming a member: 403
  ``FORBIDDEN``, as documented), word for word as it answers a name that matches nothing, and no row of either
  tenant may change. Then B's admin calls every route once more on B's own objects with the same body, and must
  succeed: the 404s came from the foreign names, not from the bodies.
* **Bodies, queries and headers.** B names A's members and objects where a request names them outside the path
  (``actorId``, ``X-User-Id``, ``?userId=``, voucher codes, references inside a reward or a reactor…), with the same
  expectations.
* **Members.** Every route a member token may call is classified. Those that can name another member, or something
  another member owns, are called with a member token naming the other member's identifiers and objects: they
  refuse (403 naming a member, 404 naming an object) or ignore the name (``X-User-Id`` on ``/users/me``), answer
  exactly as for a name that matches nothing, and change nothing.

The path and member tables are explicit, and a route missing from either fails the tests, so a new route cannot be
left out.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import select

from loyalty.api.app import create_app
from loyalty.api.auth import ADMIN, ADMIN_USER, Access, Role
from loyalty.settings import Settings
from loyalty.storage.database import Database
from loyalty.storage.tables import metadata
from tests.api.catalogue import enable_member_tokens, member_headers, ok, reward_body
from tests.api.test_route_access import access_rule
from tests.conftest import TenantKit, adjust, create_member, make_tenant

# ---- the path table ----


@dataclass(frozen=True)
class PathRoute:
    """What a route's path parameters name, in path order, and how the route answers another tenant's object.

    ``missing`` is the not-found code; ``None`` marks a parameter that is a name every tenant shares (a setting),
    which must resolve to the caller's own. ``child_missing`` is the code for a nested route whose parent is the
    caller's own and whose child is the other tenant's. ``body`` is a valid body for the route."""

    names: tuple[str, ...]
    missing: str | None
    body: dict[str, Any] | None = None
    child_missing: str | None = None


HIJACK = "Changed by another tenant"

PATH_ROUTES: dict[str, PathRoute] = {
    # members
    "GET /v1/users/{id}": PathRoute(("member",), "USER_NOT_FOUND"),
    "PATCH /v1/users/{id}": PathRoute(("member",), "USER_NOT_FOUND", {"profile": {"givenName": "Mallory"}}),
    "DELETE /v1/users/{id}": PathRoute(("member",), "USER_NOT_FOUND"),
    "GET /v1/users/{id}/wallet": PathRoute(("member",), "USER_NOT_FOUND"),
    "GET /v1/users/{id}/wallet/predictions": PathRoute(("member",), "USER_NOT_FOUND"),
    "GET /v1/users/{id}/points": PathRoute(("member",), "USER_NOT_FOUND"),
    "GET /v1/users/{id}/audiences": PathRoute(("member",), "USER_NOT_FOUND"),
    # clients
    "DELETE /v1/clients/{client_id}": PathRoute(("client",), "CLIENT_NOT_FOUND"),
    # events and their configuration
    "GET /v1/events/{id}": PathRoute(("event",), "EVENT_NOT_FOUND"),
    "GET /v1/events/{id}/reactions": PathRoute(("event",), "EVENT_NOT_FOUND"),
    "GET /v1/event_types/{id}": PathRoute(("event_type",), "EVENT_TYPE_NOT_FOUND"),
    "PATCH /v1/event_types/{id}": PathRoute(("event_type",), "EVENT_TYPE_NOT_FOUND", {"description": HIJACK}),
    "GET /v1/event_types/{id}/secret": PathRoute(("event_type",), "EVENT_TYPE_NOT_FOUND"),
    "POST /v1/event_types/{id}/secret/rotate": PathRoute(("event_type",), "EVENT_TYPE_NOT_FOUND"),
    "GET /v1/event_reactors/{id}": PathRoute(("reactor",), "REACTOR_NOT_FOUND"),
    "PATCH /v1/event_reactors/{id}": PathRoute(("reactor",), "REACTOR_NOT_FOUND", {"description": HIJACK}),
    "DELETE /v1/event_reactors/{id}": PathRoute(("reactor",), "REACTOR_NOT_FOUND"),
    "GET /v1/event_reactors/{id}/versions": PathRoute(("reactor",), "REACTOR_NOT_FOUND"),
    "GET /v1/badges/{id}": PathRoute(("badge",), "BADGE_NOT_FOUND"),
    "PATCH /v1/badges/{id}": PathRoute(("badge",), "BADGE_NOT_FOUND", {"status": "ARCHIVED"}),
    "GET /v1/webhook_deliveries/{id}": PathRoute(("webhook_delivery",), "WEBHOOK_DELIVERY_NOT_FOUND"),
    # settings, venues, tiers, audiences
    "GET /v1/settings/{id}": PathRoute(("setting",), None),
    "GET /v1/venues/{id}": PathRoute(("venue",), "VENUE_NOT_FOUND"),
    "PATCH /v1/venues/{id}": PathRoute(("venue",), "VENUE_NOT_FOUND", {"description": HIJACK}),
    "DELETE /v1/venues/{id}": PathRoute(("venue",), "VENUE_NOT_FOUND"),
    "GET /v1/tiers/{id}": PathRoute(("tier",), "TIER_NOT_FOUND"),
    "PATCH /v1/tiers/{id}": PathRoute(("tier",), "TIER_NOT_FOUND", {"name": "Hijacked"}),
    "DELETE /v1/tiers/{id}": PathRoute(("tier",), "TIER_NOT_FOUND"),
    "GET /v1/audiences/{id}": PathRoute(("audience",), "AUDIENCE_NOT_FOUND"),
    "PATCH /v1/audiences/{id}": PathRoute(("audience",), "AUDIENCE_NOT_FOUND", {"description": HIJACK}),
    "DELETE /v1/audiences/{id}": PathRoute(("audience",), "AUDIENCE_NOT_FOUND"),
    "GET /v1/audiences/{id}/results": PathRoute(("audience",), "AUDIENCE_NOT_FOUND"),
    "POST /v1/audiences/{id}/refresh": PathRoute(("audience",), "AUDIENCE_NOT_FOUND"),
    # the catalogue
    "GET /v1/reward_categories/{id}": PathRoute(("category",), "CATEGORY_NOT_FOUND"),
    "GET /v1/reward_categories/{id}/rewards": PathRoute(("category",), "CATEGORY_NOT_FOUND"),
    "GET /v1/rewards/{id}": PathRoute(("reward",), "REWARD_NOT_FOUND"),
    "PATCH /v1/rewards/{id}": PathRoute(("reward",), "REWARD_NOT_FOUND", {"summary": HIJACK}),
    "DELETE /v1/rewards/{id}": PathRoute(("reward",), "REWARD_NOT_FOUND"),
    "GET /v1/rewards/{rewardId}/discounts": PathRoute(("reward",), "REWARD_NOT_FOUND"),
    "POST /v1/rewards/{rewardId}/discounts": PathRoute(
        ("reward",), "REWARD_NOT_FOUND", {"type": "ABSOLUTE", "value": 50}
    ),
    "GET /v1/rewards/{rewardId}/discounts/{id}": PathRoute(
        ("reward", "discount"), "REWARD_NOT_FOUND", child_missing="DISCOUNT_NOT_FOUND"
    ),
    "PATCH /v1/rewards/{rewardId}/discounts/{id}": PathRoute(
        ("reward", "discount"), "REWARD_NOT_FOUND", {"value": 75}, child_missing="DISCOUNT_NOT_FOUND"
    ),
    "DELETE /v1/rewards/{rewardId}/discounts/{id}": PathRoute(
        ("reward", "discount"), "REWARD_NOT_FOUND", child_missing="DISCOUNT_NOT_FOUND"
    ),
    "GET /v1/code_pools/{pool_id}": PathRoute(("code_pool",), "CODE_POOL_NOT_FOUND"),
    "GET /v1/code_pools/{pool_id}/codes": PathRoute(("code_pool",), "CODE_POOL_NOT_FOUND"),
    "POST /v1/code_pools/{pool_id}/codes": PathRoute(("code_pool",), "CODE_POOL_NOT_FOUND", {"value": "ISO-ONE"}),
    "POST /v1/code_pools/{pool_id}/codes/create_bulk": PathRoute(
        ("code_pool",), "CODE_POOL_NOT_FOUND", {"codes": ["ISO-TWO", "ISO-THREE"]}
    ),
    "DELETE /v1/code_pools/{pool_id}/codes": PathRoute(("code_pool",), "CODE_POOL_NOT_FOUND"),
    "DELETE /v1/code_pools/{pool_id}/codes/{code_id}": PathRoute(
        ("code_pool", "code"), "CODE_POOL_NOT_FOUND", child_missing="CODE_NOT_FOUND"
    ),
    # benefits, orders, checkouts
    "GET /v1/benefits/{id}": PathRoute(("benefit",), "BENEFIT_NOT_FOUND"),
    "GET /v1/vouchers/{id}": PathRoute(("benefit",), "BENEFIT_NOT_FOUND"),
    "GET /v1/orders/{id}": PathRoute(("order",), "ORDER_NOT_FOUND"),
    "POST /v1/orders/{id}/refunds": PathRoute(("order",), "ORDER_NOT_FOUND", {"externalId": "ISO-REFUND"}),
    "POST /v1/checkouts/{id}/void": PathRoute(("checkout",), "ORDER_NOT_FOUND"),
    # points configuration
    "GET /v1/points_liability_criteria/{id}": PathRoute(("criterion",), "CRITERIA_NOT_FOUND"),
    "PATCH /v1/points_liability_criteria/{id}": PathRoute(("criterion",), "CRITERIA_NOT_FOUND", {"isActive": False}),
    "DELETE /v1/points_liability_criteria/{id}": PathRoute(("criterion",), "CRITERIA_NOT_FOUND"),
    # the audit trail
    "GET /v1/audit_log/{id}": PathRoute(("audit_entry",), "AUDIT_ENTRY_NOT_FOUND"),
}

# Calls on the caller's own objects refused for a reason other than the name (the object was found).
CONTROL_REFUSALS = {("GET /v1/event_types/{id}/secret", "intrinsicId"): (400, "INTRINSIC_EVENT_TYPE")}


# ---- probes: requests that name something in a path, a query, a header or a body ----


@dataclass(frozen=True)
class Probe:
    """A request naming another member or tenant's objects, and what it must get.

    The method comes from the route. Placeholders are filled from the worlds (see ``placeholders``): ``{member}``
    is each identifier of the other member in turn, ``{kind}`` and ``{kind.form}`` the other world's objects,
    ``{own.…}`` the caller's. ``expect`` is the refusal; ``None`` means the name is ignored (the caller gets its own
    answer, as without the name) or, for a list filter, that the list is empty. ``newcomer``: a member token whose
    subject has no member yet."""

    expect: tuple[int, str] | None
    path: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    newcomer: bool = False


FORBIDDEN = (403, "FORBIDDEN")
NO_MEMBER = (404, "USER_NOT_FOUND")
NO_BENEFIT = (404, "BENEFIT_NOT_FOUND")
AS_OTHER = {"X-User-Id": "{member}"}
FOR_OTHER = {"userId": "{member}"}
CATALOGUE = "names no member: the catalogue is the same for every member"
NEWCOMER = {"profile": {"givenName": "Eve", "familyName": "Newcomer", "emailAddress": "eve@example.com"}}

MEMBER_ROUTES: dict[str, list[Probe] | str] = {
    "POST /v1/users": [
        Probe((403, "FORBIDDEN_FIELD"), body={**NEWCOMER, "authIdentifier": "{member.authIdentifier}"}, newcomer=True),
        Probe(
            (403, "FORBIDDEN_FIELD"),
            body={**NEWCOMER, "externalIdentifier": "{member.externalIdentifier}"},
            newcomer=True,
        ),
    ],
    "GET /v1/users/me": [Probe(None, headers=AS_OTHER)],
    "GET /v1/users/me/wallet": [Probe(None, headers=AS_OTHER)],
    "GET /v1/users/me/wallet/predictions": [Probe(None, headers=AS_OTHER)],
    "GET /v1/users/me/points": [Probe(None, headers=AS_OTHER)],
    "GET /v1/users/{id}": [Probe(FORBIDDEN, "/v1/users/{member}")],
    "PATCH /v1/users/{id}": [Probe(FORBIDDEN, "/v1/users/{member}", body={"profile": {"givenName": "Eve"}})],
    "DELETE /v1/users/{id}": [Probe(FORBIDDEN, "/v1/users/{member}")],
    "GET /v1/users/{id}/wallet": [Probe(FORBIDDEN, "/v1/users/{member}/wallet")],
    "GET /v1/users/{id}/wallet/predictions": [
        Probe(FORBIDDEN, "/v1/users/{member}/wallet/predictions", params={"period": "DAY"})
    ],
    "GET /v1/users/{id}/points": [Probe(FORBIDDEN, "/v1/users/{member}/points")],
    "POST /v1/events": [Probe(FORBIDDEN, body={"type": "{eventType}", "subject": "{member}", "payload": {}})],
    "GET /v1/badges": CATALOGUE,
    "GET /v1/badges/earned": [Probe(None, headers=AS_OTHER)],
    "GET /v1/badges/{id}": CATALOGUE,
    "GET /v1/tiers": [Probe(None, headers=AS_OTHER)],
    "GET /v1/tiers/{id}": [Probe(None, "/v1/tiers/{tier}", headers=AS_OTHER)],
    "GET /v1/reward_categories": CATALOGUE,
    "GET /v1/reward_categories/{id}": CATALOGUE,
    "GET /v1/reward_categories/{id}/rewards": [
        Probe(FORBIDDEN, "/v1/reward_categories/{category}/rewards", params=FOR_OTHER),
        Probe(FORBIDDEN, "/v1/reward_categories/{category}/rewards", headers=AS_OTHER),
    ],
    "GET /v1/rewards": [Probe(FORBIDDEN, params=FOR_OTHER), Probe(FORBIDDEN, headers=AS_OTHER)],
    "GET /v1/rewards/{id}": [
        Probe(FORBIDDEN, "/v1/rewards/{reward}", params=FOR_OTHER),
        Probe(FORBIDDEN, "/v1/rewards/{reward}", headers=AS_OTHER),
    ],
    "GET /v1/benefits": [Probe(None, params=FOR_OTHER), Probe(None, headers=AS_OTHER)],
    "GET /v1/benefits/{id}": [Probe(NO_BENEFIT, "/v1/benefits/{benefit}")],
    "GET /v1/vouchers": [Probe(None, params=FOR_OTHER), Probe(None, headers=AS_OTHER)],
    "GET /v1/vouchers/{id}": [Probe(NO_BENEFIT, "/v1/vouchers/{benefit}")],
    "POST /v1/commands/purchase_reward": [Probe(FORBIDDEN, body={"rewardId": "{reward}", "beneficiaryId": "{member}"})],
    "POST /v1/commands/redeem_benefit": [Probe(NO_BENEFIT, body={"benefitId": "{benefit}"})],
}

LINES = [{"sku": "LATTE", "quantity": 1, "unitPrice": 350}]
BASKET = {"currency": "GBP", "lineItems": LINES}
ORDER = {
    "externalId": "ISO-ORDER",
    "currency": "GBP",
    "lineItems": [{"sku": "LATTE", "quantity": 1, "unitPrice": 350, "total": 350}],
    "totals": {"subtotal": 350, "total": 350},
}
NEW_REWARD = {"type": "VOUCHER", "name": "Borrowed goods", "price": 10, "purchasable": True}
POINTS = {"type": "POINTS", "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "1"}]}}
NEW_REACTOR = {"name": "Borrowed rule", "eventType": "{own.eventType}", "reactions": [POINTS]}
MEMBER_FORMS = ("id", "accountNumber", "authIdentifier", "externalIdentifier")

# Another tenant's members and objects named outside the path (where a route names them in its body, query or
# headers). Not generated: each is a field the engine resolves within the caller's tenant.
REFERENCES: list[tuple[str, Probe]] = [
    # a member, by any identifier
    ("POST /v1/commands/adjust_points", Probe(NO_MEMBER, body={"actorId": "{member}", "points": 5})),
    ("POST /v1/commands/award_badge", Probe(NO_MEMBER, body={"badgeId": "{own.badge}", "beneficiaryId": "{member}"})),
    ("POST /v1/commands/give_reward", Probe(NO_MEMBER, body={"rewardId": "{own.reward}", "beneficiaryId": "{member}"})),
    (
        "POST /v1/commands/purchase_reward",
        Probe(NO_MEMBER, body={"rewardId": "{own.reward}", "beneficiaryId": "{member}"}),
    ),
    (
        "POST /v1/commands/validate_voucher",
        Probe(
            (403, "VOUCHER_OWNER_MISMATCH"),
            body={"code": "{own.voucherCode}", "userIdentifier": "{member}", "allowFutureValidation": True},
        ),
    ),
    ("POST /v1/events", Probe(NO_MEMBER, body={"type": "{own.eventType}", "subject": "{member}", "payload": {}})),
    (
        "POST /v1/events/test_reaction",
        Probe(NO_MEMBER, body={"type": "{own.eventType}", "subject": "{member}", "payload": {}}),
    ),
    ("GET /v1/events", Probe(NO_MEMBER, params={"subject": "{member}"})),
    ("GET /v1/orders", Probe(NO_MEMBER, params={"user": "{member}"})),
    *(
        ("POST /v1/orders", Probe(NO_MEMBER, body={**ORDER, "submitter": {form: f"{{member.{form}}}"}}))
        for form in MEMBER_FORMS
    ),
    ("POST /v1/baskets/price", Probe(NO_MEMBER, body={**BASKET, "user": "{member}"})),
    ("POST /v1/checkouts", Probe(NO_MEMBER, body={**BASKET, "externalId": "ISO-CHECKOUT", "user": "{member}"})),
    *(
        (route, Probe(NO_MEMBER, headers=AS_OTHER))
        for route in (
            "GET /v1/users/me",
            "GET /v1/users/me/wallet",
            "GET /v1/users/me/wallet/predictions",
            "GET /v1/users/me/points",
            "GET /v1/badges/earned",
            "GET /v1/tiers",
            "GET /v1/rewards",
            "GET /v1/benefits",
            "GET /v1/vouchers",
        )
    ),
    ("GET /v1/tiers/{id}", Probe(NO_MEMBER, "/v1/tiers/{own.tier}", headers=AS_OTHER)),
    ("GET /v1/rewards", Probe(NO_MEMBER, params=FOR_OTHER)),
    ("GET /v1/rewards/{id}", Probe(NO_MEMBER, "/v1/rewards/{own.reward}", params=FOR_OTHER)),
    (
        "GET /v1/reward_categories/{id}/rewards",
        Probe(NO_MEMBER, "/v1/reward_categories/{own.category}/rewards", params=FOR_OTHER),
    ),
    ("GET /v1/benefits", Probe(NO_MEMBER, params=FOR_OTHER)),
    ("GET /v1/vouchers", Probe(NO_MEMBER, params=FOR_OTHER)),
    # the other tenant's objects
    (
        "POST /v1/commands/award_badge",
        Probe((404, "BADGE_NOT_FOUND"), body={"badgeId": "{badge}", "beneficiaryId": "{own.member}"}),
    ),
    (
        "POST /v1/commands/give_reward",
        Probe((404, "REWARD_NOT_FOUND"), body={"rewardId": "{reward}", "beneficiaryId": "{own.member}"}),
    ),
    (
        "POST /v1/commands/purchase_reward",
        Probe((404, "REWARD_NOT_FOUND"), body={"rewardId": "{reward}", "beneficiaryId": "{own.member}"}),
    ),
    ("POST /v1/commands/redeem_benefit", Probe(NO_BENEFIT, body={"benefitId": "{benefit}"})),
    (
        "POST /v1/commands/unburn_voucher",
        Probe(
            NO_BENEFIT, body={"benefitId": "{redeemedBenefit}", "reason": "Voided", "venueIdentifier": "{own.venue}"}
        ),
    ),
    ("POST /v1/commands/validate_voucher", Probe((404, "VOUCHER_NOT_FOUND"), body={"code": "{voucherCode}"})),
    ("POST /v1/commands/validate_voucher", Probe((404, "VOUCHER_NOT_FOUND"), body={"code": "{poolCode}"})),
    (
        "POST /v1/checkouts",
        Probe(
            (404, "VOUCHER_NOT_FOUND"),
            body={**BASKET, "externalId": "ISO-VOUCHER", "user": "{own.member}", "voucherCodes": ["{voucherCode}"]},
        ),
    ),
    (
        "POST /v1/events",
        Probe((400, "UNKNOWN_EVENT_TYPE"), body={"type": "{eventType}", "subject": "{own.member}", "payload": {}}),
    ),
    *(
        ("POST /v1/orders", Probe((400, "VENUE_NOT_FOUND"), body={**ORDER, "venue": {form: f"{{venue.{form}}}"}}))
        for form in ("id", "externalIdentifier")
    ),
    *(
        ("GET /v1/orders", Probe((404, "VENUE_NOT_FOUND"), params={"venue": f"{{venue.{form}}}"}))
        for form in ("id", "externalIdentifier")
    ),
    ("POST /v1/baskets/price", Probe((404, "VENUE_NOT_FOUND"), body={**BASKET, "venue": "{venue}"})),
    ("GET /v1/events", Probe(None, params={"type": "{eventType}"})),
    ("GET /v1/webhook_deliveries", Probe(None, params={"eventId": "{event}"})),
    ("GET /v1/event_reactors", Probe(None, params={"eventType": "{eventType}"})),
    # The audit trail filtered by the other tenant's members, objects and admin client finds nothing.
    ("GET /v1/audit_log", Probe(None, params={"target": "{member}"})),
    ("GET /v1/audit_log", Probe(None, params={"target": "{reward}"})),
    ("GET /v1/audit_log", Probe(None, params={"actor": "{adminClient}"})),
    ("POST /v1/rewards", Probe((400, "CATEGORY_NOT_FOUND"), body={**NEW_REWARD, "category": {"id": "{category}"}})),
    ("POST /v1/rewards", Probe((400, "TIER_NOT_FOUND"), body={**NEW_REWARD, "tier": {"id": "{tier}"}})),
    ("POST /v1/rewards", Probe((400, "VENUE_NOT_FOUND"), body={**NEW_REWARD, "venues": [{"id": "{venue}"}]})),
    (
        "POST /v1/rewards",
        Probe((400, "AUDIENCE_NOT_FOUND"), body={**NEW_REWARD, "purchasableForAudiences": [{"id": "{audience}"}]}),
    ),
    (
        "POST /v1/rewards",
        Probe((400, "CODE_POOL_NOT_FOUND"), body={**NEW_REWARD, "codeType": "POOL", "codePool": {"id": "{code_pool}"}}),
    ),
    (
        "PATCH /v1/rewards/{id}",
        Probe((400, "CATEGORY_NOT_FOUND"), "/v1/rewards/{own.reward}", body={"category": {"id": "{category}"}}),
    ),
    (
        "POST /v1/rewards/{rewardId}/discounts",
        Probe(
            (400, "VENUE_NOT_FOUND"),
            "/v1/rewards/{own.reward}/discounts",
            body={"type": "ABSOLUTE", "value": 10, "venues": [{"id": "{venue}"}]},
        ),
    ),
    ("POST /v1/event_reactors", Probe((400, "UNKNOWN_EVENT_TYPE"), body={**NEW_REACTOR, "eventType": "{eventType}"})),
    (
        "POST /v1/event_reactors",
        Probe((400, "UNKNOWN_EVENT_TYPE"), body={**NEW_REACTOR, "eventType": {"id": "{event_type}"}}),
    ),
    (
        "POST /v1/event_reactors",
        Probe(
            (400, "BADGE_NOT_FOUND"), body={**NEW_REACTOR, "reactions": [{"type": "BADGE", "badge": {"id": "{badge}"}}]}
        ),
    ),
    (
        "POST /v1/event_reactors",
        Probe(
            (400, "REWARD_NOT_FOUND"),
            body={**NEW_REACTOR, "reactions": [{"type": "REWARD", "reward": {"id": "{reward}"}}]},
        ),
    ),
]


# ---- reading the route table ----

_PLACEHOLDER = re.compile(r"\{([^}]+)\}")


def _keys(route: Any) -> list[str]:
    methods = getattr(route, "methods", None) or {"*"}
    return [f"{method} {route.path}" for method in sorted(methods)]


def routes_with_path_parameters(app: FastAPI) -> list[str]:
    """``METHOD /path`` of every /v1 route whose path has a parameter (whatever kind of route it is)."""
    found = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/v1") and _PLACEHOLDER.search(path):
            found.extend(_keys(route))
    return sorted(found)


def member_routes(app: FastAPI) -> list[str]:
    """``METHOD /path`` of every /v1 route a member token may call."""
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path.startswith("/v1"):
            rule = access_rule(route)
            if isinstance(rule, Access) and Role.USER in rule.roles:
                found.extend(_keys(route))
    return sorted(found)


def route_roles(app: FastAPI) -> dict[str, frozenset[Role]]:
    """The roles each route admits, by ``METHOD /path``."""
    found: dict[str, frozenset[Role]] = {}
    for route in app.routes:
        if isinstance(route, APIRoute):
            rule = access_rule(route)
            for key in _keys(route):
                found[key] = rule.roles if isinstance(rule, Access) else frozenset()
    return found


def unclassified(routes: list[str], table: Mapping[str, object]) -> list[str]:
    return [key for key in routes if key not in table]


def stale(routes: list[str], table: Mapping[str, object]) -> list[str]:
    return sorted(set(table) - set(routes))


def fresh_app(tmp_path: Path) -> FastAPI:
    return create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}"))


def test_every_route_with_a_path_parameter_is_in_the_path_table(tmp_path: Path) -> None:
    routes = routes_with_path_parameters(fresh_app(tmp_path))
    assert len(routes) >= 55
    assert unclassified(routes, PATH_ROUTES) == []
    assert stale(routes, PATH_ROUTES) == []
    for key, entry in PATH_ROUTES.items():
        assert len(entry.names) == len(_PLACEHOLDER.findall(key)), key
        assert (entry.child_missing is not None) == (len(entry.names) > 1), key


def test_every_member_route_is_classified(tmp_path: Path) -> None:
    app = fresh_app(tmp_path)
    routes = member_routes(app)
    assert len(routes) >= 28
    assert unclassified(routes, MEMBER_ROUTES) == []
    assert stale(routes, MEMBER_ROUTES) == []
    roles = route_roles(app)
    assert [route for route, _ in REFERENCES if route not in roles] == []


def test_the_checkers_report_a_route_missing_from_the_tables(tmp_path: Path) -> None:
    app = fresh_app(tmp_path)

    @app.get("/v1/gadgets/{id}", dependencies=[Depends(ADMIN)])
    async def gadget(id: str) -> None:
        return None

    @app.post("/v1/gadgets/{id}/polish", dependencies=[Depends(ADMIN_USER)])
    async def polish(id: str) -> None:
        return None

    @app.get("/v1/gadgets", dependencies=[Depends(ADMIN_USER)])
    async def gadgets() -> None:
        return None

    async def raw(request: Request) -> Response:
        return Response()

    app.add_route("/v1/raw/{id}", raw, methods=["DELETE"])

    assert unclassified(routes_with_path_parameters(app), PATH_ROUTES) == [
        "DELETE /v1/raw/{id}",
        "GET /v1/gadgets/{id}",
        "POST /v1/gadgets/{id}/polish",
    ]
    assert unclassified(member_routes(app), MEMBER_ROUTES) == ["GET /v1/gadgets", "POST /v1/gadgets/{id}/polish"]
    without_orders = {key: entry for key, entry in PATH_ROUTES.items() if key != "GET /v1/orders/{id}"}
    assert unclassified(routes_with_path_parameters(app), without_orders) == [
        "DELETE /v1/raw/{id}",
        "GET /v1/gadgets/{id}",
        "GET /v1/orders/{id}",
        "POST /v1/gadgets/{id}/polish",
    ]
    assert stale(["GET /v1/users/{id}"], {"GET /v1/users/{id}": 1, "GET /v1/retired/{id}": 2}) == [
        "GET /v1/retired/{id}"
    ]


# ---- the worlds ----


@dataclass
class World:
    """A tenant with one object of every kind; ``forms`` holds each object's identifiers by form (the first is
    its id)."""

    kit: TenantKit
    forms: dict[str, dict[str, str]]
    member: dict[str, Any]
    member_token: dict[str, str]
    extras: dict[str, str]

    def first(self, kind: str) -> str:
        return next(iter(self.forms[kind].values()))

    def secrets(self) -> set[str]:
        """Every value of this world that another tenant must never be shown."""
        # A setting's name is the same in every tenant; only its value is the tenant's own.
        values = {v for kind, forms in self.forms.items() if kind != "setting" for v in forms.values()}
        values |= {self.kit.tenant_id, self.member["profile"]["emailAddress"]} | set(self.extras.values())
        return values


def placeholders(world: World, prefix: str = "") -> dict[str, str]:
    """``{kind}`` (the id), ``{kind.form}`` and ``{extra}`` of a world, each name prefixed."""
    values = {f"{prefix}{kind}": world.first(kind) for kind in world.forms}
    values |= {f"{prefix}{kind}.{form}": v for kind, forms in world.forms.items() for form, v in forms.items()}
    values |= {f"{prefix}{name}": v for name, v in world.extras.items()}
    return values


def nobody(values: Mapping[str, str]) -> dict[str, str]:
    """The same placeholders, each naming nothing at all (an event type name keeps the shape of one)."""
    letters = str.maketrans("0123456789", "GHIJKLMNOP")
    return {
        name: f"NOBODY_{uuid.uuid4().hex[:8].upper().translate(letters)}" if name == "eventType" else str(uuid.uuid4())
        for name in values
    }


def _upper(tag: str) -> str:
    return "".join(c for c in tag.upper() if c.isalpha())


async def build_world(client: httpx.AsyncClient, db: Database, kit: TenantKit, tag: str, timezone: str) -> World:
    """Tenant ``kit`` gets a member with points, badges and benefits, an order, a checkout, and one of everything
    the admin configures, all named after ``tag`` so no name is shared with another world."""
    admin = kit.admin
    hex_ = uuid.uuid4().hex[:6]
    await enable_member_tokens(db, kit)
    ok(await client.post("/v1/settings", headers=admin, json={"name": "timezone", "value": timezone}), 201)
    member = await create_member(client, admin, externalIdentifier=f"card-{tag}-{hex_}")
    assert (await adjust(client, admin, member["id"], 1000)).status_code == 200

    spare = ok(await client.post("/v1/clients", headers=admin, json={"name": f"{tag} spare till", "scopes": ["pos"]}))
    type_name = f"{_upper(tag)}_VISIT"
    event_type = ok(
        await client.post("/v1/event_types", headers=admin, json={"name": type_name, "schema": {"type": "object"}})
    )
    intrinsic = ok(await client.get("/v1/event_types/REGISTERED_ACCOUNT", headers=admin))
    badge = ok(await client.post("/v1/badges", headers=admin, json={"internalName": f"{tag} regular"}))
    ok(
        await client.post(
            "/v1/commands/award_badge", headers=admin, json={"badgeId": badge["id"], "beneficiaryId": member["id"]}
        )
    )
    reactions = [
        {"type": "POINTS", "points": {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "10"}]}},
        {"type": "WEBHOOK", "url": f"https://hooks.example.com/{tag}"},
    ]
    reactor = ok(
        await client.post(
            "/v1/event_reactors",
            headers=admin,
            json={"name": f"{tag} visit bonus", "eventType": type_name, "reactions": reactions},
        )
    )
    event = ok(
        await client.post("/v1/events", headers=admin, json={"type": type_name, "subject": member["id"], "payload": {}})
    )
    deliveries = ok(await client.get("/v1/webhook_deliveries", headers=admin, params={"eventId": event["id"]}))
    venue = ok(
        await client.post(
            "/v1/venues",
            headers=admin,
            json={"name": f"{tag} high street", "externalIdentifier": f"store-{tag}-{hex_}"},
        )
    )
    tier = ok(
        await client.post(
            "/v1/tiers",
            headers=admin,
            json={"name": f"{tag} silver", "priority": 1, "pointsRequirement": 500, "calculation": "LIFETIME_EARN"},
        )
    )
    audience = ok(
        await client.post(
            "/v1/audiences",
            headers=admin,
            json={
                "name": f"{tag} everyone",
                "description": "Every member",
                "criteriaDefinition": {"criteriaFormat": "JSON_SCHEMA", "criteria": {"type": "object"}},
            },
        )
    )
    category = ok(await client.post("/v1/reward_categories", headers=admin, json={"name": f"{tag} drinks"}))
    pool = ok(await client.post("/v1/code_pools", headers=admin, json={"name": f"{tag} partner codes"}))
    ok(await client.post(f"/v1/code_pools/{pool['id']}/codes", headers=admin, json={"value": f"POOL-{tag}-{hex_}"}))
    code = ok(await client.get(f"/v1/code_pools/{pool['id']}/codes", headers=admin))[0]
    reward = ok(
        await client.post(
            "/v1/rewards",
            headers=admin,
            json=reward_body(name=f"{tag} free coffee", codeType="OTP", category={"id": category["id"]}),
        )
    )
    discount = ok(
        await client.post(
            f"/v1/rewards/{reward['id']}/discounts", headers=admin, json={"type": "ABSOLUTE", "value": 100}
        ),
        201,
    )
    gift = {"rewardId": reward["id"], "beneficiaryId": member["id"]}
    revealed = ok(await client.post("/v1/commands/give_reward", headers=admin, json=gift))
    revealed = ok(await client.post("/v1/commands/redeem_benefit", headers=admin, json={"benefitId": revealed["id"]}))
    benefit = ok(await client.post("/v1/commands/give_reward", headers=admin, json=gift))
    lines = [{"sku": "LATTE", "name": "Latte", "quantity": 2, "unitPrice": 350, "discount": 0, "total": 700}]
    order = ok(
        await client.post(
            "/v1/orders",
            headers=admin,
            json={
                "externalId": f"ORDER-{tag}-{hex_}",
                "submitter": {"id": member["id"]},
                "currency": "GBP",
                "lineItems": lines,
                "totals": {"subtotal": 700, "discount": 0, "total": 700},
            },
        )
    )
    checkout = ok(
        await client.post(
            "/v1/checkouts",
            headers=admin,
            json={
                "externalId": f"CHECKOUT-{tag}-{hex_}",
                "user": member["accountNumber"],
                "currency": "GBP",
                "lineItems": [{"sku": "MUFFIN", "quantity": 1, "unitPrice": 300}],
            },
        )
    )
    criterion = ok(
        await client.post(
            "/v1/points_liability_criteria",
            headers=admin,
            json={
                "name": f"{tag} weekly earn cap",
                "type": "MAXIMUM_POINTS_EARN_CAP",
                "liabilityType": "EARNING_CAP",
                "config": {"intervalType": "CALENDAR_WEEK", "arg": {"startOfWeek": "MON"}, "maximumPoints": 10**6},
            },
        )
    )
    # The latest change the admin made (the criterion), as the audit trail recorded it.
    audit_entry = ok(await client.get("/v1/audit_log", headers=admin, params={"limit": 1}))[0]
    forms = {
        "member": {
            "id": member["id"],
            "accountNumber": member["accountNumber"],
            "authIdentifier": member["authIdentifier"],
            "externalIdentifier": member["externalIdentifier"],
        },
        "client": {"id": spare["clientId"]},
        "event": {"id": event["id"]},
        "event_type": {"id": event_type["id"], "name": type_name, "intrinsicId": intrinsic["id"]},
        "reactor": {"id": reactor["id"]},
        "badge": {"id": badge["id"]},
        "webhook_delivery": {"id": deliveries[0]["id"]},
        "setting": {"name": "timezone"},
        "venue": {"id": venue["id"], "externalIdentifier": venue["externalIdentifier"]},
        "tier": {"id": tier["id"]},
        "audience": {"id": audience["id"]},
        "category": {"id": category["id"]},
        "reward": {"id": reward["id"]},
        "discount": {"id": discount["id"]},
        "code_pool": {"id": pool["id"]},
        "code": {"id": code["id"]},
        "benefit": {"id": benefit["id"]},
        "order": {"id": order["id"], "externalId": order["externalId"]},
        "checkout": {"id": checkout["id"], "externalId": checkout["externalId"]},
        "criterion": {"id": criterion["id"]},
        "audit_entry": {"id": audit_entry["id"]},
    }
    extras = {
        "redeemedBenefit": revealed["id"],
        "voucherCode": revealed["code"]["value"],
        "poolCode": code["value"],
        "eventType": type_name,
        "timezone": timezone,
        "adminClient": kit.admin_client_id,
    }
    return World(kit, forms, member, member_headers(kit, member), extras)


async def snapshot(db: Database, tenant_id: str) -> dict[str, list[str]]:
    """Every row of every table that belongs to the tenant, in a comparable form."""
    wanted = uuid.UUID(tenant_id)

    async def read(tx: Any) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for table in metadata.sorted_tables:
            rows = await tx.execute(select(table).where(table.c.tenant_id == wanted))
            found[table.name] = sorted(repr(tuple(row)) for row in rows)
        return found

    return await db.run(read, write=False)


# ---- sending and judging ----


def fill(template: Any, values: Mapping[str, str]) -> Any:
    """``template`` (a string, or a body of dicts and lists) with its placeholders replaced."""
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def _names_member(probe: Probe) -> bool:
    return "{member}" in json.dumps([probe.path, probe.params, probe.headers, probe.body])


def _named_by_header_or_query(value: str) -> bool:
    return bool(_PLACEHOLDER.search(value))


async def send(
    client: httpx.AsyncClient, route: str, probe: Probe, values: Mapping[str, str], headers: dict[str, str]
) -> httpx.Response:
    method, template = route.split(" ", 1)
    extra: dict[str, Any] = {"params": fill(probe.params, values)}
    if probe.body is not None:
        extra["json"] = fill(probe.body, values)
    headers = {**headers, **fill(probe.headers, values)}
    return await client.request(method, fill(probe.path or template, values), headers=headers, **extra)


def _code(answer: httpx.Response) -> tuple[int, str | None]:
    document = answer.json()
    code = document["data"].get("code") if document.get("status") == "fail" else None
    return answer.status_code, code


def normalised(answer: httpx.Response, sent: list[str]) -> tuple[int, str]:
    """The answer with every value the request sent blanked out, so answers to different names compare."""
    text = answer.text
    for value in sorted(filter(None, sent), key=len, reverse=True):
        text = text.replace(json.dumps(value)[1:-1], "<sent>")
    return answer.status_code, text


def revealed(answer: httpx.Response, secrets: set[str], sent: list[str]) -> list[str]:
    """The secrets in the answer that the request did not send itself."""
    return sorted(s for s in secrets - set(sent) if s in answer.text)


# ---- paths ----


@dataclass(frozen=True)
class Case:
    """One call of a path route naming another world's objects."""

    values: dict[str, str]  # path parameter → value
    expect: tuple[int, str | None]
    label: str
    unknown: tuple[str, ...]  # the parameters whose values belong to the other world


def cases(route: str, entry: PathRoute, foreign: World, own: World) -> Iterator[Case]:
    """Every identifier form of the other world's object; for a nested route, also the caller's own parent with
    the other world's child."""
    parameters = _PLACEHOLDER.findall(route)
    if len(parameters) == 1:
        for form, value in foreign.forms[entry.names[0]].items():
            yield Case({parameters[0]: value}, (404, entry.missing), form, (parameters[0],))
        return
    values = {p: foreign.first(kind) for p, kind in zip(parameters, entry.names, strict=True)}
    yield Case(values, (404, entry.missing), "id", tuple(parameters))
    own_parent = {**values, parameters[0]: own.first(entry.names[0])}
    yield Case(own_parent, (404, entry.child_missing), "own parent", tuple(parameters[1:]))


async def call_path(
    client: httpx.AsyncClient, route: str, values: Mapping[str, str], headers: dict[str, str], body: Any
) -> httpx.Response:
    method, template = route.split(" ", 1)
    extra: dict[str, Any] = {"json": body} if method in {"POST", "PATCH", "PUT"} else {}
    return await client.request(method, fill(template, values), headers=headers, **extra)


def _control_order(route: str) -> tuple[int, int]:
    """Reads first, then creations, changes and removals; a child is removed before its parent."""
    method, path = route.split(" ", 1)
    return ["GET", "POST", "PATCH", "DELETE"].index(method), -len(path)


async def two_worlds(client: httpx.AsyncClient, db: Database) -> tuple[World, World]:
    a = await build_world(client, db, await make_tenant(client, db, "alpha"), "alpha", "Europe/Paris")
    b = await build_world(client, db, await make_tenant(client, db, "bravo"), "bravo", "America/New_York")
    return a, b


async def test_another_tenant_gets_404_on_every_route_that_names_an_object_in_its_path(
    client: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    a, b = await two_worlds(client, db)
    roles = route_roles(app)
    credentials = {Role.ADMIN: b.kit.admin, Role.POS: b.kit.pos, Role.USER: b.member_token}
    before = {"a": await snapshot(db, a.kit.tenant_id), "b": await snapshot(db, b.kit.tenant_id)}
    secrets = a.secrets()

    wrong: dict[str, Any] = {}
    calls = 0
    for route in routes_with_path_parameters(app):
        entry = PATH_ROUTES[route]
        for case in cases(route, entry, a, b):
            for role in sorted(roles[route]):
                headers = credentials[role]
                label = f"{route} [{case.label}] as B's {role}"
                answer = await call_path(client, route, case.values, headers, entry.body)
                calls += 1
                sent = list(case.values.values())
                if entry.missing is None:  # a name every tenant shares: the caller's own value
                    if (answer.status_code, answer.json()["data"]["value"]) != (200, b.extras["timezone"]):
                        wrong[label] = answer.text
                    continue
                # As documented, a member token naming any member but its own is 403 — as for A's member.
                expect = FORBIDDEN if role is Role.USER and entry.names[0] == "member" else case.expect
                if _code(answer) != expect:
                    wrong[label] = answer.text[:300]
                elif leaked := revealed(answer, secrets, sent):
                    wrong[label] = f"reveals {leaked}"
                else:
                    # A name that matches nothing gets the very same answer: A's object is invisible to B.
                    unknown = {**case.values, **{p: str(uuid.uuid4()) for p in case.unknown}}
                    nothing = await call_path(client, route, unknown, headers, entry.body)
                    if normalised(nothing, list(unknown.values())) != normalised(answer, sent):
                        wrong[label] = f"differs from naming nothing: {answer.text} / {nothing.text}"
    assert wrong == {}
    assert calls >= 160

    # Nothing of either tenant changed: not a row, not a column.
    assert await snapshot(db, a.kit.tenant_id) == before["a"]
    assert await snapshot(db, b.kit.tenant_id) == before["b"]

    # The same routes and bodies — and for reads every identifier form — work on B's own objects.
    failed = {}
    for route in sorted(routes_with_path_parameters(app), key=_control_order):
        entry = PATH_ROUTES[route]
        parameters = _PLACEHOLDER.findall(route)
        if route.startswith("GET ") and len(parameters) == 1:
            named = {form: {parameters[0]: v} for form, v in b.forms[entry.names[0]].items()}
        else:
            named = {"id": {p: b.first(kind) for p, kind in zip(parameters, entry.names, strict=True)}}
        for form, values in named.items():
            answer = await call_path(client, route, values, b.kit.admin, entry.body)
            if answer.status_code >= 300 and CONTROL_REFUSALS.get((route, form)) != _code(answer):
                failed[f"{route} [{form}]"] = answer.text[:300]
    assert failed == {}
    assert await snapshot(db, a.kit.tenant_id) == before["a"]


# ---- bodies, queries and headers ----


async def test_another_tenant_cannot_name_an_object_in_a_body_query_or_header(
    client: httpx.AsyncClient, app: FastAPI, db: Database
) -> None:
    a, b = await two_worlds(client, db)
    roles = route_roles(app)
    credentials = {Role.ADMIN: b.kit.admin, Role.POS: b.kit.pos}
    own, foreign = placeholders(b, "own."), placeholders(a)
    before = {"a": await snapshot(db, a.kit.tenant_id), "b": await snapshot(db, b.kit.tenant_id)}
    secrets = a.secrets()

    wrong: dict[str, Any] = {}
    calls = 0
    for index, (route, probe) in enumerate(REFERENCES):
        identifiers = a.forms["member"] if _names_member(probe) else {"-": ""}
        for form, identifier in identifiers.items():
            values = {**own, **foreign, "member": identifier}
            sent = [*foreign.values(), identifier]
            for role in sorted(roles[route] - {Role.USER}):
                label = f"#{index} {route} [{form}] as B's {role}"
                answer = await send(client, route, probe, values, credentials[role])
                calls += 1
                if leaked := revealed(answer, secrets, sent):
                    wrong[label] = f"reveals {leaked}"
                elif probe.expect is None:  # a list filter naming A's object finds nothing
                    if (answer.status_code, answer.json()["data"]) != (200, []):
                        wrong[label] = answer.text[:300]
                elif _code(answer) != probe.expect:
                    wrong[label] = answer.text[:300]
                else:
                    unknown = {**own, **nobody(foreign), "member": str(uuid.uuid4())}
                    nothing = await send(client, route, probe, unknown, credentials[role])
                    unknown_sent = [v for k, v in unknown.items() if not k.startswith("own.")]
                    if normalised(nothing, unknown_sent) != normalised(answer, sent):
                        wrong[label] = f"differs from naming nothing: {answer.text} / {nothing.text}"
    assert wrong == {}
    assert calls >= 200
    assert await snapshot(db, a.kit.tenant_id) == before["a"]
    assert await snapshot(db, b.kit.tenant_id) == before["b"]


# ---- members against each other ----


async def test_a_member_token_cannot_reach_another_members_resources(
    client: httpx.AsyncClient, app: FastAPI, db: Database, tenant: TenantKit
) -> None:
    owner = await build_world(client, db, tenant, "owner", "Europe/London")
    intruder = await create_member(client, tenant.admin)
    assert (await adjust(client, tenant.admin, intruder["id"], 1000)).status_code == 200
    gift = {"rewardId": owner.first("reward"), "beneficiaryId": intruder["id"]}
    ok(await client.post("/v1/commands/give_reward", headers=tenant.admin, json=gift))
    me = member_headers(tenant, intruder)
    newcomer = member_headers(tenant, {"authIdentifier": f"idp-newcomer-{uuid.uuid4().hex[:8]}"})
    values = placeholders(owner)
    # What belongs to the owner rather than to the catalogue every member sees.
    private = {name for name in values if name.startswith(("member", "benefit", "redeemedBenefit", "voucherCode"))}
    secrets = {values[name] for name in private} | {owner.member["profile"]["emailAddress"]}
    before = await snapshot(db, tenant.tenant_id)

    wrong: dict[str, Any] = {}
    calls = 0
    for route in member_routes(app):
        rule = MEMBER_ROUTES[route]
        if isinstance(rule, str):
            continue
        for index, probe in enumerate(rule):
            headers = newcomer if probe.newcomer else me
            identifiers = owner.forms["member"] if _names_member(probe) else {"-": ""}
            for form, identifier in identifiers.items():
                label = f"{route} #{index} [{form}]"
                named = {**values, "member": identifier}
                sent = [named[name] for name in private] + [identifier]
                answer = await send(client, route, probe, named, headers)
                calls += 1
                if leaked := revealed(answer, secrets, sent):
                    wrong[label] = f"reveals {leaked}"
                elif probe.expect is None:
                    # The name is ignored: the member gets exactly what it gets without naming anyone.
                    unnamed = Probe(
                        None,
                        probe.path,
                        {k: v for k, v in probe.params.items() if not _named_by_header_or_query(v)},
                        {k: v for k, v in probe.headers.items() if not _named_by_header_or_query(v)},
                        probe.body,
                    )
                    alone = await send(client, route, unnamed, named, headers)
                    if (answer.status_code, answer.text) != (200, alone.text):
                        wrong[label] = f"not the member's own answer: {answer.text[:300]}"
                elif _code(answer) != probe.expect:
                    wrong[label] = answer.text[:300]
                else:
                    unknown = {**named, **nobody({name: "" for name in private}), "member": str(uuid.uuid4())}
                    nothing = await send(client, route, probe, unknown, headers)
                    unknown_sent = [unknown[name] for name in private] + [unknown["member"]]
                    if normalised(nothing, unknown_sent) != normalised(answer, sent):
                        wrong[label] = f"differs from naming nobody: {answer.text} / {nothing.text}"
    assert wrong == {}
    assert calls >= 100
    assert await snapshot(db, tenant.tenant_id) == before
