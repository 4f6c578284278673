"""What the cases domain publishes when events are applied: the payload of ``reactions.CASE_EVENTS``.

The clocks (sla), the claimant messages (notify) and later triage and assignment subscribe to it;
cases imports none of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
    # On a ``reported`` change only: the report's details as stored on the event (``data``: details and the
    # claimant's age) and keyed hashes of the claimant's identifiers (phone, id, bank, name) for triage's
    # repeat-claimant and shared-contact lookups; the clear values never leave the ingesting call.
    report_data: Mapping[str, Any] | None = None
    contact_hashes: Mapping[str, str] | None = None
    # 交强险 (compulsory motor) or 商业险 (commercial), as reported (claims.coverage); None: not said.
    coverage: str | None = None
    # The event's reason (a rejection's grounds go into the refusal notice, 保险法 art. 24).
    reason: str | None = None
    # On a ``reported`` change only: the claims row exactly as this ingesting call inserted it (column name ->
    # value, with its ``id``), so a subscriber that needs the whole new claim (triage) does not read it back.
    claim_row: Mapping[str, Any] | None = None
