"""Underwriting reads: rule-set versions, cases by application number, their events and clocks, the agents and
underwriters a case names. ORM selects are tenant-filtered by ``claimwatch.db``."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth.models import User
from claimwatch.people.models import StaffMember
from claimwatch.policies.models import UnderwritingCase, UnderwritingClock, UnderwritingEvent, UnderwritingRuleSet


def rule_set_in_force(session: Session) -> UnderwritingRuleSet | None:
    """The session's tenant's newest version."""
    return session.execute(
        select(UnderwritingRuleSet)
        .order_by(UnderwritingRuleSet.loaded_at.desc(), UnderwritingRuleSet.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def rule_sets(session: Session, limit: int = 200) -> list[UnderwritingRuleSet]:
    statement = select(UnderwritingRuleSet).order_by(
        UnderwritingRuleSet.loaded_at.desc(), UnderwritingRuleSet.id.desc()
    )
    return list(session.execute(statement.limit(limit)).scalars())


def rule_set(session: Session, rule_set_id: int) -> UnderwritingRuleSet | None:
    return session.execute(
        select(UnderwritingRuleSet).where(UnderwritingRuleSet.id == rule_set_id)
    ).scalar_one_or_none()


def case_by_number(session: Session, number: str, *, lock: bool = False) -> UnderwritingCase | None:
    statement = select(UnderwritingCase).where(UnderwritingCase.application_number == number)
    if lock and session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def existing_numbers(session: Session, numbers: Iterable[str]) -> set[str]:
    wanted = sorted(set(numbers))
    if not wanted:
        return set()
    statement = select(UnderwritingCase.application_number).where(UnderwritingCase.application_number.in_(wanted))
    return set(session.execute(statement).scalars())


def events_of(session: Session, case_id: int) -> list[UnderwritingEvent]:
    statement = (
        select(UnderwritingEvent)
        .where(UnderwritingEvent.case_id == case_id)
        .order_by(UnderwritingEvent.at, UnderwritingEvent.id)
    )
    return list(session.execute(statement).scalars())


def clocks_of(session: Session, case_ids: Iterable[int]) -> dict[int, UnderwritingClock]:
    """The latest clock of each case."""
    wanted = sorted(set(case_ids))
    if not wanted:
        return {}
    statement = (
        select(UnderwritingClock)
        .where(UnderwritingClock.case_id.in_(wanted))
        .order_by(UnderwritingClock.case_id, UnderwritingClock.cycle)
    )
    return {clock.case_id: clock for clock in session.execute(statement).scalars()}


def staff_by_code(session: Session, code: str) -> StaffMember | None:
    return session.execute(select(StaffMember).where(StaffMember.code == code)).scalar_one_or_none()


def staff_codes(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.execute(select(StaffMember.id, StaffMember.code).where(StaffMember.id.in_(wanted)))
    return {row_id: code for row_id, code in rows}


def tenant_user(session: Session, tenant_id: int, username: str) -> User | None:
    return session.execute(
        select(User).where(User.tenant_id == tenant_id, User.username == username, User.active.is_(True))
    ).scalar_one_or_none()


def usernames(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {row_id: name for row_id, name in session.execute(select(User.id, User.username).where(User.id.in_(wanted)))}


def open_reviews(session: Session, user_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(UnderwritingCase)
        .where(UnderwritingCase.reviewer_id == user_id, UnderwritingCase.status == "in_review")
    ).scalar_one()
