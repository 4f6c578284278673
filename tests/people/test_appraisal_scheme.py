"""The appraisal scheme without a database: the bundled default validates, a weight table that does not sum to
100 is refused naming ``metrics`` and the line, and the scoring (linear points, renormalised weights, minimum
volume, stars, peer percentile) is what the docstring says."""

from __future__ import annotations

import datetime as dt

import pytest

from claimwatch.errors import Invalid
from claimwatch.people import appraisal, appraisal_scheme
from claimwatch.people.appraisal_scheme import MetricRule, MetricValue, SchemeError, parse_scheme

SCHEME = """version: t1
stars:
  - {stars: 5, min_score: 95}
  - {stars: 3, min_score: 80}
groups:
  - kind: employee
    metrics:
      - {code: a, weight: 60, direction: higher, floor: 50, ceiling: 100, min_volume: 2}
      - {code: b, weight: 40, direction: lower, floor: 0, ceiling: 10}
"""


def test_default_scheme_and_sources() -> None:
    scheme = parse_scheme(appraisal_scheme.default_text(), "appraisal.yaml")
    assert {g.kind for g in scheme.groups} == {"employee", "agent"}
    assert all(sum(m.weight for m in g.metrics) == 100 for g in scheme.groups)
    sources = appraisal_scheme.metric_sources()
    employee = scheme.group_for("employee", "理赔员")
    assert employee is not None and {m.code for m in employee.metrics} <= set(sources)
    assert scheme.stars_for(96) == 5 and scheme.stars_for(59) == 0 and scheme.stars_for(None) == 0


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (SCHEME.replace("weight: 40", "weight: 30"), 7, "metrics", "sum to 90, not 100"),
        (SCHEME.replace("direction: lower", "direction: down"), 9, "content", "higher or lower"),
        (SCHEME.replace("kind: employee", "kind: robot"), 6, "content", "'kind'"),
        (SCHEME.replace("ceiling: 10}", "ceiling: 0}"), 9, "content", "above 'floor'"),
        (SCHEME.replace("{stars: 3, min_score: 80}", "{stars: 3, min_score: 99}"), 2, "content", "star levels"),
        (SCHEME + "extra: 1\n", 10, "content", "unknown key 'extra'"),
        ("version: [", 1, "content", "not valid YAML"),
    ],
)
def test_bad_schemes_name_the_line(text: str, line: int, field: str, words: str) -> None:
    with pytest.raises(SchemeError) as caught:
        parse_scheme(text, "mine.yaml")
    assert caught.value.line == line and caught.value.field == field and words in str(caught.value)
    with pytest.raises(Invalid) as invalid:
        appraisal.check_scheme(text, "mine.yaml")
    assert invalid.value.field == field and f"mine.yaml:{line}" in invalid.value.message


def test_points_scores_and_ranks() -> None:
    higher = MetricRule("a", 60, "higher", 50, 100, 2)
    lower = MetricRule("b", 40, "lower", 0, 10, 1)
    assert (higher.points(75), higher.points(20), higher.points(120)) == (50.0, 0.0, 100.0)
    assert (lower.points(0), lower.points(2.5), lower.points(30)) == (100.0, 75.0, 0.0)
    scheme = parse_scheme(SCHEME, "s.yaml")
    group = scheme.groups[0]
    score, metrics = appraisal_scheme.score_person(scheme, group, {"a": MetricValue(90.0, 5), "b": MetricValue(2.0, 3)})
    assert score == 0.6 * 80 + 0.4 * 80 and [m.points for m in metrics] == [80.0, 80.0]
    # Too little volume on `a`: scored on `b` alone (40 % of the weight is below min_scored_weight 50).
    score, metrics = appraisal_scheme.score_person(scheme, group, {"a": MetricValue(90.0, 1), "b": MetricValue(0.0, 3)})
    assert score is None and metrics[0].reason == "low_volume" and metrics[1].points == 100.0
    # No source for `b`: renormalised over `a` (60 % ≥ 50 %).
    score, metrics = appraisal_scheme.score_person(scheme, group, {"a": MetricValue(100.0, 4), "b": None})
    assert score == 100.0 and metrics[1].reason == "no_source" and metrics[0].contribution == 100.0
    assert appraisal_scheme.percentiles({1: 50.0, 2: 70.0, 3: 70.0, 4: 90.0}) == {1: 12.5, 2: 50.0, 3: 50.0, 4: 87.5}
    assert appraisal_scheme.distribution([0, 9.9, 10, 95, 100]) == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]


def test_months() -> None:
    assert appraisal_scheme.parse_month("2026-11") == dt.date(2026, 11, 1)
    for bad in ("2026-13", "26-11", "2026/11", "", "1999-01"):
        with pytest.raises(Invalid):
            appraisal_scheme.parse_month(bad)
    assert appraisal_scheme.shift_month(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    window = appraisal_scheme.month_window(1, dt.date(2026, 11, 1), dt.timezone(dt.timedelta(hours=8)))
    assert window.start_at == dt.datetime(2026, 10, 31, 16, tzinfo=dt.UTC) and window.end_on == dt.date(2026, 12, 1)
