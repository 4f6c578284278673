"""Quality committee pages (品质管理委员会): the meetings by month (/committee), one month's agenda grouped by kind
with the figures and links to the sources and a decision form per item (/committee/{month}), and the minutes
(/committee/{month}/minutes: printable; .pdf through claimwatch.pdf)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from claimwatch import pdf
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.committee import queries, repository, service
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, NotFound, Problem
from claimwatch.params import RowId
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, TIME_ZONE_KEY, render_template, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, add_page_headers, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_COMMITTEE))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_COMMITTEE))]
CsrfField = Annotated[str, Form(alias=CSRF_FIELD)]

_MESSAGES = {
    "month": N_("Give a month as YYYY-MM, not after the current one."),
    "status": N_("The minutes of this meeting are closed: nothing changes any more."),
    "items": N_("Every item needs its decision before the minutes are closed."),
    "decision": N_("Choose a decision."),
    "text": N_("Write what the committee decided."),
    "title": N_("Give the improvement action a title."),
    "owner_user_id": N_("Choose who owns the improvement action."),
    "due_on": N_("Give the improvement action a due date (YYYY-MM-DD), not in the past."),
    "held_on": N_("Give the date the meeting was held (YYYY-MM-DD), not in the future."),
    "chair": N_("Name the chair."),
    "attendees": N_("List the attendees."),
}


def problem_for(locale: str, exc: Problem, scope: str) -> dict[str, Any]:
    message = translate(locale, _MESSAGES.get(exc.field, N_("Check this value.")))
    return {"scope": scope, "field": exc.field, "message": message, "detail": exc.message}


def _csrf(request: Request, value: str) -> None:
    if not csrf_valid(request, value):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")


def _zone(session: Any, principal: Principal) -> Any:
    return tenancy_service.tenant_zone(session, service.tenant_of(principal))


def _list_page(
    request: Request, session: Any, principal: Principal, problem: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    context = {
        "rows": queries.meetings(session, principal, request_locale(request)),
        "may_manage": principal.can(Permission.MANAGE_COMMITTEE),
        "default_month": queries.default_month(session, principal, utc_now()),
        "problem": problem,
    }
    return render(
        request,
        "committee/list.html",
        context,
        principal=principal,
        zone=_zone(session, principal),
        status_code=status_code,
        switch_path="/committee",
    )


@router.get("/committee")
def committee_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _list_page(request, session, principal)


@router.post("/committee")
def generate(
    request: Request,
    principal: ManagerDep,
    session: TenantSession,
    month: Annotated[str, Form(max_length=16)] = "",
    csrf: CsrfField = "",
) -> Response:
    _csrf(request, csrf)
    try:
        with session.begin_nested():
            meeting = service.generate_agenda(session, principal, month)
    except Problem as exc:
        return _list_page(
            request, session, principal, problem_for(request_locale(request), exc, "generate"), exc.status
        )
    return RedirectResponse(service.meeting_url(meeting.month), status_code=303)


def _meeting_page(
    request: Request,
    session: Any,
    principal: Principal,
    month: str,
    problem: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    meeting = service.get_meeting(session, principal, month)
    view = queries.meeting_view(session, meeting, locale)
    may_manage = principal.can(Permission.MANAGE_COMMITTEE) and meeting.status != "closed"
    context = {
        "m": view,
        "may_manage": may_manage,
        "owners": queries.owners(session, meeting.tenant_id) if may_manage else [],
        "decisions": [(d, translate(locale, service.DECISION_LABELS[d])) for d in service.DECISIONS],
        "problem": problem,
        "form": form or {},
    }
    return render(
        request,
        "committee/meeting.html",
        context,
        principal=principal,
        zone=_zone(session, principal),
        status_code=status_code,
        switch_path=view.url,
    )


@router.get("/committee/{month}")
def meeting_page(request: Request, month: str, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _meeting_page(request, session, principal, month)


@router.post("/committee/{month}/regenerate")
def regenerate(
    request: Request, month: str, principal: ManagerDep, session: TenantSession, csrf: CsrfField = ""
) -> Response:
    _csrf(request, csrf)
    service.get_meeting(session, principal, month)
    try:
        with session.begin_nested():
            service.generate_agenda(session, principal, month)
    except Problem as exc:
        problem = problem_for(request_locale(request), exc, "meeting")
        return _meeting_page(request, session, principal, month, problem, status_code=exc.status)
    return RedirectResponse(service.meeting_url(month), status_code=303)


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


@router.post("/committee/{month}/held")
def held(
    request: Request,
    month: str,
    principal: ManagerDep,
    session: TenantSession,
    held_on: Annotated[str, Form(max_length=16)] = "",
    chair: Annotated[str, Form(max_length=200)] = "",
    attendees: Annotated[str, Form(max_length=4000)] = "",
    csrf: CsrfField = "",
) -> Response:
    _csrf(request, csrf)
    meeting = service.get_meeting(session, principal, month)
    form = {"held_on": held_on, "chair": chair, "attendees": attendees}
    try:
        with session.begin_nested():
            service.record_meeting(
                session, principal, meeting.id, held_on=_date(held_on), chair=chair, attendees=attendees
            )
    except Problem as exc:
        problem = problem_for(request_locale(request), exc, "held")
        return _meeting_page(request, session, principal, month, problem, form, exc.status)
    return RedirectResponse(service.meeting_url(month), status_code=303)


@router.post("/committee/{month}/items/{item_id}/decision")
def decide(
    request: Request,
    month: str,
    item_id: RowId,
    principal: ManagerDep,
    session: TenantSession,
    decision: Annotated[str, Form(max_length=32)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    owner_user_id: Annotated[str, Form(max_length=20)] = "",
    due_on: Annotated[str, Form(max_length=16)] = "",
    csrf: CsrfField = "",
) -> Response:
    _csrf(request, csrf)
    meeting = service.get_meeting(session, principal, month)
    item = repository.item(session, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise NotFound("item", f"no agenda item {item_id} in {month}")
    draft = None
    if decision == "action_raised":
        owner = int(owner_user_id) if owner_user_id.strip().isdigit() and len(owner_user_id) < 12 else None
        draft = service.ActionDraft(title=title, owner_user_id=owner, due_on=_date(due_on))
    form = {"item": item_id, "decision": decision, "text": text, "title": title, "owner_user_id": owner_user_id}
    form["due_on"] = due_on
    try:
        with session.begin_nested():
            service.record_decision(session, principal, item.id, decision=decision, text=text, raise_action=draft)
    except Problem as exc:
        problem = problem_for(request_locale(request), exc, f"item-{item_id}")
        return _meeting_page(request, session, principal, month, problem, form, exc.status)
    return RedirectResponse(f"{service.meeting_url(month)}#item-{item_id}", status_code=303)


@router.post("/committee/{month}/close")
def close(
    request: Request, month: str, principal: ManagerDep, session: TenantSession, csrf: CsrfField = ""
) -> Response:
    _csrf(request, csrf)
    meeting = service.get_meeting(session, principal, month)
    try:
        with session.begin_nested():
            service.close_minutes(session, principal, meeting.id)
    except Problem as exc:
        problem = problem_for(request_locale(request), exc, "close")
        return _meeting_page(request, session, principal, month, problem, status_code=exc.status)
    return RedirectResponse(f"{service.meeting_url(month)}/minutes", status_code=303)


def _minutes_context(request: Request, session: Any, principal: Principal, month: str) -> dict[str, Any]:
    meeting = service.get_meeting(session, principal, month)
    tenant = tenancy_repository.tenant_by_id(session, meeting.tenant_id)
    return {
        "m": queries.meeting_view(session, meeting, request_locale(request)),
        "tenant_name": tenant.name if tenant is not None else "",
        "pdf_url": f"{service.meeting_url(month)}/minutes.pdf",
    }


@router.get("/committee/{month}/minutes")
def minutes_page(request: Request, month: str, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    context = _minutes_context(request, session, principal, month)
    return render(request, "committee/minutes.html", context, principal=principal, zone=_zone(session, principal))


@router.get("/committee/{month}/minutes.pdf")
def minutes_pdf(request: Request, month: str, principal: ViewerDep, session: TenantSession) -> Response:
    """The minutes as an A4 PDF (claimwatch.pdf, the print stylesheet committee_print.css)."""
    locale = request_locale(request)
    context = _minutes_context(request, session, principal, month)
    context |= {TIME_ZONE_KEY: _zone(session, principal), "html_lang": "zh-CN" if locale == "zh" else "en"}
    html = render_template(locale, "committee/minutes_pdf.html", context)
    content = pdf.html_to_pdf(html)
    filename = f"品质管理委员会会议纪要-{month}.pdf" if locale == "zh" else f"quality-committee-minutes-{month}.pdf"
    response = Response(
        content, media_type=pdf.PDF_MEDIA_TYPE, headers={"Content-Disposition": pdf.content_disposition(filename)}
    )
    return add_page_headers(response)
