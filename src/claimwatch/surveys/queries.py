"""Survey results (回访结果): sent, answered, response rate, means per dimension and the 9–10 / 0–6 shares
by org, line, handler, region, month, case type or outcome, with the comments and CSV export. Read only.

Dates and months are the caller's insurer's local ones (``tenancy.service.tenant_zone``); a regulator's
cross-insurer view counts in the platform zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, literal
from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.params import EARLIEST_YEAR, LATEST_YEAR
from claimwatch.privacy import scrub_text
from claimwatch.surveys import repository, sources
from claimwatch.surveys.models import Survey, SurveyResponse
from claimwatch.surveys.service import (
    COMMENT_LIMIT,
    GROUP_BY,
    MAX_RESULT_MONTHS,
    NOT_SET,
    SCORES,
    SurveyError,
    localised,
    outcome_label,
    subject_label,
    subject_types,
)
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate
from claimwatch.workflow import service as workflow_service


def zone_for(session: Session, principal: Principal) -> ZoneInfo:
    return tenancy_service.tenant_zone(session, principal.tenant_id)


def local_today(zone: dt.tzinfo, now: dt.datetime | None = None) -> dt.date:
    return (now or utc_now()).astimezone(zone).date()


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The current month and the two before it."""
    month = today.month - 2
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, 1), today


@dataclass(frozen=True)
class ResultsQuery:
    period_from: dt.date
    period_to: dt.date
    group_by: str = "org"
    subject_type: str | None = None
    tenant: str | None = None  # an insurer's code: regulators only
    drill: str | None = None  # one group's comments only: "<key>", or "<insurer code>:<key>" across insurers

    def params(self, **changes: Any) -> dict[str, str]:
        values: dict[str, Any] = {
            "from": self.period_from.isoformat(),
            "to": self.period_to.isoformat(),
            "by": self.group_by,
            "type": self.subject_type,
            "tenant": self.tenant,
            "drill": self.drill,
        } | changes
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _date(params: Mapping[str, str], name: str, default: dt.date) -> dt.date:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise SurveyError(422, name, "a date as YYYY-MM-DD") from None


def parse_query(params: Mapping[str, str], zone: dt.tzinfo) -> ResultsQuery:
    """Query parameters ``from``, ``to`` (local dates in ``zone``, inclusive; default: this month and the
    two before), ``by``, ``type``, ``tenant``; a bad one is refused (422) naming it."""
    start, end = default_period(local_today(zone))
    period_from = _date(params, "from", start)
    period_to = _date(params, "to", end)
    group_by = (params.get("by") or "org").strip()
    subject_type = (params.get("type") or "").strip() or None
    tenant = (params.get("tenant") or "").strip().upper()[:32] or None
    drill = (params.get("drill") or "").strip()[:100] or None
    return checked(ResultsQuery(period_from, period_to, group_by, subject_type, tenant, drill))


def checked(query: ResultsQuery) -> ResultsQuery:
    """The query if it is one the results can answer; else :class:`SurveyError` (422) naming the field."""
    for name, day in (("from", query.period_from), ("to", query.period_to)):
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise SurveyError(422, name, f"a date in the years {EARLIEST_YEAR}–{LATEST_YEAR}")
    if query.period_to < query.period_from:
        raise SurveyError(422, "to", "the end of the period is before its start")
    start, end = query.period_from, query.period_to
    if (end.year - start.year) * 12 + end.month - start.month + 1 > MAX_RESULT_MONTHS:
        raise SurveyError(422, "to", f"a period spans at most {MAX_RESULT_MONTHS} months")
    if query.group_by not in GROUP_BY:
        raise SurveyError(422, "by", f"one of {', '.join(GROUP_BY)}")
    if query.subject_type is not None and query.subject_type not in subject_types():
        raise SurveyError(422, "type", f"one of {', '.join(subject_types())}")
    return query


def _registered(subject_type: str, reference: str, locale: str) -> dict[str, Any]:
    """A registered kind's page and name (surveys.sources), for the comment list."""
    if subject_type in ("claim", "complaint"):
        return {}
    source = sources.get(subject_type)
    if source is None:
        return {}
    return {"url": source.url.format(reference=quote(reference)), "kind": translate(locale, source.label)}


def _utc_bounds(period_from: dt.date, period_to: dt.date, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(period_from, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(period_to + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return start, end


def _month_key(column: Any, period_from: dt.date, period_to: dt.date, zone: dt.tzinfo) -> ColumnElement[Any]:
    """The local month (YYYY-MM) of a timestamp already within the period, the same SQL on every
    database: a CASE over the UTC instants where each local month begins."""
    labels: list[tuple[str, dt.datetime]] = []
    year, month = period_from.year, period_from.month
    while (year, month) <= (period_to.year, period_to.month):
        next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
        boundary = dt.datetime(next_year, next_month, 1, tzinfo=zone).astimezone(dt.UTC)
        labels.append((f"{year:04d}-{month:02d}", boundary))
        year, month = next_year, next_month
    if len(labels) == 1:
        return literal(labels[0][0])
    whens = [(column < boundary, label) for label, boundary in labels[:-1]]
    return case(*whens, else_=labels[-1][0])


def _key_columns(query: ResultsQuery, zone: dt.tzinfo) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The grouping expression for surveys sent, and for answers submitted, in the period."""
    if query.group_by == "period":
        return (
            _month_key(Survey.sent_at, query.period_from, query.period_to, zone),
            _month_key(SurveyResponse.submitted_at, query.period_from, query.period_to, zone),
        )
    column: ColumnElement[Any] = {  # type: ignore[assignment]
        "org": Survey.org_unit_id,
        "line": Survey.line,
        "handler": Survey.handler_id,
        "region": Survey.region_code,
        "subject_type": Survey.subject_type,
        "outcome": Survey.outcome,
    }[query.group_by]
    return column, column


@dataclass
class _Totals:
    sent: int = 0
    unreachable: int = 0
    responded: int = 0
    answers: int = 0
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCORES, 0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCORES, 0))
    promoters: int = 0
    detractors: int = 0

    def add(self, other: _Totals) -> None:
        self.sent += other.sent
        self.unreachable += other.unreachable
        self.responded += other.responded
        self.answers += other.answers
        for name in SCORES:
            self.sums[name] += other.sums[name]
            self.counts[name] += other.counts[name]
        self.promoters += other.promoters
        self.detractors += other.detractors

    def figures(self) -> dict[str, Any]:
        def ratio(part: int, whole: int, digits: int) -> float | None:
            return round(part / whole, digits) if whole else None

        return {
            "sent": self.sent,
            "unreachable": self.unreachable,
            "responded": self.responded,
            "response_rate": ratio(self.responded, self.sent, 4),
            "answers": self.answers,
            **{f"mean_{name}": ratio(self.sums[name], self.counts[name], 2) for name in SCORES},
            "promoters": ratio(self.promoters, self.answers, 4),
            "detractors": ratio(self.detractors, self.answers, 4),
        }


def _key_text(value: Any) -> str:
    return "" if value is None else str(value)


class _Labels:
    """Names for the group keys, tenants, handlers and org units of one result."""

    def __init__(self, session: Session, group_by: str, locale: str) -> None:
        self.group_by = group_by
        self.locale = locale
        self.orgs = {unit.id: unit.name for unit in tenancy_repository.org_units(session)}
        self.tenants = {label.id: label.code for label in tenancy_service.tenant_labels(session)}
        self.regions = tenancy_service.region_names()
        self.users: dict[int, str] = {}

    def load_users(self, session: Session, ids: Iterable[int | None]) -> None:
        wanted = {int(i) for i in ids if i is not None and int(i) not in self.users}
        if wanted:
            self.users.update(auth_repository.usernames_by_id(session, wanted))

    def key(self, key: str) -> str:
        if key == "":
            return translate(self.locale, NOT_SET)
        if self.group_by == "org":
            return self.orgs.get(int(key), key)
        if self.group_by == "handler":
            return self.users.get(int(key), key)
        if self.group_by == "region":
            names = self.regions.get(key)
            return localised(names, self.locale) if names else key
        if self.group_by == "line":
            try:
                return workflow_service.line_label(key, self.locale)
            except workflow_service.UnknownLine:
                return key
        if self.group_by == "subject_type":
            return subject_label(key, self.locale)
        if self.group_by == "outcome":
            return outcome_label(key, self.locale)
        return key


def drill_value(tenant: str | None, key: str) -> str:
    """The ``drill`` parameter that narrows the comments to one row of the table."""
    return f"{tenant}:{key}" if tenant else key


def _drill_condition(query: ResultsQuery, answer_key: ColumnElement[Any], labels: _Labels) -> ColumnElement[bool]:
    assert query.drill is not None
    tenant_code, _, key = query.drill.rpartition(":") if ":" in query.drill else ("", "", query.drill)
    if query.group_by in ("org", "handler") and key and not key.isdigit():
        raise SurveyError(422, "drill", "not a row of this table")
    condition: ColumnElement[bool] = answer_key.is_(None) if key == "" else answer_key == key
    if query.group_by in ("org", "handler") and key:
        condition = answer_key == int(key)
    if tenant_code:
        by_code = {code: tid for tid, code in labels.tenants.items()}
        if tenant_code not in by_code:
            raise SurveyError(422, "drill", f"unknown insurer {tenant_code!r}")
        condition = and_(condition, Survey.tenant_id == by_code[tenant_code])
    return condition


def tenant_options(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """(code, name) of every insurer, for a regulator's filter; nobody else chooses."""
    if not principal.is_regulator:
        return []
    return [(label.code, label.name) for label in tenancy_service.tenant_labels(session)]


def results(
    session: Session,
    principal: Principal,
    *,
    period_from: dt.date,
    period_to: dt.date,
    group_by: str = "org",
    subject_type: str | None = None,
    tenant: str | None = None,
    drill: str | None = None,
    locale: str = "zh",
    comment_limit: int = COMMENT_LIMIT,
) -> dict[str, Any]:
    """Survey results of the local dates ``period_from`` … ``period_to`` by ``group_by`` (org, line,
    handler, period, region, subject_type): per group, surveys sent (no reachable contact left out),
    answered, response rate; over the answers received in the period, the mean of each score and the
    shares of 9–10 and 0–6 overall (the dashboard's KPI definitions); and the comments (masked, newest
    first) with their case, handler and org, optionally of one row (``drill``). A regulator sees every
    insurer (or the one named by ``tenant``), each row with its insurer's code. A bad argument raises
    :class:`SurveyError` (422) naming it."""
    query = checked(ResultsQuery(period_from, period_to, group_by, subject_type, tenant, drill))
    return results_for(session, principal, query, locale, comment_limit)


def results_for(
    session: Session,
    principal: Principal,
    query: ResultsQuery,
    locale: str = "zh",
    comment_limit: int = COMMENT_LIMIT,
) -> dict[str, Any]:
    """:func:`results` of a query (:func:`parse_query` reads one from request parameters)."""
    principal.require(Permission.VIEW_SURVEYS)
    checked(query)
    cross_tenant = principal.is_regulator
    tenant_id = None
    labels = _Labels(session, query.group_by, locale)
    if cross_tenant and query.tenant:
        by_code = {code: tid for tid, code in labels.tenants.items()}
        tenant_id = by_code.get(query.tenant)
        if tenant_id is None:
            raise SurveyError(422, "tenant", f"unknown insurer {query.tenant!r}")
    zone = zone_for(session, principal)
    start, end = _utc_bounds(query.period_from, query.period_to, zone)
    sent_key, answer_key = _key_columns(query, zone)
    groups: dict[tuple[int, str], _Totals] = {}
    for tid, key, sent, unreachable, responded in repository.sent_counts(
        session, sent_key, start, end, query.subject_type, tenant_id
    ):
        totals = groups.setdefault((tid, _key_text(key)), _Totals())
        totals.sent, totals.unreachable, totals.responded = int(sent), int(unreachable), int(responded)
    for row in repository.answer_sums(session, answer_key, start, end, query.subject_type, tenant_id):
        totals = groups.setdefault((row[0], _key_text(row[1])), _Totals())
        totals.answers = int(row[2])
        for position, name in enumerate(SCORES):
            totals.sums[name] = int(row[3 + 2 * position])
            totals.counts[name] = int(row[4 + 2 * position])
        totals.promoters, totals.detractors = int(row[11]), int(row[12])
    only = _drill_condition(query, answer_key, labels) if query.drill is not None else None
    found_comments = repository.comments(
        session, answer_key, start, end, query.subject_type, tenant_id, comment_limit, only
    )
    if query.group_by == "handler":
        labels.load_users(session, (int(key) for _, key in groups if key))
    labels.load_users(session, (row[5] for row in found_comments))
    rows = []
    overall = _Totals()
    for (tid, key), totals in groups.items():
        overall.add(totals)
        code = labels.tenants.get(tid) if cross_tenant else None
        rows.append(
            {"tenant": code, "key": key, "label": labels.key(key), "drill": drill_value(code, key)} | totals.figures()
        )
    if query.group_by == "period":
        rows.sort(key=lambda r: (r["tenant"] or "", r["key"]))
    else:
        rows.sort(key=lambda r: (r["tenant"] or "", r["key"] == "", r["label"], r["key"]))
    comments = [
        {
            "tenant": labels.tenants.get(tid) if cross_tenant else None,
            "key": _key_text(key),
            "submitted_at": submitted_at,
            "subject_type": subject_type,
            "reference": reference,
            "handler": labels.users.get(handler_id) if handler_id else None,
            "org_unit": labels.orgs.get(org_id) if org_id else None,
            "overall": score,
            "comment": scrub_text(text),
        }
        | _registered(subject_type, reference, locale)
        for tid, key, submitted_at, subject_type, reference, handler_id, org_id, score, text in found_comments
    ]
    total_label = translate(locale, N_("All"))
    return {
        "period_from": query.period_from,
        "period_to": query.period_to,
        "group_by": query.group_by,
        "subject_type": query.subject_type,
        "tenant": query.tenant if cross_tenant else None,
        "drill": query.drill,
        "total": {"tenant": None, "key": "*", "label": total_label} | overall.figures(),
        "rows": rows,
        "comments": comments,
    }


CSV_COLUMNS = (
    "tenant",
    "key",
    "label",
    "sent",
    "unreachable",
    "responded",
    "response_rate",
    "answers",
    "mean_overall",
    "mean_timeliness",
    "mean_transparency",
    "mean_attitude",
    "promoters",
    "detractors",
)
COMMENT_CSV_COLUMNS = (
    "tenant",
    "key",
    "submitted_at",
    "subject_type",
    "reference",
    "handler",
    "org_unit",
    "overall",
    "comment",
)


# The CSV headers, in the reader's language.
CSV_HEADERS: dict[str, str] = {
    "tenant": N_("Insurer"),
    "key": N_("Group code"),
    "label": N_("Group"),
    "sent": N_("Sent"),
    "unreachable": N_("Not reachable"),
    "responded": N_("Answered"),
    "response_rate": N_("Response rate"),
    "answers": N_("Answers in the period"),
    "mean_overall": N_("Overall (mean)"),
    "mean_timeliness": N_("Timeliness (mean)"),
    "mean_transparency": N_("Transparency (mean)"),
    "mean_attitude": N_("Attitude (mean)"),
    "promoters": N_("Satisfied (9–10)"),
    "detractors": N_("Dissatisfied (0–6)"),
    "submitted_at": N_("Answered at"),
    "subject_type": N_("Claim or complaint"),
    "reference": N_("Case"),
    "handler": N_("Handler"),
    "org_unit": N_("Org unit"),
    "overall": N_("Overall score"),
    "comment": N_("Comment"),
}


def to_csv(
    rows: Sequence[Mapping[str, Any]], zone: dt.tzinfo, columns: Sequence[str] = CSV_COLUMNS, locale: str = "zh"
) -> str:
    """CSV with a BOM (spreadsheet programs then read the Chinese right), headers in ``locale``, times in
    ``zone``. Free text is scrubbed again, and a cell that a spreadsheet would run as a formula is quoted
    with a leading apostrophe."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([translate(locale, CSV_HEADERS[name]) for name in columns])
    for row in rows:
        writer.writerow([_csv_cell(row.get(name), zone) for name in columns])
    return "\ufeff" + buffer.getvalue()


def _csv_cell(value: Any, zone: dt.tzinfo) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if not isinstance(value, str):
        return str(value)
    text = scrub_text(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
