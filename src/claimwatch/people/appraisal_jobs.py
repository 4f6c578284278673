"""The monthly appraisal pass and its commands.

:func:`run_monthly` (worker, once a day is plenty) computes each tenant's previous local month once, when no
scorecard of it exists yet (a manager recomputes later from the page, the API or the command; comments are
kept). ``claimwatch people appraise --month 2026-11 --tenant T`` computes one month now and prints the cards;
``claimwatch people appraisal-scheme FILE --tenant T`` loads a scheme version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import structlog
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from claimwatch.auth.cli import operator, tenant_id_of
from claimwatch.cli_output import fail
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Problem
from claimwatch.people import appraisal, appraisal_queries, appraisal_scheme
from claimwatch.people.models import AppraisalScorecard, StaffMember
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service

log = structlog.get_logger("claimwatch.people.appraisal")


@dataclass
class MonthlyRun:
    computed: dict[str, str] = field(default_factory=dict)  # tenant code → month computed
    cards: int = 0


def run_monthly(now: dt.datetime | None = None) -> MonthlyRun:
    """Each tenant with staff: its previous local month, if not computed yet; each tenant in its own unit of
    work."""
    at = now or utc_now()
    run = MonthlyRun()
    with unit_of_work(TenantContext.system_context()) as session:
        tenants = [(t.id, t.code) for t in tenancy_repository.all_tenants(session)]
    for tenant_id, code in tenants:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            first_staff = select(StaffMember.id).where(StaffMember.tenant_id == tenant_id).limit(1)
            has_staff = session.scalars(first_staff).first()
            if has_staff is None:
                continue
            local = at.astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()
            month = appraisal_scheme.shift_month(local.replace(day=1), -1)
            done = session.scalars(
                select(AppraisalScorecard.id)
                .where(AppraisalScorecard.tenant_id == tenant_id, AppraisalScorecard.month == month)
                .limit(1)
            ).first()
            if done is not None:
                continue
            result = appraisal.compute_month(session, tenant_id, month, None, at)
        run.computed[code] = f"{month:%Y-%m}"
        run.cards += result.cards
    if run.computed:
        log.info("appraisals computed", months=run.computed, cards=run.cards)
    return run


console = Console(soft_wrap=True)


def appraise_command(
    month: str = typer.Option(..., help="the month, YYYY-MM"),
    tenant: str = typer.Option(..., help="the insurer's code"),
) -> None:
    """Compute (or recompute) one month's scorecards now and print them; managers' comments are kept."""
    tenant_id = tenant_id_of(tenant)
    try:
        first = appraisal_scheme.parse_month(month)
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            result = appraisal.compute_month(session, tenant_id, first, operator(tenant_id, "people appraise"))
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            found = appraisal_queries.month_list(session, tenant_id, first, None, appraisal_queries.Filters(), "en")
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    table = Table("staff", "name", "kind", "job title", "score", "stars", "percentile", title=f"{tenant} {month}")
    for row in found["rows"]:
        table.add_row(
            row["staff_code"], row["name"], row["kind"], row["job_title"] or "",
            "—" if row["score"] is None else f"{row['score']:g}", "★" * row["stars"],
            "—" if row["peer_percentile"] is None else f"{row['peer_percentile']:g}",
        )  # fmt: skip
    console.print(table)
    missing = f"; not measured (no source): {', '.join(result.missing_sources)}" if result.missing_sources else ""
    console.print(f"{result.cards} scorecards ({result.scored} scored) under scheme {result.scheme_version}{missing}")


def scheme_command(
    file: Path = typer.Argument(None, help="the scheme YAML (default: the bundled defaults/people/appraisal.yaml)"),
    tenant: str = typer.Option(..., help="the insurer's code"),
) -> None:
    """Load an appraisal scheme version (validated with file:line; recorded in the audit chain)."""
    tenant_id = tenant_id_of(tenant)
    if file is not None and not file.is_file():
        raise fail(f"cannot read {file}: no such file")
    text = None if file is None else file.read_text(encoding="utf-8")
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            row = appraisal.load_scheme(
                session, operator(tenant_id, "people appraisal-scheme"), tenant_id, text,
                None if file is None else file.name,
            )  # fmt: skip
            version, digest = row.version, row.digest
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"scheme {version} in force (sha256 {digest[:12]}…)")
