"""The service-request pages (客户服务请求): the queue (/service-requests: nearest deadline first, filters, CSV/XLSX),
the staff intake form (/service-requests/new), one request (/service-requests/{number}: facts with the customer
masked, clocks, history, suggested knowledge-base articles with "use this answer" and "was this helpful", and the
reply, note, assign, wait/resume, resolve, close/reopen/cancel and escalate forms), the KPIs with normal time and
peak relief side by side (/service-requests/kpis) and the peak periods with the declare form
(/service-requests/peak).

"Use this answer" is a link (``?use=<article id>``): the page comes back with the article's published answer in the
reply box and the article's id in a hidden field, so the reply records it in ``articles_used`` — no script needed.

Every write is a CSRF-checked POST (a plain ``def`` reading :data:`forms.PostedForm`) whose service call runs in a
savepoint: a refusal rolls it back and the page comes back with the field named and what was typed kept."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.auth.repository import user_ids_by_username
from claimwatch.complaints import vocabulary as complaint_vocabulary
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.kb import repository as kb_repository
from claimwatch.kb import search as kb_search
from claimwatch.kb import service as kb_service
from claimwatch.servicedesk import categories, kpis, page_queries, peak, service
from claimwatch.servicedesk.models import ServiceRequest
from claimwatch.servicedesk.schemas import ServiceRequestIn
from claimwatch.tables import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text, xlsx_bytes
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_SERVICE_REQUESTS))]
HandlerDep = Annotated[Principal, Depends(require(Permission.HANDLE_SERVICE_REQUESTS))]
PeakDep = Annotated[Principal, Depends(require(Permission.MANAGE_PEAK_MODE))]
KbDep = Annotated[Principal, Depends(require(Permission.VIEW_KB))]
MAX_TEXT = 4000
SUGGESTIONS = 3
FIELD_LABELS: dict[str, str] = {
    "number": N_("Request number"),
    "channel": N_("Channel"),
    "category": N_("Category"),
    "priority": N_("Priority"),
    "subject": N_("Subject of the request"),
    "description": N_("Description"),
    "customer": N_("Customer"),
    "name": N_("Customer's name"),
    "phone": N_("Customer's phone"),
    "id_number": N_("ID number"),
    "email": N_("E-mail"),
    "policy_number": N_("Policy number"),
    "claim_number": N_("Claim number"),
    "org_code": N_("Org unit"),
    "external_ref": N_("External reference"),
    "received_at": N_("Received"),
    "status": N_("Status"),
    "team": N_("Team"),
    "handler": N_("Handler"),
    "username": N_("Handler"),
    "text": N_("Text"),
    "reason": N_("Reason"),
    "resolution_code": N_("Resolution code"),
    "note": N_("Note"),
    "article_id": N_("Article"),
    "articles_used": N_("Articles used"),
    "sub_cause": N_("Sub-cause"),
    "starts_at": N_("Starts"),
    "ends_at": N_("Ends"),
    "categories": N_("Categories"),
    "response_hours": N_("Response target in hours"),
    "period": N_("Peak period"),
    "month": N_("Month"),
    "page": N_("Page"),
    "form": N_("Form"),
}
FIELD_MESSAGES: dict[str, str] = {
    "status": N_("Not possible in the request's current state."),
    "resolution_code": N_("Choose how the request was resolved."),
    "reason": N_("Say why."),
    "text": N_("Write the text."),
    "ends_at": N_("Give an end after the start, within the allowed length of a peak period."),
    "starts_at": N_("A peak period starts now or later and does not overlap another one of the same categories."),
    "period": N_("This period overlaps another peak period."),
}
# h1's event kinds, and the two the clock sweep writes (servicedesk.jobs)
EVENT_LABELS: dict[str, str] = service.EVENT_LABELS | {
    "due_soon": N_("Reminder: deadline near"),
    "overdue": N_("Deadline passed"),
}
EXPORT_HEADER = (
    N_("Request number"),
    N_("Category"),
    N_("Priority"),
    N_("Subject of the request"),
    N_("Status"),
    N_("Team"),
    N_("Handler"),
    N_("Received"),
    N_("Due"),
    N_("Peak relief"),
)


def _text(form: FormData, name: str, limit: int = MAX_TEXT) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


def _csrf(request: Request, form: FormData) -> None:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden("form", "the form expired: reload the page")


def _own(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "service requests are an insurer's own")
    return principal.tenant_id


def _problem(locale: str, exc: Problem) -> dict[str, Any]:
    problem = forms.problem_for(locale, exc)
    if exc.field in FIELD_MESSAGES:
        problem["message"] = translate(locale, FIELD_MESSAGES[exc.field])
    return problem


def _catalogue(session: Session, tenant_id: int) -> categories.Catalogue:
    return categories.for_tenant(session, tenant_id)


def _labels(catalogue: categories.Catalogue, locale: str) -> dict[str, Any]:
    return {
        "field_labels": FIELD_LABELS,
        "event_labels": EVENT_LABELS,
        "status_labels": service.STATUS_LABELS,
        "channel_labels": service.CHANNEL_LABELS,
        "category_names": {code: c.label(locale) for code, c in catalogue.categories.items()},
        "priority_names": {code: p.label(locale) for code, p in catalogue.priorities.items()},
        "team_names": {code: t.label(locale) for code, t in catalogue.teams.items()},
    }


def _flag(value: str | None) -> bool:
    return value in ("1", "true", "on")


# --- the queue --------------------------------------------------------------------------------------------


def _filters(
    session: Session, request: Request, principal: Principal, catalogue: categories.Catalogue
) -> dict[str, Any]:
    params = request.query_params
    status = (params.get("status") or "open")[:24]
    if status not in page_queries.STATUS_FILTERS:
        raise Invalid("status", f"status must be one of {', '.join(page_queries.STATUS_FILTERS)}")
    category = (params.get("category") or "")[:32] or None
    if category and category not in catalogue.categories:
        raise Invalid("category", f"unknown category {category!r}")
    priority = (params.get("priority") or "")[:16] or None
    if priority and priority not in catalogue.priorities:
        raise Invalid("priority", f"unknown priority {priority!r}")
    team = (params.get("team") or "")[:32] or None
    if team and team not in catalogue.teams:
        raise Invalid("team", f"unknown team {team!r}")
    handler = (params.get("handler") or "")[:64] or None
    handler_id: int | None = None
    if _flag(params.get("mine")):
        handler_id = principal.user_id if principal.user_id is not None else -1
    elif handler:
        found = user_ids_by_username(session, _own(principal), {handler}).get(handler)
        if found is None:
            raise Invalid("handler", f"no user {handler!r}")
        handler_id = found
    try:
        page = max(1, min(10_000, int(params.get("page") or 1)))
    except ValueError:
        raise Invalid("page", "page must be a whole number") from None
    return {
        "status": status,
        "category": category,
        "priority": priority,
        "team": team,
        "handler_id": handler_id,
        "handler": handler or "",
        "mine": _flag(params.get("mine")),
        "unassigned": _flag(params.get("unassigned")),
        "overdue": _flag(params.get("overdue")),
        "peak": _flag(params.get("peak")),
        "page": page,
    }


def _query_args(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if k not in ("handler", "mine")}


_NO_FILTERS: dict[str, Any] = {"status": "open", "category": None, "priority": None, "team": None}
_NO_FILTERS |= {"handler_id": None, "handler": "", "mine": False, "unassigned": False, "overdue": False}
_NO_FILTERS |= {"peak": False, "page": 1}


@router.get("/service-requests")
def queue_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    """Requests nearest deadline first, filtered by status, category, priority, team, handler (or mine,
    unassigned), overdue and peak relief; a bad filter is a 422 naming it, with no rows."""
    tenant_id = _own(principal)
    locale = request_locale(request)
    catalogue = _catalogue(session, tenant_id)
    problem, status_code = None, 200
    try:
        filters = _filters(session, request, principal, catalogue)
        total, rows = page_queries.queue(session, tenant_id, **_query_args(filters))
    except Problem as exc:
        problem, status_code = _problem(locale, exc), exc.status
        filters, total, rows = dict(_NO_FILTERS), 0, []
    query = {k: v for k, v in request.query_params.items() if k not in ("page", "lang")}
    context = {
        "rows": rows,
        "total": total,
        "filters": filters,
        "problem": problem,
        "status_filters": page_queries.STATUS_FILTERS,
        "status_filter_labels": page_queries.STATUS_FILTER_LABELS,
        "more": filters["page"] * page_queries.PAGE_SIZE < total,
        "query": urlencode(query),
        "may_handle": principal.can(Permission.HANDLE_SERVICE_REQUESTS),
    } | _labels(catalogue, locale)
    zone = tenancy_service.tenant_zone(session, tenant_id)
    return render(request, "servicedesk/queue.html", context, status_code=status_code, principal=principal, zone=zone)


def _table(session: Session, request: Request, principal: Principal) -> tuple[list[str], list[list[Any]]]:
    tenant_id = _own(principal)
    locale = request_locale(request)
    catalogue = _catalogue(session, tenant_id)
    filters = _filters(session, request, principal, catalogue) | {"page": 1}
    _, rows = page_queries.queue(session, tenant_id, **_query_args(filters), limit=page_queries.EXPORT_LIMIT)
    zone = tenancy_service.tenant_zone(session, tenant_id)

    def local(value: dt.datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value is not None else ""

    header = [translate(locale, label) for label in EXPORT_HEADER]
    table = [
        [
            row["number"],
            catalogue.category_label(row["category"], locale),
            catalogue.priority_label(row["priority"], locale),
            row["subject"],
            translate(locale, service.STATUS_LABELS.get(row["status"], row["status"])),
            catalogue.team_label(row["team"], locale),
            row["handler"] or "",
            local(row["received_at"]),
            local(row["due_at"]),
            translate(locale, N_("Yes")) if row["peak"] else "",
        ]
        for row in rows
    ]
    return header, table


@router.get("/service-requests.csv")
def queue_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    header, rows = _table(session, request, principal)
    disposition = {"Content-Disposition": 'attachment; filename="service-requests.csv"'}
    return Response(csv_text(header, rows), media_type=CSV_MEDIA_TYPE, headers=disposition)


@router.get("/service-requests.xlsx")
def queue_xlsx(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    header, rows = _table(session, request, principal)
    sheet = translate(request_locale(request), N_("Service requests"))
    disposition = {"Content-Disposition": 'attachment; filename="service-requests.xlsx"'}
    return Response(xlsx_bytes([(sheet, header, rows)]), media_type=XLSX_MEDIA_TYPE, headers=disposition)


# --- the staff intake form --------------------------------------------------------------------------------

FORM_FIELDS: dict[str, int] = {
    "channel": 16,
    "category": 32,
    "priority": 16,
    "subject": 200,
    "description": MAX_TEXT,
    "name": 100,
    "phone": 32,
    "id_number": 32,
    "policy_number": 64,
    "claim_number": 64,
    "org_code": 32,
    "external_ref": 64,
}
STAFF_CHANNELS = ("phone", "staff", "wechat")


def form_body(values: dict[str, str]) -> dict[str, Any]:
    """The posted form as the intake schema's body (empty fields left out, so the schema's defaults apply)."""
    customer = {key: values[key] for key in ("name", "phone", "id_number") if values.get(key)}
    body: dict[str, Any] = {
        key: values[key]
        for key in ("channel", "category", "priority", "subject", "description", "policy_number", "claim_number")
        if values.get(key)
    }
    for key in ("org_code", "external_ref"):
        if values.get(key):
            body[key] = values[key]
    if customer:
        body["customer"] = customer
    return body


def _new_page(
    request: Request,
    principal: Principal,
    session: Session,
    values: dict[str, str] | None = None,
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tenant_id = _own(principal)
    catalogue = _catalogue(session, tenant_id)
    context = {
        "values": {"priority": "normal", "channel": "phone"} | (values or {}),
        "problem": problem,
        "channels": [c for c in STAFF_CHANNELS if c in service.CHANNELS],
    } | _labels(catalogue, request_locale(request))
    return render(request, "servicedesk/new.html", context, status_code=status_code, principal=principal)


@router.get("/service-requests/new")
def new_page(request: Request, principal: HandlerDep, session: TenantSession) -> HTMLResponse:
    return _new_page(request, principal, session)


@router.post("/service-requests/new")
def intake_form(request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm) -> Response:
    _own(principal)
    _csrf(request, form)
    locale = request_locale(request)
    values = {name: _text(form, name, limit) for name, limit in FORM_FIELDS.items()}
    try:
        data = ServiceRequestIn.model_validate(form_body(values))
    except ValidationError as exc:
        found = forms.validation_problems(exc, locale, skip=("body", "customer"))
        return _new_page(request, principal, session, values, next(iter(found.values())), 422)
    try:
        with session.begin_nested():
            created, _ = service.intake(session, principal, data, channel=values["channel"] or "staff")
            number = created.number
    except Problem as exc:
        return _new_page(request, principal, session, values, _problem(locale, exc), exc.status)
    return RedirectResponse(page_queries.request_url(number), status_code=303)


# --- KPIs and peak periods --------------------------------------------------------------------------------


@router.get("/service-requests/kpis")
def kpis_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    """The month's service KPIs with normal time and peak relief in separate columns, the whole tenant and per
    team, and the backlog by age: a breach in normal time is never hidden by peak relief."""
    tenant_id = _own(principal)
    locale = request_locale(request)
    zone = tenancy_service.tenant_zone(session, tenant_id)
    catalogue = _catalogue(session, tenant_id)
    now = utc_now()
    problem, status_code = None, 200
    try:
        year, month = kpis.parse_month((request.query_params.get("month") or "")[:7], zone, now)
    except Problem as exc:
        problem, status_code = _problem(locale, exc), exc.status
        year, month = kpis.parse_month(None, zone, now)
    whole = kpis.month_kpis(session, tenant_id, year, month, now=now)
    teams = kpis.team_kpis(session, tenant_id, year, month, now=now)
    context = {
        "month": f"{year:04d}-{month:02d}",
        "whole": whole.as_dict(),
        "teams": [(team, found.as_dict()) for team, found in sorted(teams.items())],
        "problem": problem,
    } | _labels(catalogue, locale)
    return render(request, "servicedesk/kpis.html", context, status_code=status_code, principal=principal, zone=zone)


def _local_datetime(value: str, zone: dt.tzinfo, field: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(field, "a date and time as YYYY-MM-DD HH:MM") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(dt.UTC)


def _peak_page(
    request: Request,
    principal: Principal,
    session: Session,
    values: dict[str, Any] | None = None,
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tenant_id = _own(principal)
    catalogue = _catalogue(session, tenant_id)
    zone = tenancy_service.tenant_zone(session, tenant_id)
    context = {
        "periods": page_queries.peak_periods(session, tenant_id),
        "may_manage": principal.can(Permission.MANAGE_PEAK_MODE),
        "values": {"response_hours": "36", "categories": []} | (values or {}),
        "problem": problem,
    } | _labels(catalogue, request_locale(request))
    return render(request, "servicedesk/peak.html", context, status_code=status_code, principal=principal, zone=zone)


@router.get("/service-requests/peak")
def peak_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _peak_page(request, principal, session)


@router.post("/service-requests/peak")
def declare_form(request: Request, principal: PeakDep, session: TenantSession, form: forms.PostedForm) -> Response:
    tenant_id = _own(principal)
    _csrf(request, form)
    values: dict[str, Any] = {name: _text(form, name, 2000) for name in ("starts_at", "ends_at", "reason")}
    values["response_hours"] = _text(form, "response_hours", 8)
    values["categories"] = [c[:32] for c in form.getlist("categories") if isinstance(c, str)][:50]
    zone = tenancy_service.tenant_zone(session, tenant_id)
    try:
        starts = _local_datetime(values["starts_at"], zone, "starts_at")
        if not values["ends_at"]:
            raise Invalid("ends_at", "a peak period needs its end")
        ends = _local_datetime(values["ends_at"], zone, "ends_at")
        try:
            hours = float(values["response_hours"] or 36)
        except ValueError:
            raise Invalid("response_hours", "a number of hours") from None
        with session.begin_nested():
            peak.declare(session, principal, starts, ends, values["categories"], values["reason"], response_hours=hours)
    except Problem as exc:
        return _peak_page(request, principal, session, values, _problem(request_locale(request), exc), exc.status)
    return RedirectResponse("/service-requests/peak", status_code=303)


@router.post("/service-requests/peak/{period_id}/end")
def end_form(
    period_id: int, request: Request, principal: PeakDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    _own(principal)
    _csrf(request, form)
    try:
        with session.begin_nested():
            peak.end_early(session, principal, period_id)
    except Problem as exc:
        if exc.status == 404:
            raise
        return _peak_page(request, principal, session, None, _problem(request_locale(request), exc), exc.status)
    return RedirectResponse("/service-requests/peak", status_code=303)


# --- one request ------------------------------------------------------------------------------------------


def _suggestions(session: Session, record: ServiceRequest, today: dt.date) -> list[dict[str, Any]]:
    """The knowledge-base articles h4's search suggests for the request's text (published, in force today)."""
    text = record.keywords or f"{record.subject} {record.description}"
    hits = kb_search.suggest(session, record.tenant_id, text, None, today, limit=SUGGESTIONS)
    return [{"id": h.article_id, "code": h.code, "title": h.title, "answer": h.answer} for h in hits]


def _use(request: Request, session: Session) -> dict[str, Any] | None:
    """The article of "use this answer" (``?use=<id>``) with its published answer, when it has one."""
    raw = request.query_params.get("use") or ""
    if not raw.isdigit() or len(raw) > 18:
        return None
    article = kb_repository.article_by_id(session, int(raw))
    if article is None or article.status != "published" or article.published_version_id is None:
        return None
    version = kb_repository.version_by_id(session, article.published_version_id)
    if version is None:
        return None
    return {"id": article.id, "code": article.code, "title": version.question, "answer": version.answer}


def _request_page(
    request: Request,
    principal: Principal,
    session: Session,
    number: str,
    values: dict[str, str] | None = None,
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tenant_id = _own(principal)
    locale = request_locale(request)
    record = service.get_request(session, number)
    catalogue = _catalogue(session, tenant_id)
    zone = tenancy_service.tenant_zone(session, tenant_id)
    view = page_queries.request_view(session, record)
    may_handle = principal.can(Permission.HANDLE_SERVICE_REQUESTS)
    may_kb = principal.can(Permission.VIEW_KB)
    is_open = record.status in page_queries.OPEN_STATUSES
    today = utc_now().astimezone(zone).date()
    suggestions = _suggestions(session, record, today) if may_kb and is_open else []
    used = _use(request, session) if may_handle and may_kb and is_open else None
    form_values = dict(values or {})
    if used is not None and "text" not in form_values:
        form_values |= {"text": used["answer"], "article_ids": str(used["id"])}
    category = catalogue.categories.get(record.category)
    codes = category.resolution_codes if category is not None else {}
    complaint_categories = complaint_vocabulary.categories()
    context = {
        "sr": view,
        "values": form_values,
        "problem": problem,
        "suggestions": suggestions,
        "used": used,
        "may_handle": may_handle,
        "may_kb": may_kb,
        "may_escalate": may_handle and principal.can(Permission.HANDLE_COMPLAINTS),
        "is_open": is_open,
        "resolution_codes": {code: item.label(locale) for code, item in codes.items()},
        "complaint_categories": {code: c.label(locale) for code, c in complaint_categories.items()},
        "resolution_label": catalogue.resolution_label(record.category, record.resolution_code, locale),
    } | _labels(catalogue, locale)
    return render(request, "servicedesk/request.html", context, status_code=status_code, principal=principal, zone=zone)


@router.get("/service-requests/{number}")
def request_page(number: str, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _request_page(request, principal, session, number[:32])


def _act(
    request: Request,
    principal: Principal,
    session: Session,
    number: str,
    form: FormData,
    fields: tuple[str, ...],
    call: Any,
) -> Response:
    """Run one service action in a savepoint; a refusal shows the page again with the field named."""
    _own(principal)
    _csrf(request, form)
    values = {name: _text(form, name) for name in fields}
    try:
        with session.begin_nested():
            call(values)
    except Problem as exc:
        if exc.status == 404 and exc.field == "number":
            raise
        problem = _problem(request_locale(request), exc)
        return _request_page(request, principal, session, number, values, problem, exc.status)
    return RedirectResponse(page_queries.request_url(number), status_code=303)


def _required(values: dict[str, str], name: str) -> str:
    if not values.get(name):
        raise Invalid(name, f"{name} is required")
    return values[name]


def _article_ids(raw: str) -> list[int]:
    return [int(part) for part in raw.replace(",", " ").split() if part.isdigit() and len(part) <= 18][:20]


@router.post("/service-requests/{number}/replies")
def reply_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    return _act(
        request,
        principal,
        session,
        number,
        form,
        ("text", "article_ids"),
        lambda v: service.reply(
            session, principal, number, _required(v, "text"), articles_used=_article_ids(v["article_ids"]) or None
        ),
    )


@router.post("/service-requests/{number}/notes")
def note_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    return _act(
        request,
        principal,
        session,
        number,
        form,
        ("note_text",),
        lambda v: service.note(session, principal, number, _required(v, "note_text")),
    )


@router.post("/service-requests/{number}/assign")
def assign_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    return _act(
        request,
        principal,
        session,
        number,
        form,
        ("team", "username"),
        lambda v: service.assign(session, principal, number, team=v["team"] or None, username=v["username"] or None),
    )


@router.post("/service-requests/{number}/take")
def take_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    username = principal.actor.removeprefix("user:")
    return _act(
        request,
        principal,
        session,
        number,
        form,
        (),
        lambda v: service.assign(session, principal, number, username=username),
    )


@router.post("/service-requests/{number}/wait")
def wait_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    return _act(
        request,
        principal,
        session,
        number,
        form,
        ("reason",),
        lambda v: service.wait_for_customer(session, principal, number, _required(v, "reason")),
    )


@router.post("/service-requests/{number}/resume")
def resume_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    return _act(request, principal, session, number, form, (), lambda v: service.resume(session, principal, number))


@router.post("/service-requests/{number}/resolve")
def resolve_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    return _act(
        request,
        principal,
        session,
        number,
        form,
        ("resolution_code", "note", "first_contact"),
        lambda v: service.resolve(
            session,
            principal,
            number,
            _required(v, "resolution_code"),
            note=v["note"] or None,
            first_contact_resolved=_flag(v["first_contact"]) if v["first_contact"] else None,
        ),
    )


@router.post("/service-requests/{number}/close")
def close_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    return _act(request, principal, session, number, form, (), lambda v: service.close(session, principal, number))


@router.post("/service-requests/{number}/reopen")
def reopen_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    return _act(
        request,
        principal,
        session,
        number,
        form,
        ("reason",),
        lambda v: service.reopen(session, principal, number, _required(v, "reason")),
    )


@router.post("/service-requests/{number}/cancel")
def cancel_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    return _act(
        request,
        principal,
        session,
        number,
        form,
        ("reason",),
        lambda v: service.cancel(session, principal, number, _required(v, "reason")),
    )


@router.post("/service-requests/{number}/escalate")
def escalate_form(
    number: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    number = number[:32]
    return _act(
        request,
        principal,
        session,
        number,
        form,
        ("complaint_category", "sub_cause"),
        lambda v: service.escalate_to_complaint(
            session, principal, number, _required(v, "complaint_category"), v["sub_cause"] or None
        ),
    )


@router.post("/service-requests/{number}/feedback")
def feedback_form(
    number: str, request: Request, principal: KbDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    """ "Was this helpful" on an article used or suggested on this request (h4's one answer per user and article)."""
    number = number[:32]

    def give(values: dict[str, str]) -> None:
        record = service.get_request(session, number)
        raw = values["article_id"]
        if not raw.isdigit() or len(raw) > 18:
            raise Invalid("article_id", "an article id")
        if values["helpful"] not in ("1", "0"):
            raise Invalid("helpful", "helpful is 1 or 0")
        kb_service.feedback(session, principal, int(raw), values["helpful"] == "1", request_id=record.id)

    answer = _act(request, principal, session, number, form, ("article_id", "helpful"), give)
    if isinstance(answer, RedirectResponse):
        answer.headers["location"] = f"{page_queries.request_url(quote(number))}?feedback=1#articles"
    return answer
