"""CSV and Parquet event logs through a column mapping (issue 19 item 5): interval logs give pm4py's
interval-based performance DFG and service times; single-time logs read like the same log in XES."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import polars as pl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from claimwatch.analytics import process, service
from claimwatch.analytics.tabular import ColumnMapping, read_table
from claimwatch.analytics.xes import read_xes
from claimwatch.auth.models import Role
from claimwatch.errors import Invalid
from tests.analytics.pm4py_reference import DATA, TOLERANCE_S
from tests.factories import World

INTERVAL = DATA / "interval-claims.csv"
MAPPING = ColumnMapping(case="claim_no", activity="task", start="started", end="finished", resource="handler")
MEASURES = {"mean": "mean_s", "median": "median_s", "min": "min_s", "max": "max_s", "sum": "total_s"}


def _assert_interval_figures(log, expected: dict) -> None:
    dfg = {(row["src"], row["dst"]): row for row in process.directly_follows(log).to_dicts()}
    assert set(dfg) == {(edge["src"], edge["dst"]) for edge in expected["dfg"]}
    for edge in expected["dfg"]:
        ours = dfg[(edge["src"], edge["dst"])]
        assert ours["count"] == edge["count"], edge
        for key, column in MEASURES.items():
            assert abs(ours[column] - edge[key]) <= TOLERANCE_S, (edge["src"], edge["dst"], key)
    service_time = {row["activity"]: row for row in process.service_times(log).to_dicts()}
    assert set(service_time) == set(expected["service_time"])
    for activity, values in expected["service_time"].items():
        for key, column in MEASURES.items():
            assert abs(service_time[activity][column] - values[key]) <= TOLERANCE_S, (activity, key)


def test_an_interval_csv_gives_pm4pys_interval_dfg_and_service_times():
    log = read_table(INTERVAL, MAPPING)
    assert (log.interval, log.events, log.cases) == (True, 71, 13)
    _assert_interval_figures(log, json.loads((DATA / "reference" / "interval-claims.reference.json").read_text()))
    # Overlap: check documents started before survey ended, so that edge waits zero, not a negative time.
    case = log.frame.filter(pl.col("case") == "C099")
    assert case["activity"].to_list() == ["report", "check documents", "survey", "assess", "approve"]
    report = process.process_report(log)
    assert report["interval"] and report["service_time"][0]["activity"] == "approve"
    # A case runs from its first start to its last end (C099: 09:00 to 11:00).
    durations = dict(process.case_durations(log).select("case", "duration_s").iter_rows())
    assert durations["C099"] == 7200.0


def test_pm4py_computed_live_agrees():
    pytest.importorskip("pm4py")
    from tests.analytics.pm4py_reference import pm4py_interval_results

    _assert_interval_figures(read_table(INTERVAL, MAPPING), pm4py_interval_results(INTERVAL))


def test_parquet_and_gzip_csv_read_the_same_log(tmp_path):
    csv_log = read_table(INTERVAL, MAPPING)
    packed = tmp_path / "log.csv.gz"
    packed.write_bytes(gzip.compress(INTERVAL.read_bytes()))
    assert read_table(packed, MAPPING).frame.equals(csv_log.frame)
    # Native Parquet timestamps (naive = UTC), an integer case column and a column the mapping ignores.
    table = pl.read_csv(INTERVAL).with_columns(
        pl.col("claim_no").str.slice(1).cast(pl.Int64),
        *(
            pl.col(column).str.to_datetime(time_zone="UTC").dt.replace_time_zone(None)
            for column in ("started", "finished")
        ),
    )
    table.write_parquet(tmp_path / "log.parquet")
    parquet = service.read_log(tmp_path / "log.parquet", mapping=MAPPING)
    assert parquet.frame.drop("case").equals(csv_log.frame.drop("case"))
    assert parquet.frame["case"][0] == "1"
    assert service.read_log((tmp_path / "log.parquet").read_bytes(), mapping=MAPPING).events == 71


def test_a_single_time_csv_reads_like_the_same_log_in_xes(tmp_path):
    xes = read_xes(DATA / "running-example.xes")
    frame = xes.frame.select(
        pl.col("case").alias("Case ID"),
        pl.col("activity").alias("Activity"),
        # Another layout and a local offset: 2010/12/30 19:32 +0800.
        pl.col("timestamp").dt.convert_time_zone("Asia/Shanghai").dt.strftime("%Y/%m/%d %H:%M:%S %z").alias("When"),
        pl.col("resource").alias("Who"),
    )
    path = tmp_path / "running.tsv"
    frame.write_csv(path, separator="\t")
    mapping = ColumnMapping(
        case="Case ID", activity="Activity", timestamp="When", resource="Who", time_format="%Y/%m/%d %H:%M:%S %z"
    )
    log = read_table(path, mapping, format="csv", separator="\t")
    assert not log.interval
    assert log.frame.drop("lifecycle").equals(xes.frame.drop("lifecycle"))
    # Naive ISO times (a space for the T) are UTC.
    naive = tmp_path / "naive.csv"
    naive.write_text("case,activity,timestamp\n1,a,2026-01-01 08:00:00\n1,b,2026-01-01T09:30\n")
    times = read_table(naive).frame["timestamp"].to_list()
    assert times == [dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, 9, 30, tzinfo=dt.UTC)]


@pytest.mark.parametrize(
    ("mapping", "text", "field", "words"),
    [
        (ColumnMapping(case="nope"), "case,activity,timestamp\n1,a,2026-01-01\n", "case", "no column 'nope'"),
        (ColumnMapping(), "case,activity,timestamp\n1,a,2026-01-01\n1,b,soon\n", "timestamp", "row 2: 'soon'"),
        (ColumnMapping(start="s", end="e"), "case,activity,s,e\n1,a,2026-01-02,2026-01-01\n", "start", "row 1"),
        (ColumnMapping(start="s", end="e"), "case,activity,s\n1,a,2026-01-02\n", "end", "no column 'e'"),
        (ColumnMapping(), "case,activity,timestamp\n,a,2026-01-01\n", "case", "row 1: empty"),
    ],
)
def test_a_bad_file_or_mapping_names_the_field(tmp_path, mapping, text, field, words):
    path = tmp_path / "log.csv"
    path.write_text(text)
    with pytest.raises(Invalid) as caught:
        read_table(path, mapping)
    assert caught.value.field == field and words in caught.value.message


def test_the_cli_reads_an_interval_csv_and_saves_logs_as_parquet(tmp_path):
    from claimwatch.analytics.cli import app

    saved = tmp_path / "interval.parquet"
    options = ["--case", "claim_no", "--activity", "task", "--start", "started", "--end", "finished"]
    result = CliRunner().invoke(
        app,
        ["process", str(INTERVAL), *options, "--resource", "handler", "--to-parquet", str(saved)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "13 cases, 71 events" in result.output and "service time per activity" in result.output
    assert f"analytics process {saved} --start start" in result.output
    assert read_table(saved, ColumnMapping(start="start")).frame.equals(read_table(INTERVAL, MAPPING).frame)
    # An XES log saved as Parquet reads back whole: resource and lifecycle are picked up by name.
    saved = tmp_path / "running.parquet"
    assert (
        CliRunner().invoke(app, ["process", str(DATA / "running-example.xes"), "--to-parquet", str(saved)]).exit_code
        == 0
    )
    assert service.read_log(saved).frame.equals(read_xes(DATA / "running-example.xes").frame)
    result = CliRunner().invoke(app, ["process", str(INTERVAL), "--case", "claim"])
    assert result.exit_code != 0 and "--case: no column 'claim'" in result.output


def test_the_api_analyses_an_uploaded_log(client: TestClient, world: World):
    tenant = world.tenant()
    key = {"X-API-Key": world.api_key(tenant, Role.QUALITY_MANAGER)}
    params = {"case": "claim_no", "activity": "task", "start": "started", "end": "finished"}
    files = {"file": ("claims.csv", INTERVAL.read_bytes(), "text/csv")}
    response = client.post("/api/v1/analytics/process/log", params=params, files=files, headers=key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["events"], body["cases"], body["interval"], body["file"]) == (71, 13, True, "claims.csv")
    xes = {"file": ("log.xes", (DATA / "running-example.xes").read_bytes(), "application/xml")}
    assert client.post("/api/v1/analytics/process/log", files=xes, headers=key).json()["cases"] == 6
    refused = client.post("/api/v1/analytics/process/log", params={**params, "start": "x"}, files=files, headers=key)
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "start"
    adjuster = {"X-API-Key": world.api_key(tenant, Role.ADJUSTER)}
    assert client.post("/api/v1/analytics/process/log", files=files, headers=adjuster).status_code == 403
