"""The per-tenant hash chain: append under a lock, seal with checkpoints, verify.

Two ways to append. :func:`open_chain` (every domain, and all of SQLite) takes the chain head ``FOR UPDATE`` for
the rest of the transaction and appends right after it, as it always did. :func:`open_block_writer` (case-event
ingestion on PostgreSQL) takes the head ``FOR SHARE`` only - so batches of one tenant are written side by side,
while any :func:`open_chain` writer still excludes them all - and gets its sequence numbers as a block from the
tenant's counter (``audit_allocators``) in a short autocommitted statement of its own. Its entries are chained
inside the block from ``hashing.block_anchor``; the block records how far it was written. :func:`link` (after
the batch commits if the head is free, in the worker's pass, and first thing in every :func:`open_chain`) walks
the blocks past the head in sequence order, turns what was handed out but never written (a rolled-back batch) into
``audit.void`` entries, and chains each block in: ``head.hash = link_hash(previous, first, last, last entry)``.
A void is written only for a block recorded ``open`` or for the tail past what the block says was written, so a
deleted entry is never taken for a void; sequence numbers without a block record stop the linker.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import structlog
from sqlalchemy import Engine, Table, bindparam, case, create_engine, event, func, insert, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from claimwatch.audit import repository
from claimwatch.audit.hashing import (
    GENESIS_HASH,
    block_anchor,
    canonical_json,
    chain_hash,
    link_hash,
    sha256_hex,
)
from claimwatch.audit.models import AuditAllocator, AuditArchive, AuditBlock, AuditCheckpoint, AuditEntry, AuditHead
from claimwatch.config import get_settings
from claimwatch.db import bulk_insert, utc_now
from claimwatch.errors import Conflict
from claimwatch.privacy import derive_key

log = structlog.get_logger("claimwatch.audit")
VOID_KIND = "audit.void"
OPEN, WRITTEN, LINKED = "open", "written", "linked"
_BLOCK_WRITER = "claimwatch.audit.block_writer"
_EXCLUSIVE = "claimwatch.audit.exclusive"


class ChainBroken(Conflict):
    """The linker found sequence numbers it cannot account for (a block record or written entries deleted)."""

    def __init__(self, message: str) -> None:
        super().__init__("seq", message)


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
    session.add(AuditAllocator(tenant_id=tenant_id, next_seq=1))
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
    """Hands out sequence numbers; ``close`` writes the entries (and the head, or the blocks' records).

    Serial (``open_chain``): right after the head, which is locked. Concurrent (``open_block_writer``): from
    blocks allocated on demand (``reserve`` asks for several at once), each chained from its anchor."""

    session: Session
    tenant_id: int
    seq: int
    hash: str
    checkpoint_seq: int
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    recorded_at: dt.datetime = field(default_factory=utc_now)
    concurrent: bool = False
    limit: int = 0  # concurrent: the last seq of the current block
    block_first: int = 0
    spare: list[tuple[int, int]] = field(default_factory=list)  # concurrent: blocks allocated, not yet begun
    filled: dict[int, tuple[int, str]] = field(default_factory=dict)  # block first seq -> (last seq, hash) written

    def _room(self) -> None:
        if self.seq < self.limit:
            return
        first, last = self.spare.pop(0) if self.spare else _allocate(self.session, self.tenant_id, 1)
        self.block_first, self.limit = first, last
        self.seq, self.hash = first - 1, block_anchor(first)

    def reserve(self, count: int) -> None:
        """Concurrent writer: sequence numbers for the next ``count`` entries in one allocation."""
        free = self.limit - self.seq + sum(last - first + 1 for first, last in self.spare)
        if self.concurrent and count > free:
            self.spare.append(_allocate(self.session, self.tenant_id, count - free))

    def append(self, kind: str, subject: str, actor: str, content_hash: str, payload: str | None = None) -> int:
        if self.concurrent:
            self._room()
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
        if self.concurrent:
            self.filled[self.block_first] = (self.seq, self.hash)
        return self.seq

    def next_seq(self) -> int:
        if self.concurrent:
            self._room()
        return self.seq + 1

    def close(self) -> None:
        if not self.entries:
            return
        bulk_insert(self.session, "audit_entries", ENTRY_COLUMNS, self.entries, _RECORDED_AT_MASK)
        self.entries = []
        if self.concurrent:
            blocks = cast(Table, AuditBlock.__table__)
            self.session.execute(
                update(blocks)
                .where(blocks.c.tenant_id == self.tenant_id, blocks.c.first_seq == bindparam("first"))
                .values(state=WRITTEN, filled_seq=bindparam("filled"), last_hash=bindparam("hash")),
                [{"first": first, "filled": seq, "hash": hash_} for first, (seq, hash_) in self.filled.items()],
                execution_options={"synchronize_session": False},
            )
            self.filled = {}
            return
        self.checkpoint_seq = _move_head(self.session, self.tenant_id, self.seq, self.hash, self.checkpoint_seq)


def _move_head(session: Session, tenant_id: int, seq: int, hash_: str, checkpoint_seq: int) -> int:
    """The head (and the counter) to ``seq``; a checkpoint when one is due. Returns the checkpoint seq."""
    values: dict[str, Any] = {"seq": seq, "hash": hash_}
    if seq - checkpoint_seq >= get_settings().audit_checkpoint_every:
        session.execute(
            insert(AuditCheckpoint),
            [
                {
                    "tenant_id": tenant_id,
                    "seq": seq,
                    "hash": hash_,
                    "created_at": utc_now(),
                    "signature": seal_signature(tenant_id, seq, hash_),
                }
            ],
        )
        values["checkpoint_seq"] = checkpoint_seq = seq
    session.execute(update(AuditHead).where(AuditHead.tenant_id == tenant_id).values(**values))
    session.execute(
        update(AuditAllocator).where(AuditAllocator.tenant_id == tenant_id).values(next_seq=seq + 1),
        execution_options={"synchronize_session": False},
    )
    return checkpoint_seq


def open_chain(session: Session, tenant_id: int) -> ChainWriter:
    """Lock the tenant's chain head for the rest of the transaction. Call it first in a transaction.

    Inside a concurrent ingestion (a case-event subscriber auditing something) it is that batch's writer."""
    current = session.info.get(_BLOCK_WRITER)
    if current is not None and current.tenant_id == tenant_id:
        return current
    head = repository.lock_head(session, tenant_id)
    _hold_exclusive(session, tenant_id)
    _link_pending(session, head)
    return ChainWriter(session, tenant_id, head.seq, head.hash, head.checkpoint_seq)


def _hold_exclusive(session: Session, tenant_id: int) -> None:
    """Note that this transaction holds the head ``FOR UPDATE`` (and, once it moved the head, the counter's row)
    until it ends: a batch ingested later in it must not ask the counter on another connection (it would wait for
    this very transaction), so :func:`open_block_writer` gives it this serial writer instead."""
    held: set[int] | None = session.info.get(_EXCLUSIVE)
    if held is None:
        held = session.info[_EXCLUSIVE] = set()

        def forget(session: Session, *args: Any) -> None:
            session.info.pop(_EXCLUSIVE, None)

        event.listen(session, "after_commit", forget, once=True)
        event.listen(session, "after_rollback", forget, once=True)
    held.add(tenant_id)


def concurrent_ingest(session: Session) -> bool:
    """Whether case-event batches of one tenant are written side by side (PostgreSQL, unless configured off)."""
    return session.get_bind().dialect.name == "postgresql" and get_settings().audit_concurrent_ingest


def open_block_writer(session: Session, tenant_id: int) -> ChainWriter:
    """A concurrent writer for this transaction (PostgreSQL): the head ``FOR SHARE``, so every
    :func:`open_chain` writer still waits for it and it for them, but not for another block writer. Call it first
    in a transaction. After the transaction commits the blocks are linked if the head is free at that moment."""
    current = session.info.get(_BLOCK_WRITER)
    if current is not None:
        return current
    if tenant_id in session.info.get(_EXCLUSIVE, ()):
        return open_chain(session, tenant_id)  # this transaction already holds the head: it writes alone
    repository.share_head(session, tenant_id)
    writer = ChainWriter(session, tenant_id, 0, GENESIS_HASH, 0, concurrent=True)
    session.info[_BLOCK_WRITER] = writer

    def forget(session: Session, *args: Any) -> None:
        session.info.pop(_BLOCK_WRITER, None)

    def link_soon(session: Session) -> None:
        forget(session)
        from claimwatch.audit import jobs  # the jobs own their transactions; this runs after ours committed

        jobs.link_if_free(tenant_id)

    event.listen(session, "after_commit", link_soon, once=True)
    event.listen(session, "after_rollback", forget, once=True)
    return writer


def forget_block_writer(session: Session) -> None:
    """The batch is done (its writer closed, or the transaction failed): stop handing the writer out, so a later
    :func:`open_chain` in this transaction takes the head ``FOR UPDATE`` (and links this transaction's blocks)."""
    session.info.pop(_BLOCK_WRITER, None)


_allocators: dict[str, Engine] = {}

_ALLOCATE = text(
    "WITH a AS (UPDATE audit_allocators SET next_seq = next_seq + :n WHERE tenant_id = :t"
    " RETURNING next_seq - :n AS first_seq)"
    " INSERT INTO audit_blocks (tenant_id, first_seq, last_seq, state, filled_seq, voided, allocated_at)"
    " SELECT :t, first_seq, first_seq + :n - 1, 'open', first_seq - 1, 0, :now FROM a RETURNING first_seq"
)


def _allocator(session: Session) -> Engine:
    """A small pool of its own for the allocations: the batch's transaction holds a connection of the main pool
    while it waits for one, so sharing that pool could leave every connection waiting for another."""
    bind = session.get_bind()
    url = bind.engine.url.render_as_string(hide_password=False)
    engine = _allocators.get(url)
    if engine is None:
        # synchronous_commit off: an allocation need not wait for its WAL flush. The batch that uses the numbers
        # commits after it, and WAL is flushed in order: a durable batch implies a durable allocation.
        engine = _allocators[url] = create_engine(
            url,
            pool_size=2,
            max_overflow=8,
            pool_pre_ping=True,
            isolation_level="AUTOCOMMIT",
            connect_args={"options": "-c synchronous_commit=off"},
        )
        event.listen(bind.engine, "engine_disposed", lambda *_: engine.dispose())
    return engine


def _allocate(session: Session, tenant_id: int, count: int) -> tuple[int, int]:
    """Sequence numbers ``first..first + count - 1`` for this writer, committed at once with their ``open``
    block record (if our batch rolls back, the linker voids them)."""
    with _allocator(session).connect() as conn:
        first = conn.execute(_ALLOCATE, {"n": count, "t": tenant_id, "now": utc_now()}).scalar_one_or_none()
    if first is None:
        raise LookupError(f"tenant {tenant_id} has no audit chain")
    return first, first + count - 1


def link(session: Session, tenant_id: int, nowait: bool = False) -> int:
    """Lock the head and link every block written past it (voiding what was handed out and never written).
    ``nowait``: give up at once (return -1) when a writer holds the head. Returns how many entries were linked."""
    head = repository.lock_head(session, tenant_id, nowait=nowait)
    if head is None:
        return -1
    _hold_exclusive(session, tenant_id)
    before = head.seq
    _link_pending(session, head)
    return head.seq - before


def _link_pending(session: Session, head: AuditHead) -> None:
    """Under the head's FOR UPDATE lock no block writer is running: every block past the head is either written
    (its transaction committed) or dead. Link them in sequence order; a gap without a record is an error."""
    if session.get_bind().dialect.name != "postgresql":
        return
    tenant_id = head.tenant_id
    allocated = session.execute(
        select(AuditAllocator.next_seq).where(AuditAllocator.tenant_id == tenant_id)
    ).scalar_one_or_none()
    if allocated is None or allocated - 1 <= head.seq:
        return
    blocks = session.execute(
        select(AuditBlock)
        .where(AuditBlock.tenant_id == tenant_id, AuditBlock.first_seq > head.seq)
        .order_by(AuditBlock.first_seq)
    ).scalars()
    expected, running, now = head.seq + 1, head.hash, utc_now()
    voids: list[tuple[Any, ...]] = []
    for block in blocks:
        first, last = block.first_seq, block.last_seq
        if first != expected:
            raise ChainBroken(f"sequence numbers {expected}-{first - 1} were handed out but have no block record")
        prev = block_anchor(first)
        filled = first - 1
        if block.state == WRITTEN:
            filled = block.filled_seq
            count, top = session.execute(
                select(func.count(), func.max(case((AuditEntry.seq == filled, AuditEntry.hash)))).where(
                    AuditEntry.tenant_id == tenant_id, AuditEntry.seq.between(first, last)
                ),
                execution_options={"include_all_tenants": True},
            ).one()
            if count != filled - first + 1 or top != block.last_hash:
                raise ChainBroken(
                    f"block {first}-{last} was written up to {filled} but its entries are missing or changed"
                )
            prev = block.last_hash or prev
        elif block.state != OPEN:
            raise ChainBroken(f"block {first}-{last} is {block.state} but lies past the head")
        reason = "rolled back" if block.state == OPEN else "not used"
        for seq in range(filled + 1, last + 1):
            payload = canonical_json({"block": [first, last], "reason": reason})
            content = sha256_hex(payload)
            entry_hash = chain_hash(prev, seq, VOID_KIND, content)
            voids.append(
                (tenant_id, seq, VOID_KIND, f"{first}-{last}", "system:audit", content, prev, entry_hash, now, payload)
            )
            prev = entry_hash
        running = link_hash(running, first, last, prev)
        block.state, block.last_hash, block.link_hash = LINKED, prev, running
        block.filled_seq, block.voided, block.linked_at = last, last - filled, now
        expected = last + 1
    if expected != allocated:
        raise ChainBroken(f"sequence numbers {expected}-{allocated - 1} were handed out but have no block record")
    if voids:
        bulk_insert(session, "audit_entries", ENTRY_COLUMNS, voids, _RECORDED_AT_MASK)
    session.flush()
    checkpoint_seq = _move_head(session, tenant_id, allocated - 1, running, head.checkpoint_seq)
    # What the UPDATE wrote, without marking the entity dirty (a later flush would write it over a writer's).
    for name, value in (("seq", allocated - 1), ("hash", running), ("checkpoint_seq", checkpoint_seq)):
        set_committed_value(head, name, value)


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
    _hold_exclusive(session, tenant_id)
    _link_pending(session, head)
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
    linked_seq: int = 0  # the head: entries past it are in blocks not linked yet (checked inside their blocks)
    voided: int = 0  # audit.void entries: sequence numbers handed to batches that rolled back
    problems: list[ChainBreak] = field(default_factory=list)
    # Entries 1..archived_through were moved to archive files (``claimwatch partitions archive``): verification
    # starts after them, from the hash their archive boundary recorded. ``archive`` names the newest file.
    archived_through: int = 0
    archive: str | None = None
    # The chain's hash after the last entry checked (a linked block's link hash where a block ended there).
    running_hash: str = GENESIS_HASH

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> ChainBreak | None:
        return self.problems[0] if self.problems else None


@dataclass
class _Walk:
    """Where the walk is: the next seq, the chain's hash so far, the current block (if the seq is in one)."""

    head_seq: int
    checkpoints: set[int]
    expected_seq: int = 1
    running: str = GENESIS_HASH  # the chain's hash after the last entry (or linked block) passed
    prev: str = GENESIS_HASH  # what the next entry's prev_hash must be
    block: AuditBlock | None = None
    blocks: dict[int, AuditBlock] = field(default_factory=dict)
    hashes_at: dict[int, str] = field(default_factory=dict)  # the chain's hash at each checkpoint seq

    def skip_unwritten(self, report: VerifyReport, upto: int) -> None:
        """Pass over sequence numbers that were handed out past the head but not (yet) written: the tail of the
        current block past what it says was written, and whole blocks still ``open``."""
        while self.expected_seq < upto:
            block = self.block
            if block is not None and block.state != LINKED and self.expected_seq > block.filled_seq:
                self.expected_seq, self.block = block.last_seq + 1, None
                continue
            following = self.blocks.get(self.expected_seq)
            if block is None and following is not None and following.state == OPEN:
                self.expected_seq = following.last_seq + 1
                continue
            return

    def enter(self, seq: int) -> None:
        if self.block is None and seq in self.blocks:
            self.block = self.blocks[seq]
            self.prev = block_anchor(seq)

    def passed(self, report: VerifyReport, entry: AuditEntry) -> None:
        block = self.block
        if block is None:
            self.running = self.prev = entry.hash
        elif entry.seq == block.last_seq:
            if block.state == LINKED:
                self.running = self.prev = link_hash(self.running, block.first_seq, block.last_seq, entry.hash)
                if block.link_hash != self.running:
                    report.problems.append(
                        ChainBreak(
                            entry.seq,
                            f"block {block.first_seq}-{block.last_seq}'s link does not match its entries (edited)",
                        )
                    )
            self.block = None
        else:
            self.prev = entry.hash
        if entry.kind == VOID_KIND:
            report.voided += 1
        if entry.seq in self.checkpoints:
            self.hashes_at[entry.seq] = self.running if self.block is None else entry.hash
        self.expected_seq = entry.seq + 1


def _check_links(session: Session, report: VerifyReport, pages: Iterator[Sequence[AuditEntry]], walk: _Walk) -> None:
    for page in pages:
        stored = {
            kind: source.content_hashes(session, report.tenant_id, page[0].seq, page[-1].seq)
            for kind, source in _sources.items()
        }
        walk.blocks = {first: b for first, b in walk.blocks.items() if b.last_seq >= walk.expected_seq}
        walk.blocks.update(repository.blocks_between(session, report.tenant_id, walk.expected_seq, page[-1].seq))
        for entry in page:
            report.entries_checked += 1
            if entry.seq > walk.head_seq:
                walk.skip_unwritten(report, entry.seq)
            if entry.seq != walk.expected_seq:
                expected_seq = walk.expected_seq
                if entry.seq > expected_seq:
                    gap = f"{expected_seq}" if entry.seq == expected_seq + 1 else f"{expected_seq}-{entry.seq - 1}"
                    report.problems.append(ChainBreak(expected_seq, f"entries {gap} are missing (deleted)"))
                else:
                    report.problems.append(ChainBreak(entry.seq, "sequence goes backwards (reordered)"))
                return
            walk.enter(entry.seq)
            if entry.seq > walk.head_seq and walk.block is None:
                report.problems.append(
                    ChainBreak(
                        entry.seq,
                        "entry past the head outside any block (written outside claimwatch, or the head rewound)",
                    )
                )
                return
            if entry.prev_hash != walk.prev:
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
            if chain_hash(walk.prev, entry.seq, entry.kind, entry.content_hash) != entry.hash:
                report.problems.append(ChainBreak(entry.seq, "entry hash does not match its content (edited)"))
                return
            walk.passed(report, entry)
            if report.problems:
                return
            report.last_seq = entry.seq


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
    head_seq = session.execute(select(AuditHead.seq).where(AuditHead.tenant_id == tenant_id)).scalar_one_or_none()
    walk = _Walk(head_seq or 0, set(), after_seq + 1, prev_hash, prev_hash)
    _check_links(session, report, pages, walk)
    if report.ok and report.last_seq > (head_seq or 0):
        report.problems.append(
            ChainBreak(head_seq, f"entries past {head_seq} are in blocks not linked yet (claimwatch audit link)")
        )
    elif report.ok and walk.block is not None:
        # A block's entries link to the chain only as a whole: a range must end where a block does.
        report.problems.append(
            ChainBreak(report.last_seq, f"the range ends inside block {walk.block.first_seq}-{walk.block.last_seq}")
        )
    report.running_hash = walk.running
    return report


def verify(session: Session, tenant_id: int) -> VerifyReport:
    """Walk the chain (from the archive boundary, if part of it was archived); report the first edited, deleted or
    reordered entry and any truncation. Entries past the head (blocks of concurrent writers not linked yet) are
    checked inside their blocks."""
    report = VerifyReport(tenant_id=tenant_id)
    boundary = archive_boundary(session, tenant_id)
    start_seq, start_hash = (boundary.last_seq, boundary.last_hash) if boundary is not None else (0, GENESIS_HASH)
    if boundary is not None:
        report.archived_through, report.archive, report.last_seq = boundary.last_seq, boundary.archive, start_seq
    head = session.execute(select(AuditHead).where(AuditHead.tenant_id == tenant_id)).scalar_one_or_none()
    checkpoints = repository.checkpoints(session, tenant_id)
    report.linked_seq = head_seq = head.seq if head is not None else 0
    walk = _Walk(head_seq, {c.seq for c in checkpoints}, start_seq + 1, start_hash, start_hash)
    _check_links(session, report, repository.stream_chain(session, tenant_id, start_seq), walk)
    if not report.ok:
        return report
    if boundary is not None and not repository.archive_recorded(
        session, tenant_id, boundary.last_seq, ARCHIVED_KIND, sha256_hex(canonical_json(_archive_payload(boundary)))
    ):
        report.problems.append(
            ChainBreak(start_seq, "the archive boundary is not recorded in the chain (forged or edited boundary)")
        )
        return report

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
        stored = start_hash if checkpoint.seq == start_seq else walk.hashes_at.get(checkpoint.seq)
        if stored != checkpoint.hash:
            report.problems.append(ChainBreak(checkpoint.seq, "entry differs from the sealed checkpoint"))
            return report
    if head is not None and min(report.last_seq, head_seq) != head_seq:
        report.problems.append(
            ChainBreak(
                report.last_seq + 1, f"chain ends at {report.last_seq} but the head says {head.seq} (tail truncated)"
            )
        )
        return report
    written = repository.written_past(session, tenant_id, report.last_seq)
    if written is not None:
        first_seq, last_seq, filled_seq = written
        report.problems.append(
            ChainBreak(
                report.last_seq + 1,
                f"chain ends at {report.last_seq} but block {first_seq}-{last_seq} was written up to {filled_seq}"
                " (tail truncated)",
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
