"""Queries of the sanctions domain, scoped to the session's tenant (db.py adds the tenant to every SELECT)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from claimwatch.auth.models import User
from claimwatch.sanctions.models import BlacklistEntry, MandatoryTraining, Sanction, Violation


def numbers_with_prefix(session: Session, model: type[Sanction] | type[Violation], prefix: str) -> list[str]:
    rows = session.execute(select(model.number).where(model.number.like(f"{prefix}%")))
    return [number for (number,) in rows]


def sanction_by_id(session: Session, sanction_id: int, *, lock: bool = False) -> Sanction | None:
    statement = select(Sanction).where(Sanction.id == sanction_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def sanction_by_number(session: Session, number: str) -> Sanction | None:
    return session.execute(select(Sanction).where(Sanction.number == number)).scalar_one_or_none()


def violation(session: Session, violation_id: int) -> Violation | None:
    return session.get(Violation, violation_id)


def person_filter(user_id: int | None, party_kind: str, party_key: str) -> ColumnElement[bool]:
    if user_id is not None:
        return Violation.user_id == user_id
    return (Violation.party_kind == party_kind) & (Violation.party_key == party_key) & Violation.user_id.is_(None)


def count_violations_since(
    session: Session, user_id: int | None, party_kind: str, party_key: str, since: dt.datetime, until: dt.datetime
) -> int:
    """The person's violations that occurred in [since, until] (what the repeat rule counts)."""
    statement = select(func.count()).where(
        person_filter(user_id, party_kind, party_key), Violation.occurred_at >= since, Violation.occurred_at <= until
    )
    return int(session.execute(statement).scalar_one())


def open_sanction_for_source(
    session: Session, code: str, user_id: int | None, party_kind: str, party_key: str, source_kind: str, source_id: int
) -> Sanction | None:
    """A proposed or approved sanction of the same violation code, person and source (a proposal sent twice)."""
    statement = (
        select(Sanction)
        .join(Violation, Violation.id == Sanction.violation_id)
        .where(
            Violation.code == code,
            person_filter(user_id, party_kind, party_key),
            Violation.source_kind == source_kind,
            Violation.source_id == source_id,
            Sanction.status.in_(("proposed", "approved")),
        )
        .limit(1)
    )
    return session.execute(statement).scalar_one_or_none()


def sanctions(
    session: Session, status: str | None = None, user_id: int | None = None, limit: int = 200, offset: int = 0
) -> list[tuple[Sanction, Violation]]:
    statement = select(Sanction, Violation).join(Violation, Violation.id == Sanction.violation_id)
    if status:
        statement = statement.where(Sanction.status == status)
    if user_id is not None:
        statement = statement.where(Violation.user_id == user_id)
    statement = statement.order_by(Sanction.proposed_at.desc(), Sanction.id.desc()).limit(limit).offset(offset)
    return [(s, v) for s, v in session.execute(statement).all()]


def count_sanctions(session: Session, status: str) -> int:
    return int(session.execute(select(func.count()).where(Sanction.status == status)).scalar_one())


def proposed_oldest_first(session: Session, limit: int, offset: int) -> list[tuple[Sanction, Violation]]:
    statement = (
        select(Sanction, Violation)
        .join(Violation, Violation.id == Sanction.violation_id)
        .where(Sanction.status == "proposed")
        .order_by(Sanction.proposed_at, Sanction.id)
        .limit(limit)
        .offset(offset)
    )
    return [(s, v) for s, v in session.execute(statement).all()]


def violations(session: Session, since: dt.datetime | None = None, limit: int = 2000) -> list[Violation]:
    statement = select(Violation)
    if since is not None:
        statement = statement.where(Violation.occurred_at >= since)
    return list(session.execute(statement.order_by(Violation.occurred_at.desc()).limit(limit)).scalars())


def trainings(session: Session, open_only: bool = False) -> list[MandatoryTraining]:
    statement = select(MandatoryTraining)
    if open_only:
        statement = statement.where(MandatoryTraining.completed_at.is_(None))
    return list(session.execute(statement.order_by(MandatoryTraining.due_on, MandatoryTraining.id)).scalars())


def training(session: Session, training_id: int) -> MandatoryTraining | None:
    return session.get(MandatoryTraining, training_id)


def training_for_violation(session: Session, violation_id: int) -> MandatoryTraining | None:
    statement = select(MandatoryTraining).where(MandatoryTraining.violation_id == violation_id)
    return session.execute(statement).scalar_one_or_none()


def blacklist(session: Session, *, include_lifted: bool = True) -> list[BlacklistEntry]:
    statement = select(BlacklistEntry)
    if not include_lifted:
        statement = statement.where(BlacklistEntry.lifted_at.is_(None))
    return list(
        session.execute(statement.order_by(BlacklistEntry.listed_at.desc(), BlacklistEntry.id.desc())).scalars()
    )


def blacklist_entry(session: Session, entry_id: int) -> BlacklistEntry | None:
    return session.get(BlacklistEntry, entry_id)


def blacklist_matches(session: Session, tenant_id: int, party_kind: str, key: str) -> list[BlacklistEntry]:
    """Entries of ``party_kind`` whose code or name is ``key`` (stripped, lower-cased), lifted ones too. The
    tenant is named as well, for a caller in the system context."""
    statement = select(BlacklistEntry).where(
        BlacklistEntry.tenant_id == tenant_id,
        BlacklistEntry.party_kind == party_kind,
        or_(BlacklistEntry.code_key == key, BlacklistEntry.name_key == key),
    )
    return list(session.execute(statement.order_by(BlacklistEntry.starts_on)).scalars())


def users_by_id(session: Session, user_ids: Sequence[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    rows = session.execute(select(User).where(User.id.in_(sorted(set(user_ids)))))
    return {user.id: user for user in rows.scalars()}


def user_in_tenant(
    session: Session, tenant_id: int, *, user_id: int | None = None, username: str | None = None
) -> User | None:
    statement = select(User).where(User.tenant_id == tenant_id)
    if user_id is not None:
        statement = statement.where(User.id == user_id)
    if username is not None:
        statement = statement.where(User.username == username)
    return session.execute(statement).scalar_one_or_none()
