"""Bulk import of case events from CSV or JSON Lines, through the same rules as the event API.

Two modes:

* ``all-or-nothing``: the whole file in one transaction; one bad row and nothing is committed.
* ``skip-invalid``: one transaction per batch; a bad event goes to the reject report and the rest
  of its batch is retried without it. An interrupted import leaves only whole batches, and running
  the same file again is safe: event ids already applied are acknowledged as duplicates.

CSV header (UTF-8, one event per row; an empty cell means "absent")::

    event_id,claim_number,type,occurred_at,tenant,actor,to_status,reason,assignee,assessed_amount,
    paid_amount,claim.line,claim.policy_number,claim.org_code,claim.region_code,claim.reported_amount,
    claim.claimant.name,claim.claimant.phone,claim.claimant.id_number

Only the first four columns are required; dotted names nest (``claim.claimant.phone``).
"""

# (The docstring above is `claimwatch import events --help`.) This module reads and checks rows and applies
# one batch in the session it is given; the transactions (one for the file, or one per batch) are opened by
# claimwatch.imports.jobs.

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from claimwatch.privacy import scrub_text
from claimwatch.tenancy import repository as tenancy_repository

CSV_REQUIRED = ("event_id", "claim_number", "type", "occurred_at")
CSV_COLUMNS = (
    *CSV_REQUIRED,
    "tenant",
    "actor",
    "to_status",
    "reason",
    "assignee",
    "assessed_amount",
    "paid_amount",
    "claim.line",
    "claim.policy_number",
    "claim.org_code",
    "claim.region_code",
    "claim.reported_amount",
    "claim.claimant.name",
    "claim.claimant.phone",
    "claim.claimant.id_number",
)
MODES = ("all-or-nothing", "skip-invalid")


class ImportFailed(Exception):
    """The file cannot be imported at all (unreadable, wrong header, unknown tenant): exit code 2."""


@dataclass(frozen=True)
class Reject:
    line: int
    event_id: str | None
    field: str
    reason: str


@dataclass
class ImportResult:
    rows: int = 0
    applied: int = 0
    duplicates: int = 0
    rejects: list[Reject] = field(default_factory=list)
    committed: bool = True


@dataclass(frozen=True)
class Row:
    line: int
    event: EventIn | None
    reject: Reject | None


def detect_format(path: Path, forced: str | None) -> str:
    if forced:
        if forced not in ("csv", "jsonl"):
            raise ImportFailed(f"unknown format {forced!r} (csv or jsonl)")
        return forced
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ImportFailed(f"cannot tell the format of {path.name}: use .csv or .jsonl, or --format")


def count_rows(path: Path, fmt: str) -> int:
    with path.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return max(lines - 1, 0) if fmt == "csv" else lines


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None or value == "":
            continue
        target = nested
        *parents, leaf = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return nested


def validate_row(line: int, raw: Any) -> Row:
    if not isinstance(raw, dict):
        return Row(line, None, Reject(line, None, "body", "each line must be a JSON object"))
    try:
        return Row(line, EventIn.model_validate(raw), None)
    except ValidationError as exc:
        error = exc.errors()[0]
        location = ".".join(str(part) for part in error["loc"]) or "body"
        event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
        return Row(line, None, Reject(line, event_id, location, scrub_text(error["msg"])))


def read_rows(path: Path, fmt: str) -> Iterator[Row]:
    """Every row with its physical line number, parsed and validated, or the reason it is not."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        if fmt == "jsonl":
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    raw = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield Row(
                        number, None, Reject(number, None, "body", f"malformed JSON: {exc.msg} (column {exc.colno})")
                    )
                    continue
                yield validate_row(number, raw)
            return
        yield from _read_csv(handle)


def _read_csv(handle: io.TextIOBase) -> Iterator[Row]:
    reader = csv.DictReader(handle, restkey="__extra__")
    header = reader.fieldnames or []
    missing = [name for name in CSV_REQUIRED if name not in header]
    if missing:
        raise ImportFailed(f"line 1: CSV header lacks required column(s) {', '.join(missing)}")
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise ImportFailed(f"line 1: unknown CSV column(s) {', '.join(unknown)}")
    for record in reader:
        line = reader.line_num
        if "__extra__" in record:
            yield Row(line, None, Reject(line, record.get("event_id"), "row", "more cells than header columns"))
            continue
        if any(value is None for value in record.values()):
            yield Row(line, None, Reject(line, record.get("event_id"), "row", "fewer cells than header columns"))
            continue
        yield validate_row(line, _nest(record))


def integration_principal(tenant_id: int, source: str) -> Principal:
    return Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor=f"import:{source}"[:100])


def resolve_tenant(session: Session, code: str) -> int:
    tenant = tenancy_repository.tenant_by_code(session, code)
    if tenant is None:
        raise ImportFailed(f"unknown tenant {code!r}")
    return tenant.id


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ImportFailed(f"unknown mode {mode!r} ({' or '.join(MODES)})")


def batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def count(result: ImportResult, acks: list[cases_service.Ack]) -> None:
    for ack in acks:
        if ack.status == "applied":
            result.applied += 1
        else:
            result.duplicates += 1


def rejects_of(rows: list[Row], exc: cases_service.IngestRejected) -> list[Reject]:
    return [
        Reject(rows[p.index].line, p.event_id, p.field, scrub_text(p.message))
        for p in exc.event_problems
        if 0 <= p.index < len(rows)
    ]


def apply(session: Session, principal: Principal, rows: list[Row]) -> list[cases_service.Ack]:
    """The valid rows' events through the event API's rules, in ``session``; raises
    :class:`~claimwatch.cases.service.IngestRejected` naming the bad ones (the caller rolls back)."""
    return cases_service.ingest_events(session, principal, [row.event for row in rows if row.event is not None])


def write_reject_report(path: Path, rejects: list[Reject]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "event_id", "field", "reason"])
        for reject in sorted(rejects, key=lambda r: r.line):
            writer.writerow([reject.line, reject.event_id or "", reject.field, reject.reason])
