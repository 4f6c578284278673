"""A synthetic KPI snapshot for the rating tests: rows of the snapshot tables (claims, clocks, complaints,
surveys, materials, filings, complaint exposure) for chosen insurers, written as the Parquet files
`claimwatch kpi snapshot` writes, so the rating reads them through the real KPI engine.

``quality`` in [0, 1] sets how good a unit looks: 1 is at every indicator's ceiling, 0 at its floor.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from claimwatch.kpi.columns import TABLES, open_snapshot
from claimwatch.kpi.service import OpenSnapshot
from claimwatch.kpi.snapshot import META, database_identity, publish, snapshot_root

Rows = dict[str, list[dict[str, Any]]]


def unit_rows(
    rows: Rows, tenant_id: int, quarter_start: dt.date, quality: float, claims: int = 20, region: str = "440000"
) -> Rows:
    """Add one unit's quarter: ``claims`` claims reported on the quarter's 2nd day, all decided within it."""
    start = dt.datetime(quarter_start.year, quarter_start.month, 2, 9)  # noqa: DTZ001 - snapshot wall time
    month = dt.datetime(quarter_start.year, quarter_start.month, 1)  # noqa: DTZ001
    base = {"tenant_id": tenant_id, "org_unit_id": tenant_id * 100, "region_code": region, "line": "motor"}
    accepted = round(claims * (0.85 + 0.15 * quality))
    met = round(claims * (0.7 + 0.3 * quality))
    with_supplement = round(claims * (0.5 - 0.4 * quality))
    cycle_days = 30 - 25 * quality
    for index in range(claims):
        claim_id = tenant_id * 100_000 + quarter_start.month * 1000 + index + int(region) // 10_000 * 10_000_000
        row = base | {"claim_id": claim_id}
        rows.setdefault("claims", []).append(
            row
            | {
                "status": "closed" if index < accepted else "rejected",
                "reported_at": start,
                "closed_at": start + dt.timedelta(days=cycle_days),
            }
        )
        rows.setdefault("clocks", []).append(
            row
            | {
                "policy_code": "timeliness_small",
                "state": "stopped",
                "light": "green",
                "outcome": "met" if index < met else "breached",
                "started_at": start,
                "stopped_at": start + dt.timedelta(days=1),
                "breached_at": None if index < met else start + dt.timedelta(days=1),
            }
        )
        rows.setdefault("materials", []).append(
            row | {"reported_at": start, "notices_issued": 1, "supplement_rounds": int(index < with_supplement)}
        )
        rows.setdefault("surveys", []).append(
            row | {"status": "responded", "sent_at": start, "responded_at": start, "overall": 5 + 4 * quality}
        )
    complaints = round(10 * (1 - quality)) + 1
    for index in range(complaints):
        rows.setdefault("complaints", []).append(
            base
            | {
                "claim_id": None,
                "status": "closed",
                "major": False,
                "decided_on_time": index >= complaints * (1 - quality),
                "received_at": start,
                "decided_at": start + dt.timedelta(days=5),
            }
        )
    rows.setdefault("complaint_exposure", []).append(
        base
        | {
            "claim_id": None,
            "month_at": month,
            "complaints": complaints,
            "claims": claims,
            "policies": 10_000,
            "premium_fen": 10_000_000_000,
        }
    )
    for _ in range(round(3 * (1 - quality))):
        rows.setdefault("filings", []).append(base | {"claim_id": None, "policy_code": "x", "filed_at": start})
    return rows


def write(directory: Path, tenants: Iterable[tuple[int, str]], rows: Rows) -> Path:
    """The Parquet files of ``rows`` (and the tenants) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    con = open_snapshot(directory / "nothing-here")  # empty tables of the snapshot schema
    tables = dict(rows) | {"tenants": [{"id": t, "code": c, "name": c} for t, c in tenants]}
    for name, found in tables.items():
        columns = [column for column, _ in TABLES[name].columns]
        target = str(directory / f"{name}.parquet").replace("'", "''")
        if found:
            frame = pd.DataFrame([[row.get(column) for column in columns] for row in found], columns=columns)
            con.register("frame", frame)
            con.execute(f"INSERT INTO {name} SELECT * FROM frame")  # noqa: S608
            con.unregister("frame")
        con.execute(f"COPY {name} TO '{target}' (FORMAT PARQUET)")  # noqa: S608
    con.close()
    return directory


def opened(directory: Path, taken_at: dt.datetime) -> OpenSnapshot:
    return OpenSnapshot(open_snapshot(directory), taken_at)


def publish_snapshot(tenants: Iterable[tuple[int, str]], rows: Rows, taken_at: dt.datetime) -> Path:
    """Write and publish the snapshot as this database's snapshot in force (CLAIMWATCH_SNAPSHOT_DIR)."""
    root = snapshot_root()
    generation = write(root / f"gen-{taken_at:%Y%m%d%H%M%S%f}", tenants, rows)
    meta = {"taken_at": taken_at.isoformat(), "rows": {}, "database": database_identity()}
    (generation / META).write_text(json.dumps(meta), encoding="utf-8")
    publish(root, generation)
    return generation
