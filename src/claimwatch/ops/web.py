"""What the operations layer adds to the web app: the request middleware (request id, latency, one log line
a request), /metrics, the log format, and the admins' stale-worker notice behind the pages' banner."""

from __future__ import annotations

from fastapi import FastAPI

from claimwatch.config import get_settings
from claimwatch.logs import configure_logging
from claimwatch.ops import metrics, watch
from claimwatch.ops.middleware import RequestObserver
from claimwatch.ops.settings import ops_settings


def install(app: FastAPI) -> None:
    """Call after the app's other middlewares are added: the request observer must be the outermost."""
    configure_logging(get_settings().log_level, ops_settings().log_format)
    app.add_middleware(RequestObserver)
    metrics.install(app)
    watch.install()
