"""The stale-worker check the pages make: one small query, cached a few seconds per process and database.

:func:`stale_kinds` answers the banner. When it finds stale kinds (or finds none after having found some) it
hands the finding to the listeners registered with :func:`on_change` — the operations layer, which tells
the admins once per episode — on a background thread, so that a page never waits for, or writes inside,
its own request's transaction (on SQLite that transaction holds the write lock).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import structlog

from claimwatch import db
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.heartbeat import service
from claimwatch.heartbeat.service import KindAge

log = structlog.get_logger("claimwatch.heartbeat")

CACHE_SECONDS = 5.0
Listener = Callable[[list[KindAge], dt.datetime], object]

_lock = threading.Lock()
_cache: dict[str, tuple[float, list[KindAge]]] = {}
_was_stale: dict[str, bool] = {}
_listeners: list[Listener] = []
_threads: list[threading.Thread] = []


def on_change(listener: Listener) -> Listener:
    """Call ``listener(stale, now)`` after a check that found stale kinds, or none after some."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def _key() -> str:
    return db.get_engine().url.render_as_string(hide_password=True)


def stale_kinds(now: dt.datetime | None = None, *, cached: bool = True) -> list[KindAge]:
    """The stale kinds now (cached ``CACHE_SECONDS``). A database without the table (not migrated yet)
    or unreachable has none here: /readyz is what reports those."""
    key = _key()
    with _lock:
        hit = _cache.get(key)
        if cached and hit is not None and hit[0] > time.monotonic():
            return hit[1]
    now = now or utc_now()
    try:
        with unit_of_work(TenantContext.system_reader()) as session:
            found = service.stale(session, now)
    except Exception:  # noqa: BLE001 - the banner must never break a page
        log.warning("heartbeat check failed", exc_info=True)
        found = []
    with _lock:
        _cache[key] = (time.monotonic() + CACHE_SECONDS, found)
        changed = bool(found) or _was_stale.get(key, False)
        busy = any(thread.is_alive() for thread in _threads)
        if changed and _listeners and not busy:
            _threads[:] = [threading.Thread(target=_notify, args=(list(found), now), daemon=True, name="stale-alert")]
            _threads[0].start()
            _was_stale[key] = bool(found)
        elif not changed:
            _was_stale[key] = False
        # else: a listener is still busy; the next check hands this finding over (an end is never lost)
    return found


def _notify(found: list[KindAge], now: dt.datetime) -> None:
    for listener in list(_listeners):
        try:
            listener(found, now)
        except Exception:  # noqa: BLE001 - the next check retries
            log.exception("stale-worker listener failed")


def wait_for_listeners(timeout: float = 30.0) -> None:
    """Let the listeners started by the last check finish (tests; a clean shutdown)."""
    for thread in list(_threads):
        thread.join(timeout)


def forget() -> None:
    """Drop the cache (tests, after moving time)."""
    with _lock:
        _cache.clear()
        _was_stale.clear()
