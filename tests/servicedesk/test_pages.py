"""The service-request pages (h3). On both databases, the queries that are only the pages' own: the queue by nearest
deadline with its filters, the inbox sections and the consultation-satisfaction survey a closed request gets. On
SQLite only (the service calls behind them run on both in h1's and h2's tests), the pages: queue with filters and
exports, the staff form (a refusal names the field and keeps what was typed), a request with a suggested article used
for the reply ("use this answer" fills the reply box and records the article), "was this helpful", resolve with a
code, a note to a closed request refused naming ``status``; the KPIs with normal and peak columns; the peak periods
with the declare form."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.kb import service as kb_service
from claimwatch.kb.models import KbArticle, KbArticleVersion
from claimwatch.kb.schemas import ArticleIn
from claimwatch.notify.models import OutboxMessage
from claimwatch.servicedesk import page_queries
from claimwatch.servicedesk.models import ServiceRequest
from claimwatch.surveys import jobs as survey_jobs
from claimwatch.surveys.models import Survey
from claimwatch.todo import registry
from tests.factories import World
from tests.servicedesk.requests_world import BASE, PHONE, Desk, body, build, core, ok, staff
from tests.snapshots import Snapshot
from tests.web.conftest import csrf_from

LOAN_ANSWER = "保单贷款需携带身份证和保单原件到柜面或在App申请，审核通过后3个工作日内到账。"


@pytest.fixture
def desk(world: World, db_snapshot: Snapshot) -> Desk:
    return db_snapshot("servicedesk.requests", lambda: build(world))


def _file(desk: Desk, **fields: object) -> str:
    return ok(core(desk.a.api_key).post(BASE, json=body(**fields)), 201)["number"]


def _user_id(desk: Desk, username: str) -> int:
    from claimwatch.auth.models import User

    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        return session.execute(select(User.id).where(User.username == username)).scalar_one()


def test_queue_by_nearest_deadline_inbox_and_survey_on_closure(desk: Desk) -> None:
    normal = _file(desk)
    emergency = _file(desk, priority="emergency", category="claim_report", subject="车辆被淹怎么报案")
    urgent = _file(desk, priority="urgent", category="policy_change", subject="变更受益人")
    cs = staff("sr.cs")
    ok(cs.post(f"{BASE}/{urgent}/assign", json={"username": "sr.cs"}))
    cs_id = _user_id(desk, "sr.cs")
    later = utc_now() + dt.timedelta(hours=3)
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        total, rows = page_queries.queue(session, desk.a.id)
        assert total == 3 and [r["number"] for r in rows] == [emergency, urgent, normal]
        assert rows[0]["due_at"] < rows[1]["due_at"] < rows[2]["due_at"] and rows[0]["light"] == "green"
        assert rows[2]["customer"] == "李*" and PHONE not in str(rows)
        assert [r["number"] for r in page_queries.queue(session, desk.a.id, priority="urgent")[1]] == [urgent]
        assert page_queries.queue(session, desk.a.id, category="enquiry", team="general")[0] == 1
        assert [r["number"] for r in page_queries.queue(session, desk.a.id, handler_id=cs_id)[1]] == [urgent]
        assert page_queries.queue(session, desk.a.id, unassigned=True)[0] == 2
        overdue = page_queries.queue(session, desk.a.id, overdue=True, now=later)[1]
        assert [(r["number"], r["light"]) for r in overdue] == [(emergency, "red")]
        assert page_queries.queue(session, desk.a.id, peak=True)[0] == 0
        assert page_queries.queue(session, desk.a.id, page=2, limit=2)[1][0]["number"] == normal
        assert page_queries.queue(session, desk.b.id)[0] == 0  # the other insurer's queue is its own
        handler = Principal(role=Role.COMPLAINT_HANDLER, tenant_id=desk.a.id, actor="user:sr.cs", user_id=cs_id)
        sections = {s.key: s for s in registry.inbox(session, handler, "zh")}
    assert sections["service-requests"].count == 1 and sections["service-requests"].items[0].url.endswith(urgent)
    assert sections["service-requests-unassigned"].count == 2

    url = f"{BASE}/{normal}"
    ok(cs.post(f"{url}/replies", json={"text": "您好，已为您解答。"}))
    ok(cs.post(f"{url}/resolve", json={"resolution_code": "answered"}))
    ok(cs.post(f"{url}/close", json={}))
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:  # open by deadline, then finished
        assert [r["number"] for r in page_queries.queue(session, desk.a.id, status="all")[1]][-1] == normal
        assert [r["number"] for r in page_queries.queue(session, desk.a.id, status="all", page=2, limit=2)[1]] == [
            normal
        ]
        assert page_queries.queue(session, desk.a.id, status="closed")[0] == 1
    result = survey_jobs.issue_due(now=utc_now() + dt.timedelta(hours=3))
    assert result.others == 1 and result.issued == 1
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        survey = session.execute(select(Survey)).scalar_one()
        assert (survey.subject_type, survey.reference, survey.outcome) == ("service_request", normal, "answered")
        invitation = session.execute(
            select(OutboxMessage).where(OutboxMessage.template == "survey_invitation")
        ).scalar_one()
        assert normal in invitation.body and invitation.complaint_id is None  # "您的服务请求（编号 SR-…）"
    assert survey_jobs.issue_due(now=utc_now() + dt.timedelta(hours=3)).issued == 0  # once per request


def _publish_article(desk: Desk) -> int:
    """A published article answering the loan enquiry (h4's service: created by 客服, published by the supervisor)."""
    author = Principal(role=Role.COMPLAINT_HANDLER, tenant_id=desk.a.id, actor="user:sr.cs2")
    data = ArticleIn(
        code="KB-LOAN-1",
        category="policy_change",
        effective_from=dt.date(2020, 1, 1),
        question="保单贷款怎么办理，需要哪些材料，多久到账？",
        answer=LOAN_ANSWER,
    )
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        article = kb_service.create_article(session, author, data)
        version = session.execute(
            select(KbArticleVersion).where(KbArticleVersion.article_id == article.id)
        ).scalar_one()
        kb_service.publish(session, article, version, "user:sr.sup")
        return article.id


@pytest.mark.sqlite_only
def test_queue_page_filters_and_exports(desk: Desk) -> None:
    number = _file(desk, priority="urgent")
    cs = staff("sr.cs")
    page = cs.get("/service-requests", params={"priority": "urgent"})
    assert page.status_code == 200 and f'data-number="{number}"' in page.text and 'data-priority="urgent"' in page.text
    assert "13912345678" not in page.text
    refused = cs.get("/service-requests", params={"category": "nowhere"})
    assert refused.status_code == 422 and 'data-field="category"' in refused.text
    assert cs.get("/service-requests", params={"handler": "nobody"}).status_code == 422
    assert f'data-number="{number}"' not in cs.get("/service-requests", params={"mine": "1"}).text
    csv = cs.get("/service-requests.csv", params={"lang": "en"})
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf") and number.encode() in csv.content
    assert csv.content.decode("utf-8-sig").splitlines()[0].startswith("Request number,Category,Priority")
    xlsx = cs.get("/service-requests.xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    assert staff("sr.adj").get("/service-requests").status_code == 200  # staff read
    assert staff("sr.reg").get("/service-requests").status_code == 403  # not the regulator's
    assert staff("sr.adj").get("/service-requests/new").status_code == 403


@pytest.mark.sqlite_only
def test_staff_form_refusal_keeps_the_text_then_files(desk: Desk) -> None:
    cs = staff("sr.cs")
    token = csrf_from(cs.get("/service-requests/new").text)
    fields = {"csrf_token": token, "channel": "phone", "category": "nowhere", "priority": "normal"}
    fields |= {
        "subject": "退保咨询",
        "description": "想了解犹豫期后退保能退多少",
        "name": "王五",
        "phone": "13700001111",
    }
    refused = cs.post("/service-requests/new", data=fields)
    assert refused.status_code == 422 and 'data-field="category"' in refused.text and "犹豫期后退保" in refused.text
    done = cs.post("/service-requests/new", data=fields | {"category": "enquiry"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/service-requests/SR-")
    page = cs.get(done.headers["location"])
    assert page.status_code == 200 and 'data-status="open"' in page.text and "王*" in page.text
    assert "13700001111" not in page.text


@pytest.mark.sqlite_only
def test_request_page_suggested_article_reply_feedback_resolve(desk: Desk) -> None:
    article_id = _publish_article(desk)
    number = _file(desk)
    cs = staff("sr.cs")
    url = f"/service-requests/{number}"
    page = cs.get(url)
    assert page.status_code == 200 and f'data-article="{article_id}"' in page.text and "data-policy=" in page.text
    assert f'id="use-{article_id}"' in page.text and "13912345678" not in page.text
    used = cs.get(url, params={"use": str(article_id)})
    assert f'id="used-article" data-article="{article_id}"' in used.text and LOAN_ANSWER in used.text
    assert f'name="article_ids" id="r-articles" value="{article_id}"' in used.text
    token = csrf_from(used.text)
    empty = cs.post(f"{url}/replies", data={"csrf_token": token, "text": "", "article_ids": str(article_id)})
    assert empty.status_code == 422 and 'data-field="text"' in empty.text
    sent = cs.post(f"{url}/replies", data={"csrf_token": token, "text": LOAN_ANSWER, "article_ids": str(article_id)})
    assert sent.status_code == 200 and 'id="articles"' in sent.text and 'data-event="replied"' in sent.text
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        record = session.execute(select(ServiceRequest).where(ServiceRequest.number == number)).scalar_one()
        assert record.articles_used == [article_id] and record.first_response_at is not None
    helped = cs.post(f"{url}/feedback", data={"csrf_token": token, "article_id": str(article_id), "helpful": "1"})
    assert helped.status_code == 200
    with unit_of_work(TenantContext.for_tenant(desk.a.id)) as session:
        assert session.get(KbArticle, article_id).helpful_yes == 1  # type: ignore[union-attr]

    no_code = cs.post(f"{url}/resolve", data={"csrf_token": token, "resolution_code": "", "note": "已答复"})
    assert no_code.status_code == 422 and 'data-field="resolution_code"' in no_code.text and "已答复" in no_code.text
    resolved = cs.post(
        f"{url}/resolve", data={"csrf_token": token, "resolution_code": "answered", "first_contact": "1"}
    )
    assert 'data-status="resolved"' in resolved.text and 'data-code="answered"' in resolved.text
    closed = cs.post(f"{url}/close", data={"csrf_token": token})
    assert 'data-status="closed"' in closed.text and 'id="reopen-form"' in closed.text
    late_note = cs.post(f"{url}/notes", data={"csrf_token": token, "note_text": "补充说明"})
    assert late_note.status_code == 409 and 'data-field="status"' in late_note.text
    assert cs.post(f"{url}/notes", data={"note_text": "无令牌"}).status_code == 403
    assert cs.get("/service-requests/SR-2000-000001").status_code == 404
    assert staff("sr.adj").post(f"{url}/reopen", data={"csrf_token": token, "reason": "x"}).status_code == 403


@pytest.mark.sqlite_only
def test_kpis_and_peak_pages(desk: Desk) -> None:
    _file(desk)
    sup = staff("sr.sup")
    kpis = sup.get("/service-requests/kpis")
    assert kpis.status_code == 200 and 'data-kpi="on_time_rate"' in kpis.text and 'data-column="peak"' in kpis.text
    assert sup.get("/service-requests/kpis", params={"month": "2026-13"}).status_code == 422
    peak = sup.get("/service-requests/peak")
    assert peak.status_code == 200 and 'id="peak-form"' in peak.text
    token = csrf_from(peak.text)
    day = utc_now().date() + dt.timedelta(days=1)
    fields = {"csrf_token": token, "starts_at": f"{day}T08:00", "ends_at": f"{day + dt.timedelta(days=3)}T20:00"}
    fields |= {"response_hours": "36", "categories": "claim_report", "reason": ""}
    no_reason = sup.post("/service-requests/peak", data=fields)
    assert no_reason.status_code == 422 and 'data-field="reason"' in no_reason.text
    declared = sup.post("/service-requests/peak", data=fields | {"reason": "台风过境，报案咨询激增"})
    assert declared.status_code == 200
    assert "台风过境" in declared.text and 'data-source="manual"' in declared.text
    cs = staff("sr.cs")
    assert 'id="peak-form"' not in cs.get("/service-requests/peak").text
    assert cs.post("/service-requests/peak", data=fields | {"reason": "x"}).status_code == 403
