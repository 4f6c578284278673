"""Post-issue revisits (新契约回访): scheduling at sale recording (message with a reply code, or a call task) and by
the worker, due within the cooling-off period; outcomes and their refusals; misled → a single-subject inspection
plan REVISIT-<policy>, a major finding against the agent and a revisit_misled flag on the sale; the customer's
reply through the API; overdue marking; KPIs; the inbox; role and tenant checks. One snapshot per database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role, User
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict, Invalid, NotFound
from claimwatch.inspections.models import Inspection, InspectionFinding, InspectionPlan
from claimwatch.notify.models import OutboxMessage
from claimwatch.people.models import StaffMember
from claimwatch.policies import revisit_jobs, revisit_queries, revisits, sales
from claimwatch.policies.models import PolicyRevisit, PolicySale, SaleFlag
from claimwatch.policies.sales_schemas import SaleIn
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.todo import registry
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.snapshots import Snapshot

NOW = dt.datetime(2026, 11, 5, 2, 0, tzinfo=dt.UTC)
SIGNED = dt.date(2026, 11, 2)
PHONE = "13812345678"


@dataclass(frozen=True)
class RevisitWorld:
    acme: TenantHandle
    bbb: TenantHandle
    revisits: dict[str, int]  # policy number -> revisit id
    users: dict[str, int]
    keys: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], "Accept-Language": "en"}


def principal(w: RevisitWorld, username: str, role: Role) -> Principal:
    return Principal(role=role, tenant_id=w.acme.id, actor=f"user:{username}", user_id=w.users.get(username))


def _sale(number: str, line: str, long_term: bool, phone: str | None = None) -> SaleIn:
    return SaleIn(
        policy_number=number, product_code=f"{line.upper()}-20", product_name=f"{line} 20年期", line=line,
        long_term=long_term, channel="agent", agent="A001", customer_name="王小明",
        customer_id_number="110105194912310021", customer_phone=phone,
        premium=Decimal("5000"), signed_on=SIGNED, disclosure_signed_on=SIGNED, recording_ref="rec/1",
        recording_sha256="a" * 64,
    )  # fmt: skip


def build(world: World) -> RevisitWorld:
    acme, bbb = world.tenant("ACME", "示例保险"), world.tenant("BBB", "另一保险")
    for name, role in (
        ("acme.qm", Role.QUALITY_MANAGER), ("acme.csr", Role.COMPLAINT_HANDLER), ("acme.insp", Role.INSPECTOR),
        ("acme.agent", Role.ADJUSTER), ("acme.adj", Role.ADJUSTER),
    ):  # fmt: skip
        world.user(name, role, acme)
    world.user("bbb.csr", Role.COMPLAINT_HANDLER, bbb)
    keys = {
        "csr": world.api_key(acme, Role.COMPLAINT_HANDLER),
        "adj": world.api_key(acme, Role.ADJUSTER),
        "integration": world.api_key(acme, Role.INTEGRATION),
        "bbb": world.api_key(bbb, Role.COMPLAINT_HANDLER),
    }
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        users = {u.username: u.id for u in session.scalars(select(User).where(User.tenant_id == acme.id))}
        branch = tenancy_repository.org_unit_by_code(session, "ACME-B1")
        assert branch is not None
        session.add(
            StaffMember(
                tenant_id=acme.id, code="A001", name="李代理", kind="agent", org_unit_id=branch.id,
                user_id=users["acme.agent"], hired_on=dt.date(2020, 1, 1),
            )
        )  # fmt: skip
        session.flush()
        qm = Principal(role=Role.QUALITY_MANAGER, tenant_id=acme.id, actor="user:acme.qm", user_id=users["acme.qm"])
        sales.record_sale(session, qm, _sale("P-MSG", "life", True, PHONE), now=NOW)
        for number in ("P-CALL1", "P-CALL2", "P-CALL3"):
            sales.record_sale(session, qm, _sale(number, "health", True), now=NOW)
        sales.record_sale(session, qm, _sale("P-MOTOR", "motor", False), now=NOW)
        found = {
            number: revisit_id
            for number, revisit_id in session.execute(
                select(PolicySale.policy_number, PolicyRevisit.id).join(
                    PolicyRevisit, PolicyRevisit.sale_id == PolicySale.id
                )
            )
        }
    return RevisitWorld(acme, bbb, found, users, keys)


@pytest.fixture
def w(world: World, db_snapshot: Snapshot) -> RevisitWorld:
    return db_snapshot("policies.revisits", lambda: build(world))


def _acme(w: RevisitWorld):  # noqa: ANN202 - the unit of work's context manager
    return unit_of_work(TenantContext.for_tenant(w.acme.id))


# -- settings: pure ----------------------------------------------------------------------------------------


def test_settings_errors_name_file_and_line() -> None:
    good = revisits.parse_settings("lines: [life]\nmargin_days: 2\n", "r.yaml")
    assert good.lines == ("life",) and good.margin_days == 2 and good.unreachable_after_attempts == 3
    for text, line, words in (
        ("lines: [life]\nmargin_days: -1\n", 2, "margin_days"),
        ("lines: []\n", 1, "lines"),
        ("lines: [life]\n\ncolour: red\n", 3, "unknown key"),
        ("unreachable_after_attempts: true\n", 1, "unreachable_after_attempts"),
    ):
        with pytest.raises(revisits.RevisitSettingsError) as caught:
            revisits.parse_settings(text, "r.yaml")
        assert str(caught.value).startswith(f"r.yaml:{line}:") and words in str(caught.value)
    assert revisits.default_settings().lines == ("life", "health")


# -- scheduling --------------------------------------------------------------------------------------------


def test_scheduled_at_recording_message_or_call(w: RevisitWorld) -> None:
    assert set(w.revisits) == {"P-MSG", "P-CALL1", "P-CALL2", "P-CALL3"}  # the motor policy has none
    with _acme(w) as session:
        message_revisit = session.get(PolicyRevisit, w.revisits["P-MSG"])
        call = session.get(PolicyRevisit, w.revisits["P-CALL1"])
        assert message_revisit is not None and call is not None
        assert call.channel == "call" and call.status == "due" and call.attempts == 0 and call.message_id is None
        assert call.due_on == SIGNED + dt.timedelta(days=15 - 3)  # within the cooling-off period
        assert message_revisit.channel == "message" and message_revisit.status == "in_progress"
        message = session.get(OutboxMessage, message_revisit.message_id)
        assert message is not None and message.channel == "sms" and message.reference == "P-MSG"
        assert revisits.reply_code(message_revisit) in message.body and PHONE not in message.body
        assert message.recipient_enc and PHONE not in message.recipient_enc
        sale = session.execute(select(PolicySale).where(PolicySale.policy_number == "P-MSG")).scalar_one()
        again = revisits.schedule_for_sale(session, sale, actor="test", customer_phone=PHONE, now=NOW)
        assert again is not None and again.id == message_revisit.id  # idempotent
        kinds = session.scalars(
            select(AuditEntry.kind).where(AuditEntry.kind.like("policies.revisit_%")).order_by(AuditEntry.seq)
        ).all()
        assert kinds.count("policies.revisit_scheduled") == 4


# -- outcomes ----------------------------------------------------------------------------------------------


def test_outcome_refusals_then_unreachable_after_attempts(w: RevisitWorld) -> None:
    csr = principal(w, "acme.csr", Role.COMPLAINT_HANDLER)
    revisit_id = w.revisits["P-CALL2"]
    with _acme(w) as session:
        for outcome, notes, field in (
            ("misled", "  ", "notes"),
            ("unreachable", None, "outcome"),
            ("gone", None, "outcome"),
        ):
            with pytest.raises(Invalid) as caught, session.begin_nested():
                revisits.record_outcome(session, csr, revisit_id, outcome=outcome, notes=notes, now=NOW)
            assert caught.value.field == field
        with pytest.raises(Exception) as refused:
            revisits.record_outcome(
                session, principal(w, "acme.adj", Role.ADJUSTER), revisit_id, outcome="understood", now=NOW
            )
        assert getattr(refused.value, "field", None) == "role"
        for _ in range(3):
            revisits.record_attempt(session, csr, revisit_id, notes="无人接听", now=NOW)
        done = revisits.record_outcome(session, csr, revisit_id, outcome="unreachable", now=NOW)
        assert (done.status, done.outcome, done.attempts, done.assignee_id) == (
            "done", "unreachable", 3, w.users["acme.csr"],
        )  # fmt: skip
        with pytest.raises(Conflict):
            revisits.record_outcome(session, csr, revisit_id, outcome="understood", now=NOW)


def test_misled_opens_a_finding_and_flags_the_sale(w: RevisitWorld) -> None:
    csr = principal(w, "acme.csr", Role.COMPLAINT_HANDLER)
    with _acme(w) as session:
        done = revisits.record_outcome(
            session, csr, w.revisits["P-CALL1"], outcome="misled", notes="客户称业务员承诺保本高收益", now=NOW
        )
        finding = session.get(InspectionFinding, done.finding_id)
        assert finding is not None and finding.severity == "major"
        assert finding.category == revisits.finding_category()
        assert finding.responsible_user_id == w.users["acme.agent"] and "保本高收益" in finding.description
        inspection = session.get(Inspection, finding.inspection_id)
        plan = session.get(InspectionPlan, inspection.plan_id) if inspection else None
        assert plan is not None and plan.code == "REVISIT-P-CALL1" and plan.source == "revisit"
        assert inspection is not None and inspection.subject_kind == "sale" and inspection.status == "in_progress"
        sale = session.execute(select(PolicySale).where(PolicySale.policy_number == "P-CALL1")).scalar_one()
        flag = session.execute(
            select(SaleFlag).where(SaleFlag.sale_id == sale.id, SaleFlag.rule == "revisit_misled")
        ).scalar_one()
        assert flag.status == "open" and flag.finding_id == finding.id and sale.flag_count >= 1
        kinds = set(session.scalars(select(AuditEntry.kind)))
        assert {"policies.revisit_outcome", "sales.flag_raised"} <= kinds
        zone = dt.UTC
        found = revisit_queries.kpis(session, zone, SIGNED, SIGNED + dt.timedelta(days=30))  # type: ignore[arg-type]
        assert found.total == 4 and found.done == 1 and found.within_cooling_off == 1
        assert found.misled_rate == 100.0 and found.by_agent[0].key == "A001" and found.by_agent[0].misled == 1


def test_overdue_and_missing_revisits_by_the_worker(w: RevisitWorld) -> None:
    with _acme(w) as session:
        sale = session.execute(select(PolicySale).where(PolicySale.policy_number == "P-CALL3")).scalar_one()
        session.delete(session.get(PolicyRevisit, w.revisits["P-CALL3"]))
        session.flush()
        assert revisits.for_sale(session, sale.id) is None
    later = NOW + dt.timedelta(days=20)
    result = revisit_jobs.run(tenant_code="ACME", now=later)
    assert result.scheduled == {"ACME": 1} and result.overdue == {"ACME": 4}
    with _acme(w) as session:
        statuses = set(session.scalars(select(PolicyRevisit.status)))
        assert statuses == {"overdue"}
    assert revisit_jobs.run(tenant_code="ACME", now=later).items == 0


# -- the API, the inbox ------------------------------------------------------------------------------------


def test_api_reply_roles_tenants_and_inbox(w: RevisitWorld, tmp_path: Path) -> None:
    client = TestClient(shared_app())
    if True:
        listed = client.get("/api/v1/revisits", headers=w.headers("csr"))
        assert listed.status_code == 200 and listed.json()["total"] == 4
        assert [i["policy_number"] for i in listed.json()["items"]][0] in w.revisits
        assert client.get("/api/v1/revisits", headers=w.headers("adj")).status_code == 403
        assert client.get(f"/api/v1/revisits/{w.revisits['P-MSG']}", headers=w.headers("bbb")).status_code == 404
        bad = client.post(
            f"/api/v1/revisits/{w.revisits['P-CALL2']}/outcome", json={"outcome": "misled"}, headers=w.headers("csr")
        )
        assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "notes"
        with _acme(w) as session:
            code = revisits.reply_code(revisits.get(session, w.revisits["P-MSG"]))
        number, check = code.split("-")
        forged = f"{number}-{'0000' if check != '0000' else '1111'}"
        wrong = client.post(
            "/api/v1/revisits/reply", json={"reply_code": forged, "answer": "1"}, headers=w.headers("integration")
        )
        assert wrong.status_code == 404
        replied = client.post(
            "/api/v1/revisits/reply", json={"reply_code": code, "answer": "1"}, headers=w.headers("integration")
        )
        assert replied.status_code == 200 and replied.json()["outcome"] == "understood"
        assert replied.json()["status"] == "done"
        kpis = client.get("/api/v1/revisits/kpis?due_from=2026-11-01&due_to=2026-11-30", headers=w.headers("csr"))
        assert kpis.status_code == 200 and kpis.json()["done"] == 1
    with _acme(w) as session:
        csr = principal(w, "acme.csr", Role.COMPLAINT_HANDLER)
        source = registry.source(csr, "revisits")
        page = source.fetch(session, csr, "zh", NOW, 10, 0)
        assert page.count == 3 and {i.key for i in page.items} == {
            f"revisit-{w.revisits[n]}" for n in ("P-CALL1", "P-CALL2", "P-CALL3")
        }
        with pytest.raises(NotFound):
            revisits.revisit_by_reply_code(session, w.acme.id, "999-ABCD")
