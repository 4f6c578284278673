"""The review queue (核查): high-risk claims wait here with their reasons; a reviewer takes one and decides.

Decisions: ``fraud_confirmed`` (label 1) and ``cleared`` (label 0) close the review and are the labels the next
model is trained on; ``needs_investigation`` keeps it open (status ``investigating``) until a final decision.
A reviewer never decides a claim they handle. Every change is audited (subject: the claim's number).

A decision is published (``reactions.RISK_REVIEWS_DECIDED``): on ``needs_investigation`` triage evaluates the
claim again with ``investigation`` true, which ends a fast track (the route changes, the clocks follow); the
decision's audit entry names the route before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.audit import service as audit_service
from claimwatch.auth.models import User
from claimwatch.auth.principal import ROLE_PERMISSIONS, Permission, Principal
from claimwatch.cases.models import Claim
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.risk import repository
from claimwatch.risk.models import RiskReview

DECISIONS = ("fraud_confirmed", "cleared", "needs_investigation")
LABELS = {"fraud_confirmed": 1, "cleared": 0}
OPEN_STATUSES = ("open", "investigating")
MIN_REASON = 5


@dataclass(frozen=True)
class ReviewDecided:
    review_id: int
    claim_id: int
    decision: str
    reason: str
    actor: str


def tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "the review queue belongs to one insurer")
    return principal.tenant_id


def _review(session: Session, review_id: int) -> tuple[RiskReview, Claim]:
    review = repository.review_by_id(session, review_id)
    if review is None:
        raise NotFound("review", f"no review {review_id}")
    claim = session.get(Claim, review.claim_id)
    if claim is None:  # pragma: no cover - foreign key
        raise NotFound("review", f"no claim for review {review_id}")
    return review, claim


def assign(session: Session, principal: Principal, review_id: int, user_id: int | None) -> RiskReview:
    """Give an open review to a reviewer (``user_id``; None takes it for oneself)."""
    principal.require(Permission.REVIEW_RISK)
    tenant_id = tenant_of(principal)
    review, claim = _review(session, review_id)
    if review.status not in OPEN_STATUSES:
        raise Conflict("review", f"review {review_id} is already decided")
    target = user_id if user_id is not None else principal.user_id
    if target is None:
        raise Invalid("user_id", "name the reviewer (an API key has no user of its own)")
    user = session.get(User, target)
    if user is None or user.tenant_id != tenant_id or not user.active:
        raise Invalid("user_id", f"no active staff member {target}")
    if user.role not in ROLE_PERMISSIONS[Permission.REVIEW_RISK]:
        raise Invalid("user_id", f"{user.username} may not review risk (role {user.role.value})")
    if claim.assignee_id == target:
        raise Invalid("user_id", f"{user.username} handles claim {claim.number} and cannot review it")
    previous = review.assigned_user_id
    review.assigned_user_id = target
    audit_service.record(
        session,
        tenant_id,
        "risk.review_assigned",
        claim.number,
        principal.actor,
        {"review_id": review.id, "from": previous, "to": target},
    )
    return review


def decide(session: Session, principal: Principal, review_id: int, decision: str, reason: str) -> RiskReview:
    principal.require(Permission.REVIEW_RISK)
    tenant_id = tenant_of(principal)
    if decision not in DECISIONS:
        raise Invalid("decision", f"decision is one of {', '.join(DECISIONS)}")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise Invalid("reason", f"give a reason of at least {MIN_REASON} characters")
    review, claim = _review(session, review_id)
    if review.status not in OPEN_STATUSES:
        raise Conflict("review", f"review {review_id} was already decided ({review.decision})")
    if principal.user_id is not None and claim.assignee_id == principal.user_id:
        raise Forbidden("review", f"you handle claim {claim.number}: another reviewer decides it")
    at = utc_now()
    review.decision = decision
    review.decision_reason = reason
    review.decided_by = principal.actor
    review.decided_at = at
    if review.assigned_user_id is None and principal.user_id is not None:
        review.assigned_user_id = principal.user_id
    if decision in LABELS:
        review.status = "decided"
        review.label = LABELS[decision]
        review.open_claim = None
    else:
        review.status = "investigating"
    route_before = claim.route
    reactions.publish(
        reactions.RISK_REVIEWS_DECIDED,
        session,
        tenant_id,
        [ReviewDecided(review.id, claim.id, decision, reason, principal.actor)],
    )
    audit_service.record(
        session,
        tenant_id,
        "risk.review_decided",
        claim.number,
        principal.actor,
        {
            "review_id": review.id,
            "decision": decision,
            "reason": reason,
            "label": review.label,
            "route_before": route_before,
            "route_after": claim.route,
        },
    )
    session.flush()
    return review
