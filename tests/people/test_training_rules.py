"""The training rules file (who must take what) and the state of a requirement: pure, no database. A mistake in
the file names its line; the bundled file is valid and says what the demo and the pages rely on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from claimwatch.config import get_settings
from claimwatch.people import training, training_rules
from claimwatch.people.models import StaffMember

TEXT = training_rules.DEFAULT_FILE.read_text(encoding="utf-8")


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_bundled_rules_and_who_they_apply_to():
    rules = training_rules.base_rules()
    assert rules.coverage_target == 100 and rules.yearly_hours == {"employee": 24, "agent": 36}
    assert [r.course for r in rules.rules_for("employee", "理赔员")] == ["IND-STAFF", "COMPLIANCE"]
    assert [r.course for r in rules.rules_for("agent", "销售代理")] == ["IND-AGENT", "COMPLIANCE", "SALES-CONDUCT"]
    assert [r.course for r in rules.rules_for("agent", None)] == ["IND-AGENT", "COMPLIANCE"]
    assert rules.as_dict()["mandatory"][2]["every_months"] == 12


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("kinds: [employee]\n", "kinds: [employee, robot]\n", "unknown kind 'robot'"),
        ("within_days_of_hire: 30\n", "within_days_of_hire: -1\n", "'within_days_of_hire' is a whole number"),
        ("every_months: 12\n", "every_months: twelve\n", "'every_months' is a whole number"),
        ("coverage_target: 100", "coverage_target: 120", "'coverage_target' is a percentage"),
        ("  agent: 36", "  robot: 36", "unknown staff kind 'robot'"),
        ("  - course: IND-AGENT\n", '  - course: ""\n', "'course' is a course code"),
        ("    within_days_of_hire: 60", "    within_days_of_hire: 60\n    often: yes", "unknown key 'often'"),
    ],
)
def test_a_bad_file_names_its_line(old: str, new: str, message: str):
    text = TEXT.replace(old, new, 1)
    assert text != TEXT
    with pytest.raises(training_rules.TrainingRulesError, match=rf"^training.yaml:\d+: {message}") as found:
        training_rules.parse(text, "training.yaml")
    bad = new.strip().splitlines()[-1].strip()
    assert found.value.line == _line(text, bad)


def test_a_course_required_twice_of_the_same_people_and_broken_yaml():
    doubled = TEXT + "  - course: COMPLIANCE\n    kinds: [agent]\n    within_days_of_hire: 10\n"
    with pytest.raises(training_rules.TrainingRulesError, match="already required of 'agent'"):
        training_rules.parse(doubled, "t.yaml")
    with pytest.raises(training_rules.TrainingRulesError, match=r"t.yaml:\d+: not valid YAML"):
        training_rules.parse("version: [1\n", "t.yaml")
    with pytest.raises(training_rules.TrainingRulesError, match="'mandatory' is a list"):
        training_rules.parse("version: 1\n", "t.yaml")


def test_an_insurer_file_replaces_the_bundled_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "people" / "training").mkdir(parents=True)
    (tmp_path / "people" / "training" / "OWN.yaml").write_text(TEXT.replace("agent: 36", "agent: 50"), "utf-8")
    monkeypatch.setenv("CLAIMWATCH_POLICY_OVERRIDES_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert training_rules.rules_for_code("OWN").yearly_hours["agent"] == 50
        assert training_rules.rules_for_code("OTHER").yearly_hours["agent"] == 36
    finally:
        monkeypatch.delenv("CLAIMWATCH_POLICY_OVERRIDES_DIR")
        get_settings.cache_clear()


def test_the_state_of_a_requirement():
    once, yearly = training_rules.base_rules().mandatory[0], training_rules.base_rules().mandatory[2]
    hired = dt.date(2026, 1, 31)
    person = StaffMember(code="E9", name="x", kind="employee", hired_on=hired)
    due = training._rule_requirement(once, person, "岗前", None, dt.date(2026, 3, 2))
    assert (due.state, due.due_on, due.counted) == ("due", dt.date(2026, 3, 2), False)
    late = training._rule_requirement(once, person, "岗前", None, dt.date(2026, 3, 3))
    assert (late.state, late.counted) == ("overdue", True)
    done = training._rule_requirement(once, person, "岗前", dt.date(2026, 2, 1), dt.date(2030, 1, 1))
    assert done.state == "done" and done.next_due_on is None
    # A yearly course: done until 12 months after the last attendance, then due again (overdue the day after).
    taken = training._rule_requirement(yearly, person, "合规", dt.date(2026, 1, 31), dt.date(2027, 1, 30))
    assert (taken.state, taken.next_due_on) == ("done", dt.date(2027, 1, 31))
    again = training._rule_requirement(yearly, person, "合规", dt.date(2026, 1, 31), dt.date(2027, 1, 31))
    assert (again.state, again.due_on, again.last_on) == ("due", dt.date(2027, 1, 31), dt.date(2026, 1, 31))
    lapsed = training._rule_requirement(yearly, person, "合规", dt.date(2026, 1, 31), dt.date(2027, 2, 1))
    assert lapsed.state == "overdue"
    assert training.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert training.add_months(dt.date(2026, 11, 30), 14) == dt.date(2028, 1, 30)
