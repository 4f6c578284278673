"""Risk scoring (理赔风险预警): red-flag points with their reasons, the active model's calibrated probability with
its top contributing features, one combined score and level per claim.

- ``score_columns`` scores a batch held as numpy columns (the benchmark and batch jobs);
- ``score_claims`` is the report-time hook triage calls inside ingestion: it scores the claims' facts in one
  batch, stores a ``risk_scores`` row per claim, sets ``claims.risk_score`` / ``risk_level`` and the facts'
  ``risk_score`` / ``risk_level`` (so triage rules can test them), and opens a review (核查) for every claim at
  the review level that has none open.

The combined score is the model's calibrated probability when the insurer has an active model whose
features match the current red-flag set, otherwise the red-flag points ÷ 100 (at most 1). The level is the
higher of the points level and the probability level (thresholds in the red-flag file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.cases.models import Claim
from claimwatch.db import utc_now
from claimwatch.risk import repository
from claimwatch.risk.facts import ClaimFacts
from claimwatch.risk.features import (
    BASE_FACTS,
    CompiledModel,
    facts_columns,
    feature_matrix,
    feature_names,
    feature_row,
    fill_headroom,
    headroom_one,
    json_value,
)
from claimwatch.risk.loader import LEVELS, RedFlagSet, red_flags_for_tenant
from claimwatch.risk.models import RiskModel, RiskReview
from claimwatch.tenancy import repository as tenancy_repository

TOP_FEATURES = 3
SYSTEM_ACTOR = "system:risk"


@dataclass(frozen=True)
class FiredFlag:
    code: str
    points: int
    reason_zh: str
    reason_en: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "points": self.points, "reason": {"zh": self.reason_zh, "en": self.reason_en}}


@dataclass(frozen=True)
class Contribution:
    feature: str
    contribution: float  # log-odds added by this feature (coefficient × standardised value)
    value: float  # the feature's value (before standardisation)

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "contribution": round(self.contribution, 4), "value": round(self.value, 4)}


@dataclass(frozen=True)
class RiskResult:
    claim_id: int | None
    score: float
    level: str  # low | medium | high
    points: int
    probability: float | None
    model_version: int | None
    flags: tuple[FiredFlag, ...]
    contributions: tuple[Contribution, ...] = ()
    score_id: int | None = None
    review_opened: bool = False

    @property
    def flagged(self) -> bool:
        """A red flag fired or the level is high (the inspections population ``risk_flag``)."""
        return bool(self.flags) or self.level == "high"


@dataclass
class BatchScores:
    """Scores of a batch, as arrays (row i = claim i)."""

    fired: np.ndarray  # n × flags, bool
    points: np.ndarray  # int
    probability: np.ndarray | None  # float, or None without a model
    score: np.ndarray  # float 0–1
    level: np.ndarray  # int8: 0 low, 1 medium, 2 high
    features: np.ndarray | None = None  # n × features (raw), with a model
    top_index: np.ndarray | None = None  # n × k
    top_value: np.ndarray | None = None  # n × k
    extra: dict[str, Any] = field(default_factory=dict)


def _levels(values: np.ndarray, medium: float, high: float) -> np.ndarray:
    return (values >= medium).astype(np.int8) + (values >= high).astype(np.int8)


def score_columns(
    columns: dict[str, np.ndarray],
    flag_set: RedFlagSet,
    model: CompiledModel | None = None,
    *,
    n: int | None = None,
    explain: bool = True,
) -> BatchScores:
    """Score a batch held as columns (see ``features.facts_columns``); the columns must include every fact
    the flags use and, with a model, ``features.BASE_FACTS``."""
    count = n if n is not None else len(next(iter(columns.values())))
    fired = np.zeros((count, len(flag_set.flags)), dtype=bool)
    for j, flag in enumerate(flag_set.flags):
        fired[:, j] = flag.when.mask(columns)
    weights = np.array([f.points for f in flag_set.flags], dtype=np.int64)
    points = fired.astype(np.int64) @ weights
    level = _levels(points, flag_set.medium_points, flag_set.high_points)
    if model is None:
        return BatchScores(fired, points, None, np.minimum(points, 100) / 100.0, level)
    matrix = feature_matrix(columns, fired)
    standardised = model.standardise(matrix)
    probability = model.probability(standardised)
    level = np.maximum(level, _levels(probability, flag_set.medium_probability, flag_set.high_probability))
    top_index = top_value = None
    if explain:
        top_index, top_value = model.top_contributions(standardised, TOP_FEATURES)
    return BatchScores(fired, points, probability, probability, level, matrix, top_index, top_value)


# ------------------------------------------------------------------------------------------- the active model


def model_matches(model: RiskModel | CompiledModel, flag_set: RedFlagSet) -> str | None:
    """Why the model cannot be used with this red-flag set, or None when it can."""
    expected = feature_names(flag_set.codes)
    features = list(model.features)
    if features != expected:
        missing = [f for f in expected if f not in features]
        extra = [f for f in features if f not in expected]
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unknown {', '.join(extra)}")
        if not parts:
            parts.append("in another order")
        return f"the model's features do not match the red-flag set {flag_set.version}: {'; '.join(parts)}"
    if isinstance(model, RiskModel) and model.flags_digest != flag_set.digest:
        return (
            f"the model was trained with another red-flag set (digest {model.flags_digest[:12]}, "
            f"current {flag_set.digest[:12]}): train a new model"
        )
    return None


def params_digest(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


_UNKNOWN: Any = object()


def active_model(
    session: Session, flag_set: RedFlagSet, key: tuple[int, str] | None = _UNKNOWN
) -> CompiledModel | None:
    """The tenant's active model, compiled once per version; None without one or when its features no
    longer match the red-flag set (scores then use the red flags alone). ``key``: the active model's (id,
    digest) when the caller has read it already (triage's per-transaction state), None for none."""
    if key is _UNKNOWN:
        key = repository.active_model_key(session)
    if key is None:
        return None
    compiled = _COMPILED.get(key)
    if compiled is None:
        row = repository.model_by_id(session, key[0])
        if row is None:  # pragma: no cover - read in the same transaction
            return None
        if model_matches(row, flag_set) is not None:
            return None
        compiled = CompiledModel.from_params(row.params, row.id, row.version)
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        _COMPILED[key] = compiled
    return compiled if list(compiled.features) == feature_names(flag_set.codes) else None


_COMPILED: dict[tuple[int, str], CompiledModel] = {}


def flags_for(session: Session, tenant_id: int) -> RedFlagSet:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return red_flags_for_tenant(tenant.code if tenant is not None else "")


# --------------------------------------------------------------------------------------------- at report time


def results_of(
    batch: BatchScores, flag_set: RedFlagSet, model: CompiledModel | None, facts: Sequence[Any]
) -> list[RiskResult]:
    """Per-claim results (reasons rendered with the claim's values) from a batch's arrays."""
    results = []
    names = list(model.features) if model is not None else []
    for i, f in enumerate(facts):
        fired: list[FiredFlag] = []
        for j in np.flatnonzero(batch.fired[i]):
            flag = flag_set.flags[int(j)]
            values = {name: getattr(f, name) for name in FACT_NAMES_OF_REASONS} if f is not None else {}
            fired.append(FiredFlag(flag.code, flag.points, flag.reason("zh", values), flag.reason("en", values)))
        contributions: tuple[Contribution, ...] = ()
        top_index, top_value, features = batch.top_index, batch.top_value, batch.features
        if model is not None and top_index is not None and top_value is not None and features is not None:
            contributions = tuple(
                Contribution(names[int(k)], float(v), float(features[i, int(k)]))
                for k, v in zip(top_index[i], top_value[i], strict=True)
                if v > 0
            )
        results.append(
            RiskResult(
                claim_id=None,
                score=round(float(batch.score[i]), 6),
                level=LEVELS[int(batch.level[i])],
                points=int(batch.points[i]),
                probability=None if batch.probability is None else round(float(batch.probability[i]), 6),
                model_version=model.version if model is not None else None,
                flags=tuple(fired),
                contributions=contributions,
            )
        )
    return results


FACT_NAMES_OF_REASONS = (
    "days_since_policy_start",
    "reinstated_days",
    "shared_contact_count",
    "repeat_claimant_count",
    "amount_cny",
    "provider_claim_count",
    "provider_share",
    "report_delay_days",
    "claimant_age",
    "line",
)


def input_names(flag_set: RedFlagSet) -> list[str]:
    """The facts a score reads (stored as its ``inputs``); kept per red-flag set digest (walking the flags'
    conditions was a tenth of the report-time scorer's Python)."""
    names = _INPUT_NAMES.get(flag_set.digest)
    if names is None:
        names = tuple(sorted(flag_set.facts_used() | BASE_FACTS | {"amount_cny", "authority_headroom_pct"}))
        if len(_INPUT_NAMES) > 64:
            _INPUT_NAMES.clear()
        _INPUT_NAMES[flag_set.digest] = names
    return list(names)


_INPUT_NAMES: dict[str, tuple[str, ...]] = {}


def score_facts(
    flag_set: RedFlagSet, model: CompiledModel | None, facts: Sequence[ClaimFacts]
) -> tuple[list[RiskResult], dict[str, np.ndarray]]:
    """Score facts without touching the database (also what ``risk check`` and tests use)."""
    names = flag_set.facts_used() | BASE_FACTS | {"amount_cny"}
    columns = facts_columns(facts, names)
    fill_headroom(columns, flag_set.authority_limits)
    batch = score_columns(columns, flag_set, model, n=len(facts))
    return results_of(batch, flag_set, model, facts), columns


def _level(value: float, medium: float, high: float) -> int:
    return int(value >= medium) + int(value >= high)


def score_one(flag_set: RedFlagSet, model: CompiledModel | None, facts: ClaimFacts) -> RiskResult:
    """One claim, in plain Python (the report-time path: ingestion scores claims one by one, where building
    numpy columns for a single row costs more than the arithmetic). Fills ``facts.authority_headroom_pct``
    when unknown. Gives what :func:`score_facts` gives for a batch of one (tests/risk check they agree)."""
    computed = facts.authority_headroom_pct is None
    if computed:  # scored unrounded, kept rounded: as the batch path does
        facts.authority_headroom_pct = headroom_one(facts.amount_cny, flag_set.authority_limits)
    fired_mask = [flag.when.test(facts) for flag in flag_set.flags]
    values: dict[str, Any] | None = None
    fired: list[FiredFlag] = []
    points = 0
    for flag, hit in zip(flag_set.flags, fired_mask, strict=True):
        if hit:
            if values is None:
                values = {name: getattr(facts, name) for name in FACT_NAMES_OF_REASONS}
            points += flag.points
            fired.append(FiredFlag(flag.code, flag.points, flag.reason("zh", values), flag.reason("en", values)))
    level = _level(points, flag_set.medium_points, flag_set.high_points)
    probability: float | None = None
    contributions: tuple[Contribution, ...] = ()
    if model is None:
        score = min(points, 100) / 100.0
    else:
        row = feature_row(facts, fired_mask)
        probability, top = model.score_row(row, TOP_FEATURES)
        level = max(level, _level(probability, flag_set.medium_probability, flag_set.high_probability))
        score = probability
        names = model.features
        contributions = tuple(Contribution(names[j], value, row[j]) for j, value in top if value > 0)
    if computed and facts.authority_headroom_pct is not None:
        facts.authority_headroom_pct = round(facts.authority_headroom_pct, 6)
    return RiskResult(
        claim_id=None,
        score=round(score, 6),
        level=LEVELS[level],
        points=points,
        probability=None if probability is None else round(probability, 6),
        model_version=model.version if model is not None else None,
        flags=tuple(fired),
        contributions=contributions,
    )


def score_claims(
    session: Session,
    tenant_id: int,
    claims: Sequence[Claim],
    facts: Sequence[ClaimFacts],
    *,
    trigger: str = "reported",
    model_key: tuple[int, str] | None = _UNKNOWN,
    deferred: list[dict[str, Any]] | None = None,
) -> list[RiskResult]:
    """Score the claims (one batch), store the scores, update the claims' and the facts' risk columns, and
    open reviews for claims at the review level. ``facts[i]`` belongs to ``claims[i]``. ``model_key``: the
    active model's (id, digest) when the caller read it already. The score rows are one Core INSERT (no ORM
    unit of work); only claims that open a review need their row's id back. ``deferred``: when no claim is at
    the review level, the rows (``risk_scores`` columns) are appended to it instead, for the caller to write in
    its own statement in this transaction (triage at report time); otherwise they are inserted here. No
    commit."""
    if len(claims) != len(facts):
        raise ValueError("one ClaimFacts per claim")
    if not claims:
        return []
    flag_set = flags_for(session, tenant_id)
    model = active_model(session, flag_set, model_key)
    if len(facts) == 1:
        results = [score_one(flag_set, model, facts[0])]
    else:
        results, columns = score_facts(flag_set, model, facts)
        headrooms = columns["authority_headroom_pct"]
        for k, f in enumerate(facts):
            if f.authority_headroom_pct is None and not np.isnan(headrooms[k]):
                f.authority_headroom_pct = round(float(headrooms[k]), 6)
    names = input_names(flag_set)
    at = utc_now()
    digest = flag_set.digest
    rows = []
    for claim, f, result in zip(claims, facts, results, strict=True):
        claim.risk_score = result.score
        claim.risk_level = result.level
        f.risk_score = result.score
        f.risk_level = result.level
        inputs = {name: json_value(getattr(f, name)) for name in names}
        rows.append(
            {
                "tenant_id": tenant_id,
                "claim_id": claim.id,
                "scored_at": at,
                "trigger": trigger,
                "score": result.score,
                "level": result.level,
                "points": result.points,
                "probability": result.probability,
                "model_id": model.model_id if model is not None else None,
                "flags_digest": digest,
                "flags": [fl.as_dict() for fl in result.flags],
                "contributions": [c.as_dict() for c in result.contributions] or None,
                "inputs": inputs,
            }
        )
    review_rank = LEVELS.index(flag_set.review_level)
    due = [k for k, r in enumerate(results) if LEVELS.index(r.level) >= review_rank]
    if deferred is not None and not due:
        deferred.extend(rows)
        ids = None
    else:
        ids = repository.insert_scores(session, rows, returning=bool(due))
    already = repository.open_review_claims(session, [claims[k].id for k in due]) if due else set()
    out = []
    for k, (claim, result) in enumerate(zip(claims, results, strict=True)):
        opened = False
        score_id = ids[k] if ids else None
        if k in due and claim.id not in already:
            assert score_id is not None
            _open_review(session, tenant_id, claim, score_id, at, result)
            already.add(claim.id)
            opened = True
        out.append(
            RiskResult(
                claim_id=claim.id,
                score=result.score,
                level=result.level,
                points=result.points,
                probability=result.probability,
                model_version=result.model_version,
                flags=result.flags,
                contributions=result.contributions,
                score_id=score_id,
                review_opened=opened,
            )
        )
    return out


def _open_review(
    session: Session, tenant_id: int, claim: Claim, score_id: int, scored_at: dt.datetime, result: RiskResult
) -> RiskReview:
    reasons: list[dict[str, Any]] = [{"kind": "flag", **fl.as_dict()} for fl in result.flags]
    reasons.extend({"kind": "feature", **c.as_dict()} for c in result.contributions)
    review = RiskReview(
        tenant_id=tenant_id,
        claim_id=claim.id,
        score_id=score_id,
        score=result.score,
        level=result.level,
        reasons=reasons,
        model_version=result.model_version,
        status="open",
        open_claim=claim.id,
        created_at=scored_at,
    )
    session.add(review)
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "risk.review_opened",
        claim.number,
        SYSTEM_ACTOR,
        {
            "review_id": review.id,
            "score": result.score,
            "level": result.level,
            "points": result.points,
            "model_version": result.model_version,
            "flags": [fl.code for fl in result.flags],
        },
    )
    return review
