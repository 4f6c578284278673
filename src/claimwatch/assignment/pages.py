"""The supervisors' load page (工作量与分派): load per handler, the queue over time, and rebalancing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from claimwatch.assignment import queries, service
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, Problem
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_ASSIGNMENT))]


def _page(
    request: Request,
    session: Any,
    principal: Principal,
    problem: Problem | None = None,
    form: dict[str, Any] | None = None,
    done: int | None = None,
) -> HTMLResponse:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "assignment belongs to one insurer")
    view = queries.load_view(session, principal, request_locale(request))
    context = {"view": view, "problem": problem, "form": form or {}, "done": done}
    status = problem.status if problem is not None else 200
    return render(request, "assignment.html", context, principal=principal, zone=view.time_zone, status_code=status)


@router.get("/assignment")
def assignment_page(request: Request, principal: ManagerDep, session: TenantSession) -> HTMLResponse:
    done = request.query_params.get("done")
    return _page(request, session, principal, done=int(done) if done and done.isdigit() and len(done) < 5 else None)


@router.post("/assignment/rebalance")
def assignment_rebalance(
    request: Request,
    principal: ManagerDep,
    session: TenantSession,
    claims: Annotated[list[str] | None, Form()] = None,
    complaints: Annotated[list[str] | None, Form()] = None,
    handler: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Reassign the ticked cases; a refusal keeps the page with the message at its field (nothing written)."""
    if not csrf_valid(request, csrf_token_value):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    form = {"claims": claims or [], "complaints": complaints or [], "handler": handler, "reason": reason}
    try:
        with session.begin_nested():
            done = service.rebalance(
                session, principal, claims or [], complaints or [], handler, reason, request_locale(request)
            )
    except Problem as exc:
        return _page(request, session, principal, problem=exc, form=form)
    return RedirectResponse(f"/assignment?done={len(done.claims) + len(done.complaints)}", status_code=303)
