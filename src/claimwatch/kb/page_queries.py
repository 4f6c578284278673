"""Knowledge-base read models for the pages (/kb, /kb/{code}, /kb/review, /kb/stale) and the reviewers' inbox:
search results with a snippet, one article with its published answer, versions and feedback, the submitted
versions waiting for review with a character diff against the published one, and the stale report's table.

Search, the stale report and the writes are :mod:`claimwatch.kb.search`, :mod:`claimwatch.kb.stale` and
:mod:`claimwatch.kb.service`; this module only shapes what they find for a page."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from claimwatch.kb import search, service
from claimwatch.kb.models import KbArticle, KbArticleVersion, KbFeedback
from claimwatch.web.i18n import N_, translate

PAGE_SIZE = 20
SNIPPET = 120  # characters of the answer shown under a search result
DIFF_LIMIT = 6000  # longer texts are compared line by line, not character by character
STATUS_LABELS: dict[str, str] = {
    "draft": N_("Draft"),
    "submitted": N_("Submitted for review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "published": N_("Published"),
    "retired": N_("Retired"),
}


def article_url(code: str) -> str:
    return f"/kb/{code}"


def category_labels(session: Session, tenant_id: int, locale: str) -> dict[str, str]:
    """code → label in the page's language, in the configured order (the tenant's own file when it has one)."""
    return {c.code: c.label(locale) for c in service.categories_for(session, tenant_id).items.values()}


def _versions_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, KbArticleVersion]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(KbArticleVersion).where(KbArticleVersion.id.in_(wanted))).scalars()
    return {v.id: v for v in rows}


# --- search -----------------------------------------------------------------------------------------------


def marked(text: str, terms: Sequence[str]) -> list[tuple[str, bool]]:
    """``text`` as (piece, is_a_term) segments, the query terms found in it marked (longest first), for the
    template to wrap in <mark> (no HTML built here)."""
    marks = sorted({t for t in terms if t}, key=len, reverse=True)
    lowered = text.lower()
    segments: list[tuple[str, bool]] = []
    i, plain = 0, 0
    while i < len(text):
        hit = next((t for t in marks if lowered.startswith(t, i)), None)
        if hit is None:
            i += 1
            continue
        if plain < i:
            segments.append((text[plain:i], False))
        segments.append((text[i : i + len(hit)], True))
        i = plain = i + len(hit)
    if plain < len(text):
        segments.append((text[plain:], False))
    return segments


def search_rows(
    session: Session, tenant_id: int, query: str, category: str | None, on: dt.date, limit: int = PAGE_SIZE
) -> list[dict[str, Any]]:
    """The published, effective articles that answer ``query`` (best first, :func:`search.search`), or, without
    a query, every published article in effect (of the category) by category and code; each with a snippet of its
    answer, the matched terms marked."""
    if query:
        hits = search.search(session, tenant_id, query, limit, on, category=category)
        found = [(hit.article_id, hit.title, hit.category, hit.lines, hit.answer, hit.matched) for hit in hits]
    else:
        statement = (
            select(KbArticle.id, KbArticle.title, KbArticle.category, KbArticle.lines, KbArticleVersion.answer)
            .join(KbArticleVersion, KbArticleVersion.id == KbArticle.published_version_id)
            .where(KbArticle.status == "published", KbArticle.effective_from <= on)
            .where(or_(KbArticle.effective_to.is_(None), KbArticle.effective_to >= on))
        )
        if category:
            statement = statement.where(KbArticle.category == category)
        rows = session.execute(statement.order_by(KbArticle.category, KbArticle.code).limit(limit)).all()
        found = [(row.id, row.title, row.category, row.lines, row.answer, []) for row in rows]
    if not found:
        return []
    counts = {
        row.id: row
        for row in session.execute(
            select(KbArticle.id, KbArticle.code, KbArticle.helpful_yes, KbArticle.helpful_no).where(
                KbArticle.id.in_([item[0] for item in found])
            )
        )
    }
    return [
        {
            "code": counts[article_id].code,
            "title": title,
            "category": category_code,
            "lines": list(lines or []),
            "snippet": marked(search.snippet(answer, matched, SNIPPET), matched),
            "matched": matched,
            "helpful_yes": counts[article_id].helpful_yes,
            "helpful_no": counts[article_id].helpful_no,
        }
        for article_id, title, category_code, lines, answer, matched in found
        if article_id in counts
    ]


# --- one article ------------------------------------------------------------------------------------------


def _version_row(version: KbArticleVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "version": version.version,
        "question": version.question,
        "answer": version.answer,
        "status": version.status,
        "author": version.author,
        "created_at": version.created_at,
        "submitted_at": version.submitted_at,
        "reviewed_by": version.reviewed_by,
        "reviewed_at": version.reviewed_at,
        "review_note": version.review_note,
    }


def article_view(session: Session, article: KbArticle, given_by: str) -> dict[str, Any]:
    """The article with its published version, every version newest first, the open draft (the newest draft,
    submitted or rejected version after the published one: what the editor continues), and the reader's own
    feedback if any."""
    versions = list(
        session.execute(
            select(KbArticleVersion)
            .where(KbArticleVersion.article_id == article.id)
            .order_by(KbArticleVersion.version.desc())
        ).scalars()
    )
    published = next((v for v in versions if v.id == article.published_version_id), None)
    newest = versions[0] if versions else None
    pending = newest if newest is not None and newest.status in ("draft", "submitted", "rejected") else None
    mine = session.execute(
        select(KbFeedback.helpful)
        .where(KbFeedback.article_id == article.id, KbFeedback.given_by == given_by, KbFeedback.request_id.is_(None))
        .order_by(KbFeedback.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return {
        "id": article.id,
        "code": article.code,
        "title": article.title,
        "category": article.category,
        "lines": article.lines or [],
        "products": article.products or [],
        "status": article.status,
        "effective_from": article.effective_from,
        "effective_to": article.effective_to,
        "reviewed_at": article.reviewed_at,
        "helpful_yes": article.helpful_yes,
        "helpful_no": article.helpful_no,
        "created_by": article.created_by,
        "published": _version_row(published) if published else None,
        "pending": _version_row(pending) if pending else None,
        "versions": [_version_row(v) for v in versions],
        "my_feedback": mine,
    }


def editor_values(article: KbArticle, view: dict[str, Any]) -> dict[str, str]:
    """What the editor starts from: the open draft if there is one, else the published text."""
    source = view["pending"] or view["published"] or {}
    return {
        "code": article.code,
        "category": article.category,
        "question": source.get("question", article.title),
        "answer": source.get("answer", ""),
        "lines": ", ".join(article.lines or []),
        "products": ", ".join(article.products or []),
        "effective_from": article.effective_from.isoformat(),
        "effective_to": article.effective_to.isoformat() if article.effective_to else "",
    }


# --- review -----------------------------------------------------------------------------------------------


def diff(old: str, new: str) -> list[tuple[str, str]]:
    """(op, text) segments turning ``old`` into ``new``: op is ``same``, ``added`` or ``removed``. Character by
    character (Chinese has no spaces to split words at); line by line for long texts."""
    if len(old) + len(new) > DIFF_LIMIT:
        a: Sequence[str] = old.splitlines(keepends=True)
        b: Sequence[str] = new.splitlines(keepends=True)
    else:
        a, b = old, new
    segments: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(("added", "".join(b[j1:j2])))
    return segments


def _waiting(actor: str | None) -> Any:
    statement = select(KbArticleVersion).where(KbArticleVersion.status == "submitted")
    if actor is not None:
        statement = statement.where(KbArticleVersion.author != actor)
    return statement


def waiting_count(session: Session, actor: str | None = None) -> int:
    """Submitted versions waiting for review (``actor``: leaving out that author's own, which they may not
    approve)."""
    return session.execute(select(func.count()).select_from(_waiting(actor).subquery())).scalar_one()


def review_rows(session: Session, actor: str | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Submitted versions, oldest submission first, each with its article and the diff of its question and
    answer against the published version (against nothing for a new article)."""
    versions = list(
        session.execute(
            _waiting(actor).order_by(KbArticleVersion.submitted_at, KbArticleVersion.id).limit(limit).offset(offset)
        ).scalars()
    )
    if not versions:
        return []
    articles = {
        a.id: a
        for a in session.execute(select(KbArticle).where(KbArticle.id.in_({v.article_id for v in versions}))).scalars()
    }
    published = _versions_by_id(session, (a.published_version_id for a in articles.values()))
    rows = []
    for version in versions:
        article = articles[version.article_id]
        current = published.get(article.published_version_id or 0)
        rows.append(
            _version_row(version)
            | {
                "code": article.code,
                "category": article.category,
                "article_status": article.status,
                "published_version": current.version if current else None,
                "question_diff": diff(current.question if current else "", version.question),
                "answer_diff": diff(current.answer if current else "", version.answer),
            }
        )
    return rows


# --- stale ------------------------------------------------------------------------------------------------

STALE_REASON_LABELS: dict[str, str] = {
    "not_reviewed": N_("Not reviewed for a long time"),
    "unhelpful": N_("Readers find it unhelpful"),
}


def stale_table(rows: list[dict[str, Any]], locale: str, labels: dict[str, str]) -> tuple[list[str], list[list[Any]]]:
    header = [
        translate(locale, label)
        for label in (
            N_("Article"),
            N_("Question"),
            N_("Category"),
            N_("Last reviewed"),
            N_("Helpful"),
            N_("Not helpful"),
            N_("Why it is listed"),
        )
    ]
    table = [
        [
            row["code"],
            row["title"],
            labels.get(row["category"], row["category"]),
            row["reviewed_at"].date().isoformat() if row.get("reviewed_at") else "",
            row.get("helpful_yes", 0),
            row.get("helpful_no", 0),
            "; ".join(translate(locale, STALE_REASON_LABELS.get(r, r)) for r in row.get("reasons", [])),
        ]
        for row in rows
    ]
    return header, table
