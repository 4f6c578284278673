"""The JSON API of improvement actions: raising with bad input (422 naming the field, nothing written), the
detail with steps, clocks, history and what the caller may do; a step finished by its owner; a move out of
order (409 naming the phase); a regulator (403) and another insurer (404) refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch.actions.models import ImprovementAction
from claimwatch.auth.models import Role
from claimwatch.web.security import CSRF_HEADER
from tests.apps import shared_app
from tests.rectification.helpers import Office
from tests.web.conftest import csrf_from, sign_in


def _as(username: str, app) -> TestClient:
    client = TestClient(app)
    sign_in(client, username)
    client.headers[CSRF_HEADER] = csrf_from(client.get("/rectifications").text)
    return client


def test_raise_refusals_detail_steps_and_tenancy(world) -> None:
    office = Office.create(world)
    beta = world.tenant("BETA")
    world.user("beta.qm", Role.QUALITY_MANAGER, beta)
    world.user("regulator", Role.REGULATOR, None)
    app = shared_app()
    qm, owner = _as(office.username("qm"), app), _as(office.username("owner"), app)
    body = {
        "source_kind": "kpi",
        "source_ref": "small_timeliness",
        "title": "小额案件时效",
        "problem": "小额赔案10日结案率下降",
        "scope_org_unit_id": office.b1,
        "steps": [{"text": "每日晨会跟进", "owner_user_id": office.users["owner"]}],
        "rca_method": "fishbone",
        "rca": {"method": ["缺少时限提醒"], "man": ["新人多"]},
    }
    due = "2027-01-29"
    for missing, field in (("owner_user_id", "owner_user_id"), ("due_on", "due_on")):
        given = body | {"owner_user_id": office.users["supervisor"], "due_on": due}
        given.pop(missing)
        refused = qm.post("/api/v1/actions", json=given)
        assert refused.status_code == 422, refused.text
        assert refused.json()["problems"][0]["field"] == field
    with office.session() as session:
        assert session.execute(select(func.count()).select_from(ImprovementAction)).scalar_one() == 0

    made = qm.post("/api/v1/actions", json=body | {"owner_user_id": office.users["supervisor"], "due_on": due})
    assert made.status_code == 201, made.text
    action = made.json()
    assert action["kpi_code"] == "small_timeliness" and action["source"]["label"].startswith("指标：")
    assert action["rca"]["method"] == ["缺少时限提醒"] and action["phase"] == "plan"
    assert [c["policy"] for c in action["clocks"]] == ["action_due", "action_step_due"]
    assert action["history"][0]["kind"] == "raised" and "move:do" in action["allowed"]
    aid, step_id = action["id"], action["steps"][0]["id"]

    # The step's owner sees the action (they own a step) but may not move it; the move out of order is a 409.
    shown = owner.get(f"/api/v1/actions/{aid}").json()
    assert shown["allowed"] == [] and shown["steps"][0]["may_finish"] is False  # in plan
    assert owner.post(f"/api/v1/actions/{aid}/phase", json={"to_phase": "do"}).status_code == 403
    jump = qm.post(f"/api/v1/actions/{aid}/phase", json={"to_phase": "check"})
    assert jump.status_code == 409 and jump.json()["problems"][0]["field"] == "phase"
    assert qm.post(f"/api/v1/actions/{aid}/phase", json={"to_phase": "do"}).status_code == 200
    finished = owner.post(f"/api/v1/actions/steps/{step_id}/done", json={"note": "已落实"})
    assert finished.status_code == 200, finished.text
    assert finished.json()["steps"][0]["done_by"] == "user:acme.owner"
    listed = qm.get("/api/v1/actions?phase=do").json()
    assert [(r["id"], r["steps_done"], r["steps_total"]) for r in listed] == [(aid, 1, 1)]
    assert [a["id"] for a in qm.get("/api/v1/actions/for-source?kind=kpi&ref=small_timeliness").json()] == [aid]

    # A regulator has no action pages; another insurer's quality manager does not see this one.
    regulator, foreign = _as("regulator", app), _as("beta.qm", app)
    assert regulator.get("/api/v1/actions").status_code == 403
    assert regulator.get(f"/api/v1/actions/{aid}").status_code == 403
    assert foreign.get(f"/api/v1/actions/{aid}").status_code == 404
    assert foreign.post(f"/api/v1/actions/{aid}/phase", json={"to_phase": "check"}).status_code == 404
    assert foreign.get("/api/v1/actions").json() == []
