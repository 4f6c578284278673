"""`claimwatch triage …`: check a rule file, load a version (monitor or active), list versions, replay history
under a rule set, and the monitor comparison."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import fail
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Problem
from claimwatch.triage import catastrophe_cli

app = typer.Typer(help="Triage (智能预审): rule sets, monitor mode, replay", no_args_is_help=True)
app.add_typer(catastrophe_cli.app, name="catastrophe")  # `claimwatch triage catastrophe declare|amend|list|show`
console = Console(soft_wrap=True)


def _tenant(code: str) -> tuple[int, str]:
    from claimwatch.tenancy import repository as tenancy_repository

    with unit_of_work(TenantContext.system_context()) as session:
        tenant = tenancy_repository.tenant_by_code(session, code)
        if tenant is None:
            raise fail(f"unknown tenant {code!r}")
        return tenant.id, tenant.code


def _since(value: str, name: str, zone_tenant: int) -> dt.datetime:
    """A local date (the tenant's zone) or an ISO instant with offset."""
    from claimwatch.tenancy.service import tenant_zone

    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            with unit_of_work(TenantContext.for_tenant(zone_tenant)) as session:
                zone = tenant_zone(session, zone_tenant)
            return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
        at = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--{name} {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from exc
    if at.tzinfo is None:
        raise fail(f"--{name} needs a time zone offset")
    return at.astimezone(dt.UTC)


@app.command("check")
def check(
    path: Path = typer.Argument(None, help="a rule file; default: the bundled defaults/triage/rules.yaml"),
) -> None:
    """Validate a rule file; exits 1 naming the file and line of the first problem."""
    from claimwatch.triage import loader

    target = path or loader.DEFAULT_RULES
    try:
        rules = loader.load_rule_file(target)
    except (loader.RuleSetError, OSError) as exc:
        raise fail(str(exc)) from exc
    console.print(
        f"{target}: version {rules.version}, mode {rules.mode}, {len(rules.rules)} rules, sha256 {rules.digest}"
    )
    table = Table("code", "route", "priority", "name", "when")
    for rule in rules.rules:
        table.add_row(rule.code, rule.route, str(rule.priority), rule.name_zh, rule.when.describe())
    console.print(table)


@app.command("load")
def load(
    path: Path = typer.Argument(None, help="a rule file; default: the insurer's own file, else the defaults"),
    tenant: str = typer.Option(..., help="the insurer's code"),
    mode: str = typer.Option(None, help="monitor or active; default: the file's"),
) -> None:
    """Put a new rule-set version in force for an insurer (audited with its version and digest)."""
    from claimwatch.triage import service

    tenant_id, _ = _tenant(tenant)
    operator = Principal(role=Role.ADMIN, tenant_id=tenant_id, actor="cli:triage")
    try:
        text = path.read_text(encoding="utf-8") if path is not None else None
    except OSError as exc:
        raise fail(str(exc)) from exc
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            row = service.load_rule_set(session, operator, text, path.name if path else None, mode)
            console.print(f"rule set {row.version} (#{row.id}, {row.mode}) in force; sha256 {row.digest}")
    except Problem as exc:
        raise fail(exc.message if exc.field == "content" else f"{exc.field}: {exc.message}") from exc


@app.command("mode")
def mode(
    value: str = typer.Argument(..., help="monitor or active"), tenant: str = typer.Option(..., help="insurer code")
) -> None:
    """Switch the version in force between monitor and active (a new version row, audited)."""
    from claimwatch.triage import service

    tenant_id, _ = _tenant(tenant)
    operator = Principal(role=Role.ADMIN, tenant_id=tenant_id, actor="cli:triage")
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            row = service.set_mode(session, operator, value)
            console.print(f"rule set {row.version} (#{row.id}) now {row.mode}")
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc


@app.command("versions")
def versions(tenant: str = typer.Option(..., help="the insurer's code")) -> None:
    """The insurer's rule-set versions, newest first (the first row is in force)."""
    from claimwatch.triage import repository

    tenant_id, _ = _tenant(tenant)
    table = Table("#", "version", "mode", "rules", "active from (UTC)", "loaded by", "sha256", "audit seq")
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        for row in repository.rule_sets(session):
            table.add_row(
                str(row.id),
                row.version,
                row.mode,
                str(row.rule_count),
                row.active_from.strftime("%Y-%m-%d %H:%M"),
                row.loaded_by,
                row.digest[:12],
                str(row.audit_seq or ""),
            )
    console.print(table)


@app.command("replay")
def replay(
    tenant: str = typer.Option(..., help="the insurer's code"),
    since: str = typer.Option(..., help="claims reported from this local date (YYYY-MM-DD) or instant"),
    until: str = typer.Option(None, help="… until this date (exclusive) or instant; default: now"),
    file: Path = typer.Option(None, "--file", help="a candidate rule file; default: the version in force"),
    details: bool = typer.Option(False, "--details", help="one line per claim whose route would change"),
) -> None:
    """Evaluate past claims again (facts as at their report) and count how routes would differ. Read-only."""
    from claimwatch.triage import loader, service

    tenant_id, _ = _tenant(tenant)
    start = _since(since, "since", tenant_id)
    end = _since(until, "until", tenant_id) if until else None
    rules = None
    if file is not None:
        try:
            rules = loader.load_rule_file(file)
        except (loader.RuleSetError, OSError) as exc:
            raise fail(str(exc)) from exc
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            rows = service.replay(session, tenant_id, start, end, rules)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    matrix: dict[tuple[str, str], int] = {}
    for row in rows:
        before = row.stored_would_be or row.stored_route
        matrix[(before, row.replayed_route)] = matrix.get((before, row.replayed_route), 0) + 1
    table = Table("recorded (would-be) route", "replayed route", "claims")
    for (before, after), count in sorted(matrix.items()):
        table.add_row(before, after, str(count))
    console.print(f"{len(rows)} claims replayed")
    console.print(table)
    if details:
        for row in rows:
            if (row.stored_would_be or row.stored_route) != row.replayed_route:
                console.print(f"{row.number}: {row.stored_would_be or row.stored_route} → {row.replayed_route} "
                              f"({', '.join(row.fired) or 'no rule'})")  # fmt: skip


@app.command("compare")
def compare(
    tenant: str = typer.Option(..., help="the insurer's code"),
    since: str = typer.Option(..., help="decisions from this local date (YYYY-MM-DD) or instant"),
    until: str = typer.Option(None, help="… until this date (exclusive); default: now"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The monitor comparison: per rule, fired and deciding, and what became of those claims."""
    from claimwatch.triage import service

    tenant_id, _ = _tenant(tenant)
    start = _since(since, "since", tenant_id)
    end = _since(until, "until", tenant_id) if until else dt.datetime.now(dt.UTC)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        report = service.comparison(session, start, end)
    if as_json:
        console.print_json(json.dumps(report, default=str, ensure_ascii=False))
        return
    console.print(f"{report['decisions']} decisions {report['modes']}; agreement {report['agreement']}")
    table = Table("rule", "route", "fired", "deciding", "routes now", "closed", "rejected", "open", "high risk", "days")
    for r in report["rules"]:
        table.add_row(
            r["code"],
            str(r["route"]),
            str(r["fired"]),
            str(r["deciding"]),
            ", ".join(f"{k} {v}" for k, v in sorted(r["actual_routes"].items())),
            str(r["closed"]),
            str(r["rejected"]),
            str(r["open"]),
            str(r["high_risk"]),
            "" if r["mean_cycle_days"] is None else f"{r['mean_cycle_days']:.1f}",
        )
    console.print(table)
