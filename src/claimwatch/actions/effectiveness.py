"""The effectiveness check of an improvement action (Check of PDCA): did the KPI move, measured on the snapshot.

The targeted KPI is computed in the action's scope over two windows of local days, ``before`` =
[done − before_days, done) and ``after`` = [done + lag, min(today, done + lag + after_days)), and compared by a
test that fits the indicator (no writes; DuckDB over the KPI snapshot only):

* a rate (unit %) whose numerator and denominator are counts of cases: the two-proportion z-test (pooled) on
  the summed numerator and denominator of each window. The p-chart view is kept beside it: the after window's
  monthly points against the before window's centre line and 3σ binomial limits, and how many fall outside;
  the verdict is the z-test's (the monthly points are few and would decide on less data).
* a mean (unit days or score) with a per-row value in the catalogue (``row``): Mann–Whitney U (two-sided) on the
  rows' values, with medians and means; Welch's t is kept as a secondary figure. The direction is the U's:
  P(after > before) + ½ P(tie) above or below ½.
* a count (unit count) or a rate per exposure (per_10k, per_100m_cny): the exact conditional test of two Poisson
  rates (given k = k₁ + k₂ events, k₂ ~ Binomial(k, E₂ / (E₁ + E₂))) with the exposure E of each window: its
  days for a count, its denominator for a rate (a denominator that is a monthly average level, such as policies
  in force, times the window's days).

The verdict is ``improved`` when p < alpha and the KPI moved in its ``better`` direction, ``worse`` when it moved
significantly the other way, ``no_change`` otherwise; ``insufficient`` when a window is shorter than
:data:`MIN_WINDOW_DAYS`, a side has fewer than ``min_n`` cases (for counts: fewer than ``min_n`` events in the
two windows together, as the exact test is valid for small counts but says little), or the indicator has no
test. The reason is a message id, with its figures in ``reason_args``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

import duckdb

from claimwatch.errors import Invalid
from claimwatch.kpi.engine import Scope, WindowValue, compute_window, row_values
from claimwatch.kpi.loader import Kpi
from claimwatch.kpi.snapshot import snapshot_zone
from claimwatch.web.i18n import N_, translate

TESTS = ("two_proportion", "p_chart", "mann_whitney", "welch_t", "poisson_rate")
VERDICTS = ("improved", "no_change", "worse", "insufficient")
MIN_WINDOW_DAYS = 28
P_CHART_SIGMA = 3.0
COUNT_PER_DAYS = 30  # a count's difference is shown per 30 days (the windows may differ in length)

_VERDICT_LABELS = {
    "improved": N_("Improved"),
    "no_change": N_("No significant change"),
    "worse": N_("Worse"),
    "insufficient": N_("Not enough data"),
}
_TEST_LABELS = {
    "two_proportion": N_("Two-proportion z-test"),
    "p_chart": N_("p-chart"),
    "mann_whitney": N_("Mann–Whitney U test"),
    "welch_t": N_("Welch's t-test"),
    "poisson_rate": N_("Exact test of two Poisson rates"),
}
MSG_NO_SOURCE = N_("The indicator has no data source yet: nothing to measure.")
MSG_NO_TEST = N_(
    "The indicator is not a share of counted cases, a mean with per-case values or a count: no test applies."
)
MSG_BEFORE_SHORT = N_("The before window has %(days)s days; at least %(min_days)s are needed.")
MSG_AFTER_SHORT = N_("The after window has %(days)s days so far; at least %(min_days)s are needed.")
MSG_FEW_CASES = N_("Too few cases: %(before)s before and %(after)s after; at least %(min_n)s on each side.")
MSG_FEW_EVENTS = N_("Too few events: %(before)s before and %(after)s after; at least %(min_n)s together.")
MSG_NO_EXPOSURE = N_("No exposure in a window (before %(before)s, after %(after)s): the rates cannot be compared.")
MSG_SUMMARY = N_("%(test)s: before %(before)s (n = %(n_before)s), after %(after)s (n = %(n_after)s), p = %(p)s.")

# Aggregates other than count: an expression using one of them is not a count of cases.
_NOT_COUNTS = re.compile(
    r"\b(sum|avg|mean|min|max|median|quantile\w*|stddev\w*|var\w*|mode|product|any_value|first|last|arg_\w+|"
    r"string_agg|list|array_agg|histogram|bit_\w+|bool_\w+|fsum|kahan_sum|sumkahan)\s*\(",
    re.IGNORECASE,
)
# A denominator that is a monthly average (divided by the number of months): a level, not an exposure.
_AVERAGE_LEVEL = re.compile(r"count\s*\(\s*distinct\s+month_at\s*\)", re.IGNORECASE)


class BadWindow(Invalid):
    def __init__(self, message: str) -> None:
        super().__init__("window", message)


@dataclass(frozen=True)
class Window:
    """Local days [start, end)."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise BadWindow(f"the window ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Window:
        return cls(dt.date.fromisoformat(data["start"]), dt.date.fromisoformat(data["end"]))


def default_windows(
    done_on: dt.date, today: dt.date, *, before_days: int = 90, after_days: int = 90, lag_days: int = 0
) -> tuple[Window, Window]:
    """Before: the ``before_days`` up to the day Do ended; after: from ``lag_days`` later, ``after_days`` long but
    never past ``today`` (exclusive: today's partial day is left out). An after window that has not begun is empty."""
    if before_days < 1 or after_days < 1 or lag_days < 0:
        raise BadWindow("before_days and after_days must be at least 1 and lag_days at least 0")
    before = Window(done_on - dt.timedelta(days=before_days), done_on)
    start = done_on + dt.timedelta(days=lag_days)
    end = min(today, start + dt.timedelta(days=after_days))
    return before, Window(start, max(start, end))


@dataclass
class Side:
    window: Window
    n: int
    numerator: float | None
    denominator: float | None
    value: float | None
    series: list[tuple[str, float | None]]  # monthly values for the chart
    median: float | None = None  # of the per-row values (means only)
    mean: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "window": self.window.to_json(),
            "n": self.n,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
            "series": [[label, value] for label, value in self.series],
            "median": self.median,
            "mean": self.mean,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Side:
        return cls(
            window=Window.from_json(data["window"]),
            n=int(data["n"]),
            numerator=data.get("numerator"),
            denominator=data.get("denominator"),
            value=data.get("value"),
            series=[(str(label), value) for label, value in data.get("series", [])],
            median=data.get("median"),
            mean=data.get("mean"),
        )


@dataclass
class EffectivenessResult:
    kpi_code: str
    unit: str
    better: str
    test: str  # two_proportion | p_chart | mann_whitney | welch_t | poisson_rate
    before: Side
    after: Side
    statistic: float | None  # z (two_proportion), U (mann_whitney), after/before rate ratio (poisson_rate)
    p_value: float | None
    alpha: float
    verdict: str  # improved | no_change | worse | insufficient
    reason: str | None  # a message id (insufficient), with its figures in reason_args
    scope: dict[str, Any]
    snapshot_taken_at: str
    difference: float | None = None  # after − before, in the KPI's unit (a count: per COUNT_PER_DAYS days)
    reason_args: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)  # the test's other figures (p-chart, Welch t, …)

    @property
    def verdict_label(self) -> str:
        return verdict_label(self.verdict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kpi_code": self.kpi_code,
            "unit": self.unit,
            "better": self.better,
            "test": self.test,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "statistic": self.statistic,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "verdict": self.verdict,
            "reason": self.reason,
            "reason_args": dict(self.reason_args),
            "scope": dict(self.scope),
            "snapshot_taken_at": self.snapshot_taken_at,
            "difference": self.difference,
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EffectivenessResult:
        return cls(
            kpi_code=data["kpi_code"],
            unit=data["unit"],
            better=data["better"],
            test=data["test"],
            before=Side.from_json(data["before"]),
            after=Side.from_json(data["after"]),
            statistic=data.get("statistic"),
            p_value=data.get("p_value"),
            alpha=float(data["alpha"]),
            verdict=data["verdict"],
            reason=data.get("reason"),
            scope=dict(data.get("scope") or {}),
            snapshot_taken_at=data.get("snapshot_taken_at") or "",
            difference=data.get("difference"),
            reason_args=dict(data.get("reason_args") or {}),
            details=dict(data.get("details") or {}),
        )


def verdict_label(verdict: str) -> str:
    """The message id of a verdict (有效 / 无显著变化 / 变差 / 数据不足 in Chinese)."""
    return _VERDICT_LABELS[verdict]


def test_label(test: str) -> str:
    return _TEST_LABELS[test]


def reason_text(result: EffectivenessResult, locale: str) -> str:
    """Why there is no verdict, in ``locale`` ("" when there is one)."""
    if not result.reason:
        return ""
    return translate(locale, result.reason) % result.reason_args


def summary_text(result: EffectivenessResult, locale: str) -> str:
    """One sentence with the test, both sides' values and n, and p."""
    return translate(locale, MSG_SUMMARY) % {
        "test": translate(locale, test_label(result.test)),
        "before": _shown(result.before.value),
        "n_before": result.before.n,
        "after": _shown(result.after.value),
        "n_after": result.after.n,
        "p": "—" if result.p_value is None else (f"{result.p_value:.3g}" if result.p_value >= 0.001 else "< 0.001"),
    }


def _shown(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def counts_only(expression: str | None) -> bool:
    """True when an aggregate expression counts cases (``count``, with FILTER or DISTINCT) and uses no other
    aggregate: its value is a number of cases, as a two-proportion test needs."""
    return expression is not None and "count" in expression.lower() and not _NOT_COUNTS.search(expression)


def test_for(kpi: Kpi) -> str | None:
    """The test an indicator's check uses, or None when none applies."""
    if kpi.unit == "%":
        return "two_proportion" if counts_only(kpi.numerator) and counts_only(kpi.denominator) else None
    if kpi.unit in ("days", "score"):
        return "mann_whitney" if kpi.row is not None else None
    return "poisson_rate"  # count, per_10k, per_100m_cny


def _scope_json(scope: Scope) -> dict[str, Any]:
    return {
        "tenant_ids": None if scope.tenant_ids is None else list(scope.tenant_ids),
        "org_unit_id": scope.org_unit_id,
        "region": scope.region,
        "line": scope.line,
    }


def _local(taken_at: dt.datetime | None) -> dt.datetime | None:
    """The snapshot's moment as wall time of the snapshot's zone (its timestamps' zone)."""
    if taken_at is None or taken_at.tzinfo is None:
        return taken_at
    return taken_at.astimezone(snapshot_zone()).replace(tzinfo=None)


def _cap(window: Window, today: dt.date | None) -> Window:
    if today is None or window.end <= today:
        return window
    return Window(window.start, max(window.start, today))


def _series(value: WindowValue) -> list[tuple[str, float | None]]:
    return [(month.period, _finite(month.value)) for month in value.months]


def _side(window: Window, value: WindowValue, n: int) -> Side:
    return Side(
        window=window,
        n=n,
        numerator=_finite(value.numerator),
        denominator=_finite(value.denominator),
        value=_finite(value.value),
        series=_series(value),
    )


def _direction(after: float, before: float) -> int:
    return (after > before) - (after < before)


def _verdict(kpi: Kpi, p_value: float | None, direction: int, alpha: float) -> str:
    if p_value is None or p_value >= alpha or direction == 0:
        return "no_change"
    return "improved" if (direction > 0) == (kpi.better == "higher") else "worse"


def evaluate(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    scope: Scope,
    before: Window,
    after: Window,
    *,
    alpha: float = 0.05,
    min_n: int = 30,
    taken_at: dt.datetime | None = None,
) -> EffectivenessResult:
    """Compares ``kpi`` in ``scope`` over the two windows (capped at the snapshot's day when ``taken_at`` is
    given: aware UTC, or naive snapshot wall time) with the test for its type. Reads the snapshot only."""
    if not 0.0 < alpha < 1.0:
        raise Invalid("alpha", f"alpha must be between 0 and 1, not {alpha!r}")
    if min_n < 1:
        raise Invalid("min_n", f"min_n must be at least 1, not {min_n!r}")
    now = _local(taken_at)
    today = now.date() if now is not None else None
    before, after = _cap(before, today), _cap(after, today)
    test = test_for(kpi)
    result = EffectivenessResult(
        kpi_code=kpi.code,
        unit=kpi.unit,
        better=kpi.better,
        test=test
        or {"%": "two_proportion", "days": "mann_whitney", "score": "mann_whitney"}.get(kpi.unit, "poisson_rate"),
        before=Side(before, 0, None, None, None, []),
        after=Side(after, 0, None, None, None, []),
        statistic=None,
        p_value=None,
        alpha=alpha,
        verdict="insufficient",
        reason=None,
        scope=_scope_json(scope),
        snapshot_taken_at=taken_at.isoformat() if taken_at is not None else "",
    )
    if not kpi.available:
        result.reason = MSG_NO_SOURCE
        return result
    values = (
        compute_window(con, kpi, before.start, before.end, scope, now),
        compute_window(con, kpi, after.start, after.end, scope, now),
    )
    direction: int | None = None
    if test == "two_proportion":
        direction = _two_proportion(result, kpi, values, min_n)
    elif test == "mann_whitney":
        direction = _mann_whitney(con, result, kpi, scope, values, min_n)
    elif test == "poisson_rate":
        direction = _poisson(result, kpi, values, min_n)
    else:
        result.before, result.after = _side(before, values[0], 0), _side(after, values[1], 0)
        result.reason = MSG_NO_TEST
    for side, message in ((before, MSG_BEFORE_SHORT), (after, MSG_AFTER_SHORT)):
        if side.days < MIN_WINDOW_DAYS:  # a short window says too little, whatever its test would say
            result.statistic, result.p_value, direction = None, None, None
            result.reason, result.reason_args = message, {"days": side.days, "min_days": MIN_WINDOW_DAYS}
            break
    if direction is not None:
        result.verdict = _verdict(kpi, result.p_value, direction, alpha)
    return result


def _few(result: EffectivenessResult, message: str, before: float, after: float, min_n: int) -> None:
    result.reason = message
    result.reason_args = {"before": int(before), "after": int(after), "min_n": min_n}


def _two_proportion(
    result: EffectivenessResult, kpi: Kpi, values: tuple[WindowValue, WindowValue], min_n: int
) -> int | None:
    """Fills the result's sides and test figures; answers the direction of the change (None: no test)."""
    first, second = values
    n1, n2 = int(first.denominator or 0), int(second.denominator or 0)
    result.before = _side(result.before.window, first, n1)
    result.after = _side(result.after.window, second, n2)
    result.test = "two_proportion"
    if n1 < min_n or n2 < min_n:
        _few(result, MSG_FEW_CASES, n1, n2, min_n)
        return None
    x1, x2 = float(first.numerator or 0), float(second.numerator or 0)
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    z = 0.0 if se == 0 else (p2 - p1) / se
    result.statistic = z
    from scipy import stats  # ~0.8 s of CPU to import: paid only when an action is evaluated

    result.p_value = float(2.0 * stats.norm.sf(abs(z)))
    result.difference = 100.0 * (p2 - p1)
    points = []
    beyond = {"better": 0, "worse": 0}
    for month in second.months:
        if not month.denominator:
            continue
        spread = P_CHART_SIGMA * math.sqrt(p1 * (1.0 - p1) / month.denominator)
        lower, upper = max(0.0, p1 - spread), min(1.0, p1 + spread)
        rate = float(month.numerator or 0) / month.denominator
        side = None
        if rate > upper or rate < lower:
            side = "better" if (rate > upper) == (kpi.better == "higher") else "worse"
            beyond[side] += 1
        points.append(
            {
                "period": month.period,
                "value": 100.0 * rate,
                "n": int(month.denominator),
                "lower": 100.0 * lower,
                "upper": 100.0 * upper,
                "beyond": side,
            }
        )
    result.details = {
        "pooled": 100.0 * pooled,
        "p_chart": {
            "centre": 100.0 * p1,
            "sigma": P_CHART_SIGMA,
            "points": points,
            "beyond_better": beyond["better"],
            "beyond_worse": beyond["worse"],
        },
    }
    return _direction(p2, p1)


def _mann_whitney(
    con: duckdb.DuckDBPyConnection,
    result: EffectivenessResult,
    kpi: Kpi,
    scope: Scope,
    values: tuple[WindowValue, WindowValue],
    min_n: int,
) -> int | None:
    before_rows = row_values(con, kpi, result.before.window.start, result.before.window.end, scope)
    after_rows = row_values(con, kpi, result.after.window.start, result.after.window.end, scope)
    result.test = "mann_whitney"
    for name, rows, value in (("before", before_rows, values[0]), ("after", after_rows, values[1])):
        side = _side(getattr(result, name).window, value, len(rows))
        if rows:
            side.median, side.mean = statistics.median(rows), statistics.fmean(rows)
        setattr(result, name, side)
    n1, n2 = len(before_rows), len(after_rows)
    if n1 < min_n or n2 < min_n:
        _few(result, MSG_FEW_CASES, n1, n2, min_n)
        return None
    from scipy import stats  # ~0.8 s of CPU to import: paid only when an action is evaluated

    test = stats.mannwhitneyu(after_rows, before_rows, alternative="two-sided")
    u = float(test.statistic)
    p = _finite(test.pvalue)
    share = u / (n1 * n2)  # P(after > before) + ½ P(tie)
    result.statistic, result.p_value = u, 1.0 if p is None else p
    assert result.before.mean is not None and result.after.mean is not None
    result.difference = result.after.mean - result.before.mean
    welch = stats.ttest_ind(after_rows, before_rows, equal_var=False)
    result.details = {
        "prob_after_greater": share,
        "median_difference": (result.after.median or 0.0) - (result.before.median or 0.0),
        "welch_t": {"statistic": _finite(welch.statistic), "p_value": _finite(welch.pvalue)},
    }
    return _direction(share, 0.5)


def _poisson(result: EffectivenessResult, kpi: Kpi, values: tuple[WindowValue, WindowValue], min_n: int) -> int | None:
    first, second = values
    result.test = "poisson_rate"
    windows = (result.before.window, result.after.window)
    events = [float(first.numerator or 0), float(second.numerator or 0)]
    if kpi.unit == "count":
        exposure = [float(w.days) for w in windows]
    else:
        exposure = [float(v.denominator or 0) for v in values]
        if kpi.denominator is not None and _AVERAGE_LEVEL.search(kpi.denominator):
            exposure = [level * w.days for level, w in zip(exposure, windows, strict=True)]
    result.before = _side(windows[0], first, int(events[0]))
    result.after = _side(windows[1], second, int(events[1]))
    if any(e != int(e) for e in events):
        result.reason = MSG_NO_TEST
        return None
    if exposure[0] <= 0 or exposure[1] <= 0:
        result.reason = MSG_NO_EXPOSURE
        result.reason_args = {"before": _shown(exposure[0]), "after": _shown(exposure[1])}
        return None
    k1, k2 = int(events[0]), int(events[1])
    if k1 + k2 < min_n:
        _few(result, MSG_FEW_EVENTS, k1, k2, min_n)
        return None
    share = exposure[1] / (exposure[0] + exposure[1])
    from scipy import stats  # ~0.8 s of CPU to import: paid only when an action is evaluated

    test = stats.binomtest(k2, k1 + k2, share, alternative="two-sided")
    rate1, rate2 = k1 / exposure[0], k2 / exposure[1]
    result.p_value = float(test.pvalue)
    result.statistic = rate2 / rate1 if rate1 > 0 else None
    if kpi.unit == "count":
        result.difference = (rate2 - rate1) * COUNT_PER_DAYS
    elif result.before.value is not None and result.after.value is not None:
        result.difference = result.after.value - result.before.value
    result.details = {
        "exposure": {
            "before": exposure[0],
            "after": exposure[1],
            "kind": "days" if kpi.unit == "count" else "denominator",
        },
        "rate_ratio": result.statistic,
        "expected_share_after": share,
    }
    return _direction(rate2, rate1)
