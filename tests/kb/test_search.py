"""Knowledge-base search on both databases: jieba terms (pure), the tenant's own published articles in effect
only, the line filter of suggestions, retirement out of the index, and the API's answer."""

from __future__ import annotations

import datetime as dt

import pytest

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kb import search, service
from claimwatch.kb.cli import _operator
from tests.factories import World
from tests.kb.kb_world import KbWorld, build, ok
from tests.snapshots import Snapshot

ON = dt.date(2026, 3, 1)


def test_terms_are_jieba_search_mode_without_stopwords() -> None:
    assert search.terms("请问犹豫期内退保，能退全款吗？") == ["犹豫", "犹豫期", "退保", "退", "全款"]
    assert search.terms("增值税专用发票") == ["增值", "专用", "发票", "增值税", "增值税专用发票"]
    assert search.terms("APP登录 95500 Hello_World") == ["app", "登录", "hello", "world"]
    assert search.terms("的了吗？！") == []
    assert search.query_terms("手机号换了怎么改") == ["手机", "联系", "电话", "联系电话", "手机号", "换", "变更", "改"]
    assert search.document_terms("退保", "退保金") == "退保 退保 退保 保金 退保金"
    assert search.snippet("短答案", ["答案"]) == "短答案"
    long = "甲" * 100 + "退保" + "乙" * 100
    assert search.snippet(long, ["退保"]).startswith("…") and "退保" in search.snippet(long, ["退保"])


@pytest.fixture
def kb(world: World, db_snapshot: Snapshot) -> KbWorld:
    return db_snapshot("kb.world", lambda: build(world))


def _codes(hits: list[search.Hit]) -> list[str]:
    return [hit.code for hit in hits]


def test_search_scope_effective_dates_lines_and_retirement(kb: KbWorld) -> None:
    with unit_of_work(TenantContext.for_tenant(kb.a.id)) as session:
        assert _codes(search.search(session, kb.a.id, "犹豫期内退保有损失吗", 3, ON))[0] == "COO-002"
        assert search.search(session, kb.a.id, "的了吗", 3, ON) == []
        # SVC-008 applied until 2025-06-30: found on a day it applied, not after.
        assert "SVC-008" in _codes(search.search(session, kb.a.id, "分红险红利通知书", 3, dt.date(2025, 1, 1)))
        assert "SVC-008" not in _codes(search.search(session, kb.a.id, "分红险红利通知书", 3, ON))
        # Nothing before an article applies.
        assert search.search(session, kb.a.id, "犹豫期", 3, dt.date(2023, 1, 1)) == []
        # Suggestions for a motor request leave out articles only for other lines; a category narrows a search.
        motor = search.suggest(session, kb.a.id, "车险理赔需要提交什么材料", "motor", ON)
        assert len(motor) == 3 and all(not hit.lines or "motor" in hit.lines for hit in motor)
        assert _codes(motor)[0] == "CLM-002"
        medical = search.suggest(session, kb.a.id, "理赔需要什么材料", "medical", ON)
        assert "CLM-002" not in _codes(medical)
        assert {h.category for h in search.search(session, kb.a.id, "发票", 10, ON, category="invoice")} == {"invoice"}
        hit = search.search(session, kb.a.id, "犹豫期多长", 1, ON)[0]
        assert hit.answer.startswith("一年期以上") and "犹豫期" in hit.matched and hit.score > 0
    # Another insurer's article of the same code is not found; its own is.
    with unit_of_work(TenantContext.for_tenant(kb.b.id)) as session:
        other = search.search(session, kb.b.id, "变更联系电话", 5, ON)
    assert [(hit.code, hit.title) for hit in other] == [("POL-001", "乙公司如何变更联系电话")]

    with unit_of_work(TenantContext.for_tenant(kb.a.id)) as session:
        service.retire(session, _operator(kb.a.id, "test"), "COO-002", "合并")
    with unit_of_work(TenantContext.for_tenant(kb.a.id)) as session:
        assert "COO-002" not in _codes(search.search(session, kb.a.id, "犹豫期内退保有损失吗", 5, ON))

    found = ok(
        kb.api("adjuster").get("/api/v1/kb/search", params={"q": "退保金多久到账", "limit": 2, "on": "2026-03-01"})
    )
    assert [item["code"] for item in found["items"]][0] == "SUR-004" and len(found["items"]) == 2
    assert "退保金" in found["terms"]
    assert found["items"][0]["snippet"]
    assert kb.api("adjuster").get("/api/v1/kb/search", params={"q": "x", "on": "3001-01-01"}).status_code == 422
    categories = ok(kb.api("adjuster").get("/api/v1/kb/categories"))
    assert {"code": "surrender", "label": "Surrender"} in categories
