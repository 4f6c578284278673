"""Benchmarks between insurers: the statistics (quartiles, funnel limits, ranks, bands) as pure functions, one KPI
against the industry over a synthetic market in DuckDB (no database), and the regulator's pages with their CSV and
XLSX (the pages' queries are the snapshot's, run above without a database: SQLite only)."""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi.engine import Period
from claimwatch.supervision import benchmarks as bm
from claimwatch.supervision.models import RatingMethodology, RatingResult, RatingRun
from tests.apps import shared_app
from tests.factories import World
from tests.supervision import market
from tests.web.conftest import sign_in

TENANTS = [(1, "AAA", "甲保险"), (2, "BBB", "乙保险"), (3, "CCC", "丙保险"), (4, "DDD", "丁保险"), (5, "EEE", "戊保险")]
NOW = dt.datetime(2026, 12, 5, 10)  # noqa: DTZ001 - snapshot wall time
NOVEMBER = Period.parse("2026-11")


def _kpi(code: str):
    return kpi_loader.by_code()[code]


def _figures(code: str, period: Period) -> market.Month | None:
    """Five insurers of different sizes; CCC's complaint rate far above the others at a large volume (an outlier
    beyond 99.8 %), EEE without data."""
    return {
        "AAA": market.Month(small=(98, 100), complaints=5, policies=100_000, cycle_days=(4.0, 6.0)),
        "BBB": market.Month(small=(190, 200), complaints=20, policies=200_000, cycle_days=(8.0, 10.0)),
        "CCC": market.Month(small=(450, 500), complaints=160, policies=400_000, cycle_days=(12.0, 14.0, 16.0)),
        "DDD": market.Month(small=(48, 50), complaints=2, policies=20_000, cycle_days=(6.0,)),
    }.get(code)


# -- pure statistics -----------------------------------------------------------------------------------------


def test_quartiles_are_numpys_linear_ones():
    found = bm.summarise([7.0, 1.0, 3.0, None, 5.0])
    assert found is not None and found.box() == [1.0, 2.5, 4.0, 5.5, 7.0]  # numpy.percentile([1,3,5,7], [25,50,75])
    assert bm.summarise([None]) is None
    single = bm.summarise([2.0])
    assert single is not None and single.box() == [2.0] * 5


def test_funnel_limits_for_a_rate_and_a_mean():
    timeliness = _kpi("small_timeliness")  # %
    low, high = bm.limits(timeliness, 90.0, 100, bm.Z95)  # type: ignore[misc]
    half = 100 * 1.959964 * math.sqrt(0.9 * 0.1 / 100)
    assert low == pytest.approx(90 - half) and high == pytest.approx(90 + half)
    assert bm.limits(timeliness, 99.0, 4, bm.Z998)[1] == 100.0  # type: ignore[index] # never beyond 100 %
    complaints = _kpi("complaints_per_10k_policies")
    low, high = bm.limits(complaints, 2.0, 50_000, bm.Z998)  # type: ignore[misc]
    p = 2.0 / 10_000
    assert high == pytest.approx(10_000 * (p + 3.090232 * math.sqrt(p * (1 - p) / 50_000)))
    cycle = _kpi("cycle_time")  # days: mean ± z·σ/√n
    assert bm.limits(cycle, 10.0, 25, bm.Z95, sigma=5.0) == pytest.approx((10 - 1.959964, 10 + 1.959964))
    assert bm.limits(cycle, 10.0, 25, bm.Z95) is None  # no σ, no limits
    assert bm.limits(_kpi("red_filings"), 3.0, 10, bm.Z95) is None  # a count has no funnel
    assert bm.funnel_position(timeliness, 70.0, 90.0, 400) == ("beyond_998", "worse")
    assert bm.funnel_position(timeliness, 93.5, 90.0, 400) == ("beyond_95", "better")  # ± 2.94 and ± 4.63
    assert bm.funnel_position(timeliness, 91.0, 90.0, 400) == ("within", None)
    assert bm.funnel_position(complaints, 0.5, 2.0, 400_000)[1] == "better"  # lower is better
    curve = bm.funnel_curve(timeliness, 90.0, 50, 500)
    assert len(curve) == bm.FUNNEL_POINTS and curve[0][1] < curve[-1][1] < 90 < curve[-1][2] < curve[0][2]


def test_ranks_share_ties_and_bands_follow_the_better_direction():
    higher, lower = _kpi("small_timeliness"), _kpi("cycle_time")
    values = {"a": 90.0, "b": 95.0, "c": 95.0, "d": None, "e": 80.0}
    assert bm.ranks(higher, values) == {"b": 1, "c": 1, "a": 3, "e": 4}
    assert bm.ranks(lower, values) == {"e": 1, "a": 2, "b": 3, "c": 3}
    summary = bm.summarise([80.0, 90.0, 100.0, 110.0])  # Q1 87.5, median 95, Q3 102.5
    assert [bm.band(higher, v, summary) for v in (105.0, 96.0, 90.0, 80.0)] == ["top", "second", "third", "bottom"]
    assert [bm.band(lower, v, summary) for v in (85.0, 93.0, 100.0, 110.0)] == ["top", "second", "third", "bottom"]
    assert bm.band(higher, None, summary) is None


# -- one KPI against the industry, from a snapshot's tables (DuckDB, no database) ------------------------------


def test_every_insurer_against_the_industry_with_its_funnel_and_trend():
    con = market.connection(TENANTS, NOVEMBER.trailing(12), _figures)
    complaints = _kpi("complaints_per_10k_policies")
    result = bm.benchmark(con, complaints, NOVEMBER, NOW, TENANTS)
    assert [(r.code, r.rank) for r in result.rows] == [("AAA", 1), ("BBB", 2), ("DDD", 2), ("CCC", 4), ("EEE", None)]
    assert result.industry == pytest.approx(10_000 * 187 / 720_000)  # pooled: every complaint over every policy
    assert result.summary is not None and result.summary.median == pytest.approx(1.0)  # of 0.5, 1.0, 1.0, 4.0
    ccc = result.row_for(3)
    assert ccc is not None and (ccc.funnel, ccc.direction, ccc.band) == ("beyond_998", "worse", "bottom")
    assert ccc.denominator == 400_000 and ccc.vs_median == pytest.approx(3.0)
    assert result.row_for(5).value is None and result.peers == 4  # type: ignore[union-attr]
    assert result.curve and result.curve[0][0] < 20_000 < 400_000 < result.curve[-1][0]

    cycle = bm.benchmark(con, _kpi("cycle_time"), NOVEMBER, NOW, TENANTS)
    every = [4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 6.0]
    mean = sum(every) / len(every)
    assert cycle.sigma == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in every) / (len(every) - 1)))
    assert [r.code for r in cycle.rows[:2]] == ["AAA", "DDD"]  # 5 and 6 days: lower is better

    trend = bm.trends(con, complaints, NOVEMBER.trailing(12), NOW, TENANTS)
    assert trend.periods[-1] == "2026-11" and len(trend.periods) == 12
    assert trend.series[3] == [4.0] * 12 and trend.series[5] == [None] * 12
    assert trend.median == [pytest.approx(1.0)] * 12

    rows = bm.profile(con, 1, [complaints, _kpi("small_timeliness"), _kpi("satisfaction")], NOVEMBER, NOW, TENANTS)
    by_code = {row.kpi.code: row for row in rows}
    assert (by_code["complaints_per_10k_policies"].rank, by_code["complaints_per_10k_policies"].peers) == (1, 4)
    assert by_code["small_timeliness"].band == "top" and by_code["small_timeliness"].light == "meets"
    assert by_code["satisfaction"].value is None and by_code["satisfaction"].peers == 0


# -- the pages -----------------------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_the_regulators_benchmark_pages_and_downloads(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp_path / "snapshot"))
    get_settings.cache_clear()
    ids = {code: world.tenant(code, name).id for _, code, name in TENANTS[:4]}
    regulator = world.user("bm.regulator", Role.REGULATOR, None)
    quality = world.user("bm.qm", Role.QUALITY_MANAGER, world.tenant("EEE", "戊保险"))
    tenants = [(tenant_id, code, code) for code, tenant_id in ids.items()]
    market.write(
        tmp_path / "snapshot", tenants, NOVEMBER.trailing(12), _figures, dt.datetime(2026, 12, 5, 2, tzinfo=dt.UTC)
    )
    with unit_of_work(TenantContext.system_context()) as session:  # an approved rating of AAA for its history
        method = RatingMethodology(
            code="m", version=1, title="m", body="", sha256="0" * 64, active=True, created_by="t"
        )
        session.add(method)
        session.flush()
        run = RatingRun(methodology_id=method.id, period="2026-Q3", level="insurer", status="approved", computed_by="t")
        session.add(run)
        session.flush()
        session.add(RatingResult(run_id=run.id, tenant_id=ids["AAA"], score=Decimal("91.5"), grade="AA", rank=1,
                                 peers=4, rank_band="top 25 %"))  # fmt: skip
    client = TestClient(shared_app())
    sign_in(client, regulator)
    page = client.get("/benchmarks?kpi=complaints_per_10k_policies&period=2026-11&lang=en")
    assert page.status_code == 200
    ranking = page.text[page.text.index('id="ranking-table"') :]
    order = [ranking.index(f'data-insurer="{code}"') for code in ("AAA", "BBB", "DDD", "CCC", "EEE")]
    assert order == sorted(order)
    assert 'data-insurer="CCC" data-rank="4" class="funnel-beyond_998 funnel-worse"' in ranking
    assert 'id="benchmark-data"' in page.text and '"box": [' in page.text and '"curve": [[' in page.text

    csv = client.get("/benchmarks.csv?kpi=complaints_per_10k_policies&period=2026-11&lang=en")
    assert csv.status_code == 200 and csv.text.startswith("\ufeffRank,Insurer code,Insurer,Indicator")
    assert "4,CCC,丙保险,Complaints per 10 000 policies,2026-11,4.0,400000.0" in csv.text
    xlsx = client.get("/benchmarks.xlsx?kpi=cycle_time&period=2026-Q4")
    assert xlsx.status_code == 200 and "benchmark-cycle_time-2026-Q4.xlsx" in xlsx.headers["content-disposition"]
    assert {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"} <= set(
        zipfile.ZipFile(io.BytesIO(xlsx.content)).namelist()
    )

    api = client.get("/api/v1/benchmarks?kpi=complaints_per_10k_policies&period=2026-11")
    assert api.status_code == 200, api.text
    body = api.json()
    assert [row["insurer"] for row in body["insurers"]][:5] == ["AAA", "BBB", "DDD", "CCC", "EEE"]
    ccc = next(row for row in body["insurers"] if row["insurer"] == "CCC")
    assert (ccc["rank"], ccc["funnel"], ccc["direction"]) == (4, "beyond_998", "worse")
    assert body["summary"]["q1"] <= body["summary"]["median"] <= body["summary"]["q3"]
    assert len(body["trend"]["periods"]) == 12 and "AAA" in body["trend"]["insurers"]
    unknown = client.get("/api/v1/benchmarks?kpi=no_such_kpi")
    assert unknown.status_code == 422 and "no_such_kpi" in unknown.text

    profile = client.get("/benchmarks/insurers/AAA?period=2026-11&lang=en")
    assert profile.status_code == 200
    assert '<tr data-period="2026-Q3"><td>2026-Q3</td><td class="n">91.50' in profile.text
    assert 'data-kpi="small_timeliness" data-band="top"' in profile.text and 'id="no-standing"' in profile.text
    assert client.get("/benchmarks/insurers/NOPE").status_code == 404

    # The dashboard by insurer: the wide table gave way to the benchmarks.
    dashboard = client.get("/dashboard?period=2026-11&by=tenant").text
    assert 'id="benchmarks-link"' in dashboard and 'href="/benchmarks?period=2026-11"' in dashboard
    assert 'id="drill-table"' not in dashboard
    assert 'id="drill-table"' in client.get("/dashboard?period=2026-11&by=region").text

    client.cookies.clear()
    sign_in(client, quality)  # an insurer sees no other insurer's figures
    assert client.get("/benchmarks").status_code == 403
    assert client.get("/benchmarks.csv").status_code == 403
    assert client.get("/benchmarks/insurers/AAA").status_code == 403
    assert client.get("/api/v1/benchmarks?kpi=cycle_time").status_code == 403
    get_settings.cache_clear()
