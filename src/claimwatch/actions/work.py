"""What improvement actions put in the to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the actions and
the steps I own that are still to be done, nearest due date first; and, for managers, the overdue actions of
my scope (red first). Each count and its items come from one filter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, func, literal, select
from sqlalchemy.orm import Session

from claimwatch.actions import clocks
from claimwatch.actions.models import ActionStep, ImprovementAction
from claimwatch.actions.queries import visibility
from claimwatch.actions.service import action_url
from claimwatch.actions.vocabulary import OPEN_PHASES, PHASE_LABELS, STEP_EDITABLE, label
from claimwatch.auth.principal import Permission, Principal
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate

STEP = N_("Step %(position)s")


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _light(due_at: dt.datetime, now: dt.datetime) -> str:
    if due_at + dt.timedelta(days=clocks.ESCALATE_AFTER_DAYS) <= now:
        return "red"
    return "yellow" if due_at <= now else "green"


def mine(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    """Actions I own (open) and steps I own (not done, their action in plan or do), by due date."""
    if principal.user_id is None:
        return Page(0)
    me = principal.user_id
    actions = select(
        ImprovementAction.id,
        ImprovementAction.number,
        ImprovementAction.title,
        ImprovementAction.phase,
        ImprovementAction.due_at,
        literal(None, Integer).label("position"),
    ).where(ImprovementAction.owner_user_id == me, ImprovementAction.phase.in_(OPEN_PHASES))
    steps = (
        select(
            ImprovementAction.id,
            ImprovementAction.number,
            ActionStep.text,
            ImprovementAction.phase,
            ActionStep.due_at,
            ActionStep.position,
        )
        .join(ImprovementAction, ImprovementAction.id == ActionStep.action_id)
        .where(
            ActionStep.owner_user_id == me,
            ActionStep.done_at.is_(None),
            ImprovementAction.phase.in_(STEP_EDITABLE),
        )
    )
    rows = [*session.execute(actions).all(), *session.execute(steps).all()]
    if limit <= 0 or not rows:
        return Page(len(rows))
    rows.sort(key=lambda r: (_utc(r[4]), r[0], r[5] or 0))
    items = []
    for action_id, number, title, phase, due_at, position in rows[offset : offset + limit]:
        due = _utc(due_at)
        what = label(PHASE_LABELS, phase, locale)
        if position is not None:
            what = f"{translate(locale, STEP) % {'position': position}} · {what}"
        items.append(
            Item(
                title=f"{number} · {title}",
                url=action_url(action_id),
                detail=what,
                due_at=due,
                light=_light(due, now),
                key=f"{number}#{position}" if position is not None else number,
            )
        )
    return Page(len(rows), items)


def overdue(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    """Open actions of my scope whose due date passed, the longest overdue first."""
    where = [*visibility(session, principal), ImprovementAction.phase.in_(OPEN_PHASES), ImprovementAction.due_at < now]
    count = int(session.execute(select(func.count()).select_from(ImprovementAction).where(*where)).scalar_one())
    if limit <= 0 or count == 0:
        return Page(count)
    statement = (
        select(ImprovementAction)
        .where(*where)
        .order_by(ImprovementAction.due_at, ImprovementAction.id)
        .limit(limit)
        .offset(offset)
    )
    items = [
        Item(
            title=f"{action.number} · {action.title}",
            url=action_url(action.id),
            detail=f"{label(PHASE_LABELS, action.phase, locale)} · {action.source_label}",
            due_at=_utc(action.due_at),
            light=_light(_utc(action.due_at), now),
            key=action.number,
        )
        for action in session.execute(statement).scalars()
    ]
    return Page(count, items)


registry.register(
    Source(
        key="actions",
        label=N_("My improvement actions"),
        permission=Permission.INBOX_ACTIONS,
        fetch=mine,
        order=42,
        empty=N_("No improvement action or step of yours is open."),
        links=((N_("Improvement actions"), "/actions"),),
    )
)
registry.register(
    Source(
        key="actions-overdue",
        label=N_("Overdue improvement actions"),
        permission=Permission.MANAGE_ACTIONS,
        fetch=overdue,
        order=43,
        empty=N_("No improvement action of your scope is overdue."),
        links=((N_("Improvement actions"), "/actions?overdue=1"),),
    )
)
