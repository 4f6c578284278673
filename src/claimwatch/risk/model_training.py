"""Training a risk model on the insurer's own labelled history, with a time-based hold-out and a model card.

Labels are the review queue's decisions (fraud_confirmed = 1, cleared = 0; the latest decided review of a
claim counts). A claim's inputs are those of its FIRST score (what was known at report time), so nothing
learnt later leaks into training. The history is ordered by report time; the latest ``holdout`` share is kept
out of training and measured: AUC (and the red-flag points' own AUC for comparison), Brier score, log loss and
reliability bins (predicted vs observed per tenth of probability).

The model is a regularised logistic regression on standardised features, calibrated with Platt scaling
(``CalibratedClassifierCV(method="sigmoid", ensemble=False)``); it is stored as numbers (no pickle) and a
score's top features are coefficient × standardised value. Too few labels, or a hold-out without both
outcomes, is refused with the counts; nothing is stored then.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Invalid, NotFound
from claimwatch.risk import repository
from claimwatch.risk.features import (
    BASE_FACTS,
    CompiledModel,
    feature_matrix,
    feature_names,
    fill_headroom,
    inputs_columns,
)
from claimwatch.risk.loader import RedFlagSet
from claimwatch.risk.models import RiskModel
from claimwatch.risk.service import flags_for, model_matches, params_digest, score_columns

KIND = "logistic_platt"
MIN_LABELS = 200
MIN_POSITIVES = 20
MIN_HOLDOUT_EACH = 5  # positives and negatives in the hold-out, for an AUC to mean anything
RELIABILITY_BINS = 10


@dataclass(frozen=True)
class TrainingData:
    claim_ids: list[int]
    reported_at: list[dt.datetime]
    labels: np.ndarray
    matrix: np.ndarray
    points: np.ndarray
    features: list[str]


def training_data(session: Session, flag_set: RedFlagSet) -> TrainingData:
    history = repository.labelled_history(session)
    names = flag_set.facts_used() | BASE_FACTS | {"amount_cny"}
    columns = inputs_columns([inputs for *_, inputs in history], names)
    fill_headroom(columns, flag_set.authority_limits)
    n = len(history)
    batch = score_columns(columns, flag_set, None, n=n, explain=False)
    matrix = feature_matrix(columns, batch.fired) if n else np.zeros((0, len(feature_names(flag_set.codes))))
    return TrainingData(
        claim_ids=[h[0] for h in history],
        reported_at=[h[1] for h in history],
        labels=np.array([h[2] for h in history], dtype=np.int64),
        matrix=matrix,
        points=batch.points,
        features=feature_names(flag_set.codes),
    )


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(labels.tolist())) < 2:
        return None
    return float(roc_auc_score(labels, scores))


def reliability(labels: np.ndarray, probability: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict[str, Any]]:
    """Per tenth of predicted probability: count, mean predicted, observed rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        out.append(
            {
                "from": round(float(edges[b]), 2),
                "to": round(float(edges[b + 1]), 2),
                "count": count,
                "predicted": round(float(probability[mask].mean()), 4) if count else None,
                "observed": round(float(labels[mask].mean()), 4) if count else None,
            }
        )
    return out


def fit(matrix: np.ndarray, labels: np.ndarray, features: list[str], *, c: float = 1.0) -> CompiledModel:
    """Fit the calibrated logistic model and return it as arrays."""
    return fit_sklearn(matrix, labels, features, c=c)[1]


def fit_sklearn(
    matrix: np.ndarray, labels: np.ndarray, features: list[str], *, c: float = 1.0
) -> tuple[Any, CompiledModel]:
    """The fitted ``CalibratedClassifierCV`` and the same model as arrays (tests check they agree)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    pipeline = Pipeline([("scale", StandardScaler()), ("logit", LogisticRegression(C=c, max_iter=2000))])
    calibrated = CalibratedClassifierCV(pipeline, method="sigmoid", cv=5, ensemble=False)
    # One BLAS thread: the problem is small, and competing threads on a busy machine make it 10× slower.
    with threadpool_limits(limits=1):
        calibrated.fit(matrix, labels)
    fitted = calibrated.calibrated_classifiers_[0]
    inner = fitted.estimator
    scaler, logit = inner.named_steps["scale"], inner.named_steps["logit"]
    calibrator = fitted.calibrators[0]
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    return calibrated, CompiledModel(
        None,
        None,
        tuple(features),
        scaler.mean_.astype(np.float64),
        scale.astype(np.float64),
        logit.coef_[0].astype(np.float64),
        float(logit.intercept_[0]),
        float(calibrator.a_),
        float(calibrator.b_),
    )


def _refuse_small(total: int, positives: int, min_labels: int, min_positives: int) -> None:
    negatives = total - positives
    if total < min_labels or positives < min_positives or negatives < min_positives:
        raise Invalid(
            "labels",
            f"too few labels to train: {total} labelled claims ({positives} fraud confirmed, {negatives} cleared); "
            f"a model needs at least {min_labels}, with at least {min_positives} of each outcome — decide more "
            "reviews in the review queue first",
        )


def train(
    session: Session,
    principal: Principal,
    *,
    holdout: float = 0.2,
    activate: bool = False,
    min_labels: int = MIN_LABELS,
    min_positives: int = MIN_POSITIVES,
    c: float = 1.0,
    now: dt.datetime | None = None,
) -> RiskModel:
    """Train a new model version on the tenant's labels; refuses with the counts when there are too few."""
    principal.require(Permission.TRAIN_RISK_MODELS)
    if principal.tenant_id is None:
        raise Invalid("tenant", "a model is trained for one insurer")
    tenant_id = principal.tenant_id
    if not 0.05 <= holdout <= 0.5:
        raise Invalid("holdout", "the hold-out share is between 0.05 and 0.5")
    if not 0 < c <= 1000:
        raise Invalid("c", "the inverse regularisation strength C is in (0, 1000]")
    flag_set = flags_for(session, tenant_id)
    total, positives = repository.label_counts(session)
    _refuse_small(total, positives, min_labels, min_positives)
    data = training_data(session, flag_set)
    n = len(data.labels)
    _refuse_small(n, int(data.labels.sum()), min_labels, min_positives)
    cut = int(math.floor(n * (1 - holdout)))
    train_y, test_y = data.labels[:cut], data.labels[cut:]
    test_pos = int(test_y.sum())
    if test_pos < MIN_HOLDOUT_EACH or len(test_y) - test_pos < MIN_HOLDOUT_EACH:
        raise Invalid(
            "labels",
            f"the hold-out (the latest {len(test_y)} labelled claims) has {test_pos} fraud confirmed and "
            f"{len(test_y) - test_pos} cleared; each needs at least {MIN_HOLDOUT_EACH}",
        )
    if len(set(train_y.tolist())) < 2 or min(int(train_y.sum()), len(train_y) - int(train_y.sum())) < 5:
        raise Invalid("labels", "the training part needs at least 5 claims of each outcome")
    compiled = fit(data.matrix[:cut], train_y, data.features, c=c)
    test_matrix = compiled.standardise(data.matrix[cut:])
    probability = compiled.probability(test_matrix)
    from sklearn.metrics import brier_score_loss, log_loss

    base_rate = float(train_y.mean())
    metrics: dict[str, Any] = {
        "holdout_auc": _auc(test_y, probability),
        "holdout_points_auc": _auc(test_y, data.points[cut:].astype(np.float64)),
        "holdout_brier": float(brier_score_loss(test_y, probability)),
        "holdout_brier_base_rate": float(brier_score_loss(test_y, np.full(len(test_y), base_rate))),
        "holdout_log_loss": float(log_loss(test_y, np.clip(probability, 1e-9, 1 - 1e-9), labels=[0, 1])),
        "holdout_size": len(test_y),
        "holdout_positives": test_pos,
        "train_size": int(cut),
        "train_positives": int(train_y.sum()),
        "train_base_rate": base_rate,
        "reliability": reliability(test_y, probability),
    }
    at = now or utc_now()
    version = repository.next_model_version(session)
    params = compiled.params()
    weights = sorted(zip(data.features, compiled.coef.tolist(), strict=True), key=lambda fw: -abs(fw[1]))
    coefficients = [{"feature": f, "coefficient": round(w, 4)} for f, w in weights]
    window_from, window_until, holdout_from = data.reported_at[0], data.reported_at[-1], data.reported_at[cut]
    card = {
        "title": f"Risk model v{version}",
        "kind": KIND,
        "method": (
            f"Logistic regression (L2, C={c:g}) on standardised features, Platt-calibrated "
            "(CalibratedClassifierCV, sigmoid, 5 folds, ensemble=False). Contributions: coefficient × standardised "
            "value, in log-odds."
        ),
        "trained_at": at.isoformat(),
        "trained_by": principal.actor,
        "labels_from": "review decisions (fraud_confirmed = 1, cleared = 0); latest decided review per claim",
        "inputs": "each claim's first risk score (what was known at report time)",
        "training_window": {"from": window_from.isoformat(), "until": window_until.isoformat()},
        "holdout": {
            "split": "by report time",
            "share": holdout,
            "from": holdout_from.isoformat(),
            "size": len(test_y),
            "positives": test_pos,
        },
        "features": data.features,
        "coefficients": coefficients,
        "red_flags": {"version": flag_set.version, "digest": flag_set.digest},
        "metrics": metrics,
        "limitations": (
            "Trained on reviewed claims only: claims never reviewed are not in the sample, so the probability is "
            "that of a reviewed claim. Retrain after changing the red flags."
        ),
    }
    model = RiskModel(
        tenant_id=tenant_id,
        version=version,
        kind=KIND,
        status="trained",
        features=data.features,
        flags_digest=flag_set.digest,
        window_from=window_from,
        window_until=window_until,
        holdout_from=holdout_from,
        labels=n,
        positives=int(data.labels.sum()),
        metrics=metrics,
        card=card,
        params=params,
        digest=params_digest(params),
        created_at=at,
        created_by=principal.actor,
    )
    session.add(model)
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "risk.model_trained",
        f"risk-model-v{version}",
        principal.actor,
        {
            "version": version,
            "digest": model.digest,
            "labels": n,
            "positives": model.positives,
            "holdout_auc": metrics["holdout_auc"],
            "holdout_brier": metrics["holdout_brier"],
            "flags_digest": flag_set.digest,
        },
    )
    if activate:
        activate_version(session, principal, version, now=at)
    return model


def activate_version(
    session: Session, principal: Principal, version: int, *, now: dt.datetime | None = None
) -> RiskModel:
    """Make a version the active one (the previous active one is retired); refuses a model whose features do
    not match the current red-flag set."""
    principal.require(Permission.TRAIN_RISK_MODELS)
    if principal.tenant_id is None:
        raise Invalid("tenant", "a model belongs to one insurer")
    model = repository.model_by_version(session, version)
    if model is None:
        raise NotFound("version", f"no risk model version {version}")
    if model.status == "active":
        raise Conflict("version", f"version {version} is already active")
    problem = model_matches(model, flags_for(session, principal.tenant_id))
    if problem is not None:
        raise Invalid("version", problem)
    previous = repository.active_model(session)
    if previous is not None:
        previous.status = "retired"
        session.flush()
    model.status = "active"
    model.activated_at = now or utc_now()
    session.flush()
    audit_service.record(
        session,
        principal.tenant_id,
        "risk.model_activated",
        f"risk-model-v{version}",
        principal.actor,
        {"version": version, "digest": model.digest, "previous": previous.version if previous else None},
    )
    return model


def import_model(
    session: Session, principal: Principal, document: dict[str, Any], *, activate: bool = False
) -> RiskModel:
    """Store a model exported from another installation (``export_model``'s JSON); its features must match
    the current red-flag set, else nothing is stored."""
    principal.require(Permission.TRAIN_RISK_MODELS)
    if principal.tenant_id is None:
        raise Invalid("tenant", "a model belongs to one insurer")
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise Invalid("file", f"not a risk model file (kind must be {KIND!r})")
    params = document.get("params")
    if not isinstance(params, dict):
        raise Invalid("file", "the model file has no params")
    try:
        compiled = CompiledModel.from_params(params)
    except (KeyError, TypeError, ValueError) as exc:
        raise Invalid("file", f"the model's params are not valid: {exc}") from exc
    flag_set = flags_for(session, principal.tenant_id)
    problem = model_matches(compiled, flag_set)
    if problem is None and document.get("flags_digest") != flag_set.digest:
        problem = "the model was trained with another red-flag set: train a new model"
    if problem is not None:
        raise Invalid("file", problem)
    raw_card, raw_metrics = document.get("card"), document.get("metrics")
    card: dict[str, Any] = raw_card if isinstance(raw_card, dict) else {}
    metrics: dict[str, Any] = raw_metrics if isinstance(raw_metrics, dict) else {}
    at = utc_now()
    version = repository.next_model_version(session)

    def _when(key: str) -> dt.datetime:
        raw = document.get(key)
        try:
            value = dt.datetime.fromisoformat(raw) if isinstance(raw, str) else at
        except ValueError:
            value = at
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    model = RiskModel(
        tenant_id=principal.tenant_id,
        version=version,
        kind=KIND,
        status="trained",
        features=list(compiled.features),
        flags_digest=flag_set.digest,
        window_from=_when("window_from"),
        window_until=_when("window_until"),
        holdout_from=_when("holdout_from"),
        labels=_count(document.get("labels")),
        positives=_count(document.get("positives")),
        metrics=metrics,
        card={**card, "imported_at": at.isoformat(), "imported_by": principal.actor},
        params=compiled.params(),
        digest=params_digest(compiled.params()),
        created_at=at,
        created_by=principal.actor,
    )
    session.add(model)
    session.flush()
    audit_service.record(
        session,
        principal.tenant_id,
        "risk.model_imported",
        f"risk-model-v{version}",
        principal.actor,
        {"version": version, "digest": model.digest},
    )
    if activate:
        activate_version(session, principal, version, now=at)
    return model


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31 else 0


def export_model(model: RiskModel) -> dict[str, Any]:
    return {
        "kind": model.kind,
        "version": model.version,
        "features": model.features,
        "flags_digest": model.flags_digest,
        "window_from": model.window_from.isoformat(),
        "window_until": model.window_until.isoformat(),
        "holdout_from": model.holdout_from.isoformat(),
        "labels": model.labels,
        "positives": model.positives,
        "metrics": model.metrics,
        "card": model.card,
        "params": model.params,
        "digest": model.digest,
    }
