"""The supervisors' queue (督办队列) with its acknowledge action, and the regulator filings (监管报备).
Read models are in :mod:`claimwatch.sla.queries`; rendering is the web shell's."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, Problem
from claimwatch.sla import queries
from claimwatch.sla import service as sla_service
from claimwatch.web.pages import PageRoute, is_htmx, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

QueueViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_ESCALATIONS))]
FilingsViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_FILINGS))]

MAX_NOTE = 500
MAX_ID_DIGITS = 18  # larger does not fit the id column: unknown, not an error
MAX_BACK = 500  # the queue's filters, as a query string
# What the queue's alert says about a refusal, by its status.
_QUEUE_PROBLEMS = {403: "expired", 404: "not_found", 409: "already"}


@router.get("/sla/queue")
def sla_queue(request: Request, principal: QueueViewerDep, session: TenantSession) -> HTMLResponse:
    query = queries.QueueQuery.from_params(request.query_params)
    locale = request_locale(request)
    confirmation = queries.acknowledgement(session, principal, request.query_params.get("done"), locale)
    view = queries.queue_page(session, principal, query, locale, confirmation)
    context: dict[str, Any] = {"view": view, "problem": None}
    if not is_htmx(request):
        return render(request, "queue.html", context, principal=principal, zone=view.time_zone)
    context["oob_lang"] = True
    response = render(request, "queue_fragment.html", context, principal=principal, zone=view.time_zone)
    response.headers["HX-Push-Url"] = view.url()
    return response


def _escalation_id(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_ID_DIGITS:
        raise sla_service.EscalationNotFound(f"no escalation {value}")
    return int(value)


def _back(value: str) -> queries.QueueQuery:
    """The queue's filters the form was sent from (a query string; anything else is dropped)."""
    return queries.QueueQuery.from_params(dict(parse_qsl(value[:MAX_BACK], keep_blank_values=False)))


@router.post("/sla/queue/{escalation_id}/acknowledge")
def sla_acknowledge(
    escalation_id: str,
    request: Request,
    principal: QueueViewerDep,
    session: TenantSession,
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
    include_acknowledged: Annotated[str, Form(alias="all")] = "",
    csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """督办 a queue row: the named escalation and the claim's other open ones (one row per claim), each
    audited, then back to the queue with a confirmation: a redirect, or for htmx the queue's table at
    once. The acknowledgement commits with the request, before the answer is sent. A refusal (already
    acknowledged, the case completed: 409) is the error page; htmx swaps no error response, so there it
    comes back as the table with an alert."""
    query = _back(back)
    if include_acknowledged == "1" and not back:
        query = queries.QueueQuery(ack="all")
    problem: str | None = None
    number: str | None = None
    locale = request_locale(request)
    try:
        if not csrf_valid(request, csrf_token_value):
            raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
        cleaned_note = note.strip()[:MAX_NOTE] or None
        number, targets = queries.claim_escalations(session, principal, _escalation_id(escalation_id))
        for target in targets:
            sla_service.acknowledge(session, principal, target, cleaned_note)
    except Problem as exc:
        if not is_htmx(request):
            raise  # the page route shows the error page; the request's transaction rolls back
        # The refused action wrote nothing, but its transaction holds the tenant's audit-chain lock:
        # end it before reading the queue again.
        session.rollback()
        problem = _QUEUE_PROBLEMS.get(exc.status, "not_found")
        number = None
    if not is_htmx(request):
        url = query.url()
        return RedirectResponse(f"{url}{'&' if '?' in url else '?'}{urlencode({'done': number})}", status_code=303)
    confirmation = queries.acknowledgement(session, principal, number, locale) if number else None
    view = queries.queue_page(session, principal, query, locale, confirmation)
    context = {"view": view, "problem": problem}
    return render(request, "queue_fragment.html", context, principal=principal, zone=view.time_zone)


@router.get("/sla/filings")
def sla_filings(request: Request, principal: FilingsViewerDep, session: TenantSession) -> HTMLResponse:
    query = queries.FilingsQuery.from_params(request.query_params)
    view = queries.filings_page(session, principal, query, request_locale(request))
    return render(request, "filings.html", {"view": view}, principal=principal, zone=view.time_zone)
