"""The knowledge-base pages (客户咨询知识库): search (/kb: a search box, results with a snippet of the answer,
a category filter), one article (/kb/{code}: the published answer, its versions, "was this helpful"), the editor
(/kb/new, /kb/{code}/edit: question, answer, category, lines, products, effective dates; saves a draft version
and submits it for review), the review queue (/kb/review: submitted versions with their difference from the
published one, approve or reject with a note) and the stale-article report (/kb/stale, CSV).

Every write is a CSRF-checked POST (a plain ``def`` reading :data:`forms.PostedForm`) whose service call runs in a
savepoint: a refusal rolls it back and the page comes back with the field named and what was typed kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.kb import page_queries, repository, service, stale
from claimwatch.kb.schemas import ArticleIn
from claimwatch.tables import CSV_MEDIA_TYPE, csv_text
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_KB))]
EditorDep = Annotated[Principal, Depends(require(Permission.EDIT_KB))]
ApproverDep = Annotated[Principal, Depends(require(Permission.APPROVE_KB))]
MAX_TEXT = 10_000
FIELD_LABELS: dict[str, str] = {
    "code": N_("Article code"),
    "category": N_("Category"),
    "question": N_("Question"),
    "answer": N_("Answer"),
    "lines": N_("Lines of business"),
    "products": N_("Products"),
    "effective_from": N_("Effective from"),
    "effective_to": N_("Effective until"),
    "note": N_("Review note"),
    "status": N_("Status"),
    "author": N_("Author"),
    "reviewer": N_("Reviewer"),
    "helpful": N_("Helpful"),
    "q": N_("Search"),
    "months": N_("Months"),
    "form": N_("Form"),
}
FIELD_MESSAGES: dict[str, str] = {
    "code": N_("Give a code of letters, digits and dashes that no other article has."),
    "category": N_("Choose a category from the list."),
    "question": N_("Write the customer's question."),
    "answer": N_("Write the answer the handler gives."),
    "effective_from": N_("Give the date from which the answer holds (YYYY-MM-DD)."),
    "effective_to": N_("Give a date after the start, or leave it empty."),
    "note": N_("Say what has to change: the author reads this note."),
    "status": N_("Not possible in the version's current state."),
    "author": N_("Someone else reviews your own version."),
    "reviewer": N_("Someone else reviews your own version."),
}
_EDITOR_FIELDS = ("code", "category", "question", "answer", "lines", "products", "effective_from", "effective_to")


def _text(form: FormData, name: str, limit: int = MAX_TEXT) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


def _csrf(request: Request, form: FormData) -> None:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden("form", "the form expired: reload the page")


def _own(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "the knowledge base is an insurer's own")
    return principal.tenant_id


def _problem(locale: str, exc: Problem) -> dict[str, Any]:
    problem = forms.problem_for(locale, exc)
    if exc.field in FIELD_MESSAGES:
        problem["message"] = translate(locale, FIELD_MESSAGES[exc.field])
    return problem


def _today(session: Session, principal: Principal) -> dt.date:
    return utc_now().astimezone(tenancy_service.tenant_zone(session, principal.tenant_id)).date()


def _render(
    request: Request,
    session: Session,
    principal: Principal,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    context = {
        "field_labels": FIELD_LABELS,
        "status_labels": page_queries.STATUS_LABELS,
        "category_labels": page_queries.category_labels(session, _own(principal), locale),
        "may_edit": principal.can(Permission.EDIT_KB),
        "may_approve": principal.can(Permission.APPROVE_KB),
    } | context
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(request, template, context, status_code=status_code, principal=principal, zone=zone)


# --- search -----------------------------------------------------------------------------------------------


@router.get("/kb")
def search_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    """Search the published, effective answers (best first) or, without words, browse a category."""
    tenant_id = _own(principal)
    params = request.query_params
    query = (params.get("q") or "").strip()[:200]
    category = (params.get("category") or "")[:32] or None
    labels = page_queries.category_labels(session, tenant_id, request_locale(request))
    problem, status_code, rows = None, 200, []
    if category and category not in labels:
        exc = Invalid("category", f"category must be one of {', '.join(labels)}")
        problem, status_code = _problem(request_locale(request), exc), exc.status
    else:
        rows = page_queries.search_rows(session, tenant_id, query, category, _today(session, principal))
    context = {"rows": rows, "query": query, "category": category, "problem": problem}
    return _render(request, session, principal, "kb/search.html", context, status_code)


# --- the editor -------------------------------------------------------------------------------------------


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.replace("，", ",").replace("、", ",").split(",") if part.strip()]


def _article_in(values: dict[str, str]) -> ArticleIn:
    body: dict[str, Any] = {name: values.get(name) or None for name in _EDITOR_FIELDS}
    body["lines"], body["products"] = _list(values.get("lines", "")), _list(values.get("products", ""))
    return ArticleIn.model_validate(body)


def _editor(
    request: Request,
    session: Session,
    principal: Principal,
    values: dict[str, str],
    code: str | None = None,
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"values": values, "code": code, "problem": problem}
    return _render(request, session, principal, "kb/editor.html", context, status_code)


def _save(request: Request, session: Session, principal: Principal, form: FormData, code: str | None) -> Response:
    """Create (``code`` None) or save a draft version, and submit it when the form's button says so."""
    _own(principal)
    _csrf(request, form)
    locale = request_locale(request)
    values = {name: _text(form, name, 300 if name not in ("answer",) else MAX_TEXT) for name in _EDITOR_FIELDS}
    if code is not None:
        values["code"] = code
    try:
        data = _article_in(values)
    except ValidationError as exc:
        first = next(iter(forms.validation_problems(exc, locale).values()))
        if first["field"] in FIELD_MESSAGES and first.get("code") in ("missing", "string_too_short", "value_error"):
            first["message"] = translate(locale, FIELD_MESSAGES[first["field"]])
        return _editor(request, session, principal, values, code, first, 422)
    try:
        if not values["effective_from"]:  # an edit would otherwise keep the old date silently
            raise Invalid("effective_from", "effective_from is required: the date from which the answer applies")
        with session.begin_nested():
            if code is None:
                article = service.create_article(session, principal, data)
                opened = repository.version(session, article.id, 1)
                version_id = opened.id if opened is not None else None
            else:
                version_id = service.save_draft(session, principal, code, data).id
            if form.get("action") == "submit" and version_id is not None:
                service.submit(session, principal, version_id)
    except Problem as exc:
        if exc.status == 404:
            raise
        return _editor(request, session, principal, values, code, _problem(locale, exc), exc.status)
    return RedirectResponse(page_queries.article_url(data.code), status_code=303)


@router.get("/kb/new")
def new_page(request: Request, principal: EditorDep, session: TenantSession) -> HTMLResponse:
    _own(principal)
    values = {"effective_from": _today(session, principal).isoformat()}
    return _editor(request, session, principal, values)


@router.post("/kb/new")
def create_form(request: Request, principal: EditorDep, session: TenantSession, form: forms.PostedForm) -> Response:
    return _save(request, session, principal, form, None)


# --- review -----------------------------------------------------------------------------------------------


def _review_page(
    request: Request,
    session: Session,
    principal: Principal,
    problem: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = page_queries.review_rows(session)
    context = {"rows": rows, "problem": problem, "values": values or {}, "me": principal.actor}
    return _render(request, session, principal, "kb/review.html", context, status_code)


@router.get("/kb/review")
def review_page(request: Request, principal: ApproverDep, session: TenantSession) -> HTMLResponse:
    """Submitted versions, oldest first, each with its difference from the published answer."""
    _own(principal)
    return _review_page(request, session, principal)


def _decide(
    request: Request, session: Session, principal: Principal, form: FormData, version_id: int, approve: bool
) -> Response:
    _own(principal)
    _csrf(request, form)
    note = _text(form, "note", 2000)
    try:
        with session.begin_nested():
            if approve:
                service.approve(session, principal, version_id, note=note or None)
            else:
                service.reject(session, principal, version_id, note)
    except Problem as exc:
        if exc.status == 404:
            raise
        problem = _problem(request_locale(request), exc) | {"version_id": version_id}
        return _review_page(request, session, principal, problem, {"note": note}, exc.status)
    return RedirectResponse("/kb/review", status_code=303)


@router.post("/kb/review/{version_id}/approve")
def approve_form(
    version_id: int, request: Request, principal: ApproverDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    return _decide(request, session, principal, form, version_id, approve=True)


@router.post("/kb/review/{version_id}/reject")
def reject_form(
    version_id: int, request: Request, principal: ApproverDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    return _decide(request, session, principal, form, version_id, approve=False)


# --- stale ------------------------------------------------------------------------------------------------


def _months(request: Request) -> int:
    try:
        return int(request.query_params.get("months") or stale.DEFAULT_MONTHS)
    except ValueError:
        raise Invalid("months", "months must be a whole number") from None


@router.get("/kb/stale")
def stale_page(request: Request, principal: EditorDep, session: TenantSession) -> HTMLResponse:
    """Articles not reviewed for N months (default 12) and those readers find unhelpful."""
    _own(principal)
    problem, status_code, rows, months = None, 200, [], stale.DEFAULT_MONTHS
    try:
        months = _months(request)
        rows = stale.report(session, _today(session, principal), months=months)
    except Problem as exc:
        problem, status_code = _problem(request_locale(request), exc), exc.status
    context = {
        "rows": rows,
        "months": months,
        "problem": problem,
        "reason_labels": page_queries.STALE_REASON_LABELS,
    }
    return _render(request, session, principal, "kb/stale.html", context, status_code)


@router.get("/kb/stale.csv")
def stale_csv(request: Request, principal: EditorDep, session: TenantSession) -> Response:
    tenant_id = _own(principal)
    locale = request_locale(request)
    rows = stale.report(session, _today(session, principal), months=_months(request))
    labels = page_queries.category_labels(session, tenant_id, locale)
    header, table = page_queries.stale_table(rows, locale, labels)
    disposition = {"Content-Disposition": 'attachment; filename="kb-stale.csv"'}
    return Response(csv_text(header, table), media_type=CSV_MEDIA_TYPE, headers=disposition)


# --- one article ------------------------------------------------------------------------------------------


def _article_page(
    request: Request,
    session: Session,
    principal: Principal,
    code: str,
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    article = service.get_article(session, code)
    view = page_queries.article_view(session, article, principal.actor)
    pending = view["pending"]
    context = {
        "article": view,
        "problem": problem,
        "may_submit": principal.can(Permission.EDIT_KB) and pending is not None and pending["status"] == "draft",
        "may_retire": principal.can(Permission.APPROVE_KB) and article.status == "published",
        "may_feedback": article.status == "published",
    }
    return _render(request, session, principal, "kb/article.html", context, status_code)


@router.get("/kb/{code}")
def article_page(code: str, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    _own(principal)
    return _article_page(request, session, principal, code[:64])


@router.get("/kb/{code}/edit")
def edit_page(code: str, request: Request, principal: EditorDep, session: TenantSession) -> HTMLResponse:
    _own(principal)
    article = service.get_article(session, code[:64])
    view = page_queries.article_view(session, article, principal.actor)
    return _editor(request, session, principal, page_queries.editor_values(article, view), article.code)


@router.post("/kb/{code}/edit")
def edit_form(
    code: str, request: Request, principal: EditorDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    service.get_article(session, code[:64])
    return _save(request, session, principal, form, code[:64])


def _act(
    request: Request, session: Session, principal: Principal, form: FormData, code: str, action: Callable[[], object]
) -> Response:
    _own(principal)
    _csrf(request, form)
    try:
        with session.begin_nested():
            action()
    except Problem as exc:
        if exc.status == 404:
            raise
        return _article_page(request, session, principal, code, _problem(request_locale(request), exc), exc.status)
    return RedirectResponse(page_queries.article_url(code), status_code=303)


@router.post("/kb/{code}/submit")
def submit_form(
    code: str, request: Request, principal: EditorDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    code = code[:64]
    article = service.get_article(session, code)
    pending = page_queries.article_view(session, article, principal.actor)["pending"]
    if pending is None:
        return _act(request, session, principal, form, code, _refuse_status)
    return _act(request, session, principal, form, code, lambda: service.submit(session, principal, pending["id"]))


def _refuse_status() -> None:
    raise Invalid("status", "no draft version to submit")


@router.post("/kb/{code}/feedback")
def feedback_form(
    code: str, request: Request, principal: ViewerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    code = code[:64]
    article = service.get_article(session, code)
    helpful = _text(form, "helpful", 8)
    comment = _text(form, "comment", 2000) or None

    def give() -> None:
        if helpful not in ("yes", "no"):
            raise Invalid("helpful", "helpful must be yes or no")
        service.feedback(session, principal, article.id, helpful == "yes", comment=comment)

    return _act(request, session, principal, form, code, give)


@router.post("/kb/{code}/retire")
def retire_form(
    code: str, request: Request, principal: ApproverDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    code = code[:64]
    service.get_article(session, code)
    reason = _text(form, "reason", 2000) or None
    return _act(request, session, principal, form, code, lambda: service.retire(session, principal, code, reason))
