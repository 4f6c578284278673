"""The whitelist: the rule as data (file:line errors), the monthly computation from the snapshot (entered, exited,
kept, out, with the deciding months and the reason in zh and en, audited), the worker's pass, and the pages (the
public /whitelist without an account; the regulator's per-insurer months)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid
from claimwatch.kpi.engine import Period
from claimwatch.supervision import jobs, whitelist
from claimwatch.supervision.models import WhitelistStatus
from tests.apps import shared_app
from tests.factories import World
from tests.snapshots import Snapshot
from tests.supervision import market
from tests.web.conftest import sign_in

RULE = whitelist.RULE_FILE.read_text(encoding="utf-8")
TAKEN_AT = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)  # 2026-12-05 10:00 in Shanghai: November has ended


# -- the rule as data (no database) --------------------------------------------------------------------------


def test_the_bundled_rule_loads_and_reads_as_a_sentence():
    rule = whitelist.default_rule()
    assert rule.months == 12 and [c.kpi.code for c in rule.conditions] == [
        "small_timeliness",
        "large_timeliness",
        "complaints_per_10k_policies",
    ]
    assert "industry average" in rule.describe("en") and "行业平均" in rule.describe("zh")
    assert len(rule.sha256) == 64


def test_a_month_without_complaints_anywhere_does_not_fail_the_insurers_without_any():
    complaints = next(c for c in whitelist.default_rule().conditions if c.compare == "industry")
    assert complaints.passes(0.0, 0.0)  # nobody can be below the industry's zero
    assert complaints.passes(1.5, 2.0) and not complaints.passes(2.0, 2.0) and not complaints.passes(0.5, 0.0)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("kpi: small_timeliness", "kpi: small_timelyness", 22, "unknown KPI 'small_timelyness'"),
        ("months: 12", "months: 0", 20, "'months' is a whole number 1–36"),
        ("compare: industry", "compare: peers", 29, "compare must be one of target, industry"),
        ("    missing: skip", "    missing: maybe", 27, "missing must be one of fail, skip"),
        ("complaints_per_10k_policies\n    compare: industry", "complaints_per_10k_policies\n    compare: target", 29,
         "has no target"),
        ("kpi: large_timeliness", "kpi: small_timeliness", 25, "named twice"),
        ("    missing: fail\n  - kpi: large", "    misssing: fail\n  - kpi: large", 24, "unknown key 'misssing'"),
        ("version: 1", "version: one", 18, "'version' is a whole number"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_refused_naming_file_and_line(old: str, new: str, line: int, message: str):
    assert old in RULE
    with pytest.raises(whitelist.WhitelistRuleError) as caught:
        whitelist.parse(RULE.replace(old, new, 1), "whitelist.yaml")
    assert str(caught.value).startswith(f"whitelist.yaml:{line}: "), str(caught.value)
    assert message in str(caught.value)


def test_months_checks_and_the_reason_in_words():
    rule = whitelist.default_rule()
    months = [p.label for p in Period.parse("2026-11").trailing(12)]
    insurer: dict[tuple[int, str, str], float | None] = {}
    values = whitelist.Values(
        insurer
        | {(1, "small_timeliness", m): 97.0 for m in months}
        | {(1, "complaints_per_10k_policies", m): 0.5 for m in months}
        | {(1, "small_timeliness", "2026-03"): 93.5},
        {("complaints_per_10k_policies", m): 0.8 for m in months},
    )
    results = [whitelist.evaluate_month(rule, 1, m, values) for m in months]
    failing = [r.month for r in results if not r.ok]
    assert failing == ["2026-03"]
    march = results[months.index("2026-03")]
    assert [c.status for c in march.checks] == ["fails", "skipped", "ok"]  # no large claims: not counted
    assert not whitelist.qualifies(results, 12) and whitelist.qualifies(results[5:], 7)
    assert whitelist.change_of(False, True) == "exited" and whitelist.change_of(True, False) == "entered"
    en = whitelist.reason(rule, "exited", results, "en")
    assert en.startswith("Left the whitelist: 2026-03: Small-claim timeliness 93.5% misses its target ≥ 95.0%"), en
    zh = whitelist.reason(rule, "exited", results, "zh")
    assert zh.startswith("退出白名单：2026-03：小额赔案结案时效达成率 93.5%，未达目标 ≥ 95.0%"), zh
    kept = whitelist.reason(rule, "kept", results[:0] + [r for r in results if r.ok], "en")
    assert "met every condition" in kept
    # The industry comparison is strict: equal to the industry's figure is not below it.
    values.insurer[(1, "complaints_per_10k_policies", "2026-11")] = 0.8
    last = whitelist.evaluate_month(rule, 1, "2026-11", values)
    assert last.checks[2].status == "fails"
    assert "not below the industry's 0.80 per 10k" in whitelist.reason(rule, "out", [last], "en")


# -- computed from a snapshot, stored, audited ---------------------------------------------------------------


@dataclass(frozen=True)
class Market:
    ids: dict[str, int]
    regulator: str
    quality: str


def _build(world: World) -> Market:
    ids = {code: world.tenant(code, name).id for code, name in (("AAA", "甲保险"), ("BBB", "乙保险"),
                                                                  ("CCC", "丙保险"), ("DDD", "丁保险"))}  # fmt: skip
    handle = world.tenant("EEE", "戊保险")
    ids["EEE"] = handle.id  # an insurer with no data at all
    regulator = world.user("wl.regulator", Role.REGULATOR, None)
    quality = world.user("wl.qm", Role.QUALITY_MANAGER, handle)
    return Market(ids, regulator, quality)


def _figures(code: str, period: Period) -> market.Month | None:
    """AAA: good throughout. BBB: small-claim timeliness 90 % in 2025-11, then good (enters in 2026-11). CCC: good,
    then complaints 4 per 10k in 2026-11 (exits). DDD: complaints above the industry every month (out). EEE: no data."""
    label = period.label
    if code == "AAA":
        return market.Month(complaints=5)
    if code == "BBB":
        return market.Month(small=(90, 100) if label == "2025-11" else (97, 100), complaints=8)
    if code == "CCC":
        return market.Month(complaints=40 if label == "2026-11" else 10, large=(0, 0))
    if code == "DDD":
        return market.Month(complaints=30)
    return None


@pytest.fixture
def snapshot_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "snapshot"
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def wl(db_snapshot: Snapshot, world: World, snapshot_root: Path) -> Market:
    found = db_snapshot("supervision.whitelist-market", lambda: _build(world))
    tenants = [(tenant_id, code, code) for code, tenant_id in found.ids.items()]
    market.write(snapshot_root, tenants, Period.parse("2026-11").trailing(14), _figures, TAKEN_AT)
    return found


def _statuses(month: str) -> dict[str, WhitelistStatus]:
    with unit_of_work(TenantContext.system_reader()) as session:
        rows = session.scalars(select(WhitelistStatus).where(WhitelistStatus.month == month)).all()
        names = {s.tenant_id: s.code for s in whitelist.statuses(session, month, "en")}
        session.expunge_all()
    return {names[row.tenant_id]: row for row in rows}


def test_computed_monthly_with_entries_exits_and_the_deciding_months(wl: Market):
    jobs.compute_whitelist("2026-10")
    october = _statuses("2026-10")
    assert {code: (r.qualifies, r.change) for code, r in october.items()} == {
        "AAA": (True, "kept"),  # its September window passed too (computed from the snapshot: never stored)
        "BBB": (False, "out"),  # 2025-11 is in the window
        "CCC": (True, "kept"),
        "DDD": (False, "out"),
        "EEE": (False, "out"),
    }
    assert "2025-11: Small-claim timeliness 90.0% misses its target" in json.loads(october["BBB"].reason)["en"]

    assert jobs.run_monthly() == "2026-11"  # the worker: the month the snapshot saw end, once
    assert jobs.run_monthly() is None
    november = _statuses("2026-11")
    assert {code: (r.qualifies, r.change) for code, r in november.items()} == {
        "AAA": (True, "kept"),
        "BBB": (True, "entered"),
        "CCC": (False, "exited"),  # against October's stored standing
        "DDD": (False, "out"),
        "EEE": (False, "out"),
    }
    ccc = november["CCC"]
    assert [m["month"] for m in ccc.months] == [p.label for p in Period.parse("2026-11").trailing(12)]
    assert [m["month"] for m in ccc.months if not m["ok"]] == ["2026-11"]
    complaints = ccc.months[-1]["checks"][2]
    assert complaints["kpi"] == "complaints_per_10k_policies" and complaints["status"] == "fails"
    assert complaints["value"] == 4.0 and complaints["bound"] == pytest.approx(10000 * 83 / 400_000, abs=1e-4)
    reasons = json.loads(ccc.reason)
    assert reasons["en"].startswith(
        "Left the whitelist: 2026-11: Complaints per 10 000 policies 4.00 per 10k not below"
    )
    assert reasons["zh"].startswith("退出白名单：2026-11：万张保单投诉量 4.00 件/万，未低于行业")
    assert "; and 9 more months." in json.loads(november["DDD"].reason)["en"]  # the latest three, then a count
    assert (
        json.loads(november["EEE"].reason)["en"]
        == "Not on the whitelist: 2026-11: Small-claim timeliness: no data; Complaints per 10 000 policies: no data."
    )
    assert ccc.rule_sha256 == whitelist.default_rule().sha256
    with unit_of_work(TenantContext.system_reader()) as session:
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.kind == whitelist.AUDIT_KIND, AuditEntry.tenant_id == wl.ids["CCC"])
            .order_by(AuditEntry.seq)
        ).all()
        assert [e.subject for e in entries] == ["2026-10", "2026-11"]
        assert json.loads(entries[-1].payload or "{}")["change"] == "exited"
        moves = whitelist.changes(session, "2026-11", 12, "en")
        assert [(m.code, m.change) for m in moves] == [("CCC", "exited"), ("BBB", "entered")]

    with pytest.raises(Invalid) as refused:  # December has not ended in the snapshot
        with unit_of_work(TenantContext.system_context()) as session:
            whitelist.compute_month(session, "2026-12")
    assert refused.value.field == "month" and "has not ended" in refused.value.message


@pytest.mark.sqlite_only
def test_the_public_page_and_the_regulators_months(wl: Market):
    client = TestClient(shared_app())
    assert 'id="no-whitelist"' in client.get("/whitelist").text
    jobs.compute_whitelist("2026-10")
    jobs.compute_whitelist("2026-11")
    page = client.get("/whitelist?lang=en")  # no account
    assert page.status_code == 200
    on_list = page.text[page.text.index('id="on-list"') : page.text.index('id="off-list"')]
    assert 'data-insurer="AAA"' in on_list and 'data-insurer="BBB" data-change="entered"' in on_list
    assert 'data-insurer="CCC"' not in on_list
    moves = page.text[page.text.index('id="moves-table"') :]
    assert 'data-insurer="CCC" data-month="2026-11" data-change="exited"' in moves
    assert "Left the whitelist: 2026-11" in moves
    api = client.get("/api/v1/public/whitelist?month=2026-11&lang=en")  # no account either
    assert api.status_code == 200, api.text
    standing = {row["insurer"]: (row["qualifies"], row["change"]) for row in api.json()["insurers"]}
    assert standing["AAA"][0] and standing["BBB"] == (True, "entered") and not standing["CCC"][0]
    assert {"insurer": "CCC", "month": "2026-11", "change": "exited"}.items() <= next(
        move for move in api.json()["changes"] if move["insurer"] == "CCC"
    ).items()
    assert client.get("/api/v1/public/whitelist?month=2025-01").status_code == 404
    assert client.get("/api/v1/public/whitelist?month=2026-13").status_code == 422
    zh = client.get("/whitelist?month=2026-10&lang=zh").text
    assert "理赔服务白名单 · 2026-10" in zh and "连续 12 个月每月" in zh

    sign_in(client, wl.regulator)
    detail = client.get("/whitelist/insurers/CCC?lang=en")
    assert detail.status_code == 200 and 'data-change="exited"' in detail.text
    assert detail.text.count('<tr data-month="') >= 12 + 2  # the 12 deciding months and the two computed months
    assert 'data-kpi="complaints_per_10k_policies" data-status="fails"' in detail.text
    assert client.get("/whitelist/insurers/NOPE").status_code == 404
    client.cookies.clear()
    sign_in(client, wl.quality)  # an insurer's staff: the public page, not the regulator's detail
    assert client.get("/whitelist/insurers/EEE").status_code == 403
