"""What provider tasks put in a handler's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`): the tasks of
the claims assigned to me that are past their deadline with no report (chase the provider), then those whose
report is in and waits for me to read it (accept or dispute), the longest waiting first. The count and the
items come from one filter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.models import Claim
from claimwatch.providers import loader, task_service
from claimwatch.providers.models import Provider, ProviderTask
from claimwatch.providers.page_queries import kind_label, task_url
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate

OVERDUE = N_("overdue, no report")
REPORT_IN = N_("report received: read it, accept or dispute")


def _where(user_id: int, now: dt.datetime) -> ColumnElement[bool]:
    late = and_(ProviderTask.status.in_(task_service.OPEN), ProviderTask.due_at < now)
    return and_(Claim.assignee_id == user_id, or_(late, ProviderTask.status == "reported"))


def my_tasks(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    if principal.tenant_id is None or principal.user_id is None:
        return Page(0)
    where = _where(principal.user_id, now)
    joined = select(func.count()).select_from(ProviderTask).join(Claim, Claim.id == ProviderTask.claim_id)
    count = session.execute(joined.where(where)).scalar_one()
    if limit <= 0 or count == 0:
        return Page(count)
    reported_last = case((ProviderTask.status == "reported", 1), else_=0)
    rows = session.execute(
        select(ProviderTask, Claim.number, Provider.name)
        .join(Claim, Claim.id == ProviderTask.claim_id)
        .join(Provider, Provider.id == ProviderTask.provider_id)
        .where(where)
        .order_by(reported_last, ProviderTask.due_at, ProviderTask.reported_at, ProviderTask.id)
        .limit(limit)
        .offset(offset)
    ).all()
    kinds = loader.task_kinds(session, principal.tenant_id)
    items = []
    for task, claim_number, provider_name in rows:
        label = kind_label(kinds.get(task.kind), task.kind, locale)
        reported = task.status == "reported"
        items.append(
            Item(
                title=f"{claim_number} · {label} · {provider_name}",
                url=task_url(task.number),
                detail=f"{task.number} · {translate(locale, REPORT_IN if reported else OVERDUE)}",
                due_at=None if reported else task.due_at,
                light=None if reported else "red",
                key=f"provider-task-{task.number}",
            )
        )
    return Page(count, items)


registry.register(
    Source(
        key="provider-tasks",
        label=N_("Third-party tasks of my claims"),
        permission=Permission.INBOX_PROVIDER_TASKS,
        fetch=my_tasks,
        order=22,  # after my claims and the escalations: the same handler chases them
        empty=N_("No third-party task of your claims is late or waiting for you."),
        links=((N_("Third-party tasks"), "/provider-tasks"),),
    )
)
