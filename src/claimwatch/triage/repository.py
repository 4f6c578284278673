"""Triage queries: rule-set versions, decisions, the contact index, the report events' details. ORM selects are
tenant-filtered by ``claimwatch.db``; bulk writes carry ``tenant_id`` in every row."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.db import bulk_insert
from claimwatch.tenancy.models import OrgUnit
from claimwatch.triage.models import TriageContact, TriageDecision, TriageRuleSet

_CHUNK = 900


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


# -- rule sets ---------------------------------------------------------------------------------------------


def rule_set_in_force(session: Session, at: dt.datetime) -> TriageRuleSet | None:
    """The session's tenant's latest version whose ``active_from`` has come."""
    return session.execute(
        select(TriageRuleSet)
        .where(TriageRuleSet.active_from <= at)
        .order_by(TriageRuleSet.active_from.desc(), TriageRuleSet.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def rule_set_head(session: Session, at: dt.datetime) -> tuple[int, str, str] | None:
    """(id, mode, digest) of the version in force: the hot path reads no content."""
    row = session.execute(
        select(TriageRuleSet.id, TriageRuleSet.mode, TriageRuleSet.digest)
        .where(TriageRuleSet.active_from <= at)
        .order_by(TriageRuleSet.active_from.desc(), TriageRuleSet.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


def rule_sets(session: Session, limit: int = 200) -> list[TriageRuleSet]:
    return list(
        session.execute(
            select(TriageRuleSet).order_by(TriageRuleSet.active_from.desc(), TriageRuleSet.id.desc()).limit(limit)
        ).scalars()
    )


def rule_set(session: Session, rule_set_id: int) -> TriageRuleSet | None:
    return session.execute(select(TriageRuleSet).where(TriageRuleSet.id == rule_set_id)).scalar_one_or_none()


# -- claims and their reports ------------------------------------------------------------------------------


def claims_by_ids(session: Session, ids: Sequence[int]) -> list[Claim]:
    """By id order. The claims ingestion just wrote are in the session already: no statement for those."""
    wanted = sorted(set(ids))
    found: dict[int, Claim] = {}
    for claim_id in wanted:
        loaded = session.identity_map.get(session.identity_key(Claim, claim_id))
        if isinstance(loaded, Claim):
            found[claim_id] = loaded
    for chunk in _chunks([claim_id for claim_id in wanted if claim_id not in found]):
        found.update((claim.id, claim) for claim in session.execute(select(Claim).where(Claim.id.in_(chunk))).scalars())
    return [found[claim_id] for claim_id in wanted if claim_id in found]


def claims_reported_between(session: Session, since: dt.datetime, until: dt.datetime | None) -> list[Claim]:
    query = select(Claim).where(Claim.reported_at >= since)
    if until is not None:
        query = query.where(Claim.reported_at < until)
    return list(session.execute(query.order_by(Claim.reported_at, Claim.id)).scalars())


def report_data(session: Session, claim_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The ``data`` of each claim's reported event (details, claimant age); {} where there is none."""
    found: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(claim_ids))):
        rows = session.execute(
            select(CaseEvent.claim_id, CaseEvent.data).where(
                CaseEvent.claim_id.in_(chunk), CaseEvent.event_type == "reported"
            )
        )
        for claim_id, data in rows:
            found[claim_id] = json.loads(data) if data else {}
    return found


def org_codes(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {
        org_id: code for org_id, code in session.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(wanted)))
    }


# -- the contact index -------------------------------------------------------------------------------------

CONTACT_COLUMNS = ("tenant_id", "claim_id", "kind", "value", "identity", "region_code", "reported_at")
_CONTACT_STAMPS = 1 << CONTACT_COLUMNS.index("reported_at")


def insert_contacts(session: Session, rows: list[tuple[Any, ...]]) -> None:
    bulk_insert(session, "triage_contacts", CONTACT_COLUMNS, rows, _CONTACT_STAMPS)


def contacts_of(session: Session, claim_ids: Sequence[int]) -> list[TriageContact]:
    found: list[TriageContact] = []
    for chunk in _chunks(sorted(set(claim_ids))):
        found.extend(session.execute(select(TriageContact).where(TriageContact.claim_id.in_(chunk))).scalars())
    return found


def contacts_matching(
    session: Session, kinds_values: dict[str, set[str]], since: dt.datetime
) -> list[tuple[str, str, int, str, dt.datetime]]:
    """(kind, value, claim_id, identity, reported_at) of every contact with one of the values, reported since."""
    rows: list[tuple[str, str, int, str, dt.datetime]] = []
    kinds = sorted(kinds_values)
    values = sorted(set().union(*kinds_values.values())) if kinds_values else []
    # One statement for every kind (a hash never equals a provider code): the index seeks each (kind, value).
    for chunk in _chunks(values):
        rows.extend(
            (kind, value, claim_id, identity, at)
            for kind, value, claim_id, identity, at in session.execute(
                select(
                    TriageContact.kind,
                    TriageContact.value,
                    TriageContact.claim_id,
                    TriageContact.identity,
                    TriageContact.reported_at,
                ).where(
                    TriageContact.kind.in_(kinds),
                    TriageContact.value.in_(chunk),
                    TriageContact.reported_at >= since,
                )
            )
            if value in kinds_values[kind]
        )
    return rows


def provider_region_counts(
    session: Session, regions: set[str], since: dt.datetime, until: dt.datetime
) -> dict[str, int]:
    """Claims with a provider per region reported in [since, until]."""
    if not regions:
        return {}
    rows = session.execute(
        select(TriageContact.region_code, func.count())
        .where(
            TriageContact.kind == "provider",
            TriageContact.region_code.in_(sorted(regions)),
            TriageContact.reported_at >= since,
            TriageContact.reported_at <= until,
        )
        .group_by(TriageContact.region_code)
    )
    return {region: count for region, count in rows if region is not None}


# -- decisions ---------------------------------------------------------------------------------------------


def decided_routes(session: Session, claim_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """(route, would-be route) of the latest decision of each open, triaged claim among ``claim_ids``."""
    found: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(sorted(set(claim_ids))):
        rows = session.execute(
            select(Claim.id, TriageDecision.route, TriageDecision.would_be_route)
            .join(TriageDecision, TriageDecision.id == Claim.triage_decision_id)
            .where(Claim.id.in_(chunk), Claim.closed_at.is_(None))
        )
        found.update({claim_id: (route, would_be) for claim_id, route, would_be in rows})
    return found


def decisions_of_claim(session: Session, claim_id: int) -> list[TriageDecision]:
    return list(
        session.execute(
            select(TriageDecision).where(TriageDecision.claim_id == claim_id).order_by(TriageDecision.id.desc())
        ).scalars()
    )


def latest_decisions(session: Session, claim_ids: Sequence[int]) -> dict[int, TriageDecision]:
    found: dict[int, TriageDecision] = {}
    for chunk in _chunks(sorted(set(claim_ids))):
        for decision in session.execute(
            select(TriageDecision).where(TriageDecision.claim_id.in_(chunk)).order_by(TriageDecision.id)
        ).scalars():
            found[decision.claim_id] = decision
    return found


def decisions_between(
    session: Session, since: dt.datetime, until: dt.datetime, rule_set_ids: Sequence[int] | None = None
) -> list[tuple[TriageDecision, Claim]]:
    """Decisions taken at report time in [since, until) with their claims (as they are now)."""
    query = (
        select(TriageDecision, Claim)
        .join(Claim, Claim.id == TriageDecision.claim_id)
        .where(
            TriageDecision.decided_at >= since,
            TriageDecision.decided_at < until,
            TriageDecision.trigger == "reported",
        )
        .order_by(TriageDecision.id)
    )
    if rule_set_ids:
        query = query.where(TriageDecision.rule_set_id.in_(list(rule_set_ids)))
    return [(decision, claim) for decision, claim in session.execute(query)]
