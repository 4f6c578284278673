"""An underwriting case's turnaround on the SLA engine, as :mod:`claimwatch.providers.clocks` runs provider-task
clocks: an :class:`UnderwritingClock` row has the engine's columns, so the same working-day arithmetic on the
tenant's calendar runs here. The policy is built from the rules in force: the target for the case's line and risk
level (working days); yellow at :data:`YELLOW_SHARE` of it (the reviewer is reminded), red at the target (late).

The clock starts at receipt and stops at the decision (met or breached against the red deadline); a withdrawn
application voids it (neither met nor late)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.calendar.workdays import Axis, CalendarYearMissing, Unit
from claimwatch.policies import underwriting_repository as repository
from claimwatch.policies.models import UnderwritingCase, UnderwritingClock
from claimwatch.sla import engine
from claimwatch.sla import service as sla_service
from claimwatch.sla.loader import Policy

POLICY_CODE = "underwriting_turnaround"
YELLOW_SHARE = 0.7
UNIT = Unit.WORKING_DAYS
_COPIED = [name for name in engine.CLOCK_FIELDS if name not in ("id", "claim_id")]


def turnaround_policy(days: float) -> Policy:
    return Policy(
        code=POLICY_CODE,
        name_zh="核保时效",
        name_en="Underwriting turnaround",
        basis="underwriting rules (核保规则时效)",
        unit=UNIT,
        yellow=float(days) * YELLOW_SHARE,
        red=float(days),
    )


def clock_of(session: Session, case: UnderwritingCase) -> UnderwritingClock | None:
    return repository.clocks_of(session, [case.id]).get(case.id)


def start(session: Session, case: UnderwritingCase, days: float, at: dt.datetime) -> UnderwritingClock:
    """Start the case's clock at ``at``; refuses (409, field ``calendar``) a year without a working-day calendar."""
    policy = turnaround_policy(days)
    axis = sla_service.Axes(session, case.tenant_id)(policy.unit)
    state = engine.new_clock(axis, policy, case.tenant_id, case.id, 1, at)
    if state.red_due_at is None:
        raise CalendarYearMissing(state.calendar_gap or at.year)
    clock = UnderwritingClock(case_id=case.id, **{name: getattr(state, name) for name in _COPIED})
    session.add(clock)
    session.flush()
    return clock


def finish(session: Session, case: UnderwritingCase, at: dt.datetime) -> UnderwritingClock | None:
    """Stop the clock at the decision: met, or breached by how much past the deadline."""
    clock = clock_of(session, case)
    if clock is None or clock.state == engine.STOPPED:
        return clock
    axis = sla_service.Axes(session, case.tenant_id)(clock.unit)
    engine.stop(axis, clock, max(at, clock.started_at))
    due = clock.red_due_at
    if due is not None and at > due:
        clock.outcome = "breached"
        clock.missed_by = axis.value_at(at) - axis.value_at(due)
    else:
        clock.outcome, clock.missed_by = "met", None
    clock.next_check_at = None
    return clock


def void(session: Session, case: UnderwritingCase, at: dt.datetime) -> UnderwritingClock | None:
    clock = clock_of(session, case)
    if clock is None or clock.state == engine.STOPPED:
        return clock
    axis = sla_service.Axes(session, case.tenant_id)(clock.unit)
    engine.void(axis, clock, max(at, clock.started_at))
    clock.outcome, clock.missed_by, clock.next_check_at = engine.VOID, None, None
    return clock


def light(clock: UnderwritingClock | None, now: dt.datetime, axis: Axis | None = None) -> str | None:
    """green | yellow | red; a stopped clock is green when met (or void), red when late."""
    if clock is None:
        return None
    if clock.state == engine.STOPPED:
        return engine.GREEN if clock.outcome in ("met", engine.VOID) else engine.RED
    if clock.red_due_at is not None and now >= clock.red_due_at:
        return engine.RED
    return engine.light_at(clock, now, axis)


def clock_view(clock: UnderwritingClock | None, now: dt.datetime, axis: Axis | None = None) -> dict[str, Any] | None:
    if clock is None:
        return None
    per_unit = Unit(clock.unit).seconds_per_unit
    missed: float | None = None
    if clock.state == engine.STOPPED:
        missed = (clock.missed_by or 0.0) / per_unit if clock.outcome == "breached" else None
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
    }
