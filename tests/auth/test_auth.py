from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from claimwatch import db
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from tests.apps import shared_app
from tests.factories import PASSWORD


def test_password_is_stored_as_argon2_and_checked(world):
    tenant = world.tenant()
    world.user("wang.qm", Role.QUALITY_MANAGER, tenant)
    with db.get_engine().connect() as conn:
        stored = conn.execute(text("select password_hash from users where username = 'wang.qm'")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with unit_of_work(TenantContext.system_context()) as session:
        principal = auth_service.authenticate(session, "wang.qm", PASSWORD)
        assert principal is not None
        assert principal.role is Role.QUALITY_MANAGER and principal.tenant_id == tenant.id
        assert principal.actor == "user:wang.qm"
        assert auth_service.authenticate(session, "wang.qm", "wrong-password") is None
        assert auth_service.authenticate(session, "nobody", PASSWORD) is None


def test_account_rules(world):
    tenant = world.tenant()
    with unit_of_work(TenantContext.system_context()) as session:
        with pytest.raises(auth_service.AuthError, match="at least 8 characters"):
            auth_service.create_user(session, username="x", password="short", role=Role.ADMIN, tenant_id=tenant.id)
        with pytest.raises(auth_service.AuthError, match="regulator account belongs to no tenant"):
            auth_service.create_user(session, username="r", password=PASSWORD, role=Role.REGULATOR, tenant_id=tenant.id)
        with pytest.raises(auth_service.AuthError, match="needs a tenant"):
            auth_service.create_user(session, username="a", password=PASSWORD, role=Role.ADJUSTER, tenant_id=None)


def test_api_key_secret_is_not_stored_and_revocation_works(world):
    tenant = world.tenant()
    key = world.api_key(tenant, Role.INTEGRATION)
    secret = key.split("_", 2)[2]
    with db.get_engine().connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(text("select * from api_keys")) for v in row)
    assert secret not in stored
    client = TestClient(shared_app())
    assert client.get("/api/v1/claims", headers={"X-API-Key": key}).status_code == 200
    assert client.get("/api/v1/claims", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    prefix = key.split("_")[1]
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        auth_service.revoke_api_key(session, tenant_id=tenant.id, prefix=prefix, actor="test")
    assert client.get("/api/v1/claims", headers={"X-API-Key": key}).status_code == 401


def test_audit_verify_endpoint_roles(world):
    tenant = world.tenant()
    client = TestClient(shared_app())
    integration = client.get("/api/v1/audit/verify", headers={"X-API-Key": tenant.api_key})
    assert integration.status_code == 403
    qm_key = world.api_key(tenant, Role.QUALITY_MANAGER)
    report = client.get("/api/v1/audit/verify", headers={"X-API-Key": qm_key}).json()
    assert report["ok"] is True and report["tenant_id"] == tenant.id and report["entries_checked"] >= 8


def test_regulator_session_sees_every_tenant_read_only(world):
    a = world.tenant("AAA")
    world.tenant("BBB")
    world.user("cbirc.gd", Role.REGULATOR, None)
    client = TestClient(shared_app())
    from tests.factories import reported

    assert client.post("/api/v1/events", json=reported("r", "A-1"), headers={"X-API-Key": a.api_key}).status_code == 201
    with unit_of_work(TenantContext.system_context()) as session:
        principal = auth_service.authenticate(session, "cbirc.gd", PASSWORD)
    assert principal is not None and principal.context() == TenantContext.regulator()
    from claimwatch.auth.principal import Permission

    assert principal.can(Permission.VIEW_CLAIMS) and principal.can(Permission.VERIFY_AUDIT)
    assert not principal.can(Permission.INGEST_EVENTS)


def test_regulator_reads_a_claim_only_with_its_tenant(world):
    from claimwatch.web.security import CSRF_FIELD
    from tests.factories import reported

    a = world.tenant("AAA")
    b = world.tenant("BBB")
    world.user("cbirc.sh", Role.REGULATOR, None)
    client = TestClient(shared_app())
    for tenant in (a, b):
        body = reported("r", "SAME-1", amount="100.00" if tenant is a else "200.00")
        assert client.post("/api/v1/events", json=body, headers={"X-API-Key": tenant.api_key}).status_code == 201
    login = client.get("/login")
    token = login.text.split(f'name="{CSRF_FIELD}" value="')[1].split('"')[0]
    signed_in = client.post(
        "/login", data={"username": "cbirc.sh", "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert signed_in.status_code == 303
    ambiguous = client.get("/api/v1/claims/SAME-1")
    assert ambiguous.status_code == 422 and "must name the tenant" in ambiguous.json()["detail"]
    claim_b = client.get("/api/v1/claims/SAME-1?tenant=BBB").json()["claim"]
    assert claim_b["reported_amount"] == "200.00"
    assert client.get("/api/v1/claims/SAME-1?tenant=NOPE").status_code == 404
    assert client.get("/api/v1/claims").json()["total"] == 2
