"""The Parquet snapshot the KPIs are computed from (`claimwatch kpi snapshot`, and the worker).

DuckDB cannot scan SQLite or PostgreSQL here (its scanner extensions are downloads), so the needed
columns are read through SQLAlchemy in chunks, every tenant at once with the tenant column kept,
and written by DuckDB as Parquet into a new generation directory under CLAIMWATCH_SNAPSHOT_DIR.
The ``current`` symlink is then swapped atomically: a reader sees the old snapshot or the new one,
never half of each. Older generations beyond the last two are removed.

A snapshot belongs to its database: generations live in ``<CLAIMWATCH_SNAPSHOT_DIR>/<identity>/``, where
the identity is a hash of the database's address (see ``identity_of``), and ``meta.json`` records it.
Two instances started from the same folder on different databases thus never read each other's numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import structlog
from sqlalchemy import BigInteger, Connection, Select, String, and_, case, exists, func, literal, null, or_, select
from sqlalchemy.engine import URL, make_url

from claimwatch import db
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.complaints.models import Complaint, ComplaintClock, TenantVolume
from claimwatch.config import get_settings
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionPlan
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import monthly as kpi_monthly
from claimwatch.kpi import sources as kpi_sources
from claimwatch.kpi import summary as kpi_summary
from claimwatch.kpi.columns import DERIVED_TABLES, TABLES, relation_or_empty, write_table
from claimwatch.kpi.loader import CatalogueError
from claimwatch.materials.models import MaterialsProfile
from claimwatch.notify.models import MessageStatus, OutboxMessage
from claimwatch.rectification.models import Rectification
from claimwatch.risk.models import RiskReview
from claimwatch.sla.models import RegulatorFiling, SlaClock
from claimwatch.surveys.models import Survey, SurveyResponse
from claimwatch.tenancy.models import OrgUnit, Region, Tenant
from claimwatch.tenancy.service import platform_zone
from claimwatch.triage.models import TriageDecision
from claimwatch.workflow import service as workflow_service

log = structlog.get_logger("claimwatch.kpi.snapshot")
CURRENT = "current"
META = "meta.json"
CHUNK_ROWS = 50_000
KEEP_GENERATIONS = 2
DEFAULT_PORTS: dict[str, int] = {"postgresql": 5432}


@dataclass(frozen=True)
class SnapshotInfo:
    directory: Path
    taken_at: dt.datetime  # UTC
    rows: dict[str, int]


def identity_of(url: str | URL) -> str:
    """A short stable name for a database: its dialect, user, host, port and name (an SQLite file by its
    absolute path), never the password or driver, so the same database reached by two spellings of its
    URL (relative or absolute path, postgresql:// or postgresql+psycopg://) has one identity."""
    url = make_url(url)
    backend = url.get_backend_name()
    database = url.database or ""
    if backend == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
        database = str(Path(database).resolve())
    port = url.port or DEFAULT_PORTS.get(backend) or ""
    address = f"{backend}://{url.username or ''}@{url.host or ''}:{port}/{database}"
    return hashlib.sha256(address.encode()).hexdigest()[:16]


def database_identity() -> str:
    """The identity of the database this process works on."""
    return identity_of(db.get_engine().url)


def snapshot_root(base: Path | None = None) -> Path:
    """Where this database's snapshots live: under ``base`` (default CLAIMWATCH_SNAPSHOT_DIR), one folder
    per database."""
    return (base or get_settings().snapshot_dir) / database_identity()


def snapshot_zone() -> ZoneInfo:
    """The zone of the snapshot's wall-time columns, and so of its month and quarter buckets.

    The snapshot is taken once for every tenant (one Parquet file per table, which a regulator reads across
    insurers too), so its timestamps are converted into one zone: the platform zone, not each tenant's
    (``tenancy.service.tenant_zone``). A tenant in another zone sees its months bucketed on the platform's
    calendar; per-tenant buckets would need each row converted in its own tenant's zone."""
    return platform_zone()


def _claim_dims() -> tuple[Any, ...]:
    return (Claim.tenant_id, Claim.id, Claim.org_unit_id, Claim.region_code, Claim.line)


def _complaint_query() -> Select:
    decision_breached = exists().where(
        ComplaintClock.complaint_id == Complaint.id,
        ComplaintClock.policy_code == "complaint_decision",
        ComplaintClock.breached_at.is_not(None),
    )
    return select(
        Complaint.tenant_id,
        Complaint.claim_id,
        Complaint.org_unit_id,
        Complaint.region_code,
        Complaint.line,
        Complaint.channel,
        Complaint.category,
        Complaint.sub_cause,
        Complaint.status,
        func.coalesce(Complaint.major_reasons, "") != "",
        Complaint.repeat_of_id.is_not(None),
        Complaint.first_contact_resolved,
        case((Complaint.decided_at.is_(None), None), else_=~decision_breached),
        Complaint.received_at,
        Complaint.decided_at,
        Complaint.closed_at,
    ).order_by(Complaint.id)


def _survey_query() -> Select:
    return (
        select(
            Survey.tenant_id,
            Survey.claim_id,
            Survey.org_unit_id,
            Survey.region_code,
            Survey.line,
            Survey.subject_type,
            Survey.handler_id,
            Survey.status,
            Survey.sent_at,
            Survey.responded_at,
            SurveyResponse.overall,
            SurveyResponse.timeliness,
            SurveyResponse.transparency,
            SurveyResponse.attitude,
        )
        .outerjoin(SurveyResponse, SurveyResponse.survey_id == Survey.id)
        .order_by(Survey.id)
    )


def _inspection_query() -> Select:
    """Submitted inspections; weight and random_sample are added from the draws (:func:`_inspection_strata`)."""
    return (
        select(
            Inspection.tenant_id,
            case((Inspection.subject_kind == "claim", Inspection.subject_id), else_=null()),
            Inspection.org_unit_id,
            Inspection.region_code,
            Inspection.line,
            Inspection.subject_kind,
            Inspection.plan_id,
            Inspection.draw_id,
            func.coalesce(Inspection.stratum, ""),
            Inspection.error,
            Inspection.submitted_at,
        )
        .where(Inspection.error.is_not(None), Inspection.submitted_at.is_not(None))
        .order_by(Inspection.id)
    )


def _rectification_query() -> Select:
    """Rectifications under their owner unit; the overdue flags are computed against the snapshot's time."""
    return (
        select(
            Rectification.tenant_id,
            literal(None, BigInteger),
            Rectification.owner_org_unit_id,
            OrgUnit.region_code,
            literal(None, String),
            Rectification.severity,
            Rectification.status,
            Rectification.plan_outcome,
            Rectification.acceptance_outcome,
            Rectification.opened_at,
            Rectification.plan_due_at,
            Rectification.plan_submitted_at,
            Rectification.acceptance_due_at,
            Rectification.accepted_at,
        )
        .outerjoin(OrgUnit, OrgUnit.id == Rectification.owner_org_unit_id)
        .order_by(Rectification.id)
    )


def _fast_track_columns() -> tuple[Any, ...]:
    """fast_track_eligible, checked, found_wrong of the claims table (see kpi.columns): from the triage decisions,
    the claim inspections submitted and the risk reviews decided, each an indexed EXISTS per claim."""
    inspected = and_(
        Inspection.subject_kind == "claim", Inspection.subject_id == Claim.id, Inspection.error.is_not(None)
    )
    reviewed = and_(RiskReview.claim_id == Claim.id, RiskReview.label.is_not(None))
    return (
        exists().where(TriageDecision.claim_id == Claim.id, TriageDecision.would_be_route == "fast_track"),
        or_(exists().where(inspected), exists().where(reviewed)),
        or_(exists().where(inspected, Inspection.error.is_(True)), exists().where(reviewed, RiskReview.label == 1)),
    )


def _inspection_strata(con: duckdb.DuckDBPyConnection, conn: Connection) -> None:
    """Per (draw, stratum): the stratum's population as recorded by the draw, and whether the plan drew at
    random (not targeted, not opened by an alert), for the inspections' weights."""
    plans: dict[int, bool] = {}
    for plan_id, definition, source in conn.execute(
        select(InspectionPlan.id, InspectionPlan.definition, InspectionPlan.source)
    ):
        try:
            method = json.loads(definition or "{}").get("method")
        except (ValueError, AttributeError):
            method = None
        plans[int(plan_id)] = method != "targeted" and source != "alert"
    rows: list[tuple[int, str, int, bool]] = []
    for draw_id, plan_id, strata in conn.execute(
        select(InspectionDraw.id, InspectionDraw.plan_id, InspectionDraw.strata)
    ):
        try:
            entries = json.loads(strata or "[]")
        except ValueError:
            entries = []
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                population = int(entry.get("population") or 0)
                rows.append((int(draw_id), str(entry.get("key") or ""), population, plans.get(int(plan_id), True)))
    con.execute("CREATE TABLE inspection_strata (draw_id BIGINT, stratum VARCHAR, population BIGINT, random BOOLEAN)")
    if rows:
        con.executemany("INSERT INTO inspection_strata VALUES (?, ?, ?, ?)", rows)


def _queries() -> dict[str, Select[Any]]:
    informed = (*MessageStatus.DONE, MessageStatus.OPTED_OUT)
    return {
        "tenants": select(Tenant.id, Tenant.code, Tenant.name),
        "org_units": select(
            OrgUnit.tenant_id,
            OrgUnit.id,
            OrgUnit.code,
            OrgUnit.name,
            OrgUnit.parent_id,
            OrgUnit.region_code,
            OrgUnit.path,
        ),
        "regions": select(Region.code, Region.name_zh, Region.name_en),
        "claims": select(
            *_claim_dims(),
            Claim.status,
            Claim.reported_at,
            Claim.closed_at,
            exists().where(Complaint.claim_id == Claim.id),
            Claim.route,
            *_fast_track_columns(),
        ).order_by(Claim.id),
        "clocks": select(
            *_claim_dims(),
            SlaClock.policy_code,
            SlaClock.state,
            SlaClock.light,
            SlaClock.outcome,
            SlaClock.started_at,
            SlaClock.stopped_at,
            SlaClock.breached_at,
        )
        .join(Claim, Claim.id == SlaClock.claim_id)
        .order_by(SlaClock.id),
        "materials": select(
            *_claim_dims(),
            Claim.reported_at,
            MaterialsProfile.notices_issued,
            MaterialsProfile.supplement_rounds,
            MaterialsProfile.violation_rounds,
        )
        .join(Claim, Claim.id == MaterialsProfile.claim_id)
        .order_by(MaterialsProfile.id),
        "filings": select(*_claim_dims(), RegulatorFiling.policy_code, RegulatorFiling.filed_at)
        .join(Claim, Claim.id == RegulatorFiling.claim_id)
        .order_by(RegulatorFiling.id),
        # One row per (status change, message): grouped into one row per change below.
        "status_changes": select(
            *_claim_dims(),
            CaseEvent.occurred_at,
            CaseEvent.to_status,
            CaseEvent.client_event_id,
            OutboxMessage.status.in_(informed).label("informed"),
        )
        .join(Claim, Claim.id == CaseEvent.claim_id)
        .outerjoin(
            OutboxMessage,
            and_(
                OutboxMessage.claim_id == CaseEvent.claim_id,
                OutboxMessage.event_ref == CaseEvent.client_event_id,
                or_(OutboxMessage.template == "acknowledgement", OutboxMessage.template == "status_changed"),
            ),
        )
        .where(CaseEvent.to_status.is_not(None), CaseEvent.event_type.in_(("reported", "transition")))
        .order_by(CaseEvent.id),
        "complaints": _complaint_query(),
        "volumes": select(
            TenantVolume.tenant_id,
            TenantVolume.org_unit_id,
            OrgUnit.region_code,
            TenantVolume.period,
            TenantVolume.policies_in_force,
            TenantVolume.premium_fen,
        )
        .outerjoin(OrgUnit, OrgUnit.id == TenantVolume.org_unit_id)
        .order_by(TenantVolume.id),
        "surveys": _survey_query(),
        "inspections": _inspection_query(),
        "rectifications": _rectification_query(),
    }


def _staged_columns(name: str) -> tuple[tuple[str, str], ...]:
    """The columns as read from the database, where they differ from the snapshot's."""
    columns = TABLES[name].columns
    if name == "status_changes":
        return (*columns[:-2], ("event_ref", "VARCHAR"), ("informed", "BOOLEAN"))
    if name == "inspections":
        return tuple(column for column in columns if column[0] not in ("random_sample", "weight"))
    if name == "rectifications":
        return tuple(column for column in columns if not column[0].endswith("_overdue"))
    if name == "volumes":
        # The month is stored as "YYYY-MM": already the local calendar month, turned into its first day below.
        return tuple(("period", "VARCHAR") if column == "month_at" else (column, kind) for column, kind in columns)
    return columns


def _column(values: tuple[Any, ...], kind: str) -> np.ndarray[Any, Any]:
    if kind == "TIMESTAMP":
        # UTC-aware from UTCDateTime; stored naive UTC here and turned into local wall time by DuckDB.
        return np.array(
            [None if v is None else v.astimezone(dt.UTC).replace(tzinfo=None) for v in values], dtype="datetime64[us]"
        )
    if kind == "BOOLEAN":
        return np.array([None if v is None else bool(v) for v in values], dtype=object)
    return np.array(values, dtype=object)


def _chunks(conn: Connection, statement: Select[Any]) -> Iterator[list[tuple[Any, ...]]]:
    result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(statement)
    while True:
        rows = result.fetchmany(CHUNK_ROWS)
        if not rows:
            break
        yield [tuple(row) for row in rows]


def _load_table(con: duckdb.DuckDBPyConnection, conn: Connection, name: str, statement: Select[Any]) -> int:
    """Streams one query into a DuckDB staging table with the snapshot's column types."""
    staged = list(_staged_columns(name))
    con.execute(f"CREATE TABLE stage_{name} ({', '.join(f'{c} {k}' for c, k in staged)})")
    count = 0
    for rows in _chunks(conn, statement):
        columns = list(zip(*rows, strict=True))
        chunk = {f"c{i}": _column(columns[i], kind) for i, (_, kind) in enumerate(staged)}  # noqa: F841
        casts = ", ".join(f"CAST(c{i} AS {kind})" for i, (_, kind) in enumerate(staged))
        con.execute(f"INSERT INTO stage_{name} SELECT {casts} FROM chunk")  # noqa: S608 - our own column list
        count += len(rows)
    return count


def _notify_states(con: duckdb.DuckDBPyConnection) -> None:
    """Which (line, status) changes must be told to the claimant: the workflow's notify flag, and the report."""
    rows = [
        (line, state, bool(spec.notify_claimant or state == workflow.initial))
        for line, workflow in workflow_service.registry().items()
        for state, spec in workflow.states.items()
    ]
    con.execute("CREATE TABLE notify_states (line VARCHAR, status VARCHAR, notify BOOLEAN)")
    if rows:
        con.executemany("INSERT INTO notify_states VALUES (?, ?, ?)", rows)


def _final_select(name: str, zone: str, taken_at: dt.datetime | None = None) -> str:
    table = TABLES[name]
    if name == "inspections":
        # weight = N_h / n_h: the stratum's recorded population over its submitted inspections (never below 1).
        per_stratum = "count(*) OVER (PARTITION BY i.draw_id, i.stratum)"
        return (
            "SELECT i.tenant_id, i.claim_id, i.org_unit_id, i.region_code, i.line, i.subject_kind, i.plan_id, "  # noqa: S608
            "i.draw_id, i.stratum, coalesce(s.random, true) AS random_sample, i.error, "
            f"greatest(coalesce(s.population, 0), {per_stratum})::DOUBLE / {per_stratum} AS weight, "
            f"timezone('{zone}', i.submitted_at::TIMESTAMPTZ) AS submitted_at "
            "FROM stage_inspections i LEFT JOIN inspection_strata s ON s.draw_id = i.draw_id AND s.stratum = i.stratum "
            "ORDER BY submitted_at"
        )
    if name == "rectifications":
        moment = (taken_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        parts = []
        for column, kind in table.columns:
            if column.endswith("_overdue"):
                step = column.removesuffix("_overdue")
                done = "plan_submitted_at" if step == "plan" else "accepted_at"
                parts.append(f"({done} IS NULL AND {step}_due_at < TIMESTAMP '{moment}') AS {column}")
            elif kind == "TIMESTAMP":
                parts.append(f"timezone('{zone}', {column}::TIMESTAMPTZ) AS {column}")
            else:
                parts.append(column)
        return f"SELECT {', '.join(parts)} FROM stage_rectifications ORDER BY opened_at"  # noqa: S608
    if name == "status_changes":
        local = f"timezone('{zone}', s.occurred_at::TIMESTAMPTZ)"
        return (
            "SELECT s.tenant_id, s.claim_id, s.org_unit_id, s.region_code, s.line, "  # noqa: S608 - fixed text
            f"{local} AS occurred_at, s.to_status, coalesce(any_value(n.notify), false) AS flagged, "
            "coalesce(bool_or(s.informed), false) AS informed "
            "FROM stage_status_changes s LEFT JOIN notify_states n ON n.line = s.line AND n.status = s.to_status "
            "GROUP BY s.tenant_id, s.claim_id, s.org_unit_id, s.region_code, s.line, s.occurred_at, s.to_status, "
            "s.event_ref ORDER BY occurred_at"
        )
    if name == "volumes":
        return (
            "SELECT tenant_id, org_unit_id, region_code, strptime(period, '%Y-%m') AS month_at, policies, "
            "premium_fen FROM stage_volumes ORDER BY month_at"
        )
    parts = [
        f"timezone('{zone}', {column}::TIMESTAMPTZ) AS {column}" if kind == "TIMESTAMP" else column
        for column, kind in table.columns
    ]
    order = f" ORDER BY {table.timestamps[0]}" if table.timestamps else ""
    return f"SELECT {', '.join(parts)} FROM stage_{name}{order}"  # noqa: S608 - our own column list


def _exposure_select(generation: Path) -> str:
    """complaint_exposure from the claims, complaints and volumes just written, counted per month and
    dimension (a month's claims are one row, not one row each)."""

    def parquet(name: str) -> str:
        return relation_or_empty(generation, name)

    dims = "tenant_id, NULL::BIGINT AS claim_id, org_unit_id, region_code, line"
    group = "tenant_id, org_unit_id, region_code, line, month_at"
    return (
        f"SELECT {dims}, date_trunc('month', reported_at) AS month_at, "  # noqa: S608 - paths and our own columns
        "0 AS complaints, count(*)::INTEGER AS claims, "
        f"NULL::BIGINT AS policies, NULL::BIGINT AS premium_fen FROM {parquet('claims')} GROUP BY {group} "
        f"UNION ALL SELECT {dims}, date_trunc('month', received_at) AS month_at, count(*)::INTEGER, 0, NULL, NULL "
        f"FROM {parquet('complaints')} GROUP BY {group} "
        "UNION ALL SELECT tenant_id, NULL, org_unit_id, region_code, NULL, month_at, 0, 0, policies, premium_fen "
        f"FROM {parquet('volumes')} ORDER BY month_at"
    )


def _write_summary(generation: Path, taken_at: dt.datetime) -> None:
    """The month-end summaries of the catalogue's point-in-time KPIs and the monthly summary of its KPIs with a
    period column (claimwatch.kpi.monthly); none if the catalogue does not load."""
    try:
        kpis = kpi_loader.catalogue()
    except CatalogueError as exc:
        log.warning("kpi snapshot without month-end summary", error=str(exc))
        return
    local_now = taken_at.astimezone(snapshot_zone()).replace(tzinfo=None)
    kpi_summary.write(generation, kpis, local_now)
    kpi_monthly.write(generation, kpis)


def take_snapshot(root: Path | None = None, now: dt.datetime | None = None) -> SnapshotInfo:
    """Reads the operational database (every tenant) into a new Parquet generation and makes it current
    (under ``snapshot_root(root)``)."""
    root = snapshot_root(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    taken_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    written = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    generation = root / f"gen-{written}-{uuid.uuid4().hex[:8]}"
    generation.mkdir()
    zone = snapshot_zone().key.replace("'", "")
    con = duckdb.connect(":memory:")
    rows: dict[str, int] = {}
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = true")
        _notify_states(con)
        with db.get_engine().connect() as conn:
            for name, statement in _queries().items():
                rows[name] = _load_table(con, conn, name, statement)
            registered = kpi_sources.queries()
            for name in kpi_sources.REGISTERED:
                if name in registered:
                    rows[name] = _load_table(con, conn, name, registered[name](taken_at))
                else:
                    con.execute(f"CREATE TABLE stage_{name} ({TABLES[name].ddl()})")
            _inspection_strata(con, conn)
        for name in TABLES:
            select_sql = _exposure_select(generation) if name in DERIVED_TABLES else _final_select(name, zone, taken_at)
            write_table(con, select_sql, generation, name)
        if "status_changes" in rows:
            written = relation_or_empty(generation, "status_changes")
            row = con.execute(f"SELECT count(*) FROM {written}").fetchone()  # noqa: S608 - our own relation
            rows["status_changes"] = int(row[0]) if row else 0
        con.close()
        _write_summary(generation, taken_at)
    except BaseException:
        con.close()
        shutil.rmtree(generation, ignore_errors=True)
        raise
    meta = {"taken_at": taken_at.isoformat(), "rows": rows, "database": database_identity()}
    (generation / META).write_text(json.dumps(meta), encoding="utf-8")
    publish(root, generation)
    log.info("kpi snapshot", directory=str(generation), **rows)
    return SnapshotInfo(generation, taken_at, rows)


def publish(root: Path, generation: Path) -> None:
    """Points ``root/current`` at ``generation`` atomically and prunes old generations."""
    link = root / CURRENT
    temporary = root / f".{CURRENT}-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(generation.name)
    os.replace(temporary, link)
    generations = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("gen-") and not p.is_symlink())
    for old in generations[:-KEEP_GENERATIONS]:
        if old.name != generation.name:
            shutil.rmtree(old, ignore_errors=True)


def current(root: Path | None = None) -> SnapshotInfo | None:
    """This database's snapshot in force (under ``snapshot_root(root)``), or None when none was taken yet
    or the one found was read from another database."""
    root = snapshot_root(root)
    link = root / CURRENT
    if not link.exists():
        return None
    directory = link.resolve()
    try:
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    identity = database_identity()
    if meta.get("database") != identity:
        log.warning(
            "kpi snapshot of another database ignored",
            directory=str(directory),
            snapshot_database=meta.get("database"),
            database=identity,
        )
        return None
    return SnapshotInfo(directory, dt.datetime.fromisoformat(meta["taken_at"]), meta.get("rows", {}))
