"""Who sees an improvement action and who works on it (DESIGN §8: the rules, no HTTP, never commits).

Visibility (VIEW_ACTIONS): a user attached to an org unit sees the actions scoped to that unit's subtree and those
they own or own a step of; a user with no unit (quality manager, admin) the whole tenant. MANAGE_ACTIONS (quality
manager, supervisor, admin) manages within what they see; WORK_ACTIONS lets an action's owner work on it, and a
step's owner finish that step.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch.actions import repository
from claimwatch.actions.models import ActionStep, ImprovementAction
from claimwatch.actions.vocabulary import (
    ACT,
    CHECK,
    DO,
    MOVES,
    OPEN_PHASES,
    STEP_EDITABLE,
)
from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import AccessDenied, Permission, Principal
from claimwatch.errors import Forbidden, NotFound
from claimwatch.sla import service as sla_service


class ActionNotFound(NotFound):
    def __init__(self, action_id: int | str) -> None:
        super().__init__("id", f"no improvement action {action_id}")


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
