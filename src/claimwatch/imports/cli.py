"""`claimwatch import events FILE --tenant CODE`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from claimwatch.cli_output import fail
from claimwatch.imports import jobs, service

app = typer.Typer(help="Bulk import", no_args_is_help=True)
err = Console(stderr=True)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


@app.command("events", help=f"Import case events from CSV or JSON Lines.\n\n{service.__doc__}")
def import_events(
    file: Path = typer.Argument(..., help="a .csv or .jsonl file"),
    tenant: str = typer.Option(..., help="tenant code the events belong to"),
    mode: str = typer.Option("all-or-nothing", help="all-or-nothing | skip-invalid"),
    reject_report: Path = typer.Option(None, help="write rejected rows (line, event_id, field, reason) as CSV"),
    batch_size: int = typer.Option(1000, min=1, max=10000, help="events per transaction (skip-invalid)"),
    fmt: str = typer.Option(None, "--format", help="csv | jsonl (default: by extension)"),
) -> None:
    try:
        file_format = service.detect_format(file, fmt)
        if not file.is_file():
            raise service.ImportFailed(f"cannot read {file}: no such file")
        tenant_id = jobs.resolve_tenant(tenant)
        total = service.count_rows(file, file_format)
        principal = service.integration_principal(tenant_id, file.name)
        with progress_bar() as bar:
            task = bar.add_task(f"import {file.name}", total=total, rate="")

            def advance(rows: int) -> None:
                bar.advance(task, rows)
                speed = bar.tasks[0].speed
                bar.update(task, rate=f"{speed:,.0f} rows/s" if speed else "")

            result = jobs.import_rows(
                service.read_rows(file, file_format), principal, mode=mode, batch_size=batch_size, progress=advance
            )
    except service.ImportFailed as exc:
        raise fail(str(exc), 2) from exc

    for reject in sorted(result.rejects, key=lambda r: r.line)[:50]:
        err.print(f"line {reject.line}: {reject.field}: {reject.reason}", soft_wrap=True, markup=False)
    if len(result.rejects) > 50:
        err.print(f"… and {len(result.rejects) - 50} more rejected rows")
    if reject_report is not None:
        service.write_reject_report(reject_report, result.rejects)
    if not result.committed:
        err.print(f"[red]nothing imported:[/red] {len(result.rejects)} rejected rows in all-or-nothing mode")
        raise typer.Exit(1)
    err.print(
        f"rows {result.rows}: applied {result.applied}, duplicates {result.duplicates}, rejected {len(result.rejects)}"
    )
