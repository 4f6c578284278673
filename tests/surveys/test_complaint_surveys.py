"""Surveys after a complaint closes: to the complainant (who may have no claim), once, copied facts, the
link in the outbox masked; withdrawn complaints get none; results split claims from complaints."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.surveys import jobs
from tests.factories import TenantHandle, World
from tests.surveys.conftest import close_claim, invitations, link_token, now, surveys, token_for
from tests.web.conftest import sign_in


def _complaint(client: TestClient, tenant: TenantHandle, key: str, received: dt.datetime, **extra: Any) -> str:
    body: dict[str, Any] = {
        "channel": "hotline",
        "received_at": received.isoformat(),
        "org_code": tenant.branch_code,
        "line": "motor",
        "region_code": "440000",
        "complainant": {"name": "赵六", "phone": "13700001111"},
        "category": "claims",
        "subject": "理赔太慢",
        "description": "报案两周仍未结案。",
    } | extra
    response = client.post("/api/v1/complaints", json=body, headers={"X-API-Key": key})
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def _decide_and_close(client: TestClient, key: str, number: str, decided: dt.datetime, closed: dt.datetime) -> None:
    decision = {
        "outcome": "partly_upheld",
        "facts": "查勘延误两天",
        "basis": "服务承诺",
        "at": decided.isoformat(),
    }
    response = client.post(f"/api/v1/complaints/{number}/decide", json=decision, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    response = client.post(
        f"/api/v1/complaints/{number}/close", json={"at": closed.isoformat()}, headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text


def test_a_closed_complaint_gets_one_survey_a_withdrawn_one_none(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    key = world.api_key(acme, Role.COMPLAINT_HANDLER)
    received = now() - dt.timedelta(days=2)
    closed = now() - dt.timedelta(hours=3)
    number = _complaint(client, acme, key, received)
    _decide_and_close(client, key, number, received + dt.timedelta(hours=5), closed)
    withdrawn = _complaint(client, acme, key, received, subject="撤回的投诉")
    response = client.post(
        f"/api/v1/complaints/{withdrawn}/withdraw",
        json={"reason": "客户撤回", "at": closed.isoformat()},
        headers={"X-API-Key": key},
    )
    assert response.status_code == 200, response.text

    early = jobs.issue_due(now=closed + dt.timedelta(hours=1))
    assert early.complaints == 0
    result = jobs.issue_due()
    assert (result.claims, result.complaints, result.unreachable) == (0, 1, 0)
    assert jobs.issue_due().complaints == 0

    (survey,) = surveys(acme)
    assert survey.subject_key == f"complaint:{survey.complaint_id}"
    assert (survey.subject_type, survey.reference, survey.line, survey.region_code) == (
        "complaint",
        number,
        "motor",
        "440000",
    )
    assert survey.claim_id is None and survey.org_unit_id is not None
    assert survey.closed_at == closed

    (message,) = invitations(acme)
    assert message.complaint_id == survey.complaint_id and message.claim_id is None
    assert message.reference == number and message.channel == "sms"
    token = link_token(message)
    assert token not in message.body and "赵*" in message.body and "投诉" in message.subject

    page = client.get(f"/survey/{token}")
    assert page.status_code == 200
    answered = client.post(f"/api/v1/public/surveys/{token}", json={"overall": 3, "attitude": 2})
    assert answered.status_code == 201, answered.text
    shown = client.get(f"/api/v1/complaints/{number}", headers={"X-API-Key": key})
    assert shown.status_code == 200 and token not in shown.text


def test_results_split_claims_from_complaints(world: World, client: TestClient):
    acme = world.tenant("ACME", "示例保险")
    key = world.api_key(acme, Role.COMPLAINT_HANDLER)
    received = now() - dt.timedelta(days=2)
    number = _complaint(client, acme, key, received)
    _decide_and_close(client, key, number, received + dt.timedelta(hours=5), now() - dt.timedelta(hours=3))
    close_claim(client, acme, "C-1", now() - dt.timedelta(hours=4))
    assert jobs.issue_due().issued == 2
    answer = {"overall": 3, "comment": "处理太慢"}
    assert client.post(f"/api/v1/public/surveys/{token_for(acme, number)}", json=answer).status_code == 201
    answer = {"overall": 10, "comment": "很满意"}
    assert client.post(f"/api/v1/public/surveys/{token_for(acme, 'C-1')}", json=answer).status_code == 201

    headers = {"X-API-Key": world.api_key(acme, Role.QUALITY_MANAGER)}
    by_type = client.get("/api/v1/surveys/results", params={"by": "subject_type"}, headers=headers).json()
    assert sorted((r["key"], r["sent"], r["mean_overall"]) for r in by_type["rows"]) == [
        ("claim", 1, 10.0),
        ("complaint", 1, 3.0),
    ]
    # Read against how the case ended: the claim closed (paid), the complaint partly upheld.
    by_outcome = client.get("/api/v1/surveys/results", params={"by": "outcome"}, headers=headers).json()
    assert sorted((r["key"], r["label"], r["mean_overall"]) for r in by_outcome["rows"]) == [
        ("closed", "结案赔付", 10.0),
        ("partly_upheld", "投诉部分成立", 3.0),
    ]
    complaints_only = client.get("/api/v1/surveys/results", params={"type": "complaint"}, headers=headers).json()
    assert complaints_only["total"]["sent"] == 1 and complaints_only["total"]["detractors"] == 1.0

    # On the page, each answer's case links to its own screen: a complaint to the complaint page.
    sign_in(client, world.user("acme.qm", Role.QUALITY_MANAGER, acme))
    page = client.get("/surveys/results", params={"by": "subject_type"}).text
    assert f'href="/complaints/{number}"' in page and 'href="/claims/C-1"' in page
