"""The worker's side: record a pass's heartbeat in a transaction of its own."""

from __future__ import annotations

import datetime as dt
import time
from types import TracebackType

import structlog

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.heartbeat import service

log = structlog.get_logger("claimwatch.heartbeat")


def record(
    kind: str,
    ok: bool,
    error: BaseException | str | None = None,
    at: dt.datetime | None = None,
    *,
    duration: float | None = None,
    items: int | None = None,
    interval: float | None = None,
) -> bool:
    """Beat ``kind``; a heartbeat that cannot be written is logged, never raised (the pass itself is done).
    False when it was not written."""
    try:
        with unit_of_work(TenantContext.system_context()) as session:
            service.beat(session, kind, ok, error, at, duration=duration, items=items, interval=interval)
    except Exception:  # noqa: BLE001 - a missed beat shows as age; it must not stop the worker
        log.warning("heartbeat not written", kind=kind, exc_info=True)
        return False
    return True


class Pass:
    """``with Pass(kind, interval) as beat:`` around one pass: the heartbeat is written when the block ends,
    ``ok`` unless :meth:`fail` was called or the block raised (the exception goes on). ``beat.items``: what
    the pass handled."""

    def __init__(self, kind: str, interval: float | None) -> None:
        self.kind = kind
        self.interval = interval
        self.items: int | None = None
        self.error: BaseException | str | None = None
        self._started = 0.0

    def fail(self, error: BaseException | str) -> None:
        if self.error is None:
            self.error = error

    def add(self, count: int) -> None:
        self.items = (self.items or 0) + count

    def __enter__(self) -> Pass:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        error = exc if exc is not None else self.error
        record(
            self.kind,
            error is None,
            error,
            duration=time.perf_counter() - self._started,
            items=self.items,
            interval=self.interval,
        )
