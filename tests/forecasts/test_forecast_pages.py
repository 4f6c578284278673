"""The forecast pages over the queries the API tests run on both databases (so SQLite only here): the forecast
with its chart data, MAPE and the peak days with their button; a run refused naming ``history``; peak mode proposed
from the page; the staffing plan exported (BOM, headers in the reader's language); the roster page with its form
(a bad value refused, what was typed kept) and the CSV import listing rejected rows."""

from __future__ import annotations

import json
import re

import pytest

from tests.forecasts.test_staffing import Fc, client_of, fc  # noqa: F401 - the fixture
from tests.web.conftest import csrf_from

pytestmark = pytest.mark.sqlite_only


def test_forecast_and_roster_pages(fc: Fc) -> None:  # noqa: F811 - the fixture
    sup = client_of("fa.sup")
    page = sup.get("/forecasts", params={"team": "general"})
    assert page.status_code == 200 and 'id="forecast-mape" data-mape="' in page.text
    chart = json.loads(re.search(r'id="forecast-data">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert len(chart["forecast"]["mean"]) == 56 and len(chart["backtest"]["actual"]) == 56
    assert chart["staffing"]["peak"].count(True) == len(fc.peak_days)
    assert f'data-from="{fc.peak_days[0]}"' in page.text and 'class="inline peak-propose"' in page.text
    assert sup.get("/forecasts", params={"team": "nobody"}).status_code == 422
    assert sup.get("/forecasts", params={"series": "claims"}).status_code == 200

    token = csrf_from(page.text)
    refused = sup.post("/forecasts/run", data={"csrf_token": token, "series": "service_requests", "team": "documents"})
    assert refused.status_code == 422 and 'data-field="history"' in refused.text
    day = fc.peak_days[-1]
    proposed = sup.post(
        "/forecasts/peak",
        data={"csrf_token": token, "team": "general", "first_day": day, "last_day": day},
        follow_redirects=False,
    )
    assert proposed.status_code == 303
    quiet = {"csrf_token": token, "team": "general", "first_day": fc.quiet_day, "last_day": fc.quiet_day}
    assert 'data-field="first_day"' in sup.post("/forecasts/peak", data=quiet).text

    csv = sup.get("/forecasts/staffing.csv", params={"team": "general", "lang": "zh"})
    assert csv.content.startswith(b"\xef\xbb\xbf") and csv.content.count(b"\n") == 57
    assert sup.get("/forecasts/staffing.xlsx", params={"team": "general"}).status_code == 200

    roster = sup.get("/forecasts/roster", params={"team": "general"})
    assert roster.status_code == 200 and f'data-day="{fc.peak_days[0]}"' in roster.text
    token = csrf_from(roster.text)
    bad = sup.post("/forecasts/roster", data={"csrf_token": token, "team": "general", "day": day, "staff": "-2"})
    assert bad.status_code == 422 and 'data-field="staff"' in bad.text and 'value="-2"' in bad.text
    done = sup.post(
        "/forecasts/roster",
        data={"csrf_token": token, "team": "general", "day": day, "staff": "2", "hours": "8"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    upload = {"file": ("roster.csv", "班组,日期,人数\nnobody,2030-01-07,3\n".encode(), "text/csv")}
    rejected = sup.post("/forecasts/roster/import", data={"csrf_token": token}, files=upload)
    assert rejected.status_code == 422 and 'data-line="2"' in rejected.text
    assert client_of("reg").get("/forecasts").status_code == 403
