"""What pages, exports and the API show of clocks, the supervisors' queue (督办队列) and regulator
filings (监管报备): read models only; the HTML routes are in :mod:`sla.pages`, the JSON ones in
:mod:`sla.api`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import Principal
from claimwatch.calendar.workdays import CalendarYearMissing, Unit
from claimwatch.cases.models import Claim
from claimwatch.cases.queries import Option, claim_url, clean, region_name
from claimwatch.db import utc_now
from claimwatch.privacy import scrub_text
from claimwatch.sla import engine, repository
from claimwatch.sla.models import SlaClock, SlaClockEvent
from claimwatch.sla.service import Axes, org_scope, tenant_policies
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.labels import NOTICE_ROUND_REASON, SIGNAL_REASON_LABELS
from claimwatch.workflow import service as workflow_service


def _periods(events: list[SlaClockEvent], clock: SlaClock) -> list[dict[str, Any]]:
    """Pause and suspension periods drawn from the clock's log; an open one ends when the clock stopped."""
    periods: list[dict[str, Any]] = []
    open_pause: dict[str, Any] | None = None
    open_suspension: dict[str, Any] | None = None
    for event in events:
        if event.kind == "paused" and open_pause is None:
            open_pause = {"kind": "paused", "start": event.at, "end": None, "reason": event.reason}
            periods.append(open_pause)
        elif event.kind == "resumed" and open_pause is not None:
            open_pause["end"] = event.at
            open_pause = None
        elif event.kind == "suspended" and open_suspension is None:
            open_suspension = {"kind": "suspended", "start": event.at, "end": None, "reason": event.reason}
            periods.append(open_suspension)
        elif event.kind == "suspension_ended" and open_suspension is not None:
            open_suspension["end"] = event.at
            open_suspension = None
    for period in (open_pause, open_suspension):
        if period is not None and clock.stopped_at is not None:
            period["end"] = clock.stopped_at
    return periods


def clocks_view(session: Session, claim: Claim, locale: str, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every clock of a claim with its live light, due times (UTC), periods and log."""
    now = now or utc_now()
    policies = tenant_policies(session, claim.tenant_id)
    clocks = repository.clocks_for_claims(session, [claim.id])
    log = repository.clock_events(session, [c.id for c in clocks])
    axes = Axes(session, claim.tenant_id)
    views = []
    for clock in clocks:
        policy = policies.get(clock.policy_code)
        unit = Unit(clock.unit)
        per_unit = unit.seconds_per_unit
        axis = axes(unit)
        events = [e for e in log if e.clock_id == clock.id]
        try:
            consumed = engine.consumed_at(axis, clock, now if clock.state == engine.RUNNING else clock.updated_at)
            missed = engine.missed_by_units(axis, clock, now, per_unit)
        except CalendarYearMissing:
            consumed, missed = clock.consumed, None
        budget = clock.yellow_budget + clock.extended
        views.append(
            {
                "policy": clock.policy_code,
                "label": policy.label(locale) if policy else clock.policy_code,
                "basis": policy.basis if policy else "",
                "cycle": clock.cycle,
                "unit": clock.unit,
                "state": clock.state,
                "light": engine.light_at(clock, now),
                "outcome": clock.outcome,
                "yellow_budget": clock.yellow_budget / per_unit,
                "red_budget": clock.red_budget / per_unit,
                "extended": clock.extended / per_unit,
                "consumed": consumed / per_unit,
                "remaining": (budget - consumed) / per_unit,
                "started_at": clock.started_at,
                "stopped_at": clock.stopped_at,
                "yellow_due_at": clock.yellow_due_at,
                "red_due_at": clock.red_due_at,
                "breached_at": clock.breached_at,
                "missed_by": missed,
                "calendar_gap": clock.calendar_gap,
                "extension_max": policy.extension_max if policy else None,
                "periods": _periods(events, clock),
                "log": [
                    {
                        "kind": e.kind,
                        "at": e.at,
                        "actor": e.actor,
                        "reason": e.reason,
                        "amount": e.amount,
                        "due_before": e.due_before,
                        "due_after": e.due_after,
                    }
                    for e in events
                ],
            }
        )
    order = list(policies)
    views.sort(key=lambda v: (order.index(v["policy"]) if v["policy"] in order else len(order), v["cycle"]))
    return views


def queue_view(
    session: Session, principal: Principal, locale: str, include_acknowledged: bool = False, limit: int = 500
) -> list[dict[str, Any]]:
    """Yellow and red escalations, the longest-waiting first."""
    now = utc_now()
    rows = repository.queue(session, org_scope(session, principal), include_acknowledged, limit)
    orgs = {unit.id: unit.name for unit in tenancy_repository.org_units(session)}
    assignees = auth_repository.usernames_by_id(session, {c.assignee_id for _, _, c in rows if c.assignee_id})
    items = []
    for escalation, clock, claim in rows:
        policy = tenant_policies(session, claim.tenant_id).get(clock.policy_code)
        items.append(
            {
                "id": escalation.id,
                "level": escalation.level,
                "light": engine.light_at(clock, now),
                "status": escalation.status,
                "claim_number": claim.number,
                "claim_status": workflow_service.state_label(claim.line, claim.status, locale),
                "line": workflow_service.line_label(claim.line, locale),
                "policy": clock.policy_code,
                "policy_label": policy.label(locale) if policy else clock.policy_code,
                "due_at": escalation.due_at,
                "fired_at": escalation.fired_at,
                "org_unit": orgs.get(escalation.org_unit_id) if escalation.org_unit_id else None,
                "assignee": assignees.get(claim.assignee_id) if claim.assignee_id else None,
                "acknowledged_by": escalation.acknowledged_by,
                "note": escalation.note,
            }
        )
    return items


FILING_COLUMNS = (
    "insurer",
    "claim_number",
    "line",
    "org_unit",
    "region_code",
    "policy",
    "reported_at",
    "target_due_at",
    "red_due_at",
    "filed_at",
)


def filings_view(
    session: Session,
    locale: str,
    tenant_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 10000,
) -> list[dict[str, Any]]:
    """Regulator filings: no personal data, only the case reference and its deadlines."""
    tenants = {tid: name for tid, _, name in tenancy_repository.tenant_codes_and_names(session)}
    orgs = {unit.id: unit.name for unit in tenancy_repository.org_units(session)}
    rows = []
    for filing in repository.filings(session, tenant_id, since, until, limit):
        policy = tenant_policies(session, filing.tenant_id).get(filing.policy_code)
        rows.append(
            {
                "insurer": tenants.get(filing.tenant_id, str(filing.tenant_id)),
                "claim_number": filing.claim_number,
                "line": workflow_service.line_label(filing.line, locale),
                "org_unit": orgs.get(filing.org_unit_id) if filing.org_unit_id else None,
                "region_code": filing.region_code,
                "policy": policy.label(locale) if policy else filing.policy_code,
                "reported_at": filing.reported_at,
                "target_due_at": filing.yellow_due_at,
                "red_due_at": filing.red_due_at,
                "filed_at": filing.filed_at,
            }
        )
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value)


def export_filings(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(
            [{k: _text(r[k]) or None for k in FILING_COLUMNS} for r in rows], ensure_ascii=False, indent=1
        )
    if fmt != "csv":
        raise ValueError(f"format {fmt!r}: choose csv or json")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FILING_COLUMNS)
    for row in rows:
        writer.writerow([_text(row[k]) for k in FILING_COLUMNS])
    return out.getvalue()


# -- the claim page's clocks ------------------------------------------------------------------------

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


def claim_clocks(session: Session, claim: Claim, locale: str) -> list[dict[str, Any]]:
    """The claim page's clock cards: :func:`clocks_view` with the budget, whether and by how much the
    clock is overdue, and the pause reasons in the reader's language."""
    rows = []
    for clock in clocks_view(session, claim, locale):
        periods = [period | _period_reason(period.get("reason"), claim.line, locale) for period in clock["periods"]]
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


# -- the supervisors' queue page (督办队列) ----------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    items: list[dict[str, Any]]
    include_acknowledged: bool
    time_zone: ZoneInfo

    def url(self) -> str:
        return queue_url(self.include_acknowledged)


def queue_url(include_acknowledged: bool) -> str:
    return "/sla/queue?all=1" if include_acknowledged else "/sla/queue"


def queue_page(session: Session, principal: Principal, include_acknowledged: bool, locale: str) -> QueueView:
    """Yellow and red cases of the caller's insurer (a supervisor's own units), the longest-waiting first."""
    items = [
        item | {"url": claim_url(item["claim_number"]), "note": scrub_text(item["note"]) if item["note"] else ""}
        for item in queue_view(session, principal, locale, include_acknowledged)
    ]
    return QueueView(items, include_acknowledged, tenancy_service.tenant_zone(session, principal.tenant_id))


# -- the regulator filings page (监管报备) ------------------------------------------------------------

FILINGS_SHOWN = 1000  # more than this: narrow the dates, or export


def _date(value: str | None) -> dt.date | None:
    value = clean(value, 10)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class FilingsQuery:
    """Filters of the filings page: an insurer (regulators only) and a range of local filing dates,
    both ends included."""

    tenant: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> FilingsQuery:
        return cls(
            tenant=clean(params.get("tenant"), 32), since=_date(params.get("since")), until=_date(params.get("until"))
        )

    def bounds(self, zone: ZoneInfo) -> tuple[dt.datetime | None, dt.datetime | None]:
        """Filed at or after midnight of ``since`` in ``zone``, and before midnight after ``until``."""
        since = dt.datetime.combine(self.since, dt.time(), zone) if self.since else None
        until = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(), zone) if self.until else None
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

    def export_url(self, fmt: str, with_tenant: bool, zone: ZoneInfo) -> str:
        """The JSON API's export, with the same filters (its times carry the zone's offset)."""
        since, until = self.bounds(zone)
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
    time_zone: ZoneInfo


def filings_page(session: Session, principal: Principal, query: FilingsQuery, locale: str) -> FilingsView:
    """Red cases filed with the regulator: every insurer's for a regulator (optionally one), the
    caller's own insurer's for its staff. Oldest filing first, like the export. Dates are the caller's
    insurer's local dates (the platform's for a regulator)."""
    regulator = principal.is_regulator
    zone = tenancy_service.tenant_zone(session, principal.tenant_id)
    since, until = query.bounds(zone)
    tenant_options: list[Option] = []
    items: list[dict[str, Any]] = []
    if regulator:
        tenants = tenancy_service.tenant_labels(session)
        tenant_options = [Option(t.code, f"{t.code} · {t.name}") for t in tenants]
        if query.tenant is not None:
            tenants = [t for t in tenants if t.code == query.tenant]
        for tenant in tenants:
            rows = filings_view(session, locale, tenant.id, since, until, FILINGS_SHOWN + 1)
            items.extend(row | {"tenant_code": tenant.code} for row in rows)
        items.sort(key=lambda row: (row["filed_at"], row["tenant_code"], row["claim_number"]))
    else:
        rows = filings_view(session, locale, principal.tenant_id, since, until, FILINGS_SHOWN + 1)
        items = [row | {"tenant_code": None} for row in rows]
    for item in items:
        item["region_name"] = region_name(item.get("region_code"), locale)
        item["url"] = claim_url(item["claim_number"], item["tenant_code"])
    return FilingsView(
        query=query,
        items=items[:FILINGS_SHOWN],
        truncated=len(items) > FILINGS_SHOWN,
        show_tenant=regulator,
        tenant_options=tenant_options,
        csv_url=query.export_url("csv", regulator, zone),
        json_url=query.export_url("json", regulator, zone),
        time_zone=zone,
    )
