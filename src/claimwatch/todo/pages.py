"""我的待办: every role's home. ``/my`` shows each section of work that applies to the signed-in user (the
registry's sources) with its count and first items; ``/my/{key}`` the full list of one section, paged (the
"see all" behind each count); ``/my/count`` the number waiting, loaded by the navigation's badge."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from claimwatch.auth.deps import TenantSession, current_principal, request_locale
from claimwatch.auth.principal import Principal
from claimwatch.db import utc_now
from claimwatch.tenancy.service import tenant_zone
from claimwatch.todo import registry
from claimwatch.web.pages import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

SignedIn = Annotated[Principal, Depends(current_principal)]

HOME_ITEMS = 5  # items per section on /my
PAGE_SIZE = 50  # items per page of /my/{key}
MAX_PAGE = 10_000


def _links(sections: list[registry.Section]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for section in sections:
        for label, url in section.source.links:
            seen.setdefault(url, label)
    return [(label, url) for url, label in seen.items()]


@router.get("/my")
def my_home(request: Request, principal: SignedIn, session: TenantSession) -> HTMLResponse:
    sections = registry.inbox(session, principal, request_locale(request), now=utc_now(), limit=HOME_ITEMS)
    context: dict[str, Any] = {
        "sections": sections,
        "todo_waiting": registry.waiting_total(sections),
        "quick_links": _links(sections),
    }
    return render(request, "my.html", context, principal=principal, zone=tenant_zone(session, principal.tenant_id))


@router.get("/my/count")
def my_count(request: Request, principal: SignedIn, session: TenantSession) -> HTMLResponse:
    """The badge beside 我的待办 (an htmx fragment, so other pages do not wait for the counts)."""
    return render(request, "_my_count.html", {"todo_waiting": registry.total(session, principal)}, principal=principal)


def _page_number(value: str | None) -> int:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 6:
        return 1
    return min(max(int(value), 1), MAX_PAGE)


@router.get("/my/{key}")
def my_section(key: str, request: Request, principal: SignedIn, session: TenantSession) -> HTMLResponse:
    page = _page_number(request.query_params.get("page"))
    section = registry.section(
        session,
        principal,
        key,
        request_locale(request),
        now=utc_now(),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    pages = max(1, -(-section.count // PAGE_SIZE))
    context = {
        "section": section,
        "page": page,
        "pages": pages,
        "first_row": (page - 1) * PAGE_SIZE + 1 if section.items else 0,
        "last_row": (page - 1) * PAGE_SIZE + len(section.items),
        "prev_url": f"/my/{key}?page={page - 1}" if page > 1 else None,
        "next_url": f"/my/{key}?page={page + 1}" if page < pages else None,
    }
    return render(
        request, "my_section.html", context, principal=principal, zone=tenant_zone(session, principal.tenant_id)
    )
