"""Rectification deadlines on the SLA engine, the way :mod:`claimwatch.complaints.clocks` runs complaint
clocks: a :class:`RectificationClock` row has the engine's columns (``sla.models.ClockColumns``), so the same
arithmetic — calendar days per Civil Code art. 201/203, breach recorded by how much, provisional (暂定)
deadlines on a year whose holiday arrangement is not published — runs here. The engine never touches
``claim_id`` outside :func:`engine.new_clock`, whose result is copied.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.calendar.workdays import Axis, CalendarYearMissing, Unit
from claimwatch.rectification import loader
from claimwatch.rectification.models import Rectification, RectificationClock, RectificationEvent
from claimwatch.sla import engine
from claimwatch.sla import service as sla_service
from claimwatch.sla.loader import Policy
from claimwatch.tenancy import repository as tenancy_repository

_COPIED = [name for name in engine.CLOCK_FIELDS if name not in ("id", "claim_id")]


def clocks_of(session: Session, rectification_ids: list[int]) -> list[RectificationClock]:
    if not rectification_ids:
        return []
    statement = (
        select(RectificationClock)
        .where(RectificationClock.rectification_id.in_(rectification_ids))
        .order_by(RectificationClock.rectification_id, RectificationClock.id)
    )
    return list(session.execute(statement).scalars())


class ClockSet:
    """One rectification's clocks during one action (the caller holds the tenant's audit chain)."""

    def __init__(self, session: Session, rectification: Rectification) -> None:
        self.session = session
        self.rectification = rectification
        self.axes = sla_service.Axes(session, rectification.tenant_id)
        self.policies = loader.tenant_policies(session, rectification.tenant_id)
        self.rows = clocks_of(session, [rectification.id])

    def axis(self, clock: RectificationClock) -> Axis:
        return self.axes(clock.unit)

    def latest(self, code: str) -> RectificationClock | None:
        mine = [c for c in self.rows if c.policy_code == code]
        return max(mine, key=lambda c: c.cycle) if mine else None

    def start(self, code: str, at: dt.datetime) -> RectificationClock:
        policy = self.policies[code]
        previous = self.latest(code)
        cycle = previous.cycle + 1 if previous is not None else 1
        tenant_id, rid = self.rectification.tenant_id, self.rectification.id
        state = engine.new_clock(self.axes(policy.unit), policy, tenant_id, rid, cycle, at)
        clock = RectificationClock(rectification_id=rid, **{name: getattr(state, name) for name in _COPIED})
        self.session.add(clock)
        self.session.flush()
        self.rows.append(clock)
        return clock

    def stop(self, code: str, at: dt.datetime) -> RectificationClock | None:
        """Stop ``code``'s open clock at ``at``; the clock (met or breached), or None when none was open."""
        clock = self.latest(code)
        if clock is None or clock.state == engine.STOPPED:
            return None
        engine.stop(self.axis(clock), clock, max(at, clock.started_at))
        return clock

    def stop_all(self, at: dt.datetime) -> list[RectificationClock]:
        return [clock for code in loader.POLICY_CODES if (clock := self.stop(code, at)) is not None]


def clock_view(
    axes: sla_service.Axes, policies: dict[str, Policy], clock: RectificationClock, locale: str, now: dt.datetime
) -> dict[str, Any]:
    """A clock as the pages and the API show it (due dates UTC; the miss in days)."""
    policy = policies.get(clock.policy_code)
    per_unit = Unit(clock.unit).seconds_per_unit
    axis = axes(clock.unit)
    try:
        missed = engine.missed_by_units(axis, clock, now, per_unit)
    except CalendarYearMissing:
        missed = None
    provisional, red_provisional = engine.provisional_dues(axis, clock)
    return {
        "policy": clock.policy_code,
        "label": policy.label(locale) if policy else clock.policy_code,
        "basis": policy.basis if policy else "",
        "cycle": clock.cycle,
        "unit": clock.unit,
        "deadline": True,
        "state": clock.state,
        "light": engine.light_at(clock, now, axis),
        "outcome": clock.outcome,
        "target": (clock.yellow_budget + clock.extended) / per_unit,
        "extended": clock.extended / per_unit,
        "started_at": clock.started_at,
        "stopped_at": clock.stopped_at,
        "suspended": False,
        "due_at": clock.yellow_due_at,
        "red_due_at": clock.red_due_at,
        "breached_at": clock.breached_at,
        "missed_by": missed,
        "calendar_gap": clock.calendar_gap,
        # 暂定: computed on the statutory holidays of a year whose official arrangement is not loaded.
        "provisional": provisional,
        "red_provisional": red_provisional,
        "provisional_year": (min(axis.calendar.provisional_years) if provisional or red_provisional else None),
        "reminders": clock.reminders,
    }


RECOMPUTED = "deadline_recomputed"


def recompute_open_clocks(
    session: Session, tenant_ids: list[int] | None, reason: str, actor: str, provisional_from: dt.date | None = None
) -> int:
    """After a calendar edit: derive every open rectification clock's deadlines again (a provisional one
    becomes exact) and note on the rectification why a date moved. Returns how many clocks moved."""
    if tenant_ids is None:
        tenant_ids = [tenant.id for tenant in tenancy_repository.all_tenants(session)]
    for tenant_id in sorted(tenant_ids):
        audit_service.open_chain(session, tenant_id).close()
    statement = select(RectificationClock).where(
        RectificationClock.state != engine.STOPPED, RectificationClock.tenant_id.in_(tenant_ids)
    )
    by_tenant: dict[int, list[RectificationClock]] = {}
    for clock in session.execute(statement.order_by(RectificationClock.id)).scalars():
        by_tenant.setdefault(clock.tenant_id, []).append(clock)
    now = dt.datetime.now(dt.UTC)
    moved = 0
    for tenant_id in sorted(by_tenant):
        for clock, due_before in sla_service.refresh_deadlines(
            session, tenant_id, by_tenant[tenant_id], provisional_from
        ):
            rectification = session.get(Rectification, clock.rectification_id)
            if rectification is not None:
                if clock.policy_code == loader.PLAN:
                    rectification.plan_due_at = clock.yellow_due_at
                elif clock.policy_code == loader.ACCEPTANCE:
                    rectification.acceptance_due_at = clock.yellow_due_at
            session.add(
                RectificationEvent(
                    tenant_id=clock.tenant_id,
                    rectification_id=clock.rectification_id,
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
