"""Improvement-action (改进措施, PDCA) rules and writes: raising an action from its source, editing it and its
steps, moving it through plan → do → check → act → closed (or cancelled), the measured Check, standardising
and starting a new cycle. No HTTP here, never commits.

Who: MANAGE_ACTIONS (quality manager, supervisor, admin) raises, edits, moves phases, runs the Check,
standardises and starts new cycles, within what they see; WORK_ACTIONS lets an action's owner edit the analysis
and the steps, finish steps and end Do (do → check), and a step's owner finish that step. Visibility
(VIEW_ACTIONS): a user attached to an org unit sees the actions scoped to that unit's subtree and those they
own or own a step of; a user with no unit (quality manager, admin) the whole tenant. A phase the caller may
not move → 403; a move out of order → 409 naming the phase; bad input → 422 naming the field.

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

from claimwatch.actions import clocks, repository
from claimwatch.actions.inputs import RAISED, check_kpi, checked_steps, checked_window, due_day, org_unit, staff
from claimwatch.actions.models import ActionClock, ActionStep, ImprovementAction
from claimwatch.actions.schemas import StepInput, check_rca
from claimwatch.actions.sources import resolve_source
from claimwatch.actions.standards import checked_refs
from claimwatch.actions.vocabulary import (
    ACT,
    CANCELLED,
    CHECK,
    CLOSED,
    DO,
    MOVES,
    NEXT_PHASE,
    OPEN_PHASES,
    OVERDUE_PHASES,
    PHASES,
    PLAN,
    SOURCE_KINDS,
    STEP_EDITABLE,
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


class ActionNotFound(NotFound):
    def __init__(self, action_id: int | str) -> None:
        super().__init__("id", f"no improvement action {action_id}")


def action_url(action_id: int) -> str:
    return f"/actions/{action_id}"


# -- who sees and who works -------------------------------------------------------------------------------


def view_scope(session: Session, principal: Principal) -> set[int] | None:
    """The org units whose actions the principal sees; None: all of the tenant."""
    principal.require(Permission.VIEW_ACTIONS)
    return sla_service.org_scope(session, principal)


def _step_owner_ids(session: Session, action: ImprovementAction) -> set[int]:
    return {s.owner_user_id for s in repository.steps(session, action.tenant_id, [action.id])}


def visible(session: Session, principal: Principal, action: ImprovementAction) -> bool:
    if principal.tenant_id != action.tenant_id:
        return False
    scope = view_scope(session, principal)
    if scope is None or action.scope_org_unit_id in scope:
        return True
    me = principal.user_id
    return me is not None and (action.owner_user_id == me or me in _step_owner_ids(session, action))


def may_manage(session: Session, principal: Principal, action: ImprovementAction) -> bool:
    """MANAGE_ACTIONS over the action's scope (a supervisor: their subtree)."""
    if not principal.can(Permission.MANAGE_ACTIONS):
        return False
    scope = sla_service.org_scope(session, principal)
    return scope is None or action.scope_org_unit_id in scope


def is_owner(principal: Principal, action: ImprovementAction) -> bool:
    return (
        principal.can(Permission.WORK_ACTIONS)
        and principal.user_id is not None
        and action.owner_user_id == principal.user_id
    )


def may_finish(session: Session, principal: Principal, action: ImprovementAction, step: ActionStep) -> bool:
    if step.done_at is not None or action.phase != DO:
        return False
    mine = principal.can(Permission.WORK_ACTIONS) and principal.user_id == step.owner_user_id
    return mine or is_owner(principal, action) or may_manage(session, principal, action)


def allowed(session: Session, principal: Principal, action: ImprovementAction) -> list[str]:
    """What this principal may do now (the page's buttons, the API's ``allowed``): ``move:<phase>``,
    ``edit``, ``steps``, ``run_check``, ``standardise``, ``new_cycle``."""
    manage, own = may_manage(session, principal, action), is_owner(principal, action)
    found: list[str] = []
    for (source, target), _ in MOVES.items():
        if source != action.phase:
            continue
        if manage or (own and (source, target) == (DO, CHECK)):
            found.append(f"move:{target}")
    if action.phase in OPEN_PHASES and (manage or own):
        found.append("edit")
    if action.phase in STEP_EDITABLE and (manage or own):
        found.append("steps")
    if manage and action.phase == CHECK:
        found.append("run_check")
    if manage and action.phase == ACT:
        found.append("standardise")
    if manage and action.phase in (CHECK, ACT):
        found.append("new_cycle")
    return found


def get_visible(session: Session, principal: Principal, action_id: int) -> ImprovementAction:
    principal.require(Permission.VIEW_ACTIONS)
    if principal.tenant_id is None:
        raise ActionNotFound(action_id)
    action = repository.get(session, principal.tenant_id, action_id)
    if action is None or not visible(session, principal, action):
        raise ActionNotFound(action_id)
    return action


def lock(session: Session, principal: Principal, action_id: int) -> ImprovementAction:
    action = get_visible(session, principal, action_id)
    audit_service.open_chain(session, action.tenant_id).close()
    session.refresh(action)
    return action


def require_manager(session: Session, principal: Principal, action: ImprovementAction, what: str) -> None:
    principal.require(Permission.MANAGE_ACTIONS)
    if not may_manage(session, principal, action):
        raise Forbidden("phase", f"only a manager of its scope may {what} action {action.number}")


def require_manager_or_owner(session: Session, principal: Principal, action: ImprovementAction, what: str) -> None:
    if not (principal.can(Permission.MANAGE_ACTIONS) or principal.can(Permission.WORK_ACTIONS)):
        raise AccessDenied(f"role {principal.role.value!r} may not {what} improvement actions")
    if not (may_manage(session, principal, action) or is_owner(principal, action)):
        raise Forbidden("owner", f"only the owner of action {action.number} or a manager of its scope may {what} it")


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
    action = lock(session, principal, action_id)
    require_manager_or_owner(session, principal, action, "edit")
    if action.phase not in OPEN_PHASES:
        raise Conflict("phase", f"action {action.number} is {action.phase}: it can no longer be edited")
    when = event_time(at, action.created_at, floor_event=RAISED)
    zone = tenancy_service.tenant_zone(session, action.tenant_id)
    changed: dict[str, Any] = {}
    if owner_user_id is not None or due_on is not None or kpi_code is not None:
        require_manager(session, principal, action, "reassign, re-date or re-target")
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
    action = lock(session, principal, step.action_id)
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
    if not (mine or is_owner(principal, action) or may_manage(session, principal, action)):
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
    action = lock(session, principal, action_id)
    move = MOVES.get((action.phase, to_phase))
    owner_move = (action.phase, to_phase) == (DO, CHECK) and is_owner(principal, action)
    if not (may_manage(session, principal, action) or owner_move):
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
    record(session, action, move, principal.actor, when, from_phase=before, to_phase=to_phase, note=text, **data)
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
    action = lock(session, principal, action_id)
    require_manager(session, principal, action, "check")
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
    record(
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
    action = lock(session, principal, action_id)
    require_manager(session, principal, action, "standardise")
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
    record(
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
    action = lock(session, principal, action_id)
    require_manager(session, principal, action, "start a new cycle of")
    if action.phase not in (CHECK, ACT):
        raise Conflict(
            "phase", f"action {action.number} is in phase {action.phase}: a new cycle starts from check or act"
        )
    when = event_time(at, action.created_at, floor_event=RAISED)
    following = raise_action(
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
    record(
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


# -- for other domains ------------------------------------------------------------------------------------


def open_overdue(session: Session, tenant_id: int, at: dt.datetime) -> list[ImprovementAction]:
    """Actions in plan, do or check whose due date passed before ``at`` (the committee's agenda)."""
    return repository.open_overdue(session, tenant_id, at, OVERDUE_PHASES)


def clocks_of(session: Session, action: ImprovementAction) -> list[ActionClock]:
    return repository.clocks(session, action.tenant_id, [action.id])
