"""The staff pages of provider tasks: sending a task from a claim (/claims/{number}/provider-tasks: the form is
also the claim page's panel), the queue (/provider-tasks: nearest deadline first, filters, CSV) and one task
(/provider-tasks/{number}: deadline and light, history, report fields and file, disputes raised and resolved,
cancel).

The queue is also where the third-party KPIs drill down to (the dashboard's links, /providers/performance): with
any of :data:`DRILL_PARAMS` it lists tasks of every status (unless ``status`` says otherwise), exactly the rows the
KPI counted; a malformed value is a 422 naming its field, with no rows (as the claim list).

Every write is a CSRF-checked POST (a plain ``def`` reading :data:`forms.PostedForm`) whose service call runs
in a savepoint: a refusal rolls it back and the page comes back with the field named and what was typed; a
success is committed before the redirect. A regulator reads the queue and its CSV (read-only, every insurer's
tasks or one's with ``tenant=CODE``: the regulator's dashboard drills there); the task pages and forms are an
insurer's own (task numbers are unique per insurer only), so a regulator's rows link to the claim instead."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch import pdf
from claimwatch.access import api as access_api
from claimwatch.access import service as access_service
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.errors import Invalid, NotFound, Problem
from claimwatch.materials import storage
from claimwatch.params import EARLIEST_YEAR, LATEST_YEAR, RowId
from claimwatch.providers import loader, page_queries, queries, task_service
from claimwatch.providers import service as provider_service
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, is_htmx, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_PROVIDERS))]
SenderDep = Annotated[Principal, Depends(require(Permission.SEND_PROVIDER_TASKS))]
ResolverDep = Annotated[Principal, Depends(require(Permission.RESOLVE_TASK_DISPUTES))]
MAX_TEXT = 4000
MAX_DOCUMENTS = 30
FIELD_LABELS: dict[str, str] = {
    "kind": N_("Task kind"),
    "task_kind": N_("Task kind"),
    "provider": N_("Provider"),
    "provider_code": N_("Provider"),
    "documents": N_("Documents"),
    "instructions": N_("Instructions"),
    "claim": N_("Claim"),
    "claim_number": N_("Claim"),
    "reason": N_("Reason"),
    "note": N_("Note"),
    "outcome": N_("Outcome"),
    "status": N_("Status"),
    "task": N_("Task"),
    "dispute_id": N_("Dispute"),
    "overdue": N_("Overdue"),
    "page": N_("Page"),
    "form": N_("Form"),
    "due_from": N_("Due from"),
    "due_to": N_("Due until"),
    "standard": N_("To standard"),
    "on_time": N_("On time"),
    "judged": N_("With a verdict"),
    "region": N_("Region"),
    "line": N_("Line"),
    "unit": N_("Org unit (itself only)"),
    "org": N_("Org unit"),
    "tenant": N_("Insurer"),
}
EVENT_LABELS: dict[str, str] = {
    "sent": N_("Sent to the provider"),
    "accepted": N_("Accepted by the provider"),
    "declined": N_("Declined by the provider"),
    "reminded": N_("Reminder sent"),
    "escalated": N_("Escalated: overdue"),
    "reported": N_("Report received"),
    "disputed": N_("Report disputed"),
    "dispute_resolved": N_("Dispute decided"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
DISPUTE_BY_LABELS: dict[str, str] = {"handler": N_("Handler"), "claimant": N_("Claimant")}
EXPORT_LIMIT = 10_000
FIELD_MESSAGES: dict[str, str] = {
    "kind": N_("Choose a task kind from the list."),
    "task_kind": N_("Choose a task kind from the list."),
    "provider": N_("Choose a provider from the list."),
    "provider_code": N_("Choose a provider from the list."),
    "claim": N_("The claim is closed: no task can be sent for it."),
    "claim_number": N_("The claim is closed: no task can be sent for it."),
    "reason": forms.REQUIRED,
    "note": N_("Say why: a note is required unless the dispute is withdrawn."),
    "status": N_("Not possible in the task's current state."),
    "dispute_id": N_("Not possible: the dispute is already decided."),
}
STATUS_FILTERS = ("open", "sent", "accepted", "declined", "reported", "disputed", "closed", "cancelled", "all")
STATUS_FILTER_LABELS: dict[str, str] = {
    "open": N_("Open (sent or accepted)"),
    "sent": N_("Sent"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "reported": N_("Report received"),
    "disputed": N_("Disputed"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
    "all": N_("All"),
}
# A KPI drill-down's filters (h4's links; queries.TaskDrill): any of them lists tasks of every status.
DRILL_PARAMS = ("due_from", "due_to", "standard", "on_time", "judged", "region", "line", "unit", "org", "tenant")
_FLAGS = {"1": True, "0": False}
_FLAG_LABELS = {"1": N_("Yes"), "0": N_("No")}
_DATE_MESSAGE = N_("Enter a date as YYYY-MM-DD.")
_RANGE_MESSAGE = N_("The end date is before the start date.")
_CHOICE_MESSAGE = N_("Choose one of the listed values.")
_ORG_MESSAGE = N_("Choose an org unit from the list.")
_SPLIT = re.compile(r"[,，、;；\n]+")


def _refusal_code(exc: Problem, provider_code: str, kind: str) -> str | None:
    """The register's refusal code of a provider refused by :func:`task_service.send_task`, from its message."""
    return next(
        (
            code
            for code, template in task_service.REFUSAL_MESSAGES.items()
            if exc.message == template.format(code=provider_code, kind=kind, reason=code)
        ),
        None,
    )


def _problem(locale: str, exc: Problem, action: str, refusal: str | None = None) -> dict[str, Any]:
    """The refusal as the page shows it: the register's reason for a refused provider, else the field's."""
    problem = forms.problem_for(locale, exc) | {"action": action}
    if refusal is not None:
        problem["message"] = provider_service.refusal_message(refusal, locale)
    elif exc.field in FIELD_MESSAGES:
        problem["message"] = translate(locale, FIELD_MESSAGES[exc.field])
    return problem


def _text(form: FormData, name: str, limit: int = MAX_TEXT) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


def _csrf_ok(request: Request, form: FormData) -> bool:
    token = form.get(CSRF_FIELD)
    return csrf_valid(request, token if isinstance(token, str) else None)


def _error(request: Request, principal: Principal, status: int) -> HTMLResponse:
    switch = "/provider-tasks" if request.method == "POST" else None
    return render(
        request,
        "providers/task_error.html",
        {"status": status},
        status_code=status,
        principal=principal,
        switch_path=switch,
    )


def _own(principal: Principal) -> None:
    """These pages are one insurer's: a regulator (cross-insurer, read-only) reads the statistics instead."""
    if principal.is_regulator:
        raise NotFound("task", "provider tasks are an insurer's own pages")


# --- sending a task from the claim ---------------------------------------------------------------------------


def _send_page(
    request: Request,
    session: Session,
    principal: Principal,
    number: str,
    kind: str | None,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    locale = request_locale(request)
    claim = cases_service.get_claim(session, number)
    if claim.closed_at is not None and problem is None:
        problem = _problem(locale, Invalid("claim", "the claim is closed"), "send")
        status_code = 409
    form = page_queries.send_form(session, claim, locale, kind, values)
    template = "providers/_task_send_form.html" if is_htmx(request) else "providers/task_send.html"
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(
        request,
        template,
        {"form": form, "problem": problem, "field_labels": FIELD_LABELS, "claim_url": f"/claims/{claim.number}"},
        status_code=status_code,
        principal=principal,
        switch_path=f"{form['refresh']}?kind={form['kind']}" if request.method == "POST" else None,
        zone=zone,
    )


@router.get("/claims/{number}/provider-tasks/new")
def send_form_page(number: str, request: Request, principal: SenderDep, session: TenantSession) -> HTMLResponse:
    """The send form for a kind (``?kind=``): the whole page, or the claim panel's form for htmx."""
    _own(principal)
    kind = (request.query_params.get("kind") or "")[:32] or None
    return _send_page(request, session, principal, number, kind)


def _documents(form: FormData) -> list[str]:
    chosen = [value.strip()[:200] for value in form.getlist("documents") if isinstance(value, str) and value.strip()]
    chosen += [d.strip()[:200] for d in _SPLIT.split(_text(form, "other_documents")) if d.strip()]
    return list(dict.fromkeys(chosen))[:MAX_DOCUMENTS]


@router.post("/claims/{number}/provider-tasks")
def send_task(
    number: str, request: Request, principal: SenderDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    _own(principal)
    if not _csrf_ok(request, form):
        return _error(request, principal, 403)
    locale = request_locale(request)
    kind = _text(form, "kind", 32)
    provider, documents, instructions = _text(form, "provider", 64), _documents(form), _text(form, "instructions")
    values: dict[str, Any] = {"provider": provider, "documents": documents, "instructions": instructions}
    try:
        if not kind:
            raise Invalid("kind", "kind is required")
        if not provider:
            raise Invalid("provider", "provider is required")
        with session.begin_nested():
            task = task_service.send_task(
                session,
                principal,
                claim_number=number,
                provider_code=provider,
                kind=kind,
                documents=documents,
                instructions=instructions or None,
            )
            task_number = task.number
    except Problem as exc:
        if exc.status == 404 and exc.field in ("number", "claim", "claim_number"):
            return _error(request, principal, 404)
        problem = _problem(locale, exc, "send", _refusal_code(exc, provider, kind))
        return _send_page(request, session, principal, number, kind, exc.status, problem, values)
    return RedirectResponse(page_queries.task_url(task_number), status_code=303)


# --- the queue ------------------------------------------------------------------------------------------------


class _BadFilter(Invalid):
    """A malformed queue filter: 422 naming it, with the message the page shows (a msgid)."""

    def __init__(self, field: str, msgid: str) -> None:
        super().__init__(field, f"{field}: {msgid}")
        self.msgid = msgid


def _day(raw: str, name: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise _BadFilter(name, _DATE_MESSAGE) from None
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise _BadFilter(name, _DATE_MESSAGE)
    return day


def _drill(params: Any, zone: Any, regulator: bool) -> tuple[queries.TaskDrill | None, dict[str, str]]:
    """The drill-down filters of the query string: :class:`queries.TaskDrill` (local days in ``zone`` as UTC
    bounds) and the values as given (kept by the form, the pager and the chips). ``tenant`` is a regulator's
    only; an insurer's staff see their own tasks whatever it says."""
    chosen: dict[str, str] = {}
    for name in DRILL_PARAMS:
        raw = (params.get(name) or "").strip()[:32]
        if raw and (name != "tenant" or regulator):
            chosen[name] = raw
    if not chosen:
        return None, chosen
    days = {name: _day(chosen[name], name) for name in ("due_from", "due_to") if name in chosen}
    if "due_from" in days and "due_to" in days and days["due_to"] < days["due_from"]:
        raise _BadFilter("due_to", _RANGE_MESSAGE)
    flags: dict[str, bool] = {}
    for name in ("standard", "on_time", "judged"):
        if name in chosen:
            if chosen[name] not in _FLAGS:
                raise _BadFilter(name, _CHOICE_MESSAGE)
            flags[name] = _FLAGS[chosen[name]]
    units: dict[str, int] = {}
    for name in ("unit", "org"):
        if name in chosen:
            if not chosen[name].isdigit() or len(chosen[name]) > 18:
                raise _BadFilter(name, _ORG_MESSAGE)
            units[name] = int(chosen[name])

    def bound(day: dt.date | None) -> dt.datetime | None:
        return None if day is None else dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)

    until = days.get("due_to")
    drill = queries.TaskDrill(
        due_from=bound(days.get("due_from")),
        due_until=bound(until + dt.timedelta(days=1) if until is not None else None),
        standard=flags.get("standard"),
        on_time=flags.get("on_time"),
        judged=flags.get("judged"),
        region=chosen.get("region"),
        line=chosen.get("line"),
        unit=units.get("unit"),
        org=units.get("org"),
        tenant=chosen.get("tenant"),
    )
    return drill, chosen


def _filters(request: Request, zone: Any, regulator: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The queue's filters (the keyword arguments of :func:`queries.open_tasks`) and the drill-down's values
    as given. Plain queue: open tasks; with a drill-down filter: every status unless ``status`` is given."""
    params = request.query_params
    try:
        page = max(1, int(params.get("page") or 1))
    except ValueError:
        raise Invalid("page", "page must be a whole number") from None
    drill, chosen = _drill(params, zone, regulator)
    status = (params.get("status") or ("all" if chosen else "open"))[:16]
    if status not in STATUS_FILTERS:
        raise Invalid("status", f"status must be one of {', '.join(STATUS_FILTERS)}")
    filters = {
        "provider": (params.get("provider") or "")[:64] or None,
        "kind": (params.get("kind") or "")[:32] or None,
        "status": status,
        "overdue": params.get("overdue") in ("1", "true", "on"),
        "drill": drill,
        "page": page,
    }
    return filters, chosen


def _filter_problem(locale: str, exc: Problem) -> dict[str, Any]:
    problem = _problem(locale, exc, "filter")
    if isinstance(exc, _BadFilter):
        problem["message"] = translate(locale, exc.msgid)
    return problem


def _queue_zone(session: Session, principal: Principal) -> Any:
    """Dates are the reader's local days: the insurer's zone, the platform's for a regulator (as the claim list)."""
    return tenancy_service.tenant_zone(session, principal.tenant_id)


def _kinds(session: Session, principal: Principal, locale: str) -> list[dict[str, str]]:
    if principal.tenant_id is None:
        return [{"code": code, "label": k.name(locale)} for code, k in loader.base_catalogue().kinds.items()]
    return page_queries.kind_choices(session, principal.tenant_id, locale)


def _chips(filters: dict[str, Any], chosen: dict[str, str], locale: str) -> list[tuple[str, str, str]]:
    """The drill-down's filters as removable chips: (label, value, the queue without it)."""
    chips = []
    for name, value in chosen.items():
        shown = translate(locale, _FLAG_LABELS[value]) if name in ("standard", "on_time", "judged") else value
        rest = {k: v for k, v in chosen.items() if k != name}
        chips.append((translate(locale, FIELD_LABELS[name]), shown, _page_url(filters, rest, 1)))
    return chips


@router.get("/provider-tasks")
def queue_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    """Open tasks nearest deadline first (h2's :func:`queries.open_tasks`), filtered by provider, kind, status
    and overdue, or a KPI's drill-down (:data:`DRILL_PARAMS`, tasks of any status); a bad filter is a 422
    naming it, with no rows."""
    locale = request_locale(request)
    zone = _queue_zone(session, principal)
    problem, status_code = None, 200
    chosen: dict[str, str] = {}
    try:
        filters, chosen = _filters(request, zone, principal.is_regulator)
        total, rows = queries.open_tasks(session, locale=locale, **filters)
    except Problem as exc:
        problem, status_code = _filter_problem(locale, exc), exc.status
        kept = {name: (request.query_params.get(name) or "")[:64] or None for name in ("provider", "kind")}
        filters = kept | {"status": (request.query_params.get("status") or "")[:16], "overdue": False, "page": 1}
        total, rows = 0, []
    tenant_codes = {t.id: t.code for t in tenancy_service.tenant_labels(session)} if principal.is_regulator else {}
    context = {
        "queue": {"total": total, "rows": rows, "more": filters["page"] * queries.PAGE_SIZE < total},
        "filters": filters,
        "drill": chosen,
        "chips": _chips(filters, chosen, locale),
        "problem": problem,
        "field_labels": FIELD_LABELS,
        "status_filters": STATUS_FILTERS,
        "status_filter_labels": STATUS_FILTER_LABELS,
        "page_url": lambda n: _page_url(filters, chosen, n),
        "kinds": _kinds(session, principal, locale),
        "regulator": principal.is_regulator,
        "tenant_codes": tenant_codes,
        "csv_url": f"/provider-tasks.csv?{request.url.query}" if request.url.query else "/provider-tasks.csv",
    }
    return render(
        request, "providers/task_queue.html", context, status_code=status_code, principal=principal, zone=zone
    )


def _page_url(filters: dict[str, Any], chosen: dict[str, str], page: int) -> str:
    kept = {k: v for k, v in filters.items() if v and k in ("provider", "kind", "status")}
    if filters.get("overdue"):
        kept["overdue"] = "1"
    return f"/provider-tasks?{urlencode(kept | chosen | {'page': page})}"


CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("number", N_("Task")),
    ("claim_number", N_("Claim")),
    ("kind_label", N_("Task kind")),
    ("provider_name", N_("Provider")),
    ("status_label", N_("Status")),
    ("sent_at", N_("Sent at")),
    ("due_at", N_("Due")),
    ("reported_at", N_("Report received")),
    ("light", N_("Light")),
)


@router.get("/provider-tasks.csv")
def queue_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    """Every task the queue's filters match (all pages, drill-down included), headers in the reader's language,
    local times; a regulator's file names each task's insurer first. A bad filter: 422 naming it."""
    locale = request_locale(request)
    zone = _queue_zone(session, principal)
    filters, _chosen = _filters(request, zone, principal.is_regulator)
    _total, rows = queries.open_tasks(session, locale=locale, page_size=EXPORT_LIMIT, **(filters | {"page": 1}))
    columns = CSV_COLUMNS
    tenant_ids: list[int | None] = [principal.tenant_id]
    if principal.is_regulator:
        codes = {t.id: t.code for t in tenancy_service.tenant_labels(session)}
        rows = [row | {"tenant_code": codes.get(row["tenant_id"], "")} for row in rows]
        columns = (("tenant_code", N_("Insurer")), *CSV_COLUMNS)
        tenant_ids = sorted({row["tenant_id"] for row in rows})
    # Claim numbers with dates: recorded in each insurer's access log, as the claim list's export.
    ref = f"provider-tasks.csv {request.url.query}".strip()
    access_api.record_view(session, principal, tenant_ids, access_service.EXPORT, ref, "provider_tasks_export")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([translate(locale, label) for _, label in columns])
    for row in rows:
        writer.writerow([_cell(row.get(key), zone) for key, _ in columns])
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="provider-tasks.csv"'},
    )


def _cell(value: Any, zone: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "astimezone"):
        return str(value.astimezone(zone).strftime("%Y-%m-%d %H:%M"))
    return str(value)


# --- one task -------------------------------------------------------------------------------------------------


def _task_page(
    request: Request,
    session: Session,
    principal: Principal,
    number: str,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    locale = request_locale(request)
    try:
        task = task_service.get_task(session, number)
    except NotFound:
        return _error(request, principal, 404)
    view = queries.task_view(session, task, locale)
    for event in view["events"]:
        event["action_label"] = translate(locale, EVENT_LABELS.get(event["action"], event["action"]))
    for dispute in view["disputes"]:
        dispute["raised_by_label"] = translate(locale, DISPUTE_BY_LABELS.get(dispute["raised_by_kind"], ""))
    context = {
        "t": view,
        "provider_url": provider_service.provider_url(view["provider_code"]) if view["provider_code"] else None,
        "task_number": task.number,
        "claim_url": f"/claims/{view['claim_number']}",
        "problem": problem,
        "values": values or {},
        "field_labels": FIELD_LABELS,
        "outcomes": [(code, task_service.OUTCOME_LABELS[code]) for code in task_service.OUTCOMES],
        "may_send": principal.can(Permission.SEND_PROVIDER_TASKS),
        "may_resolve": principal.can(Permission.RESOLVE_TASK_DISPUTES),
        "report_url": f"{page_queries.task_url(task.number)}/report" if task.report_storage_key else None,
    }
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(
        request,
        "providers/task.html",
        context,
        status_code=status_code,
        principal=principal,
        switch_path=page_queries.task_url(task.number) if request.method == "POST" else None,
        zone=zone,
    )


@router.get("/provider-tasks/{number}")
def task_page(number: str, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    _own(principal)
    return _task_page(request, session, principal, number)


@router.get("/provider-tasks/{number}/report")
def report_file(number: str, request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    """The provider's report file as uploaded (its SHA-256 is on the page and in the audit chain)."""
    _own(principal)
    try:
        task = task_service.get_task(session, number)
    except NotFound:
        return _error(request, principal, 404)
    path = storage.documents_root() / task.report_storage_key if task.report_storage_key else None
    if path is None or not path.exists():
        return _error(request, principal, 404)
    return FileResponse(
        path,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": pdf.content_disposition(task.report_filename or f"{task.number}.pdf"),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _act(
    request: Request,
    session: Session,
    principal: Principal,
    number: str,
    form: FormData,
    action: str,
    field: str,
    call: Any,
) -> Response:
    """One staff action on a task: CSRF, the service call (which checks the text) in a savepoint; a refusal
    comes back on the task page with the field named and the text kept."""
    if not _csrf_ok(request, form):
        return _error(request, principal, 403)
    text = _text(form, field)
    locale = request_locale(request)
    try:
        with session.begin_nested():
            call(text)
    except Problem as exc:
        if exc.status == 404 and exc.field in ("task", "number", "task_number", "dispute_id"):
            return _error(request, principal, 404)
        problem = _problem(locale, exc, action)
        return _task_page(request, session, principal, number, exc.status, problem, {field: text})
    return RedirectResponse(f"{page_queries.task_url(number)}#{action}", status_code=303)


@router.post("/provider-tasks/{number}/cancel")
def cancel(
    number: str, request: Request, principal: SenderDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    _own(principal)
    return _act(
        request,
        session,
        principal,
        number,
        form,
        "cancel",
        "reason",
        lambda reason: task_service.cancel_task(session, principal, number, reason),
    )


@router.post("/provider-tasks/{number}/disputes")
def raise_dispute(
    number: str, request: Request, principal: SenderDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    """The handler's dispute on the report (the claimant raises theirs on the lookup page)."""
    _own(principal)
    return _act(
        request,
        session,
        principal,
        number,
        form,
        "disputes",
        "reason",
        lambda reason: task_service.raise_dispute(session, principal.actor, number, by_kind="handler", reason=reason),
    )


@router.post("/provider-tasks/{number}/disputes/{dispute_id}/resolve")
def resolve_dispute(
    number: str,
    dispute_id: RowId,
    request: Request,
    principal: ResolverDep,
    session: TenantSession,
    form: forms.PostedForm,
) -> Response:
    _own(principal)
    outcome = _text(form, "outcome", 16)

    def call(note: str) -> None:
        task = task_service.get_task(session, number)
        if task_service.get_dispute(session, dispute_id).task_id != task.id:
            raise NotFound("dispute_id", f"no dispute {dispute_id} on task {number}")
        task_service.resolve_dispute(session, principal, dispute_id, outcome, note or None)

    return _act(request, session, principal, number, form, "disputes", "note", call)
