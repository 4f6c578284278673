"""`claimwatch supervision whitelist`: compute a month's whitelist, or check a rule file (registered on the
supervision command group by ``supervision/cli.py``: ``app.command("whitelist")(whitelist_cli.whitelist)``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from claimwatch.cli_output import fail

console = Console()


def whitelist(
    month: str = typer.Option(None, "--month", help="2026-11; default: the last month the KPI snapshot saw end"),
    rule_file: Path = typer.Option(None, "--rule", help="a whitelist rule YAML; default: the bundled one"),
    check: bool = typer.Option(False, "--check", help="only validate the rule file (file:line errors) and stop"),
) -> None:
    """The whitelist (白名单) of a month: every insurer, whether it qualifies and why, from the KPI snapshot."""
    from claimwatch.errors import Problem
    from claimwatch.kpi import service as kpi_service
    from claimwatch.supervision import jobs
    from claimwatch.supervision import whitelist as rules

    try:
        rule = rules.load(rule_file) if rule_file else rules.default_rule()
    except (OSError, rules.WhitelistRuleError) as exc:
        raise fail(str(exc)) from exc
    if check:
        console.print(f"[green]ok[/green] {rule.code} v{rule.version}: {rule.describe('en')}")
        return
    try:
        if month is None:
            with kpi_service.opened() as snap:
                month = rules.last_complete_month(snap.local_now).label
        rows = jobs.compute_whitelist(month, actor="cli:supervision whitelist", rule=rule)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    from claimwatch.db import TenantContext, unit_of_work

    with unit_of_work(TenantContext.system_reader()) as session:
        for found in rules.statuses(session, month, "en"):
            mark = "[green]✓[/green]" if found.qualifies else "·"
            console.print(f"{mark} {found.code:<8} {found.change:<8} {found.reason}")
    console.print(f"{month}: {sum(1 for r in rows if r.qualifies)} of {len(rows)} insurers qualify")
