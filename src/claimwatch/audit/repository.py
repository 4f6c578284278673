from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, overload

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from claimwatch.audit.models import AuditArchive, AuditBlock, AuditCheckpoint, AuditEntry, AuditHead

_STREAM_CHUNK = 5000


@overload
def lock_head(session: Session, tenant_id: int, nowait: Literal[False] = False) -> AuditHead: ...
@overload
def lock_head(session: Session, tenant_id: int, nowait: bool) -> AuditHead | None: ...
def lock_head(session: Session, tenant_id: int, nowait: bool = False) -> AuditHead | None:
    """Row-lock the head. On SQLite a no-op UPDATE takes the database write lock first, so two
    writers queue on busy_timeout instead of both reading the same head. ``nowait`` (PostgreSQL): None at once
    when another transaction holds it."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(AuditHead).where(AuditHead.tenant_id == tenant_id).values(seq=AuditHead.seq),
            execution_options={"synchronize_session": False},
        )
    # populate_existing: a head the session already holds takes the locked row's values from this SELECT (a
    # refresh afterwards was a second statement on every audited action).
    statement = (
        select(AuditHead)
        .where(AuditHead.tenant_id == tenant_id)
        .with_for_update(nowait=nowait)
        .execution_options(populate_existing=True)
    )
    if nowait:
        try:
            with session.begin_nested():
                head = session.execute(statement).scalar_one_or_none()
        except OperationalError:
            return None
    else:
        head = session.execute(statement).scalar_one_or_none()
    if head is None:
        raise LookupError(f"tenant {tenant_id} has no audit chain")
    return head


def share_head(session: Session, tenant_id: int) -> None:
    """The head ``FOR SHARE``: concurrent block writers share it; ``lock_head`` waits for all of them."""
    found = session.execute(
        select(AuditHead.seq).where(AuditHead.tenant_id == tenant_id).with_for_update(read=True)
    ).scalar_one_or_none()
    if found is None:
        raise LookupError(f"tenant {tenant_id} has no audit chain")


def stream_chain(session: Session, tenant_id: int, after_seq: int = 0) -> Iterator[list[AuditEntry]]:
    """Entries past ``after_seq`` in sequence order, in keyset pages."""
    last_seq = after_seq
    while True:
        page = list(
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq > last_seq)
                .order_by(AuditEntry.seq)
                .limit(_STREAM_CHUNK),
                execution_options={"include_all_tenants": True},
            ).scalars()
        )
        if not page:
            return
        yield page
        last_seq = page[-1].seq
        session.expunge_all()


def checkpoints(session: Session, tenant_id: int) -> list[AuditCheckpoint]:
    return list(
        session.execute(
            select(AuditCheckpoint).where(AuditCheckpoint.tenant_id == tenant_id).order_by(AuditCheckpoint.seq)
        ).scalars()
    )


def count_entries(session: Session, tenant_id: int, kind: str, after_seq: int = 0) -> int:
    return session.execute(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.tenant_id == tenant_id, AuditEntry.kind == kind, AuditEntry.seq > after_seq),
        execution_options={"include_all_tenants": True},
    ).scalar_one()


def newest_archive(session: Session, tenant_id: int) -> AuditArchive | None:
    return session.execute(
        select(AuditArchive)
        .where(AuditArchive.tenant_id == tenant_id)
        .order_by(AuditArchive.last_seq.desc(), AuditArchive.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def archive_recorded(session: Session, tenant_id: int, after_seq: int, kind: str, content_hash: str) -> bool:
    """An entry of ``kind`` past the boundary carries exactly the boundary's content."""
    return (
        session.execute(
            select(AuditEntry.seq)
            .where(
                AuditEntry.tenant_id == tenant_id,
                AuditEntry.seq > after_seq,
                AuditEntry.kind == kind,
                AuditEntry.content_hash == content_hash,
            )
            .limit(1),
            execution_options={"include_all_tenants": True},
        ).scalar_one_or_none()
        is not None
    )


def blocks_between(session: Session, tenant_id: int, first_seq: int, last_seq: int) -> dict[int, AuditBlock]:
    """Blocks overlapping ``first_seq..last_seq`` by their first seq."""
    found = session.execute(
        select(AuditBlock).where(
            AuditBlock.tenant_id == tenant_id, AuditBlock.first_seq <= last_seq, AuditBlock.last_seq >= first_seq
        )
    ).scalars()
    return {block.first_seq: block for block in found}


def written_past(session: Session, tenant_id: int, seq: int) -> tuple[int, int, int] | None:
    """The first block that says it was written (or linked) past ``seq``: ``(first, last, filled)``."""
    row = session.execute(
        select(AuditBlock.first_seq, AuditBlock.last_seq, AuditBlock.filled_seq)
        .where(AuditBlock.tenant_id == tenant_id, AuditBlock.filled_seq > seq, AuditBlock.state != "open")
        .order_by(AuditBlock.first_seq)
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1], row[2])
