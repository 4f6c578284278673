"""The Parquet snapshot's tables: what the KPI formulas may read.

Fact tables carry the claim's tenant, org unit, region and line (denormalised when the snapshot is
taken) so every KPI groups by any dimension without a join. Timestamps are local wall time in
CLAIMWATCH_DEFAULT_TIMEZONE, so a month is the month the staff see on their pages.

Layout of a snapshot generation: a fact table (one with ``tenant_id`` and a timestamp) is a Hive-style
partitioned folder, ``<table>/tenant_id=<id>/month=<YYYY-MM>/*.parquet``, the month being that of the table's
first timestamp (when the row began: a claim's report, a clock's start; ``none`` when it is empty), so DuckDB
and Spark both skip the files of other tenants (and a cluster reads each partition in parallel). Dimension
tables and the month-end summaries are single files, ``<table>.parquet``; the monthly summary is the folder
``monthly/`` (a file per table and period column, and its manifest). Readers accept either layout for every
table (tests and benchmarks write single files).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

DIMENSION_COLUMNS = (
    ("tenant_id", "BIGINT"),
    ("claim_id", "BIGINT"),
    ("org_unit_id", "BIGINT"),
    ("region_code", "VARCHAR"),
    ("line", "VARCHAR"),
)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def timestamps(self) -> tuple[str, ...]:
        return tuple(name for name, kind in self.columns if kind == "TIMESTAMP")

    def ddl(self) -> str:
        return ", ".join(f"{name} {kind}" for name, kind in self.columns)


TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table("tenants", (("id", "BIGINT"), ("code", "VARCHAR"), ("name", "VARCHAR"))),
        Table(
            "org_units",
            (
                ("tenant_id", "BIGINT"),
                ("id", "BIGINT"),
                ("code", "VARCHAR"),
                ("name", "VARCHAR"),
                ("parent_id", "BIGINT"),
                ("region_code", "VARCHAR"),
                ("path", "VARCHAR"),
            ),
        ),
        Table("regions", (("code", "VARCHAR"), ("name_zh", "VARCHAR"), ("name_en", "VARCHAR"))),
        Table(
            "claims",
            (
                *DIMENSION_COLUMNS,
                ("status", "VARCHAR"),
                ("reported_at", "TIMESTAMP"),
                ("closed_at", "TIMESTAMP"),
                ("disputed", "BOOLEAN"),  # at least one complaint names the claim
                # Triage (issue 15): the claim's route now (claims.route); whether the rules ever found it eligible
                # for the 三免 fast track (a decision whose would-be route was fast_track, also in monitor mode);
                # checked: a submitted inspection or a decided risk review (核查) looked at it afterwards;
                # found_wrong: one of them found an error or confirmed fraud (fast-track leakage).
                ("route", "VARCHAR"),
                ("fast_track_eligible", "BOOLEAN"),
                ("checked", "BOOLEAN"),
                ("found_wrong", "BOOLEAN"),
            ),
        ),
        Table(
            "clocks",
            (
                *DIMENSION_COLUMNS,
                ("policy_code", "VARCHAR"),
                ("state", "VARCHAR"),
                ("light", "VARCHAR"),
                ("outcome", "VARCHAR"),
                ("started_at", "TIMESTAMP"),
                ("stopped_at", "TIMESTAMP"),
                ("breached_at", "TIMESTAMP"),
            ),
        ),
        Table(
            "materials",
            (
                *DIMENSION_COLUMNS,
                ("reported_at", "TIMESTAMP"),
                ("notices_issued", "INTEGER"),
                ("supplement_rounds", "INTEGER"),
                ("violation_rounds", "INTEGER"),
            ),
        ),
        Table("filings", (*DIMENSION_COLUMNS, ("policy_code", "VARCHAR"), ("filed_at", "TIMESTAMP"))),
        Table(
            "status_changes",
            (
                *DIMENSION_COLUMNS,
                ("occurred_at", "TIMESTAMP"),
                ("to_status", "VARCHAR"),
                ("flagged", "BOOLEAN"),
                ("informed", "BOOLEAN"),
            ),
        ),
        # One row per complaint; claim_id is null when it matches no claim. decided_on_time: decided with no
        # decision clock breached (null while undecided or when withdrawn).
        Table(
            "complaints",
            (
                *DIMENSION_COLUMNS,
                ("channel", "VARCHAR"),
                ("category", "VARCHAR"),
                ("sub_cause", "VARCHAR"),
                ("status", "VARCHAR"),
                ("major", "BOOLEAN"),
                ("is_repeat", "BOOLEAN"),
                ("first_contact_resolved", "BOOLEAN"),
                ("decided_on_time", "BOOLEAN"),
                ("received_at", "TIMESTAMP"),
                ("decided_at", "TIMESTAMP"),
                ("closed_at", "TIMESTAMP"),
            ),
        ),
        # What the tenant reports per month (policies in force, premium); org_unit_id null = the whole tenant.
        Table(
            "volumes",
            (
                ("tenant_id", "BIGINT"),
                ("org_unit_id", "BIGINT"),
                ("region_code", "VARCHAR"),
                ("month_at", "TIMESTAMP"),
                ("policies", "BIGINT"),
                ("premium_fen", "BIGINT"),
            ),
        ),
        # Complaint rates' exposure, built from the three above: one row per claim (claims counted at reported_at),
        # per complaint (at received_at) and per volume row (at its month), so complaints per
        # 10 000 claims / policies / 100 M CNY premium share one period column.
        Table(
            "complaint_exposure",
            (
                *DIMENSION_COLUMNS,
                ("month_at", "TIMESTAMP"),
                ("complaints", "INTEGER"),
                ("claims", "INTEGER"),
                ("policies", "BIGINT"),
                ("premium_fen", "BIGINT"),
            ),
        ),
        # One row per satisfaction survey sent; the scores are null until answered.
        Table(
            "surveys",
            (
                *DIMENSION_COLUMNS,
                ("subject_type", "VARCHAR"),
                ("handler_id", "BIGINT"),
                ("status", "VARCHAR"),
                ("sent_at", "TIMESTAMP"),
                ("responded_at", "TIMESTAMP"),
                ("overall", "INTEGER"),
                ("timeliness", "INTEGER"),
                ("transparency", "INTEGER"),
                ("attitude", "INTEGER"),
            ),
        ),
        # One row per submitted inspection (品质抽检; claim_id is the subject's id when it is a claim). weight is the
        # inverse of the case's chance of being drawn (N_h / n_h: its stratum's population over the stratum's
        # submitted inspections), so sum(weight) over a draw's rows is its population and
        # 1 - sum(weight) FILTER (WHERE error) / sum(weight) is the stratified accuracy estimate. random_sample:
        # drawn at random by a plan that is neither targeted nor opened by an alert (what accuracy is measured on).
        Table(
            "inspections",
            (
                *DIMENSION_COLUMNS,
                ("subject_kind", "VARCHAR"),
                ("plan_id", "BIGINT"),
                ("draw_id", "BIGINT"),
                ("stratum", "VARCHAR"),
                ("random_sample", "BOOLEAN"),
                ("error", "BOOLEAN"),
                ("weight", "DOUBLE"),
                ("submitted_at", "TIMESTAMP"),
            ),
        ),
        # One row per rectification (整改), under its owner org unit (claim_id and line are null). plan_overdue /
        # acceptance_overdue: past the deadline without the step done, as of the snapshot.
        Table(
            "rectifications",
            (
                *DIMENSION_COLUMNS,
                ("severity", "VARCHAR"),
                ("status", "VARCHAR"),
                ("plan_outcome", "VARCHAR"),
                ("acceptance_outcome", "VARCHAR"),
                ("plan_overdue", "BOOLEAN"),
                ("acceptance_overdue", "BOOLEAN"),
                ("opened_at", "TIMESTAMP"),
                ("plan_due_at", "TIMESTAMP"),
                ("plan_submitted_at", "TIMESTAMP"),
                ("acceptance_due_at", "TIMESTAMP"),
                ("accepted_at", "TIMESTAMP"),
            ),
        ),
        # One row per improvement action (改进措施, claimwatch.actions), under its scope's org unit (claim_id null).
        # Registered through claimwatch.kpi.sources. overdue: not completed and past its due time, as of the
        # snapshot. verdict: the effectiveness check's (improved | no_change | worse | insufficient), null before.
        Table(
            "actions",
            (
                *DIMENSION_COLUMNS,
                ("source_kind", "VARCHAR"),
                ("kpi_code", "VARCHAR"),
                ("phase", "VARCHAR"),
                ("opened_at", "TIMESTAMP"),
                ("due_at", "TIMESTAMP"),
                ("completed_at", "TIMESTAMP"),
                ("overdue", "BOOLEAN"),
                ("verdict", "VARCHAR"),
            ),
        ),
        # One row per published public disclosure (信息披露, claimwatch.reports) of a tenant and quarter: how many
        # indicators the rules require and how many it carries. Registered through claimwatch.kpi.sources.
        Table(
            "disclosures",
            (
                *DIMENSION_COLUMNS,
                ("quarter_at", "TIMESTAMP"),
                ("required", "INTEGER"),
                ("present", "INTEGER"),
                ("published_at", "TIMESTAMP"),
            ),
        ),
        # One row per task sent to a third party (claimwatch.providers), not cancelled, under its claim's org unit,
        # region (the task's, copied from the claim) and line. Registered through claimwatch.kpi.sources.
        # standard / on_time: the task's verdict, null until its report is in or its deadline passed (then final).
        Table(
            "provider_tasks",
            (
                *DIMENSION_COLUMNS,
                ("provider_id", "BIGINT"),
                ("provider_code", "VARCHAR"),
                ("credit_code", "VARCHAR"),
                ("kind", "VARCHAR"),
                ("status", "VARCHAR"),
                ("sent_at", "TIMESTAMP"),
                ("due_at", "TIMESTAMP"),
                ("reported_at", "TIMESTAMP"),
                ("on_time", "BOOLEAN"),
                ("standard", "BOOLEAN"),
            ),
        ),
    )
}

# Built in DuckDB from other snapshot tables, not read from the database.
DERIVED_TABLES = ("complaint_exposure",)


# Month-end summaries of point-in-time KPIs (claimwatch.kpi.summary), written with the snapshot.
END_SUMMARY = "end_summary"
END_POINTS = "end_points"
SUMMARY_TABLES = {
    END_SUMMARY: (
        "kpi VARCHAR, fingerprint VARCHAR, end_at TIMESTAMP, tenant_id BIGINT, org_unit_id BIGINT, "
        "region_code VARCHAR, line VARCHAR, n BIGINT, d BIGINT"
    ),
    END_POINTS: "kpi VARCHAR, fingerprint VARCHAR, end_at TIMESTAMP",
}


# The monthly summary of the KPIs with a period column (claimwatch.kpi.monthly): a folder of one file per table and
# period column, opened as the view monthly_view(source, column) while its manifest's token of the facts still
# matches them (a summary of other facts is never read).
MONTHLY_FOLDER = "monthly"
MONTHLY_MANIFEST = "manifest.json"


def monthly_view(source: str, column: str) -> str:
    return f"monthly_{source}__{column}"


def _fact_files(directory: Path, name: str) -> list[Path]:
    single = directory / f"{name}.parquet"
    if single.exists():
        return [single]
    return sorted((directory / name).glob("*=*/*=*/*.parquet"))


def facts_token(directory: Path, name: str) -> str:
    """Identifies the files a table was read from (their paths, sizes and modification times): a summary built from
    them is used only while they are unchanged."""
    listed = [
        f"{path.relative_to(directory)}:{stat.st_size}:{stat.st_mtime_ns}"
        for path in _fact_files(directory, name)
        for stat in (path.stat(),)
    ]
    return hashlib.sha256("\n".join(listed).encode("utf-8")).hexdigest()[:32]


def _attach_monthly(con: duckdb.DuckDBPyConnection, directory: Path) -> None:
    folder = directory / MONTHLY_FOLDER
    try:
        manifest = json.loads((folder / MONTHLY_MANIFEST).read_text(encoding="utf-8"))
        views = dict(manifest["views"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    for view, entry in views.items():
        path = folder / f"{view}.parquet"
        source = entry.get("source") if isinstance(entry, dict) else None
        if source not in TABLES or view != monthly_view(source, str(entry.get("column"))) or not path.exists():
            continue
        if entry.get("facts") != facts_token(directory, source):
            continue  # built from other facts: stale
        con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({_quoted(path)})")  # noqa: S608


PARTITION_COLUMNS = ("tenant_id", "month")
MONTH = "month"  # the partition column of the month; not a column of the table itself
NO_MONTH = "none"  # the month partition of rows whose first timestamp is empty


def partitioned(table: Table) -> bool:
    """Whether the snapshot writes this table partitioned by tenant and month (every fact table)."""
    return table.name in _FACTS


def month_column(table: Table) -> str:
    """The timestamp whose month places a row in its partition: the table's first (when the row began)."""
    return table.timestamps[0]


_FACTS = {
    table.name
    for table in TABLES.values()
    if table.timestamps and any(name == "tenant_id" for name, _ in table.columns)
}


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def write_table(con: duckdb.DuckDBPyConnection, select_sql: str, directory: Path, name: str) -> None:
    """Writes one snapshot table (the rows of ``select_sql``, in the table's columns) into a generation: a
    fact table partitioned by tenant and month, any other as one file."""
    table = TABLES[name]
    if not partitioned(table):
        con.execute(
            f"COPY ({select_sql}) TO {_quoted(directory / f'{name}.parquet')} (FORMAT parquet, COMPRESSION zstd)"
        )
        return
    month = f"coalesce(strftime({month_column(table)}, '%Y-%m'), '{NO_MONTH}') AS {MONTH}"
    columns = ", ".join(column for column, _ in table.columns)
    target = directory / name
    target.mkdir(parents=True, exist_ok=True)  # an empty table is an empty folder
    con.execute(
        f"COPY (SELECT {columns}, {month} FROM ({select_sql})) TO {_quoted(target)} "  # noqa: S608 - our own columns
        f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({', '.join(PARTITION_COLUMNS)}), OVERWRITE_OR_IGNORE)"
    )


def relation(directory: Path, name: str) -> str | None:
    """A DuckDB expression reading one table of a generation in the table's columns, whichever layout it was
    written in; None when the generation does not have it (or a partitioned folder holds no file)."""
    single = directory / f"{name}.parquet"
    if single.exists():
        return f"read_parquet({_quoted(single)})"
    folder = directory / name
    table = TABLES.get(name)
    if table is None or not folder.is_dir() or not any(folder.glob("*=*/*=*/*.parquet")):
        return None
    columns = ", ".join(column for column, _ in table.columns)
    return (
        f"(SELECT {columns} FROM read_parquet({_quoted(folder / '*=*' / '*=*' / '*.parquet')}, "  # noqa: S608
        "hive_partitioning = true, hive_types = {'tenant_id': BIGINT, 'month': VARCHAR}))"
    )


def relation_or_empty(directory: Path, name: str) -> str:
    """:func:`relation`, or a typed relation of no rows when the generation does not have the table."""
    found = relation(directory, name)
    if found is not None:
        return found
    columns = ", ".join(f"CAST(NULL AS {kind}) AS {column}" for column, kind in TABLES[name].columns)
    return f"(SELECT {columns} WHERE false)"  # noqa: S608 - our own columns


def empty_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every snapshot table, empty (formula checks)."""
    con = duckdb.connect(":memory:")
    for table in TABLES.values():
        con.execute(f"CREATE TABLE {table.name} ({table.ddl()})")
    return con


def open_snapshot(directory: Path, threads: int | None = None, summaries: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose views read one snapshot generation's Parquet files.

    ``summaries=False`` leaves out the month-end summaries (empty) and the monthly summary, so every KPI is counted
    from the facts.
    """
    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for table in TABLES.values():
        source = relation(directory, table.name)
        if source is not None:
            con.execute(f"CREATE VIEW {table.name} AS SELECT * FROM {source}")  # noqa: S608
        else:
            con.execute(f"CREATE TABLE {table.name} ({table.ddl()})")
    for name, ddl in SUMMARY_TABLES.items():
        path = directory / f"{name}.parquet"
        if summaries and path.exists():
            quoted = str(path).replace("'", "''")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{quoted}')")  # noqa: S608
        else:
            con.execute(f"CREATE TABLE {name} ({ddl})")
    if summaries:
        _attach_monthly(con, directory)
    return con
