"""The background worker: runs the SLA sweep (claim, complaint and rectification clocks) and the notification
delivery pass until told to stop, draws the periodic inspection samples every hour, issues satisfaction
surveys every CLAIMWATCH_SURVEY_ISSUE_INTERVAL_SECONDS, refreshes the KPI snapshot and statistical alerts
every CLAIMWATCH_KPI_REFRESH_SECONDS, and forgets idle lookup throttle rows every hour.

Several workers may run at once on PostgreSQL: each sweep transaction row-locks the clocks it
works (SKIP LOCKED) after the tenant's audit chain, and escalations are unique per (clock, level);
a periodic plan draws once per period (a unique key).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import structlog

from claimwatch.assignment import jobs as assignment_jobs
from claimwatch.auth import jobs as auth_jobs
from claimwatch.complaints import jobs as complaint_jobs
from claimwatch.config import get_settings
from claimwatch.inspections import jobs as inspection_jobs
from claimwatch.kpi import jobs as kpi_jobs
from claimwatch.lookup import jobs as lookup_jobs
from claimwatch.notify import jobs as notify_jobs
from claimwatch.rectification import jobs as rectification_jobs
from claimwatch.sla import jobs
from claimwatch.surveys import jobs as survey_jobs

log = structlog.get_logger("claimwatch.worker")
# Throttle rows are forgotten a day after their last use: an hourly pass keeps the table small enough.
LOOKUP_PURGE_SECONDS = 3600.0
# Monthly and quarterly plans draw once per period (the (plan, period) key); looking hourly is enough.
PERIODIC_PLANS_SECONDS = 3600.0


def run(
    interval: float | None = None,
    passes: int | None = None,
    stop: threading.Event | None = None,
    on_pass: Callable[[jobs.SweepResult], None] | None = None,
    sweep: bool = True,
    deliver: bool = True,
    kpi: bool | None = None,
) -> int:
    """Sweep and deliver every ``interval`` seconds; ``passes`` bounds the loop (tests, cron-style runs).
    ``sweep``/``deliver`` turn either job off (e.g. a delivery-only worker). ``kpi`` (default: on when
    CLAIMWATCH_KPI_REFRESH_SECONDS > 0) refreshes the KPI snapshot and evaluates the statistical alerts
    at most once per that many seconds."""
    interval = interval if interval is not None else get_settings().sweep_interval_seconds
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    kpi_every = get_settings().kpi_refresh_seconds
    kpi = kpi if kpi is not None else kpi_every > 0
    kpi_due = 0.0
    survey_every = get_settings().survey_issue_interval_seconds
    survey_due = 0.0
    purge_due = 0.0
    assignment_due = 0.0
    periodic_due = 0.0
    done = 0
    while not stop.is_set():
        try:
            if sweep:
                result = jobs.sweep()
                log.info("sla sweep", checked=result.checked, yellow=result.yellow, red=result.red)
                if on_pass is not None:
                    on_pass(result)
        except Exception:  # a failed pass is logged and retried; its transaction rolled back
            log.exception("sla sweep failed")
        if sweep:
            try:
                swept = complaint_jobs.sweep()
                if swept.checked:
                    log.info("complaint sweep", checked=swept.checked, yellow=swept.yellow, red=swept.red)
            except Exception:  # as above: the clocks' next_check_at did not move, the next pass redoes it
                log.exception("complaint sweep failed")
            try:
                fixed = rectification_jobs.sweep()
                if fixed.checked:
                    log.info(
                        "rectification sweep",
                        checked=fixed.checked,
                        yellow=fixed.yellow,
                        red=fixed.red,
                        reminders=fixed.reminders,
                    )
            except Exception:  # as above: the next pass redoes the clocks it did not move
                log.exception("rectification sweep failed")
        if sweep and time.monotonic() >= periodic_due:
            periodic_due = time.monotonic() + PERIODIC_PLANS_SECONDS
            try:
                drawn = inspection_jobs.run_periodic()
                if drawn.drawn:
                    log.info("periodic inspection plans", drawn=drawn.drawn, empty=drawn.empty)
            except Exception:  # a period not drawn yet is drawn by the next pass
                log.exception("periodic inspection plans failed")
        if sweep:
            try:
                # Decisions of active-mode rules become `assigned` case events; load is snapshotted now and then.
                snapshot_due = time.monotonic() >= assignment_due
                if snapshot_due:
                    assignment_due = time.monotonic() + assignment_jobs.SNAPSHOT_EVERY.total_seconds()
                assigned = assignment_jobs.run_pass(take_snapshot=snapshot_due)
                if assigned.applied:
                    log.info("assignment", applied=assigned.applied)
            except Exception:  # a pending decision stays pending; the next pass applies it
                log.exception("assignment pass failed")
        if deliver and survey_every > 0 and time.monotonic() >= survey_due:
            survey_due = time.monotonic() + survey_every
            try:
                issued = survey_jobs.issue_due()
                if issued.issued:
                    log.info("satisfaction surveys", issued=issued.issued)
            except Exception:  # nothing was half-issued: each survey and its message commit together
                log.exception("survey issuing failed")
        if deliver:
            try:
                sent = notify_jobs.deliver()
                if sent.claimed:
                    log.info(
                        "claimant messages",
                        claimed=sent.claimed,
                        sent=sent.sent + sent.delivered,
                        failed=sent.failed,
                        dead=sent.dead,
                        opted_out=sent.opted_out,
                    )
            except Exception:  # the outbox keeps every message; the next pass retries
                log.exception("notification delivery failed")
        if kpi and time.monotonic() >= kpi_due:
            kpi_due = time.monotonic() + kpi_every
            try:
                kpi_jobs.refresh()
            except Exception:  # the next refresh retries; the dashboard keeps the previous snapshot
                log.exception("kpi snapshot or alert evaluation failed")
        if time.monotonic() >= purge_due:
            purge_due = time.monotonic() + LOOKUP_PURGE_SECONDS
            try:
                purged = lookup_jobs.purge_throttles()
                if purged:
                    log.info("lookup throttles purged", rows=purged)
                purged = auth_jobs.purge()
                if purged:
                    log.info("sign-in throttles and sessions purged", rows=purged)
            except Exception:  # a row kept an hour longer is harmless; the next pass retries
                log.exception("throttle and session purge failed")
        done += 1
        if passes is not None and done >= passes:
            break
        stop.wait(interval)
    return done
