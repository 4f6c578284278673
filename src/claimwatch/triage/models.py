"""Triage: the rule-set versions each insurer loaded (content, digest, mode), every decision the rules took
(also in monitor mode: the would-be route), and the contact index the history facts are counted from.

The claim's own outcome is on the claim (``claims.route``, ``priority``, ``triage_decision_id``, …) so lower
domains read it without importing triage.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from claimwatch.cases.models import BigId
from claimwatch.db import Base, TenantScoped, UTCDateTime


class TriageRuleSet(TenantScoped, Base):
    """One version of an insurer's triage rules, append-only. The one in force is the latest whose
    ``active_from`` has come. Switching monitor ↔ active is a new row with the same content and digest, so every
    decision names the exact rules and mode it was taken under; each row is in the audit chain
    (``config.triage_rules``)."""

    __tablename__ = "triage_rule_sets"
    __table_args__ = (Index("ix_triage_rule_sets_tenant_active", "tenant_id", "active_from", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64))  # the file's own ``version:``
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the YAML text
    mode: Mapped[str] = mapped_column(String(16))  # monitor | active
    content: Mapped[str] = mapped_column(Text)  # the YAML as loaded
    source: Mapped[str] = mapped_column(String(300))  # file name or "api"
    rule_count: Mapped[int] = mapped_column(Integer)
    active_from: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    audit_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class TriageDecision(TenantScoped, Base):
    """What the rules decided for one claim at one moment. ``route`` is what the claim got (``normal`` in
    monitor mode), ``would_be_route`` what the rules said. ``fired`` lists every rule that matched
    ([{code, route, priority}], in file order); ``facts`` is the snapshot they were tested on. ``trigger``:
    reported | amounts | status | review | replay; ``event_ref`` the case event that caused a re-evaluation."""

    __tablename__ = "triage_decisions"
    __table_args__ = (
        Index("ix_triage_decisions_tenant_claim", "tenant_id", "claim_id", "id"),
        Index("ix_triage_decisions_tenant_decided", "tenant_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("triage_rule_sets.id"))
    mode: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(16))
    would_be_route: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(SmallInteger)
    fired: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    trigger: Mapped[str] = mapped_column(String(16))
    event_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class TriageContact(TenantScoped, Base):
    """One identifier of a reported claim, for the history facts: ``kind`` phone | id | bank | provider,
    ``value`` its keyed hash (the provider: its code), ``identity`` the claimant's (the ID hash, else the name
    hash), so "the same phone across different claimants" is a count over one index range. Never a clear
    phone, ID or account number."""

    __tablename__ = "triage_contacts"
    __table_args__ = (
        Index("ix_triage_contacts_lookup", "tenant_id", "kind", "value", "reported_at"),
        Index("ix_triage_contacts_region", "tenant_id", "kind", "region_code", "reported_at"),
        Index("ix_triage_contacts_claim", "claim_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(64))
    identity: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
