"""The monthly appraisal on both databases: the metrics from the platform's own data (SLA clocks, inspections,
complaints, surveys, violations of the month), score, peer percentile and stars, recomputing that keeps the
manager's comment, the audit chain, who may see and comment a scorecard (API: the person, their manager, the
quality department; another handler 403; another insurer 404), the scheme versions and the command."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from claimwatch.audit.models import AuditEntry
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.cli import operator
from claimwatch.auth.models import Role
from claimwatch.auth.principal import AccessDenied, Principal
from claimwatch.cases.models import Claim
from claimwatch.complaints.models import Complaint
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Forbidden, Invalid, NotFound
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionPlan
from claimwatch.people import appraisal, appraisal_jobs, appraisal_queries
from claimwatch.people import service as people_service
from claimwatch.people.cli import app as people_cli
from claimwatch.people.models import AppraisalScheme, AppraisalScorecard
from claimwatch.people.schemas import StaffIn
from claimwatch.sanctions.models import Violation
from claimwatch.sla.models import SlaClock
from claimwatch.surveys.models import Survey, SurveyResponse
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.snapshots import Snapshot
from tests.web.conftest import sign_in

NOV = dt.date(2026, 11, 1)
MID = dt.datetime(2026, 11, 10, 3, 0, tzinfo=dt.UTC)
OCT = dt.datetime(2026, 10, 10, 3, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class AppraisalWorld:
    acme: TenantHandle
    bbb: TenantHandle
    users: dict[str, int]
    qm_key: str  # the quality department's API key (sees every scorecard; no account needed)

    def principal(self, username: str) -> Principal:
        with unit_of_work(TenantContext.system_reader()) as session:
            user = auth_repository.user_by_username(session, username)
            assert user is not None
            return auth_service.principal_for_user(user, session)


def _claim(session: Any, tenant_id: int, number: str, assignee: int, closed: dt.datetime | None = None) -> Claim:
    claim = Claim(
        tenant_id=tenant_id, number=number, line="motor", policy_number=f"P-{number}", claimant_name="张*",
        status="closed" if closed else "investigation", assignee_id=assignee, reported_at=OCT,
        status_changed_at=OCT, closed_at=closed,
    )  # fmt: skip
    session.add(claim)
    session.flush()
    return claim


def _clock(session: Any, tenant_id: int, claim: Claim, outcome: str, stopped: dt.datetime) -> None:
    session.add(
        SlaClock(
            tenant_id=tenant_id,
            claim_id=claim.id,
            policy_code="T",
            unit="hours",
            yellow_budget=1,
            red_budget=2,
            state="stopped",
            outcome=outcome,
            started_at=OCT,
            anchor_at=OCT,
            stopped_at=stopped,
        )  # fmt: skip
    )


def build(world: World) -> AppraisalWorld:
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    names = {
        "li.adjuster": Role.ADJUSTER,
        "wang.adjuster": Role.ADJUSTER,
        "chen.sup": Role.SUPERVISOR,
        "qian.qm": Role.QUALITY_MANAGER,
    }
    for name, role in names.items():
        world.user(name, role, acme)
    world.user("zhao.qm", Role.QUALITY_MANAGER, bbb)
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        users = {n: auth_repository.user_by_username(session, n).id for n in names}  # type: ignore[union-attr]
        admin = operator(acme.id, "test")
        staff = [
            ("H1", "李理赔", "employee", "li.adjuster", "chen.sup"),
            ("H2", "王理赔", "employee", "wang.adjuster", None),
            ("H3", "赵理赔", "employee", None, None),
            ("AG1", "孙代理", "agent", None, "chen.sup"),
        ]
        for code, name, kind, username, manager in staff:
            people_service.create_staff(
                session, admin,
                StaffIn(code=code, name=name, kind=kind, job_title="理赔员" if kind == "employee" else "代理人",
                        username=username, manager=manager, hired_on=dt.date(2025, 1, 1)),
            )  # fmt: skip
        tid, li, wang = acme.id, users["li.adjuster"], users["wang.adjuster"]
        # Li: four clocks stopped in November (3 met), one in October (not counted); 5 claims open in November.
        claims = [_claim(session, tid, f"C-{i}", li) for i in range(4)]
        claims.append(_claim(session, tid, "C-OLD", li, closed=OCT))  # closed before November: not handled then
        for claim, outcome in zip(claims[:4], ("met", "met", "met", "breached"), strict=True):
            _clock(session, tid, claim, outcome, MID)
        _clock(session, tid, claims[4], "breached", OCT)
        # Wang: three clocks, all met; three claims.
        for i in range(3):
            _clock(session, tid, _claim(session, tid, f"W-{i}", wang), "met", MID)
        plan = InspectionPlan(tenant_id=tid, code="P1", name="p", subject_kind="claim", scorecard_code="s",
                              definition="{}", created_by="t")  # fmt: skip
        session.add(plan)
        session.flush()
        draw = InspectionDraw(tenant_id=tid, plan_id=plan.id, period="2026-11", seed=1, population_count=3,
                              sample_count=3, strata="[]", parameters="{}", drawn_by="t")  # fmt: skip
        session.add(draw)
        session.flush()
        for i, (handler, score, at) in enumerate(
            [(li, 80.0, MID), (li, 90.0, MID), (li, 10.0, OCT), (wang, 100.0, MID)]
        ):
            session.add(
                Inspection(tenant_id=tid, plan_id=plan.id, draw_id=draw.id, subject_kind="claim", subject_id=i + 1,
                           stratum="", handler_id=handler, scorecard_code="s", status="submitted", score=score,
                           submitted_at=at)
            )  # fmt: skip
        session.add(
            Complaint(tenant_id=tid, number="TS-1", channel="phone", received_at=MID, claim_id=claims[0].id,
                      category="claims", subject="慢", description="慢", status="accepted", created_by="t")
        )  # fmt: skip
        survey = Survey(tenant_id=tid, subject_key="k", subject_type="claim", claim_id=claims[1].id, reference="C-1",
                        handler_id=li, token_hash="x" * 64, status="responded", closed_at=OCT, sent_at=OCT,
                        expires_at=MID)  # fmt: skip
        session.add(survey)
        session.flush()
        session.add(SurveyResponse(tenant_id=tid, survey_id=survey.id, overall=9, submitted_at=MID))
        for number, user, party in (("V-1", li, "li.adjuster"), ("V-2", None, "ag1")):
            session.add(
                Violation(tenant_id=tid, number=number, code="X", severity="minor", user_id=user,
                          party_kind="staff" if user else "agent", party=party, party_key=party,
                          source_kind="manual", source_id=1, source_label="x", source_url="/x", occurred_at=MID,
                          recorded_by="t")
            )  # fmt: skip
    return AppraisalWorld(acme, bbb, users, world.api_key(acme, Role.QUALITY_MANAGER))


def computed_world(world: World) -> AppraisalWorld:
    """The world with November computed (the page and browser tests)."""
    found = build(world)
    with unit_of_work(TenantContext.for_tenant(found.acme.id)) as session:
        appraisal.compute_month(session, found.acme.id, NOV, None)
    return found


@pytest.fixture
def aw(world: World, db_snapshot: Snapshot) -> AppraisalWorld:
    return db_snapshot("people.appraisal", lambda: build(world))


def _cards(tenant_id: int) -> dict[str, AppraisalScorecard]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        rows = session.execute(
            select(AppraisalScorecard, people_service.StaffMember)
            .join(people_service.StaffMember, people_service.StaffMember.id == AppraisalScorecard.staff_id)
            .where(AppraisalScorecard.month == NOV)
        )
        found = {staff.code: card for card, staff in rows}
        session.expunge_all()
    return found


def _metrics(card: AppraisalScorecard) -> dict[str, dict[str, Any]]:
    return {str(m["code"]): m for m in card.metrics}


def test_compute_month_comment_and_visibility(aw: AppraisalWorld) -> None:
    tid = aw.acme.id
    with unit_of_work(TenantContext.for_tenant(tid)) as session, pytest.raises(AccessDenied):
        appraisal.compute_month(session, tid, NOV, aw.principal("chen.sup"))
    with unit_of_work(TenantContext.for_tenant(tid)) as session:
        result = appraisal.compute_month(session, tid, NOV, aw.principal("qian.qm"))
    assert (result.cards, result.scheme_version) == (4, "2026.11-1")
    cards = _cards(tid)
    li = _metrics(cards["H1"])
    assert (li["sla_on_time"]["value"], li["sla_on_time"]["volume"]) == (75.0, 4)
    assert (li["inspection_score"]["value"], li["inspection_score"]["volume"]) == (85.0, 2)
    assert (li["complaints_per_100"]["value"], li["complaints_per_100"]["volume"]) == (25.0, 4)
    assert li["complaints_per_100"]["reason"] == "low_volume"  # 4 claims < min_volume 5
    assert (li["survey_score"]["value"], li["violations"]["value"]) == (90.0, 1.0)
    wang = _metrics(cards["H2"])
    assert wang["sla_on_time"]["value"] == 100.0 and wang["survey_score"]["reason"] == "no_data"
    assert cards["H2"].score is not None and cards["H1"].score is not None
    assert cards["H2"].score > cards["H1"].score
    assert (cards["H1"].peer_percentile, cards["H2"].peer_percentile) == (25.0, 75.0)  # H3 (no account) unscored
    assert cards["H3"].score is None and cards["H3"].stars == 0
    assert cards["H2"].stars == appraisal.schemes.parsed(appraisal.schemes.default_text()).stars_for(cards["H2"].score)
    assert _metrics(cards["AG1"])["violations"]["value"] == 1.0  # by the agent's code

    # The supervisor comments on their handler; recomputing keeps it; the handler may not comment.
    with unit_of_work(TenantContext.for_tenant(tid)) as session:
        appraisal.comment(session, aw.principal("chen.sup"), cards["H1"].id, "  及时率需提升  ")
    with unit_of_work(TenantContext.for_tenant(tid)) as session:
        with pytest.raises(Forbidden):  # not a person the supervisor manages
            appraisal.comment(session, aw.principal("chen.sup"), cards["H2"].id, "x")
        with pytest.raises(AccessDenied):
            appraisal.comment(session, aw.principal("wang.adjuster"), cards["H1"].id, "x")
        with pytest.raises(Invalid) as empty:
            appraisal.comment(session, aw.principal("qian.qm"), cards["H1"].id, "   ")
        assert empty.value.field == "comment"
    with unit_of_work(TenantContext.for_tenant(tid)) as session:
        appraisal.compute_month(session, tid, NOV, None)
    again = _cards(tid)["H1"]
    assert (again.manager_comment, again.commented_by, again.id) == ("及时率需提升", "user:chen.sup", cards["H1"].id)
    with unit_of_work(TenantContext.for_tenant(tid)) as session:
        kinds = [
            e.kind
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.kind.like("%appraisal%")).order_by(AuditEntry.seq)
            )
        ]
        assert kinds.count("people.appraisal_computed") == 2 and "people.appraisal_comment" in kinds
        assert kinds.count("config.appraisal_scheme") == 1  # the default loaded once, at the first computation
        # Who may see what.
        assert appraisal.viewable_staff(session, aw.principal("qian.qm")) is None
        h1, h2 = cards["H1"].staff_id, cards["H2"].staff_id
        assert appraisal.viewable_staff(session, aw.principal("li.adjuster")) == {h1}
        assert h1 in (appraisal.viewable_staff(session, aw.principal("chen.sup")) or set())
        summary = appraisal.person_summary(session, aw.principal("li.adjuster"), h1)
        assert summary is not None and summary["comment"] == "及时率需提升"
        assert appraisal.person_summary(session, aw.principal("wang.adjuster"), h1) is None
        assert appraisal.person_summary(session, aw.principal("wang.adjuster"), h2) is not None

    # The API: the person, the quality department; another handler 403; another insurer 404 (service level).
    api = TestClient(shared_app())  # one client (its first request is the slow one); sign in as each in turn

    def client(username: str) -> TestClient:
        api.cookies.clear()
        sign_in(api, username)
        return api

    mine = client("li.adjuster").get("/api/v1/me/appraisal").json()
    assert mine["staff_code"] == "H1" and mine["card"]["manager_comment"] == "及时率需提升"
    assert len(mine["trend"]["months"]) == 12 and mine["trend"]["score"][-1] == cards["H1"].score
    wang = client("wang.adjuster")
    assert wang.get("/api/v1/people/appraisals/H1").status_code == 403
    assert wang.get("/api/v1/people/appraisals?month=2026-11").status_code == 403
    assert wang.get("/api/v1/people/appraisals/NOBODY").status_code == 404
    api.cookies.clear()
    api.headers["X-API-Key"] = aw.qm_key
    qm = api
    employees = qm.get("/api/v1/people/appraisals?month=2026-11&kind=employee").json()["rows"]
    assert {r["staff_code"] for r in employees} == {
        "H1", "H2", "H3"
    }  # fmt: skip
    bad = qm.post("/api/v1/people/appraisal-scheme", json={"content": appraisal.schemes.default_text().replace(
        "weight: 30\n        direction: higher", "weight: 35\n        direction: higher", 1)})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "metrics"
    assert qm.post("/api/v1/people/appraisals/compute", json={"month": "2026-11"}).json()["cards"] == 4
    with unit_of_work(TenantContext.for_tenant(aw.bbb.id)) as session:
        with pytest.raises(NotFound):
            appraisal.staff_for_view(session, aw.principal("zhao.qm"), "H1")
    with unit_of_work(TenantContext.for_tenant(tid)) as session:
        sup = aw.principal("chen.sup")
        assert appraisal.staff_for_view(session, sup, "H1").code == "H1"
        with pytest.raises(Forbidden):
            appraisal.staff_for_view(session, sup, "H2")
        listed = appraisal_queries.month_list(
            session, tid, NOV, appraisal.viewable_staff(session, sup), appraisal_queries.Filters(), "zh"
        )
        assert {r["staff_code"] for r in listed["rows"]} == {"H1", "AG1"}
        assert sum(listed["distribution"]) == 1  # H1 scored; the agent has no sales source here (or no score)


def test_scheme_versions_command_and_monthly_pass(aw: AppraisalWorld) -> None:
    tid = aw.acme.id
    text = appraisal.schemes.default_text().replace('version: "2026.11-1"', 'version: "mine"')
    with unit_of_work(TenantContext.for_tenant(tid)) as session:
        with pytest.raises(AccessDenied):
            appraisal.load_scheme(session, aw.principal("chen.sup"), tid, text)
        row = appraisal.load_scheme(session, aw.principal("qian.qm"), tid, text, "mine.yaml")
        assert row.audit_seq is not None
    with unit_of_work(TenantContext.for_tenant(tid)) as session:
        assert [r.version for r in session.scalars(select(AppraisalScheme))] == ["mine"]
    runner = CliRunner()
    done = runner.invoke(people_cli, ["appraise", "--month", "2026-11", "--tenant", "ACME"])
    assert done.exit_code == 0, done.output
    assert "4 scorecards" in done.output and "mine" in done.output and "H1" in done.output
    bad = runner.invoke(people_cli, ["appraise", "--month", "2026-13", "--tenant", "ACME"])
    assert bad.exit_code != 0 and "month" in bad.output
    # The worker's pass: December's run computes November for ACME only if not done (it is), nothing for BBB.
    run = appraisal_jobs.run_monthly(dt.datetime(2026, 12, 2, 1, tzinfo=dt.UTC))
    assert run.computed == {}
    run = appraisal_jobs.run_monthly(dt.datetime(2027, 1, 2, 1, tzinfo=dt.UTC))
    assert run.computed == {"ACME": "2026-12"} and run.cards == 4
