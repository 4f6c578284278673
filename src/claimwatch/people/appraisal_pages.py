"""The appraisal pages: a month's scorecards with the peer distribution chart (/people/appraisals), one person's
card with the basis of each metric, the 12-month trend and the peer distribution, and the manager's comment
form (/people/appraisals/{code}), and my own card (/me/appraisal). Charts with the vendored ECharts
(``static/appraisal.js``), data in a JSON block.

Included in the app before the register's ``/people/{code}`` so the fixed paths win.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Problem
from claimwatch.people import appraisal, appraisal_queries, appraisal_scheme
from claimwatch.people import service as people_service
from claimwatch.tenancy import service as tenancy_service
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_APPRAISALS))]
OwnDep = Annotated[Principal, Depends(require(Permission.VIEW_OWN_APPRAISAL))]
CommentDep = Annotated[Principal, Depends(require(Permission.COMMENT_APPRAISALS))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_APPRAISALS))]
KIND_LABELS = {"employee": N_("Employee"), "agent": N_("Agent")}


def _error(request: Request, principal: Principal, status: int, message: str | None = None) -> HTMLResponse:
    return render(
        request, "people/appraisal_error.html", {"status": status, "message": message}, status_code=status,
        principal=principal,
    )  # fmt: skip


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str).replace("<", "\\u003c")


def _month(raw: str | None) -> dt.date | None:
    try:
        return appraisal_scheme.parse_month(raw[:7]) if raw else None
    except Problem:
        return None


def _text(form: FormData, name: str, limit: int = 4000) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


def _previous_month(session: Any, tenant_id: int) -> dt.date:
    local = utc_now().astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()
    return appraisal_scheme.shift_month(local.replace(day=1), -1)


def _bands_labels() -> list[str]:
    width = appraisal_queries.BAND_WIDTH
    return [f"{low}–{low + width - 1 if low + width < 100 else 100}" for low in range(0, 100, width)]


@router.get("/people/appraisals")
def list_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _list_page(request, principal, session)


def _list_page(
    request: Request, principal: Principal, session: Any, problem: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    tenant_id = people_service.tenant_of(principal)
    locale = request_locale(request)
    params = request.query_params
    months = appraisal_queries.computed_months(session, tenant_id)
    month = _month(params.get("month")) or (appraisal_scheme.parse_month(months[0]) if months else None)
    kind = params.get("kind") if params.get("kind") in ("employee", "agent") else None
    raw_org = (params.get("org") or "")[:64]
    orgs = list(session.scalars(select(OrgUnit).where(OrgUnit.tenant_id == tenant_id).order_by(OrgUnit.code)))
    org = next((o for o in orgs if o.code == raw_org), None)
    raw_stars = params.get("stars") or ""
    stars = int(raw_stars) if raw_stars in {"1", "2", "3", "4", "5"} else None
    job_title = (params.get("job_title") or "").strip()[:100] or None
    filters = appraisal_queries.Filters(kind, org.id if org else None, job_title, stars)
    found: dict[str, Any] = {"rows": [], "distribution": appraisal_scheme.distribution([]), "count": 0}
    if month is not None:
        visible = appraisal.viewable_staff(session, principal)
        found = appraisal_queries.month_list(session, tenant_id, month, visible, filters, locale)
    chart = {
        "bands": _bands_labels(),
        "counts": found["distribution"],
        "label": translate(locale, N_("People")),
    }
    context = {
        "month": None if month is None else f"{month:%Y-%m}",
        "months": months,
        "rows": found["rows"],
        "count": found["count"],
        "kind": kind,
        "org": raw_org if org else "",
        "orgs": orgs,
        "stars": stars,
        "job_title": job_title or "",
        "kinds": [(code, translate(locale, label)) for code, label in KIND_LABELS.items()],
        "kind_labels": {code: translate(locale, label) for code, label in KIND_LABELS.items()},
        "may_compute": principal.can(Permission.MANAGE_APPRAISALS),
        "default_month": f"{_previous_month(session, tenant_id):%Y-%m}",
        "chart_json": _json(chart),
        "problem": problem,
    }
    return render(request, "people/appraisals.html", context, status_code=status, principal=principal)


@router.post("/people/appraisals/compute")
def compute_post(request: Request, principal: ManagerDep, session: TenantSession, data: forms.PostedForm) -> Response:
    token = data.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return _error(request, principal, 403)
    tenant_id = people_service.tenant_of(principal)
    try:
        with session.begin_nested():
            month = appraisal_scheme.parse_month(_text(data, "month", 16))
            appraisal.compute_month(session, tenant_id, month, principal)
    except Problem as exc:
        return _list_page(request, principal, session, forms.problem_for(request_locale(request), exc), exc.status)
    return RedirectResponse(f"/people/appraisals?month={month:%Y-%m}", status_code=303)


def _person_page(
    request: Request,
    principal: Principal,
    session: Any,
    code: str,
    own: bool = False,
    problem: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        staff = appraisal.staff_for_view(session, principal, code[:64])
    except Problem as exc:
        return _error(request, principal, exc.status, exc.message if exc.status == 403 else None)
    locale = request_locale(request)
    view = appraisal_queries.person_view(session, staff, _month(request.query_params.get("month")), locale)
    chart = {
        "months": view["trend"]["months"],
        "score": view["trend"]["score"],
        "peer_median": view["trend"]["peer_median"],
        "bands": _bands_labels(),
        "peers": view["peer_distribution"],
        "own_band": (
            None if not view["card"] or view["card"]["score"] is None
            else min(len(view["peer_distribution"]) - 1, int(view["card"]["score"] // appraisal_queries.BAND_WIDTH))
        ),
        "labels": {
            "score": translate(locale, N_("Score")),
            "peer_median": translate(locale, N_("Peers' median")),
            "peers": translate(locale, N_("People")),
        },
    }  # fmt: skip
    may_comment = (
        view["card"] is not None
        and principal.can(Permission.COMMENT_APPRAISALS)
        and not (staff.user_id is not None and staff.user_id == principal.user_id)
    )
    context = {
        **view,
        "own": own,
        "kind_label": translate(locale, KIND_LABELS.get(staff.kind, staff.kind)),
        "may_comment": may_comment,
        "chart_json": _json(chart),
        "problem": problem,
    }
    return render(request, "people/appraisal.html", context, status_code=status, principal=principal)


@router.get("/people/appraisals/{code}")
def person_page(code: str, request: Request, principal: OwnDep, session: TenantSession) -> HTMLResponse:
    return _person_page(request, principal, session, code)


@router.post("/people/appraisals/{code}/comment")
def comment_post(
    code: str, request: Request, principal: CommentDep, session: TenantSession, data: forms.PostedForm
) -> Response:
    token = data.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return _error(request, principal, 403)
    try:
        staff = appraisal.staff_for_view(session, principal, code[:64])
    except Problem as exc:
        return _error(request, principal, exc.status, exc.message if exc.status == 403 else None)
    raw_id = _text(data, "scorecard_id", 20)
    month = _text(data, "month", 16)
    try:
        with session.begin_nested():
            appraisal.comment(session, principal, int(raw_id) if raw_id.isdigit() else 0, _text(data, "comment"))
    except Problem as exc:
        problem = forms.problem_for(request_locale(request), exc)
        return _person_page(request, principal, session, staff.code, problem=problem, status=exc.status)
    return RedirectResponse(f"/people/appraisals/{staff.code}?month={month[:7]}#comment", status_code=303)


@router.get("/me/appraisal")
def my_page(request: Request, principal: OwnDep, session: TenantSession) -> HTMLResponse:
    tenant_id = people_service.tenant_of(principal)
    me = people_service.staff_for_user(session, tenant_id, principal.user_id) if principal.user_id else None
    if me is None:
        return _error(request, principal, 404)
    return _person_page(request, principal, session, me.code, own=True)
