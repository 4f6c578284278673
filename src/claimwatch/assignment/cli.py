"""`claimwatch assignment …`: handler profiles and leave, the tenant's mode, load, the rules, worker passes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.cli import tenant_id_of
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import fail
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Problem

app = typer.Typer(help="Assignment (分派): handler profiles, leave, mode, load, rules", no_args_is_help=True)
console = Console(soft_wrap=True)


def _operator(tenant_id: int) -> Principal:
    """Who the audit trail names for a command-line run."""
    return Principal(role=Role.ADMIN, tenant_id=tenant_id, actor="cli:assignment")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@app.command("profile")
def profile(
    username: str = typer.Argument(..., help="the handler's user name"),
    tenant: str = typer.Option(..., help="the insurer's code"),
    lines: str = typer.Option("", help="lines of business, comma-separated; empty: all"),
    claim_types: str = typer.Option("", "--claim-types", help="claim types, comma-separated; empty: all"),
    authority: str = typer.Option("", help="amount authority (权限) in CNY; empty: no limit"),
    org: str = typer.Option("", help="org unit code whose subtree the handler covers"),
    regions: str = typer.Option("", help="region codes, comma-separated"),
    capacity: int = typer.Option(20, help="open cases at most"),
    claims: bool = typer.Option(True, "--claims/--no-claims", help="takes claims"),
    complaints: bool = typer.Option(False, "--complaints/--no-complaints", help="takes complaints"),
    active: bool = typer.Option(True, "--active/--inactive", help="takes new work at all"),
    green_channel: bool = typer.Option(
        False, "--green-channel/--no-green-channel", help="takes green-channel claims first (人工辅助)"
    ),
) -> None:
    """Create or change a handler's profile (audited)."""
    from claimwatch.assignment import service

    try:
        amount = Decimal(authority) if authority.strip() else None
    except InvalidOperation as exc:
        raise fail(f"authority {authority!r} is not an amount of CNY") from exc
    tenant_id = tenant_id_of(tenant)
    change = service.ProfileChange(
        username,
        _split(lines),
        _split(claim_types),
        amount,
        org or None,
        _split(regions),
        capacity,
        claims,
        complaints,
        active,
        green_channel,
    )
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            service.save_profile(session, _operator(tenant_id), change)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"profile of {username} saved")


@app.command("leave")
def leave(
    username: str = typer.Argument(...),
    tenant: str = typer.Option(..., help="the insurer's code"),
    start: dt.datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"], help="first day of leave (local)"),
    end: dt.datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"], help="last day of leave (local)"),
    note: str = typer.Option("", help="e.g. 年假"),
) -> None:
    """Record a leave period: no new work for the handler on those days (audited)."""
    from claimwatch.assignment import service

    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            found = service.add_leave(session, _operator(tenant_id), username, start.date(), end.date(), note)
            leave_id = found.id
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"leave {leave_id} of {username}: {start.date()} – {end.date()}")


@app.command("mode")
def mode(
    value: str = typer.Argument(..., help="monitor | active"),
    tenant: str = typer.Option(..., help="the insurer's code"),
) -> None:
    """Switch the insurer between monitor (record only) and active (assign); audited with the rules version."""
    from claimwatch.assignment import service

    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            service.set_mode(session, _operator(tenant_id), value)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"{tenant}: assignment mode {value}")


@app.command("load")
def load(tenant: str = typer.Option(..., help="the insurer's code")) -> None:
    """Load per handler: open cases, weighted load against capacity, red/yellow, leave."""
    from claimwatch.assignment import queries

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        view = queries.load_view(session, _operator(tenant_id), "en")
    table = Table("handler", "claims", "complaints", "weighted", "capacity", "red", "yellow", "leave")
    for h in view.handlers:
        table.add_row(
            h["username"],
            str(h["open_claims"]),
            str(h["open_complaints"]),
            str(h["weighted"]),
            str(h["capacity"]),
            str(h["red"]),
            str(h["yellow"]),
            "on leave" if h["on_leave"] else "",
        )
    console.print(
        f"mode {view.mode}, rules {view.rules_version}; unassigned: {view.unassigned_claims} claims, "
        f"{view.unassigned_complaints} complaints"
    )
    console.print(table)


@app.command("check")
def check(file: Path = typer.Argument(None, help="a rules file; default: the packaged one")) -> None:
    """Validate a rules file; an error names file:line."""
    from claimwatch.assignment.loader import DEFAULT_RULES, RulesError, load_rules_file

    try:
        rules = load_rules_file(file or DEFAULT_RULES)
    except (RulesError, OSError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"rules {rules.version}: default mode {rules.default_mode}")


@app.command("run")
def run(snapshot: bool = typer.Option(True, "--snapshot/--no-snapshot", help="also record the load")) -> None:
    """One worker pass: apply pending assignments (as case events), then record the load snapshot."""
    from claimwatch.assignment import jobs

    result = jobs.run_pass(take_snapshot=snapshot)
    console.print(f"applied {result.applied}, snapshot rows {result.snapshots}")
