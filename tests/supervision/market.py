"""A synthetic market for the whitelist and benchmark tests: a KPI snapshot written straight to Parquet (the same
tables and columns `claimwatch kpi snapshot` writes, claimwatch.kpi.columns) for given insurers and months, so
a test gets 14 months of three insurers' timeliness, complaints and cycle times without ingesting thousands of
events. Only the tables the tests' KPIs read are filled; the others are empty."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.columns import TABLES, empty_connection
from claimwatch.kpi.engine import Period


@dataclass(frozen=True)
class Month:
    """One insurer's month: small and large clocks (met of total), complaints and policies in force, claims
    closed with their cycle times in days."""

    small: tuple[int, int] = (96, 100)
    large: tuple[int, int] = (19, 20)
    complaints: int = 10
    policies: int = 100_000
    cycle_days: tuple[float, ...] = (5.0, 7.0, 9.0)


Spec = Callable[[str, Period], Month | None]  # (tenant code, month) → its figures, None: no data that month


def write(
    root: Path,
    tenants: Sequence[tuple[int, str, str]],
    months: Sequence[Period],
    spec: Spec,
    taken_at: dt.datetime,
) -> Path:
    """A snapshot generation under ``kpi_snapshot.snapshot_root(root)``, made current; returns its directory."""
    con = connection(tenants, months, spec)
    directory = kpi_snapshot.snapshot_root(root).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    generation = directory / f"gen-{taken_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    generation.mkdir()
    for name in TABLES:
        target = str(generation / f"{name}.parquet").replace("'", "''")
        con.execute(f"COPY {name} TO '{target}' (FORMAT parquet)")
    con.close()
    meta = {"taken_at": taken_at.isoformat(), "rows": {}, "database": kpi_snapshot.database_identity()}
    (generation / kpi_snapshot.META).write_text(json.dumps(meta), encoding="utf-8")
    kpi_snapshot.publish(directory, generation)
    return generation


def connection(
    tenants: Sequence[tuple[int, str, str]], months: Sequence[Period], spec: Spec
) -> duckdb.DuckDBPyConnection:
    """The market in an in-memory DuckDB with the snapshot's tables (what the KPI engine reads)."""
    con = empty_connection()
    _insert(con, "tenants", [tuple(t) for t in tenants])
    exposure: list[tuple[object, ...]] = []
    claims: list[tuple[object, ...]] = []
    for tenant_id, code, _ in tenants:
        for period in months:
            figures = spec(code, period)
            if figures is None:
                continue
            start = dt.datetime(period.start.year, period.start.month, period.start.day, 10)  # noqa: DTZ001 - wall time
            for policy, (met, total) in (("timeliness_small", figures.small), ("timeliness_large", figures.large)):
                # One statement per insurer, month and clock: ``total`` rows, the first ``met`` met in time.
                con.execute(
                    "INSERT INTO clocks SELECT ?, NULL, NULL, '440000', 'motor', ?, 'stopped', 'green', "
                    "CASE WHEN i < ? THEN 'met' ELSE 'breached' END, ?, ?, CASE WHEN i < ? THEN NULL ELSE ? END "
                    "FROM range(?) t(i)",
                    [tenant_id, policy, met, start, start, met, start, total],
                )
            exposure.append(
                (tenant_id, None, None, "440000", None, start.replace(hour=0), figures.complaints, 0,
                 figures.policies, figures.policies * 10_000)
            )  # fmt: skip
            for days in figures.cycle_days:
                claims.append(
                    (tenant_id, None, None, "440000", "motor", "closed", start - dt.timedelta(days=days), start,
                     False, "standard", False, False, False)
                )  # fmt: skip
    _insert(con, "complaint_exposure", exposure)
    _insert(con, "claims", claims)
    return con


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[tuple[object, ...]]) -> None:
    """One INSERT of every row (DuckDB's executemany runs a statement per row: seconds for a few thousand)."""
    if not rows:
        return
    width = len(rows[0])
    values = ", ".join("(" + ", ".join("?" * width) + ")" for _ in rows)
    con.execute(f"INSERT INTO {table} VALUES {values}", [value for row in rows for value in row])  # noqa: S608
