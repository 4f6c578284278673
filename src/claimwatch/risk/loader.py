"""Risk red flags as data (``defaults/risk/red_flags.yaml``), validated with file and line.

A tenant replaces the whole file with ``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/risk/<TENANT_CODE>.yaml``. The set's
``digest`` (sha256 of its canonical JSON) is stored with every score and every trained model, so a model is
only used with the flags it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.risk.conditions import Condition, parse_when
from claimwatch.risk.facts import FACT_KINDS
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_FILE = PACKAGE_DIR / "defaults" / "risk" / "red_flags.yaml"
LEVELS = ("low", "medium", "high")
_TOP_KEYS = {"version", "levels", "review_level", "authority_limits_cny", "flags"}
_FLAG_KEYS = {"code", "name", "points", "reason", "when"}


class RedFlagError(ConfigFileError):
    pass


@dataclass(frozen=True)
class RedFlag:
    code: str
    name_zh: str
    name_en: str
    points: int
    reason_zh: str
    reason_en: str
    when: Condition
    line: int | None = None

    def name(self, locale: str) -> str:
        return self.name_zh if locale == "zh" else self.name_en

    def reason(self, locale: str, values: dict[str, Any]) -> str:
        """The reason with the claim's values filled in (``{fact}`` placeholders, checked at load)."""
        template = self.reason_zh if locale == "zh" else self.reason_en
        return template.format_map(_Values(values))

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "points": self.points,
            "reason": {"zh": self.reason_zh, "en": self.reason_en},
            "when": self.when.to_json(),
        }


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"

    def __getitem__(self, key: str) -> Any:
        value = super().get(key)
        if value is None:
            return "?"
        if isinstance(value, float):
            return f"{value:g}" if abs(value) < 1e6 else f"{value:.0f}"
        return value


@dataclass(frozen=True)
class RedFlagSet:
    version: str
    flags: tuple[RedFlag, ...]
    medium_points: int
    high_points: int
    medium_probability: float
    high_probability: float
    review_level: str
    authority_limits: tuple[float, ...] = ()  # CNY, ascending
    source: str = ""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.flags)

    def by_code(self, code: str) -> RedFlag | None:
        return next((f for f in self.flags if f.code == code), None)

    def facts_used(self) -> frozenset[str]:
        return frozenset().union(*(f.when.facts_used() for f in self.flags)) if self.flags else frozenset()

    def points_level(self, points: int) -> str:
        if points >= self.high_points:
            return "high"
        if points >= self.medium_points:
            return "medium"
        return "low"

    def probability_level(self, probability: float | None) -> str:
        if probability is None:
            return "low"
        if probability >= self.high_probability:
            return "high"
        if probability >= self.medium_probability:
            return "medium"
        return "low"

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "levels": {
                "points": {"medium": self.medium_points, "high": self.high_points},
                "probability": {"medium": self.medium_probability, "high": self.high_probability},
            },
            "review_level": self.review_level,
            "authority_limits_cny": list(self.authority_limits),
            "flags": [f.as_dict() for f in self.flags],
        }

    @cached_property
    def digest(self) -> str:  # read on every score: computed once per loaded set
        text = json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> RedFlagError:
    return RedFlagError(source, line_of(node, key), problem)


def _pair(source: str, node: Mapping, key: str, what: str) -> tuple[str, str]:
    value = node.get(key)
    if not isinstance(value, Mapping) or set(value) != {"zh", "en"}:
        raise _fail(source, node, f"'{key}' must be a mapping with zh and en {what}", key)
    for lang in ("zh", "en"):
        if not isinstance(value[lang], str) or not value[lang].strip():
            raise _fail(source, value, f"{key}.{lang} must be a non-empty text", lang)
    return value["zh"], value["en"]


def _check_placeholders(source: str, node: Mapping, template: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise _fail(source, node, f"reason {template!r}: {exc}", "reason") from exc
    for name in fields:
        if name not in FACT_KINDS:
            raise _fail(source, node, f"reason names unknown fact {{{name}}}", "reason")


def _levels(source: str, node: Mapping, key: str, kind: type) -> tuple[Any, Any]:
    value = node.get(key)
    if not isinstance(value, Mapping) or set(value) != {"medium", "high"}:
        raise _fail(source, node, f"levels.{key} must be {{medium: …, high: …}}", key)
    pair = []
    for name in ("medium", "high"):
        v = value[name]
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 0 or (kind is int and not isinstance(v, int)):
            raise _fail(source, value, f"levels.{key}.{name} must be a non-negative {kind.__name__}", name)
        pair.append(kind(v))
    if pair[0] > pair[1]:
        raise _fail(source, value, f"levels.{key}: medium is above high", "medium")
    if kind is float and pair[1] > 1:
        raise _fail(source, value, f"levels.{key}.high is a probability (at most 1)", "high")
    return pair[0], pair[1]


def parse_red_flags(text: str, source: str) -> RedFlagSet:
    doc = load_yaml(text, source, RedFlagError)
    if not isinstance(doc, Mapping):
        raise RedFlagError(source, None, "a red-flag file is a mapping with version, levels, review_level, flags")
    unknown = sorted(str(k) for k in doc if k not in _TOP_KEYS)
    if unknown:
        raise _fail(source, doc, f"unknown key(s) {', '.join(unknown)}", unknown[0])
    version = doc.get("version")
    if not isinstance(version, str | int) or isinstance(version, bool) or not str(version).strip():
        raise _fail(source, doc, "'version' is required (a text such as \"2026-12\")", "version")
    levels = doc.get("levels")
    if not isinstance(levels, Mapping):
        problem = "'levels' is required: {points: {medium, high}, probability: {medium, high}}"
        raise _fail(source, doc, problem, "levels")
    medium_points, high_points = _levels(source, levels, "points", int)
    medium_probability, high_probability = _levels(source, levels, "probability", float)
    review_level = doc.get("review_level", "high")
    if review_level not in ("medium", "high"):
        raise _fail(source, doc, "review_level is medium or high", "review_level")
    limits_node = doc.get("authority_limits_cny", [])
    if not isinstance(limits_node, list) or any(
        isinstance(v, bool) or not isinstance(v, int | float) or v <= 0 for v in limits_node
    ):
        raise _fail(source, doc, "authority_limits_cny is a list of positive amounts", "authority_limits_cny")
    flags_node = doc.get("flags")
    if not isinstance(flags_node, Sequence) or not flags_node:
        raise _fail(source, doc, "'flags' must be a non-empty list", "flags")
    flags: list[RedFlag] = []
    seen: set[str] = set()
    for node in flags_node:
        if not isinstance(node, Mapping):
            raise _fail(source, flags_node, "each flag is a mapping {code, name, points, reason, when}")
        unknown = sorted(str(k) for k in node if k not in _FLAG_KEYS)
        if unknown:
            raise _fail(source, node, f"unknown key(s) {', '.join(unknown)}", unknown[0])
        code = node.get("code")
        if not isinstance(code, str) or not code.isidentifier() or len(code) > 48:
            raise _fail(source, node, "'code' must be a name of letters, digits and _ (at most 48)", "code")
        if code in seen:
            raise _fail(source, node, f"flag {code!r} is defined twice", "code")
        seen.add(code)
        name_zh, name_en = _pair(source, node, "name", "names")
        points = node.get("points")
        if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= 100:
            raise _fail(source, node, "'points' must be a whole number from 1 to 100", "points")
        reason_zh, reason_en = _pair(source, node, "reason", "reasons")
        _check_placeholders(source, node, reason_zh)
        _check_placeholders(source, node, reason_en)
        if "when" not in node:
            raise _fail(source, node, "'when' is required")
        when = parse_when(node["when"], source, error=RedFlagError, line=line_of(node, "when"))
        flags.append(RedFlag(code, name_zh, name_en, points, reason_zh, reason_en, when, line_of(node)))
    return RedFlagSet(
        version=str(version),
        flags=tuple(flags),
        medium_points=medium_points,
        high_points=high_points,
        medium_probability=medium_probability,
        high_probability=high_probability,
        review_level=review_level,
        authority_limits=tuple(sorted({float(v) for v in limits_node})),
        source=source,
    )


def load_file(path: Path) -> RedFlagSet:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RedFlagError(str(path), None, f"cannot read: {exc.strerror}") from exc
    return parse_red_flags(text, str(path))


@lru_cache
def default_red_flags() -> RedFlagSet:
    return load_file(DEFAULT_FILE)


@lru_cache
def red_flags_for_tenant(tenant_code: str) -> RedFlagSet:
    """The tenant's own file if it has one, else the defaults."""
    path = tenant_override("risk", tenant_code)
    return load_file(path) if path is not None else default_red_flags()
