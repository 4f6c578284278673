"""`claimwatch analytics …`: summarise an event log (XES, CSV, Parquet), export claims as XES."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from claimwatch.cli_output import fail

app = typer.Typer(
    help="Process analytics (流程分析): XES, CSV and Parquet logs, variants, bottlenecks", no_args_is_help=True
)
console = Console(soft_wrap=True)


def _moment(name: str, text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"--{name}: {text!r} is not an ISO 8601 time") from exc
    if value.tzinfo is None:
        raise fail(f"--{name}: give a time zone offset, e.g. 2026-01-01T00:00:00+08:00")
    return value


def _duration(seconds: float) -> str:
    return str(dt.timedelta(seconds=round(seconds)))


@app.command("process")
def process_file(
    path: Path = typer.Argument(..., help="an event log: XES (.xes, .xes.gz), CSV (.csv, .csv.gz) or Parquet"),
    top: int = typer.Option(5, help="how many variants and bottlenecks to list"),
    log_format: str | None = typer.Option(None, "--format", help="xes, csv or parquet (default: from the name)"),
    case: str = typer.Option("case", help="CSV/Parquet: the case id column"),
    activity: str = typer.Option("activity", help="CSV/Parquet: the activity column"),
    timestamp: str = typer.Option("timestamp", help="CSV/Parquet: the event time column (an interval log's end)"),
    start: str | None = typer.Option(None, help="CSV/Parquet interval log: the activity's start column"),
    end: str | None = typer.Option(None, help="CSV/Parquet interval log: the activity's end column"),
    resource: str | None = typer.Option(None, help="CSV/Parquet: the resource column"),
    time_format: str | None = typer.Option(
        None, help="strftime layout of text times, e.g. %Y/%m/%d %H:%M (default ISO 8601; no offset = UTC)"
    ),
    separator: str = typer.Option(",", help="CSV field separator"),
    to_parquet: Path | None = typer.Option(
        None, help="also save the log as Parquet here: later runs read it many times faster than XES or CSV"
    ),
) -> None:
    """Summarise an event log: cases, events, case durations, top variants, bottlenecks, rework, and
    for an interval log (--start) the service time per activity."""
    from claimwatch.analytics import process, service, tabular
    from claimwatch.errors import Problem

    mapping = tabular.ColumnMapping(
        case=case,
        activity=activity,
        timestamp=timestamp,
        start=start,
        end=end,
        resource=resource,
        time_format=time_format,
    )
    try:
        log = service.read_log(path, format=log_format, mapping=mapping, separator=separator.replace("\\t", "\t"))
    except Problem as exc:
        option = "" if exc.field == "file" else f"--{exc.field.replace('_', '-')}: "
        raise fail(f"{path}: {option}{exc.message}") from exc
    if to_parquet is not None:
        try:
            log.frame.write_parquet(to_parquet)
        except OSError as exc:
            raise fail(f"cannot write {to_parquet}: {exc.strerror or exc}") from exc
        again = " --start start" if log.interval else ""
        console.print(f"saved {to_parquet}: analyse it with `claimwatch analytics process {to_parquet}{again}`")
    report = process.process_report(log, top_variants=top, top_bottlenecks=top)
    stats = report["case_duration_s"]
    console.print(
        f"{path.name}: {report['cases']} cases, {report['events']} events, {len(report['activities'])} activities, "
        f"{report['variant_count']} variants"
    )
    console.print(
        f"case duration: mean {_duration(stats['mean'])}, median {_duration(stats['median'])}, "
        f"p90 {_duration(stats['p90'])}, max {_duration(stats['max'])}"
    )
    variants = Table("cases", "share", "variant", title=f"top {top} variants")
    for row in report["variants"]:
        variants.add_row(str(row["count"]), f"{row['share']:.1%}", escape(" → ".join(row["variant"])))
    console.print(variants)
    edges = Table("from", "to", "count", "mean wait", "median wait", "share of waiting", title="bottlenecks")
    for row in report["bottlenecks"]:
        edges.add_row(
            escape(row["src"]),
            escape(row["dst"]),
            str(row["count"]),
            _duration(row["mean_s"]),
            _duration(row["median_s"]),
            f"{row['share']:.1%}",
        )
    console.print(edges)
    if report["service_time"]:
        service_table = Table("activity", "instances", "mean", "median", "max", title="service time per activity")
        for row in report["service_time"][:top]:
            service_table.add_row(
                escape(row["activity"]),
                str(row["count"]),
                _duration(row["mean_s"]),
                _duration(row["median_s"]),
                _duration(row["max_s"]),
            )
        console.print(service_table)
    if report["rework"]:
        loops = Table("activity", "cases repeating it", "rate", "extra repeats", title="rework")
        for row in report["rework"][:top]:
            loops.add_row(escape(row["activity"]), str(row["rework_cases"]), f"{row['rate']:.1%}", str(row["extra"]))
        console.print(loops)


@app.command("export-xes")
def export_xes(
    tenant: str = typer.Option(..., "--tenant", help="insurer code"),
    out: Path = typer.Option(..., "--out", help="file to write (.xes, or .xes.gz to compress)"),
    line: str | None = typer.Option(None, help="only this line of business"),
    since: str | None = typer.Option(None, help="claims reported at or after (ISO 8601 with offset)"),
    until: str | None = typer.Option(None, help="claims reported before (ISO 8601 with offset)"),
) -> None:
    """Write a tenant's claims as an XES event log (case = claim number, activity = status entered)."""
    from claimwatch.analytics import service
    from claimwatch.analytics.xes import write_xes
    from claimwatch.db import TenantContext, unit_of_work
    from claimwatch.tenancy import repository as tenancy_repository

    start, end = _moment("since", since), _moment("until", until)
    with unit_of_work(TenantContext.system_context()) as session:
        found = tenancy_repository.tenant_by_code(session, tenant)
        if found is None:
            raise fail(f"unknown tenant {tenant!r}")
        tenant_id = found.id
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        log = service.claims_event_log(session, tenant_id, line=line, since=start, until=end)
    try:
        write_xes(log, out)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror or exc}") from exc
    console.print(f"{out}: {log.cases} cases, {log.events} events")
