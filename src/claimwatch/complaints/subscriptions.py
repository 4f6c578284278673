"""What complaint deadlines react to: a changed working calendar (a year's official arrangement loaded,
a tenant's business hours changed) recomputes them, as it does the claim clocks."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.calendar.service import CalendarChange
from claimwatch.complaints import clocks


@reactions.subscribe(reactions.CALENDAR_CHANGED)
def recompute_complaint_deadlines(session: Session, tenant_id: int | None, change: CalendarChange) -> int:
    return clocks.recompute_open_clocks(
        session, None if tenant_id is None else [tenant_id], change.reason, change.actor
    )
