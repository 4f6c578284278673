"""Reads workflow YAML files and validates them, naming the file and line of every problem."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claimwatch import yaml_source
from claimwatch.auth.models import Role
from claimwatch.yaml_source import ConfigFileError
from claimwatch.yaml_source import Mapping as _Mapping
from claimwatch.yaml_source import Sequence as _Sequence
from claimwatch.yaml_source import as_list as _as_list
from claimwatch.yaml_source import line_of as _line_of


class WorkflowError(ConfigFileError):
    """A workflow file is invalid; ``str()`` is ``file:line: problem``."""


# The routes triage gives a claim (``claims.route``): the ordinary path, 三免 fast track, green channel and
# manual review. Lower domains (workflow shortcuts, SLA policy selectors, materials) read the claim's column
# and compare it with these names; triage decides it.
ROUTE_NORMAL = "normal"
ROUTE_FAST_TRACK = "fast_track"
ROUTES = (ROUTE_NORMAL, ROUTE_FAST_TRACK, "green", "manual_review")


@dataclass(frozen=True)
class StateDef:
    key: str
    label_zh: str
    label_en: str
    terminal: bool = False
    notify_claimant: bool = True


@dataclass(frozen=True)
class TransitionDef:
    source: str
    target: str
    roles: frozenset[str]
    reason_required: bool = False
    # Allowed only for claims on one of these routes (``claims.route``), e.g. the 三免 shortcut that waives
    # the survey and the loss assessment for fast-tracked claims; None: every claim.
    routes: frozenset[str] | None = None

    def allows_route(self, route: str) -> bool:
        return self.routes is None or route in self.routes


@dataclass(frozen=True)
class Workflow:
    line: str
    name_zh: str
    name_en: str
    initial: str
    states: dict[str, StateDef]
    transitions: dict[tuple[str, str], TransitionDef]
    source: str = ""
    outgoing: dict[str, list[str]] = field(default_factory=dict)

    def transition(self, source: str, target: str) -> TransitionDef | None:
        return self.transitions.get((source, target))

    def is_terminal(self, state: str) -> bool:
        return self.states[state].terminal


_VALID_ROLES = {role.value for role in Role}
_STATE_KEYS = {"zh", "en", "terminal", "notify_claimant"}
_TRANSITION_KEYS = {"from", "to", "roles", "reason_required", "routes"}
_TOP_KEYS = {"line", "name", "initial", "default_roles", "states", "transitions"}


def parse_workflow(text: str, source: str) -> Workflow:
    doc = yaml_source.load(text, source, WorkflowError)
    if not isinstance(doc, _Mapping):
        raise WorkflowError(source, 1, "a workflow file must be a mapping")

    def fail(node: Any, problem: str, key: str | None = None) -> WorkflowError:
        return WorkflowError(source, _line_of(node, key), problem)

    for key in doc:
        if key not in _TOP_KEYS:
            raise fail(doc, f"unknown key {key!r} (expected one of {sorted(_TOP_KEYS)})", key)
    for required in ("line", "initial", "states", "transitions"):
        if required not in doc:
            raise fail(doc, f"missing key {required!r}")

    default_roles = _as_list(doc.get("default_roles", ["adjuster", "supervisor", "admin", "integration"]))
    for role in default_roles:
        if role not in _VALID_ROLES:
            raise fail(doc, f"unknown role {role!r} in default_roles", "default_roles")

    raw_states = doc["states"]
    if not isinstance(raw_states, _Mapping) or not raw_states:
        raise fail(doc, "'states' must be a non-empty mapping", "states")
    states: dict[str, StateDef] = {}
    for key, spec in raw_states.items():
        spec = spec if spec is not None else _Mapping()
        if not isinstance(spec, _Mapping):
            raise fail(raw_states, f"state {key!r} must be a mapping", key)
        for attr in spec:
            if attr not in _STATE_KEYS:
                raise fail(spec, f"unknown key {attr!r} in state {key!r}", attr)
        states[str(key)] = StateDef(
            key=str(key),
            label_zh=str(spec.get("zh", key)),
            label_en=str(spec.get("en", key)),
            terminal=bool(spec.get("terminal", False)),
            notify_claimant=bool(spec.get("notify_claimant", True)),
        )

    initial = str(doc["initial"])
    if initial not in states:
        raise fail(doc, f"unknown state {initial!r} as initial state", "initial")

    raw_transitions = doc["transitions"]
    if not isinstance(raw_transitions, _Sequence):
        raise fail(doc, "'transitions' must be a list", "transitions")
    transitions: dict[tuple[str, str], TransitionDef] = {}
    for spec in raw_transitions:
        if not isinstance(spec, _Mapping):
            raise fail(raw_transitions, "each transition must be a mapping with 'from' and 'to'")
        for attr in spec:
            if attr not in _TRANSITION_KEYS:
                raise fail(spec, f"unknown key {attr!r} in transition", attr)
        if "from" not in spec or "to" not in spec:
            raise fail(spec, "a transition needs 'from' and 'to'")
        roles = _as_list(spec.get("roles", default_roles))
        for role in roles:
            if role not in _VALID_ROLES:
                raise fail(spec, f"unknown role {role!r}", "roles")
        routes = None
        if "routes" in spec:
            listed = _as_list(spec["routes"])
            if not listed:
                raise fail(spec, "'routes' must name at least one route", "routes")
            for route in listed:
                if route not in ROUTES:
                    raise fail(spec, f"unknown route {route!r} (known: {', '.join(ROUTES)})", "routes")
            routes = frozenset(str(r) for r in listed)
        for target in _as_list(spec["to"]):
            if target not in states:
                raise fail(spec, f"unknown state {target!r} in 'to'", "to")
            for source_state in _as_list(spec["from"]):
                if source_state not in states:
                    raise fail(spec, f"unknown state {source_state!r} in 'from'", "from")
                pair = (str(source_state), str(target))
                if pair in transitions:
                    raise fail(spec, f"duplicate transition {source_state} -> {target}")
                transitions[pair] = TransitionDef(
                    source=pair[0],
                    target=pair[1],
                    roles=frozenset(str(r) for r in roles),
                    reason_required=bool(spec.get("reason_required", False)),
                    routes=routes,
                )

    if not any(s.terminal for s in states.values()):
        raise fail(doc, "no terminal state: mark at least one state 'terminal: true'", "states")

    outgoing: dict[str, list[str]] = {key: [] for key in states}
    for source_state, target in transitions:
        outgoing[source_state].append(target)

    reached = {initial}
    queue = deque([initial])
    while queue:
        for nxt in outgoing[queue.popleft()]:
            if nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    for key in states:
        if key not in reached:
            raise fail(raw_states, f"unreachable state {key!r}: no transition path leads to it from {initial!r}", key)
        if not states[key].terminal and not outgoing[key]:
            raise fail(raw_states, f"dead end: state {key!r} is not terminal and has no way out", key)

    name = doc.get("name", _Mapping())
    return Workflow(
        line=str(doc["line"]),
        name_zh=str(name.get("zh", doc["line"])) if isinstance(name, dict) else str(name),
        name_en=str(name.get("en", doc["line"])) if isinstance(name, dict) else str(name),
        initial=initial,
        states=states,
        transitions=transitions,
        source=source,
        outgoing=outgoing,
    )


def load_workflow_file(path: Path) -> Workflow:
    return parse_workflow(path.read_text(encoding="utf-8"), str(path))


def load_workflow_dir(*directories: Path | None) -> dict[str, Workflow]:
    """Later directories override earlier ones line by line (tenant or site overrides)."""
    workflows: dict[str, Workflow] = {}
    for directory in directories:
        if directory is None:
            continue
        for path in sorted(directory.glob("*.yaml")):
            workflow = load_workflow_file(path)
            workflows[workflow.line] = workflow
    return workflows
