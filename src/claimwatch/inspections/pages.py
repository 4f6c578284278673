"""The plan pages (抽检方案): the list (/inspections/plans), the new-plan form for a quality manager
(/inspections/plans/new; it opens filled in as a stratified plan over last month's motor claims), and a plan
with its draws and the sampled cases with their inspector and status (/inspections/plans/{code}). The
results and estimate page is :mod:`claimwatch.inspections.results_pages`.

Routes stay thin: they read the form, call :mod:`claimwatch.inspections.service`, and render. A refusal
comes back as the form with the field named (the write ran in a savepoint and is rolled back)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Invalid, NotFound, Problem
from claimwatch.inspections import plan_queries, repository, scorecards, service
from claimwatch.inspections.schemas import PlanDefinition, error_field, error_message
from claimwatch.subjects.periods import previous_period
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid
from claimwatch.workflow import service as workflow_service

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_INSPECTIONS))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_INSPECTION_PLANS))]

CHECK = N_("Check this value.")
# What the form says beside a field the service or the schema refused (the English detail on en pages).
FIELD_MESSAGES: dict[str, str] = {
    "code": N_("Give a code of letters, digits, '-', '_' or '.', not used by another plan."),
    "name": N_("Give the plan a name."),
    "scorecard": N_("Choose a scorecard for this kind of record."),
    "subject_kind": N_("Choose what to inspect."),
    "population": N_("The filter matches no record: widen it."),
    "population.period": N_("Enter a month as YYYY-MM or a quarter as YYYY-Q1…Q4."),
    "population.org_unit": N_("Choose an org unit of your company."),
    "population.handler": N_("No staff member with this user name."),
    "population.amount_min": N_("Enter an amount in yuan, such as 1200.50."),
    "population.amount_max": N_("Enter an amount in yuan, such as 1200.50."),
    "size": N_("Give the size: a number of cases, a share, or confidence and margin."),
    "size.fixed": N_("Enter a whole number of cases, at least 1."),
    "size.share": N_("A share is above 0 and at most 1 (0.05 is 5 per cent)."),
    "size.confidence": N_("Confidence is above 0.5 and below 1 (e.g. 0.95)."),
    "size.margin": N_("The margin is above 0 and below 0.5 (e.g. 0.05)."),
    "strata": N_("Choose at least one stratum for a stratified plan, none for the others."),
    "target": N_("A targeted plan takes all matching records, or the top k by a score."),
    "due_days": N_("Enter the days to inspect, 1 to 365."),
    "inspectors": N_("Choose inspectors of your company."),
    "period": N_("Enter a month as YYYY-MM or a quarter as YYYY-Q1…Q4, not drawn before."),
    "seed": N_("The seed is a whole number from 0 to 2^63 − 1."),
}
METHOD_LABELS = {
    "simple": N_("Simple random"),
    "stratified": N_("Stratified"),
    "targeted": N_("Targeted"),
}
STRATUM_LABELS = {"org": N_("Org unit"), "line": N_("Line of business"), "region": N_("Region")}
SIZE_LABELS = {"fixed": N_("Number of cases"), "share": N_("Share of the population"), "computed": N_("Computed")}
STATUS_LABELS = {
    "assigned": N_("Assigned"),
    "in_progress": N_("In progress"),
    "submitted": N_("Submitted"),
    "reviewed": N_("Reviewed"),
    "unassigned": N_("Unassigned"),
}
KIND_LABELS = {"claim": N_("Claims"), "complaint": N_("Complaints")}
LIGHT_LABELS = {"green": N_("Green"), "yellow": N_("Yellow"), "red": N_("Red")}
OUTCOME_LABELS = {"closed": N_("Closed (paid)"), "rejected": N_("Rejected"), "withdrawn": N_("Withdrawn")}
ALLOCATION_LABELS = {"proportional": N_("Proportional"), "neyman": N_("Neyman (by expected error)")}
SCHEDULE_LABELS = {"none": N_("Once"), "monthly": N_("Monthly"), "quarterly": N_("Quarterly")}

FORM_FIELDS = (
    "code", "name", "subject_kind", "scorecard", "period", "date_field", "line", "org_unit", "region", "outcome",
    "amount_min", "amount_max", "light", "method", "allocation", "size_mode", "size_fixed", "size_share",
    "confidence", "margin", "expected_error_rate", "target_rule", "target_k", "target_score", "due_days",
    "schedule", "exclude_own_unit",
)  # fmt: skip


def _tenant(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "inspection plans belong to one insurer")
    return principal.tenant_id


def _labels(locale: str, mapping: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, translate(locale, msgid)) for code, msgid in mapping.items()]


def blank_form(session: Session, principal: Principal) -> dict[str, Any]:
    """A stratified plan by org unit over last month's closed motor claims, 5 % of them."""
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    period = previous_period("monthly", utc_now(), zone)
    return dict.fromkeys(FORM_FIELDS, "") | {
        "code": f"motor-{period}",
        "name": f"车险理赔抽检 {period}",
        "subject_kind": "claim",
        "scorecard": "motor_claim",
        "period": period,
        "date_field": "closed",
        "line": "motor",
        "method": "stratified",
        "strata": ["org"],
        "allocation": "proportional",
        "size_mode": "share",
        "size_share": "0.05",
        "size_fixed": "",
        "confidence": "0.95",
        "margin": "0.05",
        "expected_error_rate": "0.05",
        "target_rule": "all",
        "due_days": "10",
        "schedule": "none",
        "exclude_own_unit": "1",
        "inspectors": [],
    }


def read_form(data: FormData) -> dict[str, Any]:
    form: dict[str, Any] = {name: str(data.get(name) or "").strip()[:200] for name in FORM_FIELDS}
    form["strata"] = [str(v) for v in data.getlist("strata")][:3]
    form["inspectors"] = [str(v)[:64] for v in data.getlist("inspectors")][:200]
    return form


def _number(text: str, field: str, kind: type = float) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise Invalid(field, f"{text!r} is not a number") from None


def to_definition(form: dict[str, Any]) -> PlanDefinition:
    population: dict[str, Any] = {}
    for key in ("period", "line", "org_unit", "region", "outcome", "amount_min", "amount_max", "light"):
        if form.get(key):
            population[key] = form[key]
    if form.get("subject_kind", "claim") == "claim" and form.get("date_field"):
        population["date_field"] = form["date_field"]
    body: dict[str, Any] = {
        "code": form["code"],
        "name": form["name"],
        "subject_kind": form["subject_kind"] or "claim",
        "scorecard": form["scorecard"],
        "population": population,
        "method": form["method"] or "simple",
        "strata": form["strata"] if form["method"] == "stratified" else [],
        "allocation": form["allocation"] or "proportional",
        "due_days": _number(form["due_days"] or "10", "due_days", int),
        "schedule": form["schedule"] or "none",
        "exclude_own_unit": bool(form.get("exclude_own_unit")),
        "inspectors": form["inspectors"],
    }
    if form.get("expected_error_rate"):
        body["expected_error_rate"] = _number(form["expected_error_rate"], "expected_error_rate")
    if body["method"] == "targeted":
        target: dict[str, Any] = {"rule": form["target_rule"] or "all"}
        if target["rule"] == "top_k":
            target["k"] = _number(form["target_k"] or "0", "target.k", int)
            target["score"] = form["target_score"] or "amount"
        body["target"] = target
    elif form["size_mode"] == "fixed":
        body["size"] = {"fixed": _number(form["size_fixed"] or "0", "size.fixed", int)}
    elif form["size_mode"] == "computed":
        body["size"] = {
            "confidence": _number(form["confidence"] or "0.95", "size.confidence"),
            "margin": _number(form["margin"] or "0.05", "size.margin"),
        }
    else:
        body["size"] = {"share": _number(form["size_share"] or "0", "size.share")}
    return PlanDefinition.model_validate(body)


def _form_key(field: str) -> str:
    """The form's name for a refused field: ``inspectors.1`` is the inspectors list, ``target.k`` the target."""
    head = field.split(".")[0]
    return head if head in ("inspectors", "strata", "target") else field


def _problem(locale: str, field: str, detail: str) -> dict[str, Any]:
    field = _form_key(field)
    msgid = FIELD_MESSAGES.get(field) or FIELD_MESSAGES.get(field.split(".")[0], CHECK)
    return {"field": field, "message": translate(locale, msgid), "detail": detail if locale == "en" else None}


def _form_context(session: Session, principal: Principal, locale: str) -> dict[str, Any]:
    tenant_id = _tenant(principal)
    return {
        "kind_options": _labels(locale, KIND_LABELS),
        "scorecard_options": [
            (card.code, card.name(locale), card.subject_kind) for card in scorecards.registry().values()
        ],
        "line_options": [(line, workflow_service.line_label(line, locale)) for line in workflow_service.lines()],
        "unit_options": [(unit.code, unit.name) for unit in tenancy_repository.org_units(session)],
        "region_options": sorted(
            (code, names[0] if locale == "zh" else names[1]) for code, names in tenancy_service.region_names().items()
        ),
        "outcome_options": _labels(locale, OUTCOME_LABELS),
        "light_options": _labels(locale, LIGHT_LABELS),
        "method_options": _labels(locale, METHOD_LABELS),
        "stratum_options": _labels(locale, STRATUM_LABELS),
        "allocation_options": _labels(locale, ALLOCATION_LABELS),
        "size_options": _labels(locale, SIZE_LABELS),
        "schedule_options": _labels(locale, SCHEDULE_LABELS),
        "inspector_options": [(user.username, user.display_name) for user in repository.inspectors(session, tenant_id)],
    }


def _new_page(
    request: Request, session: Session, principal: Principal, form: dict[str, Any], errors: dict[str, Any], status: int
) -> HTMLResponse:
    locale = request_locale(request)
    context = {"form": form, "errors": errors, **_form_context(session, principal, locale)}
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(request, "inspections/plan_new.html", context, principal=principal, zone=zone, status_code=status)


@router.get("/inspections/plans")
def plans_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    _tenant(principal)
    locale = request_locale(request)
    context = {
        "plans": plan_queries.plans(session),
        "method_labels": {code: translate(locale, msgid) for code, msgid in METHOD_LABELS.items()},
        "schedule_labels": {code: translate(locale, msgid) for code, msgid in SCHEDULE_LABELS.items()},
        "kind_labels": {code: translate(locale, msgid) for code, msgid in KIND_LABELS.items()},
        "can_manage": principal.can(Permission.MANAGE_INSPECTION_PLANS),
    }
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(request, "inspections/plans.html", context, principal=principal, zone=zone)


@router.get("/inspections/plans/new")
def new_plan_page(request: Request, principal: ManagerDep, session: TenantSession) -> HTMLResponse:
    _tenant(principal)
    return _new_page(request, session, principal, blank_form(session, principal), {}, 200)


@router.post("/inspections/plans/new")
def new_plan_post(request: Request, principal: ManagerDep, session: TenantSession, data: forms.PostedForm) -> Response:
    _tenant(principal)
    locale = request_locale(request)
    form = read_form(data)
    token = data.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        expired = translate(locale, N_("The form has expired. Reload the page and send it again."))
        return _new_page(
            request, session, principal, form, {"form": _problem(locale, "form", "") | {"message": expired}}, 403
        )
    try:
        definition = to_definition(form)
        with session.begin_nested():
            plan = service.create_plan(session, principal, definition)
            if data.get("draw_now"):
                service.draw_sample(session, principal, plan.id)
    except ValidationError as exc:
        errors: dict[str, Any] = {}
        for error in exc.errors():
            field = error_field(tuple(error["loc"]), str(error["msg"]))
            errors.setdefault(_form_key(field), _problem(locale, field, error_message(str(error["msg"]))))
        return _new_page(request, session, principal, form, errors, 422)
    except Problem as exc:
        errors = {_form_key(exc.field): _problem(locale, exc.field, exc.message)}
        return _new_page(request, session, principal, form, errors, exc.status)
    return RedirectResponse(f"/inspections/plans/{plan.code}", status_code=303)


def _plan_page(
    request: Request,
    session: Session,
    principal: Principal,
    code: str,
    draw_id: int | None = None,
    problem: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    _tenant(principal)
    locale = request_locale(request)
    plan = service.get_plan(session, code[:64])
    view = plan_queries.plan_view(session, plan, locale)
    chosen = None
    if view["draw_list"]:
        wanted = draw_id or view["draw_list"][0]["id"]
        found = repository.draw_by_id(session, wanted)
        if found is None or found.plan_id != plan.id:
            raise NotFound("draw", f"no draw {wanted} of this plan")
        chosen = plan_queries.draw_view(session, found, locale)
    context = {
        "plan": view,
        "draw": chosen,
        "problem": problem,
        "can_manage": principal.can(Permission.MANAGE_INSPECTION_PLANS),
        "method_labels": {c: translate(locale, m) for c, m in METHOD_LABELS.items()},
        "status_labels": {c: translate(locale, m) for c, m in STATUS_LABELS.items()},
        "kind_labels": {c: translate(locale, m) for c, m in KIND_LABELS.items()},
        "schedule_labels": {c: translate(locale, m) for c, m in SCHEDULE_LABELS.items()},
    }
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(request, "inspections/plan.html", context, principal=principal, zone=zone, status_code=status)


@router.get("/inspections/plans/{code}")
def plan_page(request: Request, code: str, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    raw = request.query_params.get("draw", "")
    draw_id = int(raw) if raw.isdigit() and len(raw) < 19 else None
    return _plan_page(request, session, principal, code, draw_id)


@router.post("/inspections/plans/{code}/draw")
def draw_post(
    request: Request, code: str, principal: ManagerDep, session: TenantSession, data: forms.PostedForm
) -> Response:
    locale = request_locale(request)
    token = data.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    plan = service.get_plan(session, code[:64])
    period = str(data.get("period") or "").strip()[:16] or None
    seed_text = str(data.get("seed") or "").strip()[:20]
    try:
        if seed_text and not seed_text.isdigit():
            raise Invalid("seed", f"{seed_text!r} is not a whole number")
        with session.begin_nested():
            drawn = service.draw_sample(
                session, principal, plan.id, period=period, seed=int(seed_text) if seed_text else None
            )
    except Problem as exc:
        return _plan_page(
            request, session, principal, code, problem=_problem(locale, exc.field, exc.message), status=exc.status
        )
    return RedirectResponse(f"/inspections/plans/{plan.code}?draw={drawn.id}", status_code=303)
