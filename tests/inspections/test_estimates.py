"""A plan's results: per stratum and for the whole population, the estimate with its interval, what it can
conclude; the page and the JSON API, scoped to the caller's insurer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.auth.models import Role
from claimwatch.inspections import estimates
from claimwatch.inspections import statistics as stats
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionPlan
from claimwatch.web.security import CSRF_FIELD
from tests.factories import PASSWORD, World
from tests.inspections.conftest import Bureau

SUBMITTED = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)


def score(bureau: Bureau, draw_id: int, errors: dict[str, int], skip: int = 0, at: dt.datetime = SUBMITTED) -> None:
    """Stands in for the inspectors (scoring is tested in test_scoring): per stratum the first ``errors[s]``
    inspections found an error, the others none; the last ``skip`` sampled cases stay unscored."""
    with bureau.session() as session:
        rows = list(
            session.scalars(
                select(Inspection).where(Inspection.draw_id == draw_id).order_by(Inspection.stratum, Inspection.id)
            )
        )
        seen: dict[str, int] = {}
        for row in rows[: len(rows) - skip]:
            index = seen[row.stratum] = seen.get(row.stratum, 0) + 1
            row.error = index <= errors.get(row.stratum, 0)
            row.passed = not row.error
            row.status, row.submitted_at = "submitted", at


def stratified(bureau: Bureau) -> int:
    plan_id = bureau.plan(
        code="STRAT", method="stratified", strata=["org"], allocation="proportional", size={"fixed": 9}
    )
    return int(bureau.draw(plan_id, period="2026-11")["id"])


def test_draw_estimate_per_stratum_and_population(bureau: Bureau) -> None:
    draw_id = stratified(bureau)
    # Motor claims of November: B1 8, SH 6, B1-SZ 4 → 9 sampled 4/3/2; one SH case is still to be scored.
    score(bureau, draw_id, {"org=ACME-B1": 1, "org=ACME-SH": 1}, skip=1)
    with bureau.session() as session:
        results = estimates.plan_results(session, "STRAT")
        current = results.current
        assert current is not None and [d.period for d in results.draws] == ["2026-11"]
        rows = {row.key: row for row in current.strata}
        assert {k: (r.population, r.sampled) for k, r in rows.items()} == {
            "org=ACME-B1": (8, 4),
            "org=ACME-B1-SZ": (4, 2),
            "org=ACME-SH": (6, 3),
        }
        assert rows["org=ACME-B1"].label == "广东分公司"  # the unit's name, not its code
        inspected = {k: r.inspected for k, r in rows.items()}
        assert sum(inspected.values()) == 8 and current.pending == 1 and current.sampled == 9
        est = current.estimate
        # Σ W_h p̂_h with W_h = N_h / N: the stratified estimate, not the pooled 2/8.
        expected = sum(r.population / 18 * r.errors / r.inspected for r in rows.values())
        assert est.rate == pytest.approx(expected) and est.rate != pytest.approx(2 / 8)
        assert (
            est.rate is not None
            and est.low is not None
            and est.high is not None
            and 0 < est.low < est.rate < est.high < 1
        )
        assert est.coverage == pytest.approx(8 / 18)
        assert rows["org=ACME-B1-SZ"].rate == 0.0 and (rows["org=ACME-B1-SZ"].high or 0) > 0.2  # 0/2: Wilson
        msgids = {c.msgid for c in current.conclusions}
        assert {stats.MSG_ESTIMATE, stats.MSG_SMALL_STRATUM, stats.MSG_PARTIAL, stats.MSG_TARGET_MISSED} <= msgids
        small = next(c for c in current.conclusions if c.msgid == stats.MSG_SMALL_STRATUM)
        assert small.params["stratum"] in {r.label for r in rows.values()} - {"ACME-B1"}  # named by label
    # A targeted top-k draw is no random sample: its rate is the inspected cases' own, with no target verdict.
    plan_id = bureau.plan(code="TOP", method="targeted", size=None, target={"rule": "top_k", "k": 3, "score": "amount"})
    draw_id = int(bureau.draw(plan_id)["id"])
    score(bureau, draw_id, {"": 3})
    with bureau.session() as session:
        current = estimates.plan_results(session, "TOP").current
        assert current is not None and not current.extrapolates
        assert current.estimate.rate == 1.0 and current.estimate.population == 3  # the inspected cases' own rate
        assert estimates.MSG_TARGETED in {c.msgid for c in current.conclusions}
        assert stats.MSG_TARGET_MISSED not in {c.msgid for c in current.conclusions}


def test_accuracy_target_matches_the_kpi_catalogue() -> None:
    from claimwatch.kpi import loader

    assert loader.by_code()["audit_accuracy"].target == pytest.approx(100 * estimates.ACCURACY_TARGET)


def login_page(client: TestClient, username: str, path: str) -> str:
    """Signs ``username`` in and returns the page at ``path``."""
    token = client.get("/login").text.split(f'name="{CSRF_FIELD}" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert response.status_code == 303
    page = client.get(path)
    assert page.status_code == 200, page.text
    return page.text


def test_page_and_api_scoped_and_refusals(bureau: Bureau, world: World, client: TestClient) -> None:
    draw_id = stratified(bureau)
    score(bureau, draw_id, {"org=ACME-SH": 2})
    key = {"X-API-Key": world.api_key(bureau.tenant, Role.QUALITY_MANAGER), "Accept-Language": "en"}
    body = client.get("/api/v1/inspections/plans/STRAT/estimate", headers=key).json()
    est: dict[str, Any] = body["estimate"]
    assert est["period"] == "2026-11" and est["inspected"] == 9 and est["errors"] == 2 and est["pending"] == 0
    assert est["low"] < est["error_rate"] < est["high"] and est["accuracy"] == pytest.approx(1 - est["error_rate"])
    assert est["accuracy_interval"] == pytest.approx([1 - est["high"], 1 - est["low"]])
    assert len(est["strata"]) == 3 and est["interval_method"] == stats.INTERVAL_METHOD
    assert any("estimated at" in c["text"] for c in est["conclusions"])
    assert client.get("/api/v1/inspections/plans/STRAT/estimate?period=2026-10", headers=key).status_code == 404
    assert client.get("/api/v1/inspections/plans/NOPE/estimate", headers=key).status_code == 404
    adjuster = {"X-API-Key": world.api_key(bureau.tenant, Role.ADJUSTER)}
    assert client.get("/api/v1/inspections/plans/STRAT/estimate", headers=adjuster).status_code == 403
    # Another insurer does not see the plan.
    other = world.tenant("OTHR")
    other_key = {"X-API-Key": world.api_key(other, Role.QUALITY_MANAGER)}
    assert client.get("/api/v1/inspections/plans/STRAT/estimate", headers=other_key).status_code == 404
    # The page, in Chinese by default, shows the accuracy and its interval.
    page = login_page(client, "acme.qm", "/inspections/plans/STRAT/results")
    accuracy = stats.percent(1 - est["error_rate"])
    low, high = stats.percent(1 - est["high"]), stats.percent(1 - est["low"])
    assert f'id="accuracy">{accuracy}<' in page and low in page and high in page
    assert 'id="strata-table"' in page and 'id="results-data"' in page
    with bureau.session() as session:  # nothing was written by reading
        assert session.scalar(select(InspectionPlan.id).where(InspectionPlan.code == "STRAT")) is not None
        assert len(list(session.scalars(select(InspectionDraw)))) == 1
