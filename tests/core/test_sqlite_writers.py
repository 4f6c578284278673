"""Writers wait their turn: several clients writing at once through the real app never see a 5xx.

On SQLite a deferred transaction that reads first and then writes cannot wait for the write lock (SQLite
answers "database is locked" at once rather than risk a deadlock), so write transactions must start with
BEGIN IMMEDIATE. The same test runs on PostgreSQL, where row locks queue the writers.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from claimwatch import db
from claimwatch.cases.models import CaseEvent
from claimwatch.complaints.models import Complaint
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.notify.models import OptOut
from tests.apps import shared_app
from tests.factories import reported, transition

ROUNDS = 15


def _complaint(number: int) -> dict[str, object]:
    return {
        "channel": "app",
        "received_at": "2026-11-02T10:00:00+08:00",
        "complainant": {"name": "钱七", "phone": f"139{number:08d}", "id_number": "110101199003071234"},
        "category": "claims",
        "sub_cause": "amount",
        "subject": "定损金额太低",
        "description": "定损只给了一半。",
    }


def test_concurrent_writers_all_land_without_server_errors(database, world) -> None:
    tenant = world.tenant()
    headers = {"X-API-Key": tenant.api_key}
    setup = TestClient(shared_app())
    created = setup.post("/api/v1/complaints", json=_complaint(1), headers=headers)
    assert created.status_code == 201, created.text
    complaint = created.json()["number"]

    def events(client: TestClient, i: int) -> httpx.Response:
        batch = [reported(f"r{i}", f"CLM-{i}"), transition(f"t{i}", f"CLM-{i}", "accepted")]
        return client.post("/api/v1/events", json={"events": batch}, headers=headers)

    def opt_outs(client: TestClient, i: int) -> httpx.Response:
        body = {"address": f"137{i:08d}", "channel": "sms", "reason": "客户来电要求"}
        return client.post("/api/v1/notify/opt-outs", json=body, headers=headers)

    def notes(client: TestClient, i: int) -> httpx.Response:
        return client.post(f"/api/v1/complaints/{complaint}/note", json={"note": f"第{i}次回访"}, headers=headers)

    def volumes(client: TestClient, i: int) -> httpx.Response:
        body = {"period": f"20{10 + i:02d}-01", "policies_in_force": 1000 + i}
        return client.put("/api/v1/complaints/volumes", json=body, headers=headers)

    failures: list[str] = []
    start = threading.Barrier(4)

    def writer(name: str, write: Callable[[TestClient, int], httpx.Response]) -> None:
        client = TestClient(shared_app())
        start.wait()
        for i in range(ROUNDS):
            try:
                response = write(client, i)
            except Exception as exc:  # noqa: BLE001 - a raised server error is what this test looks for
                failures.append(f"{name} #{i}: {type(exc).__name__}: {exc}")
                continue
            if response.status_code >= 300:
                failures.append(f"{name} #{i}: {response.status_code} {response.text[:200]}")

    threads = [
        threading.Thread(target=writer, args=(name, write))
        for name, write in (("events", events), ("opt-outs", opt_outs), ("notes", notes), ("volumes", volumes))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        assert session.execute(select(func.count()).select_from(CaseEvent)).scalar_one() == 2 * ROUNDS
        assert session.execute(select(func.count()).select_from(OptOut)).scalar_one() == ROUNDS
        assert session.execute(select(func.count()).select_from(Complaint)).scalar_one() == 1
    notes_seen = setup.get(f"/api/v1/complaints/{complaint}", headers=headers).text.count("次回访")
    assert notes_seen == ROUNDS
    volumes_seen = setup.get("/api/v1/complaints/volumes", headers=headers).json()
    assert len(volumes_seen) == ROUNDS


def test_sqlite_waits_for_the_write_lock(database) -> None:
    """The busy timeout is set on every connection, and a write context starts BEGIN IMMEDIATE while a
    read-only one keeps a deferred BEGIN (readers never queue behind writers)."""
    if database.dialect != "sqlite":
        pytest.skip("SQLite locking only")
    with unit_of_work(TenantContext.system_context()) as session:
        assert session.execute(text("PRAGMA busy_timeout")).scalar_one() >= 30000
        # The suite's throwaway files run with synchronous OFF (tests/conftest.py); the default is below.
        assert (
            session.execute(text("PRAGMA synchronous")).scalar_one() == SYNCHRONOUS[get_settings().sqlite_synchronous]
        )
        assert session.connection().get_execution_options().get(db.IMMEDIATE) is True
    with unit_of_work(TenantContext.regulator()) as session:
        assert not session.connection().get_execution_options().get(db.IMMEDIATE)

    # A write context holds the write lock from its first statement, even a read: another writer waits.
    with unit_of_work(TenantContext.system_context()) as writer:
        writer.execute(text("SELECT 1"))
        other = sqlite3.connect(make_url(database.url).database, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


SYNCHRONOUS = {"OFF": 0, "NORMAL": 1, "FULL": 2}


def test_sqlite_commits_are_durable_across_a_power_cut_by_default(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("CLAIMWATCH_SQLITE_SYNCHRONOUS", raising=False)
    get_settings.cache_clear()
    engine = db.make_engine(f"sqlite:///{tmp_path / 'default.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == SYNCHRONOUS["FULL"]
    finally:
        engine.dispose()
    monkeypatch.setenv("CLAIMWATCH_SQLITE_SYNCHRONOUS", "sometimes")
    get_settings.cache_clear()
    with pytest.raises(ValidationError, match="sqlite_synchronous"):
        get_settings()
