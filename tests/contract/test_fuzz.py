"""Contract fuzzing of the engine's own OpenAPI document.

Every operation the document lists is called in process, many times, with requests generated from the document
(valid ones and deliberately broken ones), as an admin client of a tenant that already holds a few real objects.
Whatever is sent, the engine must never answer 5xx, and every answer must be one the document describes: a
documented status code, the documented content type, and a body that matches the documented schema.

Each operation gets a tenant of its own. Generated path parameters, member headers and query parameters, and the
identifier fields of bodies, are swapped for the identifiers of real objects about half of the time (the choice is
drawn by Hypothesis, so a failure replays and shrinks), so requests reach past "not found": a member (with points),
an event type with a reactor and an event, a badge, a venue, a tier, an audience, a reward category, a code pool with
a code, a reward with a discount, a static code reward, a benefit, an order, a points liability criterion, an audit
entry. Each is made the first time one of the operation's examples names it.

Three tests share that set-up: random requests (``repeats(ci=15, soak=300)`` per operation), the examples the
document gives, and schemathesis' coverage phase (every parameter and field at and past its limits). Outside a soak
every run uses the same seed, so a failure comes back the same; ``LOYALTY_SOAK=1`` draws a new seed and many more
examples, and ``LOYALTY_FUZZ_SEED`` replays a given run (a failure names its seed).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import tempfile
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import utils as conjecture_utils
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from loyalty.api.app import create_app
from loyalty.domain.settings import SETTING_NAMES
from loyalty.settings import Settings
from loyalty.storage.database import Database
from tests.conftest import BACKENDS, TenantKit, make_tenant, member_body
from tests.soak import repeats, soaking

BASE_URL = "http://engine.test"

# No 5xx, and every answer as documented: its status code, its content type and its body.
CHECKS = cast(
    "list[schemathesis.CheckFunction]",
    [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
)


# ---- bridges over the pinned test stack ----
# schemathesis 4.24 generates data partly with jsonschema-rs' canonical schemas and partly with hypothesis-jsonschema.
# Both of its partners have since changed an API it (or hypothesis-jsonschema) calls, and the pinned versions
# (jsonschema-rs 0.61, Hypothesis 6.170) no longer offer the old names. Each bridge below puts back the old name on
# top of the new one, only where it is missing and still called, so it switches itself off once the stack is upgraded
# together (schemathesis 4.25 and later pin a jsonschema-rs they match and no longer use hypothesis-jsonschema).


class _SatisfiabilityBridge:
    """A canonical schema that also answers ``is_satisfiable()`` (jsonschema-rs 0.50 renamed it ``satisfiability()``,
    answering YES, NO or UNKNOWN). Only a proven YES keeps schemathesis on its own generator; anything else sends
    it to its fallback, hypothesis-jsonschema."""

    def __init__(self, canonical: Any) -> None:
        self._canonical = canonical

    def is_satisfiable(self) -> bool:
        return bool(self._canonical.satisfiability() == jsonschema_rs.canonical.Satisfiability.YES)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._canonical, name)


class _BridgedJsonschemaRs:
    """jsonschema-rs as schemathesis' generation module sees it, with canonical schemas bridged."""

    def canonicalize(self, *args: Any, **kwargs: Any) -> _SatisfiabilityBridge:
        return _SatisfiabilityBridge(jsonschema_rs.canonicalize(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(jsonschema_rs, name)


class _ManyWithMore:
    """Hypothesis' ``many`` driven the old way, ``while elements.more(): …`` (Hypothesis now has it used as
    ``with many(…) as elements: for _ in elements: …``), as hypothesis-jsonschema draws objects."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._many = conjecture_utils.many(*args, **kwargs)
        self._elements: Iterator[None] | None = None

    def more(self) -> bool:
        if self._elements is None:
            self._elements = iter(self._many.__enter__())
        if next(self._elements, _DONE) is _DONE:
            self._many.__exit__(None, None, None)
            return False
        return True

    def reject(self, why: str | None = None) -> None:
        self._many.reject(why)


class _BridgedConjectureUtils:
    """Hypothesis' conjecture utilities as hypothesis-jsonschema sees them, with ``many`` bridged."""

    many = _ManyWithMore

    def __getattr__(self, name: str) -> Any:
        return getattr(conjecture_utils, name)


_DONE = object()


def _bridge_the_pinned_stack() -> None:
    """Put each bridge in place where its module is present and still calls the old name."""
    try:
        import schemathesis.specs.openapi._hypothesis as schemathesis_generation
    except ImportError:
        pass
    else:
        if "is_satisfiable" in inspect.getsource(schemathesis_generation) and not hasattr(
            jsonschema_rs.CanonicalSchema, "is_satisfiable"
        ):
            schemathesis_generation.jsonschema_rs = _BridgedJsonschemaRs()  # type: ignore[attr-defined,assignment]
    try:
        import hypothesis_jsonschema._from_schema as hypothesis_jsonschema_generation
    except ImportError:
        pass
    else:
        if "elements.more()" in inspect.getsource(hypothesis_jsonschema_generation) and not hasattr(
            conjecture_utils.many, "more"
        ):
            hypothesis_jsonschema_generation.cu = _BridgedConjectureUtils()  # type: ignore[attr-defined,assignment]


_bridge_the_pinned_stack()


# One seed for every run outside a soak, so a failure comes back the same; a soak draws a new one each time.
# Either way LOYALTY_FUZZ_SEED replays a run, and a failure names its seed.
SEED = int(os.environ.get("LOYALTY_FUZZ_SEED") or (random.getrandbits(64) if soaking() else 20250110))


def _config(**phases: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": repeats(ci=15, soak=300),
                "database": "none",
            },
            # Stateful runs need links between operations, which the document does not give.
            "phases": {
                name: {"enabled": phases.get(name, False)} for name in ("examples", "fuzzing", "coverage", "stateful")
            },
        }
    )


def _document_app() -> Any:
    """An engine to read the document from: it serves ``/openapi.json`` without opening its database."""
    unopened = Path(tempfile.gettempdir()) / "loyalty-openapi-document.db"
    return create_app(Settings(database_url=f"sqlite:///{unopened}"))


DOCUMENT_APP = _document_app()
with warnings.catch_warnings():
    # schemathesis reads the document through starlette-testclient, which names an alias anyio deprecates.
    warnings.filterwarnings("ignore", "The anyio.abc.BlockingPortal alias", DeprecationWarning)
    FUZZED = schemathesis.openapi.from_asgi("/openapi.json", DOCUMENT_APP, config=_config(fuzzing=True))
    EXAMPLES = schemathesis.openapi.from_asgi("/openapi.json", DOCUMENT_APP, config=_config(examples=True))
    BOUNDARIES = schemathesis.openapi.from_asgi("/openapi.json", DOCUMENT_APP, config=_config(coverage=True))


def _has_examples(node: Any, components: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """Whether a part of the document gives an ``example``/``examples``, following ``$ref`` into components."""
    if isinstance(node, list):
        return any(_has_examples(item, components, seen) for item in node)
    if not isinstance(node, dict):
        return False
    if "example" in node or "examples" in node:
        return True
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/components/schemas/"):
        name = reference.removeprefix("#/components/schemas/")
        if name not in seen and _has_examples(components.get(name), components, seen | {name}):
            return True
    return any(_has_examples(value, components, seen) for value in node.values())


def _gives_examples(context: Any) -> bool:
    components = DOCUMENT_APP.openapi().get("components", {}).get("schemas", {})
    definition = context.operation.definition.raw
    return _has_examples(
        {"parameters": definition.get("parameters"), "body": definition.get("requestBody")}, components
    )


# Path segments whose parameter names an object of another collection.
COLLECTION_ALIASES = {"vouchers": "benefits", "checkouts": "orders"}
# Query parameters, and body fields of any operation, that name a seeded object, and the collection it comes from.
QUERY_FIELDS = {
    "userId": "users",
    "user": "users",
    "subject": "users",
    "venue": "venues",
    "eventType": "event_type_names",
    "eventId": "events",
    "actor": "clients",
    "target": "users",
}
BODY_FIELDS = {
    "actorId": "users",
    "beneficiaryId": "users",
    "userIdentifier": "users",
    "subject": "users",
    "user": "users",
    "venue": "venues",
    "rewardId": "rewards",
    "benefitId": "benefits",
    "badgeId": "badges",
    "venueIdentifier": "venues",
    "code": "code_values",
    "eventType": "event_type_names",
    "currency": "currencies",
}
# Body fields that name something only in some operations.
OPERATION_BODY_FIELDS = {
    "/v1/events": {"type": "event_type_names"},
    "/v1/events/test_reaction": {"type": "event_type_names"},
    "/v1/settings": {"name": "settings"},
    "/v1/clients": {"scopes": "scopes"},
}


class Seeds:
    """One operation's tenant, and the objects its examples name: each made the first time an example needs it."""

    def __init__(self, http: httpx.AsyncClient, kit: TenantKit) -> None:
        self.http = http
        self.kit = kit
        self.made: dict[str, dict[str, Any]] = {}
        self.makers: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
            "member": self._member,
            "event_type": lambda: self._create(
                "/v1/event_types", {"name": "VISITED_SHOP", "schema": {"type": "object"}}
            ),
            "reactor": self._reactor,
            "event": self._event,
            "badge": lambda: self._create(
                "/v1/badges", {"internalName": "Regular", "details": [{"name": "Regular", "locale": "en"}]}
            ),
            "venue": lambda: self._create("/v1/venues", {"name": "High St", "externalIdentifier": "372"}),
            "tier": lambda: self._create(
                "/v1/tiers",
                {"name": "Silver", "pointsRequirement": 1000, "priority": 1, "calculation": "LIFETIME_EARN"},
            ),
            "audience": lambda: self._create(
                "/v1/audiences", {"name": "Everyone", "criteriaDefinition": {"criteria": {}}}
            ),
            "category": lambda: self._create("/v1/reward_categories", {"name": "Drinks"}),
            "pool": self._pool,
            "reward": self._reward,
            "discount": self._discount,
            "static_reward": lambda: self._create(
                "/v1/rewards",
                {
                    "type": "VOUCHER",
                    "name": "Summer code",
                    "price": 0,
                    "purchasable": False,
                    "codeType": "STATIC",
                    "code": {"value": "SUMMER5"},
                },
            ),
            "benefit": self._benefit,
            "order": self._order,
            "audit_entry": self._audit_entry,
            "criterion": lambda: self._create(
                "/v1/points_liability_criteria",
                {
                    "name": "Yearly expiry",
                    "type": "SIMPLE_EXPIRY",
                    "liabilityType": "EXPIRY",
                    "config": {"expiryBasedOn": "EARN_DATE", "dateModifier": "P12M"},
                },
            ),
        }

    async def ids(self, collection: str) -> list[Any]:
        """Real values for a collection (several where the engine takes several forms of identifier)."""
        if collection == "users":
            member = await self.get("member")
            return [member["id"], member["accountNumber"], member["authIdentifier"], member["externalIdentifier"]]
        if collection == "event_types":
            return [(await self.get("event_type"))["id"], "VISITED_SHOP"]
        if collection == "event_type_names":
            await self.get("event_type")
            return ["VISITED_SHOP"]
        if collection == "venues":
            return [(await self.get("venue"))["id"], "372"]
        if collection == "orders":
            return [(await self.get("order"))["id"], "STORE372-0001"]
        if collection == "codes":
            return [(await self.get("pool"))["code"]["id"]]
        if collection == "code_values":
            await self.get("pool")
            await self.get("static_reward")
            return ["PARTNER-0001", "SUMMER5"]
        if collection == "rewards":
            return [(await self.get("reward"))["id"], (await self.get("static_reward"))["id"]]
        if collection in FIXED_CHOICES:
            return FIXED_CHOICES[collection]
        if collection == "clients":
            return [self.kit.pos_client_id]
        kind = SEEDED_KINDS.get(collection)
        return [] if kind is None else [(await self.get(kind))["id"]]

    async def get(self, kind: str) -> dict[str, Any]:
        if kind not in self.made:
            self.made[kind] = await self.makers[kind]()
        return self.made[kind]

    async def _create(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        answer = await self.http.post(path, headers=self.kit.admin, json=body)
        assert answer.status_code == status, f"{path}: {answer.text}"
        return dict(answer.json()["data"])

    async def _member(self) -> dict[str, Any]:
        member = await self._create("/v1/users", member_body(externalIdentifier="CARD-0001"))
        await self._create("/v1/commands/adjust_points", {"actorId": member["id"], "points": 5000})
        return member

    async def _audit_entry(self) -> dict[str, Any]:
        await self.get("member")  # its sign-up and its points are admin changes
        answer = await self.http.get("/v1/audit_log", headers=self.kit.admin, params={"limit": 1})
        assert answer.status_code == 200, answer.text
        return dict(answer.json()["data"][0])

    async def _reactor(self) -> dict[str, Any]:
        await self.get("event_type")
        points = {"operation": "SUM", "arguments": [{"type": "NUMBER", "value": "10"}]}
        reaction = {"type": "POINTS", "points": points}
        return await self._create(
            "/v1/event_reactors", {"name": "Visit bonus", "eventType": "VISITED_SHOP", "reactions": [reaction]}
        )

    async def _event(self) -> dict[str, Any]:
        member = await self.get("member")
        await self.get("reactor")
        return await self._create("/v1/events", {"type": "VISITED_SHOP", "subject": member["id"], "payload": {}})

    async def _pool(self) -> dict[str, Any]:
        pool = await self._create("/v1/code_pools", {"name": "Partner codes"})
        await self._create(f"/v1/code_pools/{pool['id']}/codes", {"value": "PARTNER-0001"})
        codes = await self.http.get(f"/v1/code_pools/{pool['id']}/codes", headers=self.kit.admin)
        return {**pool, "code": codes.json()["data"][0]}

    async def _reward(self) -> dict[str, Any]:
        category = await self.get("category")
        body = {"type": "VOUCHER", "name": "Free coffee", "price": 100, "purchasable": True}
        return await self._create("/v1/rewards", {**body, "category": {"id": category["id"]}})

    async def _discount(self) -> dict[str, Any]:
        reward = await self.get("reward")
        return await self._create(f"/v1/rewards/{reward['id']}/discounts", {"type": "ABSOLUTE", "value": 300}, 201)

    async def _benefit(self) -> dict[str, Any]:
        member, reward = await self.get("member"), await self.get("reward")
        return await self._create("/v1/commands/give_reward", {"rewardId": reward["id"], "beneficiaryId": member["id"]})

    async def _order(self) -> dict[str, Any]:
        member = await self.get("member")
        line = {"sku": "LATTE-M", "quantity": 2, "unitPrice": 350, "discount": 0, "total": 700}
        body = {
            "externalId": "STORE372-0001",
            "submitter": {"id": member["id"]},
            "currency": "GBP",
            "lineItems": [line],
            "totals": {"subtotal": 700, "discount": 0, "total": 700},
        }
        return await self._create("/v1/orders", body)


# The collections named by one id, and the kind of object that is.
SEEDED_KINDS = {
    "events": "event",
    "event_reactors": "reactor",
    "badges": "badge",
    "tiers": "tier",
    "audiences": "audience",
    "reward_categories": "category",
    "code_pools": "pool",
    "discounts": "discount",
    "benefits": "benefit",
    "points_liability_criteria": "criterion",
    "audit_log": "audit_entry",
}
# Values that need nothing made.
FIXED_CHOICES: dict[str, list[Any]] = {
    "settings": list(SETTING_NAMES),
    "currencies": ["GBP"],
    "scopes": [["pos"], ["admin"], ["admin", "pos"]],
}


@dataclass
class Backend:
    """The engine on one backend, and a client on the one event loop every example runs on (schemathesis' own ASGI
    transport starts an event loop per request, which pooled database connections cannot follow)."""

    runner: asyncio.Runner
    http: httpx.AsyncClient
    database: Database


@dataclass
class Engine:
    """The engine as one operation's examples see it: its backend, and a tenant of its own."""

    backend: Backend
    seeds: Seeds

    def point_at_real_objects(self, case: schemathesis.Case[Any], data: st.DataObject) -> None:
        """Swap generated identifiers for real ones, about half of the time (each choice drawn by Hypothesis)."""
        segments = case.path.strip("/").split("/")
        for index, segment in enumerate(segments):
            if segment.startswith("{") and index > 0 and case.path_parameters is not None:
                collection = COLLECTION_ALIASES.get(segments[index - 1], segments[index - 1])
                self._swap(case.path_parameters, segment[1:-1], collection, data)
        if any(p.name == "X-User-Id" for p in case.operation.iter_parameters()):
            if case.headers is None:
                case.headers = {}
            self._swap(case.headers, "X-User-Id", "users", data, add=True)
        if isinstance(case.query, dict):
            for name, collection in QUERY_FIELDS.items():
                self._swap(case.query, name, collection, data)
            if case.path == "/v1/events":
                self._swap(case.query, "type", "event_type_names", data)
        if isinstance(case.body, dict):
            for name, collection in {**BODY_FIELDS, **OPERATION_BODY_FIELDS.get(case.path, {})}.items():
                self._swap(case.body, name, collection, data)

    def call_and_validate(self, case: schemathesis.Case[Any]) -> None:
        """Send the case as schemathesis would (its requests arguments, encoded by requests), then check the answer."""
        request = case.as_transport_kwargs(base_url=BASE_URL, headers=self.seeds.kit.admin)
        prepared = requests.Request(**request).prepare()
        # Header values go out as latin-1, as requests sends them.
        headers = [
            (name.encode("latin-1"), value if isinstance(value, bytes) else value.encode("latin-1"))
            for name, value in prepared.headers.items()
        ]
        body = prepared.body
        assert body is None or isinstance(body, bytes | str)
        sent = self.backend.http.request(str(prepared.method), str(prepared.url), headers=headers, content=body)
        response = self.backend.runner.run(sent)
        try:
            case.validate_response(response, checks=CHECKS, headers=request["headers"], transport_kwargs=request)
        except Exception as failure:
            failure.add_note(f"Replay this run with LOYALTY_FUZZ_SEED={SEED}.")
            raise

    def _swap(self, container: Any, name: str, collection: str, data: st.DataObject, *, add: bool = False) -> None:
        if name not in container and not add:
            return
        if data.draw(st.booleans(), label=f"real {name}"):
            choices = self.backend.runner.run(self.seeds.ids(collection))
            if choices:
                container[name] = data.draw(st.sampled_from(choices), label=name)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest, postgres_ready: bool, migrated_urls: dict[str, str]) -> Iterator[Backend]:
    """The engine on one backend for the whole file, on one event loop."""
    if request.param == "postgresql" and not postgres_ready:
        pytest.skip("PostgreSQL not reachable")
    url = migrated_urls[request.param]
    with asyncio.Runner() as runner:
        # Durability is not under test: without an fsync per commit (SQLite), the examples run several times faster.
        database = Database(url, sqlite_synchronous="NORMAL")
        app = create_app(Settings(database_url=url), database=database)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        http = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        try:
            yield Backend(runner=runner, http=http, database=database)
        finally:
            runner.run(http.aclose())
            runner.run(database.dispose())


@pytest.fixture
def engine(backend: Backend) -> Engine:
    """A tenant of the operation's own, so what an operation deletes or changes leaves the others alone."""
    kit = backend.runner.run(make_tenant(backend.http, backend.database, name="fuzzed"))
    return Engine(backend=backend, seeds=Seeds(backend.http, kit))


# The tenant is made once per operation and shared by the operation's examples, on purpose; and how long generating
# an example takes depends on what else the machine is doing, so it fails nothing.
ONE_TENANT_PER_OPERATION = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.fuzz
@FUZZED.parametrize()
@FUZZED.given(data=st.data())
@ONE_TENANT_PER_OPERATION
def test_every_operation_keeps_its_contract(case: schemathesis.Case[Any], data: st.DataObject, engine: Engine) -> None:
    engine.point_at_real_objects(case, data)
    engine.call_and_validate(case)


@pytest.mark.fuzz
@EXAMPLES.include(_gives_examples).parametrize()
@ONE_TENANT_PER_OPERATION
def test_the_documented_examples_keep_the_contract(case: schemathesis.Case[Any], engine: Engine) -> None:
    engine.call_and_validate(case)


@pytest.mark.fuzz
@BOUNDARIES.parametrize()
@ONE_TENANT_PER_OPERATION
def test_every_boundary_keeps_the_contract(case: schemathesis.Case[Any], engine: Engine) -> None:
    """schemathesis' coverage phase: each parameter and field at and past its limits, missing, of the wrong type.
    (Hypothesis cannot add draws to these cases, so their identifiers stay as generated.)"""
    engine.call_and_validate(case)
