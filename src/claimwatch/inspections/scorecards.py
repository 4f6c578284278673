"""Inspection scorecards (质检评分表) as YAML, one file per card under ``defaults/inspections/scorecards/``,
validated at load with file:line errors (like workflows and checklists)::

    code: motor_claim
    subject_kind: claim                 # a kind of the subject registry (claim, complaint, …)
    name: {zh: 车险理赔质检表, en: Motor claim inspection}
    pass_mark: 80                       # 0–100: a score below it fails the case
    items:
      - code: decision_deadline
        zh: 在法定期限内作出核定
        en: Decision within the statutory deadline
        basis: 保险法第二十三条      # optional: the rule the item checks
        weight: 20                      # the weights of a card sum to exactly 100
        critical: true                  # one fail fails the case, whatever the score
        na: false                       # false (default): N/A refused | true: the inspector judges
                                        # | {when: {rejected: false}}: N/A only when the facts match

**Weights must sum to exactly 100** (no silent normalisation: a card whose weights do not add up is a
mistake in the file and is refused with the file and line of ``items``). So a weight reads as "points of
100", and the score of a case is the weighted share of the passed items among the applicable ones, ×100
(N/A items leave both numerator and denominator).

An N/A rule with ``when`` names facts of the subject (:data:`FACTS`, per subject kind: e.g. a claim's
``rejected``); N/A is accepted only when every named fact has the given value (or one of a list of values).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claimwatch import yaml_source
from claimwatch.errors import NotFound
from claimwatch.yaml_source import ConfigFileError, line_of
from claimwatch.yaml_source import Mapping as _Mapping
from claimwatch.yaml_source import Sequence as _Sequence

DIRECTORY = Path(__file__).resolve().parent.parent / "defaults" / "inspections" / "scorecards"
WEIGHT_TOTAL = 100
OUTCOMES = ("pass", "fail", "na")

# The facts an N/A rule may name, per subject kind, with their type: what scoring asks of the subject
# (``inspections.scoring.subject_facts``). A kind filed later adds its facts here with its scorecard.
FACTS: dict[str, dict[str, type]] = {
    "claim": {"rejected": bool, "paid": bool, "closed": bool, "withdrawn": bool, "reopened": bool, "line": str},
    "complaint": {"decided": bool, "upheld": bool, "review_requested": bool, "withdrawn": bool, "category": str},
}


class ScorecardError(ConfigFileError):
    """A scorecard file is invalid; ``str()`` is ``file:line: problem``."""


@dataclass(frozen=True)
class NaRule:
    """When N/A is accepted: never, always (the inspector's judgement), or when the subject's facts match."""

    allowed: bool = False
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def permits(self, facts: Mapping[str, Any]) -> bool:
        if not self.allowed:
            return False
        return all(facts.get(name) in values for name, values in self.when.items())

    def describe(self) -> str:
        if not self.allowed:
            return "never"
        if not self.when:
            return "allowed"
        return " and ".join(f"{k} in {list(v)}" for k, v in self.when.items())


@dataclass(frozen=True)
class Item:
    code: str
    text_zh: str
    text_en: str
    weight: int
    critical: bool = False
    na: NaRule = NaRule()
    basis: str | None = None
    line: int = 0

    def text(self, locale: str) -> str:
        return self.text_zh if locale == "zh" else self.text_en

    @property
    def na_allowed(self) -> bool:
        return self.na.allowed


@dataclass(frozen=True)
class Scorecard:
    code: str
    subject_kind: str
    name_zh: str
    name_en: str
    pass_mark: float
    items: tuple[Item, ...]
    digest: str  # SHA-256 of the file: the card version an inspection was scored on
    source: str = ""

    def name(self, locale: str) -> str:
        return self.name_zh if locale == "zh" else self.name_en

    def item(self, code: str) -> Item | None:
        return next((i for i in self.items if i.code == code), None)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.items)


_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TOP = {"code", "subject_kind", "name", "pass_mark", "items"}
_ITEM = {"code", "zh", "en", "weight", "critical", "na", "basis"}


def _known_kinds() -> set[str]:
    from claimwatch.subjects import registry

    return set(registry.kinds()) | set(FACTS)


def parse(text: str, source: str, known_kinds: set[str] | None = None) -> Scorecard:
    """Parse and validate one scorecard file; :class:`ScorecardError` names the file and line."""
    doc = yaml_source.load(text, source, ScorecardError)

    def fail(node: Any, problem: str, key: str | None = None) -> ScorecardError:
        return ScorecardError(source, line_of(node, key), problem)

    if not isinstance(doc, _Mapping):
        raise ScorecardError(source, 1, "a scorecard file must be a mapping")
    for key in doc:
        if key not in _TOP:
            raise fail(doc, f"unknown key {key!r} (expected one of {sorted(_TOP)})", key)
    for required in ("code", "subject_kind", "pass_mark", "items"):
        if required not in doc:
            raise fail(doc, f"missing key {required!r}")
    code = doc["code"]
    if not isinstance(code, str) or not _CODE.match(code):
        raise fail(doc, f"scorecard code {code!r} must be lower-case letters, digits and '_'", "code")
    kind = doc["subject_kind"]
    kinds = _known_kinds() if known_kinds is None else known_kinds
    if kind not in kinds:
        raise fail(doc, f"unknown subject kind {kind!r} (known: {', '.join(sorted(kinds))})", "subject_kind")
    pass_mark = doc["pass_mark"]
    if isinstance(pass_mark, bool) or not isinstance(pass_mark, int | float) or not 0 <= pass_mark <= 100:
        raise fail(doc, f"pass_mark must be a number from 0 to 100, not {pass_mark!r}", "pass_mark")
    name = doc.get("name")
    if name is None:
        name_zh = name_en = code
    elif isinstance(name, _Mapping) and all(isinstance(name.get(k), str) and name[k].strip() for k in ("zh", "en")):
        name_zh, name_en = name["zh"].strip(), name["en"].strip()
    else:
        raise fail(doc, "name must be a mapping with non-empty 'zh' and 'en'", "name")

    raw = doc["items"]
    if not isinstance(raw, _Sequence) or not raw:
        raise fail(doc, "'items' must be a non-empty list", "items")
    facts = FACTS.get(kind, {})
    items: list[Item] = []
    seen: set[str] = set()
    for node in raw:
        if not isinstance(node, _Mapping):
            raise fail(raw, "each item must be a mapping with code, zh, en and weight")
        for key in node:
            if key not in _ITEM:
                raise fail(node, f"unknown key {key!r} in item (expected one of {sorted(_ITEM)})", key)
        for required in ("code", "zh", "en", "weight"):
            if required not in node:
                raise fail(node, f"item is missing {required!r}")
        item_code = node["code"]
        if not isinstance(item_code, str) or not _CODE.match(item_code):
            raise fail(node, f"item code {item_code!r} must be lower-case letters, digits and '_'", "code")
        if item_code in seen:
            raise fail(node, f"duplicate item code {item_code!r}", "code")
        seen.add(item_code)
        for lang in ("zh", "en"):
            if not isinstance(node[lang], str) or not node[lang].strip():
                raise fail(node, f"item {item_code!r} needs a non-empty {lang!r} text", lang)
        weight = node["weight"]
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise fail(node, f"weight of item {item_code!r} must be a whole number ≥ 0, not {weight!r}", "weight")
        critical = node.get("critical", False)
        if not isinstance(critical, bool):
            raise fail(node, f"critical of item {item_code!r} must be true or false", "critical")
        if weight == 0 and not critical:
            raise fail(
                node, f"item {item_code!r} has weight 0 and is not critical: it would count for nothing", "weight"
            )
        basis = node.get("basis")
        if basis is not None and not isinstance(basis, str):
            raise fail(node, f"basis of item {item_code!r} must be text", "basis")
        na = _na_rule(node, item_code, kind, facts, fail)
        items.append(
            Item(item_code, node["zh"].strip(), node["en"].strip(), weight, critical, na, basis, line_of(node) or 0)
        )
    total = sum(i.weight for i in items)
    if total != WEIGHT_TOTAL:
        raise fail(doc, f"the item weights sum to {total}, not {WEIGHT_TOTAL}", "items")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Scorecard(code, kind, name_zh, name_en, float(pass_mark), tuple(items), digest, source)


def _na_rule(node: Any, item_code: str, kind: str, facts: Mapping[str, type], fail: Any) -> NaRule:
    raw = node.get("na", False)
    if isinstance(raw, bool):
        return NaRule(allowed=raw)
    if (
        not isinstance(raw, _Mapping)
        or set(raw) != {"when"}
        or not isinstance(raw["when"], _Mapping)
        or not raw["when"]
    ):
        raise fail(node, f"na of item {item_code!r} must be true, false or {{when: {{fact: value}}}}", "na")
    when: dict[str, tuple[Any, ...]] = {}
    for name, value in raw["when"].items():
        if name not in facts:
            known = ", ".join(sorted(facts)) or "none"
            raise fail(raw["when"], f"unknown fact {name!r} for subject kind {kind!r} (known: {known})", name)
        values = tuple(value) if isinstance(value, list) else (value,)
        expected = facts[name]
        if not values or not all(type(v) is expected for v in values):
            raise fail(raw["when"], f"fact {name!r} takes {expected.__name__} values, not {value!r}", name)
        when[name] = values
    return NaRule(allowed=True, when=when)


def load_file(path: Path, known_kinds: set[str] | None = None) -> Scorecard:
    return parse(path.read_text(encoding="utf-8"), str(path), known_kinds)


@functools.cache
def registry() -> dict[str, Scorecard]:
    """Every bundled scorecard by code (read once; a bad file fails loudly, naming file and line)."""
    cards: dict[str, Scorecard] = {}
    for path in sorted(DIRECTORY.glob("*.yaml")):
        card = load_file(path)
        if card.code in cards:
            raise ScorecardError(str(path), 1, f"scorecard code {card.code!r} is also in {cards[card.code].source}")
        cards[card.code] = card
    return cards


def load(code: str) -> Scorecard:
    """The scorecard ``code``; :class:`claimwatch.errors.NotFound` naming ``scorecard`` when there is none."""
    card = registry().get(code)
    if card is None:
        raise NotFound("scorecard", f"no scorecard {code!r} (known: {', '.join(sorted(registry()))})")
    return card


def for_kind(kind: str) -> list[Scorecard]:
    return [card for card in registry().values() if card.subject_kind == kind]


def as_dict(card: Scorecard, locale: str = "zh") -> dict[str, Any]:
    return {
        "code": card.code,
        "subject_kind": card.subject_kind,
        "name": card.name(locale),
        "pass_mark": card.pass_mark,
        "digest": card.digest,
        "items": [
            {
                "code": i.code,
                "text": i.text(locale),
                "text_zh": i.text_zh,
                "text_en": i.text_en,
                "weight": i.weight,
                "critical": i.critical,
                "na": i.na.describe(),
                "basis": i.basis,
            }
            for i in card.items
        ],
    }
