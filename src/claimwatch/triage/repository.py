"""Triage queries: rule-set versions, decisions, the contact index, the report events' details. ORM selects are
tenant-filtered by ``claimwatch.db``; bulk writes carry ``tenant_id`` in every row."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.db import bulk_insert
from claimwatch.risk.models import RiskModel
from claimwatch.tenancy.models import OrgUnit
from claimwatch.triage.catastrophe_models import Catastrophe
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


# -- what the report-time path keeps between transactions -------------------------------------------------

_MODELS = RiskModel.__table__
_EVENTS = Catastrophe.__table__
_T: BindParameter[int] = bindparam("tenant_id")
_STATE = select(
    select(_MODELS.c.id).where(_MODELS.c.tenant_id == _T, _MODELS.c.status == "active").limit(1).scalar_subquery(),
    select(_MODELS.c.digest).where(_MODELS.c.tenant_id == _T, _MODELS.c.status == "active").limit(1).scalar_subquery(),
    select(func.count()).select_from(_EVENTS).where(_EVENTS.c.tenant_id == _T).scalar_subquery(),
    select(func.max(_EVENTS.c.id)).where(_EVENTS.c.tenant_id == _T).scalar_subquery(),
    select(func.max(_EVENTS.c.updated_at)).where(_EVENTS.c.tenant_id == _T).scalar_subquery(),
)


def tenant_state(session: Session, tenant_id: int) -> tuple[tuple[int, str] | None, tuple[Any, ...]]:
    """One indexed round trip: the insurer's active risk model (id, digest) and an etag of its catastrophe
    events (count, last id, last change) — what the report-time caches are checked against. A Core statement
    on the session's connection, so the tenant is named here (the ORM's tenant filter does not see it)."""
    row = session.connection().execute(_STATE, {"tenant_id": tenant_id}).one()
    model = (int(row[0]), str(row[1])) if row[0] is not None else None
    return model, (row[2], row[3], str(row[4]))


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


REGION_TOTAL = "#region"  # the kind of the provider-count rows of :func:`history`


def history(
    session: Session,
    tenant_id: int,
    kinds_values: dict[str, set[str]],
    since: dt.datetime,
    regions: set[str],
    provider_since: dt.datetime,
    until: dt.datetime,
) -> tuple[list[tuple[str, str, int, str, dt.datetime]], dict[str, int]]:
    """:func:`contacts_matching` and :func:`provider_region_counts` in one round trip (the report-time path:
    a few values, one region); many values fall back to the two chunked statements."""
    values = sorted(set().union(*kinds_values.values())) if kinds_values else []
    if not values or not regions or len(values) > _CHUNK:
        found = contacts_matching(session, kinds_values, since) if values else []
        return found, provider_region_counts(session, regions, provider_since, until)
    contacts = select(
        TriageContact.kind,
        TriageContact.value,
        TriageContact.claim_id,
        TriageContact.identity,
        TriageContact.reported_at,
    ).where(
        TriageContact.tenant_id == tenant_id,  # named: the ORM's tenant filter may not reach into a UNION
        TriageContact.kind.in_(sorted(kinds_values)),
        TriageContact.value.in_(values),
        TriageContact.reported_at >= since,
    )
    totals = (
        select(literal(REGION_TOTAL), TriageContact.region_code, func.count(), null(), null())
        .where(
            TriageContact.tenant_id == tenant_id,
            TriageContact.kind == "provider",
            TriageContact.region_code.in_(sorted(regions)),
            TriageContact.reported_at >= provider_since,
            TriageContact.reported_at <= until,
        )
        .group_by(TriageContact.region_code)
    )
    matching: list[tuple[str, str, int, str, dt.datetime]] = []
    counts: dict[str, int] = {}
    row: Any
    for row in session.execute(union_all(contacts, totals)):
        kind, value = str(row[0]), row[1]
        if kind == REGION_TOTAL:
            if value is not None:
                counts[value] = int(row[2])
        elif value in kinds_values.get(kind, ()):
            matching.append((kind, value, int(row[2]), row[3], row[4]))
    return matching, counts


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


def current_decisions(session: Session, claim_ids: Sequence[int]) -> dict[int, tuple[Claim, TriageDecision]]:
    """The open, triaged claims among ``claim_ids`` with their latest decision (``claims.triage_decision_id``),
    in one statement; the claims land in the session, so a later :func:`claims_by_ids` reads nothing."""
    found: dict[int, tuple[Claim, TriageDecision]] = {}
    for chunk in _chunks(sorted(set(claim_ids))):
        rows = session.execute(
            select(Claim, TriageDecision)
            .join(TriageDecision, TriageDecision.id == Claim.triage_decision_id)
            .where(Claim.id.in_(chunk), Claim.closed_at.is_(None))
        )
        found.update({claim.id: (claim, decision) for claim, decision in rows})
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
