"""The inspector's pages: my worklist (/inspections/my), the scorecard form of one sampled case
(/inspections/{id}: pass / fail / N-A per item with a comment, draft or submit; then the result, evidence,
findings and the review form when I am the reviewer), the findings list (/inspections/findings, CSV at
/inspections/findings.csv) and one finding (/inspections/findings/{id}: its rectification, "propose
sanction").

Routes stay thin: they read the form, call :mod:`scoring` / :mod:`findings`, and render. Every action is a
CSRF-checked POST whose write runs in a savepoint: a refusal rolls it back and comes back as the page with
the fields named in the user's language; a success redirects (303) to the page that shows it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.models import User
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Problem
from claimwatch.inspections import findings, result_queries, scoring
from claimwatch.params import RowId
from claimwatch.sanctions import loader as sanctions_loader
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.models import OrgUnit
from claimwatch.tenancy.service import tenant_zone
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_INSPECTIONS))]
InspectorDep = Annotated[Principal, Depends(require(Permission.PERFORM_INSPECTIONS))]
ProposerDep = Annotated[Principal, Depends(require(Permission.PROPOSE_SANCTIONS))]

STATUS_LABELS = {
    "assigned": N_("To do"),
    "in_progress": N_("In progress"),
    "submitted": N_("Submitted"),
    "reviewed": N_("Reviewed"),
}
OUTCOME_LABELS = {"pass": N_("Pass"), "fail": N_("Fail"), "na": N_("N/A")}
# What a refusal says on the page, by the field the service named (the service's English detail is added
# on English pages).
NA_REFUSED = N_("N/A is not allowed for this item in this case.")
FAIL_NEEDS_COMMENT = N_("Say why the item failed.")
ALL_NA = N_("Judge at least one item pass or fail.")
MESSAGES = {
    "inspector": N_("This case is assigned to another inspector, or you handled it."),
    "reviewer": N_("This review is assigned to another inspector, or you handled the case."),
    "status": N_("The result was already submitted."),
    "severity": N_("Choose a severity."),
    "category": N_("Choose a category from the list."),
    "description": N_("Describe the finding."),
    "item_code": N_("Choose an item of the scorecard."),
    "responsible_user_id": N_("Choose a staff member of your company."),
    "responsible_org_unit_id": N_("Choose an org unit of your company."),
    "violation_code": N_("Choose a violation of the catalogue."),
    "amount_cny": N_("The amount is outside the range the catalogue allows."),
    "days": N_("The number of days is outside the range the catalogue allows."),
    "finding": N_("The finding names no responsible staff member."),
    "file": N_("Choose a PDF or image file of an accepted type and size."),
    "reason": N_("Give a reason."),
    "kind": N_("Choose one of the options."),
}


def _zone(session: Session, principal: Principal) -> ZoneInfo:
    return tenant_zone(session, principal.tenant_id)


def _message(locale: str, field: str, detail: str) -> dict[str, Any]:
    if field.startswith("items."):
        if field.endswith(".comment"):
            msgid = FAIL_NEEDS_COMMENT
        elif field.endswith(".outcome"):
            msgid = NA_REFUSED if "N/A" in detail else forms.CHOOSE
        else:
            msgid = forms.REQUIRED if "required" in detail else forms.NOT_EXPECTED
    elif field == "items":
        msgid = ALL_NA
    else:
        msgid = MESSAGES.get(field, forms.CHECK_VALUE)
    return {"field": field, "message": translate(locale, msgid), "detail": detail if locale == "en" else None}


def problems_of(exc: Problem, locale: str) -> dict[str, dict[str, Any]]:
    """Every problem of a refusal by field (items by item code: ``items.<code>…`` → ``<code>``)."""
    found: dict[str, dict[str, Any]] = {}
    for problem in exc.problems:
        field = str(problem.get("field", exc.field))
        key = field.split(".")[1] if field.startswith("items.") else field
        found.setdefault(key, _message(locale, field, str(problem.get("message", exc.message))))
    return found


def _form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _csrf_ok(request: Request, form: FormData) -> bool:
    token = form.get(CSRF_FIELD)
    return csrf_valid(request, token if isinstance(token, str) else None)


# -- my worklist ---------------------------------------------------------------------------------------------


@router.get("/inspections/my")
def my_worklist(request: Request, principal: InspectorDep, session: TenantSession) -> HTMLResponse:
    now = utc_now()
    user_id = principal.user_id or 0
    mine = result_queries.my_inspections(session, user_id)
    reviews = result_queries.my_reviews(session, user_id)
    seen = result_queries.summaries(session, principal.tenant_id or 0, mine + [i for _, i in reviews])
    context = {
        "rows": [result_queries.worklist_row(i, seen.get((i.subject_kind, i.subject_id)), now) for i in mine],
        "reviews": [
            result_queries.worklist_row(i, seen.get((i.subject_kind, i.subject_id)), now)
            | {"due_at": r.due_at, "overdue": r.due_at is not None and r.due_at < now}
            for r, i in reviews
        ],
        "status_labels": STATUS_LABELS,
    }
    return render(request, "inspections/work_my.html", context, principal=principal, zone=_zone(session, principal))


# -- the scorecard form ------------------------------------------------------------------------------------


def _staff(session: Session, tenant_id: int) -> list[tuple[int, str]]:
    rows = session.execute(
        select(User.id, User.display_name, User.username)
        .where(User.tenant_id == tenant_id, User.active.is_(True))
        .order_by(User.display_name, User.id)
    )
    return [(uid, f"{name} ({username})") for uid, name, username in rows]


def _units(session: Session) -> list[tuple[int, str]]:
    return [(u.id, u.name) for u in session.scalars(select(OrgUnit).order_by(OrgUnit.path, OrgUnit.id))]


def _inspection_page(
    request: Request,
    principal: Principal,
    session: Session,
    inspection_id: RowId,
    *,
    errors: dict[str, dict[str, Any]] | None = None,
    values: dict[str, str] | None = None,
    form_name: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    inspection = scoring.get(session, inspection_id)
    view = result_queries.view(session, inspection, locale, principal.user_id)
    can_score = (
        view["is_inspector"]
        and inspection.status in result_queries.OPEN
        and principal.can(Permission.PERFORM_INSPECTIONS)
    )
    review = view["review"]
    can_review = bool(review and review["is_reviewer"] and review["status"] == "assigned")
    may_find = (
        principal.can(Permission.PERFORM_INSPECTIONS)
        and inspection.status != scoring.ASSIGNED
        and (
            view["is_inspector"]
            or bool(review and review["is_reviewer"])
            or principal.can(Permission.MANAGE_INSPECTION_PLANS)
        )
    )
    values = values or {}
    # Outcomes shown in the form: what was sent back (after a refusal), else what is stored.
    for item in view["items"]:
        item["chosen"] = values.get(f"outcome-{item['code']}", item["outcome"] if not can_review else "")
        item["typed"] = values.get(f"comment-{item['code']}", (item["comment"] or "") if not can_review else "")
    context = {
        "v": view,
        "can_score": can_score,
        "can_review": can_review,
        "may_find": may_find,
        "errors": errors or {},
        "form_name": form_name,
        "values": values,
        "outcome_labels": OUTCOME_LABELS,
        "status_labels": STATUS_LABELS,
        "severities": [(code, translate(locale, text)) for code, text in findings.SEVERITIES.items()],
        "categories": [(code, translate(locale, text)) for code, text in findings.CATEGORIES.items()],
        "staff": _staff(session, inspection.tenant_id) if may_find else [],
        "units": _units(session) if may_find else [],
        "default_user": inspection.handler_id,
        "default_unit": inspection.org_unit_id,
        "first_failed": next((i["code"] for i in view["items"] if i["outcome"] == "fail"), ""),
    }
    return render(
        request,
        "inspections/form_inspection.html",
        context,
        status_code=status_code,
        principal=principal,
        zone=_zone(session, principal),
        switch_path=f"/inspections/{inspection_id}" if request.method == "POST" else None,
    )


@router.get("/inspections/{inspection_id:int}")
def inspection_page(
    inspection_id: RowId, request: Request, principal: ViewerDep, session: TenantSession
) -> HTMLResponse:
    return _inspection_page(request, principal, session, inspection_id)


def _entries(form: FormData, codes: list[str]) -> dict[str, scoring.Entry]:
    return {
        code: scoring.Entry(_form_text(form, f"outcome-{code}"), _form_text(form, f"comment-{code}")) for code in codes
    }


def _expired(
    request: Request, principal: Principal, session: Session, inspection_id: RowId, form: FormData
) -> Response:
    locale = request_locale(request)
    problem = forms.field_problem(locale, "form", "csrf") | {
        "message": translate(locale, N_("The form has expired. Reload the page and send it again."))
    }
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
    return _inspection_page(
        request, principal, session, inspection_id, errors={"form": problem}, values=values, status_code=403
    )


@router.post("/inspections/{inspection_id:int}")
def inspection_post(
    inspection_id: RowId,
    request: Request,
    principal: InspectorDep,
    session: TenantSession,
    form: forms.PostedForm,
) -> Response:
    """The scorecard form: ``action=draft`` keeps what is filled in, ``action=submit`` submits the result,
    ``action=review`` submits my review."""
    if not _csrf_ok(request, form):
        return _expired(request, principal, session, inspection_id, form)
    action = _form_text(form, "action")
    inspection = scoring.get(session, inspection_id)
    codes = list(scoring.card_of(inspection).codes)
    entries, comment = _entries(form, codes), _form_text(form, "comment")
    try:
        with session.begin_nested():
            if action == "draft":
                scoring.save_draft(session, principal, inspection_id, entries, comment)
            elif action == "review":
                scoring.submit_review(session, principal, inspection_id, entries, comment)
            else:
                scoring.submit(session, principal, inspection_id, entries, comment)
    except Problem as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
        return _inspection_page(
            request,
            principal,
            session,
            inspection_id,
            errors=problems_of(exc, request_locale(request)),
            values=values,
            form_name="review" if action == "review" else "score",
            status_code=exc.status,
        )
    anchor = "#scorecard" if action == "draft" else "#result"
    return RedirectResponse(f"/inspections/{inspection_id}?saved={action or 'submit'}{anchor}", status_code=303)


@router.post("/inspections/{inspection_id:int}/evidence")
def evidence_post(
    inspection_id: RowId,
    request: Request,
    principal: InspectorDep,
    session: TenantSession,
    form: forms.PostedForm,
) -> Response:
    if not _csrf_ok(request, form):
        return _expired(request, principal, session, inspection_id, form)
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Problem(422, "file", "choose a file")
        with session.begin_nested():
            scoring.upload_evidence(
                session,
                principal,
                inspection_id,
                upload.file,
                upload.filename,
                upload.content_type,
                _form_text(form, "item_code") or None,
            )
    except Problem as exc:
        return _inspection_page(
            request,
            principal,
            session,
            inspection_id,
            errors=problems_of(exc, request_locale(request)),
            form_name="evidence",
            status_code=exc.status,
        )
    return RedirectResponse(f"/inspections/{inspection_id}#evidence", status_code=303)


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 18 else None


@router.post("/inspections/{inspection_id:int}/findings")
def finding_post(
    inspection_id: RowId,
    request: Request,
    principal: InspectorDep,
    session: TenantSession,
    form: forms.PostedForm,
) -> Response:
    if not _csrf_ok(request, form):
        return _expired(request, principal, session, inspection_id, form)
    try:
        with session.begin_nested():
            finding = findings.record_finding(
                session,
                principal,
                inspection_id,
                severity=_form_text(form, "severity"),
                category=_form_text(form, "category"),
                description=_form_text(form, "description"),
                item_code=_form_text(form, "item_code") or None,
                responsible_user_id=_int(_form_text(form, "responsible_user_id")),
                responsible_org_unit_id=_int(_form_text(form, "responsible_org_unit_id")),
            )
    except Problem as exc:
        values = {f"finding-{k}": v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
        return _inspection_page(
            request,
            principal,
            session,
            inspection_id,
            errors=problems_of(exc, request_locale(request)),
            values=values,
            form_name="finding",
            status_code=exc.status,
        )
    return RedirectResponse(findings.finding_url(finding.id), status_code=303)


# -- findings ------------------------------------------------------------------------------------------------


def _filters(request: Request) -> findings.Filters:
    severity = request.query_params.get("severity") or None
    category = request.query_params.get("category") or None
    return findings.Filters(
        severity=severity if severity in findings.SEVERITIES else None,
        category=category if category in findings.CATEGORIES else None,
    )


@router.get("/inspections/findings")
def findings_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    locale = request_locale(request)
    filters = _filters(request)
    context = {
        "rows": findings.rows(session, filters, locale),
        "filters": filters,
        "severities": [(code, translate(locale, text)) for code, text in findings.SEVERITIES.items()],
        "categories": [(code, translate(locale, text)) for code, text in findings.CATEGORIES.items()],
        "csv_query": "&".join(
            f"{k}={v}" for k, v in (("severity", filters.severity), ("category", filters.category)) if v
        ),
    }
    return render(
        request, "inspections/finding_list.html", context, principal=principal, zone=_zone(session, principal)
    )


@router.get("/inspections/findings.csv")
def findings_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    locale = request_locale(request)
    body = findings.to_csv(findings.rows(session, _filters(request), locale), locale, _zone(session, principal))
    stamp = dt.datetime.now(_zone(session, principal)).strftime("%Y%m%d")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="findings-{stamp}.csv"'},
    )


def _finding_page(
    request: Request,
    principal: Principal,
    session: Session,
    finding_id: RowId,
    *,
    errors: dict[str, dict[str, Any]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    finding = findings.get(session, finding_id)
    inspection = scoring.get(session, finding.inspection_id)
    row = findings.as_dict(finding, inspection, locale)
    person = session.get(User, finding.responsible_user_id) if finding.responsible_user_id else None
    unit = session.get(OrgUnit, finding.responsible_org_unit_id) if finding.responsible_org_unit_id else None
    summary = result_queries.summaries(session, inspection.tenant_id, [inspection]).get(
        (inspection.subject_kind, inspection.subject_id)
    )
    violations: list[tuple[str, str]] = []
    if principal.can(Permission.PROPOSE_SANCTIONS):
        tenant = tenancy_repository.tenant_by_id(session, inspection.tenant_id)
        catalogue = sanctions_loader.catalogue_for(tenant.code if tenant else None)
        violations = [(v.code, f"{v.code} · {v.description(locale)}") for v in catalogue.violations.values()]
    context = {
        "f": row,
        "responsible": person.display_name if person else None,
        "org_unit": unit.name if unit else None,
        "subject": summary,
        "inspection_url": result_queries.inspection_url(inspection.id),
        "rectification_url": f"/rectifications/{finding.rectification_id}" if finding.rectification_id else None,
        "violations": violations,
        "kinds": [(k, k) for k in sanctions_loader.KINDS],
        "errors": errors or {},
        "values": values or {},
        "proposed": request.query_params.get("proposed"),
    }
    return render(
        request,
        "inspections/finding_page.html",
        context,
        status_code=status_code,
        principal=principal,
        zone=_zone(session, principal),
        switch_path=findings.finding_url(finding_id) if request.method == "POST" else None,
    )


@router.get("/inspections/findings/{finding_id:int}")
def finding_page(finding_id: RowId, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _finding_page(request, principal, session, finding_id)


@router.post("/inspections/findings/{finding_id:int}/sanction")
def sanction_post(
    finding_id: RowId,
    request: Request,
    principal: ProposerDep,
    session: TenantSession,
    form: forms.PostedForm,
) -> Response:
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}
    locale = request_locale(request)
    if not _csrf_ok(request, form):
        expired = {
            "form": {"message": translate(locale, N_("The form has expired. Reload the page and send it again."))}
        }
        return _finding_page(request, principal, session, finding_id, errors=expired, values=values, status_code=403)
    amount_text, days_text = values.get("amount_cny", "").strip(), values.get("days", "").strip()
    try:
        try:
            amount = Decimal(amount_text) if amount_text else None
        except InvalidOperation:
            raise Problem(422, "amount_cny", "not an amount") from None
        days = _int(days_text) if days_text else None
        if days_text and days is None:
            raise Problem(422, "days", "not a whole number of days")
        with session.begin_nested():
            sanction = findings.propose_sanction(
                session,
                principal,
                finding_id,
                violation_code=values.get("violation_code", ""),
                reason=values.get("reason", ""),
                kind=values.get("kind") or None,
                amount_cny=amount,
                days=days,
            )
    except Problem as exc:
        return _finding_page(
            request,
            principal,
            session,
            finding_id,
            errors=problems_of(exc, locale),
            values=values,
            status_code=exc.status,
        )
    return RedirectResponse(f"{findings.finding_url(finding_id)}?proposed={sanction.id}", status_code=303)
