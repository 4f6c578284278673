"""More than one writer per tenant (PostgreSQL): batches of case events are written side by side in sequence
blocks, linked into the chain afterwards; a rolled-back batch leaves void entries that verify explains, and a
deleted batch is never taken for a void. SQLite has one writer: nothing here applies to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from claimwatch import db
from claimwatch.audit import jobs as audit_jobs
from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.evidence import store
from tests.factories import HAPPY_PATH, reported, transition


@pytest.fixture
def tenant(database, request):
    if database.dialect != "postgresql":
        pytest.skip("one writer at a time on SQLite")
    return request.getfixturevalue("world").tenant()


def _lifecycle(number: str) -> list[EventIn]:
    events = [reported(f"{number}-r", number)] + [
        transition(f"{number}-t{i}", number, status, hours=i + 1) for i, status in enumerate(HAPPY_PATH[:3])
    ]
    return [EventIn.model_validate(e) for e in events]


@contextmanager
def _open_batch(tenant_id: int, number: str) -> Iterator[Session]:
    """A batch ingested in a transaction the caller commits (or rolls back) when it likes."""
    session = db.new_session(TenantContext.for_tenant(tenant_id))
    principal = Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor="test")
    cases_service.ingest_events(session, principal, _lifecycle(number))
    try:
        yield session
    finally:
        session.close()


def _ingest_fast(tenant_id: int, number: str) -> None:
    """A batch that must not wait for any other transaction (it fails after 3 s instead)."""
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        session.execute(text("SET LOCAL lock_timeout = '3s'"))
        principal = Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor="test")
        cases_service.ingest_events(session, principal, _lifecycle(number))


def _verify(tenant_id: int) -> audit_service.VerifyReport:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return audit_service.verify(session, tenant_id)


def _sql(statement: str, **params) -> list:
    with db.get_engine().begin() as conn:
        result = conn.execute(text(statement), params)
        return list(result) if result.returns_rows else []


def test_batches_are_written_side_by_side_and_linked_in_order(tenant):
    head_before = _verify(tenant.id).linked_seq
    with _open_batch(tenant.id, "A") as first:
        _ingest_fast(tenant.id, "B")  # committed while A's transaction is open: no tenant-wide lock
        # A serial writer (any other domain) still waits for the open batch, as it always did.
        with pytest.raises(OperationalError), unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            audit_service.open_chain(session, tenant.id)
        report = _verify(tenant.id)  # B is past the head, not linked: checked inside its block
        assert report.ok, report.problems
        assert report.linked_seq == head_before and report.last_seq > head_before
        first.commit()
    assert audit_jobs.link_all()[tenant.id] == 0  # A's commit found the head free and linked both blocks
    report = _verify(tenant.id)
    assert report.ok, report.problems
    assert report.linked_seq == report.last_seq == head_before + 8 and report.voided == 0
    a_seqs = _sql("select audit_seq from case_events where client_event_id like 'A-%' order by audit_seq")
    b_seqs = _sql("select audit_seq from case_events where client_event_id like 'B-%' order by audit_seq")
    assert b_seqs[0][0] > a_seqs[-1][0]  # blocks are in allocation order, whatever the commit order
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        assert store.append(session, tenant.id) == report.linked_seq  # the evidence tree follows the linked head


def test_a_rolled_back_batch_becomes_void_entries_that_verify_explains(tenant):
    with _open_batch(tenant.id, "A") as first:
        _ingest_fast(tenant.id, "B")
        first.rollback()
    audit_jobs.link_all()
    report = _verify(tenant.id)
    assert report.ok, report.problems
    assert report.voided == 4
    rows = _sql("select payload from audit_entries where kind = 'audit.void' order by seq")
    assert '"reason":"rolled back"' in rows[0][0]
    # A void entry is an entry like any other: deleting or editing it breaks the chain.
    _sql("update audit_entries set payload = replace(payload, 'rolled back', 'not used') where kind = 'audit.void'")
    assert "content of audit.void" in _verify(tenant.id).first_problem.what


def test_a_deleted_batch_is_not_taken_for_a_rolled_back_one(tenant):
    # An open batch holds the head shared, so B stays unlinked after its commit.
    with _open_batch(tenant.id, "A") as first:
        _ingest_fast(tenant.id, "B")
        seqs = [row[0] for row in _sql("select audit_seq from case_events where client_event_id like 'B-%'")]
        _sql("delete from case_events where client_event_id like 'B-%'")
        _sql("delete from audit_entries where seq between :a and :b", a=min(seqs), b=max(seqs))
        first.commit()
    report = _verify(tenant.id)
    assert not report.ok
    assert report.first_problem.seq == min(seqs)
    assert "tail truncated" in report.first_problem.what or "missing" in report.first_problem.what
    with (
        pytest.raises(audit_service.ChainBroken, match="entries are missing"),
        unit_of_work(TenantContext.for_tenant(tenant.id)) as session,
    ):
        audit_service.link(session, tenant.id)
    # The same holds when the block record is deleted as well: the numbers were handed out.
    _sql("delete from audit_blocks where first_seq = :a", a=min(seqs))
    with (
        pytest.raises(audit_service.ChainBroken, match="have no block record"),
        unit_of_work(TenantContext.for_tenant(tenant.id)) as session,
    ):
        audit_service.link(session, tenant.id)


def test_a_transaction_holding_the_head_ingests_alone(tenant):
    # It holds the counter's row once it moved the head: an allocation on another connection would wait for it.
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        audit_service.record(session, tenant.id, "config.test", "x", "test", {"n": 1})
        assert not audit_service.open_block_writer(session, tenant.id).concurrent
        audit_service.forget_block_writer(session)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        assert audit_service.open_block_writer(session, tenant.id).concurrent
