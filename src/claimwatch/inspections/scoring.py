"""Scoring a sampled case (质检打分): the inspector starts, saves drafts, submits the result against the
plan's scorecard, uploads evidence and records findings; a share of submitted inspections goes to a second
inspector for review (复核), whose round is compared item by item with the first.

Rules (each refusal names its field, nothing is written — the caller's transaction rolls back):

* only the assigned inspector scores (``inspector``), never one who handled the case (``inspector``:
  the subject kind's ``handled_by``), and a result is submitted once (``status``);
* every outcome is for an item of the card (``items.<code>``), is ``pass | fail | na``
  (``items.<code>.outcome``), N/A only where the card's rule permits it for this subject's facts, a failed
  item says why (``items.<code>.comment``), and a submission scores every item;
* score = weighted share of the passed items among the applicable ones, ×100; a failed critical item fails
  the case whatever the score; ``error`` (the unit of the audit-accuracy estimate) = any failed item.

Every state change writes one audit event in the same transaction. Service functions take the session
they are given and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role, User
from claimwatch.auth.principal import Principal
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.complaints.models import Complaint
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, FieldProblem, Forbidden, Invalid, NotFound
from claimwatch.inspections import scorecards
from claimwatch.inspections.models import (
    Inspection,
    InspectionDraw,
    InspectionEvidence,
    InspectionItemResult,
    InspectionPlan,
    InspectionReview,
)
from claimwatch.inspections.scorecards import Scorecard
from claimwatch.materials import content, storage
from claimwatch.materials import service as materials_service
from claimwatch.subjects import registry as subjects

FIRST, REVIEW = "first", "review"
ASSIGNED, IN_PROGRESS, SUBMITTED, REVIEWED = "assigned", "in_progress", "submitted", "reviewed"
DEFAULT_REVIEW_SHARE = 0.1
DEFAULT_DUE_DAYS = 10
MAX_COMMENT = 2000


@dataclass(frozen=True)
class Entry:
    outcome: str
    comment: str | None = None


@dataclass(frozen=True)
class Score:
    score: float
    passed: bool
    critical_failed: bool
    error: bool
    failed: tuple[str, ...]


# -- reading ---------------------------------------------------------------------------------------------


def get(session: Session, inspection_id: int) -> Inspection:
    found = session.get(Inspection, inspection_id)
    if found is None:
        raise NotFound("inspection", f"no inspection {inspection_id}")
    return found


def card_of(inspection: Inspection) -> Scorecard:
    return scorecards.load(inspection.scorecard_code)


def plan_definition(session: Session, inspection: Inspection) -> dict[str, Any]:
    plan = session.get(InspectionPlan, inspection.plan_id)
    try:
        return dict(json.loads(plan.definition)) if plan is not None and plan.definition else {}
    except (ValueError, TypeError):
        return {}


def results(session: Session, inspection_id: int, round_: str = FIRST) -> dict[str, InspectionItemResult]:
    rows = session.scalars(
        select(InspectionItemResult).where(
            InspectionItemResult.inspection_id == inspection_id, InspectionItemResult.round == round_
        )
    )
    return {row.item_code: row for row in rows}


def review_of(session: Session, inspection_id: int) -> InspectionReview | None:
    return session.scalars(select(InspectionReview).where(InspectionReview.inspection_id == inspection_id)).first()


def subject_facts(session: Session, inspection: Inspection) -> dict[str, Any]:
    """What the N/A rules may ask of the inspected record (:data:`scorecards.FACTS`). A subject kind may
    answer itself (an optional ``facts(session, tenant_id, id)``); claims and complaints are read here."""
    try:
        kind = subjects.get(inspection.subject_kind)
    except Invalid:
        kind = None
    own = getattr(kind, "facts", None)
    if callable(own):
        return dict(own(session, inspection.tenant_id, inspection.subject_id))
    if inspection.subject_kind == "claim":
        claim = session.get(Claim, inspection.subject_id)
        if claim is None:
            return {}
        reached = set(
            session.scalars(
                select(CaseEvent.to_status).where(CaseEvent.claim_id == claim.id, CaseEvent.to_status.is_not(None))
            )
        )
        return {
            "rejected": claim.status == "rejected" or "rejected" in reached,
            "paid": bool(claim.paid_amount_fen) or "payment" in reached,
            "closed": claim.status == "closed",
            "withdrawn": claim.status == "withdrawn",
            "reopened": (claim.reopen_count or 0) > 0,
            "line": claim.line,
        }
    if inspection.subject_kind == "complaint":
        complaint = session.get(Complaint, inspection.subject_id)
        if complaint is None:
            return {}
        return {
            "decided": complaint.decided_at is not None,
            "upheld": complaint.decision_outcome in ("upheld", "partly_upheld"),
            "review_requested": complaint.review_requested_at is not None,
            "withdrawn": complaint.status == "withdrawn",
            "category": complaint.category,
        }
    return {}


def handlers_of(session: Session, inspection: Inspection) -> set[int]:
    """Who handled the inspected record: the subject kind's ``handled_by`` plus the handler at the draw."""
    found: set[int] = {inspection.handler_id} if inspection.handler_id else set()
    try:
        kind = subjects.get(inspection.subject_kind)
    except Invalid:
        return found
    handled = kind.handled_by(session, inspection.tenant_id, [inspection.subject_id])
    return found | set(handled.get(inspection.subject_id, set()))


# -- rules -----------------------------------------------------------------------------------------------


def compute(card: Scorecard, outcomes: Mapping[str, str]) -> Score:
    """Score = weighted share of passed items among applicable (pass or fail) ones, ×100. Critical items of
    weight 0 count only through ``critical_failed``. No applicable item: refused (nothing was judged)."""
    applicable = [i for i in card.items if outcomes.get(i.code) in ("pass", "fail")]
    if not applicable:
        raise Invalid("items", "every item is N/A: at least one item must be judged pass or fail")
    failed = tuple(i.code for i in applicable if outcomes[i.code] == "fail")
    total = sum(i.weight for i in applicable)
    got = sum(i.weight for i in applicable if outcomes[i.code] == "pass")
    score = round(100.0 * got / total, 2) if total else (0.0 if failed else 100.0)
    critical_failed = any(i.critical for i in applicable if i.code in failed)
    passed = score >= card.pass_mark and not critical_failed
    return Score(score, passed, critical_failed, bool(failed), failed)


def validate(
    card: Scorecard, entries: Mapping[str, Entry], facts: Mapping[str, Any], *, complete: bool
) -> dict[str, Entry]:
    """The entries checked against the card (every problem at once, each naming ``items.<code>…``)."""
    problems: list[FieldProblem] = []
    clean: dict[str, Entry] = {}
    for code, entry in entries.items():
        item = card.item(code)
        if item is None:
            problems.append(FieldProblem(f"items.{code}", f"{code!r} is not an item of scorecard {card.code!r}"))
            continue
        outcome = (entry.outcome or "").strip()
        comment = (entry.comment or "").strip() or None
        if outcome == "" and not complete:
            continue  # a draft may leave an item open
        if outcome not in scorecards.OUTCOMES:
            problems.append(FieldProblem(f"items.{code}.outcome", f"outcome must be pass, fail or na, not {outcome!r}"))
            continue
        if outcome == "na" and not item.na.permits(facts):
            problems.append(
                FieldProblem(
                    f"items.{code}.outcome", f"N/A is not allowed for {code!r} here (rule: {item.na.describe()})"
                )
            )
            continue
        if comment is not None and len(comment) > MAX_COMMENT:
            problems.append(FieldProblem(f"items.{code}.comment", f"at most {MAX_COMMENT} characters"))
            continue
        if outcome == "fail" and comment is None and complete:
            problems.append(FieldProblem(f"items.{code}.comment", "a failed item needs a comment saying why"))
            continue
        clean[code] = Entry(outcome, comment)
    if complete:
        for item in card.items:
            if item.code not in entries or (entries[item.code].outcome or "").strip() == "":
                problems.append(FieldProblem(f"items.{item.code}", f"item {item.code!r} is required"))
    if problems:
        first = problems[0]
        raise Invalid(first.field, first.message, problems=problems)
    return clean


def _check_inspector(session: Session, principal: Principal, inspection: Inspection) -> None:
    if principal.user_id is None or inspection.inspector_id != principal.user_id:
        raise Forbidden("inspector", "this inspection is assigned to another inspector")
    if principal.user_id in handlers_of(session, inspection):
        raise Forbidden("inspector", "you handled this case: another inspector must inspect it")


def _audit(session: Session, inspection: Inspection, kind: str, actor: str, payload: dict[str, Any]) -> int:
    return audit_service.record(
        session,
        inspection.tenant_id,
        f"inspection.{kind}",
        f"inspection:{inspection.id}",
        actor,
        {"inspection": inspection.id, "subject": f"{inspection.subject_kind}:{inspection.subject_id}"} | payload,
    )


def _store(
    session: Session, inspection: Inspection, round_: str, entries: Mapping[str, Entry], actor: str, at: dt.datetime
) -> None:
    existing = results(session, inspection.id, round_)
    for code, entry in entries.items():
        row = existing.get(code)
        if row is None:
            session.add(
                InspectionItemResult(
                    tenant_id=inspection.tenant_id,
                    inspection_id=inspection.id,
                    round=round_,
                    item_code=code,
                    outcome=entry.outcome,
                    comment=entry.comment,
                    recorded_by=actor,
                    recorded_at=at,
                )
            )
        elif (row.outcome, row.comment) != (entry.outcome, entry.comment):
            row.outcome, row.comment, row.recorded_by, row.recorded_at = entry.outcome, entry.comment, actor, at
    session.flush()


def _open(inspection: Inspection) -> None:
    if inspection.status in (SUBMITTED, REVIEWED):
        raise Conflict("status", f"the result of inspection {inspection.id} was already submitted")


# -- the inspector's steps --------------------------------------------------------------------------------


def start(session: Session, principal: Principal, inspection_id: int, at: dt.datetime | None = None) -> Inspection:
    inspection = get(session, inspection_id)
    _check_inspector(session, principal, inspection)
    _open(inspection)
    if inspection.status == ASSIGNED:
        at = at or utc_now()
        inspection.status, inspection.started_at = IN_PROGRESS, at
        inspection.scorecard_digest = card_of(inspection).digest
        _audit(session, inspection, "started", principal.actor, {"at": at.isoformat()})
        session.flush()
    return inspection


def save_draft(
    session: Session,
    principal: Principal,
    inspection_id: int,
    entries: Mapping[str, Entry],
    comment: str | None = None,
    at: dt.datetime | None = None,
) -> Inspection:
    """Keep what is filled in so far (items may stay open; what is given is checked)."""
    inspection = start(session, principal, inspection_id, at)
    clean = validate(card_of(inspection), entries, subject_facts(session, inspection), complete=False)
    at = at or utc_now()
    _store(session, inspection, FIRST, clean, principal.actor, at)
    inspection.comment = (comment or "").strip() or inspection.comment
    _audit(
        session, inspection, "draft_saved", principal.actor, {"items": {c: e.outcome for c, e in sorted(clean.items())}}
    )
    return inspection


def submit(
    session: Session,
    principal: Principal,
    inspection_id: int,
    entries: Mapping[str, Entry],
    comment: str | None = None,
    at: dt.datetime | None = None,
) -> Inspection:
    """The inspector's result: every item scored, the score and error computed, once. A share of results
    (the plan's ``review_share``) is given to a second inspector for review."""
    inspection = get(session, inspection_id)
    _check_inspector(session, principal, inspection)
    _open(inspection)
    card = card_of(inspection)
    clean = validate(card, entries, subject_facts(session, inspection), complete=True)
    result = compute(card, {code: e.outcome for code, e in clean.items()})
    at = at or utc_now()
    _store(session, inspection, FIRST, clean, principal.actor, at)
    # Items stored by a draft and absent now cannot remain: the submission is the whole card.
    inspection.status = SUBMITTED
    inspection.started_at = inspection.started_at or at
    inspection.submitted_at = at
    inspection.scorecard_digest = card.digest
    inspection.score, inspection.passed = result.score, result.passed
    inspection.critical_failed, inspection.error = result.critical_failed, result.error
    inspection.comment = (comment or "").strip() or inspection.comment
    _audit(
        session,
        inspection,
        "submitted",
        principal.actor,
        {
            "scorecard": card.code,
            "digest": card.digest,
            "items": {c: e.outcome for c, e in sorted(clean.items())},
            "score": result.score,
            "passed": result.passed,
            "critical_failed": result.critical_failed,
            "error": result.error,
            "at": at.isoformat(),
        },
    )
    _maybe_review(session, inspection, principal.actor, at)
    session.flush()
    return inspection


# -- review (复核) ----------------------------------------------------------------------------------------


def _unit(*parts: Any) -> float:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def review_drawn(seed: int, inspection_id: int, share: float) -> bool:
    """Whether an inspection goes to review: deterministic from the draw's seed and the inspection id, so the
    choice can be reproduced from the audit chain like the sample itself."""
    return _unit("review", seed, inspection_id) < share


def _candidates(session: Session, inspection: Inspection, definition: Mapping[str, Any]) -> list[User]:
    query = select(User).where(User.tenant_id == inspection.tenant_id, User.active.is_(True))
    names = definition.get("inspectors")
    if isinstance(names, list) and names:
        query = query.where(User.username.in_([str(n) for n in names]))
    else:
        query = query.where(User.role == Role.INSPECTOR)
    excluded = handlers_of(session, inspection) | {inspection.inspector_id}
    return [user for user in session.scalars(query.order_by(User.id)) if user.id not in excluded]


def _maybe_review(session: Session, inspection: Inspection, actor: str, at: dt.datetime) -> InspectionReview | None:
    definition = plan_definition(session, inspection)
    share = definition.get("review_share", DEFAULT_REVIEW_SHARE)
    share = float(share) if isinstance(share, int | float) and not isinstance(share, bool) else DEFAULT_REVIEW_SHARE
    draw = session.get(InspectionDraw, inspection.draw_id)
    seed = draw.seed if draw is not None else 0
    if not review_drawn(seed, inspection.id, share):
        return None
    candidates = _candidates(session, inspection, definition)
    reviewer = min(candidates, key=lambda u: _unit("reviewer", seed, inspection.id, u.id)) if candidates else None
    due_days = definition.get("due_days", DEFAULT_DUE_DAYS)
    due_days = due_days if isinstance(due_days, int) and not isinstance(due_days, bool) else DEFAULT_DUE_DAYS
    review = InspectionReview(
        tenant_id=inspection.tenant_id,
        inspection_id=inspection.id,
        reviewer_id=reviewer.id if reviewer else None,
        status=ASSIGNED,
        due_at=at + dt.timedelta(days=due_days),
        created_at=at,
    )
    session.add(review)
    inspection.needs_review = True
    session.flush()
    _audit(
        session,
        inspection,
        "review_assigned",
        actor,
        {"reviewer": reviewer.username if reviewer else None, "share": share, "seed": seed, "at": at.isoformat()},
    )
    return review


def assign_review(
    session: Session, principal: Principal, inspection_id: int, reviewer_username: str, at: dt.datetime | None = None
) -> InspectionReview:
    """A quality manager gives a submitted inspection (drawn for review or not) to a reviewer."""
    inspection = get(session, inspection_id)
    if inspection.status != SUBMITTED:
        raise Conflict("status", "only a submitted, not yet reviewed inspection can be given for review")
    reviewer = session.scalars(
        select(User).where(User.tenant_id == inspection.tenant_id, User.username == reviewer_username)
    ).first()
    if reviewer is None or not reviewer.active:
        raise Invalid("reviewer", f"no active user {reviewer_username!r} at your company")
    if reviewer.id == inspection.inspector_id:
        raise Invalid("reviewer", "the reviewer must not be the inspector who scored the case")
    if reviewer.id in handlers_of(session, inspection):
        raise Invalid("reviewer", "the reviewer handled this case")
    at = at or utc_now()
    review = review_of(session, inspection.id)
    if review is not None and review.status != ASSIGNED:
        raise Conflict("status", "this inspection was already reviewed")
    if review is None:
        review = InspectionReview(
            tenant_id=inspection.tenant_id, inspection_id=inspection.id, status=ASSIGNED, created_at=at
        )
        session.add(review)
    review.reviewer_id = reviewer.id
    review.due_at = review.due_at or at + dt.timedelta(days=DEFAULT_DUE_DAYS)
    inspection.needs_review = True
    session.flush()
    _audit(
        session, inspection, "review_assigned", principal.actor, {"reviewer": reviewer.username, "at": at.isoformat()}
    )
    return review


def submit_review(
    session: Session,
    principal: Principal,
    inspection_id: int,
    entries: Mapping[str, Entry],
    comment: str | None = None,
    at: dt.datetime | None = None,
) -> InspectionReview:
    """The reviewer scores the same card (round ``review``); the items scored differently are recorded."""
    inspection = get(session, inspection_id)
    review = review_of(session, inspection_id)
    if review is None:
        raise NotFound("review", f"inspection {inspection_id} has no review")
    if principal.user_id is None or review.reviewer_id != principal.user_id:
        raise Forbidden("reviewer", "this review is assigned to another inspector")
    if principal.user_id in handlers_of(session, inspection):
        raise Forbidden("reviewer", "you handled this case: another inspector must review it")
    if review.status != ASSIGNED:
        raise Conflict("status", "this review was already submitted")
    card = card_of(inspection)
    clean = validate(card, entries, subject_facts(session, inspection), complete=True)
    result = compute(card, {code: e.outcome for code, e in clean.items()})
    at = at or utc_now()
    _store(session, inspection, REVIEW, clean, principal.actor, at)
    first = results(session, inspection.id, FIRST)
    differ = [
        {"item": code, "first": first[code].outcome if code in first else None, "review": clean[code].outcome}
        for code in card.codes
        if code in clean and (first[code].outcome if code in first else None) != clean[code].outcome
    ]
    review.status, review.submitted_at, review.score = SUBMITTED, at, result.score
    review.agreed = not differ
    review.disagreements = json.dumps(differ, ensure_ascii=False)
    review.comment = (comment or "").strip() or None
    inspection.status = REVIEWED
    session.flush()
    _audit(
        session,
        inspection,
        "reviewed",
        principal.actor,
        {
            "items": {c: e.outcome for c, e in sorted(clean.items())},
            "score": result.score,
            "agreed": not differ,
            "disagreements": differ,
            "at": at.isoformat(),
        },
    )
    return review


def disagreements(review: InspectionReview) -> list[dict[str, Any]]:
    try:
        return list(json.loads(review.disagreements or "[]"))
    except ValueError:
        return []


# -- evidence --------------------------------------------------------------------------------------------


def upload_evidence(
    session: Session,
    principal: Principal,
    inspection_id: int,
    stream: BinaryIO,
    filename: str | None,
    content_type: str | None,
    item_code: str | None = None,
    at: dt.datetime | None = None,
) -> InspectionEvidence:
    """A file for the inspection (or one item): staged with the claim documents' size limit, type sniffed,
    placed under ``inspections/<tenant>/<inspection>/<sha256>``, its hash in the audit record."""
    inspection = get(session, inspection_id)
    review = review_of(session, inspection_id)
    is_reviewer = review is not None and principal.user_id is not None and review.reviewer_id == principal.user_id
    if not is_reviewer:
        _check_inspector(session, principal, inspection)
    item = (item_code or "").strip() or None
    if item is not None and card_of(inspection).item(item) is None:
        raise Invalid("item_code", f"{item!r} is not an item of scorecard {inspection.scorecard_code!r}")
    normalised = materials_service.check_content_type(content_type)
    staged = materials_service.stage_upload(stream)
    try:
        if not materials_service.content_matches(normalised, staged.head):
            raise Invalid("file", f"the content is not a {normalised} file as its type says")
        refused = content.refusal(normalised, staged.path, staged.head, staged.size)
        if refused is not None:
            raise Invalid("file", refused)
        relative = f"inspections/{inspection.tenant_id}/{inspection.id}/{staged.sha256}"
        storage.place(staged, relative)
    finally:
        staged.discard()
    at = at or utc_now()
    name = materials_service.sanitise_filename(filename)
    seq = _audit(
        session,
        inspection,
        "evidence_added",
        principal.actor,
        {"item": item, "sha256": staged.sha256, "size": staged.size, "content_type": normalised, "at": at.isoformat()},
    )
    evidence = InspectionEvidence(
        tenant_id=inspection.tenant_id,
        inspection_id=inspection.id,
        item_code=item,
        filename=name,
        content_type=normalised,
        size_bytes=staged.size,
        sha256=staged.sha256,
        storage_path=relative,
        uploaded_by=principal.actor,
        uploaded_at=at,
        audit_seq=seq,
    )
    session.add(evidence)
    session.flush()
    return evidence


def evidence_of(session: Session, inspection_id: int) -> list[InspectionEvidence]:
    return list(
        session.scalars(
            select(InspectionEvidence)
            .where(InspectionEvidence.inspection_id == inspection_id)
            .order_by(InspectionEvidence.id)
        )
    )


def evidence_path(evidence: InspectionEvidence) -> Any:
    return storage.documents_root() / evidence.storage_path
