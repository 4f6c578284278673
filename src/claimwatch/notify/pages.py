"""The staff member's notifications: the bell's badge (an htmx fragment the header loads), the list
with read/unread, and the settings page (e-mail per kind of notice: at once, in the daily digest, or
not at all; the language of the notices). Everyone reads only their own."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from claimwatch.auth.deps import TenantSession, current_principal, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden
from claimwatch.notify import service, staff_inbox, staff_notices
from claimwatch.tenancy.service import tenant_zone
from claimwatch.web import forms
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ReaderDep = Annotated[Principal, Depends(require(Permission.READ_OWN_NOTIFICATIONS))]
PAGE_SIZE = 25
MAX_PAGE = 10_000


def _page_number(value: str | None) -> int:
    if value and value.isascii() and value.isdigit() and len(value) <= 5:
        return min(max(int(value), 1), MAX_PAGE)
    return 1


def _list_url(unread: bool, page: int = 1) -> str:
    params = {k: v for k, v in (("unread", "1" if unread else ""), ("page", str(page) if page > 1 else "")) if v}
    return "/notifications" + (f"?{urlencode(params)}" if params else "")


@router.get("/notifications/badge")
def notifications_badge(request: Request, session: TenantSession) -> HTMLResponse:
    """The bell with the unread count (the header loads it with htmx every minute); empty for an account
    that has no notifications (a regulator)."""
    principal = current_principal(request)
    if not principal.can(Permission.READ_OWN_NOTIFICATIONS) or principal.user_id is None:
        return HTMLResponse("")
    count = staff_inbox.unread_count(session, principal.user_id)
    return render(request, "notifications_badge.html", {"unread": count}, principal=principal)


@router.get("/notifications")
def notifications_page(request: Request, principal: ReaderDep, session: TenantSession) -> HTMLResponse:
    tenant_id = principal.tenant_id
    unread_only = request.query_params.get("unread") == "1"
    page = _page_number(request.query_params.get("page"))
    total = staff_inbox.inbox_total(session, principal.user_id, unread_only)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    items = staff_inbox.inbox(
        session, principal.user_id, request_locale(request), unread_only, PAGE_SIZE, (page - 1) * PAGE_SIZE
    )
    context: dict[str, Any] = {
        "items": items,
        "unread_only": unread_only,
        "unread": staff_inbox.unread_count(session, principal.user_id),
        "total": total,
        "page": page,
        "pages": pages,
        "prev_url": _list_url(unread_only, page - 1) if page > 1 else None,
        "next_url": _list_url(unread_only, page + 1) if page < pages else None,
        "back": _list_url(unread_only, page),
        "done": request.query_params.get("done"),
    }
    return render(request, "notifications.html", context, principal=principal, zone=tenant_zone(session, tenant_id))


def _safe_back(value: str) -> str:
    return value if value.startswith("/notifications") and "//" not in value and len(value) < 200 else "/notifications"


@router.post("/notifications/{item_id}/read")
def notification_read(
    item_id: str,
    request: Request,
    principal: ReaderDep,
    session: TenantSession,
    read: Annotated[str, Form()] = "1",
    back: Annotated[str, Form()] = "",
    csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    """Mark one of my notices read (``read=0``: unread again), then back to the list."""
    if not csrf_valid(request, csrf_token_value):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    if not (item_id.isascii() and item_id.isdigit()) or len(item_id) > 18:
        raise service.NotifyError(404, "id", f"no notification {item_id}")
    staff_inbox.mark_read(session, principal.user_id, int(item_id), read != "0")
    return RedirectResponse(_safe_back(back), status_code=303)


@router.post("/notifications/read-all")
def notifications_read_all(
    request: Request,
    principal: ReaderDep,
    session: TenantSession,
    csrf_token_value: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    if not csrf_valid(request, csrf_token_value):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    marked = staff_inbox.mark_all_read(session, principal.user_id)
    return RedirectResponse(f"/notifications?{urlencode({'done': f'all:{marked}'})}", status_code=303)


def _settings(
    request: Request,
    principal: Principal,
    session: Any,
    *,
    saved: bool = False,
    problem: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    assert principal.tenant_id is not None
    view = staff_inbox.preferences_view(session, principal.user_id, principal.tenant_id)
    context = {"view": view, "modes": staff_notices.EMAIL_MODES, "saved": saved, "problem": problem}
    return render(request, "notifications_settings.html", context, status_code=status, principal=principal)


@router.get("/notifications/settings")
def notification_settings(request: Request, principal: ReaderDep, session: TenantSession) -> HTMLResponse:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "this account belongs to no tenant")
    return _settings(request, principal, session, saved=request.query_params.get("saved") == "1")


@router.post("/notifications/settings")
def notification_settings_save(
    request: Request, principal: ReaderDep, session: TenantSession, form: forms.PostedForm
) -> Response:
    """Save the settings form: ``email.<kind>`` = instant | digest | off, ``locale`` = zh | en. A bad value
    keeps the page and names the field."""
    if not csrf_valid(request, str(form.get(CSRF_FIELD, ""))):
        raise Forbidden(CSRF_FIELD, "the form has expired; reload the page and send it again")
    if principal.tenant_id is None:
        raise Forbidden("tenant", "this account belongs to no tenant")
    modes = {
        key.removeprefix("email.")[:32]: str(value)[:16]
        for key, value in list(form.multi_items())[:60]
        if key.startswith("email.")
    }
    locale = str(form.get("locale", "")) or None
    try:
        with session.begin_nested():
            staff_inbox.set_preferences(session, principal.user_id, principal.tenant_id, modes, locale, principal.actor)
    except service.NotifyError as exc:
        return _settings(request, principal, session, problem=exc.field, status=422)
    return RedirectResponse("/notifications/settings?saved=1", status_code=303)
