"""What every `claimwatch` command prints on failure, in one place."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise. soft_wrap: a file path or a line
    number in an error must never be split across lines; escape: a message naming ``[brackets]`` is text."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


# The one `--now` option of the commands that run a pass "as of" a time (sweeps, survey issuing):
# declare ``now: NowOption = None`` and call ``parse_now(now)``.
NowOption = Annotated[
    str | None,
    typer.Option("--now", help="pretend it is this time (ISO 8601 with offset); default: now"),
]


def parse_now(value: str | None, code: int = 1) -> dt.datetime | None:
    """``--now`` as an aware datetime (None: now). A value that is not ISO 8601, or has no offset, fails
    the command with ``code``: a time without a zone would be read in whichever zone the machine has."""
    if value is None:
        return None
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--now {value!r} is not an ISO 8601 time", code) from exc
    if at.tzinfo is None:
        raise fail("--now needs a time zone offset, e.g. 2026-11-23T09:00:00+08:00", code)
    return at
