"""Monthly partitions on PostgreSQL (0031_pg_partitions): which partitions the hot paths touch, with EXPLAIN.

    .venv/bin/python bench/pg_partitions.py [--months 12] [--claims-per-month 20000] [--clocks 100000]
                                            [--pg-url URL] [--repeat 5]

Setup (not measured): a new PostgreSQL database, migrated; the SLA sweep's data of bench/sweep.py (its generator and
loader: ``--clocks`` open clocks, 1 % due) for tenant BENCH; then a history for tenant HIST: ``--months`` months
back to now, each made by ``claimwatch.ops.partitions.ensure(since=…)`` and filled server-side (INSERT … SELECT
generate_series) with ``--claims-per-month`` claims created in that month, 8 case events and 8 audit entries a
claim, 4 clock events and 2 sent outbox messages a claim, written in the claim's month; then ANALYZE.

Measured, each statement captured from the real code (the SQL the repository functions send, with their
parameters) and run under ``EXPLAIN (ANALYZE, BUFFERS)``:

* the claim page of a claim created this month and of one created six months ago: its case events
  (``cases.repository.timeline``), clock events (``sla.repository.clock_events``) and messages
  (``notify.repository.messages_of_claim``), each bounded by ``Claim.written_since()`` as the page does, and
  unbounded (``since=None``) as before this change, in the same run: partitions scanned and execution time;
* the outbox drain (``notify.repository.claim_due``): partitions scanned (the drain has no time bound);
* ingestion's idempotency look-up of 1 000 new event ids (``cases.repository.stored_events``): partitioned, on an
  unpartitioned copy of the table (the layout before 0031) and with a 60-day window
  (``CLAIMWATCH_EVENT_ID_WINDOW_DAYS``), in the same run;
* the SLA sweep (``sla.jobs.sweep``) over the due clocks: its time, and the partitions its rows went to.

Prints the plans' partition lists and the figures; writes bench/results/pg_partitions-*.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import sweep as sweep_bench  # noqa: E402
from bench_databases import database  # noqa: E402
from claimwatch import db  # noqa: E402
from claimwatch.cases import repository as cases_repository  # noqa: E402
from claimwatch.cases.models import Claim  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work, utc_now  # noqa: E402
from claimwatch.notify import repository as notify_repository  # noqa: E402
from claimwatch.ops import partitions  # noqa: E402
from claimwatch.sla import jobs as sla_jobs  # noqa: E402
from claimwatch.sla import repository as sla_repository  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HISTORY_ID_BASE = 100_000_000
PARTITION_RE = re.compile(r"\bon (\w+?_p(?:\d{6}|default))\b")


def load_history(tenant_id: int, months: list[dt.date], per_month: int) -> dict[str, int]:
    """Claims created in each month with their rows in the same month, written by the server."""
    counts = {"claims": 0}
    with db.get_engine().begin() as conn:
        for index, month in enumerate(months):
            first_id = HISTORY_ID_BASE + index * per_month
            start = dt.datetime.combine(month, dt.time(0), dt.UTC)
            span = (dt.datetime.combine(partitions.next_month(month), dt.time(0), dt.UTC) - start).total_seconds()
            # Rows of the current month stay in the past: nothing is written "in the future".
            span = min(span, max((utc_now() - start).total_seconds() - 86400 * 2, 3600))
            params = {"t": tenant_id, "first": first_id, "n": per_month, "start": start, "span": span}
            conn.execute(
                text(
                    "INSERT INTO claims (id, tenant_id, number, line, policy_number, claimant_name, status, "
                    "reported_at, status_changed_at, reopen_count, event_count, created_at, updated_at, sample_key, "
                    "route, priority, vulnerable) "
                    "SELECT :first + g, :t, 'H' || (:first + g), 'motor', 'P', 'x', 'closed', ts, ts, 0, 8, ts, ts, g, "
                    "'normal', 0, false FROM (SELECT g, CAST(:start AS timestamptz) + make_interval(secs => "
                    "(g::float / :n) * :span) AS ts FROM generate_series(0, :n - 1) g) s"
                ),
                params,
            )
            conn.execute(
                text(
                    "INSERT INTO case_events (tenant_id, claim_id, client_event_id, event_type, to_status, "
                    "occurred_at, received_at, actor, fingerprint, audit_seq) "
                    "SELECT c.tenant_id, c.id, c.number || '-' || k, 'transition', 'closed', c.created_at + k * "
                    "interval '1 hour', c.created_at + k * interval '1 hour', 'h', md5(c.number || k), "
                    "(c.id - :base) * 8 + k FROM claims c, generate_series(1, 8) k "
                    "WHERE c.id BETWEEN :first AND :first + :n - 1"
                ),
                params | {"base": HISTORY_ID_BASE},
            )
            conn.execute(
                text(
                    "INSERT INTO audit_entries (tenant_id, seq, kind, subject, actor, content_hash, prev_hash, hash, "
                    "recorded_at) SELECT tenant_id, audit_seq, 'case_event', client_event_id, 'h', fingerprint, "
                    "fingerprint, fingerprint, received_at FROM case_events "
                    "WHERE claim_id BETWEEN :first AND :first + :n - 1 AND received_at >= :start"
                ),
                params,
            )
            conn.execute(
                text(
                    "INSERT INTO sla_clocks (tenant_id, claim_id, policy_code, cycle, unit, yellow_budget, "
                    "red_budget, extended, consumed, state, light, started_at, anchor_at, escalated, updated_at) "
                    "SELECT c.tenant_id, c.id, 'hist', 1, 'hours', 12, 24, 0, 8, 'stopped', 'green', "
                    "c.created_at, c.created_at, 0, c.created_at "
                    "FROM claims c WHERE c.id BETWEEN :first AND :first + :n - 1"
                ),
                params,
            )
            conn.execute(
                text(
                    "INSERT INTO sla_clock_events (tenant_id, clock_id, kind, at, actor, recorded_at) "
                    "SELECT k.tenant_id, k.id, kind, k.started_at + j * interval '2 hours', 'h', "
                    "k.started_at + j * interval '2 hours' FROM sla_clocks k, "
                    "unnest(ARRAY['started', 'paused', 'resumed', 'stopped']) WITH ORDINALITY AS e(kind, j) "
                    "WHERE k.claim_id BETWEEN :first AND :first + :n - 1"
                ),
                params,
            )
            conn.execute(
                text(
                    "INSERT INTO outbox_messages (tenant_id, claim_id, channel, template, locale, subject, body, "
                    "idempotency_key, status, attempts, created_at, updated_at, sent_at) "
                    "SELECT c.tenant_id, c.id, 'sms', 't', 'zh', 's', 'b', c.number || '-' || j, 'sent', 1, "
                    "c.created_at + j * interval '1 hour', c.created_at, c.created_at FROM claims c, "
                    "generate_series(1, 2) j WHERE c.id BETWEEN :first AND :first + :n - 1"
                ),
                params,
            )
            counts["claims"] += per_month
        conn.execute(text("ANALYZE"))
    return counts


class Capture:
    """The SQL statements (and parameters) the code sends while the capture is on."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.on = False
        event.listen(db.get_engine(), "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if self.on:
            self.statements.append((statement, parameters))

    def run(self, call: Any) -> list[tuple[str, Any]]:
        self.statements, self.on = [], True
        try:
            call()
        finally:
            self.on = False
        return [(s, p) for s, p in self.statements if s.lstrip().upper().startswith("SELECT")]


def explain(statement: str, parameters: Any, repeat: int) -> dict[str, Any]:
    """EXPLAIN ANALYZE ``repeat`` times; the partitions the plan scans and the median execution time."""
    times = []
    plan = ""
    with db.get_engine().connect() as conn:
        for _ in range(repeat):
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
            plan = "\n".join(rows)
            times.append(float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1)))  # type: ignore[union-attr]
        conn.rollback()
    return {
        "partitions": sorted(set(PARTITION_RE.findall(plan))),
        "ms": statistics.median(times),
        "plan": plan,
    }


def claim_page(capture: Capture, tenant_id: int, claim_id: int, bounded: bool, repeat: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        claim = session.get(Claim, claim_id)
        assert claim is not None
        since = claim.written_since() if bounded else None
        clock_ids = list(
            session.execute(text("SELECT id FROM sla_clocks WHERE claim_id = :c"), {"c": claim_id}).scalars()
        )
        calls = {
            "case events": lambda: cases_repository.timeline(session, claim_id, since),
            "clock events": lambda: sla_repository.clock_events(session, clock_ids, since),
            "messages": lambda: notify_repository.messages_of_claim(session, claim_id, since),
        }
        for name, call in calls.items():
            (statement, parameters), *_ = capture.run(call)
            found[name] = explain(statement, parameters, repeat)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--months", type=int, default=12, help="months of history back from now (12)")
    parser.add_argument("--claims-per-month", type=int, default=20_000)
    parser.add_argument("--clocks", type=int, default=100_000, help="open clocks for the sweep (100 000, 1 %% due)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CLAIMWATCH_TEST_PG_URL")
        or os.environ.get("CLAIMWATCH_BENCH_PG_URL")
        or sweep_bench.DEFAULT_PG,
    )
    parser.add_argument("--repeat", type=int, default=5, help="EXPLAIN ANALYZE runs per statement (median)")
    args = parser.parse_args()

    now = utc_now()
    sweep_args = SimpleNamespace(
        clocks=args.clocks, clocks_per_claim=4, due=0.01, red_share=0.0, seed=42, batch_size=None
    )
    started = time.perf_counter()
    data = sweep_bench.generate(sweep_args, sweep_bench.NOW.timestamp())
    report: dict[str, Any] = {
        "date": now.isoformat(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "args": vars(args),
    }
    with database("postgresql", args.pg_url, "partitions") as url:
        sweep_bench.load(url, "postgresql", data)
        months = [partitions.month_start(now.date())]
        for _ in range(args.months):
            months.insert(0, (months[0] - dt.timedelta(days=1)).replace(day=1))
        made = partitions.ensure(since=months[0])
        with unit_of_work(TenantContext.system_context()) as session:
            hist = tenancy_service.create_tenant(session, code="HIST", name="历史保险").id
        counts = load_history(hist, months, args.claims_per_month)
        with db.get_engine().connect() as conn:
            sizes = {
                table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("case_events", "audit_entries", "sla_clock_events", "outbox_messages")
            }
            total_partitions = {
                table: len(partitions_of)
                for table in sizes
                if (
                    partitions_of := conn.execute(
                        text("SELECT inhrelid FROM pg_inherits WHERE inhparent = CAST(:t AS regclass)"), {"t": table}
                    ).all()
                )
            }
        report |= {"partitions_created": len(made.created), "history": counts, "rows": sizes}
        print(
            f"loaded in {time.perf_counter() - started:.0f} s: {counts['claims']:,} history claims over "
            f"{len(months)} months; rows {sizes}; partitions per table {total_partitions}; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )

        capture = Capture()
        per_month = args.claims_per_month
        recent_claim = HISTORY_ID_BASE + (len(months) - 1) * per_month + per_month // 2
        old_claim = HISTORY_ID_BASE + (len(months) - 7) * per_month + per_month // 2
        pages: dict[str, Any] = {}
        for label, claim_id in (("this month's claim", recent_claim), ("a claim of six months ago", old_claim)):
            for bounded in (True, False):
                key = f"{label}, {'bounded by written_since' if bounded else 'unbounded (before)'}"
                pages[key] = claim_page(capture, hist, claim_id, bounded, args.repeat)
        report["claim_page"] = {
            k: {q: {"partitions": v["partitions"], "ms": v["ms"]} for q, v in d.items()} for k, d in pages.items()
        }

        with unit_of_work(TenantContext.system_context()) as session:
            (drain, drain_params), *_ = capture.run(
                lambda: notify_repository.claim_due(session, utc_now(), 100, utc_now() + dt.timedelta(minutes=5))
            )
            session.rollback()
        drain_plan = explain(drain, drain_params, args.repeat)
        report["outbox_drain"] = {"partitions": drain_plan["partitions"], "ms": drain_plan["ms"]}

        # Ingestion's idempotency look-up (a batch of 1 000 event ids, none known): no time bound, so every partition.
        with unit_of_work(TenantContext.for_tenant(hist)) as session:
            (lookup, lookup_params), *_ = capture.run(
                lambda: cases_repository.stored_events(session, [f"NEW-{i}" for i in range(1000)])
            )
        lookup_plan = explain(lookup, lookup_params, args.repeat)
        # The same look-up on an unpartitioned copy (the layout before 0031), and bounded by a 60-day window
        # (CLAIMWATCH_EVENT_ID_WINDOW_DAYS), in the same run.
        with db.get_engine().begin() as conn:
            conn.execute(text("CREATE TABLE case_events_flat AS TABLE case_events"))
            conn.execute(text("CREATE UNIQUE INDEX ON case_events_flat (tenant_id, client_event_id)"))
            conn.execute(text("ANALYZE case_events_flat"))
        flat_plan = explain(
            lookup.replace("FROM case_events", "FROM case_events_flat AS case_events"), lookup_params, args.repeat
        )
        with unit_of_work(TenantContext.for_tenant(hist)) as session:
            (windowed, windowed_params), *_ = capture.run(
                lambda: cases_repository.stored_events(
                    session, [f"NEW-{i}" for i in range(1000)], utc_now() - dt.timedelta(days=60)
                )
            )
        windowed_plan = explain(windowed, windowed_params, args.repeat)
        report["ingest_idempotency_lookup"] = {
            "partitioned": {"partitions": len(lookup_plan["partitions"]), "ms": lookup_plan["ms"]},
            "unpartitioned copy": {"ms": flat_plan["ms"]},
            "partitioned, 60-day window": {"partitions": len(windowed_plan["partitions"]), "ms": windowed_plan["ms"]},
        }

        sweep_started = utc_now()
        t0 = time.perf_counter()
        result = sla_jobs.sweep(now=sweep_bench.NOW)
        sweep_seconds = time.perf_counter() - t0
        with db.get_engine().connect() as conn:
            written = {
                table: dict(
                    (str(name), count)
                    for name, count in conn.execute(
                        text(
                            f"SELECT tableoid::regclass::text, count(*) FROM {table} "
                            f"WHERE {key} >= :t GROUP BY 1 ORDER BY 1"
                        ),
                        {"t": sweep_started},
                    ).all()
                )
                for table, key in (
                    ("audit_entries", "recorded_at"),
                    ("sla_clock_events", "recorded_at"),
                    ("outbox_messages", "created_at"),
                    ("case_events", "received_at"),
                )
            }
        report["sweep"] = {"seconds": sweep_seconds, "clocks_checked": result.checked, "rows_went_to": written}

    print("\n== claim page: partitions scanned and median execution time (EXPLAIN ANALYZE) ==")
    for key, found in pages.items():
        print(f"\n{key}")
        for query, plan in found.items():
            print(
                f"  {query:13} {plan['ms']:8.3f} ms  {len(plan['partitions']):2} partitions: "
                f"{', '.join(plan['partitions'])}"
            )
    for label in ("this month's claim", "a claim of six months ago"):
        bounded = pages[f"{label}, bounded by written_since"]
        unbounded = pages[f"{label}, unbounded (before)"]
        ratio = sum(p["ms"] for p in unbounded.values()) / max(sum(p["ms"] for p in bounded.values()), 1e-6)
        print(f"{label}: the three queries unbounded / bounded = {ratio:.1f}× (same run)")
        report["claim_page"][f"{label}: unbounded / bounded"] = ratio
    example = pages["this month's claim, bounded by written_since"]["case events"]["plan"]
    print("\nplan of this month's claim's case events (bounded):\n" + example)
    print(
        f"\n== outbox drain == {drain_plan['ms']:.3f} ms, {len(drain_plan['partitions'])} partitions: "
        f"{', '.join(drain_plan['partitions'])}\n{drain_plan['plan']}"
    )
    print(
        f"\n== ingest idempotency look-up (1 000 new event ids) == partitioned {lookup_plan['ms']:.3f} ms "
        f"({len(lookup_plan['partitions'])} partitions); unpartitioned copy {flat_plan['ms']:.3f} ms; "
        f"with a 60-day window {windowed_plan['ms']:.3f} ms ({len(windowed_plan['partitions'])} partitions)"
    )
    print(
        f"\n== SLA sweep == {result.checked} clocks in {sweep_seconds:.2f} s; reads no partitioned table; "
        f"its rows went to: {json.dumps(written)}"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"pg_partitions-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
