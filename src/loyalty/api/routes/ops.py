"""Operations endpoints (no API key): liveness, readiness, metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from loyalty.api.auth import database
from loyalty.api.envelope import fail, success
from loyalty.api.observability import LEDGER_ENTRIES, REGISTRY
from loyalty.storage.database import Tx
from loyalty.storage.migrate import current_revision, head_revision
from loyalty.storage.tables import point_entries

router = APIRouter(tags=["Operations"])


@router.get("/healthz")
async def healthz() -> Response:
    """The process is up."""
    return success({"alive": True})


@router.get("/readyz", responses={503: {"description": "Database unreachable or migrations not at head."}})
async def readyz(request: Request) -> Response:
    """The database answers and its schema is at the newest migration."""
    try:
        revision = await database(request).run(current_revision, write=False)
    except Exception as error:  # any failure to reach the database means "not ready"
        return fail(503, "NOT_READY", f"Database unreachable: {type(error).__name__}.")
    head = head_revision()
    if revision != head:
        return fail(503, "NOT_READY", "Database schema is not at the newest migration.", revision=revision, head=head)
    return success({"ready": True, "revision": revision})


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text format."""

    async def count(tx: Tx) -> int:
        return int((await tx.execute(select(func.count()).select_from(point_entries))).scalar_one())

    LEDGER_ENTRIES.set(await database(request).run(count, write=False))
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
