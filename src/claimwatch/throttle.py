"""Failure counters with a lock, kept in the database so that several app processes agree: the claimant
lookup's (claim number, client address) and the sign-in's (account name, client address).

A throttle table has the columns ``scope``, ``key_hash``, ``failures``, ``window_started_at``,
``locked_until`` and ``updated_at``, unique on (scope, key_hash); each domain keeps its own table and calls
these functions with its model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, Table, and_, bindparam, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from claimwatch.db import UTCDateTime


@lru_cache
def _pair_statement(table: Table) -> Select[Any]:
    # Built once per table: on the hot path building a statement costs more than running it on an
    # indexed row. A Core statement on the session's connection (throttles have no tenant).
    return select(table.c.scope, table.c.failures, table.c.locked_until).where(
        or_(
            and_(table.c.scope == bindparam("s1"), table.c.key_hash == bindparam("k1")),
            and_(table.c.scope == bindparam("s2"), table.c.key_hash == bindparam("k2")),
        )
    )


def rows(session: Session, model: Any, keys: Sequence[tuple[str, str]]) -> list[Any]:
    """(scope, failures, locked_until) of the rows of these (scope, key_hash) pairs (one or two)."""
    if not keys:
        return []
    (s1, k1), (s2, k2) = keys[0], keys[-1]
    params = {"s1": s1, "k1": k1, "s2": s2, "k2": k2}
    return list(session.connection().execute(_pair_statement(model.__table__), params).all())


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
