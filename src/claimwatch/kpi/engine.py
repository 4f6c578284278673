"""Computes catalogue KPIs with DuckDB over a snapshot: one definition, every consumer.

The dashboard, ``GET /api/v1/kpi``, the CSV export and the p-chart alerts all call :func:`compute`, and so does
``claimwatch kpi compute --engine spark``: :func:`compute` takes any :class:`Connection`, a DuckDB one or a
:class:`claimwatch.kpi.spark.SparkSnapshot`, which translates these same DuckDB statements for Spark.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb

from claimwatch.errors import Invalid
from claimwatch.kpi import monthly, summary
from claimwatch.kpi.columns import END_POINTS, END_SUMMARY, TABLES, monthly_view
from claimwatch.kpi.filters import NotFilterable, bitmap_counted, distinct_columns, restricted
from claimwatch.kpi.loader import END, Kpi
from claimwatch.params import EARLIEST_YEAR, LATEST_YEAR

DIMENSIONS = {"tenant": "tenant_id", "org": "org_unit_id", "region": "region_code", "line": "line"}
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_MONTHS = {"month": 1, "quarter": 3, "year": 12}
# A distinct count by bitmap (claimwatch.kpi.filters.bitmap_counted): at most 2^27 values apart (16 MiB a bitmap),
# and at most 256 MiB of bitmaps in a statement (a bitmap per period bucket and distinct count).
MAX_BITMAP_BITS = 1 << 27
MAX_BITMAP_BYTES = 256 << 20


class Cursor(Protocol):
    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...


class Connection(Protocol):
    """What :func:`compute` needs of an engine: a DuckDB connection, or a Spark snapshot speaking DuckDB SQL."""

    def execute(self, query: str, parameters: Any = None, /) -> Cursor: ...


class BadPeriod(Invalid):
    """A period that is neither a month (2026-10) nor a quarter (2026-Q4): 422."""

    def __init__(self, message: str) -> None:
        super().__init__("period", message)


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    kind: str = "month"  # month | quarter | year

    @classmethod
    def parse(cls, text: str, *, years: bool = False) -> Period:
        """A month (2026-10) or a quarter (2026-Q4); with ``years`` also a year (2026: the rating's yearly run)."""
        text = text.strip()
        if match := _MONTH.match(text):
            year, month, kind = int(match[1]), int(match[2]), "month"
        elif match := _QUARTER.match(text.upper()):
            year, month, kind = int(match[1]), 3 * int(match[2]) - 2, "quarter"
        elif years and (match := _YEAR.match(text)):
            year, month, kind = int(match[1]), 1, "year"
        else:
            raise BadPeriod(f"period {text!r} must be YYYY-MM{', YYYY-Qn or YYYY' if years else ' or YYYY-Qn'}")
        # Trends and alerts step back from the period and its end steps forward: keep clear of the calendar's ends.
        if not EARLIEST_YEAR <= year <= LATEST_YEAR:
            raise BadPeriod(f"period {text!r}: a year in {EARLIEST_YEAR}–{LATEST_YEAR}")
        return cls(dt.date(year, month, 1), kind)

    @classmethod
    def containing(cls, day: dt.date, kind: str = "month") -> Period:
        month = day.month if kind == "month" else 3 * ((day.month - 1) // 3) + 1 if kind == "quarter" else 1
        return cls(dt.date(day.year, month, 1), kind)

    @property
    def months(self) -> int:
        return _MONTHS[self.kind]

    @property
    def end(self) -> dt.date:
        index = self.start.year * 12 + self.start.month - 1 + self.months
        return dt.date(index // 12, index % 12 + 1, 1)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    def shift(self, steps: int) -> Period:
        index = self.start.year * 12 + self.start.month - 1 + steps * self.months
        return Period(dt.date(index // 12, index % 12 + 1, 1), self.kind)

    def trailing(self, count: int) -> list[Period]:
        """This period and the ``count - 1`` before it, oldest first."""
        return [self.shift(-offset) for offset in range(count - 1, -1, -1)]

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Scope:
    """Whose rows: tenants (None = every tenant, a regulator's view), and optional drill-down filters."""

    tenant_ids: tuple[int, ...] | None
    org_unit_id: int | None = None  # the unit and its subtree
    region: str | None = None
    line: str | None = None

    def conditions(self) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if self.tenant_ids is not None:
            if not self.tenant_ids:
                where.append("false")
            else:
                where.append(f"tenant_id IN ({', '.join('?' for _ in self.tenant_ids)})")
                params.extend(self.tenant_ids)
        if self.org_unit_id is not None:
            where.append("org_unit_id IN (SELECT id FROM org_units WHERE path LIKE ?)")
            params.append(f"%/{self.org_unit_id}/%")
        if self.region is not None:
            where.append("region_code = ?")
            params.append(self.region)
        if self.line is not None:
            where.append("line = ?")
            params.append(self.line)
        return where, params


@dataclass(frozen=True)
class Value:
    kpi: str
    period: str
    key: tuple[str, ...]  # the dimension values (strings; "" for none), in the order of ``by``
    numerator: float | None
    denominator: float | None
    value: float | None


@dataclass
class Result:
    values: list[Value] = field(default_factory=list)

    def get(self, kpi: str, period: str, key: tuple[str, ...] = ()) -> Value | None:
        for value in self.values:
            if value.kpi == kpi and value.period == period and value.key == key:
                return value
        return None


def _literal(moment: dt.datetime) -> str:
    return f"TIMESTAMP '{moment.strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)  # noqa: DTZ001 - snapshot wall time


def _key_expr(by: Sequence[str]) -> list[str]:
    return [f"coalesce(CAST({DIMENSIONS[name]} AS VARCHAR), '')" for name in by]


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _period_end(period: Period, now: dt.datetime | None) -> dt.datetime:
    """The instant a point-in-time KPI is taken at: the period's end, or ``now`` in a running period."""
    end = _midnight(period.end)
    return now if now is not None and now < end else end


def _summarised_ends(con: Connection, kpi: Kpi) -> set[dt.datetime]:
    """The end instants the snapshot's summary holds for this KPI's current formula (none: count directly)."""
    if not getattr(con, "summaries", True):
        return set()  # an engine that counts from the facts (Spark)
    try:
        rows = con.execute(
            f"SELECT DISTINCT end_at FROM {END_POINTS} WHERE kpi = ? AND fingerprint = ?",  # noqa: S608
            [kpi.code, summary.fingerprint(kpi)],
        ).fetchall()
    except duckdb.CatalogException:
        return set()  # a connection without the summary tables
    return {row[0] for row in rows if isinstance(row[0], dt.datetime)}


def _from_summary(
    con: Connection,
    kpi: Kpi,
    periods: Sequence[Period],
    ends: Sequence[dt.datetime],
    indexes: Sequence[int],
    scope: Scope,
    by: Sequence[str],
) -> list[tuple[tuple[Any, ...], str, Any, Any]]:
    """The counts at the given periods' ends, summed from the summary: the same rows a direct count yields."""
    if not indexes:
        return []
    wanted = sorted({ends[i] for i in indexes})
    scope_where, scope_params = scope.conditions()
    keys = _key_expr(by)
    select_keys = "".join(f"{expression} AS k{i}, " for i, expression in enumerate(keys))
    group = "".join(f"k{i}, " for i in range(len(keys)))
    where = [*scope_where, "kpi = ?", "fingerprint = ?", f"end_at IN ({', '.join('?' for _ in wanted)})"]
    rows = con.execute(
        f"SELECT {select_keys}end_at AS e, sum(n) AS n, sum(d) AS d FROM {END_SUMMARY} "  # noqa: S608
        f"WHERE {' AND '.join(where)} GROUP BY {group}e",
        [*scope_params, kpi.code, summary.fingerprint(kpi), *wanted],
    ).fetchall()
    found: dict[dt.datetime, list[tuple[Any, ...]]] = {}
    for row in rows:
        found.setdefault(row[len(keys)], []).append(row)
    decoded: list[tuple[tuple[Any, ...], str, Any, Any]] = []
    for index in indexes:
        label = periods[index].label
        matched = found.get(ends[index], [])
        if not matched and not keys:
            # Without GROUP BY a direct count over no rows is still one row of zeros.
            decoded.append(((), label, 0, 0 if kpi.denominator is not None else None))
        decoded += [(tuple(row[: len(keys)]), label, row[-2], row[-1]) for row in matched]
    return decoded


@dataclass(frozen=True)
class _Measure:
    """What a KPI with a period column computes over its source's rows in the periods: the parts of its statement
    that differ from another KPI's over the same source and column, so both can be computed in one scan."""

    source: str
    column: str
    where: str | None
    numerator: str
    denominator: str | None


@dataclass
class _Plan:
    """One KPI's work: the rows already known (from the summary), and one statement whose rows are
    (keys..., p, n, d), where p is a period's index (point-in-time KPIs) or a bucket's start (the others)."""

    kpi: Kpi
    known: list[tuple[tuple[Any, ...], str, Any, Any]]
    statement: str | None
    params: list[Any]
    periods: Sequence[Period]
    keys: int
    indexed: bool  # p is an index into periods (point-in-time), else a bucket start
    measure: _Measure | None = None  # a KPI with a period column: its formula, to share a scan of its source

    def decode(self, rows: Sequence[tuple[Any, ...]]) -> list[tuple[tuple[Any, ...], str, Any, Any]]:
        decoded = list(self.known)
        if self.indexed:
            return decoded + [
                (tuple(row[: self.keys]), self.periods[int(row[self.keys])].label, row[-2], row[-1]) for row in rows
            ]
        wanted = {p.start: p.label for p in self.periods}
        for row in rows:
            bucket = row[self.keys]
            label = wanted.get(bucket.date() if isinstance(bucket, dt.datetime) else bucket)
            if label is not None:
                decoded.append((tuple(row[: self.keys]), label, row[-2], row[-1]))
        return decoded


def _plan_one(
    con: Connection,
    kpi: Kpi,
    periods: Sequence[Period],
    scope: Scope,
    by: Sequence[str],
    now: dt.datetime | None,
) -> _Plan:
    assert kpi.numerator is not None and kpi.period is not None
    scope_where, scope_params = scope.conditions()
    keys = _key_expr(by)
    select_keys = "".join(f"{expression} AS k{i}, " for i, expression in enumerate(keys))
    group = ", ".join(f"k{i}" for i in range(len(keys)))
    denominator = kpi.denominator or "NULL"
    if kpi.period == END:
        ends = [_period_end(period, now) for period in periods]
        covered = _summarised_ends(con, kpi)
        # Ends the snapshot's month-end summary holds: a sum over that small table (claimwatch.kpi.summary).
        known = _from_summary(con, kpi, periods, ends, [i for i, e in enumerate(ends) if e in covered], scope, by)
        # The others: one pass per period end (DuckDB runs the branches in parallel). A materialised CTE of
        # the scoped rows was measured slower at 10 M claims (bench/dashboard.py), so each branch reads the source.
        parts: list[str] = []
        params: list[Any] = []
        for index, end in enumerate(ends):
            if end in covered:
                continue
            moment = _literal(end)
            where = [*scope_where, f"({kpi.where.replace('{end}', moment)})" if kpi.where else "true"]
            numerator = kpi.numerator.replace("{end}", moment)
            den = denominator.replace("{end}", moment)
            parts.append(
                f"SELECT {select_keys}{index} AS p, {numerator} AS n, {den} AS d FROM {kpi.source} "  # noqa: S608
                f"WHERE {' AND '.join(where)}" + (f" GROUP BY {group}" if group else "")
            )
            params.extend(scope_params)
        statement = " UNION ALL ".join(parts) if parts else None
        return _Plan(kpi, known, statement, params, periods, len(keys), indexed=True)
    column = kpi.period
    kind = periods[0].kind
    start, stop = min(p.start for p in periods), max(p.end for p in periods)
    where = [*scope_where, f"{column} >= ?", f"{column} < ?"]
    if kpi.where:
        where.append(f"({kpi.where})")
    statement = (
        f"SELECT {select_keys}date_trunc('{kind}', {column}) AS p, {kpi.numerator} AS n, {denominator} AS d "  # noqa: S608
        f"FROM {kpi.source} WHERE {' AND '.join(where)} GROUP BY {group + ', ' if group else ''}p"
    )
    params = [*scope_params, _midnight(start), _midnight(stop)]
    measure = _Measure(kpi.source, column, kpi.where, kpi.numerator, kpi.denominator)
    return _Plan(kpi, [], statement, params, periods, len(keys), indexed=False, measure=measure)


@dataclass
class _SharedScan:
    """One statement for several KPIs over the same source and period column: a row per (keys..., bucket) with,
    per KPI, how many of its rows the group holds (when it has a ``where``), its numerator and its denominator."""

    statement: str
    params: list[Any]
    members: list[int]  # indexes into the plans
    columns: list[tuple[int | None, int, int]]  # per member: the row's (rows, n, d) positions

    def split(self, rows: Sequence[tuple[Any, ...]], keys: int) -> list[list[tuple[Any, ...]]]:
        """Each member's rows, as its own statement gives them: (keys..., p, n, d), only the groups holding
        at least one of its rows."""
        split: list[list[tuple[Any, ...]]] = []
        for counted, n, d in self.columns:
            split.append([(*row[: keys + 1], row[n], row[d]) for row in rows if counted is None or row[counted]])
        return split


def _scan_where(measures: Sequence[_Measure], periods: Sequence[Period], scope: Scope) -> tuple[list[str], list[Any]]:
    """The rows a shared scan reads: the scope's, in the periods, that at least one of the KPIs counts."""
    scope_where, scope_params = scope.conditions()
    column = measures[0].column
    start, stop = min(p.start for p in periods), max(p.end for p in periods)
    where = [*scope_where, f"{column} >= ?", f"{column} < ?"]
    conditions = [m.where for m in measures]
    if all(conditions):
        # Only the rows some member counts (a KPI without a where counts them all).
        where.append("(" + " OR ".join(f"({c})" for c in conditions) + ")")
    return where, [*scope_params, _midnight(start), _midnight(stop)]


def _bitmap_ranges(
    con: Connection, measures: Sequence[_Measure], periods: Sequence[Period], scope: Scope
) -> dict[str, tuple[int, int]]:
    """For a scan without grouping keys (a row per period bucket): the integer columns counted distinct, with
    the range of their values in the scanned rows, when bitmaps of that range stay small (see
    claimwatch.kpi.filters.bitmap_counted)."""
    table = TABLES.get(measures[0].source)
    if table is None:
        return {}
    integers = {name for name, kind in table.columns if kind in ("BIGINT", "INTEGER")}
    counted = [c for m in measures for e in (m.numerator, m.denominator or "") for c in distinct_columns(e)]
    wanted = sorted({c for c in counted if c in integers})
    if not wanted:
        return {}
    where, params = _scan_where(measures, periods, scope)
    row = con.execute(
        f"SELECT {', '.join(f'min({c}), max({c})' for c in wanted)} FROM {measures[0].source} "  # noqa: S608
        f"WHERE {' AND '.join(where)}",
        params,
    ).fetchone()
    # The statement's period buckets: every one between the first period's start and the last one's end.
    start, stop = min(p.start for p in periods), max(p.end for p in periods)
    buckets = ((stop.year - start.year) * 12 + stop.month - start.month) // periods[0].months
    ranges: dict[str, tuple[int, int]] = {}
    for index, name in enumerate(wanted):
        low, high = row[2 * index], row[2 * index + 1]
        if low is None or high is None:
            continue
        bits = int(high) - int(low) + 1
        if bits <= MAX_BITMAP_BITS and bits // 8 * buckets * counted.count(name) <= MAX_BITMAP_BYTES:
            ranges[name] = (int(low), int(high))
    return ranges


def _shared_scan(
    con: Connection,
    plans: Sequence[_Plan],
    members: Sequence[int],
    periods: Sequence[Period],
    scope: Scope,
    by: Sequence[str],
) -> _SharedScan | None:
    """The KPIs ``members`` (same source and period column) in one scan, or None when a formula's aggregates
    cannot be restricted to its rows (claimwatch.kpi.filters)."""
    measures = [m for m in (plans[i].measure for i in members) if m is not None]
    assert len(measures) == len(members)
    source, column = measures[0].source, measures[0].column
    items: list[str] = []
    columns: list[tuple[int | None, int, int]] = []
    keys = _key_expr(by)
    position = len(keys) + 1
    ranges = {} if by else _bitmap_ranges(con, measures, periods, scope)
    try:
        for index, measure in enumerate(measures):
            condition = measure.where
            numerator = restricted(measure.numerator, condition) if condition else measure.numerator
            den = measure.denominator or "NULL"
            if condition and measure.denominator:
                den = restricted(measure.denominator, condition)
            if ranges:
                numerator = bitmap_counted(numerator, ranges)
                den = bitmap_counted(den, ranges) if measure.denominator else den
            counted = None
            if condition:
                items.append(f"count(*) FILTER (WHERE {condition}) AS r{index}")
                counted, position = position, position + 1
            items += [f"{numerator} AS n{index}", f"{den} AS d{index}"]
            columns.append((counted, position, position + 1))
            position += 2
    except NotFilterable:
        return None
    kind = periods[0].kind
    where, params = _scan_where(measures, periods, scope)
    select_keys = "".join(f"{expression} AS k{i}, " for i, expression in enumerate(keys))
    group = "".join(f"k{i}, " for i in range(len(keys)))
    statement = (
        f"SELECT {select_keys}date_trunc('{kind}', {column}) AS p, {', '.join(items)} "  # noqa: S608 - catalogue
        f"FROM {source} WHERE {' AND '.join(where)} GROUP BY {group}p"
    )
    return _SharedScan(statement, params, list(members), columns)


def _monthly_columns(con: Connection) -> dict[str, set[str]]:
    """The columns of each view of the snapshot's monthly summary (none: count the facts), in one catalogue query."""
    if not getattr(con, "summaries", True):
        return {}  # an engine that counts from the facts (Spark)
    try:
        rows = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE table_name LIKE 'monthly\\_%' ESCAPE '\\'"
        ).fetchall()
    except duckdb.Error:
        return {}
    found: dict[str, set[str]] = {}
    for view, column in rows:
        found.setdefault(str(view), set()).add(str(column))
    return found


def _monthly_scan(
    stored_views: dict[str, set[str]],
    plans: Sequence[_Plan],
    members: Sequence[int],
    periods: Sequence[Period],
    scope: Scope,
    by: Sequence[str],
) -> _SharedScan | None:
    """The members (same source and period column) that the monthly summary gives exactly (claimwatch.kpi.monthly),
    in one statement over it; None when it gives none of them."""
    measure = plans[members[0]].measure
    assert measure is not None
    stored = stored_views.get(monthly_view(measure.source, measure.column))
    if not stored:
        return None
    kind = periods[0].kind
    served: list[tuple[int, monthly.Shape]] = []
    for index in members:
        shape = monthly.shape(plans[index].kpi)
        if shape is None or any(part.name not in stored for part in shape.parts):
            continue  # not additive, or a formula the summary was not built with
        if shape.months_only and (kind != "month" or any(p.kind != "month" for p in periods)):
            continue  # a distinct count adds up over the groups of a month, not over months
        served.append((index, shape))
    if not served:
        return None
    keys = _key_expr(by)
    position = len(keys) + 1
    items: list[str] = []
    columns: list[tuple[int | None, int, int]] = []
    for number, (_, shape) in enumerate(served):
        counted = None
        if shape.rows is not None:
            items.append(f"{shape.rows} AS r{number}")
            counted, position = position, position + 1
        items += [f"{shape.numerator} AS n{number}", f"{shape.denominator or 'NULL'} AS d{number}"]
        columns.append((counted, position, position + 1))
        position += 2
    scope_where, scope_params = scope.conditions()
    start, stop = min(p.start for p in periods), max(p.end for p in periods)
    where = [*scope_where, f"{monthly.MONTH_AT} >= ?", f"{monthly.MONTH_AT} < ?"]
    select_keys = "".join(f"{expression} AS k{i}, " for i, expression in enumerate(keys))
    group = "".join(f"k{i}, " for i in range(len(keys)))
    statement = (
        f"SELECT {select_keys}date_trunc('{kind}', {monthly.MONTH_AT}) AS p, {', '.join(items)} "  # noqa: S608
        f"FROM {monthly_view(measure.source, measure.column)} WHERE {' AND '.join(where)} GROUP BY {group}p"
    )
    params = [*scope_params, _midnight(start), _midnight(stop)]
    return _SharedScan(statement, params, [index for index, _ in served], columns)


def _run(
    con: Connection, plans: Sequence[_Plan], periods: Sequence[Period], scope: Scope, by: Sequence[str]
) -> list[list[tuple[Any, ...]]]:
    """Each plan's rows: the KPIs with a period column that share a source and column from the monthly summary
    where it holds them exactly, the others in one scan of the facts each (a panel of many KPIs over one table
    reads it once), every other plan by its own statement."""
    rows_of: list[list[tuple[Any, ...]]] = [[] for _ in plans]
    sharing: dict[tuple[str, str], list[int]] = {}
    for index, plan in enumerate(plans):
        if plan.measure is not None:
            sharing.setdefault((plan.measure.source, plan.measure.column), []).append(index)
    done: set[int] = set()
    stored_views = _monthly_columns(con) if sharing else {}
    for group_members in sharing.values():
        members = group_members
        summed = _monthly_scan(stored_views, plans, members, periods, scope, by)
        if summed is not None:
            rows = con.execute(summed.statement, summed.params).fetchall()
            for index, member_rows in zip(summed.members, summed.split(rows, len(by)), strict=True):
                rows_of[index] = member_rows
            done.update(summed.members)
            members = [index for index in members if index not in done]
            if not members:
                continue
        scan = _shared_scan(con, plans, members, periods, scope, by)
        if scan is None:
            continue
        rows = con.execute(scan.statement, scan.params).fetchall()
        for index, member_rows in zip(scan.members, scan.split(rows, len(by)), strict=True):
            rows_of[index] = member_rows
        done.update(scan.members)
    for index, plan in enumerate(plans):
        if index not in done and plan.statement:
            rows_of[index] = con.execute(plan.statement, plan.params).fetchall()
    return rows_of


def _values(plan: _Plan, rows: Sequence[tuple[Any, ...]]) -> list[Value]:
    kpi = plan.kpi
    values = []
    for key, label, numerator, den in plan.decode(rows):
        n, d = _number(numerator), _number(den)
        if kpi.denominator is not None and not d:
            continue  # nothing to measure: no data, not zero
        values.append(Value(kpi.code, label, tuple(key), n, d, kpi.value(n, d)))
    return values


def _batched(plans: Sequence[_Plan]) -> tuple[str, list[Any]] | None:
    """Every plan's statement in one (for an engine where a query costs more than the rows it reads: Spark),
    rows tagged with the plan's index, the period in one of two typed columns, the figures as DOUBLE."""
    parts: list[str] = []
    params: list[Any] = []
    for index, plan in enumerate(plans):
        if plan.statement is None:
            continue
        keys = "".join(f"k{i}, " for i in range(plan.keys))
        period = (
            "CAST(p AS BIGINT) AS pi, CAST(NULL AS TIMESTAMP) AS pt"
            if plan.indexed
            else ("CAST(NULL AS BIGINT) AS pi, CAST(p AS TIMESTAMP) AS pt")
        )
        parts.append(
            f"SELECT {index} AS plan, {keys}{period}, CAST(n AS DOUBLE) AS n, CAST(d AS DOUBLE) AS d "  # noqa: S608
            f"FROM ({plan.statement}) AS q{index}"
        )
        params.extend(plan.params)
    return (" UNION ALL ".join(parts), params) if parts else None


def compute(
    con: Connection,
    kpis: Sequence[Kpi],
    periods: Sequence[Period],
    scope: Scope,
    by: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> Result:
    """Every available KPI for every period, grouped by ``by`` (dimension names of :data:`DIMENSIONS`).

    ``now`` (snapshot wall time) caps the end of a running period for point-in-time KPIs. A unit or
    period with no rows is absent from the result (no data), never reported as zero.
    """
    for name in by:
        if name not in DIMENSIONS:
            raise ValueError(f"unknown dimension {name!r}")
    result = Result()
    if not periods:
        return result
    plans = [_plan_one(con, kpi, periods, scope, by, now) for kpi in kpis if kpi.available]
    if getattr(con, "batched", False):
        # One query for every KPI: rows (plan, keys..., period index, bucket, n, d), given back to each plan.
        rows_of: list[list[tuple[Any, ...]]] = [[] for _ in plans]
        batch = _batched(plans)
        for row in con.execute(*batch).fetchall() if batch else []:
            keys = plans[int(row[0])].keys
            period = row[1 + keys] if plans[int(row[0])].indexed else row[2 + keys]
            rows_of[int(row[0])].append((*row[1 : 1 + keys], period, row[-2], row[-1]))
    else:
        rows_of = _run(con, plans, periods, scope, by)
    for plan, rows in zip(plans, rows_of, strict=True):
        kpi, values = plan.kpi, _values(plan, rows)
        if kpi.denominator is None and not by:
            # A count over the whole scope: a period without rows counted zero of them.
            seen = {value.period for value in values}
            values.extend(Value(kpi.code, p.label, (), 0.0, None, 0.0) for p in periods if p.label not in seen)
        result.values.extend(values)
    return result


def open_clock_lights(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, int]:
    """Open (not stopped) SLA clocks by light, as of the snapshot."""
    where, params = scope.conditions()
    where.append("stopped_at IS NULL AND state <> 'stopped'")
    rows = con.execute(
        f"SELECT light, count(*) FROM clocks WHERE {' AND '.join(where)} GROUP BY light",  # noqa: S608
        params,
    ).fetchall()
    counts = {"green": 0, "yellow": 0, "red": 0}
    for light, count in rows:
        counts[str(light)] = int(count)
    return counts


# -- windows of days (an improvement action's before/after check) -------------------------------------------


@dataclass(frozen=True)
class WindowValue:
    """A KPI over the local days [start, end): its numerator, denominator and value, and the same per calendar
    month (``months``: label "YYYY-MM", holding only the window's part of a month the window cuts)."""

    start: dt.date
    end: dt.date
    numerator: float | None
    denominator: float | None
    value: float | None
    months: tuple[Value, ...] = ()


def _month_label(bucket: Any) -> str:
    day = bucket.date() if isinstance(bucket, dt.datetime) else bucket
    return f"{day.year}-{day.month:02d}"


def _at_instant(
    con: duckdb.DuckDBPyConnection, kpi: Kpi, instant: dt.datetime, scope: Scope
) -> tuple[float | None, float | None]:
    """A point-in-time KPI's numerator and denominator at one instant (snapshot wall time)."""
    assert kpi.numerator is not None
    scope_where, scope_params = scope.conditions()
    moment = _literal(instant)
    where = [*scope_where, f"({kpi.where.replace('{end}', moment)})" if kpi.where else "true"]
    den = (kpi.denominator or "NULL").replace("{end}", moment)
    row = con.execute(
        f"SELECT {kpi.numerator.replace('{end}', moment)}, {den} FROM {kpi.source} "  # noqa: S608 - catalogue
        f"WHERE {' AND '.join(where)}",
        scope_params,
    ).fetchone()
    return (None, None) if row is None else (_number(row[0]), _number(row[1]))


def compute_window(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    start: dt.date,
    end: dt.date,
    scope: Scope,
    now: dt.datetime | None = None,
) -> WindowValue:
    """One KPI over a range of local days [start, end) in one scope, with its monthly parts.

    A KPI with a period column counts the rows whose timestamp falls in the range (one DuckDB pass, grouping
    sets for the total and the months). A point-in-time KPI (``period: end``) is taken at the range's end (or
    ``now``, when earlier), and its months at each month end inside the range. A count over no rows is 0; a
    ratio without a denominator has no value (no data).
    """
    if not kpi.available or kpi.numerator is None or kpi.period is None:
        raise ValueError(f"KPI {kpi.code} has no formula")
    if end <= start:
        return WindowValue(start, end, None, None, None)
    if kpi.period == END:
        instant = _midnight(end)
        if now is not None and now < instant:
            instant = now
        numerator, denominator = _at_instant(con, kpi, instant, scope)
        month = Period.containing(start)
        periods: list[Period] = []
        while month.end <= end:
            if month.end > start:
                periods.append(month)
            month = month.shift(1)
        months = tuple(compute(con, [kpi], periods, scope, (), now).values) if periods else ()
    else:
        scope_where, scope_params = scope.conditions()
        column = kpi.period
        where = [*scope_where, f"{column} >= ?", f"{column} < ?"]
        if kpi.where:
            where.append(f"({kpi.where})")
        bucket = f"date_trunc('month', {column})"
        statement = (
            f"SELECT {bucket} AS p, {kpi.numerator} AS n, {kpi.denominator or 'NULL'} AS d "  # noqa: S608
            f"FROM {kpi.source} WHERE {' AND '.join(where)} GROUP BY GROUPING SETS (({bucket}), ())"
        )
        rows = con.execute(statement, [*scope_params, _midnight(start), _midnight(end)]).fetchall()
        numerator = denominator = None
        found: list[Value] = []
        for bucket_start, n, d in rows:
            if bucket_start is None:  # the grand total (the range excludes rows without a timestamp)
                numerator, denominator = _number(n), _number(d)
            elif kpi.denominator is None or d:
                n_value, d_value = _number(n), _number(d)
                label = _month_label(bucket_start)
                found.append(Value(kpi.code, label, (), n_value, d_value, kpi.value(n_value, d_value)))
        months = tuple(sorted(found, key=lambda v: v.period))
    if kpi.denominator is None and numerator is None:
        numerator = 0.0  # a count over no rows
    return WindowValue(start, end, numerator, denominator, kpi.value(numerator, denominator), months)


def row_values(con: duckdb.DuckDBPyConnection, kpi: Kpi, start: dt.date, end: dt.date, scope: Scope) -> list[float]:
    """The per-row values of a mean (the catalogue's ``row``) whose rows fall in the local days [start, end)."""
    if kpi.row is None or kpi.period in (None, END):
        raise ValueError(f"KPI {kpi.code} has no per-row value")
    scope_where, scope_params = scope.conditions()
    where = [*scope_where, f"{kpi.period} >= ?", f"{kpi.period} < ?", f"({kpi.row}) IS NOT NULL"]
    if kpi.where:
        where.append(f"({kpi.where})")
    rows = con.execute(
        f"SELECT CAST(({kpi.row}) AS DOUBLE) FROM {kpi.source} WHERE {' AND '.join(where)}",  # noqa: S608
        [*scope_params, _midnight(start), _midnight(end)],
    ).fetchall()
    return [float(row[0]) for row in rows]
