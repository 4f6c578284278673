"""Triage at report time (智能预审): facts, risk score, rules, the claim's route; rule-set versions and modes.

The pipeline runs inside the ingesting transaction (a ``CASE_EVENTS`` subscriber, :mod:`.subscriptions`):
facts for each new claim (:mod:`.facts`), catastrophe matching, the risk score
(:func:`claimwatch.risk.service.score_claims`), then the rules of the version in force. Every evaluation is a
decision row naming the version (whose content and digest are in the audit chain) and the facts it saw; in
active mode the claim's columns change (``route``, ``priority``, ``vulnerable``), in monitor mode only the
would-be route is stored. The ingesting transaction holds the audit chain, so a decision is not an audit entry
of its own: it is caused by an audited event (``event_ref``) under an audited rule set, and can be replayed.

Later events re-evaluate a triaged claim: an ``amounts`` event (the amount changed) and entering one of the rule
set's ``reevaluate_statuses`` (an investigation: ``investigation`` becomes true and stays true).
"""

from __future__ import annotations

import datetime as dt
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from claimwatch import params
from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.events import CaseChange
from claimwatch.cases.models import Claim
from claimwatch.db import data_generation, tenant_context, utc_now
from claimwatch.errors import Forbidden, Invalid, NotFound
from claimwatch.risk import service as risk_service
from claimwatch.risk.facts import ClaimFacts
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.triage import catastrophes, fast_track, loader, repository
from claimwatch.triage import facts as facts_builder
from claimwatch.triage.models import TriageDecision, TriageRuleSet
from claimwatch.triage.rules import MODES, Outcome, RuleSet, stronger

SYSTEM_ACTOR = "system:triage"
CATASTROPHE_PRIORITY = 3
MAX_RULE_FILE = 256 * 1024


# -- rule-set versions -------------------------------------------------------------------------------------


def _tenant(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "triage rules belong to one insurer; this account belongs to none")
    return principal.tenant_id


def check_rule_set(text: str, source: str = "rules.yaml", mode: str | None = None) -> RuleSet:
    """Parse and validate; a bad file is :class:`Invalid` on ``content`` with ``file:line`` in the message."""
    if len(text.encode()) > MAX_RULE_FILE:
        raise Invalid("content", f"a rule file is at most {MAX_RULE_FILE // 1024} KiB")
    try:
        return loader.parse_rule_set(text, source, mode)
    except loader.ConfigFileError as exc:
        raise Invalid("content", str(exc)) from exc


def load_rule_set(
    session: Session,
    principal: Principal,
    text: str | None = None,
    source: str | None = None,
    mode: str | None = None,
    active_from: dt.datetime | None = None,
) -> TriageRuleSet:
    """Put a new version in force for the caller's insurer (from ``active_from``, default now). ``text`` None:
    the insurer's rule file (``loader.rule_file``). ``mode`` overrides the file's. Audited as
    ``config.triage_rules`` with version, digest, mode and the YAML itself; nothing is stored if it is invalid."""
    principal.require(Permission.MANAGE_TRIAGE_RULES)
    tenant_id = _tenant(principal)
    audit_service.open_chain(session, tenant_id).close()  # the chain first: every later read is serialised
    if mode is not None and mode not in MODES:
        raise Invalid("mode", f"mode must be monitor or active, not {mode!r}")
    if text is None:
        tenant = tenancy_repository.tenant_by_id(session, tenant_id)
        assert tenant is not None
        path = loader.rule_file(tenant.code)
        text, source = path.read_text(encoding="utf-8"), source or path.name
    source = (source or "api")[:300]
    parsed = check_rule_set(text, source, mode)
    return _store(session, principal, tenant_id, parsed, text, source, active_from, "load")


def _store(
    session: Session,
    principal: Principal,
    tenant_id: int,
    parsed: RuleSet,
    text: str,
    source: str,
    active_from: dt.datetime | None,
    action: str,
) -> TriageRuleSet:
    now = utc_now()
    active_from = params.checked_instant("active_from", active_from)
    row = TriageRuleSet(
        tenant_id=tenant_id,
        version=parsed.version,
        digest=parsed.digest,
        mode=parsed.mode,
        content=text,
        source=source,
        rule_count=len(parsed.rules),
        active_from=active_from or now,
        loaded_by=principal.actor,
        loaded_at=now,
    )
    session.add(row)
    session.flush()
    _forget_head(session, tenant_id)
    row.audit_seq = audit_service.record(
        session,
        tenant_id,
        "config.triage_rules",
        parsed.version,
        principal.actor,
        {
            "action": action,
            "rule_set_id": row.id,
            "version": parsed.version,
            "sha256": parsed.digest,
            "mode": parsed.mode,
            "active_from": row.active_from.isoformat(),
            "rules": [rule.code for rule in parsed.rules],
            "source": source,
            "yaml": text,
        },
    )
    session.flush()
    return row


def set_mode(session: Session, principal: Principal, mode: str) -> TriageRuleSet:
    """Switch the version in force between monitor and active: a new version row with the same content."""
    principal.require(Permission.MANAGE_TRIAGE_RULES)
    tenant_id = _tenant(principal)
    audit_service.open_chain(session, tenant_id).close()
    if mode not in MODES:
        raise Invalid("mode", f"mode must be monitor or active, not {mode!r}")
    current = repository.rule_set_in_force(session, utc_now())
    if current is None:
        raise NotFound("mode", "no triage rule set is loaded for this insurer: load one first")
    if current.mode == mode:
        return current
    parsed = check_rule_set(current.content, current.source, mode)
    return _store(session, principal, tenant_id, parsed, current.content, current.source, None, f"mode:{mode}")


@dataclass(frozen=True)
class InForce:
    row_id: int
    mode: str
    rules: RuleSet


_PARSED: dict[tuple[str, str], RuleSet] = {}  # (digest, mode) -> rules: a version's content never changes
_HEADS: dict[tuple[str, int], tuple[float, tuple[int, str, str] | None]] = {}
HEAD_TTL_SECONDS = 2.0  # how long a process may keep using the version it read before looking again


def in_force(session: Session, at: dt.datetime | None = None) -> InForce | None:
    """The version in force for the session's insurer. Ingestion asks on every event, so the answer (id, mode,
    digest: one indexed read) is kept for ``HEAD_TTL_SECONDS`` per database and insurer; a version loaded in
    this process is seen at once, one loaded elsewhere within that time. The content is read and parsed once."""
    tenant_id = tenant_context(session).tenant_id
    key = (_database(session), tenant_id or 0)
    now = time.monotonic()
    cached = _HEADS.get(key) if at is None else None
    if cached is not None and now - cached[0] < HEAD_TTL_SECONDS:
        head = cached[1]
    else:
        head = repository.rule_set_head(session, at or utc_now(), tenant_id)
        if at is None:
            _HEADS[key] = (now, head)
    if head is None:
        return None
    row_id, mode, digest = head
    rules = _PARSED.get((digest, mode))
    if rules is None:
        row = repository.rule_set(session, row_id)
        assert row is not None
        rules = _PARSED.setdefault((digest, mode), loader.parsed(row.content, row.source, row.mode))
    return InForce(row_id, mode, rules)


def _forget_head(session: Session, tenant_id: int) -> None:
    _HEADS.pop((_database(session), tenant_id), None)


def _database(session: Session) -> str:
    """What a process cache of this database's rows is keyed by: its URL, and which rows are behind it now (a
    database put back from a copy under the same URL must not find another one's rule-set id)."""
    engine = session.get_bind().engine
    url = _URLS.get(engine)
    if url is None:  # rendering the URL cost a tenth of a reported event's Python: once per engine
        url = _URLS[engine] = str(engine.url)
    return f"{url}#{id(engine)}#{data_generation()}"


_URLS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


# -- the pipeline ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    kind: str  # reported | amounts | status | assigned | review | replay
    event_ref: str | None = None
    reason: str | None = None
    # When the case event ``event_ref`` happened (``CaseChange.at``, stored as its ``occurred_at``), when the
    # caller has it: the clocks that follow a new route count from it without reading the event back.
    occurred_at: dt.datetime | None = None


def on_case_events(session: Session, tenant_id: int, changes: Sequence[CaseChange]) -> int:
    """The subscriber: new claims are triaged; triaged claims are re-evaluated on an amount change or on entering
    a re-evaluation status, and scored again when they get a handler with an amount authority. Returns how many
    claims were evaluated."""
    reported = [change for change in changes if change.event_type == "reported"]
    later = [change for change in changes if change.event_type in ("amounts", "transition")]
    # A claim reported in the same batch was scored with its handler already (report_facts reads the batch's end).
    new_claims = {change.claim_id for change in reported}
    assigned = [c for c in changes if c.event_type == "assigned" and c.claim_id not in new_claims]
    if not reported and not later and not assigned:
        return 0
    rules = in_force(session)
    done = 0
    if reported:
        done += triage_reported(session, tenant_id, reported, rules)
    if later and rules is not None:
        done += _reevaluate_changes(session, tenant_id, later, rules)
    if assigned:
        done += rescore_assigned(session, tenant_id, assigned, rules)
    return done


def rescore_assigned(
    session: Session, tenant_id: int, changes: Sequence[CaseChange], rules: InForce | None = None
) -> int:
    """Claims that got a handler with an amount authority (权限, assignment's handler profile) are scored again,
    and evaluated again under the rule set in force: "amount just under an authority limit" then measures the
    amount against that handler's own limit, where at report time (no handler yet) it took the red-flag file's
    nearest tier. A handler without a limit changes no fact: nothing is written. Returns the claims scored."""
    events = {change.claim_id: change for change in changes}
    handlers = repository.scored_handlers(session, tenant_id, events)
    limits = facts_builder.authority_by_user(session, tenant_id, handlers.values())
    wanted = [claim_id for claim_id, user_id in handlers.items() if user_id in limits]
    if not wanted:
        return 0
    claims = repository.claims_by_ids(session, wanted)
    if rules is None:  # no rule set: the score alone, as at report time
        _score(session, tenant_id, claims, facts_builder.build_facts(session, tenant_id, claims), "rescore")
        return len(claims)
    for claim in claims:
        change = events[claim.id]
        trigger = Trigger("assigned", change.event_ref, "handler assigned", change.at)
        reevaluate(session, tenant_id, [claim.id], trigger, rules=rules)
    return len(claims)


def triage_reported(
    session: Session, tenant_id: int, changes: Sequence[CaseChange], rules: InForce | None = None
) -> int:
    """New claims: contacts, facts, catastrophe, score, rules, decision, the claims' columns. The claims are
    those the ingesting call hands over (``CaseChange.claim_row``: no read-back) and their writes are Core
    statements (:func:`repository.write_triaged`); a change without its row has its claim read and written
    through the session."""
    handed = [change.claim_row for change in changes if change.claim_row is not None]
    if len(handed) == len(changes):
        claims = repository.claims_from_rows(handed)
    else:
        claims = repository.claims_by_ids(session, [change.claim_id for change in changes])
    if not claims:
        return 0
    reports = {
        change.claim_id: facts_builder.Report(change.report_data or {}, change.contact_hashes or {})
        for change in changes
    }
    found, state = facts_builder.report_facts(session, tenant_id, claims, reports)
    refs = {change.claim_id: change.event_ref for change in changes}
    scores: list[dict[str, Any]] | None = [] if len(handed) == len(changes) else None
    _score(session, tenant_id, claims, found, "reported", state, scores)
    pending: list[_Pending] = []
    detached = len(handed) == len(changes)  # the decisions are written by Core statements, not the session
    if rules is not None:
        now = utc_now()
        pending = [
            _decide(tenant_id, rules, claim, found[claim.id], Trigger("reported", refs.get(claim.id)), now, detached)
            for claim in claims
        ]
    if detached:
        decisions: dict[int, TriageDecision] = {item.claim.id: _settle(rules, item) for item in pending}
        # The clocks follow the route without help here: the SLA subscription runs after this one on the same
        # events and starts the route's policies from claims.route (claimwatch/subscriptions.py keeps the order).
        repository.write_triaged(
            session, tenant_id, claims, [decisions.get(claim.id) for claim in claims], scores or ()
        )
    elif rules is not None:
        _apply(session, rules, claims, pending, always=True, clocks_follow=False)
    return len(claims)


def _settle(rules: InForce | None, item: _Pending) -> TriageDecision:
    """A new claim's decision applied to the (unsaved) claim, as :func:`_apply` does for a stored one; the
    decision's id comes with the write."""
    assert rules is not None
    if rules.mode == "active":
        item.claim.route = item.row.route
        item.claim.priority = item.row.priority
        if item.outcome.vulnerable:
            item.claim.vulnerable = True
    return item.row


def _score(
    session: Session,
    tenant_id: int,
    claims: Sequence[Claim],
    found: Mapping[int, ClaimFacts],
    how: str,
    state: repository.TenantState | None = None,
    scores: list[dict[str, Any]] | None = None,
) -> None:
    """Catastrophe events, then the risk score: both are facts the rules test. One round trip says whether
    the insurer's active model and events are still those this process keeps (``repository.tenant_state``,
    or ``state`` when the caller read it along with something else): neither is read again while they are.
    ``scores``: where the score rows go when the caller writes them itself (``risk_service.score_claims``)."""
    model_key, events_etag = state if state is not None else repository.tenant_state(session, tenant_id)
    _mark_catastrophes(session, tenant_id, claims, found, events_etag)
    risk_service.score_claims(
        session,
        tenant_id,
        list(claims),
        [found[c.id] for c in claims],
        trigger=how,
        model_key=model_key,
        deferred=scores,
    )


def _mark_catastrophes(
    session: Session,
    tenant_id: int,
    claims: Sequence[Claim],
    found: Mapping[int, ClaimFacts],
    events_etag: Any = None,
) -> None:
    """Claims inside a declared catastrophe event join it (triage.catastrophes)."""
    key = (_database(session), tenant_id)
    cache = (key, events_etag) if events_etag is not None else None
    catastrophes.mark_claims(session, tenant_id, list(claims), found, cache=cache)
    for claim in claims:
        if claim.catastrophe_id is not None:
            found[claim.id].catastrophe = True


@dataclass
class _Pending:
    claim: Claim
    outcome: Outcome
    row: TriageDecision


def _decide(
    tenant_id: int,
    rules: InForce,
    claim: Claim,
    facts: ClaimFacts,
    trigger: Trigger,
    now: dt.datetime,
    detached: bool = False,
) -> _Pending:
    """The rules' outcome for one claim and the decision row that records it. ``detached``: the row is written
    by a Core statement (:func:`repository.write_triaged`), never added to the session, so it is built without
    the mapped constructor's attribute events."""
    outcome = rules.rules.evaluate(facts)
    route = claim.route
    priority = claim.priority
    if rules.mode == "active":
        route = outcome.route
        priority = outcome.priority
        if claim.catastrophe_id is not None:  # a declared catastrophe keeps its claims in the green channel
            route = stronger(route, "green")
            priority = max(priority, CATASTROPHE_PRIORITY)
    values = {
        "tenant_id": tenant_id,
        "claim_id": claim.id,
        "rule_set_id": rules.row_id,
        "mode": rules.mode,
        "route": route,
        "would_be_route": outcome.route,
        "priority": priority,
        "fired": outcome.fired_json(),
        "facts": facts.as_dict(),
        "trigger": trigger.kind,
        "event_ref": trigger.event_ref,
        "reason": (trigger.reason or None) and trigger.reason[:300],
        "decided_at": now,
    }
    row = repository.detached_decision(values) if detached else TriageDecision(**values)
    return _Pending(claim, outcome, row)


def _apply(
    session: Session,
    rules: InForce,
    claims: Sequence[Claim],
    pending: list[_Pending],
    always: bool,
    clocks_follow: bool = True,
    latest: Mapping[int, TriageDecision] | None = None,
    store: bool = True,
    occurred: Mapping[str, dt.datetime] | None = None,
) -> list[_Pending]:
    """Keep the decisions that say something new and, in active mode, move the claims; returns those kept.
    ``latest``: each claim's latest decision when the caller has it (else read here). ``store``: the decisions
    are stored here through the session (each gets its id, its claim ``triage_decision_id``); False: the
    caller writes them with the claim (:func:`repository.write_redecided`). ``occurred``: when the triggering
    case events happened (by event ref), for the clocks that follow a new route."""
    if always:
        latest = {}
    elif latest is None:
        latest = repository.latest_decisions(session, [p.claim.id for p in pending])
    kept: list[_Pending] = []
    for item in pending:
        before = latest.get(item.claim.id)
        if (
            before is not None
            and before.rule_set_id == item.row.rule_set_id
            and before.route == item.row.route
            and before.would_be_route == item.row.would_be_route
            and before.priority == item.row.priority
            and before.fired == item.row.fired
        ):
            continue
        kept.append(item)
    if not kept:
        return kept
    moving = [item for item in kept if rules.mode == "active" and item.claim.route != item.row.route]
    for item in moving:
        if item.claim.route == fast_track.FAST_TRACK:  # e.g. an investigation ended its eligibility
            item.row.reason = fast_track.leaving_reason(item.row.facts, item.row.route, item.row.reason)
    if store:
        session.add_all([item.row for item in kept])
        session.flush()
    for item in kept:
        claim = item.claim
        claim.triage_decision_id = item.row.id
        if rules.mode == "active":
            claim.route = item.row.route
            claim.priority = item.row.priority
            if item.outcome.vulnerable:
                claim.vulnerable = True
    if moving and clocks_follow:
        # The route-selected SLA clocks (fast_track_decision, the green channel's) follow the new route.
        moved = [(item.claim, item.row) for item in moving]
        fast_track.follow_routes(session, moving[0].claim.tenant_id, moved, SYSTEM_ACTOR, occurred)
    return kept


def reevaluate(
    session: Session,
    tenant_id: int,
    claim_ids: Sequence[int],
    trigger: Trigger,
    *,
    investigation: bool | None = None,
    rescore: bool = True,
    rules: InForce | None = None,
    current: Mapping[int, tuple[Claim, TriageDecision]] | None = None,
    state: repository.TenantState | None = None,
) -> int:
    """Evaluate claims again under the version in force (e.g. an investigation started, a review decided):
    ``investigation`` kept true once it was. A decision is stored only when something changed. Returns how
    many decisions were stored.

    ``current``: the claims with their latest decision (``repository.current_decisions``), as the ingestion
    path has them. Their facts are then the latest decision's (the report and the history as of the report
    do not change) with what the claim itself says now (amount, catastrophe, risk, org unit): no report,
    contact or history reads. Otherwise the facts are rebuilt from the stored report. ``state``: the tenant
    state read with them (``repository.current_decisions_and_state``)."""
    rules = rules or in_force(session)
    if rules is None or not claim_ids:
        return 0
    latest: dict[int, TriageDecision]
    if current is not None:
        claims = [current[claim_id][0] for claim_id in sorted(set(claim_ids)) if claim_id in current]
        latest = {claim.id: current[claim.id][1] for claim in claims}
    else:
        claims = [c for c in repository.claims_by_ids(session, claim_ids) if c.closed_at is None]
        latest = repository.latest_decisions(session, [c.id for c in claims]) if claims else {}
    if not claims:
        return 0
    flags = {
        c.id: bool(investigation) or (c.id in latest and bool(latest[c.id].facts.get("investigation"))) for c in claims
    }
    if current is not None:
        found = facts_builder.facts_from_decisions(session, tenant_id, claims, latest, investigation=flags)
    else:
        found = facts_builder.build_facts(session, tenant_id, claims, investigation=flags)
    # Claims read detached (repository.current_rows_and_state) are not in the session: what changes on them is
    # written here, after the decisions (repository.write_reevaluated).
    detached = {c.id: repository.triaged_values(c) for c in claims if inspect(c).transient}
    # One detached claim (ingestion's events come one by one): its new score row is written with its columns at
    # the end (repository.write_reevaluated: one round trip on PostgreSQL) unless the score opens a review.
    scores: list[dict[str, Any]] | None = [] if len(claims) == 1 and detached else None
    if rescore:
        _score(session, tenant_id, claims, found, "rescore", state, scores)
    else:
        _mark_catastrophes(session, tenant_id, claims, found)
    # … and a new decision with them (repository.write_redecided: one round trip on PostgreSQL, after the clocks).
    one = scores is not None and repository.DRIVER_STATEMENTS
    now = utc_now()
    pending = [_decide(tenant_id, rules, claim, found[claim.id], trigger, now, detached=one) for claim in claims]
    occurred = {trigger.event_ref: trigger.occurred_at} if trigger.event_ref and trigger.occurred_at else None
    kept = _apply(session, rules, claims, pending, always=False, latest=latest, store=not one, occurred=occurred)
    if one and kept:
        (item,) = kept
        item.row.id = item.claim.triage_decision_id = repository.write_redecided(
            session, tenant_id, item.claim, item.row, scores or ()
        )
    elif detached:
        changed = [c for c in claims if c.id in detached and repository.triaged_values(c) != detached[c.id]]
        repository.write_reevaluated(session, tenant_id, changed, scores or ())
    return len(kept)


def _reevaluate_changes(session: Session, tenant_id: int, changes: Sequence[CaseChange], rules: InForce) -> int:
    """Entering a re-evaluation status (an investigation) re-evaluates any triaged claim; an amount change only
    a claim the rules put, or would put, on another route than normal (the amount may end its eligibility)."""
    plain: dict[int, Trigger] = {}
    investigated: dict[int, Trigger] = {}
    for change in changes:
        if change.event_type == "amounts":
            plain[change.claim_id] = Trigger("amounts", change.event_ref, "amount changed", change.at)
        elif change.to_status in rules.rules.reevaluate_statuses:
            investigated[change.claim_id] = Trigger(
                "status", change.event_ref, f"entered {change.to_status}", change.at
            )
    if not plain and not investigated:
        return 0
    if len(plain) == 1 and not investigated:
        (claim_id,) = plain
        # One amount change (ingestion's usual call): a narrow read first, the whole claim only if it may move.
        # Not when the session holds the claim (its state may be newer than the database's; the ORM path reads).
        if repository.DRIVER_STATEMENTS and not repository.in_session(session, [claim_id]):
            routes = repository.decision_routes(session, tenant_id, claim_id)
            if routes is None or routes == ("normal", "normal"):
                return 0
    # Most amount changes re-evaluate nothing (a claim on the normal route stays there): the claims and their
    # latest decisions come by one prebuilt Core statement, detached (no ORM loading); the ORM path only when
    # the session holds one of the claims already.
    wanted = [*plain, *investigated]
    read = repository.current_rows_and_state(session, tenant_id, wanted)
    current, state = read if read is not None else repository.current_decisions_and_state(session, tenant_id, wanted)
    done = 0
    for claim_id, trigger in investigated.items():
        if claim_id in current:
            done += reevaluate(
                session, tenant_id, [claim_id], trigger, investigation=True, rules=rules, current=current, state=state
            )
    for claim_id, trigger in plain.items():
        if claim_id not in current or claim_id in investigated:
            continue
        decision = current[claim_id][1]
        if (decision.route, decision.would_be_route) != ("normal", "normal"):
            done += reevaluate(session, tenant_id, [claim_id], trigger, rules=rules, current=current, state=state)
    return done


# -- replay and the monitor comparison ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayRow:
    claim_id: int
    number: str
    stored_route: str  # the claim's route now
    stored_would_be: str | None  # the latest decision's would-be route
    replayed_route: str
    fired: tuple[str, ...]


def replay(
    session: Session, tenant_id: int, since: dt.datetime, until: dt.datetime | None = None, rules: RuleSet | None = None
) -> list[ReplayRow]:
    """Evaluate the claims reported in [since, until) with ``rules`` (default: the version in force) on the
    facts they had at report time (stored report, history as of the report, the stored risk level). Read-only:
    nothing is written."""
    if rules is None:
        current = in_force(session)
        if current is None:
            raise NotFound("rules", "no triage rule set is loaded for this insurer")
        rules = current.rules
    claims = repository.claims_reported_between(session, since, until)
    rows: list[ReplayRow] = []
    for start in range(0, len(claims), 500):
        chunk = claims[start : start + 500]
        latest = repository.latest_decisions(session, [c.id for c in chunk])
        found = facts_builder.build_facts(session, tenant_id, chunk)
        for claim in chunk:
            outcome = rules.evaluate(found[claim.id])
            before = latest.get(claim.id)
            rows.append(
                ReplayRow(
                    claim.id,
                    claim.number,
                    claim.route,
                    before.would_be_route if before is not None else None,
                    outcome.route,
                    tuple(r.code for r in outcome.fired),
                )
            )
    return rows


TERMINAL_OUTCOMES = ("closed", "rejected", "withdrawn")


def comparison(session: Session, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
    """The monitor-mode comparison over report-time decisions in [since, until): for every rule, how often it
    fired and decided the route, and what became of those claims in fact (their route now, closed / rejected /
    open, high risk, the cycle time); and the matrix would-be route × actual route."""
    pairs = repository.decisions_between(session, since, until)
    matrix: dict[str, dict[str, int]] = {}
    modes: dict[str, int] = {}
    per_rule: dict[str, dict[str, Any]] = {}
    for decision, claim in pairs:
        modes[decision.mode] = modes.get(decision.mode, 0) + 1
        row = matrix.setdefault(decision.would_be_route, {})
        row[claim.route] = row.get(claim.route, 0) + 1
        deciding = {f["code"] for f in decision.fired if f.get("route") == decision.would_be_route}
        for fired in decision.fired:
            stats = per_rule.setdefault(
                fired["code"],
                {
                    "code": fired["code"],
                    "route": fired.get("route"),
                    "fired": 0,
                    "deciding": 0,
                    "actual_routes": {},
                    "closed": 0,
                    "rejected": 0,
                    "withdrawn": 0,
                    "open": 0,
                    "high_risk": 0,
                    "cycle_days": [],
                },
            )
            stats["fired"] += 1
            if fired["code"] in deciding:
                stats["deciding"] += 1
            stats["actual_routes"][claim.route] = stats["actual_routes"].get(claim.route, 0) + 1
            if claim.closed_at is not None and claim.status in TERMINAL_OUTCOMES:
                stats[claim.status] += 1
                stats["cycle_days"].append((claim.closed_at - claim.reported_at).total_seconds() / 86400)
            else:
                stats["open"] += 1
            if claim.risk_level == "high":
                stats["high_risk"] += 1
    rules_out = []
    for stats in sorted(per_rule.values(), key=lambda s: (-s["fired"], s["code"])):
        days = stats.pop("cycle_days")
        stats["mean_cycle_days"] = round(sum(days) / len(days), 2) if days else None
        rules_out.append(stats)
    agree = sum(count for would_be, row in matrix.items() for actual, count in row.items() if actual == would_be)
    return {
        "since": since,
        "until": until,
        "decisions": len(pairs),
        "modes": modes,
        "agreement": round(agree / len(pairs), 4) if pairs else None,
        "matrix": matrix,
        "rules": rules_out,
    }
