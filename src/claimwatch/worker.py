"""The background worker: runs the SLA sweep (claim, complaint, rectification, action and provider-task clocks) and
the notification delivery pass until told to stop, draws the periodic inspection samples every hour, issues
satisfaction surveys every CLAIMWATCH_SURVEY_ISSUE_INTERVAL_SECONDS, refreshes the KPI snapshot and statistical
alerts every CLAIMWATCH_KPI_REFRESH_SECONDS, builds the monthly and quarterly quality reports once their period has
ended, runs the 降赔惜赔 checks and the third-party scorecards, signs evidence tree heads (at every audit seal and at
least hourly) for the witness, computes the monthly whitelist, and forgets idle throttle rows every hour.

After each pass the worker writes its heartbeat (``claimwatch.heartbeat``: one row per pass kind and process,
with the pass's duration and what it handled); after each round it checks every kind's age, so that a pass
that keeps failing tells the admins once (``claimwatch.ops.watch``) and a recovered one closes the episode.

Every job commits per unit of work: one that fails is logged, its transaction is rolled back, and the next round
redoes what it left (a clock whose next check did not move, a message still in the outbox, a period not built).

Several workers may run at once on PostgreSQL: each sweep transaction row-locks the clocks it
works (SKIP LOCKED) after the tenant's audit chain, and escalations are unique per (clock, level);
a periodic plan draws once per period (a unique key).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from claimwatch.actions import jobs as action_jobs
from claimwatch.assignment import jobs as assignment_jobs
from claimwatch.audit import jobs as audit_jobs
from claimwatch.auth import jobs as auth_jobs
from claimwatch.complaints import jobs as complaint_jobs
from claimwatch.config import get_settings
from claimwatch.evidence import jobs as evidence_jobs
from claimwatch.forecasts import jobs as forecast_jobs
from claimwatch.heartbeat import service as heartbeat
from claimwatch.heartbeat.jobs import Pass
from claimwatch.inspections import jobs as inspection_jobs
from claimwatch.kpi import jobs as kpi_jobs
from claimwatch.lookup import jobs as lookup_jobs
from claimwatch.notify import jobs as notify_jobs
from claimwatch.ops import ingest as ops_ingest
from claimwatch.ops import partitions
from claimwatch.ops import watch as ops_watch
from claimwatch.people import appraisal_jobs, training_jobs
from claimwatch.people import jobs as people_jobs
from claimwatch.policies import revisit_jobs, sales_jobs, underwriting_jobs
from claimwatch.providers import jobs as provider_jobs
from claimwatch.providers import scorecard_jobs as provider_scorecard_jobs
from claimwatch.rectification import jobs as rectification_jobs
from claimwatch.reports import jobs as reports_jobs
from claimwatch.risk import fairness_jobs
from claimwatch.servicedesk import jobs as servicedesk_jobs
from claimwatch.sla import jobs
from claimwatch.supervision import jobs as supervision_jobs
from claimwatch.surveys import jobs as survey_jobs

log = structlog.get_logger("claimwatch.worker")
# Throttle rows are forgotten a day after their last use: an hourly pass keeps the table small enough.
LOOKUP_PURGE_SECONDS = 3600.0
# Monthly and quarterly plans draw once per period (the (plan, period) key); looking hourly is enough.
PERIODIC_PLANS_SECONDS = 3600.0
# Monthly and quarterly reports are built once per (tenant, period) from the 3rd of the month; hourly is enough.
REPORTS_SECONDS = 3600.0
# Tree heads are signed at every audit seal and at least hourly; a seal waits at most this long for its head.
EVIDENCE_SECONDS = 60.0


@dataclass(frozen=True)
class Job:
    """One job of a pass: ``run`` does it; ``items`` counts what it handled (the heartbeat's items); ``fields``
    are logged under ``label`` when it handled something (``always_log``: after every run)."""

    label: str
    run: Callable[[], Any]
    items: Callable[[Any], int] = lambda result: 0
    fields: Callable[[Any], dict[str, Any]] = lambda result: {}
    always_log: bool = False


@dataclass
class PassSpec:
    """A heartbeat kind and its jobs. ``every``: seconds between runs (None: every round); ``group``: the switch
    of :func:`run` it belongs to (sweep, deliver, kpi, or always)."""

    kind: str
    jobs: tuple[Job, ...]
    group: str
    every: float | None = None
    next_due: float = field(default=0.0)

    def due(self, now: float) -> bool:
        return self.every is None or now >= self.next_due


def _clock_sweeps(on_pass: Callable[[jobs.SweepResult], None] | None) -> tuple[Job, ...]:
    def sla_sweep() -> jobs.SweepResult:
        result = jobs.sweep()
        if on_pass is not None:
            on_pass(result)
        return result

    def clocks(result: Any) -> dict[str, Any]:
        return {
            name: getattr(result, name) for name in ("checked", "yellow", "red", "reminders") if hasattr(result, name)
        }

    checked: Callable[[Any], int] = lambda result: result.checked  # noqa: E731 - one line per job below
    return (
        Job("sla sweep", sla_sweep, checked, clocks, always_log=True),
        Job("complaint sweep", complaint_jobs.sweep, checked, clocks),
        Job("rectification sweep", rectification_jobs.sweep, checked, clocks),
        Job("action sweep", action_jobs.sweep, checked, clocks),
        Job("provider task sweep", provider_jobs.run_task_clocks, checked, clocks),
        Job("underwriting sweep", underwriting_jobs.run_clocks, checked, clocks),
        Job("service request sweep", servicedesk_jobs.run_clocks, checked, clocks),
    )


def _assignment(every: float) -> Job:
    next_snapshot = [0.0]

    def assign() -> Any:
        # Decisions of active-mode rules become `assigned` case events; load is snapshotted now and then.
        take_snapshot = time.monotonic() >= next_snapshot[0]
        if take_snapshot:
            next_snapshot[0] = time.monotonic() + every
        return assignment_jobs.run_pass(take_snapshot=take_snapshot)

    return Job("assignment", assign, lambda result: result.applied, lambda result: {"applied": result.applied})


def _purge() -> tuple[int, int]:
    return lookup_jobs.purge_throttles(), auth_jobs.purge()


def worker_passes(
    interval: float,
    on_pass: Callable[[jobs.SweepResult], None] | None = None,
    *,
    kpi_every: float,
    survey_every: float,
) -> list[PassSpec]:
    """The worker's passes in the order of a round."""
    return [
        PassSpec(heartbeat.SWEEP, _clock_sweeps(on_pass), "sweep"),
        PassSpec(
            heartbeat.PERIODIC_PLANS,
            (
                Job(
                    "periodic inspection plans",
                    inspection_jobs.run_periodic,
                    lambda result: result.drawn,
                    lambda result: {"drawn": result.drawn, "empty": result.empty},
                ),
            ),
            "sweep",
            PERIODIC_PLANS_SECONDS,
        ),
        PassSpec(
            heartbeat.REPORTS,
            (
                Job(
                    "scheduled reports",
                    reports_jobs.run_scheduled,
                    lambda result: len(result.built) + len(result.failed),
                    lambda result: {"built": len(result.built), "failed": len(result.failed)},
                ),
                # Weekly: a tenant's series are forecast again when their newest run is a week old.
                Job(
                    "volume forecasts",
                    forecast_jobs.run,
                    lambda result: result.made,
                    lambda result: {"made": result.made, "tenants": result.tenants},
                ),
            ),
            "sweep",
            REPORTS_SECONDS,
        ),
        PassSpec(
            heartbeat.FAIRNESS,
            (
                Job(
                    "降赔惜赔 checks",
                    fairness_jobs.run_due,
                    lambda result: len(result.ran),
                    lambda result: {"periods": result.ran, "flagged": result.flagged},
                ),
            ),
            "sweep",
            REPORTS_SECONDS,
        ),
        PassSpec(
            heartbeat.PROVIDER_SCORECARDS,
            # Last month's flags; reviewed ones are kept.
            (Job("provider scorecards", provider_scorecard_jobs.run_scorecards, lambda r: sum(r.flagged.values())),),
            "sweep",
            REPORTS_SECONDS,
        ),
        PassSpec(
            heartbeat.WHITELIST,
            (
                Job(
                    "monthly whitelist",
                    supervision_jobs.run_monthly,
                    lambda month: 1 if month else 0,
                    lambda month: {"month": month},
                ),
            ),
            "sweep",
            REPORTS_SECONDS,
        ),
        PassSpec(
            heartbeat.EVIDENCE,
            (
                # Blocks of concurrent ingest batches that were not linked right after their commit (PostgreSQL):
                # into the chain first, so the tree heads cover them.
                Job("audit blocks linked", audit_jobs.link_all, lambda result: sum(max(n, 0) for n in result.values())),
                Job(
                    "evidence tree heads",
                    evidence_jobs.run,
                    lambda result: len(result.signed),
                    lambda result: {
                        "heads": len(result.signed),
                        "entries": result.appended,
                        "witnessed": result.witnessed,
                        "failed": result.failed,
                    },
                ),
            ),
            "sweep",
            EVIDENCE_SECONDS,
        ),
        PassSpec(
            heartbeat.SALES_QUALITY,
            (
                Job("sales cooling-off flags", sales_jobs.run_monthly, lambda result: sum(result.values())),
                Job(
                    "post-issue revisits",
                    revisit_jobs.run,
                    lambda result: result.items,
                    lambda result: {"scheduled": result.scheduled, "overdue": result.overdue},
                ),
            ),
            "sweep",
            REPORTS_SECONDS,
        ),
        PassSpec(
            heartbeat.PEOPLE,
            (
                Job(
                    "licence warnings",
                    people_jobs.run_licence_warnings,
                    lambda result: len(result.warned),
                    lambda result: {"warned": len(result.warned), "expired": len(result.expired)},
                ),
                Job(
                    "overdue mandatory training",
                    training_jobs.run_overdue_training,
                    lambda result: len(result.told),
                    lambda result: {"told": len(result.told), "notices": result.notices},
                ),
                Job(
                    "monthly appraisals",
                    appraisal_jobs.run_monthly,
                    lambda result: result.cards,
                    lambda result: {"months": result.computed, "cards": result.cards},
                ),
            ),
            "sweep",
            REPORTS_SECONDS,
        ),
        PassSpec(heartbeat.ASSIGNMENT, (_assignment(assignment_jobs.SNAPSHOT_EVERY.total_seconds()),), "sweep"),
        PassSpec(
            heartbeat.SURVEYS,
            (
                Job(
                    "satisfaction surveys",
                    survey_jobs.issue_due,
                    lambda result: result.issued,
                    lambda result: {"issued": result.issued},
                ),
            ),
            "surveys",
            survey_every,
        ),
        PassSpec(
            heartbeat.DELIVERY,
            (
                Job(
                    "claimant messages",
                    notify_jobs.deliver,
                    lambda result: result.claimed,
                    lambda result: {
                        "claimed": result.claimed,
                        "sent": result.sent + result.delivered,
                        "failed": result.failed,
                        "dead": result.dead,
                        "opted_out": result.opted_out,
                    },
                ),
            ),
            "deliver",
        ),
        PassSpec(heartbeat.KPI_SNAPSHOT, (Job("kpi snapshot and alerts", kpi_jobs.refresh),), "kpi", kpi_every),
        PassSpec(
            heartbeat.PURGE,
            (
                Job(
                    "throttle and session purge",
                    _purge,
                    lambda result: sum(result),
                    lambda result: {"lookup_throttles": result[0], "sign_in_rows": result[1]},
                ),
                # PostgreSQL's monthly partitions, months ahead of the rows that will need them (nothing on SQLite).
                Job(
                    "partitions ahead",
                    partitions.ensure,
                    lambda result: len(result.created),
                    lambda result: {"created": result.created, "moved": result.moved},
                ),
            ),
            "always",
            LOOKUP_PURGE_SECONDS,
        ),
    ]


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
    ``sweep``/``deliver`` turn either group off (e.g. a delivery-only worker). ``kpi`` (default: on when
    CLAIMWATCH_KPI_REFRESH_SECONDS > 0) refreshes the KPI snapshot and evaluates the statistical alerts
    at most once per that many seconds."""
    interval = interval if interval is not None else get_settings().sweep_interval_seconds
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    kpi_every = get_settings().kpi_refresh_seconds
    survey_every = get_settings().survey_issue_interval_seconds
    groups = {
        "sweep": sweep,
        "deliver": deliver,
        "surveys": deliver and survey_every > 0,
        "kpi": kpi if kpi is not None else kpi_every > 0,
        "always": True,
    }
    schedule = [
        spec
        for spec in worker_passes(interval, on_pass, kpi_every=kpi_every, survey_every=survey_every)
        if groups[spec.group]
    ]
    done = 0
    # Case events the worker writes (assignment decisions) count as source "worker" in /metrics.
    source = ops_ingest.SOURCE.set("worker")
    try:
        while not stop.is_set():
            _round(schedule, interval)
            done += 1
            if passes is not None and done >= passes:
                break
            stop.wait(interval)
    finally:
        ops_ingest.SOURCE.reset(source)
    return done


def _round(schedule: list[PassSpec], interval: float) -> None:
    """One round of passes, each with its heartbeat (a pass on a longer schedule only when it is due)."""
    for spec in schedule:
        now = time.monotonic()
        if not spec.due(now):
            continue
        if spec.every is not None:
            spec.next_due = now + spec.every
        with Pass(spec.kind, spec.every if spec.every is not None else interval) as beat:
            for job in spec.jobs:
                try:
                    result = job.run()
                    handled = job.items(result)
                    beat.add(handled)
                    if handled or job.always_log:
                        log.info(job.label, **job.fields(result))
                except Exception as exc:  # rolled back; the next round redoes it (module text)
                    beat.fail(exc)
                    log.exception(f"{job.label} failed")
    try:
        ops_watch.check()  # a kind that keeps failing (or another worker's) tells the admins; fresh again closes
    except Exception:  # noqa: BLE001 - the check is retried after the next round
        log.warning("heartbeat check failed", exc_info=True)
