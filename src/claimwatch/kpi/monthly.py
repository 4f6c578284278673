"""The monthly summary of the KPIs with a period column, written with the snapshot so a trend need not rescan facts.

A KPI with a period column (``period: reported_at``) is a formula of aggregates over its source's rows in each
period. When each aggregate adds up over any split of the rows (``count(*)``, ``count(x)``, ``sum(x)``, with or
without a FILTER), the snapshot also stores it per month of the period column and per (tenant, org unit, region,
line): the trend of any scope the dashboard offers (tenants, an org subtree, a region, a line), grouped by any of
those dimensions, over months, quarters or years, is then the same formula with each aggregate replaced by the sum
of its stored parts, over a few hundred thousand rows instead of tens of millions.

``count(DISTINCT claim_id)`` does not add up over rows, but it adds up over groups when no claim is in two groups:
the summary stores, per month and group, how many claims have a row there (the per-claim month flags, summed). That
is exact only because the fact tables carry the claim's own tenant, unit, region and line; the build checks it (per
month, every row of a claim in one group) and stores no distinct count of a table where it does not hold. A claim
counted in two months of a quarter is one claim of the quarter, so a distinct count is served for months only.

One source of truth: the stored aggregates are those of the catalogue's formulas, each KPI's ``where`` moved into
its aggregates as the shared scan does (claimwatch.kpi.filters), and each is stored under a name derived from its
text. After the catalogue changes, a formula whose aggregates the summary lacks is counted from the facts; a
summary whose facts changed since it was built is not opened (claimwatch.kpi.columns.open_snapshot). Anything else
(a median, a distinct count of another column, a window) is always counted from the facts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
import structlog
from sqlglot import exp

from claimwatch.kpi.columns import (
    MONTHLY_FOLDER,
    MONTHLY_MANIFEST,
    TABLES,
    facts_token,
    monthly_view,
    open_snapshot,
)
from claimwatch.kpi.filters import NotFilterable, restricted
from claimwatch.kpi.loader import END, Kpi

log = structlog.get_logger("claimwatch.kpi.monthly")
MONTH_AT = "month_at"
MAX_BITMAP_BITS = 1 << 27  # the claim ids of a month counted by bitmap (16 MiB) when at most this far apart
GROUP_COLUMNS = ("tenant_id", "org_unit_id", "region_code", "line")
CLAIM = "claim_id"
_STORED_TYPES = {"BIGINT": "BIGINT", "HUGEINT": "BIGINT", "INTEGER": "BIGINT", "DOUBLE": "DOUBLE"}


@dataclass(frozen=True)
class Part:
    """One aggregate of a formula as the summary stores it: ``name`` its column, ``sql`` the aggregate over the facts
    (FILTER included); a distinct count stores per group the claims with a row where ``condition`` holds."""

    name: str
    sql: str
    distinct: bool = False
    condition: str = "true"


@dataclass(frozen=True)
class Shape:
    """A KPI over the summary: ``numerator``/``denominator`` are its formula with each aggregate replaced by the sum
    of its part; ``rows`` counts the KPI's rows (its ``where``), None when it counts every row of the source."""

    numerator: str
    denominator: str | None
    rows: str | None
    parts: tuple[Part, ...]

    @property
    def months_only(self) -> bool:
        """A distinct count adds up over groups, not over the months of a quarter."""
        return any(part.distinct for part in self.parts)


def _name(prefix: str, sql: str) -> str:
    return prefix + hashlib.sha256(sql.encode("utf-8")).hexdigest()[:20]


def _part(unit: Any) -> Part | None:
    """The stored part of one aggregate (``unit``: the aggregate, or its FILTER around it), None if not additive."""
    aggregate = unit.this if isinstance(unit, exp.Filter) else unit
    sql = unit.sql(dialect="duckdb")
    if isinstance(aggregate.this, exp.Distinct):
        columns = aggregate.this.expressions
        if (
            isinstance(aggregate, exp.Count)
            and len(columns) == 1
            and isinstance(columns[0], exp.Column)
            and not columns[0].table
            and columns[0].name == CLAIM
        ):
            condition = unit.expression.this.sql(dialect="duckdb") if isinstance(unit, exp.Filter) else "true"
            return Part(_name("c_", sql), sql, distinct=True, condition=condition)
        return None
    if type(aggregate) in (exp.Count, exp.Sum):
        return Part(_name("a_", sql), sql)
    return None


def _summed(formula: str) -> tuple[str, list[Part]] | None:
    """``formula`` (aggregates over the facts) with each aggregate replaced by the sum of its stored part."""
    try:
        tree = sqlglot.parse_one(f"SELECT {formula}", read="duckdb")
    except sqlglot.errors.ParseError:
        return None
    if not isinstance(tree, exp.Select) or tree.find(exp.Window) is not None:
        return None
    units = [agg.parent if isinstance(agg.parent, exp.Filter) else agg for agg in tree.find_all(exp.AggFunc)]
    if not units:
        return None
    parts: list[Part] = []
    for unit in units:
        part = _part(unit)
        if part is None:
            return None
        parts.append(part)
    for unit, part in zip(units, parts, strict=True):
        unit.replace(exp.Sum(this=exp.column(part.name)))
    return tree.selects[0].sql(dialect="duckdb"), parts


@lru_cache(maxsize=512)
def _shape(source: str, where: str | None, numerator: str, denominator: str | None) -> Shape | None:
    table = TABLES.get(source)
    if table is None or not all(any(name == g for name, _ in table.columns) for g in GROUP_COLUMNS):
        return None
    try:
        formulas = [restricted(numerator, where) if where else numerator]
        if denominator:
            formulas.append(restricted(denominator, where) if where else denominator)
        if where:
            formulas.append(restricted("count(*)", where))
    except NotFilterable:
        return None
    summed = [_summed(formula) for formula in formulas]
    if any(s is None for s in summed):
        return None
    parts: dict[str, Part] = {}
    texts: list[str] = []
    for text, found in (s for s in summed if s is not None):
        texts.append(text)
        parts.update((p.name, p) for p in found)
    if any(p.distinct for p in parts.values()) and not any(name == CLAIM for name, _ in table.columns):
        return None
    return Shape(
        numerator=texts[0],
        denominator=texts[1] if denominator else None,
        rows=texts[-1] if where else None,
        parts=tuple(parts.values()),
    )


def shape(kpi: Kpi) -> Shape | None:
    """How ``kpi`` is computed from the monthly summary, or None when it cannot be (not additive, no period column)."""
    if not kpi.available or kpi.numerator is None or kpi.period in (None, END):
        return None
    table = TABLES.get(kpi.source)
    if table is None or kpi.period not in table.timestamps:
        return None
    return _shape(kpi.source, kpi.where, kpi.numerator, kpi.denominator)


def _kind(con: duckdb.DuckDBPyConnection, source: str, sql: str) -> str | None:
    """The column type the summary stores an additive part as (None: a type it does not sum exactly)."""
    row = con.execute(f"DESCRIBE SELECT {sql} AS x FROM {source}").fetchone()  # noqa: S608 - catalogue, checked
    return None if row is None else _STORED_TYPES.get(str(row[1]))


def _statement(source: str, column: str, parts: list[tuple[Part, str]]) -> str:
    """The summary of one table and period column: a row per month and group with every part (and, when it has
    distinct counts, ``__pairs``: how many of its claims have a row there, for :func:`_claims_in_one_group`)."""
    month = f"date_trunc('month', {column})"
    groups = ", ".join(GROUP_COLUMNS)
    additive = [(p, kind) for p, kind in parts if not p.distinct]
    distinct = [p for p, _ in parts if p.distinct]
    if not distinct:
        items = "".join(f", CAST({p.sql} AS {kind}) AS {p.name}" for p, kind in additive)
        return (
            f"SELECT {month} AS {MONTH_AT}, {groups}{items} "  # noqa: S608 - catalogue, checked
            f"FROM {source} WHERE {column} IS NOT NULL GROUP BY {MONTH_AT}, {groups}"
        )
    # Per month, group and claim: the claim's flags (it has a row where a distinct count's FILTER holds); the
    # claims of a group are then summed. Rows without a claim make one row of their group (counted by no flag).
    per_claim = (
        f"SELECT {month} AS {MONTH_AT}, {groups}, {CLAIM}"  # noqa: S608 - catalogue, checked
        + "".join(f", {p.sql} AS {p.name}" for p, _ in additive)
        + "".join(f", count(*) FILTER (WHERE {p.condition}) > 0 AS {p.name}" for p in distinct)
        + f" FROM {source} WHERE {column} IS NOT NULL GROUP BY {MONTH_AT}, {groups}, {CLAIM}"
    )
    items = "".join(f", CAST(sum({p.name}) AS {kind}) AS {p.name}" for p, kind in additive)
    items += "".join(f", count(*) FILTER (WHERE {CLAIM} IS NOT NULL AND {p.name}) AS {p.name}" for p in distinct)
    return (
        f"SELECT {MONTH_AT}, {groups}{items}, count({CLAIM}) AS __pairs "  # noqa: S608
        f"FROM ({per_claim}) AS per_claim GROUP BY {MONTH_AT}, {groups}"
    )


def _claims_in_one_group(con: duckdb.DuckDBPyConnection, source: str, column: str) -> bool:
    """Whether, in every month, each claim's rows lie in one group: the (claim, group) pairs the summary counted
    (``__pairs`` of the temp table) are then exactly the month's distinct claims, which are counted here as the
    bits set in a bitmap of the claim ids (claimwatch.kpi.filters.bitmap_counted; count(DISTINCT) when the ids
    are too far apart)."""
    where = f"{column} IS NOT NULL AND {CLAIM} IS NOT NULL"
    bounds = con.execute(f"SELECT min({CLAIM}), max({CLAIM}) FROM {source} WHERE {where}").fetchone()  # noqa: S608
    if bounds is None or bounds[0] is None:
        return True
    low, high = int(bounds[0]), int(bounds[1])
    if high - low + 1 <= MAX_BITMAP_BITS:
        claims = f"bit_count(bitstring_agg({CLAIM}, {low}, {high}))"
    else:
        claims = f"count(DISTINCT {CLAIM})"
    rows = con.execute(
        f"WITH claims AS (SELECT date_trunc('month', {column}) AS m, {claims} AS n FROM {source} "  # noqa: S608
        f"WHERE {where} GROUP BY m), pairs AS (SELECT {MONTH_AT} AS m, sum(__pairs) AS n FROM __cw_monthly GROUP BY m) "
        "SELECT count(*) FROM claims FULL JOIN pairs USING (m) WHERE claims.n IS DISTINCT FROM pairs.n"
    ).fetchone()
    return rows is not None and int(rows[0]) == 0


def plan(kpis: Sequence[Kpi]) -> dict[tuple[str, str], list[Part]]:
    """Per (source, period column): the parts of every KPI the summary can serve."""
    wanted: dict[tuple[str, str], dict[str, Part]] = {}
    for kpi in kpis:
        found = shape(kpi)
        if found is not None and kpi.period is not None:
            wanted.setdefault((kpi.source, kpi.period), {}).update((p.name, p) for p in found.parts)
    return {key: list(parts.values()) for key, parts in wanted.items()}


def write(directory: Path, kpis: Sequence[Kpi], con: duckdb.DuckDBPyConnection | None = None) -> int:
    """Writes the monthly summary into a snapshot generation (``con``: one opened on it without summaries);
    returns its row count. A table whose distinct counts are not exact by group gets none (logged)."""
    own = con is None
    if con is None:
        con = open_snapshot(directory, summaries=False)
    folder = directory / MONTHLY_FOLDER
    folder.mkdir(exist_ok=True)
    manifest: dict[str, dict[str, object]] = {}
    total = 0
    try:
        for (source, column), parts in sorted(plan(kpis).items()):
            typed = [(p, "BIGINT" if p.distinct else _kind(con, source, p.sql)) for p in parts]
            kept = [(p, kind) for p, kind in typed if kind is not None]
            con.execute(f"CREATE OR REPLACE TEMP TABLE __cw_monthly AS {_statement(source, column, kept)}")
            row = con.execute("SELECT count(*) FROM __cw_monthly").fetchone()
            rows = 0 if row is None else int(row[0])
            if any(p.distinct for p, _ in kept) and not _claims_in_one_group(con, source, column):
                log.warning(
                    "kpi monthly summary without distinct counts: a claim's rows lie in several groups",
                    table=source,
                    column=column,
                )
                kept = [(p, kind) for p, kind in kept if not p.distinct]
            names = ", ".join([MONTH_AT, *GROUP_COLUMNS, *(p.name for p, _ in kept)])
            view = monthly_view(source, column)
            target = str(folder / f"{view}.parquet").replace("'", "''")
            con.execute(
                f"COPY (SELECT {names} FROM __cw_monthly ORDER BY {MONTH_AT}, {', '.join(GROUP_COLUMNS)}) "  # noqa: S608
                f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
            )
            con.execute("DROP TABLE __cw_monthly")
            manifest[view] = {
                "source": source,
                "column": column,
                "facts": facts_token(directory, source),
                "rows": rows,
                "parts": {p.name: p.sql for p, _ in kept},
            }
            total += rows
    finally:
        if own:
            con.close()
    written = {"built_at": dt.datetime.now(dt.UTC).isoformat(), "views": manifest}
    (folder / MONTHLY_MANIFEST).write_text(json.dumps(written, indent=1, ensure_ascii=False), encoding="utf-8")
    return total
