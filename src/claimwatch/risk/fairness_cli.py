"""`claimwatch risk fairness --tenant T --period 2026-11 [--open-plans]`: compare every handler and org unit of a
month or quarter with its peers on the same case mix, store and print the flags; optionally open the targeted
inspection of each flag. Registered on the risk commands (``risk/cli.py``: ``app.command("fairness")(fairness)``)."""

from __future__ import annotations

import typer
from rich.console import Console

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import NowOption, fail, parse_now
from claimwatch.db import TenantContext, unit_of_work

console = Console(soft_wrap=True)
app = typer.Typer(help="降赔惜赔 detection", no_args_is_help=True)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def fairness(
    tenant: str = typer.Option(..., help="the insurer's code"),
    period: str = typer.Option(..., help="a month (2026-11) or a quarter (2026-Q4)"),
    open_plans: bool = typer.Option(False, "--open-plans", help="open and draw the targeted inspection of each flag"),
    now: NowOption = None,
) -> None:
    """Flag the handlers and org units whose rejections, short payments or reductions after review are out of line
    with their peers on the same case mix. Bad input (period, settings file) names the problem; nothing written."""
    from claimwatch.errors import Problem
    from claimwatch.risk import fairness as service
    from claimwatch.risk import fairness_queries
    from claimwatch.tenancy import repository as tenancy_repository
    from claimwatch.yaml_source import ConfigFileError

    at = parse_now(now)
    with unit_of_work(TenantContext.system_context()) as session:
        found = tenancy_repository.tenant_by_code(session, tenant)
        if found is None:
            raise fail(f"unknown tenant {tenant!r}")
        tenant_id = found.id
    actor = f"cli:risk fairness {period}"[:100]
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            summary = service.run_period(session, tenant_id, period, actor, now=at)
            plans: dict[int, list[str]] = {}
            if open_plans:
                operator = Principal(role=Role.QUALITY_MANAGER, tenant_id=tenant_id, actor=actor)
                for row in summary.flagged:
                    try:
                        with session.begin_nested():
                            plans[row.id] = service.open_plans(session, operator, row.id, now=at)
                    except Problem as exc:
                        console.print(f"no inspection for {row.unit_label} {row.measure}: {exc.message}", markup=False)
            views = fairness_queries.views(session, list(summary.flagged))
    except (Problem, ConfigFileError) as exc:
        raise fail(exc.message if isinstance(exc, Problem) else str(exc)) from exc
    console.print(
        f"{summary.period}: {summary.claims} decided claims, {summary.tested} units × measures tested, "
        f"{len(summary.flagged)} flagged",
        markup=False,
    )
    if not views:
        return
    for view in views:
        expected = "—" if view.expected is None else f"{view.expected:.1f} ({_pct(view.expected_rate)})"
        ratio = "—" if view.ratio is None else f"{view.ratio:.2f}"
        q = "—" if view.q_value is None else f"{view.q_value:.2g}"
        console.print(
            f"  {view.unit_kind}:{view.unit} {view.measure}: {view.observed} of {view.cases} ({_pct(view.rate)}), "
            f"expected {expected}, observed ÷ expected {ratio}, q {q}; "
            f"inspection {' '.join(plans.get(view.id, view.plans)) or '—'}",
            markup=False,
        )


app.command("fairness")(fairness)
