"""Triage inside ingestion: the time it adds to each event, with and without triage in one run.

    .venv/bin/python bench/triage.py [--events 6000] [--db both|sqlite|postgresql] [--history 20000]

Two insurers get the same demo event stream (reported events carry report details: claim type, liability,
accident time, policy start, a provider, a bank account for some) and the same rule set, active. Events are
sent one per transaction, alternating between the insurers, the way a core system posts them one by one; for
one insurer the triage subscriber (facts, contact index, catastrophe match, risk score, rules, decision, the
claim's columns) runs, for the other it is skipped. ``--history`` claims are ingested first (in batches,
triage on for both) so the history lookups read a populated contact index. Prints, per database, p50/p95/p99
of the per-event ingest time with and without triage and the p99 added (dominated by the commit's noise), and
the time triage itself adds to each event: the subscriber timed around its call inside the ingesting
transaction, every event of the insurer with triage counted (those that trigger nothing too), wall clock and
this thread's CPU time (which a loaded machine inflates far less), overall and per kind of event (reported,
amount change, other), with the garbage collector's share. The goal is p99 ≤ 2 ms added to the event.
Writes bench/results/triage-*.json.

``--tail`` prints the slowest 1 % of triage calls (kind, wall, CPU, GC, statements and their time, per a
``before/after_cursor_execute`` listener). ``--profile-tail`` runs every triage call under its own cProfile and
prints the merged profile of the slowest 1 % by CPU (the profiler inflates every figure: use it for where, not
how much).
PostgreSQL: set CLAIMWATCH_BENCH_PG_URL (default: the local server `make test` starts).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import itertools
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy import event as sa_event
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


def _kind(changes: Any) -> str:
    """The kind of event a triage call saw: reported, amounts (an amount change) or other."""
    types = {change.event_type for change in changes}
    if "reported" in types:
        return "reported"
    return "amounts" if "amounts" in types else "other"


@dataclass
class Call:
    """One event's triage call: what it saw and what it cost."""

    index: int
    kind: str
    event_type: str = ""
    wall: float = 0.0
    cpu: float = 0.0
    gc: float = 0.0  # the collector's pauses inside the call
    gc_generation: int = -1  # the oldest generation collected inside the call (-1: none)
    evaluated: int = 0  # what the subscriber returned: claims triaged at report time, decisions stored later
    statements: list[tuple[float, str]] = field(default_factory=list)  # with --tail
    profile: cProfile.Profile | None = None  # with --profile-tail


class Switch:
    """Wraps the triage subscriber: runs it for the insurers in ``on`` and times each call (``current``)."""

    def __init__(self, trace: bool = False, profile: bool = False) -> None:
        self.on: set[int] = set()
        self.current: Call | None = None
        self.inside = False
        self.trace = trace
        self.profile = profile
        self._gc_started = 0.0
        self._gc_seconds = 0.0
        self._gc_generation = -1
        self._statement_started = 0.0
        handlers = reactions.subscribers(reactions.CASE_EVENTS)
        self.original = triage_subscriptions.triage_claims
        self.position = handlers.index(self.original)
        reactions._subscribers[reactions.CASE_EVENTS][self.position] = self
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._gc_seconds += time.perf_counter() - self._gc_started
            self._gc_generation = max(self._gc_generation, info["generation"])

    def listen(self, engine: Any) -> None:
        if not self.trace:
            return

        @sa_event.listens_for(engine, "before_cursor_execute")
        def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            self._statement_started = time.perf_counter()

        @sa_event.listens_for(engine, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            if self.inside and self.current is not None:
                elapsed = time.perf_counter() - self._statement_started
                self.current.statements.append((elapsed, " ".join(statement.split())[:90]))

    def __call__(self, session: Any, tenant_id: int | None, changes: Any) -> Any:
        if tenant_id not in self.on:
            return 0
        call = self.current
        if call is None:  # the history's batches: not measured
            return self.original(session, tenant_id, changes)
        call.kind = _kind(changes)
        call.event_type = ",".join(sorted({f"{c.event_type}:{c.to_status or ''}" for c in changes}))
        profile = cProfile.Profile() if self.profile else None
        self._gc_seconds, self._gc_generation = 0.0, -1
        self.inside = True
        if profile is not None:
            profile.enable()
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            call.evaluated = self.original(session, tenant_id, changes)
            return call.evaluated
        finally:
            call.wall += time.perf_counter() - started
            call.cpu += time.thread_time() - cpu
            if profile is not None:
                profile.disable()
                call.profile = profile
            self.inside = False
            call.gc += self._gc_seconds
            call.gc_generation = max(call.gc_generation, self._gc_generation)

    def restore(self) -> None:
        reactions._subscribers[reactions.CASE_EVENTS][self.position] = self.original
        gc.callbacks.remove(self._gc)


def _batches(events: list[dict[str, Any]], size: int) -> Iterator[list[EventIn]]:
    for start in range(0, len(events), size):
        yield [EventIn.model_validate(e) for e in events[start : start + size]]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _distribution(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "mean": round(statistics.fmean(values) * 1000, 3),
        "p50": round(_pct(list(values), 0.5), 3),
        "p95": round(_pct(list(values), 0.95), 3),
        "p99": round(_pct(list(values), 0.99), 3),
        "max": round(max(values) * 1000, 3),
    }


KINDS = ("reported", "amounts", "other")


def triage_added(calls: Sequence[Call]) -> dict[str, Any]:
    """The time triage adds to each event, every event counted: overall and per kind, wall and CPU, with the
    collector's share; and what the slowest 1 % (by CPU) are made of."""
    out: dict[str, Any] = {}
    for name, group in (("all", list(calls)), *((k, [c for c in calls if c.kind == k]) for k in KINDS)):
        out[name] = {
            "events": len(group),
            "evaluated": sum(1 for c in group if c.evaluated),
            "wall_ms": _distribution([c.wall for c in group]),
            "cpu_ms": _distribution([c.cpu for c in group]),
            "gc_ms_total": round(sum(c.gc for c in group) * 1000, 3),
        }
    tail = sorted(calls, key=lambda c: c.cpu, reverse=True)[: max(1, len(calls) // 100)]
    out["cpu_tail"] = {
        "events": len(tail),
        "kinds": {k: sum(1 for c in tail if c.kind == k) for k in KINDS},
        "later_decisions": sum(1 for c in tail if c.kind != "reported" and c.evaluated),
        "with_gc": sum(1 for c in tail if c.gc_generation >= 0),
        "with_gen2_gc": sum(1 for c in tail if c.gc_generation == 2),
        "gc_ms_total": round(sum(c.gc for c in tail) * 1000, 3),
        "first_index": min(c.index for c in tail),
    }
    return out


def _print_tail(calls: Sequence[Call], profile: bool) -> None:
    tail = sorted(calls, key=lambda c: c.cpu, reverse=True)[: max(1, len(calls) // 100)]
    for call in tail:
        spent = sum(t for t, _ in call.statements) * 1000
        print(
            f"  #{call.index:<5} {call.kind:<9} evaluated {call.evaluated}  wall {call.wall * 1000:6.2f}  "
            f"cpu {call.cpu * 1000:6.2f}  gc {call.gc * 1000:5.2f} (gen {call.gc_generation})  "
            f"statements {len(call.statements)} in {spent:.2f} ms"
        )
        for elapsed, statement in call.statements:
            print(f"      {elapsed * 1000:6.2f} ms  {statement}")
    if profile:
        merged: pstats.Stats | None = None
        for call in tail:
            if call.profile is None:
                continue
            if merged is None:
                merged = pstats.Stats(call.profile, stream=io.StringIO())
            else:
                merged.add(call.profile)
        if merged is not None:
            for order in ("tottime", "cumulative"):
                buffer = io.StringIO()
                merged.stream = buffer  # type: ignore[attr-defined]
                merged.sort_stats(order).print_stats(25)
                print(buffer.getvalue())


def run(
    kind: str,
    history: list[dict[str, Any]],
    events: list[dict[str, Any]],
    pg_url: str,
    tail: bool = False,
    profile: bool = False,
) -> dict[str, Any]:
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
        switch = Switch(trace=tail, profile=profile)
        calls: list[Call] = []
        try:
            with_id, without_id = prepare(url)
            switch.listen(db.get_engine())
            switch.on = {with_id, without_id}
            for tenant_id in (with_id, without_id):
                principal = integration_principal(tenant_id, "bench")
                for batch in _batches(history, 500):
                    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                        cases_service.ingest_events(session, principal, batch)
            switch.on = {with_id}
            timings: dict[int, list[float]] = {with_id: [], without_id: []}
            principals = {t: integration_principal(t, "bench") for t in timings}
            parsed = [EventIn.model_validate(e) for e in events]
            for index, item in enumerate(parsed):
                order = (with_id, without_id) if index % 2 == 0 else (without_id, with_id)
                for tenant_id in order:
                    if tenant_id == with_id:
                        # An event the subscriber is not called for (none was applied) adds nothing: counted as 0.
                        switch.current = Call(index, "reported" if item.type == "reported" else "other")
                    started = time.perf_counter()
                    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                        cases_service.ingest_events(session, principals[tenant_id], [item])
                    timings[tenant_id].append(time.perf_counter() - started)
                    if tenant_id == with_id:
                        assert switch.current is not None
                        calls.append(switch.current)
                        switch.current = None
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
    added = triage_added(calls)
    result: dict[str, Any] = {
        "database": kind,
        "history_events": len(history),
        "events_each": len(events),
        "with_triage_ms": {q: round(_pct(on, p), 3) for q, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "without_triage_ms": {q: round(_pct(off, p), 3) for q, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))},
        "triage_added": added,
        "routes": routes,
    }
    result["p99_difference_ms"] = round(result["with_triage_ms"]["p99"] - result["without_triage_ms"]["p99"], 3)
    print(
        f"{kind:<10} per event p99 with {result['with_triage_ms']['p99']:.2f} ms, without "
        f"{result['without_triage_ms']['p99']:.2f} ms: difference {result['p99_difference_ms']:.2f} ms (commit noise)",
        flush=True,
    )
    print(f"  time triage adds to each event, ms (goal p99 ≤ {GOAL_MS}); every event counted:")
    for name in ("all", *KINDS):
        figures = added[name]
        wall, cpu = figures["wall_ms"], figures["cpu_ms"]
        if not figures["events"]:
            continue
        print(
            f"    {name:<9} {figures['events']:>5} events ({figures['evaluated']:>4} with a decision)  "
            f"CPU p50 {cpu['p50']:.3f} p95 {cpu['p95']:.3f} p99 {cpu['p99']:.3f} mean {cpu['mean']:.3f} "
            f"max {cpu['max']:.2f} | wall p50 {wall['p50']:.3f} p95 {wall['p95']:.3f} p99 {wall['p99']:.3f} "
            f"mean {wall['mean']:.3f} max {wall['max']:.2f} | GC {figures['gc_ms_total']:.1f}"
        )
    print(f"  slowest 1 % by CPU: {added['cpu_tail']}; routes {routes}", flush=True)
    if tail or profile:
        _print_tail(calls, profile)
        result["calls"] = [
            {
                "index": c.index,
                "kind": c.kind,
                "event": c.event_type,
                "wall_ms": round(c.wall * 1000, 3),
                "cpu_ms": round(c.cpu * 1000, 3),
                "gc_ms": round(c.gc * 1000, 3),
                "evaluated": c.evaluated,
                "statements": len(c.statements),
            }
            for c in calls
        ]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=6000, help="events sent one by one to each insurer")
    parser.add_argument("--history", type=int, default=20000, help="events ingested first, in batches")
    parser.add_argument("--db", choices=("both", "sqlite", "postgresql"), default="both")
    parser.add_argument("--tail", action="store_true", help="print the slowest 1 %% of calls with their statements")
    parser.add_argument("--profile-tail", action="store_true", help="cProfile the calls; print the slowest 1 %%")
    args = parser.parse_args()
    pg_url = os.environ.get("CLAIMWATCH_BENCH_PG_URL", DEFAULT_PG)
    everything = stream(args.history + args.events, seed=15)
    # Whole claims on each side, so no measured event refers to a claim of the history.
    cut = args.history
    while cut < len(everything) and everything[cut]["type"] != "reported":
        cut += 1
    history, measured = everything[:cut], everything[cut:]
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = [run(kind, history, measured, pg_url, args.tail, args.profile_tail) for kind in kinds]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"triage-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
