"""`claimwatch reports …`: build a quality report for a month or quarter (an insurer's, or the regulator's
cross-insurer edition), a special report for one alert, inspection plan or action; list the stored versions.

    claimwatch reports build --tenant PICC --period 2026-11
    claimwatch reports build --tenant PICC --period 2026Q4 --locale en
    claimwatch reports build --tenant PICC --special alert:12
    claimwatch reports build --regulator --period 2026-11
    claimwatch reports list [--tenant PICC | --regulator] [--period 2026-11]

Errors are one line on stderr (unknown tenant, bad period, …), exit 1; nothing is stored then.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.cli_output import NowOption, fail, parse_now
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.reports.disclosure_cli import disclosure_command

app = typer.Typer(
    help="Quality reports (品质管理报告) and special reports (专项报告): HTML and PDF", no_args_is_help=True
)
console = Console(soft_wrap=True)

SPECIAL_PREFIXES = {"alert": "special_alert", "plan": "special_plan", "action": "special_action"}


def _tenant_id(code: str) -> int:
    from claimwatch.tenancy import repository as tenancy_repository

    with unit_of_work(TenantContext.system_reader()) as session:
        tenant = tenancy_repository.tenant_by_code(session, code)
        if tenant is None:
            raise fail(f"unknown tenant {code!r}")
        return tenant.id


def _special(value: str) -> tuple[str, int]:
    prefix, _, number = value.partition(":")
    if prefix not in SPECIAL_PREFIXES or not number.isdigit() or not 0 < int(number) < 2**63:
        raise fail(f"--special {value!r}: alert:<id>, plan:<id> or action:<id>")
    return SPECIAL_PREFIXES[prefix], int(number)


@app.command("build")
def build(
    tenant: str = typer.Option(None, help="the insurer's code (not with --regulator)"),
    period: str = typer.Option(None, help="a month (2026-11) or a quarter (2026Q4, 2026-Q4), ended"),
    special: str = typer.Option(None, help="a special report: alert:<id>, plan:<id> or action:<id>"),
    regulator: bool = typer.Option(False, "--regulator", help="the cross-insurer edition (every insurer)"),
    locale: str = typer.Option("zh", help="zh or en"),
    now: NowOption = None,
) -> None:
    """Build the next version of a report and store its HTML and PDF (SHA-256 in the audit chain)."""
    from claimwatch.errors import Problem
    from claimwatch.reports import periods, service

    if regulator == bool(tenant):
        raise fail("name the insurer (--tenant CODE) or ask for the cross-insurer edition (--regulator)")
    if regulator and special:
        raise fail("--special: a special report is an insurer's, not the cross-insurer edition")
    if special and period:
        raise fail("--period: a special report has no period (--special alone)")
    if locale not in ("zh", "en"):
        raise fail(f"--locale {locale!r}: zh or en")
    kind, subject_id = _special(special) if special else ("quality", None)
    if kind == "quality" and not period:
        raise fail("--period: a month (2026-11) or a quarter (2026Q4)")
    try:
        parsed = periods.parse(period) if period else None
    except Problem as exc:
        raise fail(f"--period: {exc.message}") from exc
    tenant_id = None if regulator else _tenant_id(tenant)
    at = parse_now(now)
    actor = "cli:reports build"
    context = TenantContext.system_context() if tenant_id is None else TenantContext.for_tenant(tenant_id)
    try:
        # Rendered in a read-only transaction, stored in a short one: SQLite writers do not wait for the PDF.
        reading = TenantContext.system_reader() if tenant_id is None else TenantContext.regulator_of(tenant_id)
        with unit_of_work(reading) as session:
            composed = service.compose(
                session,
                actor,
                tenant_id=tenant_id,
                kind=kind,
                period=parsed,
                subject_id=subject_id,
                locale=locale,
                at=at,
            )
        with unit_of_work(context) as session:
            report = service.store(session, composed)
            summary = _summary(report)
    except Problem as exc:
        raise fail(f"--{exc.field.replace('_', '-')}: {exc.message}") from exc
    console.print(summary, markup=False)
    if report.status != "built":
        raise typer.Exit(1)


def _summary(report: object) -> str:
    from claimwatch.reports.models import Report

    assert isinstance(report, Report)
    seconds = report.section_seconds or {}
    slowest = ", ".join(f"{k} {v:.2f}s" for k, v in sorted(seconds.items(), key=lambda kv: -kv[1])[:4])
    line = (
        f"report {report.id}: {report.title} v{report.version} [{report.status}] in {report.total_seconds or 0:.1f} s"
        f" ({slowest})\n  html {report.html_path} sha256 {report.html_sha256}\n"
        f"  pdf  {report.pdf_path} sha256 {report.pdf_sha256}"
    )
    if report.error:
        line += f"\n  error: {report.error}"
    return line


@app.command("list")
def list_reports(
    tenant: str = typer.Option(None, help="only this insurer's reports"),
    regulator: bool = typer.Option(False, "--regulator", help="only the cross-insurer edition"),
    period: str = typer.Option(None, help="only this month or quarter"),
) -> None:
    """The stored report versions, newest first."""
    from claimwatch.errors import Problem
    from claimwatch.reports import periods, repository

    try:
        label = periods.parse(period).label if period else None
    except Problem as exc:
        raise fail(f"--period: {exc.message}") from exc
    tenant_id = _tenant_id(tenant) if tenant else None
    with unit_of_work(TenantContext.system_reader()) as session:
        rows = repository.listing(session, regulator_edition=regulator, tenant_id=tenant_id, period=label)
        table = Table("id", "title", "kind", "period", "version", "status", "built (UTC)", "pdf bytes")
        for row in rows:
            table.add_row(
                str(row.id),
                row.title,
                row.kind,
                row.period or f"#{row.subject_id}",
                str(row.version),
                row.status,
                f"{row.built_at:%Y-%m-%d %H:%M}",
                str(row.pdf_bytes or ""),
            )
    console.print(table)


# The public disclosure's static export (信息披露): `claimwatch reports disclosure --tenant PICC --quarter 2026Q3`.
app.command("disclosure")(disclosure_command)
