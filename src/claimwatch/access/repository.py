from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from claimwatch.access.models import PersonalDataAccess


@dataclass(frozen=True)
class AccessFilter:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    actor: str | None = None
    record: str | None = None
    kind: str | None = None


def _filtered(query: Select[Any], filters: AccessFilter) -> Select[Any]:
    if filters.since is not None:
        query = query.where(PersonalDataAccess.accessed_at >= filters.since)
    if filters.until is not None:
        query = query.where(PersonalDataAccess.accessed_at < filters.until)
    if filters.actor:
        # "zhang.wei" finds the user's views as well as "user:zhang.wei".
        names = {filters.actor} if ":" in filters.actor else {filters.actor, f"user:{filters.actor}"}
        query = query.where(or_(*(PersonalDataAccess.actor == name for name in names)))
    if filters.record:
        query = query.where(PersonalDataAccess.record_ref == filters.record)
    if filters.kind:
        query = query.where(PersonalDataAccess.record_kind == filters.kind)
    return query


def search(session: Session, filters: AccessFilter, page: int, page_size: int) -> tuple[int, list[PersonalDataAccess]]:
    """The records of the session's tenant (scoped in ``db``), newest first."""
    total = session.execute(_filtered(select(func.count()).select_from(PersonalDataAccess), filters)).scalar_one()
    rows = session.execute(
        _filtered(select(PersonalDataAccess), filters)
        .order_by(PersonalDataAccess.accessed_at.desc(), PersonalDataAccess.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).scalars()
    return total, list(rows)
