"""Underwriting rules as YAML (``defaults/underwriting/rules.yaml``; an insurer's own file in
``CLAIMWATCH_POLICY_OVERRIDES_DIR/underwriting/<TENANT_CODE>.yaml`` replaces it), validated with file and line, and
the assessment of an application under them. Pure: no database (the service stores versions and cases).

A file (see the bundled one for every key)::

    version: "2026.12-1"
    thresholds: {medium: 30, high: 60}
    manual_review: {levels: [high], outcomes: [decline]}
    turnaround: {default: {low: 1, medium: 3, high: 5}, life: {low: 1, medium: 3, high: 7}}
    factors:
      - code: AGE-60
        name: {zh: 投保年龄60岁及以上, en: Applicant aged 60 or over}
        fact: age
        band: {min: 60}
        points: 30

The assessment: the points of every factor that fires are added (the risk level from the thresholds); the
proposed outcome is the most severe forced one (decline > rate_up > exclusion > accept), with the highest
rate-up and every exclusion text; a case needs manual review when its level or proposed outcome is listed in
``manual_review`` or a fired factor says ``review: true``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from claimwatch.audit.hashing import sha256_hex
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_RULES = PACKAGE_DIR / "defaults" / "underwriting" / "rules.yaml"
MAX_FACTORS = 300
MAX_RULE_FILE = 256 * 1024
LEVELS = ("low", "medium", "high")
OUTCOMES = ("accept", "rate_up", "exclusion", "decline")
# How severe a forced outcome is: the proposal is the most severe one that fired.
SEVERITY = {"accept": 0, "exclusion": 1, "rate_up": 2, "decline": 3}
FACTS = ("age", "sum_insured", "occupation_class", "bmi", "line", "channel", "smoker", "health")
NUMERIC_FACTS = ("age", "sum_insured", "occupation_class", "bmi")
_TOP_KEYS = {"version", "thresholds", "manual_review", "turnaround", "factors"}
_FACTOR_KEYS = {
    "code",
    "name",
    "fact",
    "band",
    "in",
    "answer",
    "lines",
    "points",
    "outcome",
    "rate_up_pct",
    "exclusion",
    "review",
}
MAX_TURNAROUND_DAYS = 60


class RuleSetError(ConfigFileError):
    pass


@dataclass(frozen=True)
class Factor:
    code: str
    name_zh: str
    name_en: str
    fact: str
    band: tuple[float | None, float | None] | None = None
    values: tuple[Any, ...] | None = None
    answer: str | None = None
    lines: frozenset[str] | None = None
    points: float = 0.0
    outcome: str | None = None
    rate_up_pct: float | None = None
    exclusion_zh: str | None = None
    exclusion_en: str | None = None
    review: bool = False
    line: int = 0

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_zh

    def fires(self, facts: dict[str, Any]) -> bool:
        if self.lines is not None and facts.get("line") not in self.lines:
            return False
        if self.fact == "health":
            answers = facts.get("health") or {}
            return isinstance(answers, dict) and answers.get(self.answer) is True
        value = facts.get(self.fact)
        if value is None:
            return False
        if self.band is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            low, high = self.band
            return (low is None or value >= low) and (high is None or value < high)
        return self.values is not None and value in self.values


@dataclass(frozen=True)
class RuleSet:
    version: str
    digest: str
    source: str
    medium: float
    high: float
    review_levels: frozenset[str]
    review_outcomes: frozenset[str]
    turnaround: dict[str, dict[str, float]]
    factors: tuple[Factor, ...]

    def target_days(self, line: str, level: str) -> float:
        return (self.turnaround.get(line) or self.turnaround["default"])[level]

    def factor(self, code: str) -> Factor | None:
        return next((f for f in self.factors if f.code == code), None)


@dataclass
class Assessment:
    points: float = 0.0
    level: str = "low"
    fired: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "accept"
    rate_up_pct: float | None = None
    exclusions: list[str] = field(default_factory=list)
    review: bool = False


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> RuleSetError:
    return RuleSetError(source, line_of(node, key), problem)


def _number(source: str, node: Mapping, key: str, *, positive: bool = False) -> float:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(source, node, f"'{key}' must be a number, not {value!r}", key)
    if value < 0 or (positive and value == 0):
        raise _fail(source, node, f"'{key}' must be {'above' if positive else 'at least'} 0, not {value!r}", key)
    return float(value)


def _text(source: str, node: Mapping, key: str, limit: int) -> str:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value).strip():
        raise _fail(source, node, f"'{key}' is required", key)
    text = str(value).strip()
    if len(text) > limit:
        raise _fail(source, node, f"'{key}' must be at most {limit} characters", key)
    return text


def _pair(source: str, node: Mapping, key: str) -> tuple[str, str]:
    value = node.get(key)
    if isinstance(value, Mapping):
        if set(value) - {"zh", "en"} or not value.get("zh") or not value.get("en"):
            raise _fail(source, value, f"'{key}' takes zh and en")
        return str(value["zh"]).strip()[:500], str(value["en"]).strip()[:500]
    if isinstance(value, str) and value.strip():
        return value.strip()[:500], value.strip()[:500]
    raise _fail(source, node, f"'{key}' is required: {{zh: …, en: …}}", key)


def _band(source: str, node: Mapping) -> tuple[float | None, float | None]:
    band = node["band"]
    if not isinstance(band, Mapping) or not band or set(band) - {"min", "max"}:
        raise _fail(source, node, "'band' is {min: …, max: …} (either may be left out)", "band")
    low = _number(source, band, "min") if "min" in band else None
    high = _number(source, band, "max") if "max" in band else None
    if low is not None and high is not None and high <= low:
        raise _fail(source, band, f"band max {high:g} must be above min {low:g}", "max")
    return low, high


def _factor(source: str, node: Any, seen: dict[str, int]) -> Factor:
    if not isinstance(node, Mapping):
        raise RuleSetError(source, line_of(node), "each factor must be a mapping (code, name, fact, …)")
    for key in node:
        if key not in _FACTOR_KEYS:
            known = ", ".join(sorted(_FACTOR_KEYS))
            raise _fail(source, node, f"unknown key {key!r} in factor (known: {known})", str(key))
    code = _text(source, node, "code", 48)
    if code in seen:
        raise _fail(source, node, f"duplicate factor code {code!r} (first at line {seen[code]})", "code")
    seen[code] = node.line
    name_zh, name_en = _pair(source, node, "name")
    fact = node.get("fact")
    if fact not in FACTS:
        raise _fail(source, node, f"fact must be one of {', '.join(FACTS)}, not {fact!r}", "fact")
    matchers = [key for key in ("band", "in", "answer") if key in node]
    if len(matchers) != 1:
        raise _fail(source, node, f"factor {code!r} needs exactly one of band, in, answer", "fact")
    band = values = answer = None
    if "band" in node:
        if fact not in NUMERIC_FACTS:
            raise _fail(source, node, f"'band' needs a numeric fact ({', '.join(NUMERIC_FACTS)})", "band")
        band = _band(source, node)
    elif "in" in node:
        if fact == "health" or not isinstance(node["in"], Sequence) or not node["in"]:
            raise _fail(source, node, "'in' is a non-empty list of values (not for health)", "in")
        values = tuple(node["in"])
    else:
        if fact != "health":
            raise _fail(source, node, "'answer' is for the health fact only", "answer")
        answer = _text(source, node, "answer", 48)
    lines = node.get("lines")
    if lines is not None and (not isinstance(lines, Sequence) or not lines):
        raise _fail(source, node, "'lines' is a non-empty list of lines", "lines")
    points = _number(source, node, "points") if "points" in node else 0.0
    outcome = node.get("outcome")
    if outcome is not None and outcome not in OUTCOMES[1:]:
        raise _fail(source, node, f"outcome must be one of rate_up, exclusion, decline, not {outcome!r}", "outcome")
    rate_up = None
    if outcome == "rate_up":
        if "rate_up_pct" not in node:
            raise _fail(source, node, f"factor {code!r}: a rate_up outcome needs rate_up_pct", "outcome")
        rate_up = _number(source, node, "rate_up_pct", positive=True)
        if rate_up > 500:
            raise _fail(source, node, "rate_up_pct is at most 500", "rate_up_pct")
    elif "rate_up_pct" in node:
        raise _fail(source, node, "rate_up_pct goes with outcome: rate_up", "rate_up_pct")
    exclusion: tuple[str | None, str | None] = (None, None)
    if outcome == "exclusion":
        if "exclusion" not in node:
            raise _fail(source, node, f"factor {code!r}: an exclusion outcome needs its text (exclusion)", "outcome")
        exclusion = _pair(source, node, "exclusion")
    elif "exclusion" in node:
        raise _fail(source, node, "exclusion goes with outcome: exclusion", "exclusion")
    review = node.get("review", False)
    if not isinstance(review, bool):
        raise _fail(source, node, f"review must be true or false, not {review!r}", "review")
    if points == 0 and outcome is None and not review:
        raise _fail(source, node, f"factor {code!r} does nothing: give it points, an outcome or review: true")
    return Factor(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        fact=str(fact),
        band=band,
        values=values,
        answer=answer,
        lines=frozenset(str(x) for x in lines) if lines is not None else None,
        points=points,
        outcome=outcome,
        rate_up_pct=rate_up,
        exclusion_zh=exclusion[0],
        exclusion_en=exclusion[1],
        review=review,
        line=node.line,
    )


def _turnaround(source: str, doc: Mapping) -> dict[str, dict[str, float]]:
    node = doc.get("turnaround")
    if not isinstance(node, Mapping) or "default" not in node:
        raise _fail(
            source, doc, "'turnaround' is a mapping of lines (and 'default') to {low, medium, high}", "turnaround"
        )
    found: dict[str, dict[str, float]] = {}
    for line_code, levels in node.items():
        if not isinstance(levels, Mapping) or set(levels) != set(LEVELS):
            raise _fail(source, node, f"turnaround {line_code!r} takes low, medium and high (working days)", line_code)
        days = {level: _number(source, levels, level, positive=True) for level in LEVELS}
        if any(value > MAX_TURNAROUND_DAYS for value in days.values()):
            raise _fail(source, levels, f"turnaround is at most {MAX_TURNAROUND_DAYS} working days")
        found[str(line_code)] = days
    return found


def _review(source: str, doc: Mapping) -> tuple[frozenset[str], frozenset[str]]:
    node = doc.get("manual_review")
    if not isinstance(node, Mapping) or set(node) - {"levels", "outcomes"}:
        raise _fail(source, doc, "'manual_review' is {levels: [...], outcomes: [...]}", "manual_review")
    levels, outcomes = node.get("levels", []), node.get("outcomes", [])
    if not isinstance(levels, list) or any(level not in LEVELS for level in levels):
        raise _fail(source, node, f"manual_review levels are among {', '.join(LEVELS)}", "levels")
    if not isinstance(outcomes, list) or any(outcome not in OUTCOMES for outcome in outcomes):
        raise _fail(source, node, f"manual_review outcomes are among {', '.join(OUTCOMES)}", "outcomes")
    return frozenset(levels), frozenset(outcomes)


def parse_rule_set(text: str, source: str) -> RuleSet:
    """A rule set from YAML text; errors name ``source:line``."""
    doc = load_yaml(text, source, RuleSetError)
    if not isinstance(doc, Mapping):
        raise RuleSetError(source, 1, "underwriting rules are a mapping (version, thresholds, factors, …)")
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(source, doc, f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})", str(key))
    version = _text(source, doc, "version", 64)
    thresholds = doc.get("thresholds")
    if not isinstance(thresholds, Mapping) or set(thresholds) != {"medium", "high"}:
        raise _fail(source, doc, "'thresholds' is {medium: points, high: points}", "thresholds")
    medium = _number(source, thresholds, "medium", positive=True)
    high = _number(source, thresholds, "high", positive=True)
    if high <= medium:
        raise _fail(source, thresholds, f"the high threshold {high:g} must be above the medium {medium:g}", "high")
    review_levels, review_outcomes = _review(source, doc)
    turnaround = _turnaround(source, doc)
    factors_node = doc.get("factors")
    if not isinstance(factors_node, Sequence):
        raise _fail(source, doc, "'factors' must be a list of factors", "factors")
    if len(factors_node) > MAX_FACTORS:
        raise _fail(source, doc, f"at most {MAX_FACTORS} factors", "factors")
    seen: dict[str, int] = {}
    factors = tuple(_factor(source, node, seen) for node in factors_node)
    return RuleSet(
        version=version,
        digest=sha256_hex(text),
        source=source,
        medium=medium,
        high=high,
        review_levels=review_levels,
        review_outcomes=review_outcomes,
        turnaround=turnaround,
        factors=factors,
    )


def assess(rules: RuleSet, facts: dict[str, Any], locale: str = "zh") -> Assessment:
    """The points, level, fired factors and proposed outcome of an application's facts."""
    result = Assessment()
    severity = 0
    for factor in rules.factors:
        if not factor.fires(facts):
            continue
        result.points += factor.points
        fired: dict[str, Any] = {"code": factor.code, "points": factor.points, "outcome": factor.outcome}
        if factor.outcome is not None:
            severity = max(severity, SEVERITY[factor.outcome])
        if factor.rate_up_pct is not None:
            result.rate_up_pct = max(result.rate_up_pct or 0.0, factor.rate_up_pct)
            fired["rate_up_pct"] = factor.rate_up_pct
        if factor.exclusion_zh is not None:
            text = factor.exclusion_en if locale == "en" else factor.exclusion_zh
            result.exclusions.append(str(text))
            fired["exclusion"] = text
        if factor.review:
            result.review = True
            fired["review"] = True
        result.fired.append(fired)
    result.level = "high" if result.points >= rules.high else "medium" if result.points >= rules.medium else "low"
    result.outcome = next(name for name, rank in SEVERITY.items() if rank == severity)
    if result.outcome == "decline":
        result.rate_up_pct, result.exclusions = None, []
    if result.level in rules.review_levels or result.outcome in rules.review_outcomes:
        result.review = True
    return result


def rule_file(tenant_code: str | None = None) -> Path:
    """The file an insurer's rules are loaded from by default: its own, else the bundled defaults."""
    return tenant_override("underwriting", tenant_code) or DEFAULT_RULES


@lru_cache(maxsize=64)
def parsed(content: str, source: str) -> RuleSet:
    """A stored version parsed once per process (versions are immutable rows)."""
    return parse_rule_set(content, source)
