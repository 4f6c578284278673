"""The supervisors' queue (督办队列) with its acknowledge action, and the regulator filings (监管报备).
Read models are in :mod:`claimwatch.sla.queries`; rendering is the web shell's."""

from __future__ import annotations

from typing import Annotated, Any

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
# What the queue's alert says about a refusal, by its status.
_QUEUE_PROBLEMS = {403: "expired", 404: "not_found", 409: "already"}


@router.get("/sla/queue")
def sla_queue(request: Request, principal: QueueViewerDep, session: TenantSession) -> HTMLResponse:
    include_acknowledged = request.query_params.get("all") == "1"
    view = queries.queue_page(session, principal, include_acknowledged, request_locale(request))
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


@router.post("/sla/queue/{escalation_id}/acknowledge")
def sla_acknowledge(
    escalation_id: str,
    request: Request,
    principal: QueueViewerDep,
    session: TenantSession,
    note: Annotated[str, Form()] = "",
    include_acknowledged: Annotated[str, Form(alias="all")] = "",
    csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """督办 a case, then back to the queue: a redirect, or for htmx the queue's table at once. The
    acknowledgement commits with the request, before the answer is sent. A refusal is the error page;
    htmx swaps no error response, so there it comes back as the table with an alert."""
    back_to_all = include_acknowledged == "1"
    problem: str | None = None
    try:
        if not csrf_valid(request, csrf_token_value):
            raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
        cleaned_note = note.strip()[:MAX_NOTE] or None
        sla_service.acknowledge(session, principal, _escalation_id(escalation_id), cleaned_note)
    except Problem as exc:
        if not is_htmx(request):
            raise  # the page route shows the error page; the request's transaction rolls back
        # The refused action wrote nothing, but its transaction holds the tenant's audit-chain lock:
        # end it before reading the queue again.
        session.rollback()
        problem = _QUEUE_PROBLEMS.get(exc.status, "not_found")
    if not is_htmx(request):
        return RedirectResponse(queries.queue_url(back_to_all), status_code=303)
    view = queries.queue_page(session, principal, back_to_all, request_locale(request))
    context = {"view": view, "problem": problem}
    return render(request, "queue_fragment.html", context, principal=principal, zone=view.time_zone)


@router.get("/sla/filings")
def sla_filings(request: Request, principal: FilingsViewerDep, session: TenantSession) -> HTMLResponse:
    query = queries.FilingsQuery.from_params(request.query_params)
    view = queries.filings_page(session, principal, query, request_locale(request))
    return render(request, "filings.html", {"view": view}, principal=principal, zone=view.time_zone)
