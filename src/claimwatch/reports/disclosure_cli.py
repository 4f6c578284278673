"""`claimwatch reports disclosure`: publish (``--publish``) and export an insurer's quarterly service-quality
disclosure as a static folder: index.html (CSS inline, no script) and a CSV.

    claimwatch reports disclosure --tenant PICC --quarter 2026Q3 --out site/ --publish
    claimwatch reports disclosure --tenant PICC --quarter 2026Q3 --out site/ --locale en

Without ``--publish`` the latest published version is exported (none yet: an error saying so). Errors are one
line on stderr (unknown tenant, malformed or unfinished quarter, stale snapshot), exit 1; nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import typer

from claimwatch.cli_output import NowOption, fail, parse_now
from claimwatch.db import TenantContext, unit_of_work


def disclosure_command(
    tenant: str = typer.Option(..., help="the insurer's code"),
    quarter: str = typer.Option(..., help="a finished quarter: 2026Q3 or 2026-Q3"),
    out: Path = typer.Option(..., help="the folder to write index.html and the CSV into"),
    publish: bool = typer.Option(False, "--publish", help="publish a new version from the KPI snapshot first"),
    locale: str = typer.Option("zh", help="zh or en"),
    now: NowOption = None,
) -> None:
    """Publish (with --publish) and export the quarter's public disclosure as static files."""
    from claimwatch.errors import Problem
    from claimwatch.reports import disclosure
    from claimwatch.tenancy import repository as tenancy_repository

    if locale not in ("zh", "en"):
        raise fail(f"--locale {locale!r}: zh or en")
    at = parse_now(now)
    try:
        period = disclosure.parse_quarter(quarter)
    except Problem as exc:
        raise fail(f"--quarter: {exc.message}") from exc
    with unit_of_work(TenantContext.system_reader()) as session:
        found = tenancy_repository.tenant_by_code(session, tenant)
        if found is None:
            raise fail(f"unknown tenant {tenant!r}")
        tenant_id, code = found.id, found.code
    if publish:
        try:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                row = disclosure.publish(
                    session, "cli:reports disclosure", tenant_id=tenant_id, quarter=period.label, at=at
                )
                typer.echo(f"published {code} {row.quarter} version {row.version}: {row.present}/{row.required}")
        except Problem as exc:
            raise fail(f"--{exc.field}: {exc.message}") from exc
    try:
        with unit_of_work(TenantContext.regulator_of(tenant_id)) as session:
            written = disclosure.export(session, code, period.label, out, locale)
    except Problem as exc:
        hint = "" if publish else " (publish it first: --publish)"
        raise fail(f"{exc.message}{hint}") from exc
    for path in written:
        typer.echo(str(path))
