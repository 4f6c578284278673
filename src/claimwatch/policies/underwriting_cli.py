"""`claimwatch policies underwriting …`: load a version of the rules, import applications from CSV (all or
nothing, with a reject report), list the queue, run the turnaround sweep once."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.cli import operator, tenant_id_of
from claimwatch.cli_output import DryRunOption, ImportFile, RejectsOption, fail
from claimwatch.complaints.import_command import run_csv_import
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Problem

app = typer.Typer(help="Underwriting (核保): rules, applications, queue", no_args_is_help=True)
console = Console(soft_wrap=True)


@app.command("load-rules")
def load_rules(
    file: Path = typer.Argument(None, help="a rules YAML file (default: the insurer's own, else the bundled one)"),
    tenant: str = typer.Option(..., help="the insurer's code"),
) -> None:
    """Put a new version of the underwriting rules in force (audited with the YAML)."""
    from claimwatch.policies import underwriting

    tenant_id = tenant_id_of(tenant)
    text = None
    if file is not None:
        if not file.is_file():
            raise fail(f"cannot read {file}: no such file")
        text = file.read_text(encoding="utf-8")
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            row = underwriting.load_rules(
                session, operator(tenant_id, "underwriting load-rules"), text, file.name if file else None
            )
            version, digest = row.version, row.digest
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"underwriting rules {version} in force (sha256 {digest[:12]})", markup=False)


@app.command("import")
def import_file(
    file: ImportFile,
    tenant: str = typer.Option(..., help="the insurer's code"),
    rejects: RejectsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import applications, all or nothing; each is assessed at once."""
    from claimwatch.policies import underwriting_import

    result = run_csv_import(
        file,
        tenant,
        rejects,
        lambda session, principal, data: underwriting_import.import_csv(session, principal, data, dry_run=dry_run),
    )
    verb = "would import" if dry_run else "imported"
    console.print(f"{result.rows} rows: {verb} {result.created} applications, already recorded {result.existing}")


@app.command("queue")
def queue(
    tenant: str = typer.Option(..., help="the insurer's code"),
    status: str = typer.Option("open", help="open, a status, or all"),
) -> None:
    """The applications by nearest turnaround deadline."""
    from claimwatch.policies import underwriting_queries

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        total, rows = underwriting_queries.queue(session, status=status, limit=200)
    table = Table("application", "product", "status", "level", "points", "proposed", "outcome", "reviewer", "due")
    for row in rows:
        due = row["due_at"].isoformat(timespec="minutes") if row["due_at"] else ""
        table.add_row(
            row["application_number"],
            row["product_code"],
            row["status"],
            row["risk_level"] or "",
            f"{row['risk_points']:g}" if row["risk_points"] is not None else "",
            row["proposed_outcome"] or "",
            row["outcome"] or "",
            row["reviewer"] or "",
            due,
        )
    console.print(table)
    console.print(f"{total} applications")


@app.command("sweep")
def sweep() -> None:
    """Run the turnaround sweep once (the worker does it every round)."""
    from claimwatch.policies import underwriting_jobs

    result = underwriting_jobs.run_clocks()
    console.print(f"checked {result.checked}: {result.yellow} reminded, {result.red} overdue")
