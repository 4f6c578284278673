"""The rating pages (/ratings…): the regulator's runs, one run's ranking with its breakdowns and downloads, approval,
deductions and the objections it decides; an insurer's own published result (its breakdown, never another
insurer's) and its objection. The rating's rules are the service's (test_rating.py, test_rating_api.py, on both
databases); the runs here are stored rows, so these tests need no KPI snapshot."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.supervision import methodology, service
from claimwatch.supervision.models import RatingResult, RatingRun
from claimwatch.todo import registry
from tests.apps import shared_app
from tests.factories import World
from tests.snapshots import Snapshot
from tests.web.conftest import csrf_from, sign_in

pytestmark = pytest.mark.sqlite_only  # the queries behind these pages are the service's, tested on both databases

REGULATOR = "cbirc.rating"
KPIS = ("cycle_time", "claim_acceptance_rate", "satisfaction", "small_timeliness")


@dataclass(frozen=True)
class RatingWorld:
    run: int  # the draft 2026-Q3 run
    previous: int  # the approved 2026-Q2 run
    results: dict[str, int]  # tenant code -> its result in the draft run
    deduction: int


def _indicators(base: float) -> list[dict[str, object]]:
    weights = (30, 20, 30, 20)
    found = []
    for index, (kpi, weight) in enumerate(zip(KPIS, weights, strict=True)):
        points = max(0.0, min(100.0, base - 4 * index))
        found.append(
            {"kpi": kpi, "value": round(base / 10 + index, 2), "basis": "", "points": points, "weight": weight,
             "contribution": round(points * weight / 100, 2)}
        )  # fmt: skip
    return found


def build_rating(world: World) -> RatingWorld:
    """Three insurers with a quality manager each (ACME, BBB) and an adjuster; methodology v1 loaded; an approved
    2026-Q2 run and a draft 2026-Q3 run of the three; a regulatory penalty deducted from BBB."""
    tenants = {
        code: world.tenant(code, name)
        for code, name in (("ACME", "示例保险"), ("BBB", "另一保险"), ("CCC", "第三保险"))
    }
    world.user(REGULATOR, Role.REGULATOR, None)
    world.user("acme.qm", Role.QUALITY_MANAGER, tenants["ACME"])
    world.user("bbb.qm", Role.QUALITY_MANAGER, tenants["BBB"])
    world.user("acme.adj", Role.ADJUSTER, tenants["ACME"])
    regulator = Principal(Role.REGULATOR, None, f"user:{REGULATOR}")
    scores = {
        "ACME": (Decimal("91.40"), "AA", 1),
        "BBB": (Decimal("78.05"), "BB", 2),
        "CCC": (Decimal("62.00"), "CC", 3),
    }
    bands = {1: "top 25 %", 2: "25–50 %", 3: "bottom 25 %"}
    with unit_of_work(TenantContext.system_context()) as session:
        method = methodology.add_version(session, regulator, methodology.DEFAULT_PATH.read_text(encoding="utf-8"))
        deduction = service.add_deduction(
            session, regulator, tenant_code="BBB", period="2026-Q3", kind="regulatory_penalty", points="6",
            reason="粤银保监罚决字〔2026〕12号", reference="2026-12",
        )  # fmt: skip
        runs = {}
        for period, status in (("2026-Q2", "approved"), ("2026-Q3", "draft")):
            run = RatingRun(methodology_id=method.id, period=period, level="insurer", status=status,
                            computed_by=f"user:{REGULATOR}")  # fmt: skip
            if status == "approved":
                run.approved_at = dt.datetime(2026, 7, 10, 2, tzinfo=dt.UTC)
                run.approved_by = f"user:{REGULATOR}"
                run.objections_until = dt.date(2026, 7, 25)
            session.add(run)
            session.flush()
            runs[period] = run.id
        results = {}
        for code, (score, grade, rank) in scores.items():
            for period in ("2026-Q2", "2026-Q3"):
                current = period == "2026-Q3"
                row = RatingResult(
                    run_id=runs[period], tenant_id=tenants[code].id, score=score if current else score - 3,
                    grade=grade, rank=rank, peers=3, rank_band=bands[rank], indicators=_indicators(float(score)),
                    deductions=[{"id": deduction.id, "kind": "regulatory_penalty", "points": 6.0,
                                 "reason": deduction.reason}] if code == "BBB" and current else [],
                    deduction_points=Decimal(6 if code == "BBB" and current else 0),
                    previous_score=score - 3 if current else None, previous_grade=grade if current else None,
                )  # fmt: skip
                session.add(row)
                session.flush()
                if current:
                    results[code] = row.id
        deduction_id = deduction.id
    return RatingWorld(runs["2026-Q3"], runs["2026-Q2"], results, deduction_id)


@pytest.fixture
def rated(world: World, db_snapshot: Snapshot) -> RatingWorld:
    return db_snapshot("supervision.rating_pages", lambda: build_rating(world))


@dataclass
class Signed:
    """A signed-in client that posts forms with its session's CSRF token (read from the first page it gets)."""

    client: TestClient
    token: str = ""

    def get(self, url: str, **kwargs: Any) -> Response:
        response = self.client.get(url, **kwargs)
        if not self.token and 'name="csrf_token"' in response.text:
            self.token = csrf_from(response.text)
        return response

    def post(self, url: str, data: dict[str, str]) -> Response:
        if not self.token:
            self.get("/ratings")
        return self.client.post(url, data=data | {"csrf_token": self.token}, follow_redirects=False)


def _client(username: str) -> Signed:
    client = TestClient(shared_app())
    sign_in(client, username)
    return Signed(client)


def test_regulator_runs_ranking_breakdown_and_downloads(rated: RatingWorld):
    client = _client(REGULATOR)
    overview = client.get("/ratings")
    assert overview.status_code == 200
    assert f'data-run="{rated.run}" data-status="draft"' in overview.text
    assert f'data-run="{rated.previous}" data-status="approved"' in overview.text
    assert 'data-code="service_rating" data-version="1" data-active="1"' in overview.text
    assert 'id="compute-form"' in overview.text

    page = client.get(f"/ratings/runs/{rated.run}")
    assert page.status_code == 200
    ranking = re.findall(r'<tr data-result="(\d+)" data-tenant="(\w+)"', page.text)
    assert [code for _, code in ranking] == ["ACME", "BBB", "CCC"]
    assert 'id="do-approve"' in page.text
    chart = json.loads(re.search(r'id="run-data">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert sum(chart["counts"]) == 3 and chart["counts"][18] == 1  # 91.40 in [90, 95)

    drawer = client.get(f"/ratings/results/{rated.results['BBB']}", headers={"HX-Request": "true"})
    assert drawer.status_code == 200 and "<html" not in drawer.text
    assert 'data-kind="regulatory_penalty"' in drawer.text and "粤银保监罚决字" in drawer.text

    csv = client.get(f"/ratings/runs/{rated.run}.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf") and "ACME" in csv.text
    xlsx = client.get(f"/ratings/runs/{rated.run}.xlsx?lang=en")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as book:
        strings = book.read("xl/sharedStrings.xml").decode()
    assert all(f"<t>{code}</t>" in strings for code in ("ACME", "BBB", "CCC")) and "insurer code" in strings


def test_approval_publishes_each_insurer_its_own_result_which_it_may_object_to(rated: RatingWorld):
    regulator = _client(REGULATOR)
    assert regulator.post(f"/ratings/runs/{rated.run}/approve", {}).status_code == 303
    assert 'id="run-status" data-status="approved"' in regulator.get(f"/ratings/runs/{rated.run}").text
    again = regulator.post(f"/ratings/runs/{rated.run}/approve", {})
    assert again.status_code == 409 and 'id="err-status"' in again.text

    acme = _client("acme.qm")
    own = acme.get("/ratings?lang=en")
    assert f'id="own-result" data-result="{rated.results["ACME"]}"' in own.text
    assert 'id="own-grade">AA<' in own.text and 'id="own-band">top 25 %<' in own.text
    assert "+3.00" in own.text and 'id="objection-form"' in own.text
    assert "BBB" not in own.text and "另一保险" not in own.text  # no other insurer, not even its name
    assert acme.get(f"/ratings?result={rated.results['BBB']}").status_code == 404
    assert acme.get(f"/ratings/results/{rated.results['BBB']}").status_code == 404
    assert acme.get(f"/ratings/runs/{rated.run}").status_code == 404
    assert acme.get(f"/ratings/runs/{rated.run}.csv").status_code == 404
    assert acme.post(f"/ratings/results/{rated.results['BBB']}/objections", {"reason": "x"}).status_code == 404
    assert _client("acme.adj").get("/ratings").status_code == 403

    bbb = _client("bbb.qm")
    url = f"/ratings/results/{rated.results['BBB']}/objections"
    empty = bbb.post(url, {"reason": "  "})
    assert empty.status_code == 422 and 'id="err-reason"' in empty.text
    assert bbb.post(url, {"reason": "处罚已于本季度前整改完毕，不应重复扣分"}).status_code == 303
    mine = bbb.get("/ratings")
    assert 'data-status="open"' in mine.text and 'id="objection-form"' not in mine.text

    with unit_of_work(TenantContext.regulator()) as session:
        principal = Principal(Role.REGULATOR, None, f"user:{REGULATOR}")
        section = registry.section(session, principal, "rating-objections", "zh")
    assert section.count == 1 and section.items[0].title == "BBB · 2026-Q3"

    listing = regulator.get("/ratings/objections")
    objection = re.search(r'data-objection="(\d+)" data-status="open" data-tenant="BBB"', listing.text)
    assert objection, listing.text
    decide = f"/ratings/objections/{objection.group(1)}/decide"
    no_score = regulator.post(decide, {"outcome": "upheld", "note": "扣分重复", "revised_score": ""})
    assert no_score.status_code == 422 and 'id="err-revised_score"' in no_score.text
    done = regulator.post(decide, {"outcome": "upheld", "note": "扣分重复，予以更正", "revised_score": "84.05"})
    assert done.status_code == 303
    after = bbb.get("/ratings")
    assert 'id="own-revised"' in after.text and "84.05 BBB" in after.text  # graded by the methodology's bands


def test_deductions_entered_refused_and_withdrawn(rated: RatingWorld):
    regulator = _client(REGULATOR)
    page = "/ratings/deductions"
    listing = regulator.get(page)
    assert f'data-deduction="{rated.deduction}" data-tenant="BBB"' in listing.text
    data = {"tenant": "CCC", "period": "2026-Q3", "kind": "major_complaint", "points": "500", "reason": "重大投诉"}
    refused = regulator.post(page, data)
    assert refused.status_code == 422 and 'id="err-points"' in refused.text
    assert 'value="重大投诉"' not in refused.text and "重大投诉</textarea>" in refused.text  # the form keeps its text
    assert regulator.post(page, data | {"points": "4"}).status_code == 303
    assert 'data-tenant="CCC"' in regulator.get(page).text
    withdraw = f"/ratings/deductions/{rated.deduction}/withdraw"
    assert regulator.post(withdraw, {"reason": "处罚决定已撤销"}).status_code == 303
    assert f'data-deduction="{rated.deduction}" data-tenant="BBB" class="withdrawn"' in regulator.get(page).text
    assert _client("acme.qm").get(page).status_code == 404


def test_methodology_and_compute_refusals_name_what_failed(rated: RatingWorld):
    regulator = _client(REGULATOR)
    text = methodology.DEFAULT_PATH.read_text(encoding="utf-8").replace("weight: 15", "weight: 16", 1)
    bad = regulator.post("/ratings/methodologies", {"text": text})
    assert bad.status_code == 422 and 'class="methodology-form" open' in bad.text
    assert "100" in bad.text  # the file:line detail says the weights do not sum to 100
    period = regulator.post("/ratings/runs", {"period": "2026-Q9", "level": "insurer"})
    assert period.status_code == 422 and 'id="err-period"' in period.text
