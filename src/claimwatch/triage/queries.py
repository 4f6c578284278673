"""Triage read models the API shows: rule-set versions and a claim's decisions (the pages have their own,
``page_queries``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from claimwatch.db import utc_now
from claimwatch.triage import repository
from claimwatch.triage.models import TriageDecision, TriageRuleSet


def version(row: TriageRuleSet, current_id: int | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "version": row.version,
        "mode": row.mode,
        "sha256": row.digest,
        "rules": row.rule_count,
        "source": row.source,
        "active_from": row.active_from,
        "loaded_by": row.loaded_by,
        "loaded_at": row.loaded_at,
        "audit_seq": row.audit_seq,
        "in_force": row.id == current_id,
    }


def versions(session: Session) -> list[dict[str, Any]]:
    current = repository.rule_set_in_force(session, utc_now())
    return [version(row, current.id if current else None) for row in repository.rule_sets(session)]


def decision(row: TriageDecision, versions_by_id: dict[int, TriageRuleSet]) -> dict[str, Any]:
    rule_set = versions_by_id.get(row.rule_set_id)
    return {
        "id": row.id,
        "decided_at": row.decided_at,
        "trigger": row.trigger,
        "event_id": row.event_ref,
        "reason": row.reason,
        "mode": row.mode,
        "route": row.route,
        "would_be_route": row.would_be_route,
        "priority": row.priority,
        "fired": row.fired,
        "rule_set": {"id": row.rule_set_id, "version": rule_set.version, "sha256": rule_set.digest}
        if rule_set
        else {"id": row.rule_set_id},
        "facts": row.facts,
    }


def claim_decisions(session: Session, claim_id: int) -> list[dict[str, Any]]:
    rows = repository.decisions_of_claim(session, claim_id)
    sets = {rid: rs for rid in {r.rule_set_id for r in rows} if (rs := repository.rule_set(session, rid)) is not None}
    return [decision(row, sets) for row in rows]
