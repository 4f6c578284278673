from __future__ import annotations

from sqlalchemy import text
from typer.testing import CliRunner

from claimwatch import db
from claimwatch.audit import service as audit_service
from claimwatch.cli import app
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo.organisation import DEMO_PASSWORD


def test_demo_setup_on_a_fresh_sqlite_file_and_rerun(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    # The demo's documents, KPI snapshot and reports go where the test can throw them away, not into the checkout.
    monkeypatch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(tmp_path / "documents"))
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp_path / "snapshot"))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        first = runner.invoke(
            app, ["--database", url, "demo", "setup", "--claims", "60", "--seed", "3", "--start", "2025-11-01"]
        )
        assert first.exit_code == 0, first.output
        assert "picc.qm" in first.output and DEMO_PASSWORD in first.output
        with db.get_engine().connect() as conn:
            tenants = [row[0] for row in conn.execute(text("select code from tenants order by code"))]
            claims = conn.execute(text("select count(*) from claims")).scalar_one()
            events = conn.execute(text("select count(*) from case_events")).scalar_one()
            regulator = conn.execute(text("select tenant_id from users where username = 'regulator'")).one()
        # TAMPERED: the small insurer whose rewritten history the witness catches (demo/supervision.py).
        assert tenants == ["CPIC", "PAIC", "PICC", "TAMPERED"]
        # The generated 60, the morning's 8 new claims of each of the two insurers that show assignment (and PICC's
        # ninth, which the core system assigns), the 20 fresh reports per insurer that show triage (fast track,
        # green channel, typhoon, review, a yellow clock), one large motor claim per insurer whose appraisal a task
        # rule sends (providers), and TAMPERED's one claim.
        assert claims == 60 + 2 * 8 + 1 + 3 * 20 + 3 + 1 and events > claims
        with db.get_engine().connect() as conn:
            near_limit = conn.execute(
                text(
                    "select s.trigger, s.flags from risk_scores s join claims c on c.id = s.claim_id"
                    " where c.number like 'PICC-ASG-%-009' order by s.id"
                )
            ).all()
        # Scored at the report without the flag, again on the assignment with it (the handler's 500 000 CNY).
        assert [(trigger, "just_under_authority_limit" in flags) for trigger, flags in near_limit] == [
            ("reported", False),
            ("rescore", True),
        ]
        assert regulator.tenant_id is None
        with db.get_engine().connect() as conn:
            worst_yellow = conn.execute(
                text(
                    "select c.tenant_id from sla_clocks k join claims c on c.id = k.claim_id where k.state <> 'stopped'"
                    " group by c.tenant_id, k.claim_id"
                    " having sum(k.light = 'red') = 0 and sum(k.light = 'yellow') > 0"
                )
            ).all()
        # Whatever the day: each insurer's dashboard has a claim whose worst light is yellow (yesterday's report).
        assert {row[0] for row in worst_yellow} >= {1, 2, 3}
        assert "a complaint step was refused" not in first.output  # every simulated complaint step was allowed
        with db.get_engine().connect() as conn:
            complaints = conn.execute(text("select count(distinct tenant_id), count(*) from complaints")).one()
            surveys = conn.execute(text("select count(*) from surveys")).scalar_one()
            answered = conn.execute(text("select count(*) from survey_responses")).scalar_one()
            volumes = conn.execute(text("select count(distinct tenant_id) from tenant_volumes")).scalar_one()
        assert complaints[0] == 3 and complaints[1] >= 12  # every insurer, some still on the desk
        assert surveys > 0 and 0 < answered < surveys and volumes == 3
        for tenant_id in (1, 2, 3):
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                assert audit_service.verify(session, tenant_id).ok

        again = runner.invoke(
            app, ["--database", url, "demo", "setup", "--claims", "60", "--seed", "3", "--start", "2025-11-01"]
        )
        assert again.exit_code == 0, again.output
        assert "already loaded" in again.output
        with db.get_engine().connect() as conn:
            assert conn.execute(text("select count(*) from case_events")).scalar_one() == events
    finally:
        db.get_engine().dispose()


def test_generate_writes_jsonl_and_refuses_years_without_calendar(tmp_path):
    out = tmp_path / "d.jsonl"
    result = CliRunner().invoke(app, ["demo", "generate", "--claims", "20", "--out", str(out), "--start", "2025-11-01"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count('"type":"reported"') == 20
    refused = CliRunner().invoke(app, ["demo", "generate", "--claims", "5", "--start", "2001-01-01"])
    assert refused.exit_code == 2
    assert "no Chinese calendar data for 2001" in refused.output.replace("\n", " ")
