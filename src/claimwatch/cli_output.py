"""What every `claimwatch` command prints on failure, in one place."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise. soft_wrap: a file path or a line
    number in an error must never be split across lines; escape: a message naming ``[brackets]`` is text."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)
