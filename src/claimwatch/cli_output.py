"""What every `claimwatch` command prints on failure, in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Protocol, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise. soft_wrap: a file path or a line
    number in an error must never be split across lines; escape: a message naming ``[brackets]`` is text."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


# The options every all-or-nothing CSV import command takes, declared once so that they read (and --help
# says) the same everywhere: ``file: ImportFile``, ``rejects: RejectsOption = None``,
# ``dry_run: DryRunOption = False``; on refusal ``raise import_refused(...)``.
ImportFile = Annotated[Path, typer.Argument(help="a CSV file (UTF-8 or GB18030); English or Chinese headers")]
RejectsOption = Annotated[
    Path | None, typer.Option(help="write the reject report (line, column, field, problem) as CSV")
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="check every row, import nothing")]


class RejectedRow(Protocol):
    """What a command prints of an import's reject (``complaints.importer.Reject``, which sits above this)."""

    @property
    def line(self) -> int: ...
    @property
    def column(self) -> str | None: ...
    @property
    def message(self) -> str: ...


R = TypeVar("R", bound=RejectedRow)


def import_refused(
    rejects: list[R], file: Path, report: Path | None, write_report: Callable[[Path, list[R]], None]
) -> typer.Exit:
    """An all-or-nothing import refused: print the first 50 rejects (``line N [column]: problem``) on stderr,
    write the reject report to ``report`` when asked (``write_report``), and return the Exit to raise. Every
    import command says "nothing imported" the same way, so a user (or a script) reads one format."""
    for reject in rejects[:50]:
        column = f" [{reject.column}]" if reject.column else ""
        err.print(f"line {reject.line}{column}: {reject.message}", markup=False, soft_wrap=True)
    if len(rejects) > 50:
        err.print(f"… and {len(rejects) - 50} more problems")
    if report is not None:
        write_report(report, rejects)
        err.print(f"reject report written to {report}", markup=False, soft_wrap=True)
    return fail(f"nothing imported: {len(rejects)} problems in {file.name}")


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
