"""Provisional (暂定) deadlines: a year whose holiday arrangement is not loaded is counted on the statutory
holidays and weekends; the deadline is marked wherever it shows; loading the official year recomputes it and
clears the mark; and red (the regulator filing, which needs an exact date) waits for the official year."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from claimwatch.auth.models import Role
from claimwatch.cli import app
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.sla import jobs
from claimwatch.sla import service as sla_service
from claimwatch.sla.models import Escalation, RegulatorFiling, SlaClockEvent
from tests.factories import reported
from tests.sla.helpers import clocks, local, post_events
from tests.web.conftest import sign_in

# A made-up official 2027 for the test: New Year's Day bridged to Monday 4 January.
OFFICIAL_2027 = """\
year: 2027
source: 测试用安排
holidays:
  - {date: 2027-01-01, name: 元旦}
  - {date: 2027-01-04, name: 元旦调休}
  - {from: 2027-02-05, to: 2027-02-11, name: 春节}
workdays:
  - {date: 2027-02-13, name: 春节调休}
"""


def _claim_of_5_december(client, tenant) -> None:
    # claim_decision, 30 / 40 calendar days (保险法 art. 23) from Sat 5 Dec 2026: both end in 2027, which is
    # not loaded: 30 days end on Mon 4 Jan (a working day on the statutory calendar), 40 on Thu 14 Jan.
    event = reported("r", "P-1", org_code=tenant.branch_code)
    event["occurred_at"] = "2026-12-05T10:00:00+08:00"
    post_events(client, tenant.api_key, [event])
    # The decision clock starts when the materials are complete (issue 15): here with the report itself.
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        claim_id = clocks(tenant.id)[0].claim_id
        sla_service.signal(session, tenant.id, claim_id, "materials_complete", local(2026, 12, 5, 10), "test")


def _load(tmp_path: Path) -> str:
    path = tmp_path / "2027.yaml"
    path.write_text(OFFICIAL_2027, encoding="utf-8")
    result = CliRunner().invoke(app, ["calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_deadline_in_an_unloaded_year_is_provisional_held_from_red_and_recomputed_on_load(
    client: TestClient, world, tmp_path
):
    tenant = world.tenant()
    _claim_of_5_december(client, tenant)
    clock = clocks(tenant.id, "claim_decision")[0]
    assert clock.calendar_gap is None
    assert clock.yellow_due_at == local(2027, 1, 5)  # end of Mon 4 Jan: provisional
    assert clock.red_due_at == local(2027, 1, 15)  # end of Thu 14 Jan: provisional
    views = client.get("/api/v1/claims/P-1/clocks", headers={"X-API-Key": tenant.api_key}).json()
    decision = next(v for v in views if v["policy"] == "claim_decision")
    assert decision["provisional"] is True and decision["red_provisional"] is True
    notice = next(v for v in views if v["policy"] == "materials_notice")  # 3 / 5 days: within 2026, exact
    assert notice["provisional"] is False and notice["red_provisional"] is False

    # The claim page marks both dates (暂定) and says why.
    user = world.user("acme.qm", Role.QUALITY_MANAGER, tenant)
    page_client = TestClient(client.app)
    sign_in(page_client, user)
    html = page_client.get("/claims/P-1").text
    card = html[html.index('data-policy="claim_decision"') :]
    card = card[: card.index("</article>")]
    assert card.count('data-provisional="1"') == 2
    assert "provisional-note" in card and "2027" in card
    other = html[html.index('data-policy="materials_notice"') :]
    assert 'data-provisional="1"' not in other[: other.index("</article>")]

    # 20 January: both thresholds have passed, but red would file with an inexact date: it waits.
    jobs.sweep(now=local(2027, 1, 20, 12))
    clock = clocks(tenant.id, "claim_decision")[0]
    assert clock.light == "yellow" and clock.escalated == 1
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        levels = {e.level for e in session.execute(select(Escalation).where(Escalation.clock_id == clock.id)).scalars()}
        filed = {f.policy_code for f in session.execute(select(RegulatorFiling)).scalars()}
    assert levels == {"yellow"}
    assert "claim_decision" not in filed and "materials_notice" in filed  # an exact red still files

    # The official 2027 is loaded: the target moves (4 January is off), the marks go, red files.
    assert "open deadlines recomputed" in _load(tmp_path)
    clock = clocks(tenant.id, "claim_decision")[0]
    assert clock.yellow_due_at == local(2027, 1, 6) and clock.red_due_at == local(2027, 1, 15)
    views = client.get("/api/v1/claims/P-1/clocks", headers={"X-API-Key": tenant.api_key}).json()
    assert not any(v["provisional"] or v["red_provisional"] for v in views)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        log = (
            session.execute(
                select(SlaClockEvent).where(SlaClockEvent.clock_id == clock.id, SlaClockEvent.kind == "recomputed")
            )
            .scalars()
            .all()
        )
    assert len(log) == 1 and "calendar 2027 loaded" in (log[0].reason or "")
    assert log[0].due_before == local(2027, 1, 5) and log[0].due_after == local(2027, 1, 6)
    html = page_client.get("/claims/P-1").text
    assert 'data-provisional="1"' not in html and "provisional-note" not in html

    jobs.sweep(now=local(2027, 1, 20, 13))
    clock = clocks(tenant.id, "claim_decision")[0]
    assert clock.light == "red" and clock.escalated == 2
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        filing = session.execute(
            select(RegulatorFiling).where(RegulatorFiling.policy_code == "claim_decision")
        ).scalar_one()
    assert filing.red_due_at == local(2027, 1, 15) and filing.yellow_due_at == local(2027, 1, 6)


def test_a_provisional_deadline_that_does_not_move_is_logged_as_confirmed(client: TestClient, world, tmp_path):
    tenant = world.tenant()
    event = reported("r", "P-2", org_code=tenant.branch_code, amount="90000")
    event["occurred_at"] = "2026-11-20T10:00:00+08:00"
    post_events(client, tenant.api_key, [event])
    advance = clocks(tenant.id, "advance_payment")[0]
    assert advance.yellow_due_at == local(2027, 1, 20)  # 60 days: Tue 19 Jan, the same in both calendars
    _load(tmp_path)
    advance = clocks(tenant.id, "advance_payment")[0]
    assert advance.yellow_due_at == local(2027, 1, 20)
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        kinds = [
            e.kind for e in session.execute(select(SlaClockEvent).where(SlaClockEvent.clock_id == advance.id)).scalars()
        ]
    assert kinds.count("recomputed") == 1  # the date became exact: recorded, though it did not move
