"""The sampling statistics against published values (R binom / statsmodels / textbook sample sizes)."""

from __future__ import annotations

import pytest

from claimwatch.inspections import statistics as st
from claimwatch.inspections.statistics import StratumTally


@pytest.mark.parametrize(
    ("errors", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),  # statsmodels proportion_confint(0, 10, method="wilson")
        (5, 50, 0.04348, 0.2136),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_published(errors: int, n: int, low: float, high: float) -> None:
    got = st.wilson(errors, n)
    assert got == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(
    ("errors", "n", "confidence", "low", "high"),
    [
        (1, 20, 0.95, 0.001265, 0.248733),  # R binom.test(1, 20)$conf.int
        (0, 10, 0.95, 0.0, 0.308497),
        (5, 50, 0.95, 0.033275, 0.218135),
        (37, 1000, 0.95, 0.026183, 0.050641),
        (3, 7, 0.95, 0.098988, 0.815948),
        (3, 7, 0.90, 0.128756, 0.774678),
    ],
)
def test_clopper_pearson_published(errors: int, n: int, confidence: float, low: float, high: float) -> None:
    assert st.clopper_pearson(errors, n, confidence) == pytest.approx((low, high), abs=2e-6)


def test_intervals_reject_impossible_counts_and_nothing_inspected_is_uninformative() -> None:
    with pytest.raises(ValueError, match="errors"):
        st.wilson(3, 2)
    with pytest.raises(ValueError, match="confidence"):
        st.clopper_pearson(1, 10, confidence=1.0)
    assert st.wilson(0, 0) == (0.0, 1.0) and st.clopper_pearson(0, 0) == (0.0, 1.0)
    # 0 errors: the one-sided exact bound 1 - 0.05^(1/59) is under 5 % (the "59 cases" rule).
    assert st.upper_bound(0, 59) == pytest.approx(0.049508, abs=1e-6) and st.upper_bound(0, 58) > 0.05


@pytest.mark.parametrize(
    ("population", "confidence", "margin", "rate", "expected"),
    [
        (10_000, 0.95, 0.05, 0.5, 370),  # n0 = 384.15, FPC → 369.96
        (10**9, 0.95, 0.05, 0.5, 385),
        (1_000, 0.95, 0.05, 0.5, 278),
        (500, 0.95, 0.03, 0.1, 218),
        (20, 0.99, 0.01, 0.5, 20),  # never more than the population
        (0, 0.95, 0.05, 0.5, 0),
    ],
)
def test_sample_size_with_finite_population_correction(
    population: int, confidence: float, margin: float, rate: float, expected: int
) -> None:
    assert st.sample_size(population, confidence, margin, rate) == expected


def test_sample_size_refuses_meaningless_parameters() -> None:
    for bad in ({"margin": 0.0}, {"expected_rate": 0.0}, {"expected_rate": 1.0}, {"confidence": 0.0}):
        arguments = {"population": 100, "confidence": 0.95, "margin": 0.05, "expected_rate": 0.1} | bad
        with pytest.raises(ValueError, match=next(iter(bad))):
            st.sample_size(**arguments)  # type: ignore[arg-type]


def test_allocation_proportional_neyman_and_bounds() -> None:
    assert st.allocate({"a": 900, "b": 90, "c": 10, "d": 0}, 100, "proportional") == {"a": 90, "b": 9, "c": 1, "d": 0}
    # Largest remainder: 3 strata of equal size, 10 cases → 4/3/3 (ties to the first listed), sum kept.
    assert st.allocate({"x": 50, "y": 50, "z": 50}, 10, "proportional") == {"x": 4, "y": 3, "z": 3}
    # Neyman puts more where errors vary more; p = 0 is floored, so the stratum is still sampled.
    neyman = st.allocate({"a": 900, "b": 90, "c": 10}, 50, "neyman", {"a": 0.0, "b": 0.3, "c": 0.5})
    assert sum(neyman.values()) == 50 and neyman["b"] > 50 * 90 / 1000 and neyman["a"] >= 1 and neyman["c"] >= 1
    # 1 ≤ n_h ≤ N_h: a tiny stratum is capped, a big one takes the rest; a total above N takes everything.
    assert st.allocate({"a": 5, "b": 1000}, 100, "proportional") == {"a": 1, "b": 99}
    assert st.allocate({"a": 2, "b": 1000}, 900, "proportional") == {"a": 2, "b": 898}
    assert st.allocate({"a": 3, "b": 3}, 100, "neyman") == {"a": 3, "b": 3}
    # A total smaller than the number of strata cannot give each one.
    assert sum(st.allocate({"a": 3, "b": 3, "c": 3}, 2, "proportional").values()) == 2
    with pytest.raises(ValueError, match="allocation"):
        st.allocate({"a": 1}, 1, "optimal")


def test_single_stratum_with_no_error_is_not_degenerate() -> None:
    estimate = st.stratified_estimate([StratumTally("all", 100_000, 59, 0)], target_error_rate=0.02)
    assert estimate.rate == 0.0 and estimate.low == 0.0
    assert estimate.high == pytest.approx(st.wilson(0, 59)[1], abs=2e-4)  # Wilson of 0/59: 6.1 %
    msgids = [c.msgid for c in estimate.conclusions]
    assert st.MSG_ZERO in msgids and st.MSG_TARGET_OPEN in msgids and st.MSG_MORE_CASES in msgids
    zero = next(c for c in estimate.conclusions if c.msgid == st.MSG_ZERO)
    assert st.render(zero, lambda m: m) == "With 0 errors in 59 cases the error rate is below 4.9% with 95% confidence."


def test_stratified_estimate_weights_strata_and_reports_its_limits() -> None:
    strata = [
        StratumTally("A", 5000, 40, 2),
        StratumTally("B", 3000, 25, 0),
        StratumTally("C", 200, 3, 1),
        StratumTally("D", 50, 0, 0),
    ]
    estimate = st.stratified_estimate(strata, target_error_rate=0.02, sample=80)
    # p̂ = Σ W_h p̂_h over the represented strata (D is left out): (5000·0.05 + 200/3) / 8200.
    assert estimate.rate == pytest.approx((5000 * 0.05 + 200 / 3) / 8200)
    assert estimate.rate is not None and estimate.low is not None and estimate.high is not None
    assert 0 < estimate.low < estimate.rate < estimate.high < 0.2
    assert estimate.coverage == pytest.approx(68 / 8250) and estimate.represented_population == 8200
    keys = {(c.msgid, c.stratum) for c in estimate.conclusions}
    assert (st.MSG_SMALL_STRATUM, "C") in keys and (st.MSG_EMPTY_STRATUM, "D") in keys
    assert (st.MSG_PARTIAL, None) in keys and (st.MSG_TARGET_OPEN, None) in keys
    rows = {row.key: row for row in estimate.strata}
    assert rows["B"].rate == 0.0 and rows["B"].high and rows["B"].high > 0.1  # 0/25: Wilson, not 0 to 0
    assert not rows["C"].conclusive and rows["D"].rate is None


def test_stratified_estimate_equals_the_simple_one_for_proportional_strata_and_decides_targets() -> None:
    # Two strata sampled proportionally at the same rate: the estimate is the pooled rate.
    estimate = st.stratified_estimate([StratumTally("a", 10**6, 400, 4), StratumTally("b", 10**6, 400, 4)])
    assert estimate.rate == pytest.approx(0.01)
    assert (estimate.low, estimate.high) == pytest.approx(st.wilson(8, 800), abs=3e-3)
    met = st.stratified_estimate([StratumTally("a", 10**6, 800, 1)], target_error_rate=0.02)
    assert st.MSG_TARGET_MET in [c.msgid for c in met.conclusions] and st.MSG_BELOW in [
        c.msgid for c in met.conclusions
    ]
    missed = st.stratified_estimate([StratumTally("a", 10**6, 400, 40)], target_error_rate=0.02)
    assert st.MSG_TARGET_MISSED in [c.msgid for c in missed.conclusions]
    # A stratum far above the rest is named.
    split = st.stratified_estimate([StratumTally("good", 9000, 300, 1), StratumTally("bad", 1000, 100, 30)])
    assert (st.MSG_STRATUM_HIGH, "bad") in {(c.msgid, c.stratum) for c in split.conclusions}


def test_census_is_exact_and_nothing_inspected_concludes_nothing() -> None:
    census = st.stratified_estimate([StratumTally("a", 30, 30, 3), StratumTally("b", 20, 20, 0)])
    assert census.rate == census.low == census.high == pytest.approx(0.06)
    empty = st.stratified_estimate([StratumTally("a", 30, 0, 0)])
    assert empty.rate is None and [c.msgid for c in empty.conclusions] == [st.MSG_NOTHING]
    with pytest.raises(ValueError, match="inspected"):
        st.stratified_estimate([StratumTally("a", 3, 5, 0)])
