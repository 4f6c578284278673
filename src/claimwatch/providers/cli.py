"""`claimwatch providers …`: import providers or contracts from CSV (all or nothing), issue a provider's API key,
compute a month's scorecards and flags (``scorecards``, :mod:`claimwatch.providers.scorecard_jobs`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from claimwatch.auth.cli import operator, tenant_id_of
from claimwatch.cli_output import DryRunOption, ImportFile, RejectsOption, fail
from claimwatch.complaints.import_command import run_csv_import
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.providers import scorecard_jobs

app = typer.Typer(help="Third parties (第三方机构): register import, provider keys, scorecards", no_args_is_help=True)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
app.command("scorecards")(scorecard_jobs.scorecards_command)  # h4's monthly scorecards and flags


@app.command("import")
def import_file(
    what: Annotated[str, typer.Argument(help="providers | contracts")],
    file: ImportFile,
    tenant: str = typer.Option(..., help="the insurer's code"),
    rejects: RejectsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import providers, or contracts (one row per contract × task kind), all or nothing."""
    from claimwatch.providers import importer

    if what not in importer.WHAT:
        raise fail(f"import providers or contracts, not {what!r}")
    result = run_csv_import(
        file,
        tenant,
        rejects,
        lambda session, principal, data: importer.import_csv(session, principal, what, data, dry_run=dry_run),
    )
    verb = "would import" if dry_run else "imported"
    console.print(f"{result.rows} rows: {verb} {result.created} {what}, already recorded {result.existing}")


@app.command("key")
def issue_key(
    code: str = typer.Argument(..., help="the provider's code"),
    tenant: str = typer.Option(..., help="the insurer's code"),
    name: str = typer.Option(None, help="the key's name (default provider:CODE)"),
) -> None:
    """A new API key for the provider (its own tasks only). Printed once: it is never stored."""
    from claimwatch.errors import Problem
    from claimwatch.providers import service

    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            key = service.issue_key(session, operator(tenant_id, "providers key"), code, name)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(key, markup=False)
    err.print("shown once: keep it (only its hash is stored)")
