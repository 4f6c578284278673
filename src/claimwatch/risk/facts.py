"""The facts a triage rule or a risk red flag can test about one claim.

``ClaimFacts`` is built once per claim at report time (``build_facts`` — triage owns the builder, it reads
the claim, its report event's data and a few history lookups) and handed to both the risk scorer and the
triage rules. Every field is a plain value; ``None`` means "not known" and never satisfies a comparison.

``FACT_KINDS`` names the kind of every field: the condition parser checks a rule's value against it, so a
rule comparing ``amount_cny`` with a word, or naming a fact that does not exist, fails to load with
file:line. A helper that adds a field adds it to both ``ClaimFacts`` and ``FACT_KINDS`` (a test checks they
agree).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

Kind = Literal["bool", "number", "text", "date", "datetime"]


@dataclass(slots=True)
class ClaimFacts:
    # the claim
    line: str = ""
    amount_cny: float | None = None  # the reported (or latest assessed) amount in yuan
    claim_type: str | None = None  # from the report event: vehicle_damage, injury, death, medical, property…
    liability_clear: bool | None = None
    injury: bool = False
    death: bool = False
    serious_injury: bool = False
    investigation: bool = False  # an investigation (调查) is open or was started on the claim
    coverage: str | None = None  # e.g. "compulsory" (交强险) when the event says so
    # the policy
    policy_start: date | None = None
    days_since_policy_start: int | None = None  # accident date − policy start
    reinstated_days: int | None = None  # accident date − reinstatement (复效) date, when reinstated
    # the claimant (age from the ID number's birth date at ingestion; the ID itself is never kept in clear)
    claimant_age: int | None = None
    disability: bool = False
    electronic_only: bool = False  # every material arrived electronically
    # the accident and the report
    report_delay_days: int | None = None  # report date − accident date
    accident_at: datetime | None = None  # local time
    night: bool = False  # 22:00–06:00 local
    weekend: bool = False
    # history lookups
    repeat_claimant_count: int = 0  # earlier claims by the same phone or ID hash in 12 months
    shared_contact_count: int = 0  # other claimants sharing this phone, bank account or ID hash
    provider: str | None = None  # repair shop or hospital code from the event
    provider_share: float | None = None  # share of the region's claims (90 days) at this provider, 0–1
    provider_claim_count: int | None = None  # claims at this provider in 90 days
    # (authority limit − amount) ÷ limit: the handler's own authority (权限) when the claim has a handler with one
    # (negative above it), else the nearest tier at or above the amount in the red-flag file
    authority_headroom_pct: float | None = None
    catastrophe: bool = False
    # risk (filled by risk.service.score_claims before the triage rules run)
    risk_score: float | None = None
    risk_level: str | None = None
    # where
    org_unit: str | None = None
    region: str | None = None
    channel: str | None = None

    def get(self, name: str) -> Any:
        return getattr(self, name)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot (dates as ISO strings), for the decision record."""
        out: dict[str, Any] = {}
        for name in _FIELD_NAMES:  # not dataclasses.fields(): once per reported claim, its cost showed
            v = getattr(self, name)
            out[name] = v.isoformat() if isinstance(v, date) else v  # a datetime is a date
        return out

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> ClaimFacts:
        """The inverse of :meth:`as_dict` (a decision's stored facts); unknown keys are ignored, missing ones
        keep their default, a date that does not parse is unknown."""
        facts = cls()
        for name, kind in FACT_KINDS.items():
            if name not in stored:
                continue
            value = stored[name]
            if isinstance(value, str) and kind in ("date", "datetime"):
                try:
                    value = date.fromisoformat(value) if kind == "date" else datetime.fromisoformat(value)
                except ValueError:
                    value = None
            setattr(facts, name, value)
        return facts


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(ClaimFacts))

FACT_KINDS: dict[str, Kind] = {
    "line": "text",
    "amount_cny": "number",
    "claim_type": "text",
    "liability_clear": "bool",
    "injury": "bool",
    "death": "bool",
    "serious_injury": "bool",
    "investigation": "bool",
    "coverage": "text",
    "policy_start": "date",
    "days_since_policy_start": "number",
    "reinstated_days": "number",
    "claimant_age": "number",
    "disability": "bool",
    "electronic_only": "bool",
    "report_delay_days": "number",
    "accident_at": "datetime",
    "night": "bool",
    "weekend": "bool",
    "repeat_claimant_count": "number",
    "shared_contact_count": "number",
    "provider": "text",
    "provider_share": "number",
    "provider_claim_count": "number",
    "authority_headroom_pct": "number",
    "catastrophe": "bool",
    "risk_score": "number",
    "risk_level": "text",
    "org_unit": "text",
    "region": "text",
    "channel": "text",
}

FACT_NAMES = frozenset(FACT_KINDS)
