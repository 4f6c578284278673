"""The ``actions`` KPI snapshot table (:data:`claimwatch.kpi.columns.TABLES`): one row per improvement action
under its scope's org unit (the unit's region when the action names none), registered with
:mod:`claimwatch.kpi.sources` at import (wired in :mod:`claimwatch.kpi_sources`).

``overdue`` is as of the snapshot: not completed, not cancelled, and past its due time. KPI ``action_on_time``
counts, among the actions due in the period that are completed or overdue, those completed by their due time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Select, and_, func, literal, select

from claimwatch.actions.models import ImprovementAction
from claimwatch.actions.vocabulary import CANCELLED
from claimwatch.kpi import sources
from claimwatch.tenancy.models import OrgUnit


def query(taken_at: dt.datetime) -> Select:
    overdue = and_(
        ImprovementAction.completed_at.is_(None),
        ImprovementAction.phase != CANCELLED,
        ImprovementAction.due_at < taken_at,
    )
    return (
        select(
            ImprovementAction.tenant_id,
            literal(None, BigInteger),
            ImprovementAction.scope_org_unit_id,
            func.coalesce(ImprovementAction.scope_region, OrgUnit.region_code),
            ImprovementAction.scope_line,
            ImprovementAction.source_kind,
            ImprovementAction.kpi_code,
            ImprovementAction.phase,
            ImprovementAction.created_at,
            ImprovementAction.due_at,
            ImprovementAction.completed_at,
            overdue,
            ImprovementAction.check_verdict,
        )
        .outerjoin(OrgUnit, OrgUnit.id == ImprovementAction.scope_org_unit_id)
        .order_by(ImprovementAction.id)
    )


sources.register("actions", query)
