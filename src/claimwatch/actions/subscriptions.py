"""What improvement-action due dates react to: a changed working calendar recomputes them, as it does the
claim, complaint and rectification clocks."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.actions import clocks
from claimwatch.calendar.service import CalendarChange


@reactions.subscribe(reactions.CALENDAR_CHANGED)
def recompute_action_deadlines(session: Session, tenant_id: int | None, change: CalendarChange) -> int:
    return clocks.recompute_open_clocks(
        session, None if tenant_id is None else [tenant_id], change.reason, change.actor, change.provisional_from
    )
