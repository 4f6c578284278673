"""Sampling plans and draws through the service: methods, sizes, reproducibility, the audit record, and bad
plans refused naming the field with nothing written."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from claimwatch.audit.models import AuditEntry
from claimwatch.errors import Problem
from claimwatch.inspections import draw as sampler
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionPlan
from claimwatch.inspections.schemas import PlanDefinition, error_field
from tests.inspections.conftest import NOW, Bureau


def _counts(bureau: Bureau) -> tuple[int, int, int]:
    with bureau.session() as session:
        return tuple(  # type: ignore[return-value]
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (InspectionPlan, InspectionDraw, Inspection)
        )


def test_simple_draw_is_reproducible_from_its_seed_and_audited(bureau: Bureau) -> None:
    plan_id = bureau.plan()
    first = bureau.draw(plan_id, seed=20261203)
    assert first["population"] == 18  # the motor claims reported in November
    assert len(first["subjects"]) == 4 and first["period"] == "adhoc-1"
    assert all(i["due_at"] == NOW + dt.timedelta(days=10) for i in first["inspections"])
    # The same seed over the unchanged population: the same sample. Another seed: (here) another one.
    again = bureau.draw(plan_id, seed=20261203)
    assert again["subjects"] == first["subjects"] and again["period"] == "adhoc-2"
    other = bureau.draw(plan_id, seed=7)
    assert other["subjects"] != first["subjects"]
    # The definition of the draw (h6): the smallest seeded-rotated sample keys of the population.
    with bureau.session() as session:
        keys = dict(
            session.execute(select(Inspection.subject_id, Inspection.id).where(Inspection.draw_id == first["id"])).all()
        )
        from claimwatch.cases.models import Claim

        population = session.execute(select(Claim.id, Claim.sample_key).where(Claim.line == "motor")).all()
        expected = sorted(population, key=lambda r: (sampler.rotated_key(r[1], 20261203), r[0]))[:4]
        assert set(keys) == {claim_id for claim_id, _ in expected}
        entry = session.execute(select(AuditEntry).where(AuditEntry.seq == first["audit_seq"])).scalar_one()
    payload = json.loads(entry.payload or "{}")
    assert entry.kind == "inspection.draw"
    assert payload["seed"] == "20261203" and payload["population"] == 18 and payload["sample"] == 4
    assert payload["strata"] == [{"key": "", "population": 18, "sample": 4, "rate_prior": None, "prior_source": None}]
    assert len(payload["sample_digest"]) == 64


def test_stratified_proportional_and_neyman(bureau: Bureau) -> None:
    plan_id = bureau.plan(method="stratified", strata=["org"], size={"fixed": 9})
    found = bureau.draw(plan_id, seed=1)
    strata = {s["key"]: (s["population"], s["sample"]) for s in json.loads(found["strata"])}
    assert strata == {"org=ACME-B1": (8, 4), "org=ACME-SH": (6, 3), "org=ACME-B1-SZ": (4, 2)}
    assert {i["stratum"] for i in found["inspections"]} == set(strata)
    for row in found["inspections"]:
        assert row["stratum"] == f"org={[c for c, i in bureau.units.items() if i == row['org_unit_id']][0]}"
    # Neyman: with no history the expected rate is every stratum's prior (so proportional here); earlier
    # results of the plan in a stratum move its prior.
    neyman = bureau.plan(code="P2", method="stratified", strata=["org"], allocation="neyman", size={"fixed": 9})
    first = bureau.draw(neyman, seed=1)
    priors = {s["key"]: (s["rate_prior"], s["prior_source"]) for s in json.loads(first["strata"])}
    assert priors["org=ACME-B1"] == (0.05, "expected")
    with bureau.session() as session:
        rows = session.execute(select(Inspection).where(Inspection.draw_id == first["id"])).scalars().all()
        for row in rows:  # every SZ case failed, no other did
            row.error = row.stratum == "org=ACME-B1-SZ"
    second = bureau.draw(neyman, seed=2)
    moved = {s["key"]: s for s in json.loads(second["strata"])}
    assert moved["org=ACME-B1-SZ"]["prior_source"] == "history"
    assert moved["org=ACME-B1-SZ"]["rate_prior"] > 0.5 > moved["org=ACME-B1"]["rate_prior"]
    assert moved["org=ACME-B1-SZ"]["sample"] == 4  # the erring stratum is drawn whole


def test_computed_size_and_targeted_plans(bureau: Bureau) -> None:
    computed = bureau.plan(size={"confidence": 0.95, "margin": 0.2, "expected_error_rate": 0.1})
    assert len(bureau.draw(computed, seed=3)["subjects"]) == 7  # n0 = 8.64, FPC over 18 → 6.1 → 7
    shared = bureau.draw(bureau.plan(code="SHARE", size={"share": 0.5}))  # no seed given: a random one
    assert 2**20 < shared["seed"] < 2**63 and len(shared["subjects"]) == 9  # ⌈0.5 × 18⌉
    rejected = bureau.plan(
        code="REJ", method="targeted", target={"rule": "all"},
        population={"period": "2026-11", "date_field": "reported", "outcome": "rejected", "amount_min": 50000},
        size=None,
    )  # fmt: skip
    assert bureau.draw(rejected)["subjects"] == ["ACME-C0004", "ACME-C0010"]
    top = bureau.plan(
        code="TOP", method="targeted", target={"rule": "top_k", "k": 2, "score": "amount"},
        population={"period": "2026-11", "date_field": "reported", "line": "motor", "org_unit": "ACME-SH"}, size=None,
    )  # fmt: skip
    assert bureau.draw(top)["subjects"] == ["ACME-C0010", "ACME-C0014"]  # 75 000 and 10 000 CNY
    medical = bureau.plan(
        code="MED",
        scorecard="medical_claim",
        population={"period": "2026-11", "date_field": "reported", "line": "medical"},
    )
    assert bureau.draw(medical, seed=5)["population"] == 4


def test_period_draw_once_and_periods_move_the_population(bureau: Bureau) -> None:
    plan_id = bureau.plan(population={"date_field": "reported", "line": "motor"}, size={"fixed": 2})
    assert bureau.draw(plan_id, period="2026-11")["population"] == 18
    with pytest.raises(Problem) as caught:
        bureau.draw(plan_id, period="2026-11")
    assert (caught.value.status, caught.value.field) == (409, "period")
    with pytest.raises(Problem) as caught:
        bureau.draw(plan_id, period="2026-10")
    assert (caught.value.status, caught.value.field) == (422, "population")
    assert _counts(bureau) == (1, 1, 2)


BAD_PLANS: list[tuple[dict[str, Any], str]] = [
    ({"population": {"period": "2026-11", "colour": "red"}}, "population.colour"),
    ({"scorecard": "no_such_card"}, "scorecard"),
    ({"scorecard": "complaint"}, "scorecard"),  # a complaint card for a claim plan
    ({"subject_kind": "policy"}, "subject_kind"),
    ({"population": {"light": "red", "risk_flag": "high"}}, "population.risk_flag"),  # true or false
    ({"population": {"org_unit": "NOPE"}}, "population.org_unit"),
    ({"population": {"handler": "nobody"}}, "population.handler"),
    ({"population": {"amount_min": "ten"}}, "population.amount_min"),
    ({"population": {"period": "2026-13"}}, "population.period"),
    ({"inspectors": ["acme.adj.gd"]}, "inspectors.0"),
    ({"code": "P1"}, "code"),  # taken by the plan made first
]


def test_bad_plans_are_refused_naming_the_field_and_nothing_is_written(bureau: Bureau) -> None:
    bureau.plan()
    before = _counts(bureau)
    for fields, field in BAD_PLANS:
        body = {"code": "BAD"} | fields
        with pytest.raises(Problem) as caught:
            bureau.plan(**body)
        assert caught.value.field == field, (fields, caught.value)
    assert "risk_flag" in _refusal(bureau, {"population": {"risk_flag": "high"}}).message
    assert _counts(bureau) == before
    schema_cases: list[tuple[dict[str, Any], str]] = [
        ({"size": {"share": 1.5}}, "size.share"),
        ({"method": "stratified"}, "strata"),
    ]
    for bad, field in schema_cases:
        with pytest.raises(ValidationError) as invalid:
            PlanDefinition.model_validate(
                {"code": "X", "name": "x", "scorecard": "motor_claim", "size": {"fixed": 1}} | bad
            )
        first = invalid.value.errors()[0]
        assert error_field(tuple(first["loc"]), str(first["msg"])) == field
    # A filter that matches nothing: the plan may exist, its draw is refused and writes nothing.
    empty = bureau.plan(code="EMPTY", population={"period": "2026-11", "line": "motor", "light": "red"})
    with pytest.raises(Problem) as caught:
        bureau.draw(empty)
    assert caught.value.field == "population" and _counts(bureau)[1:] == before[1:]


def _refusal(bureau: Bureau, fields: dict[str, Any]) -> Problem:
    with pytest.raises(Problem) as caught:
        bureau.plan(code="BAD2", **fields)
    return caught.value


def test_complaint_plans(bureau: Bureau) -> None:
    bureau.complaints(3)
    plan_id = bureau.plan(
        code="CPL", subject_kind="complaint", scorecard="complaint",
        population={"period": "2026-11", "channel": "wechat"}, size={"fixed": 5},
    )  # fmt: skip
    found = bureau.draw(plan_id, seed=11)
    assert found["population"] == 2 and len(found["inspections"]) == 2
    again = bureau.draw(plan_id, seed=11)
    assert sorted(i["subject_id"] for i in again["inspections"]) == sorted(
        i["subject_id"] for i in found["inspections"]
    )
    with pytest.raises(Problem) as caught:
        bureau.plan(code="CPL2", subject_kind="complaint", scorecard="complaint", population={"date_field": "closed"})
    assert caught.value.field == "population.date_field"
    with pytest.raises(Problem) as caught:
        bureau.plan(code="CPL3", subject_kind="complaint", scorecard="complaint", population={"severity": "big"})
    assert caught.value.field == "population.severity"
