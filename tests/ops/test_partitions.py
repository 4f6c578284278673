"""Monthly partitions on PostgreSQL (0031_pg_partitions, claimwatch.ops.partitions): rows of a month without a
partition land in the DEFAULT one and move out when the month is made; a month is archived to files with its audit
chain boundary and evidence head, then detached and dropped; `audit verify` then starts at the boundary and still
catches a deleted or forged boundary. PostgreSQL only: SQLite has no partitions."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import types

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

import claimwatch.db
from claimwatch import db
from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from claimwatch.cli import app
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict, Invalid
from claimwatch.evidence import service as evidence_service
from claimwatch.ops import partitions
from tests.factories import HAPPY_PATH, reported, transition

# Only the PostgreSQL half of the `database` fixture.
pytestmark = pytest.mark.parametrize("database", ["postgresql"], indirect=True)

TABLES = ("audit_entries", "case_events", "outbox_messages", "sla_clock_events")


def _months_back(months: int) -> dt.date:
    month = partitions.month_start(dt.datetime.now(dt.UTC).date())
    for _ in range(months):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


class _Clock(dt.datetime):
    """``claimwatch.db.utc_now`` reads ``dt.datetime.now``: this one answers a fixed time."""

    frozen: dt.datetime

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
        return cls.frozen.astimezone(tz) if tz else cls.frozen


def _travel(monkeypatch: pytest.MonkeyPatch, at: dt.datetime) -> None:
    _Clock.frozen = at
    monkeypatch.setattr(claimwatch.db, "dt", types.SimpleNamespace(**{**vars(dt), "datetime": _Clock}))


def _ingest(tenant_id: int, number: str) -> None:
    events = [reported(f"{number}-r", number)] + [
        transition(f"{number}-t{i}", number, status, hours=i + 1) for i, status in enumerate(HAPPY_PATH)
    ]
    principal = Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor="test")
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        cases_service.ingest_events(session, principal, [EventIn.model_validate(e) for e in events])


def _scalar(statement: str):
    with db.get_engine().connect() as conn:
        return conn.execute(text(statement)).scalar()


def _sql(statement: str, **params) -> None:
    with db.get_engine().begin() as conn:
        conn.execute(text(statement), params)


def _verify(tenant_id: int) -> audit_service.VerifyReport:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return audit_service.verify(session, tenant_id)


@pytest.fixture
def archived(database, world, tmp_path, monkeypatch):
    """A tenant whose chain began three months ago (claim A then, claim B now), its old month archived."""
    old = _months_back(3)
    _travel(monkeypatch, dt.datetime.combine(old, dt.time(9), dt.UTC) + dt.timedelta(days=2))
    tenant = world.tenant()
    _ingest(tenant.id, "A")
    monkeypatch.undo()
    _ingest(tenant.id, "B")
    suffix = f"{old:%Y%m}"
    for table in TABLES:  # no partition for that month yet: the DEFAULT partitions took its rows
        assert _scalar(f"SELECT count(*) FROM {table}_pdefault") > 0

    made = partitions.ensure()
    assert sorted(made.created) == [f"{table}_p{suffix}" for table in TABLES]
    assert made.moved > 0
    assert all(_scalar(f"SELECT count(*) FROM {table}_pdefault") == 0 for table in TABLES)
    assert partitions.ensure().created == []  # nothing left to make
    # the per-partition uniques came along: the month's event ids are unique within the month
    uniques = (
        f"SELECT count(*) FROM pg_indexes WHERE tablename = 'case_events_p{suffix}' AND indexdef LIKE 'CREATE UNIQUE%'"
    )
    assert _scalar(uniques) == 3  # the primary key's and the two per-partition uniques

    _sql(f"UPDATE outbox_messages_p{suffix} SET status = 'sent'")
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        last_old_seq = session.execute(
            text(f"SELECT max(seq) FROM audit_entries_p{suffix} WHERE tenant_id = :t"), {"t": tenant.id}
        ).scalar_one()
    done = partitions.archive(_months_back(2), tmp_path)
    assert [m.month for m in done] == [f"{old:%Y-%m}"]
    return tenant, old, last_old_seq, done[0]


def test_archive_writes_the_month_and_verify_starts_at_its_boundary(archived):
    tenant, old, last_old_seq, month = archived
    suffix = f"{old:%Y%m}"
    assert all(_scalar(f"SELECT to_regclass('{t}_p{suffix}')") is None for t in TABLES)  # detached and dropped

    manifest = json.loads((month.folder / "manifest.json").read_text())
    (chain,) = manifest["audit_chains"]
    assert (chain["first_seq"], chain["last_seq"]) == (1, last_old_seq)
    assert chain["evidence_head"]["tree_size"] >= last_old_seq
    for table, entry in manifest["tables"].items():
        path = month.folder / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        with gzip.open(path, "rt") as lines:
            rows = [json.loads(line) for line in lines]
        assert len(rows) == entry["rows"] == month.rows[table]
    with gzip.open(month.folder / "audit_entries.jsonl.gz", "rt") as lines:
        entries = [json.loads(line) for line in lines]
    # The boundary keeps the chain's running hash: the last entry's, or where a batch's block ended there, the
    # block's link hash (sequence blocks of concurrent ingest).
    link = _scalar(f"SELECT link_hash FROM audit_blocks WHERE tenant_id = {tenant.id} AND last_seq = {last_old_seq}")
    assert entries[-1]["seq"] == last_old_seq and chain["last_hash"] == (link or entries[-1]["hash"])

    report = _verify(tenant.id)
    assert report.ok, report.problems
    assert report.archived_through == last_old_seq
    assert report.entries_checked == report.last_seq - last_old_seq
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        assert evidence_service.check_tree(session, tenant.id).ok
        claim_b = cases_service.claim_with_timeline(session, "B", "en")
    assert len(claim_b[1]) == 1 + len(HAPPY_PATH)

    # Nothing older is left to archive, and a current month is refused.
    assert partitions.archive(_months_back(2), month.folder.parent) == []
    with pytest.raises(Invalid):
        partitions.archive(partitions.next_month(_months_back(0)), month.folder.parent)


def test_a_deleted_or_forged_boundary_is_caught(archived):
    tenant, _, last_old_seq, _ = archived
    _sql("UPDATE audit_archives SET last_hash = repeat('0', 64)")
    forged = _verify(tenant.id).first_problem
    # The first entry after the boundary does not link to it; or, where a block starts there, the block's link.
    assert forged.seq > last_old_seq and ("does not link" in forged.what or "link does not match" in forged.what)

    # Entries right after the boundary deleted, and a boundary written by hand past them: no chain entry vouches.
    with db.get_engine().connect() as conn:
        last_hash = conn.execute(
            text("SELECT hash FROM audit_entries WHERE tenant_id = :t AND seq = :s"),
            {"t": tenant.id, "s": last_old_seq + 3},
        ).scalar_one()
    _sql("DELETE FROM audit_entries WHERE tenant_id = :t AND seq <= :s", t=tenant.id, s=last_old_seq + 3)
    _sql(
        "INSERT INTO audit_archives (tenant_id, month, first_seq, last_seq, last_hash, entries, archive, "
        "manifest_sha256, archived_at) VALUES (:t, '2000-01', 1, :s, :h, :s, 'x', repeat('0', 64), now())",
        t=tenant.id,
        s=last_old_seq + 3,
        h=last_hash,
    )
    # Caught either way: by the boundary check, or (where the hand-written boundary falls inside a batch's block)
    # by the first link after the block, which needs the block's link from the real boundary.
    hidden = _verify(tenant.id).first_problem.what
    assert "not recorded in the chain" in hidden or "does not link" in hidden

    _sql("DELETE FROM audit_archives")
    problem = _verify(tenant.id).first_problem
    assert (problem.seq, problem.what) == (1, f"entries 1-{last_old_seq + 3} are missing (deleted)")


def test_a_month_with_messages_to_send_is_not_archived(database, world, tmp_path, monkeypatch):
    old = _months_back(2)
    _travel(monkeypatch, dt.datetime.combine(old, dt.time(9), dt.UTC) + dt.timedelta(days=2))
    tenant = world.tenant()
    _ingest(tenant.id, "A")
    monkeypatch.undo()
    partitions.ensure()
    if not _scalar(f"SELECT count(*) FROM outbox_messages_p{old:%Y%m} WHERE status = 'queued'"):
        pytest.skip("the lifecycle queued no claimant message")
    with pytest.raises(Conflict, match="outbox messages to send"):
        partitions.archive(_months_back(1), tmp_path)
    assert _scalar(f"SELECT to_regclass('case_events_p{old:%Y%m}')") is not None  # nothing dropped
    assert _verify(tenant.id).ok
