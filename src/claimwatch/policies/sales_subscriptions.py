"""What the sales domain reacts to: a new complaint of a sales category from a customer who bought a policy is
linked to that sale (mis-selling) and the sale flagged. Loaded by :mod:`claimwatch.subscriptions`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.complaints.models import Complaint
from claimwatch.policies import sales


@reactions.subscribe(reactions.COMPLAINTS_RECEIVED)
def link_sales_complaints(session: Session, tenant_id: int | None, complaints: list[Complaint]) -> int:
    return sales.on_complaints_received(session, tenant_id, complaints)
