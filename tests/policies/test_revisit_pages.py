"""The revisit pages: the queue with its KPIs and filters, CSV/XLSX, one revisit with the outcome form (a refusal
names the field and keeps what was typed; a success redirects). The queries behind them, roles and tenants are the
service's and the API's, tested on both databases in test_revisits.py."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.apps import shared_app
from tests.factories import World
from tests.policies.test_revisits import RevisitWorld, build
from tests.snapshots import Snapshot
from tests.web.conftest import csrf_from, sign_in

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def w(world: World, db_snapshot: Snapshot) -> RevisitWorld:
    return db_snapshot("policies.revisits", lambda: build(world))


def test_queue_revisit_page_and_outcome_form(w: RevisitWorld) -> None:
    client = TestClient(shared_app())
    sign_in(client, "acme.csr")
    queue = client.get("/revisits?lang=en")
    assert queue.status_code == 200 and "P-CALL1" in queue.text and 'id="revisit-kpis"' in queue.text
    assert 'data-policy="P-MOTOR"' not in queue.text
    filtered = client.get("/revisits?channel=message")
    assert 'data-policy="P-MSG"' in filtered.text and 'data-policy="P-CALL1"' not in filtered.text
    assert client.get("/revisits?due_from=2026-13-01").status_code == 422
    csv = client.get("/revisits?export=csv&lang=en")
    assert csv.status_code == 200 and csv.text.startswith("\ufeffPolicy,Product") and "P-CALL2" in csv.text
    assert client.get("/revisits?export=xlsx").content[:2] == b"PK"
    revisit_id = w.revisits["P-CALL2"]
    page = client.get(f"/revisits/{revisit_id}")
    assert page.status_code == 200 and 'id="outcome-form"' in page.text
    token = csrf_from(page.text)
    refused = client.post(
        f"/revisits/{revisit_id}/outcome", data={"csrf_token": token, "outcome": "misled", "notes": ""},
        follow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 422 and 'data-field="notes"' in refused.text
    attempt = client.post(f"/revisits/{revisit_id}/attempt", data={"csrf_token": token}, follow_redirects=False)
    assert attempt.status_code == 303
    done = client.post(
        f"/revisits/{revisit_id}/outcome", data={"csrf_token": token, "outcome": "understood", "notes": "已确认"},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    shown = client.get(f"/revisits/{revisit_id}")
    assert 'data-outcome="understood"' in shown.text and 'id="outcome-form"' not in shown.text
