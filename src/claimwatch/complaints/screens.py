"""What the complaint pages show and accept: the queue's filters, the intake form and the action forms,
read from the request and turned into the service's inputs; the views the templates render.

No HTTP here beyond reading query parameters and form values; :mod:`claimwatch.complaints.pages` routes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode

from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, QueryParams

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints import keywords, schemas
from claimwatch.complaints import service as complaints_service
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, local_zone

MAX_TEXT = 4000
MAX_DESCRIPTION = 20000

# How the pages name things the service leaves as codes (English msgids, translated when rendered).
UNIT_LABELS: dict[str, str] = {
    "calendar_days": N_("days"),
    "working_days": N_("working days"),
    "hours": N_("hours"),
}
CLOCK_STATE_LABELS: dict[str, str] = {
    "running": N_("Running"),
    "suspended": N_("Suspended (external appraisal)"),
    "paused": N_("Paused"),
    "stopped": N_("Stopped"),
}
CLOCK_OUTCOME_LABELS: dict[str, str] = {
    "met": N_("On time"),
    "breached": N_("Overdue"),
    "applied": N_("Review requested in time"),
    "lapsed": N_("No review requested"),
    "waived": N_("Window closed"),
}
TREND_LABELS: dict[str, str] = {
    "new": N_("New"),
    "rising": N_("Rising"),
    "falling": N_("Falling"),
    "steady": N_("Steady"),
}
ACTION_TITLES: dict[str, str] = {
    "accept": N_("Accept (受理)"),
    "note": N_("Add an investigation note"),
    "complex": N_("Mark complex: decide within 30 days"),
    "extend": N_("Approve an extension to 60 days"),
    "appraisal-start": N_("External appraisal begins"),
    "appraisal-end": N_("External appraisal ended"),
    "new-facts": N_("New facts or requests: restart the clock"),
    "withdraw": N_("Withdrawn by the complainant"),
    "decide": N_("Decide the complaint"),
    "review-request": N_("Review (核查) requested"),
    "review-decision": N_("Review decision"),
    "close": N_("Close the complaint"),
    "major": N_("Escalate as a major complaint"),
}
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
# The field a refusal names, as the page shows it.
FIELD_LABELS: dict[str, str] = {
    "note": N_("Note"),
    "reason": N_("Reason"),
    "outcome": N_("Outcome"),
    "facts": N_("Facts verified"),
    "basis": N_("Basis and reasons"),
    "remedy": N_("What we will do"),
    "compensation": N_("Compensation"),
    "first_contact_resolved": N_("Resolved at first contact"),
    "received_at": N_("Received at"),
    "status": N_("Status"),
    "complex": N_("Complex"),
    "approver": N_("Approver"),
    "contact": N_("Contact"),
    "deadline": N_("Deadline"),
    "appraisal": N_("Appraisal"),
    "at": N_("Time"),
    "role": N_("Role"),
    "tenant": N_("Insurer"),
    "number": N_("Complaint number"),
}
# A friendlier word than the schema's pattern for the fields people mistype.
FIELD_HINTS: dict[str, str] = {
    "phone": N_("Enter a phone number of 5 to 20 digits."),
    "id_number": N_("Enter an ID number of 6 to 32 letters and digits."),
    "email": N_("Enter an e-mail address such as name@example.com."),
    "received_at": N_("Enter a date and time, not in the future."),
    "regulator_received_at": N_("Enter a date and time, not in the future."),
    "compensation": N_("Enter an amount in yuan, such as 1200.50."),
}


class FormProblem(Exception):
    """A form value the page itself refuses before calling the service (field named)."""

    def __init__(self, field: str, message: str, hint: str | None = None) -> None:
        self.field = field
        self.message = message
        self.hint = hint
        super().__init__(f"{field}: {message}")


def _clean(value: str | None, max_length: int = 64) -> str | None:
    value = (value or "").strip()
    return value[:max_length] if value else None


def complaint_url(number: str, tenant_code: str | None = None) -> str:
    url = f"/complaints/{quote(number, safe='')}"
    return f"{url}?{urlencode({'tenant': tenant_code})}" if tenant_code else url


def is_regulator(principal: Principal) -> bool:
    return principal.role is Role.REGULATOR


def tenant_codes(session: Session) -> dict[int, str]:
    return {label.id: label.code for label in tenancy_service.tenant_labels(session)}


def tenant_id_of(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    return next((label.id for label in tenancy_service.tenant_labels(session) if label.code == code), None)


def read_only_for(tenant_id: int) -> TenantContext:
    """A regulator's view narrowed to one insurer: strictly less than what it may already read."""
    return TenantContext(tenant_id=tenant_id, read_only=True)


def local_input(value: str | None, name: str) -> dt.datetime | None:
    """A ``datetime-local`` field (local wall time, no zone) as an aware UTC datetime."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise FormProblem(name, f"{name}: not a date and time ({value!r})") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=local_zone())
    return parsed.astimezone(dt.UTC)


def local_input_value(value: dt.datetime | None) -> str:
    return value.astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M") if value else ""


REQUIRED_HINT = N_("This field is required.")


def problem(field: str, message: str, hint: str | None = None) -> dict[str, Any]:
    return {"field": field, "message": message, "hint": hint or FIELD_HINTS.get(field)}


def validation_problems(error: ValidationError) -> dict[str, dict[str, Any]]:
    """Pydantic's errors by form field (``complainant.phone`` is the form's ``phone``)."""
    found: dict[str, dict[str, Any]] = {}
    for item in error.errors():
        parts = [str(part) for part in item["loc"] if part not in ("body", "complainant")]
        name = parts[0] if parts else "form"
        empty = item["type"] == "missing" or (item["type"] == "string_too_short" and item["input"] == "")
        found.setdefault(name, problem(name, f"{name}: {item['msg']}", REQUIRED_HINT if empty else None))
    return found


# -- the queue ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueQuery:
    status: str | None = None
    category: str | None = None
    channel: str | None = None
    overdue: bool = False
    closed: bool = False
    tenant: str | None = None

    @classmethod
    def from_params(cls, params: QueryParams) -> QueueQuery:
        """Unknown values are dropped (a stale bookmark shows the whole queue rather than an error)."""
        status = _clean(params.get("status"))
        category = _clean(params.get("category"))
        channel = _clean(params.get("channel"))
        return cls(
            status=status if status in complaints_service.STATUSES else None,
            category=category if category in complaints_service.categories() else None,
            channel=channel if channel in complaints_service.CHANNELS else None,
            overdue=params.get("overdue") == "1",
            closed=params.get("closed") == "1",
            tenant=_clean(params.get("tenant"), 32),
        )

    def params(self) -> dict[str, str]:
        found = {"status": self.status, "category": self.category, "channel": self.channel, "tenant": self.tenant}
        chosen = {key: value for key, value in found.items() if value}
        if self.overdue:
            chosen["overdue"] = "1"
        if self.closed:
            chosen["closed"] = "1"
        return chosen

    def url(self) -> str:
        encoded = urlencode(self.params())
        return f"/complaints?{encoded}" if encoded else "/complaints"


@dataclass
class QueueView:
    query: QueueQuery
    items: list[dict[str, Any]]
    show_tenant: bool
    tenant_options: list[tuple[str, str]]
    status_options: list[tuple[str, str]]
    category_options: list[tuple[str, str]]
    channel_options: list[tuple[str, str]]
    may_file: bool
    limit: int


QUEUE_LIMIT = 200


def _options(table: dict[str, tuple[str, str]], codes: tuple[str, ...], locale: str) -> list[tuple[str, str]]:
    return [(code, complaints_service.label(table, code, locale)) for code in codes]


def category_options(locale: str) -> list[tuple[str, str]]:
    return [(code, category.label(locale)) for code, category in complaints_service.categories().items()]


def channel_options(locale: str) -> list[tuple[str, str]]:
    return _options(complaints_service.CHANNEL_LABELS, complaints_service.CHANNELS, locale)


def queue_page(session: Session, principal: Principal, query: QueueQuery, locale: str) -> QueueView:
    """The caller's complaints by nearest deadline; a regulator's across insurers (or one insurer's)."""
    arguments: dict[str, Any] = {
        "status": query.status,
        "category": query.category,
        "channel": query.channel,
        "overdue_only": query.overdue,
        "include_closed": query.closed,
        "limit": QUEUE_LIMIT,
        "locale": locale,
    }
    tenant_options: list[tuple[str, str]] = []
    if is_regulator(principal):
        labels = tenancy_service.tenant_labels(session)
        tenant_options = [(t.code, f"{t.code} · {t.name}") for t in labels]
        codes = {t.id: t.code for t in labels}
        chosen = next((t.id for t in labels if t.code == query.tenant), None)
        if chosen is not None:
            with unit_of_work(read_only_for(chosen)) as narrowed:
                items = complaints_service.queue(narrowed, principal, **arguments)
        else:
            items = complaints_service.queue(session, principal, **arguments)
    else:
        codes = {}
        items = complaints_service.queue(session, principal, **arguments)
    for item in items:
        tenant_code = codes.get(item["tenant_id"])
        item["tenant_code"] = tenant_code
        item["url"] = complaint_url(item["number"], tenant_code)
    return QueueView(
        query=query,
        items=items,
        show_tenant=is_regulator(principal),
        tenant_options=tenant_options,
        status_options=_options(complaints_service.STATUS_LABELS, complaints_service.STATUSES, locale),
        category_options=category_options(locale),
        channel_options=channel_options(locale),
        may_file=principal.can(Permission.HANDLE_COMPLAINTS),
        limit=QUEUE_LIMIT,
    )


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
    "subject",
    "description",
    "complex_reason",
)


@dataclass
class IntakeForm:
    """The staff intake form's values, as typed (kept when the form comes back with an error)."""

    values: dict[str, str] = field(default_factory=dict)
    major_reasons: list[str] = field(default_factory=list)
    complex: bool = False

    @classmethod
    def blank(cls) -> IntakeForm:
        return cls(values={"channel": "hotline", "received_at": local_input_value(utc_now())})

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

    def to_schema(self) -> schemas.ComplaintIn:
        """The service's input. Raises ``ValidationError`` (shapes) or :class:`FormProblem`."""
        received_at = local_input(self.values.get("received_at"), "received_at")
        regulator_received_at = local_input(self.values.get("regulator_received_at"), "regulator_received_at")
        if self.complex and not self.values.get("complex_reason"):
            raise FormProblem("complex_reason", "complex_reason: say why the complaint is complex", REQUIRED_HINT)
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
                "subject": self.values.get("subject", ""),
                "description": self.values.get("description", ""),
                "major_reasons": self.major_reasons,
            }
        )


def sub_cause_groups(category: str | None, locale: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The sub-causes of the chosen category; before one is chosen, every category's (grouped), so the
    form works without scripts too (the service checks that the sub-cause belongs to the category)."""
    known = complaints_service.categories()
    chosen = [known[category]] if category in known else list(known.values())
    return [
        (
            "" if len(chosen) == 1 else found.label(locale),
            [(c, cause.label(locale)) for c, cause in found.sub_causes.items()],
        )
        for found in chosen
    ]


SHOWN_BY_FIELD = frozenset({*INTAKE_FIELDS, "complainant", "major_reasons", "form"})


def intake_context(form: IntakeForm, errors: dict[str, dict[str, Any]], locale: str) -> dict[str, Any]:
    regions = tenancy_service.region_names()
    return {
        "form": form,
        "errors": errors,
        # A refusal about something the form has no field for (the role, the tenant) is shown at the top.
        "other_errors": [error for name, error in errors.items() if name not in SHOWN_BY_FIELD],
        "channel_options": channel_options(locale),
        "category_options": category_options(locale),
        "sub_cause_groups": sub_cause_groups(form.value("category"), locale),
        "major_options": _options(complaints_service.MAJOR_REASON_LABELS, complaints_service.MAJOR_REASONS, locale),
        "region_options": [(code, names[0] if locale == "zh" else names[1]) for code, names in sorted(regions.items())],
    }


# -- the complaint page and its actions ---------------------------------------------------------------------


@dataclass
class ComplaintPage:
    complaint: dict[str, Any]
    tenant_code: str | None
    actions: list[str]
    problem: dict[str, Any] | None = None
    values: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return complaint_url(self.complaint["number"], self.tenant_code)

    def action_url(self, action: str) -> str:
        return f"/complaints/{quote(self.complaint['number'], safe='')}/actions/{action}"


def complaint_page(
    session: Session, principal: Principal, number: str, tenant_code: str | None, locale: str
) -> ComplaintPage:
    """ComplaintError(404) when the complaint is unknown or another insurer's."""
    tenant_id = tenant_id_of(session, tenant_code) if is_regulator(principal) else None
    if is_regulator(principal) and tenant_code and tenant_id is None:
        raise complaints_service.ComplaintError(404, "tenant", f"no insurer {tenant_code}")
    complaint = complaints_service.get_complaint(session, number, tenant_id)
    view = complaints_service.complaint_view(session, complaint, locale, principal)
    shown_tenant = tenant_codes(session).get(complaint.tenant_id) if is_regulator(principal) else None
    for related in view["related"]:
        related["url"] = complaint_url(related["number"], shown_tenant)
    if view["repeat_of"] is not None:
        view["repeat_of"]["url"] = complaint_url(view["repeat_of"]["number"], shown_tenant)
    for event in view["history"]:
        event["due_after_at"] = _stored_time(event["data"].get("due_after"))
    actions = view["actions"] if principal.can(Permission.HANDLE_COMPLAINTS) else []
    return ComplaintPage(view, shown_tenant, actions)


def _stored_time(value: Any) -> dt.datetime | None:
    """A time an event stored in its JSON data (ISO text with offset), for showing in local time."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


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
        raise FormProblem("compensation", f"compensation: not an amount ({value!r})") from None


def run_action(session: Session, principal: Principal, number: str, action: str, values: dict[str, str]) -> None:
    """One action on the complaint through the service. Raises ComplaintError, ValidationError or
    :class:`FormProblem`, naming the field."""
    service = complaints_service
    text_field = ACTION_TEXT_FIELD.get(action)
    text = values.get(text_field, "") if text_field else ""
    if text_field and not text and action not in OPTIONAL_TEXT:
        raise FormProblem(text_field, f"{text_field} is required", REQUIRED_HINT)
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
        received_at = local_input(values.get("received_at"), "received_at")
        service.request_review(session, principal, number, text, received_at)
    elif action == "review-decision":
        service.decide_review(session, principal, number, values.get("outcome", ""), text)
    elif action == "close":
        service.close(session, principal, number, text or None)
    elif action == "major":
        reasons = [r for r in values.get("major_reasons", "").split(",") if r]
        service.mark_major(session, principal, number, reasons, text)
    else:  # the route only passes known actions
        raise complaints_service.ComplaintError(404, "action", f"unknown action {action!r}")


# -- keyword trends ---------------------------------------------------------------------------------------

DEFAULT_MONTHS = 6


def _this_month() -> keywords.Month:
    return keywords.Month.of(utc_now(), local_zone())


@dataclass(frozen=True)
class KeywordQuery:
    period_from: str
    period_to: str
    region: str | None = None
    category: str | None = None
    top: str = "20"
    tenant: str | None = None

    @classmethod
    def from_params(cls, params: QueryParams, from_name: str = "from", to_name: str = "to") -> KeywordQuery:
        """Values are passed on as typed: the service refuses bad ones naming the field. Without a
        range: the last six months up to this one."""
        last = _this_month()
        first = last
        for _ in range(DEFAULT_MONTHS - 1):
            first = first.previous()
        return cls(
            period_from=_clean(params.get(from_name), 16) or first.label,
            period_to=_clean(params.get(to_name), 16) or last.label,
            region=_clean(params.get("region"), 12),
            category=_clean(params.get("category"), 24),
            top=_clean(params.get("top"), 4) or "20",
            tenant=_clean(params.get("tenant"), 32),
        )

    def top_number(self) -> int:
        if not self.top.isdigit():
            raise keywords.KeywordError(422, "top", f"top must be a whole number, got {self.top!r}")
        return int(self.top)

    def run(self, session: Session, principal: Principal, locale: str = "zh") -> dict[str, Any]:
        return keywords.keyword_trends(
            session,
            principal,
            period_from=self.period_from,
            period_to=self.period_to,
            region=self.region,
            category=self.category,
            top=self.top_number(),
            tenant=self.tenant if is_regulator(principal) else None,
            locale=locale,
        )


def chart_json(trends: dict[str, Any] | None) -> str:
    """The chart's data for the page's JSON block; ``<``, ``>`` and ``&`` escaped, since the terms come from
    complainants' text and the block sits inside the HTML."""
    data = trends["series"] if trends else {"periods": [], "terms": []}
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def keyword_context(
    session: Session, principal: Principal, query: KeywordQuery, locale: str
) -> tuple[dict[str, Any], int]:
    """The keyword page's context and status (422 when a filter is refused, with the field named)."""
    trends: dict[str, Any] | None = None
    refused: dict[str, Any] | None = None
    status = 200
    try:
        trends = query.run(session, principal, locale)
    except complaints_service.ComplaintError as exc:
        refused, status = problem(exc.field, exc.message), exc.status
    regions = tenancy_service.region_names()
    context = {
        "query": query,
        "trends": trends,
        "problem": refused,
        "chart_json": chart_json(trends),
        "category_options": category_options(locale),
        "region_options": [(code, names[0] if locale == "zh" else names[1]) for code, names in sorted(regions.items())],
        "region_names": {code: names[0] if locale == "zh" else names[1] for code, names in regions.items()},
        "show_tenant": is_regulator(principal),
        "tenant_options": [(t.code, f"{t.code} · {t.name}") for t in tenancy_service.tenant_labels(session)]
        if is_regulator(principal)
        else [],
        "trend_labels": TREND_LABELS,
    }
    return context, status
