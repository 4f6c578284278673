from pathlib import Path

import pytest

from claimwatch.config import get_settings
from claimwatch.workflow.loader import WorkflowError, load_workflow_dir, parse_workflow
from tests.factories import HAPPY_PATH

VALID = """\
line: demo
name: {zh: 演示, en: Demo}
initial: reported
states:
  reported: {zh: 报案, en: Reported}
  accepted: {zh: 受理, en: Accepted}
  closed: {zh: 结案, en: Closed, terminal: true}
transitions:
  - {from: reported, to: accepted}
  - {from: accepted, to: closed}
"""


def _error(text: str) -> WorkflowError:
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(text, "demo.yaml")
    return caught.value


def test_default_workflows_cover_the_five_lines_and_the_whole_lifecycle():
    workflows = load_workflow_dir(get_settings().workflows_dir)
    assert set(workflows) == {"motor", "medical", "accident", "property", "life"}
    for workflow in workflows.values():
        assert workflow.initial == "reported"
        assert {s for s, spec in workflow.states.items() if spec.terminal} == {"closed", "rejected", "withdrawn"}
        for required in ("reported", *HAPPY_PATH, "awaiting_materials", "rejected", "withdrawn", "reopened"):
            assert required in workflow.states, (workflow.line, required)
        assert workflow.transition("initial_review", "rejected").reason_required
        assert workflow.transition("closed", "reopened").reason_required
        assert workflow.transition("closed", "payment") is None


def test_labels_differ_by_line():
    workflows = load_workflow_dir(get_settings().workflows_dir)
    assert workflows["motor"].states["investigation"].label_zh == "查勘"
    assert workflows["life"].states["investigation"].label_zh == "调查"
    assert workflows["medical"].states["assessment"].label_zh == "理算"
    # 寿险 has no fast track past the investigation
    assert workflows["life"].transition("initial_review", "assessment") is None
    assert workflows["motor"].transition("initial_review", "assessment") is not None


def test_valid_file_parses():
    workflow = parse_workflow(VALID, "demo.yaml")
    assert workflow.transition("reported", "accepted") is not None
    assert workflow.states["closed"].terminal


def test_unknown_state_names_file_and_line():
    error = _error(VALID.replace("- {from: accepted, to: closed}", "- {from: accepted, to: clsoed}"))
    assert str(error) == "demo.yaml:10: unknown state 'clsoed' in 'to'"


def test_unreachable_state_is_refused():
    text = VALID.replace("  closed:", "  orphan: {zh: 孤儿, en: Orphan, terminal: true}\n  closed:")
    error = _error(text)
    assert "unreachable state 'orphan'" in str(error)
    assert error.line == 7


def test_no_terminal_state_is_refused():
    error = _error(VALID.replace(", terminal: true", ""))
    assert "no terminal state" in str(error)
    assert error.source == "demo.yaml"


def test_duplicate_transition_is_refused():
    error = _error(VALID + "  - {from: reported, to: accepted}\n")
    assert str(error) == "demo.yaml:11: duplicate transition reported -> accepted"


def test_dead_end_and_unknown_role_and_unknown_key():
    dead_end = VALID.replace("  - {from: accepted, to: closed}\n", "  - {from: reported, to: closed}\n")
    assert "dead end: state 'accepted'" in str(_error(dead_end))
    bad_role = VALID.replace("- {from: reported, to: accepted}", "- {from: reported, to: accepted, roles: [boss]}")
    assert "unknown role 'boss'" in str(_error(bad_role))
    typo = VALID.replace("- {from: reported, to: accepted}", "- {from: reported, to: accepted, reason: true}")
    assert "unknown key 'reason' in transition" in str(_error(typo))


def test_broken_yaml_names_the_line():
    error = _error(VALID.replace("  accepted: {zh: 受理, en: Accepted}", "  accepted: {zh: 受理, en: Accepted"))
    assert str(error).startswith("demo.yaml:")
    assert "not valid YAML" in str(error)


def test_override_directory_replaces_a_line(tmp_path: Path):
    (tmp_path / "motor.yaml").write_text(VALID.replace("line: demo", "line: motor"), encoding="utf-8")
    workflows = load_workflow_dir(get_settings().workflows_dir, tmp_path)
    assert set(workflows["motor"].states) == {"reported", "accepted", "closed"}
    assert "payment" in workflows["medical"].states


def test_cli_check_reports_file_and_line(tmp_path: Path):
    from typer.testing import CliRunner

    from claimwatch.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("initial: reported", "initial: nowhere"), encoding="utf-8")
    result = CliRunner().invoke(app, ["workflow", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3: unknown state 'nowhere' as initial state" in result.output.replace("\n", "")
    good = tmp_path / "good.yaml"
    good.write_text(VALID, encoding="utf-8")
    result = CliRunner().invoke(app, ["workflow", "check", str(good)])
    assert result.exit_code == 0, result.output
