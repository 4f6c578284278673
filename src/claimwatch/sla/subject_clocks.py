"""The one clock of another domain's record (a provider task's report deadline, an underwriting case's
turnaround) on the SLA engine: started from a policy, stopped met or breached against its red deadline, voided
without a result, and shown the same way on every page and in the API. The domains keep what differs: the policy,
which record and which row."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from claimwatch.calendar.workdays import Axis, CalendarYearMissing, Unit
from claimwatch.sla import engine
from claimwatch.sla import service as sla_service
from claimwatch.sla.loader import Policy
from claimwatch.sla.models import ClockColumns

MET, BREACHED = "met", "breached"
# The engine's columns a subject clock row copies from a new clock state (a subject clock has no claim).
COPIED = [name for name in engine.CLOCK_FIELDS if name not in ("id", "claim_id")]

Clock = TypeVar("Clock", bound=ClockColumns)


def start(
    session: Session, clock_table: type[Clock], policy: Policy, tenant_id: int, subject: dict[str, int], at: dt.datetime
) -> Clock:
    """A running clock for the record (``subject``: its foreign key, e.g. ``{"task_id": 7}``) from ``at``; refuses
    (409, field ``calendar``) a deadline in a year without a working-day calendar rather than guess it."""
    axis = sla_service.Axes(session, tenant_id)(policy.unit)
    state = engine.new_clock(axis, policy, tenant_id, next(iter(subject.values())), 1, at)
    if state.red_due_at is None:
        raise CalendarYearMissing(state.calendar_gap or at.year)
    clock = clock_table(**subject, **{name: getattr(state, name) for name in COPIED})
    session.add(clock)
    session.flush()
    return clock


def finish(session: Session, tenant_id: int, clock: Clock, at: dt.datetime, due: dt.datetime | None = None) -> Clock:
    """Stop at ``at``: met, or breached by how much (axis seconds) past the red deadline (or ``due`` when the clock
    has none). A stopped clock is left as it is."""
    if clock.state == engine.STOPPED:
        return clock
    axis = sla_service.Axes(session, tenant_id)(clock.unit)
    engine.stop(axis, clock, max(at, clock.started_at))
    deadline = clock.red_due_at or due
    if deadline is not None and at > deadline:
        clock.outcome, clock.missed_by = BREACHED, axis.value_at(at) - axis.value_at(deadline)
    else:
        clock.outcome, clock.missed_by = MET, None
    clock.next_check_at = None
    return clock


def void(session: Session, tenant_id: int, clock: Clock, at: dt.datetime) -> Clock:
    """End without a result (cancelled, declined, withdrawn): counts neither met nor late."""
    if clock.state == engine.STOPPED:
        return clock
    axis = sla_service.Axes(session, tenant_id)(clock.unit)
    engine.void(axis, clock, max(at, clock.started_at))
    clock.outcome, clock.missed_by, clock.next_check_at = engine.VOID, None, None
    return clock


def light(clock: ClockColumns | None, now: dt.datetime, axis: Axis | None = None) -> str | None:
    """green | yellow (past the reminder share) | red (past the deadline); a stopped clock is green when met or
    void, red when late."""
    if clock is None:
        return None
    if clock.state == engine.STOPPED:
        return engine.GREEN if clock.outcome in (MET, engine.VOID) else engine.RED
    if clock.red_due_at is not None and now >= clock.red_due_at:
        return engine.RED
    return engine.light_at(clock, now, axis)


def clock_view(clock: ClockColumns | None, now: dt.datetime, axis: Axis | None = None) -> dict[str, Any] | None:
    """The clock as pages and the API show it (UTC instants; the miss in the clock's unit)."""
    if clock is None:
        return None
    per_unit = Unit(clock.unit).seconds_per_unit
    missed: float | None = None
    if clock.state == engine.STOPPED:
        missed = (clock.missed_by or 0.0) / per_unit if clock.outcome == BREACHED else None
    elif axis is not None and clock.red_due_at is not None and now > clock.red_due_at:
        try:
            missed = (axis.value_at(now) - axis.value_at(clock.red_due_at)) / per_unit
        except CalendarYearMissing:
            missed = None
    return {
        "unit": clock.unit,
        "state": clock.state,
        "light": light(clock, now, axis),
        "outcome": clock.outcome,
        "started_at": clock.started_at,
        "remind_at": clock.yellow_due_at,
        "due_at": clock.red_due_at,
        "stopped_at": clock.stopped_at,
        "missed_by": missed,
        "provisional": axis.is_provisional(clock.red_due_at) if axis is not None else False,
        "calendar_gap": clock.calendar_gap,
    }
