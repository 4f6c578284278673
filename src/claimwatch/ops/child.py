"""A child of ``claimwatch run``: ``python -m claimwatch.ops.child web --host H --port P`` or ``… worker
[--interval S]``. Logging is set up first (JSON by default, the personal-data scrubber on every line), and
the child ends itself when its supervisor dies (Linux: the parent-death signal), so a killed supervisor
leaves no orphan serving or sweeping."""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import importlib
import json
import logging
import os
import signal
import sys

from claimwatch.config import get_settings
from claimwatch.logs import configure_logging
from claimwatch.ops.run import SUPERVISOR_PID_ENV
from claimwatch.ops.settings import ops_settings
from claimwatch.privacy import scrub_text

# By name, like uvicorn's factory string: the top-level wiring sits above this layer.
APP_FACTORY = "claimwatch.app:create_app"
WORKER_MODULE = "claimwatch.worker"
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    expected = os.environ.get(SUPERVISOR_PID_ENV)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:  # no glibc: the supervisor's own stop still ends the child
            pass
    if expected and os.getppid() != int(expected):  # the supervisor died before the signal was armed
        sys.exit(0)


class JsonLines(logging.Formatter):
    """The root handler's formatter in a JSON-logging child: lines structlog rendered already pass as they
    are; every other library's record (uvicorn's start and stop, a traceback) becomes one JSON object too,
    through the same personal-data scrubber."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if message.startswith("{") and message.endswith("}"):
            return message
        line: dict[str, object] = {
            "event": scrub_text(message),
            "level": record.levelname.lower(),
            "logger": record.name,
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat().replace("+00:00", "Z"),
        }
        if record.exc_info:
            line["exception"] = scrub_text(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def setup_logging() -> None:
    fmt = ops_settings().log_format
    configure_logging(get_settings().log_level, fmt)
    if fmt == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonLines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch.ops.child")
    sub = parser.add_subparsers(dest="kind", required=True)
    web = sub.add_parser("web")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    worker = sub.add_parser("worker")
    worker.add_argument("--interval", type=float, default=None)
    args = parser.parse_args(argv)
    _die_with_parent()
    setup_logging()
    if args.kind == "web":
        import uvicorn

        # No uvicorn access log: the app logs one line a request itself, with the request id and the route
        # template instead of the raw URL (which can carry personal data).
        # log_config=None: uvicorn's records go through the root handler set up above.
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=args.host,
            port=args.port,
            access_log=False,
            log_config=None,
            proxy_headers=False,  # CLAIMWATCH_TRUSTED_PROXIES (the app's middleware) alone says whom to believe
        )
        return 0
    import claimwatch.cases.service  # noqa: F401 - registers the case-event audit source (as the CLI does)

    importlib.import_module(WORKER_MODULE).run(interval=args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
