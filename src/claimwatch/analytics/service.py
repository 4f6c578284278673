"""Process analytics over a tenant's claims (the event log from the database, the report, XES export)
and over uploaded or local log files (XES, CSV, Parquet)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from claimwatch.analytics import process, repository, tabular
from claimwatch.analytics.log import TIMESTAMP, EventLog
from claimwatch.analytics.xes import XesError, read_xes
from claimwatch.db import tenant_context
from claimwatch.errors import Forbidden, Invalid


def claims_event_log(
    session: Session,
    tenant_id: int | None,
    *,
    line: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> EventLog:
    """The claims of one tenant (or, for ``tenant_id=None`` in a regulator's session, of every tenant)
    as an event log: case = claim number (``CODE/number`` across tenants), activity = the status
    entered, timestamp = when it happened, resource = the actor. Claims reported in [since, until)."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Invalid(name, "give a time zone offset, e.g. +08:00")
    context = tenant_context(session)
    if context.tenant_id is not None and tenant_id != context.tenant_id:
        raise Forbidden("tenant", "a tenant session reads only its own claims")
    codes: list[str] = []
    cases: list[str] = []
    activities: list[str] = []
    stamps: list[dt.datetime] = []
    actors: list[str | None] = []
    for code, number, status, occurred_at, actor in repository.claim_status_events(
        session, tenant_id, line=line, since=since, until=until
    ):
        codes.append(code)
        cases.append(number)
        activities.append(status)
        stamps.append(occurred_at)
        actors.append(actor)
    case = pl.Series("case", cases, dtype=pl.String)
    if tenant_id is None:
        case = pl.Series("code", codes, dtype=pl.String) + "/" + case
    frame = pl.DataFrame(
        {
            "case": case,
            "activity": pl.Series(activities, dtype=pl.String),
            "timestamp": pl.Series(stamps, dtype=pl.Datetime("us", "UTC")).cast(TIMESTAMP),
            "resource": pl.Series(actors, dtype=pl.String),
            "lifecycle": pl.Series(["complete"] * len(cases), dtype=pl.String),
        }
    )
    return EventLog.from_frame(frame, name="claimwatch claims")


def claims_process_report(
    session: Session,
    tenant_id: int | None,
    *,
    line: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    top_variants: int = 10,
    top_bottlenecks: int = 10,
) -> dict[str, Any]:
    log = claims_event_log(session, tenant_id, line=line, since=since, until=until)
    report = process_report(log, top_variants=top_variants, top_bottlenecks=top_bottlenecks)
    report["filters"] = {
        "line": line,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
    return report


def process_report(log: EventLog, *, top_variants: int = 10, top_bottlenecks: int = 10) -> dict[str, Any]:
    """The report of any event log (the claims', or a file's)."""
    return process.process_report(log, top_variants=top_variants, top_bottlenecks=top_bottlenecks)


def log_from_claim_events(events: Iterable[dict[str, Any]], name: str = "claim events") -> EventLog:
    """An event log from claim events in the ingestion format (``POST /api/v1/events`` bodies, the
    demo generator's and the JSON-lines importer's): ``reported`` enters the workflow's initial status
    (``reported``), a ``transition`` enters ``to_status``; other event types change no status."""
    cases: list[str] = []
    activities: list[str] = []
    stamps: list[str] = []
    resources: list[str | None] = []
    for event in events:
        kind = event.get("type")
        if kind == "reported":
            status = "reported"
        elif kind == "transition" and event.get("to_status"):
            status = event["to_status"]
        else:
            continue
        cases.append(event["claim_number"])
        activities.append(status)
        stamps.append(event["occurred_at"])
        resources.append(event.get("actor"))
    frame = pl.DataFrame(
        {
            "case": pl.Series(cases, dtype=pl.String),
            "activity": pl.Series(activities, dtype=pl.String),
            "timestamp": pl.Series(stamps, dtype=pl.String).str.to_datetime(
                "%Y-%m-%dT%H:%M:%S%.f%#z", time_zone="UTC", time_unit="us"
            ),
            "resource": pl.Series(resources, dtype=pl.String),
            "lifecycle": pl.Series(["complete"] * len(cases), dtype=pl.String),
        }
    )
    return EventLog.from_frame(frame, name=name)


LOG_FORMATS = ("xes", *tabular.FORMATS)


def log_format(source: str | os.PathLike[str] | bytes, declared: str | None = None) -> str:
    """``xes``, ``csv`` or ``parquet``: as declared, else from the file name, else from the first bytes."""
    if declared is not None and declared not in LOG_FORMATS:
        raise Invalid("format", f"read {', '.join(LOG_FORMATS)}, not {declared!r}")
    if declared:
        return declared
    if isinstance(source, str | os.PathLike):
        suffixes = [suffix.lower() for suffix in Path(source).suffixes]
        if ".xes" in suffixes[-2:]:
            return "xes"
    else:
        head = source[:512].lstrip()
        if head.startswith(b"\x1f\x8b"):
            try:
                head = gzip.GzipFile(fileobj=io.BytesIO(source)).read(512).lstrip()
            except (OSError, EOFError) as exc:
                raise Invalid("file", "a corrupt or truncated gzip file") from exc
        if head.startswith((b"<?xml", b"<log")):
            return "xes"
    return tabular.detect_format(source)


def read_log(
    source: str | os.PathLike[str] | bytes,
    *,
    format: str | None = None,  # noqa: A002 - the option's name
    mapping: tabular.ColumnMapping | None = None,
    separator: str = ",",
    name: str | None = None,
) -> EventLog:
    """An event log from an XES, CSV or Parquet file (a path, or the bytes of an upload). The column
    mapping applies to CSV and Parquet; XES uses its standard keys. Raises Invalid naming the field."""
    kind = log_format(source, format)
    if kind == "xes":
        try:
            return read_xes(io.BytesIO(source) if isinstance(source, bytes) else source, name=name)
        except XesError as exc:
            raise Invalid("file", str(exc)) from exc
    return tabular.read_table(source, mapping, format=kind, separator=separator, name=name)
