"""The demo's assignment story loads through the services; the CLI validates rules and switches modes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from typer.testing import CliRunner

from claimwatch.assignment import cli, queries
from claimwatch.assignment.models import AssignmentDecision, LoadSnapshot
from claimwatch.audit import service as audit_service
from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo import assignment as demo_assignment
from claimwatch.demo import jobs as demo_jobs
from claimwatch.demo.generator import DemoSpec
from claimwatch.notify.models import StaffNotification
from tests.assignment.helpers import Office


def test_demo_assignment(database):
    spec = DemoSpec(claims=400, seed=3, start=dt.date(2025, 11, 1))
    demo_jobs.setup(spec)
    demo_jobs.load_complaints(spec)
    loaded = demo_assignment.load(spec)
    # Per insurer 8 morning claims and a complaint, and PICC's ninth claim (decided, then assigned by the core system).
    assert loaded.profiles == 18 and loaded.decisions == 19 and loaded.snapshots > 100
    for tenant_id, mode in ((1, "active"), (2, "monitor")):
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            decisions = session.scalars(select(AssignmentDecision)).all()
            statuses = {d.status for d in decisions if d.case_number.startswith(("PICC-ASG", "PAIC-ASG", "TS"))}
            view = queries.load_view(session, Principal(Role.SUPERVISOR, tenant_id, "user:x"), "zh")
            assert view.mode == mode and view.chart["times"] and max(q or 0 for q in view.chart["queue"]) > 0
            assert sum(h["on_leave"] for h in view.handlers) == 1
            assert any(h["percent"] >= 100 for h in view.handlers)  # the overloaded adjuster
            notices = session.scalars(select(StaffNotification).where(StaffNotification.kind == "unassigned")).all()
            if mode == "active":
                assert {"applied", "unassigned"} <= statuses
                # The 2.6 M CNY claim (the 8th of the morning) is above every authority in its branch.
                assert any(n.subject.startswith("赔案 PICC-ASG-") and "-008 " in n.subject for n in notices), [
                    n.subject for n in notices
                ]
                unassigned = [d for d in decisions if d.status == "unassigned"]
                assert len(notices) == len(unassigned)
            else:
                assert statuses == {"monitor"} and notices == []
            assert audit_service.verify(session, tenant_id).ok


def test_cli_check_mode_and_profile(world, tmp_path):
    office = Office(world)
    runner = CliRunner()
    bad = tmp_path / "rules.yaml"
    bad.write_text('version: "x"\ndefault_mode: sometimes\nweights: {}\n', encoding="utf-8")
    result = runner.invoke(cli.app, ["check", str(bad)])
    assert result.exit_code == 1 and f"{bad}:2" in result.output.replace("\n", "")
    assert runner.invoke(cli.app, ["check"]).exit_code == 0
    world.user("h.one", Role.ADJUSTER, office.tenant)
    made = runner.invoke(cli.app, ["profile", "h.one", "--tenant", "ACME", "--lines", "motor", "--authority", "8000"])
    assert made.exit_code == 0, made.output
    refused = runner.invoke(cli.app, ["profile", "h.one", "--tenant", "ACME", "--lines", "boats"])
    assert refused.exit_code == 1 and "lines" in refused.output
    assert runner.invoke(cli.app, ["mode", "active", "--tenant", "ACME"]).exit_code == 0
    assert runner.invoke(cli.app, ["mode", "sometimes", "--tenant", "ACME"]).exit_code == 1
    leave = runner.invoke(cli.app, ["leave", "h.one", "--tenant", "ACME", "--from", "2026-12-01", "--to", "2026-12-03"])
    assert leave.exit_code == 0, leave.output
    [number] = office.report({})
    assert runner.invoke(cli.app, ["run"]).exit_code == 0
    shown = runner.invoke(cli.app, ["load", "--tenant", "ACME"])
    assert shown.exit_code == 0 and "h.one" in shown.output
    with office.session() as session:
        kinds = [e.kind for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()]
        assert kinds.count("config.assignment_mode") == 1 and "config.handler_profile" in kinds
        assert session.scalars(select(LoadSnapshot)).all()
    del number
