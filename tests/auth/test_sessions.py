"""Server-side sessions (issue 11, item 5): the signed cookie names a session row; signing out, a password
change or a deactivated account end it at once, and a copied cookie is worth nothing afterwards."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role, User, UserSession
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from tests.apps import shared_app
from tests.factories import PASSWORD
from tests.web.conftest import csrf_from, sign_in

COOKIE = "claimwatch_session"


def copied(client: TestClient) -> TestClient:
    """A second client holding a copy of the first one's session cookie (a stolen cookie)."""
    thief = TestClient(shared_app())
    thief.cookies.set(COOKIE, client.cookies[COOKIE])
    return thief


def test_a_copied_cookie_stops_working_after_sign_out(world):
    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    client = TestClient(shared_app())
    sign_in(client, "wang.adj")
    thief = copied(client)
    assert thief.get("/api/v1/claims").status_code == 200
    token = csrf_from(client.get("/claims").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert thief.get("/api/v1/claims").status_code == 401
    assert thief.get("/claims", follow_redirects=False).status_code == 303
    with unit_of_work(TenantContext.system_context()) as session:
        rows = session.execute(select(UserSession)).scalars().all()
        assert len(rows) == 1 and rows[0].revoked_at is not None
        assert rows[0].token_hash not in client.cookies.get(COOKIE, "")  # only a hash is stored


def test_a_password_change_ends_every_session_of_the_user(world):
    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    world.user("li.adj", Role.ADJUSTER, tenant)
    first, second, other = TestClient(shared_app()), TestClient(shared_app()), TestClient(shared_app())
    sign_in(first, "wang.adj")
    sign_in(second, "wang.adj")
    sign_in(other, "li.adj")
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        user_id = session.execute(select(User.id).where(User.username == "wang.adj")).scalar_one()
        auth_service.change_password(session, user_id, "a-new-long-password", actor="user:wang.adj")
    assert first.get("/api/v1/claims").status_code == 401
    assert second.get("/api/v1/claims").status_code == 401
    assert other.get("/api/v1/claims").status_code == 200
    sign_in(first, "wang.adj", "a-new-long-password")
    assert first.get("/api/v1/claims").status_code == 200
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        try:
            auth_service.change_password(session, user_id, "short", actor="user:wang.adj")
        except auth_service.AuthError as exc:
            assert exc.field == "password"
        else:
            raise AssertionError("a short password was taken")


def test_a_session_from_before_the_upgrade_or_unknown_is_refused(world):
    """A cookie that names a user but no session row (how cookies were signed before) is refused."""
    import base64
    import json

    from itsdangerous import TimestampSigner

    from claimwatch.privacy import derive_key

    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    signer = TimestampSigner(derive_key("session-cookie").hex())
    for payload in ({"uid": 1}, {"sid": "made-up-session-id"}):
        forged = signer.sign(base64.b64encode(json.dumps(payload).encode())).decode()
        client = TestClient(shared_app())
        client.cookies.set(COOKIE, forged)
        assert client.get("/api/v1/claims").status_code == 401


def test_sessions_expire_when_idle_and_at_their_end(world):
    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    start = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
    with unit_of_work(TenantContext.system_context()) as session:
        outcome = auth_service.sign_in(session, "wang.adj", PASSWORD, "10.0.0.1", now=start)
    token = outcome.session_token
    assert token is not None

    def alive(at: dt.datetime) -> bool:
        with unit_of_work(TenantContext.system_context()) as session:
            return auth_service.principal_for_session(session, token, now=at) is not None

    idle, longest = get_settings().session_idle_seconds, get_settings().session_max_seconds
    assert alive(start + dt.timedelta(seconds=idle - 60))
    assert alive(start + dt.timedelta(seconds=2 * idle - 120))  # kept alive by the use just before
    assert not alive(start + dt.timedelta(seconds=longest + 1))  # however busy


def test_a_deactivated_account_loses_its_session(world):
    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    client = TestClient(shared_app())
    sign_in(client, "wang.adj")
    with unit_of_work(TenantContext.system_context()) as session:
        user = session.execute(select(User).where(User.username == "wang.adj")).scalar_one()
        user.active = False
    assert client.get("/api/v1/claims").status_code == 401


def test_the_worker_pass_forgets_old_sessions_and_throttles_but_keeps_the_record(world):
    from claimwatch.auth import jobs
    from claimwatch.auth.models import LoginRecord, LoginThrottle

    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    start = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
    with unit_of_work(TenantContext.system_context()) as session:
        auth_service.sign_in(session, "wang.adj", "wrong-password", "10.0.0.1", now=start)
        old = auth_service.sign_in(session, "wang.adj", PASSWORD, "10.0.0.1", now=start)
    later = start + dt.timedelta(days=3)
    with unit_of_work(TenantContext.system_context()) as session:
        fresh = auth_service.sign_in(session, "wang.adj", PASSWORD, "10.0.0.2", now=later)
    assert jobs.purge(now=later) == 3  # two throttle keys, the old session
    with unit_of_work(TenantContext.system_context()) as session:
        assert session.execute(select(LoginThrottle)).first() is None
        assert len(session.execute(select(UserSession)).all()) == 1
        assert len(session.execute(select(LoginRecord)).all()) == 3
        assert auth_service.principal_for_session(session, fresh.session_token or "", now=later) is not None
        assert auth_service.principal_for_session(session, old.session_token or "", now=later) is None


def test_the_password_command_ends_the_users_sessions(world):
    from typer.testing import CliRunner

    from claimwatch.cli import app as cli

    tenant = world.tenant()
    world.user("wang.adj", Role.ADJUSTER, tenant)
    client = TestClient(shared_app())
    sign_in(client, "wang.adj")
    changed = CliRunner().invoke(cli, ["user", "password", "wang.adj"], input="a-new-long-password\n" * 2)
    assert changed.exit_code == 0, changed.output
    assert client.get("/api/v1/claims").status_code == 401
    sign_in(client, "wang.adj", "a-new-long-password")
    assert client.get("/api/v1/claims").status_code == 200
    unknown = CliRunner().invoke(cli, ["user", "password", "nobody"], input="x-long-password\n" * 2)
    assert unknown.exit_code != 0 and "no user 'nobody'" in unknown.output
