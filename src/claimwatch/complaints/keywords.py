"""Keyword trends (关键词趋势) from complaint text: what complainants talk about, per month and region,
and which terms are rising against the month before. The terms themselves come from
:mod:`claimwatch.complaints.terms` (stored with each complaint at intake).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints import repository, terms
from claimwatch.complaints.queries import clean_param
from claimwatch.complaints.vocabulary import ComplaintError, categories, category_label, sub_cause_label
from claimwatch.db import utc_now
from claimwatch.tenancy import service as tenancy_service

MAX_PERIODS = 24  # one request reads every complaint of the range: keep it bounded
MAX_TOP = 100
REGION_TOP = 5  # terms shown per region in the by-region breakdown
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
DEFAULT_MONTHS = 6  # without a range: the last six months up to this one


class KeywordError(ComplaintError):
    """A refused keyword query (422 naming the field)."""


# -- periods ------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, value: str, name: str) -> Month:
        found = _PERIOD.match(value.strip()) if value else None
        if found is None:
            raise KeywordError(422, name, f"{name} must be a month as YYYY-MM, got {value!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, moment: dt.datetime, zone: dt.tzinfo) -> Month:
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def start(self, zone: dt.tzinfo) -> dt.datetime:
        """Local midnight of the first day, in UTC."""
        return dt.datetime(self.year, self.month, 1, tzinfo=zone).astimezone(dt.UTC)


def months(first: Month, last: Month) -> list[Month]:
    found = [first]
    while found[-1] < last:
        found.append(found[-1].next())
    return found


def zone_for(session: Session, principal: Principal) -> dt.tzinfo:
    """The months are the caller's insurer's; a regulator's cross-insurer view counts in the platform zone."""
    return tenancy_service.tenant_zone(session, principal.tenant_id)


@dataclass(frozen=True)
class KeywordQuery:
    """The keyword page's and API's filters, as typed: :func:`keyword_trends` refuses bad ones naming the
    field."""

    period_from: str
    period_to: str
    region: str | None = None
    category: str | None = None
    top: str = "20"
    tenant: str | None = None

    @classmethod
    def from_params(
        cls, params: Mapping[str, str], zone: dt.tzinfo, from_name: str = "from", to_name: str = "to"
    ) -> KeywordQuery:
        """Without a range: the last six months up to this one (in ``zone``)."""
        last = Month.of(utc_now(), zone)
        first = last
        for _ in range(DEFAULT_MONTHS - 1):
            first = first.previous()
        return cls(
            period_from=clean_param(params.get(from_name), 16) or first.label,
            period_to=clean_param(params.get(to_name), 16) or last.label,
            region=clean_param(params.get("region"), 12),
            category=clean_param(params.get("category"), 24),
            top=clean_param(params.get("top"), 4) or "20",
            tenant=clean_param(params.get("tenant"), 32),
        )

    def top_number(self) -> int:
        if not self.top.isdigit():
            raise KeywordError(422, "top", f"top must be a whole number, got {self.top!r}")
        return int(self.top)

    def run(self, session: Session, principal: Principal, locale: str = "zh") -> dict[str, Any]:
        return keyword_trends(
            session,
            principal,
            period_from=self.period_from,
            period_to=self.period_to,
            region=self.region,
            category=self.category,
            top=self.top_number(),
            tenant=self.tenant if principal.is_regulator else None,
            locale=locale,
        )


# -- the trends -----------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """One period (and region): how many complaints, in how many complaints each term occurs, and how
    often it occurs in all."""

    complaints: int = 0
    mentions: Counter[str] = field(default_factory=Counter)
    occurrences: Counter[str] = field(default_factory=Counter)

    def add(self, terms: list[str]) -> None:
        self.complaints += 1
        self.occurrences.update(terms)
        self.mentions.update(set(terms))

    def share(self, term: str) -> float:
        return self.mentions[term] / self.complaints if self.complaints else 0.0

    def ranked(self, top: int) -> list[str]:
        """Most complaints mentioning first, then most occurrences, then the term (stable output)."""
        return sorted(self.mentions, key=lambda term: (-self.mentions[term], -self.occurrences[term], term))[:top]


def _trend(current: int, previous: int, share_change: float) -> str:
    if previous == 0 and current > 0:
        return "new"
    if share_change > 0:
        return "rising"
    if share_change < 0:
        return "falling"
    return "steady"


def _term_rows(now: _Tally, before: _Tally, top: int) -> list[dict[str, Any]]:
    """The period's top terms, rising terms first (largest rise in share first), then the others by how
    many complaints mention them."""
    rows: list[dict[str, Any]] = []
    for term in now.ranked(top):
        share, previous_share = now.share(term), before.share(term)
        share_change = round(share - previous_share, 4)
        rows.append(
            {
                "term": term,
                "complaints": now.mentions[term],
                "occurrences": now.occurrences[term],
                "share": round(share, 4),
                "previous_complaints": before.mentions[term],
                "previous_share": round(previous_share, 4),
                "change": now.mentions[term] - before.mentions[term],
                "share_change": share_change,
                "trend": _trend(now.mentions[term], before.mentions[term], share_change),
            }
        )
    rising = [row for row in rows if row["share_change"] > 0]
    others = [row for row in rows if row["share_change"] <= 0]
    rising.sort(key=lambda row: (-row["share_change"], -row["complaints"], row["term"]))
    return rising + others


def _root_causes(
    causes: dict[Month, Counter[tuple[str, str]]], wanted: list[Month], last: Month, locale: str
) -> dict[str, Any]:
    """Root causes (投诉原因): complaints per category month by month, and the last month's sub-causes as a
    Pareto list — most complaints first, with the running share and the change against the month before."""
    now, before = causes[last], causes[last.previous()]
    total = sum(now.values())
    pareto = []
    running = 0
    for (category, sub_cause), count in sorted(now.items(), key=lambda item: (-item[1], item[0])):
        running += count
        pareto.append(
            {
                "category": category,
                "category_label": category_label(category, locale),
                "sub_cause": sub_cause or None,
                "sub_cause_label": sub_cause_label(category, sub_cause or None, locale),
                "complaints": count,
                "share": round(count / total, 4),
                "cumulative_share": round(running / total, 4),
                "previous_complaints": before[(category, sub_cause)],
                "change": count - before[(category, sub_cause)],
            }
        )
    by_category: dict[str, list[int]] = {}
    for index, month in enumerate(wanted):
        for (category, _), count in causes[month].items():
            by_category.setdefault(category, [0] * len(wanted))[index] += count
    return {
        "period": last.label,
        "complaints": total,
        "sub_causes": pareto,
        "by_category": [
            {
                "category": category,
                "label": category_label(category, locale),
                "complaints": counts,
            }
            for category, counts in sorted(by_category.items(), key=lambda item: (-sum(item[1]), item[0]))
        ],
    }


def _tenant_filter(session: Session, principal: Principal, tenant: str | None) -> int | None:
    """A regulator may narrow to one insurer; anyone else sees their own tenant's complaints anyway."""
    if not tenant or not principal.is_regulator:
        return None
    for label in tenancy_service.tenant_labels(session):
        if label.code == tenant:
            return label.id
    raise KeywordError(422, "tenant", f"unknown insurer {tenant!r}")


def keyword_trends(
    session: Session,
    principal: Principal,
    *,
    period_from: str,
    period_to: str,
    region: str | None = None,
    category: str | None = None,
    top: int = 20,
    tenant: str | None = None,
    locale: str = "zh",
) -> dict[str, Any]:
    """Top complaint keywords per month in [period_from, period_to] (YYYY-MM, local time), for one region
    and category or all, with the change in share against the month before each month.

    ``periods``: one entry per month — the complaints counted and its top ``top`` terms (rising first);
    ``series``: complaints mentioning each of the last month's leading terms, month by month (the chart);
    ``regions``: without a region filter, the last month's leading terms per region.
    Refusals are :class:`KeywordError` (422) naming the field.
    """
    principal.require(Permission.VIEW_COMPLAINTS)
    first, last = Month.parse(period_from, "period_from"), Month.parse(period_to, "period_to")
    if last < first:
        raise KeywordError(422, "period_to", "period_to is before period_from")
    wanted = months(first, last)
    if len(wanted) > MAX_PERIODS:
        raise KeywordError(422, "period_to", f"at most {MAX_PERIODS} months at once")
    if not 1 <= top <= MAX_TOP:
        raise KeywordError(422, "top", f"top must be between 1 and {MAX_TOP}")
    if region is not None and region not in tenancy_service.region_codes():
        raise KeywordError(422, "region", f"unknown region code {region!r}")
    if category is not None and category not in categories():
        raise KeywordError(422, "category", f"unknown category {category!r}")
    tenant_id = _tenant_filter(session, principal, tenant)

    zone = zone_for(session, principal)
    baseline = first.previous()
    rows = repository.keyword_texts(
        session,
        since=baseline.start(zone),
        until=last.next().start(zone),
        region_code=region,
        category=category,
        tenant_id=tenant_id,
    )
    overall: dict[Month, _Tally] = {month: _Tally() for month in [baseline, *wanted]}
    causes: dict[Month, Counter[tuple[str, str]]] = {month: Counter() for month in [baseline, *wanted]}
    by_region: dict[str, _Tally] = {}
    for row in rows:
        month = Month.of(row.received_at, zone)
        if month not in overall:  # the bounds are local midnights: cannot happen, but never miscount
            continue
        found = (
            row.keywords.split()
            if row.keywords is not None
            else terms.terms_of(f"{row.subject}\n{row.description}", hide=[row.complainant_name or ""])
        )
        overall[month].add(found)
        causes[month][(row.category, row.sub_cause or "")] += 1
        if region is None and month == last:
            by_region.setdefault(row.region_code or "", _Tally()).add(found)

    periods = []
    for month in wanted:
        now, before = overall[month], overall[month.previous()]
        periods.append(
            {
                "period": month.label,
                "complaints": now.complaints,
                "previous_complaints": before.complaints,
                "terms": _term_rows(now, before, top),
            }
        )
    leading = overall[last].ranked(min(top, 10))
    return {
        "causes": _root_causes(causes, wanted, last, locale),
        "period_from": first.label,
        "period_to": last.label,
        "region": region,
        "category": category,
        "tenant": tenant if tenant_id is not None else None,
        "top": top,
        "periods": periods,
        "series": {
            "periods": [month.label for month in wanted],
            "terms": [{"term": term, "complaints": [overall[m].mentions[term] for m in wanted]} for term in leading],
        },
        "regions": [
            {
                "region": code or None,
                "complaints": tally.complaints,
                "terms": [{"term": term, "complaints": tally.mentions[term]} for term in tally.ranked(REGION_TOP)],
            }
            for code, tally in sorted(by_region.items(), key=lambda item: (-item[1].complaints, item[0]))
        ],
    }
