"""Staff register pages: /people (the register: filters org, kind, status, licence state, text; CSV and XLSX),
/people/new (the add-staff form), /people/{code} (the person: details, licences with their state, the forms to
add or revoke a licence and to record the leaving; their training record and latest scorecard from the
training and appraisal parts). Only the people the caller may see: another insurer's person, or one outside a
supervisor's scope, answers 404. A person sees their own page (VIEW_OWN_APPRAISAL).

Every write is a CSRF-checked POST handled by :mod:`claimwatch.people.service` in a savepoint: a refusal comes
back as the page with the field named and nothing saved; a success redirects.

Include this router AFTER the training and appraisal page routers: /people/{code} would take /people/training.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch import tables
from claimwatch.auth.deps import TenantSession, current_principal, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.params import RowId
from claimwatch.people import appraisal, page_queries, service, training
from claimwatch.people.schemas import LicenceIn, StaffIn, StaffUpdate
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_PEOPLE))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_PEOPLE))]
STAFF_FIELDS = ("code", "name", "kind", "job_title", "org_unit", "username", "manager", "hired_on")
LICENCE_FIELDS = ("kind", "number", "issued_on", "expires_on")


def person_viewer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """Who may open a person's page: whoever views the register, or anybody their own (the service decides
    whom they may see)."""
    if not (principal.can(Permission.VIEW_PEOPLE) or principal.can(Permission.VIEW_OWN_APPRAISAL)):
        principal.require(Permission.VIEW_PEOPLE)
    return principal


PersonDep = Annotated[Principal, Depends(person_viewer)]


def _zone(session: Session, principal: Principal) -> Any:
    return tenancy_service.tenant_zone(session, principal.tenant_id)


def _csrf(request: Request, form: FormData) -> None:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")


def _values(form: FormData, names: tuple[str, ...], prefix: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    for name in names:
        raw = form.get(prefix + name)
        found[name] = raw.strip()[:200] if isinstance(raw, str) else ""
    return found


def _model(model: type[Any], values: dict[str, str]) -> Any:
    """The page's values as the API's body (empty fields left out); a schema refusal names the first field."""
    try:
        return model.model_validate({k: v for k, v in values.items() if v})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(next((p for p in error["loc"] if isinstance(p, str)), "form"))
        raise Invalid(name, error["msg"]) from None


def _attempt(request: Request, session: Session, write: Callable[[], object]) -> dict[str, Any] | None:
    """Run ``write`` in a savepoint: None when done, else the problem to show (nothing of it kept)."""
    try:
        with session.begin_nested():
            write()
    except Problem as exc:
        if exc.status in (403, 404):
            raise
        return forms.problem_for(request_locale(request), exc) | {"status": exc.status}
    return None


# -- the register -----------------------------------------------------------------------------------------------


def _filters(request: Request) -> tuple[page_queries.ListFilter, dict[str, Any] | None]:
    try:
        return page_queries.ListFilter.of(request.query_params), None
    except Problem as exc:
        return page_queries.ListFilter(), forms.problem_for(request_locale(request), exc)


def _options(session: Session, principal: Principal, locale: str) -> dict[str, Any]:
    units = page_queries.org_units(session, service.tenant_of(principal)).values()
    return {
        "orgs": [(u.code, u.name) for u in units],
        "kinds": [(k, service.label(service.KIND_LABELS, k, locale)) for k in service.STAFF_KINDS],
        "statuses": [(s, service.label(service.STATUS_LABELS, s, locale)) for s in service.STATUSES],
        "licences": [
            (s, service.label(service.LICENCE_STATE_LABELS, s, locale)) for s in service.PERSON_LICENCE_STATES
        ],
        "licence_kinds": [(k, service.label(service.LICENCE_KIND_LABELS, k, locale)) for k in service.LICENCE_KINDS],
    }


@router.get("/people")
def list_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    query, problem = _filters(request)
    locale = request_locale(request)
    params = query.as_params()
    suffix = f"?{urlencode(params)}" if params else ""
    context = {
        "rows": page_queries.staff_rows(session, principal, query, locale),
        "query": query,
        "problem": problem,
        "options": _options(session, principal, locale),
        "csv_url": f"/people.csv{suffix}",
        "xlsx_url": f"/people.xlsx{suffix}",
        "may_manage": principal.can(Permission.MANAGE_PEOPLE),
    }
    return render(
        request,
        "people/staff_list.html",
        context,
        principal=principal,
        zone=_zone(session, principal),
        status_code=422 if problem else 200,
    )


def _export(request: Request, principal: Principal, session: Session) -> tuple[list[str], list[list[Any]], str]:
    query = page_queries.ListFilter.of(request.query_params)
    locale = request_locale(request)
    header, body = page_queries.export_table(page_queries.staff_rows(session, principal, query, locale), locale)
    return header, body, dt.datetime.now(_zone(session, principal)).strftime("%Y%m%d")


@router.get("/people.csv")
def list_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    header, body, stamp = _export(request, principal, session)
    return Response(
        tables.csv_text(header, body),
        media_type=tables.CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="staff-{stamp}.csv"'},
    )


@router.get("/people.xlsx")
def list_xlsx(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    header, body, stamp = _export(request, principal, session)
    return Response(
        tables.xlsx_bytes([("staff", header, body)]),
        media_type=tables.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="staff-{stamp}.xlsx"'},
    )


# -- adding a person --------------------------------------------------------------------------------------------


def _new_page(
    request: Request,
    session: Session,
    principal: Principal,
    problem: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    context = {
        "options": _options(session, principal, request_locale(request)),
        "problem": problem,
        "form": values or {},
    }
    status = int(problem.get("status", 422)) if problem else 200
    return render(
        request,
        "people/staff_new.html",
        context,
        principal=principal,
        zone=_zone(session, principal),
        status_code=status,
        switch_path="/people/new" if request.method == "POST" else None,
    )


@router.get("/people/new")
def new_page(request: Request, principal: ManagerDep, session: TenantSession) -> HTMLResponse:
    return _new_page(request, session, principal)


@router.post("/people")
def new_post(request: Request, principal: ManagerDep, session: TenantSession, form: forms.PostedForm) -> Response:
    _csrf(request, form)
    values = _values(form, STAFF_FIELDS)
    licence = _values(form, LICENCE_FIELDS, "licence_")

    def write() -> None:
        data = _model(StaffIn, values)
        if any(licence.values()):
            try:
                data.licence = _model(LicenceIn, licence)
            except Invalid as exc:
                raise Invalid(f"licence_{exc.field}", exc.message) from None
        service.create_staff(session, principal, data)

    problem = _attempt(request, session, write)
    if problem is not None:
        return _new_page(request, session, principal, problem, values | {f"licence_{k}": v for k, v in licence.items()})
    return RedirectResponse(service.staff_url(values["code"]), status_code=303)


# -- the person -------------------------------------------------------------------------------------------------


def _person_page(
    request: Request,
    session: Session,
    principal: Principal,
    code: str,
    problem: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    staff = service.visible_staff(session, principal, code)
    locale = request_locale(request)
    context: dict[str, Any] = {
        "p": page_queries.person_view(session, staff, locale),
        "may_manage": principal.can(Permission.MANAGE_PEOPLE),
        "options": _options(session, principal, locale),
        "problem": problem,
        "form": values or {},
        "training": training.person_record(session, staff.tenant_id, staff.id),
        "appraisal": appraisal.person_summary(session, principal, staff.id, locale),
    }
    status = int(problem.get("status", 422)) if problem else 200
    url = service.staff_url(staff.code)
    return render(
        request,
        "people/person.html",
        context,
        principal=principal,
        zone=_zone(session, principal),
        status_code=status,
        switch_path=url if request.method == "POST" else None,
    )


@router.get("/people/{code}")
def person_page(request: Request, code: str, principal: PersonDep, session: TenantSession) -> HTMLResponse:
    return _person_page(request, session, principal, code[:64])


def _person_write(
    request: Request,
    session: Session,
    principal: Principal,
    code: str,
    form: FormData,
    which: str,
    values: dict[str, str],
    write: Callable[[], object],
) -> Response:
    _csrf(request, form)
    problem = _attempt(request, session, write)
    if problem is not None:
        return _person_page(request, session, principal, code, problem | {"form": which}, values)
    return RedirectResponse(service.staff_url(code), status_code=303)


@router.post("/people/{code}/licences")
def licence_post(
    request: Request, code: str, principal: ManagerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    values = _values(form, LICENCE_FIELDS)

    def write() -> None:
        service.add_licence(session, principal, code[:64], _model(LicenceIn, values))

    return _person_write(request, session, principal, code[:64], form, "licence", values, write)


@router.post("/people/{code}/licences/{licence_id}/revoke")
def revoke_post(
    request: Request,
    code: str,
    licence_id: RowId,
    principal: ManagerDep,
    session: TenantSession,
    form: forms.PostedForm,
) -> Response:
    values = _values(form, ("reason",))

    def write() -> None:
        service.revoke_licence(session, principal, code[:64], licence_id, values["reason"])

    return _person_write(request, session, principal, code[:64], form, f"revoke-{licence_id}", values, write)


@router.post("/people/{code}/leave")
def leave_post(
    request: Request, code: str, principal: ManagerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    values = _values(form, ("left_on",))

    def write() -> None:
        if not values["left_on"]:
            raise Invalid("left_on", "the leaving date is required")
        service.update_staff(session, principal, code[:64], _model(StaffUpdate, values))

    return _person_write(request, session, principal, code[:64], form, "leave", values, write)
