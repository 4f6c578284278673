"""Assignment queries (tenant-scoped by the session, see claimwatch.db)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from claimwatch.assignment.models import (
    AssignmentDecision,
    AssignmentSetting,
    HandlerLeave,
    HandlerProfile,
    LoadSnapshot,
)
from claimwatch.auth.models import User
from claimwatch.cases.models import Claim
from claimwatch.complaints.models import Complaint, ComplaintClock
from claimwatch.complaints.repository import CLOSED_STATUSES
from claimwatch.sla.models import SlaClock

_LIGHT_RANK = {"green": 0, "yellow": 1, "red": 2}
_RANK_LIGHT = {rank: light for light, rank in _LIGHT_RANK.items()}


@dataclass(frozen=True)
class OpenCase:
    kind: str
    id: int
    number: str
    user_id: int | None
    amount_fen: int | None
    light: str


def profiles(session: Session) -> list[tuple[HandlerProfile, User]]:
    rows = session.execute(
        select(HandlerProfile, User).join(User, User.id == HandlerProfile.user_id).order_by(HandlerProfile.user_id)
    ).all()
    return [(profile, user) for profile, user in rows]


def profile_for(session: Session, user_id: int) -> HandlerProfile | None:
    return session.scalars(select(HandlerProfile).where(HandlerProfile.user_id == user_id)).one_or_none()


def authority_of(session: Session, user_ids: Collection[int]) -> dict[int, int]:
    """The amount authority (权限, fen) of the handlers among ``user_ids`` that have one."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(HandlerProfile.user_id, HandlerProfile.authority_fen).where(
            HandlerProfile.user_id.in_(sorted(set(user_ids))), HandlerProfile.authority_fen.is_not(None)
        )
    )
    return {int(user_id): int(fen) for user_id, fen in rows if fen is not None}


def has_profiles(session: Session) -> bool:
    return session.scalar(select(HandlerProfile.id).limit(1)) is not None


def on_leave(session: Session, day: dt.date) -> set[int]:
    rows = session.scalars(
        select(HandlerLeave.user_id).where(HandlerLeave.starts_on <= day, HandlerLeave.ends_on >= day)
    )
    return set(rows)


def leaves(session: Session, user_ids: Collection[int], from_day: dt.date) -> list[HandlerLeave]:
    if not user_ids:
        return []
    return list(
        session.scalars(
            select(HandlerLeave)
            .where(HandlerLeave.user_id.in_(list(user_ids)), HandlerLeave.ends_on >= from_day)
            .order_by(HandlerLeave.starts_on, HandlerLeave.id)
        )
    )


def leave_by_id(session: Session, leave_id: int) -> HandlerLeave | None:
    return session.scalars(select(HandlerLeave).where(HandlerLeave.id == leave_id)).one_or_none()


def setting(session: Session) -> AssignmentSetting | None:
    return session.scalars(select(AssignmentSetting)).one_or_none()


def _worst(rank: int | None) -> str:
    return _RANK_LIGHT.get(rank or 0, "green")


def _light_rank(column: Any) -> Any:
    return func.max(case((column == "red", 2), (column == "yellow", 1), else_=0))


def open_claims(session: Session, claim_ids: Collection[int] | None = None) -> list[OpenCase]:
    """Open claims with an assignee (or the given claims), each with its worst running light."""
    rank = _light_rank(SlaClock.light)
    query = (
        select(
            Claim.id,
            Claim.number,
            Claim.assignee_id,
            func.coalesce(Claim.assessed_amount_fen, Claim.reported_amount_fen),
            rank,
        )
        .outerjoin(SlaClock, (SlaClock.claim_id == Claim.id) & (SlaClock.state != "stopped"))
        .where(Claim.closed_at.is_(None))
        .group_by(Claim.id, Claim.number, Claim.assignee_id, Claim.assessed_amount_fen, Claim.reported_amount_fen)
    )
    if claim_ids is None:
        query = query.where(Claim.assignee_id.is_not(None))
    else:
        query = query.where(Claim.id.in_(list(claim_ids)))
    return [OpenCase("claim", i, n, u, a, _worst(r)) for i, n, u, a, r in session.execute(query)]


def open_complaints(session: Session, complaint_ids: Collection[int] | None = None) -> list[OpenCase]:
    rank = _light_rank(ComplaintClock.light)
    query = (
        select(Complaint.id, Complaint.number, Complaint.handler_id, Complaint.compensation_fen, rank)
        .outerjoin(ComplaintClock, (ComplaintClock.complaint_id == Complaint.id) & (ComplaintClock.state != "stopped"))
        .where(Complaint.status.not_in(CLOSED_STATUSES))
        .group_by(Complaint.id, Complaint.number, Complaint.handler_id, Complaint.compensation_fen)
    )
    if complaint_ids is None:
        query = query.where(Complaint.handler_id.is_not(None))
    else:
        query = query.where(Complaint.id.in_(list(complaint_ids)))
    return [OpenCase("complaint", i, n, u, None, _worst(r)) for i, n, u, _, r in session.execute(query)]


def unassigned_counts(session: Session) -> tuple[int, int]:
    claims = session.scalar(
        select(func.count()).select_from(Claim).where(Claim.closed_at.is_(None), Claim.assignee_id.is_(None))
    )
    complaints = session.scalar(
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.status.not_in(CLOSED_STATUSES), Complaint.handler_id.is_(None))
    )
    return int(claims or 0), int(complaints or 0)


def claims_by_ids(session: Session, ids: Collection[int]) -> list[Claim]:
    return list(session.scalars(select(Claim).where(Claim.id.in_(list(ids))).order_by(Claim.id))) if ids else []


def claims_by_numbers(session: Session, numbers: Collection[str]) -> list[Claim]:
    if not numbers:
        return []
    return list(session.scalars(select(Claim).where(Claim.number.in_(list(numbers)))))


def complaints_by_numbers(session: Session, numbers: Collection[str]) -> list[Complaint]:
    if not numbers:
        return []
    return list(session.scalars(select(Complaint).where(Complaint.number.in_(list(numbers)))))


def pending_decisions(session: Session, limit: int) -> list[AssignmentDecision]:
    return list(
        session.scalars(
            select(AssignmentDecision)
            .where(AssignmentDecision.status == "pending", AssignmentDecision.kind == "claim")
            .order_by(AssignmentDecision.id)
            .limit(limit)
        )
    )


def recent_decisions(session: Session, limit: int) -> list[AssignmentDecision]:
    return list(session.scalars(select(AssignmentDecision).order_by(AssignmentDecision.id.desc()).limit(limit)))


def snapshots_since(session: Session, since: dt.datetime) -> list[LoadSnapshot]:
    return list(
        session.scalars(
            select(LoadSnapshot).where(LoadSnapshot.taken_at >= since).order_by(LoadSnapshot.taken_at, LoadSnapshot.id)
        )
    )


def tenants_with_profiles(session: Session) -> list[int]:
    return sorted(set(session.scalars(select(HandlerProfile.tenant_id).distinct())))


def tenants_with_pending(session: Session) -> list[int]:
    return sorted(
        set(
            session.scalars(
                select(AssignmentDecision.tenant_id).where(AssignmentDecision.status == "pending").distinct()
            )
        )
    )
