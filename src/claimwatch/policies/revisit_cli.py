"""``claimwatch policies revisits …``: the worker's pass by hand (schedule missing revisits, mark overdue ones)
and the queue of one insurer."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.cli_output import NowOption, fail, parse_now
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.policies import revisit_jobs, revisit_queries
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone

app = typer.Typer(help="Post-issue revisits (新契约回访) of long-term life and health policies.", no_args_is_help=True)


def _tenant_id(code: str) -> int:
    with unit_of_work(TenantContext.system_context()) as session:
        tenant = next((t for t in tenancy_repository.all_tenants(session) if t.code == code), None)
        if tenant is None:
            raise fail(f"no tenant {code!r}")
        return tenant.id


@app.command("run")
def run_command(
    tenant: str = typer.Option(None, help="one insurer's code (default: every insurer)"),
    now: NowOption = None,
) -> None:
    """Schedule the revisits of long-term sales that have none, and mark revisits past their due day overdue."""
    try:
        result = revisit_jobs.run(tenant_code=tenant, now=parse_now(now))
    except LookupError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"scheduled {sum(result.scheduled.values())}, overdue {sum(result.overdue.values())}")


@app.command("list")
def list_command(
    tenant: str = typer.Option(..., help="the insurer's code"),
    status: str = typer.Option("open", help="open | due | in_progress | overdue | done | all"),
    locale: str = typer.Option("zh", help="zh | en"),
) -> None:
    """The revisit queue, due first."""
    tenant_id = _tenant_id(tenant)
    if status not in revisit_queries.STATUS_FILTERS:
        raise fail(f"status is one of {', '.join(revisit_queries.STATUS_FILTERS)}")
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        today = revisit_queries.today_in(tenant_zone(session, tenant_id), parse_now(None))
        flt = revisit_queries.QueueFilter(status=status)
        total, rows = revisit_queries.queue(session, flt, locale, today, 1, revisit_queries.EXPORT_LIMIT)
    table = Table("policy", "agent", "channel", "due", "status", "attempts", "outcome", "finding")
    for r in rows:
        table.add_row(
            r["policy_number"], r["agent_code"] or "", r["channel"], r["due_on"].isoformat(), r["status"],
            str(r["attempts"]), r["outcome"] or "", r["finding_number"] or "",
        )  # fmt: skip
    console = Console(soft_wrap=True)
    console.print(table)
    console.print(f"{total} revisits")
