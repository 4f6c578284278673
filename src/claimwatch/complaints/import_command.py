"""The body every all-or-nothing CSV import command shares (service requests, underwriting applications, sales,
staff, training attendance, providers, the roster, knowledge articles): read the file, run the domain's importer in
one transaction as the command-line operator, and on refusal print the rejects and write the reject report
(:func:`claimwatch.cli_output.import_refused`); an accepted import with ``--rejects`` leaves an empty report, so a
script finds a file either way. The command prints its own one-line summary from the result it gets back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.orm import Session

from claimwatch.auth import cli as auth_cli
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import fail, import_refused
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Problem

Result = TypeVar("Result")


def run_csv_import(
    file: Path,
    tenant: str,
    rejects: Path | None,
    do_import: Callable[[Session, Principal, bytes], Result],
    source: str = "import",
    operator: Callable[[int, str], Principal] = auth_cli.operator,
) -> Result:
    """``do_import(session, principal, data)`` for the insurer ``tenant``; the audit trail names
    ``cli:<source> <file name>``."""
    # Read when a command runs, not when the CLI starts (the importer pulls in the complaint vocabulary).
    from claimwatch.complaints.importer import ImportRejected, write_reject_report

    if not file.is_file():
        raise fail(f"cannot read {file}: no such file")
    tenant_id = auth_cli.tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            result = do_import(session, operator(tenant_id, f"{source} {file.name}"), file.read_bytes())
    except ImportRejected as exc:
        raise import_refused(exc.result.rejects, file, rejects, write_reject_report) from exc
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    if rejects is not None:
        write_reject_report(rejects, [])
    return result
