"""The rules file is validated at load; every error names file:line."""

from __future__ import annotations

import pytest

from claimwatch.assignment.loader import DEFAULT_RULES, RulesError, load_rules_file, parse_rules

GOOD = """version: "t-1"
default_mode: monitor
weights:
  kind: {claim: 1, complaint: 2}
  amount_bands:
    - {from: 0, weight: 1}
    - {from: 10000, weight: 2}
  light: {green: 1, yellow: 2, red: 3}
"""


def test_defaults_load():
    rules = load_rules_file(DEFAULT_RULES)
    assert rules.default_mode == "monitor" and rules.version == "2026.12-1"
    assert rules.weight("claim", 20_000_000, "red") == pytest.approx(5.0)
    assert rules.weight("complaint", None, None) == pytest.approx(1.5)


def test_good_rules_weigh():
    rules = parse_rules(GOOD, "r.yaml")
    assert rules.weight("claim", 1_000_000, "yellow") == 4.0 and rules.weight("claim", 999_999, "green") == 1.0


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (GOOD.replace("default_mode: monitor", "default_mode: auto"), "r.yaml:2"),
        (GOOD.replace('version: "t-1"\n', ""), "r.yaml:1"),
        (GOOD.replace("complaint: 2", "complaint: -1"), "r.yaml:4"),
        (GOOD.replace("{from: 10000, weight: 2}", "{from: 0, weight: 2}"), "r.yaml:7"),
        (GOOD.replace("red: 3", "blue: 3"), "r.yaml:8"),
        (GOOD + "surprise: 1\n", "r.yaml:9"),
        (GOOD.replace("weights:", "weights: [", 1), "r.yaml:"),
    ],
)
def test_errors_name_file_and_line(text: str, where: str):
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "r.yaml")
    assert str(caught.value).startswith(where), str(caught.value)
