"""The CSV import of sales (both databases): all or nothing with a reject report naming line, column and field
(an unknown agent, a bad SHA-256, a repeated policy number), Chinese headers and names, a re-import counts what
exists, the flags raised as rows are recorded; the CLI writes the reject report."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from claimwatch.cli import app as cli_app
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.policies.models import PolicySale
from tests.apps import shared_app
from tests.factories import World
from tests.policies.sales_world import SHA, SalesWorld, build
from tests.snapshots import Snapshot

# The import's queries (IN lists of codes and numbers) are the service's; recording runs on both databases in
# test_sales_api.py.
pytestmark = pytest.mark.sqlite_only

HEADER = (
    "保单号,产品代码,产品名称,险类,长期险,销售渠道,代理人工号,保费,签单日期,"
    "投保提示书签署日期,双录编号,双录哈希,投保人证件号\n"
)
GOOD = (
    HEADER
    + f"P-I1,LIFE-20,福寿定期寿险,寿险,是,个险,A-OK,3600.00,2026/11/3,2026-11-03,rec/9,{SHA},110101195003070015\n"
    + "P-I2,ACC-1,平安意外险,意外险,否,网销,A-EXP,99,2026-11-04,2026-11-04,,,\n"
)


@pytest.fixture
def sw(world: World, db_snapshot: Snapshot) -> SalesWorld:
    return db_snapshot("policies.sales", lambda: build(world))


def _count(sw: SalesWorld) -> int:
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        return int(session.execute(select(func.count(PolicySale.id))).scalar_one())


def test_import_is_all_or_nothing_and_counts_what_exists(sw: SalesWorld, tmp_path: Path):
    client = TestClient(shared_app())
    headers = sw.headers("qm") | {"Content-Type": "text/csv"}
    before = _count(sw)
    bad = (
        GOOD
        + "P-I1,X,重复,life,否,agent,A-OK,1,2026-11-05,,,,\nP-I3,X,某险,life,否,agent,NOBODY,1,2026-11-05,,r,xyz,\n"
    )
    refused = client.post("/api/v1/sales/import", content=bad.encode(), headers=headers)
    assert refused.status_code == 422
    problems = {(p["line"], p["field"]) for p in refused.json()["problems"]}
    assert problems == {(4, "policy_number"), (5, "recording_sha256")}  # the schema first; then the agent
    refused = client.post("/api/v1/sales/import", content=(GOOD + "P-I3,X,某险,life,否,agent,NOBODY,1,2026-11-05,,,,\n")
                          .encode(), headers=headers)  # fmt: skip
    assert [(p["line"], p["column"], p["field"]) for p in refused.json()["problems"]] == [(4, "代理人工号", "agent")]
    assert _count(sw) == before
    done = client.post("/api/v1/sales/import", content=GOOD.encode("gb18030"), headers=headers)
    assert done.status_code == 201, done.text
    assert (done.json()["created"], done.json()["flagged"]) == (2, 1)  # A-EXP unlicensed on 2026-11-04
    again = client.post("/api/v1/sales/import?dry_run=true", content=GOOD.encode(), headers=headers).json()
    assert (again["created"], again["existing"]) == (0, 2)
    sale = client.get("/api/v1/sales/P-I1", headers=sw.headers("qm")).json()
    assert (sale["long_term"], sale["channel"], sale["customer_age"], sale["flag_count"]) == (True, "agent", 76, 0)
    report = tmp_path / "rejects.csv"
    source = tmp_path / "sales.csv"
    source.write_text(HEADER + "P-I9,X,某险,life,否,agent,NOBODY,1,2026-11-05,,,,\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli_app, ["policies", "sales", "import", str(source), "--tenant", "ACME", "--rejects", str(report)]
    )
    assert result.exit_code != 0 and "nothing imported" in result.output
    assert "代理人工号,agent" in report.read_text(encoding="utf-8-sig")
