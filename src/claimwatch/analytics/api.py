"""GET /api/v1/analytics/process (JSON) and /api/v1/analytics/process.xes (download); POST
/api/v1/analytics/process/log analyses an uploaded XES, CSV or Parquet log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from claimwatch.analytics import service, tabular
from claimwatch.analytics.log import EventLog
from claimwatch.analytics.xes import xes_lines
from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import NotFound
from claimwatch.params import checked_instant
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
# The quality department, supervisors, inspectors, admins, and regulators (every insurer, read-only).
analytics_reader = require(Permission.VIEW_ANALYTICS)


def _tenant_id(session: Session, tenant: str | None) -> int | None:
    """The caller's own tenant; a regulator may name one (or read all). Another insurer is unknown (404)."""
    own = session.info["tenant"].tenant_id
    if tenant is None:
        return own
    found = tenancy_repository.tenant_by_code(session, tenant)
    if found is None or (own is not None and found.id != own):
        raise NotFound("tenant", f"no insurer {tenant!r}")
    return found.id


@router.get("/process", summary="Process analytics of claims: DFG with waiting times, variants, bottlenecks, rework")
def get_process(
    session: TenantSession,
    line: str | None = Query(None, description="line of business, e.g. motor"),
    since: dt.datetime | None = Query(None, description="claims reported at or after (ISO 8601 with offset)"),
    until: dt.datetime | None = Query(None, description="claims reported before"),
    tenant: str | None = Query(None, description="insurer code (regulators: optional filter)"),
    top: int = Query(10, ge=1, le=1000, description="how many variants and bottlenecks"),
    _: Principal = Depends(analytics_reader),
) -> dict[str, Any]:
    checked_instant("since", since)
    checked_instant("until", until)
    tenant_id = _tenant_id(session, tenant)
    report = service.claims_process_report(
        session, tenant_id, line=line, since=since, until=until, top_variants=top, top_bottlenecks=top
    )
    report["tenant"] = tenant
    return report


@router.get(
    "/process.xes",
    summary="The claims' event log as XES (IEEE 1849) for process-mining tools",
    response_class=StreamingResponse,
)
def get_process_xes(
    session: TenantSession,
    line: str | None = Query(None),
    since: dt.datetime | None = Query(None),
    until: dt.datetime | None = Query(None),
    tenant: str | None = Query(None, description="insurer code (regulators: optional filter)"),
    _: Principal = Depends(analytics_reader),
) -> StreamingResponse:
    checked_instant("since", since)
    checked_instant("until", until)
    tenant_id = _tenant_id(session, tenant)
    log: EventLog = service.claims_event_log(session, tenant_id, line=line, since=since, until=until)
    return StreamingResponse(
        (piece.encode("utf-8") for piece in xes_lines(log)),
        media_type="application/xml",
        headers={"Content-Disposition": 'attachment; filename="claims.xes"'},
    )


@router.post(
    "/process/log",
    summary="Process analytics of an uploaded event log (XES, CSV or Parquet, with a column mapping)",
    responses={413: {"description": "file too large (20 MiB)"}},
)
def post_process_log(
    file: UploadFile = File(..., description="the log: .xes, .xes.gz, .csv, .csv.gz or .parquet"),
    log_format: str | None = Query(None, alias="format", description="xes, csv or parquet (default: detected)"),
    case: str = Query("case", max_length=200, description="CSV/Parquet: the case id column"),
    activity: str = Query("activity", max_length=200, description="CSV/Parquet: the activity column"),
    timestamp: str = Query("timestamp", max_length=200, description="the event time column (an interval's end)"),
    start: str | None = Query(None, max_length=200, description="interval log: the activity's start column"),
    end: str | None = Query(None, max_length=200, description="interval log: the activity's end column"),
    resource: str | None = Query(None, max_length=200, description="the resource column"),
    time_format: str | None = Query(
        None, max_length=100, description="strftime layout of text times (default ISO 8601)"
    ),
    separator: str = Query(",", min_length=1, max_length=1, description="CSV field separator"),
    top: int = Query(10, ge=1, le=1000, description="how many variants and bottlenecks"),
    _: Principal = Depends(analytics_reader),
) -> dict[str, Any]:
    """Nothing is stored: the file is read in memory, analysed and dropped. For an interval log
    (``start`` given) the report adds the service time per activity and measures waiting from one
    activity's end to the next one's start."""
    mapping = tabular.ColumnMapping(
        case=case,
        activity=activity,
        timestamp=timestamp,
        start=start,
        end=end,
        resource=resource,
        time_format=time_format,
    )
    name = file.filename or "uploaded log"
    log = service.read_log(file.file.read(), format=log_format, mapping=mapping, separator=separator, name=name)
    report = service.process_report(log, top_variants=top, top_bottlenecks=top)
    report["file"] = name
    return report
