"""`claimwatch evidence …`: receipts (write), offline verification (no database), heads, signing, the tree
check, key rotation and the witness check."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from claimwatch.auth.cli import operator, tenant_id_of
from claimwatch.cli_output import fail
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Problem

app = typer.Typer(
    help="Evidence receipts (存证): signed tree heads, receipts, offline verification", no_args_is_help=True
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@app.command("receipt")
def receipt(
    tenant: str = typer.Option(..., help="the insurer's code"),
    claim: str = typer.Option(None, help="a claim number: the receipt of its events, documents and notices"),
    seq: int = typer.Option(None, help="one audit entry"),
    document: int = typer.Option(None, help="one document of --claim (its id): its fingerprint entry"),
    output: Path = typer.Option(None, "--output", "-o", help="write the receipt here (default: stdout)"),
) -> None:
    """Write a JSON receipt, signing a tree head first if none covers the entries yet."""
    from claimwatch.evidence import receipts, service

    if (claim is None) == (seq is None):
        raise fail("give --claim N or --seq S")
    if document is not None and claim is None:
        raise fail("--document needs --claim")
    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            if document is not None:
                found = service.receipt_for_document(session, tenant_id, claim, document)
            elif claim is not None:
                found = service.receipt_for_claim(session, tenant_id, claim)
            else:
                found = service.receipt_for_entry(session, tenant_id, seq)
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    text = receipts.dumps(found)
    if output is None:
        console.print(text, markup=False, highlight=False, end="")
        return
    output.write_text(text, encoding="utf-8")
    count = len(found.get("entries", [found]))
    err.print(f"receipt of {count} entries written to {output}", markup=False)


@app.command("verify")
def verify(
    receipt_file: Path = typer.Argument(..., help="a receipt (JSON) from `evidence receipt` or a download"),
    document: Path = typer.Option(None, help="a file whose SHA-256 must be a fingerprint the receipt records"),
    public_key: str = typer.Option(None, "--public-key", help="the insurer's public key (hex) you trust"),
) -> None:
    """Verify a receipt offline (no database): leaf, inclusion proof, signed head, key, content, document.
    Exit 1 naming the field that failed."""
    from claimwatch.evidence import receipts

    if not receipt_file.is_file():
        raise fail(f"cannot read {receipt_file}: no such file")
    if document is not None and not document.is_file():
        raise fail(f"cannot read {document}: no such file")
    data = document.read_bytes() if document is not None else None
    try:
        result = receipts.verify(receipts.load(receipt_file.read_bytes()), public_key, data)
    except receipts.ReceiptError as exc:
        raise fail(f"NOT VERIFIED: {exc.field}: {exc.message}") from exc
    head = result.entries[0]
    what = f"claim {result.claim}, {len(result.entries)} entries" if result.claim else f"entry {head.seq}"
    console.print(
        f"verified: {result.tenant} {what} are in the tree of {head.tree_size} entries signed at "
        f"{head.signed_at.isoformat()} by key {head.key_id}",
        markup=False,
    )
    if public_key is None:
        err.print(
            f"checked against the receipt's own key {result.key_id}: compare it with the insurer's published key "
            "(GET /api/v1/evidence/keys) or pass --public-key",
            markup=False,
        )
    if result.document_seq is not None:
        console.print(f"document: its SHA-256 is the fingerprint recorded in entry {result.document_seq}", markup=False)


@app.command("heads")
def list_heads(
    tenant: str = typer.Option(..., help="the insurer's code"),
    limit: int = typer.Option(20, min=1, max=200),
) -> None:
    """The insurer's signed tree heads, largest first."""
    from claimwatch.evidence import heads, service

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.regulator_of(tenant_id)) as session:
        found = service.heads(session, tenant_id, limit)
        table = Table("size", "signed at (UTC)", "reason", "key", "root")
        for head in found:
            table.add_row(
                str(head.tree_size), heads.format_signed_at(head.signed_at), head.reason, head.key_id, head.root_hash
            )
    console.print(table)


@app.command("sign")
def sign(tenant: str = typer.Option(..., help="the insurer's code")) -> None:
    """Append the new audit entries to the tree and sign a head now (reason manual)."""
    from claimwatch.evidence import service

    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            head = service.sign_now(session, tenant_id, operator(tenant_id, "evidence sign"))
            size, root, key_id = head.tree_size, head.root_hash, head.key_id
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"{tenant}: signed the head of {size} entries, root {root}, key {key_id}", markup=False)


@app.command("check")
def check(tenant: str = typer.Option(..., help="the insurer's code")) -> None:
    """Recompute every leaf from the stored data; compare with the stored tree and the newest head. Exit 1
    naming the first seq that differs."""
    from claimwatch.evidence import service

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.regulator_of(tenant_id)) as session:
        report = service.check_tree(session, tenant_id)
    if report.ok:
        console.print(
            f"{tenant}: intact — {report.tree_size} leaves of {report.chain_size} entries, newest head "
            f"{report.head_size if report.head_size is not None else 'none'}",
            markup=False,
        )
        return
    for problem in report.problems:
        err.print(f"{tenant}: {problem}", markup=False)
    raise typer.Exit(1)


@app.command("rotate")
def rotate(
    tenant: str = typer.Option(..., help="the insurer's code"),
    reason: str = typer.Option(..., help="why (kept in the audit chain)"),
) -> None:
    """Retire the insurer's signing key and create a new one (old heads stay verifiable)."""
    from claimwatch.evidence import service

    tenant_id = tenant_id_of(tenant)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            done = service.rotate_key(session, tenant_id, operator(tenant_id, "evidence rotate"), reason)
            old = done.retired.key_id if done.retired is not None else "none"
            new, public = done.created.key_id, done.created.public_key
    except Problem as exc:
        raise fail(f"{exc.field}: {exc.message}") from exc
    console.print(f"{tenant}: retired {old}; new key {new} public {public}", markup=False)


@app.command("witness")
def witness_now(tenant: str = typer.Option(..., help="the insurer's code")) -> None:
    """The platform witnesses the insurer's newest head now. Exit 1 when it is inconsistent or badly signed."""
    from claimwatch.evidence import witness

    tenant_id = tenant_id_of(tenant)
    with unit_of_work(TenantContext.system_context()) as session:
        copy = witness.check(session, tenant_id)
        found = None if copy is None else (copy.status, copy.tree_size, copy.problem)
    if found is None:
        raise fail(f"{tenant} has signed no tree head yet")
    status, size, problem = found
    console.print(f"{tenant}: head of size {size}: {status}" + (f" — {problem}" if problem else ""), markup=False)
    if status in witness.ALARMS:
        raise typer.Exit(1)


@app.command("run")
def run_pass() -> None:
    """One worker pass now: append, sign due heads (seals, hourly), witness them."""
    from claimwatch.evidence import jobs

    result = jobs.run()
    console.print(
        f"appended {result.appended} leaves, signed {len(result.signed)} heads, witnessed {result.witnessed}"
        + (f"; failed: {', '.join(result.failed)}" if result.failed else ""),
        markup=False,
    )
    if result.failed:
        raise typer.Exit(1)
