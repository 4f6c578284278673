"""`claimwatch inspections …`: draw a plan's sample from a plan file, list the plans."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.cli import tenant_id_of
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import NowOption, fail, parse_now
from claimwatch.db import TenantContext, unit_of_work

app = typer.Typer(help="Quality inspections (品质抽检): sampling plans and draws", no_args_is_help=True)
console = Console(soft_wrap=True)


def _operator(tenant_id: int, source: str) -> Principal:
    """Who the audit trail names for a command-line run (with a quality manager's rights)."""
    return Principal(role=Role.QUALITY_MANAGER, tenant_id=tenant_id, actor=f"cli:{source}"[:100])


@app.command("sample")
def sample(
    file: Path = typer.Argument(..., help="a plan YAML file (see defaults/inspections/plans/)"),
    tenant: str = typer.Option(..., help="the insurer's code"),
    period: str = typer.Option(None, help="draw this month or quarter (2026-11, 2026-Q4), once per plan"),
    seed: int = typer.Option(None, min=0, help="reproduce an earlier draw (default: a random 63-bit seed)"),
    now: NowOption = None,
) -> None:
    """Record the plan (or use the recorded plan of the same code and content) and draw its sample. Any
    error names the file and line; nothing is written then."""
    from claimwatch.errors import Problem
    from claimwatch.inspections import loader, plan_queries, repository, service
    from claimwatch.yaml_source import ConfigFileError

    try:
        plan_file = loader.load_plan_file(file)
    except ConfigFileError as exc:
        raise fail(str(exc)) from exc
    tenant_id = tenant_id_of(tenant)
    at = parse_now(now)
    operator = _operator(tenant_id, f"inspections sample {file.name}")
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            plan = repository.plan_by_code(session, plan_file.definition.code)
            if plan is None:
                plan = service.create_plan(session, operator, plan_file.definition, source="manual", source_ref=None)
            elif service.definition_of(plan) != plan_file.definition:
                message = f"plan {plan.code!r} is recorded with another definition: use a new code"
                raise plan_file.error("code", message)
            drawn = service.draw_sample(session, operator, plan.id, period=period, seed=seed, now=at)
            view = plan_queries.draw_view(session, drawn, "en", with_cases=False)
    except Problem as exc:
        if exc.field in ("period", "seed"):
            raise fail(f"--{exc.field}: {exc.message}") from exc
        raise fail(str(plan_file.error(exc.field, exc.message))) from exc
    except ConfigFileError as exc:
        raise fail(str(exc)) from exc
    console.print(
        f"plan {plan_file.definition.code}: draw {view['id']} ({view['period']}), "
        f"population {view['population']}, sample {view['sample']}, unassigned {view['unassigned']}, "
        f"seed {view['seed']}, audit entry {view['audit_seq']}"
    )
    for stratum in view["strata"]:
        if stratum["key"]:
            console.print(f"  {stratum['key']}: {stratum['population']} → {stratum['sample']}", markup=False)


@app.command("plans")
def plans(
    tenant: str = typer.Option(..., help="the insurer's code"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The insurer's plans with their draws."""
    from claimwatch.inspections import plan_queries

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        found = plan_queries.plans(session)
    if as_json:
        console.print_json(json.dumps(found, default=str, ensure_ascii=False))
        return
    table = Table("code", "name", "kind", "method", "schedule", "draws", "last drawn")
    for plan in found:
        table.add_row(
            plan["code"], plan["name"], plan["subject_kind"], plan["method"], plan["schedule"],
            str(plan["draws"]), str(plan["last_drawn_at"] or "—"),
        )  # fmt: skip
    console.print(table)
