"""`claimwatch import ...` (filled in by the bulk-import work)."""

import typer

app = typer.Typer(help="Bulk import", no_args_is_help=True)
