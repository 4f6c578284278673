"""Sales as inspection subjects (both databases): a targeted plan with ``subject_kind: sale`` and ``flagged:
true`` draws the unlicensed agent's sale (and the other flagged ones), never the clean one; filters are checked by
key; what the inspector sees is masked; the agent who is a platform user handled their sales. Underwriting cases
are a subject kind too (their filters are checked)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Invalid
from claimwatch.inspections import service as inspections_service
from claimwatch.inspections.models import Inspection
from claimwatch.inspections.schemas import PlanDefinition
from claimwatch.policies.models import PolicySale
from claimwatch.subjects import registry
from tests.factories import World
from tests.policies.sales_world import SalesWorld, admin, build
from tests.snapshots import Snapshot


@pytest.fixture
def sw(world: World, db_snapshot: Snapshot) -> SalesWorld:
    return db_snapshot("policies.sales", lambda: build(world))


def test_a_flagged_sales_plan_draws_the_unlicensed_agents_sale(sw: SalesWorld):
    kind = registry.get("sale")
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        numbers = dict(session.execute(select(PolicySale.id, PolicySale.policy_number)).all())
        definition = PlanDefinition.model_validate(
            {"code": "SALES-FLAGGED", "name": "销售质量专项", "subject_kind": "sale", "scorecard": "sale",
             "population": {"flagged": True, "period": "2026-11"}, "method": "targeted",
             "target": {"rule": "top_k", "k": 2, "score": "flags"}, "exclude_own_unit": False}
        )  # fmt: skip
        plan = inspections_service.create_plan(session, admin(sw.acme.id), definition)
        inspections_service.draw_sample(session, admin(sw.acme.id), plan.id, now=utc_now())
        drawn = set(session.execute(select(Inspection.subject_id).where(Inspection.plan_id == plan.id)).scalars())
        assert {numbers[i] for i in drawn} <= {"P-UNLIC", "P-BANK", "P-NODISC"} and len(drawn) == 2
        rule_only = kind.population(session, sw.acme.id, {"rule": "unlicensed_agent"}, utc_now())
        assert [numbers[row.subject_id] for row in session.execute(rule_only)] == ["P-UNLIC"]
        by_agent = kind.population(session, sw.acme.id, {"agent": "A-USER"}, utc_now())
        rows = session.execute(by_agent).all()
        assert [numbers[r.subject_id] for r in rows] == ["P-BANK"] and rows[0].handler_id is not None
        bank = next(i for i, n in numbers.items() if n == "P-BANK")
        assert kind.handled_by(session, sw.acme.id, [bank])[bank] == {rows[0].handler_id}
        summary = kind.describe(session, sw.acme.id, [bank])[bank]
        assert "李**" in summary.title and "110101" not in summary.title and summary.url == "/sales/P-BANK"
        for filters, field in (({"colour": "red"}, "population.colour"), ({"agent": "NOBODY"}, "population.agent"),
                               ({"rule": "boats"}, "population.rule")):  # fmt: skip
            with pytest.raises(Invalid) as refused:
                kind.population(session, sw.acme.id, filters, utc_now())
            assert refused.value.field == field
        underwriting = registry.get("underwriting")
        found = session.execute(underwriting.population(session, sw.acme.id, {"status": "in_review"}, utc_now()))
        assert found.all() == []
        with pytest.raises(Invalid):
            underwriting.population(session, sw.acme.id, {"risk_level": "extreme"}, dt.datetime.now(dt.UTC))
