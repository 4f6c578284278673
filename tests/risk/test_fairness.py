"""降赔惜赔 detection: handlers and org units compared with their peers on the same case mix (exact stratified
test, minimum volume, Benjamini–Hochberg), rejections citing no clause, reductions after review, flags that open
targeted inspections; the page, the API and the CLI."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from scipy import stats
from sqlalchemy import select
from typer.testing import CliRunner

from claimwatch import db
from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from claimwatch.cli import app as cli_app
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo import fairness as demo_fairness
from claimwatch.demo.generator import DemoSpec, iter_claim_events
from claimwatch.inspections.models import Inspection, InspectionPlan
from claimwatch.risk import fairness, fairness_jobs
from claimwatch.risk.fairness_models import FairnessResult, FairnessRun
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.security import CSRF_FIELD, CSRF_HEADER
from tests.apps import shared_app
from tests.factories import PASSWORD, World
from tests.reports.helpers import module_database

CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=CST)
CLAUSE = "依据保险条款第七条，不属于保险责任范围"
runner = CliRunner()


# ---- statistics: no database ------------------------------------------------------------------------------


def test_the_exact_stratified_test_is_fishers_test_for_one_stratum():
    stratum = fairness.StratumCount("s", unit_cases=20, unit_events=8, total_cases=100, total_events=15)
    expected = stats.hypergeom.sf(7, 100, 15, 20)  # P(X >= 8)
    assert fairness.exact_upper_p([stratum]) == pytest.approx(expected)
    table = [[8, 12], [7, 73]]
    assert fairness.exact_upper_p([stratum]) == pytest.approx(stats.fisher_exact(table, "greater").pvalue)


def test_strata_convolve_and_a_unit_alone_in_a_stratum_adds_nothing():
    a = fairness.StratumCount("a", 10, 3, 50, 5)
    b = fairness.StratumCount("b", 5, 5, 20, 10)
    pa = stats.hypergeom.pmf(range(0, 6), 50, 5, 10)
    pb = stats.hypergeom.pmf(range(0, 6), 20, 10, 5)
    exact = sum(pa[i] * pb[j] for i in range(6) for j in range(6) if i + j >= 8)
    assert fairness.exact_upper_p([a, b]) == pytest.approx(exact)
    assert fairness.exact_upper_p([fairness.StratumCount("c", 10, 0, 50, 5)]) == 1.0
    assert fairness.mantel_haenszel_odds_ratio([fairness.StratumCount("d", 10, 0, 20, 0)]) is None


def test_org_units_roll_up_to_their_parents():
    """Two sub-branches too small to test alone (12 claims each, min 30) reject half their claims; their
    parent branch holds both (24 + its own 12 = 36) and is flagged against the other branch; the head office
    holds every claim and has no peers."""
    settings = fairness.default_settings()
    parents = {1: None, 2: 1, 3: 2, 4: 2, 5: 1, 6: 5}  # head 1; branch 2 (sub 3, 4); branch 5 (sub 6)
    ancestors = fairness.org_ancestors(parents)
    assert ancestors[3] == (3, 2, 1) and ancestors[1] == (1,)

    def made(org: int, count: int, rejected: int) -> list[fairness.DecidedClaim]:
        return [
            fairness.DecidedClaim(
                id=org * 1000 + i, number=f"C{org}-{i:03d}", line="motor", stratum="motor|2000-5000|damage",
                handler_id=None, org_id=org, rejected=i < rejected, assessed_fen=300_000, paid_fen=None,
            )
            for i in range(count)
        ]  # fmt: skip

    claims = made(3, 12, 6) + made(4, 12, 6) + made(2, 12, 5) + made(6, 80, 4)
    figures = {f.unit_id: f for f in fairness.compare(claims, "org", "rejection", settings, ancestors)}
    assert (figures[3].cases, figures[3].reason) == (12, "below_min_cases")
    assert (figures[2].cases, figures[2].observed, figures[2].flagged) == (36, 17, True)
    assert not figures[5].flagged and figures[1].reason == "no_peers"
    unrolled = {f.unit_id for f in fairness.compare(claims, "org", "rejection", settings)}
    assert unrolled == {2, 3, 4, 6}  # without the tree: each claim's own unit only


def test_benjamini_hochberg():
    assert fairness.benjamini_hochberg([0.01, 0.04, 0.03, 0.5]) == pytest.approx(
        [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5]
    )
    assert fairness.benjamini_hochberg([]) == []


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("min_cases: 0\n", 1, "min_cases must be a whole number"),
        ("alpha: 0.05\nsurprise: 1\n", 2, "unknown key 'surprise'"),
        ("amount_bands: [5000, 2000]\n", 1, "must rise strictly"),
        ("clause_pattern: '第('\n", 1, "not a regular expression"),
        ("scorecards: [motor]\n", 1, "scorecards maps a line"),
    ],
)
def test_bad_settings_name_file_and_line(text: str, line: int, words: str):
    with pytest.raises(fairness.FairnessSettingsError) as caught:
        fairness.parse_settings(text, "ACME.yaml", fairness.default_settings())
    assert caught.value.line == line and words in str(caught.value) and str(caught.value).startswith("ACME.yaml:")


def test_bands_and_clauses():
    settings = fairness.default_settings()
    assert [settings.band(f) for f in (None, 0, 199_999, 200_000, 30_000_000)] == [
        "?",
        "0-2000",
        "0-2000",
        "2000-5000",
        "200000+",
    ]
    cites = settings.clause_pattern.search
    assert cites(CLAUSE) and cites("根据第三款约定") and cites("per clause 4.2") and cites("保险法第 16 条")
    assert not cites("材料不足，不予赔付") and not cites("经审核不符合理赔条件")


# ---- one insurer, November 2026 -----------------------------------------------------------------------------


def when(day: int, hour: int) -> str:
    return dt.datetime(2026, 11, day, hour, 0, tzinfo=CST).isoformat()


def claim_events(
    number: str, *, line: str, amount: int, org: str, assignee: str, end: str, reason: str = CLAUSE,
    paid: int | None = None, review_cut: int = 0, day: int = 3,
) -> list[dict[str, Any]]:  # fmt: skip
    """A claim decided in November: rejected after the survey, or closed with its amounts."""
    events: list[dict[str, Any]] = []
    hour = 8

    def add(kind: str, **fields: Any) -> None:
        nonlocal hour
        hour += 1
        events.append(
            {"event_id": f"{number}-{len(events)}", "claim_number": number, "type": kind,
             "occurred_at": when(day, hour), **fields}
        )  # fmt: skip

    add("reported", claim={
        "line": line, "policy_number": f"P-{number}", "org_code": org, "region_code": "440000",
        "claimant": {"name": "张三", "phone": "13812345678"}, "reported_amount": f"{amount}.00",
    })  # fmt: skip
    add("assigned", assignee=assignee)
    for status in ("accepted", "initial_review", "investigation"):
        add("transition", to_status=status)
    if end == "rejected":
        add("transition", to_status="rejected", reason=reason)
        return events
    add("transition", to_status="assessment")
    add("amounts", assessed_amount=f"{amount}.00")
    add("transition", to_status="verification")
    assessed = amount
    if review_cut:
        assessed = amount - review_cut
        add("transition", to_status="assessment")
        add("amounts", assessed_amount=f"{assessed}.00")
        add("transition", to_status="verification")
    for status in ("approval", "payment"):
        add("transition", to_status=status)
    add("amounts", paid_amount=f"{paid if paid is not None else assessed}.00")
    add("transition", to_status="closed")
    return events


@dataclass
class Built:
    client: TestClient
    dialect: str
    tenant_id: int
    qm: Principal
    users: dict[str, int]
    summary: fairness.RunSummary


def _login(client: TestClient, username: str) -> str:
    client.cookies.clear()
    token = client.get("/login").text.split(f'name="{CSRF_FIELD}" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert response.status_code == 303
    return client.get("/risk/fairness").text.split(f'name="{CSRF_FIELD}" value="')[1].split('"')[0]


def _history() -> list[dict[str, Any]]:
    """Motor 3 000 CNY claims are rejected 1 in 12 by most handlers; medical 30 000 CNY ones 1 in 2 by anyone.

    - ``acme.strict`` (B1) rejects 7 of 14 motor claims, 4 citing no clause, and pays 3 of the rest short;
    - ``acme.mixed`` (SH) has mostly medical claims: a high crude rate, but like the peers on its case mix;
    - ``acme.fair1``/``acme.fair2`` (SH) are the peers; ``acme.fair2`` cuts two assessments after review."""
    events: list[dict[str, Any]] = []
    serial = 0

    def claims(count: int, rejected: int, **spec: Any) -> None:
        nonlocal serial
        for index in range(count):
            serial += 1
            end = "rejected" if index < rejected else "closed"
            events.extend(claim_events(f"ACME-{serial:04d}", end=end, day=2 + serial % 25, **spec))

    strict = {"assignee": "acme.strict", "org": "ACME-B1"}
    claims(4, 4, line="motor", amount=3000, reason="材料不足，不予赔付", **strict)
    claims(3, 3, line="motor", amount=3000, **strict)
    claims(4, 0, line="motor", amount=3000, paid=2000, **strict)
    claims(3, 0, line="motor", amount=3000, **strict)
    for name in ("acme.fair1", "acme.fair2"):
        claims(12, 1, line="motor", amount=3000, assignee=name, org="ACME-SH")
        claims(6, 3, line="medical", amount=30000, assignee=name, org="ACME-SH")
    claims(2, 0, line="motor", amount=3000, assignee="acme.fair2", org="ACME-SH", review_cut=500)
    claims(4, 0, line="motor", amount=3000, assignee="acme.mixed", org="ACME-SH")
    claims(12, 6, line="medical", amount=30000, assignee="acme.mixed", org="ACME-SH")
    return events


SETTINGS = "min_cases: 10\nmin_ratio: 1.5\n"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Built]:
    tmp = tmp_path_factory.mktemp(f"fairness-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    db.configure(url)
    world = World(url)
    acme = world.tenant("ACME")
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        tenancy_service.add_org_unit(
            session, tenant_id=acme.id, code="ACME-SH", name="上海分公司", parent_code="ACME-HQ", region_code="310000"
        )
    for name in ("acme.strict", "acme.fair1", "acme.fair2", "acme.mixed"):
        world.user(name, Role.ADJUSTER, acme)
    for name, role in (("acme.qm", Role.QUALITY_MANAGER), ("acme.insp", Role.INSPECTOR), ("acme.sup", Role.SUPERVISOR)):
        world.user(name, role, acme)
    world.user("acme.adj", Role.ADJUSTER, acme)
    api = Principal(role=Role.INTEGRATION, tenant_id=acme.id, actor="api_key:core")
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        acks = cases_service.ingest_events(session, api, [EventIn.model_validate(e) for e in _history()])
        assert all(ack.status != "rejected" for ack in acks), [a for a in acks if a.status == "rejected"][:3]
    # ACME's own settings (the per-insurer override file): a smaller minimum volume for a small test.
    (tmp / "overrides" / fairness.OVERRIDES_SUBDIR).mkdir(parents=True)
    (tmp / "overrides" / fairness.OVERRIDES_SUBDIR / "ACME.yaml").write_text(SETTINGS, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(get_settings(), "policy_overrides_dir", tmp / "overrides")
        with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
            summary = fairness.run_period(session, acme.id, "2026-11", "test", now=NOW)
            users = {u: i for i, u in session.execute(select(fairness.User.id, fairness.User.username))}
        qm = Principal(role=Role.QUALITY_MANAGER, tenant_id=acme.id, actor="user:acme.qm")
        client = TestClient(shared_app())
        yield Built(client, request.param, acme.id, qm, users, summary)
    for _ in databases:
        pass


def rows(built: Built, **where: Any) -> list[FairnessResult]:
    with unit_of_work(TenantContext.for_tenant(built.tenant_id)) as session:
        query = select(FairnessResult).where(*(getattr(FairnessResult, k) == v for k, v in where.items()))
        found = list(session.scalars(query.order_by(FairnessResult.id)))
        session.expunge_all()
        return found


def one(built: Built, unit: str, measure: str, kind: str = "handler") -> FairnessResult:
    [row] = rows(built, unit_kind=kind, unit_label=unit, measure=measure)
    return row


def test_the_out_of_line_handler_is_flagged_on_the_same_case_mix(built: Built):
    strict = one(built, "acme.strict", "rejection")
    # 14 motor 2000–5000 claims; the peers rejected 2 of their 30 there: expected 14 × 2/30, the test exact.
    assert (strict.cases, strict.observed, strict.flagged, strict.reason) == (14, 7, True, "flagged")
    assert strict.expected is not None and strict.ratio is not None and strict.ratio > 3
    assert strict.p_value is not None and strict.p_value < 0.01 and strict.q_value is not None
    assert strict.odds_ratio is not None and strict.odds_ratio > 5
    assert len(strict.examples or []) == 7 and (strict.details or {}).get("lines") == {"motor": 7}
    # A crude rejection rate of 37.5 % on mostly medical claims is the peers' rate on the same mix: not flagged.
    mixed = one(built, "acme.mixed", "rejection")
    assert mixed.observed / mixed.cases == 0.375 and not mixed.flagged
    assert mixed.ratio is not None and mixed.ratio < 1.5 and mixed.reason in ("not_significant", "small_effect")
    # The flags, and no flag for the peers.
    flagged = {(r.unit_kind, r.unit_label, r.measure) for r in rows(built, flagged=True)}
    assert ("handler", "acme.strict", "rejection") in flagged
    assert not {f for f in flagged if f[1] in ("acme.fair1", "acme.mixed")}
    assert ("org", "ACME-B1", "rejection") in flagged  # B1 is acme.strict's unit
    assert {(r.unit_label, r.measure) for r in built.summary.flagged} == {(f[1], f[2]) for f in flagged}


def test_short_payments_reductions_and_unclear_reasons(built: Built):
    short = one(built, "acme.strict", "short_payment")
    assert (short.cases, short.observed) == (7, 4)
    assert short.reason == "below_min_cases" and short.p_value is None  # 7 paid claims < min_cases 10
    assert (short.amount_fen, short.base_fen) == (4 * 200_000 + 3 * 300_000, 7 * 300_000)
    assert short.expected_fen == 7 * 300_000  # the peers pay what they assess
    cut = one(built, "acme.fair2", "review_reduction")
    assert cut.observed == 2 and cut.amount_fen == 2 * 50_000 and (cut.examples or [])[0].startswith("ACME-")
    unclear = one(built, "acme.strict", "unclear_rejection")
    assert (unclear.cases, unclear.observed, unclear.flagged) == (7, 4, True)
    assert one(built, "acme.fair1", "unclear_rejection").observed == 0


def test_a_rerun_keeps_row_ids_and_is_audited(built: Built):
    before = {r.id for r in rows(built)}
    with unit_of_work(TenantContext.for_tenant(built.tenant_id)) as session:
        fairness.run_period(session, built.tenant_id, "2026-11", "test", now=NOW)
    assert {r.id for r in rows(built)} == before
    with unit_of_work(TenantContext.for_tenant(built.tenant_id)) as session:
        kinds = session.scalars(
            select(AuditEntry.kind).where(AuditEntry.kind == "risk.fairness_run").order_by(AuditEntry.seq)
        ).all()
        assert len(kinds) >= 2
        assert len(session.scalars(select(FairnessRun)).all()) == 1
    with unit_of_work(TenantContext.for_tenant(built.tenant_id)) as session, pytest.raises(fairness.Invalid):
        fairness.run_period(session, built.tenant_id, "2026-13", "test", now=NOW)


def test_a_flag_opens_a_targeted_inspection_once(built: Built):
    flag = one(built, "acme.strict", "rejection")
    with unit_of_work(TenantContext.for_tenant(built.tenant_id)) as session:
        codes = fairness.open_plans(session, built.qm, flag.id, now=NOW)
    assert codes == [f"FAIR-{flag.id}-motor"]
    with unit_of_work(TenantContext.for_tenant(built.tenant_id)) as session:
        assert fairness.open_plans(session, built.qm, flag.id, now=NOW) == codes  # idempotent
        [plan] = session.scalars(select(InspectionPlan).where(InspectionPlan.source == "fairness")).all()
        assert plan.source_ref == str(flag.id)
        sampled = session.scalars(select(Inspection.handler_id)).all()
        assert len(sampled) == 7 and set(sampled) == {built.users["acme.strict"]}
    not_flagged = one(built, "acme.fair1", "rejection")
    with unit_of_work(TenantContext.for_tenant(built.tenant_id)) as session, pytest.raises(fairness.Invalid):
        fairness.open_plans(session, built.qm, not_flagged.id, now=NOW)
    adjuster = Principal(role=Role.ADJUSTER, tenant_id=built.tenant_id, actor="user:acme.adj")
    with unit_of_work(TenantContext.for_tenant(built.tenant_id)) as session, pytest.raises(fairness.Forbidden):
        fairness.open_plans(session, adjuster, flag.id, now=NOW)


def test_math_is_finite(built: Built):
    for row in rows(built):
        for value in (row.expected, row.ratio, row.p_value, row.q_value):
            assert value is None or math.isfinite(value)


def test_the_page_names_the_flagged_handlers_in_both_languages(built: Built):
    client = built.client
    client.cookies.clear()
    assert client.get("/risk/fairness", follow_redirects=False).status_code in (303, 401)
    _login(client, "acme.adj")
    assert client.get("/risk/fairness").status_code == 403  # adjusters do not see their peers' flags
    token = _login(client, "acme.qm")
    page = client.get("/risk/fairness?period=2026-11")
    assert page.status_code == 200 and 'data-unit="acme.strict" data-measure="rejection" data-flagged="1"' in page.text
    assert 'data-unit="acme.mixed"' not in page.text  # only the flags, by default
    everyone = client.get("/risk/fairness?period=2026-11&all=1").text
    assert 'data-unit="acme.mixed" data-measure="rejection" data-flagged="0"' in everyone
    english = client.get("/risk/fairness?period=2026-11&lang=en").text
    assert "Under-payment and unfair denial" in english
    refused = client.post("/risk/fairness/run", data={"period": "2026-13", CSRF_FIELD: token})
    assert refused.status_code == 422 and 'id="fairness-problem"' in refused.text
    forged = client.post("/risk/fairness/run", data={"period": "2026-11", CSRF_FIELD: "x"}, follow_redirects=False)
    assert forged.status_code == 403
    done = client.post("/risk/fairness/run", data={"period": "2026-11", CSRF_FIELD: token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/risk/fairness?period=2026-11"
    _login(client, "acme.sup")  # supervisors read the flags but do not open inspections
    assert client.get("/risk/fairness").status_code == 200
    flag = one(built, "acme.strict", "unclear_rejection")
    assert client.post(f"/risk/fairness/{flag.id}/plans", data={CSRF_FIELD: "x"}).status_code == 403


def test_api_and_cli(built: Built):
    client = built.client
    token = _login(client, "acme.qm")
    found = client.get("/api/v1/risk/fairness", params={"period": "2026-11"}).json()
    assert found["period"] == "2026-11" and found["run"]["flagged"] >= 2
    strict = next(r for r in found["results"] if r["unit"] == "acme.strict" and r["measure"] == "rejection")
    assert strict["flagged"] and strict["observed"] == 7 and strict["strata"][0]["stratum"] == "motor|2000-5000|"
    bad = client.post("/api/v1/risk/fairness/runs", json={"period": "2026-Q5"}, headers={CSRF_HEADER: token})
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] in ("period", "body.period")
    unclear = one(built, "acme.strict", "unclear_rejection")
    opened = client.post(f"/api/v1/risk/fairness/{unclear.id}/plans", headers={CSRF_HEADER: token})
    assert opened.status_code == 201 and opened.json() == {"plans": [f"FAIR-{unclear.id}-motor"]}
    result = runner.invoke(
        cli_app, ["risk", "fairness", "--tenant", "ACME", "--period", "2026-11", "--now", NOW.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "flagged" in result.output and "handler:acme.strict" in result.output
    bad_cli = runner.invoke(cli_app, ["risk", "fairness", "--tenant", "ACME", "--period", "2026-99"])
    assert bad_cli.exit_code == 1 and "not a month" in bad_cli.output


def test_the_worker_computes_each_finished_period_once(built: Built):
    first = fairness_jobs.run_due(NOW)
    assert first.ran == ["ACME 2026-Q3"] and first.skipped == 1  # November was computed already
    again = fairness_jobs.run_due(NOW)
    assert again.ran == [] and again.skipped == 2


def test_the_demo_has_one_strict_handler():
    spec = DemoSpec(claims=900, seed=7, start=dt.date(2025, 6, 1), end=dt.date(2026, 5, 31))
    assignee: dict[str, str] = {}
    ends: dict[str, str] = {}
    for event in iter_claim_events(spec, "PICC"):
        if event["type"] == "assigned":
            assignee[event["claim_number"]] = event["assignee"]
        elif event["type"] == "transition" and event["to_status"] in ("closed", "rejected"):
            ends[event["claim_number"]] = event["to_status"]
    rate: dict[str, list[int]] = {}
    for number, end in ends.items():
        tally = rate.setdefault(assignee[number], [0, 0])
        tally[0], tally[1] = tally[0] + 1, tally[1] + (end == "rejected")
    strict = rate.pop(demo_fairness.STRICT_HANDLERS["PICC"])
    assert strict[1] / strict[0] > 2 * max(rejected / decided for decided, rejected in rate.values())
    assert demo_fairness.demo_quarters(spec) == ["2025-Q4", "2026-Q1"]  # May ends inside Q2
    assert demo_fairness.demo_quarters(DemoSpec(claims=1, start=dt.date(2025, 12, 1), end=dt.date(2026, 11, 30))) == [
        "2026-Q2",
        "2026-Q3",
    ]
