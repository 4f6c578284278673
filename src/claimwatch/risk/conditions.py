"""The condition language shared by triage rules and risk red flags.

A ``when:`` block in YAML::

    when:
      all:                                   # or any:, or not: {…}; nest freely
        - {fact: line, op: eq, value: motor}
        - {fact: amount_cny, op: le, value: 5000}
        - {fact: liability_clear, op: is_true}
        - any:
            - {fact: night, op: is_true}
            - {fact: weekend, op: is_true}

A bare list is ``all:``; a single ``{fact, op, value}`` mapping is one test. Operators are in ``OPERATORS``.
Every fact must be a ``ClaimFacts`` field (``risk.facts.FACT_KINDS``) and the value must suit the fact's
kind; anything else is a load error naming file and line.

Unknown facts (``None``) satisfy only ``is_null``: ``ne``, ``not_in`` and ``is_false`` are false for an
unknown value too, so a rule never fires on missing data by accident.

``Condition.test(facts)`` evaluates one claim; ``Condition.mask(columns)`` evaluates a whole batch held as
numpy columns (numbers and booleans as float64 with NaN for unknown, text as object arrays with None,
dates as datetime64 with NaT) — the batch scorer uses it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from claimwatch.risk.facts import FACT_KINDS, Kind
from claimwatch.yaml_source import ConfigFileError, line_of


class ConditionError(ConfigFileError):
    pass


# op -> kinds it applies to; value shape is checked per op below.
_COMPARE = {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}
OPERATORS: dict[str, frozenset[str]] = {
    "eq": frozenset({"bool", "number", "text", "date", "datetime"}),
    "ne": frozenset({"bool", "number", "text", "date", "datetime"}),
    "in": frozenset({"number", "text"}),
    "not_in": frozenset({"number", "text"}),
    "lt": frozenset({"number", "date", "datetime"}),
    "le": frozenset({"number", "date", "datetime"}),
    "gt": frozenset({"number", "date", "datetime"}),
    "ge": frozenset({"number", "date", "datetime"}),
    "between": frozenset({"number", "date", "datetime"}),  # inclusive: value [low, high]
    "is_true": frozenset({"bool"}),
    "is_false": frozenset({"bool"}),
    "is_null": frozenset({"bool", "number", "text", "date", "datetime"}),
    "not_null": frozenset({"bool", "number", "text", "date", "datetime"}),
}
_NO_VALUE = frozenset({"is_true", "is_false", "is_null", "not_null"})
_GROUPS = ("all", "any", "not")

Facts = Any  # a ClaimFacts, or any object with the fact names as attributes


@dataclass(frozen=True, eq=False)
class Condition:
    """A parsed condition: a group (all / any / not) or one test (fact, op, value)."""

    kind: str  # "all" | "any" | "not" | "test"
    children: tuple[Condition, ...] = ()
    fact: str = ""
    op: str = ""
    value: Any = None
    line: int | None = None
    _fn: Callable[[Facts], bool] = field(default=lambda f: True, repr=False)

    def test(self, facts: Facts) -> bool:
        return self._fn(facts)

    def facts_used(self) -> frozenset[str]:
        if self.kind == "test":
            return frozenset({self.fact})
        return frozenset().union(*(c.facts_used() for c in self.children))

    def to_json(self) -> dict[str, Any]:
        """A canonical JSON form (for digests and decision snapshots)."""
        if self.kind == "test":
            out: dict[str, Any] = {"fact": self.fact, "op": self.op}
            if self.op not in _NO_VALUE:
                out["value"] = _json_value(self.value)
            return out
        if self.kind == "not":
            return {"not": self.children[0].to_json()}
        return {self.kind: [c.to_json() for c in self.children]}

    def describe(self) -> str:
        """A short human reading, e.g. ``amount_cny ≤ 5000 and line = motor``."""
        if self.kind == "test":
            sym = _SYMBOLS.get(self.op, self.op)
            if self.op in _NO_VALUE:
                return f"{self.fact} {sym}"
            return f"{self.fact} {sym} {_json_value(self.value)}"
        if self.kind == "not":
            return f"not ({self.children[0].describe()})"
        joiner = " and " if self.kind == "all" else " or "
        parts = [c.describe() if c.kind == "test" else f"({c.describe()})" for c in self.children]
        return joiner.join(parts)

    def mask(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Evaluate over a batch of claims held as columns; returns a boolean array."""
        if self.kind == "test":
            return _mask_test(self, columns[self.fact])
        masks = [c.mask(columns) for c in self.children]
        if self.kind == "not":
            return ~masks[0]
        if not masks:  # pragma: no cover - the parser refuses empty groups
            raise ValueError("empty group")
        out = masks[0].copy()
        for m in masks[1:]:
            if self.kind == "all":
                out &= m
            else:
                out |= m
        return out


_SYMBOLS = {
    "eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": "in", "not_in": "not in",
    "between": "between", "is_true": "is true", "is_false": "is false", "is_null": "is unknown",
    "not_null": "is known",
}  # fmt: skip


def _json_value(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, tuple | frozenset | list):
        items = [_json_value(v) for v in value]
        return sorted(items, key=str) if isinstance(value, frozenset) else items
    return value


# ---------------------------------------------------------------------------------------------------- parsing


def parse_when(
    node: Any,
    source: str,
    *,
    kinds: Mapping[str, Kind] = FACT_KINDS,
    error: type[ConfigFileError] = ConditionError,
    line: int | None = None,
) -> Condition:
    """Parse a ``when:`` node read with ``claimwatch.yaml_source``; errors name ``source:line``."""
    where = line_of(node) or line
    if node is None:
        raise error(source, where, "a condition is needed (when: {all: [...]})")
    if isinstance(node, list):
        return _group("all", node, source, kinds, error, where)
    if not isinstance(node, dict):
        raise error(source, where, "a condition is a mapping {fact, op, value} or {all|any|not: …}")
    groups = [k for k in _GROUPS if k in node]
    if groups:
        if len(node) != 1:
            extra = sorted(str(k) for k in node if k != groups[0])
            raise error(source, where, f"'{groups[0]}' must be alone in its mapping (also found: {', '.join(extra)})")
        key = groups[0]
        key_line = line_of(node, key)
        if key == "not":
            child = parse_when(node["not"], source, kinds=kinds, error=error, line=key_line)
            inner = child._fn

            def negated(f: Facts) -> bool:
                return not inner(f)

            return Condition("not", (child,), line=key_line, _fn=negated)
        items = node[key]
        if not isinstance(items, list):
            raise error(source, key_line, f"'{key}' takes a list of conditions")
        return _group(key, items, source, kinds, error, key_line)
    return _parse_test(node, source, kinds, error, where)


def _group(
    key: str,
    items: list[Any],
    source: str,
    kinds: Mapping[str, Kind],
    error: type[ConfigFileError],
    where: int | None,
) -> Condition:
    if not items:
        raise error(source, where, f"'{key}' needs at least one condition")
    children = tuple(parse_when(item, source, kinds=kinds, error=error, line=where) for item in items)
    fns = tuple(c._fn for c in children)
    if len(fns) == 1:
        fn = fns[0]
    elif key == "all":

        def fn(f: Facts, fns: tuple[Callable[[Facts], bool], ...] = fns) -> bool:
            return all(g(f) for g in fns)

    else:

        def fn(f: Facts, fns: tuple[Callable[[Facts], bool], ...] = fns) -> bool:
            return any(g(f) for g in fns)

    return Condition(key, children, line=where, _fn=fn)


def _parse_test(
    node: dict[str, Any], source: str, kinds: Mapping[str, Kind], error: type[ConfigFileError], where: int | None
) -> Condition:
    unknown_keys = sorted(str(k) for k in node if k not in {"fact", "op", "value"})
    if unknown_keys:
        raise error(source, where, f"unknown key(s) {', '.join(unknown_keys)} (a test is {{fact, op, value}})")
    fact = node.get("fact")
    if not isinstance(fact, str) or not fact:
        raise error(source, where, "'fact' is required")
    if fact not in kinds:
        known = ", ".join(sorted(kinds))
        raise error(source, line_of(node, "fact") or where, f"unknown fact '{fact}' (known: {known})")
    kind = kinds[fact]
    op = node.get("op")
    if op not in OPERATORS:
        raise error(source, line_of(node, "op") or where, f"unknown op '{op}' (known: {', '.join(OPERATORS)})")
    if kind not in OPERATORS[op]:
        raise error(source, line_of(node, "op") or where, f"op '{op}' does not apply to {kind} fact '{fact}'")
    value_line = line_of(node, "value") or where
    if op in _NO_VALUE:
        if "value" in node:
            raise error(source, value_line, f"op '{op}' takes no value")
        value = None
    else:
        if "value" not in node:
            raise error(source, where, f"op '{op}' needs a value")
        value = _check_value(fact, kind, op, node["value"], source, value_line, error)
    return Condition("test", fact=fact, op=op, value=value, line=where, _fn=_compile(fact, op, value))


def _check_value(
    fact: str, kind: Kind, op: str, raw: Any, source: str, line: int | None, error: type[ConfigFileError]
) -> Any:
    def one(v: Any) -> Any:
        if kind == "bool":
            if isinstance(v, bool):
                return v
        elif kind == "number":
            if isinstance(v, int | float) and not isinstance(v, bool):
                return v
        elif kind == "text":
            if isinstance(v, str):
                return v
        elif kind == "date":
            if isinstance(v, date) and not isinstance(v, datetime):
                return v
            if isinstance(v, str):
                try:
                    return date.fromisoformat(v)
                except ValueError:
                    pass
        elif kind == "datetime":
            if isinstance(v, datetime):
                return v.replace(tzinfo=None)
            if isinstance(v, str):
                try:
                    return datetime.fromisoformat(v).replace(tzinfo=None)
                except ValueError:
                    pass
        raise error(source, line, f"value {v!r} is not a {kind} (fact '{fact}')")

    if op in {"in", "not_in"}:
        if not isinstance(raw, list) or not raw:
            raise error(source, line, f"op '{op}' takes a non-empty list")
        return frozenset(one(v) for v in raw)
    if op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            raise error(source, line, "op 'between' takes [low, high]")
        low, high = one(raw[0]), one(raw[1])
        if low > high:
            raise error(source, line, f"between: low {raw[0]!r} is above high {raw[1]!r}")
        return (low, high)
    if isinstance(raw, list):
        raise error(source, line, f"op '{op}' takes one value, not a list")
    return one(raw)


def _compile(fact: str, op: str, value: Any) -> Callable[[Facts], bool]:
    get = operator.attrgetter(fact)
    if op == "is_null":
        return lambda f: get(f) is None
    if op == "not_null":
        return lambda f: get(f) is not None
    if op == "is_true":
        return lambda f: get(f) is True
    if op == "is_false":
        return lambda f: get(f) is False
    if op == "eq":
        return lambda f: (v := get(f)) is not None and v == value
    if op == "ne":
        return lambda f: (v := get(f)) is not None and v != value
    if op == "in":
        return lambda f: (v := get(f)) is not None and v in value
    if op == "not_in":
        return lambda f: (v := get(f)) is not None and v not in value
    if op == "between":
        low, high = value
        return lambda f: (v := get(f)) is not None and low <= v <= high
    cmp = _COMPARE[op]
    return lambda f: (v := get(f)) is not None and cmp(v, value)


# ------------------------------------------------------------------------------------------------ batch masks


def _nulls(col: np.ndarray) -> np.ndarray:
    if col.dtype.kind == "f":
        return np.isnan(col)
    if col.dtype.kind == "M":
        return np.isnat(col)
    if col.dtype.kind == "O":
        return np.frompyfunc(lambda x: x is None, 1, 1)(col).astype(bool)
    return np.zeros(col.shape, dtype=bool)


def _np_value(col: np.ndarray, value: Any) -> Any:
    if col.dtype.kind == "M" and isinstance(value, date | datetime):
        return np.datetime64(value)
    if isinstance(value, bool) and col.dtype.kind == "f":
        return 1.0 if value else 0.0
    return value


def _mask_test(cond: Condition, col: np.ndarray) -> np.ndarray:
    op, value = cond.op, cond.value
    if op == "is_null":
        return _nulls(col)
    if op == "not_null":
        return ~_nulls(col)
    if op == "is_true":
        return np.asarray(col == 1, dtype=bool) & ~_nulls(col)
    if op == "is_false":
        return np.asarray(col == 0, dtype=bool) & ~_nulls(col)
    known = ~_nulls(col)
    if op in {"in", "not_in"}:
        hit = np.isin(col, list(value))
        return (hit if op == "in" else ~hit) & known
    if op == "between":
        low, high = (_np_value(col, v) for v in value)
        with np.errstate(invalid="ignore"):
            return (col >= low) & (col <= high) & known
    v = _np_value(col, value)
    with np.errstate(invalid="ignore"):
        if op == "eq":
            out = col == v
        elif op == "ne":
            out = col != v
        else:
            out = _COMPARE[op](col, v)
    return np.asarray(out, dtype=bool) & known
