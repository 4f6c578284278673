"""`claimwatch people …`: import staff and licences from CSV (all or nothing), list the register, list the
licences expiring soon, and run the licence warnings now. Training (h2) and appraisal (h3) add their commands
to :data:`app` (see the lines at the end)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.cli import operator, tenant_id_of
from claimwatch.cli_output import DryRunOption, ImportFile, RejectsOption, fail
from claimwatch.complaints.import_command import run_csv_import
from claimwatch.db import TenantContext, unit_of_work

app = typer.Typer(help="The people who do the work: staff, agents, licences, training, appraisal", no_args_is_help=True)
console = Console(soft_wrap=True)


@app.command("import-staff")
def import_staff(
    file: ImportFile,
    tenant: str = typer.Option(..., help="the insurer's code"),
    rejects: RejectsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import staff and agents with their licences (one row per person or per person × licence), all or
    nothing."""
    from claimwatch.people import staff_import

    result = run_csv_import(
        file,
        tenant,
        rejects,
        lambda session, principal, data: staff_import.import_csv(session, principal, data, dry_run=dry_run),
    )
    verb = "would import" if dry_run else "imported"
    console.print(f"{result.rows} rows: {verb} {result.created} people, already recorded {result.existing}")


@app.command("staff")
def list_staff(
    tenant: str = typer.Option(..., help="the insurer's code"),
    kind: str = typer.Option(None, help="employee | agent"),
    status: str = typer.Option(None, help="active | left"),
    licence: str = typer.Option(None, help="valid | expiring | expired | none"),
    org: str = typer.Option(None, help="an org unit's code (it and the units below)"),
) -> None:
    """The staff register with each person's licence state today."""
    from claimwatch.errors import Problem
    from claimwatch.people import page_queries

    tenant_id = tenant_id_of(tenant)
    params = {"kind": kind, "status": status, "licence": licence, "org": org}
    try:
        query = page_queries.ListFilter.of({k: v for k, v in params.items() if v})
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            rows = page_queries.staff_rows(session, operator(tenant_id, "people staff"), query, "zh")
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    table = Table("code", "name", "kind", "job title", "org unit", "status", "licence")
    for r in rows:
        table.add_row(
            r["code"], r["name"], r["kind"], r["job_title"] or "", r["org_unit"] or "", r["status"], r["licence_state"]
        )
    console.print(table)
    console.print(f"{len(rows)} people")


@app.command("licences")
def list_licences(
    tenant: str = typer.Option(..., help="the insurer's code"),
    expiring: int = typer.Option(30, min=1, max=366, help="days ahead (and back, for those just expired)"),
) -> None:
    """Licences ending within N days, after those that ended in the last N days without a renewal."""
    from claimwatch.people import page_queries

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        rows = page_queries.expiring(session, operator(tenant_id, "people licences"), expiring, "zh")
    table = Table("staff", "name", "kind", "number", "expires on", "days", "state")
    for r in rows:
        table.add_row(
            r["staff_code"], r["staff_name"], r["kind"], r["number"], r["expires_on"].isoformat(),
            str(r["days_left"]), r["state"],
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(rows)} licences")


@app.command("warn-licences")
def warn_licences() -> None:
    """Warn now of the licences ending within 30 days (each once), as the worker does daily."""
    from claimwatch.people import jobs

    result = jobs.run_licence_warnings()
    console.print(f"warned {len(result.warned)} licences ({result.notices} notices); expired {len(result.expired)}")


from claimwatch.people import appraisal_jobs as _appraisal_jobs  # noqa: E402 - h3: the appraisal commands

app.command("appraise")(_appraisal_jobs.appraise_command)
app.command("appraisal-scheme")(_appraisal_jobs.scheme_command)

from claimwatch.people import training_cli as _training_cli  # noqa: E402 - h2: the training commands

app.add_typer(_training_cli.app, name="training")
