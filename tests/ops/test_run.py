"""`claimwatch run` as a real process: the web app and the worker start, a killed worker comes back, SIGTERM
stops everything cleanly, and an unmigrated database is refused in one line with nothing created."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from typer.testing import CliRunner

from claimwatch import db
from claimwatch.cli import app

T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _workers(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT worker_id FROM worker_heartbeats WHERE kind = 'sweep'")}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _env(tmp_path: Path) -> dict[str, str]:
    return os.environ | {
        "CLAIMWATCH_KPI_REFRESH_SECONDS": "0",
        "CLAIMWATCH_SNAPSHOT_DIR": str(tmp_path / "snapshot"),
        "CLAIMWATCH_DOCUMENTS_DIR": str(tmp_path / "documents"),
        "CLAIMWATCH_LOG_FORMAT": "json",
        "CLAIMWATCH_METRICS_TOKEN": "",
    }


def _started(log: Path) -> dict[str, list[int]]:
    pids: dict[str, list[int]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{") and '"child started"' in line:
            record = json.loads(line)
            pids.setdefault(record["child"], []).append(record["pid"])
    return pids


def test_run_supervises_the_web_app_and_the_worker(tmp_path: Path, sqlite_template: Path):
    path = tmp_path / "run.db"
    shutil.copyfile(sqlite_template, path)
    port, metrics_port = _free_port(), _free_port()
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        supervisor = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "claimwatch", "--database", f"sqlite:///{path}", "run", "--port", str(port)]
            + ["--interval", "0.3", "--stop-timeout", "15", "--metrics-port", str(metrics_port)],
            env=_env(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _until(lambda: _get(f"{base}/healthz") == 200, timeout=90.0, what="/healthz")  # start-up: ~12 s of CPU
        first = _until(lambda: _workers(path), what="a heartbeat")
        assert _until(lambda: _get(f"{base}/readyz") == 200, what="/readyz 200")
        # The metrics on their own port, without a token (none is set: /metrics on the app's port is 404).
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:  # noqa: S310
            assert 'claimwatch_worker_heartbeat_age_seconds{kind="sweep"}' in response.read().decode()
        assert _get(f"{base}/metrics") == 404
        (worker_id,) = first
        worker_pid = int(worker_id.rsplit(":", 1)[1])
        web_pid = _started(log)["web"][0]
        assert _started(log)["worker"] == [worker_pid]

        os.kill(worker_pid, signal.SIGKILL)  # the worker crashes: the supervisor starts another
        restarted = _until(lambda: _workers(path) - first, what="a heartbeat of the restarted worker")
        (new_id,) = restarted
        new_pid = int(new_id.rsplit(":", 1)[1])
        assert new_pid != worker_pid and _started(log)["worker"] == [worker_pid, new_pid]
        assert _get(f"{base}/healthz") == 200 and _started(log)["web"] == [web_pid]  # the web app went on

        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0
        assert not _alive(web_pid) and not _alive(new_pid)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
    text = log.read_text(encoding="utf-8")
    assert '"event": "stopped"' in text, text[-2000:]


def test_run_on_an_unmigrated_database_refuses_in_one_line(tmp_path: Path):
    missing = tmp_path / "missing.db"
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    try:
        for path, says in ((missing, "does not exist"), (empty, "has no schema")):
            result = CliRunner().invoke(app, ["--database", f"sqlite:///{path}", "run", "--port", str(_free_port())])
            assert result.exit_code == 2, result.output
            lines = result.output.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], result.output
            assert "claimwatch db upgrade" in lines[0]
    finally:
        db.get_engine().dispose()
    assert not missing.exists()
    with sqlite3.connect(empty) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
