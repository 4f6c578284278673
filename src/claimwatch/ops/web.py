"""What the operations layer adds to the web app: the request middleware (request id, latency, one log line
a request), /metrics, the log format, and the admins' stale-worker notice behind the pages' banner."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator

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


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The app's lifespan: once it is built (every module imported, every route and template compiled), what is
    alive is collected once and then frozen out of the garbage collector's sight (``gc.freeze``). Those ~400 000
    long-lived objects never become garbage, but every full collection walked them all: a pause of 0.2-1 s in
    the middle of serving, every few thousand requests (the claimant lookup's p99 tail). Unfrozen at shutdown,
    so the interpreter's final collection and extension modules' leak checks see a normal heap. Off with
    ``CLAIMWATCH_GC_FREEZE=false``."""
    if not ops_settings().gc_freeze:
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
