"""Knowledge-base routes (thin): search, articles, versions and their review, retirement, feedback, the stale
report. Reading and feedback need VIEW_KB; writing articles and versions EDIT_KB; approving, rejecting and
retiring APPROVE_KB. The knowledge base is one insurer's: the regulator gets 403. Each request is one
transaction."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from claimwatch import params
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Invalid
from claimwatch.kb import queries, repository, search, service, stale
from claimwatch.kb.schemas import (
    ArticleCode,
    ArticleIn,
    ArticleMetaIn,
    ArticleOut,
    FeedbackIn,
    FeedbackOut,
    HitOut,
    RetireIn,
    ReviewIn,
    SearchOut,
    StaleOut,
    VersionIn,
    VersionOut,
)

router = APIRouter(tags=["knowledge base"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this (the regulator; a reviewer approving their own version)"},
    404: {"description": "unknown article or version (another insurer's is unknown too)"},
    409: {"description": "not possible in the state (retired, not submitted, a version in review)"},
    422: {"description": "invalid field (named in 'problems')"},
}


def _insurer(principal: Principal) -> Principal:
    service.tenant_of(principal)
    return principal


def _viewer(principal: Principal = Depends(require(Permission.VIEW_KB))) -> Principal:
    return _insurer(principal)


def _editor(principal: Principal = Depends(require(Permission.EDIT_KB))) -> Principal:
    return _insurer(principal)


def _approver(principal: Principal = Depends(require(Permission.APPROVE_KB))) -> Principal:
    return _insurer(principal)


ViewerDep = Annotated[Principal, Depends(_viewer)]
EditorDep = Annotated[Principal, Depends(_editor)]
ApproverDep = Annotated[Principal, Depends(_approver)]


def _article(session: Session, request: Request, code: str) -> Any:
    article = service.get_article(session, code)
    return jsonable_encoder(ArticleOut.model_validate(queries.article_view(session, article, request_locale(request))))


def _version(session: Session, code: str, number: int) -> Any:
    version = service.version_of(session, code, number)
    article = service.get_article(session, code)
    return jsonable_encoder(VersionOut.model_validate(queries.version_view(version, article)))


@router.get("/api/v1/kb/categories", responses=_ERRORS)
def get_categories(request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    """The insurer's article categories (code and label)."""
    tenant_id = service.tenant_of(principal)
    return service.categories_for(session, tenant_id).as_list(request_locale(request))


@router.get("/api/v1/kb/search", response_model=SearchOut, responses=_ERRORS)
def get_search(
    principal: ViewerDep,
    session: TenantSession,
    q: str = Query(..., min_length=1, max_length=2000, description="the customer's question or any text"),
    limit: int = Query(10, ge=1, le=search.MAX_LIMIT),
    category: str = Query("", max_length=32),
    line: str = Query("", max_length=48, description="only articles for this line (or for every line)"),
    on: dt.date | None = Query(None, description="articles in effect on this day (default today)"),
) -> Any:
    """Published articles in effect, best answer first (jieba terms; the database's full-text index)."""
    tenant_id = service.tenant_of(principal)
    if on is not None:
        on = params.checked_date("on", on)
    hits = search.search(session, tenant_id, q, limit, on, category=category or None, line=line or None)
    return SearchOut(
        query=q,
        terms=search.query_terms(q),
        items=[HitOut(**hit.as_dict(), snippet=search.snippet(hit.answer, hit.matched)) for hit in hits],  # type: ignore[arg-type]
    )


@router.get("/api/v1/kb/articles", responses=_ERRORS)
def get_articles(
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    status: str = Query("", max_length=16, description="draft | published | retired"),
    category: str = Query("", max_length=32),
    page: int = Query(1, ge=1, le=10_000),
) -> Any:
    """Articles by code, 100 a page (without their versions)."""
    if status and status not in service.STATUSES:
        raise Invalid("status", f"status must be one of {', '.join(service.STATUSES)}")
    total, rows = repository.articles(
        session, status=status or None, category=category or None, limit=100, offset=(page - 1) * 100
    )
    locale = request_locale(request)
    items = [ArticleOut.model_validate(queries.article_view(session, a, locale, with_versions=False)) for a in rows]
    return {"total": total, "page": page, "items": jsonable_encoder(items)}


@router.post("/api/v1/kb/articles", status_code=201, response_model=ArticleOut, responses=_ERRORS)
def post_article(body: ArticleIn, request: Request, principal: EditorDep, session: TenantSession) -> Any:
    """A new article; its first version is a draft (submit it for review to publish it)."""
    article = service.create_article(session, principal, body)
    return JSONResponse(status_code=201, content=_article(session, request, article.code))


@router.get("/api/v1/kb/reviews", responses=_ERRORS)
def get_reviews(principal: ApproverDep, session: TenantSession) -> Any:
    """Versions waiting for review, oldest first."""
    return jsonable_encoder(queries.review_queue(session))


@router.get("/api/v1/kb/stale", response_model=list[StaleOut], responses=_ERRORS)
def get_stale(
    principal: ViewerDep,
    session: TenantSession,
    months: int = Query(stale.DEFAULT_MONTHS, ge=1, le=120, description="not reviewed for this many months"),
    min_share: float = Query(stale.DEFAULT_MIN_SHARE, ge=0, le=1, description="helpful share below this …"),
    min_answers: int = Query(stale.DEFAULT_MIN_ANSWERS, ge=1, le=10_000, description="… with this many answers"),
) -> Any:
    """Published articles not reviewed for ``months`` months or found unhelpful, oldest review first."""
    return stale.report(session, months=months, min_share=min_share, min_answers=min_answers)


@router.get("/api/v1/kb/articles/{code}", response_model=ArticleOut, responses=_ERRORS)
def get_article(code: ArticleCode, request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    """One article with its published answer and every version."""
    return _article(session, request, code)


@router.patch("/api/v1/kb/articles/{code}", response_model=ArticleOut, responses=_ERRORS)
def patch_article(
    code: ArticleCode, body: ArticleMetaIn, request: Request, principal: EditorDep, session: TenantSession
) -> Any:
    """Change the category, lines, products, owner or effective dates (at once, audited)."""
    service.update_article(session, principal, code, body)
    return _article(session, request, code)


@router.post("/api/v1/kb/articles/{code}/versions", status_code=201, response_model=VersionOut, responses=_ERRORS)
def post_version(code: ArticleCode, body: VersionIn, principal: EditorDep, session: TenantSession) -> Any:
    """A new draft of the question and answer (the open draft is rewritten)."""
    version = service.save_draft(session, principal, code, body)
    return JSONResponse(status_code=201, content=_version(session, code, version.version))


@router.post("/api/v1/kb/articles/{code}/versions/{number}/submit", response_model=VersionOut, responses=_ERRORS)
def post_submit(code: ArticleCode, number: int, principal: EditorDep, session: TenantSession) -> Any:
    """Send a draft for review."""
    service.submit(session, principal, _version_id(session, code, number))
    return _version(session, code, number)


@router.post("/api/v1/kb/articles/{code}/versions/{number}/approve", response_model=VersionOut, responses=_ERRORS)
def post_approve(code: ArticleCode, number: int, body: ReviewIn, principal: ApproverDep, session: TenantSession) -> Any:
    """Approve a submitted version (not one's own): it is published and searchable at once."""
    service.approve(session, principal, _version_id(session, code, number), body.note)
    return _version(session, code, number)


@router.post("/api/v1/kb/articles/{code}/versions/{number}/reject", response_model=VersionOut, responses=_ERRORS)
def post_reject(code: ArticleCode, number: int, body: ReviewIn, principal: ApproverDep, session: TenantSession) -> Any:
    """Send a submitted version back with a note (required)."""
    service.reject(session, principal, _version_id(session, code, number), body.note)
    return _version(session, code, number)


@router.post("/api/v1/kb/articles/{code}/retire", response_model=ArticleOut, responses=_ERRORS)
def post_retire(
    code: ArticleCode, body: RetireIn, request: Request, principal: ApproverDep, session: TenantSession
) -> Any:
    """Take an article out of search and suggestions (its history stays)."""
    service.retire(session, principal, code, body.reason)
    return _article(session, request, code)


@router.post("/api/v1/kb/articles/{code}/feedback", response_model=FeedbackOut, responses=_ERRORS)
def post_feedback(code: ArticleCode, body: FeedbackIn, principal: ViewerDep, session: TenantSession) -> Any:
    """ "Was this helpful": one answer per user (and request); answering again replaces it."""
    article = service.get_article(session, code)
    article = service.feedback(session, principal, article.id, body.helpful, body.comment, body.request_id)
    return FeedbackOut(
        code=article.code, helpful=body.helpful, helpful_yes=article.helpful_yes, helpful_no=article.helpful_no
    )


def _version_id(session: Session, code: str, number: int) -> int:
    if not 1 <= number <= 100_000:
        raise Invalid("number", "a version number is 1–100000")
    return service.version_of(session, code, number).id
