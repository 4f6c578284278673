"""The filtered claim list (/claims) with a million claims, on SQLite and PostgreSQL in one run.

    .venv/bin/python bench/claims_list.py [--claims 1000000] [--databases sqlite,postgresql] [--pg-url URL]
                                          [--runs 30]

Setup (not measured): a fresh database (an SQLite file in a temp dir; a PostgreSQL database created for the
run and dropped after), migrated (0012_work_lists included), two insurers made by ``tenancy.service`` — BIG
with 90 % of the claims, a head office, 5 branches and 20 sub-branches, 20 adjusters; SMALL with the rest —
then the claims, their SLA clocks (the timeliness tier by amount and the claim decision: two a claim),
escalations and regulator filings for the red ones, written by bulk ``INSERT … SELECT`` over a generated
series (``generate_series`` on PostgreSQL, a recursive CTE on SQLite). Twelve months of reports; about 1 in 12
claims is still open, and of the open ones 10 % are red, 20 % yellow. Then ANALYZE.

Measured: the first page (25 rows) of the list exactly as the page builds it
(``cases.queries.claims_page``: the count, the rows with masked personal data, their lights and deadlines,
the filter options), ``--runs`` times per filter after one warm-up; p50 and p95 in ms, and the ratio of each
p95 to the baseline's: the unfiltered first page (what /claims showed before this issue), measured in the same
run on the same database. Goal: every filtered first page ≤ 150 ms p95.
Writes bench/results/claims_list-<db>-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import bench_databases  # noqa: E402 - the bench folder is on sys.path when run as a script
from claimwatch import db, migrate  # noqa: E402
from claimwatch.auth import service as auth_service  # noqa: E402
from claimwatch.auth.models import Role  # noqa: E402
from claimwatch.auth.principal import Principal  # noqa: E402
from claimwatch.cases import queries  # noqa: E402
from claimwatch.db import TenantContext, unit_of_work  # noqa: E402
from claimwatch.tenancy import service as tenancy_service  # noqa: E402

DEFAULT_PG = "postgresql://claimwatch:claimwatch@127.0.0.1:5432/postgres"
RESULTS = Path(__file__).resolve().parent / "results"
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
START = dt.datetime(2025, 12, 1, 0, 0, tzinfo=dt.UTC)
SPAN = int((NOW - START).total_seconds())
GOAL_MS = 150.0
ADJUSTERS = 20


def _setup_tenants() -> dict[str, object]:
    """The two insurers, BIG's org tree and adjusters, through the real services."""
    found: dict[str, object] = {}
    with unit_of_work(TenantContext.system_context()) as session:
        big = tenancy_service.create_tenant(session, code="BIG", name="大保险", actor="bench")
        small = tenancy_service.create_tenant(session, code="SMALL", name="小保险", actor="bench")
        found["big"], found["small"] = big.id, small.id
    with unit_of_work(TenantContext.for_tenant(int(found["big"]))) as session:  # type: ignore[arg-type]
        branches = []
        for b in range(5):
            unit = tenancy_service.add_org_unit(
                session,
                tenant_id=found["big"],
                code=f"BR{b}",
                name=f"分公司{b}",
                parent_code="BIG-HQ",
                region_code="440000",
                actor="bench",
            )  # type: ignore[arg-type]
            branches.append(unit.id)
            for s in range(4):
                tenancy_service.add_org_unit(
                    session,
                    tenant_id=found["big"],
                    code=f"BR{b}S{s}",
                    name=f"支公司{b}-{s}",
                    parent_code=f"BR{b}",
                    region_code="440000",
                    actor="bench",
                )  # type: ignore[arg-type]
        users = [
            auth_service.create_user(
                session,
                username=f"big.adj{n:02d}",
                password="bench-password-123",
                role=Role.ADJUSTER,
                tenant_id=found["big"],
                actor="bench",
            ).id  # type: ignore[arg-type]
            for n in range(ADJUSTERS)
        ]
        found["branch"] = branches[0]
        found["users"] = users
    return found


def _series(dialect: str, count: int) -> str:
    if dialect == "postgresql":
        return f"SELECT CAST(generate_series(1, {count}) AS BIGINT) AS i"
    return f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {count}) SELECT i FROM s"


def _ts(dialect: str, base: str, seconds: str) -> str:
    """A timestamp ``seconds`` after the UTC instant ``base``, as each database stores UTCDateTime."""
    if dialect == "postgresql":
        return f"(TIMESTAMPTZ '{base}+00' + ({seconds}) * INTERVAL '1 second')"
    return f"(strftime('%Y-%m-%d %H:%M:%S', '{base}', '+' || ({seconds}) || ' seconds') || '.000000')"


def load(dialect: str, claims: int, ids: dict[str, object]) -> float:
    """The claims, clocks, escalations and filings by bulk INSERT … SELECT; returns seconds taken."""
    started = time.perf_counter()
    big, small, users = ids["big"], ids["small"], ids["users"]
    big_share = int(claims * 0.9)
    engine = db.get_engine()
    # Each claim's permanent random number for inspection sampling (cases.models.new_sample_key).
    sample_key = (
        "CAST(floor(random() * 2147483648) AS INTEGER)" if dialect == "postgresql" else "abs(random()) % 2147483648"
    )
    with engine.begin() as conn:
        orgs = [row[0] for row in conn.execute(text(f"SELECT id FROM org_units WHERE tenant_id = {big} ORDER BY id"))]
        small_org = conn.execute(text(f"SELECT id FROM org_units WHERE tenant_id = {small}")).scalar_one()
        org_case = "CASE i % {n} {arms} END".format(
            n=len(orgs), arms=" ".join(f"WHEN {k} THEN {org}" for k, org in enumerate(orgs))
        )
        user_case = "CASE i % 21 {arms} ELSE NULL END".format(
            arms=" ".join(f"WHEN {k + 1} THEN {uid}" for k, uid in enumerate(users))  # type: ignore[arg-type]
        )
        reported = _ts(dialect, START.strftime("%Y-%m-%d %H:%M:%S"), f"CAST(i AS BIGINT) * {SPAN} / {claims}")
        age = f"({SPAN} - CAST(i AS BIGINT) * {SPAN} / {claims})"  # seconds before NOW
        duration = "(86400 * (1 + (i * 7) % 40))"
        is_open = f"(i % 12 = 0 OR {duration} > {age})"
        closed = _ts(
            dialect, START.strftime("%Y-%m-%d %H:%M:%S"), f"CAST(i AS BIGINT) * {SPAN} / {claims} + {duration}"
        )
        conn.execute(
            text(
                f"""
            INSERT INTO claims (tenant_id, number, org_unit_id, region_code, line, policy_number, claimant_name,
                reported_amount_fen, status, assignee_id, reported_at, status_changed_at, closed_at, reopen_count,
                event_count, created_at, updated_at, sample_key)
            SELECT CASE WHEN i <= {big_share} THEN {big} ELSE {small} END, 'BN' || i,
                CASE WHEN i <= {big_share} THEN {org_case} ELSE {small_org} END,
                CASE i % 3 WHEN 0 THEN '440000' WHEN 1 THEN '310000' ELSE '110000' END,
                CASE i % 5 WHEN 0 THEN 'motor' WHEN 1 THEN 'medical' WHEN 2 THEN 'accident' WHEN 3 THEN 'property'
                    ELSE 'life' END,
                'P' || i, '张三', (i * 7919) % 10000000,
                CASE WHEN {is_open} THEN (CASE i % 4 WHEN 0 THEN 'reported' WHEN 1 THEN 'accepted'
                    WHEN 2 THEN 'investigation' ELSE 'assessment' END) ELSE 'closed' END,
                CASE WHEN i <= {big_share} THEN {user_case} END,
                {reported}, {reported}, CASE WHEN {is_open} THEN NULL ELSE {closed} END, 0, 1, {reported}, {reported},
                {sample_key}
            FROM ({_series(dialect, claims)}) AS s
            """
            )
        )
        # Two clocks a claim: the timeliness tier by amount and the claim decision. Open claims' clocks run:
        # 10 % red, 20 % yellow (past target a day after the report); closed ones stopped and met.
        light = (
            "CASE WHEN c.closed_at IS NOT NULL THEN 'green' WHEN c.id % 10 = 0 THEN 'red' "
            "WHEN c.id % 10 < 3 THEN 'yellow' ELSE 'green' END"
        )
        for policy, due in (("tier", 86400), ("claim_decision", 30 * 86400)):
            code = (
                "CASE WHEN c.reported_amount_fen < 500000 THEN 'timeliness_small' WHEN c.reported_amount_fen < 5000000 "
                "THEN 'timeliness_middle' ELSE 'timeliness_large' END"
                if policy == "tier"
                else "'claim_decision'"
            )
            reported_c = "c.reported_at"
            yellow = _ts_col(dialect, reported_c, due)
            breached = _ts_col(dialect, reported_c, 86400)
            conn.execute(
                text(
                    f"""
                INSERT INTO sla_clocks (tenant_id, claim_id, policy_code, cycle, unit, yellow_budget, red_budget,
                    extended, consumed, state, light, outcome, started_at, anchor_at, running_since, stopped_at,
                    yellow_due_at, red_due_at, breached_at, escalated, updated_at)
                SELECT c.tenant_id, c.id, {code}, 1, 'calendar_days', {due}, {2 * due}, 0, 0,
                    CASE WHEN c.closed_at IS NULL THEN 'running' ELSE 'stopped' END, {light},
                    CASE WHEN c.closed_at IS NULL THEN NULL ELSE 'met' END, c.reported_at, c.reported_at,
                    CASE WHEN c.closed_at IS NULL THEN c.reported_at END, c.closed_at,
                    {yellow}, {_ts_col(dialect, reported_c, 2 * due)},
                    CASE WHEN c.closed_at IS NULL AND c.id % 10 < 3 THEN {breached} END,
                    CASE WHEN c.closed_at IS NULL AND c.id % 10 = 0 THEN 2 WHEN c.closed_at IS NULL AND c.id % 10 < 3
                        THEN 1 ELSE 0 END,
                    c.reported_at
                FROM claims c
                """
                )
            )
        conn.execute(
            text(
                """
            INSERT INTO sla_escalations (tenant_id, clock_id, claim_id, org_unit_id, level, due_at, fired_at, status)
            SELECT k.tenant_id, k.id, k.claim_id, c.org_unit_id, 'red', k.red_due_at, k.red_due_at, 'open'
            FROM sla_clocks k JOIN claims c ON c.id = k.claim_id
            WHERE k.light = 'red' AND k.policy_code <> 'claim_decision'
            """
            )
        )
        conn.execute(
            text(
                """
            INSERT INTO regulator_filings (tenant_id, escalation_id, clock_id, claim_id, claim_number, line,
                org_unit_id, region_code, policy_code, reported_at, yellow_due_at, red_due_at, filed_at)
            SELECT e.tenant_id, e.id, e.clock_id, e.claim_id, c.number, c.line, c.org_unit_id, c.region_code,
                k.policy_code, c.reported_at, k.yellow_due_at, k.red_due_at, e.fired_at
            FROM sla_escalations e JOIN claims c ON c.id = e.claim_id JOIN sla_clocks k ON k.id = e.clock_id
            """
            )
        )
    # As a running system has them: statistics, and on PostgreSQL a vacuumed table (autovacuum's visibility
    # map, without which an index-only count reads every heap page).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
    return time.perf_counter() - started


def _ts_col(dialect: str, column: str, seconds: int) -> str:
    if dialect == "postgresql":
        return f"({column} + INTERVAL '{seconds} seconds')"
    return f"(strftime('%Y-%m-%d %H:%M:%S', {column}, '+{seconds} seconds') || '.000000')"


def scenarios(ids: dict[str, object]) -> list[tuple[str, str, dict[str, str]]]:
    """(name, who, query string) — who: the BIG supervisor ("staff"), an adjuster ("me") or a regulator."""
    month = {"reported_from": "2026-10-01", "reported_to": "2026-10-31"}
    return [
        ("baseline: no filter, newest first", "staff", {}),
        ("status", "staff", {"status": "investigation"}),
        ("line + region", "staff", {"line": "motor", "region": "440000"}),
        ("org subtree (a branch)", "staff", {"org": str(ids["branch"])}),
        ("light red", "staff", {"light": "red"}),
        ("light yellow", "staff", {"light": "yellow"}),
        ("overdue", "staff", {"overdue": "1"}),
        ("reported in a month", "staff", month),
        ("assignee me", "me", {"assignee": "me"}),
        ("unassigned", "staff", {"assignee": "unassigned"}),
        ("amount band large", "staff", {"amount": "large"}),
        ("sort by deadline", "staff", {"sort": "deadline", "dir": "asc"}),
        ("sort by amount", "staff", {"sort": "amount"}),
        ("red + deadline sort", "staff", {"light": "red", "sort": "deadline", "dir": "asc"}),
        ("org + yellow + motor", "staff", {"org": str(ids["branch"]), "light": "yellow", "line": "motor"}),
        (
            "drill: closed in a month > 10 days",
            "staff",
            {"closed_from": "2026-10-01", "closed_to": "2026-10-31", "cycle_over": "10"},
        ),
        ("drill: red filings in a month", "staff", {"filed_from": "2026-10-01", "filed_to": "2026-10-31"}),
        ("page 40", "staff", {"page": "40"}),
        ("regulator: red, every insurer", "regulator", {"light": "red"}),
    ]


def _open_tenant(tenant_id: int):  # type: ignore[no-untyped-def]
    return unit_of_work(TenantContext.regulator_of(tenant_id))


def measure(ids: dict[str, object], runs: int) -> list[dict[str, object]]:
    big = int(ids["big"])  # type: ignore[arg-type]
    me = int(ids["users"][1])  # type: ignore[index]
    who = {
        "staff": Principal(Role.SUPERVISOR, big, "user:bench.supervisor"),
        "me": Principal(Role.ADJUSTER, big, "user:big.adj01", user_id=me),
        "regulator": Principal(Role.REGULATOR, None, "user:bench.regulator"),
    }
    results = []
    for name, person, params in scenarios(ids):
        principal = who[person]
        query = queries.ListQuery.from_params(params)
        assert not query.problems, (name, query.problems)
        times: list[float] = []
        total = 0
        for run in range(runs + 1):
            started = time.perf_counter()
            with unit_of_work(principal.context()) as session:
                page = queries.claims_page(session, principal, query, "zh", _open_tenant)
            elapsed = (time.perf_counter() - started) * 1000
            total = page.total
            if run:
                times.append(elapsed)
        times.sort()
        p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
        results.append({"name": name, "total": total, "p50_ms": statistics.median(times), "p95_ms": p95})
        print(f"  {name:<40} {total:>9,} rows  p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms", flush=True)
    return results


def run(dialect: str, url: str, claims: int, runs: int) -> dict[str, object]:
    db.configure(url)
    migrate.upgrade(url)
    ids = _setup_tenants()
    seconds = load(dialect, claims, ids)
    with db.get_engine().connect() as conn:
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("claims", "sla_clocks", "regulator_filings")
        }  # noqa: S608
    print(f"{dialect}: loaded in {seconds:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
    results = measure(ids, runs)
    baseline = results[0]["p95_ms"]
    print(
        f"{dialect}: p95 against the baseline (unfiltered first page, {baseline:.1f} ms) and the {GOAL_MS:.0f} ms goal:"
    )
    worst = 0.0
    for row in results:
        ratio = float(row["p95_ms"]) / float(baseline)  # type: ignore[arg-type]
        row["ratio_to_baseline"] = ratio
        worst = max(worst, float(row["p95_ms"]))  # type: ignore[arg-type]
        mark = "ok " if float(row["p95_ms"]) <= GOAL_MS else "SLOW"  # type: ignore[arg-type]
        print(f"  {mark} {row['name']:<40} {ratio:5.2f}x")
    db.get_engine().dispose()
    return {
        "database": dialect,
        "claims": claims,
        "runs": runs,
        "load_seconds": seconds,
        "counts": counts,
        "results": results,
        "worst_p95_ms": worst,
        "goal_ms": GOAL_MS,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("CLAIMWATCH_TEST_PG_URL", DEFAULT_PG))
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    failed = False
    for dialect in args.databases.split(","):
        with bench_databases.database(dialect, args.pg_url, "list") as url:
            report = run(dialect, url, args.claims, args.runs)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        (RESULTS / f"claims_list-{dialect}-{stamp}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        failed = failed or float(report["worst_p95_ms"]) > GOAL_MS  # type: ignore[arg-type]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
