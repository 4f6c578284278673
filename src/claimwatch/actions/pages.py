"""The improvement-action pages (改进措施, PDCA): the board by phase (/actions, its CSV /actions.csv), the raise
form pre-filled from its source (/actions/new?source_kind=…), and one action (/actions/{id}: phase stepper,
problem and root cause, steps, phase moves, the effectiveness check with its chart, Act, history).

Every write is a CSRF-checked POST whose service call runs in a savepoint: a refusal rolls it back and the page
comes back with the field named (nothing saved); a success is committed before the redirect. Rights are the
service's: the buttons shown are ``access.allowed``; the service refuses the rest."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch.actions import access, effectiveness, page_queries, phases, repository, service, sources, steps
from claimwatch.actions.schemas import StepInput
from claimwatch.actions.vocabulary import (
    CANCELLED,
    FISHBONE_CATEGORIES,
    FISHBONE_LABELS,
    MOVES,
    SOURCE_KIND_LABELS,
    STANDARD_KINDS,
    label,
)
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Invalid, Problem
from claimwatch.params import RowId
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_ACTIONS))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_ACTIONS))]


# What each field is called where the page names it (the error list, the action page's problems).
FIELD_LABELS: dict[str, str] = {
    "title": N_("Title"),
    "problem": N_("Problem statement"),
    "rca": N_("Root-cause analysis"),
    "rca_method": N_("Root-cause analysis"),
    "root_cause": N_("Root cause"),
    "kpi_code": N_("Indicator it should move"),
    "scope_org_unit_id": N_("Org unit"),
    "scope_region": N_("Region"),
    "scope_line": N_("Line"),
    "owner_user_id": N_("Owner"),
    "due_on": N_("Due date"),
    "steps": N_("Plan steps"),
    "step": N_("Action step"),
    "source_kind": N_("Source"),
    "source_id": N_("Source"),
    "source_ref": N_("Source"),
    "to_phase": N_("PDCA phase"),
    "phase": N_("PDCA phase"),
    "note": N_("Note"),
    "owner": N_("Owner"),
    "check": N_("Effectiveness check"),
    "window": N_("Window"),
    "before": N_("Before (days)"),
    "after": N_("After (days)"),
    "refs": N_("Standardise"),
    "form": N_("Form"),
    "role": N_("Your role"),
}
# The message a refusal of a field shows (the service's own English words are the detail on English pages).
FIELD_MESSAGES: dict[str, str] = {
    "owner_user_id": N_("Choose the owner: an active staff member of your company who can own an action."),
    "due_on": N_("Give the due date as YYYY-MM-DD, today or later."),
    "kpi_code": N_("Choose an indicator with data from the catalogue; a Check needs one."),
    "scope_org_unit_id": N_("Choose an org unit of your company, within your own units."),
    "scope_region": N_("Choose a region from the list."),
    "scope_line": N_("Choose a line of business from the list."),
    "rca": N_("Check the root-cause analysis: each why needs its answer, a fishbone at least one cause."),
    "rca_method": N_("Choose the method of the root-cause analysis."),
    "source_kind": N_("The source of this action is not known at your company."),
    "source_id": N_("The source of this action is not known at your company."),
    "source_ref": N_("The source of this action is not known at your company."),
    "steps": N_("Finish every step first; Do needs at least one step."),
    "step": N_("Check the step: its text, an owner who can own it and a due date not in the past."),
    "phase": N_("Not possible in the action's current phase, or not by you."),
    "to_phase": N_("Not possible in the action's current phase, or not by you."),
    "check": N_("Run the effectiveness check before moving to Act."),
    "note": N_("Say why."),
    "owner": N_("Only the step's owner, the action's owner or a manager of its scope may do this."),
    "window": N_("Check the windows: the before window must end before the after window."),
    "refs": N_("Name at least one changed workflow, checklist, policy, scorecard or document, with its version."),
}
STEP_FIELD_MESSAGE = N_("Give the step's text, an owner who can own it and a due date not in the past.")


def _problem(locale: str, exc: Problem, field: str | None = None) -> dict[str, Any]:
    name = field or exc.field
    base = name.split("[", 1)[0].split(".", 1)[0]
    msgid = FIELD_MESSAGES.get(base)
    if msgid is None:
        return forms.problem_for(locale, exc, name)
    detail = exc.message if locale == "en" and exc.message else None
    return {"field": name, "message": translate(locale, msgid), "detail": detail, "code": None, "hint": None}


def _labels(locale: str) -> dict[str, str]:
    return {name: translate(locale, msgid) for name, msgid in FIELD_LABELS.items()}


def _error(request: Request, principal: Principal, status: int) -> HTMLResponse:
    switch = "/actions" if request.method == "POST" else None
    return render(
        request, "actions/error.html", {"status": status}, status_code=status, principal=principal, switch_path=switch
    )


def _csrf_ok(request: Request, form: FormData) -> bool:
    token = form.get(CSRF_FIELD)
    return csrf_valid(request, token if isinstance(token, str) else None)


def _text(form: FormData, name: str, limit: int = 4000) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


def _tenant(principal: Principal) -> int:
    if principal.tenant_id is None:  # VIEW_ACTIONS is staff only; kept for the type checker
        raise Invalid("tenant", "improvement actions belong to an insurer")
    return principal.tenant_id


# -- the board --------------------------------------------------------------------------------------------------


def _board(request: Request, principal: Principal, session: Session) -> tuple[page_queries.Board, Any, int]:
    locale = request_locale(request)
    try:
        query = page_queries.BoardQuery.from_params(request.query_params)
        return page_queries.board(session, principal, query, locale, utc_now()), None, 200
    except Problem as exc:
        found = page_queries.board(session, principal, page_queries.BoardQuery(), locale, utc_now())
        return found, _problem(locale, exc), exc.status


@router.get("/actions")
def board_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    board, problem, status = _board(request, principal, session)
    context = {
        "board": board,
        "problem": problem,
        "options": page_queries.options(session, _tenant(principal), request_locale(request)),
        "may_raise": principal.can(Permission.MANAGE_ACTIONS),
    }
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    return render(request, "actions/board.html", context, status_code=status, principal=principal, zone=zone)


@router.get("/actions.csv")
def board_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    board, problem, status = _board(request, principal, session)
    if problem is not None:
        return (
            _error(request, principal, status)
            if status in (403, 404)
            else Response(problem["message"], status_code=status, media_type="text/plain; charset=utf-8")
        )
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    stamp = dt.datetime.now(zone).strftime("%Y%m%d")
    return Response(
        page_queries.to_csv(board, request_locale(request)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="actions-{stamp}.csv"'},
    )


# -- raising ---------------------------------------------------------------------------------------------------


def _raise_page(
    request: Request,
    principal: Principal,
    session: Session,
    form: page_queries.RaiseForm,
    errors: dict[str, dict[str, Any]],
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    tenant_id = _tenant(principal)
    source: dict[str, Any] = {
        "kind_label": label(SOURCE_KIND_LABELS, form.source_kind, locale),
        "label": "",
        "url": None,
    }
    if form.source_kind != "manual" and not errors.get("source_id") and not errors.get("source_ref"):
        source_id = int(form.source_id) if form.source_id.isdigit() and int(form.source_id) < 2**53 else None
        try:
            facts = sources.resolve_source(session, tenant_id, form.source_kind, source_id, form.source_ref or None)
            source |= {"label": facts.label, "url": facts.url}
        except Problem as exc:
            errors = {exc.field: _problem(locale, exc)} | errors
            status_code = max(status_code, exc.status)
    context = {
        "form": form,
        "errors": errors,
        "source": source,
        "options": page_queries.options(session, tenant_id, locale),
        "fishbone_categories": [(code, label(FISHBONE_LABELS, code, locale)) for code in FISHBONE_CATEGORIES],
        "field_labels": _labels(locale),
    }
    zone = tenancy_service.tenant_zone(session, tenant_id)
    switch = "/actions/new" if request.method == "POST" else None
    return render(
        request, "actions/new.html", context, status_code=status_code, principal=principal, zone=zone,
        switch_path=switch,
    )  # fmt: skip


@router.get("/actions/new")
def raise_page(request: Request, principal: ManagerDep, session: TenantSession) -> HTMLResponse:
    form = page_queries.prefill(session, principal, request.query_params, request_locale(request))
    return _raise_page(request, principal, session, form, {})


def _optional_int(value: str, name: str, errors: dict[str, dict[str, Any]], locale: str) -> int | None:
    if not value:
        return None
    if value.isdigit() and 0 < int(value) < 2**31:
        return int(value)
    errors[name] = forms.field_problem(locale, name, "int_parsing")
    return None


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def _checked(form: page_queries.RaiseForm, locale: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The service's arguments from the form, and every field the page itself refuses (all of them at once:
    a form missing its owner and its due date names both)."""
    errors: dict[str, dict[str, Any]] = {}
    for name in ("title", "problem", "owner_user_id", "due_on"):
        if not getattr(form, name):
            errors[name] = (
                forms.field_problem(locale, name, "missing")
                if name in ("title", "problem")
                else {"field": name, "message": translate(locale, FIELD_MESSAGES[name]), "detail": None,
                      "code": "missing", "hint": None}
            )  # fmt: skip
    owner = _optional_int(form.owner_user_id, "owner_user_id", errors, locale)
    due = _date(form.due_on) if form.due_on else None
    if form.due_on and due is None:
        errors["due_on"] = forms.field_problem(locale, "due_on", "date_parsing")
    steps: list[StepInput] = []
    for n, row in enumerate(form.steps, 1):
        if not row["text"]:
            continue
        step_due = _date(row["due"]) if row["due"] else None
        step_owner = int(row["owner"]) if row["owner"].isdigit() and 0 < int(row["owner"]) < 2**31 else None
        if (row["due"] and step_due is None) or (row["owner"] and step_owner is None):
            errors[f"step_{n}"] = {"field": f"step_{n}", "message": translate(locale, STEP_FIELD_MESSAGE),
                                   "detail": None, "code": None, "hint": None}  # fmt: skip
            continue
        steps.append(StepInput(text=row["text"], owner_user_id=step_owner, due_on=step_due))
    source_id = _optional_int(form.source_id, "source_id", errors, locale)
    arguments = {
        "source_kind": form.source_kind,
        "source_id": source_id,
        "source_ref": form.source_ref or None,
        "title": form.title,
        "problem": form.problem,
        "owner_user_id": owner,
        "due_on": due,
        "kpi_code": form.kpi_code or None,
        "scope_org_unit_id": _optional_int(form.scope_org_unit_id, "scope_org_unit_id", errors, locale),
        "scope_region": form.scope_region or None,
        "scope_line": form.scope_line or None,
        "steps": steps,
        "rca_method": form.rca_method or None,
        "rca": form.rca(),
        "root_cause": form.root_cause or None,
    }
    return arguments, errors


def _step_field(field: str, form: page_queries.RaiseForm) -> str:
    """``steps[1].owner_user_id`` (the service's) is the form's row ``step_2`` (its second filled row)."""
    if not field.startswith("steps["):
        return field
    index = field[6:].split("]", 1)[0]
    filled = [n for n, row in enumerate(form.steps, 1) if row["text"]]
    return f"step_{filled[int(index)]}" if index.isdigit() and int(index) < len(filled) else "steps"


@router.post("/actions/new")
def raise_post(request: Request, principal: ManagerDep, session: TenantSession, data: forms.PostedForm) -> Response:
    locale = request_locale(request)
    form = page_queries.RaiseForm.from_form(data)
    if not _csrf_ok(request, data):
        expired = {"form": forms.field_problem(locale, "form", "csrf")}
        expired["form"]["message"] = translate(locale, N_("The form has expired. Reload the page and send it again."))
        return _raise_page(request, principal, session, form, expired, 403)
    arguments, errors = _checked(form, locale)
    if errors:
        return _raise_page(request, principal, session, form, errors, 422)
    try:
        with session.begin_nested():
            action = service.raise_action(session, principal, **arguments)
    except Problem as exc:
        field = _step_field(exc.field, form)
        problem = _problem(locale, exc, field)
        if field.startswith("step_"):
            problem["message"] = translate(locale, STEP_FIELD_MESSAGE)
        return _raise_page(request, principal, session, form, {field: problem}, exc.status)
    return RedirectResponse(service.action_url(action.id), status_code=303)


# -- one action ----------------------------------------------------------------------------------------------------

MOVE_LABELS: dict[str, str] = {
    "do": N_("Start Do"),
    "check": N_("Do finished: move to Check"),
    "act": N_("Move to Act"),
    "closed": N_("Close without standardising"),
    "cancelled": N_("Cancel the action"),
}


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    action_id: int,
    status_code: int = 200,
    problem: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    locale = request_locale(request)
    try:
        view = page_queries.action_view(session, principal, action_id, locale, utc_now())
    except Problem as exc:
        return _error(request, principal, 404 if exc.status in (403, 404) else exc.status)
    allowed = view["allowed"]
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    check, chart_json = page_queries.check_view(view["check_result"], locale, zone)
    moves = [
        {"to": target, "label": translate(locale, MOVE_LABELS[target])}
        for (source, target) in MOVES
        if source == view["phase"] and f"move:{target}" in allowed
    ]
    moves.sort(key=lambda move: move["to"] == CANCELLED)
    ref_rows = [
        {"kind": STANDARD_KINDS[0], "code": "", "version": "", "note": ""} for _ in range(page_queries.REF_ROWS)
    ]
    if problem and problem.get("form") == "standardise" and values:
        ref_rows = [
            {key: values.get(f"ref_{key}_{n}", "") for key in ("kind", "code", "version", "note")}
            for n in range(1, page_queries.REF_ROWS + 1)
        ]
    check_form = {"before_days": 90, "after_days": 90, "lag_days": 0}
    if values and problem and problem.get("form") == "check":
        check_form = {key: int(values[key]) for key in check_form if values.get(key, "").isdigit()} | {
            key: value for key, value in check_form.items() if not values.get(key, "").isdigit()
        }
    context = {
        "a": view,
        "check": check,
        "chart_json": chart_json,
        "moves": moves,
        "may_add_step": "steps" in allowed,
        "may_check": "run_check" in allowed,
        "may_act": "standardise" in allowed or "new_cycle" in allowed,
        "window_choices": page_queries.WINDOW_CHOICES,
        "lag_choices": page_queries.LAG_CHOICES,
        "check_form": check_form,
        "ref_rows": ref_rows,
        "options": page_queries.options(session, _tenant(principal), locale),
        "problem": problem,
        "values": values or {},
        "field_labels": _labels(locale),
    }
    switch = view["url"] if request.method == "POST" else None
    return render(
        request, "actions/action.html", context, status_code=status_code, principal=principal, switch_path=switch,
        zone=zone,
    )  # fmt: skip


@router.get("/actions/{action_id}")
def action_page(action_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _page(request, session, principal, action_id)


def _post(
    request: Request,
    session: Session,
    principal: Principal,
    action_id: int,
    data: FormData,
    form_name: str,
    write: Any,
    anchor: str = "",
) -> Response:
    """A CSRF-checked write in a savepoint: success → back to the action (303); a refusal → the page with the
    field named beside the form that sent it (nothing saved); another tenant's or an invisible action → 404."""
    values = {key: value[:4000] for key, value in data.items() if isinstance(value, str) and key != CSRF_FIELD}
    if not _csrf_ok(request, data):
        return _error(request, principal, 403)
    locale = request_locale(request)
    try:
        with session.begin_nested():
            write(data)
    except Problem as exc:
        if exc.status == 404:
            return _error(request, principal, 404)
        problem = _problem(locale, exc) | {"form": form_name}
        return _page(request, session, principal, action_id, exc.status, problem, values)
    return RedirectResponse(service.action_url(action_id) + anchor, status_code=303)


@router.post("/actions/{action_id}/phase")
def phase_post(
    action_id: RowId, request: Request, principal: ViewerDep, session: TenantSession, data: forms.PostedForm
) -> Response:
    target = _text(data, "to_phase", 16)

    def write(form: FormData) -> None:
        phases.move_phase(session, principal, action_id, target, note=_text(form, "note") or None)

    return _post(request, session, principal, action_id, data, f"phase-{target}", write)


@router.post("/actions/{action_id}/steps")
def step_add(
    action_id: RowId, request: Request, principal: ViewerDep, session: TenantSession, data: forms.PostedForm
) -> Response:
    def write(form: FormData) -> None:
        owner, due = _text(form, "owner_user_id", 12), _date(_text(form, "due_on", 10))
        if _text(form, "due_on", 10) and due is None:
            raise Invalid("step", "the step's due date is not a date (YYYY-MM-DD)")
        step = {"text": _text(form, "text"), "owner_user_id": int(owner) if owner.isdigit() else None, "due_on": due}
        if not step["text"]:
            raise Invalid("step", "the step's text is required")
        steps.add_step(session, principal, action_id, step)

    return _post(request, session, principal, action_id, data, "add-step", write, "#steps")


@router.post("/actions/{action_id}/steps/{step_id}/done")
def step_done(
    action_id: RowId,
    step_id: RowId,
    request: Request,
    principal: ViewerDep,
    session: TenantSession,
    data: forms.PostedForm,
) -> Response:
    def write(form: FormData) -> None:
        step = repository.get_step(session, _tenant(principal), step_id)
        if step is None or step.action_id != action_id:
            raise access.ActionNotFound(action_id)
        service.finish_step(session, principal, step_id, note=_text(form, "note", 1000) or None)

    return _post(request, session, principal, action_id, data, "step", write, "#steps")


def _days(form: FormData, name: str, choices: tuple[int, ...], field: str) -> int:
    text = _text(form, name, 4)
    if not text.isdigit() or int(text) not in choices:
        raise Invalid(field, f"{name} must be one of {', '.join(map(str, choices))}")
    return int(text)


@router.post("/actions/{action_id}/check")
def check_post(
    action_id: RowId, request: Request, principal: ViewerDep, session: TenantSession, data: forms.PostedForm
) -> Response:
    def write(form: FormData) -> None:
        before_days = _days(form, "before_days", page_queries.WINDOW_CHOICES, "before")
        after_days = _days(form, "after_days", page_queries.WINDOW_CHOICES, "after")
        lag_days = _days(form, "lag_days", page_queries.LAG_CHOICES, "window")
        action = access.get_visible(session, principal, action_id)
        zone = tenancy_service.tenant_zone(session, action.tenant_id)
        now = utc_now()
        done = (action.done_at or now).astimezone(zone).date()
        before, after = effectiveness.default_windows(
            done, now.astimezone(zone).date(), before_days=before_days, after_days=after_days, lag_days=lag_days
        )
        if after.start >= after.end:  # nothing after yet: let the check say so ("not enough data")
            after = effectiveness.Window(after.start, after.start + dt.timedelta(days=1))
        phases.run_check(session, principal, action_id, before=before, after=after)

    return _post(request, session, principal, action_id, data, "check", write, "#effectiveness")


@router.post("/actions/{action_id}/standardise")
def standardise_post(
    action_id: RowId, request: Request, principal: ViewerDep, session: TenantSession, data: forms.PostedForm
) -> Response:
    def write(form: FormData) -> None:
        refs = []
        for n in range(1, page_queries.REF_ROWS + 1):
            code = _text(form, f"ref_code_{n}", 100)
            if not code:
                continue
            ref: dict[str, str | None] = {"kind": _text(form, f"ref_kind_{n}", 16), "code": code}
            ref |= {key: _text(form, f"ref_{key}_{n}", 500) or None for key in ("version", "note")}
            refs.append(ref)
        phases.standardise(session, principal, action_id, refs, note=_text(form, "note") or None)

    return _post(request, session, principal, action_id, data, "standardise", write, "#act")


@router.post("/actions/{action_id}/new-cycle")
def new_cycle_post(
    action_id: RowId, request: Request, principal: ViewerDep, session: TenantSession, data: forms.PostedForm
) -> Response:
    created: list[int] = []

    def write(form: FormData) -> None:
        text = _text(form, "due_on", 10)
        due = _date(text)
        if text and due is None:
            raise Invalid("due_on", "the due date is not a date (YYYY-MM-DD)")
        owner = _text(form, "owner_user_id", 12)
        following = phases.new_cycle(
            session, principal, action_id, due_on=due, owner_user_id=int(owner) if owner.isdigit() else None
        )
        created.append(following.id)

    response = _post(request, session, principal, action_id, data, "new-cycle", write)
    if created and response.status_code == 303:
        return RedirectResponse(service.action_url(created[0]), status_code=303)
    return response
