"""The audit chain catches edits, deletions, reorderings and truncation made directly in the database."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from claimwatch import db
from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from claimwatch.cli import app
from claimwatch.db import TenantContext, unit_of_work
from tests.factories import HAPPY_PATH, reported, transition


def _ingest(tenant_id: int, events: list[dict]) -> None:
    principal = Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor="test")
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        cases_service.ingest_events(session, principal, [EventIn.model_validate(e) for e in events])


def _lifecycle(number: str) -> list[dict]:
    return [reported(f"{number}-r", number)] + [
        transition(f"{number}-t{i}", number, status, hours=i + 1) for i, status in enumerate(HAPPY_PATH)
    ]


def _verify(tenant_id: int) -> audit_service.VerifyReport:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return audit_service.verify(session, tenant_id)


def _sql(statement: str, **params) -> None:
    with db.get_engine().begin() as conn:
        conn.execute(text(statement), params)


def _seq_of(client_event_id: str) -> int:
    with db.get_engine().connect() as conn:
        return conn.execute(
            text("select audit_seq from case_events where client_event_id = :e"), {"e": client_event_id}
        ).scalar_one()


@pytest.fixture
def chain(world):
    tenant = world.tenant()
    _ingest(tenant.id, _lifecycle("A") + _lifecycle("B"))
    report = _verify(tenant.id)
    assert report.ok, report.problems
    return tenant


def test_intact_chain_verifies(chain):
    report = _verify(chain.id)
    assert report.ok
    # tenant, workflows (5), org unit, api key, then 18 case events
    assert report.entries_checked == report.last_seq == 8 + 18


def test_event_row_edited_by_hand_is_caught(chain):
    seq = _seq_of("A-t7")
    _sql("update case_events set to_status = 'rejected' where client_event_id = 'A-t7'")
    report = _verify(chain.id)
    assert not report.ok
    assert report.first_problem.seq == seq
    assert report.first_problem.what == "content of case_event A-t7 was edited"


def test_event_time_edited_by_hand_is_caught(chain):
    seq = _seq_of("B-t2")
    _sql("update case_events set occurred_at = received_at where client_event_id = 'B-t2'")
    assert _verify(chain.id).first_problem.seq == seq


def test_config_payload_edited_is_caught(chain):
    _sql("update audit_entries set payload = replace(payload, 'create', 'delete') where seq = 1")
    report = _verify(chain.id)
    assert report.first_problem.seq == 1
    assert "content of config.tenant" in report.first_problem.what


def test_entry_hash_rewritten_is_caught(chain):
    _sql("update audit_entries set hash = :h where seq = 12", h="f" * 64)
    report = _verify(chain.id)
    assert report.first_problem.seq == 12
    assert "hash does not match" in report.first_problem.what


def test_deleted_entry_is_caught(chain):
    _sql("delete from audit_entries where seq = 15")
    report = _verify(chain.id)
    assert report.first_problem.seq == 15
    assert report.first_problem.what == "entries 15 are missing (deleted)"


def test_deleted_event_row_is_caught(chain):
    seq = _seq_of("B-r")
    _sql("delete from case_events where client_event_id = 'B-r'")
    report = _verify(chain.id)
    assert report.first_problem.seq == seq
    assert report.first_problem.what == "case_event B-r is missing (deleted)"


def test_reordered_entries_are_caught(chain):
    # swap two entries' positions (and their events' back-references) as an attacker would
    _sql("update audit_entries set seq = -1 where seq = 20")
    _sql("update audit_entries set seq = 20 where seq = 21")
    _sql("update audit_entries set seq = 21 where seq = -1")
    _sql("update case_events set audit_seq = -1 where audit_seq = 20")
    _sql("update case_events set audit_seq = 20 where audit_seq = 21")
    _sql("update case_events set audit_seq = 21 where audit_seq = -1")
    report = _verify(chain.id)
    assert report.first_problem.seq == 20
    assert "reordered" in report.first_problem.what


def test_event_inserted_outside_the_chain_is_caught(chain):
    _sql(
        "insert into case_events (tenant_id, claim_id, client_event_id, event_type, occurred_at, received_at, actor,"
        " fingerprint, audit_seq) select tenant_id, claim_id, 'forged', event_type, occurred_at, received_at, actor,"
        " fingerprint, 9999 from case_events where client_event_id = 'A-r'"
    )
    report = _verify(chain.id)
    assert str(report.first_problem) == "1 case_event rows are not in the chain (written outside claimwatch)"


def test_truncated_tail_is_caught_by_the_head(chain):
    last = _verify(chain.id).last_seq
    _sql("delete from case_events where audit_seq > :s", s=last - 3)
    _sql("delete from audit_entries where seq > :s", s=last - 3)
    report = _verify(chain.id)
    assert report.first_problem.seq == last - 2
    assert "tail truncated" in report.first_problem.what
    # Rewinding the head as well hides a cut made after the last seal: that is what seals are for
    # (next test), and why they should also be kept outside the database.
    _sql("update audit_heads set seq = :s", s=last - 3)
    if db.get_engine().dialect.name == "postgresql":
        # The batch's block record still says how far it was written (it needs rewinding too, hashes and all).
        assert "was written up to" in _verify(chain.id).first_problem.what
        return
    assert _verify(chain.id).ok


def test_checkpoint_catches_truncation_even_with_head_rewound(chain):
    with unit_of_work(TenantContext.for_tenant(chain.id)) as session:
        sealed = audit_service.seal(session, chain.id)
    assert sealed is not None
    last = sealed.seq
    _sql("delete from case_events where audit_seq > :s", s=last - 3)
    _sql("delete from audit_entries where seq > :s", s=last - 3)
    _sql("update audit_heads set seq = :s", s=last - 3)
    report = _verify(chain.id)
    assert report.first_problem.what == f"chain ends at {last - 3} but a checkpoint sealed {last} (tail truncated)"


def test_forged_checkpoint_is_caught(chain):
    with unit_of_work(TenantContext.for_tenant(chain.id)) as session:
        audit_service.seal(session, chain.id)
    _sql("update audit_checkpoints set signature = :s", s="0" * 64)
    assert "forged seal" in _verify(chain.id).first_problem.what


def test_checkpoints_are_written_periodically(world, monkeypatch):
    from claimwatch.config import get_settings

    monkeypatch.setenv("CLAIMWATCH_AUDIT_CHECKPOINT_EVERY", "10")
    get_settings.cache_clear()
    try:
        tenant = world.tenant()
        _ingest(tenant.id, _lifecycle("P") + _lifecycle("Q"))
    finally:
        # Unset before the cache is cleared: a later read in this test would cache the 10 for the tests after it.
        monkeypatch.delenv("CLAIMWATCH_AUDIT_CHECKPOINT_EVERY")
        get_settings.cache_clear()
    with db.get_engine().connect() as conn:
        sealed = [row[0] for row in conn.execute(text("select seq from audit_checkpoints order by seq"))]
    assert sealed and all(b - a >= 10 for a, b in zip([0, *sealed], sealed, strict=False))
    assert _verify(tenant.id).ok


def test_cli_verify_exit_code_and_message(chain, database):
    runner = CliRunner()
    ok = runner.invoke(app, ["--database", database.url, "audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    _sql("update case_events set reason = 'changed' where client_event_id = 'A-t3'")
    broken = runner.invoke(app, ["--database", database.url, "audit", "verify", "--tenant", chain.code])
    assert broken.exit_code == 1
    assert "content of case_event A-t3 was edited" in broken.output.replace("\n", "")


def test_tenants_have_independent_chains(world):
    a = world.tenant("AAA")
    b = world.tenant("BBB")
    _ingest(a.id, _lifecycle("X"))
    _sql("update case_events set actor = 'mallory' where client_event_id = 'X-r'")
    assert not _verify(a.id).ok
    assert _verify(b.id).ok


def test_concurrent_writers_never_fork_the_chain(world):
    tenant = world.tenant()
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for batch in range(5):
                _ingest(tenant.id, _lifecycle(f"W{worker}-{batch}"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    report = _verify(tenant.id)
    assert report.ok, report.problems
    with db.get_engine().connect() as conn:
        seqs = [row[0] for row in conn.execute(text("select seq from audit_entries order by seq"))]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) == 8 + 4 * 5 * 9
