"""The KPI engine on Apache Spark: the same statements as DuckDB's, translated (claimwatch.kpi.transpile).

:class:`SparkSnapshot` offers the part of a DuckDB connection that :mod:`claimwatch.kpi.engine` uses
(``execute(sql, params)`` then ``fetchall``/``fetchone``), so :func:`claimwatch.kpi.engine.compute` runs on
either engine from the same statements: every catalogue formula has one definition. On Spark the engine sends
every KPI of a call as one query (``batched``), so a dashboard panel is one Spark job, not forty.

The snapshot's tables are temporary views over its Parquet files, a fact table read as its Hive-style
partitions (``tenant_id=…/month=…``) with the schema of :data:`claimwatch.kpi.columns.TABLES`, from any path
Hadoop reads: a local folder, ``file:``, ``hdfs://``, or ``s3a://`` (hadoop-aws, configured with
``--conf spark.hadoop.fs.s3a.*``). The summaries that DuckDB's snapshot carries (month-end, claimwatch.kpi.summary,
and monthly, claimwatch.kpi.monthly) are not read: Spark counts every KPI from the facts, so a comparison of the two
engines also checks the summaries.

PySpark is optional (the ``spark`` extra); it needs Java 17 or later on the PATH or JAVA_HOME.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from claimwatch.kpi.columns import MONTH, SUMMARY_TABLES, TABLES, Table, partitioned
from claimwatch.kpi.transpile import SESSION_CONF, to_spark

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

# A small local session: no web UI, few shuffle partitions (a KPI's groups are few), no Spark progress bar.
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
}
META = "meta.json"


def _spark_type(kind: str) -> Any:
    from pyspark.sql import types

    return {
        "BIGINT": types.LongType(),
        "INTEGER": types.IntegerType(),
        "VARCHAR": types.StringType(),
        "BOOLEAN": types.BooleanType(),
        "DOUBLE": types.DoubleType(),
        "TIMESTAMP": types.TimestampNTZType(),
    }[kind]


def schema(table: Table, with_month: bool = False) -> StructType:
    """A snapshot table's Spark schema (and the month partition column of a partitioned folder)."""
    from pyspark.sql import types

    fields = [types.StructField(name, _spark_type(kind), True) for name, kind in table.columns]
    if with_month:
        fields.append(types.StructField(MONTH, types.StringType(), True))
    return types.StructType(fields)


def _summary_schema(ddl: str) -> StructType:
    from pyspark.sql import types

    pairs = [part.strip().split() for part in ddl.split(",")]
    return types.StructType([types.StructField(name, _spark_type(kind), True) for name, kind in pairs])


def session(
    master: str = "local[2]", conf: Mapping[str, str] | None = None, app: str = "claimwatch-kpi"
) -> SparkSession:
    """A Spark session for the KPI engine: ``master`` as spark-submit takes it (local[2], spark://host:7077,
    yarn, k8s://https://…), ``conf`` any further settings (s3a credentials, executors, …)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app)
    settings = {**(LOCAL_CONF if master.startswith("local") else {}), **(conf or {}), **SESSION_CONF}
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in SESSION_CONF.items():  # an existing session (getOrCreate) gets them too
        spark.conf.set(key, value)
    return spark


def _join(location: str, name: str) -> str:
    return location.rstrip("/") + "/" + name


class _Files:
    """Existence checks through Hadoop's FileSystem: the same for a local folder and object storage."""

    def __init__(self, spark: SparkSession, location: str) -> None:
        jvm = spark._jvm  # noqa: SLF001 - py4j gateway: the only way to Hadoop's FileSystem from Python
        assert jvm is not None
        self._jvm = jvm
        self._conf = spark._jsc.hadoopConfiguration()  # noqa: SLF001
        root = jvm.org.apache.hadoop.fs.Path(location)
        self._fs = root.getFileSystem(self._conf)

    def exists(self, path: str) -> bool:
        return bool(self._fs.exists(self._jvm.org.apache.hadoop.fs.Path(path)))

    def is_dir(self, path: str) -> bool:
        hadoop_path = self._jvm.org.apache.hadoop.fs.Path(path)
        return bool(self._fs.exists(hadoop_path) and self._fs.getFileStatus(hadoop_path).isDirectory())


class _Cursor:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None


class SparkSnapshot:
    """One snapshot generation opened in a Spark session, queried with the KPI engine's DuckDB statements."""

    # Every KPI of a compute() in one Spark query (a job costs far more than the few rows it returns), and the
    # KPIs counted from the facts (the summaries are DuckDB's shortcut, Spark does not read them).
    batched = True
    summaries = False

    def __init__(self, spark: SparkSession, location: str, cache: bool = False) -> None:
        """``cache``: keep the tables in the executors' memory after their first read (many calls on one
        snapshot, e.g. every dashboard panel; the snapshot must fit in the cluster's memory)."""
        self.spark = spark
        self.location = location.rstrip("/")
        files = _Files(spark, self.location)
        self.layout: dict[str, str] = {}
        for table in TABLES.values():
            frame, how = self._read(files, table)
            (frame.persist() if cache and how != "absent" else frame).createOrReplaceTempView(table.name)
            self.layout[table.name] = how
        for name, ddl in SUMMARY_TABLES.items():  # empty: Spark counts point-in-time KPIs from the facts
            spark.createDataFrame([], _summary_schema(ddl)).createOrReplaceTempView(name)

    def _read(self, files: _Files, table: Table) -> tuple[DataFrame, str]:
        single = _join(self.location, f"{table.name}.parquet")
        folder = _join(self.location, table.name)
        columns = [name for name, _ in table.columns]
        if files.exists(single):
            return self.spark.read.schema(schema(table)).parquet(single).select(*columns), "file"
        if partitioned(table) and files.is_dir(folder):
            frame = self.spark.read.schema(schema(table, with_month=True)).parquet(folder)
            return frame.select(*columns), "partitioned"
        return self.spark.createDataFrame([], schema(table)), "absent"

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> _Cursor:
        statement = to_spark(sql, params or ())
        return _Cursor([tuple(row) for row in self.spark.sql(statement).collect()])

    def meta(self) -> dict[str, Any] | None:
        """The generation's meta.json (when it was taken, the rows), read through Spark from any file system."""
        path = _join(self.location, META)
        if not _Files(self.spark, self.location).exists(path):
            return None
        text = "".join(row.value for row in self.spark.read.text(path, wholetext=True).collect())
        loaded: dict[str, Any] = json.loads(text)
        return loaded

    def taken_at(self) -> dt.datetime | None:
        meta = self.meta()
        return None if meta is None else dt.datetime.fromisoformat(meta["taken_at"])

    def close(self) -> None:
        for name in (*TABLES, *SUMMARY_TABLES):
            if name in TABLES:
                self.spark.table(name).unpersist()
            self.spark.catalog.dropTempView(name)
