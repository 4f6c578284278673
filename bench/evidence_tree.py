"""The evidence tree (``claimwatch.evidence.store``) with ten million leaves, on SQLite and PostgreSQL in one run.

    .venv/bin/python bench/evidence_tree.py [--leaves 10000000] [--append 100000] [--databases sqlite,postgresql]
                                            [--pg-url URL] [--proofs 2000]

Setup (not measured as a goal, but timed and printed): a fresh database (an SQLite file in a temp dir; a PostgreSQL
database created for the run and dropped after), migrated, one insurer made by ``tenancy.service``, then
``--leaves`` audit entries written by bulk ``INSERT … SELECT`` over a generated series (a document-like kind with a
payload hash; the chain's own hashes are placeholders: the tree reads seq, kind, subject, content_hash and
recorded_at only), then the tree built by ``store.append`` itself in chunks of a million (the real code path).

Measured, each against a baseline measured in the same run on the same database:
- appending ``--append`` new entries (``store.append``, one transaction, committed) — goal ≤ 1 s; baseline: only
  reading the same entries' leaf columns (the floor any append pays).
- an inclusion proof at the full size (``store.inclusion_proof``, random leaves, ``--proofs`` runs, one session) —
  goal p99 ≤ 1 ms; baseline: one audit entry read by (tenant, seq), the cheapest indexed read.
- a receipt's offline verification — goal ≤ 1 ms: what ``evidence.receipts.verify`` does for one entry: leaf data
  parsed → leaf hash, the inclusion path → root (``merkle.verify_inclusion``), an Ed25519 signature over the head;
  baseline: the Ed25519 verification alone.
Writes bench/results/evidence_tree-<db>-<time>.json; exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

import bench_databases  # noqa: E402 - the bench folder is on sys.path when run as a script
from claimwatch import db, migrate  # noqa: E402
from claimwatch.audit.models import AuditEntry  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.evidence import leaves, merkle, store  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402

DEFAULT_PG = "postgresql://claimwatch:claimwatch@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results"
START = "2025-01-01 00:00:00"
CHUNK = 1_000_000
GOAL_APPEND_S = 1.0
GOAL_PROOF_P99_MS = 1.0
GOAL_VERIFY_MS = 1.0


def _series(dialect: str, first: int, last: int) -> str:
    if dialect == "postgresql":
        return f"SELECT CAST(generate_series({first}, {last}) AS BIGINT) AS i"
    return f"WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM s WHERE i < {last}) SELECT i FROM s"


def _ts(dialect: str, seconds: str) -> str:
    if dialect == "postgresql":
        return f"(TIMESTAMPTZ '{START}+00' + ({seconds}) * INTERVAL '1 second')"
    return f"(strftime('%Y-%m-%d %H:%M:%S', '{START}', '+' || ({seconds}) || ' seconds') || '.000000')"


def write_entries(dialect: str, tenant_id: int, first: int, last: int) -> None:
    """Audit entries ``first..last`` (seq), one a second, by INSERT … SELECT in chunks of a million."""
    digest = "md5(CAST(i AS TEXT))" if dialect == "postgresql" else "printf('%032x', i * 2654435761)"
    engine = db.get_engine()
    for low in range(first, last + 1, CHUNK):
        high = min(last, low + CHUNK - 1)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_entries (tenant_id, seq, kind, subject, actor, content_hash, prev_hash, hash,"
                    " recorded_at, payload) "
                    f"SELECT {tenant_id}, i, 'document', 'CLM-' || CAST(i / 7 AS TEXT) || '/doc-' || CAST(i AS TEXT),"
                    f" 'bench', {digest} || {digest}, '', '', {_ts(dialect, 'i')}, NULL"  # noqa: S608
                    f" FROM ({_series(dialect, low, high)}) s"
                )
            )
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_heads SET seq = {last} WHERE tenant_id = {tenant_id}"))  # noqa: S608


def _quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 4),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 4),
        "max_ms": round(ordered[-1] * 1000, 4),
    }


def _timed(runs: int, call: Callable[[int], Any]) -> list[float]:
    samples = []
    for run in range(runs):
        started = time.perf_counter()
        call(run)
        samples.append(time.perf_counter() - started)
    return samples


def run(dialect: str, url: str, total: int, append: int, proofs: int) -> dict[str, Any]:
    report: dict[str, Any] = {"database": dialect, "leaves": total, "append": append}
    migrate.upgrade(url)
    db.configure(url)
    with unit_of_work(TenantContext.system_context()) as session:
        tenant = tenancy_service.create_tenant(session, code="BENCH", name="存证保险", actor="bench")
        tenant_id, code = tenant.id, tenant.code
    with db.get_engine().connect() as conn:
        existing = conn.execute(text(f"SELECT max(seq) FROM audit_entries WHERE tenant_id = {tenant_id}")).scalar()  # noqa: S608
    started = time.perf_counter()
    write_entries(dialect, tenant_id, existing + 1, total)
    report["setup_entries_s"] = round(time.perf_counter() - started, 1)
    print(f"[{dialect}] {total:,} audit entries written in {report['setup_entries_s']} s", flush=True)

    started = time.perf_counter()
    size = 0
    while size < total:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            size = store.append(session, tenant_id, limit=CHUNK)
        elapsed = time.perf_counter() - started
        print(f"[{dialect}]   tree {size:,} leaves after {elapsed:.0f} s ({size / elapsed:,.0f} leaves/s)", flush=True)
    built_in = time.perf_counter() - started
    report["setup_tree_s"] = round(built_in, 1)
    report["build_leaves_per_s"] = round(total / built_in)  # the unrounded time: a small tree builds in < 0.05 s
    if dialect == "postgresql":
        with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE audit_entries; ANALYZE evidence_nodes"))

    # Append: baseline = reading the same entries' leaf columns.
    write_entries(dialect, tenant_id, total + 1, total + append)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        started = time.perf_counter()
        rows = session.execute(
            select(*store.leaf_columns(dialect))
            .where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq > total)
            .order_by(AuditEntry.seq),
            execution_options={"include_all_tenants": True},
        ).all()
        read_s = time.perf_counter() - started
    assert len(rows) == append
    started = time.perf_counter()
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        size = store.append(session, tenant_id)
    append_s = time.perf_counter() - started
    assert size == total + append
    report["append_s"] = round(append_s, 3)
    report["append_baseline_read_s"] = round(read_s, 3)
    report["append_ratio"] = round(append_s / read_s, 1)
    print(
        f"[{dialect}] append {append:,}: {append_s:.3f} s (goal ≤ {GOAL_APPEND_S} s); baseline read "
        f"{read_s:.3f} s; ratio {append_s / read_s:.1f}",
        flush=True,
    )

    # Inclusion proof at the full size: baseline = one entry by (tenant, seq).
    rng = random.Random(16)
    indices = [rng.randrange(size) for _ in range(proofs)]
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        store.inclusion_proof(session, tenant_id, indices[0], size)  # warm-up
        proof_samples = _timed(proofs, lambda r: store.inclusion_proof(session, tenant_id, indices[r], size))
        lookup = select(AuditEntry.content_hash).where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq == 1)
        base_samples = _timed(
            proofs,
            lambda r: session.execute(
                lookup.where(AuditEntry.seq == indices[r] + 1), execution_options={"include_all_tenants": True}
            ).scalar(),
        )
        root = store.root(session, tenant_id, size)
        index = indices[0]
        path = store.inclusion_proof(session, tenant_id, index, size)
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.tenant_id == tenant_id, AuditEntry.seq == index + 1),
            execution_options={"include_all_tenants": True},
        ).scalar_one()
        data = leaves.entry_leaf_data(entry, code)
    proof_q, base_q = _quantiles(proof_samples), _quantiles(base_samples)
    report["inclusion_proof"] = proof_q
    report["inclusion_baseline_lookup"] = base_q
    report["inclusion_ratio_p99"] = round(proof_q["p99_ms"] / base_q["p99_ms"], 1)
    print(
        f"[{dialect}] inclusion proof at {size:,}: p50 {proof_q['p50_ms']} ms p99 {proof_q['p99_ms']} ms "
        f"(goal ≤ {GOAL_PROOF_P99_MS} ms); baseline entry lookup p99 {base_q['p99_ms']} ms; "
        f"ratio {report['inclusion_ratio_p99']}",
        flush=True,
    )

    # Offline verification of one receipt's proof and head signature.
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    message = f"{code}|{size}|{root.hex()}".encode()
    signature = key.sign(message)
    name = "leaf data parsed + merkle.verify_inclusion + Ed25519 verify (the work of receipts.verify)"

    def verify(_: int) -> None:
        leaves.parse_leaf_data(data)
        merkle.verify_inclusion(merkle.leaf_hash(data), index, size, path, root)
        public.verify(signature, message)

    verify_q = _quantiles(_timed(proofs, verify))
    sig_q = _quantiles(_timed(proofs, lambda _: public.verify(signature, message)))
    report["verify"] = {"what": name, **verify_q}
    report["verify_baseline_ed25519"] = sig_q
    report["verify_ratio_p99"] = round(verify_q["p99_ms"] / sig_q["p99_ms"], 1)
    print(
        f"[{dialect}] receipt verification ({name}): p50 {verify_q['p50_ms']} ms p99 {verify_q['p99_ms']} ms "
        f"(goal ≤ {GOAL_VERIFY_MS} ms); baseline Ed25519 alone p99 {sig_q['p99_ms']} ms; "
        f"ratio {report['verify_ratio_p99']}",
        flush=True,
    )
    report["goals_met"] = (
        append_s <= GOAL_APPEND_S and proof_q["p99_ms"] <= GOAL_PROOF_P99_MS and verify_q["p99_ms"] <= GOAL_VERIFY_MS
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leaves", type=int, default=10_000_000)
    parser.add_argument("--append", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("CLAIMWATCH_TEST_PG_URL", DEFAULT_PG))
    parser.add_argument("--proofs", type=int, default=2000)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    failed = False
    for dialect in args.databases.split(","):
        with bench_databases.database(dialect, args.pg_url, "evidence") as url:
            report = run(dialect, url, args.leaves, args.append, args.proofs)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        (RESULTS / f"evidence_tree-{dialect}-{stamp}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        failed = failed or not report["goals_met"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
