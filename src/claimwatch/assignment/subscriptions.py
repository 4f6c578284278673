"""What assignment reacts to: newly reported claims (case events) and newly received complaints."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.assignment import repository, service
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


@reactions.subscribe(reactions.HANDLER_AUTHORITY)
def handler_authority(session: Session, tenant_id: int | None, user_ids: list[int]) -> dict[int, int]:
    """Triage's risk facts ask for the handlers' amount authority (the ``authority_headroom_pct`` fact)."""
    return repository.authority_of(session, user_ids)
