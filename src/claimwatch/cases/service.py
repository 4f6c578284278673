"""Claims and their events: idempotent ingestion along the workflow, in the audit chain."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import canonical_json, format_timestamp, row_content_hash
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import Principal
from claimwatch.cases import repository
from claimwatch.cases.events import CaseChange
from claimwatch.cases.models import Claim, new_sample_key
from claimwatch.cases.schemas import Coverage, EventIn, EventType
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.errors import NotFound, Problem
from claimwatch.privacy import field_cipher, keyed_hash, mask_id_number, mask_name, mask_phone, scrub_text
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.workflow import service as workflow_service

CASE_EVENT_KIND = "case_event"
COMPULSORY_LINE = "motor"  # 交强险 covers motor vehicles only


@dataclass(frozen=True)
class EventProblem:
    index: int
    event_id: str | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "event_id": self.event_id, "field": self.field, "message": self.message}


class IngestRejected(Problem):
    """Nothing of the batch was written. ``status`` is the HTTP status that fits the worst problem; each
    problem of the body names its event (``index``, ``event_id``). ``event_problems`` keeps them typed."""

    def __init__(self, status: int, problems: list[EventProblem]) -> None:
        self.event_problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        message = f"event {first.index} ({first.event_id}): {first.field}: {first.message}{more}"
        super().__init__(status, first.field, message, problems=[p.as_dict() for p in problems])


class BatchTooLarge(IngestRejected):
    pass


@dataclass(frozen=True)
class Ack:
    event_id: str
    claim_number: str
    status: str
    audit_seq: int


def to_fen(amount: Decimal | None) -> int | None:
    return None if amount is None else int((amount * 100).to_integral_value())


def from_fen(amount: int | None) -> Decimal | None:
    return None if amount is None else (Decimal(amount) / 100).quantize(Decimal("0.01"))


def event_fingerprint(event: EventIn) -> str:
    """Same content, same fingerprint, whatever the sender's key order (fields serialise in model order)."""
    return hashlib.sha256(event.model_dump_json(exclude_none=True, exclude={"tenant"}).encode()).hexdigest()


@dataclass
class _Batch:
    """Working state while one batch is checked; written only if no problem is found."""

    tenant_id: int
    principal: Principal
    now: dt.datetime
    claims: dict[str, repository.ClaimState]
    org_ids: dict[str, int] | None = None
    user_ids: dict[str, int] = field(default_factory=dict)
    problems: list[EventProblem] = field(default_factory=list)
    status: int = 422

    def problem(self, index: int, event: EventIn, field_name: str, message: str, status: int = 422) -> None:
        self.problems.append(EventProblem(index, event.event_id, field_name, message))
        # 409 for conflicts, 404 for unknown claims; a mix of problems answers 422.
        if len(self.problems) == 1:
            self.status = status
        elif self.status != status:
            self.status = 422


def ingest_events(session: Session, principal: Principal, events: list[EventIn]) -> list[Ack]:
    """Apply a batch all-or-nothing. Repeats of an already applied ``event_id`` with the same
    content are acknowledged as duplicates; the same id with other content is a conflict."""
    limit = get_settings().max_batch_events
    if len(events) > limit:
        raise BatchTooLarge(
            413, [EventProblem(limit, None, "events", f"batch has {len(events)} events; the limit is {limit}")]
        )
    tenant_id = principal.tenant_id
    if tenant_id is None:
        raise IngestRejected(403, [EventProblem(0, None, "tenant", "a cross-tenant account cannot write events")])

    # The chain comes first so that everything read below is already serialised against every other writer of the
    # tenant - on PostgreSQL except other ingesting batches (a shared lock; the claims' rows are locked instead).
    concurrent = audit_service.concurrent_ingest(session)
    chain = (audit_service.open_block_writer if concurrent else audit_service.open_chain)(session, tenant_id)
    try:
        return _ingest(session, principal, events, tenant_id, chain, concurrent)
    except IntegrityError as exc:
        if not concurrent:
            raise
        # Another batch wrote the same claim number or event id between our reads and our insert.
        raise IngestRejected(
            503, [EventProblem(0, None, "events", "a concurrent batch wrote the same claim or event; send it again")]
        ) from exc
    except OperationalError as exc:
        if not concurrent or getattr(exc.orig, "sqlstate", None) not in _RETRYABLE:
            raise
        raise IngestRejected(
            503, [EventProblem(0, None, "events", "a concurrent batch locked the same claims; send it again")]
        ) from exc
    finally:
        if concurrent:
            audit_service.forget_block_writer(session)


_RETRYABLE = ("40P01", "40001")  # deadlock detected, serialization failure
_RECEIVED_AT = repository.EVENT_HASHED_FIELDS.index("received_at")


def _ingest(
    session: Session,
    principal: Principal,
    events: list[EventIn],
    tenant_id: int,
    chain: audit_service.ChainWriter,
    concurrent: bool,
) -> list[Ack]:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    assert tenant is not None
    batch = _Batch(tenant_id, principal, utc_now(), claims={})

    fingerprints = [event_fingerprint(event) for event in events]
    window = get_settings().event_id_window_days
    stored = repository.stored_events(
        session,
        [event.event_id for event in events],
        None if window is None else batch.now - dt.timedelta(days=window),
    )
    seen_in_batch: dict[str, int] = {}
    fresh: list[int] = []
    acks: list[Ack | None] = [None] * len(events)
    for index, event in enumerate(events):
        if event.tenant is not None and event.tenant != tenant.code:
            batch.problem(
                index,
                event,
                "tenant",
                f"event is for tenant {event.tenant!r} but the caller belongs to {tenant.code!r}",
                403,
            )
            continue
        earlier = stored.get(event.event_id)
        if earlier is not None:
            if earlier.fingerprint != fingerprints[index]:
                batch.problem(
                    index, event, "event_id", "event_id was already used for an event with other content", 409
                )
            else:
                acks[index] = Ack(event.event_id, event.claim_number, "duplicate", earlier.audit_seq)
            continue
        if event.event_id in seen_in_batch:
            first = seen_in_batch[event.event_id]
            if fingerprints[first] != fingerprints[index]:
                batch.problem(
                    index, event, "event_id", f"event_id repeats event {first} of this batch with other content", 409
                )
            else:
                acks[index] = None  # filled from the first occurrence below
            continue
        seen_in_batch[event.event_id] = index
        fresh.append(index)

    numbers = sorted({events[i].claim_number for i in fresh})
    batch.claims = repository.claim_states(session, numbers, lock=concurrent)
    assignees = {events[i].assignee for i in fresh if events[i].assignee}
    batch.user_ids = auth_repository.user_ids_by_username(session, tenant_id, assignees)  # type: ignore[arg-type]

    touched: dict[str, repository.ClaimState] = {}
    applied: list[tuple[int, repository.ClaimState, dict[str, Any]]] = []
    for index in fresh:
        event = events[index]
        outcome = _apply(session, batch, index, event)
        if outcome is not None:
            state, row = outcome
            touched[state.number] = state
            applied.append((index, state, row))

    if batch.problems:
        raise IngestRejected(batch.status, batch.problems)

    changes = {
        state.number: {
            "status": state.status,
            "status_changed_at": state.status_changed_at,
            "closed_at": state.closed_at,
            "reopen_count": state.reopen_count,
            "event_count": state.event_count,
            "assessed_amount_fen": state.assessed_amount_fen,
            "paid_amount_fen": state.paid_amount_fen,
            "assignee_id": state.assignee_id,
            "updated_at": batch.now,
        }
        for state in touched.values()
    }
    new_claims = [state.new_row | changes[state.number] for state in touched.values() if state.new_row is not None]
    new_ids = repository.insert_claims(session, tenant_id, new_claims)
    for state in touched.values():
        if state.id is None:
            state.id = new_ids[state.number]
    inserted = {row["number"]: row | {"id": new_ids[row["number"]]} for row in new_claims}

    event_rows = []
    chain.reserve(len(applied))
    # Every event of the batch was received at batch.now: its text form is made once, and the hash, which takes a
    # timestamp's text form, is the same as row_content_hash of the stored row (audit verify recomputes that).
    received = format_timestamp(batch.now)
    for index, state, row in applied:
        row["claim_id"] = state.id
        row["fingerprint"] = fingerprints[index]
        row["audit_seq"] = chain.next_seq()
        values = tuple(row[name] for name in repository.EVENT_HASHED_FIELDS)
        hashed = (*values[:_RECEIVED_AT], received, *values[_RECEIVED_AT + 1 :])
        chain.append(CASE_EVENT_KIND, row["client_event_id"], batch.principal.actor, row_content_hash(hashed))
        event_rows.append((tenant_id, *values))
        acks[index] = Ack(row["client_event_id"], state.number, "applied", row["audit_seq"])
    repository.insert_events(session, event_rows)
    repository.update_claims(
        session,
        tenant_id,
        [{"id": state.id, **changes[state.number]} for state in touched.values() if state.new_row is None],
    )
    # The events' entries first: a subscriber may append its own (a review opened, a catastrophe joined).
    chain.close()
    # Subscribers (clocks, claimant messages in the outbox, triage and risk) write in this same transaction.
    published = [_case_change(state, row, inserted.get(state.number)) for _, state, row in applied]
    reactions.publish(reactions.CASE_EVENTS, session, tenant_id, published)

    for index, event in enumerate(events):
        if acks[index] is None:
            original = acks[seen_in_batch[event.event_id]]
            assert original is not None
            acks[index] = Ack(event.event_id, event.claim_number, "duplicate", original.audit_seq)
    return [ack for ack in acks if ack is not None]


def _case_change(
    state: repository.ClaimState, row: dict[str, Any], inserted: Mapping[str, Any] | None = None
) -> CaseChange:
    assert state.id is not None
    reported = row["event_type"] == EventType.REPORTED.value
    return CaseChange(
        claim_id=state.id,
        line=state.line,
        # A reopened claim is tiered on its assessed amount when there is one.
        amount_fen=state.assessed_amount_fen
        if row["to_status"] == "reopened" and state.assessed_amount_fen
        else state.reported_amount_fen,
        event_type=row["event_type"],
        from_status=row["from_status"],
        to_status=row["to_status"],
        event_ref=row["client_event_id"],
        at=row["occurred_at"],
        actor=row["actor"],
        coverage=state.coverage,
        reason=row["reason"],
        report_data=state.report_data if reported else None,
        contact_hashes=state.contact_hashes if reported else None,
        claim_row=inserted if reported else None,
    )


def _apply(
    session: Session, batch: _Batch, index: int, event: EventIn
) -> tuple[repository.ClaimState, dict[str, Any]] | None:
    state = batch.claims.get(event.claim_number)
    occurred = event.occurred_at.astimezone(dt.UTC)
    row: dict[str, Any] = {
        "tenant_id": batch.tenant_id,
        "client_event_id": event.event_id,
        "event_type": event.type.value,
        "from_status": None,
        "to_status": None,
        "occurred_at": occurred,
        "received_at": batch.now,
        "actor": event.actor or batch.principal.actor,
        "reason": event.reason,
        "data": None,
    }

    if event.type is EventType.REPORTED:
        if state is not None:
            batch.problem(index, event, "claim_number", f"claim {event.claim_number} was already reported", 409)
            return None
        state = _new_claim(session, batch, index, event, occurred)
        if state is None:
            return None
        row["to_status"] = state.status
        row["data"] = canonical_json(state.report_data) if state.report_data else None
        batch.claims[event.claim_number] = state
    elif state is None:
        batch.problem(index, event, "claim_number", f"unknown claim {event.claim_number}", 404)
        return None
    elif state.last_event_at is not None and occurred < state.last_event_at:
        # An event that goes back in time would stop clocks before they started.
        batch.problem(
            index,
            event,
            "occurred_at",
            f"occurred_at {_iso(occurred)} is before the last event of claim {state.number} "
            f"({_iso(state.last_event_at)}); a claim's events must come in time order",
        )
        return None
    elif event.type is EventType.TRANSITION:
        if not _transition(batch, index, event, state, occurred, row):
            return None
    elif event.type is EventType.ASSIGNED:
        if not event.assignee:
            batch.problem(index, event, "assignee", "an 'assigned' event needs an assignee")
            return None
        user_id = batch.user_ids.get(event.assignee)
        if user_id is None:
            batch.problem(index, event, "assignee", f"no user {event.assignee!r} in this tenant")
            return None
        state.assignee_id = user_id
        row["data"] = canonical_json({"assignee": event.assignee})
    elif event.type is EventType.AMOUNTS:
        if event.assessed_amount is None and event.paid_amount is None:
            batch.problem(index, event, "assessed_amount", "an 'amounts' event needs assessed_amount or paid_amount")
            return None
        data: dict[str, str] = {}
        if event.assessed_amount is not None:
            state.assessed_amount_fen = to_fen(event.assessed_amount)
            data["assessed_amount"] = str(event.assessed_amount)
        if event.paid_amount is not None:
            state.paid_amount_fen = to_fen(event.paid_amount)
            data["paid_amount"] = str(event.paid_amount)
        row["data"] = canonical_json(data)
    state.event_count += 1
    state.last_event_at = occurred
    return state, row


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _new_claim(
    session: Session, batch: _Batch, index: int, event: EventIn, occurred: dt.datetime
) -> repository.ClaimState | None:
    report = event.claim
    if report is None:
        batch.problem(index, event, "claim", "a 'reported' event needs the claim details")
        return None
    try:
        workflow = workflow_service.get_workflow(report.line)
    except workflow_service.UnknownLine as exc:
        batch.problem(index, event, "claim.line", str(exc.args[0]))
        return None
    org_id = None
    if report.org_code is not None:
        if batch.org_ids is None:
            batch.org_ids = tenancy_repository.org_ids_by_code(session)
        org_id = batch.org_ids.get(report.org_code)
        if org_id is None:
            batch.problem(index, event, "claim.org_code", f"unknown org unit {report.org_code!r}")
            return None
    if report.coverage is Coverage.COMPULSORY and report.line != COMPULSORY_LINE:
        # 交强险 is motor third-party liability cover: a compulsory claim of another line is a feed error.
        batch.problem(index, event, "claim.coverage", f"compulsory (交强险) cover is motor only, not {report.line!r}")
        return None
    if report.region_code is not None and report.region_code not in tenancy_service.region_codes():
        batch.problem(index, event, "claim.region_code", f"unknown region code {report.region_code!r}")
        return None
    cipher = field_cipher()
    claimant = report.claimant
    row = {
        "tenant_id": batch.tenant_id,
        "number": event.claim_number,
        "org_unit_id": org_id,
        "region_code": report.region_code,
        "line": report.line,
        "policy_number": report.policy_number,
        "claimant_name": claimant.name,
        "claimant_phone_enc": cipher.encrypt(claimant.phone),
        "claimant_id_number_enc": cipher.encrypt(claimant.id_number),
        "claimant_phone_hash": keyed_hash(claimant.phone),
        "claimant_email_enc": cipher.encrypt(claimant.email),
        "claimant_email_hash": keyed_hash(claimant.email),
        "reported_amount_fen": to_fen(report.reported_amount),
        "coverage": report.coverage.value if report.coverage is not None else None,
        "assessed_amount_fen": None,
        "paid_amount_fen": None,
        "status": workflow.initial,
        "assignee_id": None,
        "reported_at": occurred,
        "status_changed_at": occurred,
        "closed_at": None,
        "reopen_count": 0,
        "event_count": 0,
        "created_at": batch.now,
        "updated_at": batch.now,
        # The claim's permanent random number for inspection sampling (inspections/draw.py).
        "sample_key": new_sample_key(),
        # Triage and risk write these in the same transaction (CASE_EVENTS subscribers).
        "route": "normal",
        "priority": 0,
        "triage_decision_id": None,
        "risk_score": None,
        "risk_level": None,
        "catastrophe_id": None,
        "vulnerable": False,
    }
    report_data, hashes = _report_facts(report, occurred)
    return repository.ClaimState(
        id=None,
        number=event.claim_number,
        line=report.line,
        status=workflow.initial,
        status_changed_at=occurred,
        closed_at=None,
        reopen_count=0,
        event_count=0,
        assessed_amount_fen=None,
        paid_amount_fen=None,
        assignee_id=None,
        reported_amount_fen=to_fen(report.reported_amount),
        new_row=row,
        coverage=report.coverage.value if report.coverage is not None else None,
        report_data=report_data,
        contact_hashes=hashes,
    )


def claimant_age(id_number: str | None, on: dt.date) -> int | None:
    """Age in whole years on ``on`` from a resident ID number's date of birth (18 characters: YYYYMMDD at
    7–14; the old 15-digit form: YYMMDD at 7–12, born 19YY); None for other documents or a bad date."""
    if not id_number:
        return None
    text = id_number.strip().upper()
    try:
        if len(text) == 18 and text[:17].isdigit():
            born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
        elif len(text) == 15 and text.isdigit():
            born = dt.date(1900 + int(text[6:8]), int(text[8:10]), int(text[10:12]))
        else:
            return None
    except ValueError:
        return None
    if born > on:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _report_facts(report: Any, occurred: dt.datetime) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The report's details as kept on the reported event (no personal identifiers: the claimant's age, not
    the ID number; no bank account), and keyed hashes of the identifiers for triage's contact index."""
    details = report.details
    data: dict[str, Any] = {}
    if details is not None:
        data["details"] = details.model_dump(mode="json", exclude_none=True, exclude={"bank_account"})
    accident = details.accident_at if details is not None and details.accident_at is not None else occurred
    age = claimant_age(report.claimant.id_number, accident.date())
    if age is not None:
        data["claimant_age"] = age
    hashes = {
        kind: value
        for kind, value in (
            ("phone", keyed_hash(report.claimant.phone)),
            ("id", keyed_hash(report.claimant.id_number)),
            ("bank", keyed_hash(f"bank:{details.bank_account}") if details and details.bank_account else None),
            ("name", keyed_hash(f"name:{report.claimant.name.strip()}")),
        )
        if value
    }
    return data or None, hashes


def _transition(
    batch: _Batch,
    index: int,
    event: EventIn,
    state: repository.ClaimState,
    occurred: dt.datetime,
    row: dict[str, Any],
) -> bool:
    if not event.to_status:
        batch.problem(index, event, "to_status", "a 'transition' event needs to_status")
        return False
    workflow = workflow_service.get_workflow(state.line)
    if event.to_status not in workflow.states:
        batch.problem(index, event, "to_status", f"unknown status {event.to_status!r} for {state.line} claims")
        return False
    rule = workflow.transition(state.status, event.to_status)
    if rule is None:
        allowed = ", ".join(workflow.outgoing.get(state.status, [])) or "none"
        batch.problem(
            index,
            event,
            "to_status",
            f"invalid transition {state.status} -> {event.to_status} for claim {state.number} "
            f"({state.line}); allowed from {state.status}: {allowed}",
        )
        return False
    if not rule.allows_route(state.route):
        routes = ", ".join(sorted(rule.routes or ()))
        batch.problem(
            index,
            event,
            "to_status",
            f"transition {state.status} -> {event.to_status} is only for claims on route {routes}; "
            f"claim {state.number} is on route {state.route}",
        )
        return False
    if batch.principal.role.value not in rule.roles:
        batch.problem(
            index,
            event,
            "to_status",
            f"role {batch.principal.role.value!r} may not move a claim {state.status} -> {event.to_status}",
            403,
        )
        return False
    if rule.reason_required and not (event.reason and event.reason.strip()):
        batch.problem(index, event, "reason", f"transition {state.status} -> {event.to_status} requires a reason")
        return False
    row["from_status"] = state.status
    row["to_status"] = event.to_status
    # Milestones move only on a real transition: the status clock starts when the status changed.
    state.status = event.to_status
    state.status_changed_at = occurred
    if workflow.is_terminal(event.to_status):
        state.closed_at = occurred
    elif event.to_status == "reopened":
        state.reopen_count += 1
        state.closed_at = None
    return True


class ClaimNotFound(NotFound):
    """Unknown claim, or another tenant's: both look the same to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__("number", message)


def get_claim(session: Session, number: str) -> Claim:
    claim = repository.claim_by_number(session, number)
    if claim is None:
        raise ClaimNotFound(f"no claim {number}")
    return claim


class _EventContentSource:
    def content_hashes(self, session: Session, tenant_id: int, first_seq: int, last_seq: int) -> dict[int, str]:
        fields = repository.EVENT_HASHED_FIELDS
        seq_at = fields.index("audit_seq")
        return {
            row[seq_at]: row_content_hash(row)
            for row in repository.event_content_rows(session, tenant_id, first_seq, last_seq)
        }

    def count(self, session: Session, tenant_id: int, after_seq: int = 0) -> int:
        return repository.count_events(session, tenant_id, after_seq)


audit_service.register_content_source(CASE_EVENT_KIND, _EventContentSource())


def claim_summary(
    claim: Claim, locale: str, assignee_names: dict[int, str], org_names: dict[int, str]
) -> dict[str, Any]:
    """A claim as shown in lists and exports: labels in the reader's language, personal data masked."""
    return {
        "number": claim.number,
        "line": claim.line,
        "line_label": workflow_service.line_label(claim.line, locale),
        "status": claim.status,
        "status_label": workflow_service.state_label(claim.line, claim.status, locale),
        "org_unit": org_names.get(claim.org_unit_id) if claim.org_unit_id else None,
        "region_code": claim.region_code,
        "policy_number": claim.policy_number,
        "claimant_name": mask_name(claim.claimant_name),
        "claimant_phone": mask_phone(field_cipher().decrypt(claim.claimant_phone_enc)),
        "reported_amount": from_fen(claim.reported_amount_fen),
        "assessed_amount": from_fen(claim.assessed_amount_fen),
        "paid_amount": from_fen(claim.paid_amount_fen),
        "assignee": assignee_names.get(claim.assignee_id) if claim.assignee_id else None,
        "reported_at": claim.reported_at,
        "status_changed_at": claim.status_changed_at,
        "closed_at": claim.closed_at,
        # Why a claim stands first in a list: the triage route and priority (green channel, catastrophe).
        "route": claim.route,
        "priority": claim.priority,
    }


def claim_detail(
    claim: Claim, locale: str, assignee_names: dict[int, str], org_names: dict[int, str]
) -> dict[str, Any]:
    return claim_summary(claim, locale, assignee_names, org_names) | {
        "claimant_id_number": mask_id_number(field_cipher().decrypt(claim.claimant_id_number_enc)),
        "reopen_count": claim.reopen_count,
    }


def list_claims(
    session: Session, filters: repository.ClaimFilter, page: int, page_size: int, locale: str
) -> dict[str, Any]:
    total, claims = repository.list_claims(session, filters, page, page_size)
    assignees = auth_repository.usernames_by_id(session, {c.assignee_id for c in claims if c.assignee_id})
    orgs = {unit.id: unit.name for unit in tenancy_repository.org_units(session)}
    return {
        "total": total,
        "page": page,
        "page_size": page_size,
        "items": [claim_summary(c, locale, assignees, orgs) for c in claims],
    }


def claim_with_timeline(session: Session, number: str, locale: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    claim = get_claim(session, number)
    assignees = auth_repository.usernames_by_id(session, {claim.assignee_id} if claim.assignee_id else set())
    orgs = {unit.id: unit.name for unit in tenancy_repository.org_units(session)}
    events = [
        {
            "event_id": e.client_event_id,
            "type": e.event_type,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "from_label": workflow_service.state_label(claim.line, e.from_status, locale) if e.from_status else None,
            "to_label": workflow_service.state_label(claim.line, e.to_status, locale) if e.to_status else None,
            "occurred_at": e.occurred_at,
            "received_at": e.received_at,
            "actor": e.actor,
            "reason": scrub_text(e.reason) if e.reason else None,
            "audit_seq": e.audit_seq,
        }
        for e in repository.timeline(session, claim.id, claim.written_since())
    ]
    return claim_detail(claim, locale, assignees, orgs), events


@dataclass(frozen=True)
class ClosedClaim:
    """A claim closed (or rejected, or withdrawn: see ``status``) as of its latest closure."""

    id: int
    tenant_id: int
    number: str
    status: str
    closed_at: dt.datetime
    org_unit_id: int | None
    region_code: str | None
    line: str
    assignee_id: int | None
    reopen_count: int  # closures before this one were undone by this many reopenings


def closed_claims_between(session: Session, since: dt.datetime, until: dt.datetime) -> list[ClosedClaim]:
    """The session's tenant's claims whose current closure is in [since, until), oldest first."""
    return [
        ClosedClaim(**dict(zip(repository.CLOSED_CLAIM_FIELDS, row, strict=True)))
        for row in repository.closed_between(session, since, until)
    ]
