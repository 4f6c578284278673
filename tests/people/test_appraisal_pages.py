"""The appraisal pages over the scorecards the service and API tests compute on both databases (so SQLite only
here): the month's list with its distribution chart data and filters, a person's card with the basis of each
metric, the trend and the comment form (shown to the manager, not to the person), my own page, the refusals
(another handler 403, an unknown code 404, a form without its CSRF token 403) and the compute form."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.apps import shared_app
from tests.factories import World
from tests.people.test_appraisal import AppraisalWorld, computed_world
from tests.snapshots import Snapshot
from tests.web.conftest import csrf_from, sign_in

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def computed(world: World, db_snapshot: Snapshot) -> AppraisalWorld:
    return db_snapshot("people.appraisal.computed", lambda: computed_world(world))


def _data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="appraisal-data">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def test_pages(computed: AppraisalWorld) -> None:
    client = TestClient(shared_app())
    sign_in(client, "chen.sup")
    listed = client.get("/people/appraisals?month=2026-11")
    assert listed.status_code == 200 and 'data-staff="H1"' in listed.text and 'data-staff="H2"' not in listed.text
    assert sum(_data(listed.text)["counts"]) == 1
    assert 'data-staff="AG1"' not in client.get("/people/appraisals?month=2026-11&kind=employee").text
    card = client.get("/people/appraisals/H1?month=2026-11")
    assert card.status_code == 200 and 'data-metric="sla_on_time"' in card.text and "4 个时效中 3 个达标" in card.text
    assert 'id="comment-form"' in card.text and len(_data(card.text)["months"]) == 12
    token = csrf_from(card.text)
    scorecard_id = re.search(r'name="scorecard_id" value="(\d+)"', card.text).group(1)  # type: ignore[union-attr]
    refused = client.post("/people/appraisals/H1/comment", data={"scorecard_id": scorecard_id, "comment": "x"})
    assert refused.status_code == 403
    empty = client.post(
        "/people/appraisals/H1/comment", data={"csrf_token": token, "scorecard_id": scorecard_id, "comment": " "}
    )
    assert empty.status_code == 422 and 'id="appraisal-problem"' in empty.text
    saved = client.post(
        "/people/appraisals/H1/comment",
        data={"csrf_token": token, "scorecard_id": scorecard_id, "month": "2026-11", "comment": "继续保持"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert client.get("/people/appraisals/H2").status_code == 403
    assert client.get("/people/appraisals/NOBODY").status_code == 404
    assert client.get("/people/appraisals/compute").status_code in (403, 404, 405)

    client.cookies.clear()
    sign_in(client, "li.adjuster")
    mine = client.get("/me/appraisal")
    assert mine.status_code == 200 and "继续保持" in mine.text and 'id="comment-form"' not in mine.text
    assert client.get("/people/appraisals").status_code == 403

    client.cookies.clear()
    sign_in(client, "qian.qm")
    page = client.get("/people/appraisals")
    assert 'id="appraisal-compute"' in page.text
    done = client.post(
        "/people/appraisals/compute", data={"csrf_token": csrf_from(page.text), "month": "2026-11"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/people/appraisals?month=2026-11"
    bad = client.post("/people/appraisals/compute", data={"csrf_token": csrf_from(page.text), "month": "2026-13"})
    assert bad.status_code == 422 and 'id="appraisal-problem"' in bad.text
