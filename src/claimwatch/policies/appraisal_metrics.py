"""The agents' appraisal metrics from their sales (registered with
:mod:`claimwatch.people.appraisal_scheme`; wired by :mod:`claimwatch.appraisal_sources`): per agent and month,
lower is better for all three.

* ``sale_flags``: flags not cleared on the sales signed in the month, per 100 of those sales;
* ``cooling_off_rate``: the share (%) of the month's sales cancelled within the cooling-off period;
* ``mis_selling_complaints``: complaints linked in the month to the agent's sales.

Each is one GROUP BY over the month for every person at once; the volume is the sales signed in the month.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from claimwatch.people.appraisal_scheme import MetricValue, MonthWindow, PersonRef, register_metric_source
from claimwatch.policies.models import PolicySale, SaleComplaintLink, SaleFlag
from claimwatch.policies.sales_repository import CLEARED
from claimwatch.web.i18n import N_

AGENTS = frozenset({"agent"})


def _ids(people: Sequence[PersonRef]) -> list[int]:
    return [person.staff_id for person in people]


def _sales(session: Session, window: MonthWindow, people: Sequence[PersonRef]) -> dict[int, tuple[int, int]]:
    """Per agent: (sales signed in the month, of them cancelled in the cooling-off period)."""
    ids = _ids(people)
    if not ids:
        return {}
    statement = (
        select(
            PolicySale.agent_id,
            func.count(PolicySale.id),
            func.sum(case((PolicySale.cancelled_in_cooling_off.is_(True), 1), else_=0)),
        )
        .where(
            PolicySale.tenant_id == window.tenant_id,
            PolicySale.agent_id.in_(ids),
            PolicySale.signed_on >= window.start_on,
            PolicySale.signed_on < window.end_on,
        )
        .group_by(PolicySale.agent_id)
    )
    return {agent: (int(sales), int(cancelled or 0)) for agent, sales, cancelled in session.execute(statement)}


class SaleFlagsPer100:
    code = "sale_flags"
    label = N_("Sales flags per 100 sales")
    unit = "per100"
    staff_kinds = AGENTS

    def compute(self, session: Session, window: MonthWindow, people: Sequence[PersonRef]) -> dict[int, MetricValue]:
        sales = _sales(session, window, people)
        if not sales:
            return {}
        statement = (
            select(PolicySale.agent_id, func.count(SaleFlag.id))
            .join(SaleFlag, SaleFlag.sale_id == PolicySale.id)
            .where(
                PolicySale.tenant_id == window.tenant_id,
                PolicySale.agent_id.in_(list(sales)),
                PolicySale.signed_on >= window.start_on,
                PolicySale.signed_on < window.end_on,
                SaleFlag.status != CLEARED,
            )
            .group_by(PolicySale.agent_id)
        )
        flags = {agent: int(count) for agent, count in session.execute(statement)}
        found = {}
        for agent, (count, _) in sales.items():
            raised = flags.get(agent, 0)
            found[agent] = MetricValue(
                value=round(100 * raised / count, 2),
                volume=count,
                basis=N_("%(flags)s flags on %(sales)s sales"),
                params={"flags": raised, "sales": count},
            )
        return found


class CoolingOffRate:
    code = "cooling_off_rate"
    label = N_("Cooling-off cancellation rate")
    unit = "percent"
    staff_kinds = AGENTS

    def compute(self, session: Session, window: MonthWindow, people: Sequence[PersonRef]) -> dict[int, MetricValue]:
        return {
            agent: MetricValue(
                value=round(100 * cancelled / count, 2),
                volume=count,
                basis=N_("%(cancelled)s of %(sales)s sales cancelled in cooling-off"),
                params={"cancelled": cancelled, "sales": count},
            )
            for agent, (count, cancelled) in _sales(session, window, people).items()
            if count
        }


class MisSellingComplaints:
    code = "mis_selling_complaints"
    label = N_("Mis-selling complaints")
    unit = "count"
    staff_kinds = AGENTS

    def compute(self, session: Session, window: MonthWindow, people: Sequence[PersonRef]) -> dict[int, MetricValue]:
        ids = _ids(people)
        if not ids:
            return {}
        statement = (
            select(SaleComplaintLink.agent_id, func.count(func.distinct(SaleComplaintLink.complaint_id)))
            .where(
                SaleComplaintLink.tenant_id == window.tenant_id,
                SaleComplaintLink.agent_id.in_(ids),
                SaleComplaintLink.linked_at >= window.start_at,
                SaleComplaintLink.linked_at < window.end_at,
            )
            .group_by(SaleComplaintLink.agent_id)
        )
        complaints = {agent: int(count) for agent, count in session.execute(statement)}
        sales = _sales(session, window, people)
        found = {}
        for agent in set(sales) | set(complaints):
            if agent is None:
                continue
            count = complaints.get(agent, 0)
            found[agent] = MetricValue(
                value=float(count),
                volume=sales.get(agent, (0, 0))[0],
                basis=N_("%(complaints)s mis-selling complaints linked in the month"),
                params={"complaints": count},
            )
        return found


SALE_FLAGS = register_metric_source(SaleFlagsPer100())
COOLING_OFF = register_metric_source(CoolingOffRate())
MIS_SELLING = register_metric_source(MisSellingComplaints())
