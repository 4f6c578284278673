"""Who must take which training, as data (``defaults/people/training.yaml``), validated with file and line.

A rule names a course by its code and who must take it (staff kinds, optionally job titles): the first
attendance is due ``within_days_of_hire`` days after the hire date; ``every_months`` makes it recurring (taken
again that many months after the last attendance), without it the course is taken once (an induction). Besides
the courses, a minimum of training hours per calendar year per staff kind, and the coverage target (percent).
An insurer's own file replaces the bundled one whole: ``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/people/training/
<TENANT_CODE>.yaml``. Pure: no database here but the tenant's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.audit.hashing import sha256_hex
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_FILE = PACKAGE_DIR / "defaults" / "people" / "training.yaml"
STAFF_KINDS = ("employee", "agent")
_TOP_KEYS = {"version", "coverage_target", "yearly_hours", "mandatory"}
_RULE_KEYS = {"course", "kinds", "job_titles", "within_days_of_hire", "every_months"}
MAX_DAYS = 3650
MAX_MONTHS = 120
MAX_HOURS = 2000


class TrainingRulesError(ConfigFileError):
    pass


@dataclass(frozen=True)
class MandatoryRule:
    """A course someone must take: ``course`` is a TrainingCourse code."""

    course: str
    kinds: tuple[str, ...]
    job_titles: tuple[str, ...]  # empty: every job title
    within_days_of_hire: int
    every_months: int | None  # None: once

    def applies_to(self, kind: str, job_title: str | None) -> bool:
        if kind not in self.kinds:
            return False
        return not self.job_titles or (job_title or "").strip() in self.job_titles

    def as_dict(self) -> dict[str, Any]:
        return {
            "course": self.course,
            "kinds": list(self.kinds),
            "job_titles": list(self.job_titles),
            "within_days_of_hire": self.within_days_of_hire,
            "every_months": self.every_months,
        }


@dataclass(frozen=True)
class TrainingRules:
    version: str
    coverage_target: float  # percent
    yearly_hours: dict[str, float]  # staff kind -> minimum hours per calendar year
    mandatory: tuple[MandatoryRule, ...]
    digest: str
    source: str

    def rules_for(self, kind: str, job_title: str | None) -> list[MandatoryRule]:
        return [rule for rule in self.mandatory if rule.applies_to(kind, job_title)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "digest": self.digest,
            "coverage_target": self.coverage_target,
            "yearly_hours": dict(self.yearly_hours),
            "mandatory": [rule.as_dict() for rule in self.mandatory],
        }


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> TrainingRulesError:
    return TrainingRulesError(source, line_of(node, key), problem)


def _whole(source: str, node: Mapping, key: str, low: int, high: int) -> int:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(source, node, f"{key!r} is a whole number {low}–{high}, not {value!r}", key)
    return value


def _texts(source: str, node: Mapping, key: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    value = node.get(key, Sequence())
    if not isinstance(value, list):
        raise _fail(source, node, f"{key!r} is a list", key)
    found: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > 100:
            raise _fail(source, node, f"each of {key!r} is a text of at most 100 characters", key)
        if allowed is not None and item not in allowed:
            raise _fail(source, node, f"unknown {key[:-1]} {item!r} (known: {', '.join(allowed)})", key)
        if item.strip() in found:
            raise _fail(source, node, f"{key!r} repeats {item!r}", key)
        found.append(item.strip())
    return tuple(found)


def _rule(source: str, node: Any) -> MandatoryRule:
    if not isinstance(node, Mapping):
        raise TrainingRulesError(source, line_of(node), "each mandatory rule is a mapping (course, kinds, …)")
    for key in node:
        if key not in _RULE_KEYS:
            raise _fail(source, node, f"unknown key {key!r} in a rule (known: {', '.join(sorted(_RULE_KEYS))})", key)
    course = node.get("course")
    if not isinstance(course, str) or not course.strip() or len(course) > 64:
        raise _fail(source, node, "'course' is a course code (at most 64 characters)", "course")
    kinds = _texts(source, node, "kinds", STAFF_KINDS)
    if not kinds:
        raise _fail(source, node, f"'kinds' names at least one staff kind ({', '.join(STAFF_KINDS)})", "kinds")
    every = node.get("every_months")
    return MandatoryRule(
        course=course.strip(),
        kinds=kinds,
        job_titles=_texts(source, node, "job_titles"),
        within_days_of_hire=_whole(source, node, "within_days_of_hire", 0, MAX_DAYS),
        every_months=None if every is None else _whole(source, node, "every_months", 1, MAX_MONTHS),
    )


def _hours(source: str, doc: Mapping) -> dict[str, float]:
    node = doc.get("yearly_hours", Mapping())
    if not isinstance(node, Mapping):
        raise _fail(source, doc, "'yearly_hours' maps a staff kind to its minimum hours a year", "yearly_hours")
    hours: dict[str, float] = {}
    for kind, value in node.items():
        if kind not in STAFF_KINDS:
            raise _fail(source, node, f"unknown staff kind {kind!r} (known: {', '.join(STAFF_KINDS)})", kind)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_HOURS:
            raise _fail(source, node, f"hours are a number 0–{MAX_HOURS}, not {value!r}", kind)
        hours[kind] = float(value)
    return hours


def parse(text: str, source: str) -> TrainingRules:
    """A training-rules file; errors name ``source:line``."""
    doc = load_yaml(text, source, TrainingRulesError)
    if not isinstance(doc, Mapping):
        raise TrainingRulesError(source, 1, "a training-rules file is a mapping (version, mandatory, …)")
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(source, doc, f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})", key)
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, str | int | float) or not str(version).strip():
        raise _fail(source, doc, "'version' is required (e.g. \"2026.12-1\")", "version")
    target = doc.get("coverage_target", 100)
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 100:
        raise _fail(
            source, doc, f"'coverage_target' is a percentage above 0 and at most 100, not {target!r}", "coverage_target"
        )
    entries = doc.get("mandatory")
    if not isinstance(entries, Sequence):
        raise _fail(source, doc, "'mandatory' is a list of rules (course, kinds, within_days_of_hire)", "mandatory")
    rules: list[MandatoryRule] = []
    seen: set[tuple[str, str, str]] = set()
    for node in entries:
        rule = _rule(source, node)
        for kind in rule.kinds:
            for title in rule.job_titles or ("",):
                if (rule.course, kind, title) in seen:
                    raise _fail(source, node, f"course {rule.course!r} is already required of {kind!r}", "course")
                seen.add((rule.course, kind, title))
        rules.append(rule)
    return TrainingRules(str(version), float(target), _hours(source, doc), tuple(rules), sha256_hex(text), source)


def load(path: Path) -> TrainingRules:
    return parse(path.read_text(encoding="utf-8"), str(path))


@lru_cache
def base_rules() -> TrainingRules:
    return load(DEFAULT_FILE)


@lru_cache(maxsize=64)
def _cached(path: Path, _mtime: int) -> TrainingRules:
    return load(path)


def rules_for_code(tenant_code: str | None) -> TrainingRules:
    """The insurer's own file when it has one, else the bundled one."""
    path = tenant_override("people/training", tenant_code)
    return _cached(path, path.stat().st_mtime_ns) if path is not None else base_rules()


def rules_for(session: Session, tenant_id: int) -> TrainingRules:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return rules_for_code(tenant.code if tenant is not None else None)
