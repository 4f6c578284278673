"""The methodology file: the shipped default is valid, and each kind of bad input is refused with the file, the
line and the field that failed (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from claimwatch.errors import Invalid
from claimwatch.supervision import methodology
from claimwatch.supervision.methodology import MethodologyError

GOOD = """\
code: t
title: {zh: 测试, en: Test}
indicators:
  - kpi: cycle_time
    weight: 60
    scoring: {linear: {floor: 30, ceiling: 5}}
  - kpi: satisfaction
    weight: 40
    scoring: {percentile: {}}
    missing: exclude
grades:
  - {grade: A, min: 80}
  - {grade: B, min: 60}
  - {grade: C}
"""


def test_default_methodology_is_valid() -> None:
    found = methodology.load()
    assert found.code == "service_rating"
    assert sum(i.weight for i in found.indicators) == 100
    assert {i.kpi for i in found.indicators} >= {
        "cycle_time",
        "claim_acceptance_rate",
        "complaints_per_10k_policies",
        "complaints_per_100m_premium",
        "complaint_on_time_rate",
        "satisfaction",
        "red_filings",
        "small_timeliness",
        "large_timeliness",
    }
    assert found.grade_names == ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D")
    assert (found.min_claims, found.objection_days, found.decision_days) == (30, 15, 30)
    assert found.deduction_cap == Decimal(30) and found.deduction_max["regulatory_penalty"] == Decimal(20)


def test_minimal_file_and_defaults() -> None:
    found = methodology.parse(GOOD, "m.yaml")
    assert found.indicators[1].missing == "exclude" and found.indicators[0].missing == "zero"
    assert found.indicators[0].linear_points(17.5) == 50.0
    assert found.deduction_cap is None and found.min_claims == 0 and found.objection_days == 15


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        ("weight: 40", "weight: 30", 3, "indicators", "weights must sum to 100, not 90"),
        ("kpi: satisfaction", "kpi: happiness", 7, "indicators[1].kpi", "unknown KPI 'happiness'"),
        ("{percentile: {}}", "{zscore: {}}", 9, "indicators[1].scoring", "unknown scoring 'zscore'"),
        ("{grade: B, min: 60}", "{grade: B, min: 85}", 13, "grades[1].min", "grades overlap"),
        ("floor: 30, ceiling: 5", "floor: 5, ceiling: 30", 6, "indicators[0].scoring.linear", "better lower"),
        ("{grade: C}", "{grade: C, min: 40}", 14, "grades[2].min", "must have no min"),
        ("missing: exclude", "missing: maybe", 10, "indicators[1].missing", "one of zero, exclude"),
        ("weight: 60", "weight: -60", 5, "indicators[0].weight", "positive number"),
        ("code: t", "code: t\nextra: 1", 2, "extra", "unknown key 'extra'"),
        ("  - kpi: satisfaction", "  - kpi: cycle_time", 7, "indicators[1].kpi", "listed twice"),
        ("title: {zh: 测试, en: Test}", "title: {zh: [", 4, "methodology", "not valid YAML"),
    ],
)
def test_bad_input_names_file_line_and_field(old: str, new: str, line: int, field: str, words: str) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    with pytest.raises(MethodologyError) as raised:
        methodology.parse(text, "bad.yaml")
    assert raised.value.field == field
    assert str(raised.value).startswith(f"bad.yaml:{line}: "), str(raised.value)
    assert words in str(raised.value)
    with pytest.raises(Invalid) as refused:  # what the API answers (422)
        methodology.validate(text, "bad.yaml")
    assert refused.value.field == field and refused.value.message.startswith("bad.yaml:")


def test_unknown_deduction_kind_is_refused() -> None:
    text = GOOD + "deductions:\n  kinds: {late_fee: {max_points: 3}}\n"
    with pytest.raises(MethodologyError, match=r"bad.yaml:16: unknown deduction kind 'late_fee'"):
        methodology.parse(text, "bad.yaml")
