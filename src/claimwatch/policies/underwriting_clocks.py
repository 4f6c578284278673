"""An underwriting case's turnaround on the SLA engine, as :mod:`claimwatch.providers.clocks` runs provider-task
clocks: an :class:`UnderwritingClock` row has the engine's columns, so the same working-day arithmetic on the
tenant's calendar runs here. The policy is built from the rules in force: the target for the case's line and risk
level (working days); yellow at :data:`YELLOW_SHARE` of it (the reviewer is reminded), red at the target (late).

The clock starts at receipt and stops at the decision (met or breached against the red deadline); a withdrawn
application voids it (neither met nor late)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from claimwatch.calendar.workdays import Unit
from claimwatch.policies import underwriting_repository as repository
from claimwatch.policies.models import UnderwritingCase, UnderwritingClock
from claimwatch.sla import subject_clocks
from claimwatch.sla.loader import Policy

POLICY_CODE = "underwriting_turnaround"
YELLOW_SHARE = 0.7
UNIT = Unit.WORKING_DAYS


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
    return subject_clocks.start(
        session, UnderwritingClock, turnaround_policy(days), case.tenant_id, {"case_id": case.id}, at
    )


def finish(session: Session, case: UnderwritingCase, at: dt.datetime) -> UnderwritingClock | None:
    """Stop the clock at the decision: met, or breached by how much past the deadline."""
    clock = clock_of(session, case)
    return subject_clocks.finish(session, case.tenant_id, clock, at) if clock is not None else None


def void(session: Session, case: UnderwritingCase, at: dt.datetime) -> UnderwritingClock | None:
    clock = clock_of(session, case)
    return subject_clocks.void(session, case.tenant_id, clock, at) if clock is not None else None


light = subject_clocks.light
clock_view = subject_clocks.clock_view
