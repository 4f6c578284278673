"""The statistics of sampling inspections: pure functions, no database.

* :func:`sample_size`: how many cases to inspect for a margin at a confidence level, with the
  finite-population correction (n0 = z²·p(1−p)/e², n = n0 / (1 + (n0 − 1)/N), rounded up).
* :func:`allocate`: a total over strata, proportional (N_h) or Neyman (N_h·S_h, S_h = sqrt(p_h(1−p_h))),
  rounded by largest remainder, with 1 ≤ n_h ≤ N_h for every non-empty stratum when the total allows.
* :func:`wilson` and :func:`clopper_pearson`: the two intervals for one error rate. The exact
  (Clopper–Pearson) one inverts the regularized incomplete beta function by bisection (no SciPy at run time).
* :func:`stratified_estimate`: the error rate of the whole population from a stratified sample,
  p̂ = Σ W_h p̂_h with variance Σ W_h² (1 − f_h) p̂_h(1 − p̂_h)/(n_h − 1), its interval, the coverage, and what
  the sample can and cannot conclude (message ids, translated where they are shown).

The interval of the stratified estimate is a Wilson interval on the effective sample size (Kott & Carr 1997;
the effective-size idea of Korn & Graubard 1998): n_eff = p̂(1 − p̂)/V, at most the design's "Kish" size
n_kish = 1 / Σ W_h² (1 − f_h)/n_h (what n_eff would be if every stratum had the same rate, which is n itself
for a proportional sample of a large population). When the variance formula is degenerate — no error in the
whole sample (p̂ = 0), nothing but errors (p̂ = 1), or strata of a single case — n_eff = n_kish, so 0 errors
in 59 cases gives the Wilson interval of 0/59 (0 to 6.1 %), never the empty interval 0 to 0. A stratum of
one case (no n_h − 1) contributes the pooled rate's variance. A stratum inspected in full (f_h = 1) adds no
uncertainty, and a census is exact.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, TypeVar

from claimwatch.web.i18n import N_

K = TypeVar("K", bound=Hashable)

METHODS = ("proportional", "neyman")
# Neyman's S_h = sqrt(p(1-p)) is zero at p = 0 or 1, which would leave such a stratum unsampled: the prior
# rate is kept within [RATE_FLOOR, 1 - RATE_FLOOR]. A stratum without a prior gets the most cautious 0.5.
RATE_FLOOR = 0.01
DEFAULT_PRIOR = 0.5
# A stratum with fewer inspected cases than this gets no conclusion of its own (its interval is shown).
MIN_STRATUM_CASES = 10
INTERVAL_METHOD = "wilson_effective_n"


def z_value(confidence: float) -> float:
    """The two-sided normal quantile: 1.959964 for 95 %."""
    _check_confidence(confidence)
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), not {confidence!r}")


def _check_counts(errors: int, n: int) -> None:
    if n < 0 or errors < 0 or errors > n:
        raise ValueError(f"errors must be within 0..n (errors={errors}, n={n})")


# -- sample size and allocation ----------------------------------------------------------------------------


def sample_size(population: int, confidence: float, margin: float, expected_rate: float) -> int:
    """The cases to inspect so the error rate's interval is ± ``margin`` at ``confidence`` when the rate is
    about ``expected_rate``, with the finite-population correction; never more than the population."""
    _check_confidence(confidence)
    if population < 0:
        raise ValueError(f"population must not be negative, not {population}")
    if not 0.0 < margin < 1.0:
        raise ValueError(f"margin must be between 0 and 1 (exclusive), not {margin!r}")
    if not 0.0 < expected_rate < 1.0:
        raise ValueError(f"expected_rate must be between 0 and 1 (exclusive), not {expected_rate!r}")
    if population == 0:
        return 0
    z = z_value(confidence)
    n0 = z * z * expected_rate * (1.0 - expected_rate) / (margin * margin)
    n = n0 / (1.0 + (n0 - 1.0) / population)
    # Rounded up, but 384.00000000001 (floating noise) is 384.
    return max(1, min(population, math.ceil(round(n, 9))))


def allocate(
    population: Mapping[K, int], total: int, method: str, rates: Mapping[K, float] | None = None
) -> dict[K, int]:
    """``total`` cases over the strata: ``proportional`` to N_h or ``neyman`` (N_h·S_h with the strata's prior
    error ``rates``), rounded by largest remainder. Every stratum with cases gets 1 ≤ n_h ≤ N_h when the total
    allows (a total above the population takes everything; one below the number of strata cannot give each
    one). Empty strata get 0. Deterministic: ties go to the stratum listed first."""
    if method not in METHODS:
        raise ValueError(f"allocation must be one of {', '.join(METHODS)}, not {method!r}")
    for key, size in population.items():
        if size < 0:
            raise ValueError(f"stratum {key!r} has a negative population ({size})")
    result: dict[K, int] = dict.fromkeys(population, 0)
    keys = [key for key, size in population.items() if size > 0]
    total = max(0, min(int(total), sum(population[key] for key in keys)))
    if total == 0 or not keys:
        return result
    weight: dict[K, float] = {}
    for key in keys:
        if method == "proportional":
            weight[key] = float(population[key])
        else:
            prior = (rates or {}).get(key, DEFAULT_PRIOR)
            prior = min(max(float(prior), RATE_FLOOR), 1.0 - RATE_FLOOR)
            weight[key] = population[key] * math.sqrt(prior * (1.0 - prior))
    at_least_one = total >= len(keys)
    fixed: dict[K, float] = {}
    free = list(keys)
    remaining = float(total)
    quota: dict[K, float] = {}
    while free:
        mass = sum(weight[key] for key in free)
        quota = {key: remaining * weight[key] / mass for key in free}
        over = [key for key in free if quota[key] > population[key]]
        if over:  # capped at the stratum's size; the rest goes to the others
            for key in over:
                fixed[key] = float(population[key])
                remaining -= population[key]
            free = [key for key in free if key not in over]
            continue
        under = [key for key in free if quota[key] < 1.0] if at_least_one else []
        if under:  # every stratum is represented
            for key in under:
                fixed[key] = 1.0
                remaining -= 1.0
            free = [key for key in free if key not in under]
            continue
        break
    shares = {**fixed, **{key: quota[key] for key in free}}
    floors = {key: min(population[key], math.floor(shares[key] + 1e-9)) for key in keys}
    left = total - sum(floors.values())
    order = sorted(keys, key=lambda key: (-(shares[key] - floors[key]), keys.index(key)))
    for key in order:
        if left <= 0:
            break
        if floors[key] < population[key]:
            floors[key] += 1
            left -= 1
    result.update(floors)
    return result


# -- intervals -------------------------------------------------------------------------------------------


def _wilson(rate: float, n: float, z: float) -> tuple[float, float]:
    """The Wilson score interval for a rate observed on ``n`` (possibly effective, not whole) cases."""
    if n <= 0:
        return 0.0, 1.0
    if math.isinf(n):
        return rate, rate
    z2 = z * z
    centre = (rate + z2 / (2.0 * n)) / (1.0 + z2 / n)
    half = z / (1.0 + z2 / n) * math.sqrt(max(rate * (1.0 - rate), 0.0) / n + z2 / (4.0 * n * n))
    low = 0.0 if rate <= 0.0 else max(0.0, centre - half)
    high = 1.0 if rate >= 1.0 else min(1.0, centre + half)
    return low, high


def wilson(errors: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of errors/n (0 to 1 when nothing was inspected)."""
    _check_counts(errors, n)
    return _wilson(errors / n if n else 0.0, float(n), z_value(confidence))


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularized incomplete beta function (the beta distribution's CDF)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def beta_quantile(q: float, a: float, b: float) -> float:
    """The ``q`` quantile of Beta(a, b), by bisection on :func:`regularized_beta` (to 1e-12)."""
    low, high = 0.0, 1.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if regularized_beta(middle, a, b) < q:
            low = middle
        else:
            high = middle
        if high - low < 1e-12:
            break
    return (low + high) / 2.0


def clopper_pearson(errors: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval of errors/n: never shorter than its nominal coverage."""
    _check_confidence(confidence)
    _check_counts(errors, n)
    if n == 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    low = 0.0 if errors == 0 else beta_quantile(alpha / 2.0, errors, n - errors + 1)
    high = 1.0 if errors == n else beta_quantile(1.0 - alpha / 2.0, errors + 1, n - errors)
    return low, high


def upper_bound(errors: float, n: float, confidence: float = 0.95) -> float:
    """The one-sided exact upper bound: the rate is below it with ``confidence`` (1 − α^(1/n) for 0 errors,
    "the rule of three" for 95 %). ``n`` may be an effective size."""
    _check_confidence(confidence)
    if n <= 0:
        return 1.0
    if math.isinf(n):
        return errors
    if errors >= n:
        return 1.0
    if errors <= 0:
        return 1.0 - (1.0 - confidence) ** (1.0 / n)
    return beta_quantile(confidence, errors + 1.0, n - errors)


# -- the stratified estimate -----------------------------------------------------------------------------


@dataclass
class StratumTally:
    """What one stratum holds: its population, the cases inspected (submitted) and those with an error.
    ``weight_errors`` optionally replaces ``errors`` in the rate (e.g. errors weighted by severity, within
    0..inspected); the intervals and conclusions still count whole cases."""

    key: str
    population: int
    inspected: int
    errors: int
    weight_errors: float | None = None


@dataclass(frozen=True)
class Conclusion:
    """One sentence of what the sample can or cannot say: a message id and its parameters (rates as
    fractions, formatted where the sentence is shown). ``kind``: finding | limit | warning."""

    msgid: str
    params: dict[str, Any]
    kind: str = "finding"
    stratum: str | None = None


@dataclass(frozen=True)
class StratumEstimate:
    key: str
    population: int
    inspected: int
    errors: int
    weight: float  # W_h = N_h / N
    rate: float | None  # None: nothing inspected
    low: float | None
    high: float | None
    coverage: float | None
    conclusive: bool  # enough cases for a conclusion of its own


@dataclass
class Estimate:
    rate: float | None  # the stratified error rate; None when nothing was inspected
    low: float | None
    high: float | None
    population: int
    inspected: int
    errors: int
    coverage: float | None  # inspected / population
    confidence: float
    effective_n: float | None
    method: str = INTERVAL_METHOD
    strata: list[StratumEstimate] = field(default_factory=list)
    conclusions: list[Conclusion] = field(default_factory=list)
    represented_population: int = 0  # the population of the strata with at least one inspected case

    @property
    def accuracy(self) -> float | None:
        return None if self.rate is None else 1.0 - self.rate

    @property
    def accuracy_interval(self) -> tuple[float, float] | None:
        if self.low is None or self.high is None:
            return None
        return 1.0 - self.high, 1.0 - self.low


# Message ids (translated where shown; zh in the notes' msgid list).
MSG_NOTHING = N_("No case has been inspected yet: nothing can be concluded.")
MSG_ESTIMATE = N_(
    "The error rate of the population is estimated at %(rate)s (%(confidence)s interval %(low)s to %(high)s)."
)
MSG_ZERO = N_("With 0 errors in %(n)s cases the error rate is below %(bound)s with %(confidence)s confidence.")
MSG_BELOW = N_("The error rate is below %(bound)s with %(confidence)s confidence.")
MSG_TARGET_MET = N_(
    "The whole interval is within the %(limit)s error allowance: the %(target)s accuracy target is met."
)
MSG_TARGET_MISSED = N_(
    "The whole interval is above the %(limit)s error allowance: the %(target)s accuracy target is missed."
)
MSG_TARGET_OPEN = N_(
    "The interval is wider than the target gap: cannot say whether the %(target)s accuracy target is met."
)
MSG_MORE_CASES = N_("About %(more)s more inspected cases would be needed to decide (margin %(margin)s).")
MSG_SMALL_STRATUM = N_("Stratum %(stratum)s: %(n)s case(s) inspected, too few for a conclusion of its own.")
MSG_EMPTY_STRATUM = N_("Stratum %(stratum)s (%(population)s cases) has no inspected case: the estimate leaves it out.")
MSG_STRATUM_HIGH = N_(
    "Stratum %(stratum)s errs more than the population: its interval (%(low)s to %(high)s) lies above the estimate's."
)
MSG_STRATUM_LOW = N_(
    "Stratum %(stratum)s errs less than the population: its interval (%(low)s to %(high)s) lies below the estimate's."
)
MSG_PARTIAL = N_("%(inspected)s of %(sample)s sampled cases are inspected so far: the interval will narrow.")


def percent(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage for the conclusions' parameters (2.0 %, 0.35 %)."""
    if value is None:
        return "—"
    shown = 100.0 * value
    if 0 < shown < 1 and digits < 2:
        digits = 2
    return f"{shown:.{digits}f}%"


def _stratum_rows(strata: Sequence[StratumTally], z: float, total: int) -> list[StratumEstimate]:
    rows = []
    for tally in strata:
        if tally.population < 0 or tally.inspected < 0 or not 0 <= tally.errors <= tally.inspected:
            raise ValueError(f"stratum {tally.key!r}: need 0 ≤ errors ≤ inspected and population ≥ 0")
        if tally.inspected > tally.population:
            raise ValueError(
                f"stratum {tally.key!r}: {tally.inspected} inspected of a population of {tally.population}"
            )
        weight = tally.population / total if total else 0.0
        if tally.inspected == 0:
            rows.append(StratumEstimate(tally.key, tally.population, 0, 0, weight, None, None, None, 0.0, False))
            continue
        rate = _rate(tally)
        fraction = tally.inspected / tally.population
        effective = math.inf if fraction >= 1.0 else tally.inspected / (1.0 - fraction)
        low, high = _wilson(rate, effective, z)
        rows.append(
            StratumEstimate(
                key=tally.key,
                population=tally.population,
                inspected=tally.inspected,
                errors=tally.errors,
                weight=weight,
                rate=rate,
                low=low,
                high=high,
                coverage=fraction,
                conclusive=tally.inspected >= MIN_STRATUM_CASES or fraction >= 1.0,
            )
        )
    return rows


def _rate(tally: StratumTally) -> float:
    errors = tally.errors if tally.weight_errors is None else min(max(tally.weight_errors, 0.0), tally.inspected)
    return errors / tally.inspected


def stratified_estimate(
    strata: Sequence[StratumTally],
    confidence: float = 0.95,
    *,
    target_error_rate: float | None = None,
    sample: int | None = None,
) -> Estimate:
    """The whole population's error rate from its strata (see the module's docstring for the interval).

    ``target_error_rate`` (e.g. 0.02 for a 98 % accuracy target) adds whether the target is met; ``sample``
    (the cases drawn) says how many are still to be inspected. Strata without an inspected case are left
    out of the estimate (said in the conclusions); the coverage is inspected / population."""
    z = z_value(confidence)
    population = sum(t.population for t in strata)
    inspected = sum(t.inspected for t in strata)
    errors = sum(t.errors for t in strata)
    rows = _stratum_rows(strata, z, population)
    coverage = inspected / population if population else None
    estimate = Estimate(None, None, None, population, inspected, errors, coverage, confidence, None, strata=rows)
    seen = [row for row in rows if row.inspected > 0]
    estimate.represented_population = represented = sum(row.population for row in seen)
    if not seen:
        estimate.conclusions.append(Conclusion(MSG_NOTHING, {}, "limit"))
        return estimate
    weights = {row.key: row.population / represented for row in seen}
    rate = sum(weights[row.key] * (row.rate or 0.0) for row in seen)
    pooled = errors / inspected
    variance = 0.0
    kish = 0.0
    for row in seen:
        w, n = weights[row.key], row.inspected
        fpc = max(0.0, 1.0 - n / row.population)
        p = row.rate or 0.0
        spread = p * (1.0 - p) * n / (n - 1) if n >= 2 else pooled * (1.0 - pooled)
        variance += w * w * fpc * spread / n
        kish += w * w * fpc / n
    n_kish = math.inf if kish <= 0.0 else 1.0 / kish
    if 0.0 < rate < 1.0 and variance > 0.0:
        effective = min(rate * (1.0 - rate) / variance, n_kish)
    else:
        effective = n_kish
    low, high = _wilson(rate, effective, z)
    estimate.rate, estimate.low, estimate.high, estimate.effective_n = rate, low, high, effective
    _conclude(estimate, rows, z, target_error_rate, sample)
    return estimate


def _conclude(
    estimate: Estimate, rows: list[StratumEstimate], z: float, target: float | None, sample: int | None
) -> None:
    assert estimate.rate is not None and estimate.low is not None and estimate.high is not None
    out = estimate.conclusions
    confidence = percent(estimate.confidence, 0)
    effective = estimate.effective_n or 0.0
    out.append(
        Conclusion(
            MSG_ESTIMATE,
            {
                "rate": percent(estimate.rate),
                "confidence": confidence,
                "low": percent(estimate.low),
                "high": percent(estimate.high),
            },
        )
    )
    if estimate.errors == 0:
        bound = upper_bound(0, effective, estimate.confidence)
        out.append(Conclusion(MSG_ZERO, {"n": estimate.inspected, "bound": percent(bound), "confidence": confidence}))
    elif target is not None and estimate.rate < target:
        bound = upper_bound(estimate.rate * effective, effective, estimate.confidence)
        if bound <= target:
            out.append(Conclusion(MSG_BELOW, {"bound": percent(bound), "confidence": confidence}))
    if target is not None:
        accuracy = percent(1.0 - target, 0 if round(100 * (1 - target), 6).is_integer() else 1)
        params = {"limit": percent(target), "target": accuracy}
        if estimate.high <= target:
            out.append(Conclusion(MSG_TARGET_MET, params))
        elif estimate.low > target:
            out.append(Conclusion(MSG_TARGET_MISSED, params, "warning"))
        else:
            out.append(Conclusion(MSG_TARGET_OPEN, params, "limit"))
            gap = abs(estimate.rate - target)
            more = _more_cases(estimate, gap)
            if more:
                out.append(Conclusion(MSG_MORE_CASES, {"more": more, "margin": percent(gap)}, "limit"))
    for row in rows:
        if row.inspected == 0 and row.population > 0:
            out.append(
                Conclusion(MSG_EMPTY_STRATUM, {"stratum": row.key, "population": row.population}, "limit", row.key)
            )
        elif row.inspected and not row.conclusive:
            out.append(Conclusion(MSG_SMALL_STRATUM, {"stratum": row.key, "n": row.inspected}, "limit", row.key))
        elif len(rows) > 1 and row.inspected >= MIN_STRATUM_CASES and row.low is not None and row.high is not None:
            # A stratum inspected in full but with a handful of cases is exact, yet says nothing about how the
            # unit works: it is compared with the rest only from MIN_STRATUM_CASES cases on.
            params = {"stratum": row.key, "low": percent(row.low), "high": percent(row.high)}
            if row.low > estimate.high:
                out.append(Conclusion(MSG_STRATUM_HIGH, params, "warning", row.key))
            elif row.high < estimate.low:
                out.append(Conclusion(MSG_STRATUM_LOW, params, "finding", row.key))
    if sample is not None and estimate.inspected < sample:
        out.append(Conclusion(MSG_PARTIAL, {"inspected": estimate.inspected, "sample": sample}, "limit"))


def _more_cases(estimate: Estimate, gap: float) -> int | None:
    """How many more cases (beyond those inspected) a simple sample would need for a margin of ``gap``."""
    if gap <= 0.0 or estimate.rate is None or estimate.population <= 0:
        return None
    rate = min(max(estimate.rate, RATE_FLOOR), 1.0 - RATE_FLOOR)
    needed = sample_size(estimate.population, estimate.confidence, min(gap, 0.99), rate)
    more = needed - estimate.inspected
    return more if more > 0 else None


def render(conclusion: Conclusion, translate: Any) -> str:
    """A conclusion as a sentence: ``translate(msgid)`` (the page's language) filled with its parameters."""
    return str(translate(conclusion.msgid)) % conclusion.params
