"""Public disclosure (信息披露): publishing a finished quarter freezes the indicators; the public page shows them
with their definitions without signing in; an unfinished quarter is a 422 naming it; the completeness KPI is
100 % with every indicator present and less with one missing; the static export writes index.html and a CSV
with the Chinese headings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from claimwatch.auth.models import Role
from claimwatch.config import get_settings
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi import snapshot
from claimwatch.kpi.engine import Period, Scope
from claimwatch.reports.disclosure_cli import disclosure_command
from tests.apps import shared_app
from tests.factories import HAPPY_PATH, World

CST = dt.timezone(dt.timedelta(hours=8))


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CST)


@pytest.fixture(autouse=True)
def snapshot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "snapshot"
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def _claim(number: str, reported: dt.datetime, days: float, final: str = "closed") -> list[dict[str, Any]]:
    claim = {
        "line": "motor",
        "policy_number": f"POL-{number}",
        "claimant": {"name": "张三丰", "phone": "13812345678", "id_number": "110101199003071234"},
        "reported_amount": "3200.00",
        "region_code": "440000",
    }
    events: list[dict[str, Any]] = [
        {"event_id": f"{number}-r", "claim_number": number, "type": "reported", "occurred_at": reported.isoformat()}
        | {"claim": claim}
    ]
    path = HAPPY_PATH if final == "closed" else [*HAPPY_PATH[:3], "rejected"]
    for i, status in enumerate(path, start=1):
        when = reported + dt.timedelta(days=days * i / len(path))
        event = {"event_id": f"{number}-{i}", "claim_number": number, "type": "transition", "to_status": status}
        event["occurred_at"] = when.isoformat()
        if status == "rejected":
            event["reason"] = "不属于保险责任"
        events.append(event)
    return events


def _complaint(received: dt.datetime) -> dict[str, Any]:
    decision = {"outcome": "upheld", "facts": "核实属实", "basis": "合同约定", "remedy": "补发赔款"}
    return {
        "channel": "hotline",
        "received_at": received.isoformat(),
        "complainant": {"name": "李四", "phone": "13900001111"},
        "category": "claims",
        "sub_cause": "delay",
        "subject": "理赔拖延",
        "description": "赔款迟迟未到账。",
        "decision": decision,
    }


def _seed(world: World, client: TestClient) -> tuple[int, dict[str, str]]:
    """ACME: 2026-Q3 with every indicator's data; 2026-Q2 with policies reported but no premium."""
    acme = world.tenant("ACME", "示例保险")
    core = {"X-API-Key": acme.api_key}
    events = [
        *_claim("D-1", local(2026, 8, 3, 9), 4),
        *_claim("D-2", local(2026, 8, 5, 9), 2, final="rejected"),
        *_claim("D-3", local(2026, 5, 6, 9), 3),
    ]
    sent = client.post("/api/v1/events", json={"events": events}, headers=core)
    assert sent.status_code == 201, sent.text
    handler = {"X-API-Key": world.api_key(acme, Role.COMPLAINT_HANDLER)}
    for when in (local(2026, 8, 10, 10), local(2026, 5, 12, 10)):
        filed = client.post("/api/v1/complaints", json=_complaint(when), headers=handler)
        assert filed.status_code == 201, filed.text
    quality = {"X-API-Key": world.api_key(acme, Role.QUALITY_MANAGER)}
    volumes = [{"period": f"2026-0{m}", "policies_in_force": 20000, "premium": "50000000.00"} for m in (7, 8, 9)]
    volumes.append({"period": "2026-05", "policies_in_force": 18000})
    for body in volumes:
        put = client.put("/api/v1/complaints/volumes", json=body, headers=quality)
        assert put.status_code < 300, put.text
    return acme.id, quality


def _completeness(quarter: str, tenant_id: int) -> float | None:
    kpi = kpi_loader.by_code()["disclosure_completeness"]
    with kpi_service.opened() as snap:
        result = kpi_service.values(snap, Scope(tenant_ids=(tenant_id,)), [Period.parse(quarter)], kpis=[kpi])
    found = result.get("disclosure_completeness", quarter)
    return None if found is None else found.value


def test_publish_public_page_completeness_and_export(world: World, tmp_path: Path) -> None:
    client = TestClient(shared_app())
    acme_id, quality = _seed(world, client)
    snapshot.take_snapshot(now=local(2026, 10, 5, 8))

    current = Period.containing(dt.datetime.now(CST).date(), "quarter")
    refused = client.post("/api/v1/disclosures", json={"quarter": current.label.replace("-", "")}, headers=quality)
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"][0]["field"] == "quarter" and current.label in refused.text
    bad = client.post("/api/v1/disclosures", json={"quarter": "2026Q5"}, headers=quality)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "quarter"

    q3 = client.post("/api/v1/disclosures", json={"quarter": "2026Q3"}, headers=quality)
    assert q3.status_code == 201, q3.text
    body = q3.json()
    assert (body["present"], body["required"], body["version"]) == (5, 5, 1)
    figures = {i["code"]: i for i in body["indicators"]}
    assert figures["claim_acceptance_rate"]["value"] == pytest.approx(50.0)  # one paid, one rejected
    assert figures["complaints_per_10k_policies"]["value"] == pytest.approx(0.5)  # 1 complaint / 20 000
    assert figures["complaint_on_time_rate"]["value"] == pytest.approx(100.0)
    q2 = client.post("/api/v1/disclosures", json={"quarter": "2026-Q2"}, headers=quality)
    assert q2.status_code == 201 and q2.json()["present"] == 4, q2.text
    missing = [i for i in q2.json()["indicators"] if not i["present"]]
    assert [(i["code"], i["reason"]) for i in missing] == [("complaints_per_100m_premium", "no_data")]

    public = TestClient(shared_app())  # no sign-in, no key
    index = public.get("/disclosure")
    assert index.status_code == 200 and "/disclosure/ACME/2026Q3" in index.text
    page = public.get("/disclosure/ACME/2026Q3")
    assert page.status_code == 200, page.text
    assert "理赔获赔率" in page.text and "50.0%" in page.text
    assert kpi_loader.by_code()["claim_acceptance_rate"].definition_zh in page.text
    q2_page = public.get("/disclosure/ACME/2026-Q2?lang=en")
    assert 'data-code="complaints_per_100m_premium" data-present="0"' in q2_page.text
    assert "Not disclosed" in q2_page.text and "Claim acceptance rate" in q2_page.text
    # The CSV of the public page: a BOM for Excel, headers in the reader's language (tests/web/test_csv_exports).
    for lang, in_chinese in (("zh", True), ("en", False)):
        exported = public.get("/disclosure/ACME/2026Q3.csv", params={"lang": lang})
        assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")
        header = exported.content.decode("utf-8-sig").splitlines()[0].split(",")
        assert all(bool(re.search(r"[\u4e00-\u9fff]", name)) is in_chinese for name in header), header
        assert in_chinese or not any("_" in name for name in header), header
    assert public.get("/disclosure/ACME/2026Q1").status_code == 404
    assert public.get("/disclosure/NOPE/2026Q3").status_code == 404

    snapshot.take_snapshot()  # after publishing (now): the disclosures table holds both quarters
    assert _completeness("2026-Q3", acme_id) == pytest.approx(100.0)
    assert _completeness("2026-Q2", acme_id) == pytest.approx(80.0)

    app = typer.Typer()
    app.command()(disclosure_command)
    out = tmp_path / "site"
    done = CliRunner().invoke(app, ["--tenant", "ACME", "--quarter", "2026Q3", "--out", str(out)])
    assert done.exit_code == 0, done.output
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "平均结案周期" in html and "理赔获赔率" in html and "<script" not in html and "<style>" in html
    table = (out / "disclosure-ACME-2026Q3.csv").read_text(encoding="utf-8")
    assert table.startswith("\ufeff保险公司,季度,指标代码,指标") and "complaint_on_time_rate" in table
    unknown = CliRunner().invoke(app, ["--tenant", "ACME", "--quarter", "2026Q1", "--out", str(out)])
    assert unknown.exit_code == 1 and "--publish" in unknown.output
