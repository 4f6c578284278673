"""What screens, exports and the API show of clocks, the supervisors' queue and regulator filings."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import Principal
from claimwatch.calendar.workdays import CalendarYearMissing, Unit
from claimwatch.cases.models import Claim
from claimwatch.db import utc_now
from claimwatch.sla import engine, repository
from claimwatch.sla.models import SlaClock, SlaClockEvent
from claimwatch.sla.service import Axes, org_scope, tenant_policies
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.workflow import service as workflow_service

UNIT_LABELS = {
    Unit.HOURS: ("小时", "hours"),
    Unit.BUSINESS_HOURS: ("工作小时", "business hours"),
    Unit.CALENDAR_DAYS: ("自然日", "calendar days"),
    Unit.WORKING_DAYS: ("工作日", "working days"),
}


def unit_label(unit: str, locale: str) -> str:
    zh, en = UNIT_LABELS[Unit(unit)]
    return zh if locale == "zh" else en


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
                "unit_label": unit_label(clock.unit, locale),
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
