"""Committee queries (tenant-scoped by the session), and the agenda's sources read from the domains below:
overdue rectifications, major complaints, proposed sanctions, recent alerts without an action."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.actions.models import ImprovementAction
from claimwatch.auth.models import User
from claimwatch.auth.principal import ROLE_PERMISSIONS, Permission
from claimwatch.committee.models import CommitteeDecision, CommitteeItem, CommitteeMeeting
from claimwatch.complaints.models import Complaint
from claimwatch.kpi.models import QualityAlert
from claimwatch.rectification.models import Rectification, RectificationClock
from claimwatch.rectification.vocabulary import ACTIVE as RECTIFICATION_ACTIVE
from claimwatch.sanctions.models import Sanction, Violation
from claimwatch.sla import engine


def meeting(session: Session, tenant_id: int, month: str) -> CommitteeMeeting | None:
    statement = select(CommitteeMeeting).where(CommitteeMeeting.tenant_id == tenant_id, CommitteeMeeting.month == month)
    return session.execute(statement).scalar_one_or_none()


def meeting_by_id(session: Session, meeting_id: int) -> CommitteeMeeting | None:
    return session.execute(select(CommitteeMeeting).where(CommitteeMeeting.id == meeting_id)).scalar_one_or_none()


def meetings(session: Session, limit: int = 36) -> list[CommitteeMeeting]:
    statement = select(CommitteeMeeting).order_by(CommitteeMeeting.month.desc()).limit(limit)
    return list(session.execute(statement).scalars())


def item(session: Session, item_id: int) -> CommitteeItem | None:
    return session.execute(select(CommitteeItem).where(CommitteeItem.id == item_id)).scalar_one_or_none()


def items(session: Session, meeting_id: int) -> list[CommitteeItem]:
    statement = (
        select(CommitteeItem)
        .where(CommitteeItem.meeting_id == meeting_id)
        .order_by(CommitteeItem.position, CommitteeItem.id)
    )
    return list(session.execute(statement).scalars())


def decisions(session: Session, item_ids: Iterable[int]) -> dict[int, CommitteeDecision]:
    wanted = sorted(set(item_ids))
    if not wanted:
        return {}
    statement = select(CommitteeDecision).where(CommitteeDecision.item_id.in_(wanted))
    return {d.item_id: d for d in session.execute(statement).scalars()}


def decision_by_id(session: Session, decision_id: int) -> CommitteeDecision | None:
    return session.execute(select(CommitteeDecision).where(CommitteeDecision.id == decision_id)).scalar_one_or_none()


def item_counts(session: Session, meeting_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(items, decided) per meeting."""
    wanted = sorted(set(meeting_ids))
    if not wanted:
        return {}
    statement = (
        select(CommitteeItem.meeting_id, func.count(CommitteeItem.id), func.count(CommitteeDecision.id))
        .outerjoin(CommitteeDecision, CommitteeDecision.item_id == CommitteeItem.id)
        .where(CommitteeItem.meeting_id.in_(wanted))
        .group_by(CommitteeItem.meeting_id)
    )
    return {int(m): (int(n), int(d)) for m, n, d in session.execute(statement)}


def people(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    statement = select(User.id, User.display_name, User.username).where(User.id.in_(wanted))
    return {int(i): str(name or username) for i, name, username in session.execute(statement)}


def action_owners(session: Session, tenant_id: int) -> list[tuple[int, str]]:
    """The tenant's active users whose role may own an improvement action (users are not tenant-scoped rows)."""
    roles = sorted(ROLE_PERMISSIONS[Permission.WORK_ACTIONS], key=str)
    statement = (
        select(User.id, User.display_name, User.username)
        .where(User.tenant_id == tenant_id, User.active.is_(True), User.role.in_(roles))
        .order_by(User.username)
    )
    return [(int(i), f"{name or username} ({username})") for i, name, username in session.execute(statement)]


# -- the agenda's sources --------------------------------------------------------------------------------


def alerts_without_action(session: Session, periods: list[str]) -> list[QualityAlert]:
    """Alerts of these months that no improvement action was raised from (still open for the committee)."""
    acted = select(ImprovementAction.source_id).where(
        ImprovementAction.source_kind == "alert",
        ImprovementAction.source_id.is_not(None),
        ImprovementAction.phase != "cancelled",
    )
    statement = (
        select(QualityAlert)
        .where(QualityAlert.period.in_(periods), QualityAlert.id.not_in(acted))
        .order_by(QualityAlert.period.desc(), QualityAlert.kpi_code, QualityAlert.unit_label, QualityAlert.id)
    )
    return list(session.execute(statement).scalars())


def overdue_rectifications(session: Session, at: dt.datetime) -> list[tuple[Rectification, dt.datetime | None]]:
    """Rectifications still being worked with a running deadline passed at ``at``: (rectification, earliest
    passed deadline), the longest overdue first."""
    due = func.min(RectificationClock.yellow_due_at)
    statement = (
        select(Rectification, due)
        .join(RectificationClock, RectificationClock.rectification_id == Rectification.id)
        .where(
            Rectification.status.in_(RECTIFICATION_ACTIVE),
            RectificationClock.state == engine.RUNNING,
            RectificationClock.yellow_due_at <= at,
        )
        .group_by(Rectification.id)
        .order_by(due, Rectification.id)
    )
    return [(r, d) for r, d in session.execute(statement).all()]


def major_complaints(session: Session, start: dt.datetime, end: dt.datetime) -> list[Complaint]:
    """Major complaints (重大投诉) received in [start, end), and those received earlier that are still open."""
    still_open = Complaint.status.not_in(("closed", "withdrawn"))
    statement = (
        select(Complaint)
        .where(
            Complaint.major_reasons.is_not(None),
            Complaint.major_reasons != "",
            Complaint.received_at < end,
            (Complaint.received_at >= start) | still_open,
        )
        .order_by(Complaint.received_at, Complaint.id)
    )
    return list(session.execute(statement).scalars())


def proposed_sanctions(session: Session, end: dt.datetime) -> list[tuple[Sanction, Violation]]:
    statement = (
        select(Sanction, Violation)
        .join(Violation, Violation.id == Sanction.violation_id)
        .where(Sanction.status == "proposed", Sanction.proposed_at < end)
        .order_by(Sanction.proposed_at, Sanction.id)
    )
    return [(s, v) for s, v in session.execute(statement).all()]
