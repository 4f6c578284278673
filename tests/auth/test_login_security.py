"""Sign-in under attack (issue 11, item 2): failures lock the account and the client address for a while,
whatever the account is (or whether it exists); every attempt is recorded and a quality manager or admin
of the same insurer can read the record."""

from __future__ import annotations

import datetime as dt
import statistics
import time

import httpx
from fastapi.testclient import TestClient

from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.web.security import CSRF_FIELD
from tests.apps import shared_app
from tests.factories import PASSWORD
from tests.web.conftest import csrf_from

WRONG = "not-the-password"


def attempt(client: TestClient, username: str, password: str) -> httpx.Response:
    token = csrf_from(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, CSRF_FIELD: token}, follow_redirects=False
    )


def test_five_failures_lock_the_account_even_for_the_right_password(world):
    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    client = TestClient(shared_app(), headers={"Accept-Language": "en"})
    for _ in range(get_settings().login_max_failures):
        assert attempt(client, "wang.adj", WRONG).status_code == 401
    locked = attempt(client, "wang.adj", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert 'id="login-error"' in locked.text and "Too many failed sign-ins" in locked.text
    assert client.get("/claims", follow_redirects=False).status_code == 303  # not signed in
    # Another account from the same address is not locked by these five.
    world.user("li.adj", Role.ADJUSTER, tenant)
    assert attempt(client, "li.adj", PASSWORD).status_code == 303


def test_a_lock_says_nothing_about_whether_the_account_exists(world):
    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    client = TestClient(shared_app())
    for name in ("wang.adj", "nobody.here"):
        for _ in range(get_settings().login_max_failures):
            attempt(client, name, WRONG)
    known = attempt(client, "wang.adj", PASSWORD)
    unknown = attempt(client, "nobody.here", PASSWORD)
    assert known.status_code == unknown.status_code == 429
    assert known.text.replace("wang.adj", "X") == unknown.text.replace("nobody.here", "X")


def test_twenty_failures_from_one_address_lock_the_address(world):
    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    client = TestClient(shared_app())
    for i in range(get_settings().login_ip_max_failures):
        assert attempt(client, f"guess{i}", WRONG).status_code == 401
    assert attempt(client, "wang.adj", PASSWORD).status_code == 429


def test_the_brute_force_of_the_report_no_longer_gets_in(world):
    """40 wrong passwords and then the right one: the right one is refused."""
    tenant = world.tenant()
    world.user("paic.admin", Role.ADMIN, tenant)
    client = TestClient(shared_app())
    answers = [attempt(client, "paic.admin", f"guess-{i:04d}").status_code for i in range(40)]
    assert attempt(client, "paic.admin", PASSWORD).status_code == 429
    assert answers.count(401) == get_settings().login_max_failures and set(answers) == {401, 429}


def test_the_lock_ends_and_a_success_forgets_the_failures(world):
    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    now = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)

    def sign_in(password: str, at: dt.datetime) -> str:
        with unit_of_work(TenantContext.system_context()) as session:
            return auth_service.sign_in(session, "wang.adj", password, "10.0.0.1", now=at).status

    for _ in range(get_settings().login_max_failures - 1):
        assert sign_in(WRONG, now) == auth_service.FAILED
    assert sign_in(PASSWORD, now) == auth_service.SIGNED_IN  # the count starts again
    for _ in range(get_settings().login_max_failures):
        assert sign_in(WRONG, now) == auth_service.FAILED
    assert sign_in(PASSWORD, now + dt.timedelta(minutes=14)) == auth_service.LOCKED
    assert sign_in(PASSWORD, now + dt.timedelta(minutes=16)) == auth_service.SIGNED_IN


def test_unknown_and_known_accounts_take_the_same_time(world, production_password_hashing):
    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)

    def timed(username: str, address: str) -> float:
        with unit_of_work(TenantContext.system_context()) as session:
            started = time.perf_counter()
            auth_service.sign_in(session, username, WRONG, address)
            return time.perf_counter() - started

    known: list[float] = []
    unknown: list[float] = []
    for i in range(5):  # interleaved, so a busy moment of the machine weighs on both
        known.append(timed("wang.adj", f"10.0.1.{i}"))
        unknown.append(timed(f"nobody{i}", f"10.0.2.{i}"))
    assert 0.5 < statistics.median(known) / statistics.median(unknown) < 2.0


def test_the_dummy_hash_has_the_production_parameters(production_password_hashing):
    """The dummy hash is written out in the source: it must cost what checking a real user's password costs."""
    assert not auth_service._hasher.check_needs_rehash(auth_service._DUMMY_HASH)
    assert auth_service._hasher.verify(auth_service._DUMMY_HASH, "claimwatch-timing-equaliser")


def test_sign_ins_are_recorded_for_the_insurers_quality_manager(world):
    acme = world.tenant("ACME")
    other = world.tenant("BBB")
    world.user("wang.adj", Role.ADJUSTER, acme)
    world.user("zhao.bbb", Role.ADJUSTER, other)
    client = TestClient(shared_app())
    assert attempt(client, "wang.adj", WRONG).status_code == 401
    assert attempt(client, "nobody.here", WRONG).status_code == 401
    assert attempt(client, "zhao.bbb", PASSWORD).status_code == 303
    client.cookies.clear()
    for _ in range(get_settings().login_max_failures - 1):
        assert attempt(client, "wang.adj", WRONG).status_code == 401
    assert attempt(client, "wang.adj", PASSWORD).status_code == 429

    api = TestClient(shared_app())
    quality = world.api_key(acme, Role.QUALITY_MANAGER)
    response = api.get("/api/v1/auth/logins", headers={"X-API-Key": quality})
    assert response.status_code == 200, response.text
    records = response.json()["items"]
    assert {r["username"] for r in records} == {"wang.adj"}  # not BBB's, not the unknown name
    outcomes = [r["outcome"] for r in records]
    assert outcomes[0] == "locked" and outcomes.count("failure") == get_settings().login_max_failures
    assert all(r["address"] == "testclient" and r["at"] for r in records)
    locked_only = api.get("/api/v1/auth/logins?outcome=locked", headers={"X-API-Key": quality}).json()
    assert [r["outcome"] for r in locked_only["items"]] == ["locked"]
    assert api.get("/api/v1/auth/logins?outcome=maybe", headers={"X-API-Key": quality}).status_code == 422
    adjuster = world.api_key(acme, Role.ADJUSTER)
    assert api.get("/api/v1/auth/logins", headers={"X-API-Key": adjuster}).status_code == 403
    bbb_admin = world.api_key(other, Role.ADMIN)
    bbb = api.get("/api/v1/auth/logins", headers={"X-API-Key": bbb_admin}).json()["items"]
    assert [(r["username"], r["outcome"]) for r in bbb] == [("zhao.bbb", "success")]
