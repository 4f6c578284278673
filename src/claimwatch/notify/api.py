"""Claimant messages for staff: what each claimant was told, failures, resend, opt-outs, the KPI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid, NotFound
from claimwatch.notify import service
from claimwatch.notify.schemas import MessageOut, OptOutIn, OptOutOut, ProactiveRate, ResendIn, ResendOut
from claimwatch.params import RowId, checked_instant
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1", tags=["notify"])


def _own_tenant(session: Session) -> int:
    tenant_id = session.info["tenant"].tenant_id
    if tenant_id is None:
        raise Invalid("tenant", "this account belongs to no tenant")
    return int(tenant_id)


@router.get("/claims/{number}/messages", response_model=list[MessageOut], summary="What the claimant was told")
def get_claim_messages(
    number: str,
    session: TenantSession,
    _: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> list[dict[str, Any]]:
    _own_tenant(session)
    claim = cases_service.get_claim(session, number)
    return [message | {"claim_number": claim.number} for message in service.messages_for_claim(session, claim.id)]


@router.get("/notify/failures", response_model=list[MessageOut], summary="Failed and dead messages")
def get_failures(
    session: TenantSession,
    limit: int = Query(200, ge=1, le=1000),
    _: Principal = Depends(require(Permission.MANAGE_NOTIFICATIONS)),
) -> list[dict[str, Any]]:
    _own_tenant(session)
    return service.failures(session, limit)


@router.post("/notify/messages/{message_id}/resend", response_model=MessageOut, summary="Resend one message")
def post_resend_one(
    message_id: RowId,
    session: TenantSession,
    _: Principal = Depends(require(Permission.MANAGE_NOTIFICATIONS)),
) -> dict[str, Any]:
    _own_tenant(session)
    return service.message_view(service.resend_one(session, message_id))


@router.post("/notify/resend", response_model=ResendOut, summary="Resend failed and dead messages")
def post_resend(
    session: TenantSession,
    body: ResendIn | None = None,
    _: Principal = Depends(require(Permission.MANAGE_NOTIFICATIONS)),
) -> dict[str, int]:
    _own_tenant(session)
    return {"requeued": service.resend(session, body.ids if body else None)}


@router.post("/notify/opt-outs", response_model=OptOutOut, status_code=201, summary="A claimant opts out")
def post_opt_out(
    body: OptOutIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_NOTIFICATIONS)),
) -> dict[str, Any]:
    tenant_id = _own_tenant(session)
    found = service.opt_out(session, tenant_id, body.address, body.channel, principal.actor, body.reason)
    return {"id": found.id, "channel": found.channel, "created_at": found.created_at}


@router.get("/notify/kpi/proactive-rate", response_model=ProactiveRate, summary="Proactive notification rate")
def get_proactive_rate(
    session: TenantSession,
    org: str | None = Query(None, description="org unit code (with its subtree)"),
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    tenant: str | None = Query(None, description="tenant code; required for a regulator"),
    principal: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> dict[str, Any]:
    checked_instant("since", since)
    checked_instant("until", until)
    tenant_id = principal.tenant_id
    if tenant is not None:
        found = tenancy_repository.tenant_by_code(session, tenant)
        if found is None or (tenant_id is not None and found.id != tenant_id):
            raise NotFound("tenant", f"unknown tenant {tenant!r}")
        tenant_id = found.id
    if tenant_id is None:
        raise Invalid("tenant", "give ?tenant=CODE")
    if not principal.is_regulator:
        return _proactive_rate(session, tenant_id, org, since, until)
    # A regulator reads one insurer: org unit codes are unique per insurer only.
    with unit_of_work(TenantContext.regulator_of(tenant_id)) as narrowed:
        return _proactive_rate(narrowed, tenant_id, org, since, until)


def _proactive_rate(
    session: Session, tenant_id: int, org: str | None, since: dt.datetime | None, until: dt.datetime | None
) -> dict[str, Any]:
    org_id = None
    if org is not None:
        org_id = tenancy_repository.org_ids_by_code(session).get(org)
        if org_id is None:
            raise NotFound("org", f"unknown org unit {org!r}")
    return service.proactive_notification_rate(
        session,
        tenant_id,
        org_id,
        since.astimezone(dt.UTC) if since else None,
        until.astimezone(dt.UTC) if until else None,
    )
