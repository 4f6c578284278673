"""Service-request KPIs (seed 004: 达成率 ≥ 95 %, 超时请求比例 ≤ 5 %; first-contact resolution; backlog age), per
insurer and local month (and team), each computed SEPARATELY for normal time and for requests under peak relief.

A request belongs to the **peak** column when it was received under a peak period (``peak_period_id``), else to
the **normal** column; the normal column never contains a peak-relieved request, so a 30-hour answer under peak
relief is on time in the peak column and cannot lift (or hide) the normal-time rate. The peak column also shows
how many of its answers came after the normal target (``relieved``): the relief actually used.

Definitions (requests received in the month, cancelled ones left out; ``now`` decides what is late so far):

- on-time rate: first responses within target / first responses decided (answered, or past the deadline without
  an answer); requests still within their first-response target are ``pending`` and not counted;
- overdue share: requests that missed a deadline (first response or resolution; answered late, resolved late, or
  open past it) / requests received;
- first-contact resolution: resolved requests marked ``first_contact_resolved`` / resolved requests;
- backlog: requests still open at ``now`` by age band (``kpi.backlog_bands`` days).

One grouped query per report on both databases. No HTTP, no commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from claimwatch.db import utc_now
from claimwatch.errors import Invalid
from claimwatch.servicedesk import clocks
from claimwatch.servicedesk.models import ServiceRequest, ServiceRequestClock
from claimwatch.sla import engine
from claimwatch.tenancy.service import tenant_zone

OPEN_STATUSES = ("open", "in_progress", "waiting_customer")
CANCELLED = "cancelled"
NORMAL, PEAK = "normal", "peak"
ALL_TEAMS = ""
COUNTS = (
    "received",
    "cancelled",
    "answered",
    "answered_on_time",
    "first_response_late",
    "first_response_pending",
    "overdue",
    "resolved",
    "first_contact_resolved",
    "relieved",
)


@dataclass
class Column:
    """One column of the report (normal time, or peak relief)."""

    received: int = 0
    cancelled: int = 0
    answered: int = 0
    answered_on_time: int = 0
    first_response_late: int = 0
    first_response_pending: int = 0
    overdue: int = 0
    resolved: int = 0
    first_contact_resolved: int = 0
    relieved: int = 0  # answered on time only thanks to the peak target (after the normal one)
    backlog: dict[str, int] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        return self.received - self.cancelled

    @property
    def on_time_rate(self) -> float | None:
        decided = self.answered_on_time + self.first_response_late
        return self.answered_on_time / decided if decided else None

    @property
    def overdue_share(self) -> float | None:
        return self.overdue / self.counted if self.counted else None

    @property
    def fcr_rate(self) -> float | None:
        return self.first_contact_resolved / self.resolved if self.resolved else None

    def add(self, other: Column) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for band, count in other.backlog.items():
            self.backlog[band] = self.backlog.get(band, 0) + count

    def as_dict(self, on_time_target: float, overdue_share_max: float) -> dict[str, Any]:
        values: dict[str, Any] = asdict(self)
        values |= {
            "counted": self.counted,
            "on_time_rate": self.on_time_rate,
            "overdue_share": self.overdue_share,
            "fcr_rate": self.fcr_rate,
            "backlog_total": sum(self.backlog.values()),
            "on_time_met": None if self.on_time_rate is None else self.on_time_rate >= on_time_target,
            "overdue_met": None if self.overdue_share is None else self.overdue_share <= overdue_share_max,
        }
        return values


@dataclass
class MonthKpis:
    tenant_id: int
    month: str  # YYYY-MM, the insurer's local month
    team: str | None
    as_of: dt.datetime
    on_time_target: float
    overdue_share_max: float
    bands: list[str]
    normal: Column = field(default_factory=Column)
    peak: Column = field(default_factory=Column)

    def column(self, name: str) -> Column:
        return self.peak if name == PEAK else self.normal

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "month": self.month,
            "team": self.team,
            "as_of": self.as_of,
            "targets": {"on_time_rate": self.on_time_target, "overdue_share_max": self.overdue_share_max},
            "backlog_bands": self.bands,
            NORMAL: self.normal.as_dict(self.on_time_target, self.overdue_share_max),
            PEAK: self.peak.as_dict(self.on_time_target, self.overdue_share_max),
        }


def parse_month(text: str | None, zone: dt.tzinfo, now: dt.datetime) -> tuple[int, int]:
    """``YYYY-MM`` (empty: this local month); Invalid naming ``month`` otherwise."""
    if not text:
        local = now.astimezone(zone)
        return local.year, local.month
    try:
        year, month = (int(part) for part in text.split("-"))
        dt.date(year, month, 1)
    except ValueError as exc:
        raise Invalid("month", f"a month is YYYY-MM, not {text!r}") from exc
    if not 2000 <= year <= 2100:
        raise Invalid("month", f"a month is YYYY-MM, not {text!r}")
    return year, month


def month_bounds(zone: dt.tzinfo, year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, month, 1, tzinfo=zone)
    following = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(dt.UTC), following.astimezone(dt.UTC)


def band_labels(bands: tuple[int, ...]) -> list[str]:
    """``<1d``, ``1-3d``, …, ``>=7d`` for bands (1, 3, 7)."""
    labels = [f"<{bands[0]}d"]
    labels += [f"{low}-{high}d" for low, high in zip(bands, bands[1:], strict=False)]
    return [*labels, f">={bands[-1]}d"]


def _late(clock: type[ServiceRequestClock], now: dt.datetime) -> Any:
    """The SQL form of :func:`clocks.is_late`."""
    return or_(
        and_(clock.state == engine.STOPPED, clock.outcome == clocks.BREACHED),
        and_(clock.state == engine.RUNNING, clock.red_due_at.is_not(None), clock.red_due_at <= now),
        and_(
            clock.state.in_((engine.PAUSED, engine.SUSPENDED)),
            clock.consumed > clock.red_budget + clock.extended,
        ),
    )


def _flag(condition: Any) -> Any:
    return func.max(case((condition, 1), else_=0))


def _columns(
    session: Session,
    tenant_id: int,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    team: str | None,
    levels: clocks.ServiceLevels,
) -> dict[tuple[str, str], Column]:
    """(team, normal|peak) → counts for the requests received in [start, end)."""
    r, c = ServiceRequest, ServiceRequestClock
    first = c.policy_code == clocks.FIRST_RESPONSE
    normal_seconds = case(
        *((r.priority == p, literal(levels.response_target(p) * 3600.0)) for p in clocks.PRIORITIES),
        else_=literal(levels.response_target("normal") * 3600.0),
    )
    per_request = (
        select(
            r.id.label("id"),
            func.coalesce(r.team, literal(ALL_TEAMS)).label("team"),
            case((r.peak_period_id.is_(None), literal(NORMAL)), else_=literal(PEAK)).label("kind"),
            case((r.status == CANCELLED, 1), else_=0).label("cancelled"),
            case((r.first_response_at.is_not(None), 1), else_=0).label("answered"),
            case((r.resolved_at.is_not(None), 1), else_=0).label("resolved"),
            case((and_(r.resolved_at.is_not(None), r.first_contact_resolved.is_(True)), 1), else_=0).label("fcr"),
            _flag(and_(first, c.state == engine.STOPPED, c.outcome == clocks.MET)).label("on_time"),
            _flag(and_(first, _late(c, now))).label("fr_late"),
            _flag(_late(c, now)).label("any_late"),
            _flag(and_(first, c.state == engine.STOPPED, c.outcome == clocks.MET, c.consumed > normal_seconds)).label(
                "relieved"
            ),
        )
        .select_from(r)
        .outerjoin(c, and_(c.request_id == r.id, c.tenant_id == r.tenant_id))
        .where(r.tenant_id == tenant_id, r.received_at >= start, r.received_at < end)
        .group_by(
            r.id, r.team, r.peak_period_id, r.status, r.first_response_at, r.resolved_at, r.first_contact_resolved
        )
    )
    if team is not None:
        per_request = per_request.where(r.team == team)
    sub = per_request.subquery()
    live = 1 - sub.c.cancelled
    statement = select(
        sub.c.team,
        sub.c.kind,
        func.count(),
        func.sum(sub.c.cancelled),
        func.sum(sub.c.answered * live),
        func.sum(sub.c.on_time * live),
        func.sum(sub.c.fr_late * live),
        func.sum((1 - sub.c.on_time) * (1 - sub.c.fr_late) * (1 - sub.c.answered) * live),
        func.sum(sub.c.any_late * live),
        func.sum(sub.c.resolved * live),
        func.sum(sub.c.fcr * live),
        func.sum(sub.c.relieved * live),
    ).group_by(sub.c.team, sub.c.kind)
    found: dict[tuple[str, str], Column] = {}
    for row in session.execute(statement):
        column = Column()
        for name, value in zip(COUNTS, row[2:], strict=True):
            setattr(column, name, int(value or 0))
        found[(row[0], row[1])] = column
    return found


def _backlog(
    session: Session,
    tenant_id: int,
    now: dt.datetime,
    team: str | None,
    bands: tuple[int, ...],
    received_from: dt.datetime | None = None,
    received_before: dt.datetime | None = None,
) -> dict[tuple[str, str], dict[str, int]]:
    r = ServiceRequest
    labels = band_labels(bands)
    band = case(
        *((r.received_at > now - dt.timedelta(days=days), literal(labels[i])) for i, days in enumerate(bands)),
        else_=literal(labels[-1]),
    )
    kind = case((r.peak_period_id.is_(None), literal(NORMAL)), else_=literal(PEAK))
    team_column = func.coalesce(r.team, literal(ALL_TEAMS))
    statement = (
        select(team_column, kind, band, func.count())
        .where(r.tenant_id == tenant_id, r.status.in_(OPEN_STATUSES), r.received_at <= now)
        .group_by(team_column, kind, band)
    )
    if team is not None:
        statement = statement.where(r.team == team)
    if received_from is not None:
        statement = statement.where(r.received_at >= received_from)
    if received_before is not None:
        statement = statement.where(r.received_at < received_before)
    found: dict[tuple[str, str], dict[str, int]] = {}
    for team_code, kind_name, band_label, count in session.execute(statement):
        found.setdefault((team_code, kind_name), {label: 0 for label in labels})[band_label] = int(count)
    return found


def _report(
    session: Session, tenant_id: int, year: int, month: int, team: str | None, now: dt.datetime | None, by_team: bool
) -> dict[str, MonthKpis]:
    now = now or utc_now()
    zone = tenant_zone(session, tenant_id)
    levels = clocks.tenant_levels(session, tenant_id)
    start, end = month_bounds(zone, year, month)
    labels = band_labels(levels.backlog_bands)
    columns = _columns(session, tenant_id, start, end, now, team, levels)
    backlog = _backlog(session, tenant_id, now, team, levels.backlog_bands, start, end)
    reports: dict[str, MonthKpis] = {}

    def report_of(key: str) -> MonthKpis:
        if key not in reports:
            reports[key] = MonthKpis(
                tenant_id=tenant_id,
                month=f"{year:04d}-{month:02d}",
                team=(key or None) if by_team else team,
                as_of=now,
                on_time_target=levels.on_time_target,
                overdue_share_max=levels.overdue_share_max,
                bands=labels,
                normal=Column(backlog={label: 0 for label in labels}),
                peak=Column(backlog={label: 0 for label in labels}),
            )
        return reports[key]

    for (team_code, kind), column in columns.items():
        report_of(team_code if by_team else ALL_TEAMS).column(kind).add(column)
    for (team_code, kind), bands in backlog.items():
        report_of(team_code if by_team else ALL_TEAMS).column(kind).add(Column(backlog=bands))
    if not by_team:
        report_of(ALL_TEAMS)
    return reports


def month_kpis(
    session: Session, tenant_id: int, year: int, month: int, *, team: str | None = None, now: dt.datetime | None = None
) -> MonthKpis:
    """The insurer's (or one team's) KPIs for the requests received in a local month, normal and peak apart.
    ``backlog``: those of the month's requests still open at ``now``, by age."""
    return _report(session, tenant_id, year, month, team, now, by_team=False)[ALL_TEAMS]


def team_kpis(
    session: Session, tenant_id: int, year: int, month: int, now: dt.datetime | None = None
) -> dict[str, MonthKpis]:
    """:func:`month_kpis` for every team with requests that month (key: team code, "" for no team)."""
    return dict(sorted(_report(session, tenant_id, year, month, None, now, by_team=True).items()))


def backlog(
    session: Session, tenant_id: int, now: dt.datetime | None = None, team: str | None = None
) -> dict[str, dict[str, int]]:
    """Every open request at ``now`` by age band, normal and peak apart: ``{"normal": {band: n}, "peak": …}``."""
    now = now or utc_now()
    levels = clocks.tenant_levels(session, tenant_id)
    labels = band_labels(levels.backlog_bands)
    totals = {NORMAL: {label: 0 for label in labels}, PEAK: {label: 0 for label in labels}}
    for (_, kind), bands in _backlog(session, tenant_id, now, team, levels.backlog_bands).items():
        for label, count in bands.items():
            totals[kind][label] += count
    return totals
