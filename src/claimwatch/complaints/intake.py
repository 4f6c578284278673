"""Complaint intake (投诉登记) from every channel: validation (every problem named, for the API and the
import), numbering, the link to the claim and the customer, the clocks, repeat detection and major-complaint
escalation, and the acknowledgement through the outbox. No HTTP here, never commits.

What happens to a complaint after intake is :mod:`claimwatch.complaints.service`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.complaints import clocks, letters, provider_link, repository, schemas, service, terms
from claimwatch.complaints.clocks import ClockSet
from claimwatch.complaints.models import Complaint
from claimwatch.complaints.service import FUTURE_SLACK, apply_decision, escalate_major, record_event, tell
from claimwatch.complaints.vocabulary import (
    CHANNELS,
    MAJOR_REASONS,
    ComplaintError,
    categories,
    known,
    require,
    tenant_of,
)
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.privacy import field_cipher, keyed_hash, scrub_text
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.workflow import service as workflow_service


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
    if data.received_at is not None and data.received_at > now + FUTURE_SLACK:
        found.append(("received_at", f"received_at {data.received_at.isoformat()} is in the future"))
    if data.regulator_received_at is not None:
        if data.channel != "regulator_12378":
            found.append(("regulator_received_at", "only a regulator transfer (regulator_12378) has one"))
        elif data.regulator_received_at > (data.received_at or now) + FUTURE_SLACK:
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
    if data.provider_code and provider_link.resolve(session, data.provider_code) is None:
        found.append(("provider_code", f"no provider {data.provider_code!r} at this insurer"))
    if data.org_code and tenancy_repository.org_unit_by_code(session, data.org_code) is None:
        found.append(("org_code", f"unknown org unit {data.org_code!r}"))
    if data.region_code and data.region_code not in tenancy_service.region_codes():
        found.append(("region_code", f"unknown region code {data.region_code!r}"))
    if data.line and data.line not in workflow_service.lines():
        found.append(("line", f"unknown line of business {data.line!r} (known: {known(workflow_service.lines())})"))
    return found


def _next_number(session: Session, received_at: dt.datetime, zone: dt.tzinfo) -> str:
    """TS + the local date of receipt (the tenant's zone) + a sequence per tenant and day (the caller holds
    the chain)."""
    prefix = "TS" + letters.local_time(received_at, zone, with_time=False).replace("-", "")
    taken = [n[len(prefix) :] for n in repository.numbers_with_prefix(session, prefix)]
    sequence = max((int(s) for s in taken if s.isdigit()), default=0) + 1
    return f"{prefix}{sequence:04d}"


def _customer_key(data: schemas.ComplaintIn, claim: Claim | None) -> str | None:
    return customer_key(data.complainant.id_number, data.complainant.phone, claim)


def customer_key(id_number: str | None, phone: str | None, claim: Claim | None) -> str | None:
    """How a customer is matched across complaints, service requests and sales: the keyed hash of the ID number,
    else of the phone; from the claim's claimant when the customer gave neither."""
    if id_number:
        return keyed_hash(id_number)
    if phone:
        return keyed_hash(phone)
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
    zone = tenancy_service.tenant_zone(session, tenant_id)
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
        number=_next_number(session, received_at, zone),
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
        provider_id=provider_link.resolve(session, data.provider_code) if data.provider_code else None,
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
    record_event(
        session,
        complaint,
        "received",
        received_at,
        principal.actor,
        channel=data.channel,
        category=data.category,
        sub_cause=data.sub_cause,
        provider=data.provider_code,
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
        escalate_major(session, complaint, decision_clock, now)
    if data.decision is not None:
        first_contact = True if data.decision.first_contact_resolved is None else data.decision.first_contact_resolved
        apply_decision(session, principal, complaint, book, data.decision, received_at, first_contact)
    else:
        tell(
            session,
            complaint,
            "complaint_received",
            "received",
            {
                "received_at": letters.local_time(received_at, zone),
                "due_date": letters.due_date(decision_clock.yellow_due_at, zone),
            },
        )
    # Subscribers (assignment) run in this transaction; the chain is free again (record_event closed it).
    reactions.publish(reactions.COMPLAINTS_RECEIVED, session, tenant_id, [complaint])
    return complaint, True


def create_complaint(
    session: Session, principal: Principal, data: schemas.ComplaintIn, *, complex_reason: str | None = None
) -> Complaint:
    """Intake. Validates (422 naming the field), links claim and customer, numbers it, starts the clocks,
    detects a repeat, escalates a major complaint, and acknowledges receipt through the outbox (with the
    decision due date). A known ``external_ref`` returns the complaint already recorded (re-import is
    idempotent). ``data.decision`` decides it at once (resolved at the first contact); ``complex_reason``
    marks it complex at once (30 days, the staff form's tick box)."""
    complaint = intake(session, principal, data)[0]
    if complex_reason is not None:
        service.mark_complex(session, principal, complaint.number, complex_reason)
    return complaint


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
    record_event(session, complaint, "repeat_linked", now, actor, repeat_of=earlier.number)
    record_event(session, earlier, "repeat_linked", now, actor, repeated_by=complaint.number)
