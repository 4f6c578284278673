"""Worker heartbeats: what a pass records, how old each kind is, and /readyz built on them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient

from claimwatch import db
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.heartbeat import service
from claimwatch.heartbeat.jobs import Pass
from tests.apps import shared_app


def _beat(kind: str, at: dt.datetime, ok: bool = True, **kwargs: object) -> None:
    with unit_of_work(TenantContext.system_context()) as session:
        service.beat(session, kind, ok, at=at, **kwargs)  # type: ignore[arg-type]


def test_a_kind_ages_from_its_last_successful_pass(database):
    t0 = utc_now() - dt.timedelta(hours=1)
    _beat("sweep", t0, duration=0.5, items=7, interval=30.0)
    _beat("sweep", t0 + dt.timedelta(seconds=10), ok=False, error=RuntimeError("客户 13812345678 timeout"))
    _beat("kpi_snapshot", t0, interval=900.0)
    with unit_of_work(TenantContext.system_reader()) as session:
        ages = service.ages(session, t0 + dt.timedelta(seconds=20))
        sweep = ages["sweep"]
        # Failing since: the age runs from the last pass that succeeded, and the error is kept, scrubbed.
        assert sweep.age_seconds == 20 and not sweep.last_ok and sweep.passes == 2 and sweep.workers == 1
        assert sweep.last_error is not None and sweep.last_error.startswith("RuntimeError")
        assert "13812345678" not in sweep.last_error
        assert (sweep.duration_seconds, sweep.items, sweep.threshold_seconds) == (0.5, 7, 300.0)
        assert ages["kpi_snapshot"].threshold_seconds == 2700.0  # three of its 15-minute intervals
        later = t0 + dt.timedelta(seconds=301)
        assert [age.kind for age in service.stale(session, later)] == ["sweep"]
        assert {age.kind for age in service.stale(session, later, threshold_seconds=60)} == {"sweep", "kpi_snapshot"}


def test_a_pass_that_raises_still_beats_and_the_error_goes_on(database):
    try:
        with Pass("delivery", 30.0) as beat:
            beat.add(3)
            raise ValueError("smtp down")
    except ValueError:
        pass
    with unit_of_work(TenantContext.system_reader()) as session:
        delivery = service.ages(session)["delivery"]
    assert not delivery.last_ok and delivery.items == 3 and delivery.last_error == "ValueError: smtp down"


def test_readyz_answers_200_when_fresh_and_503_naming_the_stale_kind(database):
    client = TestClient(shared_app())
    never = client.get("/readyz")
    assert never.status_code == 503 and never.json()["failing"] == ["heartbeats"]  # no worker has run
    now = utc_now()
    for kind in ("sweep", "delivery", "surveys"):
        _beat(kind, now, interval=30.0 if kind != "surveys" else 600.0)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert body["database"]["ok"] and body["migrations"]["current"] == body["migrations"]["head"]
    assert set(body["heartbeats"]) == {"sweep", "delivery", "surveys"}
    # The worker stops; twenty minutes later the sweep and delivery are stale, the surveys (every 10 min) not yet.
    _beat("sweep", now - dt.timedelta(minutes=20), interval=30.0)
    _beat("delivery", now - dt.timedelta(minutes=20), interval=30.0)
    _beat("surveys", now - dt.timedelta(minutes=20), interval=600.0)
    stale = client.get("/readyz")
    assert stale.status_code == 503
    assert stale.json()["failing"] == ["heartbeat:delivery", "heartbeat:sweep"]
    assert stale.json()["heartbeats"]["sweep"]["ok"] is False and stale.json()["heartbeats"]["surveys"]["ok"] is True


def test_readyz_on_an_unmigrated_database_names_the_migrations(tmp_path: Path):
    db.configure(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        response = TestClient(shared_app()).get("/readyz")
    finally:
        db.get_engine().dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["migrations"] and body["migrations"]["current"] is None and body["migrations"]["head"]
