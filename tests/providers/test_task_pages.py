"""The staff pages of provider tasks, the claim page's panel, the claimant's lookup and the inbox (issue 21), on
one small world per dialect: an adjuster sends a task from the claim page (a suspended provider, a closed or
unknown claim, a missing CSRF token refused with nothing written), the queue and its CSV, a report posted by the
provider, a dispute raised by the handler and decided by a supervisor, the claimant seeing "waiting for the
appraisal report" and disputing a report; another insurer's tasks answering 404."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch import db
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.lookup import service as lookup_service
from claimwatch.lookup.pages import COOKIE
from claimwatch.providers import provider_service, task_service
from claimwatch.providers import service as register
from claimwatch.providers.models import ProviderTask
from claimwatch.providers.schemas import ProviderIn
from claimwatch.web.security import CSRF_FIELD
from tests.apps import shared_app
from tests.factories import PASSWORD, TenantHandle, World, reported
from tests.reports.helpers import module_database


@dataclass
class TaskWorld:
    client: TestClient
    acme: TenantHandle
    bbb: TenantHandle
    claim_ids: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)  # a name in the test → the task number
    providers: dict[str, int] = field(default_factory=dict)  # code → id (ACME)

    def staff(self, tenant: TenantHandle, role: Role = Role.ADMIN) -> Principal:
        return Principal(role=role, tenant_id=tenant.id, actor=f"user:{tenant.code.lower()}.admin")

    def provider(self, code: str) -> Principal:
        return Principal(
            role=Role.PROVIDER, tenant_id=self.acme.id, actor=f"provider:{code}", provider_id=self.providers[code]
        )

    def report(self, name: str, code: str = "AG-1", amount: str = "28000.00") -> None:
        with unit_of_work(TenantContext.for_tenant(self.acme.id)) as session:
            provider_service.submit_report(
                session,
                self.provider(code),
                self.tasks[name],
                fields={"amount_assessed": amount, "conclusion": "车辆前部受损，建议更换保险杠"},
            )


def _claim(client: TestClient, tenant: TenantHandle, number: str, assignee: str | None, serial: int) -> None:
    events = [reported(f"{number}-r", number, claimant={"name": "李四光", "phone": f"1391234{serial:04d}"})]
    if assignee:
        events.append(
            {
                "event_id": f"{number}-a",
                "claim_number": number,
                "type": "assigned",
                "assignee": assignee,
                "occurred_at": events[0]["occurred_at"],
            }
        )
    response = client.post("/api/v1/events", json={"events": events}, headers={"X-API-Key": tenant.api_key})
    assert response.status_code == 201, response.text


def build(world: World, client: TestClient) -> TaskWorld:
    """ACME: claims C-SEND (sending from the page), C-FLOW (a task to report, dispute and decide), C-LATE (a task
    sent three weeks ago, overdue), all the adjuster's; providers AG-1 and AG-2 (appraisal, active), AG-SUS
    (suspended), RS-1 (repair shop). BBB: claim B-1 with a task of its own."""
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    for name, role in (("acme.adj", Role.ADJUSTER), ("acme.sup", Role.SUPERVISOR), ("acme.qm", Role.QUALITY_MANAGER)):
        world.user(name, role, acme)
    world.user("bbb.adj", Role.ADJUSTER, bbb)
    world.user("cbirc", Role.REGULATOR, None)
    tw = TaskWorld(client, acme, bbb)
    for serial, number in enumerate(("C-SEND", "C-FLOW", "C-LATE"), start=1):
        _claim(client, acme, number, "acme.adj", serial)
    _claim(client, bbb, "B-1", None, 9)
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        admin = tw.staff(acme)
        for code, name, kind in (
            ("AG-1", "粤信鉴定所", "appraisal_agency"),
            ("AG-2", "南方鉴定所", "appraisal_agency"),
            ("AG-SUS", "停业鉴定所", "appraisal_agency"),
            ("RS-1", "顺达汽修", "repair_shop"),
        ):
            data = ProviderIn(code=code, name=name, kind=kind, contact_email=f"{code.lower()}@example.cn")
            tw.providers[code] = register.register(session, admin, data).id
        register.set_status(session, admin, "AG-SUS", "suspended", "报告多次逾期")
        for name, number, provider, at in (
            ("flow", "C-FLOW", "AG-1", None),
            ("late", "C-LATE", "AG-2", dt.datetime.now(dt.UTC) - dt.timedelta(days=21)),
        ):
            task = task_service.send_task(
                session, admin, claim_number=number, provider_code=provider, kind="appraisal", at=at
            )
            tw.tasks[name] = task.number
        tw.claim_ids = {
            number: session.execute(
                select(ProviderTask.claim_id).where(ProviderTask.number == tw.tasks[name])
            ).scalar_one()
            for name, number in (("flow", "C-FLOW"), ("late", "C-LATE"))
        }
    with unit_of_work(TenantContext.for_tenant(bbb.id)) as session:
        register.register(session, tw.staff(bbb), ProviderIn(code="AG-B", name="北方鉴定所", kind="appraisal_agency"))
        # Sent in a month none of ACME's tasks is: task numbers are unique per insurer only.
        task = task_service.send_task(
            session,
            tw.staff(bbb),
            claim_number="B-1",
            provider_code="AG-B",
            kind="appraisal",
            at=dt.datetime.now(dt.UTC) - dt.timedelta(days=70),
        )
        tw.tasks["bbb"] = task.number
    return tw


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def tw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[TaskWorld]:
    tmp = tmp_path_factory.mktemp(f"provider-task-pages-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(tmp / "documents"))
        get_settings.cache_clear()
        db.configure(url)
        yield build(World(url), TestClient(shared_app()))
    get_settings.cache_clear()
    for _ in databases:
        pass


def login(client: TestClient, username: str) -> str:
    client.cookies.clear()
    token = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/login").text)[1]  # type: ignore[index]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/my").text)[1]  # type: ignore[index]


def _task_count(tw: TaskWorld) -> int:
    with unit_of_work(TenantContext.for_tenant(tw.acme.id)) as session:
        return int(session.execute(select(func.count()).select_from(ProviderTask)).scalar_one())


def test_an_adjuster_sends_a_task_from_the_claim_page_and_refusals_write_nothing(tw: TaskWorld):
    client = tw.client
    token = login(client, "acme.adj")
    page = client.get("/claims/C-SEND?lang=en").text
    panel = page[page.index('id="provider-tasks"') :]
    assert 'id="send-task-form" data-kind="appraisal"' in panel and 'id="no-provider-tasks"' in panel
    assert 'value="AG-1"' in panel and 'value="AG-2"' in panel
    assert 'value="AG-SUS"' not in panel and 'value="RS-1"' not in panel  # suspended; not an appraisal agency
    assert re.search(r'name="documents" value="鉴定委托书" checked', panel)
    # The kind decides the providers and the documents (htmx swaps the form).
    fragment = client.get("/claims/C-SEND/provider-tasks/new?kind=repair_estimate", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'value="RS-1"' in fragment.text and 'value="定损委托单" checked' in fragment.text

    before = _task_count(tw)
    form = {CSRF_FIELD: token, "kind": "appraisal", "documents": ["鉴定委托书", "保单复印件"], "instructions": "请尽快"}
    suspended = client.post("/claims/C-SEND/provider-tasks?lang=en", data=form | {"provider": "AG-SUS"})
    assert suspended.status_code == 409 and 'data-field="provider_code"' in suspended.text
    assert "The provider is suspended." in suspended.text and "请尽快" in suspended.text  # the form is kept
    assert (
        client.post("/claims/C-SEND/provider-tasks", data=form | {"provider": "AG-1", "kind": "x"}).status_code == 422
    )
    assert (
        client.post("/claims/C-SEND/provider-tasks", data=form | {CSRF_FIELD: "", "provider": "AG-1"}).status_code
        == 403
    )
    assert client.post("/claims/B-1/provider-tasks", data=form | {"provider": "AG-1"}).status_code == 404  # BBB's
    assert _task_count(tw) == before

    sent = client.post(
        "/claims/C-SEND/provider-tasks",
        data=form | {"provider": "AG-1", "other_documents": "现场照片，维修清单"},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    url = sent.headers["location"]
    assert re.fullmatch(r"/provider-tasks/PT-\d{6}-\d{5}", url)
    task = client.get(f"{url}?lang=en").text
    assert 'id="task-status" data-status="sent"' in task and 'id="task-due" data-light="green"' in task
    assert 'data-standard="0"' in task  # two of the four standard documents
    assert "保单复印件，现场照片，维修清单" in task  # the other documents, one by one
    claim = client.get("/claims/C-SEND").text
    assert f'data-task="{url.rsplit("/", 1)[1]}" data-status="sent" data-light="green"' in claim


def test_the_queue_filters_and_exports_and_is_the_insurers_own(tw: TaskWorld):
    client = tw.client
    login(client, "acme.sup")
    queue = client.get("/provider-tasks").text
    late = tw.tasks["late"]
    assert f'data-task="{late}" data-status="sent" data-light="red"' in queue
    assert queue.index(f'data-task="{late}"') < queue.index(f'data-task="{tw.tasks["flow"]}"')  # nearest first
    assert tw.tasks["bbb"] not in queue and "B-1" not in queue
    only_late = client.get("/provider-tasks?overdue=1").text
    assert late in only_late and tw.tasks["flow"] not in only_late
    assert tw.tasks["flow"] not in client.get("/provider-tasks?provider=AG-2").text
    bad = client.get("/provider-tasks?status=lost&lang=en")
    assert bad.status_code == 422 and 'data-field="status"' in bad.text
    exported = client.get("/provider-tasks.csv?lang=en")
    assert exported.status_code == 200 and exported.text.startswith("\ufeffTask,Claim,Task kind")
    assert late in exported.text and tw.tasks["bbb"] not in exported.text
    assert client.get(f"/provider-tasks/{tw.tasks['bbb']}").status_code == 404
    login(client, "cbirc")  # the queue read-only (the KPI drill-down lands there); task pages are an insurer's
    queue = client.get("/provider-tasks?tenant=ACME")
    assert queue.status_code == 200 and f'data-task="{late}"' in queue.text and 'data-tenant="ACME"' in queue.text
    assert f'href="/provider-tasks/{late}"' not in queue.text and tw.tasks["bbb"] not in queue.text
    assert client.get(f"/provider-tasks/{late}").status_code == 404
    claim = client.get("/claims/C-FLOW?tenant=ACME").text  # the regulator reads the tasks, sends nothing
    assert f'data-task="{tw.tasks["flow"]}"' in claim and 'id="send-task-form"' not in claim
    assert f'href="/provider-tasks/{tw.tasks["flow"]}"' not in claim


def test_a_report_is_disputed_by_the_handler_and_decided_by_a_supervisor(tw: TaskWorld):
    client = tw.client
    number = tw.tasks["flow"]
    url = f"/provider-tasks/{number}"
    tw.report("flow")
    token = login(client, "acme.adj")
    page = client.get(f"{url}?lang=en").text
    assert 'data-status="reported"' in page and "28000.00" in page and "车辆前部受损" in page
    assert 'id="dispute-form"' in page and 'id="cancel-form"' not in page
    assert client.post(f"{url}/disputes", data={CSRF_FIELD: token, "reason": " "}).status_code == 422
    raised = client.post(f"{url}/disputes", data={CSRF_FIELD: token, "reason": "金额明显偏高"}, follow_redirects=False)
    assert raised.status_code == 303
    page = client.get(url).text
    assert 'data-status="disputed"' in page and "金额明显偏高" in page
    dispute_id = re.search(r'data-dispute="(\d+)" data-by="handler" data-outcome=""', page)[1]  # type: ignore[index]
    decide = {CSRF_FIELD: token, "outcome": "upheld", "note": "重新鉴定"}
    assert client.post(f"{url}/disputes/{dispute_id}/resolve", data=decide).status_code == 403  # an adjuster
    token = login(client, "acme.sup")
    assert f'id="resolve-{dispute_id}"' in client.get(url).text
    wrong_task = f"/provider-tasks/{tw.tasks['late']}/disputes/{dispute_id}/resolve"
    assert client.post(wrong_task, data=decide | {CSRF_FIELD: token}).status_code == 404
    done = client.post(
        f"{url}/disputes/{dispute_id}/resolve", data=decide | {CSRF_FIELD: token}, follow_redirects=False
    )
    assert done.status_code == 303
    page = client.get(url).text
    assert f'data-dispute="{dispute_id}" data-by="handler" data-outcome="upheld"' in page
    assert 'data-status="reported"' in page and 'data-action="dispute_resolved"' in page
    again = client.post(f"{url}/disputes/{dispute_id}/resolve", data=decide | {CSRF_FIELD: token})
    assert again.status_code == 409 and 'data-field="dispute_id"' in again.text


def test_the_inbox_lists_my_claims_overdue_tasks_and_reports_in(tw: TaskWorld):
    login(tw.client, "acme.adj")
    my = tw.client.get("/my?lang=en").text
    assert "Third-party tasks of my claims" in my
    assert f"provider-task-{tw.tasks['late']}" in my and "overdue, no report" in my
    login(tw.client, "acme.qm")  # not a handler: no such section
    assert "Third-party tasks of my claims" not in tw.client.get("/my?lang=en").text


def test_the_claimant_sees_what_the_claim_waits_for_and_disputes_a_report(tw: TaskWorld):
    client = tw.client
    client.cookies.clear()
    token, _ = lookup_service.issue_token(tw.acme.id, tw.claim_ids["C-LATE"])
    client.cookies.set(COOKIE, token, path="/lookup")
    page = client.get("/lookup/ACME/claim?lang=en").text
    assert f'data-task="{tw.tasks["late"]}" data-kind="appraisal" data-waiting="1"' in page
    assert "Waiting for the appraisal report, expected by" in page and "later than expected" in page
    assert "AG-2" not in page and "ag-2@" not in page and "南方鉴定所" not in page
    assert "acme.admin" not in page and "lk-dispute" not in page
    tw.report("late", "AG-2")
    page = client.get("/lookup/ACME/claim?lang=en").text
    assert "We received the appraisal report on" in page and 'class="lk-form lk-dispute"' in page
    csrf = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', page)[1]  # type: ignore[index]
    action = f"/lookup/ACME/claim/tasks/{tw.tasks['late']}/dispute"
    assert client.post(action, data={CSRF_FIELD: csrf, "reason": ""}).status_code == 422
    other = client.post(f"/lookup/ACME/claim/tasks/{tw.tasks['flow']}/dispute", data={CSRF_FIELD: csrf, "reason": "x"})
    assert other.status_code == 404  # another claim's task
    done = client.post(action, data={CSRF_FIELD: csrf, "reason": "鉴定金额过低"}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    assert 'id="dispute-message"' in page and 'data-dispute="open"' in page
    with unit_of_work(TenantContext.for_tenant(tw.acme.id)) as session:
        task = task_service.get_task(session, tw.tasks["late"])
        assert task.status == "disputed"
