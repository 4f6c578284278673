"""`claimwatch kpi ...`: the KPI snapshot, values, the catalogue check and the statistical alerts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.cli_output import fail

app = typer.Typer(help="KPIs (指标): snapshot, values, catalogue, statistical alerts", no_args_is_help=True)
console = Console()


@app.command("snapshot")
def snapshot(directory: Path = typer.Option(None, "--dir", help="default CLAIMWATCH_SNAPSHOT_DIR")) -> None:
    """Read the operational database into a new Parquet snapshot and make it current."""
    from claimwatch.kpi import snapshot as kpi_snapshot

    info = kpi_snapshot.take_snapshot(directory)
    console.print(f"snapshot {info.directory}: " + ", ".join(f"{name} {count}" for name, count in info.rows.items()))


@app.command("check")
def check(path: Path = typer.Argument(None, help="catalogue YAML; default CLAIMWATCH_KPI_CATALOGUE")) -> None:
    """Validate a KPI catalogue; exits 1 naming the file and line of the first problem."""
    from claimwatch.config import get_settings
    from claimwatch.kpi.loader import CatalogueError, load_catalogue

    try:
        kpis = load_catalogue(path or get_settings().kpi_catalogue)
    except CatalogueError as exc:
        raise fail(str(exc)) from exc
    pending = sum(1 for kpi in kpis if not kpi.available)
    console.print(f"[green]ok[/green] {len(kpis)} KPIs ({pending} pending data)")


@app.command("show")
def show(
    period: str = typer.Option(None, help="2026-10 or 2026-Q4; default: the snapshot's month"),
    tenant: str = typer.Option(None, help="tenant code; default: every tenant"),
    by: str = typer.Option(None, help="org | region | line | tenant"),
    csv: bool = typer.Option(False, "--csv", help="print CSV instead of a table"),
) -> None:
    """Print KPI values from the current snapshot."""
    from claimwatch.errors import Problem
    from claimwatch.kpi import service
    from claimwatch.kpi.engine import Period, Scope

    try:
        chosen = Period.parse(period) if period else None
        dimension = service.check_dimension(by)
        with service.opened() as snap:
            tenant_ids = None
            if tenant:
                tenant_ids = tuple(t for t, code, _ in service.tenant_rows(snap.con) if code == tenant)
                if not tenant_ids:
                    raise fail(f"unknown tenant {tenant!r}")
            chosen = chosen or service.default_period(snap.local_now)
            rows = service.api_rows(snap, Scope(tenant_ids), chosen, dimension, "zh")
    except Problem as exc:  # a bad period or dimension, or no snapshot yet
        raise fail(exc.message) from exc
    if csv:
        console.print(service.to_csv(rows).lstrip("\ufeff"), end="", soft_wrap=True, markup=False)
        return
    table = Table("KPI", "unit", "value", "n / d", "target", "light")
    for row in rows:
        figure = "—" if row["value"] is None else f"{row['value']:.2f}"
        volume = "" if row["numerator"] is None else f"{row['numerator']:g} / {row['denominator'] or '-'}"
        table.add_row(row["name"], row["label"] or "", figure, volume, str(row["target"]), row["light"])
    console.print(table)


@app.command("alerts")
def alerts(
    period: list[str] = typer.Option(None, help="months to evaluate (repeatable); default: the last two"),
    refresh: bool = typer.Option(True, help="take a fresh snapshot first"),
    min_count: int = typer.Option(None, help="default CLAIMWATCH_ALERT_MIN_COUNT (30)"),
) -> None:
    """Evaluate the p-chart alerts; record and notify new out-of-control units."""
    from claimwatch.kpi import jobs
    from claimwatch.kpi import snapshot as kpi_snapshot
    from claimwatch.kpi.engine import BadPeriod, Period

    try:
        periods = [Period.parse(p) for p in period] if period else None
    except BadPeriod as exc:
        raise fail(exc.message) from exc
    if refresh:
        kpi_snapshot.take_snapshot()
    result = jobs.evaluate_alerts(periods, min_count=min_count)
    for finding in result.findings:
        console.print(
            f"{finding.period} {finding.kpi.code} {finding.dimension}={finding.unit_key} ({finding.unit_label}): "
            f"{finding.rate:.1%} of {finding.count} > limit {finding.limits.upper:.1%} "
            f"(company {finding.limits.expected:.1%})"
        )
    console.print(
        f"{result.units_checked} units checked, {result.below_minimum} below the minimum count, "
        f"{len(result.findings)} out of control, {result.created} new alerts, {result.notified} notified"
    )


ENGINES = ("duckdb", "spark")


def _figure(number: float | None) -> str:
    return "" if number is None else f"{number:g}"


@contextmanager
def _engine(
    engine: str, location: str | None, master: str, conf: list[str], cache: bool = False
) -> Iterator[tuple[Any, dt.datetime | None]]:
    """The snapshot opened in the chosen engine, and the moment it was taken (UTC; None when not recorded)."""
    from claimwatch.kpi import snapshot as kpi_snapshot

    if engine == "duckdb":
        from claimwatch.kpi.columns import open_snapshot

        if location is None:
            info = kpi_snapshot.current()
            if info is None:
                raise fail("no KPI snapshot yet: run `claimwatch kpi snapshot` (or pass --snapshot)")
            directory, taken_at = info.directory, info.taken_at
        else:
            directory, taken_at = Path(location), None
            meta = directory / kpi_snapshot.META
            if meta.exists():
                taken_at = dt.datetime.fromisoformat(json.loads(meta.read_text(encoding="utf-8"))["taken_at"])
        con = open_snapshot(directory)
        try:
            yield con, taken_at
        finally:
            con.close()
        return
    try:
        from pyspark.sql import SparkSession

        from claimwatch.kpi import spark as kpi_spark
    except ImportError as exc:
        raise fail(f"--engine spark needs PySpark (pip install -e '.[spark]'): {exc}") from exc
    if location is None:
        info = kpi_snapshot.current()
        if info is None:
            raise fail("no KPI snapshot yet: run `claimwatch kpi snapshot` (or pass --snapshot)")
        location = str(info.directory)
    settings: dict[str, str] = {}
    for item in conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"--conf {item!r}: expected key=value")
        settings[key.strip()] = value
    ours = SparkSession.getActiveSession() is None
    spark = kpi_spark.session(master, settings)
    try:
        snap = kpi_spark.SparkSnapshot(spark, location, cache=cache)
        try:
            yield snap, snap.taken_at()
        finally:
            snap.close()
    finally:
        if ours:
            spark.stop()


@app.command("compute")
def compute(
    engine: str = typer.Option("duckdb", help="duckdb (this machine) or spark (a cluster, or local[N])"),
    master: str = typer.Option("local[2]", help="Spark master: local[2], spark://host:7077, yarn, k8s://https://…"),
    snapshot_path: str = typer.Option(
        None, "--snapshot", help="a snapshot generation (folder; for Spark also s3a://…, hdfs://…); default: current"
    ),
    period: str = typer.Option(None, help="2026-10 or 2026-Q4; default: the snapshot's month"),
    trailing: int = typer.Option(1, min=1, max=120, help="this many periods up to --period (a trend)"),
    tenant: str = typer.Option(None, help="tenant code; default: every tenant"),
    org: int = typer.Option(None, help="an org unit id: the unit and its subtree"),
    by: str = typer.Option(None, help="org | region | line | tenant"),
    conf: list[str] = typer.Option([], "--conf", help="Spark setting key=value (repeatable)"),
    cache: bool = typer.Option(False, help="Spark: keep the snapshot in memory after its first read"),
    output: str = typer.Option("table", "--format", help="table | csv | json"),
) -> None:
    """Compute every catalogue KPI with DuckDB or Spark from the same definitions (kpis.yaml)."""
    from claimwatch.errors import Problem
    from claimwatch.kpi import engine as kpi_engine
    from claimwatch.kpi import loader as kpi_loader
    from claimwatch.kpi import service
    from claimwatch.kpi.snapshot import snapshot_zone

    if engine not in ENGINES:
        raise fail(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if output not in ("table", "csv", "json"):
        raise fail(f"--format must be table, csv or json, not {output!r}")
    try:
        dimension = service.check_dimension(by)
        chosen = kpi_engine.Period.parse(period) if period else None
        kpis = [kpi for kpi in kpi_loader.catalogue() if kpi.available]
        with _engine(engine, snapshot_path, master, conf, cache) as (con, taken_at):
            local_now = None if taken_at is None else taken_at.astimezone(snapshot_zone()).replace(tzinfo=None)
            if chosen is None:
                if local_now is None:
                    raise fail("the snapshot records no moment (meta.json): pass --period")
                chosen = service.default_period(local_now)
            tenant_ids = None
            if tenant:
                tenant_ids = tuple(t for t, code, _ in service.tenant_rows(con) if code == tenant)
                if not tenant_ids:
                    raise fail(f"unknown tenant {tenant!r}")
            dims = (dimension,) if dimension else ()
            result = kpi_engine.compute(
                con, kpis, chosen.trailing(trailing), kpi_engine.Scope(tenant_ids, org_unit_id=org), dims, local_now
            )
    except Problem as exc:
        raise fail(exc.message) from exc
    order = {kpi.code: index for index, kpi in enumerate(kpis)}
    values = sorted(result.values, key=lambda v: (order[v.kpi], v.period, v.key))
    rows = [
        {
            "kpi": v.kpi,
            "period": v.period,
            "key": "/".join(v.key),
            "numerator": v.numerator,
            "denominator": v.denominator,
            "value": v.value,
        }
        for v in values
    ]
    if output == "json":
        typer.echo(json.dumps({"engine": engine, "values": rows}, ensure_ascii=False))
        return
    if output == "csv":
        typer.echo("kpi,period,key,numerator,denominator,value")
        for row in rows:
            typer.echo(",".join("" if row[k] is None else str(row[k]) for k in row))
        return
    table = Table("KPI", "period", by or "", "numerator", "denominator", "value", title=f"engine: {engine}")
    for v in values:
        figure = "—" if v.value is None else f"{v.value:.4f}"
        table.add_row(v.kpi, v.period, "/".join(v.key), _figure(v.numerator), _figure(v.denominator), figure)
    console.print(table)
