"""A silent worker is noticed: admins and quality managers see a banner on every page, an adjuster does not,
and the admins get one staff notice per stale episode."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.heartbeat import service, watch
from claimwatch.notify.models import StaffInboxItem, StaffNotification
from claimwatch.ops import watch as ops_watch
from tests.apps import shared_app
from tests.factories import World
from tests.web.conftest import sign_in


def _beat(kind: str, at: dt.datetime) -> None:
    with unit_of_work(TenantContext.system_context()) as session:
        service.beat(session, kind, True, at=at, interval=30.0)


def _notices() -> tuple[int, int]:
    with unit_of_work(TenantContext.system_reader()) as session:
        notices = session.execute(
            select(func.count()).select_from(StaffNotification).where(StaffNotification.kind == "worker_stale")
        ).scalar_one()
        inbox = session.execute(
            select(func.count()).select_from(StaffInboxItem).where(StaffInboxItem.kind == "worker_stale")
        ).scalar_one()
    return notices, inbox


def _page(client: TestClient) -> str:
    watch.forget()  # the check is cached a few seconds
    response = client.get("/claims", params={"lang": "en"})  # the banner's words are checked in English
    assert response.status_code == 200
    watch.wait_for_listeners()
    return response.text


def test_a_stale_worker_raises_the_banner_for_admins_and_one_notice_per_episode(world: World):
    acme = world.tenant("ACME")
    admin = world.user("acme.admin", Role.ADMIN, acme)
    adjuster = world.user("acme.adjuster", Role.ADJUSTER, acme)
    app = shared_app()
    admin_client, adjuster_client = TestClient(app), TestClient(app)
    sign_in(admin_client, admin)
    sign_in(adjuster_client, adjuster)
    now = utc_now()
    _beat("sweep", now)
    _beat("delivery", now)
    assert 'id="stale-worker"' not in _page(admin_client)

    # The worker stops: ten minutes on, both kinds are past their five minutes.
    _beat("sweep", now - dt.timedelta(minutes=10))
    _beat("delivery", now - dt.timedelta(minutes=10))
    html = _page(admin_client)
    assert 'id="stale-worker"' in html and "SLA sweep" in html and "message delivery" in html
    assert 'id="stale-worker"' not in _page(adjuster_client)
    assert _notices() == (1, 1)  # queued and routed at once to the admin's inbox: the worker is not there to
    # More pages and probes during the same silence tell nobody again.
    _page(admin_client)
    assert admin_client.get("/readyz").status_code == 503
    assert _notices() == (1, 1)

    # The worker comes back (its own check closes the episode), then stops again: a second notice.
    _beat("sweep", utc_now())
    _beat("delivery", utc_now())
    assert ops_watch.check() == []
    assert 'id="stale-worker"' not in _page(admin_client)
    _beat("sweep", now - dt.timedelta(minutes=10))
    assert 'id="stale-worker"' in _page(admin_client)
    assert _notices() == (2, 2)
