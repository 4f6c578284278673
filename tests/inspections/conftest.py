"""An insurer with org units, inspectors, adjusters, claims of November 2026 and a few complaints, made through
the real services; plans are drawn against it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.cases.schemas import EventIn
from claimwatch.complaints import intake as complaints_intake
from claimwatch.complaints import schemas as complaint_schemas
from claimwatch.complaints import service as complaints_service
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.inspections import service
from claimwatch.inspections.models import Inspection, InspectionDraw
from claimwatch.inspections.schemas import PlanDefinition
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from tests.factories import PASSWORD, TenantHandle, World
from tests.snapshots import Snapshot

CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=CST)
PATH_TO_CLOSED = ["accepted", "initial_review", "assessment", "verification", "approval", "payment", "closed"]


def when(day: int, hour: int = 9) -> str:
    return dt.datetime(2026, 11, day, hour, 0, tzinfo=CST).isoformat()


class Bureau:
    """ACME: HQ ⊃ B1 (广东, 440000) ⊃ B1-SZ; HQ ⊃ SH (上海, 310000). Inspectors: ``insp.hq`` (no unit),
    ``insp.gd`` (B1), ``insp.sh`` (SH; once an adjuster: the actor of an event on claim C0003). Adjusters
    ``adj.gd`` (B1) and ``adj.sh`` (SH) handle claims. Quality manager ``acme.qm``."""

    def __init__(self, world: World, code: str = "ACME") -> None:
        self.world = world
        self.code = code
        self.tenant: TenantHandle = world.tenant(code)
        with self.session() as session:
            tenancy_service.add_org_unit(
                session, tenant_id=self.tenant.id, code=f"{code}-SH", name="上海分公司",
                parent_code=f"{code}-HQ", region_code="310000",
            )  # fmt: skip
            tenancy_service.add_org_unit(
                session, tenant_id=self.tenant.id, code=f"{code}-B1-SZ", name="深圳支公司",
                parent_code=f"{code}-B1", region_code="440000",
            )  # fmt: skip
            units = tenancy_repository.org_ids_by_code(session)
        self.units = units
        prefix = code.lower()
        self.qm = self.user(f"{prefix}.qm", Role.QUALITY_MANAGER)
        self.user(f"{prefix}.insp.hq", Role.INSPECTOR)
        self.user(f"{prefix}.insp.gd", Role.INSPECTOR, f"{code}-B1")
        self.user(f"{prefix}.insp.sh", Role.INSPECTOR, f"{code}-SH")
        self.user(f"{prefix}.adj.gd", Role.ADJUSTER, f"{code}-B1")
        self.user(f"{prefix}.adj.sh", Role.ADJUSTER, f"{code}-SH")
        self.supervisor = self.user(f"{prefix}.sup", Role.SUPERVISOR)

    # -- people and sessions --------------------------------------------------------------------------

    def user(self, username: str, role: Role, unit: str | None = None) -> Principal:
        with unit_of_work(TenantContext.for_tenant(self.tenant.id)) as session:
            user = auth_service.create_user(
                session, username=username, password=PASSWORD, role=role, tenant_id=self.tenant.id,
                display_name=username, org_unit_id=self.units[unit] if unit else None,
            )  # fmt: skip
            return auth_service.principal_for_user(user)

    def user_id(self, username: str) -> int:
        with unit_of_work(TenantContext.system_context()) as session:
            user = auth_repository.user_by_username(session, username)
            assert user is not None
            return user.id

    @contextmanager
    def session(self) -> Iterator[Session]:
        with unit_of_work(TenantContext.for_tenant(self.tenant.id)) as session:
            yield session

    # -- records --------------------------------------------------------------------------------------

    def claims(self, specs: list[dict[str, Any]]) -> list[str]:
        """One claim per spec: line, org, amount, day, and optionally assignee, end (closed | rejected),
        actor (of its acceptance)."""
        events: list[dict[str, Any]] = []
        numbers = []
        for index, spec in enumerate(specs, start=1):
            number = spec.get("number", f"{self.code}-C{index:04d}")
            numbers.append(number)
            day = spec.get("day", 2 + index % 20)
            report = {
                "line": spec.get("line", "motor"), "policy_number": f"P-{number}",
                "org_code": f"{self.code}-{spec.get('org', 'B1')}", "region_code": spec.get("region", "440000"),
                "claimant": {"name": "张三", "phone": "13812345678"}, "reported_amount": spec.get("amount", "3000.00"),
            }  # fmt: skip
            events.append(
                {"event_id": f"{number}-r", "claim_number": number, "type": "reported",
                 "occurred_at": when(day, 9), "claim": report}
            )  # fmt: skip
            if spec.get("assignee"):
                events.append(
                    {"event_id": f"{number}-a", "claim_number": number, "type": "assigned",
                     "occurred_at": when(day, 10), "assignee": spec["assignee"]}
                )  # fmt: skip
            end = spec.get("end")
            if end:
                path = PATH_TO_CLOSED if end == "closed" else ["accepted", "initial_review", "rejected"]
                for step, status in enumerate(path):
                    event: dict[str, Any] = {
                        "event_id": f"{number}-t{step}", "claim_number": number, "type": "transition",
                        "to_status": status, "occurred_at": when(day, 11 + step),
                    }  # fmt: skip
                    if status == "rejected":
                        event["reason"] = "不属于保险责任"
                    if step == 0 and spec.get("actor"):
                        event["actor"] = spec["actor"]
                    events.append(event)
        api = Principal(role=Role.INTEGRATION, tenant_id=self.tenant.id, actor="api_key:core")
        with self.session() as session:
            acks = cases_service.ingest_events(session, api, [EventIn.model_validate(e) for e in events])
            assert all(ack.status != "rejected" for ack in acks), acks
        return numbers

    def complaints(self, count: int) -> list[str]:
        numbers = []
        handler = self.user(f"{self.code.lower()}.cs", Role.COMPLAINT_HANDLER, f"{self.code}-B1")
        for index in range(count):
            body = {
                "channel": "hotline" if index % 2 else "wechat",
                "received_at": dt.datetime(2026, 11, 3 + index, 10, tzinfo=CST),
                "org_code": f"{self.code}-B1",
                "complainant": {"name": "李四", "phone": "13900001111"},
                "category": "claims", "sub_cause": "delay", "subject": "理赔拖延",
                "description": "报案一个月了还没有赔付。",
            }  # fmt: skip
            with self.session() as session:
                complaint = complaints_intake.create_complaint(
                    session, handler, complaint_schemas.ComplaintIn.model_validate(body)
                )
                if index == 0:
                    complaints_service.accept(session, handler, complaint.number)
                numbers.append(complaint.number)
        return numbers

    # -- plans ----------------------------------------------------------------------------------------

    def plan(self, **fields: Any) -> int:
        body: dict[str, Any] = {
            "code": "P1", "name": "车险月度抽检", "subject_kind": "claim", "scorecard": "motor_claim",
            "population": {"period": "2026-11", "date_field": "reported", "line": "motor"},
            "method": "simple", "size": {"fixed": 4},
        }  # fmt: skip
        body.update(fields)
        with self.session() as session:
            return service.create_plan(session, self.qm, PlanDefinition.model_validate(body)).id

    def draw(self, plan_id: int, **options: Any) -> dict[str, Any]:
        options.setdefault("now", NOW)
        with self.session() as session:
            found = service.draw_sample(session, self.qm, plan_id, **options)
            return self.describe_draw(session, found.id)

    def describe_draw(self, session: Session, draw_id: int) -> dict[str, Any]:
        found = session.execute(select(InspectionDraw).where(InspectionDraw.id == draw_id)).scalar_one()
        rows = session.execute(select(Inspection).where(Inspection.draw_id == draw_id)).scalars().all()
        numbers = dict(session.execute(select(Claim.id, Claim.number)).all())
        return {
            "id": found.id, "seed": found.seed, "period": found.period, "population": found.population_count,
            "audit_seq": found.audit_seq, "strata": found.strata,
            "subjects": sorted(numbers.get(r.subject_id, str(r.subject_id)) for r in rows),
            "inspections": [
                {"subject": numbers.get(r.subject_id, str(r.subject_id)), "subject_id": r.subject_id,
                 "inspector_id": r.inspector_id, "org_unit_id": r.org_unit_id, "stratum": r.stratum,
                 "due_at": r.due_at, "handler_id": r.handler_id}
                for r in rows
            ],
        }  # fmt: skip


# 18 motor claims in November (B1 8, SH 6, B1-SZ 4) and 4 medical at SH; C0003 accepted by insp.sh's hand.
STANDARD = (
    [{"org": "B1", "amount": f"{1000 * (i + 1)}.00", "assignee": "acme.adj.gd" if i < 4 else None} for i in range(8)]
    + [{"org": "SH", "region": "310000", "amount": f"{5000 + 1000 * i}.00"} for i in range(6)]
    + [{"org": "B1-SZ", "amount": "800.00"} for _ in range(4)]
    + [{"org": "SH", "line": "medical", "region": "310000", "amount": "20000.00"} for _ in range(4)]
)


def standard_claims() -> list[dict[str, Any]]:
    specs = [dict(spec) for spec in STANDARD]
    specs[2].update(end="closed", actor="acme.insp.sh")
    specs[3].update(end="rejected", amount="60000.00")
    specs[9].update(end="rejected", amount="75000.00")
    specs[10].update(end="closed")
    return specs


@pytest.fixture
def bureau(world: World, db_snapshot: Snapshot) -> Bureau:
    found = db_snapshot("inspections.bureau", lambda: _build_bureau(world))
    found.world = world  # the test's own, not the builder's copy
    return found


def _build_bureau(world: World) -> Bureau:
    found = Bureau(world)
    found.claims(standard_claims())
    return found


@pytest.fixture
def client(database: Any) -> TestClient:
    from tests.apps import shared_app

    return TestClient(shared_app())
