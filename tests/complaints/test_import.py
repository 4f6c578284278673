"""CSV import: all or nothing, a reject report naming each row, Chinese headers, idempotent re-import."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy import update
from typer.testing import CliRunner

from claimwatch.auth.models import Role
from claimwatch.cli import app
from claimwatch.complaints import service as complaints_service
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.tenancy.models import Tenant
from tests.complaints.helpers import Desk, decision

CHINESE = """投诉渠道,转办编号,投诉时间,监管收到时间,投诉人,联系电话,投诉类别,投诉原因,投诉主题,投诉内容,重大投诉原因
监管转办,12378-0001,2026-11-02 10:00,2026-10-30,周一,13811110001,理赔,拒赔争议,拒赔,医疗险被拒赔,
12378,12378-0002,2026-11-02 11:00,2026-10-31,吴二,13811110002,销售,销售误导,误导,"说是存款，
其实是保险",媒体关注、群体性投诉
热线,,2026/11/03 09:30,,郑三,13811110003,服务,Staff attitude,态度差,客服态度恶劣,
"""

BROKEN = """channel,external_ref,received_at,name,phone,category,sub_cause,subject,description
hotline,,2026-11-02 10:00,甲,13811110004,claims,delay,慢,太慢
pigeon,,2026-11-02 10:00,乙,13811110005,claims,delay,慢,太慢
email,,2099-01-01 10:00,丙,13811110006,claims,delay,慢,太慢
app,,2026-11-02 10:00,丁,,claims,delay,慢,太慢
app,,not a date,戊,13811110007,claims,nonsense,慢,太慢
"""


def _count(desk: Desk) -> int:
    with desk.session() as session:
        return complaints_service.repository.count_complaints(session)


def test_cli_import_with_chinese_headers_is_idempotent(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "transfers.csv"
    path.write_text(CHINESE, encoding="utf-8-sig")
    runner = CliRunner()
    first = runner.invoke(app, ["complaints", "import", str(path), "--tenant", "ACME"])
    assert first.exit_code == 0, first.output
    assert "imported 3" in first.output
    again = runner.invoke(app, ["complaints", "import", str(path), "--tenant", "ACME"])
    assert again.exit_code == 0 and "imported 1, already recorded 2" in again.output  # no ref: new again
    assert _count(desk) == 4
    with desk.session() as session:
        second = complaints_service.repository.by_external_ref(session, "12378-0002")
        assert second is not None
        assert (second.channel, second.category, second.sub_cause) == ("regulator_12378", "sales", "misleading")
        assert second.major_reasons == "media,group,regulator_transfer"
        assert "其实是保险" in second.description
        assert second.received_at.isoformat() == "2026-11-02T03:00:00+00:00"


def test_a_broken_file_imports_nothing_and_the_report_names_each_row(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(BROKEN, encoding="utf-8")
    report = tmp_path / "rejects.csv"
    result = CliRunner().invoke(app, ["complaints", "import", str(path), "--tenant", "ACME", "--rejects", str(report)])
    assert result.exit_code == 1
    assert _count(desk) == 0  # the good first row is not kept either
    with report.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    problems = {(int(r["line"]), r["column"]) for r in rows}
    assert problems == {(3, "channel"), (4, "received_at"), (5, "phone"), (6, "received_at"), (6, "sub_cause")}
    by_line = {int(r["line"]): r["problem"] for r in rows}
    assert "unknown channel 'pigeon'" in by_line[3] and "in the future" in by_line[4]
    assert "line 3" in result.output and "nothing imported" in result.output

    dry = CliRunner().invoke(app, ["complaints", "import", str(path), "--tenant", "ACME", "--dry-run"])
    assert dry.exit_code == 1


def test_api_import_all_or_nothing(client, desk: Desk) -> None:
    headers = {"X-API-Key": desk.world.api_key(desk.tenant, Role.COMPLAINT_HANDLER)}
    refused = client.post(
        "/api/v1/complaints/import", content=BROKEN.encode(), headers=headers | {"Content-Type": "text/csv"}
    )
    assert refused.status_code == 422
    body = refused.json()
    # The one error body: each reject is a problem naming its field, with its file line and column.
    assert set(body) == {"detail", "problems"} and body["detail"].endswith("problems: nothing imported")
    assert {(r["line"], r["column"]) for r in body["problems"]} >= {(3, "channel"), (5, "phone")}
    assert all(r["field"] and r["message"] for r in body["problems"])
    assert _count(desk) == 0

    checked = client.post(
        "/api/v1/complaints/import?dry_run=true",
        files={"file": ("transfers.csv", CHINESE.encode("gb18030"), "text/csv")},
        headers=headers,
    )
    assert checked.status_code == 200 and checked.json()["rows"] == 3 and _count(desk) == 0
    done = client.post(
        "/api/v1/complaints/import",
        files={"file": ("transfers.csv", CHINESE.encode("gb18030"), "text/csv")},
        headers=headers,
    )
    assert done.status_code == 201 and done.json()["created"] == 3 and _count(desk) == 3

    bad_header = client.post("/api/v1/complaints/import", content="渠道,颜色\nhotline,red\n".encode(), headers=headers)
    assert bad_header.status_code == 422
    messages = " ".join(r["message"] for r in bad_header.json()["problems"])
    assert "unknown column '颜色'" in messages and "missing column category" in messages


def test_times_numbers_and_letters_are_in_the_insurers_own_zone(desk: Desk, tmp_path: Path) -> None:
    """One rule for local time: an insurer in London reads file times, numbers its complaints and dates its
    letters in London time, not the platform's (Asia/Shanghai, eight hours ahead)."""
    with unit_of_work(TenantContext.system_context()) as session:
        session.execute(update(Tenant).where(Tenant.id == desk.tenant.id).values(timezone="Europe/London"))
    path = tmp_path / "late.csv"
    path.write_text(
        "channel,external_ref,received_at,name,phone,category,sub_cause,subject,description\n"
        "hotline,TZ-1,2026-11-02 23:30,甲,13811110004,claims,delay,慢,太慢\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["complaints", "import", str(path), "--tenant", "ACME"])
    assert result.exit_code == 0, result.output
    with desk.session() as session:
        found = complaints_service.repository.by_external_ref(session, "TZ-1")
        assert found is not None
        number, received_at = found.number, found.received_at
    assert received_at.isoformat() == "2026-11-02T23:30:00+00:00"  # London is UTC in November
    assert number.startswith("TS20261102")  # Shanghai: already 3 November
    with desk.session() as session:
        complaints_service.decide(session, desk.handler, number, decision(), at=received_at + dt.timedelta(minutes=10))
    letter = desk.complaint(number).decision_letter or ""
    assert "2026-11-02" in letter and "2026-11-03" not in letter
