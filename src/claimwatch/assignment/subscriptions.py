"""What assignment reacts to: newly reported claims (case events) and newly received complaints."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.assignment import service
from claimwatch.cases.events import CaseChange
from claimwatch.complaints.models import Complaint


@reactions.subscribe(reactions.CASE_EVENTS)
def decide_new_claims(session: Session, tenant_id: int | None, changes: list[CaseChange]) -> int:
    assert tenant_id is not None
    return service.on_case_events(session, tenant_id, changes)


@reactions.subscribe(reactions.COMPLAINTS_RECEIVED)
def decide_new_complaints(session: Session, tenant_id: int | None, complaints: list[Complaint]) -> int:
    assert tenant_id is not None
    return service.on_complaints_received(session, tenant_id, complaints)
