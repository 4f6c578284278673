"""`claimwatch notify …`: deliver the outbox, list failures, resend."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.db import TenantContext, unit_of_work

app = typer.Typer(help="Claimant notifications (the outbox)", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _tenant_context(tenant: str | None) -> TenantContext:
    if tenant is None:
        return TenantContext.system_context()
    from claimwatch.tenancy import repository as tenancy_repository

    with unit_of_work(TenantContext.system_context()) as session:
        found = tenancy_repository.tenant_by_code(session, tenant)
        if found is None:
            err.print(f"[red]error:[/red] unknown tenant {tenant!r}")
            raise typer.Exit(1)
        return TenantContext.for_tenant(found.id)


@app.command("deliver")
def deliver(batch: int = typer.Option(None, help="messages claimed per transaction")) -> None:
    """One delivery pass: route queued staff notices (inboxes, e-mail, robots) and write due digests, then
    send every due message, record its status, retry or dead-letter failures."""
    from claimwatch.notify import jobs

    result = jobs.deliver(batch=batch)
    console.print(
        f"staff notices routed {result.routed}, digests {result.digests}; "
        f"claimed {result.claimed}: sent {result.sent}, delivered {result.delivered}, failed {result.failed}, "
        f"dead {result.dead}, opted out {result.opted_out}, released {result.released}"
    )


@app.command("worker")
def worker(
    interval: float = typer.Option(1.0, help="seconds between delivery passes"),
    passes: int = typer.Option(None, help="stop after this many passes; default: run until SIGTERM"),
) -> None:
    """Run delivery passes only (no SLA sweep), until SIGTERM."""
    import signal
    import threading

    from claimwatch.notify import jobs

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    jobs.deliver_until_stopped(stop, interval, passes)


@app.command("failures")
def failures(
    tenant: str = typer.Option(None, help="tenant code; default: every tenant"),
    limit: int = typer.Option(100),
) -> None:
    """Failed (retrying) and dead messages, newest first; recipients masked."""
    from claimwatch.notify import service

    with unit_of_work(_tenant_context(tenant)) as session:
        rows = service.failures(session, limit)
    table = Table("id", "claim", "channel", "recipient", "template", "status", "attempts", "last error")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["claim_number"] or "",
            row["channel"],
            row["recipient"],
            row["template"],
            row["status"],
            str(row["attempts"]),
            row["last_error"] or "",
        )
    console.print(table)


@app.command("resend")
def resend(
    failed: bool = typer.Option(False, "--failed", help="every failed and dead message"),
    ids: list[int] = typer.Option(None, "--id", help="a message id (repeatable)"),
    tenant: str = typer.Option(None, help="tenant code; default: every tenant"),
) -> None:
    """Put failed/dead messages back in the queue (attempts start over; same idempotency key)."""
    from claimwatch.notify import service

    if not failed and not ids:
        err.print("[red]error:[/red] give --failed or --id N")
        raise typer.Exit(2)
    with unit_of_work(_tenant_context(tenant)) as session:
        count = service.resend(session, None if failed and not ids else ids)
    console.print(f"{count} message(s) queued again")


def _tenant_id(tenant: str) -> int:
    context = _tenant_context(tenant)
    assert context.tenant_id is not None
    return context.tenant_id


@app.command("set-email")
def set_email(
    username: str = typer.Argument(..., help="the staff member's user name"),
    email: str = typer.Argument(..., help='their work e-mail address ("" clears it)'),
    tenant: str = typer.Option(..., help="tenant code"),
) -> None:
    """Set where a staff member's notices are e-mailed (escalations, complaint and quality alerts)."""
    from claimwatch.notify import service, staff_inbox

    tenant_id = _tenant_id(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            user = staff_inbox.set_user_email(session, tenant_id, username, email, "cli")
            shown = user.email or "(none)"
    except service.NotifyError as exc:
        err.print(f"[red]error:[/red] {exc.field}: {exc}")
        raise typer.Exit(1) from exc
    console.print(f"{username}: {shown}")


robots_app = typer.Typer(
    help="Group robots (WeCom 企业微信, DingTalk 钉钉) that get staff notices", no_args_is_help=True
)
app.add_typer(robots_app, name="robots")


@robots_app.command("set")
def robots_set(
    name: str = typer.Argument(..., help="a name for the robot, e.g. 广东理赔群"),
    provider: str = typer.Option(..., help="wecom or dingtalk"),
    url: str = typer.Option(..., help="the robot's webhook URL (with its key / access_token)"),
    tenant: str = typer.Option(..., help="tenant code"),
    secret: str = typer.Option(None, help="DingTalk 加签 secret (SEC…)"),
    org: str = typer.Option(None, help="only notices of this org unit's subtree"),
    kind: list[str] = typer.Option(None, "--kind", help="only this kind of notice (repeatable); default: all"),
    locale: str = typer.Option("zh", help="zh or en"),
) -> None:
    """Add a group robot, or replace the one of that name. The URL and secret are stored encrypted."""
    from claimwatch.notify import robots, service

    tenant_id = _tenant_id(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            view = robots.save_robot(
                session,
                tenant_id,
                name=name,
                provider=provider,
                url=url,
                secret=secret,
                org=org,
                kinds=kind or None,
                locale=locale,
                actor="cli",
            )
    except service.NotifyError as exc:
        err.print(f"[red]error:[/red] {exc.field}: {exc}")
        raise typer.Exit(1) from exc
    console.print(f"robot {view['name']} ({view['provider']}) → {view['url']}")


@robots_app.command("list")
def robots_list(tenant: str = typer.Option(..., help="tenant code")) -> None:
    """The tenant's robots (URLs without their tokens)."""
    from claimwatch.notify import robots

    with unit_of_work(_tenant_context(tenant)) as session:
        rows = robots.list_robots(session)
    table = Table("name", "provider", "url", "signed", "org", "kinds", "locale")
    for row in rows:
        table.add_row(
            row["name"],
            row["provider"],
            row["url"],
            "yes" if row["signed"] else "",
            row["org"] or "",
            ",".join(row["kinds"]),
            row["locale"],
        )
    console.print(table)


@robots_app.command("remove")
def robots_remove(name: str, tenant: str = typer.Option(..., help="tenant code")) -> None:
    from claimwatch.notify import robots, service

    tenant_id = _tenant_id(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            robots.remove_robot(session, tenant_id, name, "cli")
    except service.NotifyError as exc:
        err.print(f"[red]error:[/red] {exc.field}: {exc}")
        raise typer.Exit(1) from exc
    console.print(f"robot {name} removed")
