from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.orm import Session

from claimwatch.cases.models import Claim
from claimwatch.db import (
    SqliteStamps,
    UTCDateTime,
    bulk_insert,
    driver_connection,
    driver_rows,
    pg_cast,
    stored_instant,
    utc_now,
)
from claimwatch.sla.engine import CLOCK_FIELDS, ClockState
from claimwatch.sla.models import Escalation, RegulatorFiling, SlaClock, SlaClockEvent


def clocks_for_claims(session: Session, claim_ids: Iterable[int]) -> list[SlaClock]:
    ids = sorted(set(claim_ids))
    if not ids:
        return []
    clocks: list[SlaClock] = []
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        clocks.extend(
            session.execute(
                select(SlaClock).where(SlaClock.claim_id.in_(chunk)).order_by(SlaClock.claim_id, SlaClock.id)
            ).scalars()
        )
    return clocks


def claim_routes(session: Session, claim_ids: Iterable[int]) -> dict[int, str]:
    """The route triage gave each claim (claims.route): route-selected policies (``routes:``) read it."""
    ids = sorted(set(claim_ids))
    routes: dict[int, str] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        routes.update(
            (claim_id, route)
            for claim_id, route in session.execute(select(Claim.id, Claim.route).where(Claim.id.in_(chunk)))
        )
    return routes


def clock_events(session: Session, clock_ids: Sequence[int], since: dt.datetime | None = None) -> list[SlaClockEvent]:
    """The clocks' logs; ``since`` (a time before any of them was written) keeps PostgreSQL to recent partitions."""
    if not clock_ids:
        return []
    query = select(SlaClockEvent).where(SlaClockEvent.clock_id.in_(clock_ids))
    if since is not None:
        query = query.where(SlaClockEvent.recorded_at >= since)
    return list(session.execute(query.order_by(SlaClockEvent.id)).scalars())


def due_clocks(session: Session, tenant_id: int, now: dt.datetime, limit: int) -> list[SlaClock]:
    """Clocks whose next check has come, oldest first, row-locked. On PostgreSQL rows another
    worker holds are skipped, so two sweepers never work the same clock."""
    statement = (
        select(SlaClock)
        .where(SlaClock.tenant_id == tenant_id, SlaClock.next_check_at <= now)
        .order_by(SlaClock.next_check_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return list(session.execute(statement).scalars())


# What the sweep reads of a due clock: the fields ``engine.advance_light``/``engine.next_check`` use
# and those the escalation rows copy, then the claim facts escalations, filings and notices need.
# Plain columns in one query, not ORM objects: loading 5 000 entities a batch cost more than the
# rest of the sweep.
DUE_CLOCK_FIELDS = (
    "id",
    "claim_id",
    "policy_code",
    "cycle",
    "unit",
    "state",
    "light",
    "yellow_due_at",
    "red_due_at",
    "breached_at",
    "calendar_gap",
    "escalated",
    "updated_at",
    "next_check_at",
)
CLAIM_FACT_FIELDS = ("number", "line", "org_unit_id", "region_code", "reported_at")
# What the sweep writes back, by primary key.
SWEPT_CLOCK_FIELDS = ("light", "breached_at", "escalated", "updated_at", "next_check_at")


def lock_due_clock_rows(session: Session, tenant_id: int, now: dt.datetime, limit: int) -> list[Sequence[Any]]:
    """:func:`due_clocks` as rows of :data:`DUE_CLOCK_FIELDS` + :data:`CLAIM_FACT_FIELDS`: oldest
    first, the clock rows locked (not the claims), on PostgreSQL skipping rows another worker holds."""
    statement = (
        select(
            *(getattr(SlaClock, name) for name in DUE_CLOCK_FIELDS),
            *(getattr(Claim, name) for name in CLAIM_FACT_FIELDS),
        )
        .join(Claim, Claim.id == SlaClock.claim_id)
        .where(SlaClock.tenant_id == tenant_id, SlaClock.next_check_at <= now)
        .order_by(SlaClock.next_check_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(of=SlaClock, skip_locked=True)
    # Core, not the ORM: rows need no entity bookkeeping. Pending ORM changes are written first,
    # as an ORM query would.
    session.flush()
    return list(session.connection().execute(statement))


_PG_UPDATE_SWEPT = """
UPDATE sla_clocks AS c SET
  light = v.light, breached_at = v.breached_at, escalated = v.escalated, updated_at = v.updated_at,
  next_check_at = v.next_check_at
FROM unnest(%b::bigint[], %b::text[], %b::timestamptz[], %b::int[], %b::timestamptz[], %b::timestamptz[])
  AS v(id, light, breached_at, escalated, updated_at, next_check_at)
WHERE c.id = v.id AND c.tenant_id = %s
"""
_SQLITE_UPDATE_SWEPT = (
    "UPDATE sla_clocks SET light = ?, breached_at = ?, escalated = ?, updated_at = ?, next_check_at = ?"
    " WHERE id = ? AND tenant_id = ?"
)


def update_swept_clocks(session: Session, tenant_id: int, rows: Sequence[tuple[Any, ...]]) -> None:
    """Write back ``(id, *SWEPT_CLOCK_FIELDS)`` of each swept clock: one array statement on
    PostgreSQL, the driver's executemany on SQLite. Copies of these clocks already loaded in the
    session are expired so they read the new values."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        columns = [list(column) for column in zip(*rows, strict=True)]
        driver_connection(session).execute(_PG_UPDATE_SWEPT, [*columns, tenant_id])
    else:
        stamp = SqliteStamps()
        connection.exec_driver_sql(
            _SQLITE_UPDATE_SWEPT,
            [
                (light, stamp(breached_at), escalated, stamp(updated_at), stamp(next_check_at), clock_id, tenant_id)
                for clock_id, light, breached_at, escalated, updated_at, next_check_at in rows
            ],
        )
    if session.identity_map:
        ids = {row[0] for row in rows}
        for obj in list(session.identity_map.values()):
            if isinstance(obj, SlaClock) and obj.id in ids:
                session.expire(obj)


def tenants_with_due_rows(session: Session, clock_table: Any, tenant_ids: Iterable[int], now: dt.datetime) -> list[int]:
    """The tenants that have a clock of ``clock_table`` (any table with the clock columns: complaint, rectification,
    action, provider-task, underwriting, service-request clocks) whose ``next_check_at`` has come."""
    return [
        tenant_id
        for tenant_id in tenant_ids
        if session.execute(select(clock_table.id).where(*_due_row(clock_table, tenant_id, now)).limit(1)).first()
        is not None
    ]


def lock_due_rows(session: Session, clock_table: Any, tenant_id: int, now: dt.datetime, limit: int) -> list[Any]:
    """A tenant's due clocks of ``clock_table``, soonest first, row-locked; rows another worker holds are skipped
    (PostgreSQL)."""
    statement = (
        select(clock_table)
        .where(*_due_row(clock_table, tenant_id, now))
        .order_by(clock_table.next_check_at, clock_table.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    # populate_existing: a row read before the lock must show what the lock holder committed.
    return list(session.execute(statement, execution_options={"populate_existing": True}).scalars())


def _due_row(clock_table: Any, tenant_id: int, now: dt.datetime) -> tuple[Any, ...]:
    return (
        clock_table.tenant_id == tenant_id,
        clock_table.next_check_at.is_not(None),
        clock_table.next_check_at <= now,
    )


def escalation_ids(session: Session, clock_ids: Sequence[int], level: str) -> dict[int, int]:
    if not clock_ids:
        return {}
    rows = session.execute(
        select(Escalation.clock_id, Escalation.id).where(Escalation.clock_id.in_(clock_ids), Escalation.level == level)
    )
    return {clock_id: escalation_id for clock_id, escalation_id in rows}


def open_clocks(session: Session, tenant_ids: Sequence[int]) -> list[SlaClock]:
    return list(
        session.execute(
            select(SlaClock).where(SlaClock.tenant_id.in_(tenant_ids), SlaClock.state != "stopped")
        ).scalars()
    )


def queue(
    session: Session, org_unit_ids: set[int] | None, include_acknowledged: bool, limit: int
) -> list[tuple[Escalation, SlaClock, Claim]]:
    """Escalations with their clock and claim, the green channel first (claims.priority), then oldest first
    (the longest-waiting case on top)."""
    statement = (
        select(Escalation, SlaClock, Claim)
        .join(SlaClock, SlaClock.id == Escalation.clock_id)
        .join(Claim, Claim.id == Escalation.claim_id)
        .order_by(Claim.priority.desc(), Escalation.fired_at, Escalation.id)
        .limit(limit)
    )
    if not include_acknowledged:
        # The working queue: cases still to be handled. A completed case's breach stays on record
        # (filings, KPIs) and in the full list, but there is nothing left to urge.
        statement = statement.where(Escalation.status == "open", SlaClock.state != "stopped")
    if org_unit_ids is not None:
        statement = statement.where(Escalation.org_unit_id.in_(org_unit_ids))
    return [(e, c, cl) for e, c, cl in session.execute(statement).all()]


def escalation(session: Session, escalation_id: int) -> Escalation | None:
    return session.execute(select(Escalation).where(Escalation.id == escalation_id)).scalar_one_or_none()


def filings(
    session: Session, tenant_id: int | None, since: dt.datetime | None, until: dt.datetime | None, limit: int
) -> list[RegulatorFiling]:
    statement = select(RegulatorFiling).order_by(RegulatorFiling.filed_at, RegulatorFiling.id).limit(limit)
    if tenant_id is not None:
        statement = statement.where(RegulatorFiling.tenant_id == tenant_id)
    if since is not None:
        statement = statement.where(RegulatorFiling.filed_at >= since)
    if until is not None:
        statement = statement.where(RegulatorFiling.filed_at < until)
    return list(session.execute(statement).scalars())


# -- bulk access for the ingestion path (plain ClockState objects, no ORM entities) -----------------

_CLOCKS = cast(Table, SlaClock.__table__)
_CLOCK_STATE_COLUMNS = [_CLOCKS.c[name] for name in CLOCK_FIELDS]
_EVENT_COLUMNS = (
    "tenant_id",
    "clock_id",
    "kind",
    "at",
    "actor",
    "reason",
    "amount",
    "due_before",
    "due_after",
    "recorded_at",
)
_EVENT_TIMESTAMPS = sum(
    1 << i for i, name in enumerate(_EVENT_COLUMNS) if name in ("at", "due_before", "due_after", "recorded_at")
)


def clock_states(session: Session, tenant_id: int, claim_ids: Iterable[int]) -> list[ClockState]:
    """Every clock of the claims, as plain states (scoped to the tenant here: Core bypasses the ORM filter). One
    claim (ingestion sends events one by one; triage moves one claim's route) by the DB-API connection:
    :func:`claim_clock_states`."""
    ids = sorted(set(claim_ids))
    if len(ids) == 1:
        return claim_clock_states(session, tenant_id, ids[0])
    states: list[ClockState] = []
    for start in range(0, len(ids), 5000):
        rows = session.execute(
            select(*_CLOCK_STATE_COLUMNS).where(
                _CLOCKS.c.tenant_id == tenant_id, _CLOCKS.c.claim_id.in_(ids[start : start + 5000])
            )
        )
        states.extend(ClockState(*row) for row in rows)
    return states


_INSTANT_FIELDS = frozenset(name for name in CLOCK_FIELDS if isinstance(_CLOCKS.c[name].type, UTCDateTime))
_INSTANT_POSITIONS = tuple(k for k, name in enumerate(CLOCK_FIELDS) if name in _INSTANT_FIELDS)
_CLAIM_CLOCKS = (  # the column names are code constants; the values travel as parameters
    f"SELECT {', '.join(CLOCK_FIELDS)} FROM sla_clocks WHERE tenant_id = {{t}} AND claim_id = {{c}}"  # noqa: S608
)
_SQLITE_CLAIM_CLOCKS = _CLAIM_CLOCKS.format(t="?", c="?")
_PG_CLAIM_CLOCKS = _CLAIM_CLOCKS.format(t="%s", c="%s")


def claim_clock_states(session: Session, tenant_id: int, claim_id: int) -> list[ClockState]:
    """:func:`clock_states` of one claim by the session's DB-API connection (prepared server-side on PostgreSQL):
    the same rows, the instants tz-aware UTC as ``UTCDateTime`` gives them, without SQLAlchemy's compiling and
    result processing (most of the read's cost for the handful of clocks of one claim)."""
    states = []
    for row in driver_rows(session, _PG_CLAIM_CLOCKS, _SQLITE_CLAIM_CLOCKS, (tenant_id, claim_id)):
        values = list(row)
        for k in _INSTANT_POSITIONS:
            values[k] = stored_instant(values[k])
        states.append(ClockState(*values))
    return states


def due_dates(session: Session, tenant_id: int, claim_ids: Iterable[int], policy_prefix: str) -> list[tuple[int, Any]]:
    """(claim, yellow due) of the claims' clocks whose policy code starts with ``policy_prefix``, oldest clock
    first; two columns, not whole clock states (the claimant's acknowledgement reads them for every new claim)."""
    ids = sorted(set(claim_ids))
    found: list[tuple[int, Any]] = []
    for start in range(0, len(ids), 5000):
        query = (
            select(_CLOCKS.c.claim_id, _CLOCKS.c.yellow_due_at)
            .where(
                _CLOCKS.c.tenant_id == tenant_id,
                _CLOCKS.c.claim_id.in_(ids[start : start + 5000]),
                _CLOCKS.c.policy_code.startswith(policy_prefix, autoescape=True),
            )
            .order_by(_CLOCKS.c.id)
        )
        found.extend((claim_id, due) for claim_id, due in session.execute(query))
    return found


_NEW_CLOCK_FIELDS = tuple(name for name in CLOCK_FIELDS if name != "id")
_NEW_CLOCK_TIMESTAMPS = sum(
    1 << i for i, name in enumerate(_NEW_CLOCK_FIELDS) if isinstance(_CLOCKS.c[name].type, UTCDateTime)
)


def insert_clock_states(session: Session, states: Sequence[ClockState]) -> None:
    """Insert new clocks and set their ids (COPY on PostgreSQL, executemany on SQLite)."""
    if not states:
        return
    if session.get_bind().dialect.name == "postgresql":
        # Ids drawn from the sequence in one round trip, then COPY: a multi-row INSERT … RETURNING
        # of thousands of rows spends most of its time in the driver's parsing of the huge statement.
        ids = session.execute(
            text("SELECT nextval(pg_get_serial_sequence('sla_clocks', 'id')) FROM generate_series(1, :n)"),
            {"n": len(states)},
        ).scalars()
        for state, new_id in zip(states, ids, strict=True):
            state.id = new_id
        bulk_insert(session, "sla_clocks", CLOCK_FIELDS, [tuple(getattr(s, f) for f in CLOCK_FIELDS) for s in states])
        return
    _insert_clock_states_sqlite(session, states)


def _insert_clock_states_sqlite(session: Session, states: Sequence[ClockState]) -> None:
    # Executemany of plain rows, then the ids read back by the clocks' unique key (tenant, claim, policy,
    # cycle); an INSERT … RETURNING through the ORM's insertmanyvalues spent most of the clocks' time in Python.
    tenant_id = states[0].tenant_id
    bulk_insert(
        session,
        "sla_clocks",
        _NEW_CLOCK_FIELDS,
        [tuple(getattr(s, f) for f in _NEW_CLOCK_FIELDS) for s in states],
        _NEW_CLOCK_TIMESTAMPS,
    )
    ids_by_key: dict[tuple[int, str, int], int] = {}
    claim_ids = sorted({state.claim_id for state in states})
    for start in range(0, len(claim_ids), 5000):
        query = select(_CLOCKS.c.claim_id, _CLOCKS.c.policy_code, _CLOCKS.c.cycle, _CLOCKS.c.id).where(
            _CLOCKS.c.tenant_id == tenant_id, _CLOCKS.c.claim_id.in_(claim_ids[start : start + 5000])
        )
        ids_by_key.update(
            {(claim_id, code, cycle): clock_id for claim_id, code, cycle, clock_id in session.execute(query)}
        )
    for state in states:
        state.id = ids_by_key[(state.claim_id, state.policy_code, state.cycle)]


_UPDATABLE = [name for name in CLOCK_FIELDS if name not in ("id", "tenant_id", "claim_id", "policy_code", "cycle")]
_UPDATE_CLOCK = (
    _CLOCKS.update()
    .where(_CLOCKS.c.id == bindparam("clock_id"))
    .values({name: bindparam(f"v_{name}") for name in _UPDATABLE})
)


# A few clocks (one claim's: ingestion's events come one by one) by the DB-API connection: the statement text is
# fixed (prepared server-side on PostgreSQL, each value cast to its column's type) and skips SQLAlchemy's
# compiling and parameter processing, most of the update's cost for one row.
DRIVER_UPDATE_MAX = 16
_PG_UPDATE_CLOCK = (  # the column names are code constants; the values travel as parameters
    f"UPDATE sla_clocks SET {', '.join(f'{n} = %s::{pg_cast(_CLOCKS.c[n])}' for n in _UPDATABLE)}"  # noqa: S608
    " WHERE id = %s::bigint AND tenant_id = %s::integer"
)
_SQLITE_UPDATE_CLOCK = (
    f"UPDATE sla_clocks SET {', '.join(f'{n} = ?' for n in _UPDATABLE)} WHERE id = ? AND tenant_id = ?"  # noqa: S608
)
_UPDATABLE_INSTANTS = tuple(k for k, name in enumerate(_UPDATABLE) if name in _INSTANT_FIELDS)


def update_clock_states(session: Session, states: Sequence[ClockState]) -> None:
    """Write changed clocks back by id (each clock's own tenant named too)."""
    if not states:
        return
    if len(states) <= DRIVER_UPDATE_MAX:
        _update_by_driver(session, states)
        return
    rows = [{"clock_id": s.id, **{f"v_{name}": getattr(s, name) for name in _UPDATABLE}} for s in states]
    session.connection().execute(_UPDATE_CLOCK, rows)


def _update_by_driver(session: Session, states: Sequence[ClockState]) -> None:
    rows = [[*(getattr(s, name) for name in _UPDATABLE), s.id, s.tenant_id] for s in states]
    for row in rows:  # as UTCDateTime binds them: a naive instant is refused, not guessed
        if any(row[k] is not None and row[k].tzinfo is None for k in _UPDATABLE_INSTANTS):
            raise ValueError("naive datetime refused; pass a timezone-aware value")
    cursor = driver_connection(session).cursor()
    try:
        if session.get_bind().dialect.name == "postgresql":
            for row in rows:
                cursor.execute(_PG_UPDATE_CLOCK, row, prepare=True)
        else:
            stamp = SqliteStamps()
            for row in rows:
                for k in _UPDATABLE_INSTANTS:
                    row[k] = stamp(row[k])
            cursor.executemany(_SQLITE_UPDATE_CLOCK, rows)
    finally:
        cursor.close()


def insert_clock_events(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Rows of ``(tenant_id, clock_id, kind, at, actor, reason, amount, due_before, due_after)``; each is stamped
    with the time it is written (``recorded_at``, the partition key on PostgreSQL)."""
    if not rows:
        return
    now = utc_now()
    bulk_insert(session, "sla_clock_events", _EVENT_COLUMNS, [(*row, now) for row in rows], _EVENT_TIMESTAMPS)
