"""降赔惜赔 detection (M7): handlers and org units that reject, under-pay or cut assessed amounts more often than
their peers **on the same case mix**, rejections that cite no policy clause, and targeted inspections from the
flags.

A period's decided claims (closed or rejected in the month or quarter, local time) are put in strata: line ×
amount band (of the amount *reported*, which no handler can change) × claim type (from the report). For a unit
(the handler a claim is assigned to, or the org unit it belongs to) and a measure, in each stratum where the unit
and its peers both have claims:

- observed: the unit's events (rejections; short payments; reductions after review);
- expected: the unit's claims there × the peers' rate there, summed (indirect standardisation against the
  peers, so a unit that handles more large or injury claims is not flagged for the mix it was given);
- p: an exact one-sided test conditional on each stratum's totals: under "the unit is like its peers" the
  unit's count in a stratum is hypergeometric, and the total is the sum of those (computed exactly by
  convolution — the exact form of the Mantel–Haenszel test), so sparse strata need no large-sample
  approximation; the Mantel–Haenszel odds ratio is shown beside it;
- q: Benjamini–Hochberg over the units of the same kind and measure in the period, because every handler is
  tested every period and some would be "significant" by chance.

Flagged: at least ``min_cases`` claims compared, q ≤ ``alpha`` and observed ÷ expected ≥ ``min_ratio``.
Rejections whose reason cites no clause are counted (not compared: 保险法 art. 24 wants the reason of every
refusal) and flagged from ``unclear_rejections_min``. Settings: ``defaults/risk/fairness.yaml`` (per insurer:
``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/fairness/<TENANT_CODE>.yaml``).

A flag feeds the inspections domain as a targeted population: :func:`open_plans` creates a targeted plan per
line with a scorecard (the unit's rejected or paid claims of the period, the largest first) and draws it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import User
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.db import tenant_context, utc_now
from claimwatch.errors import Forbidden, Invalid, NotFound
from claimwatch.inspections import repository as inspections_repository
from claimwatch.inspections import service as inspections_service
from claimwatch.inspections.models import InspectionPlan
from claimwatch.inspections.schemas import PlanDefinition
from claimwatch.risk.fairness_models import FairnessResult, FairnessRun
from claimwatch.subjects.periods import period_bounds, period_dates
from claimwatch.subjects.trail import chunks
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.models import OrgUnit
from claimwatch.tenancy.service import tenant_zone
from claimwatch.yaml_source import ConfigFileError, Mapping, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULTS = PACKAGE_DIR / "defaults" / "risk" / "fairness.yaml"
OVERRIDES_SUBDIR = "fairness"
UNIT_KINDS = ("handler", "org")
COMPARED = ("rejection", "short_payment", "review_reduction")
MEASURES = (*COMPARED, "unclear_rejection")
MEASURE_LABELS = {  # msgids (N_ in the pages)
    "rejection": "Rejection rate",
    "short_payment": "Paid below assessed",
    "review_reduction": "Assessed amount lowered after review",
    "unclear_rejection": "Rejections citing no policy clause",
}
MEASURE_ZH = {
    "rejection": "拒赔率",
    "short_payment": "赔付低于核定",
    "review_reduction": "核赔后调减定损",
    "unclear_rejection": "拒赔未引用条款",
}
# Why a row is (not) flagged.
REASONS = ("flagged", "below_min_cases", "not_significant", "small_effect", "below_threshold", "no_peers")
PLAN_SOURCE = "fairness"
PLAN_OUTCOME = {
    "rejection": "rejected",
    "unclear_rejection": "rejected",
    "short_payment": "closed",
    "review_reduction": "closed",
}
EXAMPLES = 20
_KEYS = {
    "amount_bands",
    "min_cases",
    "alpha",
    "min_ratio",
    "short_payment_tolerance",
    "review_statuses",
    "clause_pattern",
    "unclear_rejections_min",
    "scorecards",
    "plan_size",
}


class FairnessSettingsError(ConfigFileError):
    """fairness.yaml (or an insurer's override) is invalid; ``str()`` is ``file:line: problem``."""


@dataclass(frozen=True)
class FairnessSettings:
    amount_bands_fen: tuple[int, ...]
    min_cases: int
    alpha: float
    min_ratio: float
    short_payment_tolerance: float
    review_statuses: frozenset[str]
    clause_pattern: re.Pattern[str]
    unclear_rejections_min: int
    scorecards: dict[str, str]
    plan_size: int
    digest: str
    source: str

    def band(self, amount_fen: int | None) -> str:
        """The amount band's label, e.g. ``2000-5000`` (CNY), ``200000+``, ``?`` without an amount."""
        if amount_fen is None:
            return "?"
        low = 0
        for high in self.amount_bands_fen:
            if amount_fen < high:
                return f"{low // 100}-{high // 100}"
            low = high
        return f"{low // 100}+"


def _number(document: Mapping, key: str, source: str, low: float, high: float, integer: bool = False) -> Any:
    value = document[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
    if ok and integer and not isinstance(value, int):
        ok = False
    if not ok:
        kind = "a whole number" if integer else "a number"
        raise FairnessSettingsError(source, line_of(document, key), f"{key} must be {kind} from {low} to {high}")
    return value


def parse_settings(text: str, source: str, base: FairnessSettings | None = None) -> FairnessSettings:
    """The settings file (or an insurer's override on ``base``); every error names file and line."""
    document = load_yaml(text, source, FairnessSettingsError)
    if document is None:
        document = Mapping()
    if not isinstance(document, Mapping):
        raise FairnessSettingsError(source, 1, "the file is a mapping of settings (see defaults/risk/fairness.yaml)")
    for key in document:
        if key not in _KEYS:
            allowed = ", ".join(sorted(_KEYS))
            raise FairnessSettingsError(source, line_of(document, key), f"unknown key {key!r} (allowed: {allowed})")
    values: dict[str, Any] = {}
    if base is not None:
        values = {
            "amount_bands_fen": base.amount_bands_fen,
            "min_cases": base.min_cases,
            "alpha": base.alpha,
            "min_ratio": base.min_ratio,
            "short_payment_tolerance": base.short_payment_tolerance,
            "review_statuses": base.review_statuses,
            "clause_pattern": base.clause_pattern,
            "unclear_rejections_min": base.unclear_rejections_min,
            "scorecards": base.scorecards,
            "plan_size": base.plan_size,
        }
    if "amount_bands" in document:
        bands = document["amount_bands"]
        where = line_of(document, "amount_bands")
        if not isinstance(bands, list) or not bands:
            raise FairnessSettingsError(source, where, "amount_bands is a list of CNY upper bounds, e.g. [5000, 50000]")
        for value in bands:
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise FairnessSettingsError(source, where, f"amount_bands: {value!r} is not a positive amount of CNY")
        if list(bands) != sorted(set(bands)):
            raise FairnessSettingsError(source, where, "amount_bands must rise strictly")
        values["amount_bands_fen"] = tuple(round(float(v) * 100) for v in bands)
    if "min_cases" in document:
        values["min_cases"] = _number(document, "min_cases", source, 1, 1_000_000, integer=True)
    if "alpha" in document:
        values["alpha"] = float(_number(document, "alpha", source, 0.0001, 0.5))
    if "min_ratio" in document:
        values["min_ratio"] = float(_number(document, "min_ratio", source, 1.0, 100.0))
    if "short_payment_tolerance" in document:
        values["short_payment_tolerance"] = float(_number(document, "short_payment_tolerance", source, 0.0, 0.5))
    if "unclear_rejections_min" in document:
        values["unclear_rejections_min"] = _number(document, "unclear_rejections_min", source, 1, 100_000, True)
    if "plan_size" in document:
        values["plan_size"] = _number(document, "plan_size", source, 1, 10_000, integer=True)
    if "review_statuses" in document:
        statuses = document["review_statuses"]
        if not isinstance(statuses, list) or not statuses or not all(isinstance(s, str) and s for s in statuses):
            raise FairnessSettingsError(
                source, line_of(document, "review_statuses"), "review_statuses is a list of claim statuses"
            )
        values["review_statuses"] = frozenset(statuses)
    if "clause_pattern" in document:
        pattern = document["clause_pattern"]
        try:
            if not isinstance(pattern, str) or not pattern:
                raise re.error("empty")
            values["clause_pattern"] = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise FairnessSettingsError(
                source, line_of(document, "clause_pattern"), f"clause_pattern is not a regular expression: {exc}"
            ) from None
    if "scorecards" in document:
        cards = document["scorecards"]
        if not isinstance(cards, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in cards.items()):
            raise FairnessSettingsError(
                source, line_of(document, "scorecards"), "scorecards maps a line to a claim scorecard's code"
            )
        values["scorecards"] = dict(cards)
    values.setdefault("plan_size", 50)
    values.setdefault("scorecards", {})
    missing = [k for k in ("amount_bands_fen", "min_cases", "alpha", "min_ratio", "clause_pattern") if k not in values]
    if missing:
        raise FairnessSettingsError(source, 1, f"missing settings: {', '.join(missing)}")
    values.setdefault("short_payment_tolerance", 0.02)
    values.setdefault("review_statuses", frozenset({"verification", "approval"}))
    values.setdefault("unclear_rejections_min", 2)
    previous = base.digest if base is not None else ""
    digest = hashlib.sha256((previous + text).encode("utf-8")).hexdigest()
    return FairnessSettings(**values, digest=digest, source=source)


@lru_cache
def default_settings() -> FairnessSettings:
    return parse_settings(DEFAULTS.read_text(encoding="utf-8"), str(DEFAULTS))


def settings_for(tenant_code: str) -> FairnessSettings:
    """The defaults with the insurer's override file applied, if it has one."""
    base = default_settings()
    path = tenant_override(OVERRIDES_SUBDIR, tenant_code)
    if path is None:
        return base
    return parse_settings(path.read_text(encoding="utf-8"), str(path), base)


# -- the period's decided claims --------------------------------------------------------------------------------


@dataclass
class DecidedClaim:
    id: int
    number: str
    line: str
    stratum: str
    handler_id: int | None
    org_id: int | None
    rejected: bool
    assessed_fen: int | None
    paid_fen: int | None
    reason: str | None = None  # the rejection's
    reviewed: bool = False  # reached a review status
    reduced_fen: int = 0  # assessed amount lowered after review (sum of the cuts)

    def event(self, measure: str, settings: FairnessSettings) -> bool | None:
        """Whether the claim counts as an event of ``measure``; None when it is not in its denominator."""
        if measure == "rejection":
            return self.rejected
        if measure == "short_payment":
            if self.rejected or self.paid_fen is None or not self.assessed_fen:
                return None
            return self.paid_fen < self.assessed_fen * (1 - settings.short_payment_tolerance)
        if measure == "review_reduction":
            if self.assessed_fen is None and self.reduced_fen == 0:
                return None
            return self.reduced_fen > 0
        if measure == "unclear_rejection":
            if not self.rejected:
                return None
            return not (self.reason and settings.clause_pattern.search(self.reason))
        raise ValueError(measure)


def _claim_type(data: str | None) -> str:
    """The claim type the report carried (``claim_type`` in the report event's data, flat or under ``details``)."""
    if not data:
        return ""
    try:
        parsed = json.loads(data)
    except ValueError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    value = parsed.get("claim_type")
    for nest in ("details", "claim"):
        if value is None and isinstance(parsed.get(nest), dict):
            value = parsed[nest].get("claim_type")
    return str(value)[:32] if value else ""


def decided_claims(
    session: Session, tenant_id: int, start: dt.datetime, end: dt.datetime, settings: FairnessSettings
) -> list[DecidedClaim]:
    """Claims closed or rejected in ``[start, end)`` with what their events say: the rejection's reason, whether
    the assessed amount was lowered after review, the claim type of the report."""
    rows = session.execute(
        select(
            Claim.id,
            Claim.number,
            Claim.line,
            Claim.reported_amount_fen,
            Claim.assessed_amount_fen,
            Claim.paid_amount_fen,
            Claim.status,
            Claim.assignee_id,
            Claim.org_unit_id,
        ).where(
            Claim.tenant_id == tenant_id,
            Claim.closed_at >= start,
            Claim.closed_at < end,
            Claim.status.in_(("closed", "rejected")),
        )
    ).all()
    claims = {
        row.id: DecidedClaim(
            id=row.id,
            number=row.number,
            line=row.line,
            stratum=f"{row.line}|{settings.band(row.reported_amount_fen)}",
            handler_id=row.assignee_id,
            org_id=row.org_unit_id,
            rejected=row.status == "rejected",
            assessed_fen=row.assessed_amount_fen,
            paid_fen=row.paid_amount_fen,
        )
        for row in rows
    }
    for chunk in chunks(claims):
        events = session.execute(
            select(CaseEvent.claim_id, CaseEvent.event_type, CaseEvent.to_status, CaseEvent.reason, CaseEvent.data)
            .where(
                CaseEvent.tenant_id == tenant_id,
                CaseEvent.claim_id.in_(chunk),
                CaseEvent.event_type.in_(("reported", "transition", "amounts")),
            )
            .order_by(CaseEvent.claim_id, CaseEvent.id)
        )
        current: int | None = None
        assessed: int | None = None
        claim: DecidedClaim | None = None
        for claim_id, event_type, to_status, reason, data in events:
            if claim_id != current:
                current, assessed, claim = claim_id, None, claims[claim_id]
            assert claim is not None
            if event_type == "reported":
                claim.stratum = f"{claim.stratum}|{_claim_type(data)}"
            elif event_type == "transition":
                if to_status in settings.review_statuses:
                    claim.reviewed = True
                if to_status == "rejected":
                    claim.reason = reason
            elif data:
                value = json.loads(data).get("assessed_amount")
                if value is not None:
                    fen = round(float(value) * 100)
                    if assessed is not None and fen < assessed and claim.reviewed:
                        claim.reduced_fen += assessed - fen
                    assessed = fen
    for claim in claims.values():
        if claim.stratum.count("|") == 1:  # no report event seen (imported history): unknown type
            claim.stratum += "|"
    return list(claims.values())


# -- statistics -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StratumCount:
    """One stratum of a comparison: the unit's claims and events there, and everyone's."""

    key: str
    unit_cases: int
    unit_events: int
    total_cases: int
    total_events: int

    @property
    def peer_cases(self) -> int:
        return self.total_cases - self.unit_cases

    @property
    def peer_events(self) -> int:
        return self.total_events - self.unit_events


def exact_upper_p(strata: Sequence[StratumCount]) -> float:
    """P(X ≥ observed) where X is the sum over strata of the unit's event count given each stratum's totals
    (hypergeometric: the unit's cases drawn from the stratum's, the events fixed). Exact, by convolution."""
    from scipy import stats  # ~0.8 s of CPU to import: paid when a fairness test runs, not by every process

    observed = sum(s.unit_events for s in strata)
    pmf = np.ones(1)
    offset = 0
    for s in strata:
        low = max(0, s.unit_cases + s.total_events - s.total_cases)
        high = min(s.unit_cases, s.total_events)
        support = np.arange(low, high + 1)
        part = stats.hypergeom.pmf(support, s.total_cases, s.total_events, s.unit_cases)
        pmf = np.convolve(pmf, part)
        offset += low
    index = observed - offset
    if index <= 0:
        return 1.0
    return float(min(1.0, max(0.0, pmf[index:].sum())))


def mantel_haenszel_odds_ratio(strata: Sequence[StratumCount]) -> float | None:
    """The common odds ratio of an event for the unit against its peers (None when undefined)."""
    top = bottom = 0.0
    for s in strata:
        a, b = s.unit_events, s.unit_cases - s.unit_events
        c, d = s.peer_events, s.peer_cases - s.peer_events
        top += a * d / s.total_cases
        bottom += b * c / s.total_cases
    if bottom == 0:
        return None
    return top / bottom


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in the order given."""
    count = len(p_values)
    order = sorted(range(count), key=lambda i: p_values[i])
    adjusted = [1.0] * count
    running = 1.0
    for rank in range(count, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * count / rank)
        adjusted[index] = min(1.0, running)
    return adjusted


@dataclass
class UnitFigure:
    unit_kind: str
    unit_id: int
    measure: str
    cases: int = 0
    unmatched: int = 0
    observed: int = 0
    expected: float | None = None
    ratio: float | None = None
    odds_ratio: float | None = None
    p_value: float | None = None
    q_value: float | None = None
    amount_fen: int | None = None
    base_fen: int | None = None
    expected_fen: int | None = None
    flagged: bool = False
    reason: str = "below_min_cases"
    examples: list[str] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # line → the unit's events there
    strata: list[dict[str, Any]] = field(default_factory=list)


Ancestors = AbcMapping[int, tuple[int, ...]]  # org unit id -> itself and its parents up to the root


def org_ancestors(parents: AbcMapping[int, int | None]) -> dict[int, tuple[int, ...]]:
    """Each org unit with its chain of parents (itself first), from ``unit id -> parent id``; a cycle stops."""
    out: dict[int, tuple[int, ...]] = {}
    for unit in parents:
        chain: list[int] = []
        current: int | None = unit
        while current is not None and current not in chain:
            chain.append(current)
            current = parents.get(current)
        out[unit] = tuple(chain)
    return out


def _units_of(unit_kind: str, ancestors: Ancestors | None) -> Callable[[DecidedClaim], tuple[int, ...]]:
    """The units a claim counts for: its handler; or its org unit and, rolled up, every parent of it (a branch's
    figures include its sub-branches' claims, so a pattern spread over small units still shows above them)."""
    if unit_kind == "handler":
        return lambda c: (c.handler_id,) if c.handler_id is not None else ()
    if ancestors is None:
        return lambda c: (c.org_id,) if c.org_id is not None else ()
    return lambda c: ancestors.get(c.org_id, (c.org_id,)) if c.org_id is not None else ()


def compare(
    claims: Sequence[DecidedClaim],
    unit_kind: str,
    measure: str,
    settings: FairnessSettings,
    ancestors: Ancestors | None = None,
) -> list[UnitFigure]:
    """Every unit of ``unit_kind`` against its peers on ``measure`` (one of :data:`COMPARED`). Org units with
    ``ancestors`` are rolled up: each parent is compared on its whole subtree (against the claims outside it);
    the root, holding every claim, has no peers."""
    units_of = _units_of(unit_kind, ancestors)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    cells: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    members: dict[int, list[tuple[DecidedClaim, bool]]] = defaultdict(list)
    for claim in claims:
        event = claim.event(measure, settings)
        if event is None:
            continue
        total = totals[claim.stratum]
        total[0] += 1
        total[1] += int(event)
        for unit in units_of(claim):
            cell = cells[unit][claim.stratum]
            cell[0] += 1
            cell[1] += int(event)
            members[unit].append((claim, event))
    # Peer paid ÷ assessed per stratum (short payments): Σ paid and Σ assessed of everyone, by stratum.
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    unit_sums: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    if measure == "short_payment":
        for claim in claims:
            if claim.event(measure, settings) is None:
                continue
            paid, assessed = claim.paid_fen or 0, claim.assessed_fen or 0
            sums[claim.stratum][0] += paid
            sums[claim.stratum][1] += assessed
            for unit in units_of(claim):
                unit_sums[unit][claim.stratum][0] += paid
                unit_sums[unit][claim.stratum][1] += assessed

    figures: list[UnitFigure] = []
    for unit, by_stratum in cells.items():
        figure = UnitFigure(unit_kind, unit, measure)
        strata: list[StratumCount] = []
        matched: set[str] = set()
        for key, (cases, events) in sorted(by_stratum.items()):
            total_cases, total_events = totals[key]
            if total_cases == cases:  # nobody else has claims like these: nothing to compare with
                figure.unmatched += cases
                continue
            matched.add(key)
            strata.append(StratumCount(key, cases, events, total_cases, total_events))
        figure.cases = sum(s.unit_cases for s in strata)
        figure.observed = sum(s.unit_events for s in strata)
        figure.expected = sum(s.unit_cases * s.peer_events / s.peer_cases for s in strata) if strata else None
        if figure.expected:
            figure.ratio = figure.observed / figure.expected
        figure.strata = [
            {
                "stratum": s.key,
                "cases": s.unit_cases,
                "events": s.unit_events,
                "peer_cases": s.peer_cases,
                "peer_events": s.peer_events,
            }
            for s in strata
        ]
        unit_events = [c for c, e in members[unit] if e and c.stratum in matched]
        figure.examples = [c.number for c in sorted(unit_events, key=lambda c: c.number)[:EXAMPLES]]
        for c in unit_events:
            figure.lines[c.line] = figure.lines.get(c.line, 0) + 1
        if measure == "short_payment":
            paid = sum(unit_sums[unit][k][0] for k in matched)
            assessed = sum(unit_sums[unit][k][1] for k in matched)
            expected_paid = 0.0
            for key in matched:
                peer_paid = sums[key][0] - unit_sums[unit][key][0]
                peer_assessed = sums[key][1] - unit_sums[unit][key][1]
                ratio = peer_paid / peer_assessed if peer_assessed else 1.0
                expected_paid += unit_sums[unit][key][1] * ratio
            figure.amount_fen, figure.base_fen, figure.expected_fen = paid, assessed, round(expected_paid)
        if measure == "review_reduction":
            figure.amount_fen = sum(c.reduced_fen for c in unit_events)
        if not strata:
            figure.reason = "no_peers"
        elif figure.cases >= settings.min_cases:
            figure.p_value = exact_upper_p(strata)
            figure.odds_ratio = mantel_haenszel_odds_ratio(strata)
        figures.append(figure)

    tested = [f for f in figures if f.p_value is not None]
    for figure, q in zip(tested, benjamini_hochberg([f.p_value or 1.0 for f in tested]), strict=True):
        figure.q_value = q
        if q > settings.alpha:
            figure.reason = "not_significant"
        elif figure.ratio is not None and figure.ratio < settings.min_ratio:
            figure.reason = "small_effect"
        else:
            figure.flagged, figure.reason = True, "flagged"
    return figures


def unclear_rejections(
    claims: Sequence[DecidedClaim], unit_kind: str, settings: FairnessSettings, ancestors: Ancestors | None = None
) -> list[UnitFigure]:
    """Per unit: its rejections, and those whose reason cites no policy clause (org units rolled up with
    ``ancestors``, as in :func:`compare`)."""
    units_of = _units_of(unit_kind, ancestors)
    figures: dict[int, UnitFigure] = {}
    for claim in claims:
        event = claim.event("unclear_rejection", settings)
        if event is None:
            continue
        for unit in units_of(claim):
            figure = figures.setdefault(
                unit, UnitFigure(unit_kind, unit, "unclear_rejection", reason="below_threshold")
            )
            figure.cases += 1
            if event:
                figure.observed += 1
                if len(figure.examples) < EXAMPLES:
                    figure.examples.append(claim.number)
                figure.lines[claim.line] = figure.lines.get(claim.line, 0) + 1
    for figure in figures.values():
        if figure.observed >= settings.unclear_rejections_min:
            figure.flagged, figure.reason = True, "flagged"
    return list(figures.values())


# -- runs -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    period: str
    claims: int
    tested: int
    flagged: list[FairnessResult]
    run_id: int


def _labels(session: Session, tenant_id: int, figures: Iterable[UnitFigure]) -> dict[tuple[str, int], str]:
    handler_ids = {f.unit_id for f in figures if f.unit_kind == "handler"}
    labels: dict[tuple[str, int], str] = {}
    for chunk in chunks(handler_ids):
        for user_id, username in session.execute(select(User.id, User.username).where(User.id.in_(chunk))):
            labels[("handler", user_id)] = username
    for unit in tenancy_repository.org_units(session):
        labels[("org", unit.id)] = unit.code
    return labels


def run_period(
    session: Session,
    tenant_id: int,
    period: str,
    actor: str,
    *,
    settings: FairnessSettings | None = None,
    now: dt.datetime | None = None,
) -> RunSummary:
    """Compute every unit and measure of a month or quarter and store them (replacing the period's earlier run,
    row by row, so plans opened from a flag keep their link); audited with the flags."""
    period = period.strip()
    period_dates(period, "period")  # the shape first: 422 on ``period``
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    if tenant is None:
        raise NotFound("tenant", f"no tenant {tenant_id}")
    settings = settings or settings_for(tenant.code)
    now = now or utc_now()
    start, end = period_bounds(period, tenant_zone(session, tenant_id), "period")
    if start >= now:
        raise Invalid("period", f"period {period} has not started yet")
    audit_service.open_chain(session, tenant_id).close()  # the chain first (lock order)
    claims = decided_claims(session, tenant_id, start, end, settings)
    units = tenancy_repository.org_units(session)
    ancestors = org_ancestors({unit.id: unit.parent_id for unit in units})
    figures: list[UnitFigure] = []
    for kind in UNIT_KINDS:
        for measure in COMPARED:
            figures += compare(claims, kind, measure, settings, ancestors)
        figures += unclear_rejections(claims, kind, settings, ancestors)
    parents = {unit.parent_id for unit in units if unit.parent_id is not None}
    labels = _labels(session, tenant_id, figures)

    run = session.execute(select(FairnessRun).where(FairnessRun.period == period)).scalar_one_or_none()
    if run is None:
        run = FairnessRun(tenant_id=tenant_id, period=period, settings_digest=settings.digest, claims=0, flagged=0)
        session.add(run)
    run.settings_digest, run.claims, run.ran_at, run.ran_by = settings.digest, len(claims), now, actor[:100]
    run.flagged = sum(f.flagged for f in figures)
    session.flush()
    existing = {
        (r.unit_kind, r.unit_id, r.measure): r
        for r in session.execute(select(FairnessResult).where(FairnessResult.period == period)).scalars()
    }
    kept: set[int] = set()
    flagged: list[FairnessResult] = []
    for figure in figures:
        key = (figure.unit_kind, figure.unit_id, figure.measure)
        row = existing.get(key)
        if row is None:
            row = FairnessResult(tenant_id=tenant_id, period=period, unit_kind=figure.unit_kind, unit_id=figure.unit_id)
            row.measure = figure.measure
            session.add(row)
        row.run_id = run.id
        row.unit_label = labels.get((figure.unit_kind, figure.unit_id), str(figure.unit_id))[:100]
        row.cases, row.unmatched, row.observed = figure.cases, figure.unmatched, figure.observed
        row.expected, row.ratio, row.odds_ratio = figure.expected, figure.ratio, figure.odds_ratio
        row.p_value, row.q_value = figure.p_value, figure.q_value
        row.amount_fen, row.base_fen, row.expected_fen = figure.amount_fen, figure.base_fen, figure.expected_fen
        row.flagged, row.reason = figure.flagged, figure.reason
        row.examples = figure.examples or None
        row.details = {"lines": figure.lines, "strata": figure.strata[:60]}
        if figure.unit_kind == "org" and figure.unit_id in parents:
            row.details["rolled_up"] = True  # the unit's figures include its sub-units' claims
        row.computed_at = now
        if row.id is not None:
            kept.add(row.id)
        if figure.flagged:
            flagged.append(row)
    for row in existing.values():
        if row.id not in kept:
            session.delete(row)
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "risk.fairness_run",
        f"fairness:{period}",
        actor,
        {
            "period": period,
            "settings": settings.digest,
            "claims": len(claims),
            "tested": len(figures),
            "flags": [
                {
                    "unit": f"{row.unit_kind}:{row.unit_label}",
                    "measure": row.measure,
                    "cases": row.cases,
                    "observed": row.observed,
                    "expected": None if row.expected is None else round(row.expected, 3),
                    "q": None if row.q_value is None else float(f"{row.q_value:.3g}"),
                }
                for row in flagged
            ],
        },
    )
    return RunSummary(period, len(claims), len(figures), flagged, run.id)


# -- targeted inspections from a flag ---------------------------------------------------------------------------


def plans_of(session: Session, result_ids: Iterable[int]) -> dict[int, list[str]]:
    """Flag id → the codes of the targeted plans opened from it."""
    wanted = [str(i) for i in result_ids]
    if not wanted:
        return {}
    found: dict[int, list[str]] = defaultdict(list)
    for ref, code in session.execute(
        select(InspectionPlan.source_ref, InspectionPlan.code)
        .where(InspectionPlan.source == PLAN_SOURCE, InspectionPlan.source_ref.in_(wanted))
        .order_by(InspectionPlan.id)
    ):
        if ref and ref.isdigit():
            found[int(ref)].append(code)
    return dict(found)


def plan_definition(session: Session, result: FairnessResult, line: str, scorecard: str, size: int) -> PlanDefinition:
    population: dict[str, Any] = {
        "period": result.period,
        "date_field": "closed",
        "line": line,
        "outcome": PLAN_OUTCOME[result.measure],
    }
    if result.unit_kind == "handler":
        user = session.get(User, result.unit_id)
        if user is None:
            raise Invalid("result", f"the flagged handler {result.unit_label!r} no longer exists")
        population["handler"] = user.username
    else:
        unit = session.get(OrgUnit, result.unit_id)
        if unit is None:
            raise Invalid("result", f"the flagged org unit {result.unit_label!r} no longer exists")
        population["org_unit"] = unit.code
    name = f"降赔惜赔定向检查 · {result.unit_label} · {MEASURE_ZH[result.measure]} · {result.period} · {line}"
    return PlanDefinition.model_validate(
        {
            "code": f"FAIR-{result.id}-{line}"[:64],
            "name": name[:200],
            "subject_kind": "claim",
            "scorecard": scorecard,
            "population": population,
            "method": "targeted",
            "target": {"rule": "top_k", "k": size, "score": "amount"},
            "due_days": 15,
        }
    )


def open_plans(session: Session, principal: Principal, result_id: int, *, now: dt.datetime | None = None) -> list[str]:
    """Targeted inspection plans from a flag, one per line of its flagged claims that has a scorecard, drawn at
    once (the largest ``plan_size`` claims of the unit's rejected or paid claims of the period). Idempotent:
    a plan already opened is kept. Needs MANAGE_INSPECTION_PLANS. Answers the codes of the flag's plans."""
    if not principal.can(Permission.MANAGE_INSPECTION_PLANS):
        raise Forbidden("role", f"role {principal.role.value!r} may not open inspection plans")
    result = session.get(FairnessResult, result_id)
    if result is None or result.tenant_id != principal.tenant_id:
        raise NotFound("result", f"no 降赔惜赔 flag {result_id}")
    if not result.flagged:
        raise Invalid("result", "only a flagged unit is inspected from here")
    tenant = tenancy_repository.tenant_by_id(session, result.tenant_id)
    settings = settings_for(tenant.code) if tenant is not None else default_settings()
    lines = sorted(((result.details or {}).get("lines") or {}).items(), key=lambda item: (-item[1], item[0]))
    wanted = [(line, settings.scorecards[line]) for line, _ in lines if line in settings.scorecards]
    if not wanted:
        known = ", ".join(sorted(settings.scorecards)) or "none"
        raise Invalid("result", f"no scorecard for the lines of this flag (scorecards for: {known})")
    codes: list[str] = []
    for line, scorecard in wanted:
        definition = plan_definition(session, result, line, scorecard, settings.plan_size)
        plan = inspections_repository.plan_by_code(session, definition.code)
        if plan is None:
            plan = inspections_service.create_plan(
                session, principal, definition, source=PLAN_SOURCE, source_ref=str(result.id)
            )
            inspections_service.draw_sample(session, principal, plan.id, period=result.period, now=now or utc_now())
        codes.append(plan.code)
    result.plan_code = " ".join(codes)[:64]
    return codes


def tenant_of(session: Session) -> int:
    tenant_id = tenant_context(session).tenant_id
    if tenant_id is None:
        raise Forbidden("tenant", "降赔惜赔 flags belong to one insurer")
    return tenant_id


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)
