"""`claimwatch import events`: same rules as the API, line numbers in every complaint, nothing half-done."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from claimwatch import db
from claimwatch.cli import app
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo import jobs as demo_jobs
from claimwatch.demo.generator import DemoSpec, iter_claim_events, to_json_line
from claimwatch.demo.organisation import DEMO_TENANTS
from tests.factories import reported, transition

WINDOW = {"start": dt.date(2025, 11, 1), "end": dt.date(2026, 10, 31)}


def _event_count() -> int:
    with db.get_engine().connect() as conn:
        return conn.execute(text("select count(*) from case_events")).scalar_one()


def _write_jsonl(path: Path, events: list) -> Path:
    path.write_text("".join(e if isinstance(e, str) else json.dumps(e, ensure_ascii=False) + "\n" for e in events))
    return path


def _run(database, *args: str):
    return CliRunner().invoke(app, ["--database", database.url, "import", "events", *args])


def test_jsonl_import_and_idempotent_rerun(world, database, tmp_path):
    tenant = world.tenant()
    events = [reported("r1", "C1"), transition("t1", "C1", "accepted"), reported("r2", "C2")]
    path = _write_jsonl(tmp_path / "events.jsonl", events)
    first = _run(database, str(path), "--tenant", tenant.code)
    assert first.exit_code == 0, first.output
    assert "applied 3, duplicates 0, rejected 0" in first.output
    again = _run(database, str(path), "--tenant", tenant.code)
    assert again.exit_code == 0
    assert "applied 0, duplicates 3, rejected 0" in again.output
    assert _event_count() == 3


def test_all_or_nothing_rejects_whole_file_naming_lines(world, database, tmp_path):
    tenant = world.tenant()
    lines = [
        json.dumps(reported("r1", "C1")) + "\n",
        '{"event_id": "broken", \n',
        json.dumps(transition("t1", "C1", "payment")) + "\n",
        json.dumps(reported("r3", "C3") | {"occurred_at": "2026-11-02 09:00"}) + "\n",
    ]
    path = _write_jsonl(tmp_path / "bad.jsonl", lines)
    report = tmp_path / "rejects.csv"
    result = _run(database, str(path), "--tenant", tenant.code, "--reject-report", str(report))
    assert result.exit_code == 1
    output = result.output.replace("\n", " ")
    assert "line 2: body: malformed JSON" in output
    assert "line 4: occurred_at:" in output
    assert "nothing imported" in output
    assert _event_count() == 0
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [row["line"] for row in rows] == ["2", "4"]


def test_skip_invalid_commits_the_rest_and_reports_rejects(world, database, tmp_path):
    tenant = world.tenant()
    events = [
        reported("r1", "C1"),
        transition("t1", "C1", "payment"),  # invalid transition
        transition("t2", "C1", "accepted"),
        reported("r2", "C2", line="spaceship"),  # unknown line
        transition("t3", "C2", "accepted"),  # fails once C2 is dropped
        reported("r4", "C4") | {"tenant": "SOMEONE-ELSE"},
    ]
    path = _write_jsonl(tmp_path / "mixed.jsonl", events)
    report = tmp_path / "rejects.csv"
    result = _run(
        database, str(path), "--tenant", tenant.code, "--mode", "skip-invalid", "--reject-report", str(report)
    )
    assert result.exit_code == 0, result.output
    assert "applied 2, duplicates 0, rejected 4" in result.output
    rows = {row["line"]: row for row in csv.DictReader(report.open(encoding="utf-8"))}
    assert set(rows) == {"2", "4", "5", "6"}
    assert "invalid transition reported -> payment" in rows["2"]["reason"]
    assert rows["4"]["field"] == "claim.line"
    assert rows["5"]["reason"] == "unknown claim C2"
    assert rows["6"]["field"] == "tenant"
    assert _event_count() == 2


def test_events_back_in_time_and_bad_identifiers_are_rejected_by_line(world, database, tmp_path):
    tenant = world.tenant()
    events = [
        reported("r1", "C1"),
        transition("t1", "C1", "accepted", hours=5),
        transition("t2", "C1", "withdrawn", hours=3, reason="撤案"),  # before the claim's last event
        reported("r2", "C2") | {"occurred_at": "1900-01-01T00:00:00+08:00"},  # before the floor
        reported("r3", "UNI/../0007\n"),  # outside the identifier character set
        transition("t4", "C1", "initial_review", hours=6),
    ]
    path = _write_jsonl(tmp_path / "time.jsonl", events)
    report = tmp_path / "rejects.csv"
    result = _run(
        database, str(path), "--tenant", tenant.code, "--mode", "skip-invalid", "--reject-report", str(report)
    )
    assert result.exit_code == 0, result.output
    assert "applied 3, duplicates 0, rejected 3" in result.output
    rows = {row["line"]: row for row in csv.DictReader(report.open(encoding="utf-8"))}
    assert {line: row["field"] for line, row in rows.items()} == {
        "3": "occurred_at",
        "4": "occurred_at",
        "5": "claim_number",
    }
    assert "before the last event of claim C1 (2026-11-02T06:00:00Z)" in rows["3"]["reason"]
    assert _event_count() == 3


def test_csv_import_and_csv_errors(world, database, tmp_path):
    tenant = world.tenant()
    header = (
        "event_id,claim_number,type,occurred_at,to_status,claim.line,claim.policy_number,"
        "claim.claimant.name,claim.claimant.phone\n"
    )
    good = tmp_path / "good.csv"
    good.write_text(
        header
        + "r1,C1,reported,2026-11-02T09:00:00+08:00,,motor,P1,李四,13900001111\n"
        + "t1,C1,transition,2026-11-02T10:00:00+08:00,accepted,,,,\n",
        encoding="utf-8",
    )
    assert _run(database, str(good), "--tenant", tenant.code).exit_code == 0
    assert _event_count() == 2

    bad = tmp_path / "bad.csv"
    bad.write_text(
        header
        + "t2,C1,transition,2026-13-02T10:00:00+08:00,initial_review,,,,\n"
        + "t3,C1,transition,2026-11-02T11:00:00+08:00,flying,,,,\n"
        + "t4,C1,transition\n",
        encoding="utf-8",
    )
    report = tmp_path / "r.csv"
    result = _run(database, str(bad), "--tenant", tenant.code, "--mode", "skip-invalid", "--reject-report", str(report))
    rows = {row["line"]: row for row in csv.DictReader(report.open(encoding="utf-8"))}
    assert rows["2"]["field"] == "occurred_at"
    assert rows["3"]["reason"] == "unknown status 'flying' for motor claims"
    assert rows["4"]["reason"] == "fewer cells than header columns"
    assert "13900001111" not in report.read_text(encoding="utf-8")

    no_id = tmp_path / "noid.csv"
    no_id.write_text("claim_number,type,occurred_at\nC1,reported,2026-11-02T09:00:00+08:00\n", encoding="utf-8")
    result = _run(database, str(no_id), "--tenant", tenant.code)
    assert result.exit_code == 2
    assert "line 1: CSV header lacks required column(s) event_id" in result.output.replace("\n", " ")


def test_unreadable_inputs_exit_2(world, database, tmp_path):
    tenant = world.tenant()
    assert (
        "unknown tenant 'NOPE'"
        in _run(database, str(_write_jsonl(tmp_path / "e.jsonl", [])), "--tenant", "NOPE").output
    )
    missing = _run(database, str(tmp_path / "missing.jsonl"), "--tenant", tenant.code)
    assert missing.exit_code == 2 and "no such file" in missing.output
    odd = _run(database, str(_write_jsonl(tmp_path / "e.xml", [])), "--tenant", tenant.code)
    assert odd.exit_code == 2 and "cannot tell the format" in odd.output


def test_generated_demo_stream_imports_cleanly(world, database, tmp_path):
    tenant = world.tenant("PICC")
    picc = DEMO_TENANTS[0]
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        demo_jobs.add_org_tree(session, tenant.id, picc)
        demo_jobs.add_staff(session, tenant.id, picc)
    path = tmp_path / "demo.jsonl"
    events = list(iter_claim_events(DemoSpec(claims=400, seed=11, **WINDOW), "PICC"))
    path.write_text("".join(to_json_line(e) for e in events), encoding="utf-8")
    result = _run(database, str(path), "--tenant", "PICC")
    assert result.exit_code == 0, result.output
    assert _event_count() == len(events)


def test_sigkill_mid_import_leaves_whole_batches_and_rerun_completes(world, database, tmp_path):
    tenant = world.tenant()
    batch = 50
    events = []
    for n in range(1200):  # 2 400 events: enough to be killed mid-file; more only repeats the same batches
        events.append(reported(f"r{n}", f"K{n}"))
        events.append(transition(f"t{n}", f"K{n}", "accepted"))
    path = _write_jsonl(tmp_path / "big.jsonl", events)
    command = [
        sys.executable,
        "-m",
        "claimwatch",
        "--database",
        database.url,
        "import",
        "events",
        str(path),
        "--tenant",
        tenant.code,
        "--mode",
        "skip-invalid",
        "--batch-size",
        str(batch),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ | {"PYTHONUNBUFFERED": "1"}
    )
    deadline = time.monotonic() + 60
    while _event_count() < 2 * batch and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    count = _event_count()
    assert 0 < count < len(events), count  # killed mid-file
    assert count % batch == 0, count  # only whole batches
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"duplicates {count}" in rerun.stderr
    assert _event_count() == len(events)
