"""The triage and risk pages (issue 15) on one small world per dialect: the claim page's triage and risk panel,
the review queue (核查) and a decision that becomes a label, the rule-set versions with the monitor comparison
and the mode switch, the catastrophe events with a declaration from the page; who may see and do what, and
another insurer's records answering 404."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import claimwatch.triage.subscriptions  # noqa: F401 - the report-time reaction (wired by claimwatch.subscriptions)
from claimwatch import db
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo.generator import id_number
from claimwatch.risk.models import RiskModel, RiskReview
from claimwatch.triage import catastrophes
from claimwatch.triage import service as triage_service
from claimwatch.web.security import CSRF_FIELD
from tests.apps import shared_app
from tests.factories import PASSWORD, TenantHandle, World, reported
from tests.reports.helpers import module_database

CST = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class PageWorld:
    client: TestClient
    acme: TenantHandle
    bbb: TenantHandle
    review_id: int
    event_id: int
    bbb_event_id: int


def principal_of(username: str) -> Principal:
    with unit_of_work(TenantContext.system_reader()) as session:
        user = auth_repository.user_by_username(session, username)
        assert user is not None
        return auth_service.principal_for_user(user, session)


def _report(event_id: str, number: str, now: dt.datetime, serial: int, **values: Any) -> dict[str, Any]:
    """A report at ``now`` by a claimant of its own (no repeat-claimant pattern across the test's claims)."""
    event = reported(event_id, number, **values)
    event["occurred_at"] = now.isoformat()
    birth = dt.date(1980, 1, 1) + dt.timedelta(days=serial * 97)
    event["claim"]["claimant"] = {
        "name": "张三丰",
        "phone": f"1390000{serial:04d}",
        "id_number": id_number("440101", birth, serial),
    }
    return event


def report_events(now: dt.datetime, branch: str | None = None) -> list[dict[str, Any]]:
    """FT-1: a small motor damage with clear liability (三免 fast track); RISK-1: an accident at night, 10 days
    after the policy started and reported 20 days later (high risk: waits for review); CAT-1: a claim in
    Guangdong that a catastrophe event will take into its green channel."""
    today = now.astimezone(CST).date()
    night = dt.datetime.combine(today - dt.timedelta(days=20), dt.time(23, 30), CST)
    return [
        _report(
            "ft-1",
            "FT-1",
            now,
            1,
            amount="1800.00",
            region_code="310000",
            org_code=branch,
            details={
                "claim_type": "vehicle_damage",
                "liability_clear": True,
                "injury": False,
                "death": False,
                "policy_start": (today - dt.timedelta(days=400)).isoformat(),
                "accident_at": (now - dt.timedelta(hours=2)).isoformat(),
            },
        ),
        _report(
            "risk-1",
            "RISK-1",
            now,
            2,
            amount="48000.00",
            region_code="320000",
            org_code=branch,
            details={
                "claim_type": "vehicle_damage",
                "policy_start": (night.date() - dt.timedelta(days=10)).isoformat(),
                "accident_at": night.isoformat(),
            },
        ),
        _report(
            "cat-1",
            "CAT-1",
            now,
            3,
            amount="9000.00",
            org_code=branch,
            details={"claim_type": "vehicle_damage", "accident_at": (now - dt.timedelta(days=2)).isoformat()},
        ),
    ]


def set_up(world: World, api: TestClient) -> tuple[TenantHandle, TenantHandle, int, int, int]:
    """Two insurers with their staff, the default rules in force (active), the three claims, a typhoon in
    Guangdong (ACME) and one of BBB's own."""
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    for name, role in (("acme.admin", Role.ADMIN), ("acme.sup", Role.SUPERVISOR), ("acme.adj", Role.ADJUSTER)):
        world.user(name, role, acme)
    world.user("bbb.admin", Role.ADMIN, bbb)
    for tenant, admin in ((acme, "acme.admin"), (bbb, "bbb.admin")):
        with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            triage_service.load_rule_set(session, principal_of(admin), mode="active")
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    response = api.post(
        "/api/v1/events", json={"events": report_events(now, acme.branch_code)}, headers={"X-API-Key": acme.api_key}
    )
    assert response.status_code == 201, response.text
    today = now.astimezone(CST).date()
    typhoon = catastrophes.Declaration(
        code="TY-TEST",
        name="台风“测试”",
        kind="typhoon",
        region_codes=["440000"],
        starts_on=today - dt.timedelta(days=7),
    )
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        event_id = catastrophes.declare(session, principal_of("acme.admin"), typhoon).event.id
        review_id = session.execute(select(RiskReview.id)).scalar_one()
    with unit_of_work(TenantContext.for_tenant(bbb.id)) as session:
        bbb_event_id = catastrophes.declare(session, principal_of("bbb.admin"), typhoon).event.id
    return acme, bbb, review_id, event_id, bbb_event_id


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[PageWorld]:
    tmp = tmp_path_factory.mktemp(f"triage-pages-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    get_settings.cache_clear()
    db.configure(url)
    world = World(url)
    client = TestClient(shared_app())
    acme, bbb, review_id, event_id, bbb_event_id = set_up(world, client)
    yield PageWorld(client, acme, bbb, review_id, event_id, bbb_event_id)
    get_settings.cache_clear()
    for _ in databases:
        pass


def login(client: TestClient, username: str) -> str:
    client.cookies.clear()
    token = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/login").text)[1]  # type: ignore[index]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/my").text)[1]  # type: ignore[index]


def test_the_claim_panel_shows_route_rules_and_risk_to_whom_it_may(pw: PageWorld):
    client = pw.client
    login(client, "acme.sup")
    page = client.get("/claims/FT-1?lang=en").text
    assert 'id="triage-panel" aria-labelledby="triage-title" data-route="fast_track"' in page
    assert 'data-rule="FT-MOTOR-DAMAGE"' in page and "Small motor vehicle damage (fast track)" in page
    assert 'id="risk-fields" data-level="low"' in page
    risky = client.get("/claims/RISK-1?lang=en").text
    assert 'data-level="high"' in risky and 'data-flag="soon_after_inception"' in risky
    assert "Accident 10 days after the policy started" in risky
    assert f'href="/risk/review/{pw.review_id}"' in risky
    cat = client.get("/claims/CAT-1").text
    assert 'data-route="green"' in cat and 'id="advance-payment-prompt"' in cat
    assert f'href="/triage/catastrophes/{pw.event_id}"' in cat
    # An adjuster sees the route and the rules, not the risk score; and no review queue.
    login(client, "acme.adj")
    page = client.get("/claims/FT-1").text
    assert 'data-route="fast_track"' in page and 'id="risk-fields"' not in page
    assert client.get("/risk/review").status_code == 403


def test_a_reviewer_decides_with_a_reason_and_the_decision_is_a_label(pw: PageWorld):
    client = pw.client
    token = login(client, "acme.sup")
    queue = client.get("/risk/review?lang=en").text
    assert f'data-review="{pw.review_id}" data-claim="RISK-1" data-status="open"' in queue
    assert "Claim soon after inception" in queue and "Late report" in queue
    url = f"/risk/review/{pw.review_id}"
    refused = client.post(f"{url}/decide?lang=en", data={CSRF_FIELD: token, "decision": "cleared", "reason": "ok"})
    assert refused.status_code == 422 and 'data-field="reason"' in refused.text
    assert client.post(f"{url}/decide", data={"decision": "cleared", "reason": "no token"}).status_code == 403
    reason = "保单真实，夜间出险有交警证明"
    done = client.post(
        f"{url}/decide", data={CSRF_FIELD: token, "decision": "cleared", "reason": reason}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == url
    page = client.get(url).text
    assert 'data-status="decided"' in page and reason in page and 'id="review-form"' not in page
    with unit_of_work(TenantContext.for_tenant(pw.acme.id)) as session:
        assert session.execute(select(RiskReview.label)).scalar_one() == 0
    again = client.post(f"{url}/decide", data={CSRF_FIELD: token, "decision": "fraud_confirmed", "reason": reason})
    assert again.status_code == 409
    login(client, "bbb.admin")
    assert client.get(url).status_code in (403, 404)  # an admin does not review; another insurer's anyway


def test_rule_versions_the_comparison_and_the_mode_switch(pw: PageWorld):
    client = pw.client
    token = login(client, "acme.admin")
    page = client.get("/triage/rules?lang=en").text
    assert 'data-mode="active"' in page and 'data-rule="FT-MEDICAL"' in page
    assert re.search(r'id="comparison-summary" data-decisions="3"', page), page
    assert re.search(r'<tr data-rule="FT-MOTOR-DAMAGE">.*?class="num fired">1<', page, re.S)
    switched = client.post("/triage/rules/mode", data={CSRF_FIELD: token, "mode": "monitor"}, follow_redirects=False)
    assert switched.status_code == 303
    page = client.get(switched.headers["location"]).text
    assert 'id="rules-saved"' in page and page.count("<tr data-set=") == 2
    assert re.search(r'<tr data-set="\d+" data-version="[^"]+" data-mode="monitor" class="current"', page)
    assert client.post("/triage/rules/mode", data={CSRF_FIELD: token, "mode": "bold"}).status_code == 422
    login(client, "acme.adj")
    assert client.get("/triage/rules").status_code == 200
    assert client.post("/triage/rules/mode", data={CSRF_FIELD: token, "mode": "active"}).status_code == 403


def test_catastrophe_events_are_declared_and_counted_by_region(pw: PageWorld):
    client = pw.client
    token = login(client, "acme.admin")
    listing = client.get("/triage/catastrophes").text
    assert 'data-code="TY-TEST"' in listing and 'id="declare-form"' in listing
    detail = client.get(f"/triage/catastrophes/{pw.event_id}").text
    assert re.search(
        r'<tr data-region="440000">.*?class="num claims"><a [^>]*>1<.*?class="num open"><a [^>]*>1<', detail, re.S
    )
    assert 'data-claim="CAT-1"' in detail
    # Its figures open the claim list on the event's claims, marked as the green channel.
    assert f'href="/claims?catastrophe={pw.event_id}&amp;region=440000"' in detail
    listed = client.get(f"/claims?catastrophe={pw.event_id}&region=440000").text
    assert re.findall(r'<tr data-number="([^"]+)"', listed) == ["CAT-1"]
    assert re.search(r'data-number="CAT-1">.*?class="badge route-green"', listed, re.S)
    assert client.get("/claims?catastrophe=abc").status_code == 422
    form = {CSRF_FIELD: token, "code": "FL-1", "name": "洪水", "kind": "flood", "starts_on": "2026-07-01"}
    refused = client.post("/triage/catastrophes?lang=en", data=form | {"regions": "999999"})
    assert refused.status_code == 422 and 'data-field="region_codes"' in refused.text
    assert "999999" in refused.text  # the form keeps what was typed
    declared = client.post(
        "/triage/catastrophes", data=form | {"regions": "320000，310000", "lines": "motor"}, follow_redirects=False
    )
    assert declared.status_code == 303
    assert "洪水" in client.get(declared.headers["location"]).text
    assert client.get(f"/triage/catastrophes/{pw.bbb_event_id}").status_code == 404  # BBB's
    login(client, "acme.sup")
    assert 'id="declare-form"' not in client.get("/triage/catastrophes").text
    assert client.post("/triage/catastrophes", data=form | {"regions": "440000"}).status_code == 403


def _stored_model(tenant_id: int, version: int, status: str, digest: str) -> None:
    """A model version as ``risk train`` stores it (card, metrics with reliability bins), written directly:
    training needs hundreds of labels, and its own tests (tests/risk) cover it."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    features = ["log_amount", "night", "line:motor", "flag:soon_after_inception"]
    bins = [
        {"from": round(b / 10, 1), "to": round((b + 1) / 10, 1), "count": 10 * (10 - b),
         "predicted": round(b / 10 + 0.05, 4), "observed": round(b / 10 + 0.04, 4)}
        for b in range(10)
    ]  # fmt: skip
    metrics = {"holdout_auc": 0.8125, "holdout_points_auc": 0.7, "holdout_brier": 0.1234,
               "holdout_brier_base_rate": 0.2, "holdout_log_loss": 0.41, "holdout_size": 550,
               "holdout_positives": 60, "train_size": 2200, "train_positives": 240, "reliability": bins}  # fmt: skip
    card = {
        "title": f"Risk model v{version}",
        "method": "Logistic regression, Platt-calibrated",
        "trained_at": start.isoformat(),
        "trained_by": "user:acme.admin",
        "labels_from": "review decisions",
        "holdout": {"split": "by report time", "share": 0.2, "size": 550, "positives": 60},
        "features": features,
        "coefficients": [
            {"feature": f, "coefficient": c} for f, c in zip(features, (0.1, 0.9, -0.3, 1.7), strict=True)
        ],
        "red_flags": {"version": "default-1", "digest": "f" * 64},
        "metrics": metrics,
        "limitations": "Trained on reviewed claims only.",
    }
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        session.add(
            RiskModel(
                tenant_id=tenant_id, version=version, kind="logistic_platt", status=status, features=features,
                flags_digest="f" * 64, window_from=start, window_until=start + dt.timedelta(days=300),
                holdout_from=start + dt.timedelta(days=240), labels=2750, positives=300, metrics=metrics, card=card,
                params={}, digest=digest, created_at=start + dt.timedelta(days=301), created_by="user:acme.admin",
                activated_at=start + dt.timedelta(days=302) if status == "active" else None,
            )
        )  # fmt: skip


def test_model_cards_list_versions_and_show_calibration(pw: PageWorld):
    """/risk/models lists the insurer's versions (one active) with hold-out AUC; a card shows the training window,
    features by weight, the figures and the calibration table and plot data; zh/en; another insurer's is not
    there; an adjuster may not look."""
    _stored_model(pw.acme.id, 1, "retired", "a" * 64)
    _stored_model(pw.acme.id, 2, "active", "b" * 64)
    _stored_model(pw.bbb.id, 3, "active", "c" * 64)
    client = pw.client
    login(client, "acme.sup")
    listing = client.get("/risk/models?lang=en").text
    assert '<tr data-version="2" data-status="active">' in listing
    assert '<tr data-version="1" data-status="retired">' in listing
    assert 'data-version="3"' not in listing and "0.812" in listing
    card = client.get("/risk/models/2?lang=en").text
    assert 'id="model-status">Active<' in card and "user:acme.admin" in card and "bbbbbbbbbbbbbbbb" in card
    assert 'id="model-window">2026-01-01 08:00 – 2026-10-28 08:00<' in card
    assert re.search(r'id="metric-auc">0.812<', card) and card.count('<tr data-bin="') == 10
    order = re.findall(r'<tr data-feature="([^"]+)">', card)
    assert order == ["flag:soon_after_inception", "night", "line:motor", "log_amount"]  # by |coefficient|
    assert "Claim soon after inception" in card and 'id="calibration-chart"' in card and "risk_model_card.js" in card
    chart = re.search(r'<script type="application/json" id="calibration-data">(.*?)</script>', card, re.S)
    assert chart is not None and '"observed": [0.04,' in chart[1]
    zh = client.get("/risk/models/2?lang=zh")  # the labels' Chinese: wt19_h6_msgids.tsv, compiled by the lead
    assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text and "保单" not in card
    assert client.get("/risk/models/3").status_code == 404  # BBB's version
    login(client, "acme.adj")
    assert client.get("/risk/models").status_code == 403
