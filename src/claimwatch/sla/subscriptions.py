"""What the clocks react to: applied case events, a changed working calendar, claimant messages sent."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.calendar.service import CalendarChange
from claimwatch.cases.events import CaseChange
from claimwatch.notify.events import SentMessage
from claimwatch.notify.service import REFUSAL_TEMPLATE
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


@reactions.subscribe(reactions.CLAIMANT_MESSAGES_SENT)
def refusal_notices_sent(session: Session, tenant_id: int | None, sent: list[SentMessage]) -> int:
    """保险法 art. 24: the refusal-notice clock stops when the notice is sent (its first channel)."""
    changed = 0
    for message in sent:
        if message.template == REFUSAL_TEMPLATE:
            changed += service.signal(
                session, message.tenant_id, message.claim_id, "refusal_notice_sent", message.sent_at, "system:notify"
            )
    return changed
