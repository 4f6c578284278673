"""Provider statistics across insurers (the regulator's view, /providers/statistics): one provider is one
统一社会信用代码 (``credit_code``) whatever insurer registered it, so a repair shop that is late for every
insurer it works for stands out — marked and sorted first.

Over a range of months (the platform's zone, as every view across insurers), per provider and insurer: the
tasks due with a verdict, on time and to standard (the KPI counts). A provider without a credit code is its own
row (one insurer). "Late" is an on-time rate below the scorecard's ``on_time_low`` threshold
(``defaults/providers/scorecard.yaml``). An insurer's staff see the same page over their own providers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from claimwatch.providers import flags
from claimwatch.providers.models import Provider, ProviderTask
from claimwatch.providers.scorecards import CANCELLED, Month, percent
from claimwatch.tenancy.models import Tenant
from claimwatch.tenancy.service import platform_zone

DEFAULT_LATE_BELOW = 80.0
MAX_MONTHS = 12


@dataclass
class InsurerFigures:
    tenant_code: str
    provider_code: str
    judged: int
    on_time: int
    standard: int

    @property
    def on_time_rate(self) -> float | None:
        return percent(self.on_time, self.judged)

    @property
    def standard_rate(self) -> float | None:
        return percent(self.standard, self.judged)


@dataclass
class ProviderStatistics:
    key: str  # the credit code, or "tenant:code" without one
    name: str
    kind: str
    credit_code: str | None
    insurers: list[InsurerFigures] = field(default_factory=list)
    late_everywhere: bool = False  # late for every insurer, at two or more

    @property
    def judged(self) -> int:
        return sum(i.judged for i in self.insurers)

    @property
    def on_time_rate(self) -> float | None:
        return percent(sum(i.on_time for i in self.insurers), self.judged)

    @property
    def standard_rate(self) -> float | None:
        return percent(sum(i.standard for i in self.insurers), self.judged)


@dataclass
class StatisticsView:
    first: Month
    last: Month
    late_below: float
    rows: list[ProviderStatistics]


def late_threshold() -> float:
    rule = flags.rules().by_code().get("on_time_low")
    return rule.below if rule is not None and rule.below is not None else DEFAULT_LATE_BELOW


def statistics(session: Session, last: Month, months: int = 3) -> StatisticsView:
    """Per provider (credit code) and insurer, the tasks due in the ``months`` months up to ``last``."""
    months = max(1, min(MAX_MONTHS, months))
    first = last.shift(-(months - 1))
    zone = platform_zone()
    start, end = first.bounds(zone)[0], last.bounds(zone)[1]
    rows = session.execute(
        select(
            Provider.tenant_id,
            Tenant.code,
            Provider.code,
            Provider.name,
            Provider.kind,
            Provider.credit_code,
            func.count(),
            func.sum(case((ProviderTask.on_time.is_(True), 1), else_=0)),
            func.sum(case((ProviderTask.standard.is_(True), 1), else_=0)),
        )
        .select_from(ProviderTask)
        .join(Provider, Provider.id == ProviderTask.provider_id)
        .join(Tenant, Tenant.id == Provider.tenant_id)
        .where(
            ProviderTask.status != CANCELLED,
            ProviderTask.standard.is_not(None),
            ProviderTask.due_at >= start,
            ProviderTask.due_at < end,
        )
        .group_by(Provider.tenant_id, Tenant.code, Provider.code, Provider.name, Provider.kind, Provider.credit_code)
    ).all()
    by_key: dict[str, ProviderStatistics] = {}
    for _tenant_id, tenant_code, code, name, kind, credit_code, judged, on_time, standard in rows:
        key = credit_code or f"{tenant_code}:{code}"
        found = by_key.setdefault(key, ProviderStatistics(key, name, kind, credit_code))
        found.insurers.append(InsurerFigures(tenant_code, code, int(judged), int(on_time or 0), int(standard or 0)))
    late_below = late_threshold()
    for found in by_key.values():
        found.insurers.sort(key=lambda i: i.tenant_code)
        rates = [i.on_time_rate for i in found.insurers]
        found.late_everywhere = len(rates) >= 2 and all(r is not None and r < late_below for r in rates)
    ordered = sorted(
        by_key.values(),
        key=lambda s: (not s.late_everywhere, s.on_time_rate if s.on_time_rate is not None else 101.0, s.key),
    )
    return StatisticsView(first, last, late_below, ordered)


def default_last(now: dt.datetime) -> Month:
    """The last complete month in the platform's zone."""
    return Month.containing(now.astimezone(platform_zone()).date()).shift(-1)


# -- the two KPIs by provider, task kind or region, for one tenant's month (/providers/performance) ----------

BREAKDOWNS = {"provider": Provider.code, "kind": ProviderTask.kind, "region": ProviderTask.region_code}


@dataclass
class PerformanceRow:
    key: str
    label: str
    judged: int
    on_time: int
    standard: int
    drill: dict[str, str]  # the /provider-tasks filters of this row (besides the period and the flag)

    @property
    def on_time_rate(self) -> float | None:
        return percent(self.on_time, self.judged)

    @property
    def standard_rate(self) -> float | None:
        return percent(self.standard, self.judged)


def performance(session: Session, month: Month, by: str, zone: dt.tzinfo) -> list[PerformanceRow]:
    """``provider_standard_rate`` and ``provider_report_on_time`` (the catalogue's counts, from the live tables)
    for the tasks due in ``month`` with a verdict, by provider, task kind or region; worst standard rate first."""
    column = BREAKDOWNS[by]
    start, end = month.bounds(zone)
    statement = (
        select(
            column,
            func.min(Provider.name),
            func.count(),
            func.sum(case((ProviderTask.on_time.is_(True), 1), else_=0)),
            func.sum(case((ProviderTask.standard.is_(True), 1), else_=0)),
        )
        .select_from(ProviderTask)
        .join(Provider, Provider.id == ProviderTask.provider_id)
        .where(
            ProviderTask.status != CANCELLED,
            ProviderTask.standard.is_not(None),
            ProviderTask.due_at >= start,
            ProviderTask.due_at < end,
        )
        .group_by(column)
    )
    rows = []
    for key, name, judged, on_time, standard in session.execute(statement):
        text = "" if key is None else str(key)
        label = f"{text} · {name}" if by == "provider" else text
        rows.append(PerformanceRow(text, label, int(judged), int(on_time or 0), int(standard or 0), {by: text}))
    rows.sort(key=lambda r: (r.standard_rate if r.standard_rate is not None else 101.0, r.key))
    return rows


def drill_url(month: Month, flag: str, value: str, extra: dict[str, str]) -> str:
    """The task list behind a figure: tasks due in the month with that verdict (flag ``standard``, ``on_time``
    or ``judged``), the same parameters as the dashboard's drill-down (``kpis.yaml``)."""
    last_day = month.shift(1).first_day() - dt.timedelta(days=1)
    params = {"due_from": month.first_day().isoformat(), "due_to": last_day.isoformat(), flag: value}
    params |= {k: v for k, v in extra.items() if v}
    return "/provider-tasks?" + urlencode(params)
