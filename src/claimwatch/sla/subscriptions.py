"""What the clocks react to: applied case events and a changed working calendar."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.calendar.service import CalendarChange
from claimwatch.cases.events import CaseChange
from claimwatch.sla import service


@reactions.subscribe(reactions.CASE_EVENTS)
def drive_clocks(session: Session, tenant_id: int | None, changes: list[CaseChange]) -> None:
    assert tenant_id is not None
    service.on_case_events(session, tenant_id, changes)


@reactions.subscribe(reactions.CALENDAR_CHANGED)
def recompute_deadlines(session: Session, tenant_id: int | None, change: CalendarChange) -> int:
    if tenant_id is None:
        return service.recompute_open_clocks(session, change.reason, change.actor, change.provisional_from)
    return service.recompute_tenant_clocks(session, tenant_id, change.reason, change.actor)
