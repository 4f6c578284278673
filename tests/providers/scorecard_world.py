"""The scorecard and KPI tests' world (h4), one per module and dialect. Two insurers:

- ACME: claims C1, C2 (motor, 440000); providers APP-1 and APP-2 (appraisal agencies serving 440000: peers),
  REP-1 (repair shop, credit code SHARED). October 2026 (tenant local): APP-1 has 6 tasks due with a verdict,
  3 on time and standard, 3 late (one of its reports with an upheld dispute, one with a rejected one) and a
  complaint naming it; APP-2 has 5, all on time and standard; REP-1 has 2, both late; a cancelled APP-2 task.
- BETA: claim Z1; REP-9, the same repair shop (credit code SHARED), 2 tasks late.

Tasks are written as rows (the verdicts as the task service would have set them): these tests judge the
figures, not the sending.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from claimwatch import db
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.complaints import intake
from claimwatch.complaints import terms as complaint_terms
from claimwatch.complaints.schemas import ComplaintIn
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.providers import service as register
from claimwatch.providers.models import ProviderTask, TaskDispute
from claimwatch.providers.schemas import ProviderIn
from tests.apps import shared_app
from tests.factories import TenantHandle, World, reported
from tests.reports.helpers import module_database

CST = dt.timezone(dt.timedelta(hours=8))
PERIOD = "2026-10"
SENT = dt.datetime(2026, 10, 12, 10, 0, tzinfo=CST)  # a working Monday
ON_TIME_REPORT = dt.datetime(2026, 10, 14, 10, 0, tzinfo=CST)  # two working days later
DUE = dt.datetime(2026, 10, 19, 0, 0, tzinfo=CST)
LATE_REPORT = dt.datetime(2026, 10, 21, 10, 0, tzinfo=CST)
SHARED = "91440300" + "MA5FXXXX"  # 16 characters: + one more and the check character below


def credit_code() -> str:
    first17 = SHARED + "1"
    return first17 + register.credit_check_char(first17)


@dataclass
class ScorecardWorld:
    client: TestClient
    world: World
    acme: TenantHandle
    beta: TenantHandle
    provider_ids: dict[str, int] = field(default_factory=dict)
    task_ids: dict[str, list[int]] = field(default_factory=dict)

    def principal(self, role: Role = Role.QUALITY_MANAGER, tenant: TenantHandle | None = None) -> Principal:
        tenant = tenant or self.acme
        return Principal(role=role, tenant_id=tenant.id, actor=f"user:{tenant.code.lower()}.{role.value}")

    def session(self, tenant: TenantHandle | None = None):
        return unit_of_work(TenantContext.for_tenant((tenant or self.acme).id))


def _ingest(client: TestClient, tenant: TenantHandle, numbers: list[str]) -> None:
    events = [reported(f"{n}-r", n, org_code=tenant.branch_code) for n in numbers]
    response = client.post("/api/v1/events", json={"events": events}, headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 201, response.text


_numbers = itertools.count(1)


def _tasks(
    sw: ScorecardWorld,
    tenant: TenantHandle,
    code: str,
    claim: str,
    count: int,
    *,
    on_time: bool,
    cancelled: bool = False,
) -> None:
    with sw.session(tenant) as session:
        claim_row = cases_service.get_claim(session, claim)
        for _ in range(count):
            task = ProviderTask(
                tenant_id=tenant.id,
                number=f"PT-202610-{next(_numbers):05d}",
                claim_id=claim_row.id,
                provider_id=sw.provider_ids[f"{tenant.code}:{code}"],
                kind="repair_estimate" if code.startswith("REP") else "appraisal",
                status="cancelled" if cancelled else "reported",
                region_code=claim_row.region_code,
                line=claim_row.line,
                sent_at=SENT,
                sent_by="user:test",
                documents=[],
                standard_documents=True,
                level_days=5,
                level_unit="working_days",
                due_at=DUE,
                reported_at=None if cancelled else (ON_TIME_REPORT if on_time else LATE_REPORT),
                on_time=None if cancelled else on_time,
                standard=None if cancelled else on_time,
                standard_reasons=[] if on_time else ["late"],
            )
            session.add(task)
            session.flush()
            sw.task_ids.setdefault(f"{tenant.code}:{code}", []).append(task.id)


def build(world: World, client: TestClient) -> ScorecardWorld:
    acme, beta = world.tenant("ACME", "示例保险"), world.tenant("BETA", "另一保险")
    sw = ScorecardWorld(client, world, acme, beta)
    world.user("acme.qm", Role.QUALITY_MANAGER, acme)
    world.user("acme.adj", Role.ADJUSTER, acme)
    world.user("cbirc", Role.REGULATOR, None)
    _ingest(client, acme, ["C1", "C2"])
    _ingest(client, beta, ["Z1"])
    for tenant, entries in (
        (
            acme,
            [
                ("APP-1", "甲鉴定所", "appraisal_agency", None),
                ("APP-2", "乙鉴定所", "appraisal_agency", None),
                ("REP-1", "快修汽修厂", "repair_shop", credit_code()),
            ],
        ),
        (beta, [("REP-9", "快修汽修厂", "repair_shop", credit_code())]),
    ):
        with sw.session(tenant) as session:
            admin = sw.principal(Role.ADMIN, tenant)
            for code, name, kind, credit in entries:
                data = ProviderIn(code=code, name=name, kind=kind, credit_code=credit, regions=["440000"])
                sw.provider_ids[f"{tenant.code}:{code}"] = register.register(session, admin, data).id
    _tasks(sw, acme, "APP-1", "C1", 3, on_time=True)
    _tasks(sw, acme, "APP-1", "C1", 3, on_time=False)
    _tasks(sw, acme, "APP-2", "C2", 5, on_time=True)
    _tasks(sw, acme, "APP-2", "C2", 1, on_time=True, cancelled=True)
    _tasks(sw, acme, "REP-1", "C2", 2, on_time=False)
    _tasks(sw, beta, "REP-9", "Z1", 2, on_time=False)
    with sw.session() as session:
        first, second = sw.task_ids["ACME:APP-1"][:2]
        for task_id, outcome in ((first, "upheld"), (second, "rejected")):
            session.add(
                TaskDispute(
                    tenant_id=acme.id,
                    task_id=task_id,
                    raised_by_kind="claimant",
                    raised_by="claimant",
                    reason="金额有误",
                    raised_at=LATE_REPORT,
                    outcome=outcome,
                    resolved_by="user:test",
                    resolved_at=LATE_REPORT,
                )
            )
        intake.create_complaint(
            session,
            sw.principal(Role.COMPLAINT_HANDLER),
            ComplaintIn(
                channel="hotline",
                received_at=dt.datetime(2026, 10, 20, 9, 0, tzinfo=CST),
                claim_number="C1",
                category="claims",
                subject="鉴定所拖延",
                description="甲鉴定所迟迟不出鉴定报告",
                provider_code="APP-1",
            ),
        )
    return sw


@pytest.fixture(scope="module", params=["sqlite", "postgresql"], name="scorecard_world")
def scorecard_world_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[ScorecardWorld]:
    tmp = tmp_path_factory.mktemp(f"providers-h4-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp / "snapshot"))
        get_settings.cache_clear()
        db.configure(url)
        world = World(url)
        # The complaint's keywords need jieba's dictionary (seconds to load, once per process): not what this
        # world is about.
        patch.setattr(complaint_terms, "stored_terms", lambda *texts: "")
        built = build(world, TestClient(shared_app()))
        yield built
    get_settings.cache_clear()
    for _ in databases:
        pass
