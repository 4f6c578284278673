"""The revisit pages: the queue (/revisits: due first, filters, the period's KPIs — completion within the
cooling-off period, misled rate by agent and org unit — and CSV/XLSX) and one revisit (/revisits/{id}: the sale,
the channel and reply code, attempts, the outcome form, the finding a misled outcome opened).

Reading needs VIEW_SALES or WORK_REVISITS; taking, attempts and outcomes WORK_REVISITS. Every write is a
CSRF-checked POST (a plain ``def`` reading :data:`forms.PostedForm`) whose service call runs in a savepoint: a
refusal rolls it back and the page comes back with the field named and what was typed."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from claimwatch import tables
from claimwatch.auth.deps import TenantSession, current_principal, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.params import RowId
from claimwatch.policies import revisit_queries, revisits
from claimwatch.tenancy.service import tenant_zone
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

FIELD_LABELS: dict[str, str] = {
    "outcome": N_("Outcome"),
    "notes": N_("Notes"),
    "status": N_("Status"),
    "channel": N_("Channel"),
    "org": N_("Org unit"),
    "agent": N_("Agent"),
    "due_from": N_("Due from"),
    "due_to": N_("Due until"),
    "population.policy_number": N_("Policy number"),
    "scorecard": N_("Scorecard"),
}
STATUS_FILTER_LABELS: dict[str, str] = {"open": N_("Open"), **revisits.STATUSES, "all": N_("All")}
KPI_DAYS = 90  # the KPIs' default period: revisits due in the last 90 days


def _viewer(principal: Principal = Depends(current_principal)) -> Principal:
    if not (principal.can(Permission.VIEW_SALES) or principal.can(Permission.WORK_REVISITS)):
        raise Forbidden("role", f"role {principal.role.value!r} may not read revisits")
    if principal.is_regulator or principal.tenant_id is None:
        raise Forbidden("tenant", "revisits are an insurer's own pages")
    return principal


ViewerDep = Annotated[Principal, Depends(_viewer)]
WorkerDep = Annotated[Principal, Depends(require(Permission.WORK_REVISITS))]


def _date(value: str | None, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise Invalid(field, "a date as YYYY-MM-DD") from None


def _filter(request: Request, principal: Principal) -> revisit_queries.QueueFilter:
    q = request.query_params
    status = (q.get("status") or "open")[:16]
    return revisit_queries.QueueFilter(
        status=status if status in revisit_queries.STATUS_FILTERS else "open",
        channel=(q.get("channel") or None) if q.get("channel") in revisits.CHANNELS else None,
        outcome=(q.get("outcome") or None) if q.get("outcome") in revisits.OUTCOMES else None,
        agent=(q.get("agent") or "").strip()[:64] or None,
        org=(q.get("org") or "").strip()[:32] or None,
        assignee_id=principal.user_id if q.get("mine") == "1" else None,
        due_from=_date(q.get("due_from"), "due_from"),
        due_to=_date(q.get("due_to"), "due_to"),
    )


def _export(rows: list[dict[str, Any]], kind: str, locale: str) -> Response:
    header, body = revisit_queries.export_rows(rows, locale)
    if kind == "xlsx":
        return Response(
            tables.xlsx_bytes([("revisits", header, body)]),
            media_type=tables.XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="revisits.xlsx"'},
        )
    return Response(
        tables.csv_text(header, body),
        media_type=tables.CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="revisits.csv"'},
    )


@router.get("/revisits")
def revisit_queue(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    locale = request_locale(request)
    zone = tenant_zone(session, principal.tenant_id)
    today = revisit_queries.today_in(zone)
    problem = None
    try:
        flt = _filter(request, principal)
        page = int(request.query_params.get("page") or 1) if (request.query_params.get("page") or "1").isdigit() else 1
        export = request.query_params.get("export")
        if export in ("csv", "xlsx"):
            _, rows = revisit_queries.queue(session, flt, locale, today, 1, revisit_queries.EXPORT_LIMIT)
            return _export(rows, export, locale)
        total, rows = revisit_queries.queue(session, flt, locale, today, min(max(page, 1), 10_000))
    except Invalid as exc:
        problem = forms.problem_for(locale, exc)
        flt, total, rows, page = revisit_queries.QueueFilter(), 0, [], 1
    found = revisit_queries.kpis(session, zone, today - dt.timedelta(days=KPI_DAYS), today)
    context = {
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max((total + revisit_queries.PAGE_SIZE - 1) // revisit_queries.PAGE_SIZE, 1),
        "flt": flt,
        "query": {k: v for k, v in request.query_params.items() if k not in ("page", "export")},
        "problem": problem,
        "field_labels": FIELD_LABELS,
        "status_options": [(code, translate(locale, label)) for code, label in STATUS_FILTER_LABELS.items()],
        "channel_options": [(code, translate(locale, label)) for code, label in revisits.CHANNELS.items()],
        "outcome_options": [(code, translate(locale, label)) for code, label in revisits.OUTCOMES.items()],
        "kpis": revisit_queries.kpi_view(found),
        "may_work": principal.can(Permission.WORK_REVISITS),
    }
    status = 422 if problem else 200
    return render(request, "policies/revisits.html", context, status_code=status, principal=principal, zone=zone)


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    revisit_id: int,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    locale = request_locale(request)
    zone = tenant_zone(session, principal.tenant_id)
    view = revisit_queries.revisit_view(session, revisit_id, locale, revisit_queries.today_in(zone))
    context = {
        "r": view,
        "problem": problem,
        "values": values or {},
        "field_labels": FIELD_LABELS,
        "outcome_options": [(code, translate(locale, label)) for code, label in revisits.OUTCOMES.items()],
        "may_work": principal.can(Permission.WORK_REVISITS) and view["open"],
    }
    switch = view["url"] if request.method == "POST" else None
    return render(
        request,
        "policies/revisit.html",
        context,
        status_code=status_code,
        principal=principal,
        switch_path=switch,
        zone=zone,
    )


@router.get("/revisits/{revisit_id}")
def revisit_page(revisit_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _page(request, session, principal, revisit_id)


def _text(form: Any, name: str, limit: int) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


def _post(
    request: Request,
    session: Session,
    principal: Principal,
    revisit_id: int,
    form: Any,
    action: str,
) -> Response:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    outcome = _text(form, "outcome", 16)
    notes = _text(form, "notes", revisits.MAX_NOTES + 1)
    try:
        with session.begin_nested():
            if action == "take":
                revisits.take(session, principal, revisit_id)
            elif action == "attempt":
                revisits.record_attempt(session, principal, revisit_id, notes=notes)
            else:
                revisits.record_outcome(session, principal, revisit_id, outcome=outcome, notes=notes)
    except Problem as exc:
        if exc.status in (403, 404):
            raise
        problem = forms.problem_for(request_locale(request), exc) | {"action": action}
        values = {"outcome": outcome, "notes": notes}
        return _page(request, session, principal, revisit_id, exc.status, problem, values)
    return RedirectResponse(f"/revisits/{revisit_id}?done={action}", status_code=303)


@router.post("/revisits/{revisit_id}/take")
def revisit_take(
    revisit_id: RowId, request: Request, principal: WorkerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    return _post(request, session, principal, revisit_id, form, "take")


@router.post("/revisits/{revisit_id}/attempt")
def revisit_attempt(
    revisit_id: RowId, request: Request, principal: WorkerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    return _post(request, session, principal, revisit_id, form, "attempt")


@router.post("/revisits/{revisit_id}/outcome")
def revisit_outcome(
    revisit_id: RowId, request: Request, principal: WorkerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    return _post(request, session, principal, revisit_id, form, "outcome")
