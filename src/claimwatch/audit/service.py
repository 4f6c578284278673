"""The per-tenant hash chain: append under a lock, seal with checkpoints, verify."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from claimwatch.audit import repository
from claimwatch.audit.hashing import (
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    sha256_hex,
)
from claimwatch.audit.models import AuditArchive, AuditCheckpoint, AuditEntry, AuditHead
from claimwatch.config import get_settings
from claimwatch.db import bulk_insert, utc_now
from claimwatch.privacy import derive_key


class ContentSource(Protocol):
    """How a domain whose rows live in its own table lets the verifier re-hash them.

    An entry of such a kind carries no payload: its content is the domain's row, so editing
    that row breaks the chain.
    """

    def content_hashes(self, session: Session, tenant_id: int, first_seq: int, last_seq: int) -> dict[int, str]: ...

    def count(self, session: Session, tenant_id: int, after_seq: int = 0) -> int:
        """Rows of the tenant whose entry's seq is above ``after_seq`` (the archive boundary)."""
        ...


_sources: dict[str, ContentSource] = {}


def register_content_source(kind: str, source: ContentSource) -> None:
    _sources[kind] = source


def content_sources() -> dict[str, ContentSource]:
    """The registered sources by kind (evidence recomputes content hashes the way verification does)."""
    return dict(_sources)


def seal_signature(tenant_id: int, seq: int, entry_hash: str) -> str:
    return hmac.new(derive_key("audit-seal"), f"{tenant_id}|{seq}|{entry_hash}".encode(), hashlib.sha256).hexdigest()


def start_chain(session: Session, tenant_id: int) -> None:
    session.add(AuditHead(tenant_id=tenant_id, seq=0, hash=GENESIS_HASH, checkpoint_seq=0))
    session.flush()


ENTRY_COLUMNS = (
    "tenant_id",
    "seq",
    "kind",
    "subject",
    "actor",
    "content_hash",
    "prev_hash",
    "hash",
    "recorded_at",
    "payload",
)
_RECORDED_AT_MASK = 1 << ENTRY_COLUMNS.index("recorded_at")


@dataclass
class ChainWriter:
    """Hands out sequence numbers while the head row is locked; ``close`` writes entries and head."""

    session: Session
    tenant_id: int
    seq: int
    hash: str
    checkpoint_seq: int
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    recorded_at: dt.datetime = field(default_factory=utc_now)

    def append(self, kind: str, subject: str, actor: str, content_hash: str, payload: str | None = None) -> int:
        prev_hash = self.hash
        self.seq += 1
        self.hash = chain_hash(prev_hash, self.seq, kind, content_hash)
        self.entries.append(
            (
                self.tenant_id,
                self.seq,
                kind,
                subject,
                actor,
                content_hash,
                prev_hash,
                self.hash,
                self.recorded_at,
                payload,
            )
        )
        return self.seq

    def next_seq(self) -> int:
        return self.seq + 1

    def close(self) -> None:
        if not self.entries:
            return
        bulk_insert(self.session, "audit_entries", ENTRY_COLUMNS, self.entries, _RECORDED_AT_MASK)
        values: dict[str, Any] = {"seq": self.seq, "hash": self.hash}
        if self.seq - self.checkpoint_seq >= get_settings().audit_checkpoint_every:
            self.session.execute(
                insert(AuditCheckpoint),
                [
                    {
                        "tenant_id": self.tenant_id,
                        "seq": self.seq,
                        "hash": self.hash,
                        "created_at": utc_now(),
                        "signature": seal_signature(self.tenant_id, self.seq, self.hash),
                    }
                ],
            )
            values["checkpoint_seq"] = self.seq
        self.session.execute(update(AuditHead).where(AuditHead.tenant_id == self.tenant_id).values(**values))
        self.entries = []
        self.checkpoint_seq = values.get("checkpoint_seq", self.checkpoint_seq)


def open_chain(session: Session, tenant_id: int) -> ChainWriter:
    """Lock the tenant's chain head for the rest of the transaction. Call it first in a transaction."""
    head = repository.lock_head(session, tenant_id)
    return ChainWriter(session, tenant_id, head.seq, head.hash, head.checkpoint_seq)


def record(session: Session, tenant_id: int, kind: str, subject: str, actor: str, payload: dict[str, Any]) -> int:
    """Append one entry that carries its own content (configuration changes, administrative acts)."""
    writer = open_chain(session, tenant_id)
    text = canonical_json(payload)
    seq = writer.append(kind, subject, actor, sha256_hex(text), text)
    writer.close()
    return seq


def seal(session: Session, tenant_id: int) -> AuditCheckpoint | None:
    """Write a checkpoint at the current head now (the worker and `audit seal` call this)."""
    head = repository.lock_head(session, tenant_id)
    if head.seq == 0 or head.seq == head.checkpoint_seq:
        return None
    checkpoint = AuditCheckpoint(
        tenant_id=tenant_id,
        seq=head.seq,
        hash=head.hash,
        created_at=utc_now(),
        signature=seal_signature(tenant_id, head.seq, head.hash),
    )
    session.add(checkpoint)
    head.checkpoint_seq = head.seq
    session.flush()
    return checkpoint


@dataclass(frozen=True)
class ChainBreak:
    """Where verification found the chain altered (``seq`` None: rows outside the chain). Named apart from
    :class:`claimwatch.errors.Problem`: a finding of a report, not a refused request."""

    seq: int | None
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}" if self.seq is not None else self.what


@dataclass
class VerifyReport:
    tenant_id: int
    entries_checked: int = 0
    last_seq: int = 0
    problems: list[ChainBreak] = field(default_factory=list)
    # Entries 1..archived_through were moved to archive files (``claimwatch partitions archive``): verification
    # starts after them, from the hash their archive boundary recorded. ``archive`` names the newest file.
    archived_through: int = 0
    archive: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> ChainBreak | None:
        return self.problems[0] if self.problems else None


def _check_links(
    session: Session,
    report: VerifyReport,
    pages: Iterator[Sequence[AuditEntry]],
    after_seq: int = 0,
    prev_hash: str = GENESIS_HASH,
) -> None:
    expected_seq = after_seq + 1
    for page in pages:
        stored = {
            kind: source.content_hashes(session, report.tenant_id, page[0].seq, page[-1].seq)
            for kind, source in _sources.items()
        }
        for entry in page:
            report.entries_checked += 1
            if entry.seq != expected_seq:
                if entry.seq > expected_seq:
                    gap = f"{expected_seq}" if entry.seq == expected_seq + 1 else f"{expected_seq}-{entry.seq - 1}"
                    report.problems.append(ChainBreak(expected_seq, f"entries {gap} are missing (deleted)"))
                else:
                    report.problems.append(ChainBreak(entry.seq, "sequence goes backwards (reordered)"))
                return
            if entry.prev_hash != prev_hash:
                report.problems.append(
                    ChainBreak(entry.seq, "does not link to the previous entry (reordered or replaced)")
                )
                return
            if entry.kind in stored:
                content_hash = stored[entry.kind].get(entry.seq)
                if content_hash is None:
                    report.problems.append(ChainBreak(entry.seq, f"{entry.kind} {entry.subject} is missing (deleted)"))
                    return
            else:
                content_hash = sha256_hex(entry.payload or "")
            if content_hash != entry.content_hash:
                report.problems.append(ChainBreak(entry.seq, f"content of {entry.kind} {entry.subject} was edited"))
                return
            if chain_hash(prev_hash, entry.seq, entry.kind, entry.content_hash) != entry.hash:
                report.problems.append(ChainBreak(entry.seq, "entry hash does not match its content (edited)"))
                return
            prev_hash = entry.hash
            report.last_seq = entry.seq
            expected_seq += 1


ARCHIVED_KIND = "audit.archived"


def record_archive(session: Session, archive: AuditArchive, actor: str) -> int:
    """Store an archive boundary and record it as an entry of the chain, in the caller's transaction: a boundary
    row that no entry vouches for (written by hand to hide a deleted prefix) fails verification."""
    session.add(archive)
    session.flush()
    return record(
        session, archive.tenant_id, ARCHIVED_KIND, f"archive {archive.month}", actor, _archive_payload(archive)
    )


def _archive_payload(archive: AuditArchive) -> dict[str, Any]:
    return {
        "month": archive.month,
        "first_seq": archive.first_seq,
        "last_seq": archive.last_seq,
        "last_hash": archive.last_hash,
        "entries": archive.entries,
        "manifest_sha256": archive.manifest_sha256,
        "tree_size": archive.tree_size,
        "tree_root": archive.tree_root,
    }


def archive_boundary(session: Session, tenant_id: int) -> AuditArchive | None:
    """The newest archive boundary of the tenant's chain (None: nothing archived)."""
    return repository.newest_archive(session, tenant_id)


def check_range(
    session: Session, tenant_id: int, pages: Iterator[Sequence[AuditEntry]], after_seq: int, prev_hash: str
) -> VerifyReport:
    """Check the links and contents of the entries in ``pages`` (consecutive from ``after_seq + 1``, linking to
    ``prev_hash``): what an archive checks before a month's entries leave the database."""
    report = VerifyReport(tenant_id=tenant_id, last_seq=after_seq)
    _check_links(session, report, pages, after_seq, prev_hash)
    return report


def verify(session: Session, tenant_id: int) -> VerifyReport:
    """Walk the chain (from the archive boundary, if part of it was archived); report the first edited, deleted or
    reordered entry and any truncation."""
    report = VerifyReport(tenant_id=tenant_id)
    boundary = archive_boundary(session, tenant_id)
    start_seq, start_hash = (boundary.last_seq, boundary.last_hash) if boundary is not None else (0, GENESIS_HASH)
    if boundary is not None:
        report.archived_through, report.archive, report.last_seq = boundary.last_seq, boundary.archive, start_seq
    _check_links(session, report, repository.stream_chain(session, tenant_id, start_seq), start_seq, start_hash)
    if not report.ok:
        return report
    if boundary is not None and not repository.archive_recorded(
        session, tenant_id, boundary.last_seq, ARCHIVED_KIND, sha256_hex(canonical_json(_archive_payload(boundary)))
    ):
        report.problems.append(
            ChainBreak(start_seq, "the archive boundary is not recorded in the chain (forged or edited boundary)")
        )
        return report

    head = session.execute(select(AuditHead).where(AuditHead.tenant_id == tenant_id)).scalar_one_or_none()
    checkpoints = repository.checkpoints(session, tenant_id)
    for checkpoint in checkpoints:
        if not hmac.compare_digest(checkpoint.signature, seal_signature(tenant_id, checkpoint.seq, checkpoint.hash)):
            report.problems.append(ChainBreak(checkpoint.seq, "checkpoint signature is invalid (forged seal)"))
            return report
    sealed = max((c.seq for c in checkpoints), default=0)
    if sealed > report.last_seq:
        report.problems.append(
            ChainBreak(
                report.last_seq + 1,
                f"chain ends at {report.last_seq} but a checkpoint sealed {sealed} (tail truncated)",
            )
        )
        return report
    for checkpoint in checkpoints:
        if checkpoint.seq < start_seq:
            continue  # archived: the archive file carries the entries, its manifest their hashes
        stored = start_hash if checkpoint.seq == start_seq else repository.hash_at(session, tenant_id, checkpoint.seq)
        if stored != checkpoint.hash:
            report.problems.append(ChainBreak(checkpoint.seq, "entry differs from the sealed checkpoint"))
            return report
    if head is not None and head.seq != report.last_seq:
        report.problems.append(
            ChainBreak(
                report.last_seq + 1, f"chain ends at {report.last_seq} but the head says {head.seq} (tail truncated)"
            )
        )
        return report
    for kind, source in _sources.items():
        outside = source.count(session, tenant_id, start_seq) - repository.count_entries(
            session, tenant_id, kind, start_seq
        )
        if outside:
            report.problems.append(
                ChainBreak(None, f"{outside} {kind} rows are not in the chain (written outside claimwatch)")
            )
    return report
