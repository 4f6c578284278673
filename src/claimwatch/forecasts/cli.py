"""`claimwatch forecasts …`: run the forecasts of an insurer now (all series, or one), show the newest with its
back-test and the staffing plan, and import the roster from CSV (all or nothing, with a reject report)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.cli import operator, tenant_id_of
from claimwatch.cli_output import DryRunOption, ImportFile, RejectsOption, fail
from claimwatch.complaints.import_command import run_csv_import
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Problem

app = typer.Typer(help="Volume forecasts and staffing (预测与排班)", no_args_is_help=True)
console = Console(soft_wrap=True)


@app.command("run")
def run(
    tenant: str = typer.Option(..., help="the insurer's code"),
    series: str = typer.Option(None, help="service_requests or claims (default: every series)"),
    team: str = typer.Option("", help="a team's code (service requests only; default: the whole insurer)"),
) -> None:
    """Forecast 8 weeks ahead now, back-tested on the last 8 weeks (MAPE)."""
    from claimwatch.forecasts import service

    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            actor = operator(tenant_id, "forecasts run").actor
            if series is None:
                result = service.run_all(session, tenant_id, actor)
                made = [(r.series, r.team, r.first_day, r.backtest_mape) for r in result.made]
                refused = result.refused
            else:
                row = service.run_forecast(session, tenant_id, actor, series, team)
                made, refused = [(row.series, row.team, row.first_day, row.backtest_mape)], dict[str, str]()
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    for name, team_code, first, mape in made:
        shown = f"{mape:.1f}%" if mape is not None else "—"
        console.print(f"{name}{'/' + team_code if team_code else ''}: from {first}, back-test MAPE {shown}")
    for name, why in refused.items():
        console.print(f"{name}: not forecast ({why})", markup=False)
    if not made:
        raise fail("no series could be forecast")


@app.command("show")
def show(
    tenant: str = typer.Option(..., help="the insurer's code"),
    team: str = typer.Option("", help="a team's code (default: the whole insurer)"),
) -> None:
    """The newest service-request forecast and the staffing plan against the roster."""
    from claimwatch.forecasts import service

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        forecast, plan = service.plan_for(session, tenant_id, team, utc_now())
        if forecast is None or plan is None:
            raise fail("no forecast yet: run `claimwatch forecasts run` first")
        mape = forecast.backtest_mape
    console.print(f"{forecast.model}; back-test MAPE {mape:.1f}%" if mape is not None else forecast.model, markup=False)
    console.print(
        f"handling time {plan.aht_minutes:g} min, utilisation {plan.utilisation:g}, shift {plan.shift_hours:g} h"
    )
    table = Table("day", "forecast", "hours needed", "staff needed", "rostered", "gap (h)", "peak")
    for day in plan.days:
        table.add_row(
            day["day"],
            f"{day['volume']:g}",
            f"{day['hours_needed']:g}",
            str(day["staff_needed"]),
            "" if day["rostered_staff"] is None else str(day["rostered_staff"]),
            "" if day["gap_hours"] is None else f"{day['gap_hours']:g}",
            "yes" if day["needs_peak"] else "",
        )
    console.print(table)
    console.print(f"{len(plan.peak_days)} days need peak mode")


@app.command("roster-import")
def roster_import(
    file: ImportFile,
    tenant: str = typer.Option(..., help="the insurer's code"),
    rejects: RejectsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """The roster from CSV (team/班组, day/日期, staff/人数, hours/每人工时), all or nothing."""
    from claimwatch.forecasts import service

    result = run_csv_import(
        file,
        tenant,
        rejects,
        lambda session, principal, data: service.import_roster(session, principal, data, dry_run=dry_run),
    )
    verb = "would set" if dry_run else "set"
    console.print(f"{result.rows} rows: {verb} {result.created} roster days")
