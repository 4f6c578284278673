"""demo/supervision.py: the evidence part of the demo (heads signed and witnessed, the tampering insurer caught
although its own hash chain verifies) and that a second run changes nothing. The rating and whitelist parts call
h4's and h6's services, which their own tests cover; without a KPI snapshot the demo skips them and says so."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo import supervision
from claimwatch.demo.generator import DemoSpec
from claimwatch.demo.organisation import Branch, DemoTenant
from claimwatch.evidence import witness
from claimwatch.evidence.models import EvidenceTreeHead
from claimwatch.tenancy import repository as tenancy_repository
from tests.factories import World

NOW = dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC)


def test_demo_witnesses_every_insurer_and_catches_the_rewritten_history(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = world.tenant("ACME", "示例保险")
    acme = DemoTenant("ACME", "示例保险", 1.0, (Branch("ACME-GD", "广东", "440000", 1.0),))
    spec = DemoSpec(claims=1, tenants=(acme,))
    monkeypatch.setattr(supervision.kpi_snapshot, "current", lambda root=None: None)

    loaded = supervision.load(spec, NOW)

    assert loaded.skipped == ["rating and whitelist: no KPI snapshot yet (claimwatch kpi snapshot)"]
    statuses = [line.split()[-1] for line in loaded.witnessed]
    assert statuses == ["first", "consistent", "first", "inconsistent"]  # ACME before and after, then TAMPERED
    assert loaded.alarms and "paid amount" in loaded.alarms[0] and "rewritten" in loaded.alarms[0]
    assert loaded.chain == "TAMPERED's own hash chain verifies after the rewrite"  # only the witness sees it
    with unit_of_work(TenantContext.system_reader()) as session:
        tampered = tenancy_repository.tenant_by_code(session, supervision.TAMPERED_CODE)
        assert tampered is not None
        newest = witness.newest_by_tenant(session)
        assert newest[tenant.id].status == witness.CONSISTENT and newest[tenant.id].witness_signature
        assert newest[tampered.id].status == witness.INCONSISTENT and newest[tampered.id].problem
        heads_before = session.scalar(select(func.count()).select_from(EvidenceTreeHead))

    again = supervision.load(spec, NOW + dt.timedelta(hours=1))
    assert again.witnessed == [] and any("TAMPERED exists already" in reason for reason in again.skipped)
    with unit_of_work(TenantContext.system_reader()) as session:
        assert session.scalar(select(func.count()).select_from(EvidenceTreeHead)) == heads_before
    assert any("ALARM" in line for line in loaded.lines())
