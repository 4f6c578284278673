"""The third-party KPIs' drill-down (issue 21, h8): the links the dashboard cards, its drill table and
/providers/performance render lead to /provider-tasks, which lists exactly the tasks the KPI counted — every
status, cancelled tasks left out — for an insurer's quality manager and for the regulator (every insurer, or one
with ``tenant=``); malformed drill values are a 422 naming the field, never a 500, on the page and the CSV. And
``claimwatch providers scorecards`` (h4's command, registered in providers/cli.py).

On h4's scorecard world (tests/providers/scorecard_world.py): October 2026, ACME 13 tasks with a verdict (8 to
standard and on time), one cancelled; BETA 2 late ones."""

from __future__ import annotations

import datetime as dt
import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from claimwatch.access.models import PersonalDataAccess
from claimwatch.cases.models import Claim
from claimwatch.cli import app as cli_app
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import snapshot
from claimwatch.providers.models import ProviderTask
from claimwatch.tenancy.models import OrgUnit
from tests.providers.scorecard_world import CST, PERIOD, ScorecardWorld, scorecard_world_fixture  # noqa: F401
from tests.web.conftest import sign_in

_TASK = re.compile(r'<tr data-task="([^"]+)"')
_TOTAL = re.compile(r'id="queue-summary" data-total="(\d+)"')


def _numbers(sw: ScorecardWorld, keys: dict[str, slice]) -> set[str]:
    """The task numbers of the world's tasks: provider key ("ACME:APP-1") → which of its tasks, in order."""
    ids = [task_id for key, part in keys.items() for task_id in sw.task_ids[key][part]]
    with unit_of_work(TenantContext.regulator()) as session:
        return set(session.scalars(select(ProviderTask.number).where(ProviderTask.id.in_(ids))))


def _listed(client: TestClient, href: str) -> set[str]:
    """Follow a rendered link; the task numbers listed (one page holds them all here) and the total agree."""
    response = client.get(html.unescape(href))
    assert response.status_code == 200, (href, response.text[:500])
    found = _TASK.findall(response.text)
    total = _TOTAL.search(response.text)
    assert total is not None and int(total[1]) == len(found) == len(set(found))
    return set(found)


def _card_links(page: str, kpi: str) -> list[tuple[str, int]]:
    """(href, the count the card shows) of the card's numerator and denominator links."""
    card = page[page.index(f'id="kpi-{kpi}"') :]
    card = card[: card.index("</article>")]
    return [
        (href, int(count))
        for href, count in re.findall(r'<a href="([^"]+)" class="drill-count"[^>]*data-count="(\d+)"', card)
    ]


def test_dashboard_and_performance_links_list_exactly_the_counted_tasks(scorecard_world: ScorecardWorld):
    sw, client = scorecard_world, scorecard_world.client
    snapshot.take_snapshot(now=dt.datetime(2026, 11, 5, 10, tzinfo=CST))
    good = {"ACME:APP-1": slice(0, 3), "ACME:APP-2": slice(0, 5)}
    judged = {"ACME:APP-1": slice(None), "ACME:APP-2": slice(0, 5), "ACME:REP-1": slice(None)}
    cancelled = _numbers(sw, {"ACME:APP-2": slice(5, 6)})
    client.cookies.clear()
    sign_in(client, "acme.qm")
    assert client.get("/provider-tasks").text.count("<tr data-task=") == 0  # the plain queue: open tasks only
    page = client.get(f"/dashboard?period={PERIOD}&by=region").text
    for kpi in ("provider_standard_rate", "provider_report_on_time"):
        (numerator, shown_n), (denominator, shown_d) = _card_links(page, kpi)
        assert "/provider-tasks?" in numerator and "due_from=2026-10-01" in numerator
        assert _listed(client, numerator) == _numbers(sw, good) and shown_n == 8
        listed = _listed(client, denominator)
        assert listed == _numbers(sw, judged) and shown_d == 13 and not listed & cancelled
    # The drill table's cell (region 440000): the same tasks, with the region filter kept in the link.
    cell = re.search(r'<a href="(/provider-tasks\?[^"]*region=440000[^"]*)" data-count="(\d+)"', page)
    assert cell is not None and len(_listed(client, cell[1])) == int(cell[2]) == 8
    # /providers/performance: APP-1's standard and judged figures.
    performance = client.get(f"/providers/performance?period={PERIOD}&by=provider").text
    row = performance[performance.index('data-key="APP-1"') :]
    standard = re.search(r'<a href="([^"]+)" class="drill-standard"', row)
    judged_link = re.search(r'<td class="n"><a href="([^"]+)">6</a>', row)
    assert standard is not None and judged_link is not None
    assert _listed(client, standard[1]) == _numbers(sw, {"ACME:APP-1": slice(0, 3)})
    assert _listed(client, judged_link[1]) == _numbers(sw, {"ACME:APP-1": slice(None)})
    # The CSV follows the same filters.
    exported = client.get("/provider-tasks.csv?" + html.unescape(standard[1]).split("?", 1)[1])
    assert exported.status_code == 200 and sum(n in exported.text for n in _numbers(sw, good)) == 3
    with sw.session() as session:  # claim numbers with dates: the export is in the insurer's access log
        purposes = session.scalars(select(PersonalDataAccess.purpose).where(PersonalDataAccess.actor == "user:acme.qm"))
        assert "provider_tasks_export" in set(purposes)

    # The regulator: every insurer's tasks (read-only rows linking to the claim), or one insurer's.
    client.cookies.clear()
    sign_in(client, "cbirc")
    page = client.get(f"/dashboard?period={PERIOD}&by=tenant").text
    (numerator, shown_n), (denominator, shown_d) = _card_links(page, "provider_report_on_time")
    beta = _numbers(sw, {"BETA:REP-9": slice(None)})
    assert _listed(client, numerator) == _numbers(sw, good) and shown_n == 8
    assert _listed(client, denominator) == _numbers(sw, judged) | beta and shown_d == 15
    by_org = client.get(f"/dashboard?period={PERIOD}&tenant=BETA&by=org").text  # by insurer: /benchmarks instead
    cells = re.findall(r'<a href="(/provider-tasks\?[^"]*tenant=BETA[^"]*)" data-count="(\d+)"', by_org)
    assert cells and all(int(count) == len(_listed(client, href)) for href, count in cells)
    page = client.get(f"/dashboard?period={PERIOD}&tenant=BETA").text  # the drill row's link: one insurer
    (_numerator, _shown), (denominator, shown_d) = _card_links(page, "provider_standard_rate")
    assert "tenant=BETA" in denominator and _listed(client, denominator) == beta and shown_d == 2
    listed = client.get(html.unescape(denominator)).text
    assert 'data-tenant="BETA"' in listed and 'href="/provider-tasks/PT-' not in listed
    assert 'href="/claims/Z1?tenant=BETA"' in listed
    assert client.get("/provider-tasks.csv?tenant=BETA&judged=1&lang=en").text.startswith("\ufeffInsurer,Task")


def test_malformed_drill_values_are_a_422_naming_the_field(scorecard_world: ScorecardWorld):
    client = scorecard_world.client
    client.cookies.clear()
    sign_in(client, "acme.qm")
    for query, field in (
        ("due_from=2026-13-01", "due_from"),
        ("due_from=2026-10-31&due_to=2026-10-01", "due_to"),
        ("standard=2", "standard"),
        ("judged=yes", "judged"),
        ("unit=abc", "unit"),
        ("org=-1", "org"),
    ):
        page = client.get(f"/provider-tasks?{query}&lang=en")
        assert page.status_code == 422 and f'data-field="{field}"' in page.text, query
        assert "<tr data-task=" not in page.text
        assert client.get(f"/provider-tasks.csv?{query}").status_code == 422, query
    # unit= is the claim's org unit itself, org= that unit and its subtree (the dashboard's scope).
    with scorecard_world.session() as session:
        units = set(session.scalars(select(Claim.org_unit_id).where(Claim.number.in_(["C1", "C2"]))))
        root = session.scalar(select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)))
    assert root not in units and len(units) == 1  # the claims are the branch's (scorecard_world)
    assert len(_listed(client, f"/provider-tasks?judged=1&unit={units.pop()}")) == 13
    assert _listed(client, f"/provider-tasks?judged=1&unit={root}") == set()
    assert len(_listed(client, f"/provider-tasks?judged=1&org={root}")) == 13
    # A staff member's tenant= is ignored (their own tasks); an unknown code matches nothing, no error.
    assert len(_listed(client, "/provider-tasks?judged=1&tenant=BETA")) == 13
    assert _listed(client, "/provider-tasks?judged=1&provider=NOPE") == set()


def test_the_scorecards_command_is_registered(scorecard_world: ScorecardWorld):
    runner = CliRunner(env={"COLUMNS": "240"})  # the table's 13 columns, unwrapped
    result = runner.invoke(cli_app, ["providers", "scorecards", "--tenant", "ACME", "--period", PERIOD])
    assert result.exit_code == 0, result.output
    assert "APP-1" in result.output and "flag(s) written or updated for 2026-10" in result.output
    bad = runner.invoke(cli_app, ["providers", "scorecards", "--tenant", "NOPE", "--period", PERIOD])
    assert bad.exit_code != 0
