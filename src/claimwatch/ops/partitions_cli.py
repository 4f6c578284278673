"""`claimwatch partitions …`: the monthly partitions of the big append-only tables on PostgreSQL (ops/partitions.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.cli_output import fail
from claimwatch.errors import Problem
from claimwatch.ops import partitions

app = typer.Typer(help="Monthly partitions of case events, audit entries, clock events and the outbox (PostgreSQL)")
console = Console()


@app.command("ensure")
def ensure(
    ahead: int = typer.Option(None, min=1, max=24, help="months ahead; default CLAIMWATCH_PARTITION_MONTHS_AHEAD"),
    since: str = typer.Option(None, help="also every month from this one (YYYY-MM), e.g. before loading history"),
) -> None:
    """Create the partitions up to AHEAD months ahead (the worker does this every purge pass)."""
    try:
        result = partitions.ensure(months_ahead=ahead, since=partitions.parse_month(since, "since") if since else None)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from None
    console.print(
        f"{len(result.created)} partitions created{': ' + ', '.join(result.created) if result.created else ''}; "
        f"{result.moved} rows moved out of the default partitions",
        soft_wrap=True,
    )


@app.command("list")
def listing() -> None:
    """Every partition and its estimated rows."""
    table = Table("table", "partition", "month", "rows (estimate)")
    for row in partitions.listing():
        table.add_row(row["table"], row["partition"], row["month"], str(row["rows"]))
    console.print(table)


@app.command("archive")
def archive(
    before: str = typer.Option(..., help="archive every month before this one (YYYY-MM, UTC)"),
    out: Path = typer.Option(..., help="directory for the archive files (one folder per month)"),
) -> None:
    """Write each month before BEFORE to gzipped JSON lines with a manifest (row counts, SHA-256, each tenant's
    audit-chain boundary and the evidence head covering it), record the boundary in the chain, then detach and drop
    the month's partitions. `claimwatch audit verify` then starts at the boundary."""
    try:
        done = partitions.archive(partitions.parse_month(before), out)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from None
    if not done:
        console.print(f"nothing before {before} to archive")
    for month in done:
        rows = ", ".join(f"{table} {count}" for table, count in month.rows.items())
        console.print(f"{month.month}: {rows} rows, {month.tenants} chains → {month.folder}", soft_wrap=True)
