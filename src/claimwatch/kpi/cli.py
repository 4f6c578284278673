"""`claimwatch kpi ...`: the KPI snapshot, values, the catalogue check and the statistical alerts."""

from __future__ import annotations

from pathlib import Path

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
