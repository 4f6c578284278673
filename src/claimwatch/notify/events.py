"""What the outbox publishes when claimant messages go out: the payload of ``reactions.CLAIMANT_MESSAGES_SENT``.

The clocks (sla) subscribe: the 保险法 art. 24 refusal-notice clock stops when its notice is sent. notify
imports none of its subscribers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class SentMessage:
    """One claimant message that a channel accepted (sent or delivered), about a claim."""

    tenant_id: int
    claim_id: int
    template: str
    sent_at: dt.datetime
