"""Assignment rules as data: read from YAML, validated with file and line (see defaults/assignment/)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from claimwatch.config import PACKAGE_DIR
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

MODES = ("monitor", "active")
KINDS = ("claim", "complaint")
LIGHTS = ("green", "yellow", "red")
DEFAULT_RULES = PACKAGE_DIR / "defaults" / "assignment" / "rules.yaml"
_TOP_KEYS = {"version", "default_mode", "respect_capacity", "weights"}
_WEIGHT_KEYS = {"kind", "amount_bands", "light"}


class RulesError(ConfigFileError):
    pass


@dataclass(frozen=True)
class Rules:
    version: str
    default_mode: str
    respect_capacity: bool
    kind_weights: dict[str, float]
    amount_bands: tuple[tuple[int, float], ...]  # (from fen, weight), ascending
    light_weights: dict[str, float]
    source: str = ""

    def weight(self, kind: str, amount_fen: int | None, light: str | None) -> float:
        band = 1.0
        for start, value in self.amount_bands:
            if amount_fen is not None and amount_fen >= start:
                band = value
        return self.kind_weights[kind] * band * self.light_weights.get(light or "green", 1.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "default_mode": self.default_mode,
            "respect_capacity": self.respect_capacity,
            "weights": {
                "kind": self.kind_weights,
                "amount_bands": [{"from": str(Decimal(f) / 100), "weight": w} for f, w in self.amount_bands],
                "light": self.light_weights,
            },
        }


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> RulesError:
    return RulesError(source, line_of(node, key), problem)


def _weight(source: str, node: Mapping, key: str, what: str) -> float:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _fail(source, node, f"{what} must be a positive number, not {value!r}", key)
    return float(value)


def _named_weights(source: str, node: Any, parent: Mapping, key: str, names: tuple[str, ...]) -> dict[str, float]:
    if not isinstance(node, Mapping):
        raise _fail(source, parent, f"'{key}' must be a mapping of {', '.join(names)} to weights", key)
    for name in node:
        if name not in names:
            raise _fail(source, node, f"unknown {key} {name!r} (known: {', '.join(names)})", str(name))
    missing = [name for name in names if name not in node]
    if missing:
        raise _fail(source, node, f"'{key}' lacks a weight for {', '.join(missing)}")
    return {name: _weight(source, node, name, f"weight of {key} {name!r}") for name in names}


def parse_rules(text: str, source: str) -> Rules:
    doc = load_yaml(text, source, RulesError)
    if not isinstance(doc, Mapping):
        raise RulesError(source, 1, "the rules file must be a mapping (version, default_mode, weights)")
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(source, doc, f"unknown key {key!r} (expected {', '.join(sorted(_TOP_KEYS))})", str(key))
    version = doc.get("version")
    if not isinstance(version, str | int | float) or isinstance(version, bool) or not str(version).strip():
        raise _fail(source, doc, "'version' is required (e.g. \"2026.12-1\"): it is recorded in the audit chain")
    if len(str(version)) > 64:
        raise _fail(source, doc, "'version' must be at most 64 characters", "version")
    mode = doc.get("default_mode", "monitor")
    if mode not in MODES:
        raise _fail(source, doc, f"default_mode must be one of {', '.join(MODES)}, not {mode!r}", "default_mode")
    capacity = doc.get("respect_capacity", True)
    if not isinstance(capacity, bool):
        raise _fail(source, doc, f"respect_capacity must be true or false, not {capacity!r}", "respect_capacity")
    weights = doc.get("weights")
    if not isinstance(weights, Mapping):
        raise _fail(source, doc, "'weights' must be a mapping with kind, amount_bands and light", "weights")
    for key in weights:
        if key not in _WEIGHT_KEYS:
            raise _fail(source, weights, f"unknown key {key!r} in weights", str(key))
    kinds = _named_weights(source, weights.get("kind"), weights, "kind", KINDS)
    lights = _named_weights(source, weights.get("light"), weights, "light", LIGHTS)
    bands_node = weights.get("amount_bands", [])
    if not isinstance(bands_node, Sequence):
        raise _fail(source, weights, "'amount_bands' must be a list of {from, weight}", "amount_bands")
    bands: list[tuple[int, float]] = []
    for band in bands_node:
        if not isinstance(band, Mapping) or set(band) != {"from", "weight"}:
            raise _fail(source, band if isinstance(band, Mapping) else bands_node, "an amount band is {from, weight}")
        try:
            start = Decimal(str(band["from"]))
        except InvalidOperation as exc:
            raise _fail(source, band, f"band 'from' {band['from']!r} is not a number of CNY", "from") from exc
        if isinstance(band["from"], bool) or start < 0:
            raise _fail(source, band, "band 'from' must be a non-negative number of CNY", "from")
        fen = int(start * 100)
        if bands and fen <= bands[-1][0]:
            raise _fail(source, band, "amount bands must be in ascending order of 'from'", "from")
        bands.append((fen, _weight(source, band, "weight", "band weight")))
    return Rules(str(version).strip(), str(mode), capacity, kinds, tuple(bands), lights, source)


def load_rules_file(path: Path) -> Rules:
    return parse_rules(path.read_text(encoding="utf-8"), str(path))


@lru_cache
def rules() -> Rules:
    """The rules in force (validated once per process)."""
    return load_rules_file(DEFAULT_RULES)
