"""The rating pages (服务评价, DESIGN M15).

The regulator: /ratings (runs by period, the compute form, methodology versions with their text and the form to
add one), /ratings/runs/{id} (the ranking, sortable; the score distribution; each unit's breakdown in a drawer;
approve or withdraw; CSV and XLSX), /ratings/deductions (enter, withdraw), /ratings/objections (open first, by
their decide-by date; the decision form). An insurer's quality manager or admin: /ratings shows its own published
results (score, grade, rank band, change from the previous period, each indicator's contribution, deductions)
and the objection (复核) form while objections are open, with its objections and their decisions.

Every write is a CSRF-checked POST handled by :mod:`claimwatch.supervision.service` (or ``rating`` /
``methodology``) in a savepoint: a refusal comes back as the page with the field named and nothing saved; a
success redirects. A regulator's request session is read-only (it reads every insurer), so the write routes take
:data:`claimwatch.supervision.deps.RatingSession` (the system context for the regulator).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch import tables
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, Invalid, NotFound, Problem
from claimwatch.params import RowId
from claimwatch.supervision import methodology, page_queries, service
from claimwatch.supervision.deps import RatingSession
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, is_htmx, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_RATINGS))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_RATINGS))]
ObjectorDep = Annotated[Principal, Depends(require(Permission.FILE_RATING_OBJECTIONS))]

MAX_TEXT = 4000
MAX_METHODOLOGY = 200_000
# What a refused field says on these pages (the service's English words are the detail on English pages).
FIELD_MESSAGES: dict[str, str] = {
    "period": N_("Enter a quarter as YYYY-Qn or a year as YYYY."),
    "level": N_("Choose insurers or provincial branches."),
    "text": N_("The methodology is not valid: see the detail."),
    "methodology": N_("Load a methodology first."),
    "snapshot": N_("No KPI snapshot yet: run “claimwatch kpi snapshot” or start the worker."),
    "status": N_("Not possible in the run's current status: reload the page."),
    "run": N_("Not possible in the run's current status: reload the page."),
    "reason": N_("Give the reason."),
    "note": N_("Give the reason of the decision."),
    "points": N_("Enter the points to deduct, more than 0."),
    "kind": N_("Choose the kind of deduction."),
    "tenant": N_("Choose an insurer."),
    "region_code": N_("Choose a region from the list."),
    "reference": N_("The reference is too long."),
    "outcome": N_("Choose upheld or rejected."),
    "revised_score": N_("An upheld objection needs the revised score (0–100)."),
    "revised_grade": N_("Choose a grade of the methodology, or none to grade the revised score by its bands."),
    "objections_until": N_("Objections to this result are closed."),
    "objection": N_("This objection is already decided."),
    "result": N_("Objections to this result are closed, or one is open already."),
}


def _problem(locale: str, exc: Problem, which: str | None) -> dict[str, Any]:
    base = exc.field.split("[", 1)[0].split(".", 1)[0]
    msgid = FIELD_MESSAGES.get("text" if which == "methodology" else base)
    if msgid is None:
        found = forms.problem_for(locale, exc)
    else:
        detail = exc.message if locale == "en" and exc.message else None
        found = {"field": exc.field, "message": translate(locale, msgid), "detail": detail, "code": None, "hint": None}
    if which == "methodology":
        found |= {"field": "text", "detail": exc.message}  # the file:line explanation is the point, in both languages
    return found | {"form": which}


@dataclass(frozen=True)
class Refused:
    """A form shown again after a refusal: the problem (its ``form`` says which form of the page), the values
    sent, the status. :data:`NONE` for a page that was just asked for."""

    problem: dict[str, Any] | None = None
    values: dict[str, str] = field(default_factory=dict)
    status: int = 200


NONE = Refused()


def _attempt(
    request: Request, session: Session, write: Callable[[], object], which: str | None, values: dict[str, str]
) -> Refused | None:
    """Run ``write`` in a savepoint: ``None`` when it is done, else the refusal (everything it wrote rolled back)
    for the page to show. Not allowed and not found are not a form's problem: they raise (the error page)."""
    try:
        with session.begin_nested():
            write()
    except Problem as exc:
        if exc.status in (403, 404):
            raise
        return Refused(_problem(request_locale(request), exc, which), values, exc.status)
    return None


def _csrf(request: Request, form: FormData) -> None:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")


def _text(form: FormData, name: str, limit: int = MAX_TEXT) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


def _required(value: str, name: str, what: str) -> str:
    if not value:
        raise Invalid(name, f"{what} is required")
    return value


def _decimal(value: str, name: str) -> Decimal:
    try:
        found = Decimal(_required(value, name, name).replace(",", "."))
    except InvalidOperation:
        raise Invalid(name, f"{name} must be a number") from None
    if not found.is_finite() or not Decimal(0) <= found <= Decimal(100):
        raise Invalid(name, f"{name} must be between 0 and 100")
    return found.quantize(Decimal("0.01"))


def _regulator_only(principal: Principal) -> None:
    """The cross-insurer pages: a regulator's. An insurer's own results are on /ratings."""
    if not principal.is_regulator:
        raise NotFound("page", "only the regulator sees rating runs")


def _today() -> dt.date:
    """Today where objection deadlines are kept: the platform's zone (as the service counts them)."""
    return dt.datetime.now(tenancy_service.platform_zone()).date()


def _show(
    request: Request,
    session: Session,
    principal: Principal,
    template: str,
    context: dict[str, Any],
    refused: Refused,
    back: str,
) -> HTMLResponse:
    """A rating page with what each of them shows: the refused form (problem, values, status) and the number
    formatter. The language link of a form's answer leads to ``back``, not to the post's address."""
    context |= {"problem": refused.problem, "form": refused.values, "fmt": page_queries.fmt}
    zone = tenancy_service.tenant_zone(session, None if principal.is_regulator else principal.tenant_id)
    return render(
        request, f"supervision/{template}", context, principal=principal, zone=zone, status_code=refused.status,
        switch_path=back if request.method == "POST" else None,
    )  # fmt: skip


# -- /ratings ----------------------------------------------------------------------------------------------------


def _overview(request: Request, session: Session, principal: Principal, refused: Refused = NONE) -> HTMLResponse:
    locale = request_locale(request)
    context = {
        "periods": page_queries.runs_by_period(session, principal, locale),
        "methodologies": page_queries.methodologies(session),
        "period_choices": page_queries.period_choices(_today()),
        "levels": [(code, page_queries.label(page_queries.LEVEL_LABELS, code, locale)) for code in page_queries.LEVELS],
        "may_manage": principal.can(Permission.MANAGE_RATINGS),
    }
    return _show(request, session, principal, "ratings.html", context, refused, "/ratings")


def _insurer_page(
    request: Request, session: Session, principal: Principal, chosen: int | None, refused: Refused = NONE
) -> HTMLResponse:
    if principal.tenant_id is None:
        raise NotFound("tenant", "no insurer")
    view = page_queries.insurer_view(session, principal, request_locale(request), _today(), chosen)
    context = {"view": view, "may_object": principal.can(Permission.FILE_RATING_OBJECTIONS)}
    back = f"/ratings?result={chosen}" if chosen else "/ratings"
    return _show(request, session, principal, "ratings_insurer.html", context, refused, back)


@router.get("/ratings")
def ratings_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    if principal.is_regulator:
        return _overview(request, session, principal)
    raw = request.query_params.get("result", "")
    chosen = int(raw) if raw.isdigit() and 0 < int(raw) < 2**53 else None
    if raw and chosen is None:
        raise NotFound("result", "no such result")
    return _insurer_page(request, session, principal, chosen)


@router.post("/ratings/runs")
def compute_post(request: Request, principal: ManagerDep, session: RatingSession, form: forms.PostedForm) -> Response:
    """Compute a draft run for a period and level from the KPI snapshot."""
    _csrf(request, form)
    values = {"period": _text(form, "period", 8), "level": _text(form, "level", 8) or "insurer"}
    computed: list[int] = []

    def write() -> None:
        computed.append(service.compute_run(session, principal, values["period"], values["level"]).id)

    refused = _attempt(request, session, write, "compute", values)
    if refused is not None:
        return _overview(request, session, principal, refused)
    return RedirectResponse(page_queries.run_url(computed[0]), status_code=303)


@router.post("/ratings/methodologies")
def methodology_post(
    request: Request, principal: ManagerDep, session: RatingSession, form: forms.PostedForm
) -> Response:
    """Add (validate, store, activate) a methodology version from its YAML text."""
    _csrf(request, form)
    raw = form.get("text")
    text = raw[:MAX_METHODOLOGY] if isinstance(raw, str) else ""

    def write() -> None:
        methodology.add_version(session, principal, _required(text.strip() and text, "text", "the methodology's YAML"))

    refused = _attempt(request, session, write, "methodology", {"text": text})
    if refused is not None:
        return _overview(request, session, principal, refused)
    return RedirectResponse("/ratings#methodologies", status_code=303)


# -- one run -----------------------------------------------------------------------------------------------------


def _run_page(
    request: Request, session: Session, principal: Principal, run_id: int, refused: Refused = NONE
) -> HTMLResponse:
    _regulator_only(principal)
    view = page_queries.run_view(session, principal, run_id, request_locale(request))
    context = {"view": view, "may_manage": principal.can(Permission.MANAGE_RATINGS)}
    return _show(request, session, principal, "ratings_run.html", context, refused, page_queries.run_url(run_id))


def _export_name(session: Session, principal: Principal, run_id: int) -> str:
    _regulator_only(principal)
    run = service.get_run(session, principal, run_id)
    return f"rating-{run.period}-{run.level}-{run.id}"


@router.get("/ratings/runs/{run_id}.csv")
def run_csv(run_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    name = _export_name(session, principal, run_id)
    return Response(
        service.export_csv(session, principal, run_id, request_locale(request)),
        media_type=tables.CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/ratings/runs/{run_id}.xlsx")
def run_xlsx(run_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    name = _export_name(session, principal, run_id)
    return Response(
        service.export_xlsx(session, principal, run_id, request_locale(request)),
        media_type=tables.XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/ratings/runs/{run_id}")
def run_page(run_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _run_page(request, session, principal, run_id)


@router.post("/ratings/runs/{run_id}/approve")
def approve_post(
    run_id: RowId, request: Request, principal: ManagerDep, session: RatingSession, form: forms.PostedForm
) -> Response:
    _csrf(request, form)
    refused = _attempt(request, session, lambda: service.approve(session, principal, run_id), None, {})
    if refused is not None:
        return _run_page(request, session, principal, run_id, refused)
    return RedirectResponse(page_queries.run_url(run_id), status_code=303)


@router.post("/ratings/runs/{run_id}/withdraw")
def withdraw_post(
    run_id: RowId, request: Request, principal: ManagerDep, session: RatingSession, form: forms.PostedForm
) -> Response:
    _csrf(request, form)
    note = _text(form, "note")
    refused = _attempt(
        request, session, lambda: service.withdraw(session, principal, run_id, note), "withdraw", {"note": note}
    )
    if refused is not None:
        return _run_page(request, session, principal, run_id, refused)
    return RedirectResponse(page_queries.run_url(run_id), status_code=303)


@router.get("/ratings/results/{result_id}")
def result_page(result_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    """One unit's breakdown: the run page's drawer (htmx) or a page of its own. An insurer gets its own view
    (/ratings?result=…), which answers 404 for anything but its own published result."""
    if not principal.is_regulator:
        return _insurer_page(request, session, principal, result_id)
    locale = request_locale(request)
    row, run = page_queries.result_for_regulator(session, principal, result_id, locale)
    context = {"row": row, "run": run, "chart_json": page_queries.result_chart_json(row, locale)}
    template = "ratings_breakdown.html" if is_htmx(request) else "ratings_result.html"
    return _show(request, session, principal, template, context, NONE, page_queries.result_url(result_id))


# -- deductions --------------------------------------------------------------------------------------------------


def _deductions_page(request: Request, session: Session, principal: Principal, refused: Refused = NONE) -> HTMLResponse:
    _regulator_only(principal)
    locale = request_locale(request)
    period = (request.query_params.get("period") or "")[:8] or None
    context = {
        "rows": page_queries.deductions(session, principal, locale, period),
        "period": period or "",
        "tenants": page_queries.tenant_choices(session),
        "regions": page_queries.region_choices(locale),
        "kinds": [(k, page_queries.label(page_queries.KIND_LABELS, k, locale)) for k in page_queries.DEDUCTION_KINDS],
        "period_choices": page_queries.period_choices(_today()),
        "may_manage": principal.can(Permission.MANAGE_RATINGS),
    }
    return _show(request, session, principal, "ratings_deductions.html", context, refused, "/ratings/deductions")


@router.get("/ratings/deductions")
def deductions_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _deductions_page(request, session, principal)


@router.post("/ratings/deductions")
def deduction_post(request: Request, principal: ManagerDep, session: RatingSession, form: forms.PostedForm) -> Response:
    _csrf(request, form)
    limits = {
        "tenant": 32,
        "region_code": 12,
        "period": 8,
        "kind": 32,
        "points": 12,
        "reason": MAX_TEXT,
        "reference": 64,
    }
    values = {name: _text(form, name, limit) for name, limit in limits.items()}

    def write() -> None:
        service.add_deduction(
            session, principal, tenant_code=_required(values["tenant"], "tenant", "the insurer"),
            period=values["period"], kind=values["kind"], points=_decimal(values["points"], "points"),
            reason=_required(values["reason"], "reason", "a reason"), reference=values["reference"] or None,
            region_code=values["region_code"] or None,
        )  # fmt: skip

    try:
        refused = _attempt(request, session, write, "deduction", values)
    except NotFound as exc:  # an unknown insurer code is the form's mistake, not a missing page
        refused = Refused(_problem(request_locale(request), exc, "deduction"), values, 422)
    if refused is not None:
        return _deductions_page(request, session, principal, refused)
    return RedirectResponse("/ratings/deductions", status_code=303)


@router.post("/ratings/deductions/{deduction_id}/withdraw")
def deduction_withdraw_post(
    deduction_id: RowId, request: Request, principal: ManagerDep, session: RatingSession, form: forms.PostedForm
) -> Response:
    _csrf(request, form)
    reason = _text(form, "reason")
    which = f"withdraw-{deduction_id}"
    refused = _attempt(
        request, session, lambda: service.withdraw_deduction(session, principal, deduction_id, reason), which, {}
    )
    if refused is not None:
        return _deductions_page(request, session, principal, refused)
    return RedirectResponse("/ratings/deductions", status_code=303)


# -- objections --------------------------------------------------------------------------------------------------


def _objections_page(request: Request, session: Session, principal: Principal, refused: Refused = NONE) -> HTMLResponse:
    _regulator_only(principal)
    context = {
        "rows": page_queries.objections(session, principal, request_locale(request), _today()),
        "grades": page_queries.grade_names(session),
        "may_manage": principal.can(Permission.MANAGE_RATINGS),
    }
    return _show(request, session, principal, "ratings_objections.html", context, refused, "/ratings/objections")


@router.get("/ratings/objections")
def objections_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _objections_page(request, session, principal)


@router.post("/ratings/objections/{objection_id}/decide")
def decide_post(
    objection_id: RowId, request: Request, principal: ManagerDep, session: RatingSession, form: forms.PostedForm
) -> Response:
    """Uphold (with the revised score; the grade by the methodology's bands unless chosen) or reject, with a note."""
    _csrf(request, form)
    values = {
        name: _text(form, name, limit)
        for name, limit in (("outcome", 12), ("note", MAX_TEXT), ("revised_score", 12), ("revised_grade", 4))
    }

    def write() -> None:
        upheld = values["outcome"] == "upheld"
        service.decide_objection(
            session, principal, objection_id, values["outcome"], values["note"],
            revised_score=_decimal(values["revised_score"], "revised_score") if upheld else None,
            revised_grade=(values["revised_grade"] or None) if upheld else None,
        )  # fmt: skip

    refused = _attempt(request, session, write, f"decide-{objection_id}", values)
    if refused is not None:
        return _objections_page(request, session, principal, refused)
    return RedirectResponse(f"/ratings/objections#objection-{objection_id}", status_code=303)


@router.post("/ratings/results/{result_id}/objections")
def objection_post(
    result_id: RowId, request: Request, principal: ObjectorDep, session: RatingSession, form: forms.PostedForm
) -> Response:
    """An insurer files an objection (复核) to its own published result while objections are open."""
    _csrf(request, form)
    reason = _text(form, "reason")
    refused = _attempt(
        request, session, lambda: service.file_objection(session, principal, result_id, reason), "objection",
        {"reason": reason},
    )  # fmt: skip
    if refused is not None:
        return _insurer_page(request, session, principal, result_id, refused)
    return RedirectResponse(f"/ratings?result={result_id}#objections", status_code=303)
