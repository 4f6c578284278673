"""`claimwatch people training …`: import attendance from CSV (all or nothing, with a reject report) and print
the coverage by org with the people still missing a mandatory course. ``people/cli.py`` mounts this ``app``."""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.console import Console

from claimwatch.auth.cli import operator, tenant_id_of
from claimwatch.cli_output import DryRunOption, ImportFile, RejectsOption, fail
from claimwatch.complaints.import_command import run_csv_import
from claimwatch.db import TenantContext, unit_of_work

app = typer.Typer(help="Training: attendance import, coverage by org", no_args_is_help=True)
console = Console(soft_wrap=True)


@app.command("import")
def import_file(
    file: ImportFile,
    tenant: str = typer.Option(..., help="the insurer's code"),
    rejects: RejectsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import attendance (session or course + held_on, staff, hours, passed, score), all or nothing."""
    from claimwatch.people import training_import

    result = run_csv_import(
        file,
        tenant,
        rejects,
        lambda session, principal, data: training_import.import_csv(session, principal, data, dry_run=dry_run),
    )
    verb = "would import" if dry_run else "imported"
    console.print(f"{result.rows} rows: {verb} {result.created} attendances")


@app.command("coverage")
def coverage(
    tenant: str = typer.Option(..., help="the insurer's code"),
    on: str = typer.Option(None, help="the day judged (YYYY-MM-DD; default today, local)"),
    as_json: bool = typer.Option(False, "--json", help="the whole view as JSON"),
) -> None:
    """Coverage by org (each unit with everything below it), then the people missing a mandatory course."""
    from claimwatch.people import training, training_queries

    tenant_id = tenant_id_of(tenant)
    try:
        day = dt.date.fromisoformat(on) if on else None
    except ValueError as exc:
        raise fail(f"--on: a date YYYY-MM-DD, not {on!r}") from exc
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        judged = day or training.today(session, tenant_id)
        view = training_queries.coverage_view(session, operator(tenant_id, "training coverage"), judged, "en")
    if as_json:
        console.print_json(json.dumps(view, ensure_ascii=False))
        return
    target = view["rules"]["coverage_target"]
    console.print(f"training coverage on {view['on']} (target {target:g}%)", markup=False)
    for row in [*view["orgs"], view["total"]]:
        shown = "—" if row["coverage"] is None else f"{row['coverage']:g}%"
        flag = "  BELOW TARGET" if row["below_target"] else ""
        name = ("  " * row["depth"]) + row["name"]
        console.print(f"{name:<30} {row['complete']:>4}/{row['required']:<4} {shown:>7}{flag}", markup=False)
    if view["missing"]:
        console.print("missing a mandatory course:", markup=False)
    for m in view["missing"]:
        console.print(f"  {m['staff']} {m['name']}: {m['title']} due {m['due_on']} ({m['state']})", markup=False)
