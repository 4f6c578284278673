"""The condition language (shared with triage rules), the red-flag file, and scoring without a database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import numpy as np
import pytest

from claimwatch.demo.risk import synthetic_facts, synthetic_history
from claimwatch.risk.conditions import ConditionError, parse_when
from claimwatch.risk.facts import FACT_KINDS, ClaimFacts
from claimwatch.risk.features import BASE_FACTS, facts_columns, feature_matrix, feature_names, fill_headroom
from claimwatch.risk.loader import RedFlagError, default_red_flags, parse_red_flags
from claimwatch.risk.model_training import fit_sklearn, reliability
from claimwatch.risk.service import score_columns, score_facts, score_one
from claimwatch.yaml_source import load

WHEN = """
when:
  all:
    - {fact: line, op: in, value: [motor, property]}
    - {fact: amount_cny, op: between, value: [100, 5000]}
    - any:
        - {fact: night, op: is_true}
        - not: {fact: region, op: eq, value: "440000"}
        - {fact: policy_start, op: ge, value: 2026-10-01}
"""


def _when(text: str, source: str = "rules.yaml"):
    return parse_when(load(text, source)["when"], source)


def test_facts_and_kinds_agree():
    assert [f.name for f in dataclasses.fields(ClaimFacts)] == list(FACT_KINDS)


def test_semantics_and_batch_masks_agree():
    cond = _when(WHEN)
    assert cond.facts_used() == {"line", "amount_cny", "night", "region", "policy_start"}
    assert cond.test(ClaimFacts(line="motor", amount_cny=100, night=True, region="440000"))
    assert not cond.test(ClaimFacts(line="motor", amount_cny=99.99, night=True))
    assert not cond.test(ClaimFacts(line="medical", amount_cny=200, night=True))
    assert cond.test(ClaimFacts(line="motor", amount_cny=200, region="110000"))
    assert cond.test(ClaimFacts(line="motor", amount_cny=200, region="440000", policy_start=dt.date(2026, 10, 1)))
    # unknown never satisfies a comparison (ne, not_in, is_false included); only is_null
    assert not cond.test(ClaimFacts(line="motor", amount_cny=None, night=True))
    for text, expected in [("ne, value: 1", False), ("is_null", True), ("not_null", False)]:
        op, _, rest = text.partition(", ")
        node = f"when: {{fact: amount_cny, op: {op}{', ' + rest if rest else ''}}}"
        assert _when(node).test(ClaimFacts()) is expected
    assert not _when("when: {fact: liability_clear, op: is_false}").test(ClaimFacts(liability_clear=None))
    assert _when("when: {fact: liability_clear, op: is_false}").test(ClaimFacts(liability_clear=False))
    # the batch form gives the same answers
    rng = random.Random(3)
    facts = [synthetic_facts(rng, dt.datetime(2026, 11, 1, tzinfo=dt.UTC)) for _ in range(300)]
    for f in facts[::3]:
        f.amount_cny = None
        f.policy_start = dt.date(2026, 9, 1) + dt.timedelta(days=rng.randint(0, 90))
    columns = facts_columns(facts, cond.facts_used())
    assert cond.mask(columns).tolist() == [cond.test(f) for f in facts]
    assert "between" in cond.describe() and cond.to_json()["all"][0] == {
        "fact": "line",
        "op": "in",
        "value": ["motor", "property"],
    }


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("when:\n  all:\n    - {fact: age, op: eq, value: 1}\n", 3, "unknown fact 'age'"),
        ("when:\n  - fact: amount_cny\n    op: about\n    value: 1\n", 3, "unknown op 'about'"),
        ("when:\n  - fact: amount_cny\n    op: eq\n    value: many\n", 4, "not a number"),
        ("when:\n  - {fact: line, op: lt, value: motor}\n", 2, "does not apply to text"),
        ("when:\n  - {fact: night, op: is_true, value: true}\n", 2, "takes no value"),
        ("when:\n  - {fact: amount_cny, op: between, value: [9, 1]}\n", 2, "above high"),
        ("when:\n  any: []\n", 2, "at least one"),
        ("when:\n  all: [{fact: line, op: eq, value: motor}]\n  any: []\n", 2, "must be alone"),
    ],
)
def test_bad_conditions_name_file_and_line(text: str, line: int, problem: str):
    with pytest.raises(ConditionError) as caught:
        _when(text, "x.yaml")
    assert str(caught.value).startswith(f"x.yaml:{line}: ") and problem in str(caught.value)


def test_red_flag_file_errors():
    good = default_red_flags()
    assert len(good.codes) >= 8 and len(good.digest) == 64
    base = "version: '1'\nlevels: {points: {medium: 10, high: 20}, probability: {medium: 0.2, high: 0.5}}\nflags:\n"
    flag = (
        "  - code: a\n    name: {zh: 甲, en: A}\n    points: 5\n    reason: {zh: '{%s}', en: x}\n"
        "    when: {fact: night, op: is_true}\n"
    )
    assert parse_red_flags(base + flag % "amount_cny", "f.yaml").codes == ("a",)
    with pytest.raises(RedFlagError, match=r"^f\.yaml:7: reason names unknown fact \{nope\}"):
        parse_red_flags(base + flag % "nope", "f.yaml")
    with pytest.raises(RedFlagError, match=r"^f\.yaml:9: flag 'a' is defined twice"):
        parse_red_flags(base + flag % "line" + flag % "line", "f.yaml")
    with pytest.raises(RedFlagError, match=r"^f\.yaml:8: unknown fact 'speed'"):
        parse_red_flags(base + flag.replace("fact: night, op: is_true", "fact: speed, op: is_true") % "line", "f.yaml")


def test_scores_reasons_levels_and_the_model_as_arrays():
    flags = default_red_flags()
    risky = ClaimFacts(line="motor", amount_cny=4980.0, days_since_policy_start=12, shared_contact_count=3, night=True)
    (result, plain), _ = score_facts(flags, None, [risky, ClaimFacts(line="medical", amount_cny=800.0)])
    codes = {f.code for f in result.flags}
    assert codes == {"soon_after_inception", "shared_contact", "just_under_authority_limit", "motor_night_weekend"}
    assert result.points == 80 and result.level == "high" and result.score == 0.8 and result.probability is None
    reason = next(f for f in result.flags if f.code == "soon_after_inception")
    assert reason.reason_en == "Accident 12 days after the policy started" and "12 天" in reason.reason_zh
    assert plain.points == 0 and plain.level == "low" and not plain.flagged

    # a model fitted on synthetic labels: the arrays reproduce scikit-learn's calibrated probabilities
    history = list(synthetic_history(7, 3000, dt.datetime(2025, 1, 1, tzinfo=dt.UTC)))
    names = flags.facts_used() | BASE_FACTS | {"amount_cny"}
    columns = facts_columns([h.facts for h in history], names)
    fill_headroom(columns, flags.authority_limits)
    batch = score_columns(columns, flags, None)
    matrix = feature_matrix(columns, batch.fired)
    labels = np.array([h.label for h in history])
    calibrated, model = fit_sklearn(matrix, labels, feature_names(flags.codes))
    ours = model.probability(model.standardise(matrix))
    assert np.allclose(ours, calibrated.predict_proba(matrix)[:, 1], atol=1e-9)
    # … and so does the one-row path ingestion takes (``score_row``, plain floats), row by row, to 1e-12
    one_by_one = [model.score_row(row.tolist())[0] for row in matrix[:200]]
    assert np.abs(np.array(one_by_one) - calibrated.predict_proba(matrix[:200])[:, 1]).max() <= 1e-12
    scored = score_columns(columns, flags, model)
    assert scored.probability is not None and np.allclose(scored.score, ours)
    assert scored.top_index is not None and scored.top_value is not None
    contrib = model.standardise(matrix) * (model.coef * -model.platt_a)
    assert np.allclose(scored.top_value[:, 0], contrib.max(axis=1))
    bins = reliability(labels, ours)
    assert sum(b["count"] for b in bins) == len(labels) and len(bins) == 10


def test_one_claim_path_agrees_with_the_batch():
    """Ingestion scores one claim in plain Python (``score_one``); it gives what the numpy batch gives."""
    flags = default_red_flags()
    history = list(synthetic_history(11, 1500, dt.datetime(2025, 1, 1, tzinfo=dt.UTC)))
    names = flags.facts_used() | BASE_FACTS | {"amount_cny"}
    columns = facts_columns([h.facts for h in history], names)
    fill_headroom(columns, flags.authority_limits)
    batch = score_columns(columns, flags, None)
    _, model = fit_sklearn(
        feature_matrix(columns, batch.fired), np.array([h.label for h in history]), feature_names(flags.codes)
    )
    sample = [dataclasses.replace(h.facts) for h in history[:300]]
    sample += [ClaimFacts(line="motor", amount_cny=4980.0), ClaimFacts(line="life"), ClaimFacts(amount_cny=2e6)]
    for with_model in (None, model):
        expected, _ = score_facts(flags, with_model, [dataclasses.replace(f) for f in sample])
        for facts, want in zip(sample, expected, strict=True):
            got = score_one(flags, with_model, dataclasses.replace(facts))
            assert (got.level, got.points, got.flags, got.model_version) == (
                want.level, want.points, want.flags, want.model_version
            )  # fmt: skip
            assert got.score == pytest.approx(want.score, abs=1e-6)
            assert [c.feature for c in got.contributions] == [c.feature for c in want.contributions]
            for a, b in zip(got.contributions, want.contributions, strict=True):
                assert a.contribution == pytest.approx(b.contribution, abs=1e-9) and a.value == pytest.approx(b.value)
