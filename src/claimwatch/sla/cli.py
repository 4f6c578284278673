"""`claimwatch sla …`: check policies, sweep once, export regulator filings."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.cli_output import NowOption, fail, parse_now
from claimwatch.db import TenantContext, unit_of_work

app = typer.Typer(help="SLA clocks, escalations and regulator filings", no_args_is_help=True)
console = Console(soft_wrap=True)


@app.command("check")
def check(
    paths: list[Path] = typer.Argument(None, help="policy YAML files; default: the configured directory"),
    overrides: Path = typer.Option(None, help="a tenant override file to check against the defaults"),
) -> None:
    """Validate policy files (and an override file); exits 1 naming the file and line of the first problem."""
    from claimwatch.sla.loader import PolicyError, base_policies, parse_overrides, parse_policies

    try:
        if paths:
            policies = {p.code: p for path in paths for p in parse_policies(path.read_text("utf-8"), str(path))}
        else:
            policies = base_policies()
        if overrides is not None:
            policies = parse_overrides(overrides.read_text("utf-8"), str(overrides), policies)
    except (PolicyError, OSError) as exc:
        raise fail(str(exc)) from exc
    table = Table("policy", "unit", "yellow", "red", "tier (CNY)", "source")
    for policy in policies.values():
        low = policy.amount_at_least_fen
        high = policy.amount_below_fen
        upper = "" if high is None else f"{high / 100:g}"
        tier = "" if low is None and high is None else f"{(low or 0) / 100:g} – {upper}"
        table.add_row(policy.code, policy.unit.value, f"{policy.yellow:g}", f"{policy.red:g}", tier, policy.source)
    console.print(table)


@app.command("sweep")
def sweep_once(now: NowOption = None) -> None:
    """One sweep over every tenant's due clocks: lights, escalations, regulator filings."""
    from claimwatch.sla import jobs

    result = jobs.sweep(now=parse_now(now))
    console.print(f"checked {result.checked} clocks: {result.yellow} yellow, {result.red} red escalations")


@app.command("filings")
def filings(
    format: str = typer.Option("csv", help="csv or json"),
    tenant: str = typer.Option(None, help="insurer code; default: every insurer"),
    out: Path = typer.Option(None, help="file to write; default: standard output"),
) -> None:
    """Export regulator filings (监管报备) of red clocks."""
    from claimwatch.sla import queries
    from claimwatch.tenancy import repository as tenancy_repository

    if format not in ("csv", "json"):
        raise fail(f"--format {format!r}: choose csv or json")
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_id = None
        if tenant is not None:
            found = tenancy_repository.tenant_by_code(session, tenant)
            if found is None:
                raise fail(f"unknown tenant {tenant!r}")
            tenant_id = found.id
        text = queries.export_filings(queries.filings_view(session, "zh", tenant_id), format)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"written to {out}")
