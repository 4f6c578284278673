"""`claimwatch calendar …`: load a year's arrangement, list years, set business hours."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.cli_output import fail
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid

app = typer.Typer(help="Working-day calendar (节假日与调休) and business hours", no_args_is_help=True)
console = Console(soft_wrap=True)


@app.command("load")
def load(path: Path = typer.Argument(..., help="YAML {year, holidays, workdays} or CSV date,kind,name")) -> None:
    """Load a year's holidays and make-up working days (the State Council notice), then recompute
    every open deadline; the change is written into every tenant's audit chain."""
    from claimwatch.calendar import service

    try:
        parsed = service.parse_year_file(path.read_bytes(), str(path))
    except (service.CalendarFileError, UnicodeDecodeError, OSError) as exc:
        raise fail(str(exc)) from exc
    with unit_of_work(TenantContext.system_context()) as session:
        loaded = service.load_year(session, parsed, "cli")
    console.print(
        f"{loaded.year}: {len(parsed.arrangement.holidays)} holidays on weekdays, "
        f"{len(parsed.arrangement.workdays)} make-up working days; {loaded.deadlines_moved} open deadlines recomputed"
    )


@app.command("years")
def years() -> None:
    """Years with working-day data (provisional ones from the statutory holidays until the official year is
    loaded); a deadline in any other year is refused."""
    from claimwatch.calendar import service

    with unit_of_work(TenantContext.system_context()) as session:
        rows = service.year_summaries(session)
    table = Table("year", "working days", "source", "loaded by")
    for row in rows:
        year = f"{row['year']} (provisional 暂定)" if row.get("provisional") else str(row["year"])
        table.add_row(year, str(row["working_days"]), str(row["source"]), str(row["loaded_by"] or ""))
    console.print(table)


@app.command("workday")
def workday(
    day: str = typer.Argument(..., help="YYYY-MM-DD"), add: int = typer.Option(0, help="working days to add")
) -> None:
    """Is DAY a working day; with --add N, the N-th working day after it."""
    from claimwatch.calendar import service

    try:
        parsed = dt.date.fromisoformat(day)
    except ValueError as exc:
        raise fail(f"{day!r} is not a date (YYYY-MM-DD)") from exc
    with unit_of_work(TenantContext.system_context()) as session:
        calendar = service.get_calendar(session)
    try:
        working = calendar.is_working_day(parsed)
        target = calendar.add_working_days(parsed, add) if add else None
    except service.CalendarYearMissing as exc:
        raise fail(str(exc)) from exc
    name = calendar.names.get(parsed, "")
    mark = " (provisional 暂定: the official arrangement is not loaded)"
    console.print(
        f"{parsed}: {'working day' if working else 'day off'} {name}".rstrip()
        + (mark if calendar.is_provisional(parsed) else "")
    )
    if target is not None:
        console.print(
            f"{add} working days after {parsed}: {target}" + (mark if calendar.is_provisional(target) else "")
        )


@app.command("business-hours")
def business_hours(tenant: str, intervals: str = typer.Argument(..., help="e.g. 09:00-12:00,13:30-17:30")) -> None:
    """Set a tenant's business hours (for business-hour clocks) and recompute its open deadlines."""
    from claimwatch.calendar import service
    from claimwatch.tenancy import repository as tenancy_repository

    with unit_of_work(TenantContext.system_context()) as session:
        found = tenancy_repository.tenant_by_code(session, tenant)
        if found is None:
            raise fail(f"unknown tenant {tenant!r}")
        tenant_id = found.id
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        try:
            changed = service.set_business_hours(session, tenant_id, intervals, "cli")
        except Invalid as exc:
            raise fail(str(exc)) from exc
    console.print(f"{tenant}: {changed.intervals}; {changed.deadlines_moved} open deadlines recomputed")
