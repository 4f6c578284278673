"""The rating through its API and command line, on both databases: a methodology version, deductions, runs
computed from a (synthetic) KPI snapshot, approval, what an insurer may see of them, objections and their
decision, exports, the audit trail and the notices; and the refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from claimwatch.audit.models import AuditEntry
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli import app as cli_app
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict
from claimwatch.notify.models import StaffNotification
from claimwatch.supervision import methodology, service
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.snapshots import Snapshot
from tests.supervision import rating_world
from tests.web.conftest import sign_in

TEST_METHODOLOGY = methodology.DEFAULT_PATH.read_text(encoding="utf-8").replace("min_claims: 30", "min_claims: 10")
Q1, Q2 = dt.date(2026, 1, 1), dt.date(2026, 4, 1)


@dataclass(frozen=True)
class Ratings:
    a: TenantHandle
    b: TenantHandle
    c: TenantHandle
    regulator: str
    quality_a: str
    adjuster_a: str


def build(world: World) -> Ratings:
    a, b, c = world.tenant("RA", "甲保险"), world.tenant("RB", "乙保险"), world.tenant("RC", "丙保险")
    found = Ratings(
        a,
        b,
        c,
        world.user("reg", Role.REGULATOR, None),
        world.user("qa", Role.QUALITY_MANAGER, a),
        world.user("adj", Role.ADJUSTER, a),
    )
    with unit_of_work(TenantContext.system_context()) as session:
        methodology.add_version(session, regulator_principal(), TEST_METHODOLOGY, "test.yaml")
    return found


def regulator_principal() -> Principal:
    return Principal(role=Role.REGULATOR, tenant_id=None, actor="test:regulator")


@pytest.fixture
def ratings(world: World, db_snapshot: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ratings]:
    found = db_snapshot("supervision.ratings", lambda: build(world))
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp_path / "snapshot"))
    get_settings.cache_clear()
    rows: rating_world.Rows = {}
    for quarter in (Q1, Q2):
        rating_world.unit_rows(rows, found.a.id, quarter, 0.9)
        rating_world.unit_rows(rows, found.b.id, quarter, 0.6)
        rating_world.unit_rows(rows, found.c.id, quarter, 0.2 if quarter == Q2 else 0.8)
    tenants = [(t.id, t.code) for t in (found.a, found.b, found.c)]
    rating_world.publish_snapshot(tenants, rows, dt.datetime(2026, 7, 3, 2, tzinfo=dt.UTC))
    yield found
    get_settings.cache_clear()


def client_of(username: str) -> TestClient:
    """Signed in; its API writes come from this site's origin (the cookie's CSRF guard lets them through)."""
    client = TestClient(shared_app(), headers={"Origin": "http://testserver"})
    sign_in(client, username)
    return client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_rate_approve_see_own_object_decide(ratings: Ratings) -> None:
    reg, qa = client_of(ratings.regulator), client_of(ratings.quality_a)
    deduction = ok(
        reg.post(
            "/api/v1/ratings/deductions",
            json={
                "tenant": "RB",
                "period": "2026-Q2",
                "kind": "regulatory_penalty",
                "points": "5",
                "reason": "行政处罚",
                "reference": "粤银保监罚决字〔2026〕1号",
            },
        ),
        201,
    )
    duplicate = {"tenant": "RB", "period": "2026-Q2", "kind": "other", "points": "3", "reason": "重复录入"}
    withdrawn = ok(reg.post("/api/v1/ratings/deductions", json=duplicate), 201)
    ok(reg.post(f"/api/v1/ratings/deductions/{withdrawn['id']}/withdraw", json={"reason": "录入错误"}))
    first = ok(reg.post("/api/v1/ratings/runs", json={"period": "2026-Q1"}), 201)
    ok(reg.post(f"/api/v1/ratings/runs/{first['id']}/approve"))
    run = ok(reg.post("/api/v1/ratings/runs", json={"period": "2026-Q2", "level": "insurer"}), 201)
    assert (run["status"], run["results"]) == ("draft", 3)

    # A draft is not published: the insurer sees only the approved first quarter.
    assert [r["period"] for r in ok(qa.get("/api/v1/ratings/runs"))] == ["2026-Q1"]
    assert qa.get(f"/api/v1/ratings/runs/{run['id']}").status_code == 404
    approved = ok(reg.post(f"/api/v1/ratings/runs/{run['id']}/approve"))
    assert approved["status"] == "approved" and approved["objections_open"] and approved["objections_until"]

    every = ok(reg.get(f"/api/v1/ratings/runs/{run['id']}/results"))
    assert [(r["tenant"], r["rank"]) for r in every] == [("RA", 1), ("RB", 2), ("RC", 3)]
    rb, rc = every[1], every[2]
    assert rb["deduction_points"] == 5.0 and [d["reference"] for d in rb["deductions"]] == [deduction["reference"]]
    assert rc["previous_score"] is not None and rc["change"] < 0  # C got worse than in the first quarter
    assert {i["kpi"] for i in rb["indicators"]} >= {"cycle_time", "satisfaction"}
    assert sum(i["contribution"] for i in every[0]["indicators"]) == pytest.approx(every[0]["score"], abs=0.05)

    # The insurer: its own results only, with the rank band but not its rank; another insurer's result is unknown.
    own = ok(qa.get("/api/v1/ratings/results"))
    assert [(r["period"], r["tenant"]) for r in own] == [("2026-Q2", "RA"), ("2026-Q1", "RA")]
    assert "rank" not in own[0] and own[0]["rank_band"] == "top 25 %" and own[0]["objections_open"]
    assert [r["tenant"] for r in ok(qa.get(f"/api/v1/ratings/runs/{run['id']}/results"))] == ["RA"]
    assert qa.get(f"/api/v1/ratings/results/{rb['id']}").status_code == 404
    assert [d["tenant"] for d in ok(qa.get("/api/v1/ratings/deductions"))] == []

    objection = ok(
        qa.post(f"/api/v1/ratings/results/{own[0]['id']}/objections", json={"reason": "满意度样本有误"}), 201
    )
    assert objection["status"] == "open" and objection["period"] == "2026-Q2"
    assert qa.post(f"/api/v1/ratings/results/{own[0]['id']}/objections", json={"reason": "again"}).status_code == 409
    assert [o["id"] for o in ok(reg.get("/api/v1/ratings/objections?status=open"))] == [objection["id"]]
    decided = ok(
        reg.post(
            f"/api/v1/ratings/objections/{objection['id']}/decide",
            json={"outcome": "upheld", "note": "样本已核实", "revised_score": "96.5"},
        )
    )
    assert (decided["status"], decided["revised_score"], decided["revised_grade"]) == ("upheld", 96.5, "AAA")
    assert ok(qa.get("/api/v1/ratings/results"))[0]["revised_score"] == 96.5

    csv = reg.get(f"/api/v1/ratings/runs/{run['id']}/export.csv")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert csv.text.splitlines()[1].split(",")[:3] == ["1", "RA", "甲保险"]
    xlsx = reg.get(f"/api/v1/ratings/runs/{run['id']}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert qa.get(f"/api/v1/ratings/runs/{run['id']}/export.csv").status_code == 403

    with unit_of_work(TenantContext.system_reader()) as session:
        kinds = {
            (tenant, kind)
            for tenant, kind in session.execute(
                select(AuditEntry.tenant_id, AuditEntry.kind).order_by(AuditEntry.seq)
            ).all()
            if kind.startswith("rating")
        }
        notices = set(session.execute(select(StaffNotification.tenant_id, StaffNotification.kind)).all())
    a, b = ratings.a.id, ratings.b.id
    assert {
        (a, "rating_methodology"),
        (a, "rating_approved"),
        (a, "rating_objection"),
        (a, "rating_objection_decided"),
        (b, "rating_deduction"),
        (b, "rating_deduction_withdrawn"),
        (b, "rating_methodology"),
    } <= kinds
    assert {(a, "rating_published"), (a, "rating_objection_decided"), (b, "rating_published")} <= notices


def test_refusals_and_command_line(ratings: Ratings) -> None:
    reg, qa, adjuster = client_of(ratings.regulator), client_of(ratings.quality_a), client_of(ratings.adjuster_a)
    assert qa.post("/api/v1/ratings/runs", json={"period": "2026-Q2"}).status_code == 403
    assert adjuster.get("/api/v1/ratings/runs").status_code == 403
    bad = reg.post(
        "/api/v1/ratings/methodologies", json={"text": TEST_METHODOLOGY.replace("weight: 15", "weight: 10", 1)}
    )
    assert bad.status_code == 422
    problem = bad.json()["problems"][0]
    assert problem["field"] == "indicators" and problem["message"].startswith("methodology.yaml:15: ")
    assert "sum to 100, not 95" in problem["message"]
    unknown = reg.post(
        "/api/v1/ratings/methodologies", json={"text": TEST_METHODOLOGY.replace("kpi: red_filings", "kpi: nope")}
    )
    assert unknown.json()["problems"][0]["field"] == "indicators[6].kpi"
    assert reg.post("/api/v1/ratings/runs", json={"period": "2026-07"}).json()["problems"][0]["field"] == "period"

    # A second version becomes the active one; the first stays readable.
    second = ok(reg.post("/api/v1/ratings/methodologies", json={"text": TEST_METHODOLOGY + "\n# v2\n"}), 201)
    assert second["version"] == 2 and second["active"]
    assert [(m["version"], m["active"]) for m in ok(reg.get("/api/v1/ratings/methodologies"))] == [
        (2, True),
        (1, False),
    ]

    runner = CliRunner()
    result = runner.invoke(cli_app, ["supervision", "rate", "--period", "2026", "--level", "branch"])
    assert result.exit_code == 0, result.output
    assert "RA" in result.output and "440000" in result.output and "draft with 3 results" in result.output
    run_id = int(result.output.rsplit("approve ", 1)[1].split()[0])
    result = runner.invoke(cli_app, ["supervision", "approve", str(run_id)])
    assert result.exit_code == 0 and "approved" in result.output, result.output
    again = runner.invoke(cli_app, ["supervision", "approve", str(run_id)])
    assert again.exit_code == 1 and "only a draft can be approved" in again.output

    # Objections close after the deadline; a withdrawal needs a note.
    result_id = ok(qa.get("/api/v1/ratings/results"))[0]["id"]
    with unit_of_work(TenantContext.for_tenant(ratings.a.id)) as session:
        user = auth_repository.user_by_username(session, ratings.quality_a)
        assert user is not None
        late = dt.datetime.now(dt.UTC) + dt.timedelta(days=16)
        with pytest.raises(Conflict, match="closed on"):
            service.file_objection(session, auth_service.principal_for_user(user), result_id, "late", now=late)
    assert reg.post(f"/api/v1/ratings/runs/{run_id}/withdraw", json={"note": ""}).status_code == 422
    ok(reg.post(f"/api/v1/ratings/runs/{run_id}/withdraw", json={"note": "方法调整"}))
    assert ok(qa.get("/api/v1/ratings/results")) == []
