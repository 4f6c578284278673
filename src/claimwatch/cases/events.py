"""What the cases domain publishes when events are applied: the payload of ``reactions.CASE_EVENTS``.

The clocks (sla), the claimant messages (notify) and later triage and assignment subscribe to it;
cases imports none of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class CaseChange:
    """One applied case event with the claim facts its subscribers need, in batch order."""

    claim_id: int
    line: str
    # The amount that tiers the claim's clocks: the reported amount, or the assessed one on reopening.
    amount_fen: int | None
    event_type: str
    from_status: str | None
    to_status: str | None
    event_ref: str  # the sender's event id
    at: dt.datetime
    actor: str
