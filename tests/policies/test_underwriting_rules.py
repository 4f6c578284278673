"""The underwriting rules without a database: the bundled file is valid, a bad file names file:line, and the
assessment adds points, picks the most severe forced outcome and says when a person must review."""

from __future__ import annotations

import pytest

from claimwatch.errors import Invalid
from claimwatch.policies import underwriting, underwriting_rules
from claimwatch.policies.underwriting_rules import RuleSetError, assess, parse_rule_set

DEFAULT = underwriting_rules.DEFAULT_RULES.read_text(encoding="utf-8")
RULES = parse_rule_set(DEFAULT, "rules.yaml")
HEAD = "version: t\nthresholds: {medium: 30, high: 60}\nmanual_review: {levels: [high]}\n"
HEAD += "turnaround: {default: {low: 1, medium: 2, high: 3}}\nfactors:\n"


def test_bundled_rules_and_targets() -> None:
    assert RULES.version == "2026.12-1" and len(RULES.factors) == 12
    assert RULES.target_days("life", "high") == 7 and RULES.target_days("motor", "high") == 5


@pytest.mark.parametrize(
    ("factors", "line", "words"),
    [
        ("  - {code: X, name: x, fact: height, in: [1], points: 1}\n", 6, "fact must be one of"),
        ("  - {code: X, name: x, fact: age, band: {min: 50, max: 40}, points: 1}\n", 6, "must be above min"),
        ("  - {code: X, name: x, fact: bmi, band: {min: 30}, outcome: rate_up}\n", 6, "needs rate_up_pct"),
        ("  - {code: X, name: x, fact: health, answer: copd, outcome: exclusion}\n", 6, "needs its text"),
        ("  - {code: X, name: x, fact: age, in: [1]}\n", 6, "does nothing"),
        (
            "  - {code: X, name: x, fact: age, in: [1], points: 1}\n"
            "  - {code: X, name: y, fact: age, in: [2], points: 1}\n",
            7,
            "duplicate",
        ),
        ("  - {code: X, name: x, fact: age, in: [1], points: 1, colour: red}\n", 6, "unknown key"),
    ],
)
def test_bad_factor_names_its_line(factors: str, line: int, words: str) -> None:
    with pytest.raises(RuleSetError) as refused:
        parse_rule_set(HEAD + factors, "mine.yaml")
    assert refused.value.line == line and words in refused.value.problem
    with pytest.raises(Invalid) as invalid:
        underwriting.check_rules(HEAD + factors, "mine.yaml")
    assert invalid.value.field == "content" and invalid.value.message.startswith(f"mine.yaml:{line}:")


def test_bad_thresholds_and_turnaround() -> None:
    with pytest.raises(RuleSetError, match="mine.yaml:2: .*above the medium"):
        parse_rule_set(HEAD.replace("high: 60", "high: 10") + "  []\n", "mine.yaml")
    with pytest.raises(RuleSetError, match="takes low, medium and high"):
        parse_rule_set(HEAD.replace("high: 3}", "top: 3}") + "  []\n", "mine.yaml")


def test_assessment() -> None:
    low = assess(RULES, {"age": 30, "sum_insured": 100_000, "line": "life"})
    assert (low.points, low.level, low.outcome, low.review, low.fired) == (0, "low", "accept", False, [])
    medium = assess(RULES, {"age": 40, "sum_insured": 100_000, "line": "life", "bmi": 33, "smoker": True})
    assert (medium.points, medium.level, medium.outcome, medium.rate_up_pct, medium.review) == (
        30,
        "medium",
        "rate_up",
        25,
        False,
    )
    big = assess(RULES, {"age": 30, "sum_insured": 1_500_000, "line": "motor"})
    assert (big.level, big.review) == ("low", True)  # the factor demands review whatever the points
    declined = assess(RULES, {"age": 72, "line": "life", "sum_insured": 1, "health": {"hypertension": True}})
    assert (declined.outcome, declined.exclusions, declined.review) == ("decline", [], True)
    assert not assess(RULES, {"age": 72, "line": "motor", "sum_insured": 1}).outcome == "decline"  # lines: life, health
