"""Risk API (thin): the red flags, a claim's scores and reasons, the review queue (核查) and its decisions, model
versions with their cards, training, activation, export and import. Refusals are the one error body naming
the field (422 too few labels or a model whose features do not match, 409 a review already decided)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import repository as cases_repository
from claimwatch.cases.models import Claim
from claimwatch.errors import Invalid, NotFound
from claimwatch.params import RowId
from claimwatch.risk import model_training, queries, repository, review, service
from claimwatch.risk.schemas import AssignIn, ModelFileIn, ReviewDecisionIn, TrainIn

router = APIRouter(prefix="/api/v1", tags=["risk"])

VIEW = Depends(require(Permission.VIEW_RISK))
REVIEW = Depends(require(Permission.REVIEW_RISK))
TRAIN = Depends(require(Permission.TRAIN_RISK_MODELS))
STATUSES = ("open", "investigating", "decided")


@router.get("/risk/red-flags", summary="The red flags in force: points, reasons, conditions, level thresholds")
def get_red_flags(session: TenantSession, principal: Principal = VIEW) -> dict[str, Any]:
    flags = service.flags_for(session, review.tenant_of(principal))
    return {**flags.as_dict(), "digest": flags.digest}


@router.get("/claims/{number}/risk", summary="A claim's risk scores (latest first) with reasons and its reviews")
def get_claim_risk(number: str, session: TenantSession, principal: Principal = VIEW) -> dict[str, Any]:
    claim = cases_repository.claim_by_number(session, number)
    if claim is None:
        raise NotFound("number", f"no claim {number}")
    return queries.claim_risk(session, claim.id, claim.number)


@router.get("/risk/reviews", summary="The review queue (核查), highest score first")
def list_reviews(
    session: TenantSession,
    status: str | None = Query(default=None, max_length=16, description="open, investigating or decided"),
    mine: bool = Query(default=False, description="only reviews assigned to me"),
    principal: Principal = VIEW,
) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise Invalid("status", f"status is one of {', '.join(STATUSES)}")
    statuses = [status] if status else ["open", "investigating"]
    if mine and principal.user_id is None:
        raise Invalid("mine", "an API key has no reviews of its own")
    return queries.review_queue(session, statuses, principal.user_id if mine else None)


@router.post("/risk/reviews/{review_id}/assign", summary="Give a review to a reviewer (or take it)")
def post_assign(review_id: RowId, body: AssignIn, session: TenantSession, principal: Principal = REVIEW) -> Any:
    found = review.assign(session, principal, review_id, body.user_id)
    return queries.review_view(found, _number(session, found.claim_id))


@router.post("/risk/reviews/{review_id}/decision", summary="Decide a review; the decision becomes the claim's label")
def post_decision(
    review_id: RowId, body: ReviewDecisionIn, session: TenantSession, principal: Principal = REVIEW
) -> dict[str, Any]:
    found = review.decide(session, principal, review_id, body.decision, body.reason)
    return queries.review_view(found, _number(session, found.claim_id))


def _number(session: TenantSession, claim_id: int) -> str:
    claim = session.get(Claim, claim_id)
    return claim.number if claim is not None else ""


@router.get("/risk/models", summary="Model versions, newest first, with hold-out AUC and Brier score")
def list_models(session: TenantSession, principal: Principal = VIEW) -> list[dict[str, Any]]:
    return queries.models(session)


def _model(session: TenantSession, version: int) -> Any:
    model = repository.model_by_version(session, version)
    if model is None:
        raise NotFound("version", f"no risk model version {version}")
    return model


@router.get("/risk/models/{version}", summary="One model version with its model card")
def get_model(version: RowId, session: TenantSession, principal: Principal = VIEW) -> dict[str, Any]:
    return queries.model_view(_model(session, version), card=True)


@router.get("/risk/models/{version}/export", summary="A model version as a file another installation can import")
def export_model(version: RowId, session: TenantSession, principal: Principal = TRAIN) -> dict[str, Any]:
    return model_training.export_model(_model(session, version))


@router.post("/risk/models/train", status_code=201, summary="Train a new version on the insurer's review labels")
def post_train(body: TrainIn, session: TenantSession, principal: Principal = TRAIN) -> dict[str, Any]:
    model = model_training.train(session, principal, holdout=body.holdout, activate=body.activate, c=body.c)
    return queries.model_view(model, card=True)


@router.post("/risk/models/{version}/activate", summary="Make a version the active model (audited)")
def post_activate(version: RowId, session: TenantSession, principal: Principal = TRAIN) -> dict[str, Any]:
    return queries.model_view(model_training.activate_version(session, principal, version))


@router.post("/risk/models/import", status_code=201, summary="Store an exported model; its features must match")
def post_import(body: ModelFileIn, session: TenantSession, principal: Principal = TRAIN) -> dict[str, Any]:
    document = body.model_dump()
    activate = bool(document.pop("activate", False))
    return queries.model_view(model_training.import_model(session, principal, document, activate=activate), card=True)
