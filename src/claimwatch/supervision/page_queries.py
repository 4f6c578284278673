"""What the rating pages show (read models; every write is :mod:`claimwatch.supervision.service`'s): the
regulator's runs by period with the methodology versions, one run's ranking with its score distribution and each
unit's breakdown, the deductions, the objections (open first); and an insurer's own published results.

Who may read what is the service's (:mod:`claimwatch.supervision.service`: ``runs``, ``results``,
``get_result``, ``own_results``, ``deductions``, ``objections`` take the principal): the rating tables are not
tenant-scoped rows (a run spans insurers), so an insurer gets only approved runs and its own results through
them, and this module shows of those its rank band, never its rank among named peers or another insurer's
breakdown (:func:`insurer_view`; a test asks for another insurer's result and gets 404).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Principal
from claimwatch.errors import NotFound
from claimwatch.kpi import loader as kpi_loader
from claimwatch.supervision import methodology as methodology_service
from claimwatch.supervision import service
from claimwatch.supervision.models import RatingMethodology, RatingObjection, RatingResult, RatingRun
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate

GRADES = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D")
LEVELS = ("insurer", "branch")
DEDUCTION_KINDS = ("major_complaint", "regulatory_penalty", "other")
STATUS_LABELS: dict[str, str] = {
    "draft": N_("Draft"),
    "approved": N_("Approved"),
    "withdrawn": N_("Withdrawn"),
}
LEVEL_LABELS: dict[str, str] = {"insurer": N_("Insurers"), "branch": N_("Provincial branches")}
KIND_LABELS: dict[str, str] = {
    "major_complaint": N_("Major complaint"),
    "regulatory_penalty": N_("Regulatory penalty"),
    "other": N_("Other deduction"),
}
OBJECTION_LABELS: dict[str, str] = {
    "open": N_("Awaiting decision"),
    "upheld": N_("Objection upheld"),
    "rejected": N_("Objection rejected"),
}
# The rank band as stored (supervision.rating.RANK_BANDS), in the page's language.
BAND_LABELS: dict[str, str] = {
    "top 25 %": N_("top 25 %"),
    "25–50 %": N_("25–50 %"),
    "50–75 %": N_("50–75 %"),
    "bottom 25 %": N_("bottom 25 %"),
}
SCORE_BINS = tuple(range(0, 100, 5))  # the distribution chart's bins: [0, 5), … [95, 100]
HISTORY = 8  # an insurer's trend: its last approved results


def label(labels: dict[str, str], code: str | None, locale: str) -> str:
    return translate(locale, labels[code]) if code in labels else code or ""


def _number(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _fmt(value: Decimal | float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{float(value):.{digits}f}"


def _change(score: Decimal | None, previous: Decimal | None) -> float | None:
    return None if score is None or previous is None else round(float(score) - float(previous), 2)


def _kpi_name(code: str, locale: str) -> str:
    found = kpi_loader.by_code().get(code)
    return found.name(locale) if found is not None else code


def _unit_label(code: str, name: str, region_code: str | None, locale: str) -> str:
    if not region_code:
        return f"{code} · {name}"
    zh, en = tenancy_service.region_names().get(region_code, (region_code, region_code))
    return f"{code} · {zh if locale == 'zh' else en}"


def _tenants(session: Session) -> dict[int, tuple[str, str]]:
    return {tid: (code, name) for tid, code, name in tenancy_repository.tenant_codes_and_names(session)}


# -- runs and methodologies ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    id: int
    period: str
    level: str
    level_label: str
    status: str
    status_label: str
    methodology: str
    units: int
    computed_at: dt.datetime
    computed_by: str
    approved_at: dt.datetime | None
    objections_until: dt.date | None

    @property
    def url(self) -> str:
        return run_url(self.id)


def run_url(run_id: int) -> str:
    return f"/ratings/runs/{run_id}"


def result_url(result_id: int) -> str:
    return f"/ratings/results/{result_id}"


def _run_rows(session: Session, runs: Sequence[RatingRun], locale: str) -> list[RunRow]:
    ids = [run.id for run in runs]
    counts = (
        dict(
            session.execute(
                select(RatingResult.run_id, func.count())
                .where(RatingResult.run_id.in_(ids))
                .group_by(RatingResult.run_id)
            ).all()
        )
        if ids
        else {}
    )
    methodology_ids = {run.methodology_id for run in runs}
    versions = (
        {
            m.id: f"{m.code} v{m.version}"
            for m in session.scalars(select(RatingMethodology).where(RatingMethodology.id.in_(methodology_ids)))
        }
        if methodology_ids
        else {}
    )
    return [
        RunRow(
            id=run.id,
            period=run.period,
            level=run.level,
            level_label=label(LEVEL_LABELS, run.level, locale),
            status=run.status,
            status_label=label(STATUS_LABELS, run.status, locale),
            methodology=versions.get(run.methodology_id, ""),
            units=counts.get(run.id, 0),
            computed_at=run.computed_at,
            computed_by=run.computed_by,
            approved_at=run.approved_at,
            objections_until=run.objections_until,
        )
        for run in runs
    ]


@dataclass(frozen=True)
class PeriodRuns:
    period: str
    runs: list[RunRow]


def runs_by_period(session: Session, principal: Principal, locale: str) -> list[PeriodRuns]:
    """Every run the caller may see, newest period first; within a period the newest run first."""
    runs = service.runs(session, principal)
    grouped: dict[str, list[RunRow]] = {}
    for row in _run_rows(session, runs, locale):
        grouped.setdefault(row.period, []).append(row)
    return [PeriodRuns(period, rows) for period, rows in grouped.items()]


@dataclass(frozen=True)
class MethodologyRow:
    id: int
    code: str
    version: int
    title: str
    active: bool
    sha256: str
    created_at: dt.datetime
    created_by: str
    body: str


def methodologies(session: Session) -> list[MethodologyRow]:
    rows = methodology_service.versions(session)
    return [
        MethodologyRow(m.id, m.code, m.version, m.title, m.active, m.sha256, m.created_at, m.created_by, m.body)
        for m in rows
    ]


def period_choices(today: dt.date, quarters: int = 8) -> list[str]:
    """The compute form's periods: the last complete quarters, newest first, and the last complete years."""
    index = today.year * 4 + (today.month - 1) // 3 - 1  # the last complete quarter
    found = [f"{i // 4}-Q{i % 4 + 1}" for i in range(index, index - quarters, -1)]
    return found + [str(today.year - 1), str(today.year - 2)]


# -- one run ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    kpi: str
    name: str
    value: float | None
    basis: str
    points: float | None
    weight: float | None
    contribution: float | None


@dataclass(frozen=True)
class Deduction:
    id: int | None
    kind: str
    kind_label: str
    points: float
    reason: str


@dataclass
class ResultRow:
    id: int
    tenant_id: int
    tenant_code: str
    unit: str
    region_code: str | None
    score: float
    grade: str
    rank: int
    peers: int
    rank_band: str
    deduction_points: float
    previous_score: float | None
    previous_grade: str | None
    change: float | None
    indicators: list[Indicator] = field(default_factory=list)
    deductions: list[Deduction] = field(default_factory=list)
    objection: dict[str, Any] | None = None  # the newest objection to it, if any

    @property
    def url(self) -> str:
        return result_url(self.id)


def _indicators(raw: Iterable[dict[str, Any]], locale: str) -> list[Indicator]:
    return [
        Indicator(
            kpi=str(item.get("kpi", "")),
            name=_kpi_name(str(item.get("kpi", "")), locale),
            value=_number(item.get("value")),
            basis=str(item.get("basis") or ""),
            points=_number(item.get("points")),
            weight=_number(item.get("weight")),
            contribution=_number(item.get("contribution")),
        )
        for item in raw
    ]


def _deductions(raw: Iterable[dict[str, Any]], locale: str) -> list[Deduction]:
    return [
        Deduction(
            id=item.get("id"),
            kind=str(item.get("kind", "")),
            kind_label=label(KIND_LABELS, str(item.get("kind", "")), locale),
            points=float(item.get("points") or 0),
            reason=str(item.get("reason") or ""),
        )
        for item in raw
    ]


def _result_row(
    result: RatingResult, tenants: dict[int, tuple[str, str]], locale: str, objection: RatingObjection | None = None
) -> ResultRow:
    code, name = tenants.get(result.tenant_id, (str(result.tenant_id), ""))
    return ResultRow(
        id=result.id,
        tenant_id=result.tenant_id,
        tenant_code=code,
        unit=_unit_label(code, name, result.region_code, locale),
        region_code=result.region_code,
        score=float(result.score),
        grade=result.grade,
        rank=result.rank,
        peers=result.peers,
        rank_band=label(BAND_LABELS, result.rank_band, locale),
        deduction_points=float(result.deduction_points or 0),
        previous_score=_number(result.previous_score),
        previous_grade=result.previous_grade,
        change=_change(result.score, result.previous_score),
        indicators=_indicators(result.indicators or [], locale),
        deductions=_deductions(result.deductions or [], locale),
        objection=_objection_dict(objection, locale) if objection is not None else None,
    )


@dataclass(frozen=True)
class RunView:
    run: RunRow
    note: str | None
    results: list[ResultRow]
    indicator_columns: list[tuple[str, str]]  # (kpi code, name) in the methodology's order
    chart_json: str
    grade_counts: list[tuple[str, int]]


def _newest_objections(session: Session, result_ids: list[int]) -> dict[int, RatingObjection]:
    if not result_ids:
        return {}
    found: dict[int, RatingObjection] = {}
    for objection in session.scalars(
        select(RatingObjection).where(RatingObjection.result_id.in_(result_ids)).order_by(RatingObjection.id)
    ):
        found[objection.result_id] = objection
    return found


def run_view(session: Session, principal: Principal, run_id: int, locale: str) -> RunView:
    """One run for the regulator: every unit by rank, each with its breakdown, and the chart's data."""
    run = service.get_run(session, principal, run_id)
    results = service.results(session, principal, run.id)
    tenants = _tenants(session)
    objections = _newest_objections(session, [r.id for r in results])
    rows = [_result_row(r, tenants, locale, objections.get(r.id)) for r in results]
    columns: dict[str, str] = {}
    for row in rows:
        for indicator in row.indicators:
            columns.setdefault(indicator.kpi, indicator.name)
    grades = methodology_service.of_row(methodology_service.get(session, run.methodology_id)).grade_names
    grade_counts = [(grade, sum(1 for row in rows if row.grade == grade)) for grade in grades]
    bins = [0] * len(SCORE_BINS)
    for row in rows:
        bins[min(len(SCORE_BINS) - 1, max(0, int(row.score // 5)))] += 1
    chart = {
        "bins": [f"{low}–{low + 5}" for low in SCORE_BINS],
        "counts": bins,
        "grades": [grade for grade, _ in grade_counts],
        "grade_counts": [count for _, count in grade_counts],
        "labels": {
            "units": translate(locale, N_("Rated units")),
            "score": translate(locale, N_("Score")),
            "grade": translate(locale, N_("Grade")),
        },
    }
    return RunView(
        run=_run_rows(session, [run], locale)[0],
        note=run.note,
        results=rows,
        indicator_columns=list(columns.items()),
        chart_json=json.dumps(chart, ensure_ascii=False).replace("</", "<\\/"),
        grade_counts=grade_counts,
    )


def result_chart_json(row: ResultRow, locale: str) -> str:
    """The breakdown's bar chart: each indicator's contribution of its weight, and the deductions."""
    data = {
        "names": [i.name for i in row.indicators],
        "contributions": [i.contribution for i in row.indicators],
        "weights": [i.weight for i in row.indicators],
        "deduction": -row.deduction_points if row.deduction_points else 0,
        "labels": {
            "contribution": translate(locale, N_("Contribution")),
            "weight": translate(locale, N_("Weight")),
            "deductions": translate(locale, N_("Deductions")),
        },
    }
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def result_for_regulator(
    session: Session, principal: Principal, result_id: int, locale: str
) -> tuple[ResultRow, RunRow]:
    result = service.get_result(session, principal, result_id)
    objection = _newest_objections(session, [result.id]).get(result.id)
    run = service.get_run(session, principal, result.run_id)
    return _result_row(result, _tenants(session), locale, objection), _run_rows(session, [run], locale)[0]


# -- deductions ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeductionRow:
    id: int
    tenant_code: str
    unit: str
    period: str
    kind: str
    kind_label: str
    points: float
    reason: str
    reference: str | None
    entered_by: str
    entered_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawn_by: str | None


def deductions(session: Session, principal: Principal, locale: str, period: str | None = None) -> list[DeductionRow]:
    """The deductions (of ``period``), standing ones first, then newest first."""
    rows = sorted(service.deductions(session, principal, period), key=lambda d: d.withdrawn_at is not None)
    tenants = _tenants(session)
    found = []
    for d in rows:
        code, name = tenants.get(d.tenant_id, (str(d.tenant_id), ""))
        found.append(
            DeductionRow(
                d.id, code, _unit_label(code, name, d.region_code, locale), d.period, d.kind,
                label(KIND_LABELS, d.kind, locale), float(d.points), d.reason, d.reference, d.entered_by,
                d.entered_at, d.withdrawn_at, d.withdrawn_by,
            )
        )  # fmt: skip
    return found


def grade_names(session: Session) -> tuple[str, ...]:
    """The active methodology's grades, best first (the decision form's choices)."""
    row = methodology_service.active(session)
    return methodology_service.of_row(row).grade_names if row is not None else GRADES


def tenant_choices(session: Session) -> list[tuple[str, str]]:
    return [(code, f"{code} · {name}") for _, code, name in tenancy_repository.tenant_codes_and_names(session)]


def region_choices(locale: str) -> list[tuple[str, str]]:
    names = tenancy_service.region_names()
    return [(code, zh if locale == "zh" else en) for code, (zh, en) in sorted(names.items())]


# -- objections ------------------------------------------------------------------------------------------------


def _objection_dict(o: RatingObjection, locale: str) -> dict[str, Any]:
    return {
        "id": o.id,
        "result_id": o.result_id,
        "status": o.status,
        "status_label": label(OBJECTION_LABELS, o.status, locale),
        "filed_by": o.filed_by,
        "filed_at": o.filed_at,
        "reason": o.reason,
        "decide_by": o.decide_by,
        "decided_by": o.decided_by,
        "decided_at": o.decided_at,
        "decision_note": o.decision_note,
        "revised_score": _number(o.revised_score),
        "revised_grade": o.revised_grade,
    }


@dataclass(frozen=True)
class ObjectionRow:
    objection: dict[str, Any]
    result: ResultRow
    run: RunRow
    overdue: bool


def objections(session: Session, principal: Principal, locale: str, today: dt.date) -> list[ObjectionRow]:
    """Open objections first by their decide-by date, then the decided ones, newest decision first."""
    found = service.objections(session, principal)
    decided = sorted((o for o in found if o.status != "open"), key=lambda o: o.decided_at or o.filed_at, reverse=True)
    ordered = [o for o in found if o.status == "open"] + decided
    by_id = (
        {
            r.id: r
            for r in session.scalars(select(RatingResult).where(RatingResult.id.in_([o.result_id for o in ordered])))
        }
        if ordered
        else {}
    )
    rows = [(o, by_id[o.result_id]) for o in ordered if o.result_id in by_id]
    tenants = _tenants(session)
    runs = {r.id: r for r in _run_rows(session, _runs(session, {result.run_id for _, result in rows}), locale)}
    return [
        ObjectionRow(
            _objection_dict(objection, locale),
            _result_row(result, tenants, locale),
            runs[result.run_id],
            objection.status == "open" and objection.decide_by < today,
        )
        for objection, result in rows
    ]


def _runs(session: Session, ids: set[int]) -> list[RatingRun]:
    return list(session.scalars(select(RatingRun).where(RatingRun.id.in_(ids)))) if ids else []


# -- an insurer's own results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnResult:
    """An insurer's published result: what it may see (its rank band, not its rank among named peers)."""

    id: int
    run: RunRow
    unit: str
    score: float
    grade: str
    rank_band: str
    previous_score: float | None
    previous_grade: str | None
    change: float | None
    deduction_points: float
    indicators: list[Indicator]
    deductions: list[Deduction]
    objections: list[dict[str, Any]]
    may_object: bool
    chart_json: str
    revised_score: float | None = None  # an upheld objection's revision
    revised_grade: str | None = None


@dataclass(frozen=True)
class InsurerView:
    results: list[OwnResult]  # newest first
    chosen: OwnResult | None
    history_json: str


def insurer_view(
    session: Session, principal: Principal, locale: str, today: dt.date, chosen_id: int | None = None
) -> InsurerView:
    """The insurer's published results (approved runs only, its own results only) and the one shown in full:
    ``chosen_id`` if it is one of them (else 404: another insurer's result or a draft is not there for it),
    by default the newest insurer-level one."""
    pairs = [(result, run) for run, result in service.own_results(session, principal)]
    pairs.sort(key=lambda pair: (pair[1].period, pair[1].level == "insurer"), reverse=True)  # the whole insurer first
    tenants = _tenants(session)
    run_rows = {r.id: r for r in _run_rows(session, [run for _, run in pairs], locale)}
    objections: dict[int, list[RatingObjection]] = {}
    if pairs:
        for objection in session.scalars(
            select(RatingObjection)
            .where(
                RatingObjection.tenant_id == principal.tenant_id,
                RatingObjection.result_id.in_([r.id for r, _ in pairs]),
            )
            .order_by(RatingObjection.id.desc())
        ):
            objections.setdefault(objection.result_id, []).append(objection)
    results = []
    for result, run in pairs:
        row = _result_row(result, tenants, locale)
        own = objections.get(result.id, [])
        upheld = next((o for o in own if o.status == "upheld"), None)
        results.append(
            OwnResult(
                id=result.id,
                run=run_rows[run.id],
                unit=row.unit,
                score=row.score,
                grade=row.grade,
                rank_band=row.rank_band,
                previous_score=row.previous_score,
                previous_grade=row.previous_grade,
                change=row.change,
                deduction_points=row.deduction_points,
                indicators=row.indicators,
                deductions=row.deductions,
                objections=[_objection_dict(o, locale) for o in own],
                may_object=service.objection_open(run, today) and not any(o.status == "open" for o in own),
                chart_json=result_chart_json(row, locale),
                revised_score=_number(upheld.revised_score) if upheld else None,
                revised_grade=upheld.revised_grade if upheld else None,
            )
        )
    if chosen_id is not None:
        chosen = next((r for r in results if r.id == chosen_id), None)
        if chosen is None:
            raise NotFound("result", f"no published result {chosen_id} of your company")
    else:
        chosen = next((r for r in results if r.run.level == "insurer"), results[0] if results else None)
    history = [r for r in results if r.run.level == "insurer" and r.run.period.count("-") == 1][:HISTORY][::-1]
    history_json = json.dumps(
        {
            "periods": [r.run.period for r in history],
            "scores": [r.revised_score if r.revised_score is not None else r.score for r in history],
            "label": translate(locale, N_("Score")),
        },
        ensure_ascii=False,
    ).replace("</", "<\\/")
    return InsurerView(results, chosen, history_json)


def fmt(value: Decimal | float | None, digits: int = 2) -> str:
    """A score or points as the pages show it (two decimals; — for none)."""
    return _fmt(value, digits)
