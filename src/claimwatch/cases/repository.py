"""Claim and case-event queries. ORM selects are tenant-filtered by ``claimwatch.db``; the bulk
writes below carry ``tenant_id`` explicitly in every row and WHERE clause."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from claimwatch.cases.models import CaseEvent, Claim

_IN_CHUNK = 900
_CLAIMS = cast(Table, Claim.__table__)
_EVENTS = cast(Table, CaseEvent.__table__)

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


def _chunks(values: Sequence[str], size: int = _IN_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True)
class StoredEvent:
    fingerprint: str
    audit_seq: int


def stored_events(session: Session, client_event_ids: Sequence[str]) -> dict[str, StoredEvent]:
    found: dict[str, StoredEvent] = {}
    for chunk in _chunks(client_event_ids):
        rows = session.execute(
            select(CaseEvent.client_event_id, CaseEvent.fingerprint, CaseEvent.audit_seq).where(
                CaseEvent.client_event_id.in_(chunk)
            )
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
    new_row: dict[str, Any] | None = None


def claim_states(session: Session, numbers: Sequence[str]) -> dict[str, ClaimState]:
    found: dict[str, ClaimState] = {}
    for chunk in _chunks(numbers):
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
            ).where(Claim.number.in_(chunk))
        )
        for row in rows:
            found[row.number] = ClaimState(*row)
    return found


def insert_claims(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    if not rows:
        return {}
    result = session.execute(insert(Claim).returning(Claim.number, Claim.id), rows)
    return {number: claim_id for number, claim_id in result}


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(_EVENTS), rows)


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


def update_claims(session: Session, tenant_id: int, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = _CLAIMS
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.tenant_id == tenant_id)
        .values({name: bindparam(f"b_{name}") for name in _UPDATABLE})
    )
    session.connection().execute(statement, [{f"b_{k}": v for k, v in row.items()} for row in rows])


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
    return session.execute(select(Claim).where(Claim.number == number)).scalars().first()


def timeline(session: Session, claim_id: int) -> list[CaseEvent]:
    return list(
        session.execute(select(CaseEvent).where(CaseEvent.claim_id == claim_id).order_by(CaseEvent.audit_seq)).scalars()
    )
