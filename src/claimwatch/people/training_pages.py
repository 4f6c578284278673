"""Training pages: ``/people/training`` (coverage by org with its chart, red below the target; the people still
missing a mandatory course with the course and due date, red when overdue; CSV and XLSX),
``/people/training/courses`` (the courses, and the add-course form), a course with its sessions (and the
add-session form), a session with its attendance (and the attendance form). Reading needs VIEW_PEOPLE (a
supervisor sees their org subtree), the forms MANAGE_PEOPLE. A refused form keeps its page with the message at
the field."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, Problem
from claimwatch.params import RowId
from claimwatch.people import training, training_queries
from claimwatch.people.training_schemas import AttendanceIn, CourseIn, SessionIn
from claimwatch.tables import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)
ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_PEOPLE))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_PEOPLE))]


def _day(session: Session, principal: Principal, raw: str | None) -> dt.date:
    """The day from ``?on=`` (a bad one is today: a filter, never an error)."""
    tenant_id = training.tenant_of(principal)
    try:
        day = dt.date.fromisoformat((raw or "")[:10])
        if 2000 <= day.year <= 2999:
            return day
    except ValueError:
        pass
    return training.today(session, tenant_id)


def _render(
    request: Request, session: Session, principal: Principal, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    context = {"may_manage": principal.can(Permission.MANAGE_PEOPLE)} | context
    return render(request, template, context, principal=principal, zone=zone, status_code=status)


@router.get("/people/training")
def coverage_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    locale = request_locale(request)
    day = _day(session, principal, request.query_params.get("on"))
    view = training_queries.coverage_view(session, principal, day, locale)
    context = {
        "view": view,
        "chart_json": json.dumps(training_queries.chart_data(view, locale), ensure_ascii=False).replace("</", "<\\/"),
        "export": f"?on={day.isoformat()}",
    }
    return _render(request, session, principal, "people/training.html", context)


def _export_name(day: dt.date, ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="training-coverage-{day.isoformat()}.{ext}"'}


@router.get("/people/training.csv")
def coverage_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    locale = request_locale(request)
    day = _day(session, principal, request.query_params.get("on"))
    view = training_queries.coverage_view(session, principal, day, locale)
    body = training_queries.coverage_csv(view, locale)
    return Response(body, media_type=CSV_MEDIA_TYPE, headers=_export_name(day, "csv"))


@router.get("/people/training.xlsx")
def coverage_xlsx(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    locale = request_locale(request)
    day = _day(session, principal, request.query_params.get("on"))
    view = training_queries.coverage_view(session, principal, day, locale)
    body = training_queries.coverage_xlsx(view, locale)
    return Response(body, media_type=XLSX_MEDIA_TYPE, headers=_export_name(day, "xlsx"))


# -- courses -----------------------------------------------------------------------------------------------


def _courses_page(
    request: Request,
    session: Session,
    principal: Principal,
    problems: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    context = {
        "courses": training_queries.course_rows(session, training.tenant_of(principal), locale),
        "kinds": [(k, training.COURSE_KIND_LABELS[k]) for k in training.COURSE_KINDS],
        "problems": problems or {},
        "form": form or {},
    }
    return _render(request, session, principal, "people/training_courses.html", context, status)


@router.get("/people/training/courses")
def courses_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _courses_page(request, session, principal)


def _values(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        values[name] = value.strip()[:2000] if isinstance(value, str) else ""
    return values


def _check_csrf(request: Request, form: Any) -> None:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")


def _number(text: str) -> float | str | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _submit(
    request: Request,
    session: Session,
    model: type[BaseModel],
    body: dict[str, Any],
    write: Callable[[Any], Any],
) -> tuple[Any, dict[str, Any] | None, int]:
    """(what ``write`` returned, the problems by field, the status): a refusal rolls back only this write."""
    locale = request_locale(request)
    try:
        data = model.model_validate({k: v for k, v in body.items() if v not in (None, "")})
        with session.begin_nested():
            return write(data), None, 303
    except ValidationError as exc:
        return None, forms.validation_problems(exc, locale), 422
    except Problem as exc:
        if exc.status in (403, 404):
            raise
        problem = forms.problem_for(locale, exc)
        return None, {problem["field"]: problem}, exc.status


@router.post("/people/training/courses")
def course_post(request: Request, principal: ManagerDep, session: TenantSession, form: forms.PostedForm) -> Response:
    _check_csrf(request, form)
    values = _values(form, ("code", "title", "kind", "hours", "lines"))
    body: dict[str, Any] = dict(values)
    body["hours"] = _number(values["hours"])
    body["lines"] = [part for part in values["lines"].replace("，", ",").split(",") if part.strip()]
    course, problems, status = _submit(
        request, session, CourseIn, body, lambda data: training.create_course(session, principal, data)
    )
    if problems:
        return _courses_page(request, session, principal, problems, values, status)
    return RedirectResponse(training.course_url(course.code), status_code=303)


def _course_page(
    request: Request,
    session: Session,
    principal: Principal,
    code: str,
    problems: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    course = training_queries.course_view(session, training.tenant_of(principal), code[:64], locale)
    context = {"course": course, "problems": problems or {}, "form": form or {}}
    return _render(request, session, principal, "people/training_course.html", context, status)


@router.get("/people/training/courses/{code}")
def course_page(request: Request, code: str, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _course_page(request, session, principal, code)


@router.post("/people/training/courses/{code}/sessions")
def session_post(
    request: Request, code: str, principal: ManagerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    _check_csrf(request, form)
    course = training.get_course(session, training.tenant_of(principal), code[:64])
    values = _values(form, ("held_on", "trainer", "location", "org_unit"))
    body: dict[str, Any] = dict(values) | {"course": course.code}
    held, problems, status = _submit(
        request, session, SessionIn, body, lambda data: training.add_session(session, principal, data)
    )
    if problems:
        return _course_page(request, session, principal, code, problems, values, status)
    return RedirectResponse(training.session_url(held.id), status_code=303)


# -- a session ---------------------------------------------------------------------------------------------


def _session_page(
    request: Request,
    session: Session,
    principal: Principal,
    session_id: int,
    problems: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    view = training_queries.session_view(session, principal, session_id, locale)
    context = {"s": view, "problems": problems or {}, "form": form or {}}
    return _render(request, session, principal, "people/training_session.html", context, status)


@router.get("/people/training/sessions/{session_id}")
def session_page(request: Request, session_id: RowId, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _session_page(request, session, principal, session_id)


@router.post("/people/training/sessions/{session_id}/attendance")
def attendance_post(
    request: Request, session_id: RowId, principal: ManagerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    _check_csrf(request, form)
    found = session_id
    training.get_session(session, training.tenant_of(principal), found)
    values = _values(form, ("staff", "hours", "passed", "score"))
    passed = {"yes": True, "no": False}.get(values["passed"])
    body: dict[str, Any] = {
        "staff": values["staff"],
        "hours": _number(values["hours"]),
        "passed": passed,
        "score": _number(values["score"]),
    }
    _, problems, status = _submit(
        request, session, AttendanceIn, body, lambda data: training.record_attendance(session, principal, found, data)
    )
    if problems:
        return _session_page(request, session, principal, found, problems, values, status)
    return RedirectResponse(training.session_url(found), status_code=303)
