"""Month-end summaries of point-in-time KPIs, written with the snapshot so a trend need not rescan the facts.

A KPI with ``period: end`` (the overdue rate of open clocks) is evaluated at each period's end: directly,
that is one pass over its source per end. When the KPI's numerator and denominator are plain counts
(``count(*)``, optionally ``FILTER (WHERE ...)``), they add up over any set of rows, so the snapshot also
stores them per end instant and per (tenant, org unit, region, line), computed in one DuckDB pass (the
source joined with the series of ends). Any scope (tenants, an org subtree, a region, a line) and any
grouping by those dimensions is then a sum over this small table, equal to counting the rows directly.

The instants covered are the month starts since the source's data begins (at most :data:`MAX_ENDS` of
them, the latest) and the snapshot's own moment (a running period ends "now"). Each row carries a
fingerprint of the KPI's formula: after the catalogue changes, an outdated summary is simply not used,
and the engine counts the rows directly as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from claimwatch.kpi.columns import END_POINTS, END_SUMMARY, TABLES, open_snapshot
from claimwatch.kpi.loader import END, Kpi

MAX_ENDS = 40  # month starts: a 12-quarter trend needs 37
END_COLUMN = "__cw_end"  # the end instant in the summary pass; no snapshot column has this name
GROUP_COLUMNS = ("tenant_id", "org_unit_id", "region_code", "line")


def fingerprint(kpi: Kpi) -> str:
    """Identifies the formula a summary was computed with."""
    text = json.dumps([kpi.source, kpi.where, kpi.numerator, kpi.denominator])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _is_count(con: duckdb.DuckDBPyConnection, expression: str) -> bool:
    """True when ``expression`` is exactly ``count(*)`` (with or without a FILTER), which adds up over rows."""
    sql_text = "SELECT " + expression.replace("{end}", "TIMESTAMP '2000-01-01 00:00:00'") + " FROM t"  # noqa: S608 - only parsed
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql_text]).fetchone()[0])  # type: ignore[index]
        statements = tree["statements"]
        if tree.get("error") or len(statements) != 1:
            return False
        node = statements[0]["node"]
        items: list[dict[str, Any]] = node["select_list"]
    except (duckdb.Error, KeyError, TypeError, ValueError):
        return False
    if len(items) != 1:
        return False
    item = items[0]
    return (
        item.get("class") == "FUNCTION"
        and item.get("function_name") == "count_star"
        and not item.get("distinct")
        and not item.get("arguments")
        and not (item.get("order_bys") or {}).get("orders")
    )


def summarisable(kpis: Sequence[Kpi]) -> list[Kpi]:
    """The point-in-time KPIs whose value at an end is a sum of per-group counts."""
    con = duckdb.connect(":memory:")
    try:
        return [
            kpi
            for kpi in kpis
            if kpi.available
            and kpi.period == END
            and kpi.numerator is not None
            and kpi.source in TABLES
            and _is_count(con, kpi.numerator)
            and (kpi.denominator is None or _is_count(con, kpi.denominator))
        ]
    finally:
        con.close()


def _month_start(moment: dt.datetime) -> dt.datetime:
    return dt.datetime(moment.year, moment.month, 1)  # noqa: DTZ001 - snapshot wall time


def end_instants(con: duckdb.DuckDBPyConnection, source: str, local_now: dt.datetime) -> list[dt.datetime]:
    """Month starts after the source's earliest timestamp up to ``local_now`` (the latest ones), and ``local_now``."""
    columns = TABLES[source].timestamps
    earliest = None
    if columns:
        row = con.execute(f"SELECT least({', '.join(f'min({c})' for c in columns)}) FROM {source}").fetchone()  # noqa: S608
        earliest = None if row is None else row[0]
    ends: list[dt.datetime] = []
    if isinstance(earliest, dt.datetime):
        moment = _month_start(local_now)
        while moment > earliest and len(ends) < MAX_ENDS:
            ends.append(moment)
            index = moment.year * 12 + moment.month - 2
            moment = dt.datetime(index // 12, index % 12 + 1, 1)  # noqa: DTZ001
    if local_now not in ends:
        ends.append(local_now)
    return sorted(ends)


def _summary_select(kpi: Kpi, ends_table: str) -> str:
    assert kpi.numerator is not None
    column = END_COLUMN
    where = kpi.where.replace("{end}", column) if kpi.where else "true"
    numerator = kpi.numerator.replace("{end}", column)
    denominator = kpi.denominator.replace("{end}", column) if kpi.denominator else "NULL"
    groups = ", ".join(GROUP_COLUMNS)
    return (
        f"SELECT ? AS kpi, ? AS fingerprint, {column} AS end_at, {groups}, "  # noqa: S608 - catalogue text, checked
        f"CAST({numerator} AS BIGINT) AS n, CAST({denominator} AS BIGINT) AS d "
        f"FROM {kpi.source} CROSS JOIN {ends_table} WHERE ({where}) GROUP BY {column}, {groups}"
    )


def write(
    directory: Path,
    kpis: Sequence[Kpi],
    local_now: dt.datetime,
    con: duckdb.DuckDBPyConnection | None = None,
) -> int:
    """Writes the summary files into a snapshot generation (``con``: one opened on it); returns the row count."""
    own = con is None
    if con is None:
        con = open_snapshot(directory, summaries=False)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __cw_summary (kpi VARCHAR, fingerprint VARCHAR, end_at TIMESTAMP, "
            "tenant_id BIGINT, org_unit_id BIGINT, region_code VARCHAR, line VARCHAR, n BIGINT, d BIGINT)"
        )
        con.execute("CREATE OR REPLACE TEMP TABLE __cw_points (kpi VARCHAR, fingerprint VARCHAR, end_at TIMESTAMP)")
        for kpi in summarisable(kpis):
            ends = end_instants(con, kpi.source, local_now)
            con.execute(f"CREATE OR REPLACE TEMP TABLE __cw_ends ({END_COLUMN} TIMESTAMP)")
            con.executemany("INSERT INTO __cw_ends VALUES (?)", [(end,) for end in ends])
            code, print_ = kpi.code, fingerprint(kpi)
            con.execute(f"INSERT INTO __cw_summary {_summary_select(kpi, '__cw_ends')}", [code, print_])  # noqa: S608
            con.executemany("INSERT INTO __cw_points VALUES (?, ?, ?)", [(code, print_, end) for end in ends])
        for table, name in (("__cw_summary", END_SUMMARY), ("__cw_points", END_POINTS)):
            target = str(directory / f"{name}.parquet").replace("'", "''")
            order = "kpi, end_at, tenant_id, org_unit_id, region_code, line" if table == "__cw_summary" else "kpi"
            con.execute(f"COPY (SELECT * FROM {table} ORDER BY {order}) TO '{target}' (FORMAT parquet)")  # noqa: S608
        row = con.execute("SELECT count(*) FROM __cw_summary").fetchone()
        con.execute("DROP TABLE __cw_summary")
        con.execute("DROP TABLE __cw_points")
        con.execute("DROP TABLE IF EXISTS __cw_ends")
        return 0 if row is None else int(row[0])
    finally:
        if own:
            con.close()
