"""Risk with a database: scores stored at report time, the review queue and its labels, training on the labels
(refused with too few), stored versions, activation and a model file whose features do not match."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch.assignment.models import HandlerProfile
from claimwatch.audit.models import AuditEntry
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases.models import Claim
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo.risk import synthetic_history
from claimwatch.errors import Conflict, Forbidden, Invalid
from claimwatch.risk import model_training, review, service, work
from claimwatch.risk.facts import ClaimFacts
from claimwatch.risk.models import RiskModel, RiskReview, RiskScore
from claimwatch.triage import facts as facts_builder
from tests.apps import shared_app
from tests.factories import World

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _principal(username: str) -> Principal:
    with unit_of_work(TenantContext.system_reader()) as session:
        user = auth_repository.user_by_username(session, username)
        assert user is not None
        return auth_service.principal_for_user(user, session)


def _claims(session, tenant_id: int, prefix: str, stamps: list[dt.datetime], assignee: int | None = None) -> list:
    claims = [
        Claim(
            tenant_id=tenant_id,
            number=f"{prefix}{i:05d}",
            line="motor",
            policy_number=f"P{i}",
            claimant_name="张三",
            status="reported",
            reported_at=at,
            status_changed_at=at,
            assignee_id=assignee,
        )
        for i, at in enumerate(stamps)
    ]
    session.add_all(claims)
    session.flush()
    return claims


def test_scores_reviews_and_labels(world: World):
    acme = world.tenant("ACME")
    world.user("handler", Role.SUPERVISOR, acme)
    world.user("reviewer", Role.INSPECTOR, acme)
    handler = _principal("handler")
    reviewer = _principal("reviewer")
    risky = ClaimFacts(line="motor", amount_cny=4990.0, days_since_policy_start=5, shared_contact_count=2)
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        claims = _claims(session, acme.id, "R", [START, START], assignee=handler.user_id)
        results = service.score_claims(session, acme.id, claims, [risky, ClaimFacts(line="motor", amount_cny=900.0)])
        assert [r.level for r in results] == ["high", "low"] and results[0].review_opened
        assert claims[0].risk_score == results[0].score and claims[0].risk_level == "high"
        assert {f.code for f in results[0].flags} >= {"soon_after_inception", "shared_contact"}
        # a rescore keeps the one open review
        again = service.score_claims(session, acme.id, claims[:1], [risky], trigger="rescore")
        assert not again[0].review_opened
        number, claim_id = claims[0].number, claims[0].id
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        assert session.scalar(select(func.count()).select_from(RiskScore)) == 3
        (opened,) = session.scalars(select(RiskReview)).all()
        score = session.scalars(select(RiskScore).where(RiskScore.claim_id == claim_id)).first()
        assert score is not None and score.inputs["days_since_policy_start"] == 5
        assert score.inputs["authority_headroom_pct"] == pytest.approx(0.002)
        kinds = session.scalars(
            select(AuditEntry.kind).where(AuditEntry.subject == number).order_by(AuditEntry.seq)
        ).all()
        assert "risk.review_opened" in kinds
        review_id = opened.id
        page = work.waiting_for_review(session, reviewer, "en", START, 10, 0)
        assert page.count == 1 and page.items[0].url == f"/risk/review/{review_id}"
        assert "shared_contact" in page.items[0].detail
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        with pytest.raises(Invalid, match="handles claim"):
            review.assign(session, reviewer, review_id, handler.user_id)
        with pytest.raises(Invalid, match="at least 5"):
            review.decide(session, reviewer, review_id, "cleared", "ok")
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        decided = review.decide(session, reviewer, review_id, "needs_investigation", "call the repair shop")
        assert decided.status == "investigating" and decided.label is None
    client = TestClient(shared_app())
    key = {"X-API-Key": world.api_key(acme, Role.INSPECTOR)}
    (queued,) = client.get("/api/v1/risk/reviews", headers=key).json()
    assert queued["status"] == "investigating" and queued["claim_number"] == number
    assert {r["kind"] for r in queued["reasons"]} == {"flag"}
    bad = client.post(
        f"/api/v1/risk/reviews/{review_id}/decision", headers=key, json={"decision": "maybe", "reason": "x"}
    )
    assert bad.status_code == 422
    decided = client.post(
        f"/api/v1/risk/reviews/{review_id}/decision",
        headers=key,
        json={"decision": "fraud_confirmed", "reason": "staged accident, shop admits"},
    )
    assert decided.status_code == 200 and decided.json()["label"] == 1
    again = client.post(
        f"/api/v1/risk/reviews/{review_id}/decision", headers=key, json={"decision": "cleared", "reason": "again!"}
    )
    assert again.status_code == 409
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        with pytest.raises(Conflict):
            review.decide(session, reviewer, review_id, "cleared", "changed my mind")
        # a high score after the decision opens a new review; its claim's handler may not decide it
        claim = session.get(Claim, claim_id)
        assert claim is not None
        assert service.score_claims(session, acme.id, [claim], [risky], trigger="rescore")[0].review_opened
        session.flush()
        fresh = session.scalars(select(RiskReview).where(RiskReview.status == "open")).one()
        with pytest.raises(Forbidden):
            review.decide(session, handler, fresh.id, "cleared", "not allowed")

    # authority_headroom_pct from the claim's handler's own authority (权限, assignment's profile), negative
    # above it; a claim without a handler keeps the red-flag file's nearest tier (4 990 under 5 000 above)
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        assert handler.user_id is not None
        session.add(HandlerProfile(tenant_id=acme.id, user_id=handler.user_id, authority_fen=600_000, updated_by="t"))
        mine, theirs, nobody = _claims(session, acme.id, "H", [START] * 3, assignee=handler.user_id)
        nobody.assignee_id = None
        mine.reported_amount_fen, theirs.reported_amount_fen, nobody.reported_amount_fen = 570_000, 700_000, 499_000
        found = facts_builder.build_facts(session, acme.id, [mine, theirs, nobody])
        assert found[mine.id].authority_headroom_pct == pytest.approx(0.05)
        assert found[theirs.id].authority_headroom_pct == pytest.approx(-1 / 6, abs=1e-6)
        assert found[nobody.id].authority_headroom_pct is None
        results = service.score_claims(session, acme.id, [mine], [found[mine.id]], trigger="rescore")
        assert "just_under_authority_limit" in {f.code for f in results[0].flags}
        service.score_claims(session, acme.id, [nobody], [found[nobody.id]], trigger="rescore")
        assert found[nobody.id].authority_headroom_pct == pytest.approx(0.002)


def test_training_versions_and_refusals(world: World):
    acme = world.tenant("ACME")
    world.user("qm", Role.QUALITY_MANAGER, acme)
    qm = _principal("qm")
    history = list(synthetic_history(11, 700, START, days=300))
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        claims = _claims(session, acme.id, "H", [h.reported_at for h in history])
        results = service.score_claims(session, acme.id, claims, [h.facts for h in history], trigger="batch")
        score_ids = [r.score_id for r in results]
        # too few labels: a clear refusal with the count, nothing stored
        for claim, h, score_id in list(zip(claims, history, score_ids, strict=True))[:30]:
            _label(session, acme.id, claim, score_id, h.label)
        session.flush()
        with pytest.raises(Invalid, match=r"too few labels to train: 30 labelled claims"):
            model_training.train(session, qm)
        for claim, h, score_id in list(zip(claims, history, score_ids, strict=True))[30:]:
            _label(session, acme.id, claim, score_id, h.label)
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        model = model_training.train(session, qm, holdout=0.25, activate=True)
        card = model.card
        assert model.version == 1 and model.status == "active" and model.labels == 700
        assert card["holdout"]["size"] == 175 and card["holdout"]["from"] >= card["training_window"]["from"]
        assert card["metrics"]["holdout_auc"] > 0.65 and 0 < card["metrics"]["holdout_brier"] < 0.25
        assert len(card["metrics"]["reliability"]) == 10
        exported = model_training.export_model(model)
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        claim = _claims(session, acme.id, "N", [START + dt.timedelta(days=400)])[0]
        (result,) = service.score_claims(session, acme.id, [claim], [history[0].facts])
        assert result.model_version == 1 and result.probability is not None and result.score == result.probability
        assert result.contributions and all(c.contribution > 0 for c in result.contributions)
        # a model file whose features do not match: refused, nothing stored; the exported one is version 2
        bad = json.loads(json.dumps(exported))
        bad["params"]["features"] = [*bad["params"]["features"][:-1], "flag:unknown_flag"]
        with pytest.raises(Invalid, match="features do not match.*missing flag:late_report; unknown flag:unknown"):
            model_training.import_model(session, qm, bad)
        assert session.scalar(select(func.count()).select_from(RiskModel)) == 1
        assert model_training.import_model(session, qm, exported, activate=True).status == "active"
        statuses = dict(session.execute(select(RiskModel.version, RiskModel.status)).all())
        assert statuses == {1: "retired", 2: "active"}
    # the API: versions, a card, the red flags, a refused import (nothing stored), a claim's scores
    client = TestClient(shared_app())
    key = {"X-API-Key": world.api_key(acme, Role.QUALITY_MANAGER)}
    listed = client.get("/api/v1/risk/models", headers=key).json()
    assert [m["version"] for m in listed] == [2, 1] and listed[0]["status"] == "active"
    assert client.get("/api/v1/risk/models/1", headers=key).json()["card"]["holdout"]["size"] == 175
    trained = client.post("/api/v1/risk/models/train", headers=key, json={"holdout": 0.25})
    assert trained.status_code == 201 and trained.json()["version"] == 3 and trained.json()["status"] == "trained"
    assert len(client.get("/api/v1/risk/red-flags", headers=key).json()["flags"]) == 8
    refused = client.post("/api/v1/risk/models/import", headers=key, json=bad)
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "file"
    assert client.post("/api/v1/risk/models/9/activate", headers=key).status_code == 404
    risk = client.get("/api/v1/claims/N00000/risk", headers=key).json()
    assert risk["latest"]["model_version"] == 1 and risk["latest"]["contributions"]


def _label(session, tenant_id: int, claim: Claim, score_id: int | None, label: int) -> None:
    assert score_id is not None
    session.add(
        RiskReview(
            tenant_id=tenant_id,
            claim_id=claim.id,
            score_id=score_id,
            score=0.5,
            level="high",
            reasons=[],
            status="decided",
            decision="fraud_confirmed" if label else "cleared",
            label=label,
            created_at=claim.reported_at,
        )
    )
