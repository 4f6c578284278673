"""What the complaint pages and the API read: one complaint with its clocks, history, repeats and
messages; the queue by nearest deadline (and the queue page's filters and options); closed complaints for
the survey job; the monthly volumes complaint rates are measured against. No HTTP here, never commits."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints import clocks, repository
from claimwatch.complaints.clocks import ClockSet
from claimwatch.complaints.models import Complaint, ComplaintClock
from claimwatch.complaints.vocabulary import (
    CHANNEL_LABELS,
    CHANNELS,
    CLOSED,
    EVENT_LABELS,
    MAJOR_REASON_LABELS,
    MAJOR_REASONS,
    OUTCOME_LABELS,
    REVIEW_OUTCOME_LABELS,
    STATUS_ACTIONS,
    STATUS_LABELS,
    STATUSES,
    ComplaintError,
    categories,
    category_label,
    known,
    label,
    require,
    sub_cause_label,
)
from claimwatch.db import utc_now
from claimwatch.notify import service as notify_service
from claimwatch.privacy import field_cipher, mask_id_number, mask_name, mask_phone
from claimwatch.sla import engine
from claimwatch.sla import service as sla_service
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.workflow import service as workflow_service


@dataclass(frozen=True)
class ClosedComplaint:
    """A closed (not withdrawn) complaint, as the survey job needs it."""

    id: int
    tenant_id: int
    number: str
    closed_at: dt.datetime
    received_at: dt.datetime
    org_unit_id: int | None
    region_code: str | None
    line: str | None
    handler_id: int | None
    claim_id: int | None
    name: str | None
    phone_enc: str | None
    phone_hash: str | None
    email_enc: str | None
    email_hash: str | None
    decision_outcome: str | None = None  # the decision that stood (none when a review changed it)


def get_complaint(session: Session, number: str, tenant_id: int | None = None) -> Complaint:
    """ComplaintError(404, "number", …) if absent (another tenant's complaint is absent). A regulator's
    session sees every tenant: it names the tenant when two insurers use the same number."""
    found = [c for c in repository.by_number(session, number) if tenant_id is None or c.tenant_id == tenant_id]
    if not found:
        raise ComplaintError(404, "number", f"no complaint {number}")
    if len(found) > 1:
        raise ComplaintError(422, "tenant", f"complaint number {number} exists at several insurers: name the tenant")
    return found[0]


def _email_masked(token: str | None) -> str:
    clear = field_cipher().decrypt(token)
    if not clear:
        return ""
    local, _, domain = clear.partition("@")
    return f"{local[:1]}***@{domain}"


def _user_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for user_id in user_ids:
        user = auth_repository.user_by_id(session, user_id)
        if user is not None:
            names[user_id] = user.display_name or user.username
    return names


def actions_for(complaint: Complaint, book: ClockSet | None, principal: Principal | None) -> list[str]:
    """What can be done next, given the status, the clocks and (if given) the caller's role."""
    if principal is not None and not principal.can(Permission.HANDLE_COMPLAINTS):
        return []
    allowed = list(STATUS_ACTIONS.get(complaint.status, ()))
    if set(MAJOR_REASONS) <= set((complaint.major_reasons or "").split(",")):
        allowed = [a for a in allowed if a != "major"]  # nothing left to add
    clock = None
    if book is not None:
        code = clocks.REVIEW if complaint.status == "review_requested" else clocks.DECISION
        clock = book.open(code)
    if clock is None:
        allowed = [a for a in allowed if a not in ("complex", "extend", "appraisal-start", "appraisal-end")]
    else:
        per_unit = clocks.unit_seconds(clock)
        if clock.extended > 0 or clock.policy_code != clocks.DECISION or clock.breached_at is not None:
            allowed = [a for a in allowed if a != "complex"]
        policy = book.policies.get(clock.policy_code) if book is not None else None
        can_approve = principal is None or (policy is not None and principal.role.value in policy.approver_roles)
        if (
            clock.policy_code != clocks.DECISION
            or clock.extended < clocks.COMPLEX_EXTENSION_DAYS * per_unit - 1e-6
            or clock.extended >= (clocks.COMPLEX_EXTENSION_DAYS + clocks.APPROVED_EXTENSION_DAYS) * per_unit - 1e-6
            or clock.breached_at is not None
            or not can_approve
        ):
            allowed = [a for a in allowed if a != "extend"]
        suspended = clock.suspended_since is not None
        allowed = [a for a in allowed if a != ("appraisal-start" if suspended else "appraisal-end")]
    return allowed


def complaint_view(
    session: Session,
    complaint: Complaint,
    locale: str,
    principal: Principal | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Everything the complaint page shows, personal data masked: contact, claim number, category and
    sub-cause labels, major reasons, status, handler, clocks (label, light, state, due dates, extension,
    miss), history (oldest first), repeat links (earlier and later complaints of the same customer or claim),
    the messages sent, the decision letter, and the actions allowed next (for ``principal`` when given)."""
    now = now or utc_now()
    book = ClockSet(session, complaint)
    clock_views = [
        clocks.clock_view(book.axes, book.policies, clock, locale, now)
        for clock in sorted(book.rows, key=lambda c: (c.started_at, c.id))
    ]
    open_deadlines = [v for v in clock_views if v["deadline"] and v["state"] != engine.STOPPED]
    cipher = field_cipher()
    claim_number = None
    if complaint.claim_id is not None:
        claim_number = repository.claim_numbers(session, [complaint.claim_id]).get(complaint.claim_id)
    org_name = None
    if complaint.org_unit_id is not None:
        unit = next((u for u in tenancy_repository.org_units(session) if u.id == complaint.org_unit_id), None)
        org_name = unit.name if unit is not None else None
    related = repository.related(session, complaint)
    names = _user_names(session, {complaint.handler_id} if complaint.handler_id else set())
    history = []
    for event in repository.events(session, complaint.id):
        data = json.loads(event.data) if event.data else {}
        data.pop("address_enc", None)
        history.append(
            {
                "kind": event.kind,
                "label": label(EVENT_LABELS, event.kind, locale),
                "at": event.at,
                "actor": event.actor,
                "note": event.note,
                "data": data,
            }
        )
    major = [r for r in (complaint.major_reasons or "").split(",") if r]
    return {
        "number": complaint.number,
        "tenant_id": complaint.tenant_id,
        "channel": complaint.channel,
        "channel_label": label(CHANNEL_LABELS, complaint.channel, locale),
        "external_ref": complaint.external_ref,
        "received_at": complaint.received_at,
        "claim_number": claim_number,
        "org_unit": org_name,
        "region_code": complaint.region_code,
        "line": complaint.line,
        "line_label": workflow_service.line_label(complaint.line, locale) if complaint.line else "",
        "complainant": {
            "name": mask_name(complaint.complainant_name),
            "phone": mask_phone(cipher.decrypt(complaint.phone_enc)),
            "email": _email_masked(complaint.email_enc),
            "id_number": mask_id_number(cipher.decrypt(complaint.id_number_enc)),
        },
        "category": complaint.category,
        "category_label": category_label(complaint.category, locale),
        "sub_cause": complaint.sub_cause,
        "sub_cause_label": sub_cause_label(complaint.category, complaint.sub_cause, locale),
        "subject": complaint.subject,
        "description": complaint.description,
        "major": bool(major),
        "major_reasons": [{"code": r, "label": label(MAJOR_REASON_LABELS, r, locale)} for r in major],
        "special_team": complaint.special_team,
        "complex": complaint.complex,
        "status": complaint.status,
        "status_label": label(STATUS_LABELS, complaint.status, locale),
        "handler": names.get(complaint.handler_id) if complaint.handler_id else None,
        "accepted_at": complaint.accepted_at,
        "decided_at": complaint.decided_at,
        "decision_outcome": complaint.decision_outcome,
        "decision_outcome_label": label(OUTCOME_LABELS, complaint.decision_outcome, locale),
        "compensation": (Decimal(complaint.compensation_fen) / 100) if complaint.compensation_fen is not None else None,
        "first_contact_resolved": complaint.first_contact_resolved,
        "review_requested_at": complaint.review_requested_at,
        "reviewed_at": complaint.reviewed_at,
        "review_outcome": complaint.review_outcome,
        "review_outcome_label": label(REVIEW_OUTCOME_LABELS, complaint.review_outcome, locale)
        if complaint.review_outcome
        else "",
        "closed_at": complaint.closed_at,
        "clocks": clock_views,
        "deadline": min(open_deadlines, key=lambda v: v["due_at"] or dt.datetime.max.replace(tzinfo=dt.UTC))
        if open_deadlines
        else None,
        "history": history,
        "repeat_of": next(
            ({"number": c.number, "received_at": c.received_at} for c in related if c.id == complaint.repeat_of_id),
            None,
        ),
        "related": [
            {
                "number": c.number,
                "received_at": c.received_at,
                "relation": "earlier" if (c.received_at, c.id) < (complaint.received_at, complaint.id) else "later",
                "category": c.category,
                "category_label": category_label(c.category, locale),
                "status": c.status,
                "status_label": label(STATUS_LABELS, c.status, locale),
                "linked": c.id == complaint.repeat_of_id or c.repeat_of_id == complaint.id,
            }
            for c in related
        ],
        "messages": notify_service.messages_for_complaint(session, complaint.id),
        "decision_letter": complaint.decision_letter,
        "actions": actions_for(complaint, book, principal),
    }


_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)


def queue(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    overdue_only: bool = False,
    include_closed: bool = False,
    limit: int = 200,
    locale: str = "zh",
    now: dt.datetime | None = None,
    tenant_id: int | None = None,
) -> list[dict[str, Any]]:
    """Complaints by nearest deadline first (those without a running deadline last, oldest first). A user
    attached to an org unit sees that unit and the units below it. Each item: number, received_at, channel,
    category/sub-cause labels, subject, status, major, repeat, handler, masked complainant, claim number,
    the nearest open deadline (policy, due_at, red_due_at, light) and whether it is overdue. ``tenant_id``
    narrows a regulator's cross-insurer view to one insurer."""
    require(principal, Permission.VIEW_COMPLAINTS)
    if status is not None and status not in STATUSES:
        raise ComplaintError(422, "status", f"unknown status {status!r} (known: {known(STATUSES)})")
    if channel is not None and channel not in CHANNELS:
        raise ComplaintError(422, "channel", f"unknown channel {channel!r} (known: {known(CHANNELS)})")
    if category is not None and category not in categories():
        raise ComplaintError(422, "category", f"unknown category {category!r} (known: {known(categories())})")
    now = now or utc_now()
    found = repository.listing(
        session,
        statuses=[status] if status else None,
        exclude_statuses=None if include_closed or status else CLOSED,
        category=category,
        channel=channel,
        org_unit_ids=sla_service.org_scope(session, principal),
        limit=limit,
        tenant_id=tenant_id,
    )
    all_clocks = repository.clocks(session, [c.id for c in found])
    by_complaint: dict[int, list[ComplaintClock]] = {}
    for clock in all_clocks:
        by_complaint.setdefault(clock.complaint_id, []).append(clock)
    claim_numbers = repository.claim_numbers(session, [c.claim_id for c in found if c.claim_id is not None])
    names = _user_names(session, {c.handler_id for c in found if c.handler_id is not None})
    policies_by_tenant: dict[int, Any] = {}
    items = []
    for complaint in found:
        policies = policies_by_tenant.get(complaint.tenant_id)
        if policies is None:
            policies = policies_by_tenant[complaint.tenant_id] = clocks.tenant_policies(session, complaint.tenant_id)
        running = [
            c
            for c in by_complaint.get(complaint.id, [])
            if c.state != engine.STOPPED and c.policy_code != clocks.REVIEW_WINDOW
        ]
        nearest = min(running, key=lambda c: c.yellow_due_at or _FAR) if running else None
        light = engine.light_at(nearest, now) if nearest is not None else None
        overdue = light in (engine.YELLOW, engine.RED)
        if overdue_only and not overdue:
            continue
        policy = policies.get(nearest.policy_code) if nearest is not None else None
        items.append(
            {
                "number": complaint.number,
                "tenant_id": complaint.tenant_id,
                "received_at": complaint.received_at,
                "channel": complaint.channel,
                "channel_label": label(CHANNEL_LABELS, complaint.channel, locale),
                "category": complaint.category,
                "category_label": category_label(complaint.category, locale),
                "sub_cause_label": sub_cause_label(complaint.category, complaint.sub_cause, locale),
                "subject": complaint.subject,
                "status": complaint.status,
                "status_label": label(STATUS_LABELS, complaint.status, locale),
                "major": bool(complaint.major_reasons),
                "special_team": complaint.special_team,
                "complex": complaint.complex,
                "repeat": complaint.repeat_of_id is not None,
                "handler": names.get(complaint.handler_id) if complaint.handler_id else None,
                "complainant": mask_name(complaint.complainant_name),
                "claim_number": claim_numbers.get(complaint.claim_id) if complaint.claim_id else None,
                "policy": nearest.policy_code if nearest is not None else None,
                "policy_label": policy.label(locale) if policy is not None else None,
                "suspended": nearest.suspended_since is not None if nearest is not None else False,
                "due_at": nearest.yellow_due_at if nearest is not None else None,
                "red_due_at": nearest.red_due_at if nearest is not None else None,
                "light": light,
                "overdue": overdue,
            }
        )
    items.sort(key=lambda item: (item["due_at"] or _FAR, item["received_at"], item["number"]))
    return items[:limit]


def closed_between(session: Session, since: dt.datetime, until: dt.datetime) -> list[ClosedComplaint]:
    """Closed (not withdrawn) complaints with closed_at in [since, until), for the survey job."""
    return [
        ClosedComplaint(
            id=c.id,
            tenant_id=c.tenant_id,
            number=c.number,
            closed_at=c.closed_at,
            received_at=c.received_at,
            org_unit_id=c.org_unit_id,
            region_code=c.region_code,
            line=c.line,
            handler_id=c.handler_id,
            claim_id=c.claim_id,
            name=c.complainant_name,
            phone_enc=c.phone_enc,
            phone_hash=c.phone_hash,
            email_enc=c.email_enc,
            email_hash=c.email_hash,
            decision_outcome=None if c.review_outcome == "changed" else c.decision_outcome,
        )
        for c in repository.closed_between(session, since, until)
        if c.closed_at is not None
    ]


# -- volumes (for complaint rates per 10 000 policies and per 100 M CNY premium) ------------------------------


def volume_views(session: Session, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
    codes = {u.id: u.code for u in tenancy_repository.org_units(session)}
    return [
        {
            "period": v.period,
            "org_code": codes.get(v.org_unit_id) if v.org_unit_id is not None else None,
            "policies_in_force": v.policies_in_force,
            "premium": Decimal(v.premium_fen) / 100 if v.premium_fen is not None else None,
            "updated_by": v.updated_by,
            "updated_at": v.updated_at,
        }
        for v in repository.volumes(session, since, until)
    ]


# -- the pages' read models ---------------------------------------------------------------------------


def clean_param(value: str | None, max_length: int = 64) -> str | None:
    """A query parameter or form value trimmed and cut to ``max_length``; None when empty."""
    value = (value or "").strip()
    return value[:max_length] if value else None


def complaint_url(number: str, tenant_code: str | None = None) -> str:
    url = f"/complaints/{quote(number, safe='')}"
    return f"{url}?{urlencode({'tenant': tenant_code})}" if tenant_code else url


def tenant_codes(session: Session) -> dict[int, str]:
    return {label.id: label.code for label in tenancy_service.tenant_labels(session)}


def tenant_id_of(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    return next((label.id for label in tenancy_service.tenant_labels(session) if label.code == code), None)


def options(table: dict[str, str], codes: tuple[str, ...], locale: str) -> list[tuple[str, str]]:
    """(code, label) of each code, for a select."""
    return [(code, label(table, code, locale)) for code in codes]


def category_options(locale: str) -> list[tuple[str, str]]:
    return [(code, category.label(locale)) for code, category in categories().items()]


def channel_options(locale: str) -> list[tuple[str, str]]:
    return options(CHANNEL_LABELS, CHANNELS, locale)


def region_options(locale: str) -> list[tuple[str, str]]:
    regions = tenancy_service.region_names()
    return [(code, names[0] if locale == "zh" else names[1]) for code, names in sorted(regions.items())]


@dataclass(frozen=True)
class QueueQuery:
    status: str | None = None
    category: str | None = None
    channel: str | None = None
    overdue: bool = False
    closed: bool = False
    tenant: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> QueueQuery:
        """Unknown values are dropped (a stale bookmark shows the whole queue rather than an error)."""
        status = clean_param(params.get("status"))
        category = clean_param(params.get("category"))
        channel = clean_param(params.get("channel"))
        return cls(
            status=status if status in STATUSES else None,
            category=category if category in categories() else None,
            channel=channel if channel in CHANNELS else None,
            overdue=params.get("overdue") == "1",
            closed=params.get("closed") == "1",
            tenant=clean_param(params.get("tenant"), 32),
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


def queue_page(session: Session, principal: Principal, query: QueueQuery, locale: str) -> QueueView:
    """The caller's complaints by nearest deadline; a regulator's across insurers (or one insurer's)."""
    tenant_options: list[tuple[str, str]] = []
    codes: dict[int, str] = {}
    chosen = None
    if principal.is_regulator:
        labels = tenancy_service.tenant_labels(session)
        tenant_options = [(t.code, f"{t.code} · {t.name}") for t in labels]
        codes = {t.id: t.code for t in labels}
        chosen = next((t.id for t in labels if t.code == query.tenant), None)
    items = queue(
        session,
        principal,
        status=query.status,
        category=query.category,
        channel=query.channel,
        overdue_only=query.overdue,
        include_closed=query.closed,
        limit=QUEUE_LIMIT,
        locale=locale,
        tenant_id=chosen,
    )
    for item in items:
        tenant_code = codes.get(item["tenant_id"])
        item["tenant_code"] = tenant_code
        item["url"] = complaint_url(item["number"], tenant_code)
    return QueueView(
        query=query,
        items=items,
        show_tenant=principal.is_regulator,
        tenant_options=tenant_options,
        status_options=options(STATUS_LABELS, STATUSES, locale),
        category_options=category_options(locale),
        channel_options=channel_options(locale),
        may_file=principal.can(Permission.HANDLE_COMPLAINTS),
        limit=QUEUE_LIMIT,
    )


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
    tenant_id = tenant_id_of(session, tenant_code) if principal.is_regulator else None
    if principal.is_regulator and tenant_code and tenant_id is None:
        raise ComplaintError(404, "tenant", f"no insurer {tenant_code}")
    complaint = get_complaint(session, number, tenant_id)
    view = complaint_view(session, complaint, locale, principal)
    shown_tenant = tenant_codes(session).get(complaint.tenant_id) if principal.is_regulator else None
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
