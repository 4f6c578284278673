"""Spark computes every catalogue KPI exactly as DuckDB does, from the same definitions (kpis.yaml, transpiled by
SQLGlot), over the same Hive-partitioned Parquet snapshot: one local Spark session for the module.

DuckDB reads the month-end summary for the point-in-time KPIs and Spark counts them from the facts, so the
comparison checks the summary as well. Skipped where Java or PySpark is missing, except under CI (`make test`
installs both).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from claimwatch.kpi import loader
from claimwatch.kpi.columns import open_snapshot
from claimwatch.kpi.engine import Period, Scope, compute
from tests.kpi.synthetic import NOW, assert_same_values, result_table, write_snapshot

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    # Under CI a missing Java or PySpark fails the run (make test installs both) instead of skipping it.
    pytest.mark.skipif(
        shutil.which("java") is None and not os.environ.get("JAVA_HOME") and not os.environ.get("CI"),
        reason="Spark needs Java 17+ (make test)",
    ),
]
if not os.environ.get("CI"):
    pytest.importorskip("pyspark")

# A small local session that starts and plans fast: tiny data, so no adaptive re-planning, no code generation
# (compiling it costs more than interpreting a few hundred rows), one shuffle partition, the JIT's quick tier.
TEST_CONF = {
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.driver.extraJavaOptions": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory, kpis: list[loader.Kpi]) -> Path:
    directory = tmp_path_factory.mktemp("spark-snapshot")
    write_snapshot(directory, kpis)
    return directory


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from claimwatch.kpi import spark as kpi_spark

    session = kpi_spark.session("local[2]", TEST_CONF)
    yield session
    session.stop()


def test_spark_equals_duckdb_for_every_kpi(snapshot: Path, spark: Any, kpis: list[loader.Kpi]):
    from claimwatch.kpi.spark import SparkSnapshot

    duck = open_snapshot(snapshot)
    snap = SparkSnapshot(spark, str(snapshot))
    assert snap.layout["claims"] == "partitioned" and snap.layout["tenants"] == "file"
    # 10 months (one before the data begins), two of three tenants, grouped by tenant and region (NULL keys too).
    periods, scope, by = Period.parse("2026-11").trailing(10), Scope(tenant_ids=(1, 2)), ("tenant", "region")
    try:
        expected = result_table(compute(duck, kpis, periods, scope, by, NOW))
        # Every KPI of the catalogue has values to compare (not an empty agreement), and the month-end summary
        # answered the point-in-time ones on DuckDB's side.
        assert {code for code, _, _ in expected} == {kpi.code for kpi in kpis}
        assert duck.execute("SELECT count(*) FROM end_summary").fetchone()[0] > 0  # type: ignore[index]
        assert_same_values(
            expected, result_table(compute(snap, kpis, periods, scope, by, NOW)), rel_tol=1e-9, abs_tol=1e-9
        )
    finally:
        snap.close()
        duck.close()


def test_cli_compute_gives_the_same_figures_on_both_engines(snapshot: Path, spark: Any):
    """Quarters, one tenant's org unit and its subtree (the org_units subquery), grouped by org unit."""
    from claimwatch.cli import app

    runner = CliRunner()
    common = ["kpi", "compute", "--snapshot", str(snapshot), "--tenant", "T1", "--org", "10", "--by", "org"]
    common += ["--period", "2026-Q4", "--trailing", "2", "--format", "json"]
    figures = {}
    for engine in ("duckdb", "spark"):
        result = runner.invoke(app, [*common, "--engine", engine, "--master", "local[2]"])
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document["engine"] == engine
        figures[engine] = {
            (row["kpi"], row["period"], row["key"]): (row["numerator"], row["denominator"], row["value"])
            for row in document["values"]
        }
    assert {period for _, period, _ in figures["duckdb"]} == {"2026-Q3", "2026-Q4"}
    assert {key for _, _, key in figures["duckdb"]} == {"10", "30"}  # the unit and its sub-unit
    assert_same_values(figures["duckdb"], figures["spark"], rel_tol=1e-9, abs_tol=1e-9)
