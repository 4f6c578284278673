"""The report-time statements of one new claim, run on the session's DB-API connection (sqlite3 or psycopg)
with SQL text built once per dialect and shape, instead of SQLAlchemy Core.

Why: ingestion sends events one by one, and a reported event ran five statements on SQLite (two on PostgreSQL),
each costing 0.15–0.25 ms of SQLAlchemy Python (compiling the expanding IN lists, the parameter and result
processing) beside a few tens of microseconds in the driver — most of triage's own time per reported event
(p99 goal: 2 ms). The statements are the same as :mod:`.repository`'s Core ones (the tenant named in each);
they run on the connection of the session's transaction, so atomicity, the audit chain and the order of writes
are unchanged. What SQLAlchemy's column types did is done here: ``UTCDateTime`` as naive-UTC text on SQLite and
tz-aware UTC when read, ``JSON`` as ``json.dumps`` text. PostgreSQL statements are prepared server-side on first
use (``prepare=True``: the text is fixed per shape, the lists travel as arrays). ``tests/triage`` compares the
rows written here with those of the Core path.
"""

# ruff: noqa: S608 - every name and placeholder in the SQL text is a code constant; values travel as parameters
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.db import SqliteStamps, driver_connection, driver_rows, sqlite_timestamp, stored_instant

CONTACT_COLUMNS = ("tenant_id", "claim_id", "kind", "value", "identity", "region_code", "reported_at")
# The columns each write sets (as :mod:`.repository`'s DECISION_COLUMNS, SCORE_COLUMNS and TRIAGED_COLUMNS).
DECISION_COLUMNS = (
    "claim_id",
    "rule_set_id",
    "mode",
    "route",
    "would_be_route",
    "priority",
    "fired",
    "facts",
    "trigger",
    "event_ref",
    "reason",
    "decided_at",
    "tenant_id",
)
SCORE_COLUMNS = (
    "claim_id",
    "scored_at",
    "trigger",
    "score",
    "level",
    "points",
    "probability",
    "model_id",
    "flags_digest",
    "flags",
    "contributions",
    "inputs",
    "tenant_id",
)
CLAIM_COLUMNS = ("risk_score", "risk_level", "catastrophe_id", "route", "priority", "vulnerable")
_JSON = frozenset({"fired", "facts", "flags", "contributions", "inputs"})
_INSTANTS = frozenset({"decided_at", "scored_at", "reported_at"})
_PG_CASTS = {
    "claim_id": "bigint",
    "rule_set_id": "integer",
    "priority": "smallint",
    "points": "integer",
    "model_id": "bigint",
    "tenant_id": "integer",
    "catastrophe_id": "bigint",
    "score": "double precision",
    "probability": "double precision",
    "risk_score": "double precision",
    "vulnerable": "boolean",
    **{name: "json" for name in _JSON},
    **{name: "timestamptz" for name in _INSTANTS},
    "triage_decision_id": "bigint",
}
# What a re-evaluation or a new decision sets on the claim: its triaged columns and its latest decision.
UPDATED_CLAIM_COLUMNS = (*CLAIM_COLUMNS, "triage_decision_id")


def _pg_cast(name: str) -> str:
    return _PG_CASTS.get(name, "varchar")


def _pg_placeholders(prefix: str, names: Sequence[str]) -> str:
    """``%(prefix+name)s::type`` for each column, for psycopg's named parameters."""
    return ", ".join(f"%({prefix}{name})s::{_pg_cast(name)}" for name in names)


def _sqlite_insert(table: str, names: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


REGION_TOTAL, MODEL_ROW, EVENTS_ROW, LAST_EVENT_ROW = "#region", "#model", "#events", "#last"


def dialect_of(session: Session) -> str:
    return session.connection().dialect.name


# -- values as SQLAlchemy's column types would bind and read them -------------------------------------------


def _sqlite_value(name: str, value: Any) -> Any:
    if name in _JSON:
        return json.dumps(value)
    if name in _INSTANTS:
        return sqlite_timestamp(value)
    return value


def _pg_value(name: str, value: Any) -> Any:
    return json.dumps(value) if name in _JSON else value


# -- the history read (and the new claim's contacts) --------------------------------------------------------


def _history_sql(mark: str, kinds: str, values: str, regions: str | None, state: bool) -> str:
    """The union of :func:`claimwatch.triage.repository.history` with the dialect's placeholders: ``mark`` the
    named-parameter form (``:{}`` or ``%({})s``), ``kinds``/``values``/``regions`` the list conditions."""
    t = mark.format("tenant")
    parts = [
        "SELECT kind, value, claim_id, identity, reported_at FROM triage_contacts"
        f" WHERE tenant_id = {t} AND kind {kinds} AND value {values} AND reported_at >= {mark.format('since')}"
    ]
    if regions is not None:
        parts.append(
            f"SELECT '{REGION_TOTAL}', region_code, count(*), NULL, NULL FROM triage_contacts"
            f" WHERE tenant_id = {t} AND kind = 'provider' AND region_code {regions}"
            f" AND reported_at >= {mark.format('provider_since')} AND reported_at <= {mark.format('until')}"
            " GROUP BY region_code"
        )
    if state:
        model = f"FROM risk_models WHERE tenant_id = {t} AND status = 'active' LIMIT 1"
        parts.append(f"SELECT '{MODEL_ROW}', (SELECT digest {model}), (SELECT id {model}), NULL, NULL")
        parts.append(
            f"SELECT '{EVENTS_ROW}', NULL, count(*), NULL, max(updated_at) FROM catastrophes WHERE tenant_id = {t}"
        )
        parts.append(f"SELECT '{LAST_EVENT_ROW}', NULL, max(id), NULL, NULL FROM catastrophes WHERE tenant_id = {t}")
    return " UNION ALL ".join(parts)


_SQLITE_HISTORY: dict[tuple[int, int, int, bool], str] = {}
_PG_HISTORY: dict[tuple[bool, bool, bool], str] = {}
_SQLITE_INSERT_CONTACTS = _sqlite_insert("triage_contacts", CONTACT_COLUMNS)


def _sqlite_list(prefix: str, count: int) -> str:
    return "IN (" + ", ".join(f":{prefix}{k}" for k in range(count)) + ")"


def _sqlite_history(kinds: int, values: int, regions: int, state: bool) -> str:
    key = (kinds, values, regions, state)
    text = _SQLITE_HISTORY.get(key)
    if text is None:
        region_list = _sqlite_list("r", regions) if regions else None
        text = _history_sql(":{}", _sqlite_list("k", kinds), _sqlite_list("v", values), region_list, state)
        if len(_SQLITE_HISTORY) > 256:  # the shapes are few (one claim: 1–4 values); a bound all the same
            _SQLITE_HISTORY.clear()
        _SQLITE_HISTORY[key] = text
    return text


def _pg_history(regions: bool, state: bool, contacts: bool) -> str:
    key = (regions, state, contacts)
    text = _PG_HISTORY.get(key)
    if text is None:
        # = ANY(array): one text for any number of values, so one server-side prepared statement per shape.
        text = _history_sql(
            "%({})s",
            "= ANY(%(kinds)s::varchar[])",
            "= ANY(%(values)s::varchar[])",
            "= ANY(%(regions)s::varchar[])" if regions else None,
            state,
        )
        if contacts:  # a data-modifying CTE: the contacts are written by the same statement
            arrays = ", ".join(f"%(c_{name})s::{_pg_cast(name)}[]" for name in CONTACT_COLUMNS[1:])
            text = (
                f"WITH new_contacts AS (INSERT INTO triage_contacts ({', '.join(CONTACT_COLUMNS)})"
                f" SELECT %(tenant)s::integer, v.* FROM unnest({arrays}) AS v) {text}"
            )
        _PG_HISTORY[key] = text
    return text


def history_rows(
    session: Session,
    tenant_id: int,
    kinds: Sequence[str],
    values: Sequence[str],
    since: dt.datetime,
    regions: Sequence[str],
    provider_since: dt.datetime,
    until: dt.datetime,
    *,
    with_state: bool,
    new_contacts: Sequence[tuple[Any, ...]],
) -> list[tuple[Any, ...]]:
    """The rows of the history union (kind, value, claim id or count, identity, instant), the instants tz-aware
    UTC, after writing ``new_contacts`` (:data:`CONTACT_COLUMNS` rows of this tenant) in the same transaction.
    The answer does not include the new contacts (on PostgreSQL they are written by the same statement, which
    cannot see them; on SQLite they are written after the read, so both databases answer alike): the caller
    adds them."""
    if any(row[0] != tenant_id for row in new_contacts):
        raise ValueError("contacts of another tenant")
    driver = driver_connection(session)
    if dialect_of(session) == "postgresql":
        parameters: dict[str, Any] = {"tenant": tenant_id, "kinds": list(kinds), "values": list(values)}
        parameters["since"] = since
        if regions:
            parameters.update(regions=list(regions), provider_since=provider_since, until=until)
        if new_contacts:
            columns = list(zip(*new_contacts, strict=True))
            parameters.update((f"c_{name}", list(columns[k])) for k, name in enumerate(CONTACT_COLUMNS) if k)
        with driver.cursor() as cursor:
            cursor.execute(_pg_history(bool(regions), with_state, bool(new_contacts)), parameters, prepare=True)
            rows = cursor.fetchall()
        return _with_instants(rows)
    named: dict[str, Any] = {"tenant": tenant_id, "since": sqlite_timestamp(since)}
    named.update((f"k{k}", kind) for k, kind in enumerate(kinds))
    named.update((f"v{k}", value) for k, value in enumerate(values))
    if regions:
        named.update((f"r{k}", region) for k, region in enumerate(regions))
        named.update(provider_since=sqlite_timestamp(provider_since), until=sqlite_timestamp(until))
    cursor = driver.cursor()
    try:
        cursor.execute(_sqlite_history(len(kinds), len(values), len(regions), with_state), named)
        rows = cursor.fetchall()
        if new_contacts:
            stamp = SqliteStamps()  # a claim's contacts share its reported_at
            cursor.executemany(_SQLITE_INSERT_CONTACTS, [(*row[:-1], stamp(row[-1])) for row in new_contacts])
    finally:
        cursor.close()
    return _with_instants(rows)


def _with_instants(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [(kind, value, number, identity, stored_instant(at)) for kind, value, number, identity, at in rows]


# -- the writes: the score row, the decision, the claim's triaged columns ------------------------------------


_PG_INSERT_SCORE = (
    f"INSERT INTO risk_scores ({', '.join(SCORE_COLUMNS)}) VALUES ({_pg_placeholders('s_', SCORE_COLUMNS)})"
)


def _pg_sets(names: Sequence[str]) -> str:
    return ", ".join(f"{name} = %(set_{name})s::{_pg_cast(name)}" for name in names)


def _pg_write_sql(with_score: bool) -> str:
    sets = _pg_sets(CLAIM_COLUMNS)
    score = f"new_score AS ({_PG_INSERT_SCORE}), " if with_score else ""
    return (
        f"WITH {score}new_decision AS (INSERT INTO triage_decisions ({', '.join(DECISION_COLUMNS)})"
        f" VALUES ({_pg_placeholders('d_', DECISION_COLUMNS)}) RETURNING id, claim_id)"
        f" UPDATE claims SET {sets}, triage_decision_id = new_decision.id FROM new_decision"
        " WHERE claims.id = new_decision.claim_id AND claims.tenant_id = %(tenant)s::integer RETURNING new_decision.id"
    )


_PG_WRITE = {with_score: _pg_write_sql(with_score) for with_score in (False, True)}


_SQLITE_INSERT_SCORE = _sqlite_insert("risk_scores", SCORE_COLUMNS)
_SQLITE_INSERT_DECISION = _sqlite_insert("triage_decisions", DECISION_COLUMNS)
_SQLITE_UPDATE_CLAIM = (
    f"UPDATE claims SET {', '.join(f'{n} = ?' for n in UPDATED_CLAIM_COLUMNS)} WHERE id = ? AND tenant_id = ?"
)


def write_one(
    session: Session,
    tenant_id: int,
    claim: Mapping[str, Any],
    decision: Mapping[str, Any],
    score: Mapping[str, Any] | None,
) -> int:
    """One new claim's score row (``score``: ``risk_scores`` columns, or None when the scorer wrote it), its
    decision (``triage_decisions`` columns) and its triaged columns (``claim``: ``id`` and
    :data:`CLAIM_COLUMNS`; ``triage_decision_id`` becomes the new decision's). Returns the decision's id.
    PostgreSQL: one statement (data-modifying CTEs); SQLite: one per table (the id is the cursor's
    ``lastrowid``)."""
    driver = driver_connection(session)
    if dialect_of(session) == "postgresql":
        parameters: dict[str, Any] = {f"d_{n}": _pg_value(n, decision[n]) for n in DECISION_COLUMNS}
        parameters.update((f"set_{n}", claim[n]) for n in CLAIM_COLUMNS)
        parameters["tenant"] = tenant_id
        if score is not None:
            parameters.update((f"s_{n}", _pg_value(n, score[n])) for n in SCORE_COLUMNS)
        with driver.cursor() as cursor:
            cursor.execute(_PG_WRITE[score is not None], parameters, prepare=True)
            found = cursor.fetchone()
        if found is None:
            raise LookupError(f"claim {claim['id']} is not a claim of tenant {tenant_id}")
        return int(found[0])
    cursor = driver.cursor()
    try:
        if score is not None:
            cursor.execute(_SQLITE_INSERT_SCORE, [_sqlite_value(n, score[n]) for n in SCORE_COLUMNS])
        cursor.execute(_SQLITE_INSERT_DECISION, [_sqlite_value(n, decision[n]) for n in DECISION_COLUMNS])
        decision_id = int(cursor.lastrowid)
        cursor.execute(_SQLITE_UPDATE_CLAIM, [*(claim[n] for n in CLAIM_COLUMNS), decision_id, claim["id"], tenant_id])
        if cursor.rowcount != 1:
            raise LookupError(f"claim {claim['id']} is not a claim of tenant {tenant_id}")
    finally:
        cursor.close()
    return decision_id


# -- a re-evaluation's writes: the new score row and the claim's changed columns --------------------------------


def _pg_rescored_sql(with_score: bool, with_claim: bool) -> str:
    if not with_claim:
        return _PG_INSERT_SCORE
    sets = _pg_sets(UPDATED_CLAIM_COLUMNS)
    update = f"UPDATE claims SET {sets} WHERE id = %(claim)s::bigint AND tenant_id = %(tenant)s::integer"
    return f"WITH new_score AS ({_PG_INSERT_SCORE}) {update}" if with_score else update


_PG_RESCORED = {(s, c): _pg_rescored_sql(s, c) for s in (False, True) for c in (False, True) if s or c}


def write_rescored(
    session: Session, tenant_id: int, claim: Mapping[str, Any] | None, score: Mapping[str, Any] | None
) -> None:
    """A re-evaluated claim's new score row (``risk_scores`` columns) and its changed triaged columns (``id``,
    :data:`CLAIM_COLUMNS` and ``triage_decision_id``), either may be None: one statement on PostgreSQL, one per
    table on SQLite."""
    if claim is None and score is None:
        return
    driver = driver_connection(session)
    if dialect_of(session) == "postgresql":
        parameters: dict[str, Any] = {"tenant": tenant_id}
        if score is not None:
            parameters.update((f"s_{n}", _pg_value(n, score[n])) for n in SCORE_COLUMNS)
        if claim is not None:
            parameters.update((f"set_{n}", claim[n]) for n in UPDATED_CLAIM_COLUMNS)
            parameters["claim"] = claim["id"]
        with driver.cursor() as cursor:
            cursor.execute(_PG_RESCORED[(score is not None, claim is not None)], parameters, prepare=True)
        return
    cursor = driver.cursor()
    try:
        if score is not None:
            cursor.execute(_SQLITE_INSERT_SCORE, [_sqlite_value(n, score[n]) for n in SCORE_COLUMNS])
        if claim is not None:
            cursor.execute(_SQLITE_UPDATE_CLAIM, [*(claim[n] for n in UPDATED_CLAIM_COLUMNS), claim["id"], tenant_id])
    finally:
        cursor.close()


# -- the amount change's first look ---------------------------------------------------------------------------

_ROUTES = (
    "SELECT d.route, d.would_be_route FROM claims c JOIN triage_decisions d ON d.id = c.triage_decision_id"
    " WHERE c.tenant_id = {t} AND c.id = {c} AND c.closed_at IS NULL"
)
_SQLITE_ROUTES = _ROUTES.format(t="?", c="?")
_PG_ROUTES = _ROUTES.format(t="%s", c="%s")


def decision_routes(session: Session, tenant_id: int, claim_id: int) -> tuple[str, str] | None:
    """(route, would-be route) of an open, triaged claim's latest decision; None for a closed or untriaged
    one. Most amount changes re-evaluate nothing (a claim on the normal route stays there): this narrow read
    says so before the claim and its decision are read whole."""
    found = driver_rows(session, _PG_ROUTES, _SQLITE_ROUTES, (tenant_id, claim_id))
    return (str(found[0][0]), str(found[0][1])) if found else None


# -- a re-evaluation's read: the claim, its latest decision and the tenant state ---------------------------------


class CurrentRead:
    """The wide read of one open, triaged claim with its latest decision and the tenant state (the active model's
    id and digest, the catastrophe events' count, last id and last change): :mod:`.repository`'s Core statement
    ``_CURRENT`` with the dialect's placeholders, built once; PostgreSQL prepares it server-side. Values come back
    as SQLAlchemy's column types give them: ``instants`` tz-aware UTC, ``flags`` bool, ``documents`` (JSON)
    decoded on SQLite (psycopg decodes ``json`` itself)."""

    def __init__(
        self,
        claim_columns: Sequence[str],
        decision_columns: Sequence[str],
        instants: frozenset[str],
        flags: frozenset[str],
        documents: frozenset[str],
    ) -> None:
        self.claim_columns = tuple(claim_columns)
        self.decision_columns = tuple(decision_columns)
        names = [*(f"c.{n}" for n in claim_columns), *(f"d.{n}" for n in decision_columns)]
        self._converters = [
            *(self._converter(n, instants, flags, frozenset()) for n in claim_columns),
            *(self._converter(n, instants, flags, documents) for n in decision_columns),
        ]
        self._sql = {mark: self._text(names, mark) for mark in (":{}", "%({})s")}

    @staticmethod
    def _converter(name: str, instants: frozenset[str], flags: frozenset[str], documents: frozenset[str]) -> str:
        return "instant" if name in instants else "flag" if name in flags else "json" if name in documents else ""

    @staticmethod
    def _text(names: Sequence[str], mark: str) -> str:
        t = mark.format("tenant")
        model = f"FROM risk_models WHERE tenant_id = {t} AND status = 'active' LIMIT 1"
        events = f"FROM catastrophes WHERE tenant_id = {t}"
        state = (
            f"(SELECT id {model}), (SELECT digest {model}), (SELECT count(*) {events}), (SELECT max(id) {events}),"
            f" (SELECT max(updated_at) {events})"
        )
        return (
            f"SELECT {', '.join(names)}, {state} FROM claims c JOIN triage_decisions d ON d.id = c.triage_decision_id"
            f" WHERE c.tenant_id = {t} AND c.id = {mark.format('claim')} AND c.closed_at IS NULL"
        )

    def __call__(
        self, session: Session, tenant_id: int, claim_id: int
    ) -> tuple[dict[str, Any], dict[str, Any], tuple[Any, ...]] | None:
        """(claim columns, decision columns, the five state values) of the claim, None if it is closed,
        untriaged or not the tenant's."""
        postgresql = dialect_of(session) == "postgresql"
        rows = driver_rows(session, self._sql["%({})s"], self._sql[":{}"], {"tenant": tenant_id, "claim": claim_id})
        if not rows:
            return None
        row = rows[0]
        values = [_read(kind, value, postgresql) for kind, value in zip(self._converters, row, strict=False)]
        split = len(self.claim_columns)
        claim = dict(zip(self.claim_columns, values[:split], strict=True))
        decision = dict(zip(self.decision_columns, values[split:], strict=True))
        model_id, digest, events, last_id, last_change = row[len(values) :]
        return claim, decision, (model_id, digest, events, last_id, stored_instant(last_change))


def _read(kind: str, value: Any, postgresql: bool) -> Any:
    if value is None or not kind:
        return value
    if kind == "instant":
        return stored_instant(value)
    if kind == "flag":
        return bool(value)
    return value if postgresql else json.loads(value)
