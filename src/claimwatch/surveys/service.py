"""Satisfaction surveys (满意度回访): issue one after a claim or a complaint closes, take the customer's
answer on a public link, and report results by org, line, handler, period, region or subject type.
No HTTP here, no commits.

The link carries a random token; only its SHA-256 is stored, and the outbox keeps the link encrypted
(staff see it masked, see ``notify_service.SECRET_FIELDS``). Who handled the case, where and in
which line is copied onto the survey when it is issued, so a later reassignment does not move an
old answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import ColumnElement, and_, case, literal
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import canonical_json, sha256_hex
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.complaints import service as complaints_service
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, tenant_context, unit_of_work, utc_now
from claimwatch.notify import service as notify_service
from claimwatch.privacy import scrub_text
from claimwatch.surveys import repository
from claimwatch.surveys.models import Survey, SurveyResponse
from claimwatch.surveys.schemas import MAX_COMMENT, AnswerIn
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.workflow import service as workflow_service

ACTOR = "system:surveys"
CLAIMANT_ACTOR = "claimant:survey"
TEMPLATE = "survey_invitation"

SUBJECT_TYPES = ("claim", "complaint")
GROUP_BY = ("org", "line", "handler", "period", "region", "subject_type", "outcome")
SCORES = ("overall", "timeliness", "transparency", "attitude")
DIMENSIONS = SCORES[1:]
# Survey states.
SENT, RESPONDED, EXPIRED, UNREACHABLE = "sent", "responded", "expired", "unreachable"
ANSWERABLE = (SENT, UNREACHABLE)  # an unreachable survey's link may still reach the customer (a resend)
# What a public link finds.
OPEN, ANSWERED, GONE, UNKNOWN = "open", "answered", "expired", "unknown"
LINK_STATUS = {OPEN: 200, ANSWERED: 409, GONE: 410, UNKNOWN: 404}

SUBJECT_LABELS: dict[str, tuple[str, str]] = {
    "claim": ("理赔", "Claim"),
    "complaint": ("投诉", "Complaint"),
}
# How the invitation names the case ("your claim …").
_INVITATION_SUBJECT: dict[str, tuple[str, str]] = {
    "claim": ("理赔案件", "claim"),
    "complaint": ("投诉", "complaint"),
}
NOT_SET: tuple[str, str] = ("未指定", "Not set")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_RESULT_MONTHS = 36
COMMENT_LIMIT = 200


class SurveyError(Exception):
    """A refused request: ``status`` is the HTTP status, ``field`` what was wrong."""

    def __init__(self, status: int, field: str, message: str) -> None:
        self.status = status
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def _label(pair: tuple[str, str], locale: str) -> str:
    return pair[1] if locale == "en" else pair[0]


# Claims end closed (paid) or rejected; complaints with their decision's outcome.
_CLAIM_OUTCOMES = {"closed": ("结案赔付", "Closed (paid)"), "rejected": ("拒赔", "Rejected")}


def outcome_label(code: str, locale: str) -> str:
    if code in _CLAIM_OUTCOMES:
        return _label(_CLAIM_OUTCOMES[code], locale)
    return complaints_service.label(complaints_service.OUTCOME_LABELS, code, locale)


def subject_label(subject_type: str, locale: str) -> str:
    return _label(SUBJECT_LABELS.get(subject_type, (subject_type, subject_type)), locale)


# --- tokens -------------------------------------------------------------------------------------------


def new_token() -> str:
    """A fresh link token (192 random bits). One that a message scrubber would alter (a long run of
    digits reads as a phone or card number) is drawn again, so the link always arrives intact."""
    while True:
        token = secrets.token_urlsafe(24)
        if scrub_text(token) == token:
            return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_url(token: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/survey/{token}"


def well_formed(token: str) -> bool:
    return bool(_TOKEN_RE.match(token))


# --- issuing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """A closed claim or complaint due for a survey, with the facts the survey keeps."""

    key: str
    subject_type: str
    reference: str
    closed_at: dt.datetime
    claim_id: int | None = None
    complaint_id: int | None = None
    org_unit_id: int | None = None
    region_code: str | None = None
    line: str | None = None
    handler_id: int | None = None
    outcome: str | None = None
    complaint: complaints_service.ClosedComplaint | None = None


@dataclass
class IssueCounts:
    claims: int = 0
    complaints: int = 0
    unreachable: int = 0


def claim_key(claim_id: int, reopen_count: int) -> str:
    """One survey per closure: a reopened and closed again claim has another reopen count."""
    return f"claim:{claim_id}:{reopen_count}"


def complaint_key(complaint_id: int) -> str:
    return f"complaint:{complaint_id}"


def _surveyed_claim(claim: cases_service.ClosedClaim) -> bool:
    """Closed and rejected claims get a survey (rejected ones unless turned off); a withdrawn claim
    was never handled to the end, so there is nothing to rate."""
    if claim.status == "withdrawn":
        return False
    return claim.status != "rejected" or get_settings().survey_rejected_claims


def due_subjects(session: Session, since: dt.datetime, until: dt.datetime) -> list[Subject]:
    """The session's tenant's claims and complaints closed in [since, until) without a survey yet."""
    tenant_id = tenant_context(session).tenant_id
    subjects = [
        Subject(
            key=claim_key(claim.id, claim.reopen_count),
            subject_type="claim",
            reference=claim.number,
            closed_at=claim.closed_at,
            claim_id=claim.id,
            org_unit_id=claim.org_unit_id,
            region_code=claim.region_code,
            line=claim.line,
            handler_id=claim.assignee_id,
            outcome=claim.status,
        )
        for claim in cases_service.closed_claims_between(session, since, until)
        if _surveyed_claim(claim)
    ]
    subjects += [
        Subject(
            key=complaint_key(complaint.id),
            subject_type="complaint",
            reference=complaint.number,
            closed_at=complaint.closed_at,
            claim_id=complaint.claim_id,
            complaint_id=complaint.id,
            org_unit_id=complaint.org_unit_id,
            region_code=complaint.region_code,
            line=complaint.line,
            handler_id=complaint.handler_id,
            outcome=complaint.decision_outcome,
            complaint=complaint,
        )
        for complaint in complaints_service.closed_between(session, since, until)
        if tenant_id is None or complaint.tenant_id == tenant_id
    ]
    existing = repository.keys_sent_since(session, since)
    return [subject for subject in subjects if subject.key not in existing]


def issue(session: Session, tenant_id: int, subjects: Sequence[Subject], now: dt.datetime) -> IssueCounts:
    """Create one survey per subject and queue its invitation, in the caller's transaction.

    The tenant's audit chain is taken first: concurrent issuing workers queue behind it, and the
    unique subject key skips whatever another worker issued meanwhile (only the surveys this call
    inserted get an invitation). A subject with no reachable contact (or who opted out everywhere)
    gets a survey marked ``unreachable``: counted, but outside the response rate's denominator."""
    counts = IssueCounts()
    if not subjects:
        return counts
    chain = audit_service.open_chain(session, tenant_id)
    settings = get_settings()
    expires = now + dt.timedelta(days=settings.survey_valid_days)
    tokens = {subject.key: new_token() for subject in subjects}
    hashes = {token_hash(token): key for key, token in tokens.items()}
    rows = [
        (
            tenant_id,
            s.key,
            s.subject_type,
            s.claim_id,
            s.complaint_id,
            s.reference,
            s.org_unit_id,
            s.region_code,
            s.line,
            s.handler_id,
            s.outcome,
            token_hash(tokens[s.key]),
            SENT,
            s.closed_at,
            now,
            expires,
            None,
            now,
        )
        for s in subjects
    ]
    repository.insert_ignore(session, rows)
    by_key = {subject.key: subject for subject in subjects}
    for survey in sorted(repository.by_token_hashes(session, list(hashes)), key=lambda s: s.id):
        subject = by_key[hashes[survey.token_hash]]
        messages = _invite(session, tenant_id, survey, subject, tokens[subject.key], settings.default_locale)
        if not any(m.status == notify_service.MessageStatus.QUEUED for m in messages):
            survey.status = UNREACHABLE
            counts.unreachable += 1
        if subject.subject_type == "claim":
            counts.claims += 1
        else:
            counts.complaints += 1
        payload = canonical_json(
            {
                "survey": survey.subject_key,
                "status": survey.status,
                "closed_at": survey.closed_at,
                "sent_at": survey.sent_at,
                "expires_at": survey.expires_at,
                "channels": sorted(m.channel for m in messages if m.status == notify_service.MessageStatus.QUEUED),
            }
        )
        chain.append("survey.issued", survey.reference, ACTOR, sha256_hex(payload), payload)
    session.flush()
    chain.close()
    return counts


def _invite(session: Session, tenant_id: int, survey: Survey, subject: Subject, token: str, locale: str) -> list[Any]:
    settings = get_settings()
    context = {
        "survey_url": survey_url(token),
        "subject_label": _label(_INVITATION_SUBJECT[subject.subject_type], locale),
        "valid_days": settings.survey_valid_days,
    }
    key = f"survey:{survey.id}"
    if subject.complaint is None:
        assert subject.claim_id is not None
        return notify_service.enqueue(
            session,
            tenant_id=tenant_id,
            claim_id=subject.claim_id,
            template=TEMPLATE,
            context=context,
            idempotency_key=key,
            locale=locale,
        )
    complaint = subject.complaint
    contact = notify_service.complaint_contact(
        tenant_id=tenant_id,
        complaint_id=complaint.id,
        number=complaint.number,
        name=complaint.name,
        phone_enc=complaint.phone_enc,
        phone_hash=complaint.phone_hash,
        email_enc=complaint.email_enc,
        email_hash=complaint.email_hash,
        received_at=complaint.received_at,
        claim_id=complaint.claim_id,
        line=complaint.line,
    )
    return notify_service.enqueue_to_contact(
        session, contact, template=TEMPLATE, context=context, idempotency_key=key, locale=locale
    )


def expire(session: Session, now: dt.datetime) -> int:
    """The session's tenant's unanswered surveys past their expiry become ``expired``."""
    return repository.expire(session, now)


# --- the public link -----------------------------------------------------------------------------------


def tenant_of_link(token: str) -> int | None:
    """The insurer a link belongs to, or None for a malformed or unknown one (no database read for a
    malformed token). Runs in its own read-only, cross-tenant transaction: the only read of the public
    path before the tenant is known."""
    if not well_formed(token):
        return None
    with unit_of_work(TenantContext.regulator()) as session:
        return repository.tenant_of_token(session, token_hash(token))


def link_state(survey: Survey | None, now: dt.datetime) -> str:
    if survey is None:
        return UNKNOWN
    if survey.status == RESPONDED:
        return ANSWERED
    if survey.status not in ANSWERABLE or survey.expires_at <= now:
        return GONE
    return OPEN


def mask_reference(reference: str) -> str:
    """The case number as the link shows it: enough for the customer to recognise it, not enough to
    look the case up with (a forwarded link must not hand out a claim number)."""
    if len(reference) <= 6:
        return reference[:1] + "*" * (len(reference) - 1)
    return f"{reference[:2]}{'*' * (len(reference) - 6)}{reference[-4:]}"


@dataclass(frozen=True)
class PublicSurvey:
    state: str
    insurer: str = ""
    subject_type: str = ""
    reference: str = ""
    line_label: str = ""
    closed_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None


def public_view(session: Session, token: str, locale: str, now: dt.datetime | None = None) -> PublicSurvey:
    """What the link's page shows: its state and, while open, which case it is about (masked)."""
    now = now or utc_now()
    survey = repository.survey_by_token(session, token_hash(token)) if well_formed(token) else None
    state = link_state(survey, now)
    if survey is None or state != OPEN:
        return PublicSurvey(state)
    tenant = tenancy_repository.tenant_by_id(session, survey.tenant_id)
    line_label = ""
    if survey.line:
        try:
            line_label = workflow_service.line_label(survey.line, locale)
        except workflow_service.UnknownLine:
            line_label = ""
    return PublicSurvey(
        state=OPEN,
        insurer=tenant.name if tenant is not None else "",
        subject_type=survey.subject_type,
        reference=mask_reference(survey.reference),
        line_label=line_label,
        closed_at=survey.closed_at,
        expires_at=survey.expires_at,
    )


def clean_comment(comment: str | None) -> str | None:
    """Free text as stored: line ends normalised, trimmed, phone/ID/card numbers masked; None if empty."""
    if comment is None:
        return None
    text = comment.replace("\r\n", "\n").replace("\r", "\n").strip()
    return scrub_text(text) if text else None


def parse_form(form: Mapping[str, str]) -> AnswerIn:
    """A posted form as an answer: an empty optional score is skipped; anything else that is not a
    whole number 0–10 is refused (422) naming the field."""
    values: dict[str, Any] = {}
    for name in SCORES:
        raw = (form.get(name) or "").strip()
        if not raw:
            if name == "overall":
                raise SurveyError(422, name, "choose a score from 0 to 10")
            continue
        if not raw.isdigit() or not 0 <= int(raw) <= 10:
            raise SurveyError(422, name, "a score is a whole number from 0 to 10")
        values[name] = int(raw)
    comment = clean_comment(form.get("comment"))
    if comment is not None:
        values["comment"] = comment
    return validate(values)


def validate(values: Mapping[str, Any]) -> AnswerIn:
    try:
        answer = AnswerIn.model_validate(dict(values))
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or "body"
        raise SurveyError(422, name, error["msg"]) from exc
    comment = clean_comment(answer.comment)
    if comment is not None and len(comment) > MAX_COMMENT:
        raise SurveyError(422, "comment", f"at most {MAX_COMMENT} characters")
    return answer.model_copy(update={"comment": comment})


def answer(session: Session, token: str, answer_in: AnswerIn, now: dt.datetime | None = None) -> SurveyResponse:
    """Record the one answer a link allows, in the caller's (tenant) transaction, with its audit entry.
    Unknown link → 404, answered → 409, expired → 410 (:class:`SurveyError`)."""
    now = now or utc_now()
    digest = token_hash(token)
    found = repository.survey_by_token(session, digest) if well_formed(token) else None
    if found is None:
        raise SurveyError(404, "token", "unknown survey link")
    # The chain first (the rule for every audited write), then the survey row itself.
    chain = audit_service.open_chain(session, found.tenant_id)
    survey = repository.survey_by_token(session, digest, for_update=True)
    assert survey is not None
    state = link_state(survey, now)
    if state == ANSWERED:
        raise SurveyError(409, "token", "this survey has already been answered")
    if state != OPEN:
        raise SurveyError(410, "token", "this survey link has expired")
    clean = validate(answer_in.model_dump())
    response = SurveyResponse(
        tenant_id=survey.tenant_id,
        survey_id=survey.id,
        overall=clean.overall,
        timeliness=clean.timeliness,
        transparency=clean.transparency,
        attitude=clean.attitude,
        comment=clean.comment,
        submitted_at=now,
    )
    try:
        with session.begin_nested():
            repository.add_response(session, response)
    except IntegrityError as exc:  # an answer committed between our read and our write
        raise SurveyError(409, "token", "this survey has already been answered") from exc
    survey.status = RESPONDED
    survey.responded_at = now
    payload = canonical_json(
        {
            "survey": survey.subject_key,
            "submitted_at": now,
            "scores": {name: getattr(clean, name) for name in SCORES},
            "comment_sha256": sha256_hex(clean.comment) if clean.comment else None,
        }
    )
    chain.append("survey.responded", survey.reference, CLAIMANT_ACTOR, sha256_hex(payload), payload)
    session.flush()
    chain.close()
    return response


# --- results ------------------------------------------------------------------------------------------


def local_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().default_timezone)


def local_today(now: dt.datetime | None = None) -> dt.date:
    return (now or utc_now()).astimezone(local_zone()).date()


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The current month and the two before it."""
    month = today.month - 2
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, 1), today


@dataclass(frozen=True)
class ResultsQuery:
    period_from: dt.date
    period_to: dt.date
    group_by: str = "org"
    subject_type: str | None = None
    tenant: str | None = None  # an insurer's code: regulators only
    drill: str | None = None  # one group's comments only: "<key>", or "<insurer code>:<key>" across insurers

    def params(self, **changes: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "from": self.period_from.isoformat(),
            "to": self.period_to.isoformat(),
            "by": self.group_by,
            "type": self.subject_type,
            "tenant": self.tenant,
            "drill": self.drill,
        } | changes
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _date(params: Mapping[str, str], name: str, default: dt.date) -> dt.date:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise SurveyError(422, name, "a date as YYYY-MM-DD") from None


def parse_query(params: Mapping[str, str], today: dt.date | None = None) -> ResultsQuery:
    """Query parameters ``from``, ``to`` (local dates, inclusive), ``by``, ``type``, ``tenant``; a bad
    one is refused (422) naming it."""
    start, end = default_period(today or local_today())
    period_from = _date(params, "from", start)
    period_to = _date(params, "to", end)
    group_by = (params.get("by") or "org").strip()
    subject_type = (params.get("type") or "").strip() or None
    tenant = (params.get("tenant") or "").strip().upper()[:32] or None
    drill = (params.get("drill") or "").strip()[:100] or None
    return checked(ResultsQuery(period_from, period_to, group_by, subject_type, tenant, drill))


def checked(query: ResultsQuery) -> ResultsQuery:
    """The query if it is one the results can answer; else :class:`SurveyError` (422) naming the field."""
    if query.period_to < query.period_from:
        raise SurveyError(422, "to", "the end of the period is before its start")
    start, end = query.period_from, query.period_to
    if (end.year - start.year) * 12 + end.month - start.month + 1 > MAX_RESULT_MONTHS:
        raise SurveyError(422, "to", f"a period spans at most {MAX_RESULT_MONTHS} months")
    if query.group_by not in GROUP_BY:
        raise SurveyError(422, "by", f"one of {', '.join(GROUP_BY)}")
    if query.subject_type is not None and query.subject_type not in SUBJECT_TYPES:
        raise SurveyError(422, "type", f"one of {', '.join(SUBJECT_TYPES)}")
    return query


def _utc_bounds(period_from: dt.date, period_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = local_zone()
    start = dt.datetime.combine(period_from, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(period_to + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start, end


def _month_key(column: Any, period_from: dt.date, period_to: dt.date) -> ColumnElement[Any]:
    """The local month (YYYY-MM) of a timestamp already within the period, the same SQL on every
    database: a CASE over the UTC instants where each local month begins."""
    zone = local_zone()
    labels: list[tuple[str, dt.datetime]] = []
    year, month = period_from.year, period_from.month
    while (year, month) <= (period_to.year, period_to.month):
        next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
        boundary = dt.datetime(next_year, next_month, 1, tzinfo=zone).astimezone(dt.UTC)
        labels.append((f"{year:04d}-{month:02d}", boundary))
        year, month = next_year, next_month
    if len(labels) == 1:
        return literal(labels[0][0])
    whens = [(column < boundary, label) for label, boundary in labels[:-1]]
    return case(*whens, else_=labels[-1][0])


def _key_columns(query: ResultsQuery) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The grouping expression for surveys sent, and for answers submitted, in the period."""
    if query.group_by == "period":
        return (
            _month_key(Survey.sent_at, query.period_from, query.period_to),
            _month_key(SurveyResponse.submitted_at, query.period_from, query.period_to),
        )
    column: ColumnElement[Any] = {  # type: ignore[assignment]
        "org": Survey.org_unit_id,
        "line": Survey.line,
        "handler": Survey.handler_id,
        "region": Survey.region_code,
        "subject_type": Survey.subject_type,
        "outcome": Survey.outcome,
    }[query.group_by]
    return column, column


@dataclass
class _Totals:
    sent: int = 0
    unreachable: int = 0
    responded: int = 0
    answers: int = 0
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCORES, 0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCORES, 0))
    promoters: int = 0
    detractors: int = 0

    def add(self, other: _Totals) -> None:
        self.sent += other.sent
        self.unreachable += other.unreachable
        self.responded += other.responded
        self.answers += other.answers
        for name in SCORES:
            self.sums[name] += other.sums[name]
            self.counts[name] += other.counts[name]
        self.promoters += other.promoters
        self.detractors += other.detractors

    def figures(self) -> dict[str, Any]:
        def ratio(part: int, whole: int, digits: int) -> float | None:
            return round(part / whole, digits) if whole else None

        return {
            "sent": self.sent,
            "unreachable": self.unreachable,
            "responded": self.responded,
            "response_rate": ratio(self.responded, self.sent, 4),
            "answers": self.answers,
            **{f"mean_{name}": ratio(self.sums[name], self.counts[name], 2) for name in SCORES},
            "promoters": ratio(self.promoters, self.answers, 4),
            "detractors": ratio(self.detractors, self.answers, 4),
        }


def _key_text(value: Any) -> str:
    return "" if value is None else str(value)


class _Labels:
    """Names for the group keys, tenants, handlers and org units of one result."""

    def __init__(self, session: Session, group_by: str, locale: str) -> None:
        self.group_by = group_by
        self.locale = locale
        self.orgs = {unit.id: unit.name for unit in tenancy_repository.org_units(session)}
        self.tenants = {label.id: label.code for label in tenancy_service.tenant_labels(session)}
        self.regions = tenancy_service.region_names()
        self.users: dict[int, str] = {}

    def load_users(self, session: Session, ids: Iterable[int | None]) -> None:
        wanted = {int(i) for i in ids if i is not None and int(i) not in self.users}
        if wanted:
            self.users.update(auth_repository.usernames_by_id(session, wanted))

    def key(self, key: str) -> str:
        if key == "":
            return _label(NOT_SET, self.locale)
        if self.group_by == "org":
            return self.orgs.get(int(key), key)
        if self.group_by == "handler":
            return self.users.get(int(key), key)
        if self.group_by == "region":
            names = self.regions.get(key)
            return _label(names, self.locale) if names else key
        if self.group_by == "line":
            try:
                return workflow_service.line_label(key, self.locale)
            except workflow_service.UnknownLine:
                return key
        if self.group_by == "subject_type":
            return subject_label(key, self.locale)
        if self.group_by == "outcome":
            return outcome_label(key, self.locale)
        return key


def drill_value(tenant: str | None, key: str) -> str:
    """The ``drill`` parameter that narrows the comments to one row of the table."""
    return f"{tenant}:{key}" if tenant else key


def _drill_condition(query: ResultsQuery, answer_key: ColumnElement[Any], labels: _Labels) -> ColumnElement[bool]:
    assert query.drill is not None
    tenant_code, _, key = query.drill.rpartition(":") if ":" in query.drill else ("", "", query.drill)
    if query.group_by in ("org", "handler") and key and not key.isdigit():
        raise SurveyError(422, "drill", "not a row of this table")
    condition: ColumnElement[bool] = answer_key.is_(None) if key == "" else answer_key == key
    if query.group_by in ("org", "handler") and key:
        condition = answer_key == int(key)
    if tenant_code:
        by_code = {code: tid for tid, code in labels.tenants.items()}
        if tenant_code not in by_code:
            raise SurveyError(422, "drill", f"unknown insurer {tenant_code!r}")
        condition = and_(condition, Survey.tenant_id == by_code[tenant_code])
    return condition


def tenant_options(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """(code, name) of every insurer, for a regulator's filter; nobody else chooses."""
    if principal.tenant_id is not None:
        return []
    return [(label.code, label.name) for label in tenancy_service.tenant_labels(session)]


def results(
    session: Session,
    principal: Principal,
    *,
    period_from: dt.date,
    period_to: dt.date,
    group_by: str = "org",
    subject_type: str | None = None,
    tenant: str | None = None,
    drill: str | None = None,
    locale: str = "zh",
    comment_limit: int = COMMENT_LIMIT,
) -> dict[str, Any]:
    """Survey results of the local dates ``period_from`` … ``period_to`` by ``group_by`` (org, line,
    handler, period, region, subject_type): per group, surveys sent (no reachable contact left out),
    answered, response rate; over the answers received in the period, the mean of each score and the
    shares of 9–10 and 0–6 overall (the dashboard's KPI definitions); and the comments (masked, newest
    first) with their case, handler and org, optionally of one row (``drill``). A regulator sees every
    insurer (or the one named by ``tenant``), each row with its insurer's code. A bad argument raises
    :class:`SurveyError` (422) naming it."""
    query = checked(ResultsQuery(period_from, period_to, group_by, subject_type, tenant, drill))
    return results_for(session, principal, query, locale, comment_limit)


def results_for(
    session: Session,
    principal: Principal,
    query: ResultsQuery,
    locale: str = "zh",
    comment_limit: int = COMMENT_LIMIT,
) -> dict[str, Any]:
    """:func:`results` of a query (:func:`parse_query` reads one from request parameters)."""
    principal.require(Permission.VIEW_SURVEYS)
    checked(query)
    cross_tenant = principal.tenant_id is None
    tenant_id = None
    labels = _Labels(session, query.group_by, locale)
    if cross_tenant and query.tenant:
        by_code = {code: tid for tid, code in labels.tenants.items()}
        tenant_id = by_code.get(query.tenant)
        if tenant_id is None:
            raise SurveyError(422, "tenant", f"unknown insurer {query.tenant!r}")
    start, end = _utc_bounds(query.period_from, query.period_to)
    sent_key, answer_key = _key_columns(query)
    groups: dict[tuple[int, str], _Totals] = {}
    for tid, key, sent, unreachable, responded in repository.sent_counts(
        session, sent_key, start, end, query.subject_type, tenant_id
    ):
        totals = groups.setdefault((tid, _key_text(key)), _Totals())
        totals.sent, totals.unreachable, totals.responded = int(sent), int(unreachable), int(responded)
    for row in repository.answer_sums(session, answer_key, start, end, query.subject_type, tenant_id):
        totals = groups.setdefault((row[0], _key_text(row[1])), _Totals())
        totals.answers = int(row[2])
        for position, name in enumerate(SCORES):
            totals.sums[name] = int(row[3 + 2 * position])
            totals.counts[name] = int(row[4 + 2 * position])
        totals.promoters, totals.detractors = int(row[11]), int(row[12])
    only = _drill_condition(query, answer_key, labels) if query.drill is not None else None
    found_comments = repository.comments(
        session, answer_key, start, end, query.subject_type, tenant_id, comment_limit, only
    )
    if query.group_by == "handler":
        labels.load_users(session, (int(key) for _, key in groups if key))
    labels.load_users(session, (row[5] for row in found_comments))
    rows = []
    overall = _Totals()
    for (tid, key), totals in groups.items():
        overall.add(totals)
        code = labels.tenants.get(tid) if cross_tenant else None
        rows.append(
            {"tenant": code, "key": key, "label": labels.key(key), "drill": drill_value(code, key)} | totals.figures()
        )
    if query.group_by == "period":
        rows.sort(key=lambda r: (r["tenant"] or "", r["key"]))
    else:
        rows.sort(key=lambda r: (r["tenant"] or "", r["key"] == "", r["label"], r["key"]))
    comments = [
        {
            "tenant": labels.tenants.get(tid) if cross_tenant else None,
            "key": _key_text(key),
            "submitted_at": submitted_at,
            "subject_type": subject_type,
            "reference": reference,
            "handler": labels.users.get(handler_id) if handler_id else None,
            "org_unit": labels.orgs.get(org_id) if org_id else None,
            "overall": score,
            "comment": scrub_text(text),
        }
        for tid, key, submitted_at, subject_type, reference, handler_id, org_id, score, text in found_comments
    ]
    total_label = "全部" if locale == "zh" else "All"
    return {
        "period_from": query.period_from,
        "period_to": query.period_to,
        "group_by": query.group_by,
        "subject_type": query.subject_type,
        "tenant": query.tenant if cross_tenant else None,
        "drill": query.drill,
        "total": {"tenant": None, "key": "*", "label": total_label} | overall.figures(),
        "rows": rows,
        "comments": comments,
    }


CSV_COLUMNS = (
    "tenant",
    "key",
    "label",
    "sent",
    "unreachable",
    "responded",
    "response_rate",
    "answers",
    "mean_overall",
    "mean_timeliness",
    "mean_transparency",
    "mean_attitude",
    "promoters",
    "detractors",
)
COMMENT_CSV_COLUMNS = (
    "tenant",
    "key",
    "submitted_at",
    "subject_type",
    "reference",
    "handler",
    "org_unit",
    "overall",
    "comment",
)


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = CSV_COLUMNS) -> str:
    """CSV with a BOM (spreadsheet programs then read the Chinese right). Free text is scrubbed again,
    and a cell that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(name)) for name in columns])
    return "\ufeff" + buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    if not isinstance(value, str):
        return str(value)
    text = scrub_text(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
