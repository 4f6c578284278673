"""Improvement-action (改进措施, PDCA) rules and writes: raising an action from its source, editing it and its
steps, and its audit entries. No HTTP here, never commits. Who may do what is :mod:`~claimwatch.actions.access`;
moving an action through its phases (the measured Check, standardising, a new cycle) is
:mod:`~claimwatch.actions.phases`. Bad input → 422 naming the field.

Lock order (as everywhere): each call takes the tenant's audit-chain head first, then reads the action again
and writes its audit entry (kind ``action.<event>``, subject = the action's number) in the same transaction.
Staff notices leave through the outbox after commit.

Around it: :mod:`~claimwatch.actions.inputs` checks what callers give, :mod:`~claimwatch.actions.sources`
resolves the source, :mod:`~claimwatch.actions.steps` plans the steps, :mod:`~claimwatch.actions.standards`
checks the standards Act links.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.actions import access, clocks, repository
from claimwatch.actions.inputs import RAISED, check_kpi, checked_steps, due_day, org_unit, staff
from claimwatch.actions.models import ActionClock, ActionStep, ImprovementAction
from claimwatch.actions.schemas import StepInput, check_rca
from claimwatch.actions.sources import resolve_source
from claimwatch.actions.vocabulary import (
    DO,
    OPEN_PHASES,
    OVERDUE_PHASES,
    PLAN,
    SOURCE_KINDS,
)
from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import AccessDenied, Permission, Principal
from claimwatch.db import tenant_context, utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.params import clean_text, event_time
from claimwatch.sla import service as sla_service
from claimwatch.tenancy import service as tenancy_service
from claimwatch.workflow import service as workflow_service

NUMBER_PREFIX = "GJ"  # 改进
# Staff notice kinds (notify.staff_notices.KIND_LABELS gives them labels and e-mail defaults).
NOTICE_ASSIGNED = "action_assigned"
NOTICE_REMINDER = "action_reminder"
NOTICE_OVERDUE = "action_overdue"
NOTICE_ESCALATED = "action_escalated"


def action_url(action_id: int) -> str:
    return f"/actions/{action_id}"


# -- the audit entry --------------------------------------------------------------------------------------


def record(session: Session, action: ImprovementAction, event: str, actor: str, at: dt.datetime, **data: Any) -> int:
    """The action's audit entry (the caller holds the tenant's chain)."""
    payload = {key: value for key, value in data.items() if value is not None}  # dates: canonical_json
    action.updated_at = utc_now()
    session.flush()
    return audit_service.record(
        session,
        action.tenant_id,
        f"action.{event}",
        action.number,
        actor,
        {"action": action.number, "event": event, "at": at.isoformat(), "phase": action.phase} | payload,
    )


# -- raising ----------------------------------------------------------------------------------------------


def _who(session: Session, principal_or_actor: Principal | str) -> tuple[int, str, Principal | None]:
    if isinstance(principal_or_actor, Principal):
        principal = principal_or_actor
        principal.require(Permission.MANAGE_ACTIONS)
        if principal.tenant_id is None:
            raise AccessDenied("this account belongs to no tenant")
        return principal.tenant_id, principal.actor, principal
    tenant_id = tenant_context(session).tenant_id
    if tenant_id is None or not isinstance(principal_or_actor, str) or not principal_or_actor:
        raise AccessDenied("raising an action needs a tenant and an actor")
    return tenant_id, principal_or_actor, None


def raise_action(
    session: Session,
    principal_or_actor: Principal | str,
    *,
    source_kind: str,
    source_id: int | None = None,
    source_ref: str | None = None,
    title: str,
    problem: str,
    owner_user_id: int | None,
    due_on: dt.date | None,
    kpi_code: str | None = None,
    scope_org_unit_id: int | None = None,
    scope_region: str | None = None,
    scope_line: str | None = None,
    steps: Sequence[StepInput | dict[str, Any]] = (),
    rca_method: str | None = None,
    rca: Any = None,
    root_cause: str | None = None,
    at: dt.datetime | None = None,
    cycle: int = 1,
    previous_action_id: int | None = None,
) -> ImprovementAction:
    """Raise an action (phase plan) from a source; its due-date clock and its steps' start at ``at``
    (default now). Several actions may come from one source (see :func:`actions_for_source`). The owner and
    each step's owner are told. Missing or bad input → Invalid naming the field; nothing is written."""
    tenant_id, actor, principal = _who(session, principal_or_actor)
    if source_kind not in SOURCE_KINDS:
        raise Invalid("source_kind", f"unknown source_kind {source_kind!r} (known: {', '.join(SOURCE_KINDS)})")
    heading = clean_text(title, "title", True, 300)
    statement = clean_text(problem, "problem", True)
    owner = staff(session, tenant_id, owner_user_id, "owner_user_id")
    when = event_time(at)
    zone = tenancy_service.tenant_zone(session, tenant_id)
    today = when.astimezone(zone).date()
    due = due_day(due_on, today)
    facts = resolve_source(session, tenant_id, source_kind, source_id, source_ref)
    kpi = check_kpi(kpi_code if kpi_code else facts.kpi_code)
    explicit_scope = scope_org_unit_id is not None or scope_region is not None or scope_line is not None
    if not explicit_scope:
        scope_org_unit_id, scope_region, scope_line = facts.org_unit_id, facts.region, facts.line
    org_unit(session, tenant_id, scope_org_unit_id)
    if scope_region is not None and scope_region not in tenancy_service.region_names():
        raise Invalid("scope_region", f"unknown region code {scope_region!r}")
    if scope_line is not None and scope_line not in workflow_service.lines():
        raise Invalid("scope_line", f"unknown line of business {scope_line!r}")
    if principal is not None:
        mine = sla_service.org_scope(session, principal)
        if mine is not None and scope_org_unit_id not in mine:
            raise Forbidden("scope_org_unit_id", "you may raise actions only for your own org units")
    method = rca_method or None
    analysis = check_rca(method, rca)
    cause = clean_text(root_cause, "root_cause", False)
    step_rows = checked_steps(session, tenant_id, steps, owner.id, due, today)

    audit_service.open_chain(session, tenant_id).close()
    prefix = f"{NUMBER_PREFIX}-{when.astimezone(zone).year}-"
    number = f"{prefix}{repository.numbers_in_year(session, tenant_id, prefix) + 1:04d}"
    action = ImprovementAction(
        tenant_id=tenant_id,
        number=number,
        title=heading,
        problem=statement,
        source_kind=source_kind,
        source_id=source_id if source_kind in ("finding", "alert", "committee") else None,
        source_ref=facts.ref,
        source_label=facts.label,
        source_url=facts.url,
        kpi_code=kpi.code if kpi else None,
        scope_org_unit_id=scope_org_unit_id,
        scope_region=scope_region,
        scope_line=scope_line,
        owner_user_id=owner.id,
        due_at=clocks.end_of_day(due, zone),
        phase=PLAN,
        rca_method=method if analysis is not None or method else None,
        rca=analysis,
        root_cause=cause,
        cycle=cycle,
        previous_action_id=previous_action_id,
        standard_refs=[],
        created_at=when,
        created_by=actor,
        updated_at=utc_now(),
    )
    session.add(action)
    session.flush()
    axes = sla_service.Axes(session, tenant_id)
    clock = clocks.start(session, axes, action, None, due, when)
    action.due_at = clocks.due_at(clock, due, zone)
    made = [new_step(session, axes, action, position, row, when, zone) for position, row in enumerate(step_rows, 1)]
    record(
        session,
        action,
        "raised",
        actor,
        when,
        title=heading,
        source_kind=source_kind,
        source_id=action.source_id,
        source_ref=action.source_ref,
        source=facts.label,
        kpi_code=action.kpi_code,
        scope={"org_unit_id": scope_org_unit_id, "region": scope_region, "line": scope_line},
        owner_user_id=owner.id,
        due_at=action.due_at,
        rca_method=action.rca_method,
        cycle=cycle,
        previous_action_id=previous_action_id,
        steps=[{"text": s.text, "owner_user_id": s.owner_user_id, "due_at": s.due_at} for s in made],
    )
    _tell_owner(session, action, owner.id, f"action:{action.id}:assigned", zone)
    for step in made:
        if step.owner_user_id != owner.id:
            tell_step_owner(session, action, step, zone)
    return action


def new_step(
    session: Session,
    axes: sla_service.Axes,
    action: ImprovementAction,
    position: int,
    row: tuple[str, int, dt.date],
    when: dt.datetime,
    zone: dt.tzinfo,
) -> ActionStep:
    text, owner_id, due = row
    step = ActionStep(
        tenant_id=action.tenant_id,
        action_id=action.id,
        position=position,
        text=text,
        owner_user_id=owner_id,
        due_at=clocks.end_of_day(due, zone),
    )
    session.add(step)
    session.flush()
    clock = clocks.start(session, axes, action, step, due, when)
    step.due_at = clocks.due_at(clock, due, zone)
    return step


def _local_day(value: dt.datetime, zone: dt.tzinfo) -> str:
    return (value.astimezone(zone) - dt.timedelta(seconds=1)).strftime("%Y-%m-%d")


def _tell_owner(session: Session, action: ImprovementAction, owner_id: int, key: str, zone: dt.tzinfo) -> None:
    notify_staff_notices.notify_user(
        session,
        action.tenant_id,
        owner_id,
        NOTICE_ASSIGNED,
        f"改进措施 {action.number}：{action.title}"[:200],
        f"您是改进措施「{action.title}」的负责人（来源：{action.source_label}），"
        f"完成期限 {_local_day(action.due_at, zone)}。",
        key,
        utc_now(),
        link=action_url(action.id),
    )


def tell_step_owner(session: Session, action: ImprovementAction, step: ActionStep, zone: dt.tzinfo) -> None:
    notify_staff_notices.notify_user(
        session,
        action.tenant_id,
        step.owner_user_id,
        NOTICE_ASSIGNED,
        f"改进措施 {action.number} 步骤：{step.text}"[:200],
        f"改进措施「{action.title}」的步骤「{step.text}」由您负责，完成期限 {_local_day(step.due_at, zone)}。",
        f"action:{action.id}:step:{step.id}:assigned:{step.owner_user_id}",
        utc_now(),
        link=action_url(action.id),
    )


# -- editing ----------------------------------------------------------------------------------------------


def update_action(
    session: Session,
    principal: Principal,
    action_id: int,
    *,
    title: str | None = None,
    problem: str | None = None,
    owner_user_id: int | None = None,
    due_on: dt.date | None = None,
    kpi_code: str | None = None,
    rca_method: str | None = None,
    rca: Any = None,
    root_cause: str | None = None,
    at: dt.datetime | None = None,
) -> ImprovementAction:
    """Change what is given (None: unchanged) while the action is open. The owner may edit the texts and the
    analysis; a manager also the owner, the due date (a new clock cycle) and the KPI (not once checked)."""
    action = access.lock(session, principal, action_id)
    access.require_manager_or_owner(session, principal, action, "edit")
    if action.phase not in OPEN_PHASES:
        raise Conflict("phase", f"action {action.number} is {action.phase}: it can no longer be edited")
    when = event_time(at, action.created_at, floor_event=RAISED)
    zone = tenancy_service.tenant_zone(session, action.tenant_id)
    changed: dict[str, Any] = {}
    if owner_user_id is not None or due_on is not None or kpi_code is not None:
        access.require_manager(session, principal, action, "reassign, re-date or re-target")
    if title is not None:
        action.title = clean_text(title, "title", True, 300) or action.title
        changed["title"] = action.title
    if problem is not None:
        action.problem = clean_text(problem, "problem", True) or action.problem
        changed["problem"] = action.problem
    if rca_method is not None or rca is not None:
        method = rca_method or action.rca_method
        action.rca = check_rca(method, rca)
        action.rca_method = method
        changed["rca_method"] = method
    if root_cause is not None:
        action.root_cause = clean_text(root_cause, "root_cause", False)
        changed["root_cause"] = action.root_cause
    if kpi_code is not None:
        if action.checked_at is not None:
            raise Conflict("kpi_code", f"action {action.number} was checked against {action.kpi_code}")
        kpi = check_kpi(kpi_code)
        action.kpi_code = kpi.code if kpi else None
        changed["kpi_code"] = action.kpi_code
    if owner_user_id is not None and owner_user_id != action.owner_user_id:
        owner = staff(session, action.tenant_id, owner_user_id, "owner_user_id")
        action.owner_user_id = owner.id
        changed["owner_user_id"] = owner.id
    if due_on is not None:
        due = due_day(due_on, when.astimezone(zone).date())
        axes = sla_service.Axes(session, action.tenant_id)
        running = [c for c in repository.running_clocks(session, action.tenant_id, action.id) if c.step_id is None]
        cycle = max((c.cycle for c in running), default=0) + 1
        for clock in running:
            clocks.stop(axes, clock, when)
        clock = clocks.start(session, axes, action, None, due, when, cycle=max(cycle, 2))
        action.due_at = clocks.due_at(clock, due, zone)
        changed["due_at"] = action.due_at
    if not changed:
        return action
    record(session, action, "updated", principal.actor, when, **changed)
    if "owner_user_id" in changed:
        _tell_owner(session, action, action.owner_user_id, f"action:{action.id}:assigned:{action.owner_user_id}", zone)
    return action


def step_of(session: Session, principal: Principal, step_id: int) -> tuple[ImprovementAction, ActionStep]:
    principal.require(Permission.VIEW_ACTIONS)
    if principal.tenant_id is None:
        raise NotFound("step", f"no step {step_id}")
    step = repository.get_step(session, principal.tenant_id, step_id)
    if step is None:
        raise NotFound("step", f"no step {step_id}")
    action = access.lock(session, principal, step.action_id)
    session.refresh(step)
    return action, step


def finish_step(
    session: Session, principal: Principal, step_id: int, *, note: str | None = None, at: dt.datetime | None = None
) -> ActionStep:
    """Mark a step done (in Do): its owner, the action's owner or a manager of its scope. Its clock stops."""
    action, step = step_of(session, principal, step_id)
    if not (principal.can(Permission.WORK_ACTIONS) or principal.can(Permission.MANAGE_ACTIONS)):
        raise AccessDenied(f"role {principal.role.value!r} may not finish action steps")
    mine = principal.user_id is not None and principal.user_id == step.owner_user_id
    if not (mine or access.is_owner(principal, action) or access.may_manage(session, principal, action)):
        raise Forbidden("owner", f"only the step's owner, the owner of {action.number} or a manager may finish it")
    if action.phase != DO:
        raise Conflict("phase", f"action {action.number} is {action.phase}: steps are finished in do")
    if step.done_at is not None:
        raise Conflict("step", f"step {step.position} of {action.number} is already done")
    when = event_time(at, action.created_at, floor_event=RAISED)
    step.done_at = when
    step.done_by = principal.actor
    step.note = clean_text(note, "note", False)
    axes = sla_service.Axes(session, action.tenant_id)
    outcome = None
    for clock in repository.running_clocks(session, action.tenant_id, action.id):
        if clock.step_id == step.id and clocks.stop(axes, clock, when):
            outcome = clock.outcome
    record(
        session,
        action,
        "step_done",
        principal.actor,
        when,
        step_id=step.id,
        position=step.position,
        note=step.note,
        clock=outcome,
    )
    return step


# -- for other domains ------------------------------------------------------------------------------------


def open_overdue(session: Session, tenant_id: int, at: dt.datetime) -> list[ImprovementAction]:
    """Actions in plan, do or check whose due date passed before ``at`` (the committee's agenda)."""
    return repository.open_overdue(session, tenant_id, at, OVERDUE_PHASES)


def clocks_of(session: Session, action: ImprovementAction) -> list[ActionClock]:
    return repository.clocks(session, action.tenant_id, [action.id])
