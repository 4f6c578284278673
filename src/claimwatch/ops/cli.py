"""`claimwatch run`: the web app and the worker together (registered in claimwatch/cli.py)."""

from __future__ import annotations

import typer

from claimwatch import db
from claimwatch.cli_output import fail
from claimwatch.config import get_settings
from claimwatch.logs import configure_logging
from claimwatch.ops import run as run_module
from claimwatch.ops.settings import ops_settings


def run(
    host: str = typer.Option("127.0.0.1", help="address the web app listens on"),
    port: int = typer.Option(8000, help="port of the web app"),
    interval: float = typer.Option(
        None, help="seconds between worker passes; default CLAIMWATCH_SWEEP_INTERVAL_SECONDS"
    ),
    metrics_port: int = typer.Option(
        None, help="serve /metrics on this port of its own, without a token (bind it where only the scraper reaches)"
    ),
    stop_timeout: float = typer.Option(30.0, help="seconds the children get to stop on SIGTERM before SIGKILL"),
) -> None:
    """Run the web app and the worker under one supervisor: a crashed child is restarted (with backoff),
    SIGTERM or Ctrl-C stops both. Refuses to start on a database that is not at the current schema."""
    url = db.get_engine().url
    problem = run_module.schema_problem(url)
    if problem is not None:
        raise fail(problem, code=2)
    configure_logging(get_settings().log_level, ops_settings().log_format)
    code = run_module.supervise(
        url, host=host, port=port, interval=interval, metrics_port=metrics_port, stop_timeout=stop_timeout, checked=True
    )
    raise typer.Exit(code)
