"""Survey pages: the customer's questionnaire at /survey/{token} (no account, phone-sized first, its own
layout like the lookup's) and the staff results at /surveys/results with a CSV export."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from claimwatch.access import api as access_api
from claimwatch.access import service as access_service
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.surveys import queries, service
from claimwatch.surveys.api import link_tenant
from claimwatch.surveys.schemas import MAX_COMMENT
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web import forms
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

LANG_COOKIE = "lang"
# A hard cap on what the form parser takes for the comment; the 1000-character rule is checked after
# line ends are normalised, so that a browser's CRLF does not count twice.
_MAX_POSTED_COMMENT = 8 * MAX_COMMENT

public_router = APIRouter(include_in_schema=False)
router = APIRouter(include_in_schema=False, route_class=PageRoute)

# --- the customer's questionnaire -------------------------------------------------------------------------


def _render_public(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200, zone: ZoneInfo | None = None
) -> HTMLResponse:
    """Through the one page renderer, with the questionnaire's own layout (no account, no navigation);
    times in the insurer's zone. The answer to a POST switches language on the page itself, never by
    re-posting; search engines are asked not to index a link."""
    page = {"scores": service.SCORES, "max_comment": MAX_COMMENT} | context
    response = render(request, template, page, status_code=status_code, switch_path=quote(request.url.path), zone=zone)
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _state_page(request: Request, state: str) -> HTMLResponse:
    """Unknown (404), answered (409) or expired (410): one page each, the same for any token."""
    return _render_public(request, "survey/closed.html", {"state": state}, status_code=service.LINK_STATUS[state])


def _view(tenant_id: int, token: str, locale: str) -> tuple[service.PublicSurvey, ZoneInfo]:
    """What the link shows, and the insurer's zone its times are shown in."""
    with unit_of_work(TenantContext.anonymous(tenant_id, read_only=True)) as session:
        return service.public_view(session, token, locale), tenancy_service.tenant_zone(session, tenant_id)


def _form(
    request: Request,
    token: str,
    view: service.PublicSurvey,
    zone: ZoneInfo,
    *,
    status_code: int = 200,
    error: str | None = None,
    error_field: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    return _render_public(
        request,
        "survey/form.html",
        {
            "view": view,
            "action": f"/survey/{quote(token)}",
            "error": error,
            "error_field": error_field,
            "values": values or {},
        },
        status_code=status_code,
        zone=zone,
    )


@public_router.get("/survey/{token}")
def survey_page(token: str, request: Request) -> Response:
    tenant_id = link_tenant(token)
    if tenant_id is None:
        return _state_page(request, service.UNKNOWN)
    view, zone = _view(tenant_id, token, request_locale(request))
    if view.state == service.ANSWERED and request.query_params.get("submitted") == "1":
        return _render_public(request, "survey/thanks.html", {})
    if view.state != service.OPEN:
        return _state_page(request, view.state)
    return _form(request, token, view, zone)


@public_router.post("/survey/{token}")
def survey_post(
    token: str,
    request: Request,
    overall: Annotated[str, Form(max_length=8)] = "",
    timeliness: Annotated[str, Form(max_length=8)] = "",
    transparency: Annotated[str, Form(max_length=8)] = "",
    attitude: Annotated[str, Form(max_length=8)] = "",
    comment: Annotated[str, Form(max_length=_MAX_POSTED_COMMENT)] = "",
    csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD, max_length=100)] = "",
) -> Response:
    tenant_id = link_tenant(token)
    if tenant_id is None:
        return _state_page(request, service.UNKNOWN)
    view, zone = _view(tenant_id, token, request_locale(request))
    if view.state != service.OPEN:
        return _state_page(request, view.state)
    values = {
        "overall": overall,
        "timeliness": timeliness,
        "transparency": transparency,
        "attitude": attitude,
        "comment": comment,
    }
    # The token is the credential, but a cross-site page must still not answer for the customer.
    if not csrf_valid(request, csrf_token_value):
        return _form(request, token, view, zone, status_code=403, error="csrf", values=values)
    try:
        answer = service.parse_form(values)
        # The page is the request wrapper: a refusal raises out of the unit of work, nothing is kept.
        with unit_of_work(TenantContext.anonymous(tenant_id)) as session:
            service.answer(session, token, answer)
    except service.SurveyError as exc:
        if exc.status == 422:
            return _form(
                request, token, view, zone, status_code=422, error="invalid", error_field=exc.field, values=values
            )
        return _state_page(request, {409: service.ANSWERED, 410: service.GONE}.get(exc.status, service.UNKNOWN))
    return RedirectResponse(f"/survey/{quote(token)}?submitted=1", status_code=303)


# --- staff results ----------------------------------------------------------------------------------------

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_SURVEYS))]


def _url(path: str, params: dict[str, str]) -> str:
    encoded = urlencode(params)
    return f"{path}?{encoded}" if encoded else path


@router.get("/surveys/results")
def results_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    locale = request_locale(request)
    zone = queries.zone_for(session, principal)
    tenants = queries.tenant_options(session, principal)
    raw = {name: request.query_params.get(name, "") for name in ("from", "to", "by", "type", "tenant", "drill")}
    try:
        query = queries.parse_query(request.query_params, zone)
        result = queries.results_for(session, principal, query, locale)
    except service.SurveyError as exc:
        problem = forms.problem_for(locale, exc)  # in the page's language
        context = {"error": exc, "problem": problem, "raw": raw, "result": None, "tenants": tenants, "query": None}
        return render(request, "surveys/results.html", context, status_code=exc.status, principal=principal, zone=zone)
    params = query.params()
    base = query.params(drill=None)
    rows = result["rows"]
    view = {
        "csv_url": _url("/surveys/results.csv", base),
        "comments_csv_url": _url("/surveys/results.csv", params | {"part": "comments"}),
        "by_urls": {by: _url("/surveys/results", query.params(by=by, drill=None)) for by in service.GROUP_BY},
        "drill_urls": {row["drill"]: _url("/surveys/results", base | {"drill": row["drill"]}) for row in rows},
        "undrill_url": _url("/surveys/results", base),
        "cross_tenant": principal.is_regulator,
    }
    context = {"error": None, "raw": raw, "result": result, "tenants": tenants, "query": query, "view": view}
    return render(request, "surveys/results.html", context, principal=principal, zone=zone)


@router.get("/surveys/results.csv")
def results_csv(request: Request, principal: ViewerDep, session: TenantSession) -> Response:
    """The table (or with ``part=comments`` the comments, masked) of the results page as CSV."""
    zone = queries.zone_for(session, principal)
    locale = request_locale(request)
    try:
        query = queries.parse_query(request.query_params, zone)
        result = queries.results_for(session, principal, query, locale, comment_limit=10_000)
    except service.SurveyError as exc:
        refused = forms.problem_for(locale, exc)
        return Response(f"{exc.field}: {refused['message']}\n", status_code=exc.status, media_type="text/plain")
    comments = request.query_params.get("part") == "comments"
    if comments:
        body = queries.to_csv(result["comments"], zone, queries.COMMENT_CSV_COLUMNS, locale)
    else:
        body = queries.to_csv([*result["rows"], result["total"]], zone, locale=locale)
    name = f"surveys-{query.period_from}-{query.period_to}-{'comments' if comments else query.group_by}.csv"
    if comments and result["comments"]:
        # The comments carry the customers' own words and their case references: who exported them is
        # recorded, one row per insurer whose comments are in the file. The figures are counts only.
        if principal.is_regulator:
            ids = {label.code: label.id for label in tenancy_service.tenant_labels(session)}
            tenant_ids = {ids.get(row["tenant"]) for row in result["comments"]}
        else:
            tenant_ids = {principal.tenant_id}
        access_api.record_view(session, principal, tenant_ids, access_service.EXPORT, name, "survey_comments_export")
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
