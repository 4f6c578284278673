"""Review (复核): a share of submitted inspections, drawn reproducibly from the draw's seed, goes to a second
inspector (never the first, never a handler), who scores the same card; differing items are recorded."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict, Forbidden, Invalid
from claimwatch.inspections import scoring
from claimwatch.inspections.models import InspectionReview
from claimwatch.inspections.scoring import Entry
from tests.inspections.results_world import HANDLER, INSPECTOR, MANAGER, PAID_ALL_PASS, SECOND, build


def test_review_draw_is_deterministic_and_near_its_share() -> None:
    drawn = [scoring.review_drawn(7, inspection_id, 0.1) for inspection_id in range(1, 4001)]
    assert drawn == [scoring.review_drawn(7, i, 0.1) for i in range(1, 4001)]
    assert 320 <= sum(drawn) <= 480  # 10 % of 4000, well within sampling noise
    assert drawn != [scoring.review_drawn(8, i, 0.1) for i in range(1, 4001)]
    assert not any(scoring.review_drawn(7, i, 0.0) for i in range(1, 200))


def test_review_goes_to_another_inspector_and_records_disagreements(world) -> None:
    w = build(world, review_share=1.0)
    inspection_id = w.inspections["M-PAID"]
    first = {code: Entry(*value) for code, value in PAID_ALL_PASS.items()}
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        scoring.submit(session, w.principal(INSPECTOR), inspection_id, first)
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        review = session.scalars(select(InspectionReview)).one()
        # The only eligible reviewer: not the first inspector, not the handler (an adjuster anyway).
        assert review.reviewer_id == w.users[SECOND] and review.status == "assigned" and review.due_at is not None

    second = dict(first) | {"payment_computed": Entry("fail", "残值未扣减")}
    with pytest.raises(Forbidden) as refused, unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        scoring.submit_review(session, w.principal(INSPECTOR), inspection_id, second)
    assert refused.value.field == "reviewer"
    with pytest.raises(Invalid) as bad, unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        scoring.submit_review(session, w.principal(SECOND), inspection_id, second | {"extra": Entry("pass")})
    assert bad.value.field == "items.extra"
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        done = scoring.submit_review(session, w.principal(SECOND), inspection_id, second, comment="复核")
        assert done.agreed is False and done.status == "submitted"
        assert scoring.disagreements(done) == [{"item": "payment_computed", "first": "pass", "review": "fail"}]
        assert scoring.get(session, inspection_id).status == "reviewed"
        assert scoring.results(session, inspection_id, "review")["payment_computed"].outcome == "fail"
        assert scoring.results(session, inspection_id, "first")["payment_computed"].outcome == "pass"
    with pytest.raises(Conflict), unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        scoring.submit_review(session, w.principal(SECOND), inspection_id, second)
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        payloads = [
            json.loads(p or "{}")
            for p in session.scalars(
                select(AuditEntry.payload).where(AuditEntry.kind == "inspection.reviewed").order_by(AuditEntry.seq)
            )
        ]
    assert payloads[0]["agreed"] is False and payloads[0]["disagreements"][0]["item"] == "payment_computed"

    # A manager may give another submitted inspection for review; never to its inspector or its handler.
    rejected = w.inspections["M-REJ"]
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        scoring.submit(
            session,
            w.principal(INSPECTOR),
            rejected,
            first
            | {"payment_computed": Entry("na"), "payment_on_time": Entry("na"), "rejection_reasons": Entry("pass")},
        )
    manager = w.principal(MANAGER, Role.QUALITY_MANAGER)
    for name in (INSPECTOR, HANDLER, "nobody"):
        with pytest.raises(Invalid) as wrong, unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
            scoring.assign_review(session, manager, rejected, name)
        assert wrong.value.field == "reviewer"


def test_demo_scores_every_assigned_case_and_does_the_reviews(world) -> None:
    from claimwatch.db import utc_now
    from claimwatch.demo import inspection_results

    w = build(world, review_share=1.0)
    loaded = inspection_results.load(w.tenant.id, utc_now())
    assert (loaded.submitted, loaded.reviews, loaded.skipped) == (3, 3, [])
    with unit_of_work(TenantContext.for_tenant(w.tenant.id)) as session:
        assert {scoring.get(session, i).status for i in w.inspections.values()} == {"reviewed"}
