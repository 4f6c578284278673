"""Claim and case-event queries. ORM selects are tenant-filtered by ``claimwatch.db``; the bulk
writes below carry ``tenant_id`` explicitly in every row and WHERE clause."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import String, Table, any_, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.db import bulk_insert, driver_connection, sqlite_timestamp, tenant_context

_IN_CHUNK = 900
_CLAIMS = cast(Table, Claim.__table__)

EVENT_HASHED_FIELDS = (
    "claim_id",
    "client_event_id",
    "event_type",
    "from_status",
    "to_status",
    "occurred_at",
    "received_at",
    "actor",
    "reason",
    "data",
    "fingerprint",
    "audit_seq",
)


def _member_of(session: Session, column: Any, values: Sequence[str]) -> Iterator[Any]:
    """``column IN values`` as a few conditions: one array parameter on PostgreSQL (no huge IN list to
    parse and plan), chunks of bound parameters on SQLite."""
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(literal(list(values), ARRAY(String)))
        return
    for start in range(0, len(values), _IN_CHUNK):
        yield column.in_(values[start : start + _IN_CHUNK])


@dataclass(frozen=True)
class StoredEvent:
    fingerprint: str
    audit_seq: int


def stored_events(session: Session, client_event_ids: Sequence[str]) -> dict[str, StoredEvent]:
    found: dict[str, StoredEvent] = {}
    for condition in _member_of(session, CaseEvent.client_event_id, client_event_ids):
        rows = session.execute(
            select(CaseEvent.client_event_id, CaseEvent.fingerprint, CaseEvent.audit_seq).where(condition)
        )
        for event_id, fingerprint, audit_seq in rows:
            found[event_id] = StoredEvent(fingerprint, audit_seq)
    return found


@dataclass
class ClaimState:
    """The mutable part of a claim while a batch of events is applied to it."""

    id: int | None
    number: str
    line: str
    status: str
    status_changed_at: dt.datetime
    closed_at: dt.datetime | None
    reopen_count: int
    event_count: int
    assessed_amount_fen: int | None
    paid_amount_fen: int | None
    assignee_id: int | None
    reported_amount_fen: int | None = None
    # When the claim's latest event happened: a later event may not go back before it.
    last_event_at: dt.datetime | None = None
    new_row: dict[str, Any] | None = None


def claim_states(session: Session, numbers: Sequence[str]) -> dict[str, ClaimState]:
    found: dict[str, ClaimState] = {}
    last_event_at = select(func.max(CaseEvent.occurred_at)).where(CaseEvent.claim_id == Claim.id).scalar_subquery()
    for condition in _member_of(session, Claim.number, numbers):
        rows = session.execute(
            select(
                Claim.id,
                Claim.number,
                Claim.line,
                Claim.status,
                Claim.status_changed_at,
                Claim.closed_at,
                Claim.reopen_count,
                Claim.event_count,
                Claim.assessed_amount_fen,
                Claim.paid_amount_fen,
                Claim.assignee_id,
                Claim.reported_amount_fen,
                last_event_at,
            ).where(condition)
        )
        for row in rows:
            found[row.number] = ClaimState(*row)
    return found


CLAIM_COLUMNS = tuple(column.name for column in _CLAIMS.columns if column.name != "id")
_CLAIM_TIMESTAMPS = sum(1 << i for i, name in enumerate(CLAIM_COLUMNS) if name.endswith("_at"))


def insert_claims(session: Session, tenant_id: int, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Bulk-insert new claims of one tenant and return their ids by number."""
    if not rows:
        return {}
    bulk_insert(
        session,
        "claims",
        CLAIM_COLUMNS,
        [tuple(row[name] for name in CLAIM_COLUMNS) for row in rows],
        _CLAIM_TIMESTAMPS,
    )
    ids: dict[str, int] = {}
    for condition in _member_of(session, Claim.number, [row["number"] for row in rows]):
        query = select(Claim.number, Claim.id).where(Claim.tenant_id == tenant_id, condition)
        ids.update({number: claim_id for number, claim_id in session.execute(query)})
    return ids


EVENT_COLUMNS = ("tenant_id", *EVENT_HASHED_FIELDS)
_EVENT_TIMESTAMPS = sum(1 << EVENT_COLUMNS.index(name) for name in ("occurred_at", "received_at"))


def insert_events(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Rows in EVENT_COLUMNS order, each carrying its tenant_id."""
    bulk_insert(session, "case_events", EVENT_COLUMNS, rows, _EVENT_TIMESTAMPS)


_UPDATABLE = (
    "status",
    "status_changed_at",
    "closed_at",
    "reopen_count",
    "event_count",
    "assessed_amount_fen",
    "paid_amount_fen",
    "assignee_id",
    "updated_at",
)


_PG_UPDATE_CLAIMS = """
UPDATE claims AS c SET
  status = v.status, status_changed_at = v.status_changed_at, closed_at = v.closed_at,
  reopen_count = v.reopen_count, event_count = v.event_count, assessed_amount_fen = v.assessed_amount_fen,
  paid_amount_fen = v.paid_amount_fen, assignee_id = v.assignee_id, updated_at = v.updated_at
FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::int[], %s::int[],
            %s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[])
  AS v(id, status, status_changed_at, closed_at, reopen_count, event_count, assessed_amount_fen,
       paid_amount_fen, assignee_id, updated_at)
WHERE c.id = v.id AND c.tenant_id = %s
"""
_SQLITE_UPDATE_CLAIMS = (
    "UPDATE claims SET status = ?, status_changed_at = ?, closed_at = ?, reopen_count = ?, event_count = ?,"
    " assessed_amount_fen = ?, paid_amount_fen = ?, assignee_id = ?, updated_at = ? WHERE id = ? AND tenant_id = ?"
)


def update_claims(session: Session, tenant_id: int, rows: list[dict[str, Any]]) -> None:
    """One statement for the whole batch on PostgreSQL (arrays), the driver's executemany on SQLite."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        columns = [[row[name] for row in rows] for name in ("id", *_UPDATABLE)]
        with driver_connection(session).cursor() as cursor:
            cursor.execute(_PG_UPDATE_CLAIMS, [*columns, tenant_id])
        return
    connection.exec_driver_sql(
        _SQLITE_UPDATE_CLAIMS,
        [
            (
                row["status"],
                sqlite_timestamp(row["status_changed_at"]),
                sqlite_timestamp(row["closed_at"]),
                row["reopen_count"],
                row["event_count"],
                row["assessed_amount_fen"],
                row["paid_amount_fen"],
                row["assignee_id"],
                sqlite_timestamp(row["updated_at"]),
                row["id"],
                tenant_id,
            )
            for row in rows
        ],
    )


def event_content_rows(session: Session, tenant_id: int, first_seq: int, last_seq: int) -> Iterable[Sequence[Any]]:
    columns = [getattr(CaseEvent, name) for name in EVENT_HASHED_FIELDS]
    return session.execute(
        select(*columns).where(CaseEvent.tenant_id == tenant_id, CaseEvent.audit_seq.between(first_seq, last_seq)),
        execution_options={"include_all_tenants": True},
    )


def count_events(session: Session, tenant_id: int) -> int:
    return session.execute(
        select(func.count()).select_from(CaseEvent).where(CaseEvent.tenant_id == tenant_id),
        execution_options={"include_all_tenants": True},
    ).scalar_one()


@dataclass(frozen=True)
class ClaimFilter:
    status: str | None = None
    line: str | None = None
    region_code: str | None = None
    org_unit_id: int | None = None
    number: str | None = None


def list_claims(session: Session, filters: ClaimFilter, page: int, page_size: int) -> tuple[int, list[Claim]]:
    query = select(Claim)
    if filters.status:
        query = query.where(Claim.status == filters.status)
    if filters.line:
        query = query.where(Claim.line == filters.line)
    if filters.region_code:
        query = query.where(Claim.region_code == filters.region_code)
    if filters.org_unit_id:
        query = query.where(Claim.org_unit_id == filters.org_unit_id)
    if filters.number:
        query = query.where(Claim.number.startswith(filters.number, autoescape=True))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(Claim.reported_at.desc(), Claim.id.desc()).offset((page - 1) * page_size).limit(page_size)
    ).scalars()
    return total, list(rows)


def claim_by_number(session: Session, number: str) -> Claim | None:
    """Numbers are unique per tenant, so the session must be narrowed to one tenant."""
    if tenant_context(session).tenant_id is None:
        raise LookupError("claim numbers are unique per insurer: name the tenant")
    return session.execute(select(Claim).where(Claim.number == number)).scalar_one_or_none()


def timeline(session: Session, claim_id: int) -> list[CaseEvent]:
    return list(
        session.execute(select(CaseEvent).where(CaseEvent.claim_id == claim_id).order_by(CaseEvent.audit_seq)).scalars()
    )


CLOSED_CLAIM_FIELDS = (
    "id",
    "tenant_id",
    "number",
    "status",
    "closed_at",
    "org_unit_id",
    "region_code",
    "line",
    "assignee_id",
    "reopen_count",
)


def closed_between(session: Session, since: dt.datetime, until: dt.datetime) -> list[Any]:
    """Claims of the session's tenant in a terminal state whose closure falls in [since, until), oldest
    first: the columns of :data:`CLOSED_CLAIM_FIELDS`. A reopened claim has no ``closed_at``."""
    columns = [getattr(Claim, name) for name in CLOSED_CLAIM_FIELDS]
    return list(
        session.execute(
            select(*columns)
            .where(Claim.closed_at.is_not(None), Claim.closed_at >= since, Claim.closed_at < until)
            .order_by(Claim.closed_at, Claim.id)
        ).all()
    )
