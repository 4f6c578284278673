"""From alert to special inspection: one click on a p-chart alert (or automatically where the insurer
configures it) opens one targeted plan on the alerted unit and month, drawn at once; never a second one."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import claimwatch.inspections.subscriptions  # noqa: F401 - the reaction (wired in claimwatch.subscriptions)
from claimwatch.config import get_settings
from claimwatch.inspections import special
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionPlan
from claimwatch.kpi import alerts as kpi_alerts
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi.models import QualityAlert
from claimwatch.web.security import CSRF_FIELD
from tests.factories import PASSWORD
from tests.inspections.conftest import Bureau


def raise_alerts(bureau: Bureau, *units: tuple[str, str, str]) -> list[int]:
    """p-chart alerts of small-claim timeliness on (dimension, unit key, period), recorded as the worker does."""
    kpi = kpi_loader.by_code()["small_timeliness"]
    findings = [
        kpi_alerts.Finding(
            tenant_id=bureau.tenant.id,
            kpi=kpi,
            dimension=dimension,
            unit_key=key,
            unit_label=f"unit {key}",
            period=period,
            rate=0.7,
            limits=kpi_alerts.Limits(0.95, 0.9, 1.0),
            numerator=21,
            count=30,
        )  # fmt: skip
        for dimension, key, period in units
    ]
    with bureau.session() as session:
        kpi_alerts.record(session, bureau.tenant.id, findings, kpi_alerts.Evaluation())
        rows = session.scalars(select(QualityAlert).order_by(QualityAlert.id)).all()
        return [row.id for row in rows][-len(units) :]


def plans(bureau: Bureau) -> list[InspectionPlan]:
    with bureau.session() as session:
        found = list(session.scalars(select(InspectionPlan).order_by(InspectionPlan.id)))
        session.expunge_all()
        return found


def login(client: TestClient, username: str) -> str:
    token = client.get("/login").text.split(f'name="{CSRF_FIELD}" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert response.status_code == 303
    return client.get("/dashboard").text.split(f'name="{CSRF_FIELD}" value="')[1].split('"')[0]


def test_one_click_opens_one_plan_on_the_alerted_unit_and_month(bureau: Bureau, client: TestClient) -> None:
    b1 = str(bureau.units["ACME-B1"])
    org_alert, empty_alert = raise_alerts(bureau, ("org", b1, "2026-11"), ("region", "310000", "2026-09"))
    assert plans(bureau) == []  # not automatic by default
    url = f"/dashboard/alerts/{org_alert}/special-inspection"
    assert client.post(url, data={CSRF_FIELD: "x"}, follow_redirects=False).status_code in (303, 401)  # signed out
    token = login(client, "acme.qm")
    assert client.post(url, data={CSRF_FIELD: "forged"}, follow_redirects=False).status_code == 403
    response = client.post(url, data={CSRF_FIELD: token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/inspections/plans/ALERT-{org_alert}"
    again = client.post(url, data={CSRF_FIELD: token}, follow_redirects=False)
    assert again.headers["location"] == response.headers["location"]
    [plan] = plans(bureau)
    assert (plan.code, plan.source, plan.source_ref) == (f"ALERT-{org_alert}", "alert", str(org_alert))
    definition = special.PlanDefinition.model_validate_json(plan.definition)
    assert definition.population == {
        "line": "motor",
        "period": "2026-11",
        "org_unit": "ACME-B1",
        "date_field": "reported",
    }
    with bureau.session() as session:
        [draw] = session.scalars(select(InspectionDraw)).all()
        rows = session.scalars(select(Inspection).where(Inspection.draw_id == draw.id)).all()
        # B1 and its subtree B1-SZ: 8 + 4 motor claims of November, all of them (fewer than the 30 asked).
        assert draw.period == "2026-11" and len(rows) == draw.population_count == 12
        assert {row.org_unit_id for row in rows} == {bureau.units["ACME-B1"], bureau.units["ACME-B1-SZ"]}
    # Nothing to inspect in the unit's month: refused on the dashboard, naming the population, nothing written.
    refused = client.post(f"/dashboard/alerts/{empty_alert}/special-inspection", data={CSRF_FIELD: token})
    assert refused.status_code == 422 and 'id="special-problem"' in refused.text
    assert 'data-field="population"' in refused.text and len(plans(bureau)) == 1
    # A supervisor sees the dashboard but may not open plans; an unknown alert is not found.
    client.cookies.clear()
    supervisor_token = login(client, "acme.sup")
    assert client.post(url, data={CSRF_FIELD: supervisor_token}, follow_redirects=False).status_code == 403
    client.cookies.clear()
    token = login(client, "acme.qm")
    assert client.post("/dashboard/alerts/999999/special-inspection", data={CSRF_FIELD: token}).status_code == 404


def test_automatic_where_the_insurer_configures_it(
    bureau: Bureau, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = tmp_path / "overrides" / special.OVERRIDES_SUBDIR
    overrides.mkdir(parents=True)
    (overrides / "ACME.yaml").write_text(
        "automatic: true\nplans:\n  claim: {scorecard: motor_claim, size: {fixed: 2}}\n"
    )
    monkeypatch.setattr(get_settings(), "policy_overrides_dir", tmp_path / "overrides")
    sh = str(bureau.units["ACME-SH"])
    sh_alert, _empty = raise_alerts(bureau, ("org", sh, "2026-11"), ("region", "310000", "2026-09"))
    # The SH alert opened its plan (2 of SH's 10 claims of November, medical ones too: no line in the override);
    # the empty one was skipped, and both alerts stay recorded.
    [plan] = plans(bureau)
    assert plan.code == f"ALERT-{sh_alert}" and plan.created_by == special.SYSTEM_ACTOR
    with bureau.session() as session:
        assert len(session.scalars(select(QualityAlert)).all()) == 2
        [draw] = session.scalars(select(InspectionDraw)).all()
        assert (draw.population_count, draw.sample_count) == (10, 2)
    raise_alerts(bureau, ("org", sh, "2026-11"))  # re-evaluated: fresher figures, no new alert, no new plan
    assert len(plans(bureau)) == 1


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("automatic: yes please\n", 1, "'automatic' must be true or false"),
        ("automatic: true\nschedule: monthly\n", 2, "unknown key 'schedule'"),
        ("plans:\n  claim:\n    scorecard: motor_claim\n    colour: red\n", 4, "unknown plan key 'colour'"),
        ("plans:\n  claim:\n    population: {org_unit: X}\n", 3, "the alert sets unit and period"),
        ("plans:\n  claim:\n    scorecard: motor_claim\n    size: {fixed: 0}\n", 4, "size"),
    ],
)
def test_settings_errors_name_file_and_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(special.SpecialSettingsError) as caught:
        special.parse_settings(text, "ACME.yaml", special.default_settings())
    assert str(caught.value).startswith(f"ACME.yaml:{line}:") and problem in str(caught.value)


def test_bundled_settings_are_valid_and_manual() -> None:
    settings = special.default_settings()
    assert not settings.automatic and set(settings.plans) == {"claim", "complaint"}
