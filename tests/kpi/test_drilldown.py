"""Every number leads to its records: on a demo-like data set (the demo generator's three insurers with their
claims, complaints and sweeps, plus the KPI tests' ACME with materials notices, supplements, a violation, a red
filing and breached clocks), every link of the dashboard — card, drill-table cell, light — opens a claim list
whose count equals the number the link shows."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from claimwatch.demo import jobs as demo_jobs
from claimwatch.demo.generator import DemoSpec
from claimwatch.demo.organisation import DEMO_PASSWORD
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import snapshot
from claimwatch.kpi.engine import Period
from claimwatch.sla import jobs as sla_jobs
from tests.apps import shared_app
from tests.kpi.conftest import KpiWorld
from tests.web.conftest import sign_in

_LINK = re.compile(r'<a href="(/claims\?[^"]+)"[^>]*?data-count="(\d+)"')
_TOTAL = re.compile(r'id="claims-summary" data-total="(\d+)"')


@dataclass(frozen=True)
class Demo:
    months: list[str]  # the last complete month and the two before it
    acme_quality: str


# The demo's twelve months and the instant its clocks are swept are fixed: which open clocks are yellow depends on
# how far the sweep is past the data's end (at real "now", on some days of a month none was).
WINDOW = (dt.date(2025, 12, 1), dt.date(2026, 11, 30))
SWEPT_AT = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def demo(kpi_world: KpiWorld) -> Demo:
    spec = DemoSpec(claims=240, seed=11, start=WINDOW[0], end=WINDOW[1])
    demo_jobs.setup(spec)
    demo_jobs.load_complaints(spec, SWEPT_AT)
    sla_jobs.sweep(now=SWEPT_AT)
    snapshot.take_snapshot(now=SWEPT_AT)
    start, end = spec.window()
    last = Period.containing(end)
    return Demo([p.label for p in last.trailing(3)], kpi_world.quality)


def _links(page: str) -> list[tuple[str, int]]:
    return [(html.unescape(url), int(count)) for url, count in _LINK.findall(page)]


def _listed(client: TestClient, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, (url, response.text[:500])
    found = _TOTAL.search(response.text)
    assert found, url
    return int(found.group(1))


def _check(client: TestClient, dashboard_url: str) -> list[tuple[str, int]]:
    page = client.get(dashboard_url)
    assert page.status_code == 200
    links = _links(page.text)
    assert links, dashboard_url
    # A list is fetched once per user and address (links repeat across pages and views); every link showing it
    # is compared with its count.
    seen: dict[str, int] = client.__dict__.setdefault("listed", {})
    for url, count in links:
        if url not in seen:
            seen[url] = _listed(client, url)
        assert seen[url] == count, f"{dashboard_url}: {url} lists {seen[url]}, not {count}"
    return links


def test_every_drillable_number_equals_its_list_for_insurers_and_the_regulator(demo: Demo, database):
    checked: list[tuple[str, int]] = []
    picc = TestClient(shared_app())
    sign_in(picc, "picc.qm", DEMO_PASSWORD)
    for month in demo.months:
        checked += _check(picc, f"/dashboard?period={month}")
    checked += _check(picc, f"/dashboard?period={demo.months[-1]}&by=region")
    checked += _check(picc, f"/dashboard?period={demo.months[-1]}&by=line")
    acme = TestClient(shared_app())
    sign_in(acme, demo.acme_quality)
    for month in ("2026-10", "2026-11"):
        checked += _check(acme, f"/dashboard?period={month}")
        checked += _check(acme, f"/dashboard?period={month}&by=org")
    # The check is not vacuous: every drillable KPI's numerator led somewhere, most to some claims.
    drillable = [kpi for kpi in kpi_loader.catalogue() if kpi.drill]
    assert {"closure_rate", "red_filings", "overdue_rate", "cycle_time", "small_timeliness"} <= {
        kpi.code for kpi in drillable
    }
    assert sum(1 for _, count in checked if count > 0) >= 30
    for light in ("red", "yellow"):
        assert any(f"light={light}" in url and count > 0 for url, count in checked), light
    for marker in ("filed_from=", "overdue", "cycle_over=", "materials=", "clock_outcome=met", "disputed=1"):
        assert any(marker in url and count > 0 for url, count in checked), marker

    # A regulator drills across insurers and into one (on the same demo: building it is most of the test's time).
    client = TestClient(shared_app())
    sign_in(client, "regulator", DEMO_PASSWORD)
    links = _check(client, f"/dashboard?period={demo.months[-1]}&by=tenant")
    assert any("tenant=" not in url and count > 0 for url, count in links)  # a card: every insurer
    # By insurer, the page leads to /benchmarks (no wide table); drilled into one insurer, its cells keep it.
    links = _check(client, f"/dashboard?period={demo.months[-1]}&tenant=PICC&by=region")
    assert any("tenant=PICC" in url and "region=" in url for url, _ in links)
