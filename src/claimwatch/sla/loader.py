"""SLA policies as data: read from YAML, validated with file and line, overridable per tenant."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from claimwatch.auth.models import Role
from claimwatch.calendar.workdays import Unit
from claimwatch.cases.schemas import Coverage
from claimwatch.config import get_settings, tenant_override
from claimwatch.workflow import service as workflow_service
from claimwatch.workflow.loader import ROUTE_NORMAL, ROUTES
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, as_list, line_of
from claimwatch.yaml_source import load as load_yaml

# Signals other domains send about a claim (see sla.service.signal): the one-time notice went out, its items
# arrived, the claim's checklist is complete (materials), the 保险法 art. 24 refusal notice was sent (notify).
SIGNALS = frozenset({"materials_requested", "materials_received", "materials_complete", "refusal_notice_sent"})
# A clock may start on these (the art. 23 decision clock runs from complete materials, not from the report).
START_SIGNALS = frozenset({"materials_received", "materials_complete"})
START_EVENTS = frozenset({"reported"})
# Values of claims.coverage a policy can select (cases.schemas.Coverage): 交强险 has its own clocks.
COVERAGES = tuple(c.value for c in Coverage)


class PolicyError(ConfigFileError):
    pass


@dataclass(frozen=True)
class Policy:
    code: str
    name_zh: str
    name_en: str
    basis: str
    unit: Unit
    yellow: float  # in units of ``unit``: the target; passing it is a breach
    red: float  # the escalation threshold (监管报备)
    lines: frozenset[str] | None = None  # None: every line of business
    amount_at_least_fen: int | None = None
    amount_below_fen: int | None = None
    # Only claims on one of these routes (claims.route, set by triage), e.g. fast_track; None: every route.
    routes: frozenset[str] | None = None
    # Only claims of these coverages (claims.coverage: compulsory = 交强险); None: any. ``coverages_excluded``:
    # claims of these coverages are left out (the general art. 22/23 clocks leave 交强险 to its own).
    coverages: frozenset[str] | None = None
    coverages_excluded: frozenset[str] = frozenset()
    start_events: frozenset[str] = frozenset()
    start_signals: frozenset[str] = frozenset()
    start_statuses: frozenset[str] = frozenset()
    pause_statuses: frozenset[str] = frozenset()
    pause_signals: frozenset[str] = frozenset()
    resume_signals: frozenset[str] = frozenset()
    stop_statuses: frozenset[str] = frozenset()
    stop_signals: frozenset[str] = frozenset()
    restart_statuses: frozenset[str] = frozenset()
    extension_max: float | None = None  # units; None: no extension allowed
    approver_roles: frozenset[str] = frozenset({"supervisor", "admin"})
    enabled: bool = True
    source: str = ""

    @property
    def yellow_seconds(self) -> float:
        return self.yellow * self.unit.seconds_per_unit

    @property
    def red_seconds(self) -> float:
        return self.red * self.unit.seconds_per_unit

    def applies_to(
        self, line: str, amount_fen: int | None, route: str = ROUTE_NORMAL, coverage: str | None = None
    ) -> bool:
        if not self.enabled:
            return False
        if self.lines is not None and line not in self.lines:
            return False
        if self.routes is not None and route not in self.routes:
            return False
        if coverage in self.coverages_excluded or (self.coverages is not None and coverage not in self.coverages):
            return False
        if self.amount_at_least_fen is not None or self.amount_below_fen is not None:
            # A tier needs an amount: a claim reported without one gets no tiered clock.
            if amount_fen is None:
                return False
            if self.amount_at_least_fen is not None and amount_fen < self.amount_at_least_fen:
                return False
            if self.amount_below_fen is not None and amount_fen >= self.amount_below_fen:
                return False
        return True

    def label(self, locale: str) -> str:
        return self.name_zh if locale == "zh" else self.name_en


_POLICY_KEYS = {
    "code",
    "name",
    "basis",
    "unit",
    "yellow",
    "red",
    "lines",
    "amount",
    "routes",
    "coverage",
    "start",
    "pause",
    "resume",
    "stop",
    "restart",
    "extension",
    "enabled",
}
_OVERRIDE_KEYS = {"yellow", "red", "lines", "amount", "routes", "coverage", "extension", "enabled"}


def _known_statuses() -> set[str]:
    return {state for workflow in workflow_service.registry().values() for state in workflow.states}


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.statuses = _known_statuses()
        self.lines = set(workflow_service.lines())

    def fail(self, node: Any, problem: str, key: str | None = None) -> PolicyError:
        return PolicyError(self.source, line_of(node, key), problem)

    def number(self, node: Mapping, key: str, what: str) -> float:
        value = node.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(node, f"{what} must be a positive number, not {value!r}", key)
        return float(value)

    def amount(self, node: Mapping, key: str) -> int | None:
        if key not in node:
            return None
        try:
            value = Decimal(str(node[key]))
        except InvalidOperation as exc:
            raise self.fail(node, f"amount {key} {node[key]!r} is not a number of CNY", key) from exc
        if value < 0:
            raise self.fail(node, f"amount {key} must not be negative", key)
        return int(value * 100)

    def condition(
        self, node: Mapping, key: str, allow_events: bool = False
    ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        spec = node.get(key)
        if spec is None:
            return frozenset(), frozenset(), frozenset()
        if not isinstance(spec, Mapping):
            raise self.fail(node, f"'{key}' must be a mapping of statuses/signals", key)
        allowed = {"statuses", "signals"} | ({"events"} if allow_events else set())
        for attr in spec:
            if attr not in allowed:
                raise self.fail(spec, f"unknown key {attr!r} in '{key}' (expected {sorted(allowed)})", attr)
        statuses = frozenset(str(s) for s in as_list(spec.get("statuses", [])))
        for status in statuses:
            if status not in self.statuses:
                raise self.fail(spec, f"unknown status {status!r} in '{key}' (not in any workflow)", "statuses")
        signals = frozenset(str(s) for s in as_list(spec.get("signals", [])))
        for signal in signals:
            if signal not in SIGNALS:
                raise self.fail(spec, f"unknown signal {signal!r} in '{key}' (known: {sorted(SIGNALS)})", "signals")
        events = frozenset(str(e) for e in as_list(spec.get("events", [])))
        for event in events:
            if event not in START_EVENTS:
                raise self.fail(spec, f"unknown event {event!r} in '{key}' (known: {sorted(START_EVENTS)})", "events")
        return statuses, signals, events

    def coverage(self, node: Mapping) -> tuple[frozenset[str] | None, frozenset[str]]:
        """``coverage: [compulsory]`` (only these) or ``coverage: {not: [compulsory]}`` (all but these)."""
        spec = node["coverage"]
        excluded = isinstance(spec, Mapping)
        if excluded:
            if set(spec) != {"not"}:
                raise self.fail(node, "'coverage' is a list, or a mapping with one key 'not'", "coverage")
            spec = spec["not"]
        values = frozenset(str(x) for x in as_list(spec))
        if not values:
            raise self.fail(node, "'coverage' must name at least one coverage", "coverage")
        for value in sorted(values):
            if value not in COVERAGES:
                raise self.fail(node, f"unknown coverage {value!r} (known: {', '.join(COVERAGES)})", "coverage")
        return (None, values) if excluded else (values, frozenset())

    def limits(self, node: Mapping, base: Policy | None) -> dict[str, Any]:
        """yellow, red, lines, amount, routes, extension, enabled — shared by policies and overrides."""
        values: dict[str, Any] = {}
        if "yellow" in node or base is None:
            values["yellow"] = self.number(node, "yellow", "'yellow'")
        if "red" in node or base is None:
            values["red"] = self.number(node, "red", "'red'")
        yellow = values.get("yellow", base.yellow if base else 0)
        red = values.get("red", base.red if base else 0)
        if yellow > red:
            raise self.fail(node, f"yellow ({yellow:g}) falls after red ({red:g}): yellow must come first", "yellow")
        if "lines" in node:
            lines = frozenset(str(x) for x in as_list(node["lines"]))
            for line in lines:
                if line not in self.lines:
                    raise self.fail(node, f"unknown line of business {line!r}", "lines")
            values["lines"] = lines
        if "amount" in node:
            amount = node["amount"]
            if not isinstance(amount, Mapping) or not set(amount) <= {"at_least", "below"}:
                raise self.fail(node, "'amount' takes at_least and/or below (CNY)", "amount")
            values["amount_at_least_fen"] = self.amount(amount, "at_least")
            values["amount_below_fen"] = self.amount(amount, "below")
            low, high = values["amount_at_least_fen"], values["amount_below_fen"]
            if low is not None and high is not None and low >= high:
                raise self.fail(amount, "amount 'at_least' must be below 'below'")
        if "routes" in node:
            routes = frozenset(str(x) for x in as_list(node["routes"]))
            if not routes:
                raise self.fail(node, "'routes' must name at least one route", "routes")
            for route in sorted(routes):
                if route not in ROUTES:
                    raise self.fail(node, f"unknown route {route!r} (known: {', '.join(ROUTES)})", "routes")
            values["routes"] = routes
        if "coverage" in node:
            values["coverages"], values["coverages_excluded"] = self.coverage(node)
        if "extension" in node:
            extension = node["extension"]
            if extension is None:
                values["extension_max"] = None
            else:
                if not isinstance(extension, Mapping) or not set(extension) <= {"max", "approver_roles"}:
                    raise self.fail(node, "'extension' takes max (units) and approver_roles", "extension")
                values["extension_max"] = self.number(extension, "max", "extension 'max'")
                if "approver_roles" in extension:
                    roles = frozenset(str(r) for r in as_list(extension["approver_roles"]))
                    for role in roles:
                        if role not in {r.value for r in Role}:
                            raise self.fail(extension, f"unknown role {role!r}", "approver_roles")
                    values["approver_roles"] = roles
        if "enabled" in node:
            values["enabled"] = bool(node["enabled"])
        return values

    def policy(self, node: Any) -> Policy:
        if not isinstance(node, Mapping):
            raise PolicyError(self.source, None, "each policy must be a mapping")
        for key in node:
            if key not in _POLICY_KEYS:
                raise self.fail(node, f"unknown key {key!r} in policy", key)
        for required in ("code", "unit", "yellow", "red", "start", "stop"):
            if required not in node:
                raise self.fail(node, f"policy is missing {required!r}")
        try:
            unit = Unit(str(node["unit"]))
        except ValueError as exc:
            known = ", ".join(u.value for u in Unit)
            raise self.fail(node, f"unknown unit {node['unit']!r} (known: {known})", "unit") from exc
        start_statuses, start_signals, start_events = self.condition(node, "start", allow_events=True)
        if start_signals - START_SIGNALS:
            unknown = sorted(start_signals - START_SIGNALS)[0]
            raise self.fail(node, f"a clock cannot start on {unknown!r} (only on {sorted(START_SIGNALS)})", "start")
        if not start_statuses and not start_events and not start_signals:
            raise self.fail(node, "'start' names no event, status or signal", "start")
        pause_statuses, pause_signals, _ = self.condition(node, "pause")
        resume_statuses, resume_signals, _ = self.condition(node, "resume")
        if resume_statuses:
            raise self.fail(node, "a clock resumes when it leaves a pause status; list only signals", "resume")
        if pause_signals and not resume_signals:
            raise self.fail(node, "a clock paused by a signal needs a 'resume' signal", "pause")
        stop_statuses, stop_signals, _ = self.condition(node, "stop")
        if not stop_statuses and not stop_signals:
            raise self.fail(node, "'stop' names no status or signal", "stop")
        restart_statuses, _, _ = self.condition(node, "restart")
        overlap = pause_statuses & stop_statuses
        if overlap:
            raise self.fail(node, f"status {sorted(overlap)[0]!r} both pauses and stops the clock", "pause")
        name = node.get("name", {})
        return Policy(
            code=str(node["code"]),
            name_zh=str(name.get("zh", node["code"])) if isinstance(name, dict) else str(name),
            name_en=str(name.get("en", node["code"])) if isinstance(name, dict) else str(name),
            basis=str(node.get("basis", "")),
            unit=unit,
            start_events=start_events,
            start_signals=start_signals,
            start_statuses=start_statuses,
            pause_statuses=pause_statuses,
            pause_signals=pause_signals,
            resume_signals=resume_signals,
            stop_statuses=stop_statuses,
            stop_signals=stop_signals,
            restart_statuses=restart_statuses,
            source=f"{self.source}:{node.line}",
            **self.limits(node, None),
        )


def parse_policies(text: str, source: str) -> list[Policy]:
    reader = _Reader(source)
    doc = load_yaml(text, source, PolicyError)
    if not isinstance(doc, Mapping) or "policies" not in doc:
        raise PolicyError(source, 1, "a policy file is a mapping with a 'policies' list")
    for key in doc:
        if key != "policies":
            raise reader.fail(doc, f"unknown key {key!r}", key)
    entries = doc["policies"]
    if not isinstance(entries, Sequence):
        raise reader.fail(doc, "'policies' must be a list", "policies")
    policies: list[Policy] = []
    seen: dict[str, int] = {}
    for entry in entries:
        policy = reader.policy(entry)
        if policy.code in seen:
            raise reader.fail(entry, f"duplicate policy code {policy.code!r} (first at line {seen[policy.code]})")
        seen[policy.code] = line_of(entry) or 0
        policies.append(policy)
    return policies


def parse_overrides(text: str, source: str, base: dict[str, Policy]) -> dict[str, Policy]:
    """A tenant's file: ``overrides: {code: {yellow, red, …}}``; unknown codes and keys are errors."""
    reader = _Reader(source)
    doc = load_yaml(text, source, PolicyError)
    if not isinstance(doc, Mapping) or set(doc) - {"overrides"}:
        raise PolicyError(source, 1, "an override file is a mapping with one key, 'overrides'")
    overrides = doc.get("overrides") or Mapping()
    if not isinstance(overrides, Mapping):
        raise reader.fail(doc, "'overrides' must map policy codes to changes", "overrides")
    result = dict(base)
    for code, change in overrides.items():
        if code not in base:
            raise reader.fail(overrides, f"unknown policy {code!r} (known: {', '.join(sorted(base))})", code)
        if not isinstance(change, Mapping):
            raise reader.fail(overrides, f"override of {code!r} must be a mapping", code)
        for key in change:
            if key not in _OVERRIDE_KEYS:
                raise reader.fail(change, f"key {key!r} cannot be overridden (allowed: {sorted(_OVERRIDE_KEYS)})", key)
        result[code] = dataclasses.replace(
            base[code], source=f"{source}:{change.line}", **reader.limits(change, base[code])
        )
    return result


def load_policy_dir(directory: Path) -> dict[str, Policy]:
    policies: dict[str, Policy] = {}
    for path in sorted(directory.glob("*.yaml")):
        for policy in parse_policies(path.read_text(encoding="utf-8"), str(path)):
            if policy.code in policies:
                raise PolicyError(
                    str(path), None, f"policy {policy.code!r} is also defined in {policies[policy.code].source}"
                )
            policies[policy.code] = policy
    return policies


@lru_cache
def base_policies() -> dict[str, Policy]:
    return load_policy_dir(get_settings().policies_dir)


@lru_cache
def policies_for_tenant(tenant_code: str) -> dict[str, Policy]:
    """The defaults with the tenant's overrides file applied (``<dir>/<TENANT_CODE>.yaml``)."""
    return with_tenant_overrides(base_policies(), tenant_code)


def with_tenant_overrides(base: dict[str, Policy], tenant_code: str, subject: str | None = None) -> dict[str, Policy]:
    """``base`` with the tenant's overrides file applied, if it has one: ``<overrides dir>/<TENANT_CODE>.yaml``
    for claim policies, ``<overrides dir>/<subject>/<TENANT_CODE>.yaml`` for a subject's (complaints)."""
    path = tenant_override(subject or "", tenant_code)
    if path is None:
        return base
    return parse_overrides(path.read_text(encoding="utf-8"), str(path), base)


_SUBJECT_POLICY_KEYS = {"code", "name", "basis", "unit", "yellow", "red", "extension", "enabled"}


def parse_subject_policies(text: str, source: str) -> list[Policy]:
    """Policies of a subject that drives its clocks itself (complaints): code, name, basis, unit, yellow,
    red, extension, enabled — no start/pause/stop conditions, since the subject's own service starts,
    suspends and stops the clocks. Same file shape and errors (file:line) as :func:`parse_policies`."""
    reader = _Reader(source)
    doc = load_yaml(text, source, PolicyError)
    if not isinstance(doc, Mapping) or set(doc) != {"policies"}:
        raise PolicyError(source, 1, "a policy file is a mapping with one key, 'policies'")
    entries = doc["policies"]
    if not isinstance(entries, Sequence):
        raise reader.fail(doc, "'policies' must be a list", "policies")
    policies: list[Policy] = []
    seen: dict[str, int] = {}
    for node in entries:
        if not isinstance(node, Mapping):
            raise PolicyError(source, line_of(entries), "each policy must be a mapping")
        for key in node:
            if key not in _SUBJECT_POLICY_KEYS:
                raise reader.fail(node, f"unknown key {key!r} in policy (allowed: {sorted(_SUBJECT_POLICY_KEYS)})", key)
        for required in ("code", "unit", "yellow", "red"):
            if required not in node:
                raise reader.fail(node, f"policy is missing {required!r}")
        try:
            unit = Unit(str(node["unit"]))
        except ValueError as exc:
            known = ", ".join(u.value for u in Unit)
            raise reader.fail(node, f"unknown unit {node['unit']!r} (known: {known})", "unit") from exc
        code = str(node["code"])
        if code in seen:
            raise reader.fail(node, f"duplicate policy code {code!r} (first at line {seen[code]})")
        seen[code] = line_of(node) or 0
        name = node.get("name", {})
        policies.append(
            Policy(
                code=code,
                name_zh=str(name.get("zh", code)) if isinstance(name, dict) else str(name),
                name_en=str(name.get("en", code)) if isinstance(name, dict) else str(name),
                basis=str(node.get("basis", "")),
                unit=unit,
                source=f"{source}:{node.line}",
                **reader.limits(node, None),
            )
        )
    return policies
