"""What the 降赔惜赔 page and API show: a period's run, its flagged units (or every unit tested) with the figures,
the claims behind each flag and the targeted plans opened from it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import User
from claimwatch.risk import fairness
from claimwatch.risk.fairness_models import FairnessResult, FairnessRun
from claimwatch.tenancy import repository as tenancy_repository

MAX_ROWS = 2000


@dataclass(frozen=True)
class RunView:
    period: str
    claims: int
    flagged: int
    ran_at: dt.datetime
    ran_by: str
    settings_digest: str


@dataclass
class ResultView:
    id: int
    unit_kind: str
    unit_id: int
    unit: str  # username or org code
    unit_name: str  # display name or org unit name
    measure: str
    measure_label: str  # msgid
    cases: int
    unmatched: int
    observed: int
    rate: float | None
    expected: float | None
    expected_rate: float | None
    ratio: float | None
    odds_ratio: float | None
    p_value: float | None
    q_value: float | None
    paid_ratio: float | None  # short payments: Σ paid ÷ Σ assessed
    expected_paid_ratio: float | None  # … the peers' on the same mix
    amount: float | None  # CNY: Σ paid (short payments) or Σ reductions (review reductions)
    flagged: bool
    reason: str
    examples: list[str]
    plans: list[str] = field(default_factory=list)
    strata: list[dict[str, Any]] = field(default_factory=list)
    rolled_up: bool = False  # an org unit's figures include its sub-units' claims

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_kind": self.unit_kind,
            "unit": self.unit,
            "unit_name": self.unit_name,
            "measure": self.measure,
            "cases": self.cases,
            "unmatched": self.unmatched,
            "observed": self.observed,
            "rate": fairness.rounded(self.rate, 4),
            "expected": fairness.rounded(self.expected, 3),
            "expected_rate": fairness.rounded(self.expected_rate, 4),
            "ratio": fairness.rounded(self.ratio, 3),
            "odds_ratio": fairness.rounded(self.odds_ratio, 3),
            "p_value": self.p_value,
            "q_value": self.q_value,
            "paid_ratio": fairness.rounded(self.paid_ratio, 4),
            "expected_paid_ratio": fairness.rounded(self.expected_paid_ratio, 4),
            "amount": self.amount,
            "flagged": self.flagged,
            "reason": self.reason,
            "examples": self.examples,
            "plans": self.plans,
            "strata": self.strata,
        }


@dataclass
class FairnessPage:
    periods: list[str]
    period: str | None
    run: RunView | None
    rows: list[ResultView]
    everything: bool


def periods(session: Session) -> list[str]:
    """The periods with a run, newest first (months and quarters of the same year sort together)."""
    found = session.scalars(select(FairnessRun.period)).all()
    return sorted(found, key=lambda p: (p[:4], p[5:].replace("Q", "").zfill(2), "Q" in p), reverse=True)


def page(session: Session, period: str | None, *, everything: bool = False) -> FairnessPage:
    known = periods(session)
    chosen = period if period in known else (known[0] if known else None)
    if chosen is None:
        return FairnessPage(known, None, None, [], everything)
    run = session.execute(select(FairnessRun).where(FairnessRun.period == chosen)).scalar_one()
    query = select(FairnessResult).where(FairnessResult.period == chosen)
    if not everything:
        query = query.where(FairnessResult.flagged.is_(True))
    results = list(session.scalars(query.order_by(FairnessResult.id).limit(MAX_ROWS)))
    return FairnessPage(
        known,
        chosen,
        RunView(run.period, run.claims, run.flagged, run.ran_at, run.ran_by, run.settings_digest),
        views(session, results),
        everything,
    )


def views(session: Session, results: list[FairnessResult]) -> list[ResultView]:
    handler_ids = [r.unit_id for r in results if r.unit_kind == "handler"]
    names: dict[tuple[str, int], str] = {}
    if handler_ids:
        for user_id, display in session.execute(select(User.id, User.display_name).where(User.id.in_(handler_ids))):
            names[("handler", user_id)] = display
    for unit in tenancy_repository.org_units(session):
        names[("org", unit.id)] = unit.name
    plans = fairness.plans_of(session, [r.id for r in results if r.flagged])
    found = []
    for r in results:
        expected_rate = r.expected / r.cases if r.expected is not None and r.cases else None
        short = r.measure == "short_payment" and bool(r.base_fen)
        paid_ratio = (r.amount_fen or 0) / (r.base_fen or 1) if short else None
        expected_paid = (r.expected_fen or 0) / (r.base_fen or 1) if short else None
        amount = r.amount_fen / 100 if r.amount_fen is not None else None
        found.append(
            ResultView(
                id=r.id,
                unit_kind=r.unit_kind,
                unit_id=r.unit_id,
                unit=r.unit_label,
                unit_name=names.get((r.unit_kind, r.unit_id), r.unit_label),
                measure=r.measure,
                measure_label=fairness.MEASURE_LABELS[r.measure],
                cases=r.cases,
                unmatched=r.unmatched,
                observed=r.observed,
                rate=r.observed / r.cases if r.cases else None,
                expected=r.expected,
                expected_rate=expected_rate,
                ratio=r.ratio,
                odds_ratio=r.odds_ratio,
                p_value=r.p_value,
                q_value=r.q_value,
                paid_ratio=paid_ratio,
                expected_paid_ratio=expected_paid,
                amount=amount,
                flagged=r.flagged,
                reason=r.reason,
                examples=list(r.examples or []),
                plans=plans.get(r.id, []),
                strata=list((r.details or {}).get("strata") or []),
                rolled_up=bool((r.details or {}).get("rolled_up")),
            )
        )
    found.sort(key=lambda v: (not v.flagged, v.unit_kind != "handler", -(v.ratio or 0), v.unit))
    return found
