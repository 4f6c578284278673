"""Complaint deadlines on the SLA engine.

A :class:`ComplaintClock` row has the columns ``claimwatch.sla.engine`` computes on (budgets, consumed
time, running_since, state, due dates), so the same arithmetic — art. 201/203 calendar days, suspension,
bounded extension, breach recorded by how much — runs on complaints as on claims (both tables take their
clock columns from ``sla.models.ClockColumns``; the engine never touches ``claim_id`` outside
:func:`engine.new_clock`, whose result is copied here).
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.calendar.workdays import Axis, CalendarYearMissing, Unit
from claimwatch.complaints import repository
from claimwatch.complaints.models import Complaint, ComplaintClock, ComplaintEvent
from claimwatch.config import PACKAGE_DIR
from claimwatch.sla import engine
from claimwatch.sla import service as sla_service
from claimwatch.sla.loader import Policy, parse_subject_policies, with_tenant_overrides
from claimwatch.tenancy import repository as tenancy_repository

DECISION = "complaint_decision"
REVIEW_WINDOW = "complaint_review_window"
REVIEW = "complaint_review"
REGULATOR_ACCEPT = "regulator_transfer_accept"
POLICY_CODES = (DECISION, REVIEW_WINDOW, REVIEW, REGULATOR_ACCEPT)
# Complex: 15 → 30 days with a recorded reason; approved: a further 30 (to 60). The policy's extension
# maximum (45) bounds the sum, so "never beyond 60" holds even if a tenant lowers the steps.
COMPLEX_EXTENSION_DAYS = 15.0
APPROVED_EXTENSION_DAYS = 30.0
# The review window is the complainant's time, not a deadline of ours: how its clock ended.
WINDOW_APPLIED, WINDOW_LAPSED, WINDOW_WAIVED = "applied", "lapsed", "waived"

POLICY_FILE = PACKAGE_DIR / "defaults" / "complaints" / "policies.yaml"


@lru_cache
def base_policies() -> dict[str, Policy]:
    policies = {p.code: p for p in parse_subject_policies(POLICY_FILE.read_text(encoding="utf-8"), str(POLICY_FILE))}
    missing = [code for code in POLICY_CODES if code not in policies]
    if missing:
        raise LookupError(f"{POLICY_FILE}: missing complaint policies {missing}")
    return policies


@lru_cache
def policies_for_tenant(tenant_code: str) -> dict[str, Policy]:
    """The defaults with the tenant's file applied (``<overrides dir>/complaints/<TENANT_CODE>.yaml``)."""
    return with_tenant_overrides(base_policies(), tenant_code, "complaints")


def tenant_policies(session: Session, tenant_id: int) -> dict[str, Policy]:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    return policies_for_tenant(tenant.code)


_COPIED = [name for name in engine.CLOCK_FIELDS if name not in ("id", "claim_id")]


class ClockSet:
    """One complaint's clocks during one action (the caller holds the tenant's audit chain)."""

    def __init__(self, session: Session, complaint: Complaint) -> None:
        self.session = session
        self.complaint = complaint
        self.axes = sla_service.Axes(session, complaint.tenant_id)
        self.policies = tenant_policies(session, complaint.tenant_id)
        self.rows = repository.clocks(session, [complaint.id])

    def axis(self, clock: ComplaintClock) -> Axis:
        return self.axes(clock.unit)

    def latest(self, code: str) -> ComplaintClock | None:
        mine = [c for c in self.rows if c.policy_code == code]
        return max(mine, key=lambda c: c.cycle) if mine else None

    def open(self, code: str) -> ComplaintClock | None:
        clock = self.latest(code)
        return clock if clock is not None and clock.state != engine.STOPPED else None

    def open_clocks(self) -> list[ComplaintClock]:
        return [c for c in self.rows if c.state != engine.STOPPED]

    def start(self, code: str, at: dt.datetime) -> ComplaintClock:
        """A new cycle of ``code`` counting from ``at`` (the day after it, for whole-day units)."""
        policy = self.policies[code]
        previous = self.latest(code)
        cycle = previous.cycle + 1 if previous is not None else 1
        state = engine.new_clock(self.axes(policy.unit), policy, self.complaint.tenant_id, self.complaint.id, cycle, at)
        clock = ComplaintClock(complaint_id=self.complaint.id, **{name: getattr(state, name) for name in _COPIED})
        self.session.add(clock)
        self.session.flush()
        self.rows.append(clock)
        return clock

    def stop(self, clock: ComplaintClock, at: dt.datetime) -> bool:
        return engine.stop(self.axis(clock), clock, max(at, clock.started_at))

    def end_window(self, clock: ComplaintClock, at: dt.datetime, outcome: str) -> None:
        """End the review window: applied for, lapsed, or waived by closing. Never a breach of ours."""
        if clock.state == engine.RUNNING:
            clock.consumed = engine.consumed_at(self.axis(clock), clock, at)
        clock.state = engine.STOPPED
        clock.running_since = None
        clock.paused_since = None
        clock.suspended_since = None
        clock.stopped_at = at
        clock.outcome = outcome
        clock.updated_at = at
        clock.next_check_at = None

    def stop_all(self, at: dt.datetime) -> list[str]:
        stopped = []
        for clock in self.open_clocks():
            if clock.policy_code == REVIEW_WINDOW:
                self.end_window(clock, at, WINDOW_WAIVED)
                stopped.append(clock.policy_code)
            elif self.stop(clock, at):
                stopped.append(clock.policy_code)
        return stopped

    def suspend(self, clock: ComplaintClock, at: dt.datetime) -> bool:
        return engine.pause(self.axis(clock), clock, at, suspension=True)

    def resume(self, clock: ComplaintClock, at: dt.datetime) -> bool:
        return engine.resume(self.axis(clock), clock, at, suspension=True)

    def extend(self, clock: ComplaintClock, days: float, at: dt.datetime) -> None:
        """Raises ``engine.ExtensionRefused`` past the policy's maximum or after a breach."""
        engine.extend(self.axis(clock), clock, self.policies[clock.policy_code], days, at)


def unit_seconds(clock: ComplaintClock) -> int:
    return Unit(clock.unit).seconds_per_unit


def clock_view(
    axes: sla_service.Axes, policies: dict[str, Policy], clock: ComplaintClock, locale: str, now: dt.datetime
) -> dict[str, Any]:
    """A clock as screens and the API show it (due dates UTC; extension and miss in the policy's unit)."""
    policy = policies.get(clock.policy_code)
    per_unit = unit_seconds(clock)
    axis = axes(clock.unit)
    deadline = clock.policy_code != REVIEW_WINDOW
    try:
        missed = engine.missed_by_units(axis, clock, now, per_unit) if deadline else None
    except CalendarYearMissing:
        missed = None
    light = engine.light_at(clock, now, axis) if deadline else engine.GREEN
    provisional, red_provisional = engine.provisional_dues(axis, clock)
    return {
        "policy": clock.policy_code,
        "label": policy.label(locale) if policy else clock.policy_code,
        "basis": policy.basis if policy else "",
        "cycle": clock.cycle,
        "unit": clock.unit,
        "deadline": deadline,
        "state": clock.state,
        "light": light,
        "outcome": clock.outcome,
        "target": (clock.yellow_budget + clock.extended) / per_unit,
        "extended": clock.extended / per_unit,
        "started_at": clock.started_at,
        "stopped_at": clock.stopped_at,
        "suspended": clock.suspended_since is not None,
        "due_at": clock.yellow_due_at,
        "red_due_at": clock.red_due_at,
        "breached_at": clock.breached_at if deadline else None,
        "missed_by": missed,
        "calendar_gap": clock.calendar_gap,
        # 暂定: computed on the statutory holidays of a year whose official arrangement is not loaded.
        "provisional": provisional,
        "red_provisional": red_provisional,
        "provisional_year": (min(axis.calendar.provisional_years) if provisional or red_provisional else None),
    }


RECOMPUTED = "deadline_recomputed"


def _watch_review_window(clock: ComplaintClock) -> None:
    if clock.policy_code == REVIEW_WINDOW and clock.state == engine.RUNNING:
        # The complainant's window: the sweep looks when it lapses; it never lights up.
        clock.next_check_at = clock.yellow_due_at


def recompute_open_clocks(
    session: Session,
    tenant_ids: list[int] | None,
    reason: str,
    actor: str,
    provisional_from: dt.date | None = None,
) -> int:
    """After a calendar edit (a year's official arrangement loaded, business hours changed): derive every
    open complaint clock's deadlines again — a provisional (暂定) deadline becomes exact — and record on the
    complaint why a date moved or became exact (``provisional_from``: see ``sla.service.recompute_open_clocks``).
    ``tenant_ids`` None: every tenant's. Returns how many clocks moved.
    The calendar change itself is in every tenant's audit chain (``config.calendar``)."""
    if tenant_ids is None:
        tenant_ids = [tenant.id for tenant in tenancy_repository.all_tenants(session)]
    # Lock order (as the sweeps): each tenant's audit-chain head before its clock rows.
    for tenant_id in sorted(tenant_ids):
        audit_service.open_chain(session, tenant_id).close()
    statement = select(ComplaintClock).where(
        ComplaintClock.state != engine.STOPPED, ComplaintClock.tenant_id.in_(tenant_ids)
    )
    by_tenant: dict[int, list[ComplaintClock]] = {}
    for clock in session.execute(statement.order_by(ComplaintClock.id)).scalars():
        by_tenant.setdefault(clock.tenant_id, []).append(clock)
    now = dt.datetime.now(dt.UTC)
    moved = 0
    for tenant_id in sorted(by_tenant):
        refreshed = sla_service.refresh_deadlines(
            session, tenant_id, by_tenant[tenant_id], provisional_from, _watch_review_window
        )
        for clock, due_before in refreshed:
            session.add(
                ComplaintEvent(
                    tenant_id=clock.tenant_id,
                    complaint_id=clock.complaint_id,
                    kind=RECOMPUTED,
                    at=now,
                    actor=actor,
                    note=reason,
                    data=json.dumps(
                        {
                            "policy": clock.policy_code,
                            "due_before": due_before.isoformat() if due_before else None,
                            "due_after": clock.yellow_due_at.isoformat() if clock.yellow_due_at else None,
                        },
                        sort_keys=True,
                    ),
                )
            )
            moved += 1
    session.flush()
    return moved
