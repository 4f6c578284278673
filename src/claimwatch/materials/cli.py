"""`claimwatch materials ...`: checklist files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from claimwatch.cli_output import fail

app = typer.Typer(help="Materials checklists (理赔材料标准化清单)", no_args_is_help=True)
console = Console()


@app.command("check")
def check(
    paths: list[Path] = typer.Argument(None, help="YAML files; default: the configured directories"),
) -> None:
    """Validate checklist files; exits 1 naming the file and line of the first problem."""
    from claimwatch.config import get_settings
    from claimwatch.materials.loader import ChecklistError, check_files, load_checklist_dir

    try:
        if paths:
            checklists = {str(path): checklist for path, checklist in zip(paths, check_files(paths), strict=True)}
        else:
            settings = get_settings()
            checklists = {
                c.source: c for c in load_checklist_dir(settings.checklists_dir, settings.extra_checklists_dir).values()
            }
    except ChecklistError as exc:
        # soft_wrap: a file path or line number in an error must never be split across lines.
        raise fail(str(exc)) from exc
    except OSError as exc:
        raise fail(str(exc)) from exc
    for name, checklist in checklists.items():
        types = ", ".join(f"{code} ({len(t.requirements)} items)" for code, t in checklist.claim_types.items())
        console.print(f"[green]ok[/green] {name}: {checklist.line}: {types}", soft_wrap=True)
