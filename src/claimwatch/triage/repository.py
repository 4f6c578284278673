"""Triage queries: rule-set versions, decisions, the contact index, the report events' details. ORM selects are
tenant-filtered by ``claimwatch.db``; bulk writes carry ``tenant_id`` in every row."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BindParameter,
    Boolean,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.db import UTCDateTime, bulk_insert
from claimwatch.risk.models import RiskModel, RiskScore
from claimwatch.tenancy.models import OrgUnit
from claimwatch.triage import driver_statements
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


def rule_set_head(session: Session, at: dt.datetime, tenant_id: int | None = None) -> tuple[int, str, str] | None:
    """(id, mode, digest) of the version in force: the hot path reads no content. ``tenant_id``: the session's
    tenant, named by a prebuilt Core statement (ingestion asks every few seconds; the ORM select cost several
    times its round trip)."""
    if tenant_id is not None:
        found = session.connection().execute(_HEAD, {"tenant_id": tenant_id, "at": at}).first()
        return (found[0], found[1], found[2]) if found is not None else None
    row = session.execute(
        select(TriageRuleSet.id, TriageRuleSet.mode, TriageRuleSet.digest)
        .where(TriageRuleSet.active_from <= at)
        .order_by(TriageRuleSet.active_from.desc(), TriageRuleSet.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


_RULE_SETS = cast(Table, TriageRuleSet.__table__)
_HEAD = (
    select(_RULE_SETS.c.id, _RULE_SETS.c.mode, _RULE_SETS.c.digest)
    .where(_RULE_SETS.c.tenant_id == bindparam("tenant_id"), _RULE_SETS.c.active_from <= bindparam("at"))
    .order_by(_RULE_SETS.c.active_from.desc(), _RULE_SETS.c.id.desc())
    .limit(1)
)


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


TenantState = tuple[tuple[int, str] | None, tuple[Any, ...]]


def tenant_state(session: Session, tenant_id: int) -> TenantState:
    """One indexed round trip: the insurer's active risk model (id, digest) and an etag of its catastrophe
    events (count, last id, last change) — what the report-time caches are checked against. A Core statement
    on the session's connection, so the tenant is named here (the ORM's tenant filter does not see it)."""
    row = session.connection().execute(_STATE, {"tenant_id": tenant_id}).one()
    return _state_of(row[0], row[1], row[2], row[3], row[4])


def _state_of(model_id: Any, digest: Any, events: Any, last_id: Any, last_change: Any) -> TenantState:
    model = (int(model_id), str(digest)) if model_id is not None else None
    return model, (events, last_id, str(last_change))


# -- claims and their reports ------------------------------------------------------------------------------


def scored_handlers(session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, int]:
    """Claim id → handler (user id) of those of ``ids`` that are open, scored and have a handler."""
    rows = session.execute(
        select(Claim.id, Claim.assignee_id).where(
            Claim.tenant_id == tenant_id,
            Claim.id.in_(sorted(set(ids))),
            Claim.closed_at.is_(None),
            Claim.assignee_id.is_not(None),
            Claim.risk_score.is_not(None),
        )
    ).all()
    return {row.id: row.assignee_id for row in rows}


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


_CLAIM_MAPPER = inspect(Claim)
_CLAIM_ATTRIBUTES = frozenset(_CLAIM_MAPPER.column_attrs.keys())


def claims_from_rows(rows: Sequence[Mapping[str, Any]]) -> list[Claim]:
    """The claims ingestion just inserted, from the rows it hands over (``CaseChange.claim_row``), by id order:
    no statement. They are transient (not in the session): what triage changes on them is written by
    :func:`write_triaged`, and any later reader gets the row from the database."""
    manager = _CLAIM_MAPPER.class_manager
    claims = []
    for row in sorted(rows, key=lambda r: r["id"]):
        claim = manager.new_instance()
        # The values as loaded, without the constructor's per-attribute events (a tenth of its cost).
        claim.__dict__.update((k, v) for k, v in row.items() if k in _CLAIM_ATTRIBUTES)
        claims.append(claim)
    return claims


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


REGION_TOTAL = driver_statements.REGION_TOTAL  # the kind of the provider-count rows of :func:`history`
# The tenant-state rows of :func:`history`.
_MODEL_ROW, _EVENTS_ROW, _LAST_EVENT_ROW = (
    driver_statements.MODEL_ROW,
    driver_statements.EVENTS_ROW,
    driver_statements.LAST_EVENT_ROW,
)
_CONTACTS = cast(Table, TriageContact.__table__)


def _history_statement(totals: bool, state: bool) -> Any:
    """The report-time history read, built once per shape (a Core statement with expanding parameters: building
    it per call cost more Python than its round trip). The tenant is named in every part: a Core statement
    does not get the ORM's tenant filter. Optional parts: the region totals of providers and the tenant state
    (:func:`tenant_state`'s values as three rows), so one round trip answers both."""
    c = _CONTACTS.c
    parts: list[Any] = [
        select(c.kind, c.value, c.claim_id, c.identity, c.reported_at).where(
            c.tenant_id == _T,
            c.kind.in_(bindparam("kinds", expanding=True)),
            c.value.in_(bindparam("values", expanding=True)),
            c.reported_at >= bindparam("since"),
        )
    ]
    if totals:
        parts.append(
            select(literal(REGION_TOTAL), c.region_code, func.count(), null(), null())
            .where(
                c.tenant_id == _T,
                c.kind == "provider",
                c.region_code.in_(bindparam("regions", expanding=True)),
                c.reported_at >= bindparam("provider_since"),
                c.reported_at <= bindparam("until"),
            )
            .group_by(c.region_code)
        )
    if state:
        e = _EVENTS.c
        parts.append(
            select(literal(_MODEL_ROW), _STATE.selected_columns[1], _STATE.selected_columns[0], null(), null())
        )
        parts.append(
            select(literal(_EVENTS_ROW), null(), func.count(), null(), func.max(e.updated_at)).where(e.tenant_id == _T)
        )
        parts.append(select(literal(_LAST_EVENT_ROW), null(), func.max(e.id), null(), null()).where(e.tenant_id == _T))
    return union_all(*parts) if len(parts) > 1 else parts[0]


_HISTORY = {(totals, state): _history_statement(totals, state) for totals in (False, True) for state in (False, True)}
_ARRAY_TYPES: dict[str, TypeEngine[Any]] = {"claim_id": pg.BIGINT(), "reported_at": pg.TIMESTAMP(timezone=True)}
_UNNESTED = (
    func.unnest(
        *(bindparam(f"c_{name}", type_=pg.ARRAY(_ARRAY_TYPES.get(name, pg.VARCHAR()))) for name in CONTACT_COLUMNS[1:])
    )
    .table_valued(*CONTACT_COLUMNS[1:])
    .render_derived()
)
# PostgreSQL: the new claims' contacts written by the same statement (a data-modifying CTE; the tenant once).
_NEW_CONTACTS = (
    insert(_CONTACTS)
    .from_select(CONTACT_COLUMNS, select(_T, *(_UNNESTED.c[name] for name in CONTACT_COLUMNS[1:])))
    .cte("new_contacts")
)
_HISTORY_WRITING = {shape: statement.add_cte(_NEW_CONTACTS) for shape, statement in _HISTORY.items()}
# The report-time path of one claim (a few values) runs on the DB-API connection (:mod:`.driver_statements`,
# which says why); the Core statements stay for batches and many values. Tests switch it off to compare.
DRIVER_STATEMENTS = True
DRIVER_MAX_VALUES = 16


def history(
    session: Session,
    tenant_id: int,
    kinds_values: dict[str, set[str]],
    since: dt.datetime,
    regions: set[str],
    provider_since: dt.datetime,
    until: dt.datetime,
    *,
    with_state: bool = False,
    new_contacts: Sequence[tuple[Any, ...]] = (),
) -> tuple[list[tuple[str, str, int, str, dt.datetime]], dict[str, int], TenantState | None]:
    """:func:`contacts_matching`, :func:`provider_region_counts` and, ``with_state``, :func:`tenant_state` in one
    round trip (the report-time path: a few values, one region); many values fall back to the chunked
    statements (and the state is then None: read it apart).

    ``new_contacts``: rows (:data:`CONTACT_COLUMNS`) to insert first, so the answer counts them. On PostgreSQL
    the insert is part of the same statement; a data-modifying CTE's rows are not visible to its own query, so
    they are added to the answer here, by the same conditions the query applies. A few values (one claim's): the
    same union on the DB-API connection (:func:`driver_statements.history_rows`; on SQLite the contacts are
    written after the read and added the same way)."""
    values = sorted(set().union(*kinds_values.values())) if kinds_values else []
    if DRIVER_STATEMENTS and 0 < len(values) <= DRIVER_MAX_VALUES:
        rows = driver_statements.history_rows(
            session,
            tenant_id,
            sorted(kinds_values),
            values,
            since,
            sorted(regions),
            provider_since,
            until,
            with_state=with_state,
            new_contacts=new_contacts,
        )
        return _history_answer(rows, kinds_values, since, regions, provider_since, until, with_state, new_contacts)
    if not values or len(values) > _CHUNK or session.connection().dialect.name != "postgresql":
        insert_contacts(session, list(new_contacts))
        new_contacts = ()
    if not values or len(values) > _CHUNK:
        found = contacts_matching(session, kinds_values, since) if values else []
        return found, provider_region_counts(session, regions, provider_since, until), None
    parameters: dict[str, Any] = {"tenant_id": tenant_id, "kinds": sorted(kinds_values), "values": values}
    parameters["since"] = since
    if regions:
        parameters.update(regions=sorted(regions), provider_since=provider_since, until=until)
    statement = _HISTORY[(bool(regions), with_state)]
    if new_contacts:
        statement = _HISTORY_WRITING[(bool(regions), with_state)]
        if any(row[0] != tenant_id for row in new_contacts):
            raise ValueError("contacts of another tenant")
        columns = list(zip(*new_contacts, strict=True))
        parameters.update((f"c_{name}", list(columns[k])) for k, name in enumerate(CONTACT_COLUMNS) if k)
    result = session.connection().execute(statement, parameters)
    return _history_answer(result, kinds_values, since, regions, provider_since, until, with_state, new_contacts)


def _history_answer(
    rows: Iterable[Any],
    kinds_values: dict[str, set[str]],
    since: dt.datetime,
    regions: set[str],
    provider_since: dt.datetime,
    until: dt.datetime,
    with_state: bool,
    new_contacts: Sequence[tuple[Any, ...]],
) -> tuple[list[tuple[str, str, int, str, dt.datetime]], dict[str, int], TenantState | None]:
    """:func:`history`'s answer from the union's rows, with the new contacts the statement did not see."""
    matching: list[tuple[str, str, int, str, dt.datetime]] = []
    counts: dict[str, int] = {}
    model: tuple[Any, Any] = (None, None)
    events: tuple[Any, Any] = (0, None)
    last_event = None
    row: Any
    for row in rows:
        kind, value = str(row[0]), row[1]
        if kind == REGION_TOTAL:
            if value is not None:
                counts[value] = int(row[2])
        elif kind == _MODEL_ROW:
            model = (row[2], value)
        elif kind == _EVENTS_ROW:
            events = (row[2], row[4])
        elif kind == _LAST_EVENT_ROW:
            last_event = row[2]
        elif value in kinds_values.get(kind, ()):
            matching.append((kind, value, int(row[2]), row[3], row[4]))
    for _, claim_id, kind, value, identity, region, at in new_contacts:  # written by this statement: not seen by it
        if value in kinds_values.get(kind, ()) and at >= since:
            matching.append((kind, value, claim_id, identity, at))
        if kind == "provider" and region in regions and provider_since <= at <= until:
            counts[region] = counts.get(region, 0) + 1
    state = _state_of(model[0], model[1], events[0], last_event, events[1]) if with_state else None
    return matching, counts, state


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


def current_decisions_and_state(
    session: Session, tenant_id: int, claim_ids: Sequence[int]
) -> tuple[dict[int, tuple[Claim, TriageDecision]], TenantState | None]:
    """:func:`current_decisions` with :func:`tenant_state` in the same statement (the ingestion path: a
    re-evaluation rescores, and the scorer checks its caches against the state). The state is None when no
    claim was found or the ids need more than one statement (read it apart then)."""
    wanted = sorted(set(claim_ids))
    if len(wanted) > _CHUNK:
        return current_decisions(session, wanted), None
    rows = session.execute(
        select(Claim, TriageDecision, *_STATE.selected_columns)
        .join(TriageDecision, TriageDecision.id == Claim.triage_decision_id)
        .where(Claim.id.in_(wanted), Claim.closed_at.is_(None)),
        {"tenant_id": tenant_id},
    ).all()
    found = {row[0].id: (row[0], row[1]) for row in rows}
    return found, (_state_of(*rows[0][2:]) if rows else None)


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


# -- the report-time writes --------------------------------------------------------------------------------

_DECISIONS = cast(Table, TriageDecision.__table__)
_CLAIMS = cast(Table, Claim.__table__)
DECISION_COLUMNS = tuple(column.key for column in _DECISIONS.c if column.key != "id")
# What triage (with risk and catastrophe matching) sets on a new claim.
TRIAGED_COLUMNS = (
    "risk_score",
    "risk_level",
    "catastrophe_id",
    "route",
    "priority",
    "vulnerable",
    "triage_decision_id",
)
_SET_TRIAGED: dict[str, Any] = {name: bindparam(f"set_{name}") for name in TRIAGED_COLUMNS}
_UPDATE_TRIAGED = (
    update(_CLAIMS)
    .where(_CLAIMS.c.id == bindparam("claim"), _CLAIMS.c.tenant_id == bindparam("tenant"))
    .values(_SET_TRIAGED)
)
_INSERT_DECISIONS = insert(_DECISIONS).returning(_DECISIONS.c.id, sort_by_parameter_order=True)
# PostgreSQL: the decision and the claim's columns in one statement (the claim takes the new decision's id).
_NEW_DECISION = (
    insert(_DECISIONS)
    .values({name: bindparam(f"d_{name}", type_=_DECISIONS.c[name].type) for name in DECISION_COLUMNS})
    .returning(_DECISIONS.c.id, _DECISIONS.c.claim_id)
    .cte("new_decision")
)
_DECIDE_AND_UPDATE = (
    update(_CLAIMS)
    .where(_CLAIMS.c.id == _NEW_DECISION.c.claim_id, _CLAIMS.c.tenant_id == bindparam("tenant"))
    .values(
        {
            **{k: v for k, v in _SET_TRIAGED.items() if k != "triage_decision_id"},
            "triage_decision_id": _NEW_DECISION.c.id,
        }
    )
    .returning(_NEW_DECISION.c.id)
)
_SCORES = cast(Table, RiskScore.__table__)
SCORE_COLUMNS = tuple(column.key for column in _SCORES.c if column.key != "id")
_INSERT_SCORES = insert(_SCORES)
# … and the claim's risk score row with them (a CTE the statement does not read: PostgreSQL runs it all the same).
_SCORE_DECIDE_AND_UPDATE = _DECIDE_AND_UPDATE.add_cte(
    insert(_SCORES)
    .values({name: bindparam(f"s_{name}", type_=_SCORES.c[name].type) for name in SCORE_COLUMNS})
    .cte("new_score")
)


def write_triaged(
    session: Session,
    tenant_id: int,
    claims: Sequence[Claim],
    decisions: Sequence[TriageDecision | None],
    scores: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Store new claims' decisions (``None``: no rule set in force), their risk score rows when the scorer left
    them to us (``scores``: ``risk_scores`` columns) and the claims' triaged columns (:data:`TRIAGED_COLUMNS`),
    by Core statements: the claims are those of :func:`claims_from_rows`, not in the session. Each decision
    gets its id, and its claim ``triage_decision_id``. On PostgreSQL a single claim with a decision is one
    statement (data-modifying CTEs); otherwise an INSERT of the scores, an INSERT … RETURNING of the
    decisions and one executemany UPDATE of the claims."""
    connection = session.connection()
    stored = [(claim, decision) for claim, decision in zip(claims, decisions, strict=True) if decision is not None]
    if DRIVER_STATEMENTS and len(claims) == 1 and stored and len(scores) <= 1:
        claim, decision = stored[0]
        decision.id = claim.triage_decision_id = driver_statements.write_one(
            session,
            tenant_id,
            {"id": claim.id, **{name: getattr(claim, name) for name in driver_statements.CLAIM_COLUMNS}},
            {name: getattr(decision, name) for name in driver_statements.DECISION_COLUMNS},
            scores[0] if scores else None,
        )
        return
    if len(claims) == 1 and stored and len(scores) <= 1 and connection.dialect.name == "postgresql":
        claim, decision = stored[0]
        parameters = {f"d_{name}": getattr(decision, name) for name in DECISION_COLUMNS}
        parameters.update(_triaged(tenant_id, claim))
        statement = _DECIDE_AND_UPDATE
        if scores:
            parameters.update((f"s_{name}", scores[0][name]) for name in SCORE_COLUMNS)
            statement = _SCORE_DECIDE_AND_UPDATE
        decision.id = claim.triage_decision_id = int(connection.execute(statement, parameters).scalar_one())
        return
    if scores:
        connection.execute(_INSERT_SCORES, list(scores))
    if stored:
        rows = [{name: getattr(decision, name) for name in DECISION_COLUMNS} for _, decision in stored]
        for (claim, decision), (new_id,) in zip(stored, connection.execute(_INSERT_DECISIONS, rows), strict=True):
            decision.id = claim.triage_decision_id = int(new_id)
    connection.execute(_UPDATE_TRIAGED, [_triaged(tenant_id, claim) for claim in claims])


def _triaged(tenant_id: int, claim: Claim) -> dict[str, Any]:
    values = {f"set_{name}": getattr(claim, name) for name in TRIAGED_COLUMNS}
    values.update(claim=claim.id, tenant=tenant_id)
    return values


# -- the re-evaluation path's read -------------------------------------------------------------------------

_DECISION_MAPPER = inspect(TriageDecision)
_DECISION_KEYS = tuple(_DECISIONS.c.keys())
_CURRENT_COLUMNS = (
    *_CLAIMS.c,
    *(_DECISIONS.c[key].label(f"d_{key}") for key in _DECISION_KEYS),
    *_STATE.selected_columns,
)
_CURRENT_FROM = _CLAIMS.join(_DECISIONS, _DECISIONS.c.id == _CLAIMS.c.triage_decision_id)
# Built once per shape (one claim: the ingestion path sends events one by one; many: an expanding IN). Core, so
# the tenant is named here.
_CURRENT = {
    many: select(*_CURRENT_COLUMNS)
    .select_from(_CURRENT_FROM)
    .where(
        _CLAIMS.c.tenant_id == _T,
        _CLAIMS.c.id.in_(bindparam("ids", expanding=True)) if many else _CLAIMS.c.id == bindparam("id"),
        _CLAIMS.c.closed_at.is_(None),
    )
    for many in (False, True)
}


def current_rows_and_state(
    session: Session, tenant_id: int, claim_ids: Sequence[int]
) -> tuple[dict[int, tuple[Claim, TriageDecision]], TenantState | None] | None:
    """:func:`current_decisions_and_state` by one prebuilt Core statement, the claims and decisions built from its
    rows without the ORM's loading (as :func:`claims_from_rows`): they are detached, so what a re-evaluation
    changes on a claim is written by :func:`write_reevaluated`. None when one of the claims is in the session
    already (the caller then takes the ORM path, so the session's copy stays the one written) or the ids need
    more than one statement."""
    wanted = sorted(set(claim_ids))
    if not wanted or len(wanted) > _CHUNK:
        return None
    if in_session(session, wanted):
        return None
    if DRIVER_STATEMENTS and len(wanted) == 1:
        return _current_by_driver(session, tenant_id, wanted[0])
    parameters: dict[str, Any] = {"tenant_id": tenant_id}
    if len(wanted) == 1:
        parameters["id"] = wanted[0]
    else:
        parameters["ids"] = wanted
    rows = session.connection().execute(_CURRENT[len(wanted) > 1], parameters).all()
    claim_manager = _CLAIM_MAPPER.class_manager
    decision_manager = _DECISION_MAPPER.class_manager
    found: dict[int, tuple[Claim, TriageDecision]] = {}
    state: TenantState | None = None
    for row in rows:
        values = row._mapping
        claim = claim_manager.new_instance()
        claim.__dict__.update((key, values[key]) for key in _CLAIM_ATTRIBUTES)
        decision = decision_manager.new_instance()
        decision.__dict__.update((key, values[f"d_{key}"]) for key in _DECISION_KEYS)
        found[claim.id] = (claim, decision)
        if state is None:
            state = _state_of(*row[-5:])
    return found, state


def _current_by_driver(
    session: Session, tenant_id: int, claim_id: int
) -> tuple[dict[int, tuple[Claim, TriageDecision]], TenantState | None]:
    """:func:`current_rows_and_state` of one claim (ingestion's events come one by one) by the DB-API
    connection (:class:`driver_statements.CurrentRead`): the same row, without SQLAlchemy's compiling and
    result processing (most of a re-evaluation's read)."""
    found = _CURRENT_BY_DRIVER(session, tenant_id, claim_id)
    if found is None:
        return {}, None
    claim_values, decision_values, state = found
    claim = _CLAIM_MAPPER.class_manager.new_instance()
    claim.__dict__.update(claim_values)
    decision = _DECISION_MAPPER.class_manager.new_instance()
    decision.__dict__.update(decision_values)
    return {claim.id: (claim, decision)}, _state_of(*state)


def _typed(table: Table, kind: type[Any]) -> frozenset[str]:
    return frozenset(column.name for column in table.c if isinstance(column.type, kind))


_CURRENT_BY_DRIVER = driver_statements.CurrentRead(
    [_CLAIMS.c[key].name for key in sorted(_CLAIM_ATTRIBUTES, key=list(_CLAIMS.c.keys()).index)],
    [_DECISIONS.c[key].name for key in _DECISION_KEYS],
    _typed(_CLAIMS, UTCDateTime) | _typed(_DECISIONS, UTCDateTime),
    _typed(_CLAIMS, Boolean) | _typed(_DECISIONS, Boolean),
    _typed(_DECISIONS, JSON),
)


def decision_routes(session: Session, tenant_id: int, claim_id: int) -> tuple[str, str] | None:
    """(route, would-be route) of an open, triaged claim's latest decision, None for a closed or untriaged one:
    the narrow first look of an amount change (:func:`driver_statements.decision_routes`)."""
    return driver_statements.decision_routes(session, tenant_id, claim_id)


def in_session(session: Session, claim_ids: Iterable[int]) -> bool:
    """Whether the session holds one of the claims (then its copy, maybe newer than the database's, is read)."""
    identity_map = session.identity_map
    return any(session.identity_key(Claim, claim_id) in identity_map for claim_id in claim_ids)


def triaged_values(claim: Claim) -> tuple[Any, ...]:
    """A claim's :data:`TRIAGED_COLUMNS`, to tell whether a re-evaluation changed them."""
    return tuple(getattr(claim, name) for name in TRIAGED_COLUMNS)


def write_reevaluated(
    session: Session, tenant_id: int, claims: Sequence[Claim], scores: Sequence[Mapping[str, Any]] = ()
) -> None:
    """The triaged columns of detached claims (:func:`current_rows_and_state`) a re-evaluation changed, and the
    score rows the scorer left to us (``scores``): one claim by the driver (:mod:`.driver_statements`), else an
    INSERT and one executemany UPDATE."""
    if DRIVER_STATEMENTS and len(claims) <= 1 and len(scores) <= 1:
        values = None
        if claims:
            names = driver_statements.UPDATED_CLAIM_COLUMNS
            values = {"id": claims[0].id, **{name: getattr(claims[0], name) for name in names}}
        driver_statements.write_rescored(session, tenant_id, values, scores[0] if scores else None)
        return
    if scores:
        session.connection().execute(_INSERT_SCORES, list(scores))
    if claims:
        session.connection().execute(_UPDATE_TRIAGED, [_triaged(tenant_id, claim) for claim in claims])


def write_redecided(
    session: Session, tenant_id: int, claim: Claim, decision: TriageDecision, scores: Sequence[Mapping[str, Any]] = ()
) -> int:
    """A detached claim's (:func:`current_rows_and_state`) new decision from a re-evaluation, with its triaged
    columns and the score row the scorer left to us (at most one): the report-time write of one claim
    (:func:`driver_statements.write_one`: one statement on PostgreSQL). Returns the decision's id."""
    if len(scores) > 1:
        raise ValueError("one claim has at most one new score row")
    return driver_statements.write_one(
        session,
        tenant_id,
        {"id": claim.id, **{name: getattr(claim, name) for name in driver_statements.CLAIM_COLUMNS}},
        {name: getattr(decision, name) for name in driver_statements.DECISION_COLUMNS},
        scores[0] if scores else None,
    )


def detached_decision(values: Mapping[str, Any]) -> TriageDecision:
    """A decision built from its column values without the mapped constructor (its attribute events cost more
    than the rest of the decision): for rows written by Core statements (:func:`write_triaged`), never added
    to a session."""
    decision = _DECISION_MAPPER.class_manager.new_instance()
    decision.__dict__.update({"id": None, **values})
    return decision
