"""The ``loyalty`` command: serve, migrate, manage tenants and clients, verify the ledger."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import structlog
import typer
import uvicorn
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.exc import DBAPIError

from loyalty import demo
from loyalty.api.observability import configure_logging
from loyalty.demo import program as demo_program
from loyalty.demo import traffic as demo_traffic
from loyalty.domain.errors import DomainError
from loyalty.domain.tenancy import Client, Tenant
from loyalty.services import clients as client_service
from loyalty.services import daily as daily_service
from loyalty.services import points as point_service
from loyalty.services import tenants as tenant_service
from loyalty.settings import Settings
from loyalty.storage import migrate
from loyalty.storage.database import Database, Tx
from loyalty.worker.webhooks import deliver_due

T = TypeVar("T")

app = typer.Typer(help="Loyalty engine for points of sale.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants (one loyalty program each).", no_args_is_help=True)
clients_app = typer.Typer(help="API client credentials of a tenant.", no_args_is_help=True)
ledger_app = typer.Typer(help="The points ledger.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")
app.add_typer(clients_app, name="clients")
app.add_typer(ledger_app, name="ledger")

out = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
TenantOption = Annotated[str, typer.Option("--tenant", help="Tenant id or name.")]


def _settings() -> Settings:
    return Settings()


def _run(work: Callable[[Tx], Awaitable[T]], *, write: bool = True) -> T:
    """Run one unit of work against the configured database, turning domain errors into a clean exit."""

    async def main() -> T:
        settings = _settings()
        db = Database(settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous)
        try:
            return await db.run(work, write=write)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except DomainError as error:
        err.print(f"[red]error[/red] {error.code}: {error.message}")
        raise typer.Exit(2) from error


def _emit(as_json: bool, document: dict[str, Any], text: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(document) + "\n")
    else:
        out.print(text, highlight=False)


def _client_document(tenant_id: Any, client: Client, secret: str | None = None) -> dict[str, Any]:
    document = {
        "tenantId": str(tenant_id),
        "clientId": str(client.client_id),
        "name": client.name,
        "scopes": sorted(client.scopes),
        "createdAt": client.created_at.isoformat(),
        "revokedAt": client.revoked_at.isoformat() if client.revoked_at else None,
    }
    if secret is not None:
        document["clientSecret"] = secret
    return document


# ---- db ----


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrate.upgrade(_settings().resolved_database_url(), revision)
    out.print(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, or 'base' for empty.")]) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(_settings().resolved_database_url(), revision)
    out.print(f"database at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one."""
    revision = _run(migrate.current_revision, write=False)
    out.print(f"current: {revision or 'empty'}  head: {migrate.head_revision()}")


# ---- tenants ----


@tenants_app.command("create")
def tenants_create(name: str, as_json: JsonFlag = False) -> None:
    """Create a tenant and print its API key (shown once)."""
    created = _run(lambda tx: tenant_service.create_tenant(tx, name))
    _emit(
        as_json,
        {"tenantId": str(created.tenant.tenant_id), "name": created.tenant.name, "apiKey": created.api_key},
        f"tenant {created.tenant.name} ({created.tenant.tenant_id})\nAPI key: {created.api_key}\n"
        "(the API key is shown only now)",
    )


@tenants_app.command("list")
def tenants_list(as_json: JsonFlag = False) -> None:
    """List tenants."""
    found = _run(tenant_service.list_tenants, write=False)
    documents = [{"tenantId": str(t.tenant_id), "name": t.name, "createdAt": t.created_at.isoformat()} for t in found]
    _emit(as_json, {"tenants": documents}, "\n".join(f"{d['tenantId']}  {d['name']}" for d in documents) or "none")


@tenants_app.command("user-auth")
def tenants_user_auth(
    tenant: TenantOption,
    algorithm: Annotated[str, typer.Option(help="HS256 or RS256.")] = "HS256",
    issuer: Annotated[str | None, typer.Option(help="Expected 'iss' claim of member tokens.")] = None,
    shared_secret: Annotated[str | None, typer.Option(help="HS256 shared secret.")] = None,
    jwks_file: Annotated[Path | None, typer.Option(help="RS256: a JWKS document on disk (stored inline).")] = None,
    jwks_url: Annotated[str | None, typer.Option(help="RS256: where the identity provider publishes its JWKS.")] = None,
    audience: Annotated[str | None, typer.Option(help="Expected 'aud' claim, if any.")] = None,
    disable: Annotated[bool, typer.Option(help="Stop accepting member tokens.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Configure how member tokens from the retailer's identity provider are verified."""
    config: dict[str, Any] | None = None
    if not disable:
        config = {
            "algorithm": algorithm.upper(),
            "issuer": issuer,
            "sharedSecret": shared_secret,
            "jwks": json.loads(jwks_file.read_text()) if jwks_file else None,
            "jwksUrl": jwks_url,
            "audience": audience,
        }

    async def work(tx: Tx) -> Tenant:
        found = await tenant_service.get_tenant(tx, tenant)
        return await tenant_service.set_user_auth(tx, found.tenant_id, config)

    updated = _run(work)
    shown = {k: v for k, v in (updated.user_auth or {}).items() if k not in ("sharedSecret", "jwks")}
    _emit(as_json, {"tenantId": str(updated.tenant_id), "userAuth": shown}, f"member tokens: {shown or 'disabled'}")


@tenants_app.command("rate-limit")
def tenants_rate_limit(
    tenant: TenantOption,
    per_second: Annotated[int | None, typer.Option(help="Requests a second allowed for the tenant's API key.")] = None,
    burst: Annotated[
        int | None, typer.Option(help="The largest burst allowed at once (default: twice the rate).")
    ] = None,
    default: Annotated[bool, typer.Option(help="Go back to the engine's default limit.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Set the tenant's API rate limit (a token bucket per server process; 429 with Retry-After past it)."""
    if (per_second is None) == (not default):
        err.print("[red]error[/red] give either --per-second or --default")
        raise typer.Exit(2)

    async def work(tx: Tx) -> Tenant:
        found = await tenant_service.get_tenant(tx, tenant)
        return await tenant_service.set_rate_limit(tx, found.tenant_id, None if default else per_second, burst)

    updated = _run(work)
    limit = updated.rate_limit
    document = {
        "tenantId": str(updated.tenant_id),
        "rateLimit": {"perSecond": limit[0], "burst": limit[1]} if limit else None,
    }
    _emit(as_json, document, f"rate limit: {f'{limit[0]}/s, burst {limit[1]}' if limit else 'the default'}")


# ---- clients ----


@clients_app.command("create")
def clients_create(
    tenant: TenantOption,
    scopes: Annotated[str, typer.Option(help="Comma-separated: admin, pos.")],
    name: Annotated[str | None, typer.Option(help="A label, e.g. 'Store 372 tills'.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a client credential and print its secret (shown once)."""

    async def work(tx: Tx) -> tuple[Tenant, client_service.NewClient]:
        found = await tenant_service.get_tenant(tx, tenant)
        return found, await client_service.create_client(tx, found.tenant_id, scopes, name)

    found, created = _run(work)
    _emit(
        as_json,
        _client_document(found.tenant_id, created.client, created.client_secret),
        f"client {created.client.client_id} scopes={','.join(sorted(created.client.scopes))}\n"
        f"client secret: {created.client_secret}\n(the secret is shown only now)",
    )


@clients_app.command("list")
def clients_list(tenant: TenantOption, as_json: JsonFlag = False) -> None:
    """List a tenant's clients."""

    async def work(tx: Tx) -> tuple[Tenant, list[Client]]:
        found = await tenant_service.get_tenant(tx, tenant)
        return found, await client_service.list_clients(tx, found.tenant_id)

    found, listed = _run(work, write=False)
    documents = [_client_document(found.tenant_id, c) for c in listed]
    text = "\n".join(
        f"{d['clientId']}  {','.join(d['scopes'])}  {d['name']}{'  (revoked)' if d['revokedAt'] else ''}"
        for d in documents
    )
    _emit(as_json, {"tenantId": str(found.tenant_id), "clients": documents}, text or "none")


@clients_app.command("revoke")
def clients_revoke(tenant: TenantOption, client_id: str, as_json: JsonFlag = False) -> None:
    """Revoke a client: its secret and tokens stop working at once."""
    import uuid

    try:
        parsed = uuid.UUID(client_id)
    except ValueError as error:
        err.print("error: CLIENT_ID is a UUID")
        raise typer.Exit(2) from error

    async def work(tx: Tx) -> tuple[Tenant, Client]:
        found = await tenant_service.get_tenant(tx, tenant)
        return found, await client_service.revoke_client(tx, found.tenant_id, parsed)

    found, revoked = _run(work)
    _emit(as_json, _client_document(found.tenant_id, revoked), f"client {revoked.client_id} revoked")


# ---- ledger ----


@ledger_app.command("verify")
def ledger_verify(as_json: JsonFlag = False) -> None:
    """Check, for every member, that balance and lifetime earn equal the sums of their ledger entries."""

    async def work(tx: Tx) -> tuple[int, list[point_service.LedgerMismatch]]:
        total = await point_service.count_accounts(tx)
        found: list[point_service.LedgerMismatch] = []
        with Progress(console=err, transient=True, disable=as_json) as progress:
            task = progress.add_task("verifying accounts", total=total)
            async for checked, mismatches in point_service.verify_ledger(tx):
                found.extend(mismatches)
                progress.advance(task, checked)
        return total, found

    total, mismatches = _run(work, write=False)
    documents = [
        {
            "tenantId": str(m.tenant_id),
            "userId": str(m.member_id),
            "field": m.field,
            "stored": m.stored,
            "expected": m.expected,
        }
        for m in mismatches
    ]
    lines = [
        f"{d['tenantId']} {d['userId']} {d['field']}: stored {d['stored']}, entries say {d['expected']}"
        for d in documents
    ]
    verdict = "ledger OK" if not mismatches else f"{len(mismatches)} mismatch(es)"
    _emit(
        as_json,
        {"accounts": total, "mismatches": documents, "ok": not mismatches},
        "\n".join([*lines, f"{total} accounts checked: {verdict}"]),
    )
    if mismatches:
        raise typer.Exit(1)


# ---- serve ----


DEMO_TENANT = "demo"


async def _first_start(tx: Tx) -> tuple[demo.Credentials, demo.Credentials] | None:
    """On a database with no tenant, create the demo tenant with an admin and a POS client."""
    if await tenant_service.list_tenants(tx):
        return None
    return await demo.new_tenant(tx, DEMO_TENANT)


def _seed_demo(settings: Settings, admin: demo.Credentials) -> demo_program.DemoProgram:
    """Build the demo program in the tenant through the API (in-process), as an operator would."""
    configure_logging("WARNING", sys.stderr)  # the in-process requests are not this command's output

    async def main() -> demo_program.DemoProgram:
        db = Database(settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous)
        try:
            async with demo.engine_client(settings, db, admin) as client:
                return await demo_program.build(client)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _demo_document(admin: demo.Credentials, pos: demo.Credentials) -> dict[str, str]:
    return {
        "tenantId": admin.tenant_id,
        "apiKey": admin.api_key,
        "adminClientId": admin.client_id,
        "adminClientSecret": admin.client_secret,
        "posClientId": pos.client_id,
        "posClientSecret": pos.client_secret,
    }


def _print_demo(demo: dict[str, str], base_url: str) -> None:
    out.print(
        "\n".join(
            [
                "Demo tenant created. These credentials are shown once — keep them:",
                f"  Tenant id:           {demo['tenantId']}",
                f"  API key:             {demo['apiKey']}",
                f"  Admin client id:     {demo['adminClientId']}",
                f"  Admin client secret: {demo['adminClientSecret']}",
                f"  POS client id:       {demo['posClientId']}",
                f"  POS client secret:   {demo['posClientSecret']}",
                "Get an admin token:",
                f"  curl -s -X POST {base_url}/v1/oauth/token -H 'X-Api-Key: {demo['apiKey']}' \\",
                f"    -d grant_type=client_credentials -d client_id={demo['adminClientId']} "
                f"-d client_secret={demo['adminClientSecret']}",
                f"API documentation: {base_url}/docs",
                f"The reference till: {base_url}/pos/",
            ]
        ),
        highlight=False,
        soft_wrap=True,
    )


demo_app = typer.Typer(help="The demo program and simulated tills.", invoke_without_command=True)
app.add_typer(demo_app, name="demo")


@demo_app.callback()
def demo_seed(
    context: typer.Context,
    name: Annotated[str, typer.Option(help="Name of the new demo tenant.")] = "demo-shop",
    as_json: JsonFlag = False,
) -> None:
    """Create a tenant holding the demo program (event types, reactors, rewards, tiers, an audience, a venue and
    members) and print its credentials once."""
    if context.invoked_subcommand is not None:
        return
    settings = _settings()
    migrate.upgrade(settings.resolved_database_url())
    admin, pos = _run(lambda tx: demo.new_tenant(tx, name))
    program = _seed_demo(settings, admin)
    document = {**_demo_document(admin, pos), "members": program.members, "rewards": program.rewards}
    if as_json:
        _emit(True, document, "")
        return
    _print_demo(_demo_document(admin, pos), f"http://{settings.host}:{settings.port}")
    out.print(f"  Demo members (account numbers): {', '.join(program.members)}", highlight=False)


@demo_app.command("traffic")
def demo_traffic_command(
    api_key: Annotated[str, typer.Option(envvar="LOYALTY_DEMO_API_KEY", help="The demo tenant's API key.")],
    minutes: Annotated[float, typer.Option(help="How long the tills sell.")] = 1.0,
    tills: Annotated[int, typer.Option(help="Tills selling at once.")] = 4,
    url: Annotated[str | None, typer.Option(help="A running engine; default: in this process.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Simulate a day of tills through the Python client and print what happened and how fast."""
    settings = _settings()
    if url is None:
        configure_logging("WARNING", sys.stderr)
    admin, pos = _run(lambda tx: demo.clients_for(tx, api_key))

    async def main() -> demo_traffic.Summary:
        db = Database(settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous)
        try:
            async with demo.engine_client(settings, db, admin, url) as back_office:
                members = [m.account_number for m in await back_office.send(demo.list_members())]
            async with contextlib.AsyncExitStack() as stack:
                clients = [
                    await stack.enter_async_context(demo.engine_client(settings, db, pos, url)) for _ in range(tills)
                ]
                with Progress(console=err, transient=True, disable=as_json) as progress:
                    task = progress.add_task("tills selling", total=None)
                    return await demo_traffic.run(
                        clients, members, demo_program.STORE, minutes * 60, on_sale=lambda: progress.advance(task)
                    )
        finally:
            await db.dispose()

    summary = asyncio.run(main())
    document = {
        "sales": summary.sales,
        "refunds": summary.refunds,
        "pointsEarned": summary.points_earned,
        "pointsSpent": summary.points_spent,
        "vouchersBurned": summary.vouchers_burned,
        "refused": summary.refused,
        "failures": summary.failures,
        "latencyMs": summary.percentiles(),
    }
    lines = [
        f"sales {summary.sales}, refunds {summary.refunds}, points earned {summary.points_earned}, "
        f"points spent {summary.points_spent}, vouchers burned {summary.vouchers_burned}, refused {summary.refused}",
        *(
            f"  {op:<9} n={v['count']:<6} p50 {v['p50']} ms  p95 {v['p95']} ms  p99 {v['p99']} ms"
            for op, v in document["latencyMs"].items()  # type: ignore[attr-defined]
        ),
    ]
    _emit(as_json, document, "\n".join(lines))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (LOYALTY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (LOYALTY_PORT, default 8000).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (LOYALTY_WORKERS).")] = None,
    with_demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Create the demo tenant and program on an empty database.")
    ] = True,
) -> None:
    """Migrate the database, create the demo tenant with its program on first start, and serve the HTTP API."""
    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    url = settings.resolved_database_url()
    migrate.upgrade(url)
    out.print(f"database: {url}", highlight=False)
    if with_demo:
        created = _run(_first_start)
        if created:
            program = _seed_demo(settings, created[0])
            _print_demo(_demo_document(*created), f"http://{host}:{port}")
            out.print(f"  Demo members (account numbers): {', '.join(program.members)}", highlight=False)
    sys.stdout.flush()
    uvicorn.run(
        "loyalty.api.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=False,
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Do the work that is due now, then exit.")] = False,
) -> None:
    """Deliver webhooks from the outbox, run the daily jobs (at start, then every LOYALTY_DAILY_JOBS_HOURS) and
    the points jobs in between (every LOYALTY_POINTS_JOBS_MINUTES), until stopped."""
    settings = _settings()
    configure_logging(settings.log_level)

    async def run() -> None:
        db = Database(settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous)
        lease = timedelta(seconds=settings.webhook_lease_seconds)
        ttl = timedelta(hours=settings.idempotency_ttl_hours)
        daily_every = settings.daily_jobs_hours * 3600
        points_every = settings.points_jobs_minutes * 60
        last_points = time.monotonic()
        # Kept in memory: a restarted worker runs the daily jobs again at once, which is harmless (idempotent).
        last_daily: float | None = None
        try:
            async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds) as http:
                while True:
                    try:
                        attempted = await deliver_due(
                            db, http, lease=lease, backoff_base_seconds=settings.webhook_backoff_seconds
                        )
                    except (DBAPIError, OSError) as error:
                        # The database is briefly unreachable: the claimed leases expire, so nothing is lost.
                        worker_log.warning("worker_round_failed", error=str(error))
                        attempted = 0
                    if last_daily is None or time.monotonic() - last_daily >= daily_every:
                        try:
                            report = await _daily_jobs(db, ttl)
                            worker_log.info("daily_jobs_done", **_report_document(report))
                        except (DBAPIError, OSError, DomainError) as error:
                            worker_log.warning("daily_jobs_failed", error=str(error))
                        last_daily = last_points = time.monotonic()
                    elif time.monotonic() - last_points >= points_every:
                        try:
                            report = await _points_jobs(db)
                            if report.points_activated or report.points_expired:
                                worker_log.info("points_jobs_done", **_report_document(report))
                        except (DBAPIError, OSError, DomainError) as error:
                            worker_log.warning("points_jobs_failed", error=str(error))
                        last_points = time.monotonic()
                    if once and not attempted:
                        return
                    if not attempted:
                        await asyncio.sleep(settings.worker_poll_seconds)
        finally:
            await db.dispose()

    asyncio.run(run())


worker_log = structlog.get_logger("loyalty.worker")


async def _daily_jobs(
    db: Database, retention: timedelta, on_tenant_done: Callable[[Any, daily_service.DailyReport], None] | None = None
) -> daily_service.DailyReport:
    tenant_ids = await db.run(daily_service.tenant_ids, write=False)
    return await daily_service.run_daily_jobs(db.run, tenant_ids, retention=retention, on_tenant_done=on_tenant_done)


async def _points_jobs(db: Database) -> daily_service.DailyReport:
    report = daily_service.DailyReport()
    for tenant_id in await db.run(daily_service.tenant_ids, write=False):
        report += await daily_service.run_points_jobs(db.run, tenant_id)
    return report


def _report_document(report: daily_service.DailyReport) -> dict[str, int]:
    return {
        "tenants": report.tenants,
        "tierMoves": report.tier_moves,
        "audiencesRefreshed": report.audiences_refreshed,
        "audienceJoins": report.audience_joins,
        "audienceLeaves": report.audience_leaves,
        "idempotencyKeysReaped": report.idempotency_keys_reaped,
        "pointsActivated": report.points_activated,
        "pointsExpired": report.points_expired,
        "membersExpired": report.members_expired,
    }


@app.command()
def daily(as_json: JsonFlag = False) -> None:
    """Run the daily jobs once for every tenant: activation of pending points, points expiry, CALENDAR_PERIOD tier
    review, DAILY audience refresh, and reaping idempotency keys past the retention window. Safe to repeat, and to
    run while a worker runs."""
    settings = _settings()

    async def main() -> daily_service.DailyReport:
        db = Database(settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous)
        try:
            total = await db.run(_count_tenants, write=False)
            with Progress(console=err, transient=True, disable=as_json) as progress:
                task = progress.add_task("daily jobs", total=total)
                return await _daily_jobs(
                    db,
                    timedelta(hours=settings.idempotency_ttl_hours),
                    on_tenant_done=lambda _tenant, _report: progress.advance(task),
                )
        finally:
            await db.dispose()

    try:
        report = asyncio.run(main())
    except DomainError as error:
        err.print(f"[red]error[/red] {error.code}: {error.message}")
        raise typer.Exit(2) from error
    document = _report_document(report)
    _emit(as_json, document, "daily jobs done: " + ", ".join(f"{k} {v}" for k, v in document.items()))


async def _count_tenants(tx: Tx) -> int:
    return len(await daily_service.tenant_ids(tx))


def main() -> None:
    app()
