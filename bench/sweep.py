"""The SLA sweep over a million open clocks, 1 % of them due, on SQLite and PostgreSQL in one run.

    .venv/bin/python bench/sweep.py [--clocks 1000000] [--due 0.01] [--databases sqlite,postgresql]
                                    [--pg-url URL] [--batch-size 5000] [--repeat 3] [--profile] [--no-floor]

Setup (not measured): a fresh database (an SQLite file in a temp dir; a PostgreSQL database created
for the run and dropped after), migrated, one tenant made by ``tenancy.service.create_tenant``, then
claims and running clocks written by ``db.bulk_insert`` (COPY on PostgreSQL, executemany on SQLite):
``--clocks-per-claim`` clocks a claim (default 4: the timeliness tier by amount, the materials notice,
the claim decision and the advance payment), with deadlines derived on the policy's own axis from
the default policies and the built-in calendar, vectorised. 99 % are green with ``next_check_at``
(= yellow due) in the future; ``--due`` of them have passed yellow but not red at ``--now`` (and a
``--red-share`` of those passed red too, default none). Then ANALYZE.

Measured: ``jobs.sweep(now)`` (one transaction per ``sweep_batch_size`` clocks), then a second sweep
with nothing due; ``--repeat`` times, each on a fresh copy of the loaded database (a file copy on
SQLite, ``CREATE DATABASE … TEMPLATE … STRATEGY file_copy`` on PostgreSQL); the median is compared
with the goal of ≤ 1 s per sweep. Each run also prints the sweep's CPU time (this process) and, on SQLite, the bytes
it wrote (``/proc/self/io`` wchar: WAL frames and checkpoint): unlike the wall time, neither moves with the load of
a shared machine. On PostgreSQL each run is followed by the SQL floor on another fresh copy:
the same rows (the due clocks locked and turned yellow, an escalation, a staff notice and an audit row each)
written by one plain SQL statement per batch, nothing decided or formatted in Python; sweep ÷ floor is what the
code adds to the database's own work (``--no-floor`` skips it).
Verified after each, or exit status 1: exactly the due clocks have a yellow escalation, a staff notification
and an ``sla.escalation`` audit entry; regulator filings only for clocks whose red had passed; the audit chain
verifies.
PostgreSQL: --pg-url, default CLAIMWATCH_TEST_PG_URL (or the local server `make test` starts).
Writes bench/results/sweep-*.json.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from claimwatch import db, migrate  # noqa: E402
from claimwatch.audit import service as audit_service  # noqa: E402
from claimwatch.calendar.service import builtin_years  # noqa: E402
from claimwatch.calendar.workdays import Axis, WorkCalendar, make_axis  # noqa: E402
from claimwatch.cases.models import new_sample_key  # noqa: E402
from claimwatch.config import get_settings  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.sla import jobs  # noqa: E402
from claimwatch.sla.loader import Policy, policies_for_tenant  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402

DEFAULT_PG = "postgresql://claimwatch:claimwatch@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results"
TZ = ZoneInfo("Asia/Shanghai")
TENANT = "BENCH"
CHUNK = 50_000
CLAIM_COLUMNS = (
    "id",
    "tenant_id",
    "number",
    "org_unit_id",
    "region_code",
    "line",
    "policy_number",
    "claimant_name",
    "reported_amount_fen",
    "status",
    "reported_at",
    "status_changed_at",
    "reopen_count",
    "event_count",
    "created_at",
    "updated_at",
    "sample_key",
)
CLOCK_COLUMNS = (
    "id",
    "tenant_id",
    "claim_id",
    "policy_code",
    "cycle",
    "unit",
    "yellow_budget",
    "red_budget",
    "extended",
    "consumed",
    "state",
    "light",
    "started_at",
    "anchor_at",
    "running_since",
    "yellow_due_at",
    "red_due_at",
    "next_check_at",
    "escalated",
    "updated_at",
)
# Amount tiers (fen) for the timeliness clock: small < 5 000 yuan ≤ middle < 50 000 yuan ≤ large.
TIERS = (("timeliness_small", 60, 100_00, 5000_00), ("timeliness_middle", 30, 5000_00, 50_000_00))
TIERS += (("timeliness_large", 10, 50_000_00, 500_000_00),)
OTHER_POLICIES = ("materials_notice", "claim_decision", "advance_payment")
DAY = 86400


class Deadlines:
    """Vectorised deadlines of fresh running clocks, exactly as ``engine.refresh`` derives them."""

    def __init__(self, axis: Axis, policy: Policy) -> None:
        self.axis = axis
        self.policy = policy

    def of(self, start: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        anchor = self.axis.anchor(start)
        value = self.axis.value(anchor)
        yellow = self.axis.finalize(self.axis.instant(value + self.policy.yellow_seconds))
        red = self.axis.finalize(self.axis.instant(value + self.policy.red_seconds))
        return anchor, np.round(yellow, 6), np.round(red, 6)

    def sample(self, n: int, now: float, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """``n`` clocks that, at ``now``, are green (``kind`` "green"), past yellow only ("yellow") or
        past red ("red"): start instants drawn from a window before ``now`` and kept if they fit."""
        span = self.policy.red_seconds if kind != "green" else self.policy.yellow_seconds
        window = span * 2 + 12 * DAY  # working days and holiday roll-overs stretch the calendar span
        parts: list[tuple[np.ndarray, ...]] = []
        found = 0
        while found < n:
            start = np.floor(now - rng.uniform(0, window, max(4 * (n - found), 1000)))
            anchor, yellow, red = self.of(start)
            if kind == "green":
                keep = yellow > now
            elif kind == "yellow":
                keep = (yellow <= now) & (red > now)
            else:
                keep = red <= now
            parts.append((start[keep], anchor[keep], yellow[keep], red[keep]))
            found += int(keep.sum())
        return tuple(np.concatenate([p[i] for p in parts])[:n] for i in range(4))


def stamps(ts: np.ndarray, dialect: str) -> list[str]:
    """UTC instants as each database takes them in bulk: SQLite as ``UTCDateTime`` stores them
    (naive UTC text), PostgreSQL as ISO text with the offset (COPY parses it)."""
    text_ = np.datetime_as_string(np.round(ts * 1e6).astype(np.int64).astype("datetime64[us]"), unit="us")
    if dialect == "sqlite":
        return np.char.replace(text_, "T", " ").tolist()
    return np.char.add(text_, "+00:00").tolist()


def generate(args: argparse.Namespace, now: float) -> dict[str, np.ndarray]:
    """Claims and clocks as columns (numpy arrays), the same for both databases."""
    rng = np.random.default_rng(args.seed)
    calendar = WorkCalendar(builtin_years())
    policies = policies_for_tenant(TENANT)
    per_claim = args.clocks_per_claim
    claims = -(-args.clocks // per_claim)
    clocks = args.clocks
    # Which tier each claim is in, and its amount.
    tier = rng.choice(len(TIERS), size=claims, p=[t[1] / 100 for t in TIERS])
    low = np.array([t[2] for t in TIERS])[tier]
    high = np.array([t[3] for t in TIERS])[tier]
    amount = rng.integers(low, high)
    claim_of_clock = np.arange(clocks) // per_claim
    slot = np.arange(clocks) % per_claim
    codes = np.empty(clocks, dtype=object)
    tier_codes = np.array([t[0] for t in TIERS], dtype=object)
    codes[slot == 0] = tier_codes[tier[claim_of_clock[slot == 0]]]
    for k in range(1, per_claim):
        codes[slot == k] = OTHER_POLICIES[k - 1]
    # The due clocks: a random 1 %, of which a share also passed red.
    due_count = round(clocks * args.due)
    due_index = np.sort(rng.choice(clocks, size=due_count, replace=False))
    kind = np.full(clocks, "green", dtype=object)
    kind[due_index] = "yellow"
    red_count = round(due_count * args.red_share)
    kind[due_index[rng.choice(due_count, size=red_count, replace=False)]] = "red"

    start = np.empty(clocks)
    anchor = np.empty(clocks)
    yellow = np.empty(clocks)
    red = np.empty(clocks)
    for code in np.unique(codes):
        policy = policies[code]
        deadlines = Deadlines(make_axis(policy.unit, calendar, TZ, []), policy)
        for k in ("green", "yellow", "red"):
            where = np.flatnonzero((codes == code) & (kind == k))
            if where.size:
                start[where], anchor[where], yellow[where], red[where] = deadlines.sample(where.size, now, k, rng)
    # A claim was reported when its earliest clock started.
    reported = np.full(claims, np.inf)
    np.minimum.at(reported, claim_of_clock, start)
    return {
        "claims": np.array([claims]),
        "amount": amount,
        "reported": reported,
        "claim_of_clock": claim_of_clock,
        "codes": codes,
        "units": np.array([policies[c].unit.value for c in codes], dtype=object),
        "yellow_budget": np.array([policies[c].yellow_seconds for c in codes]),
        "red_budget": np.array([policies[c].red_seconds for c in codes]),
        "start": start,
        "anchor": anchor,
        "yellow": yellow,
        "red": red,
        "due_ids": due_index + 1,  # clock ids are 1..clocks
        "red_ids": np.flatnonzero(kind == "red") + 1,
    }


def load(url: str, dialect: str, data: dict[str, np.ndarray]) -> int:
    migrate.upgrade(url)
    db.configure(url)
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_id = tenancy_service.create_tenant(session, code=TENANT, name="基准保险").id
    with db.get_engine().connect() as conn:
        org_unit_id = conn.execute(text("select id from org_units where tenant_id = :t"), {"t": tenant_id}).scalar_one()
    claims = int(data["claims"][0])
    reported = stamps(data["reported"], dialect)
    amount = data["amount"].tolist()
    context = TenantContext.for_tenant(tenant_id)
    for first in range(0, claims, CHUNK):
        rows = [
            (
                i + 1,
                tenant_id,
                f"BCH{i + 1:010d}",
                org_unit_id,
                "440000",
                "motor",
                f"POL{i + 1:010d}",
                "张三",
                amount[i],
                "accepted",
                reported[i],
                reported[i],
                0,
                1,
                reported[i],
                reported[i],
                new_sample_key(),
            )
            for i in range(first, min(first + CHUNK, claims))
        ]
        with unit_of_work(context) as session:
            db.bulk_insert(session, "claims", CLAIM_COLUMNS, rows)
    start, anchor = stamps(data["start"], dialect), stamps(data["anchor"], dialect)
    yellow, red = stamps(data["yellow"], dialect), stamps(data["red"], dialect)
    claim_ids = (data["claim_of_clock"] + 1).tolist()
    codes, units = data["codes"].tolist(), data["units"].tolist()
    yellow_budget, red_budget = data["yellow_budget"].tolist(), data["red_budget"].tolist()
    clocks = len(start)
    for first in range(0, clocks, CHUNK):
        rows = [
            (
                i + 1,
                tenant_id,
                claim_ids[i],
                codes[i],
                1,
                units[i],
                yellow_budget[i],
                red_budget[i],
                0.0,
                0.0,
                "running",
                "green",
                start[i],
                anchor[i],
                anchor[i],
                yellow[i],
                red[i],
                yellow[i],  # next_check_at: the yellow deadline of a green clock
                0,
                start[i],
            )
            for i in range(first, min(first + CHUNK, clocks))
        ]
        with unit_of_work(context) as session:
            db.bulk_insert(session, "sla_clocks", CLOCK_COLUMNS, rows)
    with db.get_engine().connect() as conn:
        if dialect == "postgresql":
            conn.execute(text("select setval(pg_get_serial_sequence('claims', 'id'), :n)"), {"n": claims})
            conn.execute(text("select setval(pg_get_serial_sequence('sla_clocks', 'id'), :n)"), {"n": clocks})
            conn.commit()
            # As a database in service would be: statistics fresh, the bulk load vacuumed (so
            # autovacuum does not start on the million new rows in the middle of the sweep).
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("vacuum analyze"))
        else:
            conn.execute(text("analyze"))
            conn.commit()
            conn.exec_driver_sql("pragma wal_checkpoint(truncate)")
    return tenant_id


def written_bytes() -> int | None:
    """Bytes this process has handed to write calls so far (Linux ``/proc/self/io`` wchar), None elsewhere. On
    SQLite that is the sweep's WAL frames and checkpoint, a figure the machine's load does not change."""
    try:
        with open("/proc/self/io") as io_file:
            return next(int(line.split()[1]) for line in io_file if line.startswith("wchar:"))
    except (OSError, StopIteration):
        return None


class Timing(NamedTuple):
    seconds: float
    cpu_seconds: float  # this process only: on PostgreSQL the server's work is not in it
    written_mb: float | None


def timed_sweep(now: dt.datetime, batch_size: int | None, profile: bool) -> tuple[jobs.SweepResult, Timing, str]:
    profiler = cProfile.Profile() if profile else None
    written = written_bytes()
    cpu = time.process_time()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = jobs.sweep(now=now, batch_size=batch_size)
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    after = written_bytes()
    timing = Timing(elapsed, cpu, None if written is None or after is None else (after - written) / 2**20)
    report = ""
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        report = out.getvalue()
    return result, timing, report


def verify(tenant_id: int, data: dict[str, np.ndarray], result: jobs.SweepResult) -> dict[str, bool]:
    due_ids = sorted(data["due_ids"].tolist())
    red_ids = sorted(data["red_ids"].tolist())
    with db.get_engine().connect() as conn:

        def ids(sql: str) -> list[int]:
            return sorted(row[0] for row in conn.execute(text(sql)))

        yellow_escalated = ids("select clock_id from sla_escalations where level = 'yellow'")
        red_escalated = ids("select clock_id from sla_escalations where level = 'red'")
        notified_yellow = ids("select claim_id from staff_notifications where kind = 'sla_yellow'")
        keys = {row[0] for row in conn.execute(text("select dedupe_key from staff_notifications"))}
        filed = ids("select clock_id from regulator_filings")
        audited = conn.execute(text("select count(*) from audit_entries where kind = 'sla.escalation'")).scalar_one()
        lights = {row[0]: row[1] for row in conn.execute(text("select light, count(*) from sla_clocks group by light"))}
        still_due = conn.execute(
            text("select count(*) from sla_clocks where next_check_at <= :now"),
            {"now": db.sqlite_timestamp(NOW) if conn.dialect.name == "sqlite" else NOW},
        ).scalar_one()
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        chain = audit_service.verify(session, tenant_id)
    claim_of = {clock_id: int(data["claim_of_clock"][clock_id - 1]) + 1 for clock_id in due_ids}
    expected_keys = {f"sla:{i}:yellow" for i in due_ids} | {f"sla:{i}:red" for i in red_ids}
    return {
        "sweep result counts": (result.checked, result.yellow, result.red)
        == (len(due_ids), len(due_ids), len(red_ids)),
        "yellow escalation for exactly the due clocks": yellow_escalated == due_ids,
        "red escalation/filing only where red had passed": red_escalated == red_ids and filed == red_ids,
        "staff notification for exactly the due clocks": keys == expected_keys
        and notified_yellow == sorted(claim_of[i] for i in due_ids),
        "one audit entry per escalation": audited == len(due_ids) + len(red_ids),
        "lights": lights.get("yellow", 0) == len(due_ids) - len(red_ids) and lights.get("red", 0) == len(red_ids),
        "nothing left due": still_due == 0,
        "audit chain verifies": chain.ok,
    }


NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=TZ).astimezone(dt.UTC)

# The database's floor for the same sweep (PostgreSQL): the same rows written by one SQL statement a batch, nothing
# decided or formatted in Python — lock the due clocks, an escalation, a staff notice and an audit row each (texts
# and hashes of the same sizes, made in SQL), the clocks turned yellow. What the sweep costs above it is its own.
_PG_FLOOR = """
WITH due AS (
  SELECT c.id, c.claim_id, c.policy_code, c.cycle, c.yellow_due_at, c.red_due_at, cl.number, cl.org_unit_id
  FROM sla_clocks c JOIN claims cl ON cl.id = c.claim_id
  WHERE c.tenant_id = :tenant AND c.next_check_at <= :now ORDER BY c.next_check_at LIMIT :n
  FOR UPDATE OF c SKIP LOCKED
), esc AS (
  INSERT INTO sla_escalations (tenant_id, clock_id, claim_id, org_unit_id, level, due_at, fired_at, status)
  SELECT :tenant, id, claim_id, org_unit_id, 'yellow', yellow_due_at, :now, 'open' FROM due ON CONFLICT DO NOTHING
), notice AS (
  INSERT INTO staff_notifications
    (tenant_id, recipient_role, org_unit_id, user_id, kind, subject, body, claim_id, dedupe_key, status, created_at)
  SELECT :tenant, 'supervisor', org_unit_id, NULL, 'sla_yellow', number || ' ' || policy_code || ' 黄灯',
    '赔案 ' || number || ' 的「' || policy_code || '」时限已超期，请督办。', claim_id, 'sla\\:' || id || '\\:yellow',
    'queued', :now FROM due ON CONFLICT DO NOTHING
), audit AS (
  INSERT INTO audit_entries (tenant_id, seq, kind, subject, actor, content_hash, prev_hash, hash, recorded_at, payload)
  SELECT :tenant, :seq + row_number() OVER (ORDER BY id), 'sla.escalation', number, 'system:sla',
    md5(id::text) || md5(number), md5(number) || md5(id::text), md5(claim_id::text) || md5(number), :now,
    json_build_object('claim', number, 'cycle', cycle, 'due_at', yellow_due_at, 'fired_at', :now, 'level', 'yellow',
      'policy', policy_code)::text
  FROM due
), turned AS (
  UPDATE sla_clocks c SET light = 'yellow', escalated = 1, updated_at = :now, next_check_at = d.red_due_at
  FROM due d WHERE c.id = d.id
)
SELECT count(*) FROM due
"""


def pg_floor(url: str, tenant_id: int, batch_size: int) -> float:
    """Seconds for :data:`_PG_FLOOR` over every due clock, one transaction a batch like the sweep."""
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    seq = 10**12  # audit rows of the floor sit far above the chain (the copy is dropped after)
    started = time.perf_counter()
    try:
        while True:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
                done = conn.execute(
                    text(_PG_FLOOR), {"tenant": tenant_id, "now": NOW, "n": batch_size, "seq": seq}
                ).scalar_one()
            seq += done
            if done < batch_size:
                break
        return time.perf_counter() - started
    finally:
        engine.dispose()


def run(kind: str, args: argparse.Namespace, data: dict[str, np.ndarray]) -> tuple[dict[str, object], bool]:
    """Load once, then sweep ``--repeat`` identical copies of the loaded database (a file copy on
    SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), each a fresh first sweep."""
    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    runs: list[dict[str, object]] = []
    reports: list[str] = []
    all_checks: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as tmp:
        admin = None
        base = f"cw_bench_sweep_{uuid.uuid4().hex[:8]}"
        pg = make_url(args.pg_url).set(drivername="postgresql+psycopg")
        if kind == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'base.db'}"
        else:
            admin = create_engine(pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'create database "{base}"'))
            url = pg.set(database=base).render_as_string(False)
        copies: list[str] = []
        try:
            started = time.perf_counter()
            tenant_id = load(url, kind, data)
            setup = time.perf_counter() - started
            print(f"\n[{label}] setup {setup:.1f} s (not measured)", flush=True)
            batch = args.batch_size or get_settings().sweep_batch_size
            for attempt in range(args.repeat):
                db.get_engine().dispose()
                if kind == "sqlite":
                    copy = Path(tmp) / f"run{attempt}.db"
                    shutil.copyfile(Path(tmp) / "base.db", copy)
                    run_url = f"sqlite:///{copy}"
                else:
                    assert admin is not None
                    name = f"{base}_{attempt}"
                    copies.append(name)
                    with admin.connect() as conn:
                        # FILE_COPY checkpoints first: no background checkpoint of the load runs
                        # during the sweep, and the sweep pays the full-page writes a steady state does.
                        conn.execute(text(f'create database "{name}" template "{base}" strategy file_copy'))
                    run_url = pg.set(database=name).render_as_string(False)
                os.sync()  # the copy's dirty pages are written back now, not during the sweep
                db.configure(run_url)
                first, timing, report = timed_sweep(NOW, args.batch_size, args.profile and attempt == 0)
                second, second_timing, _ = timed_sweep(NOW, args.batch_size, False)
                first_s, second_s = timing.seconds, second_timing.seconds
                checks = verify(tenant_id, data, first)
                checks["second sweep finds nothing"] = second.checked == 0
                for what, good in checks.items():
                    all_checks[what] = all_checks.get(what, True) and good
                escalations = first.yellow + first.red
                runs.append(
                    {
                        "sweep_seconds": round(first_s, 3),
                        "sweep_cpu_seconds": round(timing.cpu_seconds, 3),
                        "sweep_written_mb": None if timing.written_mb is None else round(timing.written_mb, 1),
                        "second_sweep_seconds": round(second_s, 4),
                        "checked": first.checked,
                        "escalations": escalations,
                    }
                )
                if report:
                    reports.append(report)
                floor_s = None
                if kind == "postgresql" and args.floor:
                    assert admin is not None
                    floor_name = f"{base}_floor"
                    with admin.connect() as conn:
                        conn.execute(text(f'create database "{floor_name}" template "{base}" strategy file_copy'))
                    copies.append(floor_name)
                    os.sync()
                    floor_s = pg_floor(pg.set(database=floor_name).render_as_string(False), tenant_id, batch)
                    with admin.connect() as conn:
                        conn.execute(text(f'drop database if exists "{copies.pop()}" with (force)'))
                    runs[-1]["sql_floor_seconds"] = round(floor_s, 3)
                    runs[-1]["ratio_to_floor"] = round(first_s / floor_s, 2)
                print(
                    f"  run {attempt + 1}: sweep {first_s:7.3f} s (CPU {timing.cpu_seconds:.3f} s"
                    + (f", {timing.written_mb:.0f} MB written" if kind == "sqlite" and timing.written_mb else "")
                    + f")   {first.checked / first_s:>8,.0f} clocks/s   "
                    f"{escalations:,} escalations ({first.yellow:,} yellow, {first.red:,} red)   "
                    f"second sweep (nothing due) {second_s:.4f} s   load avg {os.getloadavg()[0]:.2f}"
                    + (f"   SQL floor {floor_s:.3f} s (sweep = {first_s / floor_s:.2f}× floor)" if floor_s else ""),
                    flush=True,
                )
                db.get_engine().dispose()
                if kind == "sqlite":
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{copy}{suffix}").unlink(missing_ok=True)
                else:
                    assert admin is not None
                    with admin.connect() as conn:
                        conn.execute(text(f'drop database if exists "{copies.pop()}" with (force)'))
        finally:
            db.get_engine().dispose()
            if admin is not None:
                with admin.connect() as conn:
                    for name in [*copies, base]:
                        conn.execute(text(f'drop database if exists "{name}" with (force)'))
                admin.dispose()
    clocks = len(data["start"])
    due = len(data["due_ids"])
    times = [float(r["sweep_seconds"]) for r in runs]  # type: ignore[arg-type]
    seconds = [float(r["second_sweep_seconds"]) for r in runs]  # type: ignore[arg-type]
    median = statistics.median(times)
    cpus = [float(r["sweep_cpu_seconds"]) for r in runs]  # type: ignore[arg-type]
    print(f"  open clocks                  {clocks:>12,}   ({int(data['claims'][0]):,} claims)")
    print(f"  due clocks                   {due:>12,}   ({args.due:.2%}; {len(data['red_ids']):,} also past red)")
    print(
        f"  sweep (median of {len(times)})          {median:>8.3f} s   (min {min(times):.3f}, max {max(times):.3f}); "
        f"{runs[0]['escalations']:,} escalations; batch size {args.batch_size or get_settings().sweep_batch_size}"
        f"   goal ≤ 1 s: {'met' if median <= 1 else 'NOT MET'}"
    )
    print(
        f"  sweep CPU (median)           {statistics.median(cpus):>8.3f} s   this process only"
        + ("" if kind == "sqlite" else " (the server's work is not in it)")
    )
    floors = [float(r["sql_floor_seconds"]) for r in runs if "sql_floor_seconds" in r]  # type: ignore[arg-type]
    if floors:
        floor_median = statistics.median(floors)
        print(
            f"  SQL floor (median of {len(floors)})     {floor_median:>8.3f} s   the same rows by plain SQL in the"
            f" same run; sweep ÷ floor = {median / floor_median:.2f}"
        )
    print(
        f"  second sweep, nothing due    {statistics.median(seconds):>8.4f} s   goal ≤ 1 s: "
        f"{'met' if max(seconds) <= 1 else 'NOT MET'}"
    )
    for what, good in all_checks.items():
        print(f"  check {what}: {'ok' if good else 'FAILED'}")
    for report in reports:
        print(f"\n  cProfile of the first sweep ({label}, run 1):\n{report}")
    ok = all(all_checks.values())
    return {
        "database": kind,
        "clocks": clocks,
        "due": due,
        "red": len(data["red_ids"]),
        "batch_size": args.batch_size or get_settings().sweep_batch_size,
        "sweep_seconds_median": round(median, 3),
        "sweep_cpu_seconds_median": round(statistics.median(cpus), 3),
        "runs": runs,
        "checks_ok": ok,
        "setup_seconds": round(setup, 1),
    }, ok


def main() -> None:
    global NOW
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clocks", "--n", type=int, default=1_000_000, help="open clocks (default 1 000 000)")
    parser.add_argument("--clocks-per-claim", type=int, default=4, choices=(1, 2, 3, 4))
    parser.add_argument("--due", type=float, default=0.01, help="share of clocks past yellow at --now (0.01)")
    parser.add_argument("--red-share", type=float, default=0.0, help="share of the due clocks also past red (0)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CLAIMWATCH_TEST_PG_URL") or os.environ.get("CLAIMWATCH_BENCH_PG_URL") or DEFAULT_PG,
    )
    parser.add_argument("--batch-size", type=int, default=None, help="clocks per transaction (default: settings)")
    parser.add_argument("--repeat", type=int, default=3, help="sweeps, each on a fresh copy of the loaded database")
    parser.add_argument("--now", default=NOW.isoformat(), help="the sweep instant (ISO, with offset)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--profile", action="store_true", help="cProfile the first sweep and print the top entries")
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="PostgreSQL: skip the SQL floor (the same rows written by plain SQL, one statement a batch)",
    )
    args = parser.parse_args()
    NOW = dt.datetime.fromisoformat(args.now).astimezone(dt.UTC)
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    for k in kinds:
        if k not in ("sqlite", "postgresql"):
            parser.error(f"unknown database {k!r}")

    started = time.perf_counter()
    data = generate(args, NOW.timestamp())
    print(
        f"generated {len(data['start']):,} clocks on {int(data['claims'][0]):,} claims in "
        f"{time.perf_counter() - started:.1f} s; sweep at {NOW.astimezone(TZ).isoformat()}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results = []
    all_ok = True
    for kind in kinds:
        result, ok = run(kind, args, data)
        results.append(result)
        all_ok &= ok
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"sweep-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {out}")
    if not all_ok:
        print("FAILED: a check did not hold", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
