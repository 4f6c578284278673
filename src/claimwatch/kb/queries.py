"""Read models of the knowledge base that the API shows (the pages have their own, ``page_queries``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from claimwatch.kb import repository, service
from claimwatch.kb.models import KbArticle, KbArticleVersion


def version_view(version: KbArticleVersion, article: KbArticle) -> dict[str, Any]:
    return {
        "version": version.version,
        "status": version.status,
        "question": version.question,
        "answer": version.answer,
        "author": version.author,
        "created_at": version.created_at,
        "submitted_at": version.submitted_at,
        "reviewed_by": version.reviewed_by,
        "reviewed_at": version.reviewed_at,
        "review_note": version.review_note,
        "published": version.id == article.published_version_id,
    }


def article_view(session: Session, article: KbArticle, locale: str, *, with_versions: bool = True) -> dict[str, Any]:
    versions = repository.versions(session, article.id)
    published = next((v for v in versions if v.id == article.published_version_id), None)
    owner = repository.usernames(session, [article.owner_id]).get(article.owner_id) if article.owner_id else None
    return {
        "id": article.id,
        "code": article.code,
        "category": article.category,
        "category_label": service.categories_for(session, article.tenant_id).label(article.category, locale),
        "lines": list(article.lines or []),
        "products": list(article.products or []),
        "owner": owner,
        "status": article.status,
        "title": article.title,
        "question": published.question if published else None,
        "answer": published.answer if published else None,
        "effective_from": article.effective_from,
        "effective_to": article.effective_to,
        "reviewed_at": article.reviewed_at,
        "helpful_yes": article.helpful_yes,
        "helpful_no": article.helpful_no,
        "created_by": article.created_by,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "versions": [version_view(v, article) for v in versions] if with_versions else [],
    }


def review_queue(session: Session) -> list[dict[str, Any]]:
    """Submitted versions waiting for review, oldest first."""
    return [
        {"code": article.code, "title": article.title, **version_view(version, article)}
        for article, version in repository.submitted_versions(session)
    ]
