"""What triage reacts to: new claims (the report-time pipeline) and the events that may change a triaged claim's
route (an amount change, entering an investigation). It must run before the clocks and assignment, which read
the claim's route and priority (claimwatch/subscriptions.py imports it first)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.cases.events import CaseChange
from claimwatch.risk.review import ReviewDecided
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


@reactions.subscribe(reactions.RISK_REVIEWS_DECIDED)
def investigate_after_review(session: Session, tenant_id: int | None, decided: list[ReviewDecided]) -> int:
    """A reviewer's "needs investigation" is an investigation: triage evaluates the claim again with
    ``investigation`` true (a fast-tracked claim leaves the fast track; its clocks follow)."""
    assert tenant_id is not None
    done = 0
    for item in decided:
        if item.decision == "needs_investigation":
            trigger = service.Trigger("review", f"risk_review:{item.review_id}", "review: needs investigation")
            done += service.reevaluate(session, tenant_id, [item.claim_id], trigger, investigation=True)
    return done
