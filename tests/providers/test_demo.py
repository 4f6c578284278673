"""The demo's third parties (demo/providers.py) on a tiny demo: two insurers, last month's 40 claims.

Through the real services: the register with its refusals, the appraisal sent this week and answered late
(with its file's SHA-256 in the audit chain) on the agency's scorecard, an appraisal a rule sent, the repair-shop
chain registered at both insurers under one credit code and late for both, a complaint naming a provider, a
provider key that reaches that provider only; a second run adds nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from claimwatch.audit import service as audit_service
from claimwatch.audit.models import AuditEntry
from claimwatch.auth import service as auth_service
from claimwatch.cases.models import Claim
from claimwatch.complaints import terms as complaint_terms
from claimwatch.complaints.models import Complaint
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo import jobs as demo_jobs
from claimwatch.demo import providers as demo
from claimwatch.demo.generator import DemoSpec, default_window
from claimwatch.demo.organisation import DEMO_TENANTS
from claimwatch.providers import scorecards, stats
from claimwatch.providers.models import Provider, ProviderTask


def test_the_demo_providers_story(database, monkeypatch: pytest.MonkeyPatch) -> None:
    # The complaint's keywords need jieba's dictionary (seconds to load, once per process): not the story here.
    monkeypatch.setattr(complaint_terms, "stored_terms", lambda *texts: "")
    spec = DemoSpec(claims=40, seed=3, start=default_window()[1].replace(day=1), tenants=DEMO_TENANTS[:2])
    demo_jobs.setup(spec)
    now = utc_now()
    loaded = demo.load(spec, now)

    assert loaded.providers == 20 and loaded.contracts == 18  # ten at each; the surveyor works without one
    assert loaded.tasks >= 10 and loaded.standard >= 1
    refused = sorted((story, message.split(":")[0]) for _, story, message in loaded.refusals)
    assert refused == [
        (story, "provider_code") for story in ("blacklisted", "licence_expired", "suspended") for _ in "ab"
    ]
    assert len(loaded.this_week) == 2 and loaded.complaints >= 1
    assert len(loaded.by_rule) == 2  # a large motor loss entering assessment: the rule sent its appraisal
    [(tenant_code, key_code, key)] = loaded.keys
    assert (tenant_code, key_code) == ("PICC", "PICC-AP01")

    credit_codes: dict[str, str | None] = {}
    complaints: dict[str, int | None] = {}
    for tenant_id, code in ((1, "PICC"), (2, "PAIC")):
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            providers = {p.code: p for p in session.scalars(select(Provider))}
            assert sorted(providers) == sorted(demo.codes(code))
            assert providers[f"{code}-AP03"].status == "suspended" and providers[f"{code}-AP03"].status_reason
            rule = session.scalar(
                select(ProviderTask.sent_by_rule).join(Claim).where(Claim.number == f"{code}-PRV-001")
            )
            assert rule == "motor_appraisal_large_loss"
            chain = providers[demo.SHARED_CHAIN[0]]
            credit_codes[code] = chain.credit_code
            judged = session.scalars(
                select(ProviderTask.on_time)
                .where(ProviderTask.provider_id == chain.id, ProviderTask.on_time.is_not(None))
                .order_by(ProviderTask.sent_at)
            ).all()
            assert not judged or judged[0] is False  # late for every insurer, from its first task

            # This week's appraisal: answered late with its file, its digest in the audit chain.
            agency = providers[f"{code}-AP01"]
            task = session.scalars(
                select(ProviderTask)
                .where(ProviderTask.provider_id == agency.id, ProviderTask.report_sha256.is_not(None))
                .order_by(ProviderTask.sent_at.desc())
            ).first()
            assert task is not None and task.report_sha256 and task.sent_at > now - dt.timedelta(days=10)
            assert task.on_time is False and task.standard is False and "late" in task.standard_reasons
            reported = session.scalars(
                select(AuditEntry.payload)
                .where(AuditEntry.kind == "provider_task.reported", AuditEntry.subject == task.number)
                .order_by(AuditEntry.seq)
            ).all()
            assert any(task.report_sha256 in (payload or "") for payload in reported)
            # … and it counts against the agency in its month's scorecard.
            month = f"{task.due_at.astimezone(demo.CHINA):%Y-%m}"
            card = next(c for c in scorecards.compute(session, tenant_id, month) if c.provider.id == agency.id)
            assert card.figures.on_time_rate is not None and card.figures.on_time_rate < 100

            complaints[code] = session.scalar(select(func.count()).where(Complaint.provider_id.is_not(None)))
            assert audit_service.verify(session, tenant_id).ok
    assert credit_codes["PICC"] == credit_codes["PAIC"]
    assert sum(n or 0 for n in complaints.values()) == loaded.complaints  # each names the disputed repair shop

    with unit_of_work(TenantContext.system_reader()) as session:
        principal = auth_service.principal_for_api_key(session, key)
        # The regulator's statistics across insurers: one row for the chain, marked late wherever it works.
        view = stats.statistics(session, scorecards.Month.containing(now.astimezone(demo.CHINA).date()), 2)
        chain_row = next(row for row in view.rows if row.credit_code == credit_codes["PICC"])
        assert len(chain_row.insurers) < 2 or chain_row.late_everywhere
    assert principal is not None and principal.tenant_id == 1
    with unit_of_work(TenantContext.for_tenant(1)) as session:
        assert session.get(Provider, principal.provider_id).code == "PICC-AP01"  # type: ignore[union-attr]

    again = demo.load(spec, utc_now())
    assert again.providers == 0 and again.tasks == 0
