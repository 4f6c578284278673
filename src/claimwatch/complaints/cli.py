"""`claimwatch complaints …`: import a CSV (all or nothing), sweep the deadlines once, set monthly volumes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from claimwatch.auth.cli import operator, tenant_id_of
from claimwatch.cli_output import DryRunOption, ImportFile, NowOption, RejectsOption, fail, import_refused, parse_now
from claimwatch.db import TenantContext, unit_of_work

app = typer.Typer(help="Complaints (投诉): import, deadline sweep, volumes", no_args_is_help=True)
volumes_app = typer.Typer(help="Policies in force and premium per month (complaint rates)", no_args_is_help=True)
app.add_typer(volumes_app, name="volumes")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@app.command("import")
def import_file(
    file: ImportFile,
    tenant: str = typer.Option(..., help="the insurer's code"),
    rejects: RejectsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import complaints, all or nothing: any bad row and nothing is recorded; the report names each row."""
    from claimwatch.complaints import importer

    if not file.is_file():
        raise fail(f"cannot read {file}: no such file")
    tenant_id = tenant_id_of(tenant)
    try:
        text = importer.decode(file.read_bytes())
        total = importer.count_rows(text)
        with (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
            ) as bar,
            unit_of_work(TenantContext.for_tenant(tenant_id)) as session,
        ):
            task = bar.add_task(f"import {escape(file.name)}", total=total)
            result = importer.import_csv(
                session,
                operator(tenant_id, f"import {file.name}"),
                text,
                dry_run=dry_run,
                progress=lambda done, _total: bar.update(task, completed=done),
            )
    except importer.ImportRejected as exc:
        raise import_refused(exc.result.rejects, file, rejects, importer.write_reject_report) from exc
    if rejects is not None:
        importer.write_reject_report(rejects, [])
    verb = "would import" if dry_run else "imported"
    console.print(f"{result.rows} rows: {verb} {result.created}, already recorded {result.existing}")


@app.command("sweep")
def sweep_once(now: NowOption = None) -> None:
    """One pass over every insurer's due complaint deadlines: lights, staff notices, lapsed review windows."""
    from claimwatch.complaints import jobs

    result = jobs.sweep(now=parse_now(now))
    console.print(
        f"checked {result.checked} complaint clocks: {result.yellow} yellow, {result.red} red, "
        f"{result.closed} closed after the review window"
    )


@volumes_app.command("set")
def volumes_set(
    tenant: str = typer.Option(..., help="the insurer's code"),
    period: str = typer.Option(..., help="the month, YYYY-MM"),
    policies: int = typer.Option(None, min=0, help="policies in force"),
    premium: str = typer.Option(None, help="premium in CNY, e.g. 123456789.00"),
    org: str = typer.Option(None, help="an org unit code; default: the whole insurer"),
) -> None:
    """Record a month's volumes, so complaint rates per 10 000 policies and per 100 M CNY can be computed."""
    from pydantic import ValidationError

    from claimwatch.complaints import schemas
    from claimwatch.complaints import service as complaints_service
    from claimwatch.errors import Problem

    amount = None
    if premium is not None:
        try:
            amount = Decimal(premium)
        except InvalidOperation as exc:
            raise fail(f"--premium {premium!r} is not an amount of CNY") from exc
    try:
        data = schemas.VolumeIn(period=period, org_code=org, policies_in_force=policies, premium=amount)
    except ValidationError as exc:
        first = exc.errors()[0]
        field, message = ".".join(str(part) for part in first["loc"]), first["msg"]
        raise fail(f"--{field.replace('_in_force', '').replace('_', '-')}: {message}") from exc
    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            row = complaints_service.set_volume(session, operator(tenant_id, "volumes"), data)
            shown = (row.period, row.policies_in_force, row.premium_fen)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    premium_text = f"{Decimal(shown[2]) / 100:,.2f} CNY" if shown[2] is not None else "—"
    console.print(f"{tenant} {shown[0]}: policies {shown[1] if shown[1] is not None else '—'}, premium {premium_text}")
