"""Service-request KPI and peak-mode routes (thin): the month's KPIs with normal time and peak relief apart
(VIEW_SERVICE_REQUESTS), the peak periods (reading: VIEW_SERVICE_REQUESTS; declaring and ending: MANAGE_PEAK_MODE).
Every route belongs to one insurer: the regulator (no tenant) is refused (403). Each request is one transaction.

Included before the requests router: ``/api/v1/service-requests/kpis`` must not be read as a request number."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden
from claimwatch.params import RowId
from claimwatch.servicedesk import kpis, peak
from claimwatch.tenancy.service import tenant_zone

router = APIRouter(tags=["service requests"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this (the regulator: no insurer)"},
    404: {"description": "unknown peak period (another insurer's is unknown too)"},
    409: {"description": "overlaps another period; already ended"},
    422: {"description": "invalid field (named in 'problems')"},
}


def _insurer(principal: Principal) -> Principal:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "service requests belong to one insurer")
    return principal


def _viewer(principal: Principal = Depends(require(Permission.VIEW_SERVICE_REQUESTS))) -> Principal:
    return _insurer(principal)


def _manager(principal: Principal = Depends(require(Permission.MANAGE_PEAK_MODE))) -> Principal:
    return _insurer(principal)


ViewerDep = Annotated[Principal, Depends(_viewer)]
ManagerDep = Annotated[Principal, Depends(_manager)]


class PeakIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: dt.datetime | None = Field(None, description="UTC or with an offset; empty: now")
    ends_at: dt.datetime | None = Field(None, description="required: when relief stops")
    categories: list[str] = Field(default_factory=list, max_length=50, description="empty: every category")
    reason: str | None = Field(None, max_length=2000, description="required: why the queue exceeds capacity")
    response_hours: float | None = Field(None, gt=0, le=744, description="first-response target; default 36")


@router.get("/api/v1/service-requests/kpis", responses=_ERRORS)
def get_kpis(
    principal: ViewerDep,
    session: TenantSession,
    month: Annotated[str | None, Query(max_length=7, description="YYYY-MM, the insurer's local month")] = None,
    team: Annotated[str | None, Query(max_length=32)] = None,
    by_team: Annotated[bool, Query(description="one report per team")] = False,
) -> Any:
    """On-time rate of first response, overdue share, first-contact resolution and backlog age for the requests
    received in the month, with normal time and peak relief in separate columns (peak relief never counts in the
    normal one); ``backlog_now``: every open request by age."""
    tenant_id = principal.tenant_id
    assert tenant_id is not None
    now = utc_now()
    year, number = kpis.parse_month(month, tenant_zone(session, tenant_id), now)
    body: dict[str, Any] = {"backlog_now": kpis.backlog(session, tenant_id, now, team)}
    if by_team:
        body["teams"] = [report.as_dict() for report in kpis.team_kpis(session, tenant_id, year, number, now).values()]
    else:
        body |= kpis.month_kpis(session, tenant_id, year, number, team=team, now=now).as_dict()
    return jsonable_encoder(body)


@router.get("/api/v1/peak-periods", responses=_ERRORS)
def list_periods(principal: ViewerDep, session: TenantSession) -> Any:
    """The insurer's peak periods, newest first, with their state (planned | active | ended)."""
    assert principal.tenant_id is not None
    now = utc_now()
    return jsonable_encoder({"items": [peak.period_view(p, now) for p in peak.periods(session, principal.tenant_id)]})


@router.post("/api/v1/peak-periods", status_code=201, responses=_ERRORS)
def declare_period(body: PeakIn, principal: ManagerDep, session: TenantSession) -> Any:
    """Declare peak mode (reason and end required; not in the past; at most the configured days; no overlap with a
    period of the same categories). Audited."""
    period = peak.declare(
        session, principal, body.starts_at, body.ends_at, body.categories, body.reason, body.response_hours
    )
    return jsonable_encoder(peak.period_view(period, utc_now()))


@router.post("/api/v1/peak-periods/{period_id}/end", responses=_ERRORS)
def end_period(period_id: RowId, principal: ManagerDep, session: TenantSession) -> Any:
    """End a peak period now; requests received from then on get the normal target. Audited."""
    period = peak.end_early(session, principal, period_id)
    return jsonable_encoder(peak.period_view(period, utc_now()))
