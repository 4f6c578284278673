"""Triage rule sets as YAML (``defaults/triage/rules.yaml``; an insurer's own file in
``CLAIMWATCH_POLICY_OVERRIDES_DIR/triage/<TENANT_CODE>.yaml`` replaces it), validated with file and line.

A file::

    version: "2026.12-1"          # recorded in the audit chain with the file's SHA-256
    mode: monitor                 # monitor | active (a load may override it)
    reevaluate_statuses: [investigation]
    rules:
      - code: FT-MOTOR
        name: {zh: 车损小额快赔, en: Small motor damage}
        route: fast_track         # fast_track | green | manual_review | normal
        priority: 0               # optional 0–3
        vulnerable: false         # optional: a fired rule marks the claimant as a vulnerable customer
        when: {all: [{fact: line, op: eq, value: motor}, ...]}

Conditions are the risk domain's language (:mod:`claimwatch.risk.conditions`): an unknown fact or operator,
or a value that does not suit the fact, is an error naming the line.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from claimwatch.audit.hashing import sha256_hex
from claimwatch.cases.repository import ROUTES
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.risk.conditions import parse_when
from claimwatch.triage.rules import MODES, PRIORITIES, Rule, RuleSet
from claimwatch.workflow import service as workflow_service
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_RULES = PACKAGE_DIR / "defaults" / "triage" / "rules.yaml"
_TOP_KEYS = {"version", "mode", "reevaluate_statuses", "rules"}
_RULE_KEYS = {"code", "name", "route", "priority", "vulnerable", "when"}
MAX_RULES = 500


class RuleSetError(ConfigFileError):
    pass


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> RuleSetError:
    return RuleSetError(source, line_of(node, key), problem)


def _text(source: str, node: Mapping, key: str, limit: int) -> str:
    value = node.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value).strip():
        raise _fail(source, node, f"'{key}' is required", key)
    text = str(value).strip()
    if len(text) > limit:
        raise _fail(source, node, f"'{key}' must be at most {limit} characters", key)
    return text


def _rule(source: str, node: Any, seen: dict[str, int]) -> Rule:
    if not isinstance(node, Mapping):
        raise RuleSetError(source, line_of(node), "each rule must be a mapping (code, name, route, when)")
    for key in node:
        if key not in _RULE_KEYS:
            raise _fail(source, node, f"unknown key {key!r} in rule (known: {', '.join(sorted(_RULE_KEYS))})", str(key))
    code = _text(source, node, "code", 48)
    if code in seen:
        raise _fail(source, node, f"duplicate rule code {code!r} (first at line {seen[code]})", "code")
    seen[code] = node.line
    name = node.get("name")
    if isinstance(name, Mapping):
        unknown = set(name) - {"zh", "en"}
        if unknown or not name.get("zh") or not name.get("en"):
            raise _fail(source, name, "'name' takes zh and en")
        name_zh, name_en = str(name["zh"]), str(name["en"])
    elif isinstance(name, str) and name.strip():
        name_zh = name_en = name.strip()
    else:
        raise _fail(source, node, "'name' is required: {zh: …, en: …}", "name")
    route = node.get("route")
    if route not in ROUTES:
        raise _fail(source, node, f"route must be one of {', '.join(ROUTES)}, not {route!r}", "route")
    priority = node.get("priority", 0)
    if isinstance(priority, bool) or priority not in PRIORITIES:
        raise _fail(source, node, f"priority must be one of 0, 1, 2, 3, not {priority!r}", "priority")
    vulnerable = node.get("vulnerable", False)
    if not isinstance(vulnerable, bool):
        raise _fail(source, node, f"vulnerable must be true or false, not {vulnerable!r}", "vulnerable")
    if "when" not in node:
        raise _fail(source, node, f"rule {code!r} has no 'when'")
    when = parse_when(node["when"], source, error=RuleSetError, line=line_of(node, "when"))
    return Rule(code, name_zh, name_en, str(route), when, int(priority), vulnerable, node.line)


def parse_rule_set(text: str, source: str, mode: str | None = None) -> RuleSet:
    """A rule set from YAML text; ``mode`` (when given) overrides the file's. Errors name ``source:line``."""
    doc = load_yaml(text, source, RuleSetError)
    if not isinstance(doc, Mapping):
        raise RuleSetError(source, 1, "a triage rule set is a mapping (version, mode, rules)")
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(source, doc, f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})", str(key))
    version = _text(source, doc, "version", 64)
    file_mode = doc.get("mode", "monitor")
    if file_mode not in MODES:
        raise _fail(source, doc, f"mode must be monitor or active, not {file_mode!r}", "mode")
    if mode is not None and mode not in MODES:
        raise RuleSetError(source, None, f"mode must be monitor or active, not {mode!r}")
    statuses_node = doc.get("reevaluate_statuses", [])
    if not isinstance(statuses_node, Sequence):
        raise _fail(source, doc, "'reevaluate_statuses' must be a list of workflow statuses", "reevaluate_statuses")
    known = {state for wf in workflow_service.registry().values() for state in wf.states}
    for status in statuses_node:
        if status not in known:
            raise _fail(source, doc, f"unknown status {status!r} (not in any workflow)", "reevaluate_statuses")
    rules_node = doc.get("rules")
    if not isinstance(rules_node, Sequence):
        raise _fail(source, doc, "'rules' must be a list of rules", "rules")
    if len(rules_node) > MAX_RULES:
        raise _fail(source, doc, f"at most {MAX_RULES} rules", "rules")
    seen: dict[str, int] = {}
    rules = tuple(_rule(source, node, seen) for node in rules_node)
    return RuleSet(
        version=version,
        mode=mode or str(file_mode),
        rules=rules,
        digest=sha256_hex(text),
        source=source,
        reevaluate_statuses=frozenset(str(s) for s in statuses_node),
    )


def rule_file(tenant_code: str | None = None) -> Path:
    """The file an insurer's rules are loaded from by default: its own, else the bundled defaults."""
    return tenant_override("triage", tenant_code) or DEFAULT_RULES


def load_rule_file(path: Path, mode: str | None = None) -> RuleSet:
    return parse_rule_set(path.read_text(encoding="utf-8"), str(path), mode)


@lru_cache(maxsize=64)
def parsed(content: str, source: str, mode: str) -> RuleSet:
    """A stored version parsed once per process (versions are immutable rows)."""
    return parse_rule_set(content, source, mode)
