"""The provider-facing tests' world (h3: test_provider_api.py, test_provider_isolation.py), one per module and
dialect: two insurers, ACME and BBB, each with a claim and the same provider code ``APP-1`` (another insurer's
APP-1 is another provider); ACME also has ``APP-2``. Tasks are sent through the staff service, providers and
keys made through the register's service: the same paths the API and CLI use."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from claimwatch import db
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.providers import service as register
from claimwatch.providers import task_service
from claimwatch.providers.schemas import ProviderIn
from tests.apps import shared_app
from tests.factories import TenantHandle, World, reported
from tests.reports.helpers import module_database

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@dataclass
class PortalWorld:
    client: TestClient
    world: World
    acme: TenantHandle
    bbb: TenantHandle
    keys: dict[str, str] = field(default_factory=dict)  # "ACME:APP-1" → its provider key
    tasks: dict[str, str] = field(default_factory=dict)  # a name in the test → the task number
    claims: dict[str, str] = field(default_factory=dict)  # tenant code → its claim number

    def admin(self, tenant: TenantHandle) -> Principal:
        return Principal(role=Role.ADMIN, tenant_id=tenant.id, actor=f"user:{tenant.code.lower()}.admin")

    def send(self, tenant: TenantHandle, provider: str, name: str, *, kind: str = "appraisal", **kw: object) -> str:
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            task = task_service.send_task(
                session,
                self.admin(tenant),
                claim_number=self.claims[tenant.code],
                provider_code=provider,
                kind=kind,
                **kw,  # type: ignore[arg-type]
            )
            self.tasks[name] = task.number
        return self.tasks[name]

    def headers(self, provider: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[provider]}


def _provider(session: object, admin: Principal, code: str, kind: str = "appraisal_agency") -> None:
    data = ProviderIn(code=code, name=f"{code} 鉴定所", kind=kind, contact_email=f"{code.lower()}@example.cn")
    register.register(session, admin, data)  # type: ignore[arg-type]


def build(world: World, client: TestClient) -> PortalWorld:
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    pw = PortalWorld(client, world, acme, bbb)
    for tenant, number in ((acme, "ACME-C1"), (bbb, "BBB-C1")):
        event = reported(f"{number}-r", number, claimant={"name": "李四光", "phone": "13912345678"})
        response = client.post("/api/v1/events", json={"events": [event]}, headers={"X-API-Key": tenant.api_key})
        assert response.status_code == 201, response.text
        pw.claims[tenant.code] = number
        codes = ("APP-1", "APP-2") if tenant is acme else ("APP-1",)
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            admin = pw.admin(tenant)
            for code in codes:
                _provider(session, admin, code)
                pw.keys[f"{tenant.code}:{code}"] = register.issue_key(session, admin, code)
            register.add_contract(
                session,
                admin,
                "APP-1",
                f"{tenant.code}-K1",
                dt.date(2026, 1, 1),
                None,
                "FEE-1",
                {"appraisal": (10, "working_days")},
            )
    return pw


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def _portal_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[str, Path, PortalWorld]]:
    """One world per dialect for both modules (the suite's time budget): built once, its database kept for the
    session. Each module's :func:`portal_world` points the app at it again (other modules configure theirs)."""
    tmp = tmp_path_factory.mktemp(f"providers-h3-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    with _configured(url, tmp / "documents"):
        world = World(url)
        built = build(world, TestClient(shared_app()))
    yield url, tmp / "documents", built
    for _ in databases:
        pass


@contextlib.contextmanager
def _configured(url: str, documents: Path) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(documents))
        get_settings.cache_clear()
        db.configure(url)
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def portal_world(_portal_database: tuple[str, Path, PortalWorld]) -> Iterator[PortalWorld]:
    url, documents, built = _portal_database
    with _configured(url, documents):
        yield built
