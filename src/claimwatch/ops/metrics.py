"""Prometheus metrics: ``/metrics`` (a bearer token, or public by choice) or a port of their own.

Two kinds of series:

* this process's own: request latency by route template and method (a histogram), requests by route and
  status (a counter);
* read from the database at scrape (cached ``DB_CACHE_SECONDS``), so that what the worker and the CLI
  did shows here too, whichever process did it: events ingested by source, outbox depth and oldest
  pending age, messages by channel and status, open clocks by light, clocks due for the sweep, each
  heartbeat's age, the last sweep's duration and clocks.

Run several web processes and each has its own latency series (Prometheus sums them by instance); the
database series are the same in all of them.
"""

from __future__ import annotations

import datetime as dt
import hmac
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch import db
from claimwatch.complaints.models import ComplaintClock
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import error_body
from claimwatch.heartbeat import service as heartbeat_service
from claimwatch.notify.models import MessageStatus, OutboxMessage
from claimwatch.ops import ingest  # noqa: F401 - registers the ingested-event counter
from claimwatch.ops.models import IngestCount
from claimwatch.ops.settings import ops_settings
from claimwatch.rectification.models import RectificationClock
from claimwatch.sla.models import SlaClock

log = structlog.get_logger("claimwatch.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)
# Seconds: page renders and API calls sit between 5 ms and a few seconds; exports and reports above.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REQUEST_SECONDS = Histogram(
    "claimwatch_http_request_duration_seconds",
    "HTTP request latency by route template (not the raw URL) and method",
    ["route", "method"],
    buckets=BUCKETS,
    registry=REGISTRY,
)
REQUESTS = Counter(
    "claimwatch_http_requests",
    "HTTP requests by route template, method and status code",
    ["route", "method", "status"],
    registry=REGISTRY,
)
DB_CACHE_SECONDS = 10.0
UNMATCHED = "<unmatched>"
CLOCK_TABLES: tuple[tuple[str, type], ...] = (
    ("claim", SlaClock),
    ("complaint", ComplaintClock),
    ("rectification", RectificationClock),
)


def observe(route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(route, method).observe(seconds)
    REQUESTS.labels(route, method, str(status)).inc()


@dataclass
class Figures:
    """What one scrape reads from the database."""

    ingested: dict[str, int] = field(default_factory=dict)
    messages: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_pending: dt.datetime | None = None
    clocks: dict[tuple[str, str], int] = field(default_factory=dict)
    due: dict[str, int] = field(default_factory=dict)
    heartbeats: dict[str, heartbeat_service.KindAge] = field(default_factory=dict)
    now: dt.datetime = field(default_factory=utc_now)


def read_figures(session: Session, now: dt.datetime) -> Figures:
    figures = Figures(now=now)
    for source, events in session.execute(
        select(IngestCount.source, func.sum(IngestCount.events)).group_by(IngestCount.source)
    ):
        figures.ingested[source] = int(events or 0)
    for channel, status, count in session.execute(
        select(OutboxMessage.channel, OutboxMessage.status, func.count()).group_by(
            OutboxMessage.channel, OutboxMessage.status
        )
    ):
        figures.messages[(channel, status)] = int(count)
    figures.oldest_pending = session.execute(
        select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status.in_(MessageStatus.PENDING))
    ).scalar_one_or_none()
    for name, model in CLOCK_TABLES:
        for light, count in session.execute(
            select(model.light, func.count()).where(model.state != "stopped").group_by(model.light)  # type: ignore[attr-defined]
        ):
            figures.clocks[(name, light)] = int(count)
        figures.due[name] = int(
            session.execute(
                select(func.count()).select_from(model).where(model.next_check_at <= now)  # type: ignore[attr-defined]
            ).scalar_one()
        )
    figures.heartbeats = heartbeat_service.ages(session, now)
    return figures


class DatabaseCollector(Collector):
    """The database series, read at scrape and kept ``DB_CACHE_SECONDS`` (scrapers of several Prometheus
    servers, or a human reloading, do not each cost a round of counts)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: tuple[str, float, Figures] | None = None

    def _figures(self) -> Figures:
        key = db.get_engine().url.render_as_string(hide_password=True)
        with self._lock:
            if self._cached and self._cached[0] == key and self._cached[1] > time.monotonic():
                return self._cached[2]
        with unit_of_work(TenantContext.system_reader()) as session:
            figures = read_figures(session, utc_now())
        with self._lock:
            self._cached = (key, time.monotonic() + DB_CACHE_SECONDS, figures)
        return figures

    def forget(self) -> None:
        with self._lock:
            self._cached = None

    def describe(self) -> Iterable[Metric]:
        return []  # collected at scrape only: registering must not read the database

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("claimwatch_database_up", "1 when the database series below could be read")
        try:
            figures = self._figures()
        except Exception:  # noqa: BLE001 - the process series still answer; this gauge says what is missing
            log.warning("metrics: database figures unavailable", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _families(figures)


def _families(figures: Figures) -> Iterator[Metric]:
    ingested = CounterMetricFamily(
        "claimwatch_events_ingested", "Case events applied, by source (api | import | worker)", labels=["source"]
    )
    for source in sorted(set(ingest.SOURCES) | set(figures.ingested)):
        ingested.add_metric([source], figures.ingested.get(source, 0))
    yield ingested

    pending = sum(count for (_, status), count in figures.messages.items() if status in MessageStatus.PENDING)
    depth = GaugeMetricFamily("claimwatch_outbox_depth", "Messages waiting to be sent (queued or to be retried)")
    depth.add_metric([], pending)
    yield depth
    oldest = GaugeMetricFamily(
        "claimwatch_outbox_oldest_pending_age_seconds", "Age of the oldest message waiting to be sent (0: none)"
    )
    oldest.add_metric(
        [], (figures.now - figures.oldest_pending).total_seconds() if figures.oldest_pending is not None else 0.0
    )
    yield oldest
    messages = GaugeMetricFamily(
        "claimwatch_outbox_messages",
        "Outbox messages by channel and status (the outcome of delivery: sent, delivered, failed, dead, opted_out; "
        "queued: not tried yet)",
        labels=["channel", "status"],
    )
    for (channel, status), count in sorted(figures.messages.items()):
        messages.add_metric([channel, status], count)
    yield messages

    clocks = GaugeMetricFamily(
        "claimwatch_clocks_open",
        "Clocks not stopped, by clock (claim | complaint | rectification) and light",
        labels=["clock", "light"],
    )
    for name, _ in CLOCK_TABLES:
        for light in ("green", "yellow", "red"):
            clocks.add_metric([name, light], figures.clocks.get((name, light), 0))
    yield clocks
    due = GaugeMetricFamily(
        "claimwatch_clocks_due", "Clocks whose next check is due now (what the next sweep works)", labels=["clock"]
    )
    for name, _ in CLOCK_TABLES:
        due.add_metric([name], figures.due.get(name, 0))
    yield due

    sweep = figures.heartbeats.get(heartbeat_service.SWEEP)
    duration = GaugeMetricFamily("claimwatch_sla_sweep_duration_seconds", "Wall time of the worker's last sweep pass")
    checked = GaugeMetricFamily("claimwatch_sla_sweep_clocks", "Clocks due and checked by the worker's last sweep pass")
    if sweep is not None and sweep.duration_seconds is not None:
        duration.add_metric([], sweep.duration_seconds)
    if sweep is not None and sweep.items is not None:
        checked.add_metric([], sweep.items)
    yield duration
    yield checked

    age = GaugeMetricFamily(
        "claimwatch_worker_heartbeat_age_seconds",
        "Seconds since the last successful pass of each kind",
        labels=["kind"],
    )
    limit = GaugeMetricFamily(
        "claimwatch_worker_heartbeat_threshold_seconds", "Age at which a kind counts as stale", labels=["kind"]
    )
    ok = GaugeMetricFamily("claimwatch_worker_pass_ok", "1 when the kind's last pass succeeded", labels=["kind"])
    for kind, figure in sorted(figures.heartbeats.items()):
        age.add_metric([kind], figure.age_seconds)
        limit.add_metric([kind], figure.threshold_seconds)
        ok.add_metric([kind], 1 if figure.last_ok else 0)
    yield age
    yield limit
    yield ok


COLLECTOR = DatabaseCollector()
REGISTRY.register(COLLECTOR)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def _authorised(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def metrics_response(request: Request) -> Response:
    """``/metrics``: with CLAIMWATCH_METRICS_TOKEN set, for a bearer of that token (401 otherwise); without
    one, 404 unless CLAIMWATCH_METRICS_PUBLIC=true."""
    settings = ops_settings()
    if settings.metrics_token:
        if not _authorised(request, settings.metrics_token):
            message = "metrics need Authorization: Bearer <CLAIMWATCH_METRICS_TOKEN>"
            return JSONResponse(
                status_code=401,
                content=error_body(message, [{"field": "Authorization", "message": message}]),
                headers={"WWW-Authenticate": "Bearer"},
            )
    elif not settings.metrics_public:
        return JSONResponse(status_code=404, content=error_body("Not Found"))
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


_port_lock = threading.Lock()
_port_started: set[int] = set()


def serve_port(port: int, host: str) -> None:
    """The metrics on a port of their own (no token: bind it where only the scraper reaches), once per process."""
    from prometheus_client import start_http_server

    with _port_lock:
        if port in _port_started:
            return
        start_http_server(port, addr=host, registry=REGISTRY)
        _port_started.add(port)
    log.info("metrics served", host=host, port=port)


def install(app: FastAPI) -> None:
    """Add ``/metrics`` to the app, and the metrics port when CLAIMWATCH_METRICS_PORT is set."""

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        return metrics_response(request)

    settings = ops_settings()
    if settings.metrics_port:
        serve_port(settings.metrics_port, settings.metrics_host)
