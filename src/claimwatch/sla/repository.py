from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from claimwatch.cases.models import Claim
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


def clock_events(session: Session, clock_ids: Sequence[int]) -> list[SlaClockEvent]:
    if not clock_ids:
        return []
    return list(
        session.execute(
            select(SlaClockEvent).where(SlaClockEvent.clock_id.in_(clock_ids)).order_by(SlaClockEvent.id)
        ).scalars()
    )


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


def tenants_with_due_clocks(session: Session, tenant_ids: Iterable[int], now: dt.datetime) -> list[int]:
    due: list[int] = []
    for tenant_id in tenant_ids:
        found = session.execute(
            select(SlaClock.id).where(SlaClock.tenant_id == tenant_id, SlaClock.next_check_at <= now).limit(1),
            execution_options={"include_all_tenants": True},
        ).first()
        if found is not None:
            due.append(tenant_id)
    return due


def claim_facts(
    session: Session, claim_ids: Iterable[int]
) -> dict[int, Any]:
    """id → row (id, number, line, org_unit_id, region_code, reported_at)."""
    ids = sorted(set(claim_ids))
    facts: dict[int, Any] = {}
    for start in range(0, len(ids), 5000):
        rows = session.execute(
            select(Claim.id, Claim.number, Claim.line, Claim.org_unit_id, Claim.region_code, Claim.reported_at).where(
                Claim.id.in_(ids[start : start + 5000])
            )
        )
        facts.update({row[0]: row for row in rows})
    return facts


def insert_ignore_duplicates(session: Session, model: type, rows: list[dict[str, object]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: a second firing of the same (clock, level) is a no-op."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(model).on_conflict_do_nothing(), rows)


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
    """Escalations with their clock and claim, oldest first (the longest-waiting case on top)."""
    statement = (
        select(Escalation, SlaClock, Claim)
        .join(SlaClock, SlaClock.id == Escalation.clock_id)
        .join(Claim, Claim.id == Escalation.claim_id)
        .order_by(Escalation.fired_at, Escalation.id)
        .limit(limit)
    )
    if not include_acknowledged:
        statement = statement.where(Escalation.status == "open")
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


def light_counts(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(SlaClock.state, SlaClock.light, func.count()).group_by(SlaClock.state, SlaClock.light)
    )
    return {(state, light): count for state, light, count in rows}
