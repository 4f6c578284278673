"""Knowledge-base queries (tenant-scoped by db.py)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth.models import User
from claimwatch.kb.models import KbArticle, KbArticleVersion, KbFeedback


def article_by_code(session: Session, code: str, *, lock: bool = False) -> KbArticle | None:
    statement = select(KbArticle).where(KbArticle.code == code)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def article_by_id(session: Session, article_id: int, *, lock: bool = False) -> KbArticle | None:
    statement = select(KbArticle).where(KbArticle.id == article_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def existing_codes(session: Session, codes: Iterable[str]) -> set[str]:
    wanted = list(set(codes))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            session.execute(select(KbArticle.code).where(KbArticle.code.in_(wanted[start : start + 500]))).scalars()
        )
    return found


def versions(session: Session, article_id: int) -> list[KbArticleVersion]:
    return list(
        session.execute(
            select(KbArticleVersion).where(KbArticleVersion.article_id == article_id).order_by(KbArticleVersion.version)
        ).scalars()
    )


def version(session: Session, article_id: int, number: int) -> KbArticleVersion | None:
    return session.execute(
        select(KbArticleVersion).where(KbArticleVersion.article_id == article_id, KbArticleVersion.version == number)
    ).scalar_one_or_none()


def version_by_id(session: Session, version_id: int) -> KbArticleVersion | None:
    return session.execute(select(KbArticleVersion).where(KbArticleVersion.id == version_id)).scalar_one_or_none()


def last_version_number(session: Session, article_id: int) -> int:
    found = session.execute(
        select(func.max(KbArticleVersion.version)).where(KbArticleVersion.article_id == article_id)
    ).scalar_one()
    return int(found or 0)


def submitted_versions(session: Session, limit: int = 200) -> list[tuple[KbArticle, KbArticleVersion]]:
    """Versions waiting for review, oldest submission first (the review queue, the reviewers' inbox)."""
    rows = session.execute(
        select(KbArticle, KbArticleVersion)
        .join(KbArticleVersion, KbArticleVersion.article_id == KbArticle.id)
        .where(KbArticleVersion.status == "submitted")
        .order_by(KbArticleVersion.submitted_at, KbArticleVersion.id)
        .limit(limit)
    ).all()
    return [(article, version) for article, version in rows]


def feedback_of(session: Session, article_id: int, given_by: str, request_id: int | None) -> KbFeedback | None:
    statement = select(KbFeedback).where(KbFeedback.article_id == article_id, KbFeedback.given_by == given_by)
    statement = statement.where(
        KbFeedback.request_id.is_(None) if request_id is None else KbFeedback.request_id == request_id
    )
    return session.execute(statement.limit(1)).scalar_one_or_none()


def articles(
    session: Session, *, status: str | None = None, category: str | None = None, limit: int = 200, offset: int = 0
) -> tuple[int, list[KbArticle]]:
    statement = select(KbArticle)
    if status:
        statement = statement.where(KbArticle.status == status)
    if category:
        statement = statement.where(KbArticle.category == category)
    total = session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
    rows = session.execute(statement.order_by(KbArticle.code).limit(limit).offset(offset)).scalars()
    return int(total), list(rows)


def user_id_by_name(session: Session, tenant_id: int, username: str) -> int | None:
    """A user of the tenant (users are not tenant-scoped: looked up with the tenant named)."""
    return session.execute(
        select(User.id).where(User.username == username, User.tenant_id == tenant_id)
    ).scalar_one_or_none()


def usernames(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = [i for i in set(ids) if i is not None]
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).tuples().all())
