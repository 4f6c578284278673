"""The underwriting pages: the queue (/underwriting: nearest turnaround deadline first, filters, CSV/XLSX), a new
application (/underwriting/new, the staff form), the rule-set versions with the load form (/underwriting/rules), and
one case (/underwriting/{application_number}: facts, fired factors with points, clock, history, and the review form
with outcome and reasons).

Every write is a CSRF-checked POST (a plain ``def`` reading :data:`forms.PostedForm`) whose service call runs in a
savepoint: a refusal rolls it back and the page comes back with the field named and what was typed."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.policies import (
    sales_queries,
    underwriting,
    underwriting_queries,
    underwriting_repository,
    underwriting_rules,
)
from claimwatch.policies.underwriting_rules import LEVELS, OUTCOMES
from claimwatch.policies.underwriting_schemas import CHANNELS, ApplicationIn
from claimwatch.tables import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text, xlsx_bytes
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_UNDERWRITING))]
SubmitterDep = Annotated[Principal, Depends(require(Permission.SUBMIT_APPLICATIONS))]
DeciderDep = Annotated[Principal, Depends(require(Permission.DECIDE_UNDERWRITING))]
RulesDep = Annotated[Principal, Depends(require(Permission.MANAGE_UNDERWRITING_RULES))]
MAX_TEXT = 2000
EXPORT_LIMIT = 10_000
FIELD_LABELS: dict[str, str] = {
    "application_number": N_("Application number"),
    "product_code": N_("Product"),
    "line": N_("Line"),
    "channel": N_("Channel"),
    "agent": N_("Agent"),
    "agent_code": N_("Agent"),
    "org_code": N_("Org unit"),
    "sum_insured": N_("Sum insured"),
    "premium": N_("Premium"),
    "age": N_("Age"),
    "occupation_class": N_("Occupation class"),
    "bmi": N_("Body mass index"),
    "height_cm": N_("Height (cm)"),
    "weight_kg": N_("Weight (kg)"),
    "smoker": N_("Smoker"),
    "health": N_("Health declaration: answered yes"),
    "phone": N_("Applicant's phone"),
    "id_number": N_("ID number"),
    "outcome": N_("Outcome"),
    "reason": N_("Reason told to the applicant"),
    "review_reasons": N_("Underwriter's reasons"),
    "exclusions": N_("Exclusions"),
    "rate_up_pct": N_("Premium loading in per cent"),
    "username": N_("Underwriter"),
    "reviewer": N_("Underwriter"),
    "status": N_("Status"),
    "level": N_("Risk level"),
    "content": N_("Rules (YAML)"),
    "received_at": N_("Received"),
    "form": N_("Form"),
}
FIELD_MESSAGES: dict[str, str] = {
    "reason": N_("Say why: the applicant is told the reason of a decline, a premium loading or an exclusion."),
    "review_reasons": N_("Record your reasons for the decision."),
    "exclusions": N_("Name what is excluded, one per line."),
    "rate_up_pct": N_("Give the premium loading as a percentage above 0."),
    "agent": N_("No agent has this code."),
    "status": N_("Not possible in the application's current state."),
    "reviewer": N_("Another underwriter reviews this application."),
}
EVENT_LABELS: dict[str, str] = {
    "received": N_("Application received"),
    "assessed": N_("Assessed by the rules"),
    "review_requested": N_("Sent to manual review"),
    "assigned": N_("Underwriter assigned"),
    "decided": N_("Decided"),
    "notified": N_("Applicant told"),
    "reminded": N_("Reminder: turnaround due soon"),
    "escalated": N_("Escalated: turnaround passed"),
    "withdrawn": N_("Withdrawn"),
}
STATUS_FILTER_LABELS: dict[str, str] = {"open": N_("Open (received or in review)"), "all": N_("All")}
STATUS_FILTER_LABELS |= underwriting.STATUS_LABELS


def _text(form: FormData, name: str, limit: int = MAX_TEXT) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


def _csrf(request: Request, form: FormData) -> None:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden("form", "the form expired: reload the page")


def _own(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "underwriting is an insurer's own")
    return principal.tenant_id


def _problem(locale: str, exc: Problem) -> dict[str, Any]:
    problem = forms.problem_for(locale, exc)
    if exc.field in FIELD_MESSAGES:
        problem["message"] = translate(locale, FIELD_MESSAGES[exc.field])
    return problem


def _labels() -> dict[str, Any]:
    return {
        "field_labels": FIELD_LABELS,
        "event_labels": EVENT_LABELS,
        "status_labels": underwriting.STATUS_LABELS,
        "outcome_labels": underwriting.OUTCOME_LABELS,
        "level_labels": underwriting.LEVEL_LABELS,
        "channel_labels": sales_queries.CHANNEL_LABELS,
        "line_labels": sales_queries.LINE_LABELS,
    }


# --- the queue --------------------------------------------------------------------------------------------


def _filters(request: Request, principal: Principal) -> dict[str, Any]:
    params = request.query_params
    status = (params.get("status") or "open")[:16]
    if status not in underwriting_queries.STATUS_FILTERS:
        raise Invalid("status", f"status must be one of {', '.join(underwriting_queries.STATUS_FILTERS)}")
    level = (params.get("level") or "")[:8]
    if level and level not in LEVELS:
        raise Invalid("level", f"level must be one of {', '.join(LEVELS)}")
    try:
        page = max(1, min(10_000, int(params.get("page") or 1)))
    except ValueError:
        raise Invalid("page", "page must be a whole number") from None
    flag = ("1", "true", "on")
    return {
        "status": status,
        "level": level or None,
        "line": (params.get("line") or "")[:32] or None,
        "reviewer_id": principal.user_id if params.get("mine") in flag else None,
        "unassigned": params.get("unassigned") in flag,
        "overdue": params.get("overdue") in flag,
        "page": page,
    }


@router.get("/underwriting")
def queue_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    """Applications nearest turnaround deadline first, filtered by status, risk level, line, mine, unassigned and
    overdue; a bad filter is a 422 naming it, with no rows."""
    _own(principal)
    locale = request_locale(request)
    problem, status_code = None, 200
    try:
        filters = _filters(request, principal)
        total, rows = underwriting_queries.queue(session, **filters)
    except Problem as exc:
        problem, status_code = _problem(locale, exc), exc.status
        filters = {"status": "open", "level": None, "line": None, "reviewer_id": None, "page": 1}
        filters |= {"unassigned": False, "overdue": False}
        total, rows = 0, []
    query = {k: v for k, v in request.query_params.items() if k not in ("page", "format")}
    context = {
        "rows": rows,
        "total": total,
        "filters": filters,
        "mine": filters["reviewer_id"] is not None,
        "problem": problem,
        "levels": LEVELS,
        "status_filters": underwriting_queries.STATUS_FILTERS,
        "status_filter_labels": STATUS_FILTER_LABELS,
        "more": filters["page"] * underwriting_queries.PAGE_SIZE < total,
        "query": urlencode(query),
        "may_submit": principal.can(Permission.SUBMIT_APPLICATIONS),
        "may_manage_rules": principal.can(Permission.MANAGE_UNDERWRITING_RULES),
    } | _labels()
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(
        request, "policies/underwriting_queue.html", context, status_code=status_code, principal=principal, zone=zone
    )


def _table(session: Session, request: Request, principal: Principal) -> tuple[list[str], list[list[Any]]]:
    locale = request_locale(request)
    filters = _filters(request, principal) | {"page": 1}
    _, rows = underwriting_queries.queue(session, **filters, limit=EXPORT_LIMIT)
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    header = [
        translate(locale, label)
        for label in (
            N_("Application number"),
            N_("Product"),
            N_("Line"),
            N_("Status"),
            N_("Risk level"),
            N_("Points"),
            N_("Proposed outcome"),
            N_("Outcome"),
            N_("Underwriter"),
            N_("Received"),
            N_("Due"),
        )
    ]

    def local(value: Any) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value is not None else ""

    table = [
        [
            row["application_number"],
            row["product_code"],
            row["line"],
            translate(locale, underwriting.STATUS_LABELS.get(row["status"], row["status"])),
            translate(locale, underwriting.LEVEL_LABELS.get(row["risk_level"] or "", "")) if row["risk_level"] else "",
            row["risk_points"],
            underwriting.outcome_label(row["proposed_outcome"], locale),
            underwriting.outcome_label(row["outcome"], locale),
            row["reviewer"] or "",
            local(row["received_at"]),
            local(row["due_at"]),
        ]
        for row in rows
    ]
    return header, table


@router.get("/underwriting.csv")
def queue_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    _own(principal)
    header, rows = _table(session, request, principal)
    disposition = {"Content-Disposition": 'attachment; filename="underwriting.csv"'}
    return Response(csv_text(header, rows), media_type=CSV_MEDIA_TYPE, headers=disposition)


@router.get("/underwriting.xlsx")
def queue_xlsx(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    _own(principal)
    header, rows = _table(session, request, principal)
    sheet = translate(request_locale(request), N_("Underwriting"))
    disposition = {"Content-Disposition": 'attachment; filename="underwriting.xlsx"'}
    return Response(xlsx_bytes([(sheet, header, rows)]), media_type=XLSX_MEDIA_TYPE, headers=disposition)


# --- a new application ------------------------------------------------------------------------------------

_FORM_FIELDS: tuple[str, ...] = (
    "application_number",
    "product_code",
    "line",
    "channel",
    "agent_code",
    "org_code",
    "sum_insured",
    "premium",
    "age",
    "occupation_class",
    "height_cm",
    "weight_kg",
    "smoker",
    "health",
    "applicant_name",
    "phone",
)


def _new_page(
    request: Request,
    principal: Principal,
    values: dict[str, str] | None = None,
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"values": values or {}, "problem": problem, "channels": CHANNELS} | _labels()
    return render(request, "policies/underwriting_new.html", context, status_code=status_code, principal=principal)


@router.get("/underwriting/new")
def new_page(request: Request, principal: SubmitterDep) -> HTMLResponse:
    _own(principal)
    return _new_page(request, principal)


def _decimal(value: str) -> Decimal | str:
    try:
        return Decimal(value)
    except InvalidOperation:
        return value


def _application(values: dict[str, str]) -> dict[str, Any]:
    facts: dict[str, Any] = {"age": values.get("age") or None}
    for name in ("occupation_class", "height_cm", "weight_kg"):
        if values.get(name):
            facts[name] = values[name]
    if values.get("smoker"):
        facts["smoker"] = values["smoker"] == "1"
    answers = [part.strip() for part in values.get("health", "").replace("，", ",").split(",") if part.strip()]
    facts["health"] = dict.fromkeys(answers, True)
    applicant = {"name": values.get("applicant_name") or None, "phone": values.get("phone") or None}
    body: dict[str, Any] = {
        name: values.get(name) or None
        for name in ("application_number", "product_code", "line", "channel", "agent_code", "org_code")
    }
    body |= {"applicant": applicant, "facts": facts, "sum_insured": _decimal(values.get("sum_insured", ""))}
    if values.get("premium"):
        body["premium"] = _decimal(values["premium"])
    return body


@router.post("/underwriting/new")
def submit_form(request: Request, principal: SubmitterDep, session: TenantSession, form: forms.PostedForm) -> Response:
    _own(principal)
    _csrf(request, form)
    locale = request_locale(request)
    values = {name: _text(form, name, 200) for name in _FORM_FIELDS}
    try:
        data = ApplicationIn.model_validate(_application(values))
    except ValidationError as exc:
        found = forms.validation_problems(exc, locale, skip=("body", "facts", "applicant"))
        first = next(iter(found.values()))
        return _new_page(request, principal, values, first, 422)
    try:
        with session.begin_nested():
            case, _ = underwriting.submit(session, principal, data, source="form")
            number = case.application_number
    except Problem as exc:
        return _new_page(request, principal, values, _problem(locale, exc), exc.status)
    return RedirectResponse(underwriting_queries.case_url(number), status_code=303)


# --- rule-set versions ------------------------------------------------------------------------------------


def _rules_page(
    request: Request,
    principal: Principal,
    session: Session,
    content: str = "",
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = underwriting_queries.rule_set_views(session)
    current = None
    if rows:
        current = underwriting_rules.parsed(*_content(session, rows[0]["id"]))
    context = {
        "versions": rows,
        "current": current,
        "content": content,
        "problem": problem,
        "may_manage": principal.can(Permission.MANAGE_UNDERWRITING_RULES),
        "levels": LEVELS,
    } | _labels()
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(
        request, "policies/underwriting_rules.html", context, status_code=status_code, principal=principal, zone=zone
    )


def _content(session: Session, rule_set_id: int) -> tuple[str, str]:
    row = underwriting_repository.rule_set(session, rule_set_id)
    assert row is not None
    return row.content, f"version {row.version}"


@router.get("/underwriting/rules")
def rules_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    _own(principal)
    return _rules_page(request, principal, session)


@router.post("/underwriting/rules")
def load_rules_form(request: Request, principal: RulesDep, session: TenantSession, form: forms.PostedForm) -> Response:
    _own(principal)
    _csrf(request, form)
    content = _text(form, "content", 256 * 1024)
    try:
        with session.begin_nested():
            underwriting.load_rules(session, principal, content or None, "form")
    except Problem as exc:
        problem = forms.problem_for(request_locale(request), exc) | {"detail": exc.message}
        return _rules_page(request, principal, session, content, problem, exc.status)
    return RedirectResponse("/underwriting/rules", status_code=303)


# --- one case ---------------------------------------------------------------------------------------------


def _case_page(
    request: Request,
    principal: Principal,
    session: Session,
    number: str,
    values: dict[str, str] | None = None,
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    case = underwriting.get_case(session, number)
    view = underwriting_queries.case_view(session, case, locale)
    may_decide = (
        principal.can(Permission.DECIDE_UNDERWRITING)
        and case.status == "in_review"
        and (case.reviewer_id in (None, principal.user_id) or principal.can(Permission.MANAGE_ASSIGNMENT))
    )
    defaults = {
        "outcome": case.proposed_outcome or "accept",
        "exclusions": "\n".join(case.exclusions or []),
        "rate_up_pct": f"{case.rate_up_pct:g}" if case.rate_up_pct else "",
    }
    context = {
        "case": view,
        "values": defaults | (values or {}),
        "problem": problem,
        "outcomes": OUTCOMES,
        "may_decide": may_decide,
        "may_take": may_decide and case.reviewer_id is None and principal.user_id is not None,
        "may_withdraw": principal.can(Permission.SUBMIT_APPLICATIONS) and case.status in underwriting.OPEN,
    } | _labels()
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(
        request, "policies/underwriting_case.html", context, status_code=status_code, principal=principal, zone=zone
    )


@router.get("/underwriting/{number}")
def case_page(number: str, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    _own(principal)
    return _case_page(request, principal, session, number[:64])


@router.post("/underwriting/{number}/decision")
def decide_form(
    number: str, request: Request, principal: DeciderDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    _own(principal)
    _csrf(request, form)
    values = {name: _text(form, name) for name in ("outcome", "reason", "review_reasons", "exclusions", "rate_up_pct")}
    try:
        pct: float | None = None
        if values["rate_up_pct"]:
            try:
                pct = float(values["rate_up_pct"])
            except ValueError:
                raise Invalid("rate_up_pct", "a number") from None
        exclusions = [line.strip() for line in values["exclusions"].splitlines() if line.strip()]
        with session.begin_nested():
            underwriting.decide(
                session,
                principal,
                number[:64],
                outcome=values["outcome"],
                reason=values["reason"] or None,
                review_reasons=values["review_reasons"],
                exclusions=exclusions if values["outcome"] == "exclusion" else None,
                rate_up_pct=pct if values["outcome"] == "rate_up" else None,
            )
    except Problem as exc:
        if exc.status == 404:
            raise
        problem = _problem(request_locale(request), exc)
        return _case_page(request, principal, session, number[:64], values, problem, exc.status)
    return RedirectResponse(underwriting_queries.case_url(number), status_code=303)


@router.post("/underwriting/{number}/assign")
def assign_form(
    number: str, request: Request, principal: DeciderDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    _own(principal)
    _csrf(request, form)
    try:
        with session.begin_nested():
            underwriting.assign(session, principal, number[:64], _text(form, "username", 64) or None)
    except Problem as exc:
        if exc.status == 404:
            raise
        return _case_page(request, principal, session, number[:64], None, _problem(request_locale(request), exc), 409)
    return RedirectResponse(underwriting_queries.case_url(number), status_code=303)


@router.post("/underwriting/{number}/withdraw")
def withdraw_form(
    number: str, request: Request, principal: SubmitterDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    _own(principal)
    _csrf(request, form)
    try:
        with session.begin_nested():
            underwriting.withdraw(session, principal, number[:64], _text(form, "withdraw_reason"))
    except Problem as exc:
        if exc.status == 404:
            raise
        problem = _problem(request_locale(request), exc)
        return _case_page(request, principal, session, number[:64], None, problem, exc.status)
    return RedirectResponse(underwriting_queries.case_url(number), status_code=303)
