"""`claimwatch servicedesk …`: import service requests from CSV (all or nothing, with a reject report) and list
an insurer's requests."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.cli import tenant_id_of
from claimwatch.cli_output import DryRunOption, ImportFile, RejectsOption, fail
from claimwatch.complaints.import_command import run_csv_import
from claimwatch.db import TenantContext, unit_of_work

app = typer.Typer(help="Service requests (客户服务请求): import, list", no_args_is_help=True)
console = Console(soft_wrap=True)


@app.command("import")
def import_file(
    file: ImportFile,
    tenant: str = typer.Option(..., help="the insurer's code"),
    rejects: RejectsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import service requests, all or nothing; each gets its number and clocks."""
    from claimwatch.servicedesk import importer

    result = run_csv_import(
        file,
        tenant,
        rejects,
        lambda session, principal, data: importer.import_csv(session, principal, data, dry_run=dry_run),
    )
    verb = "would import" if dry_run else "imported"
    console.print(f"{result.rows} rows: {verb} {result.created} requests, already recorded {result.existing}")


@app.command("list")
def list_requests(
    tenant: str = typer.Option(..., help="the insurer's code"),
    status: str = typer.Option("open", help="open (open, in progress, waiting), all, or a status"),
    limit: int = typer.Option(200, min=1, max=10_000),
) -> None:
    """The insurer's requests, newest first."""
    from claimwatch.servicedesk import repository, service

    if status not in ("open", "all", *service.STATUSES):
        raise fail(f"status must be open, all or one of {', '.join(service.STATUSES)}")
    tenant_id = tenant_id_of(tenant)
    statuses = service.OPEN_STATUSES if status == "open" else () if status == "all" else (status,)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        total, rows = repository.listing(session, repository.Filters(statuses=statuses), size=limit)
        handlers = repository.usernames(session, [row.handler_id for row in rows])
        lines = [
            (
                r.number,
                r.received_at.isoformat(timespec="minutes"),
                r.channel,
                r.category,
                r.priority,
                r.status,
                r.team or "",
                handlers.get(r.handler_id or 0, ""),
                "peak" if r.peak_period_id else "",
                r.subject,
            )
            for r in rows
        ]
    table = Table("number", "received", "channel", "category", "priority", "status", "team", "handler", "", "subject")
    for line in lines:
        table.add_row(*line)
    console.print(table)
    console.print(f"{total} requests")
