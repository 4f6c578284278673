"""Plans and draws over the JSON API (roles, tenants, fields named, nothing written on refusal), the
`claimwatch inspections` commands (file:line errors) and the periodic pass (once per period)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from claimwatch.auth.models import Role
from claimwatch.cli import app as cli_app
from claimwatch.inspections import jobs
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionPlan
from tests.inspections.conftest import CST, Bureau

PLAN: dict[str, Any] = {
    "code": "API-1",
    "name": "车险抽检",
    "scorecard": "motor_claim",
    "population": {"period": "2026-11", "date_field": "reported", "line": "motor"},
    "method": "stratified",
    "strata": ["org"],
    "size": {"fixed": 6},
}


def _rows(bureau: Bureau) -> tuple[int, int, int]:
    with bureau.session() as session:
        return tuple(  # type: ignore[return-value]
            session.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (InspectionPlan, InspectionDraw, Inspection)
        )


def test_plan_and_draw_api(bureau: Bureau, client: TestClient) -> None:
    qm = {"X-API-Key": bureau.world.api_key(bureau.tenant, Role.QUALITY_MANAGER)}
    inspector = {"X-API-Key": bureau.world.api_key(bureau.tenant, Role.INSPECTOR)}
    adjuster = {"X-API-Key": bureau.world.api_key(bureau.tenant, Role.ADJUSTER)}
    assert client.get("/api/v1/inspections/plans", headers=adjuster).status_code == 403
    assert client.post("/api/v1/inspections/plans", json=PLAN, headers=inspector).status_code == 403
    created = client.post("/api/v1/inspections/plans", json=PLAN, headers=qm)
    assert created.status_code == 201, created.text
    assert created.json()["method"] == "stratified"
    before = _rows(bureau)
    for body, field, status in [
        (PLAN, "code", 409),
        (PLAN | {"code": "B1", "size": {"share": 1.5}}, "size.share", 422),
        (PLAN | {"code": "B2", "population": {"colour": "red"}}, "population.colour", 422),
        (PLAN | {"code": "B3", "scorecard": "nope"}, "scorecard", 422),
        (PLAN | {"code": "B4", "subject_kind": "policy"}, "subject_kind", 422),
        (PLAN | {"code": "B5", "strata": []}, "strata", 422),
        (PLAN | {"code": "B6", "population": {"risk_flag": "high"}}, "population.risk_flag", 422),
    ]:
        answer = client.post("/api/v1/inspections/plans", json=body, headers=qm)
        assert answer.status_code == status, (field, answer.text)
        assert answer.json()["problems"][0]["field"] == field, answer.text
    assert _rows(bureau) == before

    # Draw: refused for an inspector; the QM's draw answers the seed, strata and the sampled cases.
    assert client.post("/api/v1/inspections/plans/API-1/draws", json={}, headers=inspector).status_code == 403
    drawn = client.post("/api/v1/inspections/plans/API-1/draws", json={"seed": 99}, headers=qm)
    assert drawn.status_code == 201, drawn.text
    view = drawn.json()
    assert view["seed"] == "99" and view["population"] == 18 and view["sample"] == 6
    assert {s["key"]: s["sample"] for s in view["strata"]} == {"org=ACME-B1": 3, "org=ACME-B1-SZ": 1, "org=ACME-SH": 2}
    assert all(row["inspector"] for row in view["inspections"])
    again = client.post("/api/v1/inspections/plans/API-1/draws", json={"seed": 99}, headers=qm).json()
    assert sorted(r["number"] for r in again["inspections"]) == sorted(r["number"] for r in view["inspections"])
    period = client.post("/api/v1/inspections/plans/API-1/draws", json={"period": "2026-10"}, headers=qm)
    assert period.status_code == 422 and period.json()["problems"][0]["field"] == "population"
    # Reading: the plan with its draws, a draw, the cases by inspector and status.
    plan = client.get("/api/v1/inspections/plans/API-1", headers=inspector).json()
    assert [d["period"] for d in plan["draw_list"]] == ["adhoc-2", "adhoc-1"]
    shown = client.get(f"/api/v1/inspections/draws/{view['id']}", headers=inspector).json()
    assert shown["audit_seq"] == view["audit_seq"] and len(shown["inspections"]) == 6
    who = view["inspections"][0]["inspector"]
    mine = client.get("/api/v1/inspections", params={"inspector": who, "status": "assigned"}, headers=inspector)
    assert mine.status_code == 200 and mine.json() and {r["inspector"] for r in mine.json()} == {who}
    assert client.get("/api/v1/inspections", params={"status": "lost"}, headers=inspector).status_code == 422
    assert client.get("/api/v1/inspections", params={"inspector": "nobody"}, headers=inspector).status_code == 422

    # Another insurer sees none of it.
    other = Bureau(bureau.world, "OTHER")
    theirs = {"X-API-Key": bureau.world.api_key(other.tenant, Role.QUALITY_MANAGER)}
    assert client.get("/api/v1/inspections/plans", headers=theirs).json() == []
    assert client.get("/api/v1/inspections/plans/API-1", headers=theirs).status_code == 404
    assert client.get(f"/api/v1/inspections/draws/{view['id']}", headers=theirs).status_code == 404
    assert client.post("/api/v1/inspections/plans/API-1/draws", json={}, headers=theirs).status_code == 404
    assert client.get("/api/v1/inspections", headers=theirs).json() == []


def test_cli_sample_and_plans(bureau: Bureau, tmp_path: Path) -> None:
    runner = CliRunner()
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "code: CLI-1\nname: 车险抽检\nscorecard: motor_claim\npopulation:\n  date_field: reported\n"
        "  line: motor\n  colour: red\nsize: {fixed: 3}\n",
        encoding="utf-8",
    )
    bad = runner.invoke(cli_app, ["inspections", "sample", str(plan), "--tenant", "ACME", "--period", "2026-11"])
    assert bad.exit_code == 1 and f"{plan}:7: population.colour" in bad.output.replace("\n", "")
    plan.write_text(plan.read_text(encoding="utf-8").replace("\n  colour: red", ""), encoding="utf-8")
    share = tmp_path / "share.yaml"
    share.write_text(plan.read_text(encoding="utf-8").replace("{fixed: 3}", "{share: 2}"), encoding="utf-8")
    bad = runner.invoke(cli_app, ["inspections", "sample", str(share), "--tenant", "ACME"])
    assert bad.exit_code == 1 and f"{share}:7: size.share" in bad.output.replace("\n", "")
    assert _rows(bureau) == (0, 0, 0)
    args = ["inspections", "sample", str(plan), "--tenant", "ACME", "--period", "2026-11", "--seed", "42"]
    done = runner.invoke(cli_app, args)
    assert done.exit_code == 0, done.output
    assert "population 18, sample 3" in done.output and "seed 42" in done.output
    twice = runner.invoke(cli_app, args)
    assert twice.exit_code == 1 and "--period" in twice.output
    listed = runner.invoke(cli_app, ["inspections", "plans", "--tenant", "ACME", "--json"])
    assert listed.exit_code == 0 and '"draws": 1' in listed.output


def test_periodic_plans_draw_once_per_period(bureau: Bureau) -> None:
    bureau.plan(code="MONTHLY", population={"date_field": "reported", "line": "motor"}, schedule="monthly")
    bureau.plan(code="ONCE", population={"period": "2026-11", "line": "motor"})  # not periodic: never drawn here
    now = dt.datetime(2026, 12, 1, 0, 30, tzinfo=CST)  # Dec 1 local: November is complete
    results: list[jobs.PeriodicResult] = []
    workers = [threading.Thread(target=lambda: results.append(jobs.run_periodic(now))) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(r.drawn for r in results) == [0, 1] and sum(r.skipped for r in results) == 1
    assert jobs.run_periodic(now + dt.timedelta(days=3)).skipped == 1
    with bureau.session() as session:
        draws = session.execute(select(InspectionDraw.period, InspectionDraw.population_count)).all()
    assert draws == [("2026-11", 18)]
    # In January the December population is empty: nothing recorded, tried again next pass.
    later = jobs.run_periodic(dt.datetime(2027, 1, 2, tzinfo=CST))
    assert (later.drawn, later.empty) == (0, 1) and _rows(bureau)[1] == 1
