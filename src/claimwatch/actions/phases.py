"""An improvement action's phases: plan → do → check → act → closed (or cancelled), the measured Check, standardising
(Act) and starting a new cycle. A phase the caller may not move → 403; a move out of order → 409 naming the phase.
The rules, no HTTP, never commits; each call takes the tenant's audit chain first (:func:`.access.lock`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.actions import access, clocks, repository, service
from claimwatch.actions.inputs import RAISED, check_kpi, checked_window
from claimwatch.actions.models import ImprovementAction
from claimwatch.actions.standards import checked_refs
from claimwatch.actions.vocabulary import (
    ACT,
    CANCELLED,
    CHECK,
    CLOSED,
    DO,
    MOVES,
    NEXT_PHASE,
    PHASES,
    PLAN,
)
from claimwatch.auth.principal import AccessDenied, Permission, Principal
from claimwatch.errors import Conflict, Forbidden, Invalid
from claimwatch.params import clean_text, event_time
from claimwatch.sla import service as sla_service
from claimwatch.tenancy import service as tenancy_service

# -- phases -----------------------------------------------------------------------------------------------


def _stop_all(session: Session, action: ImprovementAction, when: dt.datetime) -> str | None:
    """Stop every running clock of the action; the outcome of the action's own due date (met | breached)."""
    axes = sla_service.Axes(session, action.tenant_id)
    outcome = None
    for clock in repository.running_clocks(session, action.tenant_id, action.id):
        clocks.stop(axes, clock, when)
        if clock.step_id is None:
            outcome = clock.outcome
    return outcome


def _wrong_order(action: ImprovementAction, to_phase: str) -> Conflict:
    following = NEXT_PHASE.get(action.phase)
    possible = f"it can move to {following} (or be cancelled)" if following else "it can no longer move"
    return Conflict("phase", f"action {action.number} is in phase {action.phase}, not before {to_phase}: {possible}")


def move_phase(
    session: Session,
    principal: Principal,
    action_id: int,
    to_phase: str,
    *,
    note: str | None = None,
    at: dt.datetime | None = None,
) -> ImprovementAction:
    """One PDCA move: plan → do (needs a step), do → check (every step done; needs a KPI; sets done_at, the
    intervention date), check → act (after the Check ran), act → closed, or any open phase → cancelled (a
    reason in ``note``). The owner may end Do; every other move is a manager's."""
    if to_phase not in PHASES:
        raise Invalid("to_phase", f"unknown phase {to_phase!r} (known: {', '.join(PHASES)})")
    if not (principal.can(Permission.MANAGE_ACTIONS) or principal.can(Permission.WORK_ACTIONS)):
        raise AccessDenied(f"role {principal.role.value!r} may not move improvement actions")
    action = access.lock(session, principal, action_id)
    move = MOVES.get((action.phase, to_phase))
    owner_move = (action.phase, to_phase) == (DO, CHECK) and access.is_owner(principal, action)
    if not (access.may_manage(session, principal, action) or owner_move):
        raise Forbidden("phase", f"you may not move action {action.number} to {to_phase}")
    if move is None:
        raise _wrong_order(action, to_phase)
    when = event_time(at, action.created_at, floor_event=RAISED)
    text = clean_text(note, "note", to_phase == CANCELLED)
    before = action.phase
    data: dict[str, Any] = {}
    steps = repository.steps(session, action.tenant_id, [action.id])
    if (before, to_phase) == (PLAN, DO) and not steps:
        raise Conflict("steps", f"action {action.number} has no step: plan at least one before Do")
    if (before, to_phase) == (DO, CHECK):
        open_steps = [s.position for s in steps if s.done_at is None]
        if open_steps:
            raise Conflict("steps", f"steps {open_steps} of {action.number} are not done yet")
        if not action.kpi_code:
            raise Invalid("kpi_code", f"a Check needs the KPI action {action.number} aims to move: set kpi_code")
        action.done_at = when
        data["done_at"] = when
    if (before, to_phase) == (CHECK, ACT) and action.checked_at is None:
        raise Conflict("check", f"run the effectiveness check of {action.number} before Act")
    if to_phase in (CLOSED, CANCELLED):
        data["due_clock"] = _stop_all(session, action, when)
        action.outcome = "closed" if to_phase == CLOSED else "cancelled"
        action.outcome_note = text
        if to_phase == CLOSED:
            action.completed_at = when
    action.phase = to_phase
    service.record(
        session, action, move, principal.actor, when, from_phase=before, to_phase=to_phase, note=text, **data
    )
    return action


def run_check(
    session: Session,
    principal: Principal,
    action_id: int,
    *,
    before: Any = None,
    after: Any = None,
    at: dt.datetime | None = None,
    snapshot_root: Any = None,
) -> ImprovementAction:
    """The measured Check: the action's KPI in its scope before and after ``done_at`` on the current KPI
    snapshot (:func:`claimwatch.actions.effectiveness.evaluate`); windows default to
    ``effectiveness.default_windows(done day, today)``. Stores the verdict and the figures; may be run again
    while in Check (each run is audited)."""
    from claimwatch.actions import effectiveness
    from claimwatch.kpi import service as kpi_service
    from claimwatch.kpi.engine import Scope

    principal.require(Permission.MANAGE_ACTIONS)
    action = access.lock(session, principal, action_id)
    access.require_manager(session, principal, action, "check")
    if action.phase != CHECK:
        raise Conflict("phase", f"action {action.number} is in phase {action.phase}: the Check runs in check")
    kpi = check_kpi(action.kpi_code)
    if kpi is None:
        raise Invalid("kpi_code", f"a Check needs the KPI action {action.number} aims to move: set kpi_code")
    when = event_time(at, action.created_at, floor_event=RAISED)
    zone = tenancy_service.tenant_zone(session, action.tenant_id)
    done = action.done_at or when
    first, second = checked_window(before, "before"), checked_window(after, "after")
    if first is None or second is None:
        default_before, default_after = effectiveness.default_windows(
            done.astimezone(zone).date(), when.astimezone(zone).date()
        )
        first, second = first or default_before, second or default_after
    scope = Scope(
        tenant_ids=(action.tenant_id,),
        org_unit_id=action.scope_org_unit_id,
        region=action.scope_region,
        line=action.scope_line,
    )
    with kpi_service.opened(snapshot_root) as snap:
        result = effectiveness.evaluate(snap.con, kpi, scope, first, second, taken_at=snap.taken_at)
    action.check_verdict = result.verdict
    action.check_result = result.to_json()
    action.checked_at = when
    service.record(
        session,
        action,
        "check_run",
        principal.actor,
        when,
        kpi_code=kpi.code,
        verdict=result.verdict,
        test=result.test,
        p_value=result.p_value,
        before={"start": first.start, "end": first.end, "n": result.before.n, "value": result.before.value},
        after={"start": second.start, "end": second.end, "n": result.after.n, "value": result.after.value},
        snapshot_taken_at=result.snapshot_taken_at,
    )
    return action


# -- act --------------------------------------------------------------------------------------------------


def standardise(
    session: Session,
    principal: Principal,
    action_id: int,
    refs: list[dict[str, Any]],
    *,
    note: str | None = None,
    at: dt.datetime | None = None,
) -> ImprovementAction:
    """Act: link the changed workflow/checklist/policy/scorecard/document versions (their digests pinned in
    the audit entry where the code is one of ours) and close the action (``completed_at``)."""
    principal.require(Permission.MANAGE_ACTIONS)
    action = access.lock(session, principal, action_id)
    access.require_manager(session, principal, action, "standardise")
    if action.phase != ACT:
        raise Conflict("phase", f"action {action.number} is in phase {action.phase}: standardise in act")
    linked = checked_refs(refs)
    when = event_time(at, action.created_at, floor_event=RAISED)
    text = clean_text(note, "note", False)
    action.standard_refs = [*(action.standard_refs or []), *linked]
    action.outcome, action.outcome_note = "standardised", text
    action.completed_at = when
    due_clock = _stop_all(session, action, when)
    action.phase = CLOSED
    service.record(
        session,
        action,
        "standardised",
        principal.actor,
        when,
        from_phase=ACT,
        to_phase=CLOSED,
        refs=linked,
        note=text,
        due_clock=due_clock,
    )
    return action


def new_cycle(
    session: Session,
    principal: Principal,
    action_id: int,
    *,
    due_on: dt.date | None,
    owner_user_id: int | None = None,
    at: dt.datetime | None = None,
) -> ImprovementAction:
    """Act (or a Check that showed no effect): close this action with outcome "new_cycle" and raise the next
    one (cycle + 1, ``previous_action_id``) from the same source, with the same KPI, scope and analysis."""
    principal.require(Permission.MANAGE_ACTIONS)
    action = access.lock(session, principal, action_id)
    access.require_manager(session, principal, action, "start a new cycle of")
    if action.phase not in (CHECK, ACT):
        raise Conflict(
            "phase", f"action {action.number} is in phase {action.phase}: a new cycle starts from check or act"
        )
    when = event_time(at, action.created_at, floor_event=RAISED)
    following = service.raise_action(
        session,
        principal,
        source_kind=action.source_kind,
        source_id=action.source_id,
        source_ref=action.source_ref,
        title=action.title,
        problem=action.problem,
        owner_user_id=owner_user_id or action.owner_user_id,
        due_on=due_on,
        kpi_code=action.kpi_code,
        scope_org_unit_id=action.scope_org_unit_id,
        scope_region=action.scope_region,
        scope_line=action.scope_line,
        rca_method=action.rca_method,
        rca=action.rca,
        root_cause=action.root_cause,
        at=when,
        cycle=action.cycle + 1,
        previous_action_id=action.id,
    )
    following.source_label, following.source_url = action.source_label, action.source_url
    before = action.phase
    due_clock = _stop_all(session, action, when)
    action.phase, action.outcome, action.completed_at = CLOSED, "new_cycle", when
    action.outcome_note = f"→ {following.number}"
    service.record(
        session,
        action,
        "new_cycle",
        principal.actor,
        when,
        from_phase=before,
        to_phase=CLOSED,
        next_action=following.number,
        due_clock=due_clock,
    )
    return following
