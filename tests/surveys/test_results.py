"""Survey results: exact figures on a small seeded set by org, line, handler, period and subject type;
comments with their case, handler and org; tenant isolation and roles; the page, the API and the CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from claimwatch.auth.models import Role
from claimwatch.surveys import jobs
from claimwatch.surveys import queries as survey_results
from claimwatch.surveys.service import SurveyError
from claimwatch.tenancy.service import platform_zone
from tests.factories import TenantHandle, World
from tests.snapshots import Snapshot
from tests.surveys.conftest import close_claim, now, token_for
from tests.web.conftest import sign_in


@dataclass(frozen=True)
class Seeded:
    acme: TenantHandle
    bbb: TenantHandle
    quality: str  # ACME quality manager
    bbb_quality: str
    adjuster: str  # ACME, handles C-1, C-2, C-5
    other_handler: str  # ACME, handles C-3, C-4
    regulator: str


def _answer(client: TestClient, tenant: TenantHandle, number: str, **scores: Any) -> None:
    response = client.post(f"/api/v1/public/surveys/{token_for(tenant, number)}", json=scores)
    assert response.status_code == 201, response.text


@pytest.fixture
def seeded(world: World, client: TestClient, db_snapshot: Snapshot) -> Seeded:
    return db_snapshot("surveys.results_seeded", lambda: build_seeded(world, client))


def build_seeded(world: World, client: TestClient) -> Seeded:
    """ACME: C-1, C-2 (motor, branch, li), C-3 (medical, branch, wang), C-4 (medical, no org, wang, not
    answered), C-5 (motor, branch, li, no phone: unreachable). BBB: B-1 answered 2."""
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    seeded = Seeded(
        acme=acme,
        bbb=bbb,
        quality=world.user("qian.quality", Role.QUALITY_MANAGER, acme),
        bbb_quality=world.user("zhao.quality", Role.QUALITY_MANAGER, bbb),
        adjuster=world.user("li.adjuster", Role.ADJUSTER, acme),
        other_handler=world.user("wang.adjuster", Role.ADJUSTER, acme),
        regulator=world.user("cbirc.gd", Role.REGULATOR, None),
    )
    closed = now() - dt.timedelta(hours=5)
    branch = acme.branch_code
    li, wang = seeded.adjuster, seeded.other_handler
    close_claim(client, acme, "C-1", closed, assignee=li, org_code=branch)
    close_claim(client, acme, "C-2", closed, assignee=li, org_code=branch)
    close_claim(client, acme, "C-3", closed, assignee=wang, org_code=branch, line="medical")
    close_claim(client, acme, "C-4", closed, assignee=wang, line="medical")
    close_claim(client, acme, "C-5", closed, assignee=li, org_code=branch, claimant={"name": "王五"})
    close_claim(client, bbb, "B-1", closed, org_code=bbb.branch_code)
    result = jobs.issue_due()
    assert (result.claims, result.unreachable) == (6, 1)
    _answer(client, acme, "C-1", overall=10, timeliness=9, transparency=8, attitude=10, comment="很好 13812345678")
    _answer(client, acme, "C-2", overall=6, timeliness=4, attitude=7)
    _answer(client, acme, "C-3", overall=9, transparency=6, comment="=SUM(A1) 太慢")
    _answer(client, bbb, "B-1", overall=2, comment="另一家的意见")
    return seeded


def _api(client: TestClient, handle: TenantHandle, world: World, *, role: Role = Role.QUALITY_MANAGER, **params: str):  # type: ignore[no-untyped-def]
    key = world.api_key(handle, role)
    return client.get("/api/v1/surveys/results", params=params, headers={"X-API-Key": key})


def _rows(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["label"]: row for row in body["rows"]}


def _figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["sent"],
        row["unreachable"],
        row["responded"],
        row["response_rate"],
        row["answers"],
        row["mean_overall"],
        row["mean_timeliness"],
        row["mean_transparency"],
        row["mean_attitude"],
        row["promoters"],
        row["detractors"],
    )


MOTOR = (2, 1, 2, 1.0, 2, 8.0, 6.5, 8.0, 8.5, 0.5, 0.5)
MEDICAL = (2, 0, 1, 0.5, 1, 9.0, None, 6.0, None, 1.0, 0.0)


def test_exact_figures_by_org_line_handler_period_and_type(seeded: Seeded, client: TestClient, world: World):
    by_org = _api(client, seeded.acme, world, by="org")
    assert by_org.status_code == 200, by_org.text
    body = by_org.json()
    rows = _rows(body)
    assert list(rows) == ["广东分公司", "未指定"]
    assert _figures(rows["广东分公司"]) == (3, 1, 3, 1.0, 3, 8.33, 6.5, 7.0, 8.5, 0.6667, 0.3333)
    assert _figures(rows["未指定"]) == (1, 0, 0, 0.0, 0, None, None, None, None, None, None)
    assert _figures(body["total"]) == (4, 1, 3, 0.75, 3, 8.33, 6.5, 7.0, 8.5, 0.6667, 0.3333)
    assert all(row["tenant"] is None for row in body["rows"])

    lines = _rows(_api(client, seeded.acme, world, by="line").json())
    assert _figures(lines["车险"]) == MOTOR
    assert _figures(lines["医疗险"]) == MEDICAL

    handlers = _rows(_api(client, seeded.acme, world, by="handler").json())
    assert _figures(handlers["li.adjuster"]) == MOTOR
    assert _figures(handlers["wang.adjuster"]) == MEDICAL

    month = survey_results.local_today(platform_zone()).strftime("%Y-%m")
    periods = _api(client, seeded.acme, world, by="period").json()
    assert [row["key"] for row in periods["rows"]] == [month]
    assert _figures(periods["rows"][0]) == _figures(body["total"])

    types = _api(client, seeded.acme, world, by="subject_type").json()
    assert [(row["key"], row["label"]) for row in types["rows"]] == [("claim", "赔案")]
    only_complaints = _api(client, seeded.acme, world, by="org", type="complaint").json()
    assert only_complaints["rows"] == [] and only_complaints["total"]["sent"] == 0

    english = client.get(
        "/api/v1/surveys/results",
        params={"by": "region", "lang": "en"},
        headers={"X-API-Key": world.api_key(seeded.acme, Role.QUALITY_MANAGER)},
    ).json()
    assert [row["label"] for row in english["rows"]] == ["Guangdong"]


def test_comments_are_masked_newest_first_with_case_handler_and_org(seeded: Seeded, client: TestClient, world: World):
    body = _api(client, seeded.acme, world).json()
    comments = body["comments"]
    assert [(c["reference"], c["handler"], c["org_unit"], c["overall"]) for c in comments] == [
        ("C-3", "wang.adjuster", "广东分公司", 9),
        ("C-1", "li.adjuster", "广东分公司", 10),
    ]
    assert comments[1]["comment"] == "很好 138********"
    assert "13812345678" not in str(body)
    assert "另一家的意见" not in str(body)

    org_key = _rows(body)["广东分公司"]["key"]
    drilled = _api(client, seeded.acme, world, by="org", drill=org_key).json()
    assert [c["reference"] for c in drilled["comments"]] == ["C-3", "C-1"]
    none = _api(client, seeded.acme, world, by="org", drill="").json()
    assert len(none["comments"]) == 2  # an empty drill is no drill
    by_handler = _api(client, seeded.acme, world, by="handler").json()
    wang_key = _rows(by_handler)["wang.adjuster"]["key"]
    assert [
        c["reference"] for c in _api(client, seeded.acme, world, by="handler", drill=wang_key).json()["comments"]
    ] == ["C-3"]
    by_line = [c["reference"] for c in _api(client, seeded.acme, world, by="line", drill="motor").json()["comments"]]
    assert by_line == ["C-1"]


def test_tenant_isolation_and_the_regulators_view(seeded: Seeded, client: TestClient, world: World):
    bbb = _api(client, seeded.bbb, world).json()
    assert [_figures(row)[:6] for row in bbb["rows"]] == [(1, 0, 1, 1.0, 1, 2.0)]
    assert [c["reference"] for c in bbb["comments"]] == ["B-1"]

    sign_in(client, seeded.regulator)
    everyone = client.get("/api/v1/surveys/results", params={"by": "org"}).json()
    assert sorted((row["tenant"], row["label"], row["sent"]) for row in everyone["rows"]) == [
        ("ACME", "广东分公司", 3),
        ("ACME", "未指定", 1),
        ("BBB", "广东分公司", 1),
    ]
    assert everyone["total"]["sent"] == 5 and everyone["total"]["answers"] == 4
    assert {c["tenant"] for c in everyone["comments"]} == {"ACME", "BBB"}
    one = client.get("/api/v1/surveys/results", params={"tenant": "bbb"}).json()
    assert {row["tenant"] for row in one["rows"]} == {"BBB"}
    drilled = client.get("/api/v1/surveys/results", params={"by": "line", "drill": "BBB:motor"}).json()
    assert [c["reference"] for c in drilled["comments"]] == ["B-1"]
    unknown = client.get("/api/v1/surveys/results", params={"tenant": "NOPE"})
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "tenant"

    # A tenant's staff cannot widen their view with the tenant parameter.
    acme_only = _api(client, seeded.acme, world, tenant="BBB").json()
    assert {c["reference"] for c in acme_only["comments"]} == {"C-1", "C-3"}


@pytest.mark.parametrize("role", [Role.ADJUSTER, Role.INTEGRATION])
def test_roles_without_survey_access_are_refused(seeded: Seeded, client: TestClient, world: World, role: Role):
    assert _api(client, seeded.acme, world, role=role).status_code == 403


def test_bad_parameters_are_refused_naming_them(seeded: Seeded, client: TestClient, world: World):
    for params, field in [
        ({"by": "colour"}, "by"),
        ({"type": "sale"}, "type"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-11-10", "to": "2026-11-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-11-01"}, "to"),
        ({"by": "org", "drill": "abc"}, "drill"),
    ]:
        response = _api(client, seeded.acme, world, **params)
        assert response.status_code == 422, params
        assert response.json()["problems"][0]["field"] == field


def test_a_period_without_surveys_is_empty(seeded: Seeded, client: TestClient, world: World):
    yesterday = survey_results.local_today(platform_zone()) - dt.timedelta(days=1)
    body = _api(client, seeded.acme, world, to=yesterday.isoformat(), **{"from": "2026-01-01"}).json()
    assert body["rows"] == [] and body["comments"] == [] and body["total"]["response_rate"] is None


def test_the_page_and_csv_exports(seeded: Seeded, client: TestClient):
    sign_in(client, seeded.quality)
    page = client.get("/surveys/results", params={"by": "line"})
    assert page.status_code == 200
    html = page.text
    assert 'id="results-table"' in html and 'id="results-chart"' in html
    assert '<tr data-key="motor">' in html or 'data-key="motor"' in html
    assert "13812345678" not in html and "138********" in html
    assert '"series"' in html and "/static/surveys.js" in html
    assert 'href="/claims/C-1"' in html

    exported = client.get("/surveys/results.csv", params={"by": "line", "lang": "en"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(r["Group code"], r["Sent"], r["Answered"], r["Overall (mean)"]) for r in table] == [
        ("medical", "2", "1", "9.0"),
        ("motor", "2", "2", "8.0"),
        ("*", "4", "3", "8.33"),
    ]
    comments = client.get("/surveys/results.csv", params={"part": "comments", "lang": "en"})
    text = comments.text
    assert "13812345678" not in text and "138********" in text
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["Case"] for r in rows] == ["C-3", "C-1"]
    assert rows[0]["Comment"] == "'=SUM(A1) 太慢"  # a spreadsheet must not run it as a formula
    assert rows[0]["Handler"] == "wang.adjuster"

    bad = client.get("/surveys/results", params={"by": "colour"})
    assert bad.status_code == 422 and 'data-field="by"' in bad.text


def test_the_page_is_refused_to_other_roles_and_to_visitors(seeded: Seeded, client: TestClient):
    visitor = client.get("/surveys/results", follow_redirects=False)
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/login")
    sign_in(client, seeded.adjuster)
    assert client.get("/surveys/results").status_code == 403
    assert client.get("/surveys/results.csv").status_code == 403


def test_the_regulator_page_has_a_tenant_column(seeded: Seeded, client: TestClient):
    sign_in(client, seeded.regulator)
    html = client.get("/surveys/results").text
    assert 'data-tenant="ACME"' in html and 'data-tenant="BBB"' in html
    assert 'id="f-tenant"' in html
    exported = client.get("/surveys/results.csv").text  # Chinese headers by default
    tenants = {r["保险公司"] for r in csv.DictReader(io.StringIO(exported.lstrip("\ufeff")))}
    assert tenants == {"ACME", "BBB", ""}


def test_the_service_function(seeded: Seeded):
    from claimwatch.auth.principal import AccessDenied, Principal
    from claimwatch.db import TenantContext, unit_of_work

    quality = Principal(role=Role.QUALITY_MANAGER, tenant_id=seeded.acme.id, actor="user:qian.quality")
    today = survey_results.local_today(platform_zone())
    with unit_of_work(TenantContext(tenant_id=seeded.acme.id, read_only=True)) as session:
        body = survey_results.results(session, quality, period_from=today, period_to=today, group_by="line")
        assert {row["key"]: _figures(row) for row in body["rows"]} == {"motor": MOTOR, "medical": MEDICAL}
        drilled = survey_results.results(
            session, quality, period_from=today, period_to=today, drill="motor", group_by="line"
        )
        assert [c["reference"] for c in drilled["comments"]] == ["C-1"]
        with pytest.raises(SurveyError) as refused:
            survey_results.results(session, quality, period_from=today, period_to=today, group_by="colour")
        assert (refused.value.status, refused.value.field) == (422, "by")
        adjuster = Principal(role=Role.ADJUSTER, tenant_id=seeded.acme.id, actor="user:li.adjuster")
        with pytest.raises(AccessDenied):
            survey_results.results(session, adjuster, period_from=today, period_to=today)
