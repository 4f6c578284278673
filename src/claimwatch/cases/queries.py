"""What the claims list and the claim page show (read models); the routes are in :mod:`cases.pages`.

Personal data arrives already masked from the cases service; labels come in the reader's language.

A regulator reads every tenant, read-only. Claim numbers are unique per tenant only, so a
regulator's rows are read per tenant through a read-only session narrowed to that tenant
(:data:`OpenTenant`, opened by the page route): each row then knows its tenant, and a claim page is
opened for one named tenant (``?tenant=CODE``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import Principal
from claimwatch.cases import repository
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.cases.repository import ClaimFilter
from claimwatch.cases.schemas import MAX_PAGE
from claimwatch.params import EARLIEST_YEAR, LATEST_YEAR
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate
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


# Amount bands: the SLA policies' thresholds (timeliness_small < 5 000 ≤ middle < 50 000 ≤ large), in fen.
AMOUNT_BANDS: dict[str, tuple[int | None, int | None]] = {
    "small": (None, 500_000),
    "middle": (500_000, 5_000_000),
    "large": (5_000_000, None),
}
AMOUNT_BAND_LABELS = {
    "small": N_("Under 5,000 CNY"),
    "middle": N_("5,000 to 50,000 CNY"),
    "large": N_("50,000 CNY and more"),
}
LIGHT_LABELS = {"green": N_("Green"), "yellow": N_("Yellow"), "red": N_("Red")}
SORT_LABELS = {
    "reported": N_("Reported at"),
    "deadline": N_("Deadline"),
    "amount": N_("Reported amount"),
    "status": N_("Status"),
}
MAX_AMOUNT_YUAN = Decimal("1000000000000")  # what a BIGINT of fen holds with room to spare
_DATE_PARAMS: tuple[str, ...] = ("reported_from", "reported_to", "closed_from", "closed_to", "clock_from")
_DATE_PARAMS += ("clock_to", "filed_from", "filed_to", "overdue_at")
# Filters only the dashboard's drill-down links set: shown as removable chips, kept through the form.
DRILL_PARAMS = (
    "unit",
    "state",
    "closed_from",
    "closed_to",
    "cycle_over",
    "disputed",
    "materials",
    "clock",
    "clock_from",
    "clock_to",
    "clock_outcome",
    "catastrophe",
    "filed_from",
    "filed_to",
    "overdue_at",
)
DRILL_LABELS = {
    "unit": N_("Org unit (itself only)"),
    "state": N_("Open or closed"),
    "closed_from": N_("Closed from"),
    "closed_to": N_("Closed until"),
    "cycle_over": N_("Cycle longer than (days)"),
    "disputed": N_("Named by a complaint"),
    "materials": N_("Materials"),
    "clock": N_("SLA clock"),
    "clock_from": N_("Clock started from"),
    "clock_to": N_("Clock started until"),
    "clock_outcome": N_("Clock outcome"),
    "filed_from": N_("Red filing from"),
    "filed_to": N_("Red filing until"),
    "overdue_at": N_("Overdue at the start of"),
    "catastrophe": N_("Catastrophe event"),
}
PROBLEM_MESSAGES = _PROBLEMS = {
    "date": N_("Enter a date as YYYY-MM-DD."),
    "range": N_("The end date is before the start date."),
    "amount": N_("Enter an amount in yuan, at least 0."),
    "amount_range": N_("The maximum amount is below the minimum."),
    "choice": N_("Choose one of the listed values."),
    "days": N_("Enter a whole number of days, at least 0."),
    "org": N_("Choose an org unit from the list."),
}


@dataclass(frozen=True)
class ListQuery:
    """The claims list's filters, sort and page, as read from the query string.

    Values of the plain filters that are unknown are dropped (a stale bookmark shows more, not an error); a
    malformed date, amount or range is a problem named by its field (:attr:`problems`), shown on the page
    with a 422 and no rows, so a list never claims to be filtered by something it ignored."""

    status: str | None = None
    line: str | None = None
    region: str | None = None
    number: str | None = None
    tenant: str | None = None
    org: int | None = None
    light: str | None = None
    overdue: bool = False
    assignee: str | None = None  # me | unassigned | a username
    amount: str | None = None  # a band of AMOUNT_BANDS
    amount_min: Decimal | None = None  # yuan
    amount_max: Decimal | None = None  # yuan, exclusive
    dates: tuple[tuple[str, dt.date], ...] = ()  # (param, date) of _DATE_PARAMS
    drill: tuple[tuple[str, str], ...] = ()  # (param, value) of DRILL_PARAMS other than dates
    route: str | None = None
    sort: str = "reported"
    descending: bool = True
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    problems: tuple[tuple[str, str], ...] = ()  # (field, message id)
    raw: tuple[tuple[str, str], ...] = ()  # the list's own date fields as typed

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ListQuery:
        problems: list[tuple[str, str]] = []
        size = _positive_int(params.get("page_size"), DEFAULT_PAGE_SIZE)
        dates: dict[str, dt.date] = {}
        for name in _DATE_PARAMS:
            raw = clean(params.get(name), 10)
            if raw is None:
                continue
            try:
                day = dt.date.fromisoformat(raw)
            except ValueError:
                problems.append((name, "date"))
                continue
            if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
                problems.append((name, "date"))
                continue
            dates[name] = day
        for start, end in (("reported_from", "reported_to"), ("closed_from", "closed_to"), ("clock_from", "clock_to")):
            if start in dates and end in dates and dates[end] < dates[start]:
                problems.append((end, "range"))
        if "filed_from" in dates and "filed_to" in dates and dates["filed_to"] < dates["filed_from"]:
            problems.append(("filed_to", "range"))
        amounts: dict[str, Decimal] = {}
        for name in ("amount_min", "amount_max"):
            raw = clean(params.get(name), 20)
            if raw is None:
                continue
            try:
                value = Decimal(raw.replace(",", ""))
            except InvalidOperation:
                problems.append((name, "amount"))
                continue
            if not value.is_finite() or value < 0 or value > MAX_AMOUNT_YUAN:
                problems.append((name, "amount"))
                continue
            amounts[name] = value
        if "amount_min" in amounts and "amount_max" in amounts and amounts["amount_max"] < amounts["amount_min"]:
            problems.append(("amount_max", "amount_range"))
        drill: list[tuple[str, str]] = []
        for name, allowed in (
            ("state", ("open", "closed")),
            ("disputed", ("1",)),
            ("materials", repository.MATERIALS_FILTERS),
            ("clock_outcome", repository.CLOCK_OUTCOMES),
        ):
            raw = clean(params.get(name), 16)
            if raw is None:
                continue
            if raw not in allowed:
                problems.append((name, "choice"))
            else:
                drill.append((name, raw))
        if (raw := clean(params.get("clock"), 48)) is not None:
            drill.append(("clock", raw))
        if (raw := clean(params.get("unit"), 18)) is not None:
            if raw.isdigit():
                drill.append(("unit", str(int(raw))))
            else:
                problems.append(("unit", "org"))
        if (raw := clean(params.get("catastrophe"), 18)) is not None:  # a catastrophe event's id (triage)
            if raw.isdigit():
                drill.append(("catastrophe", str(int(raw))))
            else:
                problems.append(("catastrophe", "choice"))
        if (raw := clean(params.get("cycle_over"), 6)) is not None:
            if raw.isdigit():
                drill.append(("cycle_over", str(int(raw))))
            else:
                problems.append(("cycle_over", "days"))
        org = None
        if (raw := clean(params.get("org"), 18)) is not None:
            if raw.isdigit():
                org = int(raw)
            else:
                problems.append(("org", "org"))
        route = clean(params.get("route"), 32)
        if route is not None and route not in repository.ROUTES:
            problems.append(("route", "choice"))
            route = None
        light = clean(params.get("light"), 8)
        amount = clean(params.get("amount"), 8)
        sort = clean(params.get("sort"), 16) or "reported"
        return cls(
            status=clean(params.get("status"), 32),
            line=clean(params.get("line"), 32),
            region=clean(params.get("region"), 12),
            number=clean(params.get("number"), MAX_NUMBER_PREFIX),
            tenant=clean(params.get("tenant"), 32),
            org=org,
            light=light if light in repository.LIGHTS else None,
            overdue=params.get("overdue") == "1",
            assignee=clean(params.get("assignee"), 64),
            amount=amount if amount in AMOUNT_BANDS else None,
            amount_min=amounts.get("amount_min"),
            amount_max=amounts.get("amount_max"),
            dates=tuple(sorted(dates.items())),
            drill=tuple(drill),
            route=route,
            sort=sort if sort in repository.SORTS else "reported",
            descending=params.get("dir") != "asc" and sort != "deadline",
            page=min(_positive_int(params.get("page"), 1), MAX_PAGE),
            page_size=size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE,
            problems=tuple(problems),
            raw=tuple(
                (name, typed) for name in ("reported_from", "reported_to") if (typed := clean(params.get(name), 10))
            ),
        )

    def date(self, name: str) -> dt.date | None:
        return dict(self.dates).get(name)

    def drill_value(self, name: str) -> str | None:
        return dict(self.drill).get(name)

    def claim_filter(self, zone: ZoneInfo, assignee_id: int | None = None, unassigned: bool = False) -> ClaimFilter:
        """The repository's filter: dates are whole local days in ``zone`` (the reader's), ``to`` inclusive."""

        def start(name: str) -> dt.datetime | None:
            day = self.date(name)
            return None if day is None else dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)

        def end(name: str) -> dt.datetime | None:
            day = self.date(name)
            if day is None:
                return None
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)

        low, high = AMOUNT_BANDS.get(self.amount or "", (None, None))
        if self.amount_min is not None:
            floor = int(self.amount_min * 100)
            low = floor if low is None else max(low, floor)
        if self.amount_max is not None:
            ceiling = int(self.amount_max * 100)
            high = ceiling if high is None else min(high, ceiling)
        cycle = self.drill_value("cycle_over")
        unit = self.drill_value("unit")
        return ClaimFilter(
            org_unit_id=int(unit) if unit is not None else None,
            status=self.status,
            line=self.line,
            region_code=self.region,
            number=self.number,
            org_subtree=self.org,
            light=self.light,
            overdue=self.overdue,
            overdue_at=start("overdue_at"),
            reported_from=start("reported_from"),
            reported_until=end("reported_to"),
            closed_from=start("closed_from"),
            closed_until=end("closed_to"),
            state=self.drill_value("state"),
            cycle_over_days=int(cycle) if cycle is not None else None,
            assignee_id=assignee_id,
            unassigned=unassigned,
            amount_min_fen=low,
            amount_below_fen=high,
            disputed=self.drill_value("disputed") == "1",
            materials=self.drill_value("materials"),
            clock_policy=self.drill_value("clock"),
            clock_from=start("clock_from"),
            clock_until=end("clock_to"),
            clock_outcome=self.drill_value("clock_outcome"),
            catastrophe_id=int(raw_event) if (raw_event := self.drill_value("catastrophe")) else None,
            filed_from=start("filed_from"),
            filed_until=end("filed_to"),
            route=self.route,
        )

    def params(self, **changes: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "status": self.status,
            "line": self.line,
            "region": self.region,
            "number": self.number,
            "tenant": self.tenant,
            "org": self.org,
            "light": self.light,
            "overdue": "1" if self.overdue else None,
            "assignee": self.assignee,
            "amount": self.amount,
            "amount_min": self.amount_min,
            "amount_max": self.amount_max,
            "route": self.route,
            **{name: day.isoformat() for name, day in self.dates},
            **dict(self.drill),
            "sort": self.sort if self.sort != "reported" else None,
            "dir": "asc" if not self.descending and self.sort != "deadline" else None,
            "page": self.page if self.page != 1 else None,
            "page_size": self.page_size if self.page_size != DEFAULT_PAGE_SIZE else None,
        } | changes
        return {key: str(value) for key, value in values.items() if value not in (None, "")}

    def url(self, path: str = "/claims", /, **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path

    def sort_url(self, column: str) -> str:
        """The column's header link: by this column (newest/largest first), again to reverse it."""
        if column == "deadline":
            return self.url(sort="deadline", dir=None, page=None)  # always nearest first
        if column == self.sort:
            return self.url(dir=None if not self.descending else "asc", page=None)
        return self.url(
            sort=column if column != "reported" else None, dir="asc" if column == "deadline" else None, page=None
        )

    def sort_state(self, column: str) -> str:
        """aria-sort of the column's header."""
        if column != self.sort:
            return "none"
        return "descending" if self.descending and column != "deadline" else "ascending"

    def hidden(self) -> list[tuple[str, str]]:
        """The drill-down filters the form has no field for, carried through it as hidden inputs."""
        dated = [(name, day.isoformat()) for name, day in self.dates if name in DRILL_PARAMS]
        return [*self.drill, *dated]


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
    org_options: list[Option] = field(default_factory=list)
    assignee_options: list[Option] = field(default_factory=list)
    light_options: list[Option] = field(default_factory=list)
    amount_options: list[Option] = field(default_factory=list)
    chips: list[tuple[str, str, str]] = field(default_factory=list)  # (label, value, url without it)
    problems: dict[str, str] = field(default_factory=dict)  # field → message in the reader's language
    raw: dict[str, str] = field(default_factory=dict)  # the date fields as typed (kept when refused)
    light_names: dict[str, str] = field(default_factory=dict)

    @property
    def csv_url(self) -> str:
        return self.query.url("/claims.csv", page=None, page_size=None)


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


def _rows(session: Session, claims: list[Claim], locale: str, tenant_code: str | None) -> list[dict[str, Any]]:
    """The list's rows: the claim summary (personal data masked) with its worst open light and next target."""
    assignees = auth_repository.usernames_by_id(session, {c.assignee_id for c in claims if c.assignee_id})
    orgs = {unit.id: unit.name for unit in tenancy_repository.org_units(session)} if claims else {}
    clocks = repository.clock_summaries(session, [c.id for c in claims])
    rows = []
    for claim in claims:
        light, due = clocks.get(claim.id, (None, None))
        item = cases_service.claim_summary(claim, locale, assignees, orgs) | {"light": light, "deadline": due}
        rows.append(_decorate(item, locale, tenant_code))
    return rows


@dataclass(frozen=True)
class _Search:
    """A resolved query: the repository filter, or None when it can match nothing (an unknown assignee)."""

    claim_filter: ClaimFilter | None
    sort: str
    descending: bool


def _resolve(session: Session, principal: Principal, query: ListQuery, zone: ZoneInfo) -> _Search:
    assignee_id, unassigned, impossible = None, False, False
    if query.assignee == "me":
        assignee_id = principal.user_id
        impossible = assignee_id is None
    elif query.assignee == "unassigned":
        unassigned = True
    elif query.assignee:
        assignee_id = repository.user_id_by_username(session, query.assignee)
        impossible = assignee_id is None
    claim_filter = None if impossible else query.claim_filter(zone, assignee_id, unassigned)
    return _Search(claim_filter, query.sort, query.descending)


def _search(
    session: Session, search: _Search, page: int, size: int, locale: str, tenant_code: str | None
) -> tuple[int, list[dict[str, Any]]]:
    if search.claim_filter is None:
        return 0, []
    total, claims = repository.search_claims(
        session, search.claim_filter, page, size, sort=search.sort, descending=search.descending
    )
    return total or 0, _rows(session, claims, locale, tenant_code)


def _problems(query: ListQuery, locale: str) -> dict[str, str]:
    return {name: translate(locale, _PROBLEMS[kind]) for name, kind in query.problems}


def _chips(query: ListQuery, locale: str) -> list[tuple[str, str, str]]:
    chips = []
    for name, value in query.hidden():
        changes: dict[str, Any] = {name: None, "page": None}
        chips.append((translate(locale, DRILL_LABELS[name]), value, query.url(**changes)))
    return chips


def list_zone(session: Session, principal: Principal) -> ZoneInfo:
    """The zone the list's dates are read and its times shown in: the insurer's; the platform's for a
    regulator (and for the KPI snapshot, whose months the dashboard's drill-down links name)."""
    return tenancy_service.tenant_zone(session, principal.tenant_id)


def claims_page(
    session: Session, principal: Principal, query: ListQuery, locale: str, open_tenant: OpenTenant
) -> ClaimsPage:
    """One page of the caller's claims: their tenant's, or for a regulator every tenant's (each read
    through ``open_tenant``)."""
    size = query.page_size
    zone = list_zone(session, principal)
    tenant_options: list[Option] = []
    reachable: int | None = None
    problems = _problems(query, locale)
    page = query.page
    total, items = 0, list[dict[str, Any]]()
    if principal.is_regulator:
        tenants = tenancy_service.tenant_labels(session)
        tenant_options = [Option(t.code, f"{t.code} · {t.name}") for t in tenants]
        if query.tenant is not None:
            tenants = [t for t in tenants if t.code == query.tenant]
        if len(tenants) > 1:
            reachable = max(1, REGULATOR_MERGE_LIMIT // size)
        page = min(query.page, reachable) if reachable else query.page
        if not problems:
            total, items = _regulator_rows(open_tenant, principal, tenants, query, zone, page, size, locale)
    elif not problems:
        total, items = _search(session, _resolve(session, principal, query, zone), page, size, locale, None)
    pages = max(1, math.ceil(total / size))
    last_page = min(pages, reachable) if reachable else pages
    first_row = (page - 1) * size + 1 if items else 0
    org_options: list[Option] = []
    assignee_options: list[Option] = [
        Option("me", translate(locale, N_("Assigned to me"))),
        Option("unassigned", translate(locale, N_("Unassigned"))),
    ]
    if principal.tenant_id is not None:
        org_options = [
            Option(str(unit.id), "\u3000" * max(0, unit.path.count("/") - 2) + unit.name)
            for unit in tenancy_repository.org_units(session)
        ]
        assignee_options += [
            Option(name, label or name) for _, name, label in repository.staff_of(session, principal.tenant_id)
        ]
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
        time_zone=zone,
        truncated=last_page < pages,
        status_options=status_options(locale),
        line_options=line_options(locale),
        region_options=region_options(locale),
        tenant_options=tenant_options,
        org_options=org_options,
        assignee_options=assignee_options,
        light_options=[Option(key, translate(locale, label)) for key, label in LIGHT_LABELS.items()],
        amount_options=[Option(key, translate(locale, label)) for key, label in AMOUNT_BAND_LABELS.items()],
        chips=_chips(query, locale),
        problems=problems,
        raw=dict(query.raw),
        light_names={key: translate(locale, label) for key, label in LIGHT_LABELS.items()},
    )


def _merge_key(sort: str) -> Callable[[dict[str, Any]], Any]:
    field_name = {"reported": "reported_at", "deadline": "deadline", "amount": "reported_amount", "status": "status"}[
        sort
    ]
    return lambda row: row[field_name]


def _merged(rows: list[dict[str, Any]], sort: str, descending: bool) -> list[dict[str, Any]]:
    """Rows of several insurers in the list's order: the sort column (empty last), then insurer and number."""
    key = _merge_key(sort)
    rows = sorted(rows, key=lambda row: (row["tenant_code"], row["number"]), reverse=descending)
    valued = sorted((row for row in rows if key(row) is not None), key=key, reverse=descending)
    return valued + [row for row in rows if key(row) is None]


def _regulator_rows(
    open_tenant: OpenTenant,
    principal: Principal,
    tenants: list[tenancy_service.TenantLabel],
    query: ListQuery,
    zone: ZoneInfo,
    page: int,
    size: int,
    locale: str,
) -> tuple[int, list[dict[str, Any]]]:
    """In the list's order across tenants. With one tenant this is a plain page; with several, each tenant's
    first ``page * size`` rows are merged (the caller bounds ``page`` by REGULATOR_MERGE_LIMIT)."""
    if len(tenants) == 1:
        tenant = tenants[0]
        with open_tenant(tenant.id) as narrowed:
            return _search(narrowed, _resolve(narrowed, principal, query, zone), page, size, locale, tenant.code)
    total = 0
    rows: list[dict[str, Any]] = []
    for tenant in tenants:
        with open_tenant(tenant.id) as narrowed:
            found, items = _search(
                narrowed, _resolve(narrowed, principal, query, zone), 1, page * size, locale, tenant.code
            )
        total += found
        rows.extend(items)
    return total, _merged(rows, query.sort, query.descending)[(page - 1) * size : page * size]


# -- the CSV export -------------------------------------------------------------------------------------

EXPORT_LIMIT = 100_000
TOO_LARGE = N_("{total} claims match; an export holds at most {limit}. Narrow the filters.")
EXPORT_COLUMNS = (
    ("tenant", N_("Insurer")),
    ("number", N_("Claim number")),
    ("line_label", N_("Line")),
    ("status_label", N_("Status")),
    ("org_unit", N_("Org unit")),
    ("region_name", N_("Region")),
    ("claimant_name", N_("Claimant")),
    ("claimant_phone", N_("Phone")),
    ("reported_amount", N_("Reported amount")),
    ("reported_at", N_("Reported at")),
    ("light", N_("Light")),
    ("deadline", N_("Deadline")),
    ("closed_at", N_("Closed at")),
    ("assignee", N_("Assignee")),
)


class ExportTooLarge(Exception):
    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.total = total


@dataclass
class Export:
    body: str  # with the BOM
    rows: int
    tenant_ids: list[int]  # the insurers whose claimants appear in it


def export_csv(
    session: Session, principal: Principal, query: ListQuery, locale: str, open_tenant: OpenTenant
) -> Export:
    """Exactly the rows the list matches (every page, in its order), personal data masked, times local,
    headers in the reader's language, UTF-8 with a BOM. More than EXPORT_LIMIT rows: ExportTooLarge."""
    zone = list_zone(session, principal)
    sources: list[tuple[int, str | None]] = []
    if principal.is_regulator:
        tenants = tenancy_service.tenant_labels(session)
        if query.tenant is not None:
            tenants = [t for t in tenants if t.code == query.tenant]
        sources = [(t.id, t.code) for t in tenants]
    else:
        assert principal.tenant_id is not None
        sources = [(principal.tenant_id, None)]
    rows: list[dict[str, Any]] = []
    used: list[int] = []
    for tenant_id, code in sources:
        context = open_tenant(tenant_id) if principal.is_regulator else nullcontext(session)
        with context as reader:
            search = _resolve(reader, principal, query, zone)
            if search.claim_filter is None:
                continue
            total, _ = repository.search_claims(reader, search.claim_filter, 1, 1)
            if (total or 0) + len(rows) > EXPORT_LIMIT:
                raise ExportTooLarge((total or 0) + len(rows))
            found = 0
            for chunk in repository.iter_claims(
                reader, search.claim_filter, sort=search.sort, descending=search.descending
            ):
                rows.extend(_rows(reader, chunk, locale, code))
                found += len(chunk)
            if found:
                used.append(tenant_id)
    if len(sources) > 1:
        rows = _merged(rows, query.sort, query.descending)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    columns = [(key, label) for key, label in EXPORT_COLUMNS if key != "tenant" or principal.is_regulator]
    writer.writerow([translate(locale, label) for _, label in columns])
    light_names = {key: translate(locale, label) for key, label in LIGHT_LABELS.items()}
    for row in rows:
        values = row | {
            "tenant": row.get("tenant_code") or "",
            "reported_at": _local(row["reported_at"], zone),
            "deadline": _local(row["deadline"], zone),
            "closed_at": _local(row["closed_at"], zone),
            "light": light_names.get(row["light"] or "", ""),
            "reported_amount": "" if row["reported_amount"] is None else str(row["reported_amount"]),
        }
        writer.writerow([_cell(values.get(key)) for key, _ in columns])
    return Export(out.getvalue(), len(rows), used)


def _local(value: dt.datetime | None, zone: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _cell(value: Any) -> str:
    """A cell as text; one a spreadsheet would run as a formula is quoted with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


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
