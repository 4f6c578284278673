"""``claimwatch run``: the web app and the worker under one supervisor.

Each runs as a child process (``python -m claimwatch.ops.child web|worker``) in a session of its own, so
Ctrl-C reaches the supervisor only, which then stops both in order. A child that exits while the supervisor
is not stopping is started again after a pause that doubles on each quick crash (0.5 s … 30 s) and starts
over once a child has run a minute. SIGTERM or SIGINT: both children get SIGTERM (the web app finishes its
requests, the worker its current pass), then SIGKILL after ``stop_timeout`` seconds; the supervisor exits 0.

Before anything starts, the database must be at the migrations' head: otherwise one line says what to do and
nothing is started, created or changed (an SQLite file that does not exist is not created).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import structlog
from sqlalchemy import create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from claimwatch.ops import health

log = structlog.get_logger("claimwatch.run")

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
# A child that ran this long before exiting crashed "slowly": its next restart waits BACKOFF_FIRST again.
STEADY_SECONDS = 60.0
POLL_SECONDS = 0.2
SUPERVISOR_PID_ENV = "CLAIMWATCH_SUPERVISOR_PID"


class NotMigrated(Exception):
    """The database is missing or not at the migrations' head (the message is the one line to print)."""


def schema_problem(url: URL) -> str | None:
    """None when the database at ``url`` is at head; else one line naming the problem and what to do.
    Reads only: a plain connection without the app's pragmas, and no connection at all to an SQLite file
    that does not exist (connecting would create it)."""
    address = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(str(url.database)).exists():
            return f"the database at {address} does not exist: run `claimwatch db upgrade` first"
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            current = health.schema_revision(conn)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the one line
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
        return f"the database at {address} cannot be reached: {reason}"
    finally:
        engine.dispose()
    head = health.head_revision()
    if current == head:
        return None
    if current is None:
        return f"the database at {address} has no schema: run `claimwatch db upgrade` first"
    return f"the database at {address} is at schema {current}, not {head}: run `claimwatch db upgrade` first"


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float = 0.0
    backoff: float = BACKOFF_FIRST
    restarts: int = 0
    pids: list[int] = field(default_factory=list)


def child_argv(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "claimwatch.ops.child", name, *args]


class Supervisor:
    def __init__(self, children: list[Child], env: dict[str, str], stop_timeout: float = 30.0) -> None:
        self.children = children
        self.env = env | {SUPERVISOR_PID_ENV: str(os.getpid())}
        self.stop_timeout = stop_timeout
        self.stopping = threading.Event()

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, env=self.env, start_new_session=True)  # noqa: S603
        child.started_at = time.monotonic()
        child.pids.append(child.process.pid)
        log.info("child started", child=child.name, pid=child.process.pid, restarts=child.restarts)

    def _check(self, child: Child) -> None:
        now = time.monotonic()
        if child.process is None:
            if now >= child.restart_at:
                child.restarts += 1
                self._start(child)
            return
        code = child.process.poll()
        if code is None:
            return
        ran = now - child.started_at
        if ran >= STEADY_SECONDS:
            child.backoff = BACKOFF_FIRST
        log.warning("child exited; restarting", child=child.name, code=code, after=round(ran, 1), wait=child.backoff)
        child.process = None
        child.restart_at = now + child.backoff
        child.backoff = min(child.backoff * 2, BACKOFF_MAX)

    def _signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> int:
        previous = {s: signal.signal(s, self._signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for child in self.children:
                self._start(child)
            while not self.stopping.wait(POLL_SECONDS):
                for child in self.children:
                    self._check(child)
            self._stop_all()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0

    def _stop_all(self) -> None:
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        log.info("stopping", children=[c.name for c in running])
        for child in running:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("child did not stop in time; killed", child=child.name, pid=child.process.pid)
                child.process.kill()
                child.process.wait()
        log.info("stopped")


def supervise(
    url: URL,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    interval: float | None = None,
    metrics_port: int | None = None,
    stop_timeout: float = 30.0,
    checked: bool = False,
) -> int:
    """Check the schema (raises :class:`NotMigrated`; ``checked``: the caller did), then run both children
    until SIGTERM/SIGINT."""
    problem = None if checked else schema_problem(url)
    if problem is not None:
        raise NotMigrated(problem)
    env = dict(os.environ)
    env["CLAIMWATCH_DATABASE_URL"] = url.render_as_string(hide_password=False)
    if metrics_port is not None:
        env["CLAIMWATCH_METRICS_PORT"] = str(metrics_port)
        env.setdefault("CLAIMWATCH_METRICS_HOST", host)
    worker_args = ["--interval", str(interval)] if interval is not None else []
    children = [
        Child("web", child_argv("web", "--host", host, "--port", str(port))),
        Child("worker", child_argv("worker", *worker_args)),
    ]
    log.info("claimwatch run", url=url.render_as_string(hide_password=True), host=host, port=port)
    return Supervisor(children, env, stop_timeout).run()
