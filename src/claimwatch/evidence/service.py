"""Evidence receipts, proofs, heads and the tree check of one tenant (no HTTP; never commits).

A receipt is built from the data **as stored now**: each entry's content hash is recomputed
(``leaves.fresh_content_hashes``: the payload, or the case-event row), its leaf data from that, and its
inclusion path from the stored tree to the newest signed head that covers it (a new head with reason
``receipt`` is signed when none does yet). So a receipt downloaded after someone edited a stored row no
longer verifies: its leaf is not the one the insurer signed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.errors import Conflict, Invalid, NotFound, Problem
from claimwatch.evidence import heads as heads_module
from claimwatch.evidence import keys, leaves, merkle, receipts, repository, store
from claimwatch.evidence.models import EvidenceSigningKey, EvidenceTreeHead
from claimwatch.materials.service import DOCUMENT_KIND
from claimwatch.materials.service import NOTICE_KIND as MATERIALS_NOTICE_KIND

# What a claim receipt holds beside the claim's case events (status changes, the decision): the entries
# the claimant has seen — the fingerprints of the documents received and the materials notices.
CLAIM_ENTRY_KINDS = (DOCUMENT_KIND, MATERIALS_NOTICE_KIND)
MAX_HEADS_PAGE = 200


# --- receipts -----------------------------------------------------------------------------------------------


def _head_for(session: Session, tenant_id: int, seq: int, sign: bool) -> EvidenceTreeHead:
    head = heads_module.covering(session, tenant_id, seq, sign_if_missing=sign)
    if head is None:
        raise Conflict("seq", f"no signed tree head covers entry {seq} yet (the insurer signs one at least hourly)")
    return head


def _public_key(session: Session, head: EvidenceTreeHead) -> str:
    key = keys.by_key_id(session, head.key_id)
    if key is None:
        raise Conflict("key_id", f"the signing key {head.key_id} of the head is missing")
    return key.public_key


def _fresh_hashes(session: Session, tenant_id: int, found: Sequence[AuditEntry]) -> dict[int, str]:
    """Content hashes recomputed from the stored data, one query per run of consecutive seqs."""
    result: dict[int, str] = {}
    run: list[tuple[int, str, str | None]] = []
    for entry in [*found, None]:
        if entry is not None and (not run or entry.seq == run[-1][0] + 1):
            run.append((entry.seq, entry.kind, entry.payload))
            continue
        result.update(leaves.content_hashes_from_rows(session, tenant_id, run))
        run = [] if entry is None else [(entry.seq, entry.kind, entry.payload)]
    return result


def _entry_receipts(session: Session, tenant_id: int, seqs: Sequence[int], sign: bool) -> list[dict[str, Any]]:
    found = repository.entries(session, tenant_id, seqs)
    missing = sorted(set(seqs) - {entry.seq for entry in found})
    if missing:
        raise NotFound("seq", f"no audit entry {missing[0]}")
    head = _head_for(session, tenant_id, max(seqs), sign)
    public_key = _public_key(session, head)
    fresh = _fresh_hashes(session, tenant_id, found)
    ranges = [merkle.inclusion_ranges(entry.seq - 1, head.tree_size) for entry in found]
    hashes = store.subtree_hashes(session, tenant_id, [r for part in ranges for r in part])  # one node query
    view = receipts.HeadView(head.tree_size, head.root_hash, head.signed_at, head.key_id, head.signature)
    code = heads_module.tenant_code(session, tenant_id)
    result = []
    offset = 0
    for entry, part in zip(found, ranges, strict=True):
        content_hash = fresh.get(entry.seq)
        if content_hash is None:
            raise Conflict("seq", f"entry {entry.seq}: its stored {entry.kind} row is missing (deleted)")
        result.append(
            receipts.entry_receipt(
                tenant=code,
                seq=entry.seq,
                kind=entry.kind,
                subject=entry.subject,
                recorded_at=entry.recorded_at,
                content_hash=content_hash,
                content=entry.payload,
                path=hashes[offset : offset + len(part)],
                head=view,
                public_key=public_key,
            )
        )
        offset += len(part)
    return result


def receipt_for_entry(session: Session, tenant_id: int, seq: int, *, sign: bool = True) -> dict[str, Any]:
    """The receipt of audit entry ``seq``. ``sign=False`` (a read-only session: the regulator) refuses
    instead of signing a head when none covers the entry yet."""
    if seq < 1:
        raise Invalid("seq", "an audit entry's seq is 1 or more")
    return _entry_receipts(session, tenant_id, [seq], sign)[0]


def receipt_for_claim(
    session: Session, tenant_id: int, number: str, *, kinds: Sequence[str] = CLAIM_ENTRY_KINDS, sign: bool = True
) -> dict[str, Any]:
    """The receipt of a claim: its case events and its entries of ``kinds`` (documents, notices), each
    against the same signed head. The session must be narrowed to the tenant."""
    claim = cases_service.get_claim(session, number)
    seqs = repository.claim_entry_seqs(session, tenant_id, claim.id, claim.number, kinds)
    if not seqs:
        raise NotFound("number", f"claim {number} has no recorded entries")
    code = heads_module.tenant_code(session, tenant_id)
    return receipts.claim_receipt(code, claim.number, _entry_receipts(session, tenant_id, seqs, sign))


def receipt_for_document(
    session: Session, tenant_id: int, claim_number: str, document_id: int, *, sign: bool = True
) -> dict[str, Any]:
    """The receipt of one received document: its fingerprint entry (``content`` records its SHA-256, so
    ``verify --document FILE`` checks the file)."""
    claim = cases_service.get_claim(session, claim_number)
    found = repository.document(session, tenant_id, claim.id, document_id)
    if found is None:
        raise NotFound("document_id", f"claim {claim_number} has no document {document_id}")
    return receipt_for_entry(session, tenant_id, found.audit_seq, sign=sign)


# --- heads and proofs ---------------------------------------------------------------------------------------


def heads(session: Session, tenant_id: int, limit: int = 50, below_size: int | None = None) -> list[EvidenceTreeHead]:
    if not 1 <= limit <= MAX_HEADS_PAGE:
        raise Invalid("limit", f"limit must be between 1 and {MAX_HEADS_PAGE}")
    return repository.heads(session, tenant_id, limit, below_size)


def latest_head(session: Session, tenant_id: int) -> EvidenceTreeHead:
    head = heads_module.newest(session, tenant_id)
    if head is None:
        raise NotFound("head", "no tree head has been signed yet")
    return head


def sign_now(session: Session, tenant_id: int, principal: Principal) -> EvidenceTreeHead:
    """Sign a head over everything recorded so far (``manual``)."""
    principal.require(Permission.MANAGE_EVIDENCE)
    return heads_module.sign_head(session, tenant_id, heads_module.MANUAL, actor=principal.actor)


def rotate_key(session: Session, tenant_id: int, principal: Principal, reason: str) -> keys.Rotation:
    principal.require(Permission.MANAGE_EVIDENCE)
    if not reason.strip():
        raise Invalid("reason", "say why the key is rotated")
    return keys.rotate(session, tenant_id, principal.actor, reason.strip())


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    leaf_index: int
    tree_size: int
    leaf_hash: str
    path: list[str]
    root_hash: str


def inclusion(session: Session, tenant_id: int, seq: int, size: int | None = None) -> InclusionProof:
    """The inclusion path of entry ``seq`` in the tree of ``size`` leaves (default: the newest head's)."""
    if seq < 1:
        raise Invalid("seq", "an audit entry's seq is 1 or more")
    if size is None:
        size = latest_head(session, tenant_id).tree_size
    if seq > size:
        raise Invalid("seq", f"entry {seq} is not in a tree of {size} leaves")
    root, path, _ = store.proof_bundle(session, tenant_id, size, index=seq - 1)
    return InclusionProof(
        seq=seq,
        leaf_index=seq - 1,
        tree_size=size,
        leaf_hash=store.leaf_hash(session, tenant_id, seq - 1).hex(),
        path=[p.hex() for p in path],
        root_hash=root.hex(),
    )


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: str
    second_root: str
    path: list[str]


def consistency(session: Session, tenant_id: int, first: int, second: int) -> ConsistencyProof:
    """The proof that the tenant's tree of ``second`` leaves extends its tree of ``first`` leaves, from the
    stored tree (what the witness checks against its own copy of the earlier root)."""
    if not 0 <= first <= second:
        raise Invalid("first", f"first size {first} must be between 0 and the second size {second}")
    second_root, _, path = store.proof_bundle(session, tenant_id, second, first=first)
    first_root = store.root(session, tenant_id, first)
    return ConsistencyProof(first, second, first_root.hex(), second_root.hex(), [p.hex() for p in path])


def public_keys(session: Session) -> list[EvidenceSigningKey]:
    return keys.all_keys(session)


# --- checking -----------------------------------------------------------------------------------------------


@dataclass
class TreeCheck:
    tenant_id: int
    chain_size: int
    tree_size: int
    head_size: int | None = None
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_tree(session: Session, tenant_id: int) -> TreeCheck:
    """Recompute every leaf from the stored data and compare with the stored tree (names the first seq that
    differs), then check the newest head: its signature, and that its root is the stored tree's root."""
    report = TreeCheck(tenant_id, repository.chain_size(session, tenant_id), store.tree_size(session, tenant_id))
    bad = store.first_mismatch(session, tenant_id)
    if bad is not None:
        report.first_bad_seq = bad
        report.problems.append(f"seq {bad}: the entry as stored now is not the leaf in the evidence tree")
    head = heads_module.newest(session, tenant_id)
    if head is None:
        return report
    report.head_size = head.tree_size
    try:
        heads_module.verify_head(session, head)
    except Problem as exc:
        report.problems.append(f"newest head (size {head.tree_size}): {exc.field}: {exc.message}")
        return report
    if head.tree_size > report.tree_size:
        report.problems.append(f"the newest head covers {head.tree_size} leaves but the tree has {report.tree_size}")
    elif store.root(session, tenant_id, head.tree_size).hex() != head.root_hash:
        report.problems.append(
            f"the stored tree's root at size {head.tree_size} is not the newest signed head's (tree rebuilt)"
        )
    return report


def head_signed_at(head: EvidenceTreeHead) -> str:
    return heads_module.format_signed_at(head.signed_at)


def utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.UTC) if value is not None else None
