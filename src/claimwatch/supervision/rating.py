"""A rating run computed from the KPI snapshot: every insurer (or provincial branch) scored by the active
methodology.

The scoring itself is pure (:func:`score_units`: inputs in, scores out, no database) so tests and
``bench/rating_run.py`` call the same code as :func:`compute_run`. Per unit and indicator: the KPI's value,
its points (0–100 by the indicator's scoring), and its contribution = points × weight / 100 (weights of
excluded missing indicators redistributed); then the deductions of the period (each kind capped, all together
capped); score = total − deductions (≥ 0), its grade, the rank among the run's rated units (1 = best, ties
share a rank) and the rank band an insurer is shown instead of the rank ("top 25 %" …).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Invalid, NotFound
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi.engine import BadPeriod, Period, Scope, Value
from claimwatch.supervision import methodology as methodology_service
from claimwatch.supervision import repository
from claimwatch.supervision.methodology import Methodology
from claimwatch.supervision.models import (
    RatingDeduction,
    RatingMethodology,
    RatingResult,
    RatingRun,
)
from claimwatch.tenancy.models import Tenant

LEVELS = ("insurer", "branch")
CENT = Decimal("0.01")
ZERO = Decimal(0)
# What an insurer sees of its rank: the quartile of the run's rated units it falls in.
RANK_BANDS = ("top 25 %", "25–50 %", "50–75 %", "bottom 25 %")
# An indicator's basis: measured (a value), none (no value: 0 points), excluded (no value: weight redistributed).
MEASURED, NONE, EXCLUDED = "measured", "none", "excluded"


@dataclass(frozen=True)
class UnitInput:
    """One unit's figures for the period: ``values`` by KPI code (the engine's numerator, denominator, value)."""

    tenant_id: int
    region_code: str | None
    claims: int
    values: dict[str, Value]


@dataclass(frozen=True)
class DeductionInput:
    id: int
    tenant_id: int
    region_code: str | None  # None: the whole insurer (at branch level it counts in every branch)
    kind: str
    points: Decimal
    reason: str
    reference: str | None = None


@dataclass
class UnitScore:
    tenant_id: int
    region_code: str | None
    claims: int
    score: Decimal
    grade: str
    indicators: list[dict[str, Any]]
    deductions: list[dict[str, Any]]
    deduction_points: Decimal
    total: Decimal  # before deductions
    rank: int = 0
    peers: int = 0
    rank_band: str = ""


@dataclass
class Scored:
    results: list[UnitScore] = field(default_factory=list)
    unrated: list[UnitInput] = field(default_factory=list)  # fewer claims than the methodology's min_claims


def parse_period(text: str) -> Period:
    """A rating period: a quarter ("2026-Q3") or a year ("2026"); a month is refused."""
    try:
        period = Period.parse(text, years=True)
    except BadPeriod as exc:
        raise Invalid("period", f"a rating period is a quarter (2026-Q3) or a year (2026), not {text!r}") from exc
    if period.kind not in ("quarter", "year"):
        raise Invalid("period", f"a rating period is a quarter (2026-Q3) or a year (2026), not {text!r}")
    return period


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise Invalid("level", f"level is one of {', '.join(LEVELS)}, not {level!r}")
    return level


def covered_periods(period: Period) -> list[str]:
    """The deduction periods a run of ``period`` counts: the quarter itself; a year and its four quarters."""
    if period.kind == "year":
        return [period.label, *(Period(dt.date(period.start.year, m, 1), "quarter").label for m in (1, 4, 7, 10))]
    return [period.label]


def rank_band(rank: int, peers: int) -> str:
    """The quartile of the run a rank falls in, by its position from first (0) to last (1): the first of any run
    is in the top 25 %, the last of two or more in the bottom 25 %."""
    if peers <= 0 or rank <= 0:
        return ""
    position = (rank - 1) / (peers - 1) if peers > 1 else 0.0
    for index, limit in enumerate((0.25, 0.5, 0.75)):
        if position <= limit:
            return RANK_BANDS[index]
    return RANK_BANDS[3]


def _round(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def _percentile_points(value: float, others: Sequence[float], better: str) -> float:
    """100 × the share of the other units this one does better than (a tie counts half); alone: 100."""
    if not others:
        return 100.0
    if better == "lower":
        wins = sum(1 for other in others if value < other) + 0.5 * sum(1 for other in others if value == other)
    else:
        wins = sum(1 for other in others if value > other) + 0.5 * sum(1 for other in others if value == other)
    return 100.0 * wins / len(others)


def _deductions_for(unit: UnitInput, deductions: Sequence[DeductionInput], level: str) -> list[DeductionInput]:
    return [
        d
        for d in deductions
        if d.tenant_id == unit.tenant_id
        and (level == "insurer" or d.region_code is None or d.region_code == unit.region_code)
    ]


def apply_deductions(methodology: Methodology, found: Sequence[DeductionInput]) -> tuple[list[dict[str, Any]], Decimal]:
    """The deductions as result entries and their points after the caps (each kind, then all together)."""
    by_kind: dict[str, Decimal] = {}
    for deduction in found:
        by_kind[deduction.kind] = by_kind.get(deduction.kind, ZERO) + deduction.points
    total = ZERO
    for kind, points in by_kind.items():
        cap = methodology.deduction_max.get(kind)
        total += min(points, cap) if cap is not None else points
    if methodology.deduction_cap is not None:
        total = min(total, methodology.deduction_cap)
    entries = [
        {"id": d.id, "kind": d.kind, "points": float(d.points), "reason": d.reason, "reference": d.reference}
        for d in found
    ]
    return entries, total.quantize(CENT, ROUND_HALF_UP)


def score_units(
    methodology: Methodology,
    inputs: Iterable[UnitInput],
    deductions: Sequence[DeductionInput] = (),
    level: str = "insurer",
) -> Scored:
    """Score, grade and rank every unit with at least ``min_claims`` claims (pure: no database)."""
    scored = Scored()
    rated: list[UnitInput] = []
    for unit in inputs:
        (rated if unit.claims >= methodology.min_claims else scored.unrated).append(unit)
    catalogue = kpi_loader.by_code()
    peers_values: dict[str, list[float]] = {}
    for indicator in methodology.indicators:
        if indicator.scoring == "percentile":
            peers_values[indicator.kpi] = [
                v.value for unit in rated if (v := unit.values.get(indicator.kpi)) is not None and v.value is not None
            ]
    for unit in rated:
        rows: list[dict[str, Any]] = []
        counted_weight = ZERO
        for indicator in methodology.indicators:
            found = unit.values.get(indicator.kpi)
            value = found.value if found is not None else None
            if value is None:
                basis, points = (NONE, 0.0) if indicator.missing == "zero" else (EXCLUDED, None)
            elif indicator.scoring == "linear":
                basis, points = MEASURED, indicator.linear_points(value)
            else:
                others = list(peers_values[indicator.kpi])
                others.remove(value)
                basis, points = MEASURED, _percentile_points(value, others, catalogue[indicator.kpi].better)
            if basis != EXCLUDED:
                counted_weight += indicator.weight
            rows.append(
                {
                    "kpi": indicator.kpi,
                    "value": _round(value, 4),
                    "numerator": None if found is None else found.numerator,
                    "denominator": None if found is None else found.denominator,
                    "basis": basis,
                    "scoring": indicator.scoring,
                    "points": _round(points, 2),
                    "weight": float(indicator.weight),
                }
            )
        # Excluded indicators' weight goes to the others in proportion (all excluded: nothing to score).
        scale = Decimal(100) / counted_weight if counted_weight else ZERO
        total = ZERO
        for row, indicator in zip(rows, methodology.indicators, strict=True):
            if row["basis"] == EXCLUDED:
                row["effective_weight"] = 0.0
                row["contribution"] = 0.0
                continue
            weight = indicator.weight * scale
            contribution = Decimal(str(row["points"])) * weight / Decimal(100)
            row["effective_weight"] = float(weight.quantize(Decimal("0.0001"), ROUND_HALF_UP))
            row["contribution"] = float(contribution.quantize(CENT, ROUND_HALF_UP))
            total += contribution
        total = total.quantize(CENT, ROUND_HALF_UP)
        entries, points_off = apply_deductions(methodology, _deductions_for(unit, deductions, level))
        score = max(ZERO, total - points_off)
        scored.results.append(
            UnitScore(
                unit.tenant_id,
                unit.region_code,
                unit.claims,
                score,
                methodology.grade_for(score),
                rows,
                entries,
                points_off,
                total,
            )
        )
    scored.results.sort(key=lambda r: (-r.score, r.tenant_id, r.region_code or ""))
    peers = len(scored.results)
    previous: Decimal | None = None
    rank = 0
    for position, result in enumerate(scored.results, start=1):
        if result.score != previous:
            rank, previous = position, result.score
        result.rank, result.peers, result.rank_band = rank, peers, rank_band(rank, peers)
    return scored


# -- from the snapshot --------------------------------------------------------------------------------------


def _claims(snap: kpi_service.OpenSnapshot, period: Period, level: str) -> dict[tuple[int, str | None], int]:
    keys = "tenant_id" if level == "insurer" else "tenant_id, coalesce(region_code, '')"
    start = dt.datetime(period.start.year, period.start.month, 1)  # noqa: DTZ001 - snapshot wall time
    end = dt.datetime(period.end.year, period.end.month, 1)  # noqa: DTZ001
    rows = snap.con.execute(
        f"SELECT {keys}, count(*) FROM claims WHERE reported_at >= ? AND reported_at < ? GROUP BY ALL",  # noqa: S608
        [start, end],
    ).fetchall()
    found: dict[tuple[int, str | None], int] = {}
    for row in rows:
        region = (row[1] or None) if level == "branch" else None
        found[(int(row[0]), region)] = int(row[-1])
    return found


def snapshot_inputs(
    snap: kpi_service.OpenSnapshot, methodology: Methodology, period: Period, level: str = "insurer"
) -> list[UnitInput]:
    """Every unit that reported claims in the period, with its indicator KPIs (one engine call for all)."""
    catalogue = kpi_loader.by_code()
    kpis = [catalogue[i.kpi] for i in methodology.indicators]
    by = ("tenant",) if level == "insurer" else ("tenant", "region")
    result = kpi_service.values(snap, Scope(tenant_ids=None), [period], by, kpis)
    values: dict[tuple[int, str | None], dict[str, Value]] = {}
    for value in result.values:
        if not value.key or not value.key[0]:
            continue
        region = (value.key[1] or None) if level == "branch" else None
        values.setdefault((int(value.key[0]), region), {})[value.kpi] = value
    counts = [k for k in kpis if k.denominator is None]
    inputs: list[UnitInput] = []
    for (tenant_id, region), claims in sorted(
        _claims(snap, period, level).items(), key=lambda i: (i[0][0], i[0][1] or "")
    ):
        found = values.get((tenant_id, region), {})
        for kpi in counts:  # a count with no rows for this unit counted zero of them: a value, not missing
            found.setdefault(kpi.code, Value(kpi.code, period.label, (), 0.0, None, 0.0))
        inputs.append(UnitInput(tenant_id, region, claims, found))
    return inputs


def _deduction_inputs(session: Session, period: Period) -> list[DeductionInput]:
    rows = session.scalars(
        select(RatingDeduction).where(
            RatingDeduction.period.in_(covered_periods(period)), RatingDeduction.withdrawn_at.is_(None)
        )
    )
    return [
        DeductionInput(r.id, r.tenant_id, r.region_code, r.kind, Decimal(r.points), r.reason, r.reference) for r in rows
    ]


def previous_run(session: Session, period: Period, level: str) -> RatingRun | None:
    """The approved run of the period before (the quarter or year before) at the same level."""
    return session.scalars(
        select(RatingRun)
        .where(RatingRun.period == period.shift(-1).label, RatingRun.level == level, RatingRun.status == "approved")
        .order_by(RatingRun.approved_at.desc(), RatingRun.id.desc())
        .limit(1)
    ).first()


def standing(session: Session, run: RatingRun) -> dict[tuple[int, str | None], tuple[Decimal, str]]:
    """Each unit's final score and grade in a run: an upheld objection's revision replaces the original."""
    results = repository.run_results(session, run.id)
    found = {(r.tenant_id, r.region_code): (Decimal(r.score), r.grade) for r in results}
    by_id = {r.id: (r.tenant_id, r.region_code) for r in results}
    for result_id, objection in repository.upheld_objections(session, list(by_id)).items():
        if objection.revised_score is not None and objection.revised_grade is not None:
            found[by_id[result_id]] = (Decimal(objection.revised_score), objection.revised_grade)
    return found


def compute_run(
    session: Session,
    principal: Principal,
    period: str,
    level: str = "insurer",
    *,
    snapshot: kpi_service.OpenSnapshot | None = None,
    methodology_id: int | None = None,
    note: str | None = None,
) -> RatingRun:
    """A draft run of ``period`` ("2026-Q3" or "2026") at ``level`` (insurer | branch) by the active methodology
    (or ``methodology_id``), from the KPI snapshot in force (or the one given). Units with fewer claims than the
    methodology's ``min_claims`` are not rated (named in the run's note)."""
    principal.require(Permission.MANAGE_RATINGS)
    parsed = parse_period(period)
    check_level(level)
    row: RatingMethodology | None
    if methodology_id is not None:
        row = methodology_service.get(session, methodology_id)
    else:
        row = methodology_service.active(session)
        if row is None:
            raise Conflict("methodology", "no methodology yet: load one (claimwatch supervision methodology load)")
    method = methodology_service.of_row(row)
    if snapshot is None:
        with kpi_service.opened() as snap:
            inputs = snapshot_inputs(snap, method, parsed, level)
            taken_at = snap.taken_at
    else:
        inputs = snapshot_inputs(snapshot, method, parsed, level)
        taken_at = snapshot.taken_at
    known = set(session.scalars(select(Tenant.id)))
    inputs = [unit for unit in inputs if unit.tenant_id in known]
    scored = score_units(method, inputs, _deduction_inputs(session, parsed), level)
    if scored.unrated:
        codes = repository.tenant_codes(session)
        names = ", ".join(
            f"{codes.get(u.tenant_id, u.tenant_id)}{'/' + u.region_code if u.region_code else ''} ({u.claims})"
            for u in scored.unrated
        )
        unrated = f"not rated (fewer than {method.min_claims} claims): {names}"
        note = f"{note}\n{unrated}" if note else unrated
    before = previous_run(session, parsed, level)
    previous = standing(session, before) if before is not None else {}
    run = RatingRun(
        methodology_id=row.id,
        period=parsed.label,
        level=level,
        status="draft",
        snapshot_taken_at=taken_at,
        computed_at=utc_now(),
        computed_by=principal.actor[:100],
        note=note,
    )
    session.add(run)
    session.flush()
    session.add_all(
        RatingResult(
            run_id=run.id,
            tenant_id=result.tenant_id,
            region_code=result.region_code,
            score=result.score,
            grade=result.grade,
            rank=result.rank,
            peers=result.peers,
            rank_band=result.rank_band,
            indicators=result.indicators,
            deductions=result.deductions,
            deduction_points=result.deduction_points,
            previous_score=previous.get((result.tenant_id, result.region_code), (None, None))[0],
            previous_grade=previous.get((result.tenant_id, result.region_code), (None, None))[1],
        )
        for result in scored.results
    )
    session.flush()
    return run


def get_run(session: Session, run_id: int) -> RatingRun:
    run = session.get(RatingRun, run_id)
    if run is None:
        raise NotFound("run", f"no rating run {run_id}")
    return run
