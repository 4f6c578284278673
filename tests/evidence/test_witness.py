"""The platform's witness: it keeps its own copy of each insurer's signed tree heads and checks every new head
against the last one it accepted. THE TAMPER TEST: an insurer edits a stored case event, recomputes its hash
chain and seals (so ``audit verify`` passes), rebuilds its Merkle tree and signs a new head: the witness says
the head is inconsistent, the insurer's admins get a notice and the regulator an inbox item."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.evidence import heads, keys, page_queries, witness, work
from claimwatch.evidence.models import EvidenceTreeHead
from claimwatch.notify.models import StaffNotification
from tests.evidence.tamper import CONFIRMED, ingest, lifecycle, rewrite_history, sign_and_witness
from tests.factories import TenantHandle, World
from tests.snapshots import Snapshot

REGULATOR = Principal(role=Role.REGULATOR, tenant_id=None, actor="regulator")


@dataclasses.dataclass(frozen=True)
class Insurer:
    tenant: TenantHandle
    admin: str


@pytest.fixture
def insurer(world: World, db_snapshot: Snapshot) -> Insurer:
    def build() -> Insurer:
        tenant = world.tenant("ACME", "示例保险")
        admin = world.user("acme.admin", Role.ADMIN, tenant)
        ingest(tenant.id, lifecycle("W-1"))
        return Insurer(tenant, admin)

    return db_snapshot("evidence.witness", build)


def test_a_rewritten_history_is_caught_by_the_witness_though_the_chain_verifies(insurer: Insurer):
    tenant_id = insurer.tenant.id
    first_head, first = sign_and_witness(tenant_id)
    assert (first.status, first.compared_with_size, first.problem) == (witness.FIRST, None, None)
    # The platform countersigned the head it accepted, with its own key.
    with unit_of_work(TenantContext.system_reader()) as session:
        platform = keys.current_key(session, None)
        assert platform is not None and first.witness_key_id == platform.key_id
        message = witness.cosigned_bytes("ACME", first.tree_size, first.signed_at, first.root_hash)
        assert keys.verify_signature(
            bytes.fromhex(platform.public_key), bytes.fromhex(first.witness_signature), message
        )

    ingest(tenant_id, lifecycle("W-2"))
    second_head, second = sign_and_witness(tenant_id)
    assert second.status == witness.CONSISTENT and second.compared_with_size == first.tree_size
    assert second.tree_size > first.tree_size and second.witness_signature
    with unit_of_work(TenantContext.system_context()) as session:  # the same head again: the copy kept before
        assert witness.receive(session, second_head).id == second.id
        assert witness.receive(session, first_head).id == first.id
    # A head of a smaller tree (signed late) is checked as a prefix of the newest accepted one: consistent.
    _, prefix = sign_and_witness(tenant_id, size=first.tree_size + 1)
    assert (prefix.status, prefix.compared_with_size) == (witness.CONSISTENT, second.tree_size)

    # The insurer edits one stored case event of W-1 (one character of its reason), recomputes its chain and
    # seals (``audit verify`` passes: asserted inside) and rebuilds its Merkle tree from the edited data…
    rewrite_history(tenant_id, "W-1-t0", CONFIRMED + "!")

    _, third = sign_and_witness(tenant_id)
    assert third.status == witness.INCONSISTENT
    assert third.compared_with_size == second.tree_size
    assert "does not extend the witnessed head" in third.problem and "rewritten" in third.problem
    assert third.witness_signature is None and third.witness_key_id is None

    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        notices = (
            session.execute(select(StaffNotification).where(StaffNotification.kind == witness.NOTICE_KIND))
            .scalars()
            .all()
        )
        assert [(n.recipient_role, n.link) for n in notices] == [("admin", "/evidence")]
        assert "ACME" in notices[0].subject
    with unit_of_work(TenantContext.regulator()) as session:
        [alarm] = page_queries.alarms(session, "en")
        assert (alarm["code"], alarm["status"], alarm["label"]) == (
            "ACME",
            witness.INCONSISTENT,
            "Inconsistent: history rewritten",
        )
        inbox = work.alarms(session, REGULATOR, "en", utc_now(), 10, 0)
        assert inbox.count == 1 and inbox.items[0].key == "ACME" and inbox.items[0].light == "red"
        assert inbox.items[0].url == "/evidence?tenant=ACME"

    # Every later head stays inconsistent with what the witness accepted until the history is restored.
    # A head of exactly the accepted size over the rewritten tree: another root for the same size.
    _, same_size = sign_and_witness(tenant_id, size=second.tree_size)
    assert same_size.status == witness.INCONSISTENT and same_size.compared_with_size == second.tree_size
    assert "two different roots for the same size" in (same_size.problem or "")


def test_a_head_with_a_bad_signature_is_refused_and_raises_the_alarm(insurer: Insurer):
    tenant_id = insurer.tenant.id
    _, first = sign_and_witness(tenant_id)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        signed = heads.sign_head(session, tenant_id, heads.MANUAL)
        # A forged head: the true size, another root (as if the tree had been swapped), the old signature.
        forged = EvidenceTreeHead(
            tenant_id=tenant_id,
            tree_size=signed.tree_size,
            root_hash="ab" * 32,
            signed_at=signed.signed_at,
            key_id=signed.key_id,
            signature=signed.signature,
            reason=signed.reason,
        )
        unknown = EvidenceTreeHead(
            tenant_id=tenant_id,
            tree_size=signed.tree_size,
            root_hash=signed.root_hash,
            signed_at=signed.signed_at,
            key_id="0" * 16,  # a key nobody has
            signature=signed.signature,
            reason=signed.reason,
        )
    with unit_of_work(TenantContext.system_context()) as session:
        copy = witness.receive(session, forged)
        assert copy.status == witness.BAD_SIGNATURE and copy.witness_signature is None
        assert copy.problem.startswith("signature: the signature of the head")
        other = witness.receive(session, unknown)
        assert other.status == witness.BAD_SIGNATURE and other.problem.startswith("key_id: unknown signing key")
        # The accepted head the next one is compared with is still the first.
        assert witness.newest_accepted(session, tenant_id).id == first.id
    with unit_of_work(TenantContext.regulator()) as session:
        assert [row["status"] for row in page_queries.alarms(session, "en")] == [witness.BAD_SIGNATURE]
