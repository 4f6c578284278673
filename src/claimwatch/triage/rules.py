"""The triage rule engine: a rule set (parsed by :mod:`claimwatch.triage.loader`) applied to one claim's facts.

Every rule whose condition holds *fires*; the route is the strongest fired route by a fixed precedence
(manual review > green channel > fast track > normal), so adding a fast-track rule can never take a claim out of
manual review; the priority is the highest a fired rule gives. In monitor mode the outcome is recorded as the
would-be route and the claim stays on the normal route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from claimwatch.cases.repository import ROUTES
from claimwatch.risk.conditions import Condition
from claimwatch.risk.facts import ClaimFacts

MODES = ("monitor", "active")
# Weakest first: a route wins over every route before it.
PRECEDENCE = ("normal", "fast_track", "green", "manual_review")
assert set(PRECEDENCE) == set(ROUTES)
_RANK = {route: rank for rank, route in enumerate(PRECEDENCE)}
PRIORITIES = (0, 1, 2, 3)  # 0 normal, 1 vulnerable customer, 2 major case, 3 catastrophe


@dataclass(frozen=True)
class Rule:
    code: str
    name_zh: str
    name_en: str
    route: str
    when: Condition
    priority: int = 0
    vulnerable: bool = False  # a fired rule marks the claimant as a vulnerable customer (claims.vulnerable)
    line: int | None = None

    def label(self, locale: str) -> str:
        return self.name_zh if locale == "zh" else self.name_en

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": {"zh": self.name_zh, "en": self.name_en},
            "route": self.route,
            "priority": self.priority,
            "vulnerable": self.vulnerable,
            "when": self.when.to_json(),
        }


@dataclass(frozen=True)
class Outcome:
    route: str  # what the rules say (the would-be route)
    priority: int
    vulnerable: bool
    fired: tuple[Rule, ...] = ()

    def fired_json(self) -> list[dict[str, Any]]:
        return [{"code": r.code, "route": r.route, "priority": r.priority} for r in self.fired]

    @property
    def deciding(self) -> tuple[Rule, ...]:
        """The fired rules that give the outcome's route (the reason for it)."""
        return tuple(r for r in self.fired if r.route == self.route)


@dataclass(frozen=True)
class RuleSet:
    version: str
    mode: str
    rules: tuple[Rule, ...]
    digest: str = ""
    source: str = ""
    # Entering one of these workflow statuses re-evaluates the claim with ``investigation`` true.
    reevaluate_statuses: frozenset[str] = frozenset()
    by_code: dict[str, Rule] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_code.update({rule.code: rule for rule in self.rules})

    def evaluate(self, facts: ClaimFacts) -> Outcome:
        fired = tuple(rule for rule in self.rules if rule.when.test(facts))
        if not fired:
            return Outcome("normal", 0, False)
        route = max((rule.route for rule in fired), key=_RANK.__getitem__)
        priority = max(rule.priority for rule in fired)
        return Outcome(route, priority, any(rule.vulnerable for rule in fired), fired)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "mode": self.mode,
            "digest": self.digest,
            "reevaluate_statuses": sorted(self.reevaluate_statuses),
            "rules": [rule.as_dict() for rule in self.rules],
        }


def stronger(route: str, other: str) -> str:
    return route if _RANK[route] >= _RANK[other] else other
