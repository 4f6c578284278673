"""Signing keys, signed tree heads, the worker's evidence pass, and receipts built from the stored data: a
claim's receipt verifies offline and stops verifying once a stored event row is edited."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from claimwatch.audit import service as audit_service
from claimwatch.audit.models import AuditEntry
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict
from claimwatch.evidence import heads, jobs, keys, receipts, service, witness
from claimwatch.evidence.heads import HeadError
from claimwatch.evidence.models import EvidenceSigningKey, EvidenceTreeHead
from claimwatch.privacy import field_cipher
from tests.evidence.receipt_world import CLAIM, DOCUMENT, Evidence, build
from tests.evidence.tamper import edit_event, ingest, lifecycle
from tests.factories import World
from tests.snapshots import Snapshot

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def evidence(world: World, db_snapshot: Snapshot) -> Evidence:
    return db_snapshot("evidence.h2", lambda: build(world))


def _kinds(tenant_id: int) -> list[str]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return list(session.execute(select(AuditEntry.kind).order_by(AuditEntry.seq)).scalars())


def test_heads_are_signed_with_the_tenants_key_and_a_forged_head_is_refused(evidence: Evidence) -> None:
    acme = evidence.acme.id
    with unit_of_work(TenantContext.for_tenant(acme)) as session:
        head = heads.sign_head(session, acme, heads.MANUAL, now=NOW + dt.timedelta(microseconds=1234))
        key = keys.current_key(session, acme)
        assert key is not None and head.key_id == key.key_id
        assert key.key_id == hashlib.sha256(bytes.fromhex(key.public_key)).hexdigest()[:16]
        private = field_cipher().decrypt(key.private_key_enc)
        assert private and private not in key.private_key_enc  # stored encrypted
        assert head.signed_at == NOW + dt.timedelta(milliseconds=1)  # what is signed: milliseconds
        assert heads.verify_head(session, head).key_id == key.key_id
        small = heads.sign_head(session, acme, heads.SEAL, size=3)
        assert small.tree_size == 3 and heads.verify_head(session, small)
        with pytest.raises(Exception, match="size"):
            heads.sign_head(session, acme, heads.SEAL, size=10_000)
        size = head.tree_size
    # Key created, then each head, recorded in the chain; the head's own record comes after the tree it signs.
    kinds = _kinds(acme)
    assert kinds[size - 1] != heads.HEAD_SIGNED_KIND and kinds[size] == heads.HEAD_SIGNED_KIND
    assert keys.KEY_CREATED_KIND in kinds

    with unit_of_work(TenantContext.system_context()) as session:
        stored = session.execute(select(EvidenceTreeHead).where(EvidenceTreeHead.id == head.id)).scalar_one()

        def forged(**changes: object) -> EvidenceTreeHead:
            fields = {c: getattr(stored, c) for c in ("tenant_id", "tree_size", "root_hash", "signed_at", "key_id")}
            return EvidenceTreeHead(**{**fields, "signature": stored.signature, "reason": "manual", **changes})

        cases: list[tuple[dict[str, object], str]] = [
            ({"tree_size": stored.tree_size + 1}, "signature"),
            ({"root_hash": "ab" * 32}, "signature"),
            ({"signed_at": stored.signed_at + dt.timedelta(milliseconds=1)}, "signature"),
            ({"signature": "00" * 64}, "signature"),
            ({"key_id": "0" * 16}, "key_id"),
            ({"tenant_id": evidence.bbb.id}, "key_id"),  # ACME's key does not sign BBB's heads
        ]
        for changes, field in cases:
            with pytest.raises(HeadError) as caught:
                heads.verify_head(session, forged(**changes))
            assert caught.value.field == field, changes

    # Rotation: the old key is retired, still verifies what it signed, and signs nothing after.
    with unit_of_work(TenantContext.for_tenant(acme)) as session:
        rotation = keys.rotate(session, acme, "user:admin", "yearly rotation")
        assert rotation.retired is not None and rotation.retired.key_id == key.key_id
        assert rotation.retired.retired_at is not None
        old = session.execute(select(EvidenceTreeHead).where(EvidenceTreeHead.id == head.id)).scalar_one()
        assert heads.verify_head(session, old).key_id == key.key_id
        after = EvidenceTreeHead(
            tenant_id=acme,
            tree_size=old.tree_size,
            root_hash=old.root_hash,
            signed_at=rotation.retired.retired_at + dt.timedelta(seconds=1),
            key_id=old.key_id,
            signature=old.signature,
            reason="manual",
        )
        with pytest.raises(HeadError, match="retired") as caught:
            heads.verify_head(session, after)
        assert caught.value.field == "key_id"
        new = heads.sign_head(session, acme, heads.MANUAL)
        assert new.key_id == rotation.created.key_id != key.key_id
    assert keys.KEY_ROTATED_KIND in _kinds(acme)


def test_the_worker_signs_at_seals_and_hourly_and_hands_each_head_to_the_witness(evidence: Evidence) -> None:
    acme, bbb = evidence.acme.id, evidence.bbb.id
    with unit_of_work(TenantContext.for_tenant(acme)) as session:
        sealed = audit_service.seal(session, acme)
        assert sealed is not None
    ingest(acme, lifecycle("E-3", steps=1))

    first = jobs.run(NOW)
    assert not first.failed and first.appended > 0
    with unit_of_work(TenantContext.system_context()) as session:
        signed = session.execute(select(EvidenceTreeHead).order_by(EvidenceTreeHead.id)).scalars().all()
        assert [(h.tenant_id, h.reason) for h in signed] == [(acme, "seal"), (acme, "hourly"), (bbb, "hourly")]
        assert signed[0].tree_size == sealed.seq < signed[1].tree_size
    assert first.witnessed == {witness.FIRST: 2, witness.CONSISTENT: 1}

    # Nothing new but the heads' own records: nothing to sign, an hour later either.
    assert jobs.run(NOW + dt.timedelta(minutes=5)).signed == []
    assert jobs.run(NOW + dt.timedelta(hours=2)).signed == []
    # Something new: the next head waits for the hour.
    ingest(acme, lifecycle("E-4", steps=1))
    assert jobs.run(NOW + dt.timedelta(minutes=10)).signed == []
    later = jobs.run(NOW + dt.timedelta(hours=1, minutes=1))
    assert len(later.signed) == 1 and later.witnessed == {witness.CONSISTENT: 1}


def test_a_claim_receipt_verifies_offline_and_stops_verifying_after_a_stored_event_is_edited(
    evidence: Evidence,
) -> None:
    acme = evidence.acme.id
    with unit_of_work(TenantContext.for_tenant(acme)) as session:
        receipt = service.receipt_for_claim(session, acme, CLAIM)  # no head yet: one is signed for it
        [head] = session.execute(select(EvidenceTreeHead)).scalars().all()
        assert head.reason == heads.RECEIPT
        document_receipt = service.receipt_for_entry(session, acme, evidence.document_seq)
        public = session.execute(select(EvidenceSigningKey.public_key)).scalar_one()
    assert [e["kind"] for e in receipt["entries"]].count("case_event") == 4  # reported + 3 transitions
    assert receipt["entries"][-1]["seq"] == evidence.document_seq and "content" in receipt["entries"][-1]
    assert all("content" not in e for e in receipt["entries"] if e["kind"] == "case_event")
    result = receipts.verify(receipts.load(receipts.dumps(receipt)), public, document=DOCUMENT)
    assert (result.claim, result.tenant, result.document_seq) == (CLAIM, "ACME", evidence.document_seq)
    assert receipts.verify(document_receipt, public, document=DOCUMENT).entries[0].seq == evidence.document_seq

    with unit_of_work(TenantContext.for_tenant(acme)) as session:  # a second receipt: the same head serves
        service.receipt_for_claim(session, acme, CLAIM)
        assert len(session.execute(select(EvidenceTreeHead)).scalars().all()) == 1
        assert service.check_tree(session, acme).ok

    edit_event(acme, f"{CLAIM}-t0", "客户已确认!")  # one stored event row changed behind claimwatch's back
    with unit_of_work(TenantContext.for_tenant(acme)) as session:
        tampered = service.receipt_for_claim(session, acme, CLAIM)
        edited_seq = next(e["seq"] for e in tampered["entries"] if e["subject"] == f"{CLAIM}-t0")
        report = service.check_tree(session, acme)
    index = next(i for i, e in enumerate(tampered["entries"]) if e["seq"] == edited_seq)
    with pytest.raises(receipts.ReceiptError) as caught:
        receipts.verify(tampered, public)
    assert caught.value.field == f"entries[{index}].leaf.content_hash"
    assert "changed after it was recorded" in caught.value.message
    assert not report.ok and report.first_bad_seq == edited_seq

    # A regulator's read-only session signs nothing: an entry no head covers yet is refused.
    with unit_of_work(TenantContext.regulator_of(acme)) as session:
        last = session.execute(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()
        with pytest.raises(Conflict, match="no signed tree head covers"):
            service.receipt_for_entry(session, acme, last, sign=False)
