"""The subject kinds: claims and complaints as populations (the claim list's filter, the tenant's records
only), described without personal data, and who handled them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from claimwatch.errors import Invalid
from claimwatch.subjects import registry
from tests.inspections.conftest import NOW, Bureau


def _count(bureau: Bureau, kind: str, **filters: Any) -> int:
    with bureau.session() as session:
        population = registry.get(kind).population(session, bureau.tenant.id, filters, NOW)
        return session.execute(select(func.count()).select_from(population.subquery())).scalar_one()


def test_claim_population_filters(bureau: Bureau) -> None:
    Bureau(bureau.world, "OTHER").claims([{"org": "B1"}] * 3)  # another insurer's claims never count
    month = {"period": "2026-11", "date_field": "reported"}
    assert _count(bureau, "claim", **month) == 22
    assert _count(bureau, "claim", **month, line="motor", org_unit="ACME-B1") == 12  # B1 and B1-SZ below it
    assert _count(bureau, "claim", **month, region="310000") == 10
    assert _count(bureau, "claim", **month, handler="acme.adj.gd") == 4
    assert _count(bureau, "claim", **month, amount_min="5000", amount_max=8000) == 7  # 5–8 k, both inclusive
    assert _count(bureau, "claim", **month, outcome="rejected") == 2
    assert _count(bureau, "claim", **month, status="closed") == 2
    assert _count(bureau, "claim", period="2026-11") == 4  # closed (default date) in November
    assert _count(bureau, "claim", period="2026-Q4", date_field="reported") == 22
    assert _count(bureau, "claim", period="2026-10", date_field="reported") == 0
    cases: list[tuple[dict[str, Any], str]] = [
        ({"risk_flag": "high"}, "population.risk_flag"),
        ({"light": "blue"}, "population.light"),
        ({"line": "marine"}, "population.line"),
        ({"status": "lost"}, "population.status"),
        ({"outcome": "closed", "status": "payment"}, "population.outcome"),
        ({"amount_min": 10, "amount_max": 5}, "population.amount_max"),
        ({"channel": "wechat"}, "population.channel"),
        ({"period": "2026-11", "date_field": "paid"}, "population.date_field"),
        ({"score": "colour"}, "population.score"),
    ]
    for filters, field in cases:
        with pytest.raises(Invalid) as caught:
            _count(bureau, "claim", **filters)
        assert caught.value.field == field, filters
    assert "true or false" in str(_refused(bureau, risk_flag="high"))
    assert 0 <= _count(bureau, "claim", **month, risk_flag=True) <= 22  # accepted (scores: tests/triage)
    assert _count(bureau, "claim", **month, route="normal") == 22
    assert _refused(bureau, route="express").field == "population.route"


def _refused(bureau: Bureau, **filters: Any) -> Invalid:
    with pytest.raises(Invalid) as caught:
        _count(bureau, "claim", **filters)
    return caught.value


def test_describe_and_handled_by(bureau: Bureau) -> None:
    numbers = bureau.complaints(3)
    with bureau.session() as session:
        kind = registry.get("claim")
        rows = session.execute(kind.population(session, bureau.tenant.id, {"handler": "acme.adj.gd"}, NOW)).all()
        ids = [row.subject_id for row in rows]
        described = kind.describe(session, bureau.tenant.id, ids)
        handled = kind.handled_by(session, bureau.tenant.id, ids)
        complaints = registry.get("complaint")
        crow = session.execute(complaints.population(session, bureau.tenant.id, {"severity": "normal"}, NOW)).all()
        cdescribed = complaints.describe(session, bureau.tenant.id, [r.subject_id for r in crow])
        chandled = complaints.handled_by(session, bureau.tenant.id, [r.subject_id for r in crow])
    assert len({r.sample_key for r in crow}) == 3 and all(0 <= r.sample_key < 2**31 for r in crow)
    assert _count(bureau, "complaint", channel="hotline") == 1
    assert _count(bureau, "complaint", org_unit="ACME-HQ", period="2026-11") == 3
    assert _count(bureau, "complaint", severity="major") == 0
    summary = described[ids[0]]
    assert summary.url.startswith("/claims/ACME-C") and "张三" not in summary.title
    adjuster, inspector = bureau.user_id("acme.adj.gd"), bureau.user_id("acme.insp.sh")
    assert all(adjuster in found for found in handled.values())
    c3 = next(i for i in ids if described[i].number == "ACME-C0003")
    assert inspector in handled[c3]  # the actor of its acceptance
    handler = bureau.user_id("acme.cs")
    first = next(r.subject_id for r in crow if cdescribed[r.subject_id].number == numbers[0])
    assert handler in chandled[first] and "李四" not in cdescribed[first].title
    assert registry.get("claim").code == "claim" and set(registry.kinds()) >= {"claim", "complaint"}
    with pytest.raises(Invalid):
        registry.get("policy")
