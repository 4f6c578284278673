"""Triage inside ingestion: the time it adds to each event, with and without triage in one run.

    .venv/bin/python bench/triage.py [--events 6000] [--db both|sqlite|postgresql] [--history 20000]

Two insurers get the same demo event stream (reported events carry report details: claim type, liability,
accident time, policy start, a provider, a bank account for some) and the same rule set, active. Events are
sent one per transaction, alternating between the insurers, the way a core system posts them one by one; for
one insurer the triage subscriber (facts, contact index, catastrophe match, risk score, rules, decision, the
claim's columns) runs, for the other it is skipped. ``--history`` claims are ingested first (in batches,
triage on for both) so the history lookups read a populated contact index. Prints, per database, p50/p95/p99
of the per-event ingest time with and without triage, the p99 added, and the subscriber's own time per
event (wall clock, and this thread's CPU time, which a loaded machine inflates far less); the goal is p99 added
≤ 2 ms. Writes bench/results/triage-*.json.
PostgreSQL: set CLAIMWATCH_BENCH_PG_URL (default: the local server `make test` starts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from claimwatch import db, migrate, reactions  # noqa: E402
from claimwatch.auth.models import Role  # noqa: E402
from claimwatch.auth.principal import Principal  # noqa: E402
from claimwatch.cases import service as cases_service  # noqa: E402
from claimwatch.cases.schemas import EventIn  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.demo.generator import DemoSpec, iter_tenant_events  # noqa: E402
from claimwatch.demo.organisation import DEMO_TENANTS  # noqa: E402
from claimwatch.imports.service import integration_principal  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402
from claimwatch.triage import service as triage_service  # noqa: E402
from claimwatch.triage import subscriptions as triage_subscriptions  # noqa: E402

DEFAULT_PG = "postgresql://claimwatch:claimwatch@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results"
EVENTS_PER_CLAIM = 12.3
GOAL_MS = 2.0
CLAIM_TYPES = {"motor": ["vehicle_damage", "vehicle_damage", "injury"], "medical": ["medical"]}


def _details(rng: random.Random, claim: dict[str, Any], occurred_at: str) -> dict[str, Any]:
    """Report details as a core system would send them (some unknown)."""
    reported = dt.datetime.fromisoformat(occurred_at)
    accident = reported - dt.timedelta(hours=rng.uniform(1, 24 * 6))
    details: dict[str, Any] = {
        "claim_type": rng.choice(CLAIM_TYPES.get(claim["line"], ["property"])),
        "liability_clear": rng.random() < 0.7,
        "accident_at": accident.isoformat(),
        "policy_start": (accident.date() - dt.timedelta(days=rng.randint(3, 700))).isoformat(),
        "channel": rng.choice(["app", "hotline", "wechat"]),
    }
    if rng.random() < 0.6:
        details["provider"] = f"P{rng.randint(1, 400):04d}"
    if rng.random() < 0.5:
        details["bank_account"] = f"6222{rng.randint(0, 10**12):012d}"
    return details


def stream(events: int, seed: int) -> list[dict[str, Any]]:
    claims = int(events / EVENTS_PER_CLAIM / DEMO_TENANTS[0].share * 1.1) + 10
    spec = DemoSpec(claims=claims, seed=seed, start=dt.date(2025, 11, 1), end=dt.date(2026, 10, 31))
    rng = random.Random(seed)
    out = []
    for event in itertools.islice(iter_tenant_events(spec, 0), events):
        if event["type"] == "assigned":
            continue  # the two insurers have no staff: assignment is not what is measured
        event.pop("tenant", None)
        if event["type"] == "reported":
            event["claim"].pop("org_code", None)  # org units are named per insurer
            event["claim"]["details"] = _details(rng, event["claim"], event["occurred_at"])
        out.append(event)
    return out


def prepare(url: str) -> tuple[int, int]:
    migrate.upgrade(url)
    db.configure(url)
    ids = []
    for code, name in (("WITH", "有分流"), ("WITHOUT", "无分流")):
        with unit_of_work(TenantContext.system_context()) as session:
            tenant_id = tenancy_service.create_tenant(session, code=code, name=name).id
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            admin = Principal(role=Role.ADMIN, tenant_id=tenant_id, actor="bench")
            triage_service.load_rule_set(session, admin, mode="active")
        ids.append(tenant_id)
    return ids[0], ids[1]


class Switch:
    """Wraps the triage subscriber: runs it for the insurers in ``on`` and times it."""

    def __init__(self) -> None:
        self.on: set[int] = set()
        self.seconds: list[float] = []
        self.cpu: list[float] = []  # the subscriber's CPU time (this thread): robust to a loaded machine
        handlers = reactions.subscribers(reactions.CASE_EVENTS)
        self.original = triage_subscriptions.triage_claims
        self.position = handlers.index(self.original)
        reactions._subscribers[reactions.CASE_EVENTS][self.position] = self

    def __call__(self, session: Any, tenant_id: int | None, changes: Any) -> Any:
        if tenant_id not in self.on:
            return 0
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return self.original(session, tenant_id, changes)
        finally:
            self.seconds.append(time.perf_counter() - started)
            self.cpu.append(time.thread_time() - cpu)

    def restore(self) -> None:
        reactions._subscribers[reactions.CASE_EVENTS][self.position] = self.original


def _batches(events: list[dict[str, Any]], size: int) -> Iterator[list[EventIn]]:
    for start in range(0, len(events), size):
        yield [EventIn.model_validate(e) for e in events[start : start + size]]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(kind: str, history: list[dict[str, Any]], events: list[dict[str, Any]], pg_url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        admin = None
        if kind == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'claimwatch.db'}"
        else:
            name = f"cw_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(make_url(pg_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'create database "{name}"'))
            url = make_url(pg_url).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
        switch = Switch()
        try:
            with_id, without_id = prepare(url)
            switch.on = {with_id, without_id}
            for tenant_id in (with_id, without_id):
                principal = integration_principal(tenant_id, "bench")
                for batch in _batches(history, 500):
                    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                        cases_service.ingest_events(session, principal, batch)
            switch.on = {with_id}
            switch.seconds.clear()
            switch.cpu.clear()
            timings: dict[int, list[float]] = {with_id: [], without_id: []}
            principals = {t: integration_principal(t, "bench") for t in timings}
            parsed = [EventIn.model_validate(e) for e in events]
            for index, event in enumerate(parsed):
                order = (with_id, without_id) if index % 2 == 0 else (without_id, with_id)
                for tenant_id in order:
                    started = time.perf_counter()
                    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                        cases_service.ingest_events(session, principals[tenant_id], [event])
                    timings[tenant_id].append(time.perf_counter() - started)
            with unit_of_work(TenantContext.for_tenant(with_id)) as session:
                routes: dict[str, int] = dict(
                    session.execute(text("select route, count(*) from claims group by route")).all()
                )
        finally:
            switch.restore()
            db.get_engine().dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'drop database if exists "{name}" with (force)'))
                admin.dispose()
    on, off = timings[with_id], timings[without_id]
    result: dict[str, Any] = {
        "database": kind,
        "history_events": len(history),
        "events_each": len(events),
        "with_triage_ms": {q: round(_pct(on, p), 3) for q, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "without_triage_ms": {q: round(_pct(off, p), 3) for q, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "subscriber_ms": {
            "mean": round(statistics.fmean(switch.seconds) * 1000, 3),
            "p99": round(_pct(switch.seconds, 0.99), 3),
        },
        "subscriber_cpu_ms": {
            "mean": round(statistics.fmean(switch.cpu) * 1000, 3),
            "p99": round(_pct(switch.cpu, 0.99), 3),
        },
        "routes": routes,
    }
    result["p99_added_ms"] = round(result["with_triage_ms"]["p99"] - result["without_triage_ms"]["p99"], 3)
    print(
        f"{kind:<10} per event p99 with {result['with_triage_ms']['p99']:.2f} ms, without "
        f"{result['without_triage_ms']['p99']:.2f} ms: added {result['p99_added_ms']:.2f} ms (goal ≤ {GOAL_MS} ms); "
        f"triage itself p99 {result['subscriber_ms']['p99']:.2f} ms, mean {result['subscriber_ms']['mean']:.2f} ms "
        f"(CPU p99 {result['subscriber_cpu_ms']['p99']:.2f}, mean {result['subscriber_cpu_ms']['mean']:.2f} ms); "
        f"routes {routes}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=6000, help="events sent one by one to each insurer")
    parser.add_argument("--history", type=int, default=20000, help="events ingested first, in batches")
    parser.add_argument("--db", choices=("both", "sqlite", "postgresql"), default="both")
    args = parser.parse_args()
    pg_url = os.environ.get("CLAIMWATCH_BENCH_PG_URL", DEFAULT_PG)
    everything = stream(args.history + args.events, seed=15)
    # Whole claims on each side, so no measured event refers to a claim of the history.
    cut = args.history
    while cut < len(everything) and everything[cut]["type"] != "reported":
        cut += 1
    history, measured = everything[:cut], everything[cut:]
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = [run(kind, history, measured, pg_url) for kind in kinds]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"triage-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
