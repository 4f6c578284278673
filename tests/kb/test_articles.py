"""Knowledge-base articles through the API, the service, the import and the CLI, on both databases: an article
written, refused without its effective date or with an unknown category (nothing written), submitted, not
approved by its author, approved (published and searchable at once), a second version rejected with a note,
feedback one per user, retirement out of search, the stale report, another insurer's article unseen, every
change audited; the import all or nothing with its reject report."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from claimwatch.audit.models import AuditEntry
from claimwatch.cli import app as cli_app
from claimwatch.complaints.importer import ImportRejected
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kb import importer, stale
from claimwatch.kb.cli import _operator
from claimwatch.kb.models import KbArticle
from tests.factories import World
from tests.kb.kb_world import KbWorld, build, ok
from tests.snapshots import Snapshot

NEW = {
    "code": "NEW-1",
    "category": "invoice",
    "lines": ["motor"],
    "effective_from": "2026-01-01",
    "question": "电子发票的开票日期可以指定吗",
    "answer": "电子发票的开票日期为实际开具当天，不能指定或倒签。",
}


@pytest.fixture
def kb(world: World, db_snapshot: Snapshot) -> KbWorld:
    return db_snapshot("kb.world", lambda: build(world))


def _codes(client, q: str) -> list[str]:
    return [item["code"] for item in ok(client.get("/api/v1/kb/search", params={"q": q}))["items"]]


def test_article_review_publish_feedback_retire(kb: KbWorld) -> None:
    editor, editor2, reviewer = kb.api("editor"), kb.api("editor2"), kb.api("reviewer")
    missing = editor.post("/api/v1/kb/articles", json={k: v for k, v in NEW.items() if k != "effective_from"})
    assert missing.status_code == 422 and missing.json()["problems"][0]["field"] == "effective_from"
    unknown = editor.post("/api/v1/kb/articles", json=NEW | {"category": "weather"})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "category"
    backwards = editor.post("/api/v1/kb/articles", json=NEW | {"effective_to": "2025-01-01"})
    assert backwards.status_code == 422 and backwards.json()["problems"][0]["field"] == "effective_to"
    assert editor.get("/api/v1/kb/articles/NEW-1").status_code == 404  # nothing written
    assert editor.post("/api/v1/kb/articles", json=NEW | {"code": "POL-001"}).status_code == 409
    assert kb.api("adjuster").post("/api/v1/kb/articles", json=NEW).status_code == 403

    created = ok(editor.post("/api/v1/kb/articles", json=NEW), 201)
    assert (created["status"], created["answer"], [v["status"] for v in created["versions"]]) == (
        "draft",
        None,
        ["draft"],
    )
    assert "NEW-1" not in _codes(editor, "开票日期")
    ok(editor.post("/api/v1/kb/articles/NEW-1/versions/1/submit"))
    assert editor.post("/api/v1/kb/articles/NEW-1/versions/1/approve", json={}).status_code == 403  # role
    pending = ok(reviewer.get("/api/v1/kb/reviews"))
    assert [(row["code"], row["version"]) for row in pending] == [("NEW-1", 1)]

    # A reviewer may not approve their own version.
    own = ok(reviewer.post("/api/v1/kb/articles", json=NEW | {"code": "NEW-2"}), 201)
    assert own["owner"] is None  # an API key is no user
    ok(reviewer.post("/api/v1/kb/articles/NEW-2/versions/1/submit"))
    refused = reviewer.post("/api/v1/kb/articles/NEW-2/versions/1/approve", json={})
    assert refused.status_code == 403 and refused.json()["problems"][0]["field"] == "author"

    approved = ok(reviewer.post("/api/v1/kb/articles/NEW-1/versions/1/approve", json={"note": "ok"}))
    assert approved["status"] == "approved" and approved["published"]
    assert _codes(editor, "发票开票日期能不能指定")[0] == "NEW-1"
    assert reviewer.post("/api/v1/kb/articles/NEW-1/versions/1/approve", json={}).status_code == 409

    # A second version: rejected (a note is required); the published answer stays.
    v2 = ok(editor2.post("/api/v1/kb/articles/NEW-1/versions", json={"question": "改", "answer": "改过"}), 201)
    assert v2["version"] == 2 and v2["status"] == "draft"
    ok(editor2.post("/api/v1/kb/articles/NEW-1/versions/2/submit"))
    assert editor.post("/api/v1/kb/articles/NEW-1/versions", json={"question": "x", "answer": "y"}).status_code == 409
    no_note = reviewer.post("/api/v1/kb/articles/NEW-1/versions/2/reject", json={})
    assert no_note.status_code == 422 and no_note.json()["problems"][0]["field"] == "note"
    rejected = ok(reviewer.post("/api/v1/kb/articles/NEW-1/versions/2/reject", json={"note": "太短"}))
    assert (rejected["status"], rejected["review_note"]) == ("rejected", "太短")
    article = ok(editor.get("/api/v1/kb/articles/NEW-1"))
    assert article["question"] == NEW["question"] and article["status"] == "published"
    assert article["category_label"] == "Invoices" and article["reviewed_at"]

    # Metadata changes at once; bad ones name the field.
    patched = ok(editor.patch("/api/v1/kb/articles/NEW-1", json={"lines": ["motor", "property"], "effective_to": None}))
    assert patched["lines"] == ["motor", "property"]
    bad_owner = editor.patch("/api/v1/kb/articles/NEW-1", json={"owner": "nobody"})
    assert bad_owner.status_code == 422 and bad_owner.json()["problems"][0]["field"] == "owner"

    # Feedback: one answer per user, a second replaces the first.
    assert ok(editor.post("/api/v1/kb/articles/POL-001/feedback", json={"helpful": True}))["helpful_yes"] == 1
    counts = ok(editor.post("/api/v1/kb/articles/POL-001/feedback", json={"helpful": False, "comment": "旧"}))
    assert (counts["helpful_yes"], counts["helpful_no"]) == (0, 1)
    counts = ok(editor2.post("/api/v1/kb/articles/POL-001/feedback", json={"helpful": False, "request_id": 7}))
    assert (counts["helpful_yes"], counts["helpful_no"]) == (0, 2)
    assert editor.post("/api/v1/kb/articles/NEW-2/feedback", json={"helpful": True}).status_code == 409  # draft

    # The stale report: not reviewed for 12 months, or unhelpful with enough answers.
    stale_now = ok(editor.get("/api/v1/kb/stale", params={"min_answers": 2}))
    assert [(row["code"], row["reasons"]) for row in stale_now] == [("POL-001", ["unhelpful"])]
    with unit_of_work(TenantContext.for_tenant(kb.a.id)) as session:
        later = stale.report(session, dt.date(2027, 1, 6))
    assert len(later) == 68 and all(row["reasons"] == ["not_reviewed"] for row in later)  # not NEW-1
    assert editor.get("/api/v1/kb/stale", params={"months": 0}).status_code == 422

    # Retired: out of search, history kept; another insurer sees none of it; the regulator none at all.
    assert editor.post("/api/v1/kb/articles/NEW-1/retire", json={"reason": "x"}).status_code == 403
    assert ok(reviewer.post("/api/v1/kb/articles/NEW-1/retire", json={"reason": "过时"}))["status"] == "retired"
    assert "NEW-1" not in _codes(editor, "发票开票日期能不能指定")
    assert kb.api("b_editor").get("/api/v1/kb/articles/NEW-1").status_code == 404
    listed = ok(kb.api("b_editor").get("/api/v1/kb/articles"))
    assert [item["code"] for item in listed["items"]] == ["POL-001"] and listed["total"] == 1

    with unit_of_work(TenantContext.for_tenant(kb.a.id)) as session:
        kinds = dict(
            session.execute(
                select(AuditEntry.kind, func.count())
                .where(AuditEntry.tenant_id == kb.a.id, AuditEntry.kind.like("kb.%"), AuditEntry.subject == "NEW-1")
                .group_by(AuditEntry.kind)
            ).all()
        )
    assert kinds == {
        "kb.article_created": 1,
        "kb.version_submitted": 2,
        "kb.version_approved": 1,
        "kb.version_saved": 1,
        "kb.version_rejected": 1,
        "kb.article_updated": 1,
        "kb.article_retired": 1,
    }


BAD_YAML = """articles:
  - code: X-1
    category: invoice
    question: 没有生效日期
    answer: 缺 effective_from
  - code: X-2
    category: weather
    effective_from: 2026-01-01
    question: 未知分类
    answer: 分类不对
  - code: X-3
    category: invoice
    effective_from: 2026-01-01
    question: 好的
    answer: 好的
  - code: X-3
    category: invoice
    effective_from: 2026-01-01
    question: 重复
    answer: 重复
"""
CSV = "编号,分类,险种,生效日期,问题,答案\nC-1,invoice,motor;property,2026/2/1,车险发票怎么开,在APP开具电子发票\n"


def test_import_all_or_nothing_and_cli(kb: KbWorld, tmp_path) -> None:
    with unit_of_work(TenantContext.for_tenant(kb.a.id)) as session:
        with pytest.raises(ImportRejected) as refused:
            importer.import_articles(session, _operator(kb.a.id, "test"), BAD_YAML, "bad.yaml")
    found = [(r.line, r.field) for r in refused.value.result.rejects]
    assert found == [(2, "effective_from"), (6, "category"), (16, "code")]
    with unit_of_work(TenantContext.for_tenant(kb.a.id)) as session:
        assert (
            session.execute(select(func.count()).select_from(KbArticle).where(KbArticle.code.like("X-%"))).scalar() == 0
        )

    runner = CliRunner()
    csv_file = tmp_path / "kb.csv"
    csv_file.write_text(CSV, encoding="utf-8-sig")
    result = runner.invoke(cli_app, ["kb", "import", str(csv_file), "--tenant", "KA"])
    assert result.exit_code == 0, result.output
    assert "imported and published 1" in result.output
    result = runner.invoke(cli_app, ["kb", "import", str(csv_file), "--tenant", "KA"])
    assert "already there 1" in result.output
    result = runner.invoke(cli_app, ["kb", "search", "车险发票怎么开", "--tenant", "KA", "--line", "motor"])
    assert result.exit_code == 0 and "C-1" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_YAML, encoding="utf-8")
    result = runner.invoke(cli_app, ["kb", "import", str(bad), "--tenant", "KA"])
    assert result.exit_code != 0 and "line 2" in result.output and "nothing imported" in result.output
