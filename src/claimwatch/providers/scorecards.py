"""Provider scorecards (第三方机构考核): one provider's month in figures, and its place among its peers.

A month is the tenant's local calendar month (``YYYY-MM``). The figures, each from one aggregate query over
every provider of the tenant at once:

- ``sent``: tasks sent in the month (cancelled ones not counted anywhere);
- ``judged``, ``on_time``, ``standard``: the tasks *due* in the month with a verdict (report in, or deadline
  passed), and how many of them were on time / done to standard — the same counts as the KPIs
  ``provider_report_on_time`` and ``provider_standard_rate`` (``defaults/kpis.yaml``), so a scorecard and the
  dashboard agree;
- ``reported`` and ``turnaround_days``: reports received in the month, and their mean working days from sending
  to report on the tenant's calendar;
- ``disputes`` by outcome (upheld | rejected | withdrawn | open) on the month's reports, and ``upheld_reports``,
  the month's reports with an upheld dispute (the report was wrong);
- ``complaints`` naming the provider (``complaints.provider_id``) received in the month;
- ``findings``: inspection findings made in the month on claims the provider had a task on (sent before the
  finding).

Peers are the providers of the same kind serving at least one of the same regions; the comparison is on the
on-time rate (median of the peers with a verdict in the month, and the provider's rank, 1 = best).
Read only: :mod:`claimwatch.providers.flags` turns figures below the thresholds into flags.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from claimwatch.calendar import service as calendar_service
from claimwatch.calendar.workdays import DAY, CalendarYearMissing, Unit
from claimwatch.complaints.models import Complaint
from claimwatch.db import utc_now
from claimwatch.errors import Invalid
from claimwatch.inspections.models import Inspection, InspectionFinding
from claimwatch.providers.models import Provider, ProviderTask, TaskDispute
from claimwatch.tenancy import service as tenancy_service

CANCELLED = "cancelled"
OUTCOMES = ("upheld", "rejected", "withdrawn", "open")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Month:
    """A tenant-local calendar month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _PERIOD.match((text or "").strip())
        if match is None or not 2000 <= int(match[1]) <= 2999:
            raise Invalid("period", f"period {text!r} must be a month YYYY-MM")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def containing(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"

    def shift(self, steps: int) -> Month:
        index = self.year * 12 + self.month - 1 + steps
        return Month(index // 12, index % 12 + 1)

    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    def bounds(self, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as UTC instants: local midnight of the first day to that of the next month's."""
        start = dt.datetime.combine(self.first_day(), dt.time(), zone)
        end = dt.datetime.combine(self.shift(1).first_day(), dt.time(), zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)

    def trailing(self, count: int) -> list[Month]:
        """This month and the ``count - 1`` before it, oldest first."""
        return [self.shift(-offset) for offset in range(count - 1, -1, -1)]

    def __str__(self) -> str:
        return self.label


def percent(part: int, whole: int) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


@dataclass
class Figures:
    provider_id: int
    period: str
    sent: int = 0
    judged: int = 0
    on_time: int = 0
    standard: int = 0
    reported: int = 0
    turnaround_days: float | None = None
    disputes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    upheld_reports: int = 0
    complaints: int = 0
    findings: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return percent(self.on_time, self.judged)

    @property
    def standard_rate(self) -> float | None:
        return percent(self.standard, self.judged)

    @property
    def upheld_rate(self) -> float | None:
        return percent(self.upheld_reports, self.reported)

    @property
    def dispute_count(self) -> int:
        return sum(self.disputes.values())

    def as_dict(self) -> dict[str, object]:
        """What a flag records (JSON)."""
        return {
            "sent": self.sent,
            "judged": self.judged,
            "on_time": self.on_time,
            "standard": self.standard,
            "reported": self.reported,
            "on_time_rate": self.on_time_rate,
            "standard_rate": self.standard_rate,
            "upheld_rate": self.upheld_rate,
            "turnaround_days": self.turnaround_days,
            "disputes": dict(self.disputes),
            "upheld_reports": self.upheld_reports,
            "complaints": self.complaints,
            "findings": self.findings,
        }

    def figure(self, name: str) -> float | None:
        value = self.as_dict().get(name)
        return None if value is None or isinstance(value, dict) else float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Peers:
    """The provider among the providers of its kind sharing a region with it (itself included)."""

    size: int  # peers with a verdict in the month
    median_on_time: float | None
    rank: int | None  # 1 = the best on-time rate; None without a verdict of its own


@dataclass
class Scorecard:
    provider: Provider
    figures: Figures
    peers: Peers


def _zone(session: Session, tenant_id: int) -> dt.tzinfo:
    return tenancy_service.tenant_zone(session, tenant_id)


def _turnaround(session: Session, tenant_id: int, pairs: Sequence[tuple[dt.datetime, dt.datetime]]) -> float | None:
    """Mean working days between sending and report (tenant calendar); a year the calendar lacks is skipped."""
    if not pairs:
        return None
    axis = calendar_service.axis_for(session, tenant_id, Unit.WORKING_DAYS)
    days = []
    for sent, reported in pairs:
        try:
            days.append((axis.value_at(reported) - axis.value_at(sent)) / DAY)
        except CalendarYearMissing:
            continue
    return round(statistics.fmean(days), 2) if days else None


def figures(
    session: Session, tenant_id: int, month: Month, provider_ids: Iterable[int] | None = None
) -> dict[int, Figures]:
    """The month's figures of every provider of the tenant (or of ``provider_ids``) with any activity in it."""
    start, end = month.bounds(_zone(session, tenant_id))
    wanted = None if provider_ids is None else list(provider_ids)
    out: dict[int, Figures] = {}

    def of(provider_id: int) -> Figures:
        return out.setdefault(provider_id, Figures(provider_id, month.label))

    def scoped(column: Any) -> list[Any]:
        return [] if wanted is None else [column.in_(wanted)]

    live = ProviderTask.status != CANCELLED
    for provider_id, count in session.execute(
        select(ProviderTask.provider_id, func.count())
        .where(live, ProviderTask.sent_at >= start, ProviderTask.sent_at < end, *scoped(ProviderTask.provider_id))
        .group_by(ProviderTask.provider_id)
    ):
        of(provider_id).sent = int(count)
    for provider_id, judged, on_time, standard in session.execute(
        select(
            ProviderTask.provider_id,
            func.count(),
            func.sum(case((ProviderTask.on_time.is_(True), 1), else_=0)),
            func.sum(case((ProviderTask.standard.is_(True), 1), else_=0)),
        )
        .where(
            live,
            ProviderTask.due_at >= start,
            ProviderTask.due_at < end,
            ProviderTask.standard.is_not(None),
            *scoped(ProviderTask.provider_id),
        )
        .group_by(ProviderTask.provider_id)
    ):
        found = of(provider_id)
        found.judged, found.on_time, found.standard = int(judged), int(on_time or 0), int(standard or 0)
    reported_in_month = and_(live, ProviderTask.reported_at >= start, ProviderTask.reported_at < end)
    pairs: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for provider_id, sent_at, reported_at in session.execute(
        select(ProviderTask.provider_id, ProviderTask.sent_at, ProviderTask.reported_at).where(
            reported_in_month, *scoped(ProviderTask.provider_id)
        )
    ):
        if reported_at is not None:
            pairs[provider_id].append((sent_at, reported_at))
    for provider_id, found_pairs in pairs.items():
        found = of(provider_id)
        found.reported = len(found_pairs)
        found.turnaround_days = _turnaround(session, tenant_id, found_pairs)
    outcome = func.coalesce(TaskDispute.outcome, "open")
    for provider_id, name, count in session.execute(
        select(ProviderTask.provider_id, outcome, func.count())
        .select_from(TaskDispute)
        .join(ProviderTask, ProviderTask.id == TaskDispute.task_id)
        .where(reported_in_month, *scoped(ProviderTask.provider_id))
        .group_by(ProviderTask.provider_id, outcome)
    ):
        of(provider_id).disputes[str(name) if name in OUTCOMES else "open"] += int(count)
    for provider_id, count in session.execute(
        select(ProviderTask.provider_id, func.count(distinct(ProviderTask.id)))
        .select_from(TaskDispute)
        .join(ProviderTask, ProviderTask.id == TaskDispute.task_id)
        .where(reported_in_month, TaskDispute.outcome == "upheld", *scoped(ProviderTask.provider_id))
        .group_by(ProviderTask.provider_id)
    ):
        of(provider_id).upheld_reports = int(count)
    for complained_id, count in session.execute(
        select(Complaint.provider_id, func.count())
        .where(
            Complaint.provider_id.is_not(None),
            Complaint.received_at >= start,
            Complaint.received_at < end,
            *scoped(Complaint.provider_id),
        )
        .group_by(Complaint.provider_id)
    ):
        if complained_id is not None:
            of(int(complained_id)).complaints = int(count)
    for provider_id, count in session.execute(
        select(ProviderTask.provider_id, func.count(distinct(InspectionFinding.id)))
        .select_from(InspectionFinding)
        .join(Inspection, Inspection.id == InspectionFinding.inspection_id)
        .join(
            ProviderTask,
            and_(
                Inspection.subject_kind == "claim",
                ProviderTask.claim_id == Inspection.subject_id,
                ProviderTask.sent_at <= InspectionFinding.created_at,
            ),
        )
        .where(live, InspectionFinding.created_at >= start, InspectionFinding.created_at < end)
        .where(*scoped(ProviderTask.provider_id))
        .group_by(ProviderTask.provider_id)
    ):
        of(provider_id).findings = int(count)
    return out


def _peer_groups(providers: Sequence[Provider]) -> dict[int, list[int]]:
    """Per provider: the ids of the providers of its kind with a region in common (itself included)."""
    groups: dict[int, list[int]] = {}
    for provider in providers:
        regions = set(provider.regions or [])
        groups[provider.id] = [
            other.id
            for other in providers
            if other.kind == provider.kind and (other.id == provider.id or regions & set(other.regions or []))
        ]
    return groups


def _peers(provider_id: int, group: Sequence[int], found: dict[int, Figures]) -> Peers:
    rates = {pid: rate for pid in group if pid in found and (rate := found[pid].on_time_rate) is not None}
    own = rates.get(provider_id)
    median = round(statistics.median(rates.values()), 1) if rates else None
    rank = None if own is None else 1 + sum(1 for rate in rates.values() if rate > own)
    return Peers(len(rates), median, rank)


def compute(
    session: Session, tenant_id: int, period: str, *, now: dt.datetime | None = None, active_only: bool = False
) -> list[Scorecard]:
    """The scorecards of every provider of the tenant with activity in the month ``period`` (``YYYY-MM``),
    sorted by code. ``now`` is accepted for symmetry with the jobs (the figures do not depend on it).
    Raises :class:`Invalid` naming ``period`` for anything but a month."""
    del now
    month = Month.parse(period)
    providers = list(session.scalars(select(Provider).order_by(Provider.code)))
    found = figures(session, tenant_id, month)
    groups = _peer_groups(providers)
    cards = []
    for provider in providers:
        if provider.id not in found or (active_only and provider.status != "active"):
            continue
        cards.append(Scorecard(provider, found[provider.id], _peers(provider.id, groups[provider.id], found)))
    return cards


@dataclass
class ProviderHistory:
    """One provider's scorecard over several months (its page), oldest first."""

    provider: Provider
    months: list[Scorecard]


def history(session: Session, provider: Provider, last: Month, count: int = 12) -> ProviderHistory:
    """The provider's last ``count`` months up to ``last``, each with its peers' comparison (months without
    any activity show zeros)."""
    providers = list(session.scalars(select(Provider).where(Provider.kind == provider.kind)))
    group = _peer_groups(providers)[provider.id]
    cards = []
    for month in last.trailing(count):
        found = figures(session, provider.tenant_id, month, group)
        own = found.get(provider.id, Figures(provider.id, month.label))
        cards.append(Scorecard(provider, own, _peers(provider.id, group, found)))
    return ProviderHistory(provider, cards)


def current_month(session: Session, tenant_id: int, now: dt.datetime | None = None) -> Month:
    """The month running now in the tenant's zone."""
    return Month.containing((now or utc_now()).astimezone(_zone(session, tenant_id)).date())
