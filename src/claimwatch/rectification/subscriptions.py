"""What rectification deadlines react to: a changed working calendar recomputes them, as it does the claim
and complaint clocks."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.calendar.service import CalendarChange
from claimwatch.rectification import clocks


@reactions.subscribe(reactions.CALENDAR_CHANGED)
def recompute_rectification_deadlines(session: Session, tenant_id: int | None, change: CalendarChange) -> int:
    return clocks.recompute_open_clocks(
        session, None if tenant_id is None else [tenant_id], change.reason, change.actor, change.provisional_from
    )
