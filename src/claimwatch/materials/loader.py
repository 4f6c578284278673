"""Reads materials-checklist YAML files (理赔材料标准化清单) and validates them, naming file and line.

One file per line of business::

    line: motor
    name: {zh: 车险, en: Motor}
    facts:                                   # what a claim's profile may state
      injury: {zh: 有人员受伤, en: Someone was injured}
    items:                                   # the catalogue of documents of this line
      - {code: id_proof, zh: 身份证明, en: Proof of identity}
      - {code: medical_records, zh: 病历, en: Medical records}
      - {code: loss_assessment, zh: 定损单, en: Loss assessment sheet, electronic: false}
    claim_types:
      vehicle_damage:
        zh: 车辆损失
        en: Vehicle damage
        required: [id_proof, {item: medical_records, when: {facts: [injury]}}]
        optional: []

An entry of ``required`` or ``optional`` is an item code, or ``{item: code, when: {...}}`` to apply
only when the claim's facts match: ``facts`` (all of them) and/or ``any_facts`` (at least one).

``electronic: false`` marks an item that exists only on paper or in person (an original, a key) or that a
waived step produces (the 定损单 of a loss assessment the 三免 fast track skips). A fast-tracked claim
(``claims.route`` fast_track, 免纸质材料) is asked only for the electronic items; unmarked items are electronic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from claimwatch import yaml_source
from claimwatch.yaml_source import ConfigFileError
from claimwatch.yaml_source import Mapping as _Mapping
from claimwatch.yaml_source import Sequence as _Sequence
from claimwatch.yaml_source import line_of as _line_of


class ChecklistError(ConfigFileError):
    """A checklist file is invalid; ``str()`` is ``file:line: problem``."""


REQUIRED = "required"
CONDITIONAL = "conditional"
OPTIONAL = "optional"


@dataclass(frozen=True)
class ItemDef:
    code: str
    name_zh: str
    name_en: str
    electronic: bool = True

    def label(self, locale: str) -> str:
        return self.name_zh if locale == "zh" else self.name_en


@dataclass(frozen=True)
class FactDef:
    code: str
    label_zh: str
    label_en: str

    def label(self, locale: str) -> str:
        return self.label_zh if locale == "zh" else self.label_en


@dataclass(frozen=True)
class Requirement:
    """One entry of a claim type: an item, whether it is needed, and on which facts."""

    item: str
    optional: bool = False
    all_facts: frozenset[str] = frozenset()
    any_facts: frozenset[str] = frozenset()
    electronic: bool = True  # the item's flag (ItemDef.electronic), copied so an evaluation needs no catalogue

    @property
    def conditional(self) -> bool:
        return bool(self.all_facts or self.any_facts)

    @property
    def kind(self) -> str:
        if self.optional:
            return OPTIONAL
        return CONDITIONAL if self.conditional else REQUIRED

    def applies(self, facts: Collection[str]) -> bool:
        if not self.all_facts <= set(facts):
            return False
        return not self.any_facts or bool(self.any_facts & set(facts))


@dataclass(frozen=True)
class ClaimTypeDef:
    code: str
    name_zh: str
    name_en: str
    requirements: tuple[Requirement, ...]

    def label(self, locale: str) -> str:
        return self.name_zh if locale == "zh" else self.name_en

    def requirement(self, item: str) -> Requirement | None:
        return next((r for r in self.requirements if r.item == item), None)


@dataclass(frozen=True)
class Checklist:
    line: str
    name_zh: str
    name_en: str
    facts: dict[str, FactDef]
    items: dict[str, ItemDef]
    claim_types: dict[str, ClaimTypeDef]
    source: str = ""


_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TOP_KEYS = {"line", "name", "facts", "items", "claim_types"}
_ITEM_KEYS = {"code", "zh", "en", "electronic"}
_FACT_KEYS = {"zh", "en"}
_TYPE_KEYS = {"zh", "en", "required", "optional"}
_ENTRY_KEYS = {"item", "when"}
_WHEN_KEYS = {"facts", "any_facts"}


def _default_lines() -> Collection[str]:
    from claimwatch.workflow import service as workflow_service

    return workflow_service.lines()


def parse_checklist(text: str, source: str, known_lines: Collection[str] | None = None) -> Checklist:
    """Parse and validate one file. ``known_lines`` defaults to the lines of the workflow registry."""
    doc = yaml_source.load(text, source, ChecklistError)

    def fail(node: Any, problem: str, key: str | None = None) -> ChecklistError:
        return ChecklistError(source, _line_of(node, key), problem)

    if not isinstance(doc, _Mapping):
        raise ChecklistError(source, 1, "a checklist file must be a mapping")
    for key in doc:
        if key not in _TOP_KEYS:
            raise fail(doc, f"unknown key {key!r} (expected one of {sorted(_TOP_KEYS)})", key)
    for required in ("line", "items", "claim_types"):
        if required not in doc:
            raise fail(doc, f"missing key {required!r}")

    line = str(doc["line"])
    lines = _default_lines() if known_lines is None else known_lines
    if line not in lines:
        raise fail(doc, f"unknown line of business {line!r} (known: {', '.join(sorted(lines))})", "line")

    def labels(node: Any, what: str) -> tuple[str, str]:
        for lang in ("zh", "en"):
            value = node.get(lang)
            if not isinstance(value, str) or not value.strip():
                raise fail(node, f"{what} needs a non-empty {lang!r} name")
        return str(node["zh"]).strip(), str(node["en"]).strip()

    def check_code(node: Any, code: Any, what: str, key: str | None = None) -> str:
        if not isinstance(code, str) or not _CODE.match(code):
            raise fail(node, f"{what} code {code!r} must be lower-case letters, digits and '_'", key)
        return code

    def check_keys(node: Any, allowed: set[str], where: str) -> None:
        for attr in node:
            if attr not in allowed:
                raise fail(node, f"unknown key {attr!r} in {where} (expected one of {sorted(allowed)})", attr)

    facts: dict[str, FactDef] = {}
    raw_facts = doc.get("facts")
    if raw_facts is not None:
        if not isinstance(raw_facts, _Mapping):
            raise fail(doc, "'facts' must be a mapping of fact code to {zh, en}", "facts")
        for code, spec in raw_facts.items():
            check_code(raw_facts, code, "fact", code)
            if not isinstance(spec, _Mapping):
                raise fail(raw_facts, f"fact {code!r} must be a mapping with 'zh' and 'en'", code)
            check_keys(spec, _FACT_KEYS, f"fact {code!r}")
            label_zh, label_en = labels(spec, f"fact {code!r}")
            facts[code] = FactDef(code, label_zh, label_en)

    raw_items = doc["items"]
    if not isinstance(raw_items, _Sequence) or not raw_items:
        raise fail(doc, "'items' must be a non-empty list of {code, zh, en}", "items")
    items: dict[str, ItemDef] = {}
    for spec in raw_items:
        if not isinstance(spec, _Mapping):
            raise fail(raw_items, "each item must be a mapping with 'code', 'zh' and 'en'")
        check_keys(spec, _ITEM_KEYS, "item")
        if "code" not in spec:
            raise fail(spec, "an item needs a 'code'")
        code = check_code(spec, spec["code"], "item", "code")
        if code in items:
            raise fail(spec, f"duplicate item code {code!r}", "code")
        label_zh, label_en = labels(spec, f"item {code!r}")
        electronic = spec.get("electronic", True)
        if not isinstance(electronic, bool):
            raise fail(spec, f"'electronic' of item {code!r} must be true or false, not {electronic!r}", "electronic")
        items[code] = ItemDef(code, label_zh, label_en, electronic)

    raw_types = doc["claim_types"]
    if not isinstance(raw_types, _Mapping) or not raw_types:
        raise fail(doc, "'claim_types' must be a non-empty mapping", "claim_types")
    claim_types: dict[str, ClaimTypeDef] = {}
    for type_code, spec in raw_types.items():
        check_code(raw_types, type_code, "claim type", type_code)
        if not isinstance(spec, _Mapping):
            raise fail(raw_types, f"claim type {type_code!r} must be a mapping", type_code)
        check_keys(spec, _TYPE_KEYS, f"claim type {type_code!r}")
        name_zh, name_en = labels(spec, f"claim type {type_code!r}")
        requirements: list[Requirement] = []
        seen: set[str] = set()
        for kind in ("required", "optional"):
            entries = spec.get(kind)
            if entries is None:
                continue
            if not isinstance(entries, _Sequence):
                raise fail(spec, f"{kind!r} of claim type {type_code!r} must be a list", kind)
            for entry in entries:
                where = entry if isinstance(entry, _Mapping) else spec
                where_key = None if isinstance(entry, _Mapping) else kind
                requirement = _requirement(entry, kind, type_code, facts, fail, check_keys)
                if requirement.item not in items:
                    raise fail(
                        where,
                        f"unknown item {requirement.item!r} in claim type {type_code!r} (not in 'items')",
                        where_key if where_key else "item",
                    )
                if requirement.item in seen:
                    raise fail(
                        where,
                        f"duplicate item code {requirement.item!r} in claim type {type_code!r}",
                        where_key if where_key else "item",
                    )
                seen.add(requirement.item)
                if not items[requirement.item].electronic:
                    requirement = replace(requirement, electronic=False)
                requirements.append(requirement)
        if not requirements:
            raise fail(
                raw_types, f"claim type {type_code!r} lists no items ('required' and 'optional' are empty)", type_code
            )
        claim_types[type_code] = ClaimTypeDef(type_code, name_zh, name_en, tuple(requirements))

    name = doc.get("name", _Mapping())
    if isinstance(name, dict):
        name_zh, name_en = str(name.get("zh", line)), str(name.get("en", line))
    else:
        name_zh = name_en = str(name)
    return Checklist(line, name_zh, name_en, facts, items, claim_types, source)


def _requirement(
    entry: Any,
    kind: str,
    type_code: str,
    facts: dict[str, FactDef],
    fail: Callable[..., ChecklistError],
    check_keys: Callable[[Any, set[str], str], None],
) -> Requirement:
    optional = kind == "optional"
    if isinstance(entry, str):
        return Requirement(entry, optional)
    if not isinstance(entry, _Mapping):
        raise fail(entry, f"an entry of {kind!r} in claim type {type_code!r} must be an item code or {{item, when}}")
    check_keys(entry, _ENTRY_KEYS, f"an entry of claim type {type_code!r}")
    if not isinstance(entry.get("item"), str):
        raise fail(entry, "a conditional entry needs 'item' (an item code)")
    when = entry.get("when")
    if when is None:
        return Requirement(entry["item"], optional)
    if not isinstance(when, _Mapping) or not when:
        raise fail(entry, "'when' must be a mapping with 'facts' and/or 'any_facts'", "when")
    check_keys(when, _WHEN_KEYS, "'when'")
    conditions: dict[str, frozenset[str]] = {}
    for key in ("facts", "any_facts"):
        value = when.get(key)
        if value is None:
            conditions[key] = frozenset()
            continue
        listed = list(value) if isinstance(value, list) else [value]
        if not listed:
            raise fail(when, f"'{key}' of a condition must name at least one fact", key)
        for fact in listed:
            if fact not in facts:
                known = ", ".join(sorted(facts)) or "none declared"
                raise fail(when, f"condition on unknown fact {fact!r} (declared facts: {known})", key)
        conditions[key] = frozenset(str(f) for f in listed)
    return Requirement(entry["item"], optional, conditions["facts"], conditions["any_facts"])


def load_checklist_file(path: Path, known_lines: Collection[str] | None = None) -> Checklist:
    return parse_checklist(path.read_text(encoding="utf-8"), str(path), known_lines)


def load_checklist_dir(*directories: Path | None, known_lines: Collection[str] | None = None) -> dict[str, Checklist]:
    """Later directories override earlier ones line by line (site or tenant overrides); within one
    directory a line may be defined once."""
    checklists: dict[str, Checklist] = {}
    for directory in directories:
        if directory is None:
            continue
        in_this_dir: dict[str, str] = {}
        for path in sorted(directory.glob("*.yaml")):
            checklist = load_checklist_file(path, known_lines)
            if checklist.line in in_this_dir:
                raise ChecklistError(
                    str(path), 1, f"line {checklist.line!r} is already defined in {in_this_dir[checklist.line]}"
                )
            in_this_dir[checklist.line] = str(path)
            checklists[checklist.line] = checklist
    return checklists


def check_files(paths: Iterable[Path], known_lines: Collection[str] | None = None) -> list[Checklist]:
    """Validate the given files (the CLI's ``materials check``); raises on the first problem."""
    return [load_checklist_file(path, known_lines) for path in paths]
