"""The service-request CSV import (h1), on both databases: Chinese headers and labels, GB18030, all or nothing with a
reject report naming line, column and field (an unknown category or priority, a bad phone, a claim of another
insurer, a repeated external_ref), a dry run, a re-import counted as existing; the CLI `claimwatch servicedesk
import` with its report file and `claimwatch servicedesk list`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from claimwatch.cli import app as cli_app
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.servicedesk.models import ServiceRequest
from tests.factories import World
from tests.servicedesk.requests_world import BASE, CLAIM, Desk, build, core, ok
from tests.snapshots import Snapshot

HEADER = "工单号,来源渠道,受理时间,请求类别,优先级,主题,诉求内容,客户姓名,联系电话,赔案号\n"
GOOD = (
    HEADER
    + "W-1,微信,2026-11-02 09:30,咨询,普通,犹豫期退保,请问犹豫期内退保能退多少钱,王五,13800001111,\n"
    + f"W-2,phone,2026/11/02 10:00,报案咨询,紧急,车险报案,刚发生追尾事故怎么报案,,,{CLAIM}\n"
    + "W-3,电话,2026-11-02,documents,urgent,补开发票,需要补开去年的保费发票,赵六,13800002222,\n"
)
BAD = (
    HEADER
    + "W-1,微信,2026-11-02 09:30,咨询,普通,犹豫期退保,请问犹豫期内退保能退多少钱,王五,13800001111,\n"
    + "W-2,电话,2026-11-02 10:00,理财,最急,车险报案,怎么报案,,12345,NOPE\n"
    + "W-1,电话,2026-11-02 11:00,咨询,普通,重复,重复的工单,,,\n"
)


@pytest.fixture
def desk(world: World, db_snapshot: Snapshot) -> Desk:
    return db_snapshot("servicedesk.requests", lambda: build(world))


def _count(desk: Desk) -> int:
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        return session.execute(select(func.count()).select_from(ServiceRequest)).scalar_one()


def test_import_all_or_nothing_with_reject_report_api_and_cli(desk: Desk, tmp_path: Path) -> None:
    api = core(desk.a.api_key)
    headers = {"content-type": "text/csv"}
    refused = api.post(f"{BASE}/import", content=BAD.encode(), headers=headers)
    assert refused.status_code == 422
    assert [(p["line"], p["column"], p["field"]) for p in refused.json()["problems"]] == [
        (3, "优先级", "priority"),
        (3, "联系电话", "phone"),
        (3, "请求类别", "category"),
        (4, "工单号", "external_ref"),
    ]
    assert _count(desk) == 0
    dry = ok(api.post(f"{BASE}/import?dry_run=true", content=GOOD.encode("gb18030"), headers=headers))
    assert (dry["created"], dry["existing"], dry["dry_run"]) == (3, 0, True) and _count(desk) == 0
    done = ok(api.post(f"{BASE}/import", content=GOOD.encode("gb18030"), headers=headers), 201)
    assert done["created"] == 3 and len(done["numbers"]) == 3
    first = ok(api.get(f"{BASE}/{done['numbers'][0]}"))
    assert (first["channel"], first["category"], first["customer_name"]) == ("wechat", "enquiry", "王*")
    assert first["received_at"].startswith("2026-11-02T01:30")  # local time in the insurer's zone
    second = ok(api.get(f"{BASE}/{done['numbers'][1]}"))
    assert (second["priority"], second["claim_number"]) == ("emergency", CLAIM)
    again = ok(api.post(f"{BASE}/import", content=GOOD.encode(), headers=headers), 201)
    assert (again["created"], again["existing"]) == (0, 3) and _count(desk) == 3

    report, source = tmp_path / "rejects.csv", tmp_path / "requests.csv"
    source.write_text(BAD, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        cli_app, ["servicedesk", "import", str(source), "--tenant", desk.a.code, "--rejects", str(report)]
    )
    assert result.exit_code != 0 and "nothing imported" in result.output
    assert "请求类别,category" in report.read_text(encoding="utf-8-sig") and _count(desk) == 3
    listed = runner.invoke(cli_app, ["servicedesk", "list", "--tenant", desk.a.code, "--status", "all"])
    assert listed.exit_code == 0 and "3 requests" in listed.output, listed.output
