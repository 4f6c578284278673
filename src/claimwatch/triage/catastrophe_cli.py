"""`claimwatch triage catastrophe …`: declare, amend, list and show catastrophe events (大灾)."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Column, Table

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import fail
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Problem

app = typer.Typer(help="Catastrophe events (大灾): their claims join the green channel", no_args_is_help=True)
console = Console(soft_wrap=True)
_DAY = ["%Y-%m-%d"]


def _tenant_id(code: str) -> int:
    from claimwatch.triage.cli import _tenant  # the triage commands' tenant lookup (this app is their sub-app)

    return _tenant(code)[0]


def _operator(tenant_id: int) -> Principal:
    """Who the audit trail names for a command-line run."""
    return Principal(role=Role.ADMIN, tenant_id=tenant_id, actor="cli:triage")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.replace("，", ",").split(",") if part.strip()]


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


@app.command("declare")
def declare(
    code: str = typer.Argument(..., help="the event's code, e.g. TY-2026-09"),
    tenant: str = typer.Option(..., help="the insurer's code"),
    name: str = typer.Option(..., help="the name (Chinese), e.g. 台风“摩羯”"),
    kind: str = typer.Option(..., help="typhoon | flood | earthquake | other"),
    regions: str = typer.Option(..., help="GB/T 2260 province codes, comma-separated, e.g. 440000,460000"),
    start: dt.datetime = typer.Option(..., "--from", formats=_DAY, help="first day (local)"),
    end: dt.datetime = typer.Option(None, "--to", formats=_DAY, help="last day (local); none: still going on"),
    lines: str = typer.Option("", help="lines of business, comma-separated; empty: all"),
    name_en: str = typer.Option("", "--name-en", help="the name in English"),
    note: str = typer.Option("", help="a note"),
) -> None:
    """Declare an event (audited): the claims it covers join its green channel with priority 3."""
    from claimwatch.triage import catastrophes

    tenant_id = _tenant_id(tenant)
    declaration = catastrophes.Declaration(
        code=code,
        name=name,
        kind=kind,
        region_codes=_split(regions),
        starts_on=start.date(),
        ends_on=_day(end),
        lines=_split(lines),
        name_en=name_en or None,
        note=note or None,
    )
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            found = catastrophes.declare(session, _operator(tenant_id), declaration)
            joined, green, event_id = found.claims, found.green, found.event.id
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"catastrophe {code} declared (id {event_id}): {joined} claims joined, {green} to the green channel")


@app.command("amend")
def amend(
    code: str = typer.Argument(..., help="the event's code"),
    tenant: str = typer.Option(..., help="the insurer's code"),
    end: dt.datetime = typer.Option(None, "--to", formats=_DAY, help="a new last day (local)"),
    reopen: bool = typer.Option(False, "--reopen", help="clear the end date: the event goes on"),
    regions: str = typer.Option("", help="the regions now, comma-separated; empty: unchanged"),
    lines: str = typer.Option("", help="the lines now, comma-separated; empty: unchanged"),
    note: str = typer.Option(None, help="a new note"),
) -> None:
    """Amend an event (audited): end it, widen it; claims it now covers join it."""
    from claimwatch.triage import catastrophes

    tenant_id = _tenant_id(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            event = catastrophes.by_code(session, code)
            if event is None:
                raise fail(f"no catastrophe event {code!r} in {tenant}")
            found = catastrophes.amend(
                session,
                _operator(tenant_id),
                event.id,
                ends_on=_day(end),
                clear_end=reopen,
                region_codes=_split(regions) or None,
                lines=_split(lines) or None,
                note=note,
            )
            joined = found.claims
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"catastrophe {code} amended: {joined} more claims joined")


@app.command("list")
def list_events(tenant: str = typer.Option(..., help="the insurer's code")) -> None:
    """The insurer's events with their claims, open and overdue."""
    from claimwatch.triage import catastrophe_queries

    tenant_id = _tenant_id(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        rows = catastrophe_queries.catastrophe_list(session, "en")
    table = Table("name", "kind", "regions", "period", "claims", "open", "overdue")
    table.columns.insert(0, Column("code", no_wrap=True))
    for row in rows:
        table.add_row(
            row["code"],
            row["name"],
            row["kind"],
            ",".join(row["region_codes"]),
            row["period"],
            str(row["claims"]),
            str(row["open"]),
            str(row["overdue"]),
        )
    console.print(table)


@app.command("show")
def show(
    code: str = typer.Argument(..., help="the event's code"), tenant: str = typer.Option(..., help="the insurer's code")
) -> None:
    """One event: claims, open, overdue and paid by region."""
    from claimwatch.triage import catastrophe_queries, catastrophes

    tenant_id = _tenant_id(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        event = catastrophes.by_code(session, code)
        if event is None:
            raise fail(f"no catastrophe event {code!r} in {tenant}")
        found = catastrophe_queries.catastrophe_detail(session, event.id, "en")
    assert found is not None
    console.print(f"{found['code']} {found['name']} ({found['kind']}), {found['period']}")
    table = Table("region", "claims", "open", "overdue", "paid claims", "paid CNY")
    for row in [*found["by_region"], {**found["total"], "region": "total"}]:
        table.add_row(
            row["region"], str(row["claims"]), str(row["open"]), str(row["overdue"]), str(row["paid_count"]),
            f"{row['paid']:.2f}",
        )  # fmt: skip
    console.print(table)
