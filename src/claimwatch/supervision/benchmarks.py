"""Benchmarks between insurers (DESIGN M15): for a KPI and period, every insurer against the industry.

From the KPI snapshot (one definition per KPI, :func:`claimwatch.kpi.engine.compute`): each insurer's value and
volume (the KPI's denominator), the industry's pooled figure (every insurer's numerators over every insurer's
denominators), the median and quartiles of the insurers' values (linear interpolation between order statistics,
Hyndman & Fan type 7, as numpy's default), a rank (1 = best in the KPI's better direction; ties share a rank) and
the quartile band, and the funnel plot's limits around the industry figure for an insurer's volume ``n``:

* a rate (unit %, per 10 000, per 100 M CNY): ``p̄ ± z·√(p̄(1−p̄)/n)`` with ``p̄`` the industry's proportion
  (per unit of the denominator) — for per-exposure rates with a small ``p̄`` this is the Poisson limit;
* a mean (days, score): ``x̄ ± z·σ/√n`` with ``σ`` the standard deviation of the individual rows (every
  insurer's claims or surveys of the period);
* a count (no denominator) has no funnel.

``z`` = 1.96 (95 %) and 3.09 (99.8 %). An insurer beyond the 99.8 % limit on the worse side is an outlier worth a
look, whatever its rank. Pure functions (statistics, limits, ranks) take plain values; the rest read a snapshot
connection. Nothing here opens a transaction.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.kpi.engine import END, Period, Scope, _midnight, compute
from claimwatch.kpi.loader import Kpi
from claimwatch.kpi.queries import format_value
from claimwatch.supervision.models import RatingObjection, RatingResult, RatingRun

Z95 = 1.959964
Z998 = 3.090232
RATE_SCALE = {"%": 100.0, "per_10k": 10_000.0, "per_100m_cny": 1e10}
MEAN_UNITS = ("days", "score")
BANDS = ("top", "second", "third", "bottom")  # quartile bands, best first
FUNNEL_POINTS = 48


# -- pure statistics -----------------------------------------------------------------------------------------


def quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values, linear between order statistics (type 7)."""
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    n: int
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float
    mean: float

    def box(self) -> list[float]:
        """ECharts' boxplot order: min, Q1, median, Q3, max."""
        return [self.minimum, self.q1, self.median, self.q3, self.maximum]


def summarise(values: Iterable[float | None]) -> Summary | None:
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    return Summary(
        n=len(ordered),
        minimum=ordered[0],
        q1=quantile(ordered, 0.25),
        median=quantile(ordered, 0.5),
        q3=quantile(ordered, 0.75),
        maximum=ordered[-1],
        mean=sum(ordered) / len(ordered),
    )


def is_rate(kpi: Kpi) -> bool:
    return kpi.denominator is not None and kpi.unit in RATE_SCALE


def is_mean(kpi: Kpi) -> bool:
    return kpi.denominator is not None and kpi.unit in MEAN_UNITS


def limits(
    kpi: Kpi, center: float | None, n: float | None, z: float, sigma: float | None = None
) -> tuple[float, float] | None:
    """The funnel limits ``(low, high)`` in the KPI's unit for volume ``n``; None when there are none (a count,
    no industry figure, no volume, a mean without σ)."""
    if center is None or not n or n <= 0:
        return None
    if is_rate(kpi):
        scale = RATE_SCALE[kpi.unit]
        p = center / scale
        if not 0 <= p <= 1:
            return None
        se = math.sqrt(p * (1 - p) / n)
        high = p + z * se
        if kpi.unit == "%":
            high = min(1.0, high)
        return max(0.0, p - z * se) * scale, high * scale
    if is_mean(kpi) and sigma is not None:
        se = sigma / math.sqrt(n)
        return max(0.0, center - z * se), center + z * se
    return None


def funnel_position(
    kpi: Kpi, value: float | None, center: float | None, n: float | None, sigma: float | None = None
) -> tuple[str, str | None]:
    """Where a unit lies on the funnel: (``within`` | ``beyond_95`` | ``beyond_998`` | ``none``, ``better`` |
    ``worse`` | None)."""
    if value is None:
        return "none", None
    inner = limits(kpi, center, n, Z95, sigma)
    outer = limits(kpi, center, n, Z998, sigma)
    if inner is None or outer is None:
        return "none", None
    if inner[0] <= value <= inner[1]:
        return "within", None
    high_side = value > inner[1]
    direction = "better" if high_side == (kpi.better == "higher") else "worse"
    beyond = value > outer[1] if high_side else value < outer[0]
    return ("beyond_998" if beyond else "beyond_95"), direction


def funnel_curve(
    kpi: Kpi, center: float | None, n_min: float, n_max: float, sigma: float | None = None, points: int = FUNNEL_POINTS
) -> list[list[float]]:
    """Points ``[n, low95, high95, low998, high998]`` from ``n_min`` to ``n_max`` (log-spaced): the funnel's
    four lines."""
    if center is None or n_min <= 0 or n_max <= 0:
        return []
    low, high = math.log(min(n_min, n_max) * 0.8), math.log(max(n_min, n_max) * 1.2)
    curve = []
    for i in range(points):
        n = math.exp(low + (high - low) * i / (points - 1))
        inner = limits(kpi, center, n, Z95, sigma)
        outer = limits(kpi, center, n, Z998, sigma)
        if inner is None or outer is None:
            return []
        curve.append([round(n, 2), *(round(v, 4) for v in (*inner, *outer))])
    return curve


def ranks(kpi: Kpi, values: dict[Any, float | None]) -> dict[Any, int]:
    """Competition ranks (1 = best in the KPI's better direction; equal values share a rank; no data: none)."""
    present = [(key, value) for key, value in values.items() if value is not None]
    ordered = sorted(present, key=lambda kv: -kv[1] if kpi.better == "higher" else kv[1])
    found: dict[Any, int] = {}
    previous: float | None = None
    rank = 0
    for position, (key, value) in enumerate(ordered, start=1):
        if previous is None or value != previous:
            rank = position
            previous = value
        found[key] = rank
    return found


def band(kpi: Kpi, value: float | None, summary: Summary | None) -> str | None:
    """The insurer's quartile band among its peers, best first: top | second | third | bottom. For a KPI where
    higher is better, at or above Q3 is the top band; where lower is better, at or below Q1."""
    if value is None or summary is None:
        return None
    if kpi.better == "higher":
        cuts = (value >= summary.q3, value >= summary.median, value >= summary.q1)
    else:
        cuts = (value <= summary.q1, value <= summary.median, value <= summary.q3)
    return next((BANDS[i] for i, inside in enumerate(cuts) if inside), BANDS[3])


# -- over a snapshot -----------------------------------------------------------------------------------------


def row_sigma(con: duckdb.DuckDBPyConnection, kpi: Kpi, period: Period) -> float | None:
    """The standard deviation of a mean's individual rows over the whole industry in the period (its ``row``)."""
    if not is_mean(kpi) or kpi.row is None or kpi.period in (None, END):
        return None
    where = [f"{kpi.period} >= ?", f"{kpi.period} < ?", f"({kpi.row}) IS NOT NULL"]
    if kpi.where:
        where.append(f"({kpi.where})")
    row = con.execute(
        f"SELECT stddev_samp(CAST(({kpi.row}) AS DOUBLE)) FROM {kpi.source} WHERE {' AND '.join(where)}",  # noqa: S608 - catalogue
        [_midnight(period.start), _midnight(period.end)],
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


@dataclass
class Row:
    tenant_id: int
    code: str
    name: str
    value: float | None
    numerator: float | None
    denominator: float | None
    rank: int | None = None
    band: str | None = None
    vs_median: float | None = None
    funnel: str = "none"
    direction: str | None = None


@dataclass
class Benchmark:
    kpi: Kpi
    period: Period
    rows: list[Row]
    summary: Summary | None
    industry: float | None  # pooled
    industry_volume: float | None
    sigma: float | None = None
    curve: list[list[float]] = field(default_factory=list)

    @property
    def peers(self) -> int:
        return sum(1 for row in self.rows if row.value is not None)

    def row_for(self, tenant_id: int) -> Row | None:
        return next((row for row in self.rows if row.tenant_id == tenant_id), None)


def _fill(kpi: Kpi, rows: list[Row], summary: Summary | None, industry: float | None, sigma: float | None) -> None:
    ranked = ranks(kpi, {row.tenant_id: row.value for row in rows})
    for row in rows:
        row.rank = ranked.get(row.tenant_id)
        row.band = band(kpi, row.value, summary)
        row.vs_median = None if row.value is None or summary is None else row.value - summary.median
        volume = row.denominator if kpi.denominator is not None else None
        row.funnel, row.direction = funnel_position(kpi, row.value, industry, volume, sigma)
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.code))


def benchmark(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    period: Period,
    now: dt.datetime | None,
    tenants: Sequence[tuple[int, str, str]],
) -> Benchmark:
    """One KPI in one period: every insurer of ``tenants`` (id, code, name) against the industry."""
    every = Scope(tenant_ids=None)
    by_tenant = compute(con, [kpi], [period], every, ("tenant",), now)
    pooled = compute(con, [kpi], [period], every, (), now)
    found = {v.key[0]: v for v in by_tenant.values if v.key}
    rows = []
    for tenant_id, code, name in tenants:
        value = found.get(str(tenant_id))
        rows.append(
            Row(
                tenant_id,
                code,
                name,
                None if value is None else value.value,
                None if value is None else value.numerator,
                None if value is None else value.denominator,
            )
        )
    total = pooled.get(kpi.code, period.label)
    industry = None if total is None else total.value
    summary = summarise(row.value for row in rows)
    sigma = row_sigma(con, kpi, period)
    _fill(kpi, rows, summary, industry, sigma)
    result = Benchmark(kpi, period, rows, summary, industry, None if total is None else total.denominator, sigma)
    volumes = [row.denominator for row in rows if row.denominator and row.value is not None]
    if volumes and kpi.denominator is not None:
        result.curve = funnel_curve(kpi, industry, min(volumes), max(volumes), sigma)
    return result


@dataclass
class Trend:
    periods: list[str]
    series: dict[int, list[float | None]]  # per tenant id
    median: list[float | None]
    industry: list[float | None]


def trends(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    periods: Sequence[Period],
    now: dt.datetime | None,
    tenants: Sequence[tuple[int, str, str]],
) -> Trend:
    """Each insurer's value per period, with the median of the insurers and the industry's pooled figure."""
    every = Scope(tenant_ids=None)
    by_tenant = compute(con, [kpi], periods, every, ("tenant",), now)
    pooled = compute(con, [kpi], periods, every, (), now)
    cells = {(v.key[0], v.period): v.value for v in by_tenant.values if v.key}
    labels = [p.label for p in periods]
    series = {tenant_id: [cells.get((str(tenant_id), label)) for label in labels] for tenant_id, _, _ in tenants}
    medians = []
    for index in range(len(labels)):
        found = summarise(values[index] for values in series.values())
        medians.append(None if found is None else found.median)
    totals = {v.period: v.value for v in pooled.values}
    return Trend(labels, series, medians, [totals.get(label) for label in labels])


@dataclass
class ProfileRow:
    kpi: Kpi
    value: float | None
    summary: Summary | None
    industry: float | None
    rank: int | None
    peers: int
    band: str | None
    light: str
    funnel: str
    direction: str | None


def profile(
    con: duckdb.DuckDBPyConnection,
    tenant_id: int,
    kpis: Sequence[Kpi],
    period: Period,
    now: dt.datetime | None,
    tenants: Sequence[tuple[int, str, str]],
) -> list[ProfileRow]:
    """Every KPI of one insurer against the industry median and quartiles (two engine passes for all KPIs)."""
    every = Scope(tenant_ids=None)
    by_tenant = compute(con, kpis, [period], every, ("tenant",), now)
    pooled = compute(con, kpis, [period], every, (), now)
    ids = {str(t[0]) for t in tenants}
    cells: dict[str, dict[str, Any]] = {}
    for value in by_tenant.values:
        if value.key and value.key[0] in ids:
            cells.setdefault(value.kpi, {})[value.key[0]] = value
    totals = {v.kpi: v for v in pooled.values}
    rows = []
    for kpi in kpis:
        values = {key: v.value for key, v in cells.get(kpi.code, {}).items()}
        own = cells.get(kpi.code, {}).get(str(tenant_id))
        summary = summarise(values.values())
        industry = totals[kpi.code].value if kpi.code in totals else None
        mine = None if own is None else own.value
        sigma = row_sigma(con, kpi, period) if mine is not None and is_mean(kpi) else None
        position = funnel_position(kpi, mine, industry, None if own is None else own.denominator, sigma)
        rows.append(
            ProfileRow(
                kpi=kpi,
                value=mine,
                summary=summary,
                industry=industry,
                rank=ranks(kpi, values).get(str(tenant_id)),
                peers=sum(1 for v in values.values() if v is not None),
                band=band(kpi, mine, summary),
                light=kpi.light(mine),
                funnel=position[0],
                direction=position[1],
            )
        )
    return rows


# -- the rating history of an insurer (h4's runs; only approved ones) ------------------------------------------


@dataclass(frozen=True)
class RatingPoint:
    period: str
    score: float
    grade: str
    rank: int
    peers: int
    revised: bool  # an upheld objection changed score and grade


def rating_history(session: Session, tenant_id: int, limit: int = 12) -> list[RatingPoint]:
    """The insurer's results in approved insurer-level runs, oldest first (an upheld objection's revision wins)."""
    rows = session.execute(
        select(RatingRun.period, RatingResult.id, RatingResult.score, RatingResult.grade, RatingResult.rank,
               RatingResult.peers)
        .join(RatingRun, RatingRun.id == RatingResult.run_id)
        .where(RatingResult.tenant_id == tenant_id, RatingRun.status == "approved", RatingRun.level == "insurer")
        .order_by(RatingRun.period.desc(), RatingRun.approved_at.desc())
    ).all()  # fmt: skip
    revisions = {
        objection.result_id: objection
        for objection in session.scalars(
            select(RatingObjection).where(RatingObjection.tenant_id == tenant_id, RatingObjection.status == "upheld")
        )
    }
    points: dict[str, RatingPoint] = {}
    for period, result_id, score, grade, rank, peers in rows:
        if period in points:
            continue  # a later approved run of the same period replaced it
        revision = revisions.get(result_id)
        if revision is not None and revision.revised_score is not None:
            points[period] = RatingPoint(period, float(revision.revised_score), revision.revised_grade or grade,
                                         rank, peers, True)  # fmt: skip
        else:
            points[period] = RatingPoint(period, float(score), grade, rank, peers, False)
    return sorted(points.values(), key=lambda p: p.period)[-limit:]


# -- tables (CSV / XLSX) ---------------------------------------------------------------------------------------


def display(kpi: Kpi, value: float | None, locale: str) -> str:
    return format_value(kpi, value, locale)


def number(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
