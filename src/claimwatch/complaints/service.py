"""Complaint handling (投诉处理): intake from every channel, deadlines on the SLA engine, decision letters,
reviews (核查), repeats and major-complaint escalation. No HTTP here, never commits.

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

from pydantic import ValidationError
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.complaints import clocks, letters, repository, schemas, terms
from claimwatch.complaints.clocks import ClockSet
from claimwatch.complaints.models import Complaint, ComplaintClock, ComplaintEvent
from claimwatch.complaints.views import (  # noqa: F401 - the service is the domain's one entry point
    ClosedComplaint,
    actions_for,
    closed_between,
    complaint_view,
    queue,
    set_volume,
    volume_views,
)
from claimwatch.complaints.vocabulary import (  # noqa: F401 - the service is the domain's one entry point
    CATEGORY_FILE,
    CHANNEL_LABELS,
    CHANNELS,
    CLOSED,
    EVENT_LABELS,
    HANDLING,
    MAJOR_REASON_LABELS,
    MAJOR_REASONS,
    OUTCOME_LABELS,
    OUTCOMES,
    REVIEW_OUTCOME_LABELS,
    REVIEW_OUTCOMES,
    STATUS_ACTIONS,
    STATUS_LABELS,
    STATUSES,
    Category,
    ComplaintError,
    SubCause,
    categories,
    category_label,
    known,
    label,
    parse_categories,
    require,
    sub_cause_label,
    tenant_of,
)
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.notify import service as notify_service
from claimwatch.privacy import field_cipher, keyed_hash, scrub_text
from claimwatch.sla import engine
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.workflow import service as workflow_service

_FUTURE_SLACK = dt.timedelta(minutes=5)
# -- validation ---------------------------------------------------------------------------------------


def problems_of(session: Session, data: schemas.ComplaintIn, now: dt.datetime | None = None) -> list[tuple[str, str]]:
    """Every problem of a complaint as (field, message): the API raises the first, the import reports all."""
    now = now or utc_now()
    found: list[tuple[str, str]] = []
    if data.channel not in CHANNELS:
        found.append(("channel", f"unknown channel {data.channel!r} (known: {known(CHANNELS)})"))
    category = categories().get(data.category)
    if category is None:
        found.append(("category", f"unknown category {data.category!r} (known: {known(categories())})"))
    elif data.sub_cause is not None and data.sub_cause not in category.sub_causes:
        found.append(
            (
                "sub_cause",
                f"unknown sub-cause {data.sub_cause!r} of {data.category} (known: {known(category.sub_causes)})",
            )
        )
    for reason in data.major_reasons:
        if reason not in MAJOR_REASONS:
            found.append(("major_reasons", f"unknown major reason {reason!r} (known: {known(MAJOR_REASONS)})"))
    if data.received_at is not None and data.received_at > now + _FUTURE_SLACK:
        found.append(("received_at", f"received_at {data.received_at.isoformat()} is in the future"))
    if data.regulator_received_at is not None:
        if data.channel != "regulator_12378":
            found.append(("regulator_received_at", "only a regulator transfer (regulator_12378) has one"))
        elif data.regulator_received_at > (data.received_at or now) + _FUTURE_SLACK:
            found.append(("regulator_received_at", "the regulator cannot have received it after we did"))
    who = data.complainant
    if not (who.phone or who.email or who.id_number or who.address) and not data.claim_number:
        found.append(
            (
                "complainant",
                "no way to reach or identify the complainant: give a phone, email, ID number or address, "
                "or the claim number",
            )
        )
    if data.claim_number:
        try:
            cases_service.get_claim(session, data.claim_number)
        except cases_service.ClaimNotFound:
            found.append(("claim_number", f"no claim {data.claim_number} in this tenant"))
    if data.org_code and tenancy_repository.org_unit_by_code(session, data.org_code) is None:
        found.append(("org_code", f"unknown org unit {data.org_code!r}"))
    if data.region_code and data.region_code not in tenancy_service.region_codes():
        found.append(("region_code", f"unknown region code {data.region_code!r}"))
    if data.line and data.line not in workflow_service.lines():
        found.append(("line", f"unknown line of business {data.line!r} (known: {known(workflow_service.lines())})"))
    return found


def _when(at: dt.datetime | None, complaint: Complaint, field: str = "at") -> dt.datetime:
    now = utc_now()
    if at is None:
        return now
    if at.tzinfo is None:
        raise ComplaintError(422, field, "give the time with a UTC offset")
    if at > now + _FUTURE_SLACK:
        raise ComplaintError(422, field, f"{field} {at.isoformat()} is in the future")
    if at < complaint.received_at:
        raise ComplaintError(422, field, f"{field} {at.isoformat()} is before the complaint was received")
    return at


def _reason(text: str | None, field: str) -> str:
    if text is None or not text.strip():
        raise ComplaintError(422, field, f"{field} is required")
    return scrub_text(text.strip())


# -- recording ------------------------------------------------------------------------------------------


def _record(
    session: Session,
    complaint: Complaint,
    kind: str,
    at: dt.datetime,
    actor: str,
    note: str | None = None,
    **data: Any,
) -> None:
    """A ComplaintEvent and its audit-chain entry (the caller already holds the chain)."""
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


def record_system_event(
    session: Session, complaint: Complaint, kind: str, at: dt.datetime, actor: str, **data: Any
) -> None:
    """For the sweep (which holds the chain): an event such as 'overdue' and its audit entry."""
    _record(session, complaint, kind, at, actor, None, **data)


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


def _local_date(value: dt.datetime | None) -> str | None:
    return notify_service.local_time(value, with_time=False) if value is not None else None


due_date = notify_service.local_due_date


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


def _tell(session: Session, complaint: Complaint, template: str, key: str, context: dict[str, Any]) -> int:
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


# -- intake ------------------------------------------------------------------------------------------------


def _next_number(session: Session, received_at: dt.datetime) -> str:
    """TS + the local date of receipt + a sequence per tenant and day (the caller holds the chain)."""
    prefix = "TS" + notify_service.local_time(received_at, with_time=False).replace("-", "")
    taken = [n[len(prefix) :] for n in repository.numbers_with_prefix(session, prefix)]
    sequence = max((int(s) for s in taken if s.isdigit()), default=0) + 1
    return f"{prefix}{sequence:04d}"


def _customer_key(data: schemas.ComplaintIn, claim: Claim | None) -> str | None:
    """Keyed hash of the ID number, else the phone; from the claim's claimant when the complainant gave neither."""
    who = data.complainant
    if who.id_number:
        return keyed_hash(who.id_number)
    if who.phone:
        return keyed_hash(who.phone)
    if claim is not None:
        id_number = field_cipher().decrypt(claim.claimant_id_number_enc)
        return keyed_hash(id_number) if id_number else claim.claimant_phone_hash
    return None


def intake(session: Session, principal: Principal, data: schemas.ComplaintIn) -> tuple[Complaint, bool]:
    """:func:`create_complaint`, also saying whether it was new (False: the external_ref was known)."""
    require(principal, Permission.HANDLE_COMPLAINTS)
    tenant_id = tenant_of(principal)
    now = utc_now()
    problems = problems_of(session, data, now)
    if problems:
        raise ComplaintError(422, *problems[0])
    audit_service.open_chain(session, tenant_id).close()
    if data.external_ref:
        existing = repository.by_external_ref(session, data.external_ref)
        if existing is not None:
            return existing, False
    claim = cases_service.get_claim(session, data.claim_number) if data.claim_number else None
    received_at = data.received_at or now
    org_unit_id = claim.org_unit_id if claim is not None else None
    if data.org_code:
        unit = tenancy_repository.org_unit_by_code(session, data.org_code)
        org_unit_id = unit.id if unit is not None else None
    who = data.complainant
    cipher = field_cipher()
    phone_enc, phone_hash = cipher.encrypt(who.phone), keyed_hash(who.phone)
    email_enc, email_hash = cipher.encrypt(who.email), keyed_hash(who.email)
    name = who.name
    if claim is not None and not (who.phone or who.email):
        # The claimant complains about their claim: reach them where the claim does (ciphertext copied).
        phone_enc, phone_hash = claim.claimant_phone_enc, claim.claimant_phone_hash
        email_enc, email_hash = claim.claimant_email_enc, claim.claimant_email_hash
        name = name or claim.claimant_name
    major = list(dict.fromkeys(data.major_reasons))
    if data.channel == "regulator_12378" and "regulator_transfer" not in major:
        major.append("regulator_transfer")
    complaint = Complaint(
        tenant_id=tenant_id,
        number=_next_number(session, received_at),
        channel=data.channel,
        external_ref=data.external_ref,
        received_at=received_at,
        claim_id=claim.id if claim is not None else None,
        org_unit_id=org_unit_id,
        region_code=data.region_code or (claim.region_code if claim is not None else None),
        line=data.line or (claim.line if claim is not None else None),
        complainant_name=name,
        phone_enc=phone_enc,
        phone_hash=phone_hash,
        id_number_enc=cipher.encrypt(who.id_number),
        id_number_hash=keyed_hash(who.id_number),
        email_enc=email_enc,
        email_hash=email_hash,
        customer_key=_customer_key(data, claim),
        category=data.category,
        sub_cause=data.sub_cause,
        # Free text may carry a phone or ID number typed by the complainant: never kept in clear.
        subject=scrub_text(data.subject),
        description=scrub_text(data.description),
        keywords=terms.stored_terms(data.subject, data.description, name),
        major_reasons=",".join(major) or None,
        special_team=bool(major),
        complex=False,
        status="received",
        handler_id=principal.user_id,
        created_by=principal.actor,
        created_at=now,
        updated_at=now,
    )
    session.add(complaint)
    session.flush()
    _record(
        session,
        complaint,
        "received",
        received_at,
        principal.actor,
        channel=data.channel,
        category=data.category,
        sub_cause=data.sub_cause,
        external_ref=data.external_ref,
        claim=data.claim_number,
        major_reasons=major or None,
        address_enc=cipher.encrypt(who.address),
    )
    book = ClockSet(session, complaint)
    decision_clock = book.start(clocks.DECISION, received_at)
    if data.channel == "regulator_12378":
        book.start(clocks.REGULATOR_ACCEPT, data.regulator_received_at or received_at)
    _link_repeat(session, complaint, principal.actor, now)
    if major:
        _escalate_major(session, complaint, decision_clock, now)
    if data.decision is not None:
        first_contact = True if data.decision.first_contact_resolved is None else data.decision.first_contact_resolved
        _decide(session, principal, complaint, book, data.decision, received_at, first_contact)
    else:
        _tell(
            session,
            complaint,
            "complaint_received",
            "received",
            {
                "received_at": notify_service.local_time(received_at),
                "due_date": due_date(decision_clock.yellow_due_at),
            },
        )
    return complaint, True


def create_complaint(session: Session, principal: Principal, data: schemas.ComplaintIn) -> Complaint:
    """Intake. Validates (422 naming the field), links claim and customer, numbers it, starts the clocks,
    detects a repeat, escalates a major complaint, and acknowledges receipt through the outbox (with the
    decision due date). A known ``external_ref`` returns the complaint already recorded (re-import is
    idempotent). ``data.decision`` decides it at once (resolved at the first contact)."""
    return intake(session, principal, data)[0]


def _link_repeat(session: Session, complaint: Complaint, actor: str, now: dt.datetime) -> None:
    window = dt.timedelta(days=get_settings().complaints_repeat_window_days)
    earlier = repository.latest_related(
        session,
        exclude_id=complaint.id,
        customer_key=complaint.customer_key,
        claim_id=complaint.claim_id,
        category=complaint.category,
        since=complaint.received_at - window,
        until=complaint.received_at,
    )
    if earlier is None:
        return
    complaint.repeat_of_id = earlier.id
    _record(session, complaint, "repeat_linked", now, actor, repeat_of=earlier.number)
    _record(session, earlier, "repeat_linked", now, actor, repeated_by=complaint.number)


def _escalate_major(
    session: Session, complaint: Complaint, clock: ComplaintClock, now: dt.datetime, key: str = "intake"
) -> None:
    reasons = "、".join(label(MAJOR_REASON_LABELS, r, "zh") for r in (complaint.major_reasons or "").split(","))
    subject = f"重大投诉 {complaint.number}：{reasons}"
    body = (
        f"投诉 {complaint.number}（{category_label(complaint.category, 'zh')}，"
        f"{label(CHANNEL_LABELS, complaint.channel, 'zh')}）为重大投诉（{reasons}），已转专班处理；"
        f"处理决定期限 {due_date(clock.yellow_due_at) or '待定'}。"
    )
    notified = []
    for role in (Role.SUPERVISOR, Role.QUALITY_MANAGER):
        if notify_service.notify_staff(
            session,
            complaint.tenant_id,
            role.value,
            "complaint_major",
            subject,
            body,
            f"complaint:{complaint.id}:major:{key}:{role.value}",
            now,
        ):
            notified.append(role.value)
    _record(
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
    _record(session, complaint, "marked_major", when, principal.actor, text, added=added)
    book = ClockSet(session, complaint)
    clock = book.open(clocks.REVIEW if complaint.status == "review_requested" else clocks.DECISION)
    if clock is not None:
        _escalate_major(session, complaint, clock, when, key=",".join(added))


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
    _record(
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
    _record(session, complaint, "note", when, principal.actor, text)


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
    _record(session, complaint, "complex", when, principal.actor, text, due_before=before, due_after=after)


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
    sent = _tell(
        session,
        complaint,
        "complaint_extended",
        f"extended:{clock.cycle}",
        {"due_date": due_date(after) or "", "reason": text},
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
    _record(
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
    _record(session, complaint, "appraisal_started", when, principal.actor, text, due_before=before)


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
    _record(session, complaint, "appraisal_ended", when, principal.actor, text, due_after=clock.yellow_due_at)


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
    _record(
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
    _record(session, complaint, "withdrawn", when, principal.actor, text, clocks_stopped=stopped)


def _decide(
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
    tenant = tenancy_repository.tenant_by_id(session, complaint.tenant_id)
    claim_number = None
    if complaint.claim_id is not None:
        claim_number = repository.claim_numbers(session, [complaint.claim_id]).get(complaint.claim_id)
    letter = letters.render_decision(
        letters.LetterFacts(
            number=complaint.number,
            name=complaint.complainant_name,
            received_date=_local_date(complaint.received_at) or "",
            channel_label=label(CHANNEL_LABELS, complaint.channel, locale),
            category_label=category_label(complaint.category, locale),
            sub_cause_label=sub_cause_label(complaint.category, complaint.sub_cause, locale) or None,
            claim_number=claim_number,
            facts=data.facts,
            basis=data.basis,
            outcome_label=label(OUTCOME_LABELS, data.outcome, locale),
            remedy=data.remedy,
            compensation=data.compensation,
            review_deadline=due_date(window.yellow_due_at) or "",
            insurer=tenant.name if tenant is not None else "",
            decided_date=_local_date(when) or "",
        ),
        locale,
    )
    complaint.status = "decided"
    complaint.decided_at = when
    complaint.decision_outcome = data.outcome
    complaint.decision_letter = letter
    complaint.compensation_fen = int(data.compensation * 100) if data.compensation is not None else None
    complaint.first_contact_resolved = first_contact
    sent = _tell(
        session,
        complaint,
        "complaint_decision",
        "decision",
        {
            "outcome_label": label(OUTCOME_LABELS, data.outcome, locale),
            "decided_at": notify_service.local_time(when),
            "review_deadline": due_date(window.yellow_due_at) or "",
            "letter": letter,
        },
    )
    _record(
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
    _decide(session, principal, complaint, ClockSet(session, complaint), data, when, first_contact)
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
            f"the 30-day review window ended on {due_date(window.yellow_due_at)}",
        )
    if window is not None:
        book.end_window(window, when, clocks.WINDOW_APPLIED)
    review = book.start(clocks.REVIEW, when)
    complaint.status = "review_requested"
    complaint.review_requested_at = when
    _record(session, complaint, "review_requested", when, principal.actor, text, due_after=review.yellow_due_at)


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
    channels = _tell(
        session,
        complaint,
        "complaint_reviewed",
        "reviewed",
        {
            "outcome_label": label(REVIEW_OUTCOME_LABELS, outcome, locale),
            "reviewed_at": notify_service.local_time(when),
            "note": text,
        },
    )
    _record(
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
    _record(session, complaint, "closed", when, principal.actor, scrub_text(note) if note else None)


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
    _record(
        session,
        complaint,
        "review_window_lapsed",
        lapsed_at,
        "system:complaints",
        None,
        window_ended=window.yellow_due_at,
    )


# -- reading


def get_complaint(session: Session, number: str, tenant_id: int | None = None) -> Complaint:
    """ComplaintError(404, "number", …) if absent (another tenant's complaint is absent). A regulator's
    session sees every tenant: it names the tenant when two insurers use the same number."""
    found = [c for c in repository.by_number(session, number) if tenant_id is None or c.tenant_id == tenant_id]
    if not found:
        raise ComplaintError(404, "number", f"no complaint {number}")
    if len(found) > 1:
        raise ComplaintError(422, "tenant", f"complaint number {number} exists at several insurers: name the tenant")
    return found[0]


def validation_message(error: ValidationError) -> tuple[str, str]:
    """The first problem of a Pydantic error as (field, message)."""
    first = error.errors()[0]
    return ".".join(str(part) for part in first["loc"]), first["msg"]
