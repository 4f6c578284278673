"""The quality committee (and the special reports of an alert and an action, which share its data): the
agenda of a month lists each of its sources (red KPI, alert, overdue rectification,
overdue action, major complaint, proposed sanction) from a small data set; a decision ``action_raised`` raises
an improvement action linked back to the decision; closing with undecided items is refused naming them;
another insurer gets 404. The browser walk is in test_committee_browser.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.actions import service as actions_service
from claimwatch.actions.models import ImprovementAction
from claimwatch.audit.models import AuditEntry
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.committee import service
from claimwatch.complaints import intake as complaints_intake
from claimwatch.complaints import schemas as complaint_schemas
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict, NotFound
from claimwatch.kpi import alerts as kpi_alerts
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi import snapshot
from claimwatch.kpi.engine import Period, Scope
from claimwatch.kpi.models import QualityAlert
from claimwatch.kpi.service import OpenSnapshot
from claimwatch.rectification import service as rectification_service
from claimwatch.reports.builder import run_sections
from claimwatch.reports.sections.base import ReportContext
from claimwatch.sanctions import service as sanctions_service
from claimwatch.tenancy.service import platform_zone
from tests.apps import shared_app
from tests.factories import TenantHandle, World, reported

CST = dt.timezone(dt.timedelta(hours=8))
GENERATED_AT = dt.datetime(2026, 11, 5, 12, 0, tzinfo=CST)
LIMITS = kpi_alerts.Limits(0.9, 0.6, 1.0)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CST)


@pytest.fixture(autouse=True)
def snapshot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "snapshot"
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@dataclass(frozen=True)
class Committee:
    acme: TenantHandle
    bbb: TenantHandle
    qm: str
    owner: str
    inspector: str
    bbb_qm: str

    def principal(self, username: str) -> Principal:
        with unit_of_work(TenantContext.system_reader()) as session:
            user = auth_repository.user_by_username(session, username)
            assert user is not None
            return auth_service.principal_for_user(user, session)


def _people(world: World) -> Committee:
    acme, bbb = world.tenant("ACME", "示例保险"), world.tenant("BBB", "另一保险")
    return Committee(
        acme=acme,
        bbb=bbb,
        qm=world.user("qian.qm", Role.QUALITY_MANAGER, acme),
        owner=world.user("wang.supervisor", Role.SUPERVISOR, acme),
        inspector=world.user("zhou.inspector", Role.INSPECTOR, acme),
        bbb_qm=world.user("zhao.qm", Role.QUALITY_MANAGER, bbb),
    )


def _propose_sanction(c: Committee, source_id: int) -> str:
    with unit_of_work(TenantContext.for_tenant(c.acme.id)) as session:
        sanction = sanctions_service.propose(
            session,
            c.principal(c.inspector),
            violation_code="MATERIALS_NOTICE",
            user_id=c.principal(c.owner).user_id,
            party=None,
            source_kind="inspection_finding",
            source_id=source_id,
            source_label=f"F-2026-00000{source_id}",
            source_url=f"/inspections/findings/{source_id}",
            reason="未一次性告知",
            at=local(2026, 10, 20, 10),
        )
        return sanction.number


def _sources(c: Committee) -> int:
    """One of each agenda source in October 2026 (the agenda is generated on 2026-11-05)."""
    client = TestClient(shared_app())
    # An open claim reported in October: closure rate 0 % → red.
    event = reported("c-1", "CLM-C-1") | {"occurred_at": local(2026, 10, 10, 9).isoformat()}
    sent = client.post("/api/v1/events", json={"events": [event]}, headers={"X-API-Key": c.acme.api_key})
    assert sent.status_code == 201, sent.text
    kpi = kpi_loader.by_code()["closure_rate"]
    qm, owner = c.principal(c.qm), c.principal(c.owner)
    with unit_of_work(TenantContext.for_tenant(c.acme.id)) as session:
        findings = [
            kpi_alerts.Finding(
                c.acme.id, kpi, "region", code, name, "2026-10", 0.0, kpi_alerts.Limits(0.9, 0.6, 1.0), 0, 40
            )
            for code, name in (("440000", "广东"), ("310000", "上海"))
        ]
        kpi_alerts.record(session, c.acme.id, findings, kpi_alerts.Evaluation())
        acted_on = session.execute(select(QualityAlert.id).where(QualityAlert.unit_key == "440000")).scalar_one()
        rectification_service.open_rectification(
            session,
            c.acme.id,
            source_kind="regulator_finding",
            source_id=7,
            source_label="监管检查 7",
            source_url="/rectifications",
            title="理赔材料一次性告知不到位",
            severity="major",
            owner_org_unit_id=None,
            owner_user_id=owner.user_id,
            actor=qm.actor,
            at=local(2026, 9, 20, 10),
        )
        actions_service.raise_action(
            session,
            qm,
            source_kind="alert",
            source_id=acted_on,
            title="缩短小额案件审核环节",
            problem="小额案件审核环节过多",
            owner_user_id=owner.user_id or 0,
            due_on=dt.date(2026, 10, 15),
            at=local(2026, 10, 1, 9),
        )
        body = {
            "channel": "hotline",
            "received_at": local(2026, 10, 12, 10),
            "complainant": {"name": "李四", "phone": "13900001111"},
            "category": "claims",
            "sub_cause": "delay",
            "subject": "媒体曝光理赔拖延",
            "description": "报案一个月了还没有赔付。",
            "major_reasons": ["media"],
        }
        complaints_intake.create_complaint(session, owner, complaint_schemas.ComplaintIn.model_validate(body))
    _propose_sanction(c, 1)
    snapshot.take_snapshot(now=GENERATED_AT)
    return acted_on


def _audit_kinds(tenant_id: int) -> list[str]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return list(
            session.execute(
                select(AuditEntry.kind).where(AuditEntry.kind.like("committee.%")).order_by(AuditEntry.seq)
            ).scalars()
        )


def test_agenda_decision_raises_an_action_and_closing_needs_every_decision(world: World) -> None:
    c = _people(world)
    acted_on = _sources(c)
    qm = c.principal(c.qm)
    with unit_of_work(TenantContext.for_tenant(c.acme.id)) as session:
        meeting = service.generate_agenda(session, qm, "2026-10", at=GENERATED_AT)
        meeting_id = meeting.id
        assert meeting.kpi_period == "2026-10"
        items = service.items_with_decisions(session, meeting)
        kinds = {i.kind for i, _ in items}
        assert kinds == set(service.KINDS)
        refs = {(i.kind, i.source_ref) for i, _ in items}
        assert ("red_kpi", "closure_rate") in refs
        assert any(i.kind == "major_complaint" and "媒体曝光" in i.label for i, _ in items)
        # The alert an action was raised from is no longer open; the other is on the agenda.
        assert [i.label for i, _ in items if i.kind == "alert"] == ["结案率 · 上海"]
    # Regenerating adds nothing twice.
    with unit_of_work(TenantContext.for_tenant(c.acme.id)) as session:
        again = service.generate_agenda(session, qm, "2026-10", at=GENERATED_AT)
        assert again.id == meeting_id
        agenda = [i for i, _ in service.items_with_decisions(session, again)]
        assert len(agenda) == len(refs)
        red = next(i for i in agenda if i.kind == "red_kpi" and i.source_ref == "closure_rate")
        others = [i for i in agenda if i.id != red.id]
    owner = c.principal(c.owner)
    due = dt.datetime.now(CST).date() + dt.timedelta(days=30)
    with unit_of_work(TenantContext.for_tenant(c.acme.id)) as session:
        decision = service.record_decision(
            session,
            qm,
            red.id,
            decision="action_raised",
            text="由理赔部牵头提升结案率",
            raise_action=service.ActionDraft(title="提升十月结案率", owner_user_id=owner.user_id, due_on=due),
        )
        decision_id, action_id = decision.id, decision.action_id
    assert action_id is not None
    with unit_of_work(TenantContext.for_tenant(c.acme.id)) as session:
        action = session.get(ImprovementAction, action_id)
        assert action is not None
        assert (action.source_kind, action.source_id, action.kpi_code) == ("committee", decision_id, "closure_rate")
        assert action.owner_user_id == owner.user_id
    # Closing with undecided items: refused, naming them; nothing changes.
    with pytest.raises(Conflict) as refused, unit_of_work(TenantContext.for_tenant(c.acme.id)) as session:
        service.close_minutes(session, qm, meeting_id)
    assert refused.value.field == "items"
    assert all(i.label in refused.value.message for i in others)
    # Another insurer: 404 on the meeting and on an item, over the API.
    client = TestClient(shared_app())
    bbb = {"X-API-Key": world.api_key(c.bbb, Role.QUALITY_MANAGER)}
    assert client.get("/api/v1/committee/meetings/2026-10", headers=bbb).status_code == 404
    foreign = client.post(
        f"/api/v1/committee/items/{others[0].id}/decision", json={"decision": "noted", "text": "x"}, headers=bbb
    )
    assert foreign.status_code == 404, foreign.text
    acme = {"X-API-Key": world.api_key(c.acme, Role.QUALITY_MANAGER)}
    shown = client.get("/api/v1/committee/meetings/2026-10", headers=acme)
    assert shown.status_code == 200 and len(shown.json()["items"]) == len(agenda)
    future = client.post("/api/v1/committee/meetings", json={"month": "2099-01"}, headers=acme)
    assert future.status_code == 422 and future.json()["problems"][0]["field"] == "month", future.text
    for item in others:
        with unit_of_work(TenantContext.for_tenant(c.acme.id)) as session:
            service.record_decision(session, qm, item.id, decision="noted", text="已知悉")
    with unit_of_work(TenantContext.for_tenant(c.acme.id)) as session:
        closed = service.close_minutes(session, qm, meeting_id)
        assert closed.status == "closed"
    with pytest.raises(Conflict), unit_of_work(TenantContext.for_tenant(c.acme.id)) as session:
        service.generate_agenda(session, qm, "2026-10", at=GENERATED_AT)
    _special_reports(c, acted_on, action_id)
    kinds_audited = _audit_kinds(c.acme.id)
    assert kinds_audited.count("committee.agenda") == 2
    assert kinds_audited.count("committee.decision") == len(agenda)
    assert kinds_audited[-1] == "committee.closed"


def _report_context(session: Session, snap: OpenSnapshot, tenant_id: int, kind: str, subject_id: int) -> ReportContext:
    return ReportContext(
        session=session,
        tenant_id=tenant_id,
        period=Period.parse("2026-10"),
        locale="zh",
        zone=platform_zone(),
        snap=snap,
        scope=Scope(tenant_ids=(tenant_id,)),
        kind=kind,
        subject_id=subject_id,
        now=GENERATED_AT,
        tenant_label="示例保险",
    )


def _special_reports(c: Committee, alert_id: int, action_id: int) -> None:
    """The special reports (专项报告) of the alert acted on and of the action the committee raised; another
    insurer's alert or action is not found."""
    with unit_of_work(TenantContext.for_tenant(c.acme.id)) as session, kpi_service.opened() as snap:
        run = run_sections(_report_context(session, snap, c.acme.id, "special_alert", alert_id))
        keys = [s.key for s in run.sections]
        assert keys == ["special_alert", "special_alert_unit", "special_alert_inspection", "special_alert_actions"]
        overview = run.sections[0]
        assert "<svg" in overview.charts["pchart"] and "广东" in overview.charts["pchart"]
        months = [row[0] for row in overview.data["tables"][0]["rows"]]
        assert len(months) == 12 and months[-1] == "2026-10"
        assert "缩短小额案件审核环节" in str(run.sections[3].data["tables"][0]["rows"])
        acted = run_sections(_report_context(session, snap, c.acme.id, "special_action", action_id))
        assert [s.key for s in acted.sections] == ["special_action", "special_action_check"]
        assert "由理赔部牵头提升结案率" in "".join(acted.sections[0].data["paragraphs"])
    with unit_of_work(TenantContext.for_tenant(c.bbb.id)) as session, kpi_service.opened() as snap:
        for kind, subject_id in (("special_alert", alert_id), ("special_action", action_id)):
            with pytest.raises(NotFound):
                run_sections(_report_context(session, snap, c.bbb.id, kind, subject_id))
