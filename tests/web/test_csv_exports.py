"""Every CSV export is for a spreadsheet: it starts with a UTF-8 BOM (so Excel reads the Chinese right) and its
headers are in the reader's language. The CSV routes are found in the app itself, so a new export without a
case here fails."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.apps import shared_app
from tests.kpi.conftest import KpiWorld, kpi_world, snapshot_dir, take  # noqa: F401 - fixtures
from tests.web.conftest import sign_in

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why

BOM = b"\xef\xbb\xbf"
CJK = re.compile(r"[\u4e00-\u9fff]")
# The JSON API routes that also answer ?format=csv.
FORMAT_CSV_ROUTES = {"/api/v1/kpi": {"period": "2026-11"}, "/api/v1/sla/filings": {}}
# Query parameters a CSV route needs to answer (others take their defaults).
PARAMS: dict[str, dict[str, str]] = {
    "/dashboard.csv": {"period": "2026-11"},
    "/surveys/results.csv": {"from": "2026-09-01", "to": "2026-11-30"},
}
# Exports of one record named in the path, checked where such a record is made.
ELSEWHERE = {
    "/disclosure/{tenant_code}/{quarter}.csv": "tests/reports/test_disclosure.py",
    "/api/v1/ratings/runs/{run_id}/export.csv": "tests/supervision/test_rating_api.py",
    "/ratings/runs/{run_id}.csv": "tests/supervision/test_rating_pages.py",
}
# Exports whose headers are still codes, owned elsewhere (issue 12: kpi.service.to_csv). Remove when done.
CODE_HEADERS = frozenset({"/dashboard.csv", "/api/v1/kpi"})


def _paths(routes: list, prefix: str = "") -> set[str]:  # type: ignore[type-arg]
    """Every route's path, included routers too (whichever way this FastAPI version keeps them)."""
    found: set[str] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            found.add(prefix + route.path)
        elif hasattr(route, "original_router"):
            found |= _paths(route.original_router.routes, prefix + route.include_context.prefix)
    return found


def _csv_paths() -> list[str]:
    found = {path for path in _paths(shared_app().routes) if path.endswith(".csv")}
    assert {"/dashboard.csv", "/surveys/results.csv"} <= found  # the discovery works
    return sorted((found | set(FORMAT_CSV_ROUTES)) - set(ELSEWHERE))


def _fetch(kpi_world: KpiWorld, path: str, locale: str) -> bytes:  # noqa: F811
    """The export as the first of the regulator, the quality manager and the supervisor who may have it."""
    params = PARAMS.get(path, {}) | FORMAT_CSV_ROUTES.get(path, {}) | {"lang": locale}
    if path in FORMAT_CSV_ROUTES:
        params["format"] = "csv"
    for user in (kpi_world.regulator, kpi_world.quality, kpi_world.supervisor):
        client = TestClient(shared_app())
        sign_in(client, user)
        response = client.get(path, params=params)
        if response.status_code == 200:
            assert response.headers["content-type"].startswith("text/csv"), path
            return response.content
        assert response.status_code in (403, 404), (path, user, response.status_code, response.text[:300])
    raise AssertionError(f"no user could export {path}")


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_csv_export_has_a_bom_and_headers_in_the_readers_language(kpi_world: KpiWorld, locale: str):  # noqa: F811
    take()
    for path in _csv_paths():
        content = _fetch(kpi_world, path, locale)
        assert content.startswith(BOM), f"{path}: no UTF-8 BOM"
        text = content.decode("utf-8-sig")
        header = next(csv.reader(io.StringIO(text)))
        assert header and all(header), path
        if path in CODE_HEADERS:
            continue
        if locale == "zh":
            assert all(CJK.search(name) for name in header), (path, header)
        else:
            assert not any(CJK.search(name) for name in header), (path, header)
            assert not any("_" in name for name in header), (path, header)  # words, not codes
