"""KPI rules without HTTP: the snapshot in force, scopes from a caller, labels, rows for the API and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb

from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.kpi import generations as kpi_generations
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.engine import DIMENSIONS, Period, Result, Scope, compute
from claimwatch.kpi.loader import Kpi
from claimwatch.kpi.snapshot import snapshot_zone
from claimwatch.workflow import service as workflow_service

TREND_PERIODS = 12


class NoSnapshot(Problem):
    """No snapshot was taken yet (`claimwatch kpi snapshot`, or the worker): 503, the figures are not ready."""

    status = 503

    def __init__(self, message: str = "no KPI snapshot yet: run `claimwatch kpi snapshot` or the worker") -> None:
        super().__init__(503, "snapshot", message)


@dataclass(frozen=True)
class OpenSnapshot:
    con: duckdb.DuckDBPyConnection
    taken_at: dt.datetime  # UTC

    @property
    def local_now(self) -> dt.datetime:
        """The snapshot's moment in local wall time, as the snapshot's timestamps are."""
        return self.taken_at.astimezone(snapshot_zone()).replace(tzinfo=None)


@contextmanager
def opened(root: Any = None) -> Iterator[OpenSnapshot]:
    info = kpi_snapshot.current(root)
    if info is None:
        raise NoSnapshot()
    con = kpi_generations.cursor(info.directory)
    try:
        yield OpenSnapshot(con, info.taken_at)
    finally:
        con.close()


def default_period(now_local: dt.datetime | None = None, kind: str = "month") -> Period:
    """The period containing ``now_local`` (default: now), in the snapshot's zone (:func:`snapshot_zone`)."""
    if now_local is None:
        now_local = dt.datetime.now(snapshot_zone()).replace(tzinfo=None)
    return Period.containing(now_local.date(), kind)


def tenant_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[int, str, str]]:
    rows = con.execute("SELECT id, code, name FROM tenants ORDER BY code").fetchall()
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def scope_for(
    principal: Principal,
    con: duckdb.DuckDBPyConnection,
    tenant_code: str | None = None,
    org: int | None = None,
    region: str | None = None,
    line: str | None = None,
) -> Scope:
    """A tenant user sees only their tenant (whatever they ask); a regulator every tenant or the one chosen."""
    principal.require(Permission.VIEW_KPIS)
    if principal.is_regulator:
        tenant_ids: tuple[int, ...] | None = None
        if tenant_code:
            tenant_ids = tuple(t for t, code, _ in tenant_rows(con) if code == tenant_code)
    else:
        if principal.tenant_id is None:
            raise Forbidden("tenant", "this account belongs to no tenant")
        tenant_ids = (principal.tenant_id,)
    return Scope(tenant_ids=tenant_ids, org_unit_id=org, region=region, line=line)


def unit_labels(con: duckdb.DuckDBPyConnection, dimension: str, locale: str) -> dict[str, str]:
    """Display names of a dimension's values (org unit id, region code, line, tenant id)."""
    if dimension == "org":
        rows = con.execute("SELECT CAST(id AS VARCHAR), name FROM org_units").fetchall()
    elif dimension == "region":
        column = "name_zh" if locale == "zh" else "name_en"
        rows = con.execute(f"SELECT code, {column} FROM regions").fetchall()  # noqa: S608 - fixed column
    elif dimension == "tenant":
        rows = con.execute("SELECT CAST(id AS VARCHAR), code || ' · ' || name FROM tenants").fetchall()
    else:
        return {line: workflow_service.line_label(line, locale) for line in workflow_service.lines()}
    return {str(key): str(name) for key, name in rows}


def available_kpis() -> list[Kpi]:
    return [kpi for kpi in kpi_loader.catalogue() if kpi.available]


def values(
    snap: OpenSnapshot,
    scope: Scope,
    periods: Sequence[Period],
    by: Sequence[str] = (),
    kpis: Sequence[Kpi] | None = None,
) -> Result:
    return compute(snap.con, kpis if kpis is not None else available_kpis(), periods, scope, by, snap.local_now)


def api_rows(snap: OpenSnapshot, scope: Scope, period: Period, by: str | None, locale: str) -> list[dict[str, Any]]:
    """Every catalogue KPI for one period (and dimension): one row per KPI and unit; pending KPIs as no data."""
    dims = (by,) if by else ()
    result = values(snap, scope, [period], dims)
    labels = unit_labels(snap.con, by, locale) if by else {}
    rows: list[dict[str, Any]] = []
    for kpi in kpi_loader.catalogue():
        found = [v for v in result.values if v.kpi == kpi.code]
        base = {
            "kpi": kpi.code,
            "name": kpi.name(locale),
            "unit": kpi.unit,
            "better": kpi.better,
            "baseline": kpi.baseline,
            "target": kpi.target,
            "period": period.label,
            "source": kpi.source,
        }
        if not found:
            rows.append(
                base
                | {
                    "dimension": by,
                    "key": None,
                    "label": None,
                    "numerator": None,
                    "denominator": None,
                    "value": None,
                    "light": "none",
                    "status": "pending" if not kpi.available else "no_data",
                }
            )
            continue
        for value in sorted(found, key=lambda v: v.key):
            key = value.key[0] if value.key else None
            rows.append(
                base
                | {
                    "dimension": by,
                    "key": key,
                    "label": labels.get(key or "", key) if by else None,
                    "numerator": value.numerator,
                    "denominator": value.denominator,
                    "value": None if value.value is None else round(value.value, 4),
                    "light": kpi.light(value.value),
                    "status": "ok",
                }
            )
    return rows


CSV_COLUMNS = (
    "kpi",
    "name",
    "period",
    "dimension",
    "key",
    "label",
    "numerator",
    "denominator",
    "value",
    "unit",
    "target",
    "light",
    "status",
)


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in CSV_COLUMNS})
    return "\ufeff" + buffer.getvalue()  # a BOM so spreadsheet programs read the Chinese names right


def check_dimension(by: str | None) -> str | None:
    if by in (None, ""):
        return None
    if by not in DIMENSIONS:
        raise Invalid("by", f"by must be one of {', '.join(DIMENSIONS)}")
    return by
