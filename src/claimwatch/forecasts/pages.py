"""The forecast pages: /forecasts (one series and team: history, the forecast with its band, the back-test with its
MAPE next to it, staff needed against the roster, the days needing peak mode with a button to propose it; CSV/XLSX
of the plan) and /forecasts/roster (the next weeks' roster, one day's entry, a CSV all or nothing).

Every write is a CSRF-checked POST (a plain ``def`` reading :data:`forms.PostedForm`) whose service call runs in a
savepoint: a refusal rolls it back and the page comes back saying which field."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints.importer import ImportRejected
from claimwatch.complaints.pages import import_reject
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Problem
from claimwatch.forecasts import page_queries, series, service
from claimwatch.forecasts.schemas import RosterIn
from claimwatch.tables import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text, xlsx_bytes
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_FORECASTS))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_FORECASTS))]
PeakDep = Annotated[Principal, Depends(require(Permission.MANAGE_PEAK_MODE))]
ROSTER_WEEKS = 8
FIELD_LABELS: dict[str, str] = {
    "history": N_("History"),
    "series": N_("Series"),
    "team": N_("Team"),
    "day": N_("Day"),
    "staff": N_("Staff"),
    "hours": N_("Hours each"),
    "first_day": N_("First day"),
    "last_day": N_("Last day"),
    "forecast": N_("Forecast"),
    "starts_at": N_("First day"),
    "ends_at": N_("Last day"),
    "calendar": N_("Calendar"),
    "form": N_("Form"),
    "file": N_("File"),
}
FIELD_MESSAGES: dict[str, str] = {
    "history": N_("Not enough history to forecast: 16 weeks are needed (8 to fit, 8 to back-test)."),
    "first_day": N_("None of these days needs peak mode by the forecast against the roster."),
}
HANDLING_SOURCES: dict[str, str] = {"configured": N_("configured"), "measured": N_("measured")}


def _own(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "forecasts are an insurer's own")
    return principal.tenant_id


def _csrf(request: Request, form: FormData) -> None:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden("form", "the form expired: reload the page")


def _text(form: FormData, name: str, limit: int = 2000) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


def _problem(locale: str, exc: Problem) -> dict[str, Any]:
    problem = forms.problem_for(locale, exc)
    if exc.field in FIELD_MESSAGES:
        problem["message"] = translate(locale, FIELD_MESSAGES[exc.field])
    return problem


def _choice(session: Session, tenant_id: int, series_name: str, team: str) -> tuple[str, str]:
    """The series and team asked for, refused (422) when unknown."""
    series.check_series(series_name, team)
    if team and team not in service.team_codes(session, tenant_id):
        raise Problem(422, "team", f"unknown team {team!r}")
    return series_name, team


# --- the forecast page ----------------------------------------------------------------------------------------


def _forecast_page(
    request: Request,
    principal: Principal,
    session: Session,
    series_name: str,
    team: str,
    *,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
) -> HTMLResponse:
    tenant_id = _own(principal)
    locale = request_locale(request)
    found = page_queries.view(session, tenant_id, series_name, team, utc_now(), locale)
    query = urlencode({"series": series_name, "team": team})
    context = {
        "view": found,
        "series_name": series_name,
        "team": team,
        "query": query,
        "series_labels": page_queries.SERIES_LABELS,
        "teams": page_queries.team_options(session, tenant_id, locale),
        "handling_sources": HANDLING_SOURCES,
        "field_labels": FIELD_LABELS,
        "problem": problem,
        "may_run": principal.can(Permission.MANAGE_FORECASTS),
        "may_peak": principal.can(Permission.MANAGE_PEAK_MODE) and series_name == series.SERVICE_REQUESTS,
        "chart_json": json.dumps(found["chart"], ensure_ascii=False).replace("</", "<\\/") if found["chart"] else "",
    }
    zone = tenancy_service.tenant_zone(session, tenant_id)
    switch = f"/forecasts?{query}" if request.method == "POST" else None
    return render(
        request,
        "forecasts/forecast.html",
        context,
        status_code=status_code,
        principal=principal,
        zone=zone,
        switch_path=switch,
    )


@router.get("/forecasts")
def forecast_page(
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    series_name: str = Query(series.SERVICE_REQUESTS, alias="series", max_length=24),
    team: str = Query("", max_length=32),
) -> HTMLResponse:
    series_name, team = _choice(session, _own(principal), series_name, team)
    return _forecast_page(request, principal, session, series_name, team)


@router.post("/forecasts/run")
def run_post(request: Request, principal: ManagerDep, session: TenantSession, form: forms.PostedForm) -> Response:
    """Forecast the series shown now; a series too short comes back naming ``history``."""
    _csrf(request, form)
    tenant_id = _own(principal)
    series_name, team = _choice(
        session, tenant_id, _text(form, "series") or series.SERVICE_REQUESTS, _text(form, "team")
    )
    try:
        with session.begin_nested():
            service.run_forecast(session, tenant_id, principal.actor, series_name, team)
    except Problem as exc:
        problem = _problem(request_locale(request), exc)
        return _forecast_page(request, principal, session, series_name, team, status_code=exc.status, problem=problem)
    return RedirectResponse(f"/forecasts?{urlencode({'series': series_name, 'team': team})}", status_code=303)


@router.post("/forecasts/peak")
def peak_post(request: Request, principal: PeakDep, session: TenantSession, form: forms.PostedForm) -> Response:
    """Propose (and so confirm) peak mode for a run of days the plan flagged; the period is on the peak list."""
    _csrf(request, form)
    tenant_id = _own(principal)
    _, team = _choice(session, tenant_id, series.SERVICE_REQUESTS, _text(form, "team"))
    locale = request_locale(request)
    try:
        first = dt.date.fromisoformat(_text(form, "first_day"))
        last = dt.date.fromisoformat(_text(form, "last_day"))
    except ValueError:
        problem = forms.field_problem(locale, "first_day")
        return _forecast_page(
            request, principal, session, series.SERVICE_REQUESTS, team, status_code=422, problem=problem
        )
    try:
        with session.begin_nested():
            service.propose_peak(session, principal, team, first, last, _text(form, "reason") or None)
    except Problem as exc:
        return _forecast_page(
            request,
            principal,
            session,
            series.SERVICE_REQUESTS,
            team,
            status_code=exc.status,
            problem=_problem(locale, exc),
        )
    return RedirectResponse(f"/forecasts?{urlencode({'series': series.SERVICE_REQUESTS, 'team': team})}&peak=1", 303)


def _plan_export(
    request: Request, principal: Principal, session: Session, team: str
) -> tuple[str, list[str], list[list[Any]]]:
    tenant_id = _own(principal)
    _, team = _choice(session, tenant_id, series.SERVICE_REQUESTS, team)
    header, rows = page_queries.plan_table(session, tenant_id, team, utc_now(), request_locale(request))
    return f"staffing{'-' + team if team else ''}", header, rows


@router.get("/forecasts/staffing.csv")
def staffing_csv(
    request: Request, principal: ViewerDep, session: TenantSession, team: str = Query("", max_length=32)
) -> Response:
    name, header, rows = _plan_export(request, principal, session, team)
    disposition = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(csv_text(header, rows), media_type=CSV_MEDIA_TYPE, headers=disposition)


@router.get("/forecasts/staffing.xlsx")
def staffing_xlsx(
    request: Request, principal: ViewerDep, session: TenantSession, team: str = Query("", max_length=32)
) -> Response:
    name, header, rows = _plan_export(request, principal, session, team)
    sheet = translate(request_locale(request), N_("Staffing"))
    disposition = {"Content-Disposition": f'attachment; filename="{name}.xlsx"'}
    return Response(xlsx_bytes([(sheet, header, rows)]), media_type=XLSX_MEDIA_TYPE, headers=disposition)


# --- the roster ------------------------------------------------------------------------------------------------


def _roster_page(
    request: Request,
    principal: Principal,
    session: Session,
    team: str,
    *,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    typed: dict[str, str] | None = None,
    rejects: list[Any] | None = None,
    imported: int | None = None,
) -> HTMLResponse:
    tenant_id = _own(principal)
    locale = request_locale(request)
    today = service.local_today(session, tenant_id, utc_now())
    last = today + dt.timedelta(weeks=ROSTER_WEEKS) - dt.timedelta(days=1)
    rows = service.roster(session, tenant_id, today, last, team)
    context = {
        "team": team,
        "teams": page_queries.team_options(session, tenant_id, locale),
        "rows": rows,
        "first": today,
        "last": last,
        "problem": problem,
        "typed": typed or {},
        "rejects": [import_reject(locale, reject) for reject in rejects or []],
        "imported": imported,
        "field_labels": FIELD_LABELS,
        "may_manage": principal.can(Permission.MANAGE_FORECASTS),
        "columns": [(name, aliases[1]) for name, aliases in service.ROSTER_HEADERS.items()],
    }
    switch = "/forecasts/roster" if request.method == "POST" else None
    return render(
        request, "forecasts/roster.html", context, status_code=status_code, principal=principal, switch_path=switch
    )


@router.get("/forecasts/roster")
def roster_page(
    request: Request, principal: ViewerDep, session: TenantSession, team: str = Query("", max_length=32)
) -> HTMLResponse:
    _, team = _choice(session, _own(principal), series.SERVICE_REQUESTS, team)
    return _roster_page(request, principal, session, team)


@router.post("/forecasts/roster")
def roster_post(request: Request, principal: ManagerDep, session: TenantSession, form: forms.PostedForm) -> Response:
    """One team's roster for one day."""
    _csrf(request, form)
    locale = request_locale(request)
    typed = {name: _text(form, name, 40) for name in ("team", "day", "staff", "hours")}
    body: dict[str, Any] = {k: v for k, v in typed.items() if v}
    try:
        entry = RosterIn.model_validate(body)
    except ValidationError as exc:
        problem = next(iter(forms.validation_problems(exc, locale).values()))
        return _roster_page(request, principal, session, "", status_code=422, problem=problem, typed=typed)
    try:
        with session.begin_nested():
            service.set_roster(session, principal, entry)
    except Problem as exc:
        return _roster_page(
            request, principal, session, "", status_code=exc.status, problem=_problem(locale, exc), typed=typed
        )
    return RedirectResponse(f"/forecasts/roster?{urlencode({'team': entry.team})}", status_code=303)


@router.post("/forecasts/roster/import")
def roster_import_post(
    request: Request, principal: ManagerDep, session: TenantSession, form: forms.PostedForm
) -> HTMLResponse:
    """The roster from CSV, all or nothing: any bad row and nothing is written; the page lists each."""
    _csrf(request, form)
    locale = request_locale(request)
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _roster_page(
            request, principal, session, "", status_code=422, problem=forms.field_problem(locale, "file", "missing")
        )
    content = upload.file.read(service.MAX_IMPORT_BYTES + 1)
    try:
        with session.begin_nested():
            result = service.import_roster(session, principal, content)
    except ImportRejected as exc:
        return _roster_page(request, principal, session, "", status_code=422, rejects=exc.result.rejects)
    except Problem as exc:
        return _roster_page(request, principal, session, "", status_code=exc.status, problem=_problem(locale, exc))
    return _roster_page(request, principal, session, "", status_code=201, imported=result.created)
