"""The demo's people, sales and underwriting (demo/people_policies.py) on a tiny demo: one insurer, last month's
claims, the sanctions step that makes a repeat offender's mandatory training.

What the issue's "Done means" asks of the demo: the agent without a valid licence is flagged and sampled by the
targeted plan; an underwriting case waits for manual review and another was decided with reasons that the
applicant is told; a revisit found a misled customer and opened a finding; the training coverage by org shows an
org below 100 % and the people still missing a mandatory course (one from a sanction); the licence expiring in 20
days was warned; the scorecards carry stars and managers' comments. A second run adds nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from claimwatch.audit import service as audit_service
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo import jobs as demo_jobs
from claimwatch.demo import people_policies as demo
from claimwatch.demo.generator import DemoSpec, default_window
from claimwatch.demo.organisation import DEMO_TENANTS
from claimwatch.inspections.models import Inspection, InspectionFinding
from claimwatch.notify.models import OutboxMessage
from claimwatch.people import training
from claimwatch.people.models import AppraisalScorecard, StaffLicence, StaffMember
from claimwatch.policies.models import PolicyRevisit, PolicySale, SaleFlag, UnderwritingCase
from claimwatch.sanctions import service as sanctions_service

# Every service the demo calls is tested on both databases by its own tests; this one checks the story.
pytestmark = pytest.mark.sqlite_only


def _repeat_offender(now: dt.datetime) -> None:
    """adjuster05's third violation within twelve months: a mandatory training (重点培训), as demo/sanctions.py."""
    with unit_of_work(TenantContext.for_tenant(1)) as session:
        user, offender = (auth_repository.user_by_username(session, f"picc.{n}") for n in ("inspector", "adjuster05"))
        assert user is not None and offender is not None
        inspector = auth_service.principal_for_user(user)
        for index, code in enumerate(("MATERIALS_NOTICE", "CLAIMANT_NOT_TOLD", "FILE_INCOMPLETE")):
            sanctions_service.propose(
                session, inspector, violation_code=code, user_id=offender.id, party=None,
                source_kind="quality_review", source_id=200 + index, source_label=f"日常抽查 第{index + 1}次",
                source_url="/sanctions", reason="日常抽查发现", at=now - dt.timedelta(days=90 - 40 * index),
            )  # fmt: skip


def test_the_demo_people_and_policies_story(database) -> None:
    spec = DemoSpec(claims=12, seed=3, start=default_window()[1].replace(day=1), tenants=DEMO_TENANTS[:1])
    demo_jobs.setup(spec)
    now = utc_now()
    _repeat_offender(now)
    loaded = demo.load(spec, now)
    assert not loaded.refused, loaded.refused

    with unit_of_work(TenantContext.for_tenant(1)) as session:
        staff = {s.code: s for s in session.scalars(select(StaffMember))}
        today = demo.local_today(session, 1, now)

        # The agent without a valid licence: his sales after the expiry are flagged and the targeted plan drew them.
        agent = staff["PICC-" + demo.UNLICENSED_AGENT]
        unlicensed = session.scalars(
            select(PolicySale.policy_number)
            .join(SaleFlag, SaleFlag.sale_id == PolicySale.id)
            .where(SaleFlag.rule == "unlicensed_agent")
        ).all()
        assert len(unlicensed) == 3
        assert {s.agent_id for s in session.scalars(select(PolicySale).where(PolicySale.flag_count > 0))} >= {agent.id}
        assert sorted(loaded.unlicensed_sampled) == sorted(unlicensed)
        sampled = session.scalar(
            select(func.count())
            .select_from(Inspection)
            .join(PolicySale, PolicySale.id == Inspection.subject_id)
            .where(Inspection.subject_kind == "sale", PolicySale.policy_number.in_(unlicensed))
        )
        assert sampled == 3

        # The licence expiring in 20 days was warned (once); the bank agent's cooling-off rate flagged.
        warned = session.scalars(select(StaffLicence).where(StaffLicence.warned_at.is_not(None))).all()
        assert [staff_code(staff, w.staff_id) for w in warned] == ["PICC-" + demo.EXPIRING_AGENT]
        assert loaded.flags.get("cooling_off_rate") == 1 and loaded.flags.get("missing_disclosure") == 1

        # The misled customer: a finding on the sale, the sale flagged revisit_misled.
        misled = session.scalars(select(PolicyRevisit).where(PolicyRevisit.outcome == "misled")).one()
        finding = session.get(InspectionFinding, misled.finding_id)
        assert finding is not None and finding.severity == "major"
        assert session.scalar(select(SaleFlag.finding_id).where(SaleFlag.rule == "revisit_misled")) == finding.id
        by_outcome = select(PolicyRevisit.outcome, func.count()).group_by(PolicyRevisit.outcome)
        outcomes = {outcome: count for outcome, count in session.execute(by_outcome)}
        assert outcomes.get("understood", 0) >= 1 and outcomes.get("unreachable") == 1

        # Underwriting: one high-risk case waits for manual review; two were decided with reasons, applicants told.
        waiting = session.scalars(select(UnderwritingCase).where(UnderwritingCase.status == "in_review")).all()
        assert [c.risk_level for c in waiting] == ["high"] and waiting[0].reviewer_id is not None
        decided = session.scalars(select(UnderwritingCase).where(UnderwritingCase.status == "decided")).all()
        assert sorted(str(c.outcome) for c in decided) == ["decline", "exclusion"]
        assert all(c.outcome_reason and c.review_reasons and c.notice_message_id for c in decided)
        assert (session.scalar(select(func.count()).select_from(OutboxMessage)) or 0) >= len(decided)

        # Training: the second branch below 100 %, the people missing a mandatory course named (one by a sanction).
        rows = {row.code: row for row in training.coverage_by_org(session, 1, today)}
        assert rows["PICC-JS"].coverage is not None and rows["PICC-JS"].coverage < 100
        assert rows["PICC-GD"].coverage == 100
        missing = {(p.code, r.source, r.state) for p in training.requirements(session, 1, today) for r in p.missing}
        assert ("PICC-E08", "rule", "overdue") in missing  # hired 45 days ago, no induction
        assert ("PICC-" + demo.UNLICENSED_AGENT, "rule", "overdue") in missing  # yearly compliance lapsed
        assert any(code == "PICC-E05" and source == "sanction" for code, source, _ in missing)

        # Appraisal: three months of scorecards, stars, managers' comments.
        cards = session.scalars(select(AppraisalScorecard)).all()
        assert len({c.month for c in cards}) == 3 and any(c.stars == 5 for c in cards)
        assert sum(c.manager_comment is not None for c in cards) == loaded.comments == 4
        assert audit_service.verify(session, 1).ok

    again = demo.load(spec, utc_now())
    assert again.staff == 0 and again.sales == 0


def staff_code(staff: dict[str, StaffMember], staff_id: int) -> str:
    return next(code for code, s in staff.items() if s.id == staff_id)
