"""`claimwatch surveys …`: issue the surveys that are due, and print results."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import NowOption, fail, parse_now
from claimwatch.db import TenantContext, unit_of_work

app = typer.Typer(help="Satisfaction surveys after a claim or complaint closes", no_args_is_help=True)
console = Console()


@app.command("issue")
def issue(
    lookback_days: int = typer.Option(30, min=1, max=3650, help="closures this many days back are considered"),
    now: NowOption = None,
) -> None:
    """Send a survey for every claim or complaint closed (survey_delay_hours ago or more) that has none;
    expire unanswered surveys past their validity. Safe to run from several workers at once."""
    from claimwatch.surveys import jobs

    result = jobs.issue_due(now=parse_now(now, 2), lookback_days=lookback_days)
    console.print(
        f"issued {result.issued} survey(s): {result.claims} after claims, {result.complaints} after complaints "
        f"({result.unreachable} with no reachable contact); expired {result.expired}"
        + (f"; {result.others} after other cases (service requests)" if result.others else ""),
        soft_wrap=True,
    )


@app.command("results")
def results(
    tenant: str = typer.Option(None, help="insurer code; default: every insurer"),
    period_from: str = typer.Option(None, "--from", help="first local date, YYYY-MM-DD"),
    period_to: str = typer.Option(None, "--to", help="last local date, YYYY-MM-DD"),
    by: str = typer.Option("org", help="org, line, handler, period, region, subject_type or outcome"),
    subject_type: str = typer.Option(None, "--type", help="claim or complaint; default: both"),
    locale: str = typer.Option("zh", help="zh or en"),
) -> None:
    """Results as the staff page shows them: sent, answered, response rate, mean scores, 9–10 and 0–6."""
    from claimwatch.surveys import queries, service
    from claimwatch.tenancy import repository as tenancy_repository

    params = {"from": period_from or "", "to": period_to or "", "by": by, "type": subject_type or ""}
    tenant_id = None
    if tenant is not None:
        with unit_of_work(TenantContext.system_context()) as session:
            found = tenancy_repository.tenant_by_code(session, tenant.strip().upper())
        if found is None:
            raise fail(f"--tenant: unknown insurer {tenant!r}")
        tenant_id = found.id
    principal = (
        Principal(role=Role.REGULATOR, tenant_id=None, actor="cli:surveys")
        if tenant_id is None
        else Principal(role=Role.ADMIN, tenant_id=tenant_id, actor="cli:surveys")
    )
    try:
        with unit_of_work(principal.context()) as session:
            query = queries.parse_query(params, queries.zone_for(session, principal))
            result = queries.results_for(session, principal, query, "en" if locale == "en" else "zh")
    except service.SurveyError as exc:
        option = {"from": "--from", "to": "--to", "by": "--by", "type": "--type"}.get(exc.field, exc.field)
        raise fail(f"{option}: {exc.message}", 2) from None
    cross_tenant = tenant_id is None
    columns = ["insurer"] if cross_tenant else []
    table = Table(*columns, by, "sent", "answered", "rate", "answers", "overall", "speed", "transp.", "attitude")

    def figure(value: float | None, percent: bool = False) -> str:
        if value is None:
            return "—"
        return f"{value * 100:.1f}%" if percent else f"{value:.2f}"

    for row in [*result["rows"], result["total"]]:
        table.add_row(
            *([row["tenant"] or ""] if cross_tenant else []),
            row["label"],
            str(row["sent"]),
            str(row["responded"]),
            figure(row["response_rate"], percent=True),
            str(row["answers"]),
            figure(row["mean_overall"]),
            figure(row["mean_timeliness"]),
            figure(row["mean_transparency"]),
            figure(row["mean_attitude"]),
        )
    console.print(f"{result['period_from']} – {result['period_to']}")
    console.print(table)
