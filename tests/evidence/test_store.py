"""The stored tree: append in pages, roots and proofs from stored nodes equal the pure maths, a rewritten history
(edited event, malicious rebuild) no longer proves consistent with the earlier root."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import event, text

from claimwatch import db
from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid
from claimwatch.evidence import leaves, merkle, store
from claimwatch.evidence.merkle import ProofError
from claimwatch.evidence.models import EvidenceNode
from tests.factories import HAPPY_PATH, World, reported, transition
from tests.snapshots import Snapshot


@dataclass
class Chain:
    tenant_id: int
    code: str
    size: int


def _build(world: World) -> Chain:
    tenant = world.tenant(code="EVI")
    events = [reported("A-r", "A")] + [transition(f"A-t{i}", "A", s, hours=i + 1) for i, s in enumerate(HAPPY_PATH)]
    principal = Principal(role=Role.INTEGRATION, tenant_id=tenant.id, actor="test")
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        cases_service.ingest_events(session, principal, [EventIn.model_validate(e) for e in events])
        for i in range(20):
            audit_service.record(session, tenant.id, "document", f"doc-{i}", "test", {"n": i, "名称": "理赔材料"})
        writer = audit_service.open_chain(session, tenant.id)
        size = writer.next_seq() - 1
        writer.close()
    return Chain(tenant.id, tenant.code, size)


@pytest.fixture
def chain(world: World, db_snapshot: Snapshot) -> Chain:
    return db_snapshot("evidence.store.chain", lambda: _build(world))


def _session(chain: Chain):
    return unit_of_work(TenantContext.for_tenant(chain.tenant_id))


def _pure_leaf_hashes(session, chain: Chain, fresh: bool = False) -> list[bytes]:
    from claimwatch.audit.models import AuditEntry

    entries = session.query(AuditEntry).filter(AuditEntry.tenant_id == chain.tenant_id).order_by(AuditEntry.seq).all()
    hashes = leaves.fresh_content_hashes(session, chain.tenant_id, 1, len(entries)) if fresh else {}
    return [merkle.leaf_hash(leaves.entry_leaf_data(e, chain.code, hashes.get(e.seq))) for e in entries]


def test_append_in_pages_gives_the_pure_roots_and_proofs(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "PAGE", 7)  # several pages, frontier carried across them and across appends
    with _session(chain) as session:
        assert store.tree_size(session, chain.tenant_id) == 0
        assert store.root(session, chain.tenant_id, 0) == merkle.EMPTY_ROOT
        assert store.append(session, chain.tenant_id, limit=11) == 11
        assert store.append(session, chain.tenant_id) == chain.size
        assert store.append(session, chain.tenant_id) == chain.size  # nothing new
    with _session(chain) as session:
        hashes = _pure_leaf_hashes(session, chain)
        assert len(hashes) == chain.size > 30
        nodes = session.query(EvidenceNode).filter(EvidenceNode.tenant_id == chain.tenant_id).count()
        assert nodes == sum(chain.size >> level for level in range(chain.size.bit_length()))
        subtree = merkle.list_subtree(hashes)
        for size in range(1, chain.size + 1):
            root = store.root(session, chain.tenant_id, size)
            assert root == merkle.root(hashes[:size])
            if size not in {1, 2, 3, 5, 8, 13, 16, 21, 31, chain.size - 1, chain.size}:
                continue
            for index in {0, size // 2, size - 1}:
                path = store.inclusion_proof(session, chain.tenant_id, index, size)
                assert path == merkle.inclusion_path(index, size, subtree)
                merkle.verify_inclusion(hashes[index], index, size, path, root)
            for first in {1, size // 3 or 1, size - 1 or 1}:
                path = store.consistency_proof(session, chain.tenant_id, first, size)
                merkle.verify_consistency(first, size, merkle.root(hashes[:first]), root, path)
        assert store.leaf_hash(session, chain.tenant_id, 3) == hashes[3]
        root, inclusion, consistency = store.proof_bundle(session, chain.tenant_id, chain.size, index=5, first=9)
        assert root == merkle.root(hashes)
        assert inclusion == store.inclusion_proof(session, chain.tenant_id, 5, chain.size)
        assert consistency == store.consistency_proof(session, chain.tenant_id, 9, chain.size)
        for call in (
            lambda: store.root(session, chain.tenant_id, chain.size + 1),
            lambda: store.inclusion_proof(session, chain.tenant_id, chain.size, chain.size + 1),
            lambda: store.consistency_proof(session, chain.tenant_id, 3, chain.size + 1),
            lambda: store.consistency_proof(session, chain.tenant_id, 0, chain.size + 1),
            lambda: store.proof_bundle(session, chain.tenant_id, chain.size + 2, index=1),
        ):
            with pytest.raises(Invalid, match="not between 0 and the tree's"):
                call()
        assert store.first_mismatch(session, chain.tenant_id) is None


def test_a_proof_is_one_node_query(chain: Chain) -> None:
    with _session(chain) as session:
        store.append(session, chain.tenant_id)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "evidence_nodes" in statement:
            statements.append(statement)

    engine = db.get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        with _session(chain) as session:
            store.inclusion_proof(session, chain.tenant_id, 2, chain.size)
            store.proof_bundle(session, chain.tenant_id, chain.size, index=2, first=5)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 2  # one round trip each: the tree's size is not read first


def test_leaf_data_is_canonical_and_the_fast_path_agrees(chain: Chain) -> None:
    with _session(chain) as session:
        store.append(session, chain.tenant_id)
        hashes = _pure_leaf_hashes(session, chain)
        assert store.root(session, chain.tenant_id, chain.size) == merkle.root(hashes)  # fast path == leaf_data
        from claimwatch.audit.models import AuditEntry

        entry = session.query(AuditEntry).filter(AuditEntry.tenant_id == chain.tenant_id, AuditEntry.seq == 30).one()
        data = leaves.entry_leaf_data(entry, chain.code)
        parsed = leaves.parse_leaf_data(data)
        assert parsed["seq"] == 30 and parsed["tenant"] == "EVI" and parsed["content_hash"] == entry.content_hash
        assert "理赔材料" not in data.decode()  # only the hash of the content, never the content
        with pytest.raises(ValueError, match="canonical"):
            leaves.parse_leaf_data(data.replace(b":", b": ", 1))
        fresh = leaves.fresh_content_hashes(session, chain.tenant_id, 1, chain.size)
        assert len(fresh) == chain.size
        assert all(fresh[e.seq] == e.content_hash for e in session.query(AuditEntry).all())


def test_edited_event_and_malicious_rebuild_break_consistency(chain: Chain) -> None:
    with db.get_engine().connect() as conn:
        seq = conn.execute(text("select audit_seq from case_events where client_event_id = 'A-t2'")).scalar_one()
    sizes = (seq - 1, seq, seq + 3, chain.size)
    with _session(chain) as session:
        store.append(session, chain.tenant_id)
        witnessed = {size: store.root(session, chain.tenant_id, size) for size in sizes}
        assert store.consistency_proof(session, chain.tenant_id, seq, chain.size)
    with db.get_engine().begin() as conn:
        conn.execute(text("update case_events set to_status = 'rejected' where client_event_id = 'A-t2'"))
    with _session(chain) as session:
        # The stored tree still holds the chain's content hash; recomputed from the stored row it differs.
        assert store.first_mismatch(session, chain.tenant_id) == seq
        assert (
            leaves.fresh_content_hashes(session, chain.tenant_id, seq, seq)[seq]
            != _entry(session, chain, seq).content_hash
        )
        # The insurer recomputes its tree from the edited data: the tree agrees with the data again ...
        assert store.rebuild(session, chain.tenant_id) == chain.size
        assert store.first_mismatch(session, chain.tenant_id) is None
        new_root = store.root(session, chain.tenant_id, chain.size)
        assert new_root == merkle.root(_pure_leaf_hashes(session, chain, fresh=True)) != witnessed[chain.size]
        # ... but no proof from the rebuilt tree shows it extends a root a witness kept.
        for first in sizes[1:]:
            path = store.consistency_proof(session, chain.tenant_id, first, chain.size)
            with pytest.raises(ProofError):
                merkle.verify_consistency(first, chain.size, witnessed[first], new_root, path)
        # A head from before the edit is still extended by the rebuilt tree: only what changed is caught.
        path = store.consistency_proof(session, chain.tenant_id, seq - 1, chain.size)
        merkle.verify_consistency(seq - 1, chain.size, witnessed[seq - 1], new_root, path)


def _entry(session, chain: Chain, seq: int):
    from claimwatch.audit.models import AuditEntry

    return session.query(AuditEntry).filter(AuditEntry.tenant_id == chain.tenant_id, AuditEntry.seq == seq).one()


def test_a_hole_in_the_chain_stops_the_tree(chain: Chain) -> None:
    with db.get_engine().begin() as conn:
        conn.execute(text("delete from audit_entries where tenant_id = :t and seq = 12"), {"t": chain.tenant_id})
    with _session(chain) as session, pytest.raises(store.TreeGap, match="audit entry 12 is missing"):
        store.append(session, chain.tenant_id)
