"""Failure counters with a lock, kept in the database so that several app processes agree: the claimant
lookup's (claim number, client address) and the sign-in's (account name, client address).

A throttle table has the columns ``scope``, ``key_hash``, ``failures``, ``window_started_at``,
``locked_until`` and ``updated_at``, unique on (scope, key_hash); each domain keeps its own table and calls
these functions with its model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, delete, literal, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from claimwatch.db import UTCDateTime


def count_failure(
    session: Session, model: Any, scope: str, key_hash: str, now: dt.datetime, window: int, limit: int, lockout: int
) -> tuple[int, dt.datetime | None]:
    """Add one failure to a key in one atomic statement: a new window starts when the last one is
    over; reaching ``limit`` failures locks the key for ``lockout`` seconds. Returns the failures in
    the window and the lock."""
    at = literal(now, UTCDateTime())
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(model)
        .values(scope=scope, key_hash=key_hash, failures=0, window_started_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["scope", "key_hash"])
    )
    expired = model.window_started_at <= now - dt.timedelta(seconds=window)
    failures = case((expired, 1), else_=model.failures + 1)
    row = session.execute(
        update(model)
        .where(model.scope == scope, model.key_hash == key_hash)
        .values(
            failures=failures,
            window_started_at=case((expired, at), else_=model.window_started_at),
            locked_until=case(
                (failures >= limit, literal(now + dt.timedelta(seconds=lockout), UTCDateTime())),
                else_=model.locked_until,
            ),
            updated_at=at,
        )
        .returning(model.failures, model.locked_until)
        .execution_options(synchronize_session=False)
    ).one()
    return int(row[0]), row[1]


def clear_failures(session: Session, model: Any, scope: str, key_hash: str) -> None:
    session.execute(
        update(model)
        .where(model.scope == scope, model.key_hash == key_hash, model.failures > 0)
        .values(failures=0)
        .execution_options(synchronize_session=False)
    )


def purge(session: Session, model: Any, before: dt.datetime) -> int:
    """Forget keys idle since ``before`` whose lock is over."""
    result = session.execute(
        delete(model)
        .where(model.updated_at < before, or_(model.locked_until.is_(None), model.locked_until < before))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
