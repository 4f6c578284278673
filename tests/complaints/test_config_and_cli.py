"""Complaint policies as data (parse errors name file and line; tenant overrides), the CLI, the audit chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.cli import app
from claimwatch.complaints import clocks, vocabulary
from claimwatch.complaints import queries as complaint_queries
from claimwatch.complaints import service as complaints_service
from claimwatch.config import get_settings
from claimwatch.sla.loader import PolicyError, parse_subject_policies
from tests.complaints.helpers import Desk, end_of_local_day, local


def test_subject_policies_are_validated_with_file_and_line() -> None:
    assert set(clocks.base_policies()) == set(clocks.POLICY_CODES)
    decision = clocks.base_policies()[clocks.DECISION]
    assert (decision.yellow, decision.red, decision.extension_max) == (15, 20, 45)
    assert decision.approver_roles == frozenset({"supervisor", "admin"})
    bad = "policies:\n  - code: x\n    unit: calendar_days\n    yellow: 10\n    red: 5\n"
    with pytest.raises(PolicyError, match=r"p.yaml:4: yellow \(10\) falls after red \(5\)"):
        parse_subject_policies(bad, "p.yaml")
    with pytest.raises(PolicyError, match=r"p.yaml:2: unknown key 'start'"):
        parse_subject_policies("policies:\n  - start: {events: [reported]}\n", "p.yaml")
    assert len(vocabulary.categories()) == 7
    for category in vocabulary.categories().values():
        assert 4 <= len(category.sub_causes) <= 8, category.code


def test_a_tenant_overrides_the_regulator_acceptance_period(desk: Desk, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "complaints").mkdir()
    (tmp_path / "complaints" / "ACME.yaml").write_text(
        "overrides:\n  regulator_transfer_accept:\n    yellow: 5\n    red: 8\n", "utf-8"
    )
    monkeypatch.setattr(get_settings(), "policy_overrides_dir", tmp_path)
    clocks.policies_for_tenant.cache_clear()
    try:
        number = desk.file(channel="regulator_12378", received_at=local(2026, 11, 2, 10))
        accept = desk.clocks(number, "regulator_transfer_accept")[0]
        assert accept.yellow_due_at == end_of_local_day(2026, 11, 9)  # 5 working days from Mon 11-02
        with desk.session() as session:
            complaints_service.accept(session, desk.handler, number, "已受理", at=local(2026, 11, 4, 9))
        accept = desk.clocks(number, "regulator_transfer_accept")[0]
        assert (accept.state, accept.outcome) == ("stopped", "met")
        assert desk.complaint(number).handler_id == desk.handler.user_id
    finally:
        clocks.policies_for_tenant.cache_clear()


def test_cli_volumes_and_sweep(desk: Desk) -> None:
    runner = CliRunner()
    saved = runner.invoke(
        app,
        ["complaints", "volumes", "set", "--tenant", "ACME", "--period", "2026-11", "--policies", "5000"]
        + ["--premium", "12345678.90"],
    )
    assert saved.exit_code == 0, saved.output
    assert "12,345,678.90 CNY" in saved.output
    bad = runner.invoke(app, ["complaints", "volumes", "set", "--tenant", "ACME", "--period", "2026/11"])
    assert bad.exit_code == 1 and "period" in bad.output
    with desk.session() as session:
        rows = complaint_queries.volume_views(session)
    assert [(r["period"], r["policies_in_force"], str(r["premium"])) for r in rows] == [("2026-11", 5000, "12345678.9")]
    desk.file(received_at=local(2026, 11, 2, 10))
    swept = runner.invoke(app, ["complaints", "sweep", "--now", "2026-11-18T09:00:00+08:00"])
    assert swept.exit_code == 0 and "1 yellow" in swept.output


def test_every_action_is_in_the_audit_chain_and_it_verifies(client, desk: Desk) -> None:
    number = desk.file(received_at=local(2026, 11, 2, 10), major_reasons=["media"])
    with desk.session() as session:
        complaints_service.accept(session, desk.handler, number, at=local(2026, 11, 2, 11))
        complaints_service.start_appraisal(session, desk.handler, number, "鉴定", at=local(2026, 11, 3))
        complaints_service.end_appraisal(session, desk.handler, number, "鉴定完成", at=local(2026, 11, 4))
    kinds = [event.kind for event in desk.events(number)]
    assert kinds == ["received", "escalated_major", "accepted", "appraisal_started", "appraisal_ended"]
    admin = desk.world.api_key(desk.tenant, Role.ADMIN)
    verified = client.get("/api/v1/audit/verify", headers={"X-API-Key": admin})
    assert verified.status_code == 200 and verified.json()["ok"], verified.text
    assert verified.json()["entries_checked"] >= len(kinds)
    with desk.session() as session:
        trail = session.execute(select(AuditEntry.kind).where(AuditEntry.subject == number).order_by(AuditEntry.seq))
        assert list(trail.scalars()) == [f"complaint.{kind}" for kind in kinds]
