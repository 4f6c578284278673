"""`claimwatch supervision …`: load a rating methodology version, compute a rating run from the KPI snapshot,
approve or withdraw a run; the monthly whitelist (``whitelist``, :mod:`claimwatch.supervision.whitelist_cli`).

The commands act as the regulator (the audit trail names ``cli:…``) in a session that may write across insurers.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import fail
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Problem
from claimwatch.supervision import whitelist_cli

app = typer.Typer(
    help="Supervision (监管): service rating methodology, runs, approval; whitelist", no_args_is_help=True
)
methodology_app = typer.Typer(help="Rating methodology versions", no_args_is_help=True)
app.add_typer(methodology_app, name="methodology")
app.command("whitelist")(whitelist_cli.whitelist)  # h6's monthly whitelist
console = Console(soft_wrap=True)


def regulator(source: str) -> Principal:
    """Who the audit trail names for a command-line run of the rating."""
    return Principal(role=Role.REGULATOR, tenant_id=None, actor=f"cli:{source}"[:100])


@methodology_app.command("load")
def load_methodology(
    file: Path = typer.Argument(..., help="a methodology YAML (see defaults/supervision/methodology.yaml)"),
    check: bool = typer.Option(False, "--check", help="only validate (file:line errors), store nothing"),
) -> None:
    """Validate a methodology and store it as the next version (active at once; audited for every insurer)."""
    from claimwatch.supervision import methodology

    if not file.is_file():
        raise fail(f"cannot read {file}: no such file")
    text = file.read_text(encoding="utf-8")
    try:
        if check:
            parsed = methodology.parse(text, str(file))
            console.print(f"[green]ok[/green] {parsed.code}: {len(parsed.indicators)} indicators, weights sum to 100")
            return
        with unit_of_work(TenantContext.system_context()) as session:
            row = methodology.add_version(session, regulator(f"methodology load {file.name}"), text, str(file))
            code, version, sha = row.code, row.version, row.sha256
    except methodology.MethodologyError as exc:
        raise fail(str(exc)) from exc
    except Problem as exc:
        raise fail(exc.message) from exc
    console.print(f"{code} v{version} active (sha256 {sha[:12]}…)")


@app.command("rate")
def rate(
    period: str = typer.Option(..., "--period", help='a quarter ("2026-Q3") or a year ("2026")'),
    level: str = typer.Option("insurer", "--level", help="insurer | branch"),
) -> None:
    """Compute a draft rating run from the KPI snapshot and print its ranking."""
    from claimwatch.supervision import rating
    from claimwatch.supervision.models import RatingResult
    from claimwatch.tenancy.models import Tenant

    try:
        with unit_of_work(TenantContext.system_context()) as session:
            run = rating.compute_run(session, regulator(f"supervision rate {period}"), period, level)
            run_id, label, note = run.id, run.period, run.note
            codes = {t.id: t.code for t in session.query(Tenant)}
            lines = [
                f"{r.rank:>4}  {codes.get(r.tenant_id, r.tenant_id):<10} {r.region_code or '':<7} "
                f"{r.score:>7}  {r.grade:<4} (−{r.deduction_points})"
                for r in session.query(RatingResult).filter(RatingResult.run_id == run.id).order_by(RatingResult.rank)
            ]
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    for line in lines:
        console.print(line, markup=False)
    if note:
        console.print(note, markup=False)
    console.print(
        f"run {run_id} ({label}, {level}): draft with {len(lines)} results; "
        f"approve: claimwatch supervision approve {run_id}"
    )


@app.command("approve")
def approve(run: int = typer.Argument(..., help="the run's id")) -> None:
    """Approve (publish) a draft run: insurers see their results and may object until the deadline."""
    from claimwatch.supervision import service

    try:
        with unit_of_work(TenantContext.system_context()) as session:
            found = service.approve(session, regulator(f"supervision approve {run}"), run)
            until = found.objections_until
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"run {run} approved; objections until {until}")


@app.command("withdraw")
def withdraw(
    run: int = typer.Argument(..., help="the run's id"),
    note: str = typer.Option(..., "--note", help="why"),
) -> None:
    """Withdraw a draft or approved run."""
    from claimwatch.supervision import service

    try:
        with unit_of_work(TenantContext.system_context()) as session:
            service.withdraw(session, regulator(f"supervision withdraw {run}"), run, note)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"run {run} withdrawn")
