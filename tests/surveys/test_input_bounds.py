"""Strict scores and bounded result periods (issue 11): ``{"overall": true}`` or ``"7"`` is not a score, and a
period at the calendar's ends is refused naming ``from``/``to`` instead of overflowing into a server error."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.surveys import jobs
from claimwatch.surveys.models import SurveyResponse
from tests.factories import World
from tests.surveys.conftest import close_claim, now, token_for

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"overall": True}, "overall"),
        ({"overall": False}, "overall"),
        ({"overall": "7"}, "overall"),
        ({"overall": 7.0}, "overall"),
        ({"overall": 7, "timeliness": True}, "timeliness"),
        ({"overall": 7, "attitude": "10"}, "attitude"),
    ],
)
def test_a_score_is_a_whole_json_number(world: World, client: TestClient, body: dict, field: str):  # type: ignore[type-arg]
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, "CLM-2026-0001", now() - dt.timedelta(hours=3))
    assert jobs.issue_due().claims == 1
    token = token_for(acme, "CLM-2026-0001")
    refused = client.post(f"/api/v1/public/surveys/{token}", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"][0]["field"] == field
    with unit_of_work(TenantContext(tenant_id=acme.id, read_only=True)) as session:
        assert session.execute(select(func.count()).select_from(SurveyResponse)).scalar_one() == 0
    assert client.post(f"/api/v1/public/surveys/{token}", json={"overall": 7}).status_code == 201


def test_result_periods_at_the_calendars_ends_are_refused(world: World, client: TestClient):
    key = {"X-API-Key": world.api_key(world.tenant("ACME"), Role.QUALITY_MANAGER)}
    for params, field in (
        ({"from": "0001-01-01", "to": "0001-01-31"}, "from"),
        ({"from": "9999-12-01", "to": "9999-12-31"}, "from"),
        ({"from": "2999-12-01", "to": "3000-01-01"}, "to"),
        ({"from": "1899-12-01", "to": "1899-12-31"}, "from"),
    ):
        response = client.get("/api/v1/surveys/results", params=params, headers=key)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["problems"][0]["field"] == field
    edge = client.get("/api/v1/surveys/results", params={"from": "2999-12-01", "to": "2999-12-31"}, headers=key)
    assert edge.status_code == 200, edge.text


def test_results_document_their_parameters():
    from tests.apps import shared_app

    parameters = shared_app().openapi()["paths"]["/api/v1/surveys/results"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == ["from", "to", "by", "type", "tenant", "drill"]
