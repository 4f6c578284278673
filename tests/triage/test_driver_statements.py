"""The report-time statements run on the DB-API connection (triage/driver_statements.py) write what the Core
statements write: the same events sent to two insurers, one through each path, leave the same decisions, facts,
fired rules, score rows, contact index and claim columns, stored as the same text; and each insurer's history
counts only its own contacts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import text

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.triage import driver_statements, repository, service
from claimwatch.triage import subscriptions as _subscriptions  # noqa: F401 - until claimwatch/subscriptions.py loads it
from tests.factories import World, at, reported, transition
from tests.triage.test_rules import RULES

SHOP = {"provider": "P0007", "claim_type": "vehicle_damage", "liability_clear": True}
WANG = {"name": "王五", "phone": "13700000009", "id_number": "110101195001011234"}


def _events() -> list[list[dict[str, Any]]]:
    """Ingest calls: one claim each (the driver path) and a batch of two (the Core writes)."""
    late = {**SHOP, "accident_at": "2026-10-01T23:30:00+08:00", "policy_start": "2026-09-28"}
    return [
        [reported("D-1-r", "D-1", hours=1, claimant=WANG, details=SHOP)],
        [reported("D-2-r", "D-2", hours=2, claimant=WANG, details={**SHOP, "bank_account": "6222000011112222"})],
        [reported("D-3-r", "D-3", hours=3, claimant={"name": "赵六", "phone": WANG["phone"]}, details=late)],
        [
            reported("D-4-r", "D-4", hours=4, amount="250000.00", claimant=WANG, details=late),
            reported("D-5-r", "D-5", hours=5, claimant={"name": "钱七", "phone": "13600000001"}),
        ],
        [reported("D-6-r", "D-6", hours=6, line="medical", amount="900.00", claimant={"name": "孙八"})],
        [reported("D-7-r", "D-7", hours=7, amount="120000.00", claimant=WANG, details=late)],
        [reported("D-8-r", "D-8", hours=7.5, claimant={"name": "周九", "phone": "13600000002"}, details=SHOP)],
        # Amount changes one by one, on claims on the normal route (nothing re-evaluated) and off it.
        *([_amount(number, amount)] for number, amount in AMOUNTS),
        # An investigation takes a fast-tracked claim back to the normal route (its fast-track clock void), and
        # re-evaluates a green one (the route stays).
        *([transition(f"{number}-{status}", number, status, hours=hours)] for number, status, hours in MOVES),
    ]


MOVES = [
    (number, status, 9 + 0.1 * k)
    for number in ("D-8", "D-1")
    for k, status in enumerate(("accepted", "initial_review", "investigation"))
]


AMOUNTS = (("D-5", "8000.00"), ("D-6", "950.00"), ("D-1", "3100.00"), ("D-7", "2000.00"), ("D-2", "90000.00"))


def _amount(number: str, amount: str) -> dict[str, Any]:
    occurred = at(8)
    return {
        "event_id": f"{number}-a",
        "claim_number": number,
        "type": "amounts",
        "assessed_amount": amount,
        "occurred_at": occurred,
    }


_DIGITS = re.compile(r"\d+")

# What each path writes, by claim number; ids and the instants of the write itself (``now``) aside, whose
# stored form is compared by shape (digit runs: PostgreSQL's text drops trailing zeros of the microseconds).
_QUERIES = {
    "claims": "SELECT c.number, c.route, c.priority, c.vulnerable, c.risk_score, c.risk_level, c.catastrophe_id,"
    " d.route, d.would_be_route FROM claims c LEFT JOIN triage_decisions d ON d.id = c.triage_decision_id"
    " WHERE c.tenant_id = :t ORDER BY c.number",
    "decisions": "SELECT c.number, d.mode, d.route, d.would_be_route, d.priority, CAST(d.fired AS TEXT),"
    " CAST(d.facts AS TEXT), d.trigger, d.event_ref, d.reason, d.rule_set_id = r.id, CAST(d.decided_at AS TEXT)"
    " FROM triage_decisions d JOIN claims c ON c.id = d.claim_id JOIN triage_rule_sets r ON r.tenant_id = d.tenant_id"
    " WHERE d.tenant_id = :t ORDER BY c.number, d.id",
    "scores": "SELECT c.number, s.trigger, s.score, s.level, s.points, s.probability, s.model_id, s.flags_digest,"
    " CAST(s.flags AS TEXT), CAST(s.contributions AS TEXT), CAST(s.inputs AS TEXT), CAST(s.scored_at AS TEXT)"
    " FROM risk_scores s JOIN claims c ON c.id = s.claim_id WHERE s.tenant_id = :t ORDER BY c.number, s.id",
    "contacts": "SELECT c.number, k.kind, k.value, k.identity, k.region_code, CAST(k.reported_at AS TEXT),"
    " CAST(c.reported_at AS TEXT) FROM triage_contacts k JOIN claims c ON c.id = k.claim_id"
    " WHERE k.tenant_id = :t ORDER BY c.number, k.kind",
    # The clocks and their logs; the instants of the write itself (``updated_at``, ``recorded_at``) aside.
    "clocks": "SELECT c.number, k.policy_code, k.cycle, k.unit, k.yellow_budget, k.red_budget, k.extended,"
    " k.consumed, k.state, k.light, k.outcome, CAST(k.started_at AS TEXT), CAST(k.anchor_at AS TEXT),"
    " CAST(k.running_since AS TEXT), CAST(k.stopped_at AS TEXT), CAST(k.yellow_due_at AS TEXT),"
    " CAST(k.red_due_at AS TEXT), k.missed_by, k.calendar_gap, CAST(k.next_check_at AS TEXT), k.escalated"
    " FROM sla_clocks k JOIN claims c ON c.id = k.claim_id WHERE k.tenant_id = :t ORDER BY c.number, k.policy_code",
    "clock_events": "SELECT c.number, k.policy_code, e.kind, CAST(e.at AS TEXT), e.actor, e.reason, e.amount,"
    " CAST(e.due_before AS TEXT), CAST(e.due_after AS TEXT) FROM sla_clock_events e JOIN sla_clocks k"
    " ON k.id = e.clock_id JOIN claims c ON c.id = k.claim_id WHERE e.tenant_id = :t"
    " ORDER BY c.number, k.policy_code, e.id",
    "reviews": "SELECT c.number, v.level, v.status FROM risk_reviews v JOIN claims c ON c.id = v.claim_id"
    " WHERE v.tenant_id = :t ORDER BY c.number",
}
_WRITE_INSTANTS = {"decisions": 11, "scores": 11}  # the column holding the write's own ``now``


def _stored(tenant_id: int) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    with unit_of_work(TenantContext.system_context()) as session:
        for name, query in _QUERIES.items():
            rows = [tuple(row) for row in session.execute(text(query), {"t": tenant_id})]
            position = _WRITE_INSTANTS.get(name)
            if position is not None:
                rows = [(*row[:position], _DIGITS.sub("9", row[position]), *row[position + 1 :]) for row in rows]
            out[name] = rows
    return out


def _run(world: World, code: str, monkeypatch: pytest.MonkeyPatch, driver: bool) -> int:
    tenant_id = world.tenant(code).id
    admin = Principal(role=Role.ADMIN, tenant_id=tenant_id, actor="user:admin")
    api = Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor="api_key:core")
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        service.load_rule_set(session, admin, RULES.replace("mode: monitor", "mode: active"), "mine.yaml")
    monkeypatch.setattr(repository, "DRIVER_STATEMENTS", driver)
    for events in _events():
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            cases_service.ingest_events(session, api, [EventIn.model_validate(e) for e in events])
    return tenant_id


def test_driver_statements_write_what_the_core_statements_write(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    for name in ("history_rows", "write_one", "decision_routes", "write_rescored", "__call__"):
        owner: Any = driver_statements.CurrentRead if name == "__call__" else driver_statements
        original = getattr(owner, name)

        def counted(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
    core = _stored(_run(world, "TRA", monkeypatch, driver=False))
    assert calls == []
    driver = _stored(_run(world, "TRB", monkeypatch, driver=True))
    # Every call with identifiers read the history by the driver (D-6 has none); the one-claim calls wrote by it.
    for name in core:
        assert core[name] == driver[name], name
    # The re-evaluations that stored a decision (D-5, D-7 by their amounts; D-8, D-1 by an investigation) wrote
    # it with the claim by the driver; the two that stored none (D-1, D-2 by their amounts) their score row.
    assert calls.count("history_rows") == 6 and calls.count("write_one") == 6 + 4
    assert calls.count("decision_routes") == len(AMOUNTS)
    assert calls.count("write_rescored") == 2
    # The claim and its decision were read whole by the driver for every re-evaluation (4 amounts, 2 statuses).
    assert calls.count("__call__") == 6
    assert core == driver
    # The scenario is one that tests something: history counted, a route other than normal, a review opened.
    facts = {row[0]: row[6] for row in driver["decisions"]}
    assert '"repeat_claimant_count": 1' in facts["D-2"] and '"shared_contact_count": 1' in facts["D-3"]
    assert '"provider_claim_count": 3' in facts["D-3"]
    assert {row[1] for row in driver["claims"]} >= {"fast_track", "green", "normal"}
    assert len(driver["contacts"]) >= 10
    # The amount changes re-evaluated the claims off the normal route only (on either path).
    # D-5 leaves the fast track, D-7 is no longer major; D-6 stays normal, D-1 and D-2 stay green (elderly).
    moved = {row[0]: row[2] for row in driver["decisions"] if row[7] == "amounts"}
    assert moved == {"D-5": "normal", "D-7": "green"}
    rescored = sorted(row[0] for row in driver["scores"] if row[1] == "rescore")
    assert rescored == ["D-1", "D-1", "D-2", "D-5", "D-7", "D-8"]  # D-1, D-8: the investigations
    assert {row[0]: row[1] for row in driver["claims"] if row[0] in ("D-5", "D-6")} == {
        "D-5": "normal",
        "D-6": "normal",
    }
    # The investigation took D-8 off the fast track: its clock void from the investigation's own time, the
    # reason in the clock's log; D-1 stayed green (its clocks as they were).
    assert {row[0]: row[1] for row in driver["claims"] if row[0] in ("D-8", "D-1")} == {"D-8": "normal", "D-1": "green"}
    void = [row for row in driver["clock_events"] if row[0] == "D-8" and row[1] == "fast_track_decision"]
    assert [row[2] for row in void] == ["started", "stopped"]
    assert void[1][3].startswith("2026-11-02 10:12") and void[1][4] == "system:triage"
    assert void[1][5] is not None and "investigation started" in void[1][5]
    assert [row[10] for row in driver["clocks"] if row[:2] == ("D-8", "fast_track_decision")] == ["void"]
    # Stored timestamps keep SQLAlchemy's form (SQLite compares them as text): the contact's is the claim's.
    assert all(row[5] == row[6] for row in driver["contacts"])


def test_history_counts_only_the_insurers_own_contacts(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both insurers are sent the same claimants (the same hashes where the key is shared); each insurer's
    facts are those of its own claims alone, on either path."""
    first = _stored(_run(world, "TRA", monkeypatch, driver=True))
    second = _stored(_run(world, "TRB", monkeypatch, driver=True))
    assert first["decisions"] == second["decisions"]
    assert first["scores"] == second["scores"]


def test_the_driver_statements_write_every_column_the_core_ones_write() -> None:
    """A column added to a table must be added to the driver statements too (the comparison above would only
    see it once a scenario fills it)."""
    assert sorted(driver_statements.DECISION_COLUMNS) == sorted(repository.DECISION_COLUMNS)
    assert sorted(driver_statements.SCORE_COLUMNS) == sorted(repository.SCORE_COLUMNS)
    assert sorted([*driver_statements.CLAIM_COLUMNS, "triage_decision_id"]) == sorted(repository.TRIAGED_COLUMNS)
    assert driver_statements.CONTACT_COLUMNS == repository.CONTACT_COLUMNS


def test_the_driver_read_of_a_claim_and_its_decision_is_the_core_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-evaluation's wide read (the claim, its latest decision, the tenant state) gives the same values, of the
    same types (tz-aware UTC instants, bools, decoded JSON), by the DB-API connection as by the Core statement;
    nothing for another insurer's claim."""
    tenant_id = _run(world, "TRA", monkeypatch, driver=True)
    other = world.tenant("TRB").id
    with unit_of_work(TenantContext.system_context()) as session:
        ids = [row[0] for row in session.execute(text("SELECT id FROM claims WHERE tenant_id = :t"), {"t": tenant_id})]
    assert len(ids) >= 7

    def read(driver: bool, owner: int, claim_id: int) -> Any:
        monkeypatch.setattr(repository, "DRIVER_STATEMENTS", driver)
        with unit_of_work(TenantContext.for_tenant(owner)) as session:
            found = repository.current_rows_and_state(session, owner, [claim_id])
        assert found is not None
        current, state = found
        return state, {
            key: (
                {name: (value, type(value)) for name, value in claim.__dict__.items() if not name.startswith("_")},
                {name: (value, type(value)) for name, value in decision.__dict__.items() if not name.startswith("_")},
            )
            for key, (claim, decision) in current.items()
        }

    for claim_id in ids:
        core, driver = read(False, tenant_id, claim_id), read(True, tenant_id, claim_id)
        assert driver == core
        claim, decision = driver[1][claim_id]
        assert claim["reported_at"][0].tzinfo is not None and isinstance(claim["vulnerable"][0], bool)
        assert isinstance(decision["facts"][0], dict) and isinstance(decision["fired"][0], list)
        assert read(True, other, claim_id) == read(False, other, claim_id) == (None, {})
    routes = {claim[0]["route"][0] for _, found in (read(True, tenant_id, i) for i in ids) for claim in found.values()}
    assert routes >= {"fast_track", "green", "normal"}
