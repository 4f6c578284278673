"""`claimwatch demo ...` (filled in by the demo-data work)."""

import typer

app = typer.Typer(help="Demo data", no_args_is_help=True)
