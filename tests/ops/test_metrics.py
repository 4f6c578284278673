"""/metrics: refused without the token, the named series with it, values that move with the work; the
request id on responses and in the JSON log lines."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
import structlog
from fastapi import APIRouter
from fastapi.testclient import TestClient

from claimwatch import worker
from claimwatch.app import create_app
from claimwatch.ops import metrics
from claimwatch.ops.settings import ops_settings
from tests.factories import World, reported

TOKEN = "s3cret-scrape-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CLAIMWATCH_METRICS_TOKEN", TOKEN)
    ops_settings.cache_clear()
    yield
    ops_settings.cache_clear()


def _scrape(client: TestClient) -> str:
    metrics.COLLECTOR.forget()  # the database series are cached a few seconds
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def _value(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match, f"{series} not in /metrics"
    return float(match.group(1))


def test_metrics_without_a_token_setting_are_not_there(database, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CLAIMWATCH_METRICS_TOKEN", raising=False)
    ops_settings.cache_clear()
    try:
        assert TestClient(create_app()).get("/metrics").status_code == 404
        monkeypatch.setenv("CLAIMWATCH_METRICS_PUBLIC", "true")
        ops_settings.cache_clear()
        assert TestClient(create_app()).get("/metrics").status_code == 200
    finally:
        ops_settings.cache_clear()


def test_metrics_need_the_token_and_move_with_the_work(world: World, token: None):
    client = TestClient(create_app())
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    acme = world.tenant("ACME")
    before = _scrape(client)
    for name in (
        "claimwatch_outbox_depth",
        "claimwatch_outbox_oldest_pending_age_seconds",
        'claimwatch_clocks_open{clock="claim",light="green"}',
        'claimwatch_clocks_due{clock="claim"}',
        "claimwatch_database_up",
    ):
        _value(before, name)
    api_before = _value(before, 'claimwatch_events_ingested_total{source="api"}')

    response = client.post(
        "/api/v1/events",
        json={"events": [reported("m1", "M-001", org_code=acme.branch_code, amount="800.00")]},
        headers={"X-API-Key": acme.api_key},
    )
    assert response.status_code == 201, response.text
    after = _scrape(client)
    assert _value(after, 'claimwatch_events_ingested_total{source="api"}') == api_before + 1
    assert _value(after, 'claimwatch_clocks_open{clock="claim",light="green"}') >= 1
    assert _value(after, "claimwatch_outbox_depth") >= 1  # the acknowledgement to the claimant is queued
    assert _value(after, 'claimwatch_outbox_messages{channel="sms",status="queued"}') >= 1
    latency = 'claimwatch_http_request_duration_seconds_count{method="POST",route="/api/v1/events"}'
    assert _value(after, latency) >= 1
    assert "M-001" not in after  # route templates, never raw URLs or claim numbers

    # One worker round: the message leaves, the sweep and delivery heartbeats and the sweep's figures appear.
    worker.run(interval=0.01, passes=1, kpi=False)
    done = _scrape(client)
    assert _value(done, "claimwatch_outbox_depth") == 0
    assert _value(done, 'claimwatch_outbox_messages{channel="sms",status="sent"}') >= 1
    assert _value(done, 'claimwatch_worker_heartbeat_age_seconds{kind="sweep"}') < 60
    assert _value(done, 'claimwatch_worker_pass_ok{kind="delivery"}') == 1
    assert _value(done, "claimwatch_sla_sweep_duration_seconds") > 0
    _value(done, "claimwatch_sla_sweep_clocks")


def test_a_response_carries_the_request_id_and_so_do_the_log_lines(database, caplog: pytest.LogCaptureFixture):
    router = APIRouter()

    @router.get("/test-logs-inside")
    def logs_inside() -> dict[str, str]:  # a sync route: it runs on the thread pool
        structlog.get_logger("test").info("inside the route")
        return {}

    app = create_app()
    app.include_router(router)
    client = TestClient(app)
    with caplog.at_level(logging.INFO):
        given = client.get("/test-logs-inside", headers={"X-Request-ID": "req-42.a"})
        made = client.get("/test-logs-inside", headers={"X-Request-ID": "bad id\twith spaces"})
    assert given.headers["X-Request-ID"] == "req-42.a"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])  # not a token: a new id instead
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    inside = [line for line in lines if line.get("event") == "inside the route"]
    request = [line for line in lines if line.get("event") == "request"]
    assert [line["request_id"] for line in inside] == ["req-42.a", made.headers["X-Request-ID"]]
    assert request[0]["request_id"] == "req-42.a" and request[0]["route"] == "/test-logs-inside"
    assert request[0]["status"] == 200 and "path" not in request[0]
