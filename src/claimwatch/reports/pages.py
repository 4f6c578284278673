"""The report pages: /reports (the stored versions by period, download links, a build form for a period and
one for a special report, prefilled from ``?kind=special_alert&subject_id=12`` so an alert, plan or action page
can link to it), /reports/{id} (the stored HTML itself, with a toolbar), /reports/{id}.pdf and .html
(downloads). Builds are CSRF-checked POSTs; a refusal comes back on the list page with the field named."""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape

from claimwatch import pdf
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid, Problem
from claimwatch.params import EARLIEST_YEAR, LATEST_YEAR, MAX_ROW_ID, RowId
from claimwatch.reports import builder, periods, service
from claimwatch.reports.models import KINDS, SPECIAL_KINDS, Report
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_REPORTS))]
BuilderDep = Annotated[Principal, Depends(require(Permission.BUILD_REPORTS))]

KIND_LABELS: dict[str, str] = {
    "quality": N_("Quality report"),
    "special_alert": N_("Special report: quality alert"),
    "special_plan": N_("Special report: inspection plan"),
    "special_action": N_("Special report: improvement action"),
}
# What a refused period says on the page, by PeriodProblem.code.
PERIOD_MESSAGES: dict[str, str] = {
    "format": N_("Enter a month as 2026-11 or a quarter as 2026Q4."),
    "month": N_("A month is 01 to 12."),
    "quarter": N_("A quarter is Q1, Q2, Q3 or Q4."),
    "years": forms.YEARS,
    "unfinished": N_("This period has not ended yet: a report covers a whole month or quarter."),
}
FIELD_MESSAGES: dict[str, str] = {
    "snapshot": N_("The KPI figures were taken before this period ended: refresh the KPI snapshot first."),
    "subject_id": N_("No such item at your company: check the number."),
    "kind": forms.CHOOSE,
    "locale": forms.CHOOSE,
}


def _error(request: Request, principal: Principal, status: int, message: str | None = None) -> HTMLResponse:
    context = {"status": status, "message": message}
    switch = "/reports" if request.method == "POST" else None
    return render(request, "reports/error.html", context, status_code=status, principal=principal, switch_path=switch)


def report_url(report_id: int, suffix: str = "") -> str:
    return f"/reports/{report_id}{suffix}"


def _problem(locale: str, exc: Problem) -> dict[str, Any]:
    code = getattr(exc, "code", None)
    if exc.field == "period" and code in PERIOD_MESSAGES:
        message = translate(locale, PERIOD_MESSAGES[code])
        if code == "years":
            message = message % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
        detail = exc.message if locale == "en" else None
        return {"field": "period", "message": message, "detail": detail}
    if exc.field in FIELD_MESSAGES:
        return {
            "field": exc.field,
            "message": translate(locale, FIELD_MESSAGES[exc.field]),
            "detail": exc.message if locale == "en" else None,
        }
    return forms.problem_for(locale, exc)


def _groups(reports: list[Report]) -> list[dict[str, Any]]:
    """Versions by series (newest version first), series by period (newest first), specials last."""
    series: OrderedDict[str, list[Report]] = OrderedDict()
    for report in sorted(reports, key=lambda r: (r.period or "", r.built_at), reverse=True):
        series.setdefault(report.series, []).append(report)
    return [
        {
            "title": versions[0].title,
            "kind": versions[0].kind,
            "period": versions[0].period,
            "subject_id": versions[0].subject_id,
            "versions": sorted(versions, key=lambda r: -r.version),
        }
        for versions in series.values()
    ]


def _list_page(
    request: Request,
    session: Any,
    principal: Principal,
    *,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    locale = request_locale(request)
    params = request.query_params
    period_filter = (params.get("period") or "")[:16]
    try:
        reports = service.listing(session, principal, period=period_filter or None)
    except Problem as exc:
        problem, status_code = problem or _problem(locale, exc), exc.status
        reports = service.listing(session, principal)
    groups = sorted(_groups(reports), key=lambda g: g["period"] or "", reverse=True)  # specials last
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    special_kind = params.get("kind") if params.get("kind") in SPECIAL_KINDS else ""
    subject = params.get("subject_id") or ""
    default_period = periods.last_finished(builder_today(zone)).label
    form_values = {
        "period": default_period,
        "locale": locale,
        "kind": special_kind or SPECIAL_KINDS[0],
        "subject_id": subject if subject.isdigit() else "",
    } | (values or {})
    context = {
        "groups": groups,
        "problem": problem,
        "values": form_values,
        "period_filter": period_filter,
        "may_build": principal.can(Permission.BUILD_REPORTS),
        "may_build_special": principal.can(Permission.BUILD_REPORTS) and not principal.is_regulator,
        "is_regulator": principal.is_regulator,
        "kind_labels": KIND_LABELS,
        "special_kinds": SPECIAL_KINDS,
        "special_focus": bool(special_kind),
    }
    return render(request, "reports/list.html", context, status_code=status_code, principal=principal, zone=zone)


def builder_today(zone: Any) -> Any:
    from claimwatch.db import utc_now

    return utc_now().astimezone(zone).date()


@router.get("/reports")
def reports_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _list_page(request, session, principal)


def _field(form: Any, name: str, limit: int = 32) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


@router.post("/reports/build")
def build_page(request: Request, principal: BuilderDep, session: TenantSession, form: forms.PostedForm) -> Response:
    """Build a quality report for a period (or, for a special report, ``kind`` and ``subject_id``)."""
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return _error(request, principal, 403)
    locale = request_locale(request)
    kind = _field(form, "kind") or "quality"
    period_text = _field(form, "period", 16)
    subject_text = _field(form, "subject_id", 20)
    report_locale = _field(form, "locale", 5) or locale
    values = {"period": period_text, "kind": kind, "subject_id": subject_text, "locale": report_locale}
    try:
        if kind not in KINDS:
            raise Invalid("kind", f"kind {kind!r}")
        period = None
        subject_id = None
        if kind == "quality":
            if not period_text:
                raise periods.PeriodProblem("format", "period is required")
            period = periods.parse(period_text)
        else:
            if not subject_text.isdigit() or not 0 < int(subject_text) <= MAX_ROW_ID:
                raise Invalid("subject_id", "subject_id must be a record id")
            subject_id = int(subject_text)
        if principal.is_regulator:
            with unit_of_work(TenantContext(tenant_id=None)) as writer:
                report = service.build(
                    writer, principal, tenant_id=None, kind=kind, period=period, locale=report_locale
                )
                report_id = report.id
        else:
            with session.begin_nested():
                report = service.build(
                    session,
                    principal,
                    tenant_id=principal.tenant_id,
                    kind=kind,
                    period=period,
                    subject_id=subject_id,
                    locale=report_locale,
                )
                report_id = report.id
    except Problem as exc:
        problem = _problem(locale, exc) | {"form": "special" if kind in SPECIAL_KINDS else "quality"}
        return _list_page(request, session, principal, status_code=exc.status, problem=problem, values=values)
    return RedirectResponse(report_url(report_id), status_code=303)


def _visible(request: Request, session: Any, principal: Principal, report_id: int) -> Report | Response:
    try:
        return service.visible(session, principal, report_id)
    except Problem as exc:
        return _error(request, principal, exc.status)


def _download(request: Request, session: Any, principal: Principal, report_id: int, which: str) -> Response:
    found = _visible(request, session, principal, report_id)
    if isinstance(found, Response):
        return found
    try:
        content = service.file_of(found, which)
    except Problem as exc:
        return _error(request, principal, exc.status, exc.message)
    media = pdf.PDF_MEDIA_TYPE if which == "pdf" else "text/html; charset=utf-8"
    headers = {
        "Content-Disposition": pdf.content_disposition(service.filename(found, which)),
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return Response(content, media_type=media, headers=headers)


# The downloads first: "/reports/{id}" would otherwise take "5.pdf" as its id.
@router.get("/reports/{report_id}.pdf")
def report_pdf(report_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    return _download(request, session, principal, report_id, "pdf")


@router.get("/reports/{report_id}.html")
def report_html_file(report_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    return _download(request, session, principal, report_id, "html")


TOOLBAR_STYLE = (
    "max-width:210mm;margin:0 auto;padding:.6rem 0 0;display:flex;gap:1rem;flex-wrap:wrap;font:14px sans-serif"
)


def _toolbar(locale: str, report: Report) -> str:
    """Links back and to the downloads, put in the stored HTML where it marks the toolbar (screen only)."""
    links = [
        ("/reports", translate(locale, N_("All reports"))),
        (report_url(report.id, ".pdf"), translate(locale, N_("Download PDF"))),
        (report_url(report.id, ".html"), translate(locale, N_("Download HTML"))),
    ]
    anchors = "".join(
        f'<a href="{escape(href)}" id="report-link-{i}" style="color:#1f4e79">{escape(text)}</a>'
        for i, (href, text) in enumerate(links)
        if href != report_url(report.id, ".pdf") or report.pdf_path
    )
    version = escape(translate(locale, N_("Version %(version)s")) % {"version": report.version})
    return f'<nav class="report-toolbar" style="{TOOLBAR_STYLE}">{anchors}<span>{version}</span></nav>'


@router.get("/reports/{report_id}")
def report_page(report_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    """The stored HTML as built (re-hashed first), shown in the browser with a toolbar; it is a document,
    not a page of the app: its own inline stylesheet, no scripts (a CSP of its own)."""
    found = _visible(request, session, principal, report_id)
    if isinstance(found, Response):
        return found
    try:
        content = service.file_of(found, "html").decode("utf-8")
    except Problem as exc:
        return _error(request, principal, exc.status, exc.message)
    content = content.replace(builder.TOOLBAR, _toolbar(request_locale(request), found), 1)
    response = HTMLResponse(content)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response
