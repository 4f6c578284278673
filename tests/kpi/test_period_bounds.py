"""Periods at the calendar's ends (year 0, 9999-Q4) are bad input: 422 naming ``period`` on the API, the
default period on the dashboard; never a server error (issue 11, found by schema fuzzing)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.kpi.engine import BadPeriod, Period
from tests.factories import World
from tests.kpi.conftest import take
from tests.web.conftest import sign_in

EDGES = ["0000-01", "0001-01", "9999-Q4", "9999-12", "1899-12", "3000-01"]


@pytest.mark.parametrize("text", EDGES)
def test_periods_outside_the_handled_years_are_refused(text: str):
    with pytest.raises(BadPeriod):
        Period.parse(text)


def test_periods_inside_them_still_parse():
    assert Period.parse("1900-01").label == "1900-01"
    assert Period.parse("2999-q4").end.year == 3000


def test_api_and_dashboard_refuse_them_without_a_server_error(world: World, client: TestClient):
    acme = world.tenant("ACME")
    key = {"X-API-Key": world.api_key(acme, Role.QUALITY_MANAGER)}
    world.user("qian.quality", Role.QUALITY_MANAGER, acme)
    take()
    for text in EDGES:
        for path in ("/api/v1/kpi", "/api/v1/kpi/alerts"):
            refused = client.get(path, params={"period": text}, headers=key)
            assert refused.status_code == 422, (path, text, refused.text)
            assert refused.json()["problems"][0]["field"] == "period", refused.json()
    sign_in(client, "qian.quality")
    page = client.get("/dashboard", params={"period": "0000-01"})
    assert page.status_code == 200  # a bad period on the page falls back to the current one
