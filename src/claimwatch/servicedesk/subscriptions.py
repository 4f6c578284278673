"""What service requests react to: a changed working calendar or new business hours move the running request
deadlines, as they do the claim, complaint and provider-task clocks. Wired in :mod:`claimwatch.subscriptions`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.calendar.service import CalendarChange
from claimwatch.servicedesk import clocks


@reactions.subscribe(reactions.CALENDAR_CHANGED)
def recompute_request_deadlines(session: Session, tenant_id: int | None, change: CalendarChange) -> int:
    return clocks.recompute_open_clocks(session, None if tenant_id is None else [tenant_id], change.provisional_from)
