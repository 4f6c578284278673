"""The staff register pages (issue 18, h1): the register with its filters and exports, a person's page with
licences and the forms (a refused licence shows the field, nothing saved), the add-staff form, and who sees
what (a supervisor: their scope only; an adjuster: their own page only). The queries behind them run on both
databases in the API tests, so these run on SQLite only."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.apps import shared_app
from tests.factories import World, local_today
from tests.people.staff_world import StaffWorld, build
from tests.snapshots import Snapshot
from tests.web.conftest import sign_in

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def sw(db_snapshot: Snapshot, world: World) -> StaffWorld:
    return db_snapshot("people.staff", lambda: build(world))


def _csrf(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text)[1]  # type: ignore[index]


def test_register_person_and_forms(sw: StaffWorld):
    client = TestClient(shared_app())
    sign_in(client, "acme.qm")
    page = client.get("/people", params={"licence": "expiring"})
    assert page.status_code == 200 and 'data-code="A002"' in page.text and 'data-code="A001"' not in page.text
    assert client.get("/people", params={"kind": "robot"}).status_code == 422
    csv_text = client.get("/people.csv", params={"kind": "agent"}).content.decode("utf-8-sig")
    assert len(csv_text.splitlines()) == 4 and "A002" in csv_text  # header + three agents
    xlsx = client.get("/people.xlsx")
    assert xlsx.content[:2] == b"PK" and "staff-" in xlsx.headers["content-disposition"]

    person = client.get("/people/A003", headers={"Accept-Language": "en"})
    assert person.status_code == 200 and 'data-licence="SL-003" data-state="expired"' in person.text
    token = _csrf(person.text)
    refused = client.post(
        "/people/A003/licences",
        data={"csrf_token": token, "kind": "sales", "number": "SL-3B", "issued_on": local_today().isoformat(),
              "expires_on": "2000-01-01"},
    )  # fmt: skip
    assert refused.status_code == 422 and 'id="err-licence-expires_on"' in refused.text
    renewed = client.post(
        "/people/A003/licences",
        data={"csrf_token": token, "kind": "sales", "number": "SL-3B", "issued_on": local_today().isoformat(),
              "expires_on": local_today().replace(year=local_today().year + 2).isoformat()},
        follow_redirects=False,
    )  # fmt: skip
    assert renewed.status_code == 303
    assert 'data-licence="SL-3B" data-state="valid"' in client.get("/people/A003").text
    assert 'id="training-record"' in client.get("/people/A003").text

    new = client.get("/people/new")
    created = client.post(
        "/people",
        data={"csrf_token": _csrf(new.text), "code": "E900", "name": "新人", "kind": "employee",
              "hired_on": local_today().isoformat(), "licence_kind": "other", "licence_number": "OT-900",
              "licence_issued_on": local_today().isoformat(), "licence_expires_on": "2001-01-01"},
    )  # fmt: skip
    assert created.status_code == 422 and "E900" in created.text  # the values are kept
    assert client.get("/people/E900").status_code == 404  # nothing saved

    sign_in(client, "acme.sup")
    scope = client.get("/people").text
    assert 'data-code="E002"' in scope and 'data-code="A003"' not in scope
    assert client.get("/people/A003").status_code == 404
    assert client.get("/people/new").status_code == 403
    sign_in(client, "acme.adj")
    assert client.get("/people").status_code == 403
    assert client.get("/people/E001").status_code == 200 and client.get("/people/A001").status_code == 404
