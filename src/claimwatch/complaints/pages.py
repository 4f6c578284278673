"""The complaint pages: the queue by deadline (/complaints, HTMX filters), the staff intake form
(/complaints/new), a complaint with its clocks, history, messages, letter and action forms
(/complaints/{number}), the CSV import (/complaints/import) and keyword trends (/complaints/keywords; the
JSON is in :mod:`claimwatch.complaints.api`).

Routes stay thin: they read the form or query, call the services and :mod:`claimwatch.complaints.queries`,
and render. Each request is one transaction (``TenantSession``). Every action is a CSRF-checked POST whose
write runs in a savepoint: a refusal rolls the savepoint back and comes back as the page with the field
named; a success is committed before the redirect, so the page that follows shows it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch.access import api as access_api
from claimwatch.access import service as access_service
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints import importer, intake, keywords, labels, queries, schemas, service
from claimwatch.complaints.vocabulary import (
    MAJOR_REASON_LABELS,
    MAJOR_REASONS,
    OUTCOME_LABELS,
    OUTCOMES,
    REVIEW_OUTCOME_LABELS,
    REVIEW_OUTCOMES,
    ComplaintError,
    categories,
)
from claimwatch.db import utc_now
from claimwatch.errors import Invalid, Problem
from claimwatch.params import CHECK_DIGITS, EARLIEST_YEAR, LATEST_YEAR
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web import labels as web_labels
from claimwatch.web.i18n import N_
from claimwatch.web.pages import PageRoute, is_htmx, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_COMPLAINTS))]
HandlerDep = Annotated[Principal, Depends(require(Permission.HANDLE_COMPLAINTS))]

MAX_TEXT = 4000
MAX_DESCRIPTION = 20000
ACTIONS = frozenset(labels.ACTION_TITLES)
# Which form field each action's text goes to (the service names it so in its errors).
ACTION_TEXT_FIELD: dict[str, str] = {
    "accept": "note",
    "note": "note",
    "complex": "reason",
    "extend": "reason",
    "appraisal-start": "reason",
    "appraisal-end": "reason",
    "new-facts": "note",
    "withdraw": "reason",
    "review-request": "note",
    "review-decision": "note",
    "close": "note",
    "major": "reason",
}
OPTIONAL_TEXT = frozenset({"accept", "close"})
# Fields a refusal may name that labels.FIELD_LABELS does not (so no code shows on the page).
MORE_FIELD_LABELS: dict[str, str] = {
    "major_reasons": N_("Why it is major"),
    "provider_code": N_("Third party (provider code)"),
    "notice_by_post": N_("No phone or email: the notice was sent by post"),
    "action": N_("Action"),
    "form": N_("Form"),
}


class FormProblem(Invalid):
    """A form value the page itself refuses before calling the service (422, field named); ``code`` says
    why, for the message the page shows beside the field (:mod:`claimwatch.web.forms`)."""

    def __init__(self, field: str, message: str, code: str | None = None) -> None:
        super().__init__(field, message)
        self.code = code


def _zone(session: Session, principal: Principal) -> ZoneInfo:
    """Times are typed and shown in the caller's insurer's local time (a regulator's: the platform's)."""
    return tenancy_service.tenant_zone(session, principal.tenant_id)


def local_input(value: str | None, name: str, zone: dt.tzinfo) -> dt.datetime | None:
    """A ``datetime-local`` field (local wall time in ``zone``, no offset) as an aware UTC datetime."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise FormProblem(name, f"{name}: not a date and time ({value!r})", "datetime_parsing") from None
    if not EARLIEST_YEAR < parsed.year < LATEST_YEAR:  # the calendar's ends overflow when shifted to UTC
        raise FormProblem(name, f"{name}: a time in the years {EARLIEST_YEAR}–{LATEST_YEAR}", "years")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(dt.UTC)


def local_input_value(value: dt.datetime | None, zone: dt.tzinfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""


def problem_of(exc: Problem, locale: str) -> dict[str, Any]:
    """A refusal as the page shows it beside the field, in the page's language (claimwatch.web.forms)."""
    if isinstance(exc, FormProblem):
        if exc.code == "years":
            return forms.problem_for(locale, exc) | {"detail": None}  # the page's own words: no detail
        return forms.field_problem(locale, exc.field, exc.code)
    return forms.problem_for(locale, exc)


def validation_problems(error: ValidationError, locale: str) -> dict[str, dict[str, Any]]:
    """Pydantic's errors by form field, translated (``complainant.phone`` is the form's ``phone``)."""
    return forms.validation_problems(error, locale, skip=("body", "complainant"))


def _not_found(request: Request, principal: Principal, status_code: int = 404) -> HTMLResponse:
    switch = "/complaints" if request.method == "POST" else None
    context = {"status": status_code}
    return render(
        request, "complaints/error.html", context, status_code=status_code, principal=principal, switch_path=switch
    )


# -- the queue ---------------------------------------------------------------------------------------------


@router.get("/complaints")
def complaint_queue(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    query = queries.QueueQuery.from_params(request.query_params)
    view = queries.queue_page(session, principal, query, request_locale(request))
    zone = _zone(session, principal)
    if not is_htmx(request):
        return render(request, "complaints/queue.html", {"view": view}, principal=principal, zone=zone)
    response = render(request, "complaints/queue_fragment.html", {"view": view}, principal=principal, zone=zone)
    response.headers["HX-Push-Url"] = query.url()  # the address bar shows the filters chosen
    return response


# -- intake ------------------------------------------------------------------------------------------------

INTAKE_FIELDS = (
    "channel",
    "received_at",
    "external_ref",
    "regulator_received_at",
    "claim_number",
    "region_code",
    "name",
    "phone",
    "id_number",
    "email",
    "address",
    "category",
    "sub_cause",
    "provider_code",
    "subject",
    "description",
    "complex_reason",
)
SHOWN_BY_FIELD = frozenset({*INTAKE_FIELDS, "complainant", "major_reasons", "form"})


@dataclass
class IntakeForm:
    """The staff intake form's values, as typed (kept when the form comes back with an error)."""

    values: dict[str, str] = field(default_factory=dict)
    major_reasons: list[str] = field(default_factory=list)
    complex: bool = False

    @classmethod
    def blank(cls, zone: dt.tzinfo) -> IntakeForm:
        return cls(values={"channel": "hotline", "received_at": local_input_value(utc_now(), zone)})

    @classmethod
    def from_form(cls, form: FormData) -> IntakeForm:
        values = {}
        for name in INTAKE_FIELDS:
            raw = form.get(name)
            text = raw if isinstance(raw, str) else ""
            limit = MAX_DESCRIPTION if name == "description" else MAX_TEXT
            values[name] = text.strip()[:limit]
        reasons = [r for r in form.getlist("major_reasons") if isinstance(r, str)][:8]
        return cls(values=values, major_reasons=reasons, complex=form.get("complex") == "1")

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def _optional(self, name: str) -> str | None:
        return self.values.get(name) or None

    def complex_reason(self) -> str | None:
        """The reason when the form marks the complaint complex at intake (required then)."""
        if not self.complex:
            return None
        if not self.values.get("complex_reason"):
            raise FormProblem("complex_reason", "complex_reason: say why the complaint is complex", "missing")
        return self.values["complex_reason"]

    def to_schema(self, zone: dt.tzinfo) -> schemas.ComplaintIn:
        """The service's input. Raises ``ValidationError`` (shapes) or :class:`FormProblem`."""
        received_at = local_input(self.values.get("received_at"), "received_at", zone)
        regulator_received_at = local_input(self.values.get("regulator_received_at"), "regulator_received_at", zone)
        self.complex_reason()
        # A person typing: an ID number's check digit is checked too (params.CHECK_DIGITS).
        return schemas.ComplaintIn.model_validate(
            {
                "channel": self.values.get("channel", ""),
                "received_at": received_at,
                "external_ref": self._optional("external_ref"),
                "regulator_received_at": regulator_received_at,
                "claim_number": self._optional("claim_number"),
                "region_code": self._optional("region_code"),
                "complainant": {
                    "name": self._optional("name"),
                    "phone": self._optional("phone"),
                    "id_number": self._optional("id_number"),
                    "email": self._optional("email"),
                    "address": self._optional("address"),
                },
                "category": self.values.get("category", ""),
                "sub_cause": self._optional("sub_cause"),
                "provider_code": self._optional("provider_code"),
                "subject": self.values.get("subject", ""),
                "description": self.values.get("description", ""),
                "major_reasons": self.major_reasons,
            },
            context={CHECK_DIGITS: True},
        )


def sub_cause_groups(category: str | None, locale: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The sub-causes of the chosen category; before one is chosen, every category's (grouped), so the
    form works without scripts too (the service checks that the sub-cause belongs to the category)."""
    known = categories()
    chosen = [known[category]] if category in known else list(known.values())
    return [
        (
            "" if len(chosen) == 1 else found.label(locale),
            [(c, cause.label(locale)) for c, cause in found.sub_causes.items()],
        )
        for found in chosen
    ]


def intake_context(form: IntakeForm, errors: dict[str, dict[str, Any]], locale: str) -> dict[str, Any]:
    return {
        "form": form,
        "errors": errors,
        # A refusal about something the form has no field for (the role, the tenant) is shown at the top.
        "other_errors": [error for name, error in errors.items() if name not in SHOWN_BY_FIELD],
        "channel_options": queries.channel_options(locale),
        "category_options": queries.category_options(locale),
        "sub_cause_groups": sub_cause_groups(form.value("category"), locale),
        "major_options": queries.options(MAJOR_REASON_LABELS, MAJOR_REASONS, locale),
        "region_options": queries.region_options(locale),
    }


@router.get("/complaints/new")
def intake_page(request: Request, principal: HandlerDep, session: TenantSession) -> HTMLResponse:
    form = IntakeForm.blank(_zone(session, principal))
    context = intake_context(form, {}, request_locale(request))
    return render(request, "complaints/new.html", context, principal=principal)


@router.get("/complaints/sub-causes")
def sub_causes(request: Request, principal: HandlerDep, category: str = "") -> HTMLResponse:
    """The sub-cause select for a category (the intake form swaps it in when the category changes)."""
    groups = sub_cause_groups(category[:24], request_locale(request))
    context = {"sub_cause_groups": groups, "form": IntakeForm(), "errors": {}}
    return render(request, "complaints/_sub_causes.html", context, principal=principal)


@router.post("/complaints/new")
def intake_post(
    request: Request, principal: HandlerDep, session: TenantSession, form_data: forms.PostedForm
) -> Response:
    locale = request_locale(request)
    form = IntakeForm.from_form(form_data)
    token = form_data.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        expired = {"form": forms.field_problem(locale, "form", "csrf")}
        context = intake_context(form, expired, locale)
        return render(request, "complaints/new.html", context, status_code=403, principal=principal)
    errors: dict[str, dict[str, Any]] = {}
    status = 422
    try:
        data = form.to_schema(_zone(session, principal))
        with session.begin_nested():
            complaint = intake.create_complaint(session, principal, data, complex_reason=form.complex_reason())
    except ValidationError as exc:
        errors = validation_problems(exc, locale)
    except Problem as exc:
        errors, status = {exc.field: problem_of(exc, locale)}, exc.status
    else:
        return RedirectResponse(queries.complaint_url(complaint.number), status_code=303)
    context = intake_context(form, errors, locale)
    return render(request, "complaints/new.html", context, status_code=status, principal=principal)


# -- CSV import (a regulator's 12378 transfer list) -------------------------------------------------------


_QUOTED = re.compile(r"'([^']{1,60})'")


def import_reject(locale: str, reject: importer.Reject) -> dict[str, Any]:
    """One bad row as the page lists it: the column's message in the page's language; on English pages the
    importer's own words as the detail."""
    field = (reject.field or "").rsplit(".", 1)[-1]
    empty = reject.message.startswith("Field required") or "at least 1 character" in reject.message
    found = (
        forms.field_problem(locale, field, "missing")
        if empty
        else forms.problem_for(locale, Invalid(field, reject.message))
    )
    # The value the row had, when the importer quoted it ('pigeon'): worth showing in any language.
    quoted = _QUOTED.search(reject.message)
    return {
        "line": reject.line,
        "column": reject.column,
        "message": found["message"],
        "detail": found["detail"],
        "value": quoted.group(1) if quoted and locale != "en" else None,
    }


def _import_page(request: Request, principal: Principal, status_code: int = 200, **context: Any) -> HTMLResponse:
    locale = request_locale(request)
    context["rejects"] = [import_reject(locale, reject) for reject in context.get("rejects", [])]
    if isinstance(context.get("refusal"), Problem):
        context["message"] = forms.problem_for(locale, context.pop("refusal"))["message"]
    context = {
        "columns": [
            (name, aliases[1] if len(aliases) > 1 else name, name in importer.REQUIRED)
            for name, aliases in importer.HEADERS.items()
        ],
        "result": None,
        "rejects": [],
        "problem": None,
    } | context
    switch = "/complaints/import" if request.method == "POST" else None
    return render(
        request, "complaints/import.html", context, status_code=status_code, principal=principal, switch_path=switch
    )


@router.get("/complaints/import")
def import_form(request: Request, principal: HandlerDep) -> HTMLResponse:
    return _import_page(request, principal)


@router.post("/complaints/import")
def import_upload(
    request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> HTMLResponse:
    """All or nothing, as the CLI and API: any bad row and nothing is recorded; the page lists each."""
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return _import_page(request, principal, 403, problem="csrf")
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _import_page(request, principal, 422, problem="no_file")
    content = upload.file.read(importer.MAX_IMPORT_BYTES + 1)
    if len(content) > importer.MAX_IMPORT_BYTES:
        return _import_page(request, principal, 413, problem="too_big")
    dry_run = form.get("dry_run") == "1"
    try:
        with session.begin_nested():
            result = importer.import_csv(session, principal, content, dry_run=dry_run)
    except importer.ImportRejected as exc:
        return _import_page(request, principal, 422, rejects=exc.result.rejects, rows=exc.result.rows)
    except Problem as exc:
        return _import_page(request, principal, exc.status, problem="refused", refusal=exc)
    return _import_page(request, principal, 200 if dry_run else 201, result=result)


# -- keyword trends ----------------------------------------------------------------------------------------


def chart_json(trends: dict[str, Any] | None) -> str:
    """The chart's data for the page's JSON block; ``<``, ``>`` and ``&`` escaped, since the terms come from
    complainants' text and the block sits inside the HTML."""
    data = trends["series"] if trends else {"periods": [], "terms": []}
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def keyword_context(
    session: Session, principal: Principal, query: keywords.KeywordQuery, locale: str
) -> tuple[dict[str, Any], int]:
    """The keyword page's context and status (422 when a filter is refused, with the field named)."""
    trends: dict[str, Any] | None = None
    refused: dict[str, Any] | None = None
    status = 200
    try:
        trends = query.run(session, principal, locale)
    except Problem as exc:
        refused, status = problem_of(exc, locale), exc.status
    regions = tenancy_service.region_names()
    context = {
        "query": query,
        "trends": trends,
        "problem": refused,
        "chart_json": chart_json(trends),
        "category_options": queries.category_options(locale),
        "region_options": queries.region_options(locale),
        "region_names": {code: names[0] if locale == "zh" else names[1] for code, names in regions.items()},
        "show_tenant": principal.is_regulator,
        "tenant_options": [(t.code, f"{t.code} · {t.name}") for t in tenancy_service.tenant_labels(session)]
        if principal.is_regulator
        else [],
        "trend_labels": labels.TREND_LABELS,
    }
    return context, status


@router.get("/complaints/keywords")
def keyword_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    query = keywords.KeywordQuery.from_params(request.query_params, keywords.zone_for(session, principal))
    context, status = keyword_context(session, principal, query, request_locale(request))
    return render(request, "complaints/keywords.html", context, status_code=status, principal=principal)


# -- one complaint -----------------------------------------------------------------------------------------


def _text(form: FormData, name: str, limit: int = MAX_TEXT) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


def action_values(form: FormData) -> dict[str, str]:
    names = ("note", "reason", "outcome", "facts", "basis", "remedy", "compensation", "first_contact", "received_at")
    values = {name: _text(form, name) for name in names}
    values["major_reasons"] = ",".join(str(v) for v in form.getlist("major_reasons"))
    values["notice_by_post"] = _text(form, "notice_by_post")
    return values


def _money(value: str) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(value.replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        raise FormProblem("compensation", f"compensation: not an amount ({value!r})", "amount") from None


def run_action(
    session: Session, principal: Principal, number: str, action: str, values: dict[str, str], zone: dt.tzinfo
) -> None:
    """One action form on the complaint through the service. Raises a :class:`Problem` (the service's
    ComplaintError or :class:`FormProblem`) or ValidationError, naming the field."""
    text_field = ACTION_TEXT_FIELD.get(action)
    text = values.get(text_field, "") if text_field else ""
    if text_field and not text and action not in OPTIONAL_TEXT:
        raise FormProblem(text_field, f"{text_field} is required", "missing")
    if action == "accept":
        service.accept(session, principal, number, text or None)
    elif action == "note":
        service.add_note(session, principal, number, text)
    elif action == "complex":
        service.mark_complex(session, principal, number, text)
    elif action == "extend":
        service.extend(session, principal, number, text, notice_by_post=values.get("notice_by_post") == "1")
    elif action == "appraisal-start":
        service.start_appraisal(session, principal, number, text)
    elif action == "appraisal-end":
        service.end_appraisal(session, principal, number, text)
    elif action == "new-facts":
        service.new_facts(session, principal, number, text)
    elif action == "withdraw":
        service.withdraw(session, principal, number, text)
    elif action == "decide":
        decision = schemas.DecisionIn.model_validate(
            {
                "outcome": values.get("outcome", ""),
                "facts": values.get("facts", ""),
                "basis": values.get("basis", ""),
                "remedy": values.get("remedy") or None,
                "compensation": _money(values.get("compensation", "")),
                "first_contact_resolved": values.get("first_contact") == "1",
            }
        )
        service.decide(session, principal, number, decision)
    elif action == "review-request":
        received_at = local_input(values.get("received_at"), "received_at", zone)
        service.request_review(session, principal, number, text, received_at)
    elif action == "review-decision":
        service.decide_review(session, principal, number, values.get("outcome", ""), text)
    elif action == "close":
        service.close(session, principal, number, text or None)
    elif action == "major":
        reasons = [r for r in values.get("major_reasons", "").split(",") if r]
        service.mark_major(session, principal, number, reasons, text)
    else:  # the route only passes known actions
        raise ComplaintError(404, "action", f"unknown action {action!r}")


def _page_response(
    request: Request, principal: Principal, page: queries.ComplaintPage, zone: ZoneInfo, status_code: int = 200
) -> HTMLResponse:
    locale = request_locale(request)
    context = {
        "page": page,
        "view": {"messages": page.complaint["messages"]},
        "action_titles": labels.ACTION_TITLES,
        "field_labels": labels.FIELD_LABELS | MORE_FIELD_LABELS,
        "unit_labels": web_labels.UNIT_LABELS,
        "state_labels": web_labels.CLOCK_STATE_LABELS,
        "clock_outcome_labels": labels.CLOCK_OUTCOME_LABELS,
        "outcome_options": queries.options(OUTCOME_LABELS, OUTCOMES, locale),
        "review_options": queries.options(REVIEW_OUTCOME_LABELS, REVIEW_OUTCOMES, locale),
        "major_options": queries.options(MAJOR_REASON_LABELS, MAJOR_REASONS, locale),
    }
    switch = page.url if request.method == "POST" else None
    return render(
        request,
        "complaints/complaint.html",
        context,
        status_code=status_code,
        principal=principal,
        switch_path=switch,
        zone=zone,
    )


@router.get("/complaints/{number}")
def complaint(number: str, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    tenant_code = request.query_params.get("tenant") or None
    try:
        page = queries.complaint_page(session, principal, number, tenant_code, request_locale(request))
    except ComplaintError as exc:
        return _not_found(request, principal, exc.status)
    # Who saw the complainant's (masked) data: one row, in this transaction (a regulator's: in its own).
    tenant_id = queries.tenant_id_of(session, page.tenant_code) if principal.is_regulator else principal.tenant_id
    access_api.record_view(
        session, principal, [tenant_id], access_service.COMPLAINT, page.complaint["number"], "complaint_page"
    )
    return _page_response(request, principal, page, _zone(session, principal))


@router.post("/complaints/{number}/actions/{action}")
def complaint_action(
    number: str, action: str, request: Request, principal: HandlerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    if action not in ACTIONS:
        raise HTTPException(status_code=404, detail="no such action")
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return render(
            request,
            "complaints/error.html",
            {"status": 403},
            status_code=403,
            principal=principal,
            switch_path="/complaints",
        )
    values = action_values(form)
    locale = request_locale(request)
    refused: dict[str, Any]
    try:
        with session.begin_nested():
            run_action(session, principal, number, action, values, _zone(session, principal))
    except ValidationError as exc:
        refused, status = next(iter(validation_problems(exc, locale).values())), 422
    except Problem as exc:
        if exc.status == 404 and exc.field == "number":
            return _not_found(request, principal)
        refused, status = problem_of(exc, locale), exc.status
    else:
        return RedirectResponse(queries.complaint_url(number), status_code=303)
    try:
        page = queries.complaint_page(session, principal, number, None, request_locale(request))
    except ComplaintError:
        return _not_found(request, principal)
    page.problem = refused | {"action": action}
    page.values = values
    return _page_response(request, principal, page, _zone(session, principal), status)
