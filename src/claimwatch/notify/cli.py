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
    """One delivery pass: send every due message, record its status, retry or dead-letter failures."""
    from claimwatch.notify import jobs

    result = jobs.deliver(batch=batch)
    console.print(
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
