"""The violation catalogue as data (defaults/sanctions/violations.yaml), validated with file and line.

Each violation names its default sanction; a fine its range in CNY, a suspension its range of days and the
permission group it suspends. ``ranges`` gives the range of a kind a violation does not name (a repeat
escalated it there); ``repeat`` the rule that escalates. A tenant's file replaces the bundled one whole:
``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/sanctions/<TENANT_CODE>.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from claimwatch.auth.principal import PERMISSION_GROUPS
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_CATALOGUE = PACKAGE_DIR / "defaults" / "sanctions" / "violations.yaml"
# Mildest first: a repeat escalates one step along this ladder.
KINDS = ("warning", "reprimand", "fine", "suspension", "dismissal")
SEVERITIES = ("minor", "major", "severe")
_TOP_KEYS = {"version", "ranges", "repeat", "violations"}
_VIOLATION_KEYS = {"code", "description", "severity", "sanction"}
_SANCTION_KEYS = {"kind", "min", "max", "default", "group"}


class CatalogueError(ConfigFileError):
    pass


@dataclass(frozen=True)
class Range:
    """A fine in CNY (whole yuan or with fen) or a suspension in days; ``group`` only for a suspension."""

    minimum: Decimal
    maximum: Decimal
    default: Decimal
    group: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"min": str(self.minimum), "max": str(self.maximum), "default": str(self.default)}
        if self.group:
            found["group"] = self.group
        return found


@dataclass(frozen=True)
class ViolationType:
    code: str
    zh: str
    en: str
    severity: str
    kind: str  # the default sanction
    fine: Range | None = None
    suspension: Range | None = None

    def description(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@dataclass(frozen=True)
class Catalogue:
    version: str
    violations: dict[str, ViolationType]
    fine: Range
    suspension: Range
    threshold: int
    window_months: int
    training_zh: str
    training_en: str
    training_due_days: int
    source: str = ""

    def get(self, code: str) -> ViolationType | None:
        return self.violations.get(code)

    def range_for(self, violation: ViolationType, kind: str) -> Range | None:
        """The range a sanction of ``kind`` may take for this violation (None: a kind without amount or days)."""
        if kind == "fine":
            return violation.fine or self.fine
        if kind == "suspension":
            return violation.suspension or self.suspension
        return None

    def escalate(self, kind: str) -> str:
        index = KINDS.index(kind)
        return KINDS[min(index + 1, len(KINDS) - 1)]

    def training_topic(self, locale: str) -> str:
        return self.training_en if locale == "en" else self.training_zh

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "kinds": list(KINDS),
            "ranges": {"fine": self.fine.as_dict(), "suspension": self.suspension.as_dict()},
            "repeat": {
                "threshold": self.threshold,
                "window_months": self.window_months,
                "training": {"zh": self.training_zh, "en": self.training_en, "due_days": self.training_due_days},
            },
            "violations": [
                {
                    "code": v.code,
                    "description": {"zh": v.zh, "en": v.en},
                    "severity": v.severity,
                    "sanction": v.kind,
                    "fine": v.fine.as_dict() if v.fine else None,
                    "suspension": v.suspension.as_dict() if v.suspension else None,
                }
                for v in self.violations.values()
            ],
        }


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> CatalogueError:
    return CatalogueError(source, line_of(node, key), problem)


def _text(source: str, node: Mapping, key: str, what: str, limit: int = 200) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, node, f"{what} is required (text)", key)
    if len(value) > limit:
        raise _fail(source, node, f"{what} must be at most {limit} characters", key)
    return value.strip()


def _number(source: str, node: Mapping, key: str, what: str, *, whole: bool) -> Decimal:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _fail(source, node, f"{what} must be a positive number, not {value!r}", key)
    if whole and not float(value).is_integer():
        raise _fail(source, node, f"{what} must be a whole number of days, not {value!r}", key)
    number = Decimal(str(value))
    if not whole and number != number.quantize(Decimal("0.01")):
        raise _fail(source, node, f"{what} has more than two decimals (fen)", key)
    return number


def _range(source: str, node: Mapping, kind: str, *, need_default: bool = True) -> Range:
    whole = kind == "suspension"
    unit = "days" if whole else "CNY"
    minimum = _number(source, node, "min", f"the {kind}'s min ({unit})", whole=whole)
    maximum = _number(source, node, "max", f"the {kind}'s max ({unit})", whole=whole)
    if maximum < minimum:
        raise _fail(source, node, f"the {kind}'s max ({maximum}) is below its min ({minimum})", "max")
    if "default" in node or need_default:
        default = _number(source, node, "default", f"the {kind}'s default ({unit})", whole=whole)
        if not minimum <= default <= maximum:
            raise _fail(source, node, f"the {kind}'s default {default} is outside {minimum}–{maximum}", "default")
    else:
        default = minimum
    group = None
    if kind == "suspension":
        group = node.get("group")
        if group not in PERMISSION_GROUPS:
            known = ", ".join(PERMISSION_GROUPS)
            raise _fail(source, node, f"a suspension names its permission group ({known}), not {group!r}", "group")
    elif "group" in node:
        raise _fail(source, node, "only a suspension names a permission group", "group")
    return Range(minimum, maximum, default, group)


def _violation(source: str, node: Any, parent: Sequence) -> ViolationType:
    if not isinstance(node, Mapping):
        raise _fail(source, parent, "each violation is a mapping (code, description, severity, sanction)")
    for key in node:
        if key not in _VIOLATION_KEYS:
            raise _fail(source, node, f"unknown key {key!r} (expected {', '.join(sorted(_VIOLATION_KEYS))})", key)
    code = _text(source, node, "code", "'code'", 48)
    if not code.replace("_", "").replace("-", "").isalnum():
        raise _fail(source, node, f"code {code!r} may have only letters, digits, '_' and '-'", "code")
    description = node.get("description")
    if not isinstance(description, Mapping):
        raise _fail(source, node, f"violation {code}: 'description' is a mapping with zh and en", "description")
    zh = _text(source, description, "zh", f"violation {code}: description zh")
    en = _text(source, description, "en", f"violation {code}: description en")
    severity = node.get("severity")
    if severity not in SEVERITIES:
        raise _fail(source, node, f"violation {code}: severity is one of {', '.join(SEVERITIES)}", "severity")
    sanction = node.get("sanction")
    if not isinstance(sanction, Mapping):
        raise _fail(source, node, f"violation {code}: 'sanction' is a mapping with its kind", "sanction")
    for key in sanction:
        if key not in _SANCTION_KEYS:
            raise _fail(source, sanction, f"unknown key {key!r} in the sanction of {code}", key)
    kind = sanction.get("kind")
    if kind not in KINDS:
        raise _fail(source, sanction, f"violation {code}: sanction kind is one of {', '.join(KINDS)}", "kind")
    fine = suspension = None
    if kind in ("fine", "suspension"):
        found = _range(source, sanction, kind)
        fine, suspension = (found, None) if kind == "fine" else (None, found)
    elif set(sanction) - {"kind"}:
        raise _fail(source, sanction, f"a {kind} has no range (min, max, default, group)", "kind")
    return ViolationType(code, zh, en, str(severity), str(kind), fine, suspension)


def parse_catalogue(text: str, source: str) -> Catalogue:
    doc = load_yaml(text, source, CatalogueError)
    if not isinstance(doc, Mapping):
        raise CatalogueError(source, 1, "the catalogue is a mapping (version, ranges, repeat, violations)")
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(source, doc, f"unknown key {key!r} (expected {', '.join(sorted(_TOP_KEYS))})", str(key))
    version = doc.get("version")
    if not isinstance(version, str | int | float) or isinstance(version, bool) or not str(version).strip():
        raise _fail(source, doc, "'version' is required (e.g. \"2026.12-1\"): it is recorded in the audit chain")
    ranges = doc.get("ranges")
    if not isinstance(ranges, Mapping) or set(ranges) != {"fine", "suspension"}:
        raise _fail(source, doc, "'ranges' is a mapping with fine and suspension", "ranges")
    for key in ("fine", "suspension"):
        if not isinstance(ranges[key], Mapping):
            raise _fail(source, ranges, f"ranges.{key} is a mapping with min, max and default", key)
    fine = _range(source, ranges["fine"], "fine")
    suspension = _range(source, ranges["suspension"], "suspension")
    repeat = doc.get("repeat")
    if not isinstance(repeat, Mapping):
        raise _fail(source, doc, "'repeat' is a mapping with threshold, window_months and training", "repeat")
    for key in repeat:
        if key not in ("threshold", "window_months", "training"):
            raise _fail(source, repeat, f"unknown key {key!r} in repeat", str(key))
    threshold = repeat.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 2:
        raise _fail(
            source, repeat, f"repeat.threshold is a whole number of violations ≥ 2, not {threshold!r}", "threshold"
        )
    window = repeat.get("window_months", 12)
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 60:
        raise _fail(source, repeat, f"repeat.window_months is 1–60, not {window!r}", "window_months")
    training = repeat.get("training")
    if not isinstance(training, Mapping) or not isinstance(training.get("topic"), Mapping):
        raise _fail(source, repeat, "repeat.training has a topic (zh, en) and due_days", "training")
    topic = training["topic"]
    due_days = training.get("due_days")
    if isinstance(due_days, bool) or not isinstance(due_days, int) or not 1 <= due_days <= 365:
        raise _fail(source, training, f"repeat.training.due_days is 1–365, not {due_days!r}", "due_days")
    entries = doc.get("violations")
    if not isinstance(entries, Sequence) or not entries:
        raise _fail(source, doc, "'violations' is a non-empty list", "violations")
    violations: dict[str, ViolationType] = {}
    for node in entries:
        violation = _violation(source, node, entries)
        if violation.code in violations:
            raise _fail(source, node, f"duplicate violation code {violation.code!r}", "code")
        violations[violation.code] = violation
    return Catalogue(
        version=str(version),
        violations=violations,
        fine=fine,
        suspension=suspension,
        threshold=threshold,
        window_months=window,
        training_zh=_text(source, topic, "zh", "training topic zh"),
        training_en=_text(source, topic, "en", "training topic en"),
        training_due_days=due_days,
        source=source,
    )


def load_catalogue(path: Path) -> Catalogue:
    return parse_catalogue(path.read_text(encoding="utf-8"), str(path))


@lru_cache
def base_catalogue() -> Catalogue:
    return load_catalogue(DEFAULT_CATALOGUE)


def catalogue_for(tenant_code: str | None) -> Catalogue:
    """The tenant's catalogue: its own file when it has one, else the bundled one."""
    path = tenant_override("sanctions", tenant_code)
    return load_catalogue(path) if path is not None else base_catalogue()
