"""What triage reacts to: new claims (the report-time pipeline) and the events that may change a triaged claim's
route (an amount change, entering an investigation). It must run before the clocks and assignment, which read
the claim's route and priority (claimwatch/subscriptions.py imports it first)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.cases.events import CaseChange
from claimwatch.triage import catastrophes, service


@reactions.subscribe(reactions.CASE_EVENTS)
def triage_claims(session: Session, tenant_id: int | None, changes: list[CaseChange]) -> int:
    assert tenant_id is not None
    return service.on_case_events(session, tenant_id, changes)


@reactions.subscribe(reactions.CASE_EVENTS)
def prompt_advance_payment(session: Session, tenant_id: int | None, changes: list[CaseChange]) -> int:
    """A claim of a catastrophe event that gets a handler: the handler is prompted to consider an advance
    payment (先予支付, 保险法 art. 25)."""
    assert tenant_id is not None
    return catastrophes.on_case_events(session, tenant_id, changes)
