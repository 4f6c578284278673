"""Report queries. Sessions are tenant-scoped by the session's context (an insurer's session never selects
another insurer's rows nor the regulator edition, whose tenant_id is NULL); ``edition_filter`` narrows a
regulator's cross-tenant session to the regulator edition."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.reports.models import Report


def latest_version(session: Session, series: str) -> int:
    found = session.execute(select(func.max(Report.version)).where(Report.series == series)).scalar_one_or_none()
    return int(found or 0)


def get(session: Session, report_id: int, *, regulator_edition: bool) -> Report | None:
    statement = select(Report).where(Report.id == report_id)
    if regulator_edition:
        statement = statement.where(Report.tenant_id.is_(None))
    return session.execute(statement).scalar_one_or_none()


def listing(
    session: Session,
    *,
    regulator_edition: bool,
    tenant_id: int | None = None,
    kind: str | None = None,
    period: str | None = None,
    limit: int = 500,
) -> Sequence[Report]:
    """Newest first. ``tenant_id``: only that insurer's (a system session sees every row otherwise)."""
    statement = select(Report)
    if regulator_edition:
        statement = statement.where(Report.tenant_id.is_(None))
    elif tenant_id is not None:
        statement = statement.where(Report.tenant_id == tenant_id)
    if kind:
        statement = statement.where(Report.kind == kind)
    if period:
        statement = statement.where(Report.period == period)
    statement = statement.order_by(Report.built_at.desc(), Report.id.desc()).limit(limit)
    return session.execute(statement).scalars().all()


def series_built(session: Session, series: str) -> bool:
    """A built version of the series exists (the worker builds each scheduled period once)."""
    statement = select(Report.id).where(Report.series == series, Report.status == "built").limit(1)
    return session.execute(statement).first() is not None
