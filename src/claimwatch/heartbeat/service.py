"""Heartbeats of the worker's passes and how old they are (in the caller's session, system context).

The worker calls :func:`beat` after each pass; /readyz, /metrics and the stale-worker banner read
:func:`ages` / :func:`stale`. A kind's age is measured from the newest *successful* pass of any worker
process (several workers may run the same pass), so a stopped worker and a worker whose pass keeps failing
both go stale.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from claimwatch.db import utc_now
from claimwatch.heartbeat.models import StaleEpisode, WorkerHeartbeat
from claimwatch.heartbeat.settings import heartbeat_settings
from claimwatch.privacy import scrub_text

# The worker's pass kinds (any other name works too: a pass names itself).
SWEEP = "sweep"
DELIVERY = "delivery"
SURVEYS = "surveys"
KPI_SNAPSHOT = "kpi_snapshot"
PERIODIC_PLANS = "periodic_plans"
ASSIGNMENT = "assignment"
PURGE = "purge"
REPORTS = "reports"
FAIRNESS = "fairness"
PROVIDER_SCORECARDS = "provider_scorecards"
EVIDENCE = "evidence"
WHITELIST = "whitelist"
SALES_QUALITY = "sales_quality"
PEOPLE = "people"


def N_(message: str) -> str:  # noqa: N802 - marks a msgid for extraction; pages translate it
    return message


# What the stale-worker banner calls each kind (msgids; a kind not listed shows its own name).
KIND_LABELS: dict[str, str] = {
    SWEEP: N_("SLA sweep"),
    DELIVERY: N_("message delivery"),
    SURVEYS: N_("satisfaction surveys"),
    KPI_SNAPSHOT: N_("KPI snapshot"),
    PERIODIC_PLANS: N_("periodic inspection plans"),
    ASSIGNMENT: N_("case assignment"),
    PURGE: N_("throttle and session purge"),
    REPORTS: N_("scheduled quality reports"),
    FAIRNESS: N_("under-payment checks"),
    PROVIDER_SCORECARDS: N_("third-party scorecards"),
    EVIDENCE: N_("evidence tree heads"),
    WHITELIST: N_("monthly whitelist"),
    SALES_QUALITY: N_("sales flags and revisits"),
    PEOPLE: N_("licences, training and appraisals"),
}
# A kind's threshold is at least this many of its intervals.
INTERVALS_BEFORE_STALE = 3
# Rows of worker processes gone this long are forgotten when a live one beats the same kind.
FORGET_AFTER = dt.timedelta(days=1)
ERROR_CHARS = 300


def worker_id() -> str:
    """This process: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def short_error(error: BaseException | str | None) -> str | None:
    """The error's class and message, personal numbers masked, cut to fit the column."""
    if error is None:
        return None
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return scrub_text(" ".join(text.split()))[:ERROR_CHARS]


def threshold(interval_seconds: float | None, stale_seconds: float | None = None) -> float:
    """Seconds after which a kind with this pass interval is stale."""
    floor = stale_seconds if stale_seconds is not None else heartbeat_settings().heartbeat_stale_seconds
    return max(floor, INTERVALS_BEFORE_STALE * (interval_seconds or 0.0))


def beat(
    session: Session,
    kind: str,
    ok: bool,
    error: BaseException | str | None = None,
    at: dt.datetime | None = None,
    *,
    duration: float | None = None,
    items: int | None = None,
    interval: float | None = None,
    worker: str | None = None,
) -> WorkerHeartbeat:
    """Record that this worker finished a ``kind`` pass at ``at`` (now): ``ok`` or failed with ``error``.
    ``duration`` (seconds) and ``items`` describe the pass; ``interval`` is how often it is meant to run."""
    at = at or utc_now()
    worker = worker or worker_id()
    row = session.execute(
        select(WorkerHeartbeat).where(WorkerHeartbeat.kind == kind, WorkerHeartbeat.worker_id == worker)
    ).scalar_one_or_none()
    if row is None:
        row = WorkerHeartbeat(kind=kind, worker_id=worker, first_seen_at=at, passes=0, failures=0)
        session.add(row)
    row.last_started_at = at - dt.timedelta(seconds=duration) if duration is not None else at
    row.last_finished_at = at
    row.last_ok = ok
    row.passes = (row.passes or 0) + 1
    if ok:
        row.last_ok_at = at
        row.last_error = None
    else:
        row.failures = (row.failures or 0) + 1
        row.last_error = short_error(error) or "failed"
    if duration is not None:
        row.duration_seconds = duration
    if items is not None:
        row.items = items
    if interval is not None:
        row.interval_seconds = interval
    session.flush()
    if ok:
        session.execute(
            delete(WorkerHeartbeat).where(
                WorkerHeartbeat.kind == kind,
                WorkerHeartbeat.worker_id != worker,
                WorkerHeartbeat.last_finished_at < at - FORGET_AFTER,
            )
        )
    return row


@dataclass(frozen=True)
class KindAge:
    """One pass kind over every worker that runs it."""

    kind: str
    age_seconds: float  # since the newest successful pass (or since first seen, when none succeeded)
    threshold_seconds: float
    last_ok: bool  # the newest pass succeeded
    last_ok_at: dt.datetime | None
    last_finished_at: dt.datetime
    last_error: str | None  # of the newest pass, when it failed
    workers: int
    passes: int
    duration_seconds: float | None  # of the newest pass
    items: int | None

    @property
    def stale(self) -> bool:
        return self.age_seconds > self.threshold_seconds


def ages(session: Session, now: dt.datetime | None = None, stale_seconds: float | None = None) -> dict[str, KindAge]:
    """Every kind ever beaten, by name (one small query: a row per kind and worker process)."""
    now = now or utc_now()
    rows = session.execute(select(WorkerHeartbeat).order_by(WorkerHeartbeat.kind)).scalars().all()
    by_kind: dict[str, list[WorkerHeartbeat]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    found: dict[str, KindAge] = {}
    for kind, group in by_kind.items():
        newest = max(group, key=lambda r: r.last_finished_at)
        oks = [r.last_ok_at for r in group if r.last_ok_at is not None]
        since = max(oks) if oks else min(r.first_seen_at for r in group)
        intervals = [r.interval_seconds for r in group if r.interval_seconds]
        found[kind] = KindAge(
            kind=kind,
            age_seconds=max((now - since).total_seconds(), 0.0),
            threshold_seconds=threshold(max(intervals) if intervals else None, stale_seconds),
            last_ok=newest.last_ok,
            last_ok_at=max(oks) if oks else None,
            last_finished_at=newest.last_finished_at,
            last_error=None if newest.last_ok else newest.last_error,
            workers=len(group),
            passes=sum(r.passes for r in group),
            duration_seconds=newest.duration_seconds,
            items=newest.items,
        )
    return found


def stale(session: Session, now: dt.datetime | None = None, threshold_seconds: float | None = None) -> list[KindAge]:
    """The kinds older than their threshold (``threshold_seconds``: one threshold for every kind instead)."""
    return [
        age
        for age in ages(session, now).values()
        if age.age_seconds > (threshold_seconds if threshold_seconds is not None else age.threshold_seconds)
    ]


# -- stale episodes: admins are told once per silence ----------------------------------------------------


def open_episode(session: Session) -> StaleEpisode | None:
    return session.execute(select(StaleEpisode).where(StaleEpisode.open == 1)).scalar_one_or_none()


def start_episode(session: Session, kinds: list[str], now: dt.datetime) -> StaleEpisode | None:
    """Open the episode; None when one is open already (this process or another opened it first)."""
    if open_episode(session) is not None:
        return None
    episode = StaleEpisode(started_at=now, kinds=",".join(sorted(kinds))[:300], open=1)
    try:
        with session.begin_nested():
            session.add(episode)
    except IntegrityError:  # another web process opened it between the read and the insert
        return None
    return episode


def end_episode(session: Session, now: dt.datetime) -> StaleEpisode | None:
    episode = open_episode(session)
    if episode is not None:
        episode.open = None
        episode.ended_at = now
    return episode
