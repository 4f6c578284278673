"""`claimwatch kb …`: import articles (YAML like defaults/kb/sample_articles.yaml, or CSV; all or nothing with a
reject report; published at once), search as a handler would, and the stale report."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import DryRunOption, ImportFile, RejectsOption
from claimwatch.complaints.import_command import run_csv_import
from claimwatch.db import TenantContext, unit_of_work

app = typer.Typer(help="Knowledge base (客户咨询知识库): import, search, stale articles", no_args_is_help=True)
console = Console(soft_wrap=True)


def _operator(tenant_id: int, source: str) -> Principal:
    """The command line edits and approves as the insurer's quality manager would (recorded as ``cli:…``)."""
    return Principal(role=Role.QUALITY_MANAGER, tenant_id=tenant_id, actor=f"cli:{source}"[:100])


@app.command("import")
def import_file(
    file: ImportFile,
    tenant: str = typer.Option(..., help="the insurer's code"),
    rejects: RejectsOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Import articles (.yaml/.yml or .csv), all or nothing; an existing code is left as it is."""
    from claimwatch.kb import importer

    result = run_csv_import(
        file,
        tenant,
        rejects,
        lambda session, principal, data: importer.import_articles(session, principal, data, file.name, dry_run=dry_run),
        source="kb import",
        operator=_operator,
    )
    verb = "would import" if dry_run else "imported and published"
    console.print(f"{result.rows} articles: {verb} {result.created}, already there {result.existing}")


@app.command("search")
def search_command(
    text: str = typer.Argument(..., help="the question, as a customer would ask it"),
    tenant: str = typer.Option(..., help="the insurer's code"),
    limit: int = typer.Option(5, min=1, max=50),
    line: str = typer.Option("", help="only articles for this line (or for every line)"),
) -> None:
    """The best-matching published articles, with their scores and matched terms."""
    from claimwatch.auth.cli import tenant_id_of
    from claimwatch.kb import search

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        hits = search.search(session, tenant_id, text, limit, line=line or None)
    console.print("terms: " + " ".join(search.query_terms(text)), markup=False)
    table = Table("code", "score", "question", "matched")
    for hit in hits:
        table.add_row(hit.code, f"{hit.score:.2f}", hit.title, " ".join(hit.matched))
    console.print(table)
    if not hits:
        console.print("no article matches")


@app.command("stale")
def stale_command(
    tenant: str = typer.Option(..., help="the insurer's code"),
    months: int = typer.Option(12, min=1, max=120, help="not reviewed for this many months"),
) -> None:
    """Articles not reviewed for N months or found unhelpful."""
    from claimwatch.auth.cli import tenant_id_of
    from claimwatch.kb import stale

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        rows = stale.report(session, dt.datetime.now(dt.UTC).date(), months=months)
    table = Table("code", "title", "reviewed", "helpful", "reasons")
    for row in rows:
        reviewed = row["reviewed_at"].date().isoformat() if row["reviewed_at"] else ""
        share = "" if row["helpful_share"] is None else f"{row['helpful_share']:.0%}"
        table.add_row(row["code"], row["title"], reviewed, share, ", ".join(row["reasons"]))
    console.print(table)
    console.print(f"{len(rows)} stale articles")
