"""The claim list's filters, sorts, validation and CSV export (issue 12, item 4), on both databases."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.tenancy.models import OrgUnit
from tests.web.conftest import CLEAR_PHONE, Seeded, SlaWorld, sign_in
from tests.web.conftest import client as client  # noqa: F401
from tests.web.conftest import seeded as seeded  # noqa: F401
from tests.web.conftest import sla as sla  # noqa: F401

_ROW = re.compile(r'<tr data-number="([^"]+)"')
_TOTAL = re.compile(r'data-total="(\d+)"')


def _numbers(client: TestClient, query: str) -> list[str]:
    response = client.get(f"/claims?{query}")
    assert response.status_code == 200, response.text[:400]
    numbers = _ROW.findall(response.text)
    total = int(_TOTAL.search(response.text).group(1))  # type: ignore[union-attr]
    assert total == len(numbers)  # small worlds: one page
    return numbers


def _org_id(tenant_id: int, code: str) -> int:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return session.execute(select(OrgUnit.id).where(OrgUnit.code == code)).scalar_one()


def test_light_overdue_org_and_amount_filters(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.supervisor)
    # Worst light of the open clocks: S-RED is red (its other clocks green), S-YEL yellow, S-PAU paused green.
    assert _numbers(client, "light=red") == ["S-RED"]
    assert _numbers(client, "light=yellow") == ["S-YEL"]
    assert set(_numbers(client, "light=green")) == {"S-PAU"}
    assert set(_numbers(client, "overdue=1")) == {"S-RED", "S-YEL"}
    # An org unit and everything below it; the head office covers the branch.
    branch = _org_id(sla.acme.id, sla.acme.branch_code)
    assert set(_numbers(client, f"org={branch}")) == {"S-RED", "S-YEL"}
    head = _org_id(sla.acme.id, "ACME-HQ")
    assert set(_numbers(client, f"org={head}")) == {"S-RED", "S-YEL"}
    assert set(_numbers(client, f"unit={head}")) == set()  # the head office itself has none
    # Amount bands: all four are small (< 5 000 CNY); 1 200 ≥ 1 000 with a custom minimum.
    assert len(_numbers(client, "amount=small")) == 4
    assert _numbers(client, "amount=large") == []
    assert _numbers(client, "amount_min=1000") == ["S-YEL"]
    # Closed claims and the cycle filter the cycle-time drill uses: S-LATE closed 30 h after its report.
    assert _numbers(client, "state=closed") == ["S-LATE"]
    assert _numbers(client, "state=closed&cycle_over=1") == ["S-LATE"]
    assert _numbers(client, "state=closed&cycle_over=2") == []
    # Red filings filed in a period (B-RED is BBB's and never shows to ACME).
    assert _numbers(client, "filed_from=2026-11-01&filed_to=2026-11-30") == ["S-RED"]
    assert _numbers(client, "filed_from=2026-12-01") == []


def test_a_regulator_filters_across_insurers(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.regulator)
    response = client.get("/claims?light=red")
    assert set(_ROW.findall(response.text)) == {"S-RED", "B-RED"}
    assert _numbers(client, "light=red&tenant=BBB") == ["B-RED"]


def test_sorts_are_stable_and_deadline_is_nearest_first(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.supervisor)
    by_amount = _numbers(client, "sort=amount&dir=asc")
    assert by_amount == ["S-LATE", "S-RED", "S-PAU", "S-YEL"]  # 700, 800, 900, 1 200
    assert _numbers(client, "sort=amount") == by_amount[::-1]
    # Nearest target first; then the claims without a running target (S-LATE closed, S-PAU paused).
    deadline = _numbers(client, "sort=deadline")
    assert deadline[:2] == ["S-RED", "S-YEL"] and set(deadline[2:]) == {"S-LATE", "S-PAU"}
    by_status = _numbers(client, "sort=status&dir=asc")
    assert by_status[0] == "S-PAU" and by_status[1] == "S-LATE"  # awaiting_materials < closed < reported
    assert by_status[2:] == ["S-RED", "S-YEL"]  # the same status: the older claim (lower id) first
    assert _numbers(client, "sort=status") == by_status[::-1]


def test_bad_filters_are_refused_by_field_in_the_readers_language(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.supervisor)
    bad = client.get("/claims?reported_from=2026-13-01")
    assert bad.status_code == 422
    assert 'data-field="reported_from"' in bad.text and 'aria-invalid="true"' in bad.text
    assert 'value="2026-13-01"' in bad.text  # kept as typed
    assert not _ROW.findall(bad.text)  # no rows pretending to be filtered
    reversed_range = client.get("/claims?reported_from=2026-11-05&reported_to=2026-11-01")
    assert reversed_range.status_code == 422 and 'data-field="reported_to"' in reversed_range.text
    assert client.get("/claims?amount_min=-5").status_code == 422
    assert client.get("/claims?route=fast").status_code == 422  # not a triage route
    assert client.get("/claims?route=fast_track").status_code == 200
    ok = client.get("/claims?reported_from=2026-11-02&reported_to=2026-11-02")
    assert ok.status_code == 200
    assert set(_ROW.findall(ok.text)) == {"S-RED", "S-PAU", "S-LATE"}  # 11-02 local; S-YEL 11-03
    csv_bad = client.get("/claims.csv?reported_to=2026-02-30")
    assert csv_bad.status_code == 422


def test_assignee_me_and_unassigned(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)
    assert _numbers(client, "assignee=me") == ["A-MOT-001"]
    assert "A-MOT-001" not in _numbers(client, "assignee=unassigned")
    assert len(_numbers(client, "assignee=unassigned")) == 3
    assert _numbers(client, f"assignee={seeded.adjuster}") == ["A-MOT-001"]
    assert _numbers(client, "assignee=nobody.here") == []


def test_csv_export_is_exactly_the_filtered_rows_masked_local_and_logged(client: TestClient, sla: SlaWorld):
    sign_in(client, sla.quality)
    response = client.get("/claims.csv?overdue=1&sort=amount&dir=asc")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:4] == ["赔案号", "险种", "状态", "机构"]
    assert [row[0] for row in rows[1:]] == ["S-RED", "S-YEL"]  # exactly the list's rows, in its order
    assert CLEAR_PHONE not in body and "138" in body  # masked
    reported = rows[1][rows[0].index("报案时间")]
    assert reported == "2026-11-02 09:00"  # local time (UTC+8), not 01:00 UTC
    english = client.get("/claims.csv?overdue=1&lang=en").content.decode("utf-8")
    assert english.lstrip("\ufeff").startswith("Claim number,")
    log = client.get("/api/v1/access-log?kind=export").json()
    refs = [item["record"] for item in log["items"]]
    assert any(ref.startswith("claims.csv") and "overdue=1" in ref for ref in refs)
