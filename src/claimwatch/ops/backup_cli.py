"""`claimwatch backup OUT` and `claimwatch restore IN` (wired as top-level commands in claimwatch/cli.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from claimwatch import db
from claimwatch.cli_output import fail
from claimwatch.config import get_settings
from claimwatch.ops import backup as backups

console = Console()

# Exit codes: 1 refused (nothing was changed); 3 restored, but the verification found a problem.
VERIFY_FAILED = 3


def _url() -> str:
    return db.get_engine().url.render_as_string(hide_password=False)


def backup(
    out: Path = typer.Argument(..., help="a new (or empty) directory for the backup"),
) -> None:
    """Back up the database (SQLite: online backup API; PostgreSQL: pg_dump custom format), the documents
    directory and a manifest with every file's SHA-256 and each tenant's audit-chain head."""
    try:
        manifest = backups.backup(out, _url(), get_settings().documents_dir)
    except backups.BackupError as exc:
        raise fail(str(exc)) from None
    heads = ", ".join(f"{h['tenant']}@{h['seq']}" for h in manifest["audit_heads"]) or "none"
    console.print(
        f"backup written to {out}: {manifest['database']} database at schema {manifest['alembic_revision']}, "
        f"{manifest['documents']['count']} documents ({manifest['documents']['bytes']} bytes); audit heads {heads}",
        soft_wrap=True,
    )


def restore(
    source: Path = typer.Argument(..., help="a directory written by `claimwatch backup`"),
    force_documents: bool = typer.Option(
        False, "--force-documents", help="copy the documents into a non-empty documents directory"
    ),
) -> None:
    """Restore a backup onto an EMPTY database of the same kind, then verify the audit chains and every
    document's SHA-256 against its record and the chain. Exit 1: refused, nothing changed; exit 3: restored
    but the verification failed."""
    url = _url()
    documents = get_settings().documents_dir
    try:
        plan = backups.prepare_restore(source, url, documents, force_documents=force_documents)
        db.get_engine().dispose()
        copied = backups.restore(plan, url, documents)
    except backups.BackupError as exc:
        raise fail(str(exc)) from None
    manifest = plan.manifest
    console.print(
        f"restored {manifest['database']} database (schema {manifest['alembic_revision']}, backup of "
        f"{manifest['created_at']}) and {copied} documents into {documents}",
        soft_wrap=True,
    )
    result = backups.verify(documents, manifest["audit_heads"])
    table = Table("tenant", "entries", "audit chain", "head as in the backup")
    for chain in result.chains:
        table.add_row(
            chain.tenant,
            str(chain.entries),
            "[green]intact[/green]" if chain.problem is None else f"[red]{chain.problem}[/red]",
            "[green]yes[/green]" if chain.head_matches else "[red]no[/red]",
        )
    console.print(table)
    for problem in result.document_problems:
        console.print(f"[red]document[/red] {problem}", soft_wrap=True)
    bad = len(result.document_problems)
    verdict = f"{bad} do not match" if bad else "all match their records and the audit chain"
    console.print(f"documents: {result.documents_checked} checked, {verdict}")
    from alembic.script import ScriptDirectory

    from claimwatch import migrate

    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    if manifest["alembic_revision"] != head:
        console.print(f"the schema is at {manifest['alembic_revision']}, not {head}: run `claimwatch db upgrade`")
    if not result.ok:
        raise fail("verification failed: see above", code=VERIFY_FAILED)
