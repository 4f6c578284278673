"""Fixtures for the page tests: a seeded world of two insurers, a signed-in client, a live server."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.sla import jobs
from tests.apps import shared_app
from tests.factories import HAPPY_PATH, PASSWORD, TenantHandle, World, at, reported, transition
from tests.snapshots import Snapshot

CLEAR_PHONE = "13812345678"
CLEAR_ID_NUMBER = "110101199003071234"
REASON_PHONE = "13900001111"
CST = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Seeded:
    acme: TenantHandle
    bbb: TenantHandle
    adjuster: str  # ACME
    regulator: str


def _assigned(event_id: str, number: str, assignee: str, hours: float) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "claim_number": number,
        "type": "assigned",
        "assignee": assignee,
        "occurred_at": at(hours),
    }


def _ingest(client: TestClient, tenant: TenantHandle, events: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/events", json={"events": events}, headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 201, response.text


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(shared_app())


@pytest.fixture
def seeded(world: World, db_snapshot: Snapshot) -> Seeded:
    return db_snapshot("web.seeded", lambda: build_seeded(world))


def build_seeded(world: World) -> Seeded:
    """ACME: four claims in different statuses, lines and regions; BBB: one claim of its own and one
    whose number is also used by ACME (claim numbers are unique per insurer only)."""
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    adjuster = world.user("li.adjuster", Role.ADJUSTER, acme)
    world.user("zhao.bbb", Role.ADJUSTER, bbb)
    regulator = world.user("cbirc.gd", Role.REGULATOR, None)
    api = TestClient(shared_app())
    _ingest(
        api,
        acme,
        [
            reported("a1", "A-MOT-001", org_code=acme.branch_code, hours=0),
            transition("a2", "A-MOT-001", "accepted", hours=1),
            transition("a3", "A-MOT-001", "initial_review", hours=2),
            transition("a4", "A-MOT-001", "awaiting_materials", hours=3, reason=f"客户手机 {REASON_PHONE} 未接通"),
            transition("a5", "A-MOT-001", "investigation", hours=4),
            _assigned("a6", "A-MOT-001", adjuster, hours=4.5),
            reported("b1", "A-MOT-002", hours=5, region_code="310000", amount="880.50"),
            reported("c1", "A-MED-001", line="medical", hours=6),
            transition("c2", "A-MED-001", "accepted", hours=7),
            reported("d1", "A-MOT-003", hours=8),
            *[transition(f"d{i + 2}", "A-MOT-003", status, hours=9 + i) for i, status in enumerate(HAPPY_PATH)],
        ],
    )
    _ingest(
        api,
        bbb,
        [
            reported("x1", "B-MOT-001", hours=1),
            reported("x2", "A-MOT-001", hours=2, amount="123456.00"),
        ],
    )
    return Seeded(acme, bbb, adjuster, regulator)


@dataclass(frozen=True)
class SlaWorld:
    acme: TenantHandle
    bbb: TenantHandle
    supervisor: str  # ACME
    adjuster: str  # ACME
    quality: str  # ACME quality manager
    bbb_supervisor: str
    regulator: str


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CST)  # type: ignore[misc, arg-type]


@pytest.fixture
def sla(world: World, db_snapshot: Snapshot) -> SlaWorld:
    return db_snapshot("web.sla", lambda: build_sla(world))


def build_sla(world: World) -> SlaWorld:
    """ACME: S-RED (small claim reported 2026-11-02 09:00, yellow at the first sweep, red at the
    second), S-YEL (reported 11-03 15:00, yellow at the second sweep), S-PAU (waiting for the
    claimant), S-LATE (closed 30 h after the report: 6 h late). BBB: B-RED, red at the second sweep."""
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    sla = SlaWorld(
        acme=acme,
        bbb=bbb,
        supervisor=world.user("wang.supervisor", Role.SUPERVISOR, acme),
        adjuster=world.user("li.adjuster", Role.ADJUSTER, acme),
        quality=world.user("qian.quality", Role.QUALITY_MANAGER, acme),
        bbb_supervisor=world.user("zhao.bbb", Role.SUPERVISOR, bbb),
        regulator=world.user("cbirc.gd", Role.REGULATOR, None),
    )
    api = TestClient(shared_app())
    _ingest(
        api,
        acme,
        [
            reported("r1", "S-RED", org_code=acme.branch_code, amount="800.00", hours=0),
            reported("y1", "S-YEL", org_code=acme.branch_code, amount="1200.00", hours=30),
            reported("p1", "S-PAU", amount="900.00", hours=0),
            transition("p2", "S-PAU", "accepted", hours=1),
            transition("p2b", "S-PAU", "initial_review", hours=1.5),
            transition("p3", "S-PAU", "awaiting_materials", hours=2, reason="等客户补材料 13812345678"),
            reported("l1", "S-LATE", amount="700.00", hours=0),
            *[transition(f"l{i + 2}", "S-LATE", status, hours=23 + i) for i, status in enumerate(HAPPY_PATH)],
        ],
    )
    _ingest(api, bbb, [reported("b1", "B-RED", amount="500.00", hours=0)])
    jobs.sweep(now=local(2026, 11, 3, 12, 0))  # S-RED and B-RED yellow (due 11-03 09:00)
    jobs.sweep(now=local(2026, 11, 5, 10, 0))  # S-RED, B-RED red (11-04 09:00); S-YEL yellow (11-04 15:00)
    return sla


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


@contextlib.contextmanager
def serve() -> Iterator[str]:
    """uvicorn serving shared_app() on a free loopback port, in a thread, against the test database."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(shared_app(), log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(200):
        if server.started or not thread.is_alive():
            break
        started.wait(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@pytest.fixture
def live_server(seeded: Seeded) -> Iterator[str]:
    with serve() as url:
        yield url
