"""The rating's queries that several services share (insurers by id and code, a run's results, upheld
objections). The rating tables are not tenant-scoped: every read here names the insurer it is for."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.supervision.models import RatingObjection, RatingResult
from claimwatch.tenancy.models import Tenant


def tenant_codes(session: Session) -> dict[int, str]:
    return {row[0]: row[1] for row in session.execute(select(Tenant.id, Tenant.code))}


def tenant_names(session: Session) -> dict[int, str]:
    return {row[0]: row[1] for row in session.execute(select(Tenant.id, Tenant.name))}


def tenant_by_code(session: Session, code: str) -> Tenant | None:
    return session.scalars(select(Tenant).where(Tenant.code == code)).first()


def run_results(session: Session, run_id: int, tenant_id: int | None = None) -> list[RatingResult]:
    """A run's results by rank (one insurer's when ``tenant_id`` is given)."""
    statement = select(RatingResult).where(RatingResult.run_id == run_id)
    if tenant_id is not None:
        statement = statement.where(RatingResult.tenant_id == tenant_id)
    order = (RatingResult.rank, RatingResult.tenant_id, RatingResult.region_code)
    return list(session.scalars(statement.order_by(*order)))


def upheld_objections(session: Session, result_ids: Sequence[int]) -> dict[int, RatingObjection]:
    """The last upheld objection of each result (its revision is the result's final score and grade)."""
    if not result_ids:
        return {}
    found: dict[int, RatingObjection] = {}
    for objection in session.scalars(
        select(RatingObjection)
        .where(RatingObjection.result_id.in_(list(result_ids)), RatingObjection.status == "upheld")
        .order_by(RatingObjection.decided_at, RatingObjection.id)
    ):
        found[objection.result_id] = objection
    return found
