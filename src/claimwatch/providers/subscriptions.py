"""What provider tasks react to: a claim entering a state may send a task by rule (``providers.rules``); a
changed working calendar moves the running task deadlines, as it does the claim and rectification clocks.
Wired in :mod:`claimwatch.subscriptions` after assignment (a rule's task names the claim's handler)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.calendar.service import CalendarChange
from claimwatch.cases.events import CaseChange
from claimwatch.providers import clocks, rules


@reactions.subscribe(reactions.CASE_EVENTS)
def send_tasks_by_rule(session: Session, tenant_id: int | None, changes: list[CaseChange]) -> int:
    assert tenant_id is not None
    return rules.on_case_events(session, tenant_id, changes)


@reactions.subscribe(reactions.CALENDAR_CHANGED)
def recompute_task_deadlines(session: Session, tenant_id: int | None, change: CalendarChange) -> int:
    return clocks.recompute_open_clocks(session, None if tenant_id is None else [tenant_id], change.provisional_from)
