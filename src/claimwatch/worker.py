"""The background worker: runs the SLA sweep and the claimant-notification delivery pass until told to stop.

Several workers may run at once on PostgreSQL: each sweep transaction row-locks the clocks it
works (SKIP LOCKED) after the tenant's audit chain, and escalations are unique per (clock, level).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import structlog

from claimwatch.config import get_settings
from claimwatch.notify import jobs as notify_jobs
from claimwatch.sla import jobs

log = structlog.get_logger("claimwatch.worker")


def run(
    interval: float | None = None,
    passes: int | None = None,
    stop: threading.Event | None = None,
    on_pass: Callable[[jobs.SweepResult], None] | None = None,
    sweep: bool = True,
    deliver: bool = True,
) -> int:
    """Sweep and deliver every ``interval`` seconds; ``passes`` bounds the loop (tests, cron-style runs).
    ``sweep``/``deliver`` turn either job off (e.g. a delivery-only worker)."""
    interval = interval if interval is not None else get_settings().sweep_interval_seconds
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
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
        done += 1
        if passes is not None and done >= passes:
            break
        stop.wait(interval)
    return done
