"""What the revisit pages and API show: the queue (due first, filters), one revisit, and the KPIs of a period —
the share of revisits completed within the cooling-off period, and the misled rate by agent and by org unit (of
the customers reached: understood + misled)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session, aliased

from claimwatch.auth.models import User
from claimwatch.errors import Invalid
from claimwatch.inspections.models import InspectionFinding
from claimwatch.people.models import StaffMember
from claimwatch.policies import revisits
from claimwatch.policies.models import PolicyRevisit, PolicySale
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import N_, translate

PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
STATUS_FILTERS = ("open", *revisits.STATUSES, "all")
YELLOW_DAYS = 2  # due within this many days: yellow


@dataclass(frozen=True)
class QueueFilter:
    status: str = "open"  # open (due, in progress, overdue) | a status | all
    channel: str | None = None
    outcome: str | None = None
    agent: str | None = None  # staff code
    org: str | None = None  # org unit code (its subtree)
    assignee_id: int | None = None  # "mine"
    unassigned: bool = False
    due_from: dt.date | None = None
    due_to: dt.date | None = None

    def check(self) -> QueueFilter:
        if self.status not in STATUS_FILTERS:
            raise Invalid("status", f"status is one of {', '.join(STATUS_FILTERS)}")
        if self.channel is not None and self.channel not in revisits.CHANNELS:
            raise Invalid("channel", f"channel is one of {', '.join(revisits.CHANNELS)}")
        if self.outcome is not None and self.outcome not in revisits.OUTCOMES:
            raise Invalid("outcome", f"outcome is one of {', '.join(revisits.OUTCOMES)}")
        if self.due_from and self.due_to and self.due_to < self.due_from:
            raise Invalid("due_to", f"due_to {self.due_to} is before due_from {self.due_from}")
        return self


def _org_ids(session: Session, code: str) -> list[int]:
    unit = session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise Invalid("org", f"no org unit {code!r}")
    return list(session.scalars(select(OrgUnit.id).where(OrgUnit.path.like(f"{unit.path}%"))))


def _where(session: Session, flt: QueueFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.status == "open":
        where.append(PolicyRevisit.status.in_(revisits.OPEN))
    elif flt.status != "all":
        where.append(PolicyRevisit.status == flt.status)
    if flt.channel:
        where.append(PolicyRevisit.channel == flt.channel)
    if flt.outcome:
        where.append(PolicyRevisit.outcome == flt.outcome)
    if flt.agent:
        where.append(StaffMember.code == flt.agent)
    if flt.org:
        where.append(PolicySale.org_unit_id.in_(_org_ids(session, flt.org)))
    if flt.assignee_id is not None:
        where.append(PolicyRevisit.assignee_id == flt.assignee_id)
    if flt.unassigned:
        where.append(PolicyRevisit.assignee_id.is_(None))
    if flt.due_from:
        where.append(PolicyRevisit.due_on >= flt.due_from)
    if flt.due_to:
        where.append(PolicyRevisit.due_on <= flt.due_to)
    return where


def _base() -> Any:
    assignee = aliased(User)
    statement = (
        select(
            PolicyRevisit,
            PolicySale,
            StaffMember.code,
            StaffMember.name,
            OrgUnit.code,
            OrgUnit.name,
            assignee.username,
            InspectionFinding.number,
        )
        .join(PolicySale, PolicySale.id == PolicyRevisit.sale_id)
        .outerjoin(StaffMember, StaffMember.id == PolicySale.agent_id)
        .outerjoin(OrgUnit, OrgUnit.id == PolicySale.org_unit_id)
        .outerjoin(assignee, assignee.id == PolicyRevisit.assignee_id)
        .outerjoin(InspectionFinding, InspectionFinding.id == PolicyRevisit.finding_id)
    )
    return statement


def light(revisit: PolicyRevisit, today: dt.date) -> str | None:
    if revisit.status == revisits.DONE:
        return None
    if revisit.status == revisits.OVERDUE or revisit.due_on < today:
        return "red"
    return "yellow" if (revisit.due_on - today).days <= YELLOW_DAYS else "green"


def _row(found: Any, locale: str, today: dt.date) -> dict[str, Any]:
    revisit, sale, agent_code, agent_name, org_code, org_name, assignee, finding = found
    return {
        "id": revisit.id,
        "policy_number": sale.policy_number,
        "product_name": sale.product_name,
        "line": sale.line,
        "customer": sale.customer_name_masked or "",
        "signed_on": sale.signed_on,
        "cooling_off_until": revisits.cooling_off_until(sale),
        "agent_code": agent_code,
        "agent_name": agent_name,
        "org_code": org_code,
        "org_name": org_name,
        "channel": revisit.channel,
        "channel_label": translate(locale, revisits.CHANNELS.get(revisit.channel, revisit.channel)),
        "due_on": revisit.due_on,
        "status": revisit.status,
        "status_label": translate(locale, revisits.STATUSES.get(revisit.status, revisit.status)),
        "attempts": revisit.attempts,
        "outcome": revisit.outcome,
        "outcome_label": translate(locale, revisits.OUTCOMES[revisit.outcome]) if revisit.outcome else None,
        "assignee": assignee,
        "notes": revisit.notes,
        "finding_id": revisit.finding_id,
        "finding_number": finding,
        "completed_by": revisit.completed_by,
        "completed_at": revisit.completed_at,
        "light": light(revisit, today),
        "url": f"/revisits/{revisit.id}",
    }


def today_in(zone: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(zone).date()


def queue(
    session: Session, flt: QueueFilter, locale: str, today: dt.date, page: int = 1, size: int = PAGE_SIZE
) -> tuple[int, list[dict[str, Any]]]:
    """(total, one page of rows), due first: overdue, then by due day, then oldest."""
    where = _where(session, flt.check())
    count = (
        select(func.count())
        .select_from(PolicyRevisit)
        .join(PolicySale, PolicySale.id == PolicyRevisit.sale_id)
        .outerjoin(StaffMember, StaffMember.id == PolicySale.agent_id)
    )
    total = session.execute(count.where(*where)).scalar_one()
    if total == 0 or size <= 0:
        return total, []
    statement = _base()
    done_last = case((PolicyRevisit.status == revisits.DONE, 1), else_=0)
    rows = session.execute(
        statement.where(*where)
        .order_by(done_last, PolicyRevisit.due_on, PolicyRevisit.id)
        .limit(size)
        .offset((max(page, 1) - 1) * size)
    ).all()
    return total, [_row(found, locale, today) for found in rows]


def revisit_view(session: Session, revisit_id: int, locale: str, today: dt.date) -> dict[str, Any]:
    revisits.get(session, revisit_id)
    statement = _base()
    found = session.execute(statement.where(PolicyRevisit.id == revisit_id)).one()
    view = _row(found, locale, today)
    revisit = found[0]
    view["message_id"] = revisit.message_id
    view["reply_code"] = revisits.reply_code(revisit) if revisit.channel == revisits.MESSAGE else None
    view["open"] = revisit.status != revisits.DONE
    view["unreachable_after"] = revisits.tenant_settings(session, revisit.tenant_id).unreachable_after_attempts
    return view


# -- KPIs -------------------------------------------------------------------------------------------------


@dataclass
class RateRow:
    key: str
    label: str
    reached: int = 0
    misled: int = 0

    @property
    def rate(self) -> float | None:
        return round(100.0 * self.misled / self.reached, 1) if self.reached else None


@dataclass
class RevisitKpis:
    due_from: dt.date
    due_to: dt.date
    total: int = 0
    done: int = 0
    within_cooling_off: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    by_agent: list[RateRow] = field(default_factory=list)
    by_org: list[RateRow] = field(default_factory=list)

    @property
    def completion_rate(self) -> float | None:
        """Revisits completed within the cooling-off period, of all due in the period."""
        return round(100.0 * self.within_cooling_off / self.total, 1) if self.total else None

    @property
    def misled_rate(self) -> float | None:
        reached = self.outcomes.get(revisits.UNDERSTOOD, 0) + self.outcomes.get(revisits.MISLED, 0)
        return round(100.0 * self.outcomes.get(revisits.MISLED, 0) / reached, 1) if reached else None


def kpis(session: Session, zone: ZoneInfo, due_from: dt.date, due_to: dt.date) -> RevisitKpis:
    """The revisits due in [due_from, due_to]: completion within the cooling-off period (the completion's local
    day not after signed_on + cooling_off_days), the outcomes, and the misled rate by agent and by org unit."""
    if due_to < due_from:
        raise Invalid("due_to", f"due_to {due_to} is before due_from {due_from}")
    rows = session.execute(
        select(
            PolicyRevisit.status,
            PolicyRevisit.outcome,
            PolicyRevisit.completed_at,
            PolicySale.signed_on,
            PolicySale.cooling_off_days,
            StaffMember.code,
            StaffMember.name,
            OrgUnit.code,
            OrgUnit.name,
        )
        .join(PolicySale, PolicySale.id == PolicyRevisit.sale_id)
        .outerjoin(StaffMember, StaffMember.id == PolicySale.agent_id)
        .outerjoin(OrgUnit, OrgUnit.id == PolicySale.org_unit_id)
        .where(and_(PolicyRevisit.due_on >= due_from, PolicyRevisit.due_on <= due_to))
    ).all()
    result = RevisitKpis(due_from, due_to)
    agents: dict[str, RateRow] = {}
    orgs: dict[str, RateRow] = {}
    outcomes: dict[str, int] = defaultdict(int)
    for status, outcome, completed_at, signed_on, days, agent_code, agent_name, org_code, org_name in rows:
        result.total += 1
        if status != revisits.DONE or completed_at is None:
            continue
        result.done += 1
        outcomes[outcome or ""] += 1
        if completed_at.astimezone(zone).date() <= signed_on + dt.timedelta(days=days):
            result.within_cooling_off += 1
        if outcome not in (revisits.UNDERSTOOD, revisits.MISLED):
            continue
        for table, key, label in ((agents, agent_code, agent_name), (orgs, org_code, org_name)):
            row = table.setdefault(key or "—", RateRow(key or "—", label or "—"))
            row.reached += 1
            row.misled += outcome == revisits.MISLED
    result.outcomes = dict(outcomes)

    def order(row: RateRow) -> tuple[float, str]:
        return (-(row.rate or 0.0), row.key)

    result.by_agent = sorted(agents.values(), key=order)
    result.by_org = sorted(orgs.values(), key=order)
    return result


def kpi_view(found: RevisitKpis) -> dict[str, Any]:
    def rows(table: list[RateRow]) -> list[dict[str, Any]]:
        return [
            {"key": r.key, "label": r.label, "reached": r.reached, "misled": r.misled, "rate": r.rate} for r in table
        ]

    return {
        "due_from": found.due_from,
        "due_to": found.due_to,
        "total": found.total,
        "done": found.done,
        "within_cooling_off": found.within_cooling_off,
        "completion_rate": found.completion_rate,
        "misled_rate": found.misled_rate,
        "outcomes": found.outcomes,
        "by_agent": rows(found.by_agent),
        "by_org": rows(found.by_org),
    }


EXPORT_HEADER = (
    N_("Policy"), N_("Product"), N_("Customer"), N_("Agent"), N_("Org unit"), N_("Channel"), N_("Due"),
    N_("Status"), N_("Attempts"), N_("Outcome"), N_("Assignee"), N_("Finding"), N_("Completed at"),
)  # fmt: skip


def export_rows(rows: list[dict[str, Any]], locale: str) -> tuple[list[str], list[list[Any]]]:
    """The queue as a table for CSV/XLSX: headers in the reader's language, labels not codes."""
    header = [translate(locale, title) for title in EXPORT_HEADER]
    body = [
        [
            r["policy_number"], r["product_name"], r["customer"], r["agent_code"] or "", r["org_code"] or "",
            r["channel_label"], r["due_on"].isoformat(), r["status_label"], r["attempts"], r["outcome_label"] or "",
            r["assignee"] or "", r["finding_number"] or "",
            r["completed_at"].isoformat() if r["completed_at"] else "",
        ]
        for r in rows
    ]  # fmt: skip
    return header, body
