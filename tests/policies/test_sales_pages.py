"""The sales pages (SQLite only: their queries are the API's, tested on both databases): the list with its
filters and downloads, a sale, the flags (cleared with a reason through the form), the agents, and the form that
records a sale (a refused field shown at its input)."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from tests.apps import shared_app
from tests.factories import World
from tests.policies.sales_world import SalesWorld, build
from tests.snapshots import Snapshot
from tests.web.conftest import csrf_from, sign_in

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def sw(world: World, db_snapshot: Snapshot) -> SalesWorld:
    return db_snapshot("policies.sales", lambda: build(world))


def test_the_sales_pages(sw: SalesWorld):
    client = TestClient(shared_app())
    sign_in(client, "acme.qm")
    listing = client.get("/sales?flagged=flagged&lang=en")
    assert listing.status_code == 200 and 'data-policy="P-UNLIC"' in listing.text and "P-CLEAN" not in listing.text
    assert "Agent without a valid licence" in listing.text
    assert client.get("/sales?period=2026-13").status_code == 422
    csv = client.get("/sales.csv?rule=unlicensed_agent")
    assert csv.text.startswith("\ufeff") and "P-UNLIC" in csv.text and "P-BANK" not in csv.text
    with zipfile.ZipFile(io.BytesIO(client.get("/sales.xlsx").content)) as book:
        assert "P-UNLIC" in book.read("xl/sharedStrings.xml").decode()
    page = client.get("/sales/P-UNLIC")
    assert page.status_code == 200 and 'id="unlicensed"' in page.text
    assert client.get("/sales/P-NONE").status_code == 404
    assert 'data-agent="A-EXP"' in client.get("/sales/agents?period=2026-11").text
    flags = client.get("/sales/flags")
    token = csrf_from(flags.text)
    flag_id = int(flags.text.split('data-rule="missing_disclosure"')[0].rsplit('id="flag-', 1)[1].split('"')[0])
    empty = client.post(f"/sales/flags/{flag_id}", data={"csrf_token": token, "decision": "clear", "reason": ""})
    assert empty.status_code == 422 and 'role="alert"' in empty.text
    cleared = client.post(
        f"/sales/flags/{flag_id}", data={"csrf_token": token, "decision": "clear", "reason": "已补签"},
        follow_redirects=False,
    )  # fmt: skip
    assert cleared.status_code == 303
    assert 'data-status="cleared"' in client.get("/sales/flags").text
    form = {"csrf_token": token, "policy_number": "P-FORM", "product_code": "LIFE-1", "product_name": "寿险",
            "line": "life", "channel": "agent", "agent": "NOBODY", "premium": "100",
            "signed_on": "2026-11-20"}  # fmt: skip
    refused = client.post("/sales/new", data=form)
    assert refused.status_code == 422 and 'id="err-agent"' in refused.text
    recorded = client.post("/sales/new", data=form | {"agent": "A-OK"}, follow_redirects=False)
    assert recorded.status_code == 303 and recorded.headers["location"] == "/sales/P-FORM"
