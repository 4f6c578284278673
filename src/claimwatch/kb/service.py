"""Knowledge-base rules and writes (DESIGN M19; seed 002 客户咨询知识库): articles, their versions under review,
publication into the search index, retirement and "was this helpful" feedback. No function commits; every change
is audited (``kb.*``, subject the article code) in the caller's transaction.

- :func:`create_article` (EDIT_KB): code unique per insurer, category known, ``effective_from`` required (and
  ``effective_to`` not before it); the first version is a draft.
- :func:`update_article` (EDIT_KB): category, lines, products, owner, effective dates — at once (not reviewed:
  they say where an answer applies, not what it says).
- :func:`save_draft` (EDIT_KB): a new draft of the question and answer (an open draft is rewritten in place);
  :func:`submit` sends it for review; :func:`approve` (APPROVE_KB, never the author's own) publishes it;
  :func:`reject` (APPROVE_KB) needs a note.
- :func:`publish`: the one place an approved version becomes what handlers and search see: the article's
  ``published_version_id``, ``title``, ``reviewed_at``, ``search_terms`` and the search index.
- :func:`retire` (APPROVE_KB): out of search and suggestions; its history stays.
- :func:`feedback` (VIEW_KB): one answer per user (and request) and article; answering again replaces the answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from claimwatch import params
from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.kb import categories as categories_module
from claimwatch.kb import repository, search
from claimwatch.kb.models import KbArticle, KbArticleVersion, KbFeedback
from claimwatch.kb.schemas import ArticleIn, ArticleMetaIn, VersionIn
from claimwatch.tenancy import repository as tenancy_repository

STATUSES = ("draft", "published", "retired")
_META_FIELDS = set(ArticleMetaIn.model_fields)
VERSION_STATUSES = ("draft", "submitted", "approved", "rejected")


def tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "the knowledge base belongs to one insurer")
    return principal.tenant_id


def categories_for(session: Session, tenant_id: int) -> categories_module.Categories:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return categories_module.load(tenant.code if tenant is not None else None)


def get_article(session: Session, code: str, *, lock: bool = False) -> KbArticle:
    article = repository.article_by_code(session, code, lock=lock)
    if article is None:
        raise NotFound("code", f"no article {code}")
    return article


def get_version(session: Session, article: KbArticle, number: int) -> KbArticleVersion:
    found = repository.version(session, article.id, number)
    if found is None:
        raise NotFound("version", f"article {article.code} has no version {number}")
    return found


def _audit(session: Session, article: KbArticle, kind: str, actor: str, payload: dict[str, Any]) -> int:
    return audit_service.record(session, article.tenant_id, f"kb.{kind}", article.code, actor, payload)


def _clean_list(values: list[str] | None) -> list[str]:
    return list(dict.fromkeys(value.strip() for value in values or [] if value.strip()))


def _check_meta(session: Session, tenant_id: int, data: ArticleMetaIn, article: KbArticle | None) -> dict[str, Any]:
    """The changes ``data`` asks for, checked; refusals name the field."""
    changes: dict[str, Any] = {}
    if data.category is not None:
        if data.category not in categories_for(session, tenant_id):
            raise Invalid("category", f"unknown category {data.category!r}")
        changes["category"] = data.category
    if data.lines is not None:
        changes["lines"] = _clean_list(data.lines)
    if data.products is not None:
        changes["products"] = _clean_list(data.products)
    if data.owner is not None:
        owner_id = repository.user_id_by_name(session, tenant_id, data.owner) if data.owner else None
        if data.owner and owner_id is None:
            raise Invalid("owner", f"no user {data.owner!r} at this insurer")
        changes["owner_id"] = owner_id
    if data.effective_from is not None:
        changes["effective_from"] = params.checked_date("effective_from", data.effective_from)
    if "effective_to" in data.model_fields_set:
        changes["effective_to"] = (
            params.checked_date("effective_to", data.effective_to) if data.effective_to is not None else None
        )
    start = changes.get("effective_from", article.effective_from if article else None)
    end = changes.get("effective_to", article.effective_to if article else None)
    if start is None:
        raise Invalid("effective_from", "effective_from is required: the date from which the answer applies")
    if end is not None and end < start:
        raise Invalid("effective_to", "effective_to is before effective_from")
    return changes


def _plain(changes: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, dt.date) else value for key, value in changes.items()}


def create_article(
    session: Session, principal: Principal, data: ArticleIn, *, at: dt.datetime | None = None
) -> KbArticle:
    """A new article with its first version as a draft."""
    principal.require(Permission.EDIT_KB)
    tenant_id = tenant_of(principal)
    if data.category is None:
        raise Invalid("category", "category is required")
    changes = _check_meta(session, tenant_id, data, None)
    if repository.article_by_code(session, data.code) is not None:
        raise Conflict("code", f"article {data.code} exists")
    now = at or utc_now()
    article = KbArticle(
        tenant_id=tenant_id,
        code=data.code,
        status="draft",
        title=data.question.strip(),
        search_terms="",
        created_by=principal.actor,
        created_at=now,
        updated_at=now,
        **({"lines": [], "products": [], "owner_id": principal.user_id} | changes),
    )
    session.add(article)
    session.flush()
    version = KbArticleVersion(
        tenant_id=tenant_id,
        article_id=article.id,
        version=1,
        question=data.question.strip(),
        answer=data.answer.strip(),
        status="draft",
        author=principal.actor,
        created_at=now,
    )
    session.add(version)
    session.flush()
    _audit(session, article, "article_created", principal.actor, {"version": 1, **_plain(changes)})
    return article


def update_article(session: Session, principal: Principal, code: str, data: ArticleMetaIn) -> KbArticle:
    principal.require(Permission.EDIT_KB)
    tenant_id = tenant_of(principal)
    article = get_article(session, code, lock=True)
    if article.status == "retired":
        raise Conflict("status", f"article {code} is retired")
    changes = _check_meta(session, tenant_id, data, article)
    changed = {key: value for key, value in changes.items() if getattr(article, key) != value}
    if changed:
        for key, value in changed.items():
            setattr(article, key, value)
        article.updated_at = utc_now()
        _audit(session, article, "article_updated", principal.actor, _plain(changed))
    return article


def save_draft(session: Session, principal: Principal, code: str, data: VersionIn) -> KbArticleVersion:
    """A draft of a new question and answer (with an :class:`ArticleIn`, the article's category, lines, products,
    owner and dates are updated too). The article's open draft is rewritten (by anyone who may edit); while a
    version waits for review no other is started (Conflict on ``status``)."""
    principal.require(Permission.EDIT_KB)
    tenant_of(principal)
    article = get_article(session, code, lock=True)
    if article.status == "retired":
        raise Conflict("status", f"article {code} is retired")
    existing = repository.versions(session, article.id)
    if any(v.status == "submitted" for v in existing):
        raise Conflict("status", f"a version of {code} is waiting for review")
    if isinstance(data, ArticleMetaIn):
        update_article(
            session,
            principal,
            code,
            ArticleMetaIn.model_validate(data.model_dump(include=_META_FIELDS & data.model_fields_set)),
        )
    now = utc_now()
    draft = next((v for v in existing if v.status == "draft"), None)
    if draft is None:
        draft = KbArticleVersion(
            tenant_id=article.tenant_id,
            article_id=article.id,
            version=max((v.version for v in existing), default=0) + 1,
            status="draft",
            created_at=now,
        )
        session.add(draft)
    draft.question, draft.answer, draft.author = data.question.strip(), data.answer.strip(), principal.actor
    if article.published_version_id is None:
        article.title = draft.question
    article.updated_at = now
    session.flush()
    _audit(session, article, "version_saved", principal.actor, {"version": draft.version})
    return draft


def version_of(session: Session, code: str, number: int) -> KbArticleVersion:
    """The version ``number`` of article ``code`` (the API names versions so)."""
    return get_version(session, get_article(session, code), number)


def _version_by_id(session: Session, version_id: int) -> tuple[KbArticle, KbArticleVersion]:
    version = repository.version_by_id(session, version_id)
    article = repository.article_by_id(session, version.article_id, lock=True) if version is not None else None
    if version is None or article is None:
        raise NotFound("version", f"no version {version_id}")
    return article, version


def submit(session: Session, principal: Principal, version_id: int) -> KbArticleVersion:
    """A draft goes to review (the review queue and the reviewers' inbox)."""
    principal.require(Permission.EDIT_KB)
    tenant_of(principal)
    article, version = _version_by_id(session, version_id)
    if version.status != "draft":
        raise Conflict("status", f"version {version.version} is {version.status}: only a draft is submitted")
    version.status, version.submitted_at = "submitted", utc_now()
    version.audit_seq = _audit(session, article, "version_submitted", principal.actor, {"version": version.version})
    return version


def _reviewable(session: Session, principal: Principal, version_id: int) -> tuple[KbArticle, KbArticleVersion]:
    principal.require(Permission.APPROVE_KB)
    tenant_of(principal)
    article, version = _version_by_id(session, version_id)
    if version.status != "submitted":
        raise Conflict("status", f"version {version.version} is {version.status}: only a submitted version is reviewed")
    if version.author == principal.actor:
        raise Forbidden("author", "the author of a version cannot review it")
    if article.status == "retired":
        raise Conflict("status", f"article {article.code} is retired")
    return article, version


def publish(
    session: Session, article: KbArticle, version: KbArticleVersion, reviewer: str, at: dt.datetime | None = None
) -> None:
    """Make an approved version what handlers and search see (also the import's and the demo's way in)."""
    now = at or utc_now()
    version.status, version.reviewed_by, version.reviewed_at = "approved", reviewer, now
    article.status = "published"
    article.published_version_id = version.id
    article.title = version.question
    article.reviewed_at = now
    article.updated_at = now
    article.search_terms = search.document_terms(version.question, version.answer)
    session.flush()
    search.index_article(session, article)


def approve(session: Session, principal: Principal, version_id: int, note: str | None = None) -> KbArticle:
    """Publish a submitted version (not one's own)."""
    article, version = _reviewable(session, principal, version_id)
    version.review_note = (note or "").strip() or None
    publish(session, article, version, principal.actor)
    version.audit_seq = _audit(
        session, article, "version_approved", principal.actor, {"version": version.version, "note": version.review_note}
    )
    return article


def reject(session: Session, principal: Principal, version_id: int, note: str | None) -> KbArticleVersion:
    """Send a submitted version back with a note (required)."""
    article, version = _reviewable(session, principal, version_id)
    text = (note or "").strip()
    if not text:
        raise Invalid("note", "say why the version is rejected")
    version.status, version.reviewed_by, version.reviewed_at, version.review_note = (
        "rejected",
        principal.actor,
        utc_now(),
        text,
    )
    version.audit_seq = _audit(
        session, article, "version_rejected", principal.actor, {"version": version.version, "note": text}
    )
    return version


def retire(session: Session, principal: Principal, code: str, reason: str | None = None) -> KbArticle:
    principal.require(Permission.APPROVE_KB)
    tenant_of(principal)
    article = get_article(session, code, lock=True)
    if article.status == "retired":
        raise Conflict("status", f"article {code} is retired already")
    text = (reason or "").strip() or None
    article.status, article.updated_at = "retired", utc_now()
    search.unindex_article(session, article)
    _audit(session, article, "article_retired", principal.actor, {"reason": text})
    return article


def feedback(
    session: Session,
    principal: Principal,
    article_id: int,
    helpful: bool,
    comment: str | None = None,
    request_id: int | None = None,
) -> KbArticle:
    """ "Was this helpful" on a published article, by the caller (from a service request when ``request_id``).
    One answer per user, request and article: answering again replaces it."""
    principal.require(Permission.VIEW_KB)
    tenant_id = tenant_of(principal)
    article = repository.article_by_id(session, article_id, lock=True)
    if article is None:
        raise NotFound("article", f"no article {article_id}")
    if article.status != "published":
        raise Conflict("status", f"article {article.code} is not published")
    text = params.clean_text(comment, "comment", required=False, limit=2000)
    earlier = repository.feedback_of(session, article.id, principal.actor, request_id)
    if earlier is not None:
        if earlier.helpful:
            article.helpful_yes -= 1
        else:
            article.helpful_no -= 1
        earlier.helpful, earlier.comment, earlier.given_at = helpful, text, utc_now()
    else:
        session.add(
            KbFeedback(
                tenant_id=tenant_id,
                article_id=article.id,
                request_id=request_id,
                helpful=helpful,
                comment=text,
                given_by=principal.actor,
                given_at=utc_now(),
            )
        )
    if helpful:
        article.helpful_yes += 1
    else:
        article.helpful_no += 1
    _audit(
        session,
        article,
        "feedback",
        principal.actor,
        {"helpful": helpful, "request_id": request_id, "replaced": earlier is not None},
    )
    return article


def audit_import(session: Session, article: KbArticle, actor: str, source: str) -> None:
    """An imported article, published as it came (the import's own record)."""
    _audit(session, article, "article_imported", actor, {"source": source[:300], "version": 1})
