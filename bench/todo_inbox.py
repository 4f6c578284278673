"""The to-do inbox (我的待办, ``/my``) with a million claims stored: p50/p95 of the first page per role, against a
plain page that reads one claim by its key (``/claims/{number}``) and the bare ``/healthz``, in the same run.

    .venv/bin/python bench/todo_inbox.py [--claims 1000000] [--database sqlite|postgresql|both] [--pg-url URL]
                                         [--requests 100]

Setup (not measured): a fresh database (an SQLite file in a temp dir, or a PostgreSQL database created for
the run and dropped after), migrated; one insurer with 50 org units (head office, 9 branches, 40
sub-branches), 500 adjusters, a branch supervisor (a subtree of 5 units), a head-office supervisor (the
whole insurer). Then, by plain ``INSERT … SELECT`` over a generated series (no API, no ORM): ``--claims``
claims spread over the units and adjusters, 80 % closed; one SLA clock each (stopped when closed, else
running with a target between 2 days ago and 5 days ahead, lights to match); an escalation for every
third overdue open claim, half of them acknowledged. The indexes the inbox needs, asked of migration 0012_work_lists,
are created if the migrations did not: ``ix_claims_tenant_assignee_closed`` on claims (tenant_id, assignee_id,
closed_at) for an adjuster's open claims, ``ix_sla_escalations_open_work`` on sla_escalations
(tenant_id, status, claim_id, level, fired_at, due_at, clock_id, org_unit_id, id) for a supervisor's escalations
(covering: grouped by claim without reading the table). Then ANALYZE.

Measured in this process through the app (FastAPI's TestClient, a signed-in session per user; the request
path includes the session check, the queries and the rendering), ``--requests`` times each after 10
warm-up requests:
  healthz, claim page (baseline), /my as an adjuster (~400 open claims of ~2 000), as the branch supervisor
  and as the head-office supervisor (every open escalation of the insurer), and /my/count (the badge).
Goal: /my first page ≤ 150 ms p95 on both databases. Writes bench/results/todo_inbox-*.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from claimwatch import db, migrate  # noqa: E402
from claimwatch.auth import service as auth_service  # noqa: E402
from claimwatch.auth.models import Role, User  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.tenancy import repository as tenancy_repository  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402

DEFAULT_PG = "postgresql://claimwatch:claimwatch@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "bench-password-1"
TENANT = "BENCH"
ADJUSTERS = 500
BRANCHES = 9
SUBS_PER_BRANCH = 4  # 1 + 9 + 36 = 46 units; plus 4 more sub-branches of branch 1 = 50
WARM_UP = 10


def _units(tenant_id: int) -> tuple[list[int], int]:
    """The org tree; returns every unit id and branch 1's id (whose subtree has 1 + 8 sub-branches)."""
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        for b in range(1, BRANCHES + 1):
            tenancy_service.add_org_unit(
                session,
                tenant_id=tenant_id,
                code=f"B{b}",
                name=f"分公司{b}",
                parent_code=f"{TENANT}-HQ",
                region_code="440000",
            )
            for s in range(1, SUBS_PER_BRANCH + (5 if b == 1 else 1)):
                tenancy_service.add_org_unit(
                    session,
                    tenant_id=tenant_id,
                    code=f"B{b}S{s}",
                    name=f"支公司{b}-{s}",
                    parent_code=f"B{b}",
                    region_code="440000",
                )
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        units = tenancy_repository.org_units(session)
        branch = next(u.id for u in units if u.code == "B1")
        return sorted(u.id for u in units), branch


def _users(tenant_id: int, branch_id: int) -> None:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        first = auth_service.create_user(
            session, username="bench.adj0", password=PASSWORD, role=Role.ADJUSTER, tenant_id=tenant_id
        )
        auth_service.create_user(
            session,
            username="bench.sup",
            password=PASSWORD,
            role=Role.SUPERVISOR,
            tenant_id=tenant_id,
            org_unit_id=branch_id,
        )
        auth_service.create_user(
            session, username="bench.hq", password=PASSWORD, role=Role.SUPERVISOR, tenant_id=tenant_id
        )
        for k in range(1, ADJUSTERS):
            session.add(
                User(
                    tenant_id=tenant_id,
                    username=f"bench.adj{k}",
                    display_name=f"bench.adj{k}",
                    role=Role.ADJUSTER,
                    password_hash=first.password_hash,
                    active=True,
                )
            )


def _series(dialect: str, n: int) -> str:
    if dialect == "sqlite":
        return (
            f"(WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < {n}) SELECT g FROM seq) s"
        )
    return f"generate_series(1, {n}) AS s(g)"


def _ts(dialect: str, epoch_expr: str) -> str:
    if dialect == "sqlite":
        return f"(strftime('%Y-%m-%d %H:%M:%S', {epoch_expr}, 'unixepoch') || '.000000')"
    return f"to_timestamp({epoch_expr})"


def load(url: str, dialect: str, claims: int, now: dt.datetime) -> dict[str, Any]:
    migrate.upgrade(url)
    db.configure(url)
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_id = tenancy_service.create_tenant(session, code=TENANT, name="基准保险").id
    units, branch = _units(tenant_id)
    _users(tenant_id, branch)
    epoch = int(now.timestamp())
    number = "printf('BCH%010d', s.g)" if dialect == "sqlite" else "'BCH' || lpad(s.g::text, 10, '0')"
    closed = f"((s.g / {ADJUSTERS}) % 10 < 8)"  # 80 % closed, for every adjuster alike
    offset = "(((s.g % 100003) * 7919) % 604800 - 172800)"  # target: 2 days ago … 5 days ahead
    reported = _ts(dialect, f"{epoch} - (s.g % 2000) * 3600 - 7200")
    with db.get_engine().begin() as conn:
        conn.execute(text("CREATE TABLE bench_orgs (k INTEGER PRIMARY KEY, id INTEGER)"))
        conn.execute(text("CREATE TABLE bench_adj (k INTEGER PRIMARY KEY, id INTEGER)"))
        conn.execute(
            text("INSERT INTO bench_orgs (k, id) VALUES (:k, :id)"),
            [{"k": k, "id": uid} for k, uid in enumerate(units)],
        )
        adjusters = conn.execute(
            text("SELECT id, username FROM users WHERE tenant_id = :t AND role = 'adjuster'"), {"t": tenant_id}
        ).all()
        ids = {name: uid for uid, name in adjusters}
        conn.execute(
            text("INSERT INTO bench_adj (k, id) VALUES (:k, :id)"),
            [{"k": k, "id": ids[f"bench.adj{k}"]} for k in range(ADJUSTERS)],
        )
    # Each claim's permanent random number for inspection sampling (cases.models.new_sample_key).
    sample_key = (
        "CAST(floor(random() * 2147483648) AS INTEGER)" if dialect == "postgresql" else "abs(random()) % 2147483648"
    )
    started = time.perf_counter()
    with db.get_engine().begin() as conn:
        conn.execute(
            text(
                f"""INSERT INTO claims (id, tenant_id, number, org_unit_id, region_code, line, policy_number,
                    claimant_name, reported_amount_fen, status, assignee_id, reported_at, status_changed_at,
                    closed_at, reopen_count, event_count, created_at, updated_at, sample_key)
                SELECT s.g, {tenant_id}, {number}, o.id, '440000', 'motor', 'POL' || s.g, '张三', 320000,
                    CASE WHEN {closed} THEN 'closed' ELSE 'accepted' END, a.id, {reported}, {reported},
                    CASE WHEN {closed} THEN {reported} END, 0, 1, {reported}, {reported}, {sample_key}
                FROM {_series(dialect, claims)}
                JOIN bench_orgs o ON o.k = s.g % {len(units)}
                JOIN bench_adj a ON a.k = s.g % {ADJUSTERS}"""  # noqa: S608 - generated numbers only
            )
        )
        yellow = _ts(dialect, f"{epoch} + {offset}")
        red = _ts(dialect, f"{epoch} + {offset} + 86400")
        light = (
            f"CASE WHEN {closed} THEN 'green' WHEN {offset} < -86400 THEN 'red' "
            f"WHEN {offset} < 0 THEN 'yellow' ELSE 'green' END"
        )
        conn.execute(
            text(
                f"""INSERT INTO sla_clocks (id, tenant_id, claim_id, policy_code, cycle, unit, yellow_budget,
                    red_budget, extended, consumed, state, light, outcome, started_at, anchor_at, running_since,
                    stopped_at, yellow_due_at, red_due_at, escalated, updated_at)
                SELECT s.g, {tenant_id}, s.g, 'timeliness_small', 1, 'hours', 86400, 172800, 0, 0,
                    CASE WHEN {closed} THEN 'stopped' ELSE 'running' END, {light},
                    CASE WHEN {closed} THEN 'met' END, {reported}, {reported},
                    CASE WHEN {closed} THEN NULL ELSE {reported} END, CASE WHEN {closed} THEN {reported} END,
                    {yellow}, {red}, 0, {reported}
                FROM {_series(dialect, claims)}"""  # noqa: S608
            )
        )
        conn.execute(
            text(
                f"""INSERT INTO sla_escalations (id, tenant_id, clock_id, claim_id, org_unit_id, level, due_at,
                    fired_at, status)
                SELECT s.g, {tenant_id}, s.g, s.g, o.id, CASE WHEN {offset} < -86400 THEN 'red' ELSE 'yellow' END,
                    {yellow}, {yellow}, CASE WHEN s.g % 2 = 0 THEN 'open' ELSE 'acknowledged' END
                FROM {_series(dialect, claims)}
                JOIN bench_orgs o ON o.k = s.g % {len(units)}
                WHERE NOT {closed} AND {offset} < 0 AND s.g % 3 = 0"""  # noqa: S608
            )
        )
        conn.execute(text("DROP TABLE bench_orgs"))
        conn.execute(text("DROP TABLE bench_adj"))
    if dialect == "postgresql":
        with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('claims', 'id'), (SELECT max(id) FROM claims))"))
            conn.execute(text("ANALYZE"))
    else:
        with db.get_engine().begin() as conn:
            conn.execute(text("ANALYZE"))
    with db.get_engine().connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
            for table in ("claims", "sla_clocks", "sla_escalations")
        }
        counts["open_escalations"] = conn.execute(
            text("SELECT count(*) FROM sla_escalations WHERE status = 'open'")
        ).scalar_one()
    counts["insert_seconds"] = round(time.perf_counter() - started, 1)
    return counts


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _signed_in(username: str) -> Any:
    from fastapi.testclient import TestClient

    from claimwatch.app import create_app

    client = TestClient(create_app())
    token = _CSRF.search(client.get("/login").text)
    assert token is not None
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def _time(client: Any, path: str, requests: int) -> dict[str, float]:
    for _ in range(WARM_UP):
        assert client.get(path).status_code == 200, path
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        answer = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, path
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 1),
        "max_ms": round(samples[-1], 1),
    }


def measure(requests: int) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    adjuster = _signed_in("bench.adj7")
    branch = _signed_in("bench.sup")
    head = _signed_in("bench.hq")
    page = adjuster.get("/my").text
    found = re.search(r'data-section="claims" data-count="(\d+)"', page)
    claim_number = re.search(r'data-key="(BCH\d+)"', page)
    assert found is not None and claim_number is not None, page[-3000:]
    results: dict[str, Any] = {"adjuster_open_claims": int(found.group(1))}
    for who, client in (("branch", branch), ("head", head)):
        count = re.search(r'data-section="escalations" data-count="(\d+)"', client.get("/my").text)
        assert count is not None
        results[f"{who}_supervisor_escalations"] = int(count.group(1))
    results["healthz"] = _time(adjuster, "/healthz", requests)
    results["claim_page"] = _time(adjuster, f"/claims/{claim_number.group(1)}", requests)
    results["my_adjuster"] = _time(adjuster, "/my", requests)
    results["my_branch_supervisor"] = _time(branch, "/my", requests)
    results["my_head_supervisor"] = _time(head, "/my", requests)
    results["my_count_head_supervisor"] = _time(head, "/my/count", requests)
    base = results["claim_page"]["p95_ms"]
    for key in ("my_adjuster", "my_branch_supervisor", "my_head_supervisor", "my_count_head_supervisor"):
        results[key]["p95_vs_claim_page"] = round(results[key]["p95_ms"] / base, 2) if base else None
    return results


def run(database: str, claims: int, requests: int, pg_url: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    admin = None
    name = f"cw_bench_todo_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        if database == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'todo.db'}"
        else:
            pg = make_url(pg_url).set(drivername="postgresql+psycopg")
            admin = create_engine(pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'create database "{name}"'))
            url = pg.set(database=name).render_as_string(False)
        os.environ["CLAIMWATCH_DATABASE_URL"] = url
        os.environ["CLAIMWATCH_SNAPSHOT_DIR"] = str(Path(tmp) / "snapshot")
        try:
            print(f"[{database}] loading {claims:,} claims …", flush=True)
            started = time.perf_counter()
            data = load(url, database, claims, now)
            print(f"[{database}] setup {time.perf_counter() - started:.1f} s (not measured): {data}", flush=True)
            results = measure(requests)
        finally:
            db.get_engine().dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'drop database if exists "{name}" with (force)'))
                admin.dispose()
    return {"database": database, "claims": claims, "data": data, **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CLAIMWATCH_TEST_PG_URL") or os.environ.get("CLAIMWATCH_BENCH_PG_URL") or DEFAULT_PG,
    )
    args = parser.parse_args()
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    RESULTS.mkdir(exist_ok=True)
    for database in databases:
        result = run(database, args.claims, min(args.requests, 1000), args.pg_url)
        print(json.dumps(result, indent=1, ensure_ascii=False))
        goal = max(result[k]["p95_ms"] for k in ("my_adjuster", "my_branch_supervisor", "my_head_supervisor"))
        print(f"[{database}] /my p95 worst {goal} ms (goal ≤ 150 ms): {'OK' if goal <= 150 else 'MISSED'}")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        (RESULTS / f"todo_inbox-{database}-{stamp}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
