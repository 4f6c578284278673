"""Operator commands: `claimwatch --help`."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError
from typer.core import TyperGroup

from claimwatch import db
from claimwatch.auth.cli import tenant_id_of
from claimwatch.auth.models import Role
from claimwatch.cli_output import fail
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work

# The domains' command groups, and the top-level commands kept in other modules: (module, attribute, kind). Each is
# imported when it is invoked (or listed by --help), not at every start: importing all of them cost 1.5 s of CPU
# before any command ran (2026-12-07), paid by every cron job, worker start and `claimwatch` call of a script.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("claimwatch.demo.cli", "app", "group"),
    "import": ("claimwatch.imports.cli", "app", "group"),
    "materials": ("claimwatch.materials.cli", "app", "group"),
    "notify": ("claimwatch.notify.cli", "app", "group"),
    "sla": ("claimwatch.sla.cli", "app", "group"),
    "calendar": ("claimwatch.calendar.cli", "app", "group"),
    "kpi": ("claimwatch.kpi.cli", "app", "group"),
    "analytics": ("claimwatch.analytics.cli", "app", "group"),
    "surveys": ("claimwatch.surveys.cli", "app", "group"),
    "complaints": ("claimwatch.complaints.cli", "app", "group"),
    "inspections": ("claimwatch.inspections.cli", "app", "group"),
    "assignment": ("claimwatch.assignment.cli", "app", "group"),
    "run": ("claimwatch.ops.cli", "run", "command"),  # the web app and the worker under one supervisor (issue 20)
    "reports": ("claimwatch.reports.cli", "app", "group"),
    "triage": ("claimwatch.triage.cli", "app", "group"),
    "risk": ("claimwatch.risk.cli", "app", "group"),
    "providers": ("claimwatch.providers.cli", "app", "group"),
    "supervision": ("claimwatch.supervision.cli", "app", "group"),
    "evidence": ("claimwatch.evidence.cli", "app", "group"),
    "people": ("claimwatch.people.cli", "app", "group"),
    "policies": ("claimwatch.policies.cli", "app", "group"),
    "servicedesk": ("claimwatch.servicedesk.cli", "app", "group"),
    "forecasts": ("claimwatch.forecasts.cli", "app", "group"),
    "kb": ("claimwatch.kb.cli", "app", "group"),
    "partitions": ("claimwatch.ops.partitions_cli", "app", "group"),
    "backup": ("claimwatch.ops.backup_cli", "backup", "command"),
    "restore": ("claimwatch.ops.backup_cli", "restore", "command"),
}


def _load_command(name: str) -> Any:
    """The click command of a :data:`LAZY_COMMANDS` entry, built as ``add_typer``/``command`` would build it."""
    module_name, attribute, kind = LAZY_COMMANDS[name]
    target = getattr(importlib.import_module(module_name), attribute)
    if kind == "group":
        group = typer.main.get_group(target)
        group.name = name
        return group
    holder = typer.Typer()
    holder.command(name)(target)
    return typer.main.get_command(holder)


class Commands(TyperGroup):
    """Every command: a database without the schema (a command run before `claimwatch db upgrade`) is
    named in one line with what to do, exit 2, instead of a driver traceback. The domains' commands are
    loaded when used (:data:`LAZY_COMMANDS`)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in LAZY_COMMANDS if name not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            self.commands[cmd_name] = _load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError) as exc:
            from claimwatch import migrate  # Alembic only when needed: it adds to every command's start

            if not migrate.is_missing_table(exc):
                raise
            raise fail(migrate.schema_advice(db.get_engine()), code=2) from None


app = typer.Typer(help="claimwatch — 理赔督促与保险服务品质管理", no_args_is_help=True, cls=Commands)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (insurers) and org units", no_args_is_help=True)
user_app = typer.Typer(help="Users and API keys", no_args_is_help=True)
workflow_app = typer.Typer(help="Workflow definitions", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit chain", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(workflow_app, name="workflow")
app.add_typer(audit_app, name="audit")

console = Console()


@app.callback()
def main(
    database: str = typer.Option(None, "--database", envvar="CLAIMWATCH_DATABASE_URL", help="SQLAlchemy URL"),
) -> None:
    import claimwatch.cases.service  # noqa: F401 - registers the case-event audit source

    if database:
        db.configure(database)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (SQLite or PostgreSQL)."""
    from claimwatch import migrate

    migrate.upgrade(str(db.get_engine().url.render_as_string(hide_password=False)), revision)
    console.print(f"database at [bold]{revision}[/bold]")


@tenant_app.command("create")
def tenant_create(code: str, name: str) -> None:
    """Create a tenant with its head office and audit chain, and record the workflows in force."""
    from claimwatch.tenancy import service as tenancy_service
    from claimwatch.workflow import service as workflow_service

    with unit_of_work(TenantContext.system_context()) as session:
        try:
            tenant = tenancy_service.create_tenant(session, code=code, name=name, actor="cli")
        except tenancy_service.TenancyError as exc:
            raise fail(str(exc)) from exc
        workflow_service.record_workflows(session, tenant.id, "cli")
    console.print(f"tenant {code} created")


@tenant_app.command("add-org")
def tenant_add_org(
    tenant: str,
    code: str,
    name: str,
    parent: str = typer.Option(..., help="parent org code"),
    region: str = typer.Option(None, help="GB/T 2260 province code"),
) -> None:
    """Add a branch (分公司) or sub-branch (支公司)."""
    from claimwatch.tenancy import service as tenancy_service

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        try:
            tenancy_service.add_org_unit(
                session, tenant_id=tenant_id, code=code, name=name, parent_code=parent, region_code=region, actor="cli"
            )
        except tenancy_service.TenancyError as exc:
            raise fail(str(exc)) from exc
    console.print(f"org unit {code} added")


@user_app.command("create")
def user_create(
    username: str,
    role: Role = typer.Option(..., help="role"),
    tenant: str = typer.Option(None, help="tenant code (none for a regulator)"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    display_name: str = typer.Option(None),
) -> None:
    """Create a user who signs in with a password."""
    from claimwatch.auth import service as auth_service

    tenant_id = tenant_id_of(tenant) if tenant else None
    context = TenantContext.for_tenant(tenant_id) if tenant_id else TenantContext.system_context()
    with unit_of_work(context) as session:
        try:
            auth_service.create_user(
                session,
                username=username,
                password=password,
                role=role,
                tenant_id=tenant_id,
                display_name=display_name,
                actor="cli",
            )
        except auth_service.AuthError as exc:
            raise fail(str(exc)) from exc
    console.print(f"user {username} ({role.value}) created")


@user_app.command("password")
def user_password(
    username: str,
    password: str = typer.Option(..., prompt="new password", hide_input=True, confirmation_prompt=True),
) -> None:
    """Set a user's password; every session of the account ends (signed-in browsers must sign in again)."""
    from claimwatch.auth import repository as auth_repository
    from claimwatch.auth import service as auth_service

    with unit_of_work(TenantContext.system_context()) as session:
        user = auth_repository.user_by_username(session, username)
        if user is None:
            raise fail(f"no user {username!r}")
        try:
            auth_service.change_password(session, user.id, password, actor="cli")
        except auth_service.AuthError as exc:
            raise fail(str(exc)) from exc
    console.print(f"password of {username} changed; their sessions are ended")


@user_app.command("api-key")
def user_api_key(tenant: str, name: str, role: Role = typer.Option(Role.INTEGRATION)) -> None:
    """Create an API key for an integration; the key is printed once."""
    from claimwatch.auth import service as auth_service

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        try:
            _, key = auth_service.create_api_key(session, tenant_id=tenant_id, name=name, role=role, actor="cli")
        except auth_service.AuthError as exc:
            raise fail(str(exc)) from exc
    console.print(key)


@workflow_app.command("check")
def workflow_check(
    paths: list[Path] = typer.Argument(None, help="YAML files; default: the configured directories"),
) -> None:
    """Validate workflow files; exits 1 naming the file and line of the first problem."""
    from claimwatch.workflow.loader import WorkflowError, load_workflow_dir, load_workflow_file

    try:
        if paths:
            workflows = {str(p): load_workflow_file(p) for p in paths}
        else:
            settings = get_settings()
            workflows = load_workflow_dir(settings.workflows_dir, settings.extra_workflows_dir)
    except WorkflowError as exc:
        raise fail(str(exc)) from exc
    for name, workflow in workflows.items():
        console.print(
            f"[green]ok[/green] {name}: {workflow.line}, {len(workflow.states)} states, "
            f"{len(workflow.transitions)} transitions"
        )


@workflow_app.command("record")
def workflow_record(tenant: str) -> None:
    """Record the workflows now in force in the tenant's audit chain (after editing them)."""
    from claimwatch.workflow import service as workflow_service

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        count = workflow_service.record_workflows(session, tenant_id, "cli")
    console.print(f"{count} workflows recorded")


@audit_app.command("verify")
def audit_verify(tenant: str = typer.Option(None, help="tenant code; default: every tenant")) -> None:
    """Re-hash the chain; report the first edited, deleted or reordered row and any truncated tail."""
    from claimwatch.audit import service as audit_service
    from claimwatch.tenancy import repository as tenancy_repository

    with unit_of_work(TenantContext.system_context()) as session:
        tenants = tenancy_repository.all_tenants(session)
        targets = [t for t in tenants if tenant is None or t.code == tenant]
        if not targets:
            raise fail(f"unknown tenant {tenant!r}")
        broken = 0
        table = Table("tenant", "entries", "result")
        for target in targets:
            report = audit_service.verify(session, target.id)
            if report.ok:
                table.add_row(target.code, str(report.entries_checked), "[green]intact[/green]")
            else:
                broken += 1
                table.add_row(target.code, str(report.entries_checked), f"[red]{report.first_problem}[/red]")
        console.print(table)
    if broken:
        raise typer.Exit(1)


@audit_app.command("seal")
def audit_seal() -> None:
    """Write a signed checkpoint at every tenant's head (run it from cron or the worker)."""
    from claimwatch.audit import service as audit_service
    from claimwatch.tenancy import repository as tenancy_repository

    with unit_of_work(TenantContext.system_context()) as session:
        tenant_ids = [t.id for t in tenancy_repository.all_tenants(session)]
    for tenant_id in tenant_ids:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            checkpoint = audit_service.seal(session, tenant_id)
            if checkpoint is not None:
                console.print(f"tenant {tenant_id}: sealed at seq {checkpoint.seq}")


@audit_app.command("link")
def audit_link() -> None:
    """Link the blocks that concurrent ingestion left past every tenant's head (the worker does it too)."""
    from claimwatch.audit import jobs as audit_jobs

    for tenant_id, linked in audit_jobs.link_all().items():
        if linked:
            console.print(f"tenant {tenant_id}: {linked} entries linked")


@app.command()
def worker(
    interval: float = typer.Option(None, help="seconds between sweeps; default CLAIMWATCH_SWEEP_INTERVAL_SECONDS"),
    passes: int = typer.Option(None, help="stop after this many sweeps; default: run until SIGTERM"),
) -> None:
    """Run background work continuously: the SLA sweep (lights, escalations, regulator filings) and
    claimant-notification delivery."""
    from claimwatch import worker as worker_module
    from claimwatch.ops import child

    child.setup_logging()
    console.print("worker started; Ctrl-C or SIGTERM stops it after the current pass")
    worker_module.run(interval=interval, passes=passes)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, reload: bool = False) -> None:
    """Run the web app and API."""
    import uvicorn

    from claimwatch.ops import child

    child.setup_logging()
    # No uvicorn access log: it prints raw URLs with their query strings; the app logs each request by route.
    # No uvicorn proxy headers: CLAIMWATCH_TRUSTED_PROXIES (the app's middleware) alone says whom to believe.
    uvicorn.run(
        "claimwatch.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        access_log=False,
        proxy_headers=False,
        log_config=None,
    )


if __name__ == "__main__":
    sys.exit(app())
