"""From claim facts to numbers: columns for a batch, the model's feature matrix, the fitted model as arrays.

Everything here works on a whole batch at once (numpy columns), so scoring one claim at report time and a
million in a batch run the same code. ``facts_columns`` turns ``ClaimFacts`` objects into columns; a batch job
that reads claims from SQL builds the same columns directly.

Model features (fixed transforms, no fitted imputation, so a stored model is a few arrays of numbers):
the base features below, then one 0/1 indicator per red flag of the set the model was trained with
(``flag:<code>``). The model is a logistic regression on standardised features with Platt (sigmoid)
calibration; a feature's contribution to one score is ``coefficient × standardised value`` (log-odds).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from claimwatch.risk.facts import FACT_KINDS

LINES = ("motor", "medical", "property", "accident", "life")


def _num(col: np.ndarray, default: float) -> np.ndarray:
    return np.where(np.isnan(col), default, col)


def _log_clip(col: np.ndarray, default: float, high: float) -> np.ndarray:
    return np.log1p(np.clip(_num(col, default), 0.0, high))


# name -> (the fact it reads, transform of that fact's column into float64)
BASE_FEATURES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "log_amount": ("amount_cny", lambda c: _log_clip(c, 0.0, 1e9)),
    "policy_age_years": ("days_since_policy_start", lambda c: np.clip(_num(c, 3650.0), 0.0, 3650.0) / 365.0),
    "log_report_delay": ("report_delay_days", lambda c: _log_clip(c, 0.0, 3650.0)),
    "log_repeat_claims": ("repeat_claimant_count", lambda c: _log_clip(c, 0.0, 1000.0)),
    "log_shared_contacts": ("shared_contact_count", lambda c: _log_clip(c, 0.0, 1000.0)),
    "provider_share": ("provider_share", lambda c: np.clip(_num(c, 0.0), 0.0, 1.0)),
    "authority_headroom": ("authority_headroom_pct", lambda c: np.clip(_num(c, 1.0), 0.0, 1.0)),
    "night": ("night", lambda c: _num(c, 0.0)),
    "weekend": ("weekend", lambda c: _num(c, 0.0)),
    "injury": ("injury", lambda c: _num(c, 0.0)),
    "liability_clear": ("liability_clear", lambda c: _num(c, 0.5)),
}


def _n(value: Any, default: float) -> float:
    return default if value is None or value != value else float(value)


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


# The same transforms for one claim's fact values (the report-time path scores one claim without building
# numpy columns); tests/risk check both give the same features.
BASE_SCALAR: dict[str, Callable[[Any], float]] = {
    "log_amount": lambda v: math.log1p(_clip(_n(v, 0.0), 0.0, 1e9)),
    "policy_age_years": lambda v: _clip(_n(v, 3650.0), 0.0, 3650.0) / 365.0,
    "log_report_delay": lambda v: math.log1p(_clip(_n(v, 0.0), 0.0, 3650.0)),
    "log_repeat_claims": lambda v: math.log1p(_clip(_n(v, 0.0), 0.0, 1000.0)),
    "log_shared_contacts": lambda v: math.log1p(_clip(_n(v, 0.0), 0.0, 1000.0)),
    "provider_share": lambda v: _clip(_n(v, 0.0), 0.0, 1.0),
    "authority_headroom": lambda v: _clip(_n(v, 1.0), 0.0, 1.0),
    "night": lambda v: _n(v, 0.0),
    "weekend": lambda v: _n(v, 0.0),
    "injury": lambda v: _n(v, 0.0),
    "liability_clear": lambda v: _n(v, 0.5),
}
LINE_FEATURES = tuple(f"line:{name}" for name in LINES)
BASE_FACTS = frozenset({fact for fact, _ in BASE_FEATURES.values()} | {"line"})


def feature_names(flag_codes: Sequence[str]) -> list[str]:
    return [*BASE_FEATURES, *LINE_FEATURES, *(f"flag:{code}" for code in flag_codes)]


# ------------------------------------------------------------------------------------------------- columns


def column(kind: str, values: Sequence[Any]) -> np.ndarray:
    """One fact's column: float64 with NaN (numbers, booleans), object with None (text), datetime64 with NaT."""
    if kind in ("number", "bool"):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    if kind == "date":
        return np.array([v if isinstance(v, date) else None for v in values], dtype="datetime64[D]")
    if kind == "datetime":
        return np.array(
            [v.replace(tzinfo=None) if isinstance(v, datetime) else None for v in values], dtype="datetime64[s]"
        )
    return np.array(list(values), dtype=object)


def facts_columns(facts: Sequence[Any], names: Iterable[str]) -> dict[str, np.ndarray]:
    """Columns of the named facts from ``ClaimFacts`` objects (or any objects with those attributes)."""
    return {name: column(FACT_KINDS[name], [getattr(f, name) for f in facts]) for name in names}


def inputs_columns(rows: Sequence[dict[str, Any]], names: Iterable[str]) -> dict[str, np.ndarray]:
    """Columns from stored ``risk_scores.inputs`` (JSON: dates as ISO text)."""
    out: dict[str, np.ndarray] = {}
    for name in names:
        kind = FACT_KINDS[name]
        values = [row.get(name) for row in rows]
        if kind == "date":
            values = [date.fromisoformat(v) if isinstance(v, str) else v for v in values]
        elif kind == "datetime":
            values = [datetime.fromisoformat(v) if isinstance(v, str) else v for v in values]
        out[name] = column(kind, values)
    return out


def json_value(value: Any) -> Any:
    if isinstance(value, date):  # a datetime is a date
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN (np.isnan on a Python float cost ten times more)
        return None
    return value


def headroom(amount: np.ndarray, limits: Sequence[float]) -> np.ndarray:
    """(nearest limit at or above the amount − amount) ÷ that limit; NaN above every limit or without one."""
    out = np.full(amount.shape, np.nan)
    if not limits:
        return out
    bounds = np.asarray(limits, dtype=np.float64)
    known = ~np.isnan(amount)
    index = np.searchsorted(bounds, np.where(known, amount, 0.0), side="left")
    inside = known & (index < len(bounds)) & (amount >= 0)
    limit = bounds[np.minimum(index, len(bounds) - 1)]
    out[inside] = (limit[inside] - amount[inside]) / limit[inside]
    return out


def headroom_one(amount: float | None, limits: Sequence[float]) -> float | None:
    """:func:`headroom` for one amount (``limits`` ascending)."""
    if amount is None or amount != amount or amount < 0:
        return None
    for limit in limits:
        if amount <= limit:
            return (limit - amount) / limit
    return None


def feature_row(facts: Any, fired: Sequence[bool]) -> list[float]:
    """One claim's model input, in :func:`feature_names` order (what :func:`feature_matrix` makes for a batch)."""
    row = [BASE_SCALAR[name](getattr(facts, fact)) for name, (fact, _) in BASE_FEATURES.items()]
    row.extend(1.0 if facts.line == name else 0.0 for name in LINES)
    row.extend(1.0 if f else 0.0 for f in fired)
    return row


def fill_headroom(columns: dict[str, np.ndarray], limits: Sequence[float]) -> None:
    """Compute ``authority_headroom_pct`` from ``amount_cny`` where the builder left it unknown."""
    amount = columns.get("amount_cny")
    if amount is None:
        return
    current = columns.get("authority_headroom_pct")
    computed = headroom(amount, limits)
    columns["authority_headroom_pct"] = computed if current is None else np.where(np.isnan(current), computed, current)


def feature_matrix(columns: dict[str, np.ndarray], fired: np.ndarray) -> np.ndarray:
    """The model's input: base features, line one-hot, then the fired-flag matrix (n × flags, bool)."""
    n = fired.shape[0]
    parts = [transform(columns[fact]) for fact, transform in BASE_FEATURES.values()]
    line = columns["line"]
    parts.extend(np.asarray(line == name, dtype=np.float64) for name in LINES)
    matrix = np.empty((n, len(parts) + fired.shape[1]), dtype=np.float64)
    for j, part in enumerate(parts):
        matrix[:, j] = part
    matrix[:, len(parts) :] = fired
    return matrix


# ------------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class CompiledModel:
    """A fitted logistic-with-Platt model as arrays: p = 1 / (1 + exp(a·(x_std·coef + intercept) + b))."""

    model_id: int | None
    version: int | None
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    platt_a: float
    platt_b: float

    @classmethod
    def from_params(
        cls, params: dict[str, Any], model_id: int | None = None, version: int | None = None
    ) -> CompiledModel:
        raw = params["features"]
        if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
            raise ValueError("features must be a list of names")
        features = tuple(raw)
        scalars = [params[key] for key in ("intercept", "platt_a", "platt_b")]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in scalars):
            raise ValueError("intercept, platt_a and platt_b must be finite numbers")
        arrays = [np.asarray(params[key], dtype=np.float64) for key in ("mean", "scale", "coef")]
        if any(a.shape != (len(features),) for a in arrays):
            raise ValueError("mean, scale and coef must have one number per feature")
        if not all(np.isfinite(a).all() for a in arrays) or (arrays[1] <= 0).any():
            raise ValueError("mean, scale and coef must be finite numbers, scale positive")
        return cls(
            model_id,
            version,
            features,
            arrays[0],
            arrays[1],
            arrays[2],
            float(params["intercept"]),
            float(params["platt_a"]),
            float(params["platt_b"]),
        )

    def params(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "platt_a": self.platt_a,
            "platt_b": self.platt_b,
        }

    def standardise(self, matrix: np.ndarray) -> np.ndarray:
        return (matrix - self.mean) / self.scale

    def probability(self, standardised: np.ndarray) -> np.ndarray:
        decision = standardised @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(np.clip(self.platt_a * decision + self.platt_b, -50.0, 50.0)))

    def score_row(self, row: Sequence[float], k: int = 3) -> tuple[float, list[tuple[int, float]]]:
        """One claim: the calibrated probability and its top ``k`` (feature index, contribution), highest
        first — what :meth:`probability` and :meth:`top_contributions` give for a batch, in plain floats."""
        mean, scale, coef = self._lists
        standardised = [(x - m) / s for x, m, s in zip(row, mean, scale, strict=True)]
        decision = math.fsum(x * c for x, c in zip(standardised, coef, strict=True)) + self.intercept
        probability = 1.0 / (1.0 + math.exp(_clip(self.platt_a * decision + self.platt_b, -50.0, 50.0)))
        slope = -self.platt_a
        contributions = sorted(
            ((j, x * c * slope) for j, (x, c) in enumerate(zip(standardised, coef, strict=True))),
            key=lambda item: (-item[1], item[0]),
        )
        return probability, contributions[: min(k, len(contributions))]

    @functools.cached_property
    def _lists(self) -> tuple[list[float], list[float], list[float]]:
        return self.mean.tolist(), self.scale.tolist(), self.coef.tolist()

    def top_contributions(self, standardised: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the k features that raise the score most: (indices n×k, contributions n×k in log-odds,
        already multiplied by the calibration slope so their sign is the direction of the probability)."""
        contrib = standardised * (self.coef * -self.platt_a)
        k = min(k, contrib.shape[1])
        idx = np.argpartition(-contrib, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(contrib, idx, axis=1)
        order = np.argsort(-values, axis=1)
        return np.take_along_axis(idx, order, axis=1), np.take_along_axis(values, order, axis=1)
