from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from claimwatch.auth.deps import request_locale, require, tenant_session
from claimwatch.auth.principal import AccessDenied, Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.sla import service, views
from claimwatch.sla.schemas import AcknowledgeIn, ClockOut, ExtendIn, QueueItem, SuspendIn
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1", tags=["sla"])


def _claim(session: Session, number: str) -> Any:
    try:
        return cases_service.get_claim(session, number)
    except cases_service.ClaimNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


def _clock(session: Session, number: str, policy: str, locale: str) -> dict[str, Any]:
    claim = _claim(session, number)
    latest = [view for view in views.clocks_view(session, claim, locale) if view["policy"] == policy][-1]
    return ClockOut.model_validate(latest).model_dump(mode="json")


@router.get("/claims/{number}/clocks", response_model=list[ClockOut], summary="The claim's SLA clocks")
def get_clocks(
    number: str,
    request: Request,
    _: Principal = Depends(require(Permission.VIEW_CLAIMS)),
    session: Session = Depends(tenant_session),
) -> list[dict[str, Any]]:
    if session.info["tenant"].tenant_id is None:
        raise HTTPException(status_code=422, detail="tenant: a regulator reads clocks through the claim page")
    return views.clocks_view(session, _claim(session, number), request_locale(request))


def _act_on_clock(
    session: Session, number: str, policy: str, request: Request, action: Callable[[Claim], object]
) -> dict[str, Any]:
    """Run a staff action on the claim's clock; answer the clock as it now stands, or the refusal."""
    try:
        action(_claim(session, number))
    except AccessDenied as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc
    except service.ClockNotFound as exc:
        raise HTTPException(status_code=404, detail=f"policy: {exc}") from exc
    except service.ClockActionRefused as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return _clock(session, number, policy, request_locale(request))


@router.post("/claims/{number}/clocks/{policy}/suspend", response_model=ClockOut)
def post_suspend(
    number: str,
    policy: str,
    body: SuspendIn,
    request: Request,
    principal: Principal = Depends(require(Permission.MANAGE_CLOCKS)),
    session: Session = Depends(tenant_session),
) -> dict[str, Any]:
    """Exclude time by law from the clock (e.g. external appraisal); ends with resume-suspension."""
    return _act_on_clock(
        session,
        number,
        policy,
        request,
        lambda claim: service.suspend(session, principal, claim, policy, body.reason, body.at),
    )


@router.post("/claims/{number}/clocks/{policy}/resume-suspension", response_model=ClockOut)
def post_end_suspension(
    number: str,
    policy: str,
    body: SuspendIn,
    request: Request,
    principal: Principal = Depends(require(Permission.MANAGE_CLOCKS)),
    session: Session = Depends(tenant_session),
) -> dict[str, Any]:
    return _act_on_clock(
        session,
        number,
        policy,
        request,
        lambda claim: service.end_suspension(session, principal, claim, policy, body.reason, body.at),
    )


@router.post("/claims/{number}/clocks/{policy}/extend", response_model=ClockOut)
def post_extend(
    number: str,
    policy: str,
    body: ExtendIn,
    request: Request,
    principal: Principal = Depends(require(Permission.MANAGE_CLOCKS)),
    session: Session = Depends(tenant_session),
) -> dict[str, Any]:
    """A reasoned extension, approved by a role the policy names and bounded by its maximum."""
    return _act_on_clock(
        session,
        number,
        policy,
        request,
        lambda claim: service.extend(session, principal, claim, policy, body.amount, body.reason),
    )


@router.get("/sla/queue", response_model=list[QueueItem], summary="Yellow and red cases, oldest first")
def get_queue(
    request: Request,
    include_acknowledged: bool = False,
    limit: int = Query(500, ge=1, le=5000),
    principal: Principal = Depends(require(Permission.VIEW_ESCALATIONS)),
    session: Session = Depends(tenant_session),
) -> list[dict[str, Any]]:
    return views.queue_view(session, principal, request_locale(request), include_acknowledged, limit)


@router.post("/sla/escalations/{escalation_id}/acknowledge", status_code=204)
def post_acknowledge(
    escalation_id: int,
    body: AcknowledgeIn,
    principal: Principal = Depends(require(Permission.VIEW_ESCALATIONS)),
    session: Session = Depends(tenant_session),
) -> Response:
    try:
        service.acknowledge(session, principal, escalation_id, body.note)
    except service.EscalationNotFound as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except service.ClockActionRefused as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return Response(status_code=204)


@router.get("/sla/filings", summary="Regulator filings (监管报备); ?format=csv|json")
def get_filings(
    request: Request,
    format: str = Query("json", pattern="^(json|csv)$"),
    tenant: str | None = Query(None, description="insurer code (regulators: optional filter)"),
    since: dt.datetime | None = Query(None, description="filed at or after (ISO 8601 with offset)"),
    until: dt.datetime | None = Query(None, description="filed before"),
    principal: Principal = Depends(require(Permission.VIEW_FILINGS)),
) -> Response:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(status_code=422, detail=f"{name}: give a time zone offset, e.g. +08:00")
    context = principal.context()
    with unit_of_work(context) as session:
        tenant_id = context.tenant_id
        if tenant is not None:
            found = tenancy_repository.tenant_by_code(session, tenant)
            if found is None or (context.tenant_id is not None and found.id != context.tenant_id):
                raise HTTPException(status_code=404, detail=f"tenant: no insurer {tenant!r}")
            tenant_id = found.id
        rows = views.filings_view(session, request_locale(request), tenant_id, since, until)
    body = views.export_filings(rows, format)
    if format == "csv":
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="regulator-filings.csv"'},
        )
    return Response(body, media_type="application/json")


@router.get("/sla/policies", summary="The SLA policies in force for the caller's insurer")
def get_policies(
    request: Request,
    principal: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> list[dict[str, Any]]:
    if principal.tenant_id is None:
        raise HTTPException(status_code=422, detail="tenant: policies are per insurer")
    locale = request_locale(request)
    with unit_of_work(TenantContext.for_tenant(principal.tenant_id)) as session:
        policies = service.tenant_policies(session, principal.tenant_id)
    return [
        {
            "code": p.code,
            "label": p.label(locale),
            "basis": p.basis,
            "unit": p.unit.value,
            "yellow": p.yellow,
            "red": p.red,
            "lines": sorted(p.lines) if p.lines else None,
            "amount_at_least": p.amount_at_least_fen / 100 if p.amount_at_least_fen is not None else None,
            "amount_below": p.amount_below_fen / 100 if p.amount_below_fen is not None else None,
            "extension_max": p.extension_max,
            "enabled": p.enabled,
        }
        for p in policies.values()
    ]
