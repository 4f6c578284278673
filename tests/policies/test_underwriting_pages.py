"""The underwriting pages over the queries the API tests run on both databases (so SQLite only here): the queue
with its filters and exports, the staff form, the case page and its review form (a decline without a reason is
refused with the field named and what was typed kept), the rules page with a bad file named by line."""

from __future__ import annotations

import pytest

from tests.policies.test_underwriting import HIGH, Uw, application, client_of, core, ok, uw  # noqa: F401 - fixture
from tests.web.conftest import csrf_from

pytestmark = pytest.mark.sqlite_only


def test_queue_form_case_review_and_rules_pages(uw: Uw) -> None:  # noqa: F811 - the fixture
    ok(core(uw.a).post("/api/v1/underwriting/applications", json=application("PG-1", **HIGH)), 201)
    sup, uw1 = client_of("ua.sup"), client_of("ua.uw1")
    queue = uw1.get("/underwriting", params={"level": "high"})
    assert queue.status_code == 200 and 'data-application="PG-1"' in queue.text
    assert uw1.get("/underwriting", params={"level": "huge"}).status_code == 422
    csv = uw1.get("/underwriting.csv")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf") and b"PG-1" in csv.content
    assert client_of("ua.adj").get("/underwriting").status_code == 403

    form = uw1.get("/underwriting/new")
    fields = {"csrf_token": csrf_from(form.text), "application_number": "PG-2", "product_code": "LIFE-20"}
    fields |= {"line": "life", "channel": "agent", "sum_insured": "100000", "age": "30", "phone": "13900001111"}
    done = uw1.post("/underwriting/new", data=fields, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/underwriting/PG-2"

    page = uw1.get("/underwriting/PG-1")
    assert page.status_code == 200 and 'data-factor="H-HYPERTENSION"' in page.text and 'id="decision-form"' in page.text
    token = csrf_from(page.text)
    decision = {"csrf_token": token, "outcome": "decline", "reason": "", "review_reasons": "风险过高"}
    refused = uw1.post("/underwriting/PG-1/decision", data=decision)
    assert refused.status_code == 422 and 'data-field="reason"' in refused.text and "风险过高" in refused.text
    decided = uw1.post(
        "/underwriting/PG-1/decision", data=decision | {"reason": "高龄且有高血压病史"}, follow_redirects=False
    )
    assert decided.status_code == 303
    page = sup.get("/underwriting/PG-1")
    assert 'data-outcome="decline"' in page.text and "高龄且有高血压病史" in page.text
    assert uw1.get("/underwriting/NOPE").status_code == 404

    rules = sup.get("/underwriting/rules")
    assert rules.status_code == 200 and 'data-factor="AGE-60"' in rules.text and 'id="rules-load"' not in rules.text
