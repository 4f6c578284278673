"""What revisits put in a service agent's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the open
revisits they may work — their own and the unassigned call tasks, and any message revisit gone overdue (the
customer did not answer: call them) — overdue first, then by due day. The count and the items come from one
filter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.people.models import StaffMember
from claimwatch.policies import revisits
from claimwatch.policies.models import PolicyRevisit, PolicySale
from claimwatch.tenancy.service import tenant_zone
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate

DUE_ON = N_("revisit due %(day)s")


def _where(user_id: int) -> ColumnElement[bool]:
    workable = or_(PolicyRevisit.channel == revisits.CALL, PolicyRevisit.status == revisits.OVERDUE)
    mine = or_(PolicyRevisit.assignee_id == user_id, PolicyRevisit.assignee_id.is_(None))
    return and_(PolicyRevisit.status.in_(revisits.OPEN), workable, mine)


def my_revisits(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    if principal.tenant_id is None or principal.user_id is None:
        return Page(0)
    where = _where(principal.user_id)
    count = session.execute(select(func.count()).select_from(PolicyRevisit).where(where)).scalar_one()
    if limit <= 0 or count == 0:
        return Page(count)
    rows = session.execute(
        select(PolicyRevisit, PolicySale.policy_number, PolicySale.product_name, StaffMember.name)
        .join(PolicySale, PolicySale.id == PolicyRevisit.sale_id)
        .outerjoin(StaffMember, StaffMember.id == PolicySale.agent_id)
        .where(where)
        .order_by(PolicyRevisit.due_on, PolicyRevisit.id)
        .limit(limit)
        .offset(offset)
    ).all()
    zone = tenant_zone(session, principal.tenant_id)
    today = now.astimezone(zone).date()
    items = []
    for revisit, policy_number, product, agent in rows:
        late = revisit.status == revisits.OVERDUE or revisit.due_on < today
        status = translate(locale, revisits.STATUSES.get(revisit.status, revisit.status))
        due = translate(locale, DUE_ON) % {"day": revisit.due_on.isoformat()}
        items.append(
            Item(
                title=f"{policy_number} · {product}" + (f" · {agent}" if agent else ""),
                url=f"/revisits/{revisit.id}",
                detail=f"{status} · {due}",
                light="red" if late else ("yellow" if (revisit.due_on - today).days <= 2 else "green"),
                key=f"revisit-{revisit.id}",
            )
        )
    return Page(count, items)


registry.register(
    Source(
        key="revisits",
        label=N_("Post-issue revisits to make"),
        permission=Permission.INBOX_REVISITS,
        fetch=my_revisits,
        order=40,
        empty=N_("No revisit is waiting for you."),
        links=((N_("Revisits"), "/revisits"),),
    )
)
