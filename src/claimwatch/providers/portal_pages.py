"""The provider's task page at ``/provider/tasks/{token}`` (no account: the signed token in the link the provider's
e-mail carries is the credential, :mod:`claimwatch.providers.portal`): the task, its deadline and documents, and
forms to accept, decline (with a reason) and send the report with its kind's fields and a file. zh/en, the
lookup's phone-first frame.

These routes are their own request wrapper, like the survey link's: the token names the insurer, so the page
reads and writes that insurer's data only (``TenantContext.anonymous``), acting as the task's provider through
:mod:`claimwatch.providers.provider_service`, exactly as the provider's API key would. A cross-site page must
still not act for the provider: every form carries the session's CSRF token. An unknown, forged or altered token
answers 404, an expired one 410, the same page whatever the token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from claimwatch.auth.deps import request_locale
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Problem
from claimwatch.materials import service as materials_service
from claimwatch.providers import portal, provider_service
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.forms import PostedForm
from claimwatch.web.pages import render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

public_router = APIRouter(include_in_schema=False)

STATUS = {portal.UNKNOWN: 404, portal.EXPIRED: 410}
FIELD_PREFIX = "f_"  # a report field's form name: f_<name>, so no field can collide with the form's own names
DONE = {"accept": "accepted", "decline": "declined", "report": "reported"}  # action → the ?done= it leads to


def _render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200, zone: ZoneInfo | None = None
) -> HTMLResponse:
    """Through the one page renderer, in the link's own frame (no account, no navigation); not indexed."""
    response = render(
        request, template, context, status_code=status_code, switch_path=quote(request.url.path), zone=zone
    )
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _state_page(request: Request, state: str) -> HTMLResponse:
    return _render(request, "providers/portal_closed.html", {"state": state}, status_code=STATUS[state])


def _load(request: Request, token: str) -> tuple[str, portal.LinkRef | None, dict[str, Any]]:
    """The link's state and, when open, what the page shows: the task as its provider sees it, the insurer's
    name and zone."""
    ref = portal.read_token(token)
    if ref is None:
        return portal.UNKNOWN, None, {}
    with unit_of_work(TenantContext.anonymous(ref.tenant_id, read_only=True)) as session:
        state, task = portal.link_task(session, ref)
        if state != portal.OPEN or task is None:
            return state, ref, {}
        tenant = tenancy_repository.tenant_by_id(session, ref.tenant_id)
        page = {
            "task": provider_service.task_view(session, task, request_locale(request)),
            "insurer": tenant.name if tenant is not None else "",
            "zone": tenancy_service.tenant_zone(session, ref.tenant_id),
        }
    return portal.OPEN, ref, page


def _task_page(
    request: Request,
    token: str,
    page: dict[str, Any],
    *,
    status_code: int = 200,
    error: dict[str, Any] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    base = f"/provider/tasks/{quote(token)}"
    done = request.query_params.get("done")
    context = {
        "task": page["task"],
        "insurer": page["insurer"],
        "actions": {name: f"{base}/{name}" for name in ("accept", "decline", "report")},
        "field_prefix": FIELD_PREFIX,
        "error": error,
        "values": values or {},
        "done": done if done in DONE.values() else None,
        "accepts": ", ".join(sorted(materials_service.ALLOWED_CONTENT_TYPES)),
    }
    return _render(request, "providers/portal_task.html", context, status_code=status_code, zone=page["zone"])


def _error(request: Request, exc: Problem | None, *, csrf: bool = False) -> dict[str, Any]:
    """What the page says of a refusal: every field named, the service's own words on English pages."""
    if csrf:
        return {"kind": "csrf", "status": 403, "problems": [], "fields": set()}
    assert exc is not None
    english = request_locale(request) == "en"
    problems = [
        {"field": str(p.get("field", "")), "detail": str(p.get("message", "")) if english else ""} for p in exc.problems
    ]
    return {"kind": "refused", "status": exc.status, "problems": problems, "fields": {p["field"] for p in problems}}


@public_router.get("/provider/tasks/{token}")
def task_page(token: str, request: Request) -> Response:
    state, _ref, page = _load(request, token)
    if state != portal.OPEN:
        return _state_page(request, state)
    return _task_page(request, token, page)


def _act(request: Request, token: str, form: Any, action: str) -> Response:
    """Accept, decline or report through the link: the provider's own service, in one transaction of the
    link's insurer; a refusal writes nothing and shows the form again with what was wrong."""
    state, ref, page = _load(request, token)
    if state != portal.OPEN or ref is None:
        return _state_page(request, state)
    values = {str(key): value for key, value in form.items() if isinstance(value, str) and key != CSRF_FIELD}
    if not csrf_valid(request, str(form.get(CSRF_FIELD) or "")):
        return _task_page(request, token, page, status_code=403, error=_error(request, None, csrf=True), values=values)
    number = page["task"]["number"]
    staged = None
    upload = form.get("file")
    try:
        with unit_of_work(TenantContext.anonymous(ref.tenant_id)) as session:
            _state, task = portal.link_task(session, ref)
            assert task is not None and task.number == number
            principal = portal.link_principal(session, task)
            if action == "accept":
                provider_service.accept(session, principal, number)
            elif action == "decline":
                provider_service.decline(session, principal, number, values.get("reason"))
            else:
                fields = {
                    name[len(FIELD_PREFIX) :]: value
                    for name, value in values.items()
                    if name.startswith(FIELD_PREFIX) and value.strip()
                }
                has_file = isinstance(upload, UploadFile) and bool(upload.filename)
                if has_file:
                    assert isinstance(upload, UploadFile)
                    materials_service.check_content_type(upload.content_type)
                    staged = materials_service.stage_upload(upload.file)
                provider_service.submit_report(
                    session,
                    principal,
                    number,
                    fields=fields,
                    upload=staged,
                    filename=upload.filename if has_file and isinstance(upload, UploadFile) else None,
                    content_type=upload.content_type if has_file and isinstance(upload, UploadFile) else None,
                )
    except Problem as exc:
        return _task_page(request, token, page, status_code=exc.status, error=_error(request, exc), values=values)
    finally:
        if staged is not None:
            staged.discard()
    return RedirectResponse(f"/provider/tasks/{quote(token)}?done={DONE[action]}", status_code=303)


@public_router.post("/provider/tasks/{token}/accept")
def accept_post(token: str, request: Request, form: PostedForm) -> Response:
    return _act(request, token, form, "accept")


@public_router.post("/provider/tasks/{token}/decline")
def decline_post(token: str, request: Request, form: PostedForm) -> Response:
    return _act(request, token, form, "decline")


@public_router.post("/provider/tasks/{token}/report")
def report_post(token: str, request: Request, form: PostedForm) -> Response:
    return _act(request, token, form, "report")
