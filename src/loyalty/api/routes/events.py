"""/v1/events: report events (the reactors' input), read them back, and dry-run them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from loyalty.api.auth import ADMIN, ADMIN_POS, EVENT_REPORTERS
from loyalty.api.commands import run_command, run_query
from loyalty.api.envelope import Page, Success, errors, success
from loyalty.api.models.common import Pagination, pagination
from loyalty.api.models.events import EventDefinition, EventOut, ReactionOut
from loyalty.api.paths import path_id
from loyalty.domain.errors import NotFound
from loyalty.domain.tenancy import Principal, PrincipalKind
from loyalty.services import events as event_service
from loyalty.services import members as member_service
from loyalty.storage.database import Tx

router = APIRouter(prefix="/v1", tags=["Events"])


def _reporter(principal: Principal) -> event_service.Reporter:
    return event_service.Reporter(
        credential=principal.credential,
        is_client=principal.kind is PrincipalKind.CLIENT,
        member_subject=principal.subject if principal.is_user else None,
        event_secret=principal.event_secret,
    )


def _report(body: EventDefinition, principal: Principal) -> dict[str, object]:
    return {
        "type_name": body.type,
        "subject": body.subject,
        "payload": body.payload,
        "executor": body.executor,
        "occurred_at": body.occurred_at,
        "reporter": _reporter(principal),
    }


@router.post("/events", response_model=Success[EventOut], responses=errors(400, 401, 403, 404, 409, 422))
async def report_event(
    request: Request, body: EventDefinition, principal: Principal = Depends(EVENT_REPORTERS)
) -> Response:
    """Report an event. Its reactors run in the same transaction, and the answer lists every reaction with its
    outcome (`APPLIED`, `SKIPPED` or `FAILED` and why). A duplicate (same `dedupeKeyPath` value) is answered with
    the original event and `"duplicate": true`. A `REJECT_EVENT` reaction that would overdraw refuses the whole
    event with 422 `INSUFFICIENT_POINTS` and stores nothing."""

    async def effect(tx: Tx) -> EventOut:
        return EventOut.of(await event_service.report_event(tx, principal.tenant, **_report(body, principal)))  # type: ignore[arg-type]

    return await run_command(request, principal, effect)


@router.post("/events/test_reaction", response_model=Success[EventOut], responses=errors(400, 401, 403, 404, 409, 422))
async def dry_run_event(request: Request, body: EventDefinition, principal: Principal = Depends(ADMIN_POS)) -> Response:
    """A dry run: the answer `POST /v1/events` would give, with nothing stored."""

    async def effect(tx: Tx) -> EventOut:
        return EventOut.of(await event_service.test_reaction(tx, principal.tenant, **_report(body, principal)))

    return await run_command(request, principal, effect, dry_run=True)


@router.get("/events", response_model=Page[EventOut], responses=errors(400, 401, 403, 404))
async def list_events(
    request: Request,
    page: Pagination = Depends(pagination),
    type: Annotated[str | None, Query(max_length=64, description="Event type name.")] = None,
    subject: Annotated[str | None, Query(max_length=512, description="Any member identifier.")] = None,
    reported_from: Annotated[AwareDatetime | None, Query(alias="from", description="Reported at or after.")] = None,
    reported_to: Annotated[AwareDatetime | None, Query(alias="to", description="Reported before.")] = None,
    principal: Principal = Depends(ADMIN),
) -> Response:
    async def query(tx: Tx) -> Response:
        tenant_id = principal.tenant.tenant_id
        subject_id = (await member_service.resolve_member(tx, tenant_id, subject)).member_id if subject else None
        where = event_service.EventFilter(
            type=type, subject_id=subject_id, reported_from=reported_from, reported_to=reported_to
        )
        found, total = await event_service.list_events(
            tx, tenant_id, where, limit=page.limit, skip=page.skip, ascending=page.order == "ASC"
        )
        return success([EventOut.of(e) for e in found], meta=page.meta(total))

    return await run_query(request, query)


def _event_id(raw: str) -> uuid.UUID:
    return path_id(raw, NotFound("No such event.", code="EVENT_NOT_FOUND"))


@router.get("/events/{id}", response_model=Success[EventOut], responses=errors(401, 403, 404))
async def get_event(request: Request, id: str, principal: Principal = Depends(ADMIN_POS)) -> Response:
    event_id = _event_id(id)

    async def query(tx: Tx) -> Response:
        return success(EventOut.of(await event_service.get_event(tx, principal.tenant.tenant_id, event_id)))

    return await run_query(request, query)


@router.get("/events/{id}/reactions", response_model=Success[list[ReactionOut]], responses=errors(401, 403, 404))
async def get_event_reactions(request: Request, id: str, principal: Principal = Depends(ADMIN_POS)) -> Response:
    event_id = _event_id(id)

    async def query(tx: Tx) -> Response:
        event = await event_service.get_event(tx, principal.tenant.tenant_id, event_id)
        return success([ReactionOut.of(r) for r in event.reactions])

    return await run_query(request, query)
