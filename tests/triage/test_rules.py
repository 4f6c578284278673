"""Triage rules as data: loading with file:line errors, precedence, versions in the audit chain, monitor and
active mode at report time, re-evaluation on an investigation, the monitor comparison, replay and the CLI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import repository as cases_repository
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.cases.schemas import EventIn
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid
from claimwatch.risk.facts import ClaimFacts
from claimwatch.risk.models import RiskScore
from claimwatch.triage import loader, service
from claimwatch.triage import subscriptions as _subscriptions  # noqa: F401 - until claimwatch/subscriptions.py loads it
from claimwatch.triage.models import TriageContact, TriageDecision
from tests.apps import shared_app
from tests.factories import World, reported, transition

RULES = """\
version: "t-1"
mode: monitor
reevaluate_statuses: [investigation]
rules:
  - code: FT
    name: {zh: 快赔, en: Fast}
    route: fast_track
    when:
      all:
        - {fact: line, op: eq, value: motor}
        - {fact: amount_cny, op: le, value: 5000}
        - {fact: investigation, op: is_false}
        - {fact: repeat_claimant_count, op: lt, value: 1}
  - code: OLD
    name: {zh: 老年, en: Elderly}
    route: green
    priority: 1
    vulnerable: true
    when: {fact: claimant_age, op: ge, value: 65}
  - code: BIG
    name: {zh: 重大, en: Major}
    route: green
    priority: 2
    when: {fact: amount_cny, op: ge, value: 100000}
"""


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("{fact: line,", "{fact: colour,"), 10, "unknown fact 'colour'"),
        (("op: le, value: 5000", "op: about, value: 5000"), 11, "unknown op 'about'"),
        (("route: fast_track", "route: express"), 7, "route must be one of"),
        (("priority: 2", "priority: 7"), 23, "priority must be one of"),
        (("code: OLD", "code: FT"), 14, "duplicate rule code 'FT'"),
        (("[investigation]", "[interrogation]"), 3, "unknown status 'interrogation'"),
        (("op: le, value: 5000", "op: le, value: lots"), 11, "is not a number"),
        (("mode: monitor", "mode: loud"), 2, "mode must be monitor or active"),
    ],
)
def test_bad_rule_files_name_file_and_line(change: tuple[str, str], line: int, words: str) -> None:
    with pytest.raises(loader.RuleSetError) as caught:
        loader.parse_rule_set(RULES.replace(*change, 1), "mine.yaml")
    assert str(caught.value).startswith(f"mine.yaml:{line}:"), str(caught.value)
    assert words in str(caught.value)


def test_precedence_priority_and_the_default_file() -> None:
    rules = loader.parse_rule_set(RULES, "mine.yaml")
    small_old = ClaimFacts(line="motor", amount_cny=800, claimant_age=70)
    outcome = rules.evaluate(small_old)
    assert (outcome.route, outcome.priority, outcome.vulnerable) == ("green", 1, True)  # green beats fast track
    assert [r.code for r in outcome.fired] == ["FT", "OLD"] and [r.code for r in outcome.deciding] == ["OLD"]
    assert rules.evaluate(ClaimFacts(line="motor", amount_cny=800)).route == "fast_track"
    assert rules.evaluate(ClaimFacts(line="motor", amount_cny=None)).route == "normal"  # unknown never matches
    assert rules.evaluate(ClaimFacts(line="motor", amount_cny=200000, claimant_age=80)).priority == 2
    default = loader.load_rule_file(loader.DEFAULT_RULES)
    assert default.mode == "monitor" and len(default.digest) == 64
    assert {r.route for r in default.rules} >= {"fast_track", "green", "manual_review"}
    assert cases_service.claimant_age("110101195001011234", dt.date(2026, 11, 2)) == 76
    assert cases_service.claimant_age("110101195011301234", dt.date(2026, 11, 2)) == 75
    assert cases_service.claimant_age("E12345678", dt.date(2026, 11, 2)) is None


class Desk:
    def __init__(self, world: World) -> None:
        self.tenant = world.tenant("TRI")
        self.admin = Principal(role=Role.ADMIN, tenant_id=self.tenant.id, actor="user:tri.admin")
        self.api = Principal(role=Role.INTEGRATION, tenant_id=self.tenant.id, actor="api_key:core")
        self.n = 0

    @contextmanager
    def session(self) -> Iterator[Session]:
        with unit_of_work(TenantContext.for_tenant(self.tenant.id)) as session:
            yield session

    def send(self, *events: dict[str, Any]) -> None:
        with self.session() as session:
            cases_service.ingest_events(session, self.api, [EventIn.model_validate(e) for e in events])

    def report(self, number: str, amount: str = "3200.00", hours: float = 0, **claim: Any) -> None:
        """A claimant of its own unless one is given (no ID number: no age)."""
        self.n += 1
        claim.setdefault("claimant", {"name": f"客户{self.n}", "phone": f"1380000{self.n:04d}"})
        self.send(reported(f"{number}-r", number, amount=amount, hours=hours, **claim))

    def claim(self, number: str) -> Claim:
        with self.session() as session:
            claim = session.scalars(select(Claim).where(Claim.number == number)).one()
            session.expunge(claim)
            return claim

    def decisions(self, number: str) -> list[TriageDecision]:
        with self.session() as session:
            claim_id = session.scalars(select(Claim.id).where(Claim.number == number)).one()
            rows = list(
                session.scalars(
                    select(TriageDecision).where(TriageDecision.claim_id == claim_id).order_by(TriageDecision.id)
                )
            )
            session.expunge_all()
            return rows


WANG = {"name": "王五", "phone": "13700000009"}
OLD_MAN = {"name": "李四", "phone": "13900000001", "id_number": "110101195001011234"}


def test_monitor_then_active_at_report_time(world: World, tmp_path: Path) -> None:
    desk = Desk(world)
    desk.report("NONE-1")  # no rule set loaded: no decision, the claim stays normal
    assert desk.claim("NONE-1").route == "normal" and desk.decisions("NONE-1") == []

    with desk.session() as session, pytest.raises(Invalid) as caught:
        service.load_rule_set(session, desk.admin, RULES.replace("{fact: line,", "{fact: colour,"), "bad.yaml")
    assert caught.value.field == "content" and "bad.yaml:10:" in caught.value.message
    with desk.session() as session:
        version = service.load_rule_set(session, desk.admin, RULES, "mine.yaml")
        assert (version.mode, version.version) == ("monitor", "t-1")
        first_id = version.id

    # Monitor: the would-be route is recorded, the claim keeps the normal route.
    desk.report("MON-1", details={"claim_type": "vehicle_damage", "liability_clear": True})
    claim = desk.claim("MON-1")
    [decision] = desk.decisions("MON-1")
    assert (claim.route, claim.priority, claim.triage_decision_id) == ("normal", 0, decision.id)
    assert (decision.mode, decision.route, decision.would_be_route) == ("monitor", "normal", "fast_track")
    assert decision.fired == [{"code": "FT", "route": "fast_track", "priority": 0}]
    assert decision.facts["claim_type"] == "vehicle_damage" and decision.trigger == "reported"
    assert claim.risk_level in ("low", "medium", "high")  # scored before the rules

    with desk.session() as session:
        active = service.set_mode(session, desk.admin, "active")
        assert (active.mode, active.digest) == ("active", version.digest) and active.id != first_id
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.kind == "config.triage_rules").order_by(AuditEntry.seq)
        ).all()
        assert [e.subject for e in entries] == ["t-1", "t-1"]
        assert '"mode":"active"' in (entries[-1].payload or "") and version.digest in (entries[-1].payload or "")

    # Active: small claims are fast-tracked; an elderly claimant (age from the ID number) goes green, vulnerable;
    # the same phone again (same person) is a repeat claimant and loses the fast track.
    desk.report("ACT-1", hours=1, claimant=WANG)
    desk.report("ACT-OLD", hours=1, claimant=OLD_MAN, details={"bank_account": "6222020200112233445"})
    desk.report("ACT-2", hours=2, claimant=WANG)
    fast, old, repeat = desk.claim("ACT-1"), desk.claim("ACT-OLD"), desk.claim("ACT-2")
    assert (fast.route, fast.priority, fast.vulnerable) == ("fast_track", 0, False)
    assert (old.route, old.priority, old.vulnerable) == ("green", 1, True)
    assert desk.decisions("ACT-OLD")[0].facts["claimant_age"] == 76
    assert repeat.route == "normal" and desk.decisions("ACT-2")[0].facts["repeat_claimant_count"] >= 1
    assert "6222020200112233445" not in str(desk.decisions("ACT-OLD")[0].facts)
    with desk.session() as session:
        stored = session.scalars(select(TriageContact.value).where(TriageContact.claim_id == old.id)).all()
        assert len(stored) == 3 and all(len(v) == 64 for v in stored)  # phone, id, bank: hashes only
        found = cases_repository.search_claims(session, cases_repository.ClaimFilter(route="fast_track"), 1, 50)
        assert [c.number for c in found[1]] == ["ACT-1"]

    # An investigation ends the fast track (re-evaluated, the reason and the event on the decision); an amount
    # change alone with nothing new stores nothing.
    desk.send(
        transition("ACT-1-a", "ACT-1", "accepted", hours=3), transition("ACT-1-b", "ACT-1", "initial_review", hours=3)
    )
    assert len(desk.decisions("ACT-1")) == 1
    desk.send(transition("ACT-1-c", "ACT-1", "investigation", hours=4))
    after = desk.decisions("ACT-1")
    assert desk.claim("ACT-1").route == "normal"
    assert (after[-1].trigger, after[-1].event_ref) == ("status", "ACT-1-c")
    assert "entered investigation" in (after[-1].reason or "")
    desk.send({"event_id": "ACT-1-d", "claim_number": "ACT-1", "type": "amounts", "assessed_amount": "3100.00",
               "occurred_at": reported("x", "x", hours=5)["occurred_at"]})  # fmt: skip
    assert len(desk.decisions("ACT-1")) == 2 and desk.claim("ACT-1").route == "normal"  # investigation stays

    # The comparison over the period and a replay of history under another rule set.
    with desk.session() as session:
        since = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        report = service.comparison(session, since, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        assert report["decisions"] == 4 and report["modes"] == {"monitor": 1, "active": 3}
        assert report["matrix"] == {"fast_track": {"normal": 2}, "green": {"green": 1}, "normal": {"normal": 1}}
        by_code = {r["code"]: r for r in report["rules"]}
        assert by_code["FT"]["fired"] == 3 and by_code["OLD"]["deciding"] == 1
        strict = loader.parse_rule_set(RULES.replace("value: 5000", "value: 1000"), "strict.yaml")
        replayed = {row.number: row for row in service.replay(session, desk.tenant.id, since, rules=strict)}
        assert replayed["MON-1"].replayed_route == "normal" and replayed["MON-1"].stored_would_be == "fast_track"
        assert replayed["ACT-OLD"].replayed_route == "green"

    # The API: versions, a bad file refused naming file:line (nothing stored), a claim's decisions, the route filter.
    client = TestClient(shared_app())
    admin = {"X-API-Key": world.api_key(desk.tenant, Role.ADMIN)}
    adjuster = {"X-API-Key": world.api_key(desk.tenant, Role.ADJUSTER)}
    assert [v["mode"] for v in client.get("/api/v1/triage/rule-sets", headers=adjuster).json()] == ["active", "monitor"]
    assert client.post("/api/v1/triage/rule-sets", json={"content": RULES}, headers=adjuster).status_code == 403
    refused = client.post("/api/v1/triage/rule-sets", json={"content": RULES.replace("route: fast_track", "route: x"),
                                                              "source": "web.yaml"}, headers=admin)  # fmt: skip
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "content"
    assert "web.yaml:7:" in refused.json()["detail"]
    assert len(client.get("/api/v1/triage/rule-sets", headers=admin).json()) == 2
    panel = client.get("/api/v1/claims/ACT-OLD/triage", headers=adjuster).json()
    assert (panel["route"], panel["vulnerable"], panel["decisions"][0]["rule_set"]["version"]) == ("green", True, "t-1")
    listed = client.get("/api/v1/claims?route=green", headers=adjuster).json()
    assert [c["number"] for c in listed["items"]] == ["ACT-OLD"]

    # The CLI: check a file (file:line on error), versions.
    from claimwatch.cli import app

    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(RULES, encoding="utf-8")
    bad.write_text(RULES.replace("route: fast_track", "route: express"), encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(app, ["triage", "check", str(good)])
    assert ok.exit_code == 0 and "t-1" in ok.output, ok.output
    refused = runner.invoke(app, ["triage", "check", str(bad)])
    assert refused.exit_code != 0 and f"{bad}:7:" in refused.output
    versions = runner.invoke(app, ["triage", "versions", "--tenant", "TRI"])
    assert versions.exit_code == 0 and "active" in versions.output and "monitor" in versions.output


def test_amount_change_re_evaluates_and_writes_the_claim(world: World) -> None:
    """Ingestion re-evaluates a claim on an amount change from its row and latest decision read by one Core
    statement (not in the session): what changed on the claim (route, decision, risk) is written back and read
    by the next transaction; a claim on the normal route with nothing new is neither re-scored nor changed."""
    desk = Desk(world)
    with desk.session() as session:
        service.load_rule_set(session, desk.admin, RULES.replace("mode: monitor", "mode: active"), "mine.yaml")
    desk.report("AM-1", amount="3200.00", hours=1)
    desk.report("AM-2", amount="9000.00", hours=1)
    fast, normal = desk.claim("AM-1"), desk.claim("AM-2")
    assert (fast.route, normal.route) == ("fast_track", "normal")
    occurred = reported("x", "x", hours=2)["occurred_at"]
    amounts = [
        {"event_id": f"{n}-a", "claim_number": n, "type": "amounts", "assessed_amount": a, "occurred_at": occurred}
        for n, a in (("AM-1", "8000.00"), ("AM-2", "9500.00"))
    ]
    desk.send(*amounts)
    moved, kept = desk.claim("AM-1"), desk.claim("AM-2")
    first, second = desk.decisions("AM-1")
    assert (second.trigger, second.event_ref, second.route) == ("amounts", "AM-1-a", "normal")
    assert second.facts["amount_cny"] == 8000.0 and first.facts["amount_cny"] == 3200.0
    assert (moved.route, moved.triage_decision_id) == ("normal", second.id)
    with desk.session() as session:
        scores = session.scalars(select(RiskScore).where(RiskScore.claim_id == moved.id).order_by(RiskScore.id)).all()
        assert [s.trigger for s in scores] == ["reported", "rescore"]
        assert (moved.risk_score, moved.risk_level) == (scores[-1].score, scores[-1].level)
        assert scores[-1].inputs["amount_cny"] == 8000.0
        untouched = session.scalars(select(RiskScore.trigger).where(RiskScore.claim_id == kept.id)).all()
    assert untouched == ["reported"] and len(desk.decisions("AM-2")) == 1
    assert (kept.route, kept.risk_score, kept.triage_decision_id) == (
        "normal",
        normal.risk_score,
        normal.triage_decision_id,
    )


def test_report_time_history_counts_the_batch_and_earlier_claims(world: World) -> None:
    """The contact index is written with the history read (on PostgreSQL by the same statement, whose own rows
    the read cannot see): a new claim counts the claims of its batch reported before it, itself for its provider,
    and earlier batches; the claim ingestion hands over is updated in place (decision, route, risk)."""
    desk = Desk(world)
    with desk.session() as session:
        service.load_rule_set(session, desk.admin, RULES.replace("mode: monitor", "mode: active"), "mine.yaml")
    shop = {"provider": "P0001", "claim_type": "vehicle_damage", "liability_clear": True}
    desk.send(
        reported("H-1-r", "H-1", hours=1, claimant=WANG, details=shop),
        reported("H-2-r", "H-2", hours=2, claimant=WANG, details=shop),
    )
    desk.report("H-3", hours=3, claimant={"name": "赵六", "phone": WANG["phone"]}, details=shop)
    facts = {number: desk.decisions(number)[0].facts for number in ("H-1", "H-2", "H-3")}
    counts = {
        number: (f["repeat_claimant_count"], f["shared_contact_count"], f["provider_claim_count"], f["provider_share"])
        for number, f in facts.items()
    }
    # H-1: its own provider claim of the two in its batch; H-2: H-1 is the same person; H-3: another person on
    # the same phone, the third claim at the shop.
    assert counts == {"H-1": (0, 0, 1, 0.5), "H-2": (1, 0, 2, 1.0), "H-3": (0, 1, 3, 1.0)}
    first, repeat, other = desk.claim("H-1"), desk.claim("H-2"), desk.claim("H-3")
    assert (first.route, repeat.route) == ("fast_track", "normal")  # the repeat claimant loses the fast track
    for claim in (first, repeat, other):
        [decision] = desk.decisions(claim.number)
        expected = (decision.id, decision.route, decision.priority)
        assert (claim.triage_decision_id, claim.route, claim.priority) == expected
        assert claim.risk_level is not None and claim.risk_score is not None
    with desk.session() as session:
        stored = session.scalars(select(TriageContact.kind).where(TriageContact.claim_id == other.id)).all()
        assert sorted(stored) == ["phone", "provider"]
