"""What the claims list and the claim page show (read models); the routes are in :mod:`cases.pages`.

Personal data arrives already masked from the cases service; labels come in the reader's language.

A regulator reads every tenant, read-only. Claim numbers are unique per tenant only, so a
regulator's rows are read per tenant through a read-only session narrowed to that tenant
(:data:`OpenTenant`, opened by the page route): each row then knows its tenant, and a claim page is
opened for one named tenant (``?tenant=CODE``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.cases.repository import ClaimFilter
from claimwatch.cases.schemas import MAX_PAGE
from claimwatch.tenancy import service as tenancy_service
from claimwatch.workflow import service as workflow_service

DEFAULT_PAGE_SIZE = 25
PAGE_SIZES = (25, 50, 100)
MAX_NUMBER_PREFIX = 64
# A regulator's all-tenant list merges each tenant's newest rows; deeper than this, pick a tenant.
REGULATOR_MERGE_LIMIT = 5000

# Opens a regulator's read-only session narrowed to one insurer (``TenantContext.regulator_of``).
OpenTenant = Callable[[int], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def clean(value: str | None, max_length: int = 64) -> str | None:
    """A query-string value trimmed and cut to size; empty is None."""
    if value is None:
        return None
    value = value.strip()
    return value[:max_length] or None


def _positive_int(value: str | None, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number >= 1 else default


@dataclass(frozen=True)
class ListQuery:
    """The claims list's filters and page, as read from the query string (bad values are ignored)."""

    status: str | None = None
    line: str | None = None
    region: str | None = None
    number: str | None = None
    tenant: str | None = None
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ListQuery:
        size = _positive_int(params.get("page_size"), DEFAULT_PAGE_SIZE)
        return cls(
            status=clean(params.get("status"), 32),
            line=clean(params.get("line"), 32),
            region=clean(params.get("region"), 12),
            number=clean(params.get("number"), MAX_NUMBER_PREFIX),
            tenant=clean(params.get("tenant"), 32),
            page=min(_positive_int(params.get("page"), 1), MAX_PAGE),
            page_size=size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE,
        )

    def claim_filter(self) -> ClaimFilter:
        return ClaimFilter(status=self.status, line=self.line, region_code=self.region, number=self.number)

    def params(self, **changes: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "status": self.status,
            "line": self.line,
            "region": self.region,
            "number": self.number,
            "tenant": self.tenant,
            "page": self.page if self.page != 1 else None,
            "page_size": self.page_size if self.page_size != DEFAULT_PAGE_SIZE else None,
        } | changes
        return {key: str(value) for key, value in values.items() if value not in (None, "")}

    def url(self, **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"/claims?{query}" if query else "/claims"


@dataclass
class ClaimsPage:
    query: ListQuery
    items: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    first_row: int
    last_row: int
    prev_url: str | None
    next_url: str | None
    show_tenant: bool
    truncated: bool  # a regulator's all-tenant list stops before the last page
    status_options: list[Option]
    line_options: list[Option]
    region_options: list[Option]
    time_zone: ZoneInfo  # the caller's insurer's; the platform's for a regulator's cross-insurer list
    tenant_options: list[Option] = field(default_factory=list)


def status_options(locale: str) -> list[Option]:
    """Every status of every workflow, in workflow order; a key labelled differently per line shows both."""
    labels: dict[str, list[str]] = {}
    for line in workflow_service.lines():
        for key in workflow_service.get_workflow(line).states:
            label = workflow_service.state_label(line, key, locale)
            seen = labels.setdefault(key, [])
            if label not in seen:
                seen.append(label)
    return [Option(key, " / ".join(names)) for key, names in labels.items()]


def line_options(locale: str) -> list[Option]:
    return [Option(line, workflow_service.line_label(line, locale)) for line in workflow_service.lines()]


def region_name(code: str | None, locale: str) -> str:
    if not code:
        return ""
    names = tenancy_service.region_names().get(code)
    if names is None:
        return code
    return names[0] if locale == "zh" else names[1]


def region_options(locale: str) -> list[Option]:
    return [Option(code, region_name(code, locale)) for code in sorted(tenancy_service.region_names())]


def claim_url(number: str, tenant_code: str | None = None) -> str:
    url = f"/claims/{quote(number, safe='')}"
    return f"{url}?{urlencode({'tenant': tenant_code})}" if tenant_code else url


def _decorate(item: dict[str, Any], locale: str, tenant_code: str | None) -> dict[str, Any]:
    return item | {
        "region_name": region_name(item.get("region_code"), locale),
        "tenant_code": tenant_code,
        "url": claim_url(item["number"], tenant_code),
    }


def claims_page(
    session: Session, principal: Principal, query: ListQuery, locale: str, open_tenant: OpenTenant
) -> ClaimsPage:
    """One page of the caller's claims: their tenant's, or for a regulator every tenant's (each read
    through ``open_tenant``)."""
    claim_filter = query.claim_filter()
    size = query.page_size
    tenant_options: list[Option] = []
    reachable: int | None = None
    if principal.is_regulator:
        tenants = tenancy_service.tenant_labels(session)
        tenant_options = [Option(t.code, f"{t.code} · {t.name}") for t in tenants]
        if query.tenant is not None:
            tenants = [t for t in tenants if t.code == query.tenant]
        if len(tenants) > 1:
            reachable = max(1, REGULATOR_MERGE_LIMIT // size)
        page = min(query.page, reachable) if reachable else query.page
        total, items = _regulator_rows(open_tenant, tenants, claim_filter, page, size, locale)
    else:
        page = query.page
        result = cases_service.list_claims(session, claim_filter, page, size, locale)
        total = result["total"]
        items = [_decorate(item, locale, None) for item in result["items"]]
    pages = max(1, math.ceil(total / size))
    last_page = min(pages, reachable) if reachable else pages
    first_row = (page - 1) * size + 1 if items else 0
    return ClaimsPage(
        query=query,
        items=items,
        total=total,
        page=page,
        pages=pages,
        first_row=first_row,
        last_row=first_row + len(items) - 1 if items else 0,
        prev_url=query.url(page=min(page - 1, last_page)) if page > 1 else None,
        next_url=query.url(page=page + 1) if page < last_page else None,
        show_tenant=principal.is_regulator,
        time_zone=tenancy_service.tenant_zone(session, principal.tenant_id),
        truncated=last_page < pages,
        status_options=status_options(locale),
        line_options=line_options(locale),
        region_options=region_options(locale),
        tenant_options=tenant_options,
    )


def _regulator_rows(
    open_tenant: OpenTenant,
    tenants: list[tenancy_service.TenantLabel],
    claim_filter: ClaimFilter,
    page: int,
    size: int,
    locale: str,
) -> tuple[int, list[dict[str, Any]]]:
    """Newest first across tenants. With one tenant this is a plain page; with several, each tenant's
    newest ``page * size`` rows are merged (the caller bounds ``page`` by REGULATOR_MERGE_LIMIT)."""
    if len(tenants) == 1:
        tenant = tenants[0]
        with open_tenant(tenant.id) as narrowed:
            result = cases_service.list_claims(narrowed, claim_filter, page, size, locale)
        return result["total"], [_decorate(item, locale, tenant.code) for item in result["items"]]
    total = 0
    rows: list[dict[str, Any]] = []
    for tenant in tenants:
        with open_tenant(tenant.id) as narrowed:
            result = cases_service.list_claims(narrowed, claim_filter, 1, page * size, locale)
        total += result["total"]
        rows.extend(_decorate(item, locale, tenant.code) for item in result["items"])
    rows.sort(key=lambda row: (row["reported_at"], row["tenant_code"], row["number"]), reverse=True)
    return total, rows[(page - 1) * size : page * size]


@dataclass(frozen=True)
class ClaimView:
    """A claim with its timeline; the claim page adds the panels of other domains (clocks, materials,
    messages) in :mod:`cases.pages`."""

    claim: dict[str, Any]
    timeline: list[dict[str, Any]]
    time_zone: ZoneInfo  # the claim's insurer's
    clocks: list[dict[str, Any]] = field(default_factory=list)
    materials: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)


def claim_view(session: Session, number: str, locale: str, tenant_code: str | None) -> tuple[Claim, ClaimView]:
    """The claim row and its view; :class:`cases.service.ClaimNotFound` whether it is unknown or someone
    else's."""
    claim, events = cases_service.claim_with_timeline(session, number, locale)
    row = cases_service.get_claim(session, number)
    zone = tenancy_service.tenant_zone(session, row.tenant_id)
    return row, ClaimView(_decorate(claim, locale, tenant_code), events, zone)
