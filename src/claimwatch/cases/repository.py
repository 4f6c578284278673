"""Claim and case-event queries. ORM selects are tenant-filtered by ``claimwatch.db``; the bulk
writes below carry ``tenant_id`` explicitly in every row and WHERE clause."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, String, Table, any_, case, column, func, literal, or_, select, table
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from claimwatch.auth.models import User
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.db import UTCDateTime, bulk_insert, driver_connection, sqlite_timestamp, tenant_context

_IN_CHUNK = 900
_CLAIMS = cast(Table, Claim.__table__)

EVENT_HASHED_FIELDS = (
    "claim_id",
    "client_event_id",
    "event_type",
    "from_status",
    "to_status",
    "occurred_at",
    "received_at",
    "actor",
    "reason",
    "data",
    "fingerprint",
    "audit_seq",
)


def _member_of(session: Session, column: Any, values: Sequence[str]) -> Iterator[Any]:
    """``column IN values`` as a few conditions: one array parameter on PostgreSQL (no huge IN list to
    parse and plan), chunks of bound parameters on SQLite."""
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(literal(list(values), ARRAY(String)))
        return
    for start in range(0, len(values), _IN_CHUNK):
        yield column.in_(values[start : start + _IN_CHUNK])


@dataclass(frozen=True)
class StoredEvent:
    fingerprint: str
    audit_seq: int


def stored_events(
    session: Session, client_event_ids: Sequence[str], since: dt.datetime | None = None
) -> dict[str, StoredEvent]:
    """The events already stored under these ids; ``since``: only those received since then (on PostgreSQL the
    look-up then visits the recent monthly partitions only)."""
    found: dict[str, StoredEvent] = {}
    for condition in _member_of(session, CaseEvent.client_event_id, client_event_ids):
        query = select(CaseEvent.client_event_id, CaseEvent.fingerprint, CaseEvent.audit_seq).where(condition)
        if since is not None:
            query = query.where(CaseEvent.received_at >= since)
        rows = session.execute(query)
        for event_id, fingerprint, audit_seq in rows:
            found[event_id] = StoredEvent(fingerprint, audit_seq)
    return found


@dataclass
class ClaimState:
    """The mutable part of a claim while a batch of events is applied to it."""

    id: int | None
    number: str
    line: str
    status: str
    status_changed_at: dt.datetime
    closed_at: dt.datetime | None
    reopen_count: int
    event_count: int
    assessed_amount_fen: int | None
    paid_amount_fen: int | None
    assignee_id: int | None
    reported_amount_fen: int | None = None
    # When the claim's latest event happened: a later event may not go back before it.
    last_event_at: dt.datetime | None = None
    new_row: dict[str, Any] | None = None
    # A new claim's report details and identifier hashes, handed to the CASE_EVENTS subscribers (cases.events).
    report_data: dict[str, Any] | None = None
    contact_hashes: dict[str, str] | None = None
    # The route triage gave the claim (claims.route): route-limited workflow shortcuts check it.
    route: str = "normal"
    # compulsory (交强险) | commercial | None (claims.coverage): selects the legal clocks.
    coverage: str | None = None


def claim_states(session: Session, numbers: Sequence[str], lock: bool = False) -> dict[str, ClaimState]:
    """``lock``: the claims' rows ``FOR UPDATE`` in id order first (batches of one tenant written side by side),
    then read in a statement of its own, whose snapshot has whatever the batch we waited for committed."""
    found: dict[str, ClaimState] = {}
    if lock:
        for condition in _member_of(session, Claim.number, numbers):
            session.execute(select(Claim.id).where(condition).order_by(Claim.id).with_for_update()).all()
    last_event_at = select(func.max(CaseEvent.occurred_at)).where(CaseEvent.claim_id == Claim.id).scalar_subquery()
    for condition in _member_of(session, Claim.number, numbers):
        statement = select(
            Claim.id,
            Claim.number,
            Claim.line,
            Claim.status,
            Claim.status_changed_at,
            Claim.closed_at,
            Claim.reopen_count,
            Claim.event_count,
            Claim.assessed_amount_fen,
            Claim.paid_amount_fen,
            Claim.assignee_id,
            Claim.reported_amount_fen,
            last_event_at.label("last_event_at"),
            Claim.route,
            Claim.coverage,
        ).where(condition)
        rows = session.execute(statement)
        for row in rows:
            found[row.number] = ClaimState(
                id=row.id,
                number=row.number,
                line=row.line,
                status=row.status,
                status_changed_at=row.status_changed_at,
                closed_at=row.closed_at,
                reopen_count=row.reopen_count,
                event_count=row.event_count,
                assessed_amount_fen=row.assessed_amount_fen,
                paid_amount_fen=row.paid_amount_fen,
                assignee_id=row.assignee_id,
                reported_amount_fen=row.reported_amount_fen,
                last_event_at=row.last_event_at,
                route=row.route,
                coverage=row.coverage,
            )
    return found


CLAIM_COLUMNS = tuple(column.name for column in _CLAIMS.columns if column.name != "id")
_CLAIM_TIMESTAMPS = sum(1 << i for i, name in enumerate(CLAIM_COLUMNS) if name.endswith("_at"))


def insert_claims(session: Session, tenant_id: int, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Bulk-insert new claims of one tenant and return their ids by number."""
    if not rows:
        return {}
    bulk_insert(
        session,
        "claims",
        CLAIM_COLUMNS,
        [tuple(row[name] for name in CLAIM_COLUMNS) for row in rows],
        _CLAIM_TIMESTAMPS,
    )
    ids: dict[str, int] = {}
    for condition in _member_of(session, Claim.number, [row["number"] for row in rows]):
        query = select(Claim.number, Claim.id).where(Claim.tenant_id == tenant_id, condition)
        ids.update({number: claim_id for number, claim_id in session.execute(query)})
    return ids


EVENT_COLUMNS = ("tenant_id", *EVENT_HASHED_FIELDS)
_EVENT_TIMESTAMPS = sum(1 << EVENT_COLUMNS.index(name) for name in ("occurred_at", "received_at"))


def insert_events(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Rows in EVENT_COLUMNS order, each carrying its tenant_id."""
    bulk_insert(session, "case_events", EVENT_COLUMNS, rows, _EVENT_TIMESTAMPS)


_UPDATABLE = (
    "status",
    "status_changed_at",
    "closed_at",
    "reopen_count",
    "event_count",
    "assessed_amount_fen",
    "paid_amount_fen",
    "assignee_id",
    "updated_at",
)


_PG_UPDATE_CLAIMS = """
UPDATE claims AS c SET
  status = v.status, status_changed_at = v.status_changed_at, closed_at = v.closed_at,
  reopen_count = v.reopen_count, event_count = v.event_count, assessed_amount_fen = v.assessed_amount_fen,
  paid_amount_fen = v.paid_amount_fen, assignee_id = v.assignee_id, updated_at = v.updated_at
FROM unnest(%s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[], %s::int[], %s::int[],
            %s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[])
  AS v(id, status, status_changed_at, closed_at, reopen_count, event_count, assessed_amount_fen,
       paid_amount_fen, assignee_id, updated_at)
WHERE c.id = v.id AND c.tenant_id = %s
"""
_SQLITE_UPDATE_CLAIMS = (
    "UPDATE claims SET status = ?, status_changed_at = ?, closed_at = ?, reopen_count = ?, event_count = ?,"
    " assessed_amount_fen = ?, paid_amount_fen = ?, assignee_id = ?, updated_at = ? WHERE id = ? AND tenant_id = ?"
)


def update_claims(session: Session, tenant_id: int, rows: list[dict[str, Any]]) -> None:
    """One statement for the whole batch on PostgreSQL (arrays), the driver's executemany on SQLite; the Claims
    the session already holds get the written values too."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        columns = [[row[name] for row in rows] for name in ("id", *_UPDATABLE)]
        with driver_connection(session).cursor() as cursor:
            cursor.execute(_PG_UPDATE_CLAIMS, [*columns, tenant_id])
    else:
        _sqlite_update_claims(connection, tenant_id, rows)
    _held_claims_follow(session, rows)


def _held_claims_follow(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """The statements bypass the ORM: a Claim loaded earlier in the transaction (the assignment domain's, a
    page action's) would still show the claim before the event to the subscribers that read it through the
    session. Its columns take the written values as loaded ones; other changes pending on it stay pending."""
    for row in rows:
        held = session.identity_map.get(session.identity_key(Claim, row["id"]))
        if held is not None:
            for name in _UPDATABLE:
                set_committed_value(held, name, row[name])


def _sqlite_update_claims(connection: Connection, tenant_id: int, rows: Sequence[Mapping[str, Any]]) -> None:
    connection.exec_driver_sql(
        _SQLITE_UPDATE_CLAIMS,
        [
            (
                row["status"],
                sqlite_timestamp(row["status_changed_at"]),
                sqlite_timestamp(row["closed_at"]),
                row["reopen_count"],
                row["event_count"],
                row["assessed_amount_fen"],
                row["paid_amount_fen"],
                row["assignee_id"],
                sqlite_timestamp(row["updated_at"]),
                row["id"],
                tenant_id,
            )
            for row in rows
        ],
    )


def event_content_rows(session: Session, tenant_id: int, first_seq: int, last_seq: int) -> Iterable[Sequence[Any]]:
    columns = [getattr(CaseEvent, name) for name in EVENT_HASHED_FIELDS]
    return session.execute(
        select(*columns).where(CaseEvent.tenant_id == tenant_id, CaseEvent.audit_seq.between(first_seq, last_seq)),
        execution_options={"include_all_tenants": True},
    )


def count_events(session: Session, tenant_id: int, after_seq: int = 0) -> int:
    return session.execute(
        select(func.count())
        .select_from(CaseEvent)
        .where(CaseEvent.tenant_id == tenant_id, CaseEvent.audit_seq > after_seq),
        execution_options={"include_all_tenants": True},
    ).scalar_one()


# Tables of domains above this one, named rather than imported (cases sits below sla, materials and
# complaints): the claim list filters on them read-only, always through the claim they belong to.
_CLOCKS = table(
    "sla_clocks",
    column("tenant_id"),
    column("claim_id"),
    column("policy_code"),
    column("state"),
    column("light"),
    column("outcome"),
    column("started_at", UTCDateTime()),
    column("stopped_at", UTCDateTime()),
    column("breached_at", UTCDateTime()),
    column("yellow_due_at", UTCDateTime()),
)
_MATERIALS = table(
    "materials_profiles",
    column("tenant_id"),
    column("claim_id"),
    column("notices_issued"),
    column("supplement_rounds"),
    column("violation_rounds"),
)
_FILINGS = table("regulator_filings", column("tenant_id"), column("claim_id"), column("filed_at", UTCDateTime()))
_COMPLAINTS = table("complaints", column("tenant_id"), column("claim_id"))
_RISK_SCORES = table("risk_scores", column("tenant_id"), column("claim_id"), column("points"))
_ORG_UNITS = table("org_units", column("tenant_id"), column("id"), column("path"))
OPEN_CLOCK_STATES = ("running", "paused", "suspended")
LIGHTS = ("green", "yellow", "red")
MATERIALS_FILTERS = ("profile", "noticed", "supplement", "violation")
CLOCK_OUTCOMES = ("met", "breached", "settled")
SORTS = ("reported", "deadline", "amount", "status")
# A claim's triage route (claims.route, written by triage at report time; issue 15). Lower domains read the
# column and import the names from here, never from triage.
ROUTES = ("normal", "fast_track", "green", "manual_review")
RISK_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class ClaimFilter:
    """What the claim list (page, CSV, API) may be narrowed by. Instants are UTC, ranges half-open
    ``[from, until)``. Every field is one SQL condition in :func:`_conditions`; the KPI drill-downs
    (``defaults/kpis.yaml``, ``drill:``) are combinations of these."""

    status: str | None = None
    line: str | None = None
    region_code: str | None = None
    org_unit_id: int | None = None  # exactly this unit
    number: str | None = None
    org_subtree: int | None = None  # this unit and every unit below it
    light: str | None = None  # the worst light of the claim's open (not stopped) clocks
    overdue: bool = False  # an open clock past its target now
    overdue_at: dt.datetime | None = None  # a clock open at that instant and past its target before it
    reported_from: dt.datetime | None = None
    reported_until: dt.datetime | None = None
    closed_from: dt.datetime | None = None
    closed_until: dt.datetime | None = None
    state: str | None = None  # open | closed (closed_at set: closed, rejected or withdrawn)
    cycle_over_days: int | None = None  # closed more than N days after the report
    assignee_id: int | None = None
    unassigned: bool = False
    amount_min_fen: int | None = None  # reported amount, inclusive
    amount_below_fen: int | None = None  # reported amount, exclusive
    disputed: bool = False  # named by at least one complaint
    materials: str | None = None  # profile | noticed | supplement | violation
    clock_policy: str | None = None  # a clock of this policy ...
    clock_from: dt.datetime | None = None  # ... started in [clock_from, clock_until) ...
    clock_until: dt.datetime | None = None
    clock_outcome: str | None = None  # ... met | breached | settled (met or breached)
    filed_from: dt.datetime | None = None  # a red regulator filing in [filed_from, filed_until)
    filed_until: dt.datetime | None = None
    route: str | None = None  # the triage route (claims.route): one of ROUTES
    risk_flag: bool = False  # risk level high (claims.risk_level) or a red flag fired on one of its risk scores
    catastrophe_id: int | None = None  # the claims of a declared catastrophe event (claims.catastrophe_id)


def _conditions(
    filters: ClaimFilter, now: dt.datetime, dialect: str, tenant_id: int | None, *, amount_by_index: bool = True
) -> list[Any]:
    """One condition per filter. Sub-selects on other domains' tables are ``IN (…)`` semi-joins driven by
    those tables' indexes (0012_work_lists), so a rare condition (red, a month's filings) never scans claims.
    They name the tenant (``tenant_id``) so the indexes apply; the claim itself is tenant-filtered by db.py."""

    def own(table_: Any, *conditions: Any) -> Any:
        mine = [table_.c.tenant_id == tenant_id] if tenant_id is not None else []
        return select(table_.c.claim_id).where(*mine, *conditions)

    where: list[Any] = []
    if filters.status:
        where.append(Claim.status == filters.status)
    if filters.line:
        where.append(Claim.line == filters.line)
    if filters.region_code:
        where.append(Claim.region_code == filters.region_code)
    if filters.org_unit_id:
        where.append(Claim.org_unit_id == filters.org_unit_id)
    if filters.org_subtree is not None:
        top = _ORG_UNITS.alias("top")
        top_path = select(top.c.path).where(top.c.id == filters.org_subtree).scalar_subquery()
        units = select(_ORG_UNITS.c.id).where(_ORG_UNITS.c.path.startswith(top_path))
        where.append(Claim.org_unit_id.in_(units))
    if filters.number:
        where.append(Claim.number.startswith(filters.number, autoescape=True))
    if filters.light:
        worse = LIGHTS[LIGHTS.index(filters.light) + 1 :]
        open_clock = _CLOCKS.c.state.in_(OPEN_CLOCK_STATES)
        where.append(Claim.id.in_(own(_CLOCKS, open_clock, _CLOCKS.c.light == filters.light)))
        if worse:
            where.append(Claim.id.not_in(own(_CLOCKS, open_clock, _CLOCKS.c.light.in_(worse))))
    if filters.overdue:
        where.append(Claim.id.in_(own(_CLOCKS, _CLOCKS.c.state.in_(OPEN_CLOCK_STATES), _CLOCKS.c.breached_at <= now)))
    if filters.overdue_at is not None:
        at = filters.overdue_at
        where.append(
            Claim.id.in_(
                own(
                    _CLOCKS,
                    _CLOCKS.c.breached_at < at,
                    _CLOCKS.c.started_at < at,
                    or_(_CLOCKS.c.stopped_at.is_(None), _CLOCKS.c.stopped_at >= at),
                )
            )
        )
    if filters.reported_from is not None:
        where.append(Claim.reported_at >= filters.reported_from)
    if filters.reported_until is not None:
        where.append(Claim.reported_at < filters.reported_until)
    if filters.closed_from is not None:
        where.append(Claim.closed_at >= filters.closed_from)
    if filters.closed_until is not None:
        where.append(Claim.closed_at < filters.closed_until)
    if filters.state == "open":
        where.append(Claim.closed_at.is_(None))
    elif filters.state == "closed":
        where.append(Claim.closed_at.is_not(None))
    if filters.cycle_over_days is not None:
        where.append(Claim.closed_at.is_not(None))
        where.append(_days_between(Claim.reported_at, Claim.closed_at, dialect) > filters.cycle_over_days)
    if filters.unassigned:
        where.append(Claim.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        where.append(Claim.assignee_id == filters.assignee_id)
    # A page in another order reads that order's index and checks the amount on the way (an amount band holds
    # many claims: sorting all of them by report time would cost more); spelled so no index serves it.
    amount = Claim.reported_amount_fen if amount_by_index else Claim.reported_amount_fen + 0
    if filters.amount_min_fen is not None:
        where.append(amount >= filters.amount_min_fen)
    if filters.amount_below_fen is not None:
        where.append(amount < filters.amount_below_fen)
    if filters.route:
        where.append(Claim.route == filters.route)
    if filters.catastrophe_id is not None:
        where.append(Claim.catastrophe_id == filters.catastrophe_id)
    if filters.risk_flag:
        # High risk, or any red flag fired on a score of the claim (risk sits above cases: named, not imported).
        where.append(or_(Claim.risk_level == "high", Claim.id.in_(own(_RISK_SCORES, _RISK_SCORES.c.points > 0))))
    if filters.disputed:
        where.append(Claim.id.in_(own(_COMPLAINTS, _COMPLAINTS.c.claim_id.is_not(None))))
    if filters.materials:
        profile = {
            "profile": [],
            "noticed": [_MATERIALS.c.notices_issued > 0],
            "supplement": [_MATERIALS.c.supplement_rounds > 0],
            "violation": [_MATERIALS.c.notices_issued > 0, _MATERIALS.c.violation_rounds > 0],
        }[filters.materials]
        where.append(Claim.id.in_(own(_MATERIALS, *profile)))
    clock_conditions = []
    if filters.clock_policy:
        clock_conditions.append(_CLOCKS.c.policy_code == filters.clock_policy)
    if filters.clock_from is not None:
        clock_conditions.append(_CLOCKS.c.started_at >= filters.clock_from)
    if filters.clock_until is not None:
        clock_conditions.append(_CLOCKS.c.started_at < filters.clock_until)
    if filters.clock_outcome == "met":
        clock_conditions += [_CLOCKS.c.outcome == "met", _CLOCKS.c.breached_at.is_(None)]
    elif filters.clock_outcome == "breached":
        clock_conditions.append(_CLOCKS.c.breached_at.is_not(None))
    elif filters.clock_outcome == "settled":
        clock_conditions.append(or_(_CLOCKS.c.outcome == "met", _CLOCKS.c.breached_at.is_not(None)))
    if clock_conditions:
        where.append(Claim.id.in_(own(_CLOCKS, *clock_conditions)))
    if filters.filed_from is not None or filters.filed_until is not None:
        filed = []
        if filters.filed_from is not None:
            filed.append(_FILINGS.c.filed_at >= filters.filed_from)
        if filters.filed_until is not None:
            filed.append(_FILINGS.c.filed_at < filters.filed_until)
        where.append(Claim.id.in_(own(_FILINGS, *filed)))
    return where


def _driven(filters: ClaimFilter) -> bool:
    """Whether a filter is a sub-select on another domain's table (few claims, found by their ids)."""
    return bool(
        filters.light
        or filters.overdue
        or filters.overdue_at
        or filters.disputed
        or filters.materials
        or filters.clock_policy
        or filters.clock_outcome
        or filters.clock_from
        or filters.filed_from
        or filters.filed_until
    )


def _days_between(start: Any, end: Any, dialect: str) -> Any:
    """Days from ``start`` to ``end`` as a number on both databases (UTCDateTime is UTC text on SQLite)."""
    if dialect == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return func.extract("epoch", end - start) / 86400.0


def next_due(claim_id: Any) -> Any:
    """The claim's nearest target among its open clocks (null when none runs)."""
    return (
        select(func.min(_CLOCKS.c.yellow_due_at))
        .where(_CLOCKS.c.claim_id == claim_id, _CLOCKS.c.state != "stopped")
        .scalar_subquery()
    )


def _order(sort: str, descending: bool, dialect: str = "postgresql") -> list[Any]:
    """The sort column, then the claim id in the same direction: a stable order for every page. Only the
    nullable amount asks for empty values last, and only where the database does not already put them there
    (an explicit NULLS LAST keeps SQLite from reading an index in order)."""
    key: Any = {
        "reported": Claim.reported_at,
        "deadline": next_due(Claim.id),
        "amount": Claim.reported_amount_fen,
        "status": Claim.status,
    }[sort]
    nullable = sort in ("amount", "deadline")
    ordered = key.desc() if descending else key.asc()
    if nullable and (dialect == "postgresql" or not descending):
        ordered = ordered.nulls_last()
    return [ordered, Claim.id.desc() if descending else Claim.id.asc()]


def search_claims(
    session: Session,
    filters: ClaimFilter,
    page: int,
    page_size: int,
    *,
    sort: str = "reported",
    descending: bool = True,
    now: dt.datetime | None = None,
    with_total: bool = True,
) -> tuple[int | None, list[Claim]]:
    """One page of the session's tenant's claims matching ``filters`` and, when asked, how many match.

    ``sort="deadline"`` is always nearest target first (then the claims with no open clock, newest first):
    it walks the open clocks in target order (index ix_sla_clocks_open_due) instead of computing every
    claim's nearest target."""
    dialect = session.get_bind().dialect.name
    tenant_id = tenant_context(session).tenant_id
    where = _conditions(filters, now or dt.datetime.now(dt.UTC), dialect, tenant_id)
    options: dict[str, Any] = {}
    if tenant_id is not None and _driven(filters):
        # A filter on another table (a light, a filing, a clock) selects few claims: let the database drive from
        # it by primary key. With the tenant's condition on claims as well, SQLite walks the tenant's whole index
        # and PostgreSQL scans the table. Every such sub-select names the tenant (``own``), so the claims it
        # yields are the tenant's; SQLite still checks it, in a form no index serves.
        # PostgreSQL pages best with the tenant's condition (newest claims first, each checked): only its count
        # drops it.
        if dialect == "sqlite":
            where = [*where, (Claim.tenant_id + 0) == tenant_id]
        options = {"include_all_tenants": True}
    page_options = options if dialect == "sqlite" else {}
    total = None
    if with_total:
        total = session.execute(
            select(func.count()).select_from(Claim).where(*where), execution_options=options
        ).scalar_one()
    if sort == "deadline":
        return total, _by_deadline(session, where, tenant_id, page, page_size)
    page_where = where
    if (
        dialect == "sqlite"
        and sort != "amount"
        and not options
        and (filters.amount_min_fen is not None or filters.amount_below_fen is not None)
    ):
        page_where = _conditions(filters, now or dt.datetime.now(dt.UTC), dialect, tenant_id, amount_by_index=False)
    if sort == "reported" and descending:
        return total, _priority_first(session, page_where, page, page_size, dialect, page_options)
    # Ids first (the sort carries only the key and the id), then the page's rows.
    ids = list(
        session.execute(
            select(Claim.id)
            .where(*page_where)
            .order_by(*_order(sort, descending, dialect))
            .offset((page - 1) * page_size)
            .limit(page_size),
            execution_options=page_options,
        ).scalars()
    )
    return total, _claims_in_order(session, ids)


def _priority_first(
    session: Session, where: list[Any], page: int, size: int, dialect: str, options: dict[str, Any]
) -> list[Claim]:
    """The default order, newest first, with the green channel ahead: claims with a priority (3 catastrophe,
    2 major case, 1 vulnerable customer; ``claims.priority``, written by triage) by priority, then the rest.
    The few prioritised claims come from the partial index ix_claims_tenant_priority (0022); the rest keep
    the list's own order and indexes, with ``priority <= 0`` checked on the way."""
    wanted = page * size
    first = list(
        session.execute(
            select(Claim.id)
            .where(*where, Claim.priority > 0)
            .order_by(Claim.priority.desc(), Claim.reported_at.desc(), Claim.id.desc())
            .limit(wanted),
            execution_options=options,
        ).scalars()
    )
    ids = first[(page - 1) * size : wanted]
    if len(ids) < size:
        rest = session.execute(
            select(Claim.id)
            .where(*where, Claim.priority <= 0)
            .order_by(*_order("reported", True, dialect))
            .offset(max(0, (page - 1) * size - len(first)))
            .limit(size - len(ids)),
            execution_options=options,
        ).scalars()
        ids.extend(rest)
    return _claims_in_order(session, ids)


def _claims_in_order(session: Session, ids: list[int]) -> list[Claim]:
    if not ids:
        return []
    # The ids come from the tenant-filtered query just run in this session: read them by primary key alone
    # (with the tenant condition added too, SQLite's planner may walk a tenant index instead of the keys).
    found = {
        claim.id: claim
        for claim in session.execute(
            select(Claim).where(Claim.id.in_(ids)), execution_options={"include_all_tenants": True}
        ).scalars()
    }
    return [found[claim_id] for claim_id in ids if claim_id in found]


_OPEN_CLOCK = _CLOCKS.c.state != "stopped"  # the partial index's own condition, spelled the same


def _by_deadline(session: Session, where: list[Any], tenant_id: int | None, page: int, size: int) -> list[Claim]:
    wanted = page * size
    mine = [_CLOCKS.c.tenant_id == tenant_id] if tenant_id is not None else []
    clocks = (
        select(_CLOCKS.c.claim_id)
        .join_from(_CLOCKS, Claim, Claim.id == _CLOCKS.c.claim_id)
        .where(*mine, _OPEN_CLOCK, _CLOCKS.c.yellow_due_at.is_not(None), *where)
        .order_by(_CLOCKS.c.yellow_due_at, _CLOCKS.c.claim_id)
    )
    ordered: list[int] = []
    seen: set[int] = set()
    offset, batch = 0, max(4 * wanted, 200)
    while len(ordered) < wanted:
        found = [row[0] for row in session.execute(clocks.offset(offset).limit(batch))]
        for claim_id in found:
            if claim_id not in seen:
                seen.add(claim_id)
                ordered.append(claim_id)
        if len(found) < batch:
            break
        offset += batch
    result = _claims_in_order(session, ordered[(page - 1) * size : wanted])
    if len(result) < size and len(ordered) < wanted:
        # Past the claims with a deadline: those without an open clock, newest first.
        skip = max(0, (page - 1) * size - len(ordered))
        with_due = select(_CLOCKS.c.claim_id).where(*mine, _OPEN_CLOCK, _CLOCKS.c.yellow_due_at.is_not(None))
        rest = session.execute(
            select(Claim)
            .where(*where, Claim.id.not_in(with_due))
            .order_by(Claim.reported_at.desc(), Claim.id.desc())
            .offset(skip)
            .limit(size - len(result))
        ).scalars()
        result.extend(rest)
    return result


def iter_claims(
    session: Session, filters: ClaimFilter, *, sort: str = "reported", descending: bool = True, chunk: int = 1000
) -> Iterator[list[Claim]]:
    """Every matching claim in list order, a chunk at a time (the CSV export)."""
    page = 1
    dialect = session.get_bind().dialect.name
    where = _conditions(filters, dt.datetime.now(dt.UTC), dialect, tenant_context(session).tenant_id)
    # The deadline order here is the list's (nearest first, then no deadline newest first) in one statement.
    due = next_due(Claim.id)
    order = (
        [due.asc().nulls_last(), case((due.is_(None), None), else_=Claim.id), Claim.reported_at.desc(), Claim.id.desc()]
        if sort == "deadline"
        else _order(sort, descending, dialect)
    )
    if sort == "reported" and descending:
        order = [Claim.priority.desc(), *order]  # the green channel ahead, as on the page (_priority_first)
    while True:
        rows = list(
            session.execute(
                select(Claim).where(*where).order_by(*order).offset((page - 1) * chunk).limit(chunk)
            ).scalars()
        )
        if rows:
            yield rows
        if len(rows) < chunk:
            return
        page += 1


def clock_summaries(session: Session, claim_ids: Sequence[int]) -> dict[int, tuple[str, dt.datetime | None]]:
    """For each claim with open clocks: its worst light and nearest target."""
    if not claim_ids:
        return {}
    rows = session.execute(
        select(_CLOCKS.c.claim_id, _CLOCKS.c.light, _CLOCKS.c.yellow_due_at).where(
            _CLOCKS.c.claim_id.in_(list(claim_ids)), _CLOCKS.c.state.in_(OPEN_CLOCK_STATES)
        )
    )
    found: dict[int, tuple[str, dt.datetime | None]] = {}
    for claim_id, light, due in rows:
        due = _as_utc(due)
        worst, nearest = found.get(claim_id, ("green", None))
        if LIGHTS.index(light or "green") > LIGHTS.index(worst):
            worst = light
        if due is not None and (nearest is None or due < nearest):
            nearest = due
        found[claim_id] = (worst, nearest)
    return found


def _as_utc(value: Any) -> dt.datetime | None:
    """A timestamp read through a lightweight table (no UTCDateTime type): aware UTC on both databases."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def staff_of(session: Session, tenant_id: int) -> list[tuple[int, str, str]]:
    """(id, username, display name) of the tenant's active staff, for the assignee filter."""
    rows = session.execute(
        select(User.id, User.username, User.display_name)
        .where(User.tenant_id == tenant_id, User.active.is_(True))
        .order_by(User.username)
    )
    return [(row[0], row[1], row[2]) for row in rows]


def list_claims(session: Session, filters: ClaimFilter, page: int, page_size: int) -> tuple[int, list[Claim]]:
    total, rows = search_claims(session, filters, page, page_size)
    assert total is not None
    return total, rows


def claim_by_number(session: Session, number: str) -> Claim | None:
    """Numbers are unique per tenant, so the session must be narrowed to one tenant."""
    if tenant_context(session).tenant_id is None:
        raise LookupError("claim numbers are unique per insurer: name the tenant")
    return session.execute(select(Claim).where(Claim.number == number)).scalar_one_or_none()


def timeline(session: Session, claim_id: int, since: dt.datetime | None = None) -> list[CaseEvent]:
    """The claim's events; ``since`` (a time before any was received) keeps PostgreSQL to recent partitions."""
    query = select(CaseEvent).where(CaseEvent.claim_id == claim_id)
    if since is not None:
        query = query.where(CaseEvent.received_at >= since)
    return list(session.execute(query.order_by(CaseEvent.audit_seq)).scalars())


CLOSED_CLAIM_FIELDS = (
    "id",
    "tenant_id",
    "number",
    "status",
    "closed_at",
    "org_unit_id",
    "region_code",
    "line",
    "assignee_id",
    "reopen_count",
)


def closed_between(session: Session, since: dt.datetime, until: dt.datetime) -> list[Any]:
    """Claims of the session's tenant in a terminal state whose closure falls in [since, until), oldest
    first: the columns of :data:`CLOSED_CLAIM_FIELDS`. A reopened claim has no ``closed_at``."""
    columns = [getattr(Claim, name) for name in CLOSED_CLAIM_FIELDS]
    return list(
        session.execute(
            select(*columns)
            .where(Claim.closed_at.is_not(None), Claim.closed_at >= since, Claim.closed_at < until)
            .order_by(Claim.closed_at, Claim.id)
        ).all()
    )


def user_id_by_username(session: Session, username: str) -> int | None:
    """A staff member of the session's tenant by user name (the assignee filter); None if unknown."""
    tenant_id = tenant_context(session).tenant_id
    query = select(User.id).where(User.username == username)
    if tenant_id is not None:
        query = query.where(User.tenant_id == tenant_id)
    return session.execute(query).scalar_one_or_none()
