"""A tenant's evidence tree in ``evidence_nodes``: only complete subtrees are stored (``level`` 0 the leaves,
level ``k`` idx ``j`` the subtree of leaves ``[j * 2**k, (j + 1) * 2**k)``), so a written node never changes.

:func:`append` adds every audit entry past ``EvidenceTreeState.tree_size`` in seq order (leaf ``i`` is entry
``seq = i + 1``), in pages with bulk inserts, carrying the right edge (the "frontier": one complete subtree per
set bit of the size) in memory. A root or proof of any size up to the tree's is assembled from the complete
subtrees that cover its ranges (``merkle.perfect_subtrees``), all read in one query: O(log n) rows.

:func:`rebuild` recomputes the whole tree from the stored data (the payloads and the content-source rows),
which is what an insurer who rewrote its history would do; the witness catches it by consistency proofs.
Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import String, delete, func, select, type_coerce, update
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import format_timestamp
from claimwatch.audit.models import AuditEntry, AuditHead
from claimwatch.db import bulk_insert, bulk_insert_ignore, utc_now
from claimwatch.errors import Conflict, Invalid
from claimwatch.evidence import leaves, merkle
from claimwatch.evidence.models import EvidenceNode, EvidenceTreeState

PAGE = 20_000
_ALL = {"include_all_tenants": True}
_NODE_COLUMNS = ("tenant_id", "level", "idx", "hash")
_PG_STAMP = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'  # = audit.hashing.format_timestamp, rendered by PostgreSQL


def leaf_columns(dialect: str) -> tuple[Any, ...]:
    """The leaf's columns of an audit entry with recorded_at as text, not parsed into a datetime and formatted
    again (a third of an append's time): PostgreSQL renders ``format_timestamp``'s form itself, SQLite's stored
    text is rewritten by ``_stamp``."""
    stamp: Any
    if dialect == "postgresql":
        stamp = func.to_char(func.timezone("UTC", AuditEntry.recorded_at), _PG_STAMP)
    else:
        stamp = type_coerce(AuditEntry.recorded_at, String)
    return (*leaves.ENTRY_COLUMNS[:4], stamp.label("recorded_at"))


_string = encode_basestring  # json's string escaping with ensure_ascii=False, as canonical_json writes it


class TreeGap(Conflict):
    """The audit chain has a hole (a deleted entry): the tree cannot grow past it."""

    def __init__(self, message: str) -> None:
        super().__init__("seq", message)


# --- state --------------------------------------------------------------------------------------------------


def tree_size(session: Session, tenant_id: int) -> int:
    size = (
        session.connection()
        .execute(select(EvidenceTreeState.tree_size).where(EvidenceTreeState.tenant_id == tenant_id))
        .scalar_one_or_none()
    )
    return size or 0


def _lock_state(session: Session, tenant_id: int) -> EvidenceTreeState:
    """The tenant's state row, created if missing and row-locked, so two appends queue instead of racing."""
    bulk_insert_ignore(
        session, EvidenceTreeState, ("tenant_id", "tree_size", "updated_at"), [(tenant_id, 0, utc_now())]
    )
    if session.get_bind().dialect.name == "sqlite":  # take SQLite's write lock before reading the size
        session.execute(
            update(EvidenceTreeState)
            .where(EvidenceTreeState.tenant_id == tenant_id)
            .values(tree_size=EvidenceTreeState.tree_size),
            execution_options={"synchronize_session": False, **_ALL},
        )
    state = session.execute(
        select(EvidenceTreeState).where(EvidenceTreeState.tenant_id == tenant_id).with_for_update(),
        execution_options=_ALL,
    ).scalar_one()
    session.refresh(state)
    return state


# --- reading nodes ------------------------------------------------------------------------------------------


def _nodes(session: Session, tenant_id: int, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    keys = sorted(set(wanted))
    if not keys:
        return {}
    by_level: dict[int, list[int]] = {}
    for level, idx in keys:
        by_level.setdefault(level, []).append(idx)
    # One index probe per key on both databases: a UNION ALL of one (tenant, level, idx IN …) lookup per level.
    # (A row-value IN, or an OR of many terms, makes SQLite's planner scan the tenant's nodes.) Written as driver
    # SQL: building and compiling a union of ~20 selects costs more than the lookups themselves.
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql: list[str] = []
    params: list[int] = []
    for level, idxs in by_level.items():
        sql.append(
            f"SELECT level, idx, hash FROM evidence_nodes WHERE tenant_id = {mark} AND level = {mark}"  # noqa: S608
            f" AND idx IN ({', '.join([mark] * len(idxs))})"
        )
        params += [tenant_id, level, *idxs]
    rows = connection.exec_driver_sql(" UNION ALL ".join(sql), tuple(params)).all()
    found = {(level, idx): bytes(value) for level, idx, value in rows}
    missing = [key for key in keys if key not in found]
    if missing:
        level, idx = missing[0]
        raise Conflict("tree", f"evidence node level {level} idx {idx} is missing ({len(missing)} missing)")
    return found


def subtree_hashes(session: Session, tenant_id: int, ranges: Sequence[merkle.Range]) -> list[bytes]:
    """The hash of each leaf range ``[start, end)`` (nodes of the MTH recursion), all nodes in one query."""
    parts = [merkle.perfect_subtrees(start, end) for start, end in ranges]
    found = _nodes(session, tenant_id, (key for part in parts for key in part))
    return [merkle.fold([found[key] for key in part]) for part in parts]


def _check_size(session: Session, tenant_id: int, size: int, field: str = "size") -> None:
    current = tree_size(session, tenant_id)
    if size < 0 or size > current:
        raise Invalid(field, f"tree size {size} is not between 0 and the tree's {current} leaves")


def _sized_hashes(
    session: Session, tenant_id: int, size: int, ranges: Sequence[merkle.Range], field: str = "size"
) -> list[bytes]:
    """:func:`subtree_hashes` of ranges inside the first ``size`` leaves, in ONE round trip: the tree's size is
    only read when a node is missing (a size past the tree always misses its last leaf's node)."""
    if size < 0:
        raise Invalid(field, f"tree size {size} is negative")
    try:
        return subtree_hashes(session, tenant_id, ranges)
    except Conflict:
        _check_size(session, tenant_id, size, field)
        raise


def root(session: Session, tenant_id: int, size: int) -> bytes:
    """The root of the first ``size`` leaves (``size`` ≤ the tree's size)."""
    if size == 0:
        return merkle.EMPTY_ROOT
    return _sized_hashes(session, tenant_id, size, [(0, size)])[0]


def leaf_hash(session: Session, tenant_id: int, index: int) -> bytes:
    return _nodes(session, tenant_id, [(0, index)])[(0, index)]


def inclusion_proof(session: Session, tenant_id: int, index: int, size: int) -> list[bytes]:
    """The audit path of leaf ``index`` (entry ``seq = index + 1``) in the tree of ``size`` leaves."""
    ranges = merkle.inclusion_ranges(index, size)
    # The leaf itself too: with it the ranges cover every leaf below size, so a size past the tree misses a node.
    return _sized_hashes(session, tenant_id, size, [*ranges, (index, index + 1)])[:-1]


def consistency_proof(session: Session, tenant_id: int, first: int, second: int) -> list[bytes]:
    """The proof that the tree of ``second`` leaves extends the one of ``first`` leaves."""
    ranges = merkle.consistency_ranges(first, second)
    if not ranges:  # first is 0 or second: nothing to read, but the size must exist
        _check_size(session, tenant_id, second, "second")
        return []
    return _sized_hashes(session, tenant_id, second, ranges, "second")  # the ranges cover leaf second - 1


def proof_bundle(
    session: Session, tenant_id: int, size: int, index: int | None = None, first: int | None = None
) -> tuple[bytes, list[bytes], list[bytes]]:
    """``(root of size, inclusion path of index, consistency path from first)`` in ONE node query (a
    receipt or a witness check needs them together); a path not asked for is empty."""
    if size == 0:
        return merkle.EMPTY_ROOT, [], []
    inclusion = merkle.inclusion_ranges(index, size) if index is not None else []
    consistency = merkle.consistency_ranges(first, size) if first is not None else []
    hashes = _sized_hashes(session, tenant_id, size, [(0, size), *inclusion, *consistency])
    return hashes[0], hashes[1 : 1 + len(inclusion)], hashes[1 + len(inclusion) :]


# --- appending ----------------------------------------------------------------------------------------------


def _fast_leaf_data(tenant_json: str, seq: int, kind: str, subject: str, content_hash: str, recorded: str) -> bytes:
    """``leaves.leaf_data`` spelled out for the hot path (same bytes: the keys in sorted order, strings escaped
    as ``canonical_json`` escapes them); a test checks both agree."""
    return (
        f'{{"content_hash":{_string(content_hash)},"kind":{_string(kind)},"recorded_at":"{recorded}",'
        f'"seq":{seq},"subject":{_string(subject)},"tenant":{tenant_json}}}'
    ).encode()


def _stamp(value: str | dt.datetime) -> str:
    """``format_timestamp`` of a recorded_at read raw: SQLite's stored text ``YYYY-MM-DD HH:MM:SS.ffffff``
    (naive UTC) rewritten without parsing it, anything else through the datetime."""
    if isinstance(value, str):
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            return f"{value[:10]}T{value[11:]}+00:00"
        if len(value) == 32 and value[10] == "T" and value.endswith("+00:00"):
            return value  # rendered by PostgreSQL already
        parsed = dt.datetime.fromisoformat(value)
        return format_timestamp(parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC))
    return format_timestamp(value)


def _entry_pages(
    session: Session, tenant_id: int, after_seq: int, fresh: bool, limit: int | None, raw_time: bool = True
) -> Iterator[list[Any]]:
    """Entries past ``after_seq`` in seq order, in pages of (seq, kind, subject, content_hash, recorded_at);
    ``fresh``: the content hash recomputed from the stored data instead of the chain's."""
    dialect = session.get_bind().dialect.name
    columns: list[Any] = [*(leaf_columns(dialect) if raw_time else leaves.ENTRY_COLUMNS)]
    if fresh:
        columns.append(AuditEntry.payload)
    last = after_seq
    remaining = limit
    while remaining is None or remaining > 0:
        page_size = PAGE if remaining is None else min(PAGE, remaining)
        # Core, not ORM execution: plain rows without the ORM's per-row loading (the tenant is in the WHERE).
        statement = (
            select(*columns).where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq > last).order_by(AuditEntry.seq)
        )
        rows: list[Any] = list(session.connection().execute(statement.limit(page_size)).all())
        if not rows:
            return
        if fresh:
            recomputed = leaves.content_hashes_from_rows(session, tenant_id, [(r[0], r[1], r[5]) for r in rows])
            rows = [(r[0], r[1], r[2], recomputed.get(r[0], r[3]), r[4]) for r in rows]
        yield rows
        last = rows[-1][0]
        if remaining is not None:
            remaining -= len(rows)


def _frontier(session: Session, tenant_id: int, size: int) -> dict[int, bytes]:
    """The right edge of a tree of ``size`` leaves: ``{level: hash}`` of its complete subtrees."""
    nodes = merkle.perfect_subtrees(0, size)
    found = _nodes(session, tenant_id, nodes)
    return {level: found[(level, idx)] for level, idx in nodes}


def _append(session: Session, tenant_id: int, state: EvidenceTreeState, fresh: bool, limit: int | None) -> int:
    size = state.tree_size
    frontier = _frontier(session, tenant_id, size)
    tenant_json = _string(leaves.tenant_code(session, tenant_id))
    sha256, leaf_prefix, node_prefix = hashlib.sha256, merkle.LEAF_PREFIX, merkle.NODE_PREFIX  # inlined hashes
    for page in _entry_pages(session, tenant_id, size, fresh, limit):
        rows: list[tuple[int, int, int, bytes]] = []
        add = rows.append
        for seq, kind, subject, content_hash, recorded_at in page:
            if seq != size + 1:
                raise TreeGap(f"audit entry {size + 1} is missing: the tree cannot grow past {size} leaves")
            data = _fast_leaf_data(tenant_json, seq, kind, subject, content_hash, _stamp(recorded_at))
            value = sha256(leaf_prefix + data).digest()
            index, level = size, 0
            add((tenant_id, 0, index, value))
            while index & 1:
                value = sha256(node_prefix + frontier.pop(level) + value).digest()
                index >>= 1
                level += 1
                add((tenant_id, level, index, value))
            frontier[level] = value
            size += 1
        bulk_insert(session, EvidenceNode.__tablename__, _NODE_COLUMNS, rows)
    state.tree_size = size
    state.updated_at = utc_now()
    session.flush()
    return size


def append(session: Session, tenant_id: int, limit: int | None = None) -> int:
    """Append every audit entry past the tree's size up to the chain's head (at most ``limit``) and return the new
    size. Entries past the head are in blocks of concurrent writers not linked yet: the tree waits for them."""
    state = _lock_state(session, tenant_id)
    room = max(_linked(session, tenant_id) - state.tree_size, 0)
    return _append(session, tenant_id, state, fresh=False, limit=room if limit is None else min(limit, room))


def _linked(session: Session, tenant_id: int) -> int:
    seq = session.execute(
        select(AuditHead.seq).where(AuditHead.tenant_id == tenant_id), execution_options=_ALL
    ).scalar_one_or_none()
    return seq or 0


def rebuild(session: Session, tenant_id: int) -> int:
    """Throw the tree away and recompute it from the stored data (payloads, content-source rows) as it is
    now: the malicious recompute of an insurer that edited its history. Returns the new size."""
    state = _lock_state(session, tenant_id)
    session.execute(delete(EvidenceNode).where(EvidenceNode.tenant_id == tenant_id), execution_options=_ALL)
    state.tree_size = 0
    return _append(session, tenant_id, state, fresh=True, limit=_linked(session, tenant_id))


# --- checking -----------------------------------------------------------------------------------------------


def first_mismatch(session: Session, tenant_id: int) -> int | None:
    """The first seq whose leaf recomputed from the stored data (``leaves.fresh_content_hashes``) differs
    from the stored tree's leaf, or None. Reads the whole chain in pages."""
    size = tree_size(session, tenant_id)
    code = leaves.tenant_code(session, tenant_id)
    # Entries archived with their partition (``claimwatch partitions archive``) left the database; the archive's
    # manifest carries the tree head that covers them.
    boundary = audit_service.archive_boundary(session, tenant_id)
    done = min(boundary.last_seq, size) if boundary is not None else 0
    for page in _entry_pages(session, tenant_id, done, fresh=True, limit=size - done, raw_time=False):
        first, last = page[0][0] - 1, page[-1][0] - 1
        stored = dict(
            session.execute(
                select(EvidenceNode.idx, EvidenceNode.hash).where(
                    EvidenceNode.tenant_id == tenant_id, EvidenceNode.level == 0, EvidenceNode.idx.between(first, last)
                ),
                execution_options=_ALL,
            ).all()
        )
        for seq, kind, subject, content_hash, recorded_at in page:
            if seq != done + 1:
                return done + 1
            data = leaves.leaf_data(code, seq, kind, subject, content_hash, recorded_at)
            if bytes(stored.get(seq - 1, b"")) != merkle.leaf_hash(data):
                return seq
            done = seq
    return None if done == size else done + 1
