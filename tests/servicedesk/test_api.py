"""The service-request API's access and list (h1), on both databases: a reader (adjuster) reads but may not write,
another insurer's request is unknown (404) and its list empty, the regulator is refused (403), a malformed number is
422; the list's filters (status, category, priority, team, handler, mine, unassigned, channel, dates) and their
refusals naming the field."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import World
from tests.servicedesk.requests_world import BASE, Desk, body, build, core, ok, staff
from tests.snapshots import Snapshot

T0 = "2026-11-02T09:00:00+08:00"


@pytest.fixture
def desk(world: World, db_snapshot: Snapshot) -> Desk:
    return db_snapshot("servicedesk.requests", lambda: build(world))


def numbers(page: dict) -> list[str]:
    return [item["number"] for item in page["items"]]


def test_roles_tenants_and_list_filters(desk: Desk) -> None:
    api = core(desk.a.api_key)
    one = ok(api.post(BASE, json=body()), 201)["number"]
    # Working-day targets: received on a day of a calendar year the tests know (whatever day they run on).
    two = ok(
        api.post(BASE, json=body(category="policy_change", priority="urgent", channel="wechat", received_at=T0)), 201
    )
    two = two["number"]
    three = ok(api.post(BASE, json=body(category="documents", received_at=T0)), 201)["number"]
    cs = staff("sr.cs")
    ok(cs.post(f"{BASE}/{two}/assign", json={"username": "sr.cs"}))
    ok(cs.post(f"{BASE}/{three}/cancel", json={"reason": "客户撤回"}))

    reader = core(desk.keys["adj"])
    assert ok(reader.get(f"{BASE}/{one}"))["number"] == one
    assert reader.post(BASE, json=body()).status_code == 403
    assert reader.post(f"{BASE}/{one}/notes", json={"text": "x"}).status_code == 403
    other = core(desk.keys["b"])
    assert other.get(f"{BASE}/{one}").status_code == 404
    assert other.post(f"{BASE}/{one}/replies", json={"text": "x"}).status_code == 404
    assert ok(other.get(BASE, params={"status": "all"}))["total"] == 0
    assert staff("sr.reg").get(BASE).status_code == 403
    assert api.get(f"{BASE}/not-a-number").status_code == 422

    assert numbers(ok(api.get(BASE))) == [one, two]  # open ones, newest first
    assert ok(api.get(BASE, params={"status": "all"}))["total"] == 3
    assert numbers(ok(api.get(BASE, params={"status": "cancelled"}))) == [three]
    assert numbers(ok(api.get(BASE, params={"category": "policy_change"}))) == [two]
    assert numbers(ok(api.get(BASE, params={"priority": "urgent", "team": "policy_service"}))) == [two]
    assert numbers(ok(api.get(BASE, params={"handler": "sr.cs"}))) == [two]
    assert numbers(ok(cs.get(BASE, params={"mine": "true"}))) == [two]
    assert numbers(ok(api.get(BASE, params={"unassigned": "true"}))) == [one]
    assert numbers(ok(api.get(BASE, params={"channel": "wechat"}))) == [two]
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    window = {"status": "all", "received_from": str(today - dt.timedelta(days=1)), "received_to": str(today)}
    assert numbers(ok(api.get(BASE, params=window))) == [one]
    assert ok(api.get(BASE, params={"status": "all", "received_to": "2020-01-01"}))["total"] == 0
    for name, value in (("status", "lost"), ("category", "x"), ("priority", "x"), ("team", "x"), ("handler", "x")):
        refused = api.get(BASE, params={name: value})
        assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == name
