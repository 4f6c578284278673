"""Forecast routes (thin): the newest forecast of a series with its back-test and (service requests) the staffing
plan; a run now; the roster (read, one day, a CSV all or nothing); peak mode proposed from the plan. Reading needs
VIEW_FORECASTS; runs and the roster MANAGE_FORECASTS; a peak proposal MANAGE_PEAK_MODE. Forecasts belong to one
insurer: the regulator gets 403. Each request is one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints.api import _posted_csv  # the complaint import's reader: text/csv or multipart 'file'
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Invalid
from claimwatch.forecasts import page_queries, series, service
from claimwatch.forecasts.schemas import PeakProposalIn, RosterIn, RunIn
from claimwatch.servicedesk import peak

router = APIRouter(tags=["forecasts"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this (the regulator: forecasts are an insurer's own)"},
    404: {"description": "unknown forecast"},
    409: {"description": "overlapping peak period"},
    422: {"description": "invalid field (named in 'problems'); a series too short is refused naming 'history'"},
}


def _insurer(principal: Principal) -> Principal:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "forecasts belong to one insurer")
    return principal


def _viewer(principal: Principal = Depends(require(Permission.VIEW_FORECASTS))) -> Principal:
    return _insurer(principal)


def _manager(principal: Principal = Depends(require(Permission.MANAGE_FORECASTS))) -> Principal:
    return _insurer(principal)


def _peak_manager(principal: Principal = Depends(require(Permission.MANAGE_PEAK_MODE))) -> Principal:
    return _insurer(principal)


ViewerDep = Annotated[Principal, Depends(_viewer)]
ManagerDep = Annotated[Principal, Depends(_manager)]
PeakDep = Annotated[Principal, Depends(_peak_manager)]


def _tenant(principal: Principal) -> int:
    assert principal.tenant_id is not None  # _insurer
    return principal.tenant_id


@router.get("/api/v1/forecasts", responses=_ERRORS)
def get_forecast(
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    series_name: str = Query(series.SERVICE_REQUESTS, alias="series", description="service_requests | claims"),
    team: str = Query("", max_length=32, description="a team's code; empty: the whole insurer"),
) -> Any:
    """The newest forecast (points with the 80 % band, back-test with MAPE), the recent history, and for service
    requests the staffing plan (hours and staff needed per day, the roster, the gap, the days needing peak mode).
    ``forecast`` is null when none was run yet."""
    found = page_queries.view(session, _tenant(principal), series_name, team, utc_now(), request_locale(request))
    return jsonable_encoder(found)


@router.post("/api/v1/forecasts/run", status_code=201, responses=_ERRORS)
def post_run(body: RunIn, principal: ManagerDep, session: TenantSession) -> Any:
    """Forecast now: the series and team given, or every series of the insurer (refusals listed, not raised)."""
    tenant_id = _tenant(principal)
    if body.series is None:
        if body.team:
            raise Invalid("series", "name the series of the team")
        result = service.run_all(session, tenant_id, principal.actor)
        made = [page_queries.forecast_out(row) for row in result.made]
        return jsonable_encoder({"made": made, "refused": result.refused})
    row = service.run_forecast(session, tenant_id, principal.actor, body.series, body.team)
    return jsonable_encoder({"made": [page_queries.forecast_out(row)], "refused": {}})


@router.get("/api/v1/forecasts/roster", responses=_ERRORS)
def get_roster(
    principal: ViewerDep,
    session: TenantSession,
    first: dt.date = Query(..., alias="from"),
    last: dt.date = Query(..., alias="to"),
    team: str = Query("", max_length=32),
) -> Any:
    if last < first or (last - first).days > 366:
        raise Invalid("to", "the period is at most a year and ends after it starts")
    rows = service.roster(session, _tenant(principal), first, last, team)
    return [
        {"team": r.team, "day": r.day.isoformat(), "staff": r.staff, "hours": r.hours, "updated_by": r.updated_by}
        for r in rows
    ]


@router.put("/api/v1/forecasts/roster", responses=_ERRORS)
def put_roster(body: RosterIn, principal: ManagerDep, session: TenantSession) -> Any:
    """One team's roster for one day (replacing what was there)."""
    row = service.set_roster(session, principal, body)
    return {"team": row.team, "day": row.day.isoformat(), "staff": row.staff, "hours": row.hours}


@router.post(
    "/api/v1/forecasts/roster/import",
    status_code=201,
    responses={**_ERRORS, 422: {"description": "rejected rows: nothing imported; 'problems' names each"}},
)
def post_roster_import(
    dry_run: bool = Query(False, description="check every row, import nothing"),
    *,
    session: TenantSession,
    principal: ManagerDep,
    content: Annotated[bytes, Depends(_posted_csv)],
) -> Any:
    """The roster from CSV (body ``text/csv`` or multipart ``file``), all or nothing: columns team (班组), day
    (日期), staff (人数), hours (每人工时, default 8)."""
    result = service.import_roster(session, principal, content, dry_run=dry_run)
    return JSONResponse(status_code=200 if dry_run else 201, content=result.as_dict())


@router.post("/api/v1/forecasts/peak-proposals", status_code=201, responses=_ERRORS)
def post_peak_proposal(body: PeakProposalIn, principal: PeakDep, session: TenantSession) -> Any:
    """Peak mode for days the team's staffing plan flagged, confirmed by the caller (MANAGE_PEAK_MODE)."""
    period = service.propose_peak(session, principal, body.team, body.first_day, body.last_day, body.reason)
    return jsonable_encoder(peak.period_view(period, utc_now()))
