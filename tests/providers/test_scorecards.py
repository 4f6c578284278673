"""Provider scorecards (h4): a month's figures and peers, the thresholds' flags and their review (suspension
through the register), the regulator's statistics across insurers by credit code, the complaint hook, and the
pages. One world per module and dialect (tests/providers/scorecard_world.py); the tests run in order."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.complaints import intake
from claimwatch.complaints.schemas import ComplaintIn
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict, Invalid, Problem
from claimwatch.providers import flags, scorecards, stats
from claimwatch.providers.models import Provider, ProviderFlag
from claimwatch.yaml_source import ConfigFileError
from tests.providers.scorecard_world import PERIOD, ScorecardWorld, scorecard_world_fixture  # noqa: F401 - the world
from tests.web.conftest import csrf_from, sign_in


def _cards(sw: ScorecardWorld) -> dict[str, scorecards.Scorecard]:
    with sw.session() as session:
        return {card.provider.code: card for card in scorecards.compute(session, sw.acme.id, PERIOD)}


def test_a_months_figures_and_peers(scorecard_world: ScorecardWorld):
    cards = _cards(scorecard_world)
    app1, app2, rep1 = cards["APP-1"].figures, cards["APP-2"].figures, cards["REP-1"].figures
    assert (app1.sent, app1.judged, app1.on_time, app1.standard, app1.reported) == (6, 6, 3, 3, 6)
    assert (app1.on_time_rate, app1.standard_rate) == (50.0, 50.0)
    assert app2.sent == 5 and app2.on_time_rate == 100.0  # the cancelled task counts nowhere
    assert rep1.on_time_rate == 0.0
    assert app1.disputes == {"upheld": 1, "rejected": 1, "withdrawn": 0, "open": 0}
    assert app1.upheld_reports == 1 and app1.upheld_rate == pytest.approx(16.7)
    assert app1.complaints == 1 and app2.complaints == 0
    assert app2.turnaround_days == pytest.approx(2.0)  # Monday 10:00 → Wednesday 10:00
    # Peers: the appraisal agencies serving 440000 (not the repair shop).
    assert (cards["APP-1"].peers.size, cards["APP-1"].peers.median_on_time, cards["APP-1"].peers.rank) == (2, 75.0, 2)
    assert cards["APP-2"].peers.rank == 1 and cards["REP-1"].peers.size == 1
    with scorecard_world.session() as session, pytest.raises(Invalid) as refused:
        scorecards.compute(session, scorecard_world.acme.id, "2026-13")
    assert refused.value.field == "period"


def test_a_complaint_names_its_provider_by_code(scorecard_world: ScorecardWorld):
    sw = scorecard_world
    with sw.session() as session, pytest.raises(Problem) as refused:
        intake.create_complaint(
            session,
            sw.principal(Role.COMPLAINT_HANDLER),
            ComplaintIn(channel="hotline", claim_number="C1", category="claims", subject="s", description="d",
                        provider_code="NOPE"),
        )  # fmt: skip
    assert refused.value.field == "provider_code"
    # Another insurer's provider is unknown here.
    with sw.session() as session, pytest.raises(Problem):
        intake.create_complaint(
            session,
            sw.principal(Role.COMPLAINT_HANDLER),
            ComplaintIn(channel="hotline", claim_number="C1", category="claims", subject="s", description="d",
                        provider_code="REP-9"),
        )  # fmt: skip


def test_flags_below_the_thresholds_and_idempotent(scorecard_world: ScorecardWorld):
    sw = scorecard_world
    with sw.session() as session:
        written = flags.evaluate(session, sw.acme.id, PERIOD)
        assert [(session.get(Provider, f.provider_id).code, f.reasons) for f in written] == [
            ("APP-1", ["on_time_low", "standard_low", "upheld_disputes_high"])
        ]  # REP-1 is late too, on fewer than min_tasks tasks
        assert written[0].figures["peer_rank"] == 2 and written[0].figures["complaints"] == 1
    with sw.session() as session:
        assert flags.evaluate(session, sw.acme.id, PERIOD) == []  # nothing changed
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.kind == "provider.flagged").order_by(AuditEntry.seq)
        ).all()
        assert len(entries) == 1


def test_thresholds_file_errors_name_the_line():
    with pytest.raises(ConfigFileError, match=r"scorecard.yaml:4: 'figure' must be one of"):
        flags.parse_rules("min_tasks: 5\nrules:\n  - code: x\n    figure: nonsense\n    below: 1\n", "scorecard.yaml")
    assert flags.rules().by_code()["on_time_low"].below == 80


def test_pages_scorecard_flags_review_and_suspension(scorecard_world: ScorecardWorld):
    sw = scorecard_world
    client = sw.client
    client.cookies.clear()
    sign_in(client, "acme.qm")
    page = client.get(f"/providers/APP-1/scorecard?period={PERIOD}")
    assert page.status_code == 200, page.text
    assert 'id="scorecard-months"' in page.text and 'data-period="2026-10"' in page.text
    assert "scorecard-data" in page.text
    assert client.get("/providers/NOPE/scorecard").status_code == 404
    flags_page = client.get("/providers/flags")
    assert flags_page.status_code == 200 and "APP-1" in flags_page.text
    with sw.session() as session:
        flag_id = session.scalars(select(ProviderFlag.id)).one()
    token = csrf_from(flags_page.text)
    action = f"/providers/flags/{flag_id}/review"
    refused = client.post(action, data={"csrf_token": token, "decision": "suspend", "note": ""})
    assert refused.status_code == 422 and 'id="flag-problem"' in refused.text
    assert client.post(action, data={"csrf_token": "x", "decision": "keep"}).status_code == 403
    done = client.post(
        action, data={"csrf_token": token, "decision": "suspend", "note": "三次超期"}, follow_redirects=False
    )
    assert done.status_code == 303
    with sw.session() as session:
        provider = session.scalars(select(Provider).where(Provider.code == "APP-1")).one()
        assert (provider.status, provider.status_reason) == ("suspended", "三次超期")
        flag = session.get(ProviderFlag, flag_id)
        assert flag is not None and (flag.status, flag.reviewed_by) == ("suspended", "user:acme.qm")
        with pytest.raises(Conflict):
            flags.review(session, sw.principal(), flag_id, "keep", None)
    # An adjuster sees the pages but may not review.
    client.cookies.clear()
    sign_in(client, "acme.adj")
    assert client.post(action, data={"csrf_token": token, "decision": "keep"}).status_code == 403


def test_performance_by_provider_and_kind_links_to_the_tasks(scorecard_world: ScorecardWorld):
    client = scorecard_world.client
    client.cookies.clear()
    sign_in(client, "acme.qm")
    page = client.get(f"/providers/performance?period={PERIOD}&by=provider")
    assert page.status_code == 200
    assert "/provider-tasks?due_from=2026-10-01&amp;due_to=2026-10-31&amp;standard=1&amp;provider=APP-1" in page.text
    kinds = client.get(f"/providers/performance?period={PERIOD}&by=kind&junk=1")
    assert kinds.status_code == 200 and 'data-key="appraisal"' in kinds.text


def test_regulator_statistics_mark_a_shop_late_for_every_insurer(scorecard_world: ScorecardWorld):
    sw = scorecard_world
    with unit_of_work(TenantContext.regulator()) as session:
        view = stats.statistics(session, scorecards.Month.parse(PERIOD), 1)
    first = view.rows[0]
    assert first.late_everywhere and [i.tenant_code for i in first.insurers] == ["ACME", "BETA"]
    assert first.on_time_rate == 0.0 and not any(row.late_everywhere for row in view.rows[1:])
    with sw.session() as session:  # an insurer sees its own providers only
        own = stats.statistics(session, scorecards.Month.parse(PERIOD), 1)
    assert {i.tenant_code for row in own.rows for i in row.insurers} == {"ACME"}
    sw.client.cookies.clear()
    sign_in(sw.client, "cbirc")
    page = sw.client.get(f"/providers/statistics?period={PERIOD}&months=1")
    assert page.status_code == 200 and 'class="late-everywhere"' in page.text
