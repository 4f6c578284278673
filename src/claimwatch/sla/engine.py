"""Clock arithmetic on one clock: no database, no HTTP. The service decides *when*; this decides *what*.

Invariants (tested by property tests):
- pausing, suspending or extending never makes a deadline earlier than it was without them;
- a breached clock stays breached (``breached_at`` is never cleared) and records by how much;
- each escalation level is owed once: ``escalated`` only grows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from claimwatch.calendar.workdays import Axis, CalendarYearMissing
from claimwatch.errors import Conflict
from claimwatch.sla.loader import Policy
from claimwatch.sla.models import ClockColumns

RUNNING, PAUSED, SUSPENDED, STOPPED = "running", "paused", "suspended", "stopped"
GREEN, YELLOW, RED = "green", "yellow", "red"
LEVELS = {GREEN: 0, YELLOW: 1, RED: 2}


@dataclass(slots=True)
class ClockState:
    """A clock's columns as a plain object: the hot paths (ingestion, sweep) work on these and
    write them back in bulk, without the cost of an ORM entity per clock."""

    tenant_id: int
    claim_id: int
    policy_code: str
    cycle: int
    unit: str
    yellow_budget: float
    red_budget: float
    extended: float
    consumed: float
    state: str
    light: str
    outcome: str | None
    started_at: dt.datetime
    anchor_at: dt.datetime
    running_since: dt.datetime | None
    paused_since: dt.datetime | None = None
    suspended_since: dt.datetime | None = None
    stopped_at: dt.datetime | None = None
    yellow_due_at: dt.datetime | None = None
    red_due_at: dt.datetime | None = None
    breached_at: dt.datetime | None = None
    missed_by: float | None = None
    calendar_gap: int | None = None
    next_check_at: dt.datetime | None = None
    escalated: int = 0
    updated_at: dt.datetime | None = None
    id: int | None = None


# The engine runs on ORM rows (staff actions, views) and on plain states (bulk paths) alike.
Clock = ClockColumns | ClockState
CLOCK_FIELDS = tuple(ClockState.__dataclass_fields__)


def _value(axis: Axis, when: dt.datetime) -> float:
    return axis.value_at(when)


def new_clock(axis: Axis, policy: Policy, tenant_id: int, claim_id: int, cycle: int, at: dt.datetime) -> ClockState:
    anchor = dt.datetime.fromtimestamp(axis.anchor1(at.timestamp()), dt.UTC)
    clock = ClockState(
        tenant_id=tenant_id,
        claim_id=claim_id,
        policy_code=policy.code,
        cycle=cycle,
        unit=policy.unit.value,
        yellow_budget=policy.yellow_seconds,
        red_budget=policy.red_seconds,
        extended=0.0,
        consumed=0.0,
        state=RUNNING,
        light=GREEN,
        outcome=None,
        started_at=at,
        anchor_at=anchor,
        running_since=anchor,
        escalated=0,
        updated_at=at,
    )
    refresh(axis, clock)
    return clock


def consumed_at(axis: Axis, clock: Clock, at: dt.datetime) -> float:
    """Countable time used up to ``at`` (seconds on the policy's axis)."""
    if clock.running_since is None or at <= clock.running_since:
        return clock.consumed
    return clock.consumed + max(0.0, _value(axis, at) - _value(axis, clock.running_since))


def refresh(axis: Axis, clock: Clock) -> None:
    """Derive the due dates and the next moment the sweep must look, from the stored budgets."""
    clock.calendar_gap = None
    if clock.state == RUNNING and clock.running_since is not None:
        start = _value(axis, clock.running_since) - clock.consumed + clock.extended
        try:
            clock.yellow_due_at = axis.due(start, clock.yellow_budget)
            clock.red_due_at = axis.due(start, clock.red_budget)
        except CalendarYearMissing as missing:
            # Refuse to guess: no due date until the year's calendar is loaded.
            clock.calendar_gap = missing.year
            try:
                clock.yellow_due_at = axis.due(start, clock.yellow_budget)
            except CalendarYearMissing:
                clock.yellow_due_at = None
            clock.red_due_at = None
    elif clock.state != STOPPED:
        clock.yellow_due_at = None
        clock.red_due_at = None
    clock.next_check_at = next_check(axis, clock)


def next_check(axis: Axis, clock: Clock) -> dt.datetime | None:
    owed = LEVELS[clock.light]
    if owed > clock.escalated:
        # A level was reached but not yet escalated: the sweep fires it at once.
        return clock.breached_at if owed == 1 else (clock.red_due_at or clock.breached_at or clock.updated_at)
    if clock.state != RUNNING:
        return None
    if clock.light == GREEN and clock.yellow_due_at is not None:
        return clock.yellow_due_at
    if clock.light in (GREEN, YELLOW) and clock.red_due_at is not None:
        return clock.red_due_at
    if clock.calendar_gap is not None:
        # Look again when the year without data begins; loading it recomputes earlier.
        return dt.datetime.combine(dt.date(clock.calendar_gap, 1, 1), dt.time(), axis.tz).astimezone(dt.UTC)
    return None


def provisional_dues(axis: Axis, clock: Clock) -> tuple[bool, bool]:
    """Whether the target (yellow) and the red deadline were computed on a provisional year (暂定: the
    year's official holiday arrangement is not loaded; ``calendar.statutory``). Derived, never stored:
    loading the official year recomputes the dates and the mark goes with the provisional year."""
    return axis.is_provisional(clock.yellow_due_at), axis.is_provisional(clock.red_due_at)


def red_held(axis: Axis | None, clock: Clock) -> bool:
    """Red files with the regulator, which needs an exact date: a red deadline that is only provisional
    does not turn the light red (the clock stays yellow) until the official year is loaded."""
    return axis is not None and axis.is_provisional(clock.red_due_at)


def light_at(clock: Clock, at: dt.datetime, axis: Axis | None = None) -> str:
    """The light a running clock shows at ``at`` (a stopped or paused clock keeps the one it has).
    With ``axis``, a provisional red deadline holds the light at yellow (:func:`red_held`)."""
    if clock.state != RUNNING:
        return clock.light
    if clock.red_due_at is not None and at >= clock.red_due_at and not red_held(axis, clock):
        return RED
    if clock.yellow_due_at is not None and at >= clock.yellow_due_at:
        return YELLOW
    return clock.light


def advance_light(axis: Axis, clock: Clock, at: dt.datetime) -> bool:
    """Move the light forward to what it is at ``at``; returns True if it changed. Red is not reached on a
    provisional red deadline (:func:`red_held`): the regulator filing waits for the official calendar."""
    new = light_at(clock, at, axis)
    if LEVELS[new] <= LEVELS[clock.light]:
        return False
    if clock.breached_at is None:
        clock.breached_at = clock.yellow_due_at or at
    clock.light = new
    clock.next_check_at = next_check(axis, clock)
    return True


def pause(axis: Axis, clock: Clock, at: dt.datetime, suspension: bool = False) -> bool:
    """Stop counting (waiting on the claimant, or time excluded by law). Returns False if nothing changed."""
    if clock.state == STOPPED:
        return False
    if suspension:
        if clock.suspended_since is not None:
            return False
        clock.suspended_since = at
    else:
        if clock.paused_since is not None:
            return False
        clock.paused_since = at
    if clock.state == RUNNING:
        advance_light(axis, clock, at)
        clock.consumed = consumed_at(axis, clock, at)
        clock.running_since = None
    clock.state = SUSPENDED if clock.suspended_since is not None else PAUSED
    clock.updated_at = at
    refresh(axis, clock)
    return True


def resume(axis: Axis, clock: Clock, at: dt.datetime, suspension: bool = False) -> bool:
    """End a pause (the claimant answered) or a suspension; counting restarts when neither remains."""
    if clock.state == STOPPED:
        return False
    if suspension:
        if clock.suspended_since is None:
            return False
        clock.suspended_since = None
    else:
        if clock.paused_since is None:
            return False
        clock.paused_since = None
    if clock.paused_since is None and clock.suspended_since is None:
        clock.state = RUNNING
        clock.running_since = max(at, clock.anchor_at)
    else:
        clock.state = SUSPENDED if clock.suspended_since is not None else PAUSED
    clock.updated_at = at
    refresh(axis, clock)
    return True


def stop(axis: Axis, clock: Clock, at: dt.datetime) -> bool:
    """The clock's work is done. Met or breached is final; a breach records by how much."""
    if clock.state == STOPPED:
        return False
    if clock.state == RUNNING:
        advance_light(axis, clock, at)
        clock.consumed = consumed_at(axis, clock, at)
    clock.running_since = None
    clock.paused_since = None
    clock.suspended_since = None
    clock.state = STOPPED
    clock.stopped_at = at
    clock.updated_at = at
    if clock.breached_at is not None:
        clock.outcome = "breached"
        if clock.yellow_due_at is not None and at > clock.yellow_due_at:
            # Measured from the legal deadline itself (after rolling to a working day).
            clock.missed_by = _value(axis, at) - _value(axis, clock.yellow_due_at)
        else:
            # Stopped while paused: the deadline had passed before the pause began.
            clock.missed_by = max(0.0, clock.consumed - clock.yellow_budget - clock.extended)
    else:
        clock.outcome = "met"
    clock.next_check_at = next_check(axis, clock)
    return True


VOID = "void"


def void(axis: Axis, clock: Clock, at: dt.datetime) -> bool:
    """The policy no longer applies to the claim (triage moved it off the route the policy is for, e.g. an
    investigation ended its fast track): the clock ends without a result, outcome ``void``, so it counts
    neither as met nor as late. A breach that already happened stays a breach."""
    if not stop(axis, clock, at):
        return False
    if clock.outcome == "met":
        clock.outcome = VOID
    return True


class ExtensionRefused(Conflict):
    """The policy's bounds refuse the extension (409, field ``amount``)."""

    def __init__(self, message: str) -> None:
        super().__init__("amount", message)


def extend(axis: Axis, clock: Clock, policy: Policy, amount_units: float, at: dt.datetime) -> None:
    """A reasoned, approved, bounded extension (e.g. complaint 15 → 30 → 60 days)."""
    if policy.extension_max is None:
        raise ExtensionRefused(f"policy {policy.code} allows no extension")
    if amount_units <= 0:
        raise ExtensionRefused("an extension must be a positive amount")
    if clock.state == STOPPED:
        raise ExtensionRefused("the clock has stopped")
    advance_light(axis, clock, at)
    if clock.breached_at is not None:
        raise ExtensionRefused("the deadline has already passed; a breach cannot be extended away")
    seconds = amount_units * policy.unit.seconds_per_unit
    limit = policy.extension_max * policy.unit.seconds_per_unit
    if clock.extended + seconds > limit + 1e-6:
        used = clock.extended / policy.unit.seconds_per_unit
        raise ExtensionRefused(
            f"extension of {amount_units:g} {policy.unit.value} exceeds the limit of {policy.extension_max:g} "
            f"({used:g} already granted)"
        )
    clock.extended += seconds
    clock.updated_at = at
    refresh(axis, clock)


def missed_by_units(axis: Axis, clock: Clock, now: dt.datetime, seconds_per_unit: int) -> float | None:
    """How far past the target, in the policy's unit (live for an open clock)."""
    if clock.breached_at is None:
        return None
    if clock.state == STOPPED:
        return (clock.missed_by or 0.0) / seconds_per_unit
    used = consumed_at(axis, clock, now)
    return max(0.0, used - clock.yellow_budget - clock.extended) / seconds_per_unit
