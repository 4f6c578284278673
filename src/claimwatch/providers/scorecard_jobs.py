"""The monthly scorecard pass: flag the providers whose previous month missed the thresholds
(:func:`claimwatch.providers.flags.evaluate`), each tenant in its own transaction.

The worker may call :func:`run_scorecards` as often as it likes (once a day is plenty): a month's open flags
are brought up to date, reviewed ones stay as decided, so a report that comes late still counts. The command
``claimwatch providers scorecards --tenant T --period 2026-11`` runs it for one tenant and month and prints the
scorecards (:func:`scorecards_command`, registered in ``providers/cli.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import structlog
import typer
from rich.console import Console
from rich.table import Table

from claimwatch.cli_output import NowOption, fail, parse_now
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Problem
from claimwatch.providers import flags, scorecards
from claimwatch.tenancy import repository as tenancy_repository

log = structlog.get_logger("claimwatch.providers.scorecards")
SYSTEM_ACTOR = "system:provider-scorecards"


@dataclass
class ScorecardRun:
    flagged: dict[str, int] = field(default_factory=dict)  # tenant code → flags written or updated
    periods: dict[str, str] = field(default_factory=dict)  # tenant code → month evaluated


def _tenants(code: str | None) -> list[tuple[int, str]]:
    with unit_of_work(TenantContext.system_context()) as session:
        if code is not None:
            tenant = tenancy_repository.tenant_by_code(session, code)
            if tenant is None:
                raise LookupError(f"unknown tenant {code!r}")
            return [(tenant.id, tenant.code)]
        return [(t.id, t.code) for t in tenancy_repository.all_tenants(session)]


def run_scorecards(
    *, period: str | None = None, tenant_code: str | None = None, now: dt.datetime | None = None
) -> ScorecardRun:
    """Flags for ``period`` (default: each tenant's previous local month) in every tenant, or one."""
    now = now or utc_now()
    run = ScorecardRun()
    for tenant_id, code in _tenants(tenant_code):
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            month = period or scorecards.current_month(session, tenant_id, now).shift(-1).label
            written = flags.evaluate(session, tenant_id, month, now=now, actor=SYSTEM_ACTOR)
        run.flagged[code], run.periods[code] = len(written), month
    log.info("provider scorecards", flagged=run.flagged, periods=run.periods)
    return run


def _show(value: float | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value:g}{suffix}"


def scorecards_command(
    tenant: str = typer.Option(..., help="the insurer's code"),
    period: str = typer.Option(None, help="the month, YYYY-MM (default: the previous month)"),
    now: NowOption = None,
) -> None:
    """Compute the providers' scorecards of one month, flag those below the thresholds, print them."""
    console = Console(soft_wrap=True)
    at = parse_now(now)
    try:
        found = _tenants(tenant)
    except LookupError as exc:
        raise fail(str(exc)) from exc
    tenant_id = found[0][0]
    try:
        run = run_scorecards(period=period, tenant_code=tenant, now=at)
        month = run.periods[tenant]
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            cards = scorecards.compute(session, tenant_id, month)
            rows = [
                (
                    card.provider.code,
                    card.provider.kind,
                    str(card.figures.sent),
                    f"{card.figures.on_time}/{card.figures.judged}",
                    _show(card.figures.on_time_rate, " %"),
                    _show(card.figures.standard_rate, " %"),
                    _show(card.figures.turnaround_days),
                    str(card.figures.dispute_count),
                    str(card.figures.disputes["upheld"]),
                    str(card.figures.complaints),
                    str(card.figures.findings),
                    "—" if card.peers.rank is None else f"{card.peers.rank}/{card.peers.size}",
                    ", ".join(flags.missed_rules(card.figures, flags.rules())),
                )
                for card in cards
            ]
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    table = Table(title=f"{tenant} {month}")
    for name in (
        "provider",
        "kind",
        "sent",
        "on time",
        "on-time %",
        "standard %",
        "turnaround (wd)",
        "disputes",
        "upheld",
        "complaints",
        "findings",
        "peer rank",
        "flagged",
    ):
        table.add_column(name)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"{run.flagged[tenant]} flag(s) written or updated for {month}")
