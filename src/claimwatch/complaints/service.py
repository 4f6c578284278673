"""Complaint handling (投诉处理) after intake: acceptance, notes, deadlines on the SLA engine (complex,
extension, appraisal, new facts), withdrawal, the decision and its letter, reviews (核查), closing,
major-complaint escalation, and the monthly volumes complaint rates are measured against. Intake is
:mod:`claimwatch.complaints.intake`; what pages and the API read is :mod:`claimwatch.complaints.queries`.
No HTTP here, never commits.

Lock order (as in sla/service.py): every action takes the tenant's audit-chain head first, then touches
the complaint and its clock rows, and writes its ComplaintEvent and audit entry in the same transaction.

Deadlines (银行业保险业消费投诉处理管理办法, DESIGN §4): decide within 15 calendar days of receipt; 30 when
marked complex (recorded reason); a further 30 (to 60) only with an approver's recorded approval and a
notice to the complainant; external appraisal time excluded (a suspension); new facts restart the clock;
withdrawal closes. After the decision the complainant may apply for a review within 30 days (the sweep
closes the complaint when the window lapses); a review is decided within 30 days. A complaint transferred
by the regulator (12378) is accepted within 7 working days of the regulator's receipt.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints import clocks, letters, repository, schemas
from claimwatch.complaints.clocks import ClockSet
from claimwatch.complaints.models import Complaint, ComplaintClock, ComplaintEvent, TenantVolume
from claimwatch.complaints.queries import get_complaint
from claimwatch.complaints.vocabulary import (
    CHANNEL_LABELS,
    CLOSED,
    HANDLING,
    MAJOR_REASON_LABELS,
    MAJOR_REASONS,
    OUTCOME_LABELS,
    REVIEW_OUTCOME_LABELS,
    REVIEW_OUTCOMES,
    STATUSES,
    ComplaintError,
    category_label,
    known,
    label,
    require,
    sub_cause_label,
    tenant_of,
)
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.notify import service as notify_service
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.privacy import scrub_text
from claimwatch.sla import engine
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service

FUTURE_SLACK = dt.timedelta(minutes=5)  # clocks disagree a little: a time this far ahead is not "in the future"

# -- checks ---------------------------------------------------------------------------------------------


def _when(at: dt.datetime | None, complaint: Complaint, field: str = "at") -> dt.datetime:
    now = utc_now()
    if at is None:
        return now
    if at.tzinfo is None:
        raise ComplaintError(422, field, "give the time with a UTC offset")
    if at > now + FUTURE_SLACK:
        raise ComplaintError(422, field, f"{field} {at.isoformat()} is in the future")
    if at < complaint.received_at:
        raise ComplaintError(422, field, f"{field} {at.isoformat()} is before the complaint was received")
    return at


def _reason(text: str | None, field: str) -> str:
    if text is None or not text.strip():
        raise ComplaintError(422, field, f"{field} is required")
    return scrub_text(text.strip())


# -- recording ------------------------------------------------------------------------------------------


def record_event(
    session: Session,
    complaint: Complaint,
    kind: str,
    at: dt.datetime,
    actor: str,
    note: str | None = None,
    **data: Any,
) -> None:
    """A ComplaintEvent and its audit-chain entry (the caller, an action or the sweep, already holds the
    chain)."""
    payload = {key: _plain(value) for key, value in data.items() if value is not None}
    session.add(
        ComplaintEvent(
            tenant_id=complaint.tenant_id,
            complaint_id=complaint.id,
            kind=kind,
            at=at,
            actor=actor,
            note=note,
            data=json.dumps(payload, ensure_ascii=False, sort_keys=True) if payload else None,
        )
    )
    audit_service.record(
        session,
        complaint.tenant_id,
        f"complaint.{kind}",
        complaint.number,
        actor,
        # Ciphertext (e.g. the postal address) stays with the event: the chain is kept for ever.
        {"complaint": complaint.number, "action": kind, "at": at.isoformat(), "note": note}
        | {key: value for key, value in payload.items() if not key.endswith("_enc")},
    )
    complaint.updated_at = utc_now()
    session.flush()


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _lock(session: Session, principal: Principal, number: str, permission: Permission) -> Complaint:
    """The complaint, read again after taking its tenant's audit chain (lock order: chain first)."""
    require(principal, permission)
    complaint = get_complaint(session, number)
    audit_service.open_chain(session, complaint.tenant_id).close()
    session.refresh(complaint)
    return complaint


def _in_status(complaint: Complaint, action: str, allowed: tuple[str, ...]) -> None:
    if complaint.status not in allowed:
        raise ComplaintError(
            409,
            "status",
            f"complaint {complaint.number} is {complaint.status}; {action} needs one of: {', '.join(allowed)}",
        )


def zone_of(session: Session, complaint: Complaint) -> dt.tzinfo:
    """The zone of the complaint's dates as people read them: its insurer's."""
    return tenancy_service.tenant_zone(session, complaint.tenant_id)


def _contact(complaint: Complaint) -> Any:
    return notify_service.complaint_contact(
        tenant_id=complaint.tenant_id,
        complaint_id=complaint.id,
        number=complaint.number,
        name=complaint.complainant_name,
        phone_enc=complaint.phone_enc,
        phone_hash=complaint.phone_hash,
        email_enc=complaint.email_enc,
        email_hash=complaint.email_hash,
        received_at=complaint.received_at,
        claim_id=complaint.claim_id,
        line=complaint.line,
    )


def tell(session: Session, complaint: Complaint, template: str, key: str, context: dict[str, Any]) -> int:
    """A message to the complainant through the outbox; how many channels it was written for."""
    messages = notify_service.enqueue_to_contact(
        session,
        _contact(complaint),
        template=template,
        context={"category_label": category_label(complaint.category, get_settings().default_locale)} | context,
        idempotency_key=f"complaint:{complaint.number}:{key}",
        locale=get_settings().default_locale,
        about_status=complaint.status,
    )
    return len(messages)


def escalate_major(
    session: Session, complaint: Complaint, clock: ComplaintClock, now: dt.datetime, key: str = "intake"
) -> None:
    reasons = "、".join(label(MAJOR_REASON_LABELS, r, "zh") for r in (complaint.major_reasons or "").split(","))
    due = letters.due_date(clock.yellow_due_at, zone_of(session, complaint))
    subject = f"重大投诉 {complaint.number}：{reasons}"
    body = (
        f"投诉 {complaint.number}（{category_label(complaint.category, 'zh')}，"
        f"{label(CHANNEL_LABELS, complaint.channel, 'zh')}）为重大投诉（{reasons}），已转专班处理；"
        f"处理决定期限 {due or '待定'}。"
    )
    notified = []
    for role in (Role.SUPERVISOR, Role.QUALITY_MANAGER):
        if notify_staff_notices.notify_staff(
            session,
            complaint.tenant_id,
            role.value,
            "complaint_major",
            subject,
            body,
            f"complaint:{complaint.id}:major:{key}:{role.value}",
            now,
            org_unit_id=complaint.org_unit_id,
            link=f"/complaints/{complaint.number}",
        ):
            notified.append(role.value)
    record_event(
        session,
        complaint,
        "escalated_major",
        now,
        "system:complaints",
        reasons=complaint.major_reasons,
        notified=notified,
    )


# -- handling ------------------------------------------------------------------------------------------------


def mark_major(
    session: Session,
    principal: Principal,
    number: str,
    reasons: list[str],
    reason: str,
    *,
    at: dt.datetime | None = None,
) -> None:
    """A complaint turns major after intake (the media picked it up, a group formed, the complainant turns
    out to be vulnerable): the reasons are added, the special team takes it, staff are notified."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "escalation as major", (*HANDLING, "review_requested"))
    unknown = [r for r in reasons if r not in MAJOR_REASONS]
    if not reasons or unknown:
        shown = f"unknown major reason {unknown[0]!r}" if unknown else "name at least one reason"
        raise ComplaintError(422, "major_reasons", f"{shown} (known: {known(MAJOR_REASONS)})")
    text = _reason(reason, "reason")
    when = _when(at, complaint)
    before = [r for r in (complaint.major_reasons or "").split(",") if r]
    added = [r for r in MAJOR_REASONS if r in reasons and r not in before]
    if not added:
        raise ComplaintError(409, "major_reasons", "the complaint is already major for these reasons")
    complaint.major_reasons = ",".join(r for r in MAJOR_REASONS if r in before or r in added)
    complaint.special_team = True
    record_event(session, complaint, "marked_major", when, principal.actor, text, added=added)
    book = ClockSet(session, complaint)
    clock = book.open(clocks.REVIEW if complaint.status == "review_requested" else clocks.DECISION)
    if clock is not None:
        escalate_major(session, complaint, clock, when, key=",".join(added))


def accept(
    session: Session, principal: Principal, number: str, note: str | None = None, *, at: dt.datetime | None = None
) -> Complaint:
    """受理: the handler takes it (becomes its handler); stops the regulator-transfer acceptance clock."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "accepting", ("received",))
    when = _when(at, complaint)
    book = ClockSet(session, complaint)
    regulator = book.open(clocks.REGULATOR_ACCEPT)
    if regulator is not None:
        book.stop(regulator, when)
    complaint.status = "accepted"
    complaint.accepted_at = when
    if principal.user_id is not None:
        complaint.handler_id = principal.user_id
    record_event(
        session,
        complaint,
        "accepted",
        when,
        principal.actor,
        scrub_text(note) if note else None,
        regulator_clock=regulator.outcome if regulator is not None else None,
    )
    return complaint


def add_note(session: Session, principal: Principal, number: str, note: str, *, at: dt.datetime | None = None) -> None:
    """An investigation note; an accepted complaint becomes 'investigating'."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "a note", tuple(s for s in STATUSES if s not in CLOSED))
    text = _reason(note, "note")
    when = _when(at, complaint)
    if complaint.status == "accepted":
        complaint.status = "investigating"
    record_event(session, complaint, "note", when, principal.actor, text)


def _handling_clock(book: ClockSet, complaint: Complaint) -> ComplaintClock:
    code = clocks.REVIEW if complaint.status == "review_requested" else clocks.DECISION
    clock = book.open(code)
    if clock is None:
        raise ComplaintError(409, "status", f"complaint {complaint.number} has no running {code} clock")
    return clock


def _extend(
    session: Session,
    principal: Principal,
    complaint: Complaint,
    days: float,
    at: dt.datetime,
    book: ClockSet,
    clock: ComplaintClock,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    before = clock.yellow_due_at
    try:
        book.extend(clock, days, at)
    except engine.ExtensionRefused as exc:
        raise ComplaintError(409, "deadline", str(exc)) from exc
    return before, clock.yellow_due_at


def mark_complex(
    session: Session, principal: Principal, number: str, reason: str, *, at: dt.datetime | None = None
) -> None:
    """情况复杂: the decision deadline goes from 15 to 30 days, with the recorded reason."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "marking it complex", HANDLING)
    text = _reason(reason, "reason")
    when = _when(at, complaint)
    book = ClockSet(session, complaint)
    clock = _handling_clock(book, complaint)
    if clock.extended > 0:
        raise ComplaintError(409, "complex", f"complaint {number} is already complex in this cycle")
    before, after = _extend(session, principal, complaint, clocks.COMPLEX_EXTENSION_DAYS, when, book, clock)
    complaint.complex = True
    record_event(session, complaint, "complex", when, principal.actor, text, due_before=before, due_after=after)


def _postal_address_known(session: Session, complaint: Complaint) -> bool:
    """The intake kept an (encrypted) postal address: a notice can go by letter."""
    for event in repository.events(session, complaint.id):
        if event.kind == "received" and event.data:
            return bool(json.loads(event.data).get("address_enc"))
    return False


def extend(
    session: Session,
    principal: Principal,
    number: str,
    reason: str,
    *,
    at: dt.datetime | None = None,
    notice_by_post: bool = False,
) -> None:
    """A further 30 days (to 60) for a complex complaint. The principal is the approver and must hold an
    approver role of the policy (supervisor, admin); the approval is recorded and the complainant is told
    through the outbox (complaint_extended). The notice is a condition of the extension: a complainant with
    no phone or email (a letter, a walk-in) is told by post — ``notice_by_post`` records that the letter
    went, and needs the postal address taken at intake; with neither, the extension is refused."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "an extension", HANDLING)
    text = _reason(reason, "reason")
    when = _when(at, complaint)
    book = ClockSet(session, complaint)
    clock = _handling_clock(book, complaint)
    policy = book.policies[clock.policy_code]
    if principal.role.value not in policy.approver_roles:
        raise ComplaintError(
            403,
            "approver",
            f"role {principal.role.value!r} may not approve an extension "
            f"(approvers: {', '.join(sorted(policy.approver_roles))})",
        )
    if clock.extended < clocks.COMPLEX_EXTENSION_DAYS * clocks.unit_seconds(clock) - 1e-6:
        raise ComplaintError(409, "complex", "mark the complaint complex first (15 → 30 days), then extend to 60")
    before, after = _extend(session, principal, complaint, clocks.APPROVED_EXTENSION_DAYS, when, book, clock)
    sent = tell(
        session,
        complaint,
        "complaint_extended",
        f"extended:{clock.cycle}",
        {"due_date": letters.due_date(after, zone_of(session, complaint)) or "", "reason": text},
    )
    posted = not sent and notice_by_post and _postal_address_known(session, complaint)
    if not sent and not posted:
        raise ComplaintError(
            409,
            "contact",
            "the complainant has no phone or email for the extension notice the law requires; "
            + (
                "no postal address was taken at intake either"
                if notice_by_post
                else "send it by post and confirm with notice_by_post"
            ),
        )
    record_event(
        session,
        complaint,
        "extended",
        when,
        principal.actor,
        text,
        approver=principal.actor,
        approver_role=principal.role.value,
        due_before=before,
        due_after=after,
        notice_channels=sent,
        notice_by_post=posted,
    )


def start_appraisal(
    session: Session, principal: Principal, number: str, reason: str, *, at: dt.datetime | None = None
) -> None:
    """External appraisal (鉴定/第三方核实) begins: its time is excluded from the handling clock."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "an appraisal", (*HANDLING, "review_requested"))
    text = _reason(reason, "reason")
    when = _when(at, complaint)
    book = ClockSet(session, complaint)
    clock = _handling_clock(book, complaint)
    before = clock.yellow_due_at
    if not book.suspend(clock, when):
        raise ComplaintError(409, "appraisal", f"an appraisal of complaint {number} is already under way")
    record_event(session, complaint, "appraisal_started", when, principal.actor, text, due_before=before)


def end_appraisal(
    session: Session, principal: Principal, number: str, reason: str, *, at: dt.datetime | None = None
) -> None:
    """The appraisal is back: the clock counts again, its deadline moved by the time excluded."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "ending an appraisal", (*HANDLING, "review_requested"))
    text = _reason(reason, "reason")
    when = _when(at, complaint)
    book = ClockSet(session, complaint)
    clock = _handling_clock(book, complaint)
    if clock.suspended_since is not None and when < clock.suspended_since:
        raise ComplaintError(422, "at", "an appraisal cannot end before it began")
    if not book.resume(clock, when):
        raise ComplaintError(409, "appraisal", f"no appraisal of complaint {number} is under way")
    record_event(session, complaint, "appraisal_ended", when, principal.actor, text, due_after=clock.yellow_due_at)


def new_facts(session: Session, principal: Principal, number: str, note: str, *, at: dt.datetime | None = None) -> None:
    """New facts or new requests: the decision clock stops and a new cycle (15 days) starts from them. An
    appraisal under way carries over; complexity and approval are decided again for the new cycle."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "new facts", HANDLING)
    text = _reason(note, "note")
    when = _when(at, complaint)
    book = ClockSet(session, complaint)
    old = _handling_clock(book, complaint)
    suspended = old.suspended_since is not None
    before = old.yellow_due_at
    book.stop(old, when)
    new = book.start(clocks.DECISION, when)
    if suspended:
        book.suspend(new, when)
    record_event(
        session,
        complaint,
        "new_facts",
        when,
        principal.actor,
        text,
        cycle=new.cycle,
        due_before=before,
        due_after=new.yellow_due_at,
    )


def withdraw(
    session: Session, principal: Principal, number: str, reason: str, *, at: dt.datetime | None = None
) -> None:
    """The complainant withdraws: handling ends the day the withdrawal arrives, every clock stops, and the
    complaint is closed as withdrawn."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "a withdrawal", (*HANDLING, "review_requested"))
    text = _reason(reason, "reason")
    when = _when(at, complaint)
    stopped = ClockSet(session, complaint).stop_all(when)
    complaint.status = "withdrawn"
    complaint.closed_at = when
    record_event(session, complaint, "withdrawn", when, principal.actor, text, clocks_stopped=stopped)


def apply_decision(
    session: Session,
    principal: Principal,
    complaint: Complaint,
    book: ClockSet,
    data: schemas.DecisionIn,
    when: dt.datetime,
    first_contact: bool,
) -> None:
    for code in (clocks.DECISION, clocks.REGULATOR_ACCEPT):
        clock = book.open(code)
        if clock is not None:
            book.stop(clock, when)
    window = book.start(clocks.REVIEW_WINDOW, when)
    locale = get_settings().default_locale
    zone = zone_of(session, complaint)
    tenant = tenancy_repository.tenant_by_id(session, complaint.tenant_id)
    claim_number = None
    if complaint.claim_id is not None:
        claim_number = repository.claim_numbers(session, [complaint.claim_id]).get(complaint.claim_id)
    letter = letters.render_decision(
        letters.LetterFacts(
            number=complaint.number,
            name=complaint.complainant_name,
            received_date=letters.local_date(complaint.received_at, zone) or "",
            channel_label=label(CHANNEL_LABELS, complaint.channel, locale),
            category_label=category_label(complaint.category, locale),
            sub_cause_label=sub_cause_label(complaint.category, complaint.sub_cause, locale) or None,
            claim_number=claim_number,
            facts=data.facts,
            basis=data.basis,
            outcome_label=label(OUTCOME_LABELS, data.outcome, locale),
            remedy=data.remedy,
            compensation=data.compensation,
            review_deadline=letters.due_date(window.yellow_due_at, zone) or "",
            review_deadline_provisional=book.axis(window).is_provisional(window.yellow_due_at),
            insurer=tenant.name if tenant is not None else "",
            decided_date=letters.local_date(when, zone) or "",
        ),
        locale,
    )
    complaint.status = "decided"
    complaint.decided_at = when
    complaint.decision_outcome = data.outcome
    complaint.decision_letter = letter
    complaint.compensation_fen = int(data.compensation * 100) if data.compensation is not None else None
    complaint.first_contact_resolved = first_contact
    sent = tell(
        session,
        complaint,
        "complaint_decision",
        "decision",
        {
            "outcome_label": label(OUTCOME_LABELS, data.outcome, locale),
            "decided_at": letters.local_time(when, zone),
            "review_deadline": letters.due_date(window.yellow_due_at, zone) or "",
            "letter": letter,
        },
    )
    record_event(
        session,
        complaint,
        "decided",
        when,
        principal.actor,
        None,
        outcome=data.outcome,
        compensation=str(data.compensation) if data.compensation is not None else None,
        first_contact_resolved=first_contact,
        review_until=window.yellow_due_at,
        notice_channels=sent,
    )


def decide(
    session: Session,
    principal: Principal,
    number: str,
    data: schemas.DecisionIn,
    *,
    at: dt.datetime | None = None,
) -> Complaint:
    """The decision: the letter is generated, stored and sent (complaint_decision); the decision clock and
    any regulator-acceptance clock stop; the 30-day review window opens. First-contact resolution is what
    ``data`` says (default: no — a complaint resolved on the first call is decided at intake)."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "a decision", HANDLING)
    when = _when(at, complaint)
    first_contact = bool(data.first_contact_resolved)
    apply_decision(session, principal, complaint, ClockSet(session, complaint), data, when, first_contact)
    return complaint


def request_review(
    session: Session,
    principal: Principal,
    number: str,
    note: str,
    received_at: dt.datetime | None = None,
) -> None:
    """核查 application, within 30 days of the decision; the review clock (30 days) starts from it."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "a review request", ("decided",))
    text = _reason(note, "note")
    when = _when(received_at, complaint, "received_at")
    if complaint.decided_at is not None and when < complaint.decided_at:
        raise ComplaintError(422, "received_at", "a review cannot be requested before the decision")
    book = ClockSet(session, complaint)
    window = book.open(clocks.REVIEW_WINDOW)
    if window is not None and window.yellow_due_at is not None and when >= window.yellow_due_at:
        raise ComplaintError(
            409,
            "received_at",
            f"the 30-day review window ended on {letters.due_date(window.yellow_due_at, zone_of(session, complaint))}",
        )
    if window is not None:
        book.end_window(window, when, clocks.WINDOW_APPLIED)
    review = book.start(clocks.REVIEW, when)
    complaint.status = "review_requested"
    complaint.review_requested_at = when
    record_event(session, complaint, "review_requested", when, principal.actor, text, due_after=review.yellow_due_at)


def decide_review(
    session: Session,
    principal: Principal,
    number: str,
    outcome: str,
    note: str,
    *,
    at: dt.datetime | None = None,
) -> None:
    """The review decision: ``upheld`` (the original decision stands) or ``changed``."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "a review decision", ("review_requested",))
    if outcome not in REVIEW_OUTCOMES:
        raise ComplaintError(422, "outcome", f"unknown review outcome {outcome!r} (known: {known(REVIEW_OUTCOMES)})")
    text = _reason(note, "note")
    when = _when(at, complaint)
    book = ClockSet(session, complaint)
    review = book.open(clocks.REVIEW)
    if review is not None:
        book.stop(review, when)
    complaint.status = "reviewed"
    complaint.reviewed_at = when
    complaint.review_outcome = outcome
    locale = get_settings().default_locale
    channels = tell(
        session,
        complaint,
        "complaint_reviewed",
        "reviewed",
        {
            "outcome_label": label(REVIEW_OUTCOME_LABELS, outcome, locale),
            "reviewed_at": letters.local_time(when, zone_of(session, complaint)),
            "note": text,
        },
    )
    record_event(
        session,
        complaint,
        "reviewed",
        when,
        principal.actor,
        text,
        outcome=outcome,
        review_clock=review.outcome if review is not None else None,
        notified_channels=channels,
    )


def close(
    session: Session, principal: Principal, number: str, note: str | None = None, *, at: dt.datetime | None = None
) -> None:
    """Close a decided (the complainant accepts it) or reviewed complaint; any open clock stops."""
    complaint = _lock(session, principal, number, Permission.HANDLE_COMPLAINTS)
    _in_status(complaint, "closing", ("decided", "reviewed"))
    when = _when(at, complaint)
    ClockSet(session, complaint).stop_all(when)
    complaint.status = "closed"
    complaint.closed_at = when
    record_event(session, complaint, "closed", when, principal.actor, scrub_text(note) if note else None)


def lapse_review_window(
    session: Session, complaint: Complaint, book: ClockSet, window: ComplaintClock, now: dt.datetime
) -> None:
    """The sweep: no review was requested within 30 days of the decision, so the complaint closes — at the
    window's end, not when the sweep happened to notice (a worker that was down must not move closures)."""
    book.end_window(window, now, clocks.WINDOW_LAPSED)
    if complaint.status != "decided":
        return
    lapsed_at = min(now, window.yellow_due_at) if window.yellow_due_at is not None else now
    complaint.status = "closed"
    complaint.closed_at = lapsed_at
    record_event(
        session,
        complaint,
        "review_window_lapsed",
        lapsed_at,
        "system:complaints",
        None,
        window_ended=window.yellow_due_at,
    )


# -- volumes (for complaint rates per 10 000 policies and per 100 M CNY premium) ------------------------------


def set_volume(session: Session, principal: Principal, data: schemas.VolumeIn) -> TenantVolume:
    """Record (or replace) a month's policies in force and premium, for the tenant or one org unit; audited."""
    require(principal, Permission.MANAGE_VOLUMES)
    tenant_id = tenant_of(principal)
    org_unit_id = None
    if data.org_code:
        unit = tenancy_repository.org_unit_by_code(session, data.org_code)
        if unit is None:
            raise ComplaintError(422, "org_code", f"unknown org unit {data.org_code!r}")
        org_unit_id = unit.id
    if data.policies_in_force is None and data.premium is None:
        raise ComplaintError(422, "policies_in_force", "give policies_in_force, premium or both")
    audit_service.open_chain(session, tenant_id).close()
    row = repository.volume(session, data.period, org_unit_id)
    now = utc_now()
    if row is None:
        row = TenantVolume(tenant_id=tenant_id, period=data.period, org_unit_id=org_unit_id)
        session.add(row)
    if data.policies_in_force is not None:
        row.policies_in_force = data.policies_in_force
    if data.premium is not None:
        row.premium_fen = int(data.premium * 100)
    row.updated_by = principal.actor
    row.updated_at = now
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "config.volume",
        data.period,
        principal.actor,
        {
            "period": data.period,
            "org": data.org_code,
            "policies_in_force": row.policies_in_force,
            "premium_fen": row.premium_fen,
        },
    )
    return row
