"""Queries of the KPI alerts (``quality_alerts``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from claimwatch.kpi.models import QualityAlert

ALERT_KEY = ("tenant_id", "kpi_code", "dimension", "unit_key", "period")


def _insert(session: Session, model: type) -> Any:
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def existing(session: Session, periods: Sequence[str]) -> dict[tuple[str, str, str, str], QualityAlert]:
    rows = session.execute(select(QualityAlert).where(QualityAlert.period.in_(list(periods)))).scalars()
    return {(a.kpi_code, a.dimension, a.unit_key, a.period): a for a in rows}


def insert_alert(session: Session, values: dict[str, Any]) -> int | None:
    """Inserts unless the (tenant, kpi, dimension, unit, period) row exists; the new row's id when this call
    inserted it (a concurrent worker that lost the race gets None and notifies nobody)."""
    statement = (
        _insert(session, QualityAlert)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(ALERT_KEY))
        # A row back means this statement inserted it (rowcount reports 1 on conflict on PostgreSQL).
        .returning(QualityAlert.id)
    )
    row = session.execute(statement).first()
    return None if row is None else int(row[0])


def recent(session: Session, periods: Sequence[str], limit: int = 200) -> list[QualityAlert]:
    statement = (
        select(QualityAlert)
        .where(QualityAlert.period.in_(list(periods)))
        .order_by(QualityAlert.period.desc(), QualityAlert.created_at.desc(), QualityAlert.id.desc())
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


def alert_by_id(session: Session, alert_id: int) -> QualityAlert | None:
    """One alert of the session's tenant (another tenant's is not found)."""
    return session.execute(select(QualityAlert).where(QualityAlert.id == alert_id)).scalar_one_or_none()
