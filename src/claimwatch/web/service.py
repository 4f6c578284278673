"""What the pages show, built from the cases, tenancy, workflow, SLA and materials services.

Routes parse the request and render; everything they display is put together here. Personal data
arrives already masked from the cases service (free text that may carry some, such as a pause
reason or a supervisor's note, is scrubbed here); labels come in the reader's language.

A regulator reads every tenant, read-only. Claim numbers are unique per tenant only, so a
regulator's rows are read per tenant through a read-only session narrowed to that tenant: each
row then knows its tenant, and a claim page is opened for one named tenant (``?tenant=CODE``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.repository import ClaimFilter
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.materials import service as materials_service
from claimwatch.notify import service as notify_service
from claimwatch.privacy import scrub_text
from claimwatch.sla import service as sla_service
from claimwatch.sla import views as sla_views
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import local_zone
from claimwatch.web.labels import NOTICE_ROUND_REASON, SIGNAL_REASON_LABELS
from claimwatch.workflow import service as workflow_service

DEFAULT_PAGE_SIZE = 25
PAGE_SIZES = (25, 50, 100)
MAX_NUMBER_PREFIX = 64
# A regulator's all-tenant list merges each tenant's newest rows; deeper than this, pick a tenant.
REGULATOR_MERGE_LIMIT = 5000


class ClaimNotFound(LookupError):
    """Unknown claim, or one the caller may not see: both look the same to the caller."""


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def _clean(value: str | None, max_length: int = 64) -> str | None:
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
    def from_params(cls, params: QueryParams) -> ListQuery:
        size = _positive_int(params.get("page_size"), DEFAULT_PAGE_SIZE)
        return cls(
            status=_clean(params.get("status"), 32),
            line=_clean(params.get("line"), 32),
            region=_clean(params.get("region"), 12),
            number=_clean(params.get("number"), MAX_NUMBER_PREFIX),
            tenant=_clean(params.get("tenant"), 32),
            page=min(_positive_int(params.get("page"), 1), 1_000_000),
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


def is_regulator(principal: Principal) -> bool:
    return principal.role is Role.REGULATOR


def _one_tenant_read_only(tenant_id: int) -> TenantContext:
    """A regulator's read-only view narrowed to one tenant: strictly less than what it may already read."""
    return TenantContext(tenant_id=tenant_id, read_only=True)


def claim_url(number: str, tenant_code: str | None = None) -> str:
    url = f"/claims/{quote(number, safe='')}"
    return f"{url}?{urlencode({'tenant': tenant_code})}" if tenant_code else url


def _decorate(item: dict[str, Any], locale: str, tenant_code: str | None) -> dict[str, Any]:
    return item | {
        "region_name": region_name(item.get("region_code"), locale),
        "tenant_code": tenant_code,
        "url": claim_url(item["number"], tenant_code),
    }


def claims_page(session: Session, principal: Principal, query: ListQuery, locale: str) -> ClaimsPage:
    """One page of the caller's claims: their tenant's, or for a regulator every tenant's."""
    claim_filter = query.claim_filter()
    size = query.page_size
    tenant_options: list[Option] = []
    reachable: int | None = None
    if is_regulator(principal):
        tenants = tenancy_service.tenant_labels(session)
        tenant_options = [Option(t.code, f"{t.code} · {t.name}") for t in tenants]
        if query.tenant is not None:
            tenants = [t for t in tenants if t.code == query.tenant]
        if len(tenants) > 1:
            reachable = max(1, REGULATOR_MERGE_LIMIT // size)
        page = min(query.page, reachable) if reachable else query.page
        total, items = _regulator_rows(tenants, claim_filter, page, size, locale)
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
        show_tenant=is_regulator(principal),
        truncated=last_page < pages,
        status_options=status_options(locale),
        line_options=line_options(locale),
        region_options=region_options(locale),
        tenant_options=tenant_options,
    )


def _regulator_rows(
    tenants: list[tenancy_service.TenantLabel], claim_filter: ClaimFilter, page: int, size: int, locale: str
) -> tuple[int, list[dict[str, Any]]]:
    """Newest first across tenants. With one tenant this is a plain page; with several, each tenant's
    newest ``page * size`` rows are merged (the caller bounds ``page`` by REGULATOR_MERGE_LIMIT)."""
    if len(tenants) == 1:
        tenant = tenants[0]
        with unit_of_work(_one_tenant_read_only(tenant.id)) as narrowed:
            result = cases_service.list_claims(narrowed, claim_filter, page, size, locale)
        return result["total"], [_decorate(item, locale, tenant.code) for item in result["items"]]
    total = 0
    rows: list[dict[str, Any]] = []
    for tenant in tenants:
        with unit_of_work(_one_tenant_read_only(tenant.id)) as narrowed:
            result = cases_service.list_claims(narrowed, claim_filter, 1, page * size, locale)
        total += result["total"]
        rows.extend(_decorate(item, locale, tenant.code) for item in result["items"])
    rows.sort(key=lambda row: (row["reported_at"], row["tenant_code"], row["number"]), reverse=True)
    return total, rows[(page - 1) * size : page * size]


@dataclass(frozen=True)
class ClaimView:
    claim: dict[str, Any]
    timeline: list[dict[str, Any]]
    clocks: list[dict[str, Any]] = field(default_factory=list)
    materials: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)


_NOTICE_ROUND = re.compile(r"materials notice round (\d+)\b")


def _period_reason(reason: str | None, line: str, locale: str) -> dict[str, Any]:
    """Why a clock paused. A status change names the status (shown by its label); the materials rules
    name their notice round (shown as a translated message, ``reason_msg`` with ``round``); anything
    else is free text, scrubbed of personal data."""
    if not reason:
        return {"reason": "", "reason_msg": None, "reason_round": None}
    if reason in workflow_service.get_workflow(line).states:
        return {"reason": workflow_service.state_label(line, reason, locale), "reason_msg": None, "reason_round": None}
    if reason in SIGNAL_REASON_LABELS:
        return {"reason": reason, "reason_msg": SIGNAL_REASON_LABELS[reason], "reason_round": None}
    found = _NOTICE_ROUND.match(reason)
    if found:
        return {"reason": reason, "reason_msg": NOTICE_ROUND_REASON, "reason_round": int(found.group(1))}
    return {"reason": scrub_text(reason), "reason_msg": None, "reason_round": None}


def _clock_rows(clocks: list[dict[str, Any]], line: str, locale: str) -> list[dict[str, Any]]:
    rows = []
    for clock in clocks:
        periods = [period | _period_reason(period.get("reason"), line, locale) for period in clock["periods"]]
        # Open and past its deadline: the sweep may not have recorded the breach yet, the live light has.
        overdue = clock["outcome"] is None and (
            clock["missed_by"] is not None or clock["light"] != "green" or clock["remaining"] < 0
        )
        over_by = clock["missed_by"] if clock["missed_by"] is not None else max(0.0, -clock["remaining"])
        rows.append(
            clock
            | {
                "budget": clock["yellow_budget"] + clock["extended"],
                "overdue": overdue,
                "over_by": over_by if overdue else None,
                "periods": periods,
            }
        )
    return rows


def _received_at(materials: dict[str, Any]) -> dict[str, dt.datetime]:
    """When each checklist item was last received (documents themselves are not shown: their file
    names may carry personal data)."""
    latest: dict[str, dt.datetime] = {}
    for document in materials.get("documents", []):
        code, at = document["item_code"], document["uploaded_at"]
        if code not in latest or at > latest[code]:
            latest[code] = at
    return latest


def _claim_view(session: Session, number: str, locale: str, tenant_code: str | None) -> ClaimView:
    claim, events = cases_service.claim_with_timeline(session, number, locale)
    row = cases_service.get_claim(session, number)
    materials = materials_service.materials_view(session, row, locale)
    materials["received_at"] = _received_at(materials)
    clocks = _clock_rows(sla_views.clocks_view(session, row, locale), row.line, locale)
    messages = notify_service.messages_for_claim(session, row.id)
    return ClaimView(_decorate(claim, locale, tenant_code), events, clocks, materials, messages)


def claim_page(session: Session, principal: Principal, number: str, tenant_code: str | None, locale: str) -> ClaimView:
    """A claim with its timeline, SLA clocks and materials; :class:`ClaimNotFound` whether it is
    unknown or someone else's."""
    if not is_regulator(principal):
        try:
            return _claim_view(session, number, locale, None)
        except cases_service.ClaimNotFound as exc:
            raise ClaimNotFound(number) from exc
    tenants = tenancy_service.tenant_labels(session)
    if tenant_code is not None:
        tenants = [t for t in tenants if t.code == tenant_code]
    for tenant in tenants:
        with unit_of_work(_one_tenant_read_only(tenant.id)) as narrowed:
            try:
                return _claim_view(narrowed, number, locale, tenant.code)
            except cases_service.ClaimNotFound:
                continue
    raise ClaimNotFound(number)


# -- the supervisors' queue (督办队列) ---------------------------------------------------------------

MAX_NOTE = 500
EscalationNotFound = sla_service.EscalationNotFound
AlreadyAcknowledged = sla_service.ClockActionRefused


@dataclass(frozen=True)
class QueueView:
    items: list[dict[str, Any]]
    include_acknowledged: bool

    def url(self) -> str:
        return queue_url(self.include_acknowledged)


def queue_url(include_acknowledged: bool) -> str:
    return "/sla/queue?all=1" if include_acknowledged else "/sla/queue"


def queue_page(session: Session, principal: Principal, include_acknowledged: bool, locale: str) -> QueueView:
    """Yellow and red cases of the caller's insurer (a supervisor's own units), the longest-waiting first."""
    items = [
        item | {"url": claim_url(item["claim_number"]), "note": scrub_text(item["note"]) if item["note"] else ""}
        for item in sla_views.queue_view(session, principal, locale, include_acknowledged)
    ]
    return QueueView(items, include_acknowledged)


def acknowledge(principal: Principal, escalation_id: int, note: str | None) -> None:
    """督办: in its own transaction, committed before the page redirects back to the queue.
    :class:`EscalationNotFound` also for another insurer's escalation; :class:`AlreadyAcknowledged`."""
    note = (note or "").strip()[:MAX_NOTE] or None
    with unit_of_work(principal.context()) as session:
        sla_service.acknowledge(session, principal, escalation_id, note)


# -- regulator filings (监管报备) --------------------------------------------------------------------

FILINGS_SHOWN = 1000  # more than this: narrow the dates, or export


def _date(value: str | None) -> dt.date | None:
    value = _clean(value, 10)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), local_zone())


@dataclass(frozen=True)
class FilingsQuery:
    """Filters of the filings page: an insurer (regulators only) and a range of local filing dates,
    both ends included."""

    tenant: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def from_params(cls, params: QueryParams) -> FilingsQuery:
        return cls(
            tenant=_clean(params.get("tenant"), 32), since=_date(params.get("since")), until=_date(params.get("until"))
        )

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """Filed at or after local midnight of ``since``, and before local midnight after ``until``."""
        since = _local_midnight(self.since) if self.since else None
        until = _local_midnight(self.until + dt.timedelta(days=1)) if self.until else None
        return since, until

    def params(self, with_tenant: bool = True) -> dict[str, str]:
        values = {
            "tenant": self.tenant if with_tenant else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {key: value for key, value in values.items() if value}

    def url(self) -> str:
        query = urlencode(self.params())
        return f"/sla/filings?{query}" if query else "/sla/filings"

    def export_url(self, fmt: str, with_tenant: bool) -> str:
        """The JSON API's export, with the same filters (its times carry the local offset)."""
        since, until = self.bounds()
        values = {"format": fmt, "tenant": self.tenant if with_tenant else None}
        values |= {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}
        return "/api/v1/sla/filings?" + urlencode({key: value for key, value in values.items() if value})


@dataclass(frozen=True)
class FilingsView:
    query: FilingsQuery
    items: list[dict[str, Any]]
    truncated: bool
    show_tenant: bool
    tenant_options: list[Option]
    csv_url: str
    json_url: str


def filings_page(session: Session, principal: Principal, query: FilingsQuery, locale: str) -> FilingsView:
    """Red cases filed with the regulator: every insurer's for a regulator (optionally one), the
    caller's own insurer's for its staff. Oldest filing first, like the export."""
    since, until = query.bounds()
    tenant_options: list[Option] = []
    items: list[dict[str, Any]] = []
    if is_regulator(principal):
        tenants = tenancy_service.tenant_labels(session)
        tenant_options = [Option(t.code, f"{t.code} · {t.name}") for t in tenants]
        if query.tenant is not None:
            tenants = [t for t in tenants if t.code == query.tenant]
        for tenant in tenants:
            rows = sla_views.filings_view(session, locale, tenant.id, since, until, FILINGS_SHOWN + 1)
            items.extend(row | {"tenant_code": tenant.code} for row in rows)
        items.sort(key=lambda row: (row["filed_at"], row["tenant_code"], row["claim_number"]))
    else:
        rows = sla_views.filings_view(session, locale, principal.tenant_id, since, until, FILINGS_SHOWN + 1)
        items = [row | {"tenant_code": None} for row in rows]
    for item in items:
        item["region_name"] = region_name(item.get("region_code"), locale)
        item["url"] = claim_url(item["claim_number"], item["tenant_code"])
    regulator = is_regulator(principal)
    return FilingsView(
        query=query,
        items=items[:FILINGS_SHOWN],
        truncated=len(items) > FILINGS_SHOWN,
        show_tenant=regulator,
        tenant_options=tenant_options,
        csv_url=query.export_url("csv", regulator),
        json_url=query.export_url("json", regulator),
    )
