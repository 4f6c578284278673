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
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import Principal
from claimwatch.calendar.workdays import CalendarYearMissing, Unit
from claimwatch.cases.models import Claim
from claimwatch.cases.queries import Option, claim_url, clean, line_options, region_name
from claimwatch.db import utc_now
from claimwatch.privacy import scrub_text
from claimwatch.sla import engine, repository
from claimwatch.sla.models import Escalation, SlaClock, SlaClockEvent
from claimwatch.sla.service import Axes, ClockActionRefused, EscalationNotFound, org_scope, tenant_policies
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import N_, translate
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
    log = repository.clock_events(session, [c.id for c in clocks], since=claim.written_since())
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
        provisional, red_provisional = engine.provisional_dues(axis, clock)
        views.append(
            {
                "policy": clock.policy_code,
                "label": policy.label(locale) if policy else clock.policy_code,
                "basis": policy.basis if policy else "",
                "cycle": clock.cycle,
                "unit": clock.unit,
                "state": clock.state,
                "light": engine.light_at(clock, now, axis),
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
                "provisional": provisional,  # 暂定 (sla.engine.provisional_dues)
                "red_provisional": red_provisional,
                "provisional_year": min(axis.calendar.provisional_years) if provisional or red_provisional else None,
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


# The CSV's headers, in the reader's language (the JSON keeps the codes).
FILING_HEADERS: dict[str, str] = {
    "insurer": N_("Insurer"),
    "claim_number": N_("Claim number"),
    "line": N_("Line of business"),
    "org_unit": N_("Org unit"),
    "region_code": N_("Region code"),
    "policy": N_("Time limit"),
    "reported_at": N_("Reported at"),
    "target_due_at": N_("Target due"),
    "red_due_at": N_("Red due"),
    "filed_at": N_("Filed at"),
}


def export_filings(rows: list[dict[str, Any]], fmt: str, locale: str = "zh", zone: dt.tzinfo | None = None) -> str:
    """JSON (codes as keys, ISO times in UTC) for programs; CSV for spreadsheets: a UTF-8 BOM, headers in
    ``locale``, times local to ``zone`` (default: the platform's)."""
    if fmt == "json":
        return json.dumps(
            [{k: _text(r[k]) or None for k in FILING_COLUMNS} for r in rows], ensure_ascii=False, indent=1
        )
    if fmt != "csv":
        raise ValueError(f"format {fmt!r}: choose csv or json")
    local = zone or tenancy_service.platform_zone()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([translate(locale, FILING_HEADERS[k]) for k in FILING_COLUMNS])
    for row in rows:
        writer.writerow([_local_text(row[k], local) for k in FILING_COLUMNS])
    return "\ufeff" + out.getvalue()


def _local_text(value: Any, zone: dt.tzinfo) -> str:
    """A CSV cell: a time as local wall time (minutes), anything else as text."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if isinstance(value, dt.datetime) else _text(value)


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
# One row per claim: its escalations (a claim may have several clocks, each yellow then red) fold into
# the row, which shows the worst light, by how much the worst clock is overdue, and which clocks.

QUEUE_PAGE_SIZE = 25
QUEUE_LIGHTS = ("red", "yellow")
QUEUE_ACK = ("open", "acknowledged", "all")  # open: the working queue (open escalations of open clocks)
QUEUE_OVERDUE = ("1", "0")  # 1: a clock is still running late; 0: every escalated clock has stopped
MAX_QUEUE_PAGE = 100_000
_RANK = {"green": 0, "yellow": 1, "red": 2}
_LIGHT_OF_RANK = {1: "yellow", 2: "red"}


def _page_number(value: str | None) -> int:
    value = clean(value, 7)
    if value is None or not (value.isascii() and value.isdigit()):
        return 1
    return min(max(1, int(value)), MAX_QUEUE_PAGE)


@dataclass(frozen=True)
class QueueQuery:
    """Filters of the queue page. Unknown values are dropped (a stale bookmark shows the whole queue
    rather than an error); ``all=1``, the old checkbox, means ``ack=all``."""

    light: str | None = None
    org: str | None = None  # an org unit's code: that unit and the units below it
    line: str | None = None
    ack: str = "open"
    overdue: str | None = None
    page: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> QueueQuery:
        light = clean(params.get("light"), 8)
        ack = clean(params.get("ack"), 16) or ("all" if params.get("all") == "1" else "open")
        overdue = clean(params.get("overdue"), 1)
        line = clean(params.get("line"), 32)
        return cls(
            light=light if light in QUEUE_LIGHTS else None,
            org=clean(params.get("org"), 32),
            line=line if line in workflow_service.lines() else None,
            ack=ack if ack in QUEUE_ACK else "open",
            overdue=overdue if overdue in QUEUE_OVERDUE else None,
            page=_page_number(params.get("page")),
        )

    def params(self) -> dict[str, str]:
        values = {
            "light": self.light,
            "org": self.org,
            "line": self.line,
            "ack": None if self.ack == "open" else self.ack,
            "overdue": self.overdue,
            "page": str(self.page) if self.page > 1 else None,
        }
        return {key: value for key, value in values.items() if value}

    def url(self, **changes: Any) -> str:
        query = urlencode(replace(self, **changes).params())
        return f"/sla/queue?{query}" if query else "/sla/queue"


@dataclass(frozen=True)
class QueueView:
    query: QueueQuery
    items: list[dict[str, Any]]
    total: int
    counts: dict[str, int]  # claims by worst light, under every filter but the light
    pages: int
    org_options: list[Option]
    line_options: list[Option]
    time_zone: ZoneInfo
    confirmation: dict[str, Any] | None = None

    def url(self) -> str:
        return self.query.url()

    @property
    def page(self) -> int:
        return min(self.query.page, self.pages)

    @property
    def prev_url(self) -> str | None:
        return self.query.url(page=self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.query.url(page=self.page + 1) if self.page < self.pages else None


def _unit_depth(unit: OrgUnit) -> int:
    return max(0, unit.path.count("/") - 2)


def _visible_units(session: Session, principal: Principal) -> tuple[list[OrgUnit], set[int] | None]:
    """The org units a queue reader may filter by (their subtree; every unit when unscoped) and the scope."""
    scope = org_scope(session, principal)
    units = tenancy_repository.org_units(session)
    return [unit for unit in units if scope is None or unit.id in scope], scope


def _queue_conditions(principal: Principal, query: QueueQuery, org_ids: set[int] | None) -> list[Any]:
    conditions: list[Any] = [Escalation.tenant_id == principal.tenant_id]
    if query.ack == "open":
        # The working queue: cases still to be handled. A completed case's breach stays on record
        # (filings, KPIs) and in the other views, but there is nothing left to urge.
        conditions += [Escalation.status == "open", SlaClock.state != engine.STOPPED]
    elif query.ack == "acknowledged":
        conditions.append(Escalation.status == "acknowledged")
    if org_ids is not None:
        conditions.append(Escalation.org_unit_id.in_(sorted(org_ids)))
    if query.line is not None:
        conditions.append(Claim.line == query.line)
    return conditions


def _joined(statement: Any) -> Any:
    return statement.join(SlaClock, SlaClock.id == Escalation.clock_id).join(Claim, Claim.id == Escalation.claim_id)


def _queue_claims(
    session: Session, query: QueueQuery, conditions: list[Any], page_size: int
) -> tuple[list[int], dict[str, int], int]:
    """The page's claim ids (the green channel first, then red first, then the longest-waiting), the claims by
    worst light, the total."""
    rank = case((or_(Escalation.level == "red", SlaClock.light == "red"), 2), else_=1)
    running = case((SlaClock.state != engine.STOPPED, 1), else_=0)
    groups = _joined(
        select(
            Escalation.claim_id.label("claim_id"),
            func.max(rank).label("worst"),
            func.min(Escalation.fired_at).label("first_fired"),
            func.max(Claim.priority).label("priority"),
        )
    ).where(*conditions)
    groups = groups.group_by(Escalation.claim_id)
    if query.overdue is not None:
        groups = groups.having(func.max(running) == (1 if query.overdue == "1" else 0))
    grouped = groups.subquery()
    counts = {
        _LIGHT_OF_RANK[worst]: n
        for worst, n in session.execute(select(grouped.c.worst, func.count()).group_by(grouped.c.worst))
    }
    counts = {light: counts.get(light, 0) for light in QUEUE_LIGHTS}
    total = counts[query.light] if query.light else sum(counts.values())
    pages = max(1, -(-total // page_size))
    page = min(query.page, pages)
    ids = select(grouped.c.claim_id)
    if query.light is not None:
        ids = ids.where(grouped.c.worst == _RANK[query.light])
    # The green channel first (claims.priority: catastrophe, major case, vulnerable customer), then red first.
    ids = ids.order_by(grouped.c.priority.desc(), grouped.c.worst.desc(), grouped.c.first_fired, grouped.c.claim_id)
    claim_ids = list(session.execute(ids.offset((page - 1) * page_size).limit(page_size)).scalars())
    return claim_ids, counts, total


def _worse(a: str, b: str) -> str:
    return a if _RANK.get(a, 0) >= _RANK.get(b, 0) else b


def _queue_rows(
    session: Session, principal: Principal, claim_ids: list[int], conditions: list[Any], locale: str
) -> list[dict[str, Any]]:
    """Each claim of the page with its escalated clocks (worst first) and what may be done with it."""
    if not claim_ids:
        return []
    now = utc_now()
    statement = _joined(select(Escalation, SlaClock, Claim)).where(*conditions, Escalation.claim_id.in_(claim_ids))
    rows = session.execute(statement.order_by(Escalation.claim_id, Escalation.clock_id, Escalation.id)).all()
    if not rows:
        return []
    tenant_id = rows[0][2].tenant_id
    policies = tenant_policies(session, tenant_id)
    axes = Axes(session, tenant_id)
    orgs = {unit.id: unit.name for unit in tenancy_repository.org_units(session)}
    assignees = auth_repository.usernames_by_id(session, {c.assignee_id for _, _, c in rows if c.assignee_id})
    by_claim: dict[int, dict[str, Any]] = {}
    for escalation, clock, claim in rows:
        row = by_claim.get(claim.id)
        if row is None:
            row = by_claim[claim.id] = {
                "claim_number": claim.number,
                "url": claim_url(claim.number),
                "line": workflow_service.line_label(claim.line, locale),
                "claim_status": workflow_service.state_label(claim.line, claim.status, locale),
                "org_unit": orgs.get(escalation.org_unit_id) if escalation.org_unit_id else None,
                "assignee": assignees.get(claim.assignee_id) if claim.assignee_id else None,
                "clocks": {},
                "escalations": [],
            }
        entry = row["clocks"].get(clock.id)
        if entry is None:
            policy = policies.get(clock.policy_code)
            unit = Unit(clock.unit)
            try:
                over_by = engine.missed_by_units(axes(unit), clock, now, unit.seconds_per_unit)
            except CalendarYearMissing:
                over_by = None
            entry = row["clocks"][clock.id] = {
                "policy": clock.policy_code,
                "label": policy.label(locale) if policy else clock.policy_code,
                # What the sweep recorded (as the order and counts do); it runs continuously.
                "light": clock.light if clock.light in _RANK else "yellow",
                "stopped": clock.state == engine.STOPPED,
                "unit": clock.unit,
                "over_by": over_by,
                # comparable across units: how long ago (wall time) the target passed
                "late_since": clock.yellow_due_at or clock.breached_at,
                "levels": [],
            }
        entry["light"] = _worse(entry["light"], escalation.level)
        actionable = escalation.status == "open" and clock.state != engine.STOPPED
        entry["levels"].append(escalation.level)
        row["escalations"].append(
            {
                "id": escalation.id,
                "level": escalation.level,
                "status": escalation.status,
                "actionable": actionable,
                "policy_label": entry["label"],
                "due_at": escalation.due_at,
                "fired_at": escalation.fired_at,
                "acknowledged_by": escalation.acknowledged_by,
                "acknowledged_at": escalation.acknowledged_at,
                "note": scrub_text(escalation.note) if escalation.note else "",
                "rank": _RANK[entry["light"]],
            }
        )
    items = []
    for claim_id in claim_ids:
        row = by_claim.get(claim_id)
        if row is None:
            continue
        clocks = sorted(
            row.pop("clocks").values(),
            key=lambda c: (-_RANK[c["light"]], c["late_since"] or now, c["label"]),
        )
        escalations = sorted(row["escalations"], key=lambda e: (-_RANK[e["level"]], e["fired_at"], e["id"]))
        open_ids = [e["id"] for e in escalations if e["actionable"]]
        worst = clocks[0]
        if open_ids:
            status = "open"
        elif all(c["stopped"] for c in clocks):
            status = "closed"
        else:
            status = "acknowledged"
        acknowledged = [e for e in escalations if e["status"] == "acknowledged"]
        items.append(
            row
            | {
                "light": worst["light"],
                "clocks": clocks,
                "escalations": escalations,
                "over_by": worst["over_by"],
                "unit": worst["unit"],
                "fired_at": min(e["fired_at"] for e in escalations),
                "due_at": min((e["due_at"] for e in escalations if e["due_at"]), default=None),
                "status": status,
                "action_id": open_ids[0] if open_ids else None,
                "open_ids": open_ids,
                "acknowledged_by": sorted({e["acknowledged_by"] for e in acknowledged if e["acknowledged_by"]}),
                "notes": [e["note"] for e in acknowledged if e["note"]],
            }
        )
    return items


def queue_page(
    session: Session,
    principal: Principal,
    query: QueueQuery,
    locale: str,
    confirmation: dict[str, Any] | None = None,
    page_size: int | None = None,
) -> QueueView:
    """The caller's insurer's yellow and red cases, one row per claim, red first then the longest-waiting;
    a reader attached to an org unit sees that unit and the units below it only."""
    page_size = page_size or QUEUE_PAGE_SIZE
    units, scope = _visible_units(session, principal)
    org_ids = scope
    chosen = next((unit for unit in units if unit.code == query.org), None)
    if chosen is None:
        query = replace(query, org=None)
    else:
        org_ids = {unit.id for unit in units if unit.path.startswith(chosen.path)}
    conditions = _queue_conditions(principal, query, org_ids)
    claim_ids, counts, total = _queue_claims(session, query, conditions, page_size)
    items = _queue_rows(session, principal, claim_ids, conditions, locale)
    return QueueView(
        query=query,
        items=items,
        total=total,
        counts=counts,
        pages=max(1, -(-total // page_size)),
        org_options=[Option(unit.code, "\u3000" * _unit_depth(unit) + unit.name) for unit in units],
        line_options=line_options(locale),
        time_zone=tenancy_service.tenant_zone(session, principal.tenant_id),
        confirmation=confirmation,
    )


def claim_escalations(session: Session, principal: Principal, escalation_id: int) -> tuple[str, list[int]]:
    """What acknowledging a queue row takes in hand: the claim of ``escalation_id`` and its escalations
    still open on open clocks, within the reader's units, the named one first. Unknown, another
    insurer's, or outside the reader's units: :class:`EscalationNotFound`; its clock stopped (the case
    was completed): a 409, there is nothing left to urge."""
    scope = org_scope(session, principal)
    found = session.execute(
        _joined(select(Escalation, SlaClock, Claim)).where(
            Escalation.id == escalation_id, Escalation.tenant_id == principal.tenant_id
        )
    ).first()
    if found is None or (scope is not None and found[0].org_unit_id not in scope):
        raise EscalationNotFound(f"no escalation {escalation_id}")
    escalation, clock, claim = found
    if escalation.status == "open" and clock.state == engine.STOPPED:
        raise ClockActionRefused(
            f"the clock of escalation {escalation_id} has stopped: the case is completed", "escalation"
        )
    conditions = [Escalation.claim_id == claim.id, Escalation.status == "open", SlaClock.state != engine.STOPPED]
    if scope is not None:
        conditions.append(Escalation.org_unit_id.in_(sorted(scope)))
    siblings = session.execute(_joined(select(Escalation.id)).where(*conditions).order_by(Escalation.id)).scalars()
    return claim.number, [escalation_id] + [i for i in siblings if i != escalation_id]


def acknowledgement(session: Session, principal: Principal, number: str | None, locale: str) -> dict[str, Any] | None:
    """The confirmation after acknowledging: the claim and the clocks the reader acknowledged last (None
    when they did not, so a hand-made address shows nothing)."""
    number = clean(number, 64)
    if number is None:
        return None
    rows = session.execute(
        _joined(select(Escalation, SlaClock)).where(
            Claim.number == number,
            Escalation.tenant_id == principal.tenant_id,
            Escalation.status == "acknowledged",
            Escalation.acknowledged_by == principal.actor,
        )
    ).all()
    if not rows:
        return None
    latest = max(escalation.acknowledged_at for escalation, _ in rows if escalation.acknowledged_at)
    policies = tenant_policies(session, rows[0][0].tenant_id)
    clocks: list[str] = []
    for escalation, clock in sorted(rows, key=lambda r: (-_RANK[r[0].level], r[0].id)):
        if escalation.acknowledged_at and (latest - escalation.acknowledged_at).total_seconds() < 60:
            policy = policies.get(clock.policy_code)
            label = policy.label(locale) if policy else clock.policy_code
            if label not in clocks:
                clocks.append(label)
    return {"claim_number": number, "url": claim_url(number), "clocks": clocks, "at": latest}


# -- the claim page's escalation history ------------------------------------------------------------


def escalation_history(session: Session, claim: Claim, locale: str) -> list[dict[str, Any]]:
    """Every escalation of the claim, oldest first: raised (when, which clock, which level), acknowledged
    (by whom, when, the note masked) and closed (when its clock stopped)."""
    rows = session.execute(
        select(Escalation, SlaClock)
        .join(SlaClock, SlaClock.id == Escalation.clock_id)
        .where(Escalation.claim_id == claim.id, Escalation.tenant_id == claim.tenant_id)
        .order_by(Escalation.fired_at, Escalation.id)
    ).all()
    policies = tenant_policies(session, claim.tenant_id)
    history = []
    for escalation, clock in rows:
        policy = policies.get(clock.policy_code)
        history.append(
            {
                "id": escalation.id,
                "policy": clock.policy_code,
                "policy_label": policy.label(locale) if policy else clock.policy_code,
                "cycle": clock.cycle,
                "level": escalation.level,
                "status": escalation.status,
                "due_at": escalation.due_at,
                "fired_at": escalation.fired_at,
                "acknowledged_by": escalation.acknowledged_by,
                "acknowledged_at": escalation.acknowledged_at,
                "note": scrub_text(escalation.note) if escalation.note else "",
                "closed_at": clock.stopped_at,
                "outcome": clock.outcome,
            }
        )
    return history


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
