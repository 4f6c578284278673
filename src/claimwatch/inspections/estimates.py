"""What a plan's sample says about its population (外推): per draw and per stratum the cases inspected, the
errors, the error rate with its interval, the stratified estimate for the whole population, and what the
sample can and cannot conclude (``inspections.statistics``). Read-only; no HTTP.

A draw's strata (``InspectionDraw.strata``: key, label, population, sample) give each stratum's population;
the inspections give what was found. An inspection counts once submitted (``error`` is set): submitted or
reviewed. A targeted draw (all red, top k by a score) is no random sample: its rate describes the cases
inspected, and only when the target took every matching record (``all``) is it the population's rate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from claimwatch.errors import NotFound
from claimwatch.inspections import repository
from claimwatch.inspections import statistics as stats
from claimwatch.inspections.models import Inspection, InspectionDraw, InspectionPlan
from claimwatch.web.i18n import N_

# The accuracy the quality department aims for: the KPI catalogue's audit_accuracy target (98 %), which a
# test keeps equal (the catalogue sits above this domain, so it is not read from here).
ACCURACY_TARGET = 0.98
CONFIDENCE = 0.95
MSG_TARGETED = N_(
    "A targeted sample is not random: its error rate describes the cases inspected, not the whole population."
)
MSG_TARGETED_ALL = N_("Every matching case was drawn: the rate is the population's own once all are inspected.")


@dataclass
class StratumRow:
    key: str
    label: str
    population: int
    sampled: int
    inspected: int
    errors: int
    rate: float | None
    low: float | None
    high: float | None
    weight: float
    conclusive: bool


@dataclass
class DrawEstimate:
    plan: InspectionPlan
    draw: InspectionDraw
    method: str  # the plan's: simple | stratified | targeted
    estimate: stats.Estimate
    strata: list[StratumRow] = field(default_factory=list)
    sampled: int = 0
    pending: int = 0  # sampled, not yet inspected
    unassigned: int = 0
    extrapolates: bool = True  # a random sample (or a census): the interval is the population's
    notes: list[stats.Conclusion] = field(default_factory=list)

    @property
    def conclusions(self) -> list[stats.Conclusion]:
        return [*self.notes, *self.estimate.conclusions]


def _definition(plan: InspectionPlan) -> dict[str, Any]:
    try:
        found = json.loads(plan.definition or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def stratum_label(key: str, unit_names: Mapping[str, str] | None = None) -> str:
    """A stratum's key as shown: "org=GD01|line=motor" → "广东分公司 · motor" with the org units' names (their
    codes without), "" when unstratified."""

    def shown(part: str) -> str:
        dimension, _, value = part.partition("=")
        if dimension == "org" and unit_names and value in unit_names:
            return unit_names[value]
        return value or "—"

    return " · ".join(shown(part) for part in key.split("|")) if key else ""


def draw_strata(draw: InspectionDraw) -> list[dict[str, Any]]:
    """The draw's recorded strata: [{key, label, population, sample}] (one "" stratum when unstratified)."""
    try:
        found = json.loads(draw.strata or "[]")
    except ValueError:
        found = []
    rows = []
    for entry in found if isinstance(found, list) else []:
        if isinstance(entry, dict):
            rows.append(
                {
                    "key": str(entry.get("key", "")),
                    "label": str(entry.get("label") or stratum_label(str(entry.get("key", "")))),
                    "population": int(entry.get("population") or 0),
                    "sample": int(entry.get("sample") or 0),
                }
            )
    return rows


def tallies(session: Session, draw_ids: list[int]) -> dict[tuple[int, str], tuple[int, int, int, int]]:
    """Per (draw, stratum): (sampled, inspected, errors, unassigned)."""
    if not draw_ids:
        return {}
    submitted = Inspection.error.is_not(None)
    rows = session.execute(
        select(
            Inspection.draw_id,
            Inspection.stratum,
            func.count(),
            func.sum(case((submitted, 1), else_=0)),
            func.sum(case((Inspection.error.is_(True), 1), else_=0)),
            func.sum(case((Inspection.inspector_id.is_(None), 1), else_=0)),
        )
        .where(Inspection.draw_id.in_(draw_ids))
        .group_by(Inspection.draw_id, Inspection.stratum)
    )
    return {
        (draw_id, stratum or ""): (int(count), int(inspected or 0), int(errors or 0), int(unassigned or 0))
        for draw_id, stratum, count, inspected, errors, unassigned in rows
    }


def estimate_draw(
    session: Session,
    plan: InspectionPlan,
    draw: InspectionDraw,
    *,
    confidence: float = CONFIDENCE,
    target_accuracy: float | None = ACCURACY_TARGET,
) -> DrawEstimate:
    """The estimate of one draw (a plan's sample for one period)."""
    definition = _definition(plan)
    method = str(definition.get("method") or "simple")
    counts = tallies(session, [draw.id])
    recorded = draw_strata(draw)
    known = {entry["key"] for entry in recorded}
    for (_, key), (sampled, _inspected, _errors, _unassigned) in counts.items():
        if key not in known:  # a stratum the draw did not record (should not happen): its sample is its population
            recorded.append({"key": key, "label": stratum_label(key), "population": sampled, "sample": sampled})
    if not recorded:
        recorded = [{"key": "", "label": "", "population": draw.population_count, "sample": draw.sample_count}]
    strata: list[stats.StratumTally] = []
    unit_names = {unit.code: unit.name for unit in repository.org_units(session).values()}
    labels: dict[str, str] = {}
    sampled_of: dict[str, int] = {}
    unassigned = 0
    for entry in recorded:
        sampled, inspected, errors, missing = counts.get((draw.id, entry["key"]), (0, 0, 0, 0))
        unassigned += missing
        population = max(entry["population"], sampled, inspected)
        strata.append(stats.StratumTally(entry["key"], population, inspected, errors))
        labels[entry["key"]] = stratum_label(entry["key"], unit_names) if entry["key"] else entry["label"]
        sampled_of[entry["key"]] = sampled
    sampled_total = sum(sampled_of.values())
    notes: list[stats.Conclusion] = []
    extrapolates = True
    if method == "targeted":
        target = definition.get("target") or {}
        takes_all = isinstance(target, dict) and target.get("rule", "all") == "all"
        if takes_all:
            notes.append(stats.Conclusion(MSG_TARGETED_ALL, {}, "limit"))
        else:
            extrapolates = False
            notes.append(stats.Conclusion(MSG_TARGETED, {}, "limit"))
            # Not a sample of the population: the rate and interval are the inspected cases' own.
            strata = [
                stats.StratumTally(t.key, max(t.inspected, sampled_of[t.key]), t.inspected, t.errors) for t in strata
            ]
    target_error = None if target_accuracy is None else round(1.0 - target_accuracy, 10)
    estimate = stats.stratified_estimate(
        strata, confidence, target_error_rate=target_error if extrapolates else None, sample=sampled_total
    )
    rows = [
        StratumRow(
            key=row.key,
            label=labels.get(row.key, row.key),
            population=row.population,
            sampled=sampled_of.get(row.key, 0),
            inspected=row.inspected,
            errors=row.errors,
            rate=row.rate,
            low=row.low,
            high=row.high,
            weight=row.weight,
            conclusive=row.conclusive,
        )
        for row in estimate.strata
    ]
    # The conclusions name a stratum by its label, not its key.
    estimate.conclusions = [
        stats.Conclusion(c.msgid, c.params | {"stratum": labels.get(c.stratum, c.stratum)}, c.kind, c.stratum)
        if c.stratum is not None
        else c
        for c in estimate.conclusions
    ]
    return DrawEstimate(
        plan=plan,
        draw=draw,
        method=method,
        estimate=estimate,
        strata=rows,
        sampled=sampled_total,
        pending=sampled_total - estimate.inspected,
        unassigned=unassigned,
        extrapolates=extrapolates,
        notes=notes,
    )


@dataclass
class PlanResults:
    plan: InspectionPlan
    draws: list[InspectionDraw]  # newest first
    current: DrawEstimate | None  # the chosen draw's estimate (None: the plan was never drawn)


def plan_results(session: Session, code: str, period: str | None = None) -> PlanResults:
    """A plan's draws and the estimate of one of them: ``period``'s, else the newest. 404 for an unknown plan
    (or another tenant's) or a period the plan has no draw for."""
    plan = repository.plan_by_code(session, code)
    if plan is None:
        raise NotFound("code", f"no inspection plan {code!r}")
    draws = repository.draws_of_plan(session, plan.id)
    chosen = draws[0] if draws else None
    if period:
        chosen = next((draw for draw in draws if draw.period == period), None)
        if chosen is None:
            raise NotFound("period", f"plan {code!r} has no draw for {period!r}")
    current = estimate_draw(session, plan, chosen) if chosen is not None else None
    return PlanResults(plan, draws, current)


def as_json(results: PlanResults, translate: Any) -> dict[str, Any]:
    """The API's body: the estimate (rates as fractions), its strata, the conclusions as sentences."""
    plan = results.plan
    body: dict[str, Any] = {
        "plan": {"code": plan.code, "name": plan.name, "subject_kind": plan.subject_kind, "source": plan.source},
        "draws": [
            {"period": d.period, "drawn_at": d.drawn_at.isoformat(), "population": d.population_count}
            for d in results.draws
        ],
        "estimate": None,
    }
    current = results.current
    if current is None:
        return body
    est = current.estimate
    body["estimate"] = {
        "period": current.draw.period,
        "method": current.method,
        "interval_method": est.method,
        "confidence": est.confidence,
        "extrapolates": current.extrapolates,
        "population": est.population,
        "sampled": current.sampled,
        "inspected": est.inspected,
        "pending": current.pending,
        "unassigned": current.unassigned,
        "errors": est.errors,
        "coverage": est.coverage,
        "error_rate": est.rate,
        "low": est.low,
        "high": est.high,
        "accuracy": est.accuracy,
        "accuracy_interval": list(est.accuracy_interval) if est.accuracy_interval else None,
        "effective_n": None if est.effective_n is None or est.effective_n == float("inf") else est.effective_n,
        "strata": [
            {
                "key": row.key,
                "label": row.label,
                "population": row.population,
                "sampled": row.sampled,
                "inspected": row.inspected,
                "errors": row.errors,
                "error_rate": row.rate,
                "low": row.low,
                "high": row.high,
                "weight": row.weight,
                "conclusive": row.conclusive,
            }
            for row in current.strata
        ],
        "conclusions": [
            {"kind": c.kind, "stratum": c.stratum, "text": stats.render(c, translate)} for c in current.conclusions
        ],
    }
    return body


def latest_estimates(session: Session, plans: list[InspectionPlan]) -> dict[int, DrawEstimate]:
    """Per plan, the estimate of its newest draw (plans never drawn are absent)."""
    out: dict[int, DrawEstimate] = {}
    for plan in plans:
        draws = repository.draws_of_plan(session, plan.id)
        if draws:
            out[plan.id] = estimate_draw(session, plan, draws[0])
    return out
