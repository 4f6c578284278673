"""Demo: last month's quality report (and last quarter's, when it ended with the month) for every demo
insurer, plus the regulator's cross-insurer edition, as HTML and PDF — what the worker's schedule builds
(``reports.jobs.run_scheduled``). Runs last: after the KPI snapshot was (re)taken and after the quality loop,
the actions and the committee, so every section has its data."""

from __future__ import annotations

import datetime as dt

from claimwatch.db import utc_now
from claimwatch.reports import jobs as report_jobs


def load(now: dt.datetime | None = None) -> list[str]:
    """Builds the due reports; one summary line."""
    result = report_jobs.run_scheduled(now or utc_now(), build_day=1)
    line = f"reports: {len(result.built)} built, {len(result.failed)} failed"
    if result.waiting:
        line += f", {result.waiting} waiting for a KPI snapshot taken after the period ended"
    return [line]
