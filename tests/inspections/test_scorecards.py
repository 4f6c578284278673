"""Scorecards as YAML: the bundled cards load, and each kind of mistake is refused naming file and line."""

from __future__ import annotations

import pytest

from claimwatch.errors import NotFound
from claimwatch.inspections import scorecards
from claimwatch.inspections.scorecards import ScorecardError, parse

GOOD = """\
code: tiny
subject_kind: claim
pass_mark: 80
items:
  - {code: a, zh: 甲, en: A, weight: 60}
  - code: b
    zh: 乙
    en: B
    weight: 40
    critical: true
    na: {when: {rejected: false}}
"""


def test_bundled_cards_are_real_and_valid() -> None:
    motor = scorecards.load("motor_claim")
    assert motor.subject_kind == "claim" and sum(i.weight for i in motor.items) == 100
    reasons = motor.item("rejection_reasons")
    assert reasons is not None and reasons.critical and reasons.basis == "保险法第二十四条"
    # N/A for the written rejection reasons only when the claim was not rejected.
    assert reasons.na.permits({"rejected": False}) and not reasons.na.permits({"rejected": True})
    assert not motor.item("file_complete").na.permits({"rejected": False})  # type: ignore[union-attr]
    assert motor.item("materials_notice_once").basis == "保险法第二十二条"  # type: ignore[union-attr]
    assert {c.code for c in scorecards.for_kind("claim")} == {"motor_claim", "medical_claim"}
    assert [c.code for c in scorecards.for_kind("complaint")] == ["complaint"]
    assert len(motor.digest) == 64
    with pytest.raises(NotFound) as refused:
        scorecards.load("nope")
    assert refused.value.field == "scorecard"


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("weight: 40", "weight: 45", 4, "sum to 105, not 100"),
        ("{code: a,", "{code: b,", 6, "duplicate item code 'b'"),
        ("subject_kind: claim", "subject_kind: parrot", 2, "unknown subject kind 'parrot'"),
        ("rejected: false", "rejectd: false", 11, "unknown fact 'rejectd'"),
        ("rejected: false", "rejected: 'no'", 11, "takes bool values"),
        ("na: {when: {rejected: false}}", "na: sometimes", 11, "must be true, false or"),
        ("pass_mark: 80", "pass_mark: 101", 3, "pass_mark must be a number from 0 to 100"),
        ("critical: true", "critical: yes please", 10, "must be true or false"),
        ("weight: 60}", "weight: 60, colour: red}", 5, "unknown key 'colour'"),
    ],
)
def test_mistakes_name_file_and_line(old: str, new: str, line: int, words: str) -> None:
    assert old in GOOD
    with pytest.raises(ScorecardError) as refused:
        parse(GOOD.replace(old, new, 1), "cards/tiny.yaml")
    assert refused.value.line == line, str(refused.value)
    assert words in str(refused.value) and str(refused.value).startswith(f"cards/tiny.yaml:{line}:")


def test_good_card_parses() -> None:
    card = parse(GOOD, "tiny.yaml")
    assert card.codes == ("a", "b") and card.pass_mark == 80
