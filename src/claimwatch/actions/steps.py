"""Planning an improvement action's steps: adding one and changing one not yet done (while in plan or do).
Rights, locking and the audit entry are the service's (:mod:`claimwatch.actions.service`); never commits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.actions import clocks, repository
from claimwatch.actions.access import lock, require_manager_or_owner
from claimwatch.actions.inputs import MAX_STEPS, RAISED, checked_steps, due_day, staff
from claimwatch.actions.models import ActionStep
from claimwatch.actions.schemas import StepInput
from claimwatch.actions.service import new_step, record, step_of, tell_step_owner
from claimwatch.actions.vocabulary import STEP_EDITABLE
from claimwatch.auth.principal import Principal
from claimwatch.errors import Conflict, Invalid
from claimwatch.params import clean_text, event_time
from claimwatch.sla import service as sla_service
from claimwatch.tenancy import service as tenancy_service


def add_step(
    session: Session,
    principal: Principal,
    action_id: int,
    step: StepInput | dict[str, Any],
    *,
    at: dt.datetime | None = None,
) -> ActionStep:
    """A new step at the end of the plan (while in plan or do)."""
    action = lock(session, principal, action_id)
    require_manager_or_owner(session, principal, action, "plan the steps of")
    if action.phase not in STEP_EDITABLE:
        raise Conflict("phase", f"action {action.number} is {action.phase}: steps are added in plan or do only")
    when = event_time(at, action.created_at, floor_event=RAISED)
    zone = tenancy_service.tenant_zone(session, action.tenant_id)
    today = when.astimezone(zone).date()
    due_day = (action.due_at.astimezone(zone) - dt.timedelta(seconds=1)).date()
    (row,) = checked_steps(session, action.tenant_id, [step], action.owner_user_id, max(due_day, today), today, "step")
    existing = repository.steps(session, action.tenant_id, [action.id])
    if len(existing) >= MAX_STEPS:
        raise Invalid("step", f"at most {MAX_STEPS} steps")
    position = max((s.position for s in existing), default=0) + 1
    made = new_step(session, sla_service.Axes(session, action.tenant_id), action, position, row, when, zone)
    record(
        session,
        action,
        "step_added",
        principal.actor,
        when,
        step_id=made.id,
        text=made.text,
        owner_user_id=made.owner_user_id,
        due_at=made.due_at,
    )
    if made.owner_user_id != action.owner_user_id:
        tell_step_owner(session, action, made, zone)
    return made


def update_step(
    session: Session,
    principal: Principal,
    step_id: int,
    *,
    text: str | None = None,
    owner_user_id: int | None = None,
    due_on: dt.date | None = None,
    at: dt.datetime | None = None,
) -> ActionStep:
    """Change a step not yet done (while in plan or do); a new due date starts a new clock cycle."""
    action, step = step_of(session, principal, step_id)
    require_manager_or_owner(session, principal, action, "plan the steps of")
    if action.phase not in STEP_EDITABLE:
        raise Conflict("phase", f"action {action.number} is {action.phase}: steps are edited in plan or do only")
    if step.done_at is not None:
        raise Conflict("step", f"step {step.position} of {action.number} is done")
    when = event_time(at, action.created_at, floor_event=RAISED)
    zone = tenancy_service.tenant_zone(session, action.tenant_id)
    changed: dict[str, Any] = {}
    if text is not None:
        step.text = clean_text(text, "text", True) or step.text
        changed["text"] = step.text
    if owner_user_id is not None and owner_user_id != step.owner_user_id:
        step.owner_user_id = staff(session, action.tenant_id, owner_user_id, "owner_user_id").id
        changed["owner_user_id"] = step.owner_user_id
    if due_on is not None:
        due = due_day(due_on, when.astimezone(zone).date())
        axes = sla_service.Axes(session, action.tenant_id)
        running = [c for c in repository.running_clocks(session, action.tenant_id, action.id) if c.step_id == step.id]
        cycle = max((c.cycle for c in running), default=1) + 1
        for clock in running:
            clocks.stop(axes, clock, when)
        step.due_at = clocks.due_at(clocks.start(session, axes, action, step, due, when, cycle=cycle), due, zone)
        changed["due_at"] = step.due_at
    if not changed:
        return step
    record(session, action, "step_updated", principal.actor, when, step_id=step.id, **changed)
    if "owner_user_id" in changed:
        tell_step_owner(session, action, step, zone)
    return step
