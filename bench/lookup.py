"""Claimant lookup with a million claims stored: p50/p99 latency and throughput of the lookup API at a
fixed request rate, against a bare endpoint (/healthz) of the same app served in the same run.

    .venv/bin/python bench/lookup.py [--claims 1000000] [--rate 500] [--duration 20]
                                     [--database sqlite|postgresql] [--pg-url URL] [--workers 1]
                                     [--db-file PATH] [--loop auto|asyncio|uvloop] [--http auto|h11|httptools]

``--db-file`` (SQLite): load into that file and keep it, or reuse it when it exists (the load takes minutes).
``--loop``/``--http`` pick uvicorn's event loop and HTTP parser (auto: uvloop and httptools when installed, as
``claimwatch run`` serves).

Setup (not measured): a fresh database (an SQLite file in a temp dir, or a PostgreSQL database created
for the run and dropped after), migrated, one tenant made by ``tenancy.service.create_tenant``; then,
by ``db.bulk_insert`` (COPY on PostgreSQL, executemany on SQLite): ``--claims`` claims with encrypted
claimant phones, two case events each (reported, accepted) and a running platform-timeliness clock
each. Then ANALYZE.

Served: ``uvicorn claimwatch.app:create_app --factory`` on 127.0.0.1 (a free port), ``--workers``
processes, no access log. The load generator is this process: asyncio with a pool of keep-alive
HTTP/1.1 connections on loopback, open loop — request i is due at t0 + i/rate and its latency counts
from when it was due, so a server that falls behind is charged for the queue (no coordinated omission).

Measured, each phase after a 2 s warm-up at the same rate, bounded by ``--duration``:
  1. bare: GET /healthz at ``--rate`` for ``--duration`` s;
  2. lookup: POST /api/v1/lookup {insurer, claim_number, phone_last4} for random claims of the million
     (a right factor: the full verification, the claim view with timeline, SLA clock and materials);
  3. saturation, closed loop (``--concurrency`` connections back to back, ``--saturation`` s each):
     the most each endpoint serves, to compare capacities.
Also per phase: the server's CPU milliseconds per request (user + system time of the uvicorn processes from
/proc), which other jobs on a shared machine inflate far less than latency.
Goal: lookup p99 ≤ 30 ms at the rate, and lookup throughput ≥ 1/3 of the bare endpoint's. Every
answer's status is checked (200 expected); the first lookup answer's body must be the claim asked for.
Writes bench/results/lookup-*.json. Only loopback addresses; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from claimwatch import db, migrate  # noqa: E402
from claimwatch.cases.models import new_sample_key  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.privacy import field_cipher  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402

DEFAULT_PG = "postgresql://claimwatch:claimwatch@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]
TENANT = "BENCH"
CHUNK = 50_000
PHONES = 1000  # distinct claimant phones (encrypted once each); claim i has phone i % PHONES
HOST = "127.0.0.1"

CLAIM_COLUMNS = (
    "id", "tenant_id", "number", "org_unit_id", "region_code", "line", "policy_number", "claimant_name",
    "claimant_phone_enc", "reported_amount_fen", "status", "reported_at", "status_changed_at", "reopen_count",
    "event_count", "created_at", "updated_at", "sample_key",
)  # fmt: skip
EVENT_COLUMNS = (
    "id", "tenant_id", "claim_id", "client_event_id", "event_type", "from_status", "to_status", "occurred_at",
    "received_at", "actor", "reason", "data", "fingerprint", "audit_seq",
)  # fmt: skip
CLOCK_COLUMNS = (
    "id", "tenant_id", "claim_id", "policy_code", "cycle", "unit", "yellow_budget", "red_budget", "extended",
    "consumed", "state", "light", "started_at", "anchor_at", "running_since", "yellow_due_at", "red_due_at",
    "next_check_at", "escalated", "updated_at",
)  # fmt: skip


def phone(j: int) -> str:
    return f"139{j:08d}"


def number(i: int) -> str:
    return f"BCH{i:010d}"


def stamps(seconds: np.ndarray, dialect: str) -> list[str]:
    """UTC instants (epoch seconds) as each database takes them in bulk."""
    values = np.datetime_as_string(np.round(seconds * 1e6).astype(np.int64).astype("datetime64[us]"), unit="us")
    if dialect == "sqlite":
        return np.char.replace(values, "T", " ").tolist()
    return np.char.add(values, "+00:00").tolist()


def load(url: str, dialect: str, claims: int, now: dt.datetime) -> None:
    migrate.upgrade(url)
    db.configure(url)
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_id = tenancy_service.create_tenant(session, code=TENANT, name="基准保险").id
    with db.get_engine().connect() as conn:
        org_unit_id = conn.execute(text("select id from org_units where tenant_id = :t"), {"t": tenant_id}).scalar_one()
    cipher = field_cipher()
    phones = [cipher.encrypt(phone(j)) for j in range(PHONES)]
    rng = np.random.default_rng(7)
    # Reported within the last 20 hours (small claims still within their 24 h target), accepted 1 h later.
    base = now.timestamp()
    reported_s = base - rng.uniform(3600, 20 * 3600, claims)
    reported = stamps(reported_s, dialect)
    accepted = stamps(reported_s + 3600, dialect)
    yellow = stamps(reported_s + 24 * 3600, dialect)
    red = stamps(reported_s + 48 * 3600, dialect)
    context = TenantContext.for_tenant(tenant_id)
    for first in range(0, claims, CHUNK):
        last = min(first + CHUNK, claims)
        claim_rows = []
        event_rows = []
        clock_rows = []
        for i in range(first, last):
            cid = i + 1
            claim_rows.append(
                (
                    cid, tenant_id, number(cid), org_unit_id, "440000", "motor", f"POL{cid:010d}", "张三",
                    phones[cid % PHONES], 3200_00, "accepted", reported[i], accepted[i], 0, 2, reported[i],
                    accepted[i], new_sample_key(),
                )
            )  # fmt: skip
            event_rows.append(
                (
                    2 * cid - 1, tenant_id, cid, f"e{cid}-r", "reported", None, "reported", reported[i], reported[i],
                    "core", None, None, "0" * 64, 2 * cid - 1,
                )
            )  # fmt: skip
            event_rows.append(
                (
                    2 * cid, tenant_id, cid, f"e{cid}-a", "transition", "reported", "accepted", accepted[i],
                    accepted[i], "core", None, None, "0" * 64, 2 * cid,
                )
            )  # fmt: skip
            clock_rows.append(
                (
                    cid, tenant_id, cid, "timeliness_small", 1, "hours", 86400.0, 172800.0, 0.0, 0.0, "running",
                    "green", reported[i], reported[i], reported[i], yellow[i], red[i], yellow[i], 0, reported[i],
                )
            )  # fmt: skip
        with unit_of_work(context) as session:
            db.bulk_insert(session, "claims", CLAIM_COLUMNS, claim_rows)
            db.bulk_insert(session, "case_events", EVENT_COLUMNS, event_rows)
            db.bulk_insert(session, "sla_clocks", CLOCK_COLUMNS, clock_rows)
        if first % (CHUNK * 4) == 0:
            print(f"  loaded {last:,} claims", flush=True)
    with db.get_engine().connect() as conn:
        if dialect == "postgresql":
            for table, n in (("claims", claims), ("case_events", 2 * claims), ("sla_clocks", claims)):
                conn.execute(text(f"select setval(pg_get_serial_sequence('{table}', 'id'), {n})"))
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("vacuum analyze"))
        else:
            conn.execute(text("analyze"))
            conn.commit()
            conn.exec_driver_sql("pragma wal_checkpoint(truncate)")
    db.get_engine().dispose()


# --- the load generator --------------------------------------------------------------------------------


def request_bytes(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    for _ in range(100):
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


class Phase:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.due: list[float] = []
        self.statuses: dict[int, int] = {}
        self.first_body: bytes | None = None
        self.started = 0.0
        self.finished = 0.0

    def slowest_at(self) -> float:
        """Seconds into the phase when the slowest request was due (to tell a pause from a trend)."""
        if not self.latencies:
            return 0.0
        worst = max(range(len(self.latencies)), key=self.latencies.__getitem__)
        return round(self.due[worst] - self.started, 2)

    def record(self, latency: float, status: int, body: bytes, due: float = 0.0) -> None:
        self.due.append(due)
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if self.first_body is None:
            self.first_body = body

    def summary(self) -> dict[str, float | int | dict[str, int]]:
        lat = sorted(self.latencies)
        ok = self.statuses.get(200, 0)
        elapsed = max(self.finished - self.started, 1e-9)
        return {
            "requests": len(lat),
            "ok": ok,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "throughput_rps": round(ok / elapsed, 1),
            "p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else 0.0,
            "p90_ms": round(1000 * lat[int(len(lat) * 0.9)], 2) if lat else 0.0,
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2) if lat else 0.0,
            "max_ms": round(1000 * lat[-1], 2) if lat else 0.0,
            "mean_ms": round(1000 * statistics.fmean(lat), 2) if lat else 0.0,
        }


async def open_loop(port: int, make: list[bytes], rate: float, duration: float, connections: int) -> Phase:
    """Request i is due at t0 + i/rate; latency counts from when it was due."""
    phase = Phase()
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    total = int(rate * duration)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while (item := await queue.get()) is not None:
                due, request = item
                status, body = await exchange(reader, writer, request)
                phase.record(time.perf_counter() - due, status, body, due)
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    await asyncio.sleep(0.2)
    phase.started = t0 = time.perf_counter()
    for i in range(total):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, make[i % len(make)]))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait_for(asyncio.gather(*workers), timeout=duration + 120)
    phase.finished = time.perf_counter()
    return phase


async def closed_loop(port: int, make: list[bytes], duration: float, connections: int) -> Phase:
    phase = Phase()
    counter = iter(range(10**9))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.perf_counter() < phase.started + duration:
                request = make[next(counter) % len(make)]
                sent = time.perf_counter()
                status, body = await exchange(reader, writer, request)
                phase.record(time.perf_counter() - sent, status, body, sent)
        finally:
            writer.close()

    phase.started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(connections))), timeout=duration + 60)
    phase.finished = time.perf_counter()
    return phase


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def serve(
    url: str, port: int, workers: int, documents: Path, loop: str = "auto", http: str = "auto"
) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "CLAIMWATCH_DATABASE_URL": url,
        "CLAIMWATCH_DOCUMENTS_DIR": str(documents),
        "CLAIMWATCH_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "src"),
    }
    command = [sys.executable, "-m", "uvicorn", "claimwatch.app:create_app", "--factory", "--host", HOST]
    command += ["--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    command += ["--loop", loop, "--http", http]
    process = subprocess.Popen(command, env=env)  # noqa: S603 - our own interpreter and module
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("uvicorn exited")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("uvicorn did not start")


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the server process and its children (uvicorn's workers), from /proc: the
    server's own work per request, which other jobs on a shared machine do not inflate the way they inflate
    latency (0.0 where /proc is missing)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    family = {pid}
    for _ in range(3):  # the server, its workers, and anything they started
        family |= {child for child, (parent, _) in stats.items() if parent in family}
    return sum(stats[p][1] for p in family if p in stats)


async def measure(port: int, args: argparse.Namespace, claims: int, server_pid: int) -> dict[str, object]:
    rng = random.Random(11)
    picks = [rng.randint(1, claims) for _ in range(min(200_000, int(args.rate * (args.duration + 2)) + 1000))]
    lookups = [
        request_bytes(
            "POST",
            "/api/v1/lookup",
            json.dumps({"insurer": TENANT, "claim_number": number(i), "phone_last4": phone(i % PHONES)[-4:]}).encode(),
        )
        for i in picks
    ]
    bare = [request_bytes("GET", "/healthz")]
    results: dict[str, object] = {}
    # The generator's own pauses must not count against the server: the setup left a large heap here.
    gc.collect()
    gc.freeze()
    gc.disable()
    for name, requests in (("bare", bare), ("lookup", lookups)):
        await open_loop(port, requests[-2000:], args.rate, 2.0, args.connections)  # warm-up
        cpu_before = server_cpu_seconds(server_pid)
        phase = await open_loop(port, requests, args.rate, args.duration, args.connections)
        summary = phase.summary()
        summary["server_cpu_ms_per_request"] = round(
            1000 * (server_cpu_seconds(server_pid) - cpu_before) / max(len(phase.latencies), 1), 3
        )
        if name == "lookup":
            first = json.loads(phase.first_body or b"{}")
            summary["first_answer_is_the_claim_asked_for"] = first.get("claim", {}).get("claim_number") == number(
                picks[0]
            )
        summary["slowest_at_s"] = phase.slowest_at()
        results[name] = summary
        print(f"  {name:<7} at {args.rate:g}/s for {args.duration:g} s: {summary}", flush=True)
    for name, requests in (("bare_saturation", bare), ("lookup_saturation", lookups)):
        phase = await closed_loop(port, requests, args.saturation, args.concurrency)
        results[name] = phase.summary()
        print(f"  {name:<18} ({args.concurrency} connections, {args.saturation:g} s): {results[name]}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second (open loop)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per measured phase (≤ 120)")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections of the open loop")
    parser.add_argument("--saturation", type=float, default=5.0, help="seconds per closed-loop phase (0: skip)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections of the closed loop")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--loop",
        default="auto",
        choices=("auto", "asyncio", "uvloop"),
        help="uvicorn's event loop (auto: uvloop if installed)",
    )
    parser.add_argument(
        "--http",
        default="auto",
        choices=("auto", "h11", "httptools"),
        help="uvicorn's HTTP parser (auto: httptools if installed)",
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--db-file",
        type=Path,
        default=None,
        help="SQLite only: load into this file and keep it; when it exists already, reuse it (no setup)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CLAIMWATCH_TEST_PG_URL") or os.environ.get("CLAIMWATCH_BENCH_PG_URL") or DEFAULT_PG,
    )
    args = parser.parse_args()
    args.duration = min(args.duration, 120.0)
    args.saturation = min(args.saturation, 60.0)
    now = dt.datetime.now(dt.UTC)
    admin = None
    name = f"cw_bench_lookup_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        reuse = False
        if args.database == "sqlite":
            path = args.db_file or Path(tmp) / "lookup.db"
            reuse = args.db_file is not None and path.exists()
            url = f"sqlite:///{path}"
        else:
            pg = make_url(args.pg_url).set(drivername="postgresql+psycopg")
            admin = create_engine(pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'create database "{name}"'))
            url = pg.set(database=name).render_as_string(False)
        server = None
        try:
            started = time.perf_counter()
            if reuse:
                print(f"[{args.database}] reusing {args.db_file} ({args.claims:,} claims expected)", flush=True)
            else:
                print(f"[{args.database}] loading {args.claims:,} claims …", flush=True)
                load(url, args.database, args.claims, now)
            setup = time.perf_counter() - started
            print(f"[{args.database}] setup {setup:.1f} s (not measured)", flush=True)
            port = free_port()
            server = serve(url, port, args.workers, Path(tmp) / "documents", args.loop, args.http)
            results = asyncio.run(measure(port, args, args.claims, server.pid))
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()
            db.get_engine().dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'drop database if exists "{name}" with (force)'))
                admin.dispose()
    bare, lookup = results["bare"], results["lookup"]
    assert isinstance(bare, dict) and isinstance(lookup, dict)
    p99_ok = float(lookup["p99_ms"]) <= 30.0
    share = float(lookup["throughput_rps"]) / max(float(bare["throughput_rps"]), 1e-9)
    print(
        f"\nclaimant lookup, {args.claims:,} claims stored, {args.database}, {args.workers} uvicorn worker(s), "
        f"loop {args.loop}, http {args.http}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"  {'':<8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'req/s':>9}{'CPU ms/req':>11}  statuses")
    for label, summary in (("bare", bare), ("lookup", lookup)):
        print(
            f"  {label:<8}{summary['p50_ms']:>9}{summary['p99_ms']:>9}{summary['max_ms']:>9}"
            f"{summary['throughput_rps']:>9}{summary['server_cpu_ms_per_request']:>11}  {summary['statuses']}"
        )
    cpu_share = float(lookup["server_cpu_ms_per_request"]) / max(float(bare["server_cpu_ms_per_request"]), 1e-9)
    print(
        f"  server CPU per request: lookup {lookup['server_cpu_ms_per_request']} ms = {cpu_share:.2f}× bare "
        f"(at {args.rate:g}/s one worker is busy {float(lookup['server_cpu_ms_per_request']) * args.rate / 10:.0f} % "
        "of a core on lookups)"
    )
    print(f"  goal p99 ≤ 30 ms at {args.rate:g}/s: {'met' if p99_ok else 'NOT MET'} ({lookup['p99_ms']} ms)")
    print(f"  goal throughput ≥ 1/3 of bare at {args.rate:g}/s: {'met' if share >= 1 / 3 else 'NOT MET'} ({share:.2f})")
    if "bare_saturation" in results:
        bs, ls = results["bare_saturation"], results["lookup_saturation"]
        assert isinstance(bs, dict) and isinstance(ls, dict)
        cap = float(ls["throughput_rps"]) / max(float(bs["throughput_rps"]), 1e-9)
        print(
            f"  capacity (closed loop): bare {bs['throughput_rps']} req/s, lookup {ls['throughput_rps']} req/s "
            f"({cap:.2f} of bare; goal ≥ 0.33: {'met' if cap >= 1 / 3 else 'NOT MET'})"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"lookup-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(
        json.dumps(
            {
                "claims": args.claims,
                "database": args.database,
                "rate": args.rate,
                "duration": args.duration,
                "workers": args.workers,
                "loop": args.loop,
                "http": args.http,
                "load_average_at_end": round(os.getloadavg()[0], 2),
                "setup_seconds": round(setup, 1),
                "results": results,
                "goal_p99_met": p99_ok,
                "throughput_share_of_bare": round(share, 3),
            },
            indent=2,
        )
    )
    print(f"  written {out.relative_to(ROOT)}")
    ok = p99_ok and share >= 1 / 3 and lookup.get("first_answer_is_the_claim_asked_for") is True
    ok = ok and lookup["ok"] == lookup["requests"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
