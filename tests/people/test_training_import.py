"""The CSV import of training attendance (issue 18): all or nothing with a reject report naming line and column;
a session named by its id, or by course and date (recorded with the import when the row names its trainer);
Chinese headers; the API (422 naming each reject, nothing written) and the CLI. The world is test_training's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from claimwatch.complaints.importer import ImportRejected
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.people import training, training_cli, training_import
from claimwatch.people.models import TrainingAttendance, TrainingSession
from tests.apps import shared_app
from tests.factories import local_today
from tests.people.test_training import TrainingWorld, admin, tw  # noqa: F401 - the fixture

DAY = (local_today() - dt.timedelta(days=2)).isoformat()


def _count(world: TrainingWorld, model: type) -> int:
    with unit_of_work(TenantContext.for_tenant(world.acme.id)) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_import_all_or_nothing_with_its_reject_report(tw: TrainingWorld, tmp_path: Path):  # noqa: F811
    before = (_count(tw, TrainingSession), _count(tw, TrainingAttendance))
    bad = (
        "课程编码,培训日期,讲师,工号,学时,考核结果,成绩\n"
        f"IND-STAFF,{DAY},讲师乙,E3,8,通过,90\n"
        f"IND-STAFF,{DAY},讲师乙,NOBODY,8,通过,90\n"  # unknown person
        f"NOPE,{DAY},讲师乙,E2,1,,\n"  # unknown course
        f"COMPLIANCE,{DAY},,E2,1,,\n"  # no session that day and no trainer
        f"IND-STAFF,{DAY},讲师乙,E2,9,,\n"  # more hours than the course
        f"IND-STAFF,{DAY},讲师乙,E1,1,maybe,\n"  # passed unreadable
        f"IND-STAFF,{DAY},讲师乙,E3,8,,\n"  # repeats line 2
    )
    client = TestClient(shared_app())
    headers = tw.headers("qm") | {"Content-Type": "text/csv"}
    refused = client.post("/api/v1/people/training/attendance/import", content=bad.encode(), headers=headers)
    assert refused.status_code == 422, refused.text
    problems = {(p["line"], p["field"]) for p in refused.json()["problems"]}
    assert problems == {(3, "staff"), (4, "course"), (5, "held_on"), (6, "hours"), (7, "passed"), (8, "staff")}
    assert all(p.get("column") for p in refused.json()["problems"] if p["field"] in ("staff", "course"))
    assert (_count(tw, TrainingSession), _count(tw, TrainingAttendance)) == before
    # Good rows: a session by id, and a new session recorded from course + date + trainer (shared by two rows).
    good = (
        "session,course,held_on,trainer,staff,hours,passed,score\n"
        f"{tw.sessions['ind-new']},,,,E3,8,yes,95\n"
        f",COMPLIANCE,{DAY},讲师乙,E2,,,\n"
        f",COMPLIANCE,{DAY},讲师乙,E3,4,no,40\n"
    )
    done = client.post("/api/v1/people/training/attendance/import", content=good.encode(), headers=headers)
    assert done.status_code == 201, done.text
    assert done.json()["created"] == 3
    assert (_count(tw, TrainingSession), _count(tw, TrainingAttendance)) == (before[0] + 1, before[1] + 3)
    with unit_of_work(TenantContext.for_tenant(tw.acme.id)) as session:
        people = {p.code: p for p in training.requirements(session, tw.acme.id, local_today())}
        assert people["E3"].state == "pending"  # induction done; the failed compliance test does not count
        assert {r.course: r.state for r in people["E2"].requirements}["COMPLIANCE"] == "done"
        # The same file again: every row is already recorded at its session.
        try:
            training_import.import_csv(session, admin(tw.acme), good)
        except ImportRejected as exc:
            assert {r.field for r in exc.result.rejects} == {"staff"} and len(exc.result.rejects) == 3
        else:
            raise AssertionError("a repeated import must be refused")
    # The CLI: the reject report as CSV, nothing imported; the coverage printed.
    path = tmp_path / "bad.csv"
    path.write_text(bad, encoding="utf-8")
    report = tmp_path / "rejects.csv"
    runner = CliRunner()
    out = runner.invoke(training_cli.app, ["import", str(path), "--tenant", "ACME", "--rejects", str(report)])
    assert out.exit_code != 0 and "nothing imported" in out.output
    assert "NOBODY" in report.read_text(encoding="utf-8-sig")
    shown = runner.invoke(training_cli.app, ["coverage", "--tenant", "ACME"])
    assert shown.exit_code == 0, shown.output
    assert "江苏分公司" in shown.output and "E2" not in shown.output.split("missing")[0]
