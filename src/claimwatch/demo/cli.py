"""`claimwatch demo generate` and `claimwatch demo setup`."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from claimwatch import db, migrate
from claimwatch.cli_output import fail
from claimwatch.demo.generator import DemoSpec, iter_claim_events, to_json_line
from claimwatch.demo.organisation import DEMO_PASSWORD
from claimwatch.imports.cli import progress_bar

app = typer.Typer(help="Demo data", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _spec(claims: int, seed: int, start: str | None) -> DemoSpec:
    try:
        spec = DemoSpec(claims=claims, seed=seed, start=dt.date.fromisoformat(start) if start else None)
        spec.window()
    except ValueError as exc:
        raise fail(str(exc), 2) from exc
    return spec


@app.command("generate")
def generate(
    claims: int = typer.Option(10000, min=1, help="number of claims"),
    seed: int = typer.Option(7, help="same seed, same bytes"),
    out: Path = typer.Option(None, help="JSON Lines file (default: standard output)"),
    tenant: str = typer.Option(None, help="only this demo tenant (PICC, PAIC, CPIC)"),
    start: str = typer.Option(None, help="first day (YYYY-MM-DD); default: twelve months ending last month"),
) -> None:
    """Write a realistic, deterministic claim event stream (JSON Lines, one event a line)."""
    spec = _spec(claims, seed, start)
    handle = out.open("w", encoding="utf-8") if out else sys.stdout
    written = 0
    try:
        with progress_bar() as bar:
            task = bar.add_task("generate", total=claims, rate="")
            for event in iter_claim_events(spec, tenant):
                handle.write(to_json_line(event))
                written += 1
                if event["type"] == "reported":
                    bar.advance(task)
    finally:
        if out:
            handle.close()
    err.print(f"{written} events for {claims} claims")


@app.command("setup")
def setup(
    claims: int = typer.Option(3000, min=1, help="number of claims"),
    seed: int = typer.Option(7),
    start: str = typer.Option(None, help="first day (YYYY-MM-DD)"),
) -> None:
    """Migrate the database, create the demo insurers and staff, load the demo history, print logins."""
    # The demo's modules import most of the platform: only this command pays for them, not every CLI start.
    from claimwatch.demo import assignment as demo_assignment
    from claimwatch.demo import committee as demo_committee
    from claimwatch.demo import fairness as demo_fairness
    from claimwatch.demo import improvement as demo_improvement
    from claimwatch.demo import jobs, queue_materials, staff_notices
    from claimwatch.demo import letters as demo_letters
    from claimwatch.demo import people_policies as demo_people_policies
    from claimwatch.demo import providers as demo_providers
    from claimwatch.demo import quality_loop as demo_quality_loop
    from claimwatch.demo import reports as demo_reports
    from claimwatch.demo import risk as demo_risk
    from claimwatch.demo import servicedesk as demo_servicedesk
    from claimwatch.demo import supervision as demo_supervision
    from claimwatch.demo import triage as demo_triage

    spec = _spec(claims, seed, start)
    migrate.upgrade(db.get_engine().url.render_as_string(hide_password=False))
    if jobs.is_set_up(spec):
        err.print("demo data already loaded")
    else:
        with progress_bar() as bar:
            task = bar.add_task("load demo events", total=None, rate="")
            applied = jobs.setup(spec, progress=lambda rows: bar.advance(task, rows))
        err.print(f"{applied} events loaded for {claims} claims")
        loaded = jobs.load_complaints(spec)
        err.print(f"{loaded.filed} complaints filed and handled")
        for refused in loaded.refused or []:
            err.print(f"  a complaint step was refused: {refused}", markup=False)
        queue_materials.load(spec)
        from claimwatch.complaints import jobs as complaint_jobs
        from claimwatch.sla import jobs as sla_jobs

        swept = sla_jobs.sweep()
        err.print(f"SLA sweep: {swept.checked} clocks due, {swept.yellow} yellow and {swept.red} red escalations")
        complaint_swept = complaint_jobs.sweep()
        err.print(f"complaint sweep: {complaint_swept.checked} clocks due, {complaint_swept.closed} closed")
        for line in demo_letters.summary(spec):
            err.print(line, markup=False)
        demo_assignment.load(spec)
        for line in demo_risk.load(spec):
            err.print(line, markup=False)
        for line in demo_triage.load(spec).lines():
            err.print(line, markup=False)
        fresh = sla_jobs.sweep()  # the fresh reports' clocks: yesterday's untouched claim turns yellow
        err.print(f"SLA sweep of the fresh reports: {fresh.yellow} yellow and {fresh.red} red escalations")
        surveyed = jobs.load_surveys(spec)
        err.print(f"{surveyed.issued} satisfaction surveys sent, {surveyed.answered} answered")
        from claimwatch.kpi import jobs as kpi_jobs
        from claimwatch.kpi import snapshot as kpi_snapshot

        kpi_snapshot.take_snapshot()
        found = kpi_jobs.evaluate_alerts(None)
        err.print(f"KPI snapshot taken; {found.created} quality alerts")
        for line in demo_quality_loop.load(spec):
            err.print(line, markup=False)
        # After the quality loop (its blacklist entry), before the snapshot the improvement step retakes.
        for line in demo_providers.load(spec).lines():
            err.print(line, markup=False)
        for line in demo_fairness.load(spec).lines():
            err.print(line, markup=False)
        for line in demo_improvement.load(spec).lines():
            err.print(line, markup=False)
        for line in demo_committee.load(spec):
            err.print(line, markup=False)
        staffed = staff_notices.load(spec)
        err.print(
            f"staff notices: {staffed.routed} routed, {staffed.unread} unread, {staffed.addresses} e-mail addresses"
        )
        for line in demo_reports.load():
            err.print(line, markup=False)
        # Issue 18: after the quality loop (its sanctions make the mandatory training), before the evidence heads.
        for line in demo_people_policies.load(spec).lines():
            err.print(line, markup=False)
        # Issue 17: the service desk (needs picc.cs/qm/supervisor; before the evidence heads cover its audit entries).
        for line in demo_servicedesk.load(spec).lines():
            err.print(line, markup=False)
        # Last: the rating and the whitelist read the snapshot the steps above retook; the evidence heads cover
        # every audit entry the demo wrote.
        for line in demo_supervision.load(spec).lines():
            err.print(line, markup=False)
    table = Table("username", "password", "role", "tenant", title="demo logins · http://127.0.0.1:8000")
    for login in jobs.logins(spec):
        table.add_row(login.username, DEMO_PASSWORD, login.role.value, login.tenant)
    console.print(table)
