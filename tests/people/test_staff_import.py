"""The staff CSV import (issue 18, h1): Chinese headers, one row per person × licence, people recorded already
counted as existing with their new licences added; a bad file rejected whole with a report naming the line and
column (an unknown agent's org unit, an expiry before the issue, a licence number twice, rows of one code that
disagree) and nothing written; the CLI's reject report."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from claimwatch.cli import app as cli_app
from claimwatch.complaints.importer import ImportRejected, parse_day, read_table
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.people import service, staff_import
from claimwatch.people.models import StaffLicence, StaffMember
from tests.factories import World, local_today
from tests.people.staff_world import StaffWorld, admin, build
from tests.snapshots import Snapshot

HEADER = "工号,姓名,人员类型,岗位,机构代码,账号,主管,入职日期,证书类型,证书编号,发证日期,有效期至\n"


@pytest.fixture
def sw(db_snapshot: Snapshot, world: World) -> StaffWorld:
    return db_snapshot("people.staff", lambda: build(world))


def _count(tenant_id: int, model: type) -> int:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_the_header_alone_is_checked_without_a_database():
    written, rows, problems = read_table("工号,姓名,颜色\nA1,甲,红\n", staff_import.HEADERS, staff_import.REQUIRED)
    assert written == {"code": "工号", "name": "姓名"} and rows == [(2, {"code": "A1", "name": "甲"})]
    assert [(p.line, p.column or p.field) for p in problems] == [(1, "颜色"), (1, "kind"), (1, "hired_on")]
    assert parse_day("2026/1/5") == "2026-01-05" and parse_day("2026年1月5日") == "2026-01-05"


def test_import_all_or_nothing_with_a_report(sw: StaffWorld, tmp_path: Path):
    tenant = sw.acme.id
    expires = (local_today() + dt.timedelta(days=200)).isoformat()
    good = HEADER + (
        f"A100,陈新,代理人,销售代理,ACME-B1,,acme.sup,2026/1/5,销售,SL-100,2025-12-01,{expires}\n"
        f"A100,陈新,代理人,销售代理,ACME-B1,,acme.sup,2026/1/5,其他,OT-100,2025-12-01,{expires}\n"
        f"E100,刘洋,员工,理赔员,ACME-B2,,,2025-03-01,,,,\n"
        f"A001,李强,代理人,销售代理,ACME-B1,,,2025-01-01,核保,UW-001,2025-01-01,{expires}\n"
    )
    bad = HEADER + (
        f"A200,甲,代理人,,NOWHERE,,,2026-01-05,,,,\n"
        f"A201,乙,代理人,,ACME-B1,,,2026-01-05,销售,SL-201,2026-02-01,2026-01-01\n"
        f"A202,丙,代理人,,ACME-B1,,,2026-01-05,销售,SL-201,2026-01-01,{expires}\n"
        f"A202,丙丙,代理人,,ACME-B1,,,2026-01-05,,,,\n"
        f"A203,丁,代理人,,ACME-B1,,,2026-01-05,销售,SL-001,2026-01-01,{expires}\n"
    )
    people, licences = _count(tenant, StaffMember), _count(tenant, StaffLicence)
    with pytest.raises(ImportRejected) as refused:
        with unit_of_work(TenantContext.for_tenant(tenant)) as session:
            staff_import.import_csv(session, admin(tenant), bad.encode("utf-8-sig"))
    found = [(r.line, r.column, r.field) for r in refused.value.result.rejects]
    assert found == [
        (2, "机构代码", "org_unit"),
        (3, "有效期至", "licence_expires_on"),
        (4, "证书编号", "licence_number"),  # SL-201 repeats line 3
        (5, "姓名", "name"),  # A202's rows disagree
        (6, "证书编号", "licence_number"),  # SL-001 is A001's
    ], found
    assert (_count(tenant, StaffMember), _count(tenant, StaffLicence)) == (people, licences)

    with unit_of_work(TenantContext.for_tenant(tenant)) as session:
        dry = staff_import.import_csv(session, admin(tenant), good, dry_run=True)
        assert (dry.rows, dry.created, dry.existing) == (4, 0, 1)
    with unit_of_work(TenantContext.for_tenant(tenant)) as session:
        result = staff_import.import_csv(session, admin(tenant), good.encode("gb18030"))
        assert result.numbers == ["A100", "E100"] and result.existing == 1
        a100 = service.staff_by_code(session, tenant, "A100")
        a001 = service.staff_by_code(session, tenant, "A001")
        assert a100 is not None and a100.kind == "agent" and a100.hired_on == dt.date(2026, 1, 5)
        assert service.licence_valid(session, tenant, a100.id, "sales", local_today())
        assert a001 is not None and service.licence_valid(session, tenant, a001.id, "underwriter", local_today())
    assert _count(tenant, StaffLicence) == licences + 3

    path, report = tmp_path / "staff.csv", tmp_path / "rejects.csv"
    path.write_text(bad, encoding="utf-8")
    run = CliRunner().invoke(
        cli_app, ["people", "import-staff", str(path), "--tenant", "ACME", "--rejects", str(report)]
    )
    assert run.exit_code != 0 and "nothing imported: 5 problems" in run.output
    with report.open(encoding="utf-8-sig") as handle:
        assert [row[:2] for row in csv.reader(handle)][:3] == [["line", "column"], ["2", "机构代码"], ["3", "有效期至"]]
    listed = CliRunner().invoke(cli_app, ["people", "licences", "--tenant", "ACME", "--expiring", "30"])
    assert listed.exit_code == 0 and "SL-002" in listed.output and "SL-003" in listed.output
