"""`claimwatch surveys issue` and `claimwatch surveys results`."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from claimwatch.cli import app
from claimwatch.surveys import cli as surveys_cli
from tests.factories import World
from tests.surveys.conftest import close_claim, now, surveys, token_for


def test_issue_and_results(world: World, client: TestClient, monkeypatch):
    # The console is made at import, before CliRunner's COLUMNS applies; a narrow worker would cut the table.
    monkeypatch.setattr(surveys_cli.console, "width", 160)
    acme = world.tenant("ACME", "示例保险")
    close_claim(client, acme, "C-1", now() - dt.timedelta(hours=3), org_code=acme.branch_code)
    close_claim(client, acme, "C-2", now() - dt.timedelta(hours=3), claimant={"name": "王五"})
    runner = CliRunner(env={"COLUMNS": "160"})

    early = runner.invoke(app, ["surveys", "issue", "--now", (now() - dt.timedelta(hours=2)).isoformat()])
    assert early.exit_code == 0, early.output
    assert "issued 0 survey(s)" in early.output
    issued = runner.invoke(app, ["surveys", "issue"])
    assert issued.exit_code == 0, issued.output
    assert "issued 2 survey(s): 2 after claims, 0 after complaints (1 with no reachable contact)" in issued.output
    assert len(surveys(acme)) == 2
    assert client.post(f"/api/v1/public/surveys/{token_for(acme, 'C-1')}", json={"overall": 8}).status_code == 201

    shown = runner.invoke(app, ["surveys", "results", "--tenant", "acme", "--by", "org"])
    assert shown.exit_code == 0, shown.output
    assert "广东分公司" in shown.output and "100.0%" in shown.output and "8.00" in shown.output
    everyone = runner.invoke(app, ["surveys", "results", "--by", "line"])
    assert everyone.exit_code == 0 and "ACME" in everyone.output

    naive = runner.invoke(app, ["surveys", "issue", "--now", "2026-11-02T09:00:00"])
    assert naive.exit_code == 2 and "--now" in naive.output
    bad = runner.invoke(app, ["surveys", "results", "--from", "2026-02-30"])
    assert bad.exit_code == 2 and "--from" in bad.output
    unknown = runner.invoke(app, ["surveys", "results", "--tenant", "NOPE"])
    assert unknown.exit_code == 1 and "unknown insurer" in unknown.output
