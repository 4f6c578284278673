"""Checklists are data: every default file loads, and every mistake is named with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from claimwatch.config import get_settings
from claimwatch.materials.loader import (
    CONDITIONAL,
    OPTIONAL,
    REQUIRED,
    ChecklistError,
    load_checklist_dir,
    parse_checklist,
)
from claimwatch.workflow import service as workflow_service

LINES = ["motor", "medical"]

VALID = """\
line: motor
name: {zh: 车险, en: Motor}
facts:
  injury: {zh: 有人员受伤, en: Someone was injured}
  third_party: {zh: 涉及第三者, en: A third party is involved}
items:
  - {code: id_proof, zh: 身份证明, en: Proof of identity}
  - {code: policy, zh: 保单, en: Policy}
  - {code: medical_records, zh: 病历, en: Medical records}
  - {code: liability_agreement, zh: 事故责任协议书, en: Liability agreement}
claim_types:
  vehicle_damage:
    zh: 车辆损失
    en: Vehicle damage
    required:
      - id_proof
      - {item: medical_records, when: {facts: [injury]}}
      - {item: liability_agreement, when: {facts: [third_party]}}
    optional: [policy]
"""


def _error(text: str, lines: list[str] = LINES) -> ChecklistError:
    with pytest.raises(ChecklistError) as caught:
        parse_checklist(text, "motor.yaml", lines)
    return caught.value


def test_default_checklists_cover_every_line_and_claim_type():
    checklists = load_checklist_dir(get_settings().checklists_dir)
    assert sorted(checklists) == workflow_service.lines()
    expected = {
        "motor": {"vehicle_damage", "injury", "theft"},
        "medical": {"outpatient", "inpatient"},
        "accident": {"injury", "disability", "death"},
        "property": {"fire", "water_damage", "theft"},
        "life": {"death", "critical_illness"},
    }
    for line, types in expected.items():
        assert set(checklists[line].claim_types) == types, line
    motor = checklists["motor"]
    assert motor.items["accident_report"].name_zh == "交通事故认定书"
    assert motor.items["driving_licence"].name_zh == "驾驶证"
    damage = motor.claim_types["vehicle_damage"]
    assert damage.requirement("repair_invoice").kind == REQUIRED
    assert damage.requirement("liability_agreement").all_facts == {"third_party"}
    assert checklists["life"].claim_types["death"].requirement("death_certificate").kind == REQUIRED
    assert checklists["medical"].claim_types["inpatient"].requirement("discharge_summary").kind == REQUIRED
    # every line asks where to pay
    for checklist in checklists.values():
        for claim_type in checklist.claim_types.values():
            assert claim_type.requirement("bank_account") is not None, (checklist.line, claim_type.code)


def test_valid_file_parses_with_kinds_and_conditions():
    checklist = parse_checklist(VALID, "motor.yaml", LINES)
    damage = checklist.claim_types["vehicle_damage"]
    assert [(r.item, r.kind) for r in damage.requirements] == [
        ("id_proof", REQUIRED),
        ("medical_records", CONDITIONAL),
        ("liability_agreement", CONDITIONAL),
        ("policy", OPTIONAL),
    ]
    records = damage.requirement("medical_records")
    assert records is not None
    assert records.applies({"injury"}) and not records.applies({"third_party"}) and not records.applies(set())
    assert checklist.items["medical_records"].label("en") == "Medical records"
    assert checklist.facts["injury"].label("zh") == "有人员受伤"


def test_any_facts_condition():
    text = VALID.replace("when: {facts: [injury]}", "when: {any_facts: [injury, third_party]}")
    records = parse_checklist(text, "motor.yaml", LINES).claim_types["vehicle_damage"].requirement("medical_records")
    assert records is not None
    assert records.applies({"third_party"}) and records.applies({"injury"}) and not records.applies(set())


def test_unknown_key_names_file_and_line():
    assert str(_error(VALID.replace("line: motor", "line: motor\ncolour: red"))) == (
        "motor.yaml:2: unknown key 'colour' (expected one of ['claim_types', 'facts', 'items', 'line', 'name'])"
    )
    error = _error(VALID.replace("{code: policy, zh: 保单, en: Policy}", "{code: policy, zh: 保单, en: Policy, x: 1}"))
    assert (error.line, error.problem) == (
        8,
        "unknown key 'x' in item (expected one of ['code', 'electronic', 'en', 'zh'])",
    )
    error = _error(VALID.replace("    optional: [policy]", "    optionel: [policy]"))
    assert error.line == 19 and "unknown key 'optionel' in claim type 'vehicle_damage'" in error.problem


def test_duplicate_item_code_names_the_second_definition():
    text = VALID.replace(
        "  - {code: policy, zh: 保单, en: Policy}\n",
        "  - {code: policy, zh: 保单, en: Policy}\n  - {code: policy, zh: 保险单, en: Insurance policy}\n",
    )
    assert str(_error(text)) == "motor.yaml:9: duplicate item code 'policy'"


def test_same_item_twice_in_a_claim_type_is_refused():
    error = _error(VALID.replace("optional: [policy]", "optional: [policy, id_proof]"))
    assert str(error) == "motor.yaml:19: duplicate item code 'id_proof' in claim type 'vehicle_damage'"


def test_unknown_line_is_refused_against_the_workflow_registry():
    assert str(_error(VALID.replace("line: motor", "line: marine"))) == (
        "motor.yaml:1: unknown line of business 'marine' (known: medical, motor)"
    )
    # by default the known lines are those of the loaded workflows
    with pytest.raises(ChecklistError, match="unknown line of business 'marine'"):
        parse_checklist(VALID.replace("line: motor", "line: marine"), "motor.yaml")
    assert parse_checklist(VALID, "motor.yaml").line == "motor"


def test_condition_on_unknown_fact_names_the_line():
    error = _error(VALID.replace("when: {facts: [injury]}", "when: {facts: [injured]}"))
    assert str(error) == ("motor.yaml:17: condition on unknown fact 'injured' (declared facts: injury, third_party)")


def test_empty_claim_type_is_refused():
    text = VALID.split("claim_types:")[0] + "claim_types:\n  theft:\n    zh: 盗抢\n    en: Theft\n    required: []\n"
    assert str(_error(text)) == (
        "motor.yaml:12: claim type 'theft' lists no items ('required' and 'optional' are empty)"
    )


def test_unknown_item_in_claim_type_and_missing_names():
    error = _error(VALID.replace("      - id_proof\n", "      - id_proff\n"))
    assert (error.line, error.problem) == (
        15,
        "unknown item 'id_proff' in claim type 'vehicle_damage' (not in 'items')",
    )
    error = _error(VALID.replace("{code: policy, zh: 保单, en: Policy}", "{code: policy, zh: 保单}"))
    assert str(error) == "motor.yaml:8: item 'policy' needs a non-empty 'en' name"


def test_broken_yaml_names_the_line():
    error = _error(VALID.replace("    en: Vehicle damage\n", "    en: [Vehicle damage\n"))
    assert error.line is not None and error.line >= 12
    assert "not valid YAML" in error.problem


def test_override_directory_replaces_a_line(tmp_path: Path):
    (tmp_path / "motor.yaml").write_text(VALID, encoding="utf-8")
    checklists = load_checklist_dir(get_settings().checklists_dir, tmp_path)
    assert set(checklists["motor"].claim_types) == {"vehicle_damage"}
    assert "inpatient" in checklists["medical"].claim_types


def test_a_line_twice_in_one_directory_is_refused(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(VALID, encoding="utf-8")
    with pytest.raises(ChecklistError, match=r"b\.yaml:1: line 'motor' is already defined in .*a\.yaml"):
        load_checklist_dir(tmp_path)


def test_cli_check_reports_file_and_line(tmp_path: Path):
    from typer.testing import CliRunner

    from claimwatch.cli import app

    good = tmp_path / "good.yaml"
    good.write_text(VALID, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("when: {facts: [third_party]}", "when: {facts: [thirdparty]}"), encoding="utf-8")
    result = CliRunner().invoke(app, ["materials", "check", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:18: condition on unknown fact 'thirdparty'" in result.output.replace("\n", "")
    result = CliRunner().invoke(app, ["materials", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "vehicle_damage (4 items)" in result.output
    assert CliRunner().invoke(app, ["materials", "check"]).exit_code == 0
