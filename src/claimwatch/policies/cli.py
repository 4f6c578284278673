"""`claimwatch policies …`: sales (import a CSV all or nothing, list the flags, evaluate a month's cooling-off
rate). Underwriting and revisits add their own sub-apps here (``app.add_typer``)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.cli import tenant_id_of
from claimwatch.cli_output import DryRunOption, ImportFile, RejectsOption, fail
from claimwatch.complaints.import_command import run_csv_import
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.policies import revisit_cli, underwriting_cli

app = typer.Typer(help="Sales and underwriting quality (销售品质, 核保, 回访)", no_args_is_help=True)
sales_app = typer.Typer(help="Policies sold: import, flags, cooling-off", no_args_is_help=True)
app.add_typer(sales_app, name="sales")
app.add_typer(revisit_cli.app, name="revisits")  # h6
app.add_typer(underwriting_cli.app, name="underwriting")  # h5
console = Console(soft_wrap=True)


@sales_app.command("import")
def import_sales(
    file: ImportFile,
    tenant: str = typer.Option(..., help="the insurer's code"),
    rejects: RejectsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import sales, all or nothing: each sale's rules are evaluated (flags) as it is recorded."""
    from claimwatch.policies import sales_import

    result, flagged = run_csv_import(
        file,
        tenant,
        rejects,
        lambda session, principal, data: sales_import.import_csv(session, principal, data, dry_run=dry_run),
    )
    verb = "would import" if dry_run else "imported"
    console.print(
        f"{result.rows} rows: {verb} {result.created} sales ({flagged} flagged), already recorded {result.existing}"
    )


@sales_app.command("flags")
def list_flags(
    tenant: str = typer.Option(..., help="the insurer's code"),
    status: str = typer.Option("open", help="open | cleared | confirmed"),
) -> None:
    """The sales flags (open ones by default), oldest first."""
    from claimwatch.errors import Problem
    from claimwatch.policies import sales_queries

    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            rows = sales_queries.flag_rows(session, tenant_id, "en", status)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    table = Table("id", "rule", "sale / month", "agent", "status", "raised")
    for row in rows:
        table.add_row(
            str(row["id"]), row["rule"], row["policy_number"] or row["period"], row["agent"] or "", row["status"],
            row["raised_at"].isoformat(timespec="minutes"),
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(rows)} {status} flags")


@sales_app.command("cooling-off")
def cooling_off(
    tenant: str = typer.Option(None, help="the insurer's code (default: every insurer)"),
    month: str = typer.Option(None, help="the month (2026-11; default: the previous two months)"),
) -> None:
    """Flag the agents whose month's cooling-off cancellation share is above the rule's threshold."""
    from claimwatch.errors import Problem
    from claimwatch.policies import sales_jobs

    try:
        raised = sales_jobs.run_monthly(month=month, tenant_code=tenant)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    for code, count in raised.items():
        console.print(f"{code}: {count} flags raised")
