"""Sanctions pages (违规与处罚): the list, one sanction (approve / reject with a reason / revoke), violations
per person with their repeat counts and mandatory trainings, and the blacklist (list, add, lift)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Conflict, Forbidden, NotFound, Problem
from claimwatch.params import RowId
from claimwatch.sanctions import queries, repository, service
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.forms import CHOOSE, DATE, field_problem
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_SANCTIONS))]
DeciderDep = Annotated[Principal, Depends(require(Permission.APPROVE_SANCTIONS))]
BlacklistViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_BLACKLIST))]
BlacklistManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_BLACKLIST))]
CsrfField = Annotated[str, Form(alias=CSRF_FIELD)]

# What the forms say when the service refuses a field (translated; the English page adds the service's detail).
_MESSAGES = {
    "status": N_("This sanction has already been decided: reload the page."),
    "sanction": N_("A sanction is approved by a quality manager other than the one who proposed it."),
    "reason": N_("Give the reason."),
    "party_kind": CHOOSE,
    "code": N_("Check the code: a staff member is listed by username."),
    "name": N_("Give the party's name."),
    "starts_on": DATE,
    "ends_on": N_("The period ends before it starts."),
    "entry": N_("This entry was already lifted."),
    "kind": N_("This sanction cannot be applied as proposed."),
}
_LISTED = N_("This party is already on the blacklist for this period.")


def problem_for(locale: str, exc: Problem, field: str | None = None) -> dict[str, Any]:
    name = field or exc.field
    msgid = _LISTED if isinstance(exc, Conflict) and exc.field in ("code", "name") else None
    message = translate(locale, msgid or _MESSAGES.get(exc.field, N_("Check this value.")))
    detail = exc.message if locale == "en" else None
    return {"field": name, "message": message, "detail": detail, "code": None, "hint": None}


def _csrf(request: Request, value: str) -> None:
    if not csrf_valid(request, value):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")


def _zone(session: Any, principal: Principal) -> Any:
    return tenancy_service.tenant_zone(session, service.tenant_of(principal))


@router.get("/sanctions")
def sanctions_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    status = request.query_params.get("status") or None
    status = status if status in service.STATUSES else None
    rows = queries.sanctions(session, principal, request_locale(request), status)
    context = {
        "rows": rows,
        "status": status,
        "statuses": [(s, service.STATUS_LABELS[s]) for s in service.STATUSES],
        "waiting": repository.count_sanctions(session, "proposed"),
    }
    return render(request, "sanctions/list.html", context, principal=principal, zone=_zone(session, principal))


@router.get("/sanctions/people")
def people_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    view = queries.people(session, principal, request_locale(request))
    context = {
        "view": view,
        "trainings": queries.trainings(session),
        "may_complete": principal.can(Permission.APPROVE_SANCTIONS),
    }
    return render(request, "sanctions/people.html", context, principal=principal, zone=_zone(session, principal))


@router.post("/sanctions/trainings/{training_id}/complete")
def complete_training(
    request: Request, training_id: RowId, principal: DeciderDep, session: TenantSession, csrf: CsrfField = ""
) -> Response:
    _csrf(request, csrf)
    service.complete_training(session, principal, training_id)
    return RedirectResponse("/sanctions/people#trainings", status_code=303)


def _blacklist_page(
    request: Request,
    session: Any,
    principal: Principal,
    problems: dict[str, dict[str, Any]] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "rows": queries.blacklist(session, principal, request_locale(request)),
        "kinds": [(k, service.PARTY_LABELS[k]) for k in service.PARTY_KINDS],
        "may_manage": principal.can(Permission.MANAGE_BLACKLIST),
        "problems": problems or {},
        "form": form or {},
    }
    return render(
        request,
        "sanctions/blacklist.html",
        context,
        principal=principal,
        zone=_zone(session, principal),
        status_code=status_code,
        switch_path="/sanctions/blacklist",
    )


@router.get("/sanctions/blacklist")
def blacklist_page(request: Request, principal: BlacklistViewerDep, session: TenantSession) -> HTMLResponse:
    return _blacklist_page(request, session, principal)


def _date(value: str, field: str, problems: dict[str, dict[str, Any]], locale: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        problems[field] = field_problem(locale, field, "date_parsing")
        return None


@router.post("/sanctions/blacklist")
def blacklist_add(
    request: Request,
    principal: BlacklistManagerDep,
    session: TenantSession,
    party_kind: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    starts_on: Annotated[str, Form()] = "",
    ends_on: Annotated[str, Form()] = "",
    csrf: CsrfField = "",
) -> Response:
    """Add an entry; a refusal keeps the form with the message at its field (nothing written)."""
    _csrf(request, csrf)
    locale = request_locale(request)
    form = {"party_kind": party_kind, "name": name, "code": code, "reason": reason}
    form |= {"starts_on": starts_on, "ends_on": ends_on}
    problems: dict[str, dict[str, Any]] = {}
    if not reason.strip():
        problems["reason"] = field_problem(locale, "reason", "missing")
    start, end = _date(starts_on, "starts_on", problems, locale), _date(ends_on, "ends_on", problems, locale)
    if not problems:
        try:
            with session.begin_nested():
                service.add_to_blacklist(
                    session,
                    principal,
                    party_kind=party_kind,
                    name=name,
                    code=code,
                    reason=reason,
                    starts_on=start,
                    ends_on=end,
                )
        except Problem as exc:
            problems[exc.field] = problem_for(locale, exc)
    if problems:
        return _blacklist_page(request, session, principal, problems, form, 422)
    return RedirectResponse("/sanctions/blacklist", status_code=303)


@router.post("/sanctions/blacklist/{entry_id}/lift")
def blacklist_lift(
    request: Request,
    entry_id: RowId,
    principal: BlacklistManagerDep,
    session: TenantSession,
    reason: Annotated[str, Form()] = "",
    csrf: CsrfField = "",
) -> Response:
    _csrf(request, csrf)
    locale = request_locale(request)
    try:
        with session.begin_nested():
            service.lift_from_blacklist(session, principal, entry_id, reason)
    except Problem as exc:
        problems = {f"lift-{entry_id}": problem_for(locale, exc, "reason")}
        return _blacklist_page(request, session, principal, problems, status_code=exc.status)
    return RedirectResponse("/sanctions/blacklist", status_code=303)


def _sanction_page(
    request: Request,
    session: Any,
    principal: Principal,
    number: str,
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    row = queries.sanction(session, principal, request_locale(request), number)
    context = {"s": row, "problem": problem}
    return render(
        request,
        "sanctions/sanction.html",
        context,
        principal=principal,
        zone=_zone(session, principal),
        status_code=status_code,
        switch_path=row["url"],
    )


@router.get("/sanctions/{number}")
def sanction_page(request: Request, number: str, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _sanction_page(request, session, principal, number)


@router.post("/sanctions/{number}/{action}")
def sanction_decide(
    request: Request,
    number: str,
    action: str,
    principal: DeciderDep,
    session: TenantSession,
    note: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    csrf: CsrfField = "",
) -> Response:
    """approve (an optional note), reject or revoke (a reason); a refusal keeps the page with its message."""
    _csrf(request, csrf)
    found = repository.sanction_by_number(session, number)
    if found is None or action not in ("approve", "reject", "revoke"):
        raise NotFound("sanction", f"no sanction {number} or no action {action!r}")
    try:
        with session.begin_nested():
            if action == "approve":
                service.approve(session, principal, found.id, note)
            elif action == "reject":
                service.reject(session, principal, found.id, reason)
            else:
                service.revoke(session, principal, found.id, reason)
    except Problem as exc:
        problem = problem_for(request_locale(request), exc) | {"action": action}
        return _sanction_page(request, session, principal, number, problem, exc.status)
    return RedirectResponse(service.sanction_url(number), status_code=303)
