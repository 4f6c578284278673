"""The improvement-action pages through the app: the raise form pre-filled from an alert names every missing
field at once and saves nothing, then raises; the board's filters, counts and CSV; refusals (another insurer's
action is not found, a regulator is not allowed, a form without its CSRF token, a move out of order)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch.actions import service
from claimwatch.actions.models import ImprovementAction
from claimwatch.auth.models import Role
from claimwatch.db import utc_now
from claimwatch.kpi.models import QualityAlert
from tests.apps import shared_app
from tests.factories import local_today
from tests.rectification.helpers import Office
from tests.web.conftest import csrf_from, sign_in


def _raise(office: Office, **fields: Any) -> int:
    body: dict[str, Any] = {
        "source_kind": "manual",
        "title": "小额案件时效整改",
        "problem": "小额赔案结案时效下降",
        "owner_user_id": office.users["supervisor"],
        "due_on": local_today() + dt.timedelta(days=30),
        "scope_org_unit_id": office.b1,
        "kpi_code": "small_timeliness",
    }
    body.update(fields)
    with office.session() as session:
        return service.raise_action(session, office.principal("qm"), **body).id


def _count(office: Office) -> int:
    with office.session() as session:
        return int(session.execute(select(func.count()).select_from(ImprovementAction)).scalar_one())


def _cards(html: str, phase: str) -> list[str]:
    column = html.split(f'id="column-{phase}"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'data-number="([^"]+)"', column)


def test_raise_form_from_an_alert_names_every_missing_field_then_raises(world) -> None:
    office = Office.create(world)
    with office.session() as session:
        alert = QualityAlert(
            tenant_id=office.tenant.id, kpi_code="small_timeliness", dimension="org", unit_key=str(office.b1),
            unit_label="广东分公司", period="2026-10", rate=0.62, expected=0.9, lower_limit=0.8, upper_limit=1.0,
            numerator=31, count=50,
        )  # fmt: skip
        session.add(alert)
        session.flush()
        alert_id = alert.id
    client = TestClient(shared_app())
    sign_in(client, office.username("qm"))
    page = client.get(f"/actions/new?source_kind=alert&source_id={alert_id}")
    assert page.status_code == 200
    html = page.text
    assert "广东分公司" in html and "62.0%" in html  # title and problem from the alert
    assert re.search(r'<option value="small_timeliness" selected>', html)
    assert re.search(rf'<option value="{office.b1}" selected>', html)
    assert 'id="raise-source"' in html and "质量预警" in html  # the service's own label of the source
    survey = client.get("/actions/new?source_kind=survey&source_ref=timeliness").text
    assert re.search(r'<option value="timeliness_score" selected>', survey)
    cause = client.get("/actions/new?source_kind=complaint_cause&source_ref=pigeon/none")
    assert cause.status_code == 422 and 'id="err-source_ref"' in cause.text  # no such complaint category

    form = {
        "csrf_token": csrf_from(html),
        "source_kind": "alert",
        "source_id": str(alert_id),
        "title": "广东分公司小额案件时效失控",
        "problem": "10月小额案件时效达成率62%",
        "kpi_code": "small_timeliness",
        "scope_org_unit_id": str(office.b1),
        "rca_method": "five_whys",
        "why_1": "为什么超时？",
        "because_1": "查勘排班不足",
        "step_text_1": "调整排班",
        "step_owner_1": str(office.users["owner"]),
        "step_due_1": (local_today() + dt.timedelta(days=10)).isoformat(),
        "step_text_2": "培训",
    }
    refused = client.post("/actions/new", data=form)
    assert refused.status_code == 422
    assert 'id="err-owner_user_id"' in refused.text and 'id="err-due_on"' in refused.text  # both, at once
    assert 'value="调整排班"' in refused.text  # the form comes back as sent
    assert _count(office) == 0

    bad_step = form | {
        "owner_user_id": str(office.users["supervisor"]),
        "due_on": (local_today() + dt.timedelta(days=20)).isoformat(),
        "step_due_2": (local_today() - dt.timedelta(days=3)).isoformat(),  # in the past: the service refuses row 2
        "csrf_token": csrf_from(refused.text),
    }
    refused = client.post("/actions/new", data=bad_step)
    assert refused.status_code == 422 and 'id="err-step_2"' in refused.text
    assert _count(office) == 0

    done = client.post("/actions/new", data=bad_step | {"step_due_2": ""}, follow_redirects=False)
    assert done.status_code == 303
    shown = client.get(done.headers["location"])
    assert shown.status_code == 200
    assert re.search(r'id="action-number">GJ-\d{4}-0001<', shown.text)
    assert shown.text.count('<tr data-step="') == 2 and "为什么超时？" in shown.text
    assert 'id="move-do"' in shown.text and 'data-phase="plan"' in shown.text


def test_board_filters_counts_csv_and_refusals(world) -> None:
    office = Office.create(world)
    other = Office.create(world, "BBB")
    world.user("cbirc", Role.REGULATOR, None)
    late = _raise(office, title="超期的措施", due_on=local_today() + dt.timedelta(days=1))
    with office.session() as session:  # overdue: raised long ago, due a week ago
        old = service.raise_action(
            session, office.principal("qm"), source_kind="kpi", source_ref="complaint_on_time_rate",
            title="投诉处理及时率", problem="低于目标", owner_user_id=office.users["other_supervisor"],
            due_on=local_today() - dt.timedelta(days=7), scope_org_unit_id=office.b2,
            at=utc_now() - dt.timedelta(days=30),
        )  # fmt: skip
        overdue = (old.id, old.number)
    hidden = _raise(other, title="另一家公司的措施")
    with office.session() as session:
        numbers = {a.id: a.number for a in session.execute(select(ImprovementAction)).scalars()}

    client = TestClient(shared_app())
    sign_in(client, office.username("qm"))
    board = client.get("/actions")
    assert board.status_code == 200
    assert sorted(_cards(board.text, "plan")) == sorted([numbers[late], overdue[1]])
    assert 'id="column-closed"' not in board.text  # closed hidden unless asked for
    assert re.search(r'id="column-plan".*?data-count="2"', board.text, re.S)
    assert client.get("/actions?overdue=1").text.count('class="action-card overdue"') == 1
    assert _cards(client.get("/actions?overdue=1").text, "plan") == [overdue[1]]
    assert _cards(client.get("/actions?source=kpi").text, "plan") == [overdue[1]]
    assert _cards(client.get("/actions?kpi=small_timeliness").text, "plan") == [numbers[late]]
    assert _cards(client.get(f"/actions?org={office.b2}").text, "plan") == [overdue[1]]
    assert _cards(client.get(f"/actions?owner={office.users['supervisor']}").text, "plan") == [numbers[late]]
    assert 'id="column-closed"' in client.get("/actions?closed=1").text
    wrong = client.get("/actions?source=pigeon")
    assert wrong.status_code == 422 and 'data-field="source"' in wrong.text

    exported = client.get("/actions.csv?overdue=1")
    assert exported.status_code == 200 and exported.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["编号", "标题", "PDCA 阶段"]
    assert [r[0] for r in rows[1:]] == [overdue[1]] and rows[1][9] == "是"
    english = client.get("/actions.csv?lang=en")
    assert english.text.lstrip("\ufeff").startswith("Number,Title")

    assert client.get(f"/actions/{hidden}").status_code == 404  # another insurer's action
    page = client.get(f"/actions/{late}")
    token = csrf_from(page.text)
    assert client.post(f"/actions/{late}/phase", data={"to_phase": "do"}).status_code == 403  # no CSRF token
    refused = client.post(f"/actions/{late}/phase", data={"to_phase": "do", "csrf_token": token})
    assert refused.status_code == 409 and 'id="err-phase-do"' in refused.text  # Do needs a step
    with office.session() as session:
        assert session.get(ImprovementAction, late).phase == "plan"  # type: ignore[union-attr]

    regulator = TestClient(shared_app())
    sign_in(regulator, "cbirc")
    assert regulator.get("/actions").status_code == 403
    assert regulator.get(f"/actions/{late}").status_code == 403
