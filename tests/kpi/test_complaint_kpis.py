"""Complaint and survey KPIs from the snapshot equal a hand count: rates per 10 000 claims / policies and per
100 M CNY premium, on-time decisions, first-contact resolution, repeats, disputes, satisfaction by dimension
and the survey response rate — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from claimwatch.cases.models import Claim
from claimwatch.complaints.models import Complaint, ComplaintClock, TenantVolume
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import service
from claimwatch.kpi.engine import Period, Scope
from claimwatch.surveys.models import Survey, SurveyResponse
from tests.kpi.conftest import KpiWorld, take
from tests.kpi.helpers import local

NOV = Period.parse("2026-11")


def _complaint(tenant_id: int, number: str, received: dt.datetime, **fields) -> Complaint:  # type: ignore[no-untyped-def]
    values = {
        "tenant_id": tenant_id,
        "number": number,
        "channel": "hotline",
        "received_at": received,
        "category": "claims",
        "subject": "理赔拖延",
        "description": "理赔款迟迟未到账",
        "status": "received",
        "created_by": "user:test",
    } | fields
    return Complaint(**values)


def _decision_clock(complaint: Complaint, breached_at: dt.datetime | None) -> ComplaintClock:
    started = complaint.received_at
    return ComplaintClock(
        tenant_id=complaint.tenant_id,
        complaint_id=complaint.id,
        policy_code="complaint_decision",
        cycle=1,
        unit="calendar_days",
        yellow_budget=15 * 86400.0,
        red_budget=20 * 86400.0,
        extended=0.0,
        consumed=86400.0,
        state="stopped",
        light="yellow" if breached_at else "green",
        outcome="breached" if breached_at else "met",
        started_at=started,
        anchor_at=started,
        stopped_at=complaint.decided_at,
        breached_at=breached_at,
        escalated=0,
        updated_at=started,
    )


def _survey(tenant_id: int, claim: Claim, key: str, status: str, responded: dt.datetime | None) -> Survey:
    return Survey(
        tenant_id=tenant_id,
        subject_key=key,
        subject_type="claim",
        claim_id=claim.id,
        reference=claim.number,
        org_unit_id=claim.org_unit_id,
        region_code=claim.region_code,
        line=claim.line,
        token_hash=key.ljust(64, "0")[:64],
        status=status,
        closed_at=local(2026, 11, 3, 8),
        sent_at=local(2026, 11, 3, 10),
        expires_at=local(2026, 12, 3, 10),
        responded_at=responded,
    )


@pytest.fixture
def complaints_world(kpi_world: KpiWorld) -> KpiWorld:
    """ACME, November: C1 on claim K2 decided on time at first contact; C2 (no claim) decided late; C3 repeats
    C2, open. Volumes 20 000 policies and 5 亿元 premium. Surveys: K1 answered, K2 unanswered, K4 unreachable.
    BBB: one complaint ACME never counts."""
    acme = kpi_world.acme.id
    with unit_of_work(TenantContext.for_tenant(acme)) as session:
        claims = {c.number: c for c in session.execute(select(Claim)).scalars()}
        c1 = _complaint(
            acme,
            "TS1",
            local(2026, 11, 3, 9),
            claim_id=claims["K2"].id,
            org_unit_id=claims["K2"].org_unit_id,
            region_code=claims["K2"].region_code,
            line=claims["K2"].line,
            status="closed",
            decided_at=local(2026, 11, 4, 9),
            first_contact_resolved=True,
        )
        c2 = _complaint(
            acme,
            "TS2",
            local(2026, 11, 3, 10),
            customer_key="k" * 64,
            status="decided",
            decided_at=local(2026, 11, 4, 10),
            first_contact_resolved=False,
        )
        session.add_all([c1, c2])
        session.flush()
        c3 = _complaint(acme, "TS3", local(2026, 11, 4, 11), customer_key="k" * 64, repeat_of_id=c2.id)
        session.add(c3)
        session.add_all([_decision_clock(c1, None), _decision_clock(c2, local(2026, 11, 4, 9))])
        session.add(
            TenantVolume(
                tenant_id=acme,
                period="2026-11",
                policies_in_force=20_000,
                premium_fen=500_000_000 * 100,
                updated_by="user:test",
            )
        )
        answered = _survey(acme, claims["K1"], "s-k1", "responded", local(2026, 11, 4, 12))
        session.add_all(
            [
                answered,
                _survey(acme, claims["K2"], "s-k2", "sent", None),
                _survey(acme, claims["K4"], "s-k4", "unreachable", None),
            ]
        )
        session.flush()
        session.add(
            SurveyResponse(
                tenant_id=acme,
                survey_id=answered.id,
                overall=9,
                timeliness=7,
                transparency=8,
                attitude=10,
                submitted_at=local(2026, 11, 4, 12),
            )
        )
    with unit_of_work(TenantContext.for_tenant(kpi_world.bbb.id)) as session:
        session.add(_complaint(kpi_world.bbb.id, "TS1", local(2026, 11, 3, 9)))
    return kpi_world


def test_complaint_and_survey_kpis_equal_a_hand_count(complaints_world: KpiWorld):
    info = take()
    assert info.rows["complaints"] == 4 and info.rows["surveys"] == 3 and info.rows["volumes"] == 1
    with service.opened() as snap:
        result = service.values(snap, Scope(tenant_ids=(complaints_world.acme.id,)), [NOV], ())
    values = {v.kpi: v.value for v in result.values if v.period == "2026-11"}
    assert values["complaints_received"] == 3
    assert values["complaints_per_10k_claims"] == pytest.approx(3 / 5 * 10_000)  # K1..K5 reported in November
    assert values["complaints_per_10k_policies"] == pytest.approx(3 / 20_000 * 10_000)
    assert values["complaints_per_100m_premium"] == pytest.approx(3 / 5)
    assert values["complaint_on_time_rate"] == pytest.approx(50.0)  # C1 of C1, C2
    assert values["complaint_first_contact_resolution"] == pytest.approx(50.0)
    assert values["repeat_complaint_rate"] == pytest.approx(100 / 3)
    assert values["dispute_rate"] == pytest.approx(20.0)  # K2 of K1..K5
    assert values["satisfaction"] == pytest.approx(9.0)
    assert values["timeliness_score"] == pytest.approx(7.0)
    assert values["transparency_score"] == pytest.approx(8.0)
    assert values["attitude_score"] == pytest.approx(10.0)
    assert values["survey_response_rate"] == pytest.approx(50.0)  # K1 of K1, K2; K4 unreachable


def test_complaint_rates_drill_down_by_org_and_without_volumes(complaints_world: KpiWorld):
    take()
    with service.opened() as snap:
        by_org = service.values(snap, Scope(tenant_ids=(complaints_world.acme.id,)), [NOV], ("org",))
        bbb = service.values(snap, Scope(tenant_ids=(complaints_world.bbb.id,)), [NOV], ())
    received = {v.key: v.value for v in by_org.values if v.kpi == "complaints_received"}
    branch = next(key for key in received if key != ("",))
    assert received[branch] == 1 and received[("",)] == 2  # C1 in K2's branch; C2, C3 in no org unit
    bbb_values = {v.kpi: v.value for v in bbb.values}
    assert bbb_values["complaints_received"] == 1
    assert bbb_values.get("complaints_per_10k_policies") is None  # BBB reported no volumes: no data, never 0
    assert bbb_values.get("complaints_per_100m_premium") is None
