"""The supervising platform's witness (见证): its own copy of every insurer's signed tree heads.

An insurer controls its audit chain, its tree and its signing key, so it could rewrite a stored event,
recompute its hash chain, re-seal it and rebuild its Merkle tree: ``claimwatch audit verify`` would then
pass and every new receipt would verify. What it cannot rewrite is what the platform already holds: the
heads in :class:`~claimwatch.evidence.models.WitnessedHead`, which only this module writes. Each head the
insurer signs is handed to :func:`receive`, which

1. checks the insurer's signature (``heads.verify_head``): a forged or garbled head is ``bad_signature``;
2. asks the insurer's tree for a consistency proof between the newest head it accepted before and this
   one, and checks it (``merkle.verify_consistency``) against the root **in the platform's copy**, never
   against anything the insurer stores now: a rewritten history cannot prove it extends the old root, and
   the head is ``inconsistent``;
3. countersigns an accepted head (``first`` or ``consistent``) with the platform's key, so the insurer
   can show a third party that its head was witnessed (:func:`cosigned_bytes`);
4. on ``inconsistent`` or ``bad_signature`` raises the alarm: a staff notice to the insurer's admins, an
   item in the regulator's inbox (``evidence.work``) and the red banner of ``/evidence``.

The witness's verdicts are not entries of the insurer's audit chain: they are the platform's record about
the insurer, kept apart from what the insurer controls (and an entry per witnessed head would grow the tree
that the next head covers, for ever). ``evidence_witnessed_heads`` is append-only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.db import utc_now
from claimwatch.errors import NotFound, Problem
from claimwatch.evidence import heads, keys, merkle
from claimwatch.evidence import service as evidence_service
from claimwatch.evidence.models import EvidenceTreeHead, WitnessedHead
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.tenancy import repository as tenancy_repository

FIRST = "first"
CONSISTENT = "consistent"
BAD_SIGNATURE = "bad_signature"
INCONSISTENT = "inconsistent"
STATUSES = (FIRST, CONSISTENT, BAD_SIGNATURE, INCONSISTENT)
ACCEPTED = (FIRST, CONSISTENT)
ALARMS = (INCONSISTENT, BAD_SIGNATURE)

NOTICE_KIND = "evidence_alarm"  # the staff notice to the insurer's admins (notify.staff_notices.KIND_LABELS)
ADMIN_ROLE = "admin"
# What the platform's countersignature covers: this prefix, then the insurer's signed bytes of the head.
COSIGN_PREFIX = b"claimwatch-witness-v1\n"


@dataclass(frozen=True)
class Verdict:
    status: str
    compared_with_size: int | None = None
    problem: str | None = None


def cosigned_bytes(tenant_code: str, tree_size: int, signed_at: dt.datetime, root_hash: str) -> bytes:
    """The bytes the platform signs for an accepted head: a fixed prefix (so a countersignature can never
    pass for an insurer's head signature) and the head's own signed bytes."""
    return COSIGN_PREFIX + heads.signed_bytes(tenant_code, tree_size, signed_at, root_hash)


def newest_accepted(session: Session, tenant_id: int) -> WitnessedHead | None:
    """The largest head the witness accepted for the tenant: what every later head must extend."""
    return session.execute(
        select(WitnessedHead)
        .where(WitnessedHead.tenant_id == tenant_id, WitnessedHead.status.in_(ACCEPTED))
        .order_by(WitnessedHead.tree_size.desc(), WitnessedHead.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _already(session: Session, head: EvidenceTreeHead) -> WitnessedHead | None:
    return session.execute(
        select(WitnessedHead)
        .where(
            WitnessedHead.tenant_id == head.tenant_id,
            WitnessedHead.tree_size == head.tree_size,
            WitnessedHead.root_hash == head.root_hash,
            WitnessedHead.signature == head.signature,
        )
        .order_by(WitnessedHead.id)
        .limit(1)
    ).scalar_one_or_none()


def _proof(session: Session, tenant_id: int, first: int, second: int) -> Sequence[bytes]:
    """The insurer's consistency proof, as its evidence service answers it. Only its path is used: the
    roots it reports are the insurer's word, the witness checks against its own copy."""
    return [bytes.fromhex(part) for part in evidence_service.consistency(session, tenant_id, first, second).path]


def _compare(session: Session, earlier: WitnessedHead, head: EvidenceTreeHead) -> Verdict:
    """Does ``head`` agree with the earlier accepted head? Either may be the larger one (a head that
    arrives late is checked as a prefix of the newest); the earlier root is the platform's copy."""
    size = earlier.tree_size
    earlier_root, root = bytes.fromhex(earlier.root_hash), bytes.fromhex(head.root_hash)
    try:
        if head.tree_size >= size:
            path = _proof(session, head.tenant_id, size, head.tree_size)
            merkle.verify_consistency(size, head.tree_size, earlier_root, root, path)
        else:
            path = _proof(session, head.tenant_id, head.tree_size, size)
            merkle.verify_consistency(head.tree_size, size, root, earlier_root, path)
    except Problem as exc:
        return Verdict(
            INCONSISTENT,
            size,
            f"the head of size {head.tree_size} (root {head.root_hash[:16]}…) does not extend the witnessed head "
            f"of size {size} (root {earlier.root_hash[:16]}…): {exc.message}; the insurer's history was rewritten",
        )
    return Verdict(CONSISTENT, size)


def _verdict(session: Session, head: EvidenceTreeHead) -> Verdict:
    try:
        heads.verify_head(session, head)
    except Problem as exc:
        return Verdict(BAD_SIGNATURE, None, f"{exc.field}: {exc.message}" if exc.field else exc.message)
    earlier = newest_accepted(session, head.tenant_id)
    if earlier is None:
        return Verdict(FIRST)
    return _compare(session, earlier, head)


def receive(session: Session, head: EvidenceTreeHead, now: dt.datetime | None = None) -> WitnessedHead:
    """Witness one signed head of an insurer: check it, keep the platform's copy with the verdict,
    countersign it when accepted, raise the alarm when not. The same head received again returns the
    copy kept the first time."""
    kept = _already(session, head)
    if kept is not None:
        return kept
    tenant = tenancy_repository.tenant_by_id(session, head.tenant_id)
    if tenant is None:
        raise NotFound("tenant", f"no insurer with id {head.tenant_id}")
    now = now or utc_now()
    verdict = _verdict(session, head)
    copy = WitnessedHead(
        tenant_id=head.tenant_id,
        tree_size=head.tree_size,
        root_hash=head.root_hash,
        signed_at=head.signed_at,
        key_id=head.key_id,
        signature=head.signature,
        received_at=now,
        status=verdict.status,
        compared_with_size=verdict.compared_with_size,
        problem=verdict.problem,
    )
    if verdict.status in ACCEPTED:
        message = cosigned_bytes(tenant.code, head.tree_size, head.signed_at, head.root_hash)
        # The platform's witness key (tenant None), created on first need.
        copy.witness_key_id, copy.witness_signature = keys.sign(session, None, message)
    session.add(copy)
    session.flush()
    if verdict.status in ALARMS:
        _alarm(session, copy, tenant.code, now)
    return copy


def _alarm(session: Session, copy: WitnessedHead, tenant_code: str, now: dt.datetime) -> None:
    """A notice to the insurer's admins, once per witnessed head (the inbox and the page read the table)."""
    if copy.status == INCONSISTENT:
        subject = f"存证告警：{tenant_code} 的历史与监管见证不一致 / Evidence alarm: {tenant_code}'s history rewritten"
    else:
        subject = f"存证告警：{tenant_code} 的树头签名无效 / Evidence alarm: bad tree head signature ({tenant_code})"
    body = (
        f"监管平台见证的树头（大小 {copy.tree_size}）未通过检查。\n"
        f"The tree head of size {copy.tree_size} signed at {copy.signed_at.isoformat()} failed the witness's "
        f"check: {copy.problem}"
    )
    notify_staff_notices.notify_staff(
        session,
        copy.tenant_id,
        ADMIN_ROLE,
        NOTICE_KIND,
        subject,
        body,
        f"evidence-alarm:{copy.id}",
        now,
        link="/evidence",
    )


def check(session: Session, tenant_id: int, now: dt.datetime | None = None) -> WitnessedHead | None:
    """Witness the tenant's newest signed head now (``claimwatch evidence witness``); None: no head yet."""
    head = heads.newest(session, tenant_id)
    return None if head is None else receive(session, head, now)


def newest_by_tenant(session: Session) -> dict[int, WitnessedHead]:
    """Every insurer's newest witnessed head (the last received: the table is append-only, so the largest
    id): its current standing at the witness."""
    newest = select(func.max(WitnessedHead.id)).group_by(WitnessedHead.tenant_id)
    rows = session.execute(select(WitnessedHead).where(WitnessedHead.id.in_(newest))).scalars()
    return {row.tenant_id: row for row in rows}
