"""Training (issue 18, part 3) on one small world per dialect: courses, sessions and attendance with their
refusals (nothing written), the requirements of each person from the rules file and from a sanction's mandatory
training, coverage by org rolled up the tree, a remedial course completing the sanction's training (audited), the
API with its roles and tenants, the overdue notice to the manager (once) and the inbox. The pages (SQLite only)
render the same queries. The world is built once per dialect (db_snapshot)."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role, User
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Conflict, Invalid
from claimwatch.notify.models import StaffNotification
from claimwatch.people import training, training_jobs, training_work
from claimwatch.people.models import StaffMember, TrainingAttendance, TrainingSession
from claimwatch.people.training_schemas import AttendanceIn, CourseIn, SessionIn
from claimwatch.sanctions.models import MandatoryTraining, Violation
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.security import CSRF_FIELD
from tests.apps import shared_app
from tests.factories import PASSWORD, TenantHandle, World, local_today
from tests.snapshots import Snapshot

REMEDIAL_TOPIC = "理赔服务规范重点培训"


@dataclass(frozen=True)
class TrainingWorld:
    acme: TenantHandle
    bbb: TenantHandle
    keys: dict[str, str]
    sessions: dict[str, int]
    staff: dict[str, int]
    users: dict[str, int]

    def headers(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], "Accept-Language": "en"}


def admin(tenant: TenantHandle) -> Principal:
    return Principal(role=Role.ADMIN, tenant_id=tenant.id, actor="user:test.admin")


def _person(
    session: Session, tenant_id: int, code: str, name: str, kind: str, unit: str, hired: int, **extra: Any
) -> int:
    org = tenancy_repository.org_unit_by_code(session, unit)
    assert org is not None
    person = StaffMember(
        tenant_id=tenant_id, code=code, name=name, kind=kind, org_unit_id=org.id,
        hired_on=local_today() - dt.timedelta(days=hired), created_by="test", **extra,
    )  # fmt: skip
    session.add(person)
    session.flush()
    return person.id


def build(world: World) -> TrainingWorld:
    """ACME: HQ > 广东分公司 (B1) > 深圳支公司 (S1), and 江苏分公司 (B2). E1 (S1, a handler, managed by the
    supervisor) and A1 (S1, an agent with a sanction's training due in 10 days) are up to date; E2 (B1) was hired
    10 days ago (induction due); E3 (B2, hired 60 days ago) misses the induction: B2 is at 0 %."""
    acme, bbb = world.tenant("ACME", "示例保险"), world.tenant("BBB", "另一保险")
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        for code, name, parent in (("ACME-S1", "深圳支公司", "ACME-B1"), ("ACME-B2", "江苏分公司", "ACME-HQ")):
            tenancy_service.add_org_unit(
                session, tenant_id=acme.id, code=code, name=name, parent_code=parent, region_code=None
            )
    world.user("acme.qm", Role.QUALITY_MANAGER, acme)
    world.user("acme.adj", Role.ADJUSTER, acme)
    world.user("bbb.qm", Role.QUALITY_MANAGER, bbb)
    world.user("acme.sup", Role.SUPERVISOR, acme)
    keys = {
        "qm": world.api_key(acme, Role.QUALITY_MANAGER),
        "sup": world.api_key(acme, Role.SUPERVISOR),
        "adj": world.api_key(acme, Role.ADJUSTER),
        "bbb": world.api_key(bbb, Role.QUALITY_MANAGER),
    }
    boss = admin(acme)
    sessions: dict[str, int] = {}
    staff: dict[str, int] = {}
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        users = {u.username: u.id for u in session.execute(select(User)).scalars()}
        b2 = tenancy_repository.org_unit_by_code(session, "ACME-B2")
        session.get(User, users["acme.sup"]).org_unit_id = b2.id  # type: ignore[union-attr]
        staff["E1"] = _person(
            session, acme.id, "E1", "李理赔", "employee", "ACME-S1", 400,
            user_id=users["acme.adj"], manager_user_id=users["acme.sup"],
        )  # fmt: skip
        staff["A1"] = _person(session, acme.id, "A1", "陈代理", "agent", "ACME-S1", 400, job_title="销售代理")
        staff["E2"] = _person(session, acme.id, "E2", "王新人", "employee", "ACME-B1", 10)
        staff["E3"] = _person(session, acme.id, "E3", "赵逾期", "employee", "ACME-B2", 60)
        for code, title, kind, hours in (
            ("IND-STAFF", "新员工岗前培训", "induction", 8),
            ("IND-AGENT", "代理人岗前培训", "induction", 8),
            ("COMPLIANCE", "年度合规培训", "compliance", 4),
            ("SALES-CONDUCT", "销售行为规范", "product", 2),
            ("REM-1", REMEDIAL_TOPIC, "remedial", 3),
        ):
            training.create_course(session, boss, CourseIn(code=code, title=title, kind=kind, hours=hours))
        for name, course, days in (
            ("ind-old", "IND-STAFF", 390),
            ("ind-new", "IND-STAFF", 5),
            ("ind-agent", "IND-AGENT", 390),
            ("compliance", "COMPLIANCE", 30),
            ("sales", "SALES-CONDUCT", 30),
            ("remedial", "REM-1", 1),
        ):
            held = local_today() - dt.timedelta(days=days)
            sessions[name] = training.add_session(
                session, boss, SessionIn(course=course, held_on=held, trainer="培训部")
            ).id
        for name, code in (
            ("ind-old", "E1"),
            ("compliance", "E1"),
            ("ind-agent", "A1"),
            ("compliance", "A1"),
            ("sales", "A1"),
        ):
            training.record_attendance(session, boss, sessions[name], AttendanceIn(staff=code, passed=True))
        now = utc_now()
        violation = Violation(
            tenant_id=acme.id, number="V-2026-0001", code="SERVICE_RULES", severity="minor", party_kind="agent",
            party="A1", party_key="a1", source_kind="manual", source_id=1, source_label="手工登记", source_url="/",
            occurred_at=now, recorded_by="test",
        )  # fmt: skip
        session.add(violation)
        session.flush()
        session.add(
            MandatoryTraining(
                tenant_id=acme.id, violation_id=violation.id, party_kind="agent", party="A1", party_key="a1",
                topic=REMEDIAL_TOPIC, due_on=local_today() + dt.timedelta(days=10), recorded_at=now,
            )
        )  # fmt: skip
    with unit_of_work(TenantContext.for_tenant(bbb.id)) as session:
        training.create_course(
            session, admin(bbb), CourseIn(code="IND-STAFF", title="北方岗前", kind="induction", hours=4)
        )
    return TrainingWorld(acme, bbb, keys, sessions, staff, users)


@pytest.fixture
def tw(world: World, db_snapshot: Snapshot) -> TrainingWorld:
    return db_snapshot("people.training", lambda: build(world))


def _count(tenant: TenantHandle, model: type) -> int:
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _coverage(rows: list[training.OrgCoverage]) -> dict[str, tuple[int, int, float | None]]:
    return {r.code: (r.complete, r.required, r.coverage) for r in rows}


# -- the service -------------------------------------------------------------------------------------------


def test_requirements_coverage_refusals_and_remedial_completion(tw: TrainingWorld):
    boss = admin(tw.acme)
    with unit_of_work(TenantContext.for_tenant(tw.acme.id)) as session:
        people = {p.code: p for p in training.requirements(session, tw.acme.id, local_today())}
        assert {c: p.state for c, p in people.items()} == {
            "A1": "pending",  # everything done but the sanction's training, due in 10 days
            "E1": "complete",
            "E2": "pending",  # induction due 20 days from now
            "E3": "overdue",
        }
        a1 = {r.course: r for r in people["A1"].requirements}
        assert set(a1) == {"IND-AGENT", "COMPLIANCE", "SALES-CONDUCT", REMEDIAL_TOPIC}
        assert a1[REMEDIAL_TOPIC].source == "sanction" and a1[REMEDIAL_TOPIC].reference == "V-2026-0001"
        assert a1["COMPLIANCE"].next_due_on == training.add_months(local_today() - dt.timedelta(days=30), 12)
        e3 = {r.course: r for r in people["E3"].requirements}
        assert e3["IND-STAFF"].state == "overdue" and e3["IND-STAFF"].due_on == local_today() - dt.timedelta(days=30)
        assert e3["COMPLIANCE"].state == "due" and "IND-AGENT" not in e3
        this_year = (
            4.0 if (local_today() - dt.timedelta(days=30)).year == local_today().year else 0.0
        )  # the compliance course
        assert people["E1"].hours_this_year == this_year and people["E1"].hours_minimum == 24
        coverage = _coverage(training.coverage_by_org(session, tw.acme.id, local_today()))
        assert coverage["ACME-S1"] == (2, 2, 100.0) and coverage["ACME-B1"] == (2, 2, 100.0)
        assert coverage["ACME-B2"] == (0, 1, 0.0) and coverage["ACME-HQ"] == (2, 3, 66.7)
    # Refusals name the field; nothing is written.
    before = (_count(tw.acme, TrainingSession), _count(tw.acme, TrainingAttendance))
    with unit_of_work(TenantContext.for_tenant(tw.acme.id)) as session:
        with pytest.raises(Invalid) as no_course:
            training.add_session(session, boss, SessionIn(held_on=local_today(), trainer="某"))
        assert no_course.value.field == "course"
        with pytest.raises(Invalid, match="no course 'NOPE'"):
            training.add_session(session, boss, SessionIn(course="NOPE", held_on=local_today(), trainer="某"))
        with pytest.raises(Conflict) as again:
            training.create_course(session, boss, CourseIn(code="REM-1", title="x", kind="remedial", hours=1))
        assert again.value.field == "code"
        with pytest.raises(Invalid) as kind:
            training.create_course(session, boss, CourseIn(code="NEW", title="x", kind="fun", hours=1))
        assert kind.value.field == "kind"
        ind = tw.sessions["ind-new"]
        with pytest.raises(Invalid) as hours:
            training.record_attendance(session, boss, ind, AttendanceIn(staff="E3", hours=9))
        assert hours.value.field == "hours"
        with pytest.raises(Invalid) as unknown:
            training.record_attendance(session, boss, ind, AttendanceIn(staff="NOBODY"))
        assert unknown.value.field == "staff"
        with pytest.raises(Conflict):
            training.record_attendance(session, boss, tw.sessions["ind-old"], AttendanceIn(staff="E1"))
    assert (_count(tw.acme, TrainingSession), _count(tw.acme, TrainingAttendance)) == before
    with unit_of_work(TenantContext.for_tenant(tw.acme.id)) as session:
        # E3 attends the induction: B2 reaches 100 %.
        training.record_attendance(session, boss, tw.sessions["ind-new"], AttendanceIn(staff="E3", hours=8))
        coverage = _coverage(training.coverage_by_org(session, tw.acme.id, local_today()))
        assert coverage["ACME-B2"] == (1, 1, 100.0) and coverage["ACME-HQ"] == (3, 3, 100.0)
        # A failed remedial assessment completes nothing; a passed one completes the sanction's training.
        training.record_attendance(session, boss, tw.sessions["remedial"], AttendanceIn(staff="E1", passed=False))
        training.record_attendance(session, boss, tw.sessions["remedial"], AttendanceIn(staff="A1", score=88))
        done = session.execute(select(MandatoryTraining)).scalar_one()
        assert done.completed_at is not None and done.completed_by == "user:test.admin"
        audit = session.execute(select(AuditEntry).where(AuditEntry.kind == "sanction.training")).scalar_one()
        assert '"by":"attendance"' in (audit.payload or "") and '"course":"REM-1"' in (audit.payload or "")
        a1 = {
            r.course: r
            for r in training.requirements(session, tw.acme.id, local_today(), [tw.staff["A1"]])[0].requirements
        }
        assert a1[REMEDIAL_TOPIC].state == "done" and a1[REMEDIAL_TOPIC].last_on == local_today()
        kinds = {e.kind for e in session.execute(select(AuditEntry)).scalars()}
        assert {"people.training_course", "people.training_session", "people.training_attendance"} <= kinds
        record = training.person_record(session, tw.acme.id, tw.staff["A1"])
        assert record["state"] == "complete" and record["attended"][0]["course"] == "REM-1"
    # Another insurer sees none of it.
    with unit_of_work(TenantContext.for_tenant(tw.bbb.id)) as session:
        assert training.requirements(session, tw.bbb.id, local_today()) == []
        assert training.course_by_code(session, tw.bbb.id, "REM-1") is None


def test_overdue_training_is_told_to_the_manager_once_and_lands_in_the_inbox(tw: TrainingWorld):
    with unit_of_work(TenantContext.for_tenant(tw.acme.id)) as session:
        e3 = session.get(StaffMember, tw.staff["E3"])
        e3.manager_user_id = tw.users["acme.sup"]  # type: ignore[union-attr]
    first = training_jobs.run_overdue_training()
    assert [(code, course) for _, code, course in first.told] == [("E3", "IND-STAFF")]
    assert training_jobs.run_overdue_training().told == []  # once
    with unit_of_work(TenantContext.for_tenant(tw.acme.id)) as session:
        notice = session.execute(select(StaffNotification)).scalar_one()
        assert notice.kind == "training_overdue" and notice.user_id == tw.users["acme.sup"]
        assert "赵逾期" in notice.subject and notice.link == "/people/E3"
        qm = Principal(
            role=Role.QUALITY_MANAGER, tenant_id=tw.acme.id, actor="user:acme.qm", user_id=tw.users["acme.qm"]
        )
        page = training_work.overdue_training(session, qm, "en", utc_now(), 10, 0)
        assert page.count == 1 and page.items[0].url == "/people/E3" and "overdue since" in page.items[0].detail


# -- the API -------------------------------------------------------------------------------------------------


def test_api_roles_tenants_and_writes(tw: TrainingWorld):
    client = TestClient(shared_app())
    found = client.get("/api/v1/people/training/coverage", headers=tw.headers("qm"))
    assert found.status_code == 200, found.text
    body = found.json()
    assert {r["org_unit"]: r["coverage"] for r in body["orgs"]}["ACME-B2"] == 0.0
    assert body["total"]["coverage"] == 66.7 and body["rules"]["coverage_target"] == 100
    assert [(m["staff"], m["course"], m["state"]) for m in body["missing"]][0] == ("E3", "IND-STAFF", "overdue")
    # The supervisor (江苏分公司, E1's manager) sees E1 and E3 only.
    signed_in = TestClient(shared_app())
    _login(signed_in, "acme.sup")
    sup = signed_in.get("/api/v1/people/training/coverage").json()
    assert sup["total"]["people"] == 2 and {m["staff"] for m in sup["missing"]} == {"E3"}
    assert [r["org_unit"] for r in sup["orgs"]] == ["ACME-HQ", "ACME-B1", "ACME-S1", "ACME-B2"]
    assert signed_in.get("/api/v1/people/training/staff/A1").status_code == 404
    assert signed_in.get("/api/v1/people/training/staff/E1").json()["state"] == "complete"
    assert client.get("/api/v1/people/training/coverage", headers=tw.headers("adj")).status_code == 403
    assert client.post("/api/v1/people/training/courses", headers=tw.headers("sup"), json={}).status_code == 403
    # Another insurer: its own (empty) world; ACME's session and course are unknown.
    assert client.get("/api/v1/people/training/coverage", headers=tw.headers("bbb")).json()["missing"] == []
    other = f"/api/v1/people/training/sessions/{tw.sessions['ind-new']}"
    assert client.get(other, headers=tw.headers("bbb")).status_code == 404
    assert client.get("/api/v1/people/training/courses/REM-1", headers=tw.headers("bbb")).status_code == 404
    # Writes: a course, a session without a course (422 naming course), attendance.
    made = client.post(
        "/api/v1/people/training/courses",
        headers=tw.headers("qm"),
        json={"code": "SVC-1", "title": "服务礼仪", "kind": "service", "hours": 2},
    )
    assert made.status_code == 201, made.text
    bad = client.post(
        "/api/v1/people/training/courses",
        headers=tw.headers("qm"),
        json={"code": "X", "title": "x", "kind": "service", "hours": True},
    )
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "hours"
    no_course = client.post(
        "/api/v1/people/training/sessions",
        headers=tw.headers("qm"),
        json={"held_on": str(local_today()), "trainer": "x"},
    )
    assert no_course.status_code == 422 and no_course.json()["problems"][0]["field"] == "course"
    held = client.post(
        "/api/v1/people/training/sessions",
        headers=tw.headers("qm"),
        json={"course": "SVC-1", "held_on": str(local_today()), "trainer": "x", "org_unit": "ACME-B2"},
    )
    assert held.status_code == 201 and held.json()["org_unit"] == "ACME-B2"
    url = f"/api/v1/people/training/sessions/{held.json()['id']}/attendance"
    attended = client.post(url, headers=tw.headers("qm"), json={"staff": "E3", "hours": 1.5, "passed": True})
    assert attended.status_code == 201 and attended.json()["attendance"][0]["hours"] == 1.5
    assert client.post(url, headers=tw.headers("qm"), json={"staff": "E3"}).status_code == 409
    person = signed_in.get("/api/v1/people/training/staff/E3").json()
    assert person["state"] == "overdue" and person["attended"][0]["course"] == "SVC-1"
    courses = client.get("/api/v1/people/training/courses", headers=tw.headers("sup")).json()
    assert {c["code"]: c["sessions"] for c in courses}["IND-STAFF"] == 2
    assert client.get("/api/v1/people/training/rules", headers=tw.headers("qm")).json()["mandatory"][0]["course"]


# -- the pages (SQLite only: the API test runs their queries on both) ------------------------------------------


def _login(client: TestClient, username: str) -> str:
    client.cookies.clear()
    token = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/login").text)[1]  # type: ignore[index]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/people/training/courses").text)[1]  # type: ignore[index]


@pytest.mark.sqlite_only
def test_pages_forms_and_exports(tw: TrainingWorld):
    client = TestClient(shared_app())
    token = _login(client, "acme.qm")
    page = client.get("/people/training")
    assert page.status_code == 200 and 'data-org="ACME-B2" data-coverage="0.0"' in page.text
    assert 'data-staff="E3" data-course="IND-STAFF" data-state="overdue"' in page.text
    csv = client.get("/people/training.csv")
    assert csv.text.startswith("\ufeff") and "E3" in csv.text and "新员工岗前培训" in csv.text
    book = zipfile.ZipFile(io.BytesIO(client.get("/people/training.xlsx").content))
    assert {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"} <= set(book.namelist())
    # The course form: a bad value keeps the page with the message at its field.
    refused = client.post(
        "/people/training/courses",
        data={CSRF_FIELD: token, "code": "REM-1", "title": "x", "kind": "other", "hours": "1"},
    )
    assert refused.status_code == 409 and 'id="err-code"' in refused.text
    made = client.post(
        "/people/training/courses",
        data={CSRF_FIELD: token, "code": "NEW-1", "title": "新课程", "kind": "other", "hours": "2"},
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"] == "/people/training/courses/NEW-1"
    held = client.post(
        "/people/training/courses/NEW-1/sessions",
        data={CSRF_FIELD: token, "held_on": str(local_today()), "trainer": "讲师甲"},
        follow_redirects=False,
    )
    assert held.status_code == 303
    session_page = held.headers["location"]
    too_long = client.post(f"{session_page}/attendance", data={CSRF_FIELD: token, "staff": "E3", "hours": "5"})
    assert too_long.status_code == 422 and 'id="err-hours"' in too_long.text
    ok = client.post(f"{session_page}/attendance", data={CSRF_FIELD: token, "staff": "E3", "passed": "yes"})
    assert ok.status_code == 200 and 'data-staff="E3"' in ok.text
    assert "讲师甲" in client.get("/people/training/courses/NEW-1").text
    assert client.get("/people/training/sessions/999999").status_code == 404
    _login(client, "acme.adj")
    assert client.get("/people/training").status_code == 403
