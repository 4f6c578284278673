"""What the risk pages show (read models; no writes): the review queue (核查) by status, one review with its
claim's red flags and top features, and a claim's latest risk score for the claim page's panel.

Labels (levels, statuses, decisions, features) are ``N_`` msgids translated here; a red flag's name and reason
are its YAML's, in the page's language."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth.models import User
from claimwatch.cases.models import Claim
from claimwatch.risk import loader, repository
from claimwatch.risk import service as risk_service
from claimwatch.risk.loader import RedFlag, RedFlagSet
from claimwatch.risk.models import RiskModel, RiskReview, RiskScore
from claimwatch.risk.review import DECISIONS, OPEN_STATUSES
from claimwatch.web.i18n import N_, translate
from claimwatch.workflow import service as workflow_service
from claimwatch.yaml_source import ConfigFileError

OPEN, INVESTIGATING, DECIDED, ALL = "open", "investigating", "decided", "all"
REVIEW_STATUSES = (OPEN, INVESTIGATING, DECIDED, ALL)
UNDECIDED = OPEN_STATUSES
QUEUE_LIMIT = 300
TOP_FEATURES = 5

STATUS_LABELS: dict[str, str] = {
    OPEN: N_("Waiting"),
    INVESTIGATING: N_("Under investigation"),
    DECIDED: N_("Decided"),
    ALL: N_("All"),
}
DECISION_LABELS: dict[str, str] = {
    "fraud_confirmed": N_("Fraud confirmed"),
    "cleared": N_("Cleared"),
    "needs_investigation": N_("Needs investigation"),
}
# The model's base features (risk/features.py BASE_FEATURES); flags and lines are labelled by feature_label.
FEATURE_LABELS: dict[str, str] = {
    "log_amount": N_("Amount (log)"),
    "policy_age_years": N_("Policy age (years)"),
    "log_report_delay": N_("Report delay (log days)"),
    "log_repeat_claims": N_("Earlier claims of the claimant (log)"),
    "log_shared_contacts": N_("Claimants sharing contact details (log)"),
    "provider_share": N_("Repair shop or hospital share"),
    "authority_headroom": N_("Headroom below the authority limit"),
    "night": N_("Night accident"),
    "weekend": N_("Weekend accident"),
    "injury": N_("Injury"),
    "liability_clear": N_("Liability clear"),
}
LEVEL_LABELS: dict[str, str] = {"low": N_("Low risk"), "medium": N_("Medium risk"), "high": N_("High risk")}


def review_url(review_id: int) -> str:
    return f"/risk/review/{review_id}"


def _claim_url(number: str) -> str:
    return f"/claims/{quote(number, safe='')}"


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen) / 100


def status_options(locale: str) -> list[tuple[str, str]]:
    return [(code, translate(locale, STATUS_LABELS[code])) for code in REVIEW_STATUSES]


def decision_options(locale: str) -> list[tuple[str, str]]:
    return [(code, translate(locale, DECISION_LABELS[code])) for code in DECISIONS]


def level_label(level: str | None, locale: str) -> str:
    return translate(locale, LEVEL_LABELS[level]) if level in LEVEL_LABELS else (level or "")


def _flag_set(session: Session, tenant_id: int) -> RedFlagSet:
    """The tenant's red-flag set; the defaults when its override cannot be loaded (the page still shows)."""
    try:
        return risk_service.flags_for(session, tenant_id)
    except ConfigFileError:
        return loader.default_red_flags()


def _flag_names(flags: RedFlagSet, locale: str) -> dict[str, str]:
    return {flag.code: flag.name(locale) for flag in flags.flags}


def _flag_reason(item: dict[str, Any], flag: RedFlag | None, locale: str, inputs: dict[str, Any] | None) -> str | None:
    reason = item.get("reason")
    if isinstance(reason, dict) and reason.get(locale):
        return str(reason[locale])
    return flag.reason(locale, inputs) if flag is not None and inputs is not None else None


def _flags(
    items: list[dict[str, Any]] | None, flags: RedFlagSet, locale: str, inputs: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Fired flags with their names and their reasons with the claim's values."""
    found = []
    for item in items or []:
        code = str(item.get("code", ""))
        flag = flags.by_code(code)
        found.append(
            {
                "code": code,
                "name": flag.name(locale) if flag is not None else code,
                "points": item.get("points"),
                "detail": _flag_reason(item, flag, locale, inputs),
            }
        )
    return found


def feature_label(name: str, flag_names: dict[str, str], locale: str) -> str:
    """A model feature's label: a red flag's name (``flag:code``), a line (``line:motor``), or a base feature's."""
    kind, _, code = name.partition(":")
    if kind == "flag" and code:
        return flag_names.get(code, code)
    if kind == "line" and code:
        return translate(locale, N_("Line: %(line)s")) % {"line": workflow_service.line_label(code, locale)}
    return translate(locale, FEATURE_LABELS[name]) if name in FEATURE_LABELS else name


def _features(items: list[dict[str, Any]] | None, flag_names: dict[str, str], locale: str) -> list[dict[str, Any]]:
    found = []
    for item in (items or [])[:TOP_FEATURES]:
        name = str(item.get("feature") or "")
        value = item.get("value")
        found.append(
            {
                "name": name,
                "label": feature_label(name, flag_names, locale),
                "value": round(value, 3) if isinstance(value, float) else value,
                "contribution": float(item.get("contribution") or 0.0),
            }
        )
    return found


def _model_version(session: Session, model_id: int | None) -> str | None:
    if model_id is None:
        return None
    version = session.scalar(select(RiskModel.version).where(RiskModel.id == model_id))
    return f"v{version}" if version is not None else None


def _review_state(review: RiskReview, locale: str) -> dict[str, Any]:
    return {
        "id": review.id,
        "url": review_url(review.id),
        "status": review.status,
        "status_label": translate(locale, STATUS_LABELS.get(review.status, review.status)),
        "decision": review.decision,
        "decision_label": translate(locale, DECISION_LABELS[review.decision]) if review.decision else "",
    }


def claim_risk(session: Session, claim: Claim, locale: str) -> dict[str, Any] | None:
    """The claim's latest score with its reasons, model version and review, for the claim page; None when the
    claim was never scored."""
    score = session.scalars(
        select(RiskScore).where(RiskScore.claim_id == claim.id).order_by(RiskScore.id.desc()).limit(1)
    ).first()
    if score is None:
        return None
    flags = _flag_set(session, claim.tenant_id)
    names = _flag_names(flags, locale)
    review = session.scalars(
        select(RiskReview).where(RiskReview.claim_id == claim.id).order_by(RiskReview.id.desc()).limit(1)
    ).first()
    return {
        "score": score.score,
        "level": score.level,
        "level_label": level_label(score.level, locale),
        "model_version": _model_version(session, score.model_id),
        "scored_at": score.scored_at,
        "flags": _flags(score.flags, flags, locale, score.inputs),
        "features": _features(score.contributions, names, locale),
        "review": _review_state(review, locale) if review is not None else None,
    }


def _reasons(review: RiskReview, names: dict[str, str], locale: str) -> list[str]:
    """The queue's short reasons: the fired flags' names; without a flag, the features that raised the score."""
    flags = [
        names.get(str(item.get("code")), str(item.get("code")))
        for item in review.reasons or []
        if item.get("kind") == "flag"
    ]
    if flags:
        return flags
    return [
        feature_label(str(item.get("feature")), names, locale)
        for item in review.reasons or []
        if item.get("kind") == "feature" and float(item.get("contribution") or 0) > 0
    ][:TOP_FEATURES]


def review_queue(session: Session, status: str, locale: str) -> dict[str, Any]:
    """The reviews of ``status`` (``all``: every one), undecided by score (highest first) then age, decided
    newest first; with counts by status."""
    counts = dict(session.execute(select(RiskReview.status, func.count()).group_by(RiskReview.status)).all())
    counts[ALL] = sum(counts.values())
    query = select(RiskReview, Claim.number, Claim.line, Claim.reported_amount_fen, User.display_name).join(
        Claim, Claim.id == RiskReview.claim_id
    )
    query = query.outerjoin(User, User.id == RiskReview.assigned_user_id)
    if status != ALL:
        query = query.where(RiskReview.status == status)
    if status in UNDECIDED:
        query = query.order_by(RiskReview.score.desc(), RiskReview.created_at, RiskReview.id)
    else:
        query = query.order_by(RiskReview.decided_at.desc(), RiskReview.id.desc())
    items = []
    names_by_tenant: dict[int, dict[str, str]] = {}
    for review, number, line, amount_fen, assigned in session.execute(query.limit(QUEUE_LIMIT)):
        if review.tenant_id not in names_by_tenant:
            names_by_tenant[review.tenant_id] = _flag_names(_flag_set(session, review.tenant_id), locale)
        names = names_by_tenant[review.tenant_id]
        items.append(
            _review_state(review, locale)
            | {
                "claim_number": number,
                "claim_url": _claim_url(number),
                "line_label": workflow_service.line_label(line, locale),
                "amount": _yuan(amount_fen),
                "score": review.score,
                "level": review.level,
                "level_label": level_label(review.level, locale),
                "reasons": _reasons(review, names, locale),
                "model_version": f"v{review.model_version}" if review.model_version is not None else None,
                "created_at": review.created_at,
                "assigned": assigned,
                "decided_by": review.decided_by,
                "decided_at": review.decided_at,
            }
        )
    return {"status": status, "counts": counts, "items": items}


def review_detail(session: Session, review_id: int, locale: str) -> dict[str, Any] | None:
    """One review with its claim and the claim's latest score (flags, features); None when unknown or another
    insurer's."""
    review = repository.review_by_id(session, review_id)
    if review is None:
        return None
    claim = session.get(Claim, review.claim_id)
    if claim is None:
        return None
    assigned = (
        session.scalar(select(User.display_name).where(User.id == review.assigned_user_id))
        if review.assigned_user_id is not None
        else None
    )
    return _review_state(review, locale) | {
        "claim_number": claim.number,
        "claim_url": _claim_url(claim.number),
        "line_label": workflow_service.line_label(claim.line, locale),
        "amount": _yuan(claim.reported_amount_fen),
        "created_at": review.created_at,
        "assigned": assigned,
        "decided_by": review.decided_by,
        "decided_at": review.decided_at,
        "decision_reason": review.decision_reason,
        "risk": claim_risk(session, claim, locale),
        "may_be_decided": review.status in UNDECIDED,
    }


# -- model cards (/risk/models) ---------------------------------------------------------------------------------

MODEL_STATUS_LABELS: dict[str, str] = {
    "active": N_("Active"),
    "trained": N_("Trained, not active"),
    "retired": N_("Retired"),
}


def model_url(version: int) -> str:
    return f"/risk/models/{version}"


def _model_row(model: RiskModel, locale: str) -> dict[str, Any]:
    metrics = model.metrics or {}
    return {
        "version": model.version,
        "url": model_url(model.version),
        "kind": model.kind,
        "status": model.status,
        "status_label": translate(locale, MODEL_STATUS_LABELS.get(model.status, model.status)),
        "active": model.status == "active",
        "window_from": model.window_from,
        "window_until": model.window_until,
        "holdout_from": model.holdout_from,
        "labels": model.labels,
        "positives": model.positives,
        "holdout_auc": metrics.get("holdout_auc"),
        "holdout_brier": metrics.get("holdout_brier"),
        "created_at": model.created_at,
        "created_by": model.created_by,
        "activated_at": model.activated_at,
    }


def model_list(session: Session, locale: str) -> list[dict[str, Any]]:
    """Every stored version of the insurer's risk model, newest first, with its hold-out figures."""
    return [_model_row(model, locale) for model in repository.models(session)]


def model_card(session: Session, tenant_id: int, version: int, locale: str) -> dict[str, Any] | None:
    """One version's model card: who trained it and when, the training window and the hold-out, the features
    with their coefficients (labelled in the page's language), AUC, Brier score and log loss against the base
    rate, and the reliability table the calibration plot draws (predicted vs observed per tenth)."""
    model = repository.model_by_version(session, version)
    if model is None:
        return None
    row = _model_row(model, locale)
    card = model.card or {}
    metrics = model.metrics or {}
    names = _flag_names(_flag_set(session, tenant_id), locale)
    weights = {str(c.get("feature")): c.get("coefficient") for c in card.get("coefficients") or []}
    features = [
        {"name": name, "label": feature_label(name, names, locale), "coefficient": weights.get(name)}
        for name in model.features
    ]
    features.sort(key=lambda f: -abs(f["coefficient"]) if isinstance(f["coefficient"], int | float) else 0.0)
    bins = [b for b in metrics.get("reliability") or [] if isinstance(b, dict)]
    holdout = card.get("holdout") if isinstance(card.get("holdout"), dict) else {}
    chart = {
        "bins": [f"{b.get('from', 0):.1f}–{b.get('to', 0):.1f}" for b in bins],
        "predicted": [b.get("predicted") for b in bins],
        "observed": [b.get("observed") for b in bins],
        "counts": [b.get("count") for b in bins],
        "labels": {
            "predicted": translate(locale, N_("Predicted (mean)")),
            "observed": translate(locale, N_("Observed rate")),
            "ideal": translate(locale, N_("Perfect calibration")),
            "count": translate(locale, N_("Claims")),
        },
    }
    return {
        **row,
        "title": card.get("title") or f"v{model.version}",
        "method": card.get("method"),
        "labels_from": card.get("labels_from"),
        "inputs": card.get("inputs"),
        "limitations": card.get("limitations"),
        "trained_at": card.get("trained_at"),
        "imported_at": card.get("imported_at"),
        "imported_by": card.get("imported_by"),
        "red_flags": card.get("red_flags") if isinstance(card.get("red_flags"), dict) else {},
        "holdout": holdout,
        "features": features,
        "metrics": {
            "holdout_auc": metrics.get("holdout_auc"),
            "holdout_points_auc": metrics.get("holdout_points_auc"),
            "holdout_brier": metrics.get("holdout_brier"),
            "holdout_brier_base_rate": metrics.get("holdout_brier_base_rate"),
            "holdout_log_loss": metrics.get("holdout_log_loss"),
            "holdout_size": metrics.get("holdout_size"),
            "holdout_positives": metrics.get("holdout_positives"),
            "train_size": metrics.get("train_size"),
            "train_positives": metrics.get("train_positives"),
        },
        "reliability": bins,
        "chart": chart,
        "digest": model.digest,
    }
