"""Catastrophe-event routes (thin): list, declare (audited; the covered claims join the green channel), one
event's figures by region, amend (end date, regions, lines, note)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import NotFound
from claimwatch.params import RowId
from claimwatch.triage import catastrophe_queries, catastrophes
from claimwatch.triage.catastrophe_schemas import CatastropheChange, CatastropheIn

router = APIRouter(prefix="/api/v1/triage/catastrophes", tags=["triage"])


def _joined(found: catastrophes.Joined) -> dict[str, Any]:
    return {
        "id": found.event.id,
        "code": found.event.code,
        "joined": found.claims,
        "joined_green": found.green,
        "audit_seq": found.audit_seq,
        "url": catastrophe_queries.catastrophe_url(found.event.id),
    }


@router.get("", summary="Catastrophe events with their claims, open and overdue")
def get_events(
    request: Request, session: TenantSession, principal: Principal = Depends(require(Permission.VIEW_TRIAGE))
) -> list[dict[str, Any]]:
    return catastrophe_queries.catastrophe_list(session, request_locale(request))


@router.post(
    "", status_code=201, summary="Declare a catastrophe event (大灾; audited): its claims join the green channel"
)
def post_event(
    body: CatastropheIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.DECLARE_CATASTROPHES)),
) -> dict[str, Any]:
    declaration = catastrophes.Declaration(**body.model_dump())
    return _joined(catastrophes.declare(session, principal, declaration))


@router.get("/{event_id}", summary="One event: claims, open, overdue and paid by region")
def get_event(
    event_id: RowId,
    request: Request,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.VIEW_TRIAGE)),
) -> dict[str, Any]:
    found = catastrophe_queries.catastrophe_detail(session, event_id, request_locale(request))
    if found is None:
        raise NotFound("catastrophe", f"no catastrophe event {event_id}")
    return found


@router.patch("/{event_id}", summary="Amend an event (audited): end date, regions, lines, note")
def patch_event(
    event_id: RowId,
    body: CatastropheChange,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.DECLARE_CATASTROPHES)),
) -> dict[str, Any]:
    found = catastrophes.amend(
        session,
        principal,
        event_id,
        ends_on=body.ends_on,
        clear_end=body.reopen,
        region_codes=body.region_codes,
        lines=body.lines,
        note=body.note,
    )
    return _joined(found)
