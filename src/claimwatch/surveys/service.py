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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import canonical_json, sha256_hex
from claimwatch.cases import service as cases_service
from claimwatch.complaints import queries as complaint_queries
from claimwatch.complaints.vocabulary import OUTCOME_LABELS, label
from claimwatch.config import get_settings
from claimwatch.db import tenant_context, utc_now
from claimwatch.errors import Problem
from claimwatch.notify import service as notify_service
from claimwatch.privacy import scrub_text
from claimwatch.surveys import repository, sources
from claimwatch.surveys.models import Survey, SurveyResponse
from claimwatch.surveys.schemas import MAX_COMMENT, AnswerIn
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.web.i18n import N_
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

SUBJECT_LABELS: dict[str, str] = {
    "claim": N_("Claim"),
    "complaint": N_("Complaint"),
}
# How the invitation names the case ("your claim …").
_INVITATION_SUBJECT: dict[str, str] = {
    "claim": N_("claim"),
    "complaint": N_("complaint"),
}
NOT_SET = N_("Not set")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_RESULT_MONTHS = 36
COMMENT_LIMIT = 200


class SurveyError(Problem):
    """A refused survey request: ``status`` is the HTTP status, ``field`` what was wrong."""


def localised(pair: tuple[str, str], locale: str) -> str:
    """The zh or en name of a data item that carries both (a region)."""
    return pair[1] if locale == "en" else pair[0]


# Claims end closed (paid) or rejected; complaints with their decision's outcome.
_CLAIM_OUTCOMES = {"closed": N_("Closed (paid)"), "rejected": N_("Rejected")}


def outcome_label(code: str, locale: str) -> str:
    if code in _CLAIM_OUTCOMES:
        return label(_CLAIM_OUTCOMES, code, locale)
    return label(OUTCOME_LABELS, code, locale)


def subject_types() -> tuple[str, ...]:
    """Claims, complaints and the kinds registered by other domains (:mod:`claimwatch.surveys.sources`)."""
    return SUBJECT_TYPES + tuple(sources.sources())


def subject_label(subject_type: str, locale: str) -> str:
    return label(SUBJECT_LABELS | sources.labels(), subject_type, locale)


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
    complaint: complaint_queries.ClosedComplaint | None = None


@dataclass
class IssueCounts:
    claims: int = 0
    complaints: int = 0
    unreachable: int = 0
    others: int = 0  # of the registered kinds (service requests…)


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
        for complaint in complaint_queries.closed_between(session, since, until)
        if tenant_id is None or complaint.tenant_id == tenant_id
    ]
    for source in sources.sources().values():
        subjects += source.due(session, since, until)
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
        elif subject.subject_type == "complaint":
            counts.complaints += 1
        else:
            counts.others += 1
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
    source = sources.get(subject.subject_type) if subject.subject_type not in SUBJECT_TYPES else None
    invitation = _INVITATION_SUBJECT | ({source.code: source.invitation} if source is not None else {})
    context = {
        "survey_url": survey_url(token),
        "subject_label": label(invitation, subject.subject_type, locale),
        "valid_days": settings.survey_valid_days,
    }
    key = f"survey:{survey.id}"
    if source is not None:
        return notify_service.enqueue_to_contact(
            session,
            source.contact(session, subject),
            template=TEMPLATE,
            context=context,
            idempotency_key=key,
            locale=locale,
        )
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


def tenant_of_link(session: Session, token: str) -> int | None:
    """The insurer a link belongs to, or None for a malformed or unknown one (no database read for a
    malformed token). The only read of the public path before the tenant is known: the caller gives it a
    read-only, cross-tenant session."""
    if not well_formed(token):
        return None
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
