"""SLA routes (thin): a claim's clocks and the staff actions on them, the supervisors' queue, regulator
filings and the policies in force. Refusals are raised (``Problem``) and answered by the app's handler."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from claimwatch.access import api as access_api
from claimwatch.access import service as access_service
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.errors import Invalid, NotFound
from claimwatch.params import RowId, checked_instant
from claimwatch.sla import queries, service
from claimwatch.sla.schemas import AcknowledgeIn, ClockOut, ExtendIn, QueueItem, SuspendIn
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service

router = APIRouter(prefix="/api/v1", tags=["sla"])


def _clock(session: Session, number: str, policy: str, locale: str) -> dict[str, Any]:
    claim = cases_service.get_claim(session, number)
    latest = [view for view in queries.clocks_view(session, claim, locale) if view["policy"] == policy][-1]
    return ClockOut.model_validate(latest).model_dump(mode="json")


@router.get("/claims/{number}/clocks", response_model=list[ClockOut], summary="The claim's SLA clocks")
def get_clocks(
    number: str,
    request: Request,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> list[dict[str, Any]]:
    if principal.is_regulator:
        raise Invalid("tenant", "a regulator reads clocks through the claim page")
    return queries.clocks_view(session, cases_service.get_claim(session, number), request_locale(request))


def _act_on_clock(
    session: Session, number: str, policy: str, request: Request, action: Callable[[Claim], object]
) -> dict[str, Any]:
    """Run a staff action on the claim's clock and answer the clock as it now stands. A refusal raises
    (unknown claim or clock 404, a refused action 409, a role that may not approve 403) and the
    request's transaction rolls back."""
    action(cases_service.get_claim(session, number))
    return _clock(session, number, policy, request_locale(request))


@router.post("/claims/{number}/clocks/{policy}/suspend", response_model=ClockOut)
def post_suspend(
    number: str,
    policy: str,
    body: SuspendIn,
    request: Request,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_CLOCKS)),
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
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_CLOCKS)),
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
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_CLOCKS)),
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
    session: TenantSession,
    include_acknowledged: bool = False,
    limit: int = Query(500, ge=1, le=5000),
    principal: Principal = Depends(require(Permission.VIEW_ESCALATIONS)),
) -> list[dict[str, Any]]:
    return queries.queue_view(session, principal, request_locale(request), include_acknowledged, limit)


@router.post("/sla/escalations/{escalation_id}/acknowledge", status_code=204)
def post_acknowledge(
    escalation_id: RowId,
    body: AcknowledgeIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.VIEW_ESCALATIONS)),
) -> Response:
    service.acknowledge(session, principal, escalation_id, body.note)
    return Response(status_code=204)


@router.get("/sla/filings", summary="Regulator filings (监管报备); ?format=csv|json")
def get_filings(
    request: Request,
    session: TenantSession,
    format: str = Query("json", pattern="^(json|csv)$"),
    tenant: str | None = Query(None, description="insurer code (regulators: optional filter)"),
    since: dt.datetime | None = Query(None, description="filed at or after (ISO 8601 with offset)"),
    until: dt.datetime | None = Query(None, description="filed before"),
    principal: Principal = Depends(require(Permission.VIEW_FILINGS)),
) -> Response:
    checked_instant("since", since)
    checked_instant("until", until)
    tenant_id = principal.tenant_id
    if tenant is not None:
        found = tenancy_repository.tenant_by_code(session, tenant)
        if found is None or (principal.tenant_id is not None and found.id != principal.tenant_id):
            raise NotFound("tenant", f"no insurer {tenant!r}")
        tenant_id = found.id
    rows = queries.filings_view(session, request_locale(request), tenant_id, since, until)
    zone = tenancy_service.tenant_zone(session, tenant_id) if tenant_id is not None else None
    body = queries.export_filings(rows, format, request_locale(request), zone)
    if rows:
        # Claim numbers with their dates: who exported them is recorded, one row per insurer in the file.
        if tenant_id is None:
            by_name: dict[str, list[int]] = {}
            for found_id, _, name in tenancy_repository.tenant_codes_and_names(session):
                by_name.setdefault(name, []).append(found_id)
            exported = {found_id for row in rows for found_id in by_name.get(row["insurer"], [])}
        else:
            exported = {tenant_id}
        period = " ".join(
            f"{name}={value.isoformat()}" for name, value in (("since", since), ("until", until)) if value
        )
        ref = f"regulator-filings.{format} {period}".strip()
        access_api.record_view(session, principal, exported, access_service.EXPORT, ref, "filings_export")
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
    session: TenantSession,
    principal: Principal = Depends(require(Permission.VIEW_CLAIMS)),
) -> list[dict[str, Any]]:
    if principal.tenant_id is None:
        raise Invalid("tenant", "policies are per insurer")
    locale = request_locale(request)
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
