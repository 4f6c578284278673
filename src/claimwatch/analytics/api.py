"""GET /api/v1/analytics/process (JSON) and /api/v1/analytics/process.xes (download)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from claimwatch.analytics import service
from claimwatch.analytics.log import EventLog
from claimwatch.analytics.xes import xes_lines
from claimwatch.auth.deps import current_principal
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import unit_of_work
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

# Who may read process analytics: the quality department, supervisors, inspectors, admins, and
# regulators (every insurer, read-only).
ANALYTICS_ROLES = frozenset({Role.QUALITY_MANAGER, Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR, Role.REGULATOR})


def analytics_reader(principal: Principal = Depends(current_principal)) -> Principal:
    if principal.role not in ANALYTICS_ROLES:
        raise HTTPException(status_code=403, detail=f"role {principal.role.value!r} may not read process analytics")
    return principal


def _tenant_id(session: Session, principal: Principal, tenant: str | None) -> int | None:
    """The caller's own tenant; a regulator may name one (or read all). Another insurer is unknown (404)."""
    own = session.info["tenant"].tenant_id
    if tenant is None:
        return own
    found = tenancy_repository.tenant_by_code(session, tenant)
    if found is None or (own is not None and found.id != own):
        raise HTTPException(status_code=404, detail=f"tenant: no insurer {tenant!r}")
    return found.id


def _check_times(since: dt.datetime | None, until: dt.datetime | None) -> None:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(status_code=422, detail=f"{name}: give a time zone offset, e.g. +08:00")


@router.get("/process", summary="Process analytics of claims: DFG with waiting times, variants, bottlenecks, rework")
def get_process(
    line: str | None = Query(None, description="line of business, e.g. motor"),
    since: dt.datetime | None = Query(None, description="claims reported at or after (ISO 8601 with offset)"),
    until: dt.datetime | None = Query(None, description="claims reported before"),
    tenant: str | None = Query(None, description="insurer code (regulators: optional filter)"),
    top: int = Query(10, ge=1, le=1000, description="how many variants and bottlenecks"),
    principal: Principal = Depends(analytics_reader),
) -> dict[str, Any]:
    _check_times(since, until)
    with unit_of_work(principal.context()) as session:
        tenant_id = _tenant_id(session, principal, tenant)
        report = service.claims_process_report(
            session, tenant_id, line=line, since=since, until=until, top_variants=top, top_bottlenecks=top
        )
    report["tenant"] = tenant
    return report


@router.get(
    "/process.xes",
    summary="The claims' event log as XES (IEEE 1849) for process-mining tools",
    response_class=StreamingResponse,
)
def get_process_xes(
    line: str | None = Query(None),
    since: dt.datetime | None = Query(None),
    until: dt.datetime | None = Query(None),
    tenant: str | None = Query(None, description="insurer code (regulators: optional filter)"),
    principal: Principal = Depends(analytics_reader),
) -> StreamingResponse:
    _check_times(since, until)
    with unit_of_work(principal.context()) as session:
        tenant_id = _tenant_id(session, principal, tenant)
        log: EventLog = service.claims_event_log(session, tenant_id, line=line, since=since, until=until)
    return StreamingResponse(
        (piece.encode("utf-8") for piece in xes_lines(log)),
        media_type="application/xml",
        headers={"Content-Disposition": 'attachment; filename="claims.xes"'},
    )
