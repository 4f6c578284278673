"""Sales pages: the list (filters agent, channel, line, flagged, rule, signed period, text; CSV and XLSX), the
form to record a sale, one sale (facts, disclosure, 双录 recording, flags, complaints, revisit; the cancellation
and complaint-link forms), the flags (open first, cleared or confirmed with a reason) and the summary by agent.
Another insurer's sale answers 404."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.policies import sales, sales_queries
from claimwatch.policies.sales_rules import ALL_RULES, RULE_LABELS
from claimwatch.policies.sales_schemas import SaleIn
from claimwatch.tables import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_text, xlsx_bytes
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_SALES))]
ManagerDep = Annotated[Principal, Depends(require(Permission.MANAGE_SALES))]
FORM_FIELDS = (
    "policy_number", "product_code", "product_name", "line", "channel", "agent", "org_unit", "customer_name",
    "customer_id_number", "customer_phone", "premium", "signed_on", "effective_on", "cooling_off_days",
    "disclosure_signed_on", "recording_ref", "recording_sha256",
)  # fmt: skip
PAGE_TITLE = N_("Sales")


def _zone(session: Session, principal: Principal) -> Any:
    return tenancy_service.tenant_zone(session, principal.tenant_id)


def _checked_form(request: Request, form: forms.FormData) -> dict[str, str]:
    token = form.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    return {key: value.strip() for key, value in form.items() if isinstance(value, str) and key != CSRF_FIELD}


def _options(session: Session, tenant_id: int, locale: str) -> dict[str, Any]:
    rules = sales.rules_of(session, tenant_id)
    return {
        "channels": [(c, sales_queries.label(sales_queries.CHANNEL_LABELS, c, locale)) for c in rules.channels],
        "lines": [(c, sales_queries.label(sales_queries.LINE_LABELS, c, locale)) for c in rules.lines],
        "rules": [(r, translate(locale, RULE_LABELS[r])) for r in ALL_RULES],
    }


def _filter(request: Request) -> tuple[sales_queries.SaleFilter, dict[str, Any] | None]:
    try:
        return sales_queries.SaleFilter.of(request.query_params), None
    except Problem as exc:
        return sales_queries.SaleFilter(), forms.problem_for(request_locale(request), exc)


@router.get("/sales")
def list_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    tenant_id = sales.tenant_of(principal)
    where, problem = _filter(request)
    locale = request_locale(request)
    params = urlencode(where.as_params())
    context = {
        "rows": sales_queries.sale_rows(session, tenant_id, where, locale),
        "query": where,
        "problem": problem,
        "options": _options(session, tenant_id, locale),
        "csv_url": f"/sales.csv?{params}",
        "xlsx_url": f"/sales.xlsx?{params}",
        "may_manage": principal.can(Permission.MANAGE_SALES),
    }
    return render(
        request, "policies/sales_list.html", context, principal=principal, zone=_zone(session, principal),
        status_code=422 if problem else 200,
    )  # fmt: skip


def _download(request: Request, principal: Principal, session: Session) -> tuple[list[str], list[list[Any]], str]:
    tenant_id = sales.tenant_of(principal)
    locale = request_locale(request)
    rows = sales_queries.sale_rows(session, tenant_id, sales_queries.SaleFilter.of(request.query_params), locale)
    header, body = sales_queries.table(rows, locale)
    return header, body, dt.datetime.now(_zone(session, principal)).strftime("%Y%m%d")


@router.get("/sales.csv")
def list_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    header, body, stamp = _download(request, principal, session)
    return Response(
        csv_text(header, body), media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="sales-{stamp}.csv"'},
    )  # fmt: skip


@router.get("/sales.xlsx")
def list_xlsx(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    header, body, stamp = _download(request, principal, session)
    sheet = translate(request_locale(request), PAGE_TITLE)
    return Response(
        xlsx_bytes([(sheet, header, body)]), media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="sales-{stamp}.xlsx"'},
    )  # fmt: skip


def _new_page(
    request: Request,
    session: Session,
    principal: Principal,
    values: dict[str, str] | None = None,
    problems: dict[str, dict[str, Any]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "form": values or {"cooling_off_days": "15"},
        "problems": problems or {},
        "options": _options(session, sales.tenant_of(principal), request_locale(request)),
    }
    return render(
        request, "policies/sales_new.html", context, principal=principal, zone=_zone(session, principal),
        status_code=status_code, switch_path="/sales/new",
    )  # fmt: skip


@router.get("/sales/new")
def new_page(request: Request, principal: ManagerDep, session: TenantSession) -> HTMLResponse:
    return _new_page(request, session, principal)


@router.post("/sales/new")
def new_post(request: Request, principal: ManagerDep, session: TenantSession, form: forms.PostedForm) -> Response:
    """Record a sale typed by staff; every refused field is shown at its input."""
    values = _checked_form(request, form)
    body: dict[str, Any] = {key: values[key] for key in FORM_FIELDS if values.get(key)}
    body["long_term"] = values.get("long_term") == "on"
    locale = request_locale(request)
    try:
        data = SaleIn.model_validate(body)
    except ValidationError as exc:
        return _new_page(request, session, principal, values, forms.validation_problems(exc, locale), 422)
    try:
        with session.begin_nested():
            sale = sales.record_sale(session, principal, data, source="form")
    except Problem as exc:
        if exc.status in (403, 404):
            raise
        problems = {p["field"]: forms.problem_for(locale, exc, p["field"]) for p in exc.problems}
        for field, problem in problems.items():
            message = next(p["message"] for p in exc.problems if p["field"] == field)
            problem["detail"] = problem["detail"] or message
        return _new_page(request, session, principal, values, problems, exc.status)
    return RedirectResponse(f"/sales/{quote(sale.policy_number)}", status_code=303)


@router.get("/sales/flags")
def flags_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _flags_page(request, session, principal)


def _flags_page(
    request: Request, session: Session, principal: Principal, problem: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    locale = request_locale(request)
    rows = sales_queries.flag_rows(session, sales.tenant_of(principal), locale)
    context = {
        "open": [r for r in rows if r["status"] == "open"],
        "decided": [r for r in rows if r["status"] != "open"][:50],
        "may_decide": principal.can(Permission.MANAGE_SALES),
        "problem": problem,
    }
    return render(
        request, "policies/sales_flags.html", context, principal=principal, zone=_zone(session, principal),
        status_code=status, switch_path="/sales/flags",
    )  # fmt: skip


@router.post("/sales/flags/{flag_id}")
def flag_post(
    request: Request, flag_id: int, principal: ManagerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    """Clear or confirm with the reason; a refusal keeps the page with the message at the flag."""
    values = _checked_form(request, form)
    try:
        with session.begin_nested():
            sales.decide_flag(session, principal, flag_id, values.get("decision", ""), values.get("reason", ""))
    except Problem as exc:
        if exc.status in (403, 404):
            raise
        problem = forms.problem_for(request_locale(request), exc) | {"flag_id": flag_id}
        return _flags_page(request, session, principal, problem, exc.status)
    return RedirectResponse(f"/sales/flags#flag-{flag_id}", status_code=303)


@router.get("/sales/agents")
def agents_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    tenant_id = sales.tenant_of(principal)
    where, problem = _filter(request)
    today = dt.datetime.now(_zone(session, principal)).date()
    licence_kind = sales.rules_of(session, tenant_id).licence_kind
    context = {
        "rows": sales_queries.agent_summary(session, tenant_id, where.period, today, licence_kind),
        "period": where.period or "",
        "problem": problem,
    }
    return render(
        request, "policies/sales_agents.html", context, principal=principal, zone=_zone(session, principal),
        status_code=422 if problem else 200,
    )  # fmt: skip


def _sale_page(
    request: Request,
    session: Session,
    principal: Principal,
    number: str,
    problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tenant_id = sales.tenant_of(principal)
    sale = sales.get_sale(session, tenant_id, number)
    view = sales_queries.sale_view(session, sale, sales.rules_of(session, tenant_id), request_locale(request))
    context = {"s": view, "may_manage": principal.can(Permission.MANAGE_SALES), "problem": problem}
    return render(
        request, "policies/sales_sale.html", context, principal=principal, zone=_zone(session, principal),
        status_code=status_code, switch_path=view["url"],
    )  # fmt: skip


@router.get("/sales/{policy_number}")
def sale_page(request: Request, policy_number: str, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _sale_page(request, session, principal, policy_number[:64])


@router.post("/sales/{policy_number}/cancel")
def cancel_post(
    request: Request, policy_number: str, principal: ManagerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    values = _checked_form(request, form)
    number = policy_number[:64]
    try:
        day = dt.date.fromisoformat(values.get("cancelled_on", ""))
    except ValueError:
        problem = forms.problem_for(request_locale(request), Invalid("cancelled_on", "give the day (YYYY-MM-DD)"))
        return _sale_page(request, session, principal, number, problem, 422)
    try:
        with session.begin_nested():
            sales.cancel_sale(session, principal, number, day)
    except Problem as exc:
        if exc.status in (403, 404):
            raise
        return _sale_page(request, session, principal, number, forms.problem_for(request_locale(request), exc), 422)
    return RedirectResponse(f"/sales/{quote(number)}", status_code=303)


@router.post("/sales/{policy_number}/complaints")
def link_post(
    request: Request, policy_number: str, principal: ManagerDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    values = _checked_form(request, form)
    number = policy_number[:64]
    try:
        with session.begin_nested():
            sales.link_complaint(session, principal, number, values.get("complaint_number", "")[:64])
    except Problem as exc:
        if exc.status == 403 or exc.field == "policy_number":
            raise
        problem = forms.problem_for(request_locale(request), exc)
        return _sale_page(request, session, principal, number, problem, exc.status)
    return RedirectResponse(f"/sales/{quote(number)}", status_code=303)
