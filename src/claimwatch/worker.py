"""The background worker: runs the SLA sweep (claim, complaint and rectification clocks) and the notification
delivery pass until told to stop, draws the periodic inspection samples every hour, issues satisfaction
surveys every CLAIMWATCH_SURVEY_ISSUE_INTERVAL_SECONDS, refreshes the KPI snapshot and statistical alerts
every CLAIMWATCH_KPI_REFRESH_SECONDS, builds the monthly and quarterly quality reports once their period has
ended, sweeps the improvement actions' due dates, and forgets idle lookup throttle rows every hour.

After each pass the worker writes its heartbeat (``claimwatch.heartbeat``: one row per pass kind and process,
with the pass's duration and what it handled); after each round it checks every kind's age, so that a pass
that keeps failing tells the admins once (``claimwatch.ops.watch``) and a recovered one closes the episode.

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

from claimwatch.actions import jobs as action_jobs
from claimwatch.assignment import jobs as assignment_jobs
from claimwatch.auth import jobs as auth_jobs
from claimwatch.complaints import jobs as complaint_jobs
from claimwatch.config import get_settings
from claimwatch.heartbeat import service as heartbeat
from claimwatch.heartbeat.jobs import Pass
from claimwatch.inspections import jobs as inspection_jobs
from claimwatch.kpi import jobs as kpi_jobs
from claimwatch.lookup import jobs as lookup_jobs
from claimwatch.notify import jobs as notify_jobs
from claimwatch.ops import ingest as ops_ingest
from claimwatch.ops import watch as ops_watch
from claimwatch.providers import jobs as provider_jobs
from claimwatch.providers import scorecard_jobs as provider_scorecard_jobs
from claimwatch.rectification import jobs as rectification_jobs
from claimwatch.reports import jobs as reports_jobs
from claimwatch.risk import fairness_jobs
from claimwatch.sla import jobs
from claimwatch.surveys import jobs as survey_jobs

log = structlog.get_logger("claimwatch.worker")
# Throttle rows are forgotten a day after their last use: an hourly pass keeps the table small enough.
LOOKUP_PURGE_SECONDS = 3600.0
# Monthly and quarterly plans draw once per period (the (plan, period) key); looking hourly is enough.
PERIODIC_PLANS_SECONDS = 3600.0
# Monthly and quarterly reports are built once per (tenant, period) from the 3rd of the month; hourly is enough.
REPORTS_SECONDS = 3600.0


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
    survey_every = get_settings().survey_issue_interval_seconds
    # When each pass on a longer schedule is next due (monotonic seconds; 0: on the first round).
    due = {
        "kpi": 0.0,
        "survey": 0.0,
        "purge": 0.0,
        "assignment": 0.0,
        "periodic": 0.0,
        "reports": 0.0,
        "fairness": 0.0,
        "provider_scorecards": 0.0,
    }
    done = 0
    # Case events the worker writes (assignment decisions) count as source "worker" in /metrics.
    source = ops_ingest.SOURCE.set("worker")
    try:
        while not stop.is_set():
            _round(
                interval,
                on_pass,
                sweep=sweep,
                deliver=deliver,
                kpi=kpi,
                due=due,
                kpi_every=kpi_every,
                survey_every=survey_every,
            )
            done += 1
            if passes is not None and done >= passes:
                break
            stop.wait(interval)
    finally:
        ops_ingest.SOURCE.reset(source)
    return done


def _round(
    interval: float,
    on_pass: Callable[[jobs.SweepResult], None] | None,
    *,
    sweep: bool,
    deliver: bool,
    kpi: bool,
    due: dict[str, float],
    kpi_every: float,
    survey_every: float,
) -> None:
    """One round of passes, each with its heartbeat (a pass on a longer schedule only when it is due)."""
    if sweep:
        # The three clock sweeps are one heartbeat kind: items = clocks due and checked, summed.
        with Pass(heartbeat.SWEEP, interval) as beat:
            try:
                result = jobs.sweep()
                beat.add(result.checked)
                log.info("sla sweep", checked=result.checked, yellow=result.yellow, red=result.red)
                if on_pass is not None:
                    on_pass(result)
            except Exception as exc:  # a failed pass is logged and retried; its transaction rolled back
                beat.fail(exc)
                log.exception("sla sweep failed")
            try:
                swept = complaint_jobs.sweep()
                beat.add(swept.checked)
                if swept.checked:
                    log.info("complaint sweep", checked=swept.checked, yellow=swept.yellow, red=swept.red)
            except Exception as exc:  # as above: the clocks' next_check_at did not move, the next pass redoes it
                beat.fail(exc)
                log.exception("complaint sweep failed")
            try:
                fixed = rectification_jobs.sweep()
                beat.add(fixed.checked)
                if fixed.checked:
                    log.info(
                        "rectification sweep",
                        checked=fixed.checked,
                        yellow=fixed.yellow,
                        red=fixed.red,
                        reminders=fixed.reminders,
                    )
            except Exception as exc:  # as above: the next pass redoes the clocks it did not move
                beat.fail(exc)
                log.exception("rectification sweep failed")
            try:
                acted = action_jobs.sweep()
                beat.add(acted.checked)
                if acted.checked:
                    log.info(
                        "action sweep",
                        checked=acted.checked,
                        reminders=acted.reminders,
                        yellow=acted.yellow,
                        red=acted.red,
                    )
            except Exception as exc:  # as above: the next pass redoes the clocks it did not move
                beat.fail(exc)
                log.exception("action sweep failed")
            try:
                tasks = provider_jobs.run_task_clocks()
                beat.add(tasks.checked)
                if tasks.checked:
                    log.info("provider task sweep", checked=tasks.checked, yellow=tasks.yellow, red=tasks.red)
            except Exception as exc:  # as above: the next pass redoes the clocks it did not move
                beat.fail(exc)
                log.exception("provider task sweep failed")
    if sweep and time.monotonic() >= due["periodic"]:
        due["periodic"] = time.monotonic() + PERIODIC_PLANS_SECONDS
        with Pass(heartbeat.PERIODIC_PLANS, PERIODIC_PLANS_SECONDS) as beat:
            try:
                drawn = inspection_jobs.run_periodic()
                beat.add(drawn.drawn)
                if drawn.drawn:
                    log.info("periodic inspection plans", drawn=drawn.drawn, empty=drawn.empty)
            except Exception as exc:  # a period not drawn yet is drawn by the next pass
                beat.fail(exc)
                log.exception("periodic inspection plans failed")
    if sweep and time.monotonic() >= due["reports"]:
        due["reports"] = time.monotonic() + REPORTS_SECONDS
        with Pass(heartbeat.REPORTS, REPORTS_SECONDS) as beat:
            try:
                built = reports_jobs.run_scheduled()
                beat.add(len(built.built))
                if built.built or built.failed:
                    log.info("scheduled reports", built=len(built.built), failed=len(built.failed))
            except Exception as exc:  # the next pass builds what is missing
                beat.fail(exc)
                log.exception("scheduled reports failed")
    if sweep and time.monotonic() >= due["fairness"]:
        due["fairness"] = time.monotonic() + REPORTS_SECONDS
        with Pass(heartbeat.FAIRNESS, REPORTS_SECONDS) as beat:
            try:
                checked = fairness_jobs.run_due()
                beat.add(len(checked.ran))
                if checked.ran:
                    log.info("降赔惜赔 checks", periods=checked.ran, flagged=checked.flagged)
            except Exception as exc:  # a period not computed yet is computed by the next pass
                beat.fail(exc)
                log.exception("降赔惜赔 checks failed")
    if sweep and time.monotonic() >= due["provider_scorecards"]:
        due["provider_scorecards"] = time.monotonic() + REPORTS_SECONDS
        with Pass(heartbeat.PROVIDER_SCORECARDS, REPORTS_SECONDS) as beat:
            try:
                scored = provider_scorecard_jobs.run_scorecards()  # last month's flags; reviewed ones are kept
                beat.add(sum(scored.flagged.values()))
            except Exception as exc:  # the next pass evaluates the month again
                beat.fail(exc)
                log.exception("provider scorecards failed")
    if sweep:
        with Pass(heartbeat.ASSIGNMENT, interval) as beat:
            try:
                # Decisions of active-mode rules become `assigned` case events; load is snapshotted now and then.
                snapshot_due = time.monotonic() >= due["assignment"]
                if snapshot_due:
                    due["assignment"] = time.monotonic() + assignment_jobs.SNAPSHOT_EVERY.total_seconds()
                assigned = assignment_jobs.run_pass(take_snapshot=snapshot_due)
                beat.add(assigned.applied)
                if assigned.applied:
                    log.info("assignment", applied=assigned.applied)
            except Exception as exc:  # a pending decision stays pending; the next pass applies it
                beat.fail(exc)
                log.exception("assignment pass failed")
    if deliver and survey_every > 0 and time.monotonic() >= due["survey"]:
        due["survey"] = time.monotonic() + survey_every
        with Pass(heartbeat.SURVEYS, survey_every) as beat:
            try:
                issued = survey_jobs.issue_due()
                beat.add(issued.issued)
                if issued.issued:
                    log.info("satisfaction surveys", issued=issued.issued)
            except Exception as exc:  # nothing was half-issued: each survey and its message commit together
                beat.fail(exc)
                log.exception("survey issuing failed")
    if deliver:
        with Pass(heartbeat.DELIVERY, interval) as beat:
            try:
                sent = notify_jobs.deliver()
                beat.add(sent.claimed)
                if sent.claimed:
                    log.info(
                        "claimant messages",
                        claimed=sent.claimed,
                        sent=sent.sent + sent.delivered,
                        failed=sent.failed,
                        dead=sent.dead,
                        opted_out=sent.opted_out,
                    )
            except Exception as exc:  # the outbox keeps every message; the next pass retries
                beat.fail(exc)
                log.exception("notification delivery failed")
    if kpi and time.monotonic() >= due["kpi"]:
        due["kpi"] = time.monotonic() + kpi_every
        with Pass(heartbeat.KPI_SNAPSHOT, kpi_every) as beat:
            try:
                kpi_jobs.refresh()
            except Exception as exc:  # the next refresh retries; the dashboard keeps the previous snapshot
                beat.fail(exc)
                log.exception("kpi snapshot or alert evaluation failed")
    if time.monotonic() >= due["purge"]:
        due["purge"] = time.monotonic() + LOOKUP_PURGE_SECONDS
        with Pass(heartbeat.PURGE, LOOKUP_PURGE_SECONDS) as beat:
            try:
                purged = lookup_jobs.purge_throttles()
                if purged:
                    log.info("lookup throttles purged", rows=purged)
                purged = auth_jobs.purge()
                if purged:
                    log.info("sign-in throttles and sessions purged", rows=purged)
            except Exception as exc:  # a row kept an hour longer is harmless; the next pass retries
                beat.fail(exc)
                log.exception("throttle and session purge failed")
    try:
        ops_watch.check()  # a kind that keeps failing (or another worker's) tells the admins; fresh again closes
    except Exception:  # noqa: BLE001 - the check is retried after the next round
        log.warning("heartbeat check failed", exc_info=True)
