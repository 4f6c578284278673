"""Audit accuracy is real: 1 − the stratified error rate of the random inspections submitted in the period,
with its interval on the dashboard card; coverage; the rectification rates (target 100 %)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.inspections import estimates
from claimwatch.inspections.models import InspectionDraw
from claimwatch.kpi import loader, queries, service, snapshot
from claimwatch.kpi.engine import Period, Scope
from claimwatch.rectification import service as rectification_service
from tests.apps import shared_app
from tests.factories import World
from tests.inspections.conftest import Bureau, standard_claims
from tests.inspections.test_estimates import login_page, score

CST = dt.timezone(dt.timedelta(hours=8))
NOV, DEC = Period.parse("2026-11"), Period.parse("2026-12")


def cst(month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=CST)


def rectifications(bureau: Bureau) -> None:
    """R1 done on time (plan in 5 days, accepted in 46); R2 left alone: both of its deadlines pass."""
    for source_id in (1, 2):
        with bureau.session() as session:
            found = rectification_service.open_rectification(
                session, bureau.tenant.id, source_kind="inspection_finding", source_id=source_id,
                source_label=f"F-{source_id}", source_url="/inspections/findings", title="材料告知不完整",
                severity="major", owner_org_unit_id=bureau.units["ACME-B1"], owner_user_id=bureau.qm.user_id,
                actor="user:acme.qm", at=cst(10, 5),
            )  # fmt: skip
            rectification_id = found.id
        if source_id == 1:
            steps = [
                (rectification_service.submit_plan, "整改方案", cst(10, 10)),
                (rectification_service.record_progress, "已培训", cst(10, 20)),
                (rectification_service.submit_for_acceptance, "请验收", cst(11, 1)),
                (rectification_service.accept, "通过", cst(11, 20)),
            ]
            for step, text, when in steps:
                with bureau.session() as session:
                    step(session, bureau.qm, rectification_id, text, at=when)


def test_audit_accuracy_coverage_and_rectification_kpis(world: World) -> None:
    bureau = Bureau(world)
    bureau.claims(standard_claims())
    plan_id = bureau.plan(code="STRAT", method="stratified", strata=["org"], size={"fixed": 7})
    draw_id = int(bureau.draw(plan_id, period="2026-11")["id"])
    score(bureau, draw_id, {"org=ACME-B1": 1, "org=ACME-SH": 1}, at=cst(12, 5))
    # A targeted draw: counted in the coverage, never in the accuracy (it looks where errors are expected).
    top = bureau.plan(code="TOP", method="targeted", size=None, target={"rule": "top_k", "k": 2, "score": "amount"})
    top_draw = int(bureau.draw(top)["id"])
    score(bureau, top_draw, {"": 2}, at=cst(12, 6))
    rectifications(bureau)
    snapshot.take_snapshot(now=cst(12, 20, 10))

    with bureau.session() as session:
        plan = estimates.plan_results(session, "STRAT")
        assert plan.current is not None
        expected = plan.current.estimate
        top_population = session.scalar(select(InspectionDraw.population_count).where(InspectionDraw.id == top_draw))
    acme = Scope(tenant_ids=(bureau.tenant.id,))
    kpis = loader.by_code()
    with service.opened() as snap:
        values = {(v.kpi, v.period): v.value for v in service.values(snap, acme, [NOV, DEC]).values}
        estimate = queries.accuracy_estimate(snap, acme, kpis["audit_accuracy"], DEC)
        interval = queries.accuracy_interval(snap, acme, kpis["audit_accuracy"], DEC)
        by_org = service.values(snap, acme, [DEC], ("org",), [kpis["audit_accuracy"]]).values
    assert expected.rate is not None and expected.low is not None and expected.high is not None
    # 7 drawn 3/2/2 from 8/6/4: 1 − Σ W_h p̂_h = 1 − (8/18 · 1/3 + 6/18 · 1/2), not the pooled 5/7; the targeted
    # draw left out.
    assert values[("audit_accuracy", "2026-12")] == pytest.approx(100 * (1 - expected.rate))
    assert values[("audit_accuracy", "2026-12")] == pytest.approx(100 * (1 - 8 / 18 / 3 - 6 / 18 / 2))
    assert estimate is not None and (estimate.low, estimate.high) == pytest.approx((expected.low, expected.high))
    assert interval == (f"{100 * (1 - expected.high):.1f}%", f"{100 * (1 - expected.low):.1f}%")
    assert values[("inspection_coverage", "2026-12")] == pytest.approx(100 * 9 / (18 + (top_population or 0)))
    # Per org unit: B1 had 1 error in its 3, SZ none in 2.
    per_unit = {v.key[0]: v.value for v in by_org}
    assert per_unit[str(bureau.units["ACME-B1"])] == pytest.approx(100 * 2 / 3)
    assert per_unit[str(bureau.units["ACME-B1-SZ"])] == pytest.approx(100.0)
    # Plans due 4 Nov: R1 on time, R2 overdue; acceptances due 4 Dec: R1 accepted on time, R2 overdue.
    assert values[("rectification_plan_on_time", "2026-11")] == pytest.approx(50.0)
    assert values[("rectification_acceptance_on_time", "2026-12")] == pytest.approx(50.0)
    assert values[("rectification_completion", "2026-12")] == pytest.approx(50.0)
    assert ("rectification_plan_on_time", "2026-12") not in values  # nothing due: no data, not 0 %

    # The dashboard card shows the estimate with its interval.
    client = TestClient(shared_app())
    page = login_page(client, "acme.qm", "/dashboard?period=2026-12")
    card = page.split('id="kpi-audit_accuracy"')[1].split("</article>")[0]
    assert f"{values[('audit_accuracy', '2026-12')]:.1f}%" in card
    assert 'class="kpi-interval"' in card and interval[0] in card and interval[1] in card
    assert "n = 7" in card  # the cases inspected, not the weighted count
