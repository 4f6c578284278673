"""The knowledge-base pages: search with a marked snippet and a category filter, an article with its versions and
"was this helpful", the editor (an article without an effective date refused with the field named and what was
typed kept; save a draft, submit), the review queue with the difference from the published answer (approve; a
rejection needs a note; nobody approves their own), the stale report with its CSV, the reviewers' inbox section,
and the refusals (another insurer's article, a role without the permission).

The page read models run on both databases once (:func:`test_read_models_on_both_databases`); the pages over
them on SQLite only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kb import page_queries, repository, service
from claimwatch.kb.models import KbArticle
from claimwatch.kb.schemas import ArticleIn, VersionIn
from claimwatch.todo import registry
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.snapshots import Snapshot
from tests.web.conftest import csrf_from, sign_in

ON = dt.date(2026, 3, 2)
ADDRESS_Q = "如何变更保单的联系电话和通讯地址？"
ADDRESS_A = "联系电话、通讯地址属于基本信息变更，投保人可通过官方APP“保单服务-信息变更”或客服热线办理，需完成身份验证。"
COOLING_Q = "犹豫期内退保能全额退款吗？"
COOLING_A = "在犹豫期内申请退保，扣除不超过10元的工本费后退还全部保费。请携带保单和身份证件办理。"
COOLING_A2 = "在犹豫期内申请退保，退还全部已交保费，不收取工本费。请携带身份证件办理，电子保单无需提供纸质保单。"
INVOICE_Q = "保费发票怎么开？"
INVOICE_A = "电子发票在交费成功后可在APP“我的发票”中申请开具，抬头可填个人或单位。"


@dataclass(frozen=True)
class KbWorld:
    a: TenantHandle
    b: TenantHandle
    cooling_version: int  # the submitted second version of CO-1


def _principal(tenant: TenantHandle, username: str, role: Role) -> Principal:
    return Principal(role=role, tenant_id=tenant.id, actor=f"user:{username}")


def _published(
    session: Session, editor: Principal, reviewer: Principal, code: str, category: str, q: str, a: str
) -> int:
    body = {"code": code, "category": category, "question": q, "answer": a, "effective_from": dt.date(2025, 1, 1)}
    article = service.create_article(session, editor, ArticleIn.model_validate(body))
    first = repository.version(session, article.id, 1)
    assert first is not None
    service.submit(session, editor, first.id)
    service.approve(session, reviewer, first.id)
    return article.id


def build(world: World) -> KbWorld:
    a, b = world.tenant("KA", "甲保险"), world.tenant("KB", "乙保险")
    for name, role in (("cs", Role.COMPLAINT_HANDLER), ("sup", Role.SUPERVISOR)):
        world.user(f"ka.{name}", role, a)
    world.user("ka.adj", Role.ADJUSTER, a)
    world.user("kb.cs", Role.COMPLAINT_HANDLER, b)
    editor, reviewer = _principal(a, "ka.cs", Role.COMPLAINT_HANDLER), _principal(a, "ka.sup", Role.SUPERVISOR)
    with unit_of_work(TenantContext.for_tenant(a.id)) as session:
        _published(session, editor, reviewer, "AD-1", "policy_change", ADDRESS_Q, ADDRESS_A)
        _published(session, editor, reviewer, "CO-1", "cooling_off", COOLING_Q, COOLING_A)
        old = _published(session, editor, reviewer, "IN-1", "invoice", INVOICE_Q, INVOICE_A)
        session.execute(
            update(KbArticle).where(KbArticle.id == old).values(reviewed_at=dt.datetime(2024, 1, 5, tzinfo=dt.UTC))
        )
        draft = service.save_draft(session, editor, "CO-1", VersionIn(question=COOLING_Q, answer=COOLING_A2))
        service.submit(session, editor, draft.id)
        version_id = draft.id
    return KbWorld(a, b, version_id)


@pytest.fixture
def kbw(world: World, db_snapshot: Snapshot) -> KbWorld:
    return db_snapshot("kb.pages", lambda: build(world))


def client_of(username: str) -> TestClient:
    client = TestClient(shared_app(), headers={"Origin": "http://testserver"})
    sign_in(client, username)
    return client


def test_marks_and_character_diff() -> None:
    assert page_queries.marked("请携带身份证件办理", ["身份证", "办理"]) == [
        ("请携带", False),
        ("身份证", True),
        ("件", False),
        ("办理", True),
    ]
    assert page_queries.marked("APP 申请", ["app"]) == [("APP", True), (" 申请", False)]
    segments = page_queries.diff("扣除工本费后退还保费", "退还全部保费")
    assert "".join(t for op, t in segments if op != "added") == "扣除工本费后退还保费"
    assert "".join(t for op, t in segments if op != "removed") == "退还全部保费"
    assert ("added", "全部") in segments
    lines = [f"第{i}条：请携带身份证件办理。\n" for i in range(400)]
    changed = page_queries.diff("".join(lines), "".join(lines[:-1]) + "新增一行\n")  # line by line when long
    assert changed[-2:] == [("removed", lines[-1]), ("added", "新增一行\n")]


def test_read_models_on_both_databases(kbw: KbWorld) -> None:
    with unit_of_work(TenantContext.for_tenant(kbw.a.id)) as session:
        found = page_queries.search_rows(session, kbw.a.id, "犹豫期退保退款", None, ON)
        assert found[0]["code"] == "CO-1" and any(marked for _, marked in found[0]["snippet"])
        assert "工本费" in "".join(text for text, _ in found[0]["snippet"])  # the published answer, not the draft
        browse = page_queries.search_rows(session, kbw.a.id, "", "invoice", ON)
        assert [row["code"] for row in browse] == ["IN-1"]
        assert page_queries.search_rows(session, kbw.a.id, "", None, dt.date(2024, 6, 1)) == []  # not yet in effect
        waiting = page_queries.review_rows(session)
        assert [(row["code"], row["version"], row["published_version"]) for row in waiting] == [("CO-1", 2, 1)]
        assert ("added", "不收取工本费") in waiting[0]["answer_diff"] or any(
            op == "removed" for op, _ in waiting[0]["answer_diff"]
        )
        assert page_queries.waiting_count(session, "user:ka.sup") == 1
        assert page_queries.waiting_count(session, "user:ka.cs") == 0  # one's own is left out
        view = page_queries.article_view(session, service.get_article(session, "CO-1"), "user:ka.cs")
        assert view["published"]["version"] == 1 and view["pending"]["status"] == "submitted"
        assert [v["version"] for v in view["versions"]] == [2, 1]
        sup = Principal(role=Role.SUPERVISOR, tenant_id=kbw.a.id, actor="user:ka.sup")
        keys = {s.key: s.count for s in registry.inbox(session, sup, "zh")}
        assert keys["kb-review"] == 1
    with unit_of_work(TenantContext.for_tenant(kbw.b.id)) as session:
        assert page_queries.search_rows(session, kbw.b.id, "犹豫期退保", None, ON) == []
        assert page_queries.review_rows(session) == []


@pytest.mark.sqlite_only
def test_search_article_feedback_stale_and_refusals(kbw: KbWorld) -> None:
    cs = client_of("ka.cs")
    page = cs.get("/kb", params={"q": "犹豫期退保"})
    assert page.status_code == 200 and 'data-article="CO-1"' in page.text and "<mark>" in page.text
    token = csrf_from(page.text)  # one per signed-in session
    only = cs.get("/kb", params={"category": "invoice"})
    assert 'data-article="IN-1"' in only.text and 'data-article="AD-1"' not in only.text
    bad = cs.get("/kb", params={"q": "退保", "category": "nope"})
    assert bad.status_code == 422 and 'data-field="category"' in bad.text

    refused = cs.post("/kb/AD-1/feedback", data={"csrf_token": token, "helpful": "maybe"})
    assert refused.status_code == 422 and 'data-field="helpful"' in refused.text
    assert 'id="feedback-form"' in refused.text and "客服热线办理" in refused.text  # the article page
    given = cs.post("/kb/AD-1/feedback", data={"csrf_token": token, "helpful": "yes"}, follow_redirects=True)
    assert 'data-yes="1"' in given.text and 'data-helpful="yes"' in given.text

    stale = cs.get("/kb/stale")
    assert stale.status_code == 200 and 'data-article="IN-1"' in stale.text and 'data-article="AD-1"' not in stale.text
    csv = cs.get("/kb/stale.csv", params={"lang": "en"})
    assert csv.content.startswith(b"\xef\xbb\xbf") and "IN-1" in csv.content.decode("utf-8-sig")
    assert "Not reviewed for a long time" in csv.content.decode("utf-8-sig")
    assert cs.get("/kb/stale", params={"months": "x"}).status_code == 422
    assert cs.get("/kb/review").status_code == 403  # an editor, not a reviewer

    assert client_of("ka.adj").get("/kb/new").status_code == 403  # reads, does not write
    assert client_of("kb.cs").get("/kb/AD-1").status_code == 404  # another insurer's article


@pytest.mark.sqlite_only
def test_editor_review_and_publication(kbw: KbWorld) -> None:
    cs, sup = client_of("ka.cs"), client_of("ka.sup")
    form = cs.get("/kb/new")
    assert form.status_code == 200
    cs_token = csrf_from(form.text)
    fields = {"csrf_token": cs_token, "code": "RN-1", "category": "renewal", "action": "submit"}
    fields |= {"question": "短期医疗险到期怎么续保？", "answer": "到期前30天会短信提醒，可在APP一键续保。"}
    fields |= {"lines": "medical，accident", "effective_from": ""}
    refused = cs.post("/kb/new", data=fields)
    assert refused.status_code == 422 and 'data-field="effective_from"' in refused.text
    assert "到期前30天会短信提醒" in refused.text  # what was typed is kept
    created = cs.post("/kb/new", data=fields | {"effective_from": "2026-01-01"}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/kb/RN-1"

    review = sup.get("/kb/review")
    assert review.status_code == 200 and 'data-article="RN-1"' in review.text and "<ins>" in review.text
    assert 'data-article="CO-1"' in review.text and "own-version" not in review.text
    token = csrf_from(review.text)
    with unit_of_work(TenantContext.for_tenant(kbw.a.id)) as session:
        rn_id = repository.version(session, service.get_article(session, "RN-1").id, 1).id  # type: ignore[union-attr]
    no_note = sup.post(f"/kb/review/{kbw.cooling_version}/reject", data={"csrf_token": token, "note": ""})
    assert no_note.status_code == 422 and 'data-field="note"' in no_note.text
    note = {"csrf_token": token, "note": "请写明电子保单的办理渠道"}
    assert sup.post(f"/kb/review/{kbw.cooling_version}/reject", data=note, follow_redirects=False).status_code == 303
    assert (
        sup.post(f"/kb/review/{rn_id}/approve", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    )
    assert 'data-article="RN-1"' in cs.get("/kb", params={"q": "续保"}).text

    edit = cs.get("/kb/CO-1/edit")
    assert edit.status_code == 200 and "不收取工本费" in edit.text  # continues the rejected text
    values = {"csrf_token": cs_token, "category": "cooling_off", "question": COOLING_Q, "effective_from": "2025-01-01"}
    values |= {"answer": COOLING_A2 + "可在APP办理。", "action": "save"}
    article = cs.post("/kb/CO-1/edit", data=values, follow_redirects=True)
    assert 'id="submit-form"' in article.text and 'data-status="draft"' in article.text
    assert cs.post("/kb/CO-1/submit", data={"csrf_token": cs_token}, follow_redirects=False).status_code == 303
    with unit_of_work(TenantContext.for_tenant(kbw.a.id)) as session:
        third = repository.version(session, service.get_article(session, "CO-1").id, 3)
        assert third is not None and third.status == "submitted"
        third_id = third.id
    published = sup.post(f"/kb/review/{third_id}/approve", data={"csrf_token": token}, follow_redirects=False)
    assert published.status_code == 303 and "可在APP办理" in cs.get("/kb/CO-1").text
