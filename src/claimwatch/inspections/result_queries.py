"""Read models of the inspector's side: the worklist (my sampled cases and my reviews, by due date) and
one inspection as the scorecard form and the API show it (card, outcomes of both rounds, evidence,
findings, review)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from claimwatch.auth.models import User
from claimwatch.inspections import findings, scorecards, scoring
from claimwatch.inspections.models import Inspection, InspectionFinding, InspectionReview
from claimwatch.subjects import registry as subjects
from claimwatch.subjects.registry import SubjectSummary

OPEN = (scoring.ASSIGNED, scoring.IN_PROGRESS)


def inspection_url(inspection_id: int) -> str:
    return f"/inspections/{inspection_id}"


def summaries(session: Session, tenant_id: int, rows: list[Inspection]) -> dict[tuple[str, int], SubjectSummary]:
    found: dict[tuple[str, int], SubjectSummary] = {}
    by_kind: dict[str, list[int]] = {}
    for row in rows:
        by_kind.setdefault(row.subject_kind, []).append(row.subject_id)
    for kind_code, ids in by_kind.items():
        try:
            kind = subjects.get(kind_code)
        except Exception:  # noqa: BLE001 - a kind no longer wired: shown by its reference only
            continue
        for subject_id, summary in kind.describe(session, tenant_id, ids).items():
            found[(kind_code, subject_id)] = summary
    return found


def _mine(principal_user_id: int) -> list[ColumnElement[bool]]:
    return [Inspection.inspector_id == principal_user_id, Inspection.status.in_(OPEN)]


def my_count(session: Session, user_id: int) -> int:
    return session.execute(select(func.count()).select_from(Inspection).where(*_mine(user_id))).scalar_one()


def my_inspections(session: Session, user_id: int, limit: int = 200, offset: int = 0) -> list[Inspection]:
    return list(
        session.scalars(
            select(Inspection)
            .where(*_mine(user_id))
            .order_by(Inspection.due_at.is_(None), Inspection.due_at, Inspection.id)
            .limit(limit)
            .offset(offset)
        )
    )


def _reviews(user_id: int) -> list[ColumnElement[bool]]:
    return [InspectionReview.reviewer_id == user_id, InspectionReview.status == scoring.ASSIGNED]


def review_count(session: Session, user_id: int) -> int:
    return session.execute(select(func.count()).select_from(InspectionReview).where(*_reviews(user_id))).scalar_one()


def my_reviews(
    session: Session, user_id: int, limit: int = 200, offset: int = 0
) -> list[tuple[InspectionReview, Inspection]]:
    rows = session.execute(
        select(InspectionReview, Inspection)
        .join(Inspection, Inspection.id == InspectionReview.inspection_id)
        .where(*_reviews(user_id))
        .order_by(InspectionReview.due_at.is_(None), InspectionReview.due_at, InspectionReview.id)
        .limit(limit)
        .offset(offset)
    )
    return [(review, inspection) for review, inspection in rows]


def worklist_row(inspection: Inspection, summary: SubjectSummary | None, now: dt.datetime) -> dict[str, Any]:
    due = inspection.due_at
    return {
        "id": inspection.id,
        "url": inspection_url(inspection.id),
        "subject_kind": inspection.subject_kind,
        "subject_id": inspection.subject_id,
        "number": summary.number if summary else f"{inspection.subject_kind}:{inspection.subject_id}",
        "title": summary.title if summary else "",
        "subject_url": summary.url if summary else None,
        "status": inspection.status,
        "scorecard": inspection.scorecard_code,
        "due_at": due,
        "overdue": due is not None and due < now,
    }


def view(session: Session, inspection: Inspection, locale: str, user_id: int | None) -> dict[str, Any]:
    """One inspection with everything the form and the API show."""
    card = scorecards.load(inspection.scorecard_code)
    first = scoring.results(session, inspection.id, scoring.FIRST)
    second = scoring.results(session, inspection.id, scoring.REVIEW)
    facts = scoring.subject_facts(session, inspection)
    review = scoring.review_of(session, inspection.id)
    summary = summaries(session, inspection.tenant_id, [inspection]).get(
        (inspection.subject_kind, inspection.subject_id)
    )
    reviewer = session.get(User, review.reviewer_id) if review and review.reviewer_id else None
    inspector = session.get(User, inspection.inspector_id) if inspection.inspector_id else None
    items = []
    for item in card.items:
        mine, theirs = first.get(item.code), second.get(item.code)
        items.append(
            {
                "code": item.code,
                "text": item.text(locale),
                "basis": item.basis,
                "weight": item.weight,
                "critical": item.critical,
                "na_allowed": item.na.permits(facts),
                "outcome": mine.outcome if mine else "",
                "comment": mine.comment if mine else "",
                "review_outcome": theirs.outcome if theirs else None,
                "review_comment": theirs.comment if theirs else None,
            }
        )
    finding_rows = list(
        session.scalars(
            select(InspectionFinding)
            .where(InspectionFinding.inspection_id == inspection.id)
            .order_by(InspectionFinding.id)
        )
    )
    return {
        "id": inspection.id,
        "url": inspection_url(inspection.id),
        "status": inspection.status,
        "subject": {
            "kind": inspection.subject_kind,
            "id": inspection.subject_id,
            "number": summary.number if summary else str(inspection.subject_id),
            "title": summary.title if summary else "",
            "url": summary.url if summary else None,
        },
        "scorecard": {"code": card.code, "name": card.name(locale), "pass_mark": card.pass_mark, "digest": card.digest},
        "inspector": inspector.display_name if inspector else None,
        "is_inspector": user_id is not None and inspection.inspector_id == user_id,
        "due_at": inspection.due_at,
        "started_at": inspection.started_at,
        "submitted_at": inspection.submitted_at,
        "score": inspection.score,
        "passed": inspection.passed,
        "critical_failed": inspection.critical_failed,
        "error": inspection.error,
        "comment": inspection.comment,
        "items": items,
        "evidence": [
            {
                "id": e.id,
                "item_code": e.item_code,
                "filename": e.filename,
                "size_bytes": e.size_bytes,
                "sha256": e.sha256,
                "uploaded_at": e.uploaded_at,
            }
            for e in scoring.evidence_of(session, inspection.id)
        ],
        "findings": [findings.as_dict(f, inspection, locale) for f in finding_rows],
        "review": None
        if review is None
        else {
            "status": review.status,
            "reviewer": reviewer.display_name if reviewer else None,
            "is_reviewer": user_id is not None and review.reviewer_id == user_id,
            "due_at": review.due_at,
            "score": review.score,
            "agreed": review.agreed,
            "disagreements": scoring.disagreements(review),
            "submitted_at": review.submitted_at,
        },
    }
