"""The demo's risk history: SYNTHETIC review labels, so the risk model has something to learn from.

Nothing here is real fraud data. A claim's label is drawn from a fixed, invented rule of thumb over its
report-time facts (``TRUE_LOGIT``: early claims, shared bank accounts, repeat claimants, amounts just under a
limit, concentration at one repair shop, late reports make "fraud confirmed" more likely), so a trained model
finds those patterns again and its hold-out AUC means "it recovered the invented rule", nothing more.

``load(spec)`` (after the demo events are in): scores every demo claim that has no score yet (triage's facts
builder, ``risk.service.score_claims``), decides the older reviews the scores opened and labels a sample of
other older claims as past reviews (decided by the demo reviewer, reason "synthetic demo label"), trains a
model per insurer and activates it. The reviews of the last ``OPEN_DAYS`` days stay open in the queue.
``synthetic_history`` gives labelled facts without a database (tests, the benchmark).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select

from claimwatch.audit import service as audit_service
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.cases.models import Claim
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Problem
from claimwatch.risk import model_training
from claimwatch.risk import review as review_service
from claimwatch.risk import service as risk_service
from claimwatch.risk.facts import ClaimFacts
from claimwatch.risk.features import headroom
from claimwatch.risk.loader import default_red_flags
from claimwatch.risk.models import RiskModel, RiskReview, RiskScore
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.triage import facts as triage_facts

if TYPE_CHECKING:
    from claimwatch.demo.generator import DemoSpec

OPEN_DAYS = 90
LABEL_SHARE = 0.5  # of older claims without a review: labelled as if reviewed
SYNTHETIC_REASON = "synthetic demo label (演示数据，非真实核查结论)"


def true_logit(f: ClaimFacts) -> float:
    """The invented ground truth the demo labels are drawn from."""
    logit = -3.0
    if f.days_since_policy_start is not None and f.days_since_policy_start <= 30:
        logit += 2.2
    if f.reinstated_days is not None and f.reinstated_days <= 30:
        logit += 1.6
    logit += 1.6 * math.log1p(f.shared_contact_count)
    if f.repeat_claimant_count >= 3:
        logit += 1.4
    if f.authority_headroom_pct is not None and f.authority_headroom_pct <= 0.05:
        logit += 1.6
    if f.line == "motor" and f.night:
        logit += 1.2
    if f.provider_share is not None and f.provider_share >= 0.3:
        logit += 0.8
    if f.report_delay_days is not None and f.report_delay_days > 7:
        logit += 1.2
    return logit


def draw_label(f: ClaimFacts, rng: random.Random) -> int:
    return int(rng.random() < 1.0 / (1.0 + math.exp(-true_logit(f))))


@dataclass(frozen=True)
class Labelled:
    facts: ClaimFacts
    reported_at: dt.datetime
    label: int


_MEDIANS = {"motor": 4200.0, "medical": 2600.0, "property": 9000.0, "accident": 6000.0, "life": 60000.0}


def synthetic_facts(rng: random.Random, at: dt.datetime) -> ClaimFacts:
    """One claim's report-time facts, drawn like the demo generator draws its report details."""
    line = rng.choices(list(_MEDIANS), weights=(50, 25, 10, 10, 5))[0]
    amount = round(max(50.0, rng.lognormvariate(math.log(_MEDIANS[line]), 0.9)), 2)
    if rng.random() < 0.10:  # just under a limit
        amount = round(rng.choice((3000.0, 5000.0, 10000.0, 50000.0)) * rng.uniform(0.955, 0.999), 2)
    early = rng.random() < 0.15
    days = rng.randint(0, 30) if early else rng.randint(31, 1800)
    delay = rng.randint(8, 40) if rng.random() < 0.10 else min(int(rng.expovariate(1.2)), 7)
    shared = rng.randint(2, 5) if rng.random() < 0.08 else (1 if rng.random() < 0.05 else 0)
    repeat = rng.randint(3, 6) if rng.random() < 0.08 else min(int(rng.expovariate(2.0)), 2)
    hot = line in ("motor", "medical") and rng.random() < 0.15
    hour = rng.choices(range(24), weights=[1] * 6 + [3] * 16 + [1] * 2)[0]
    return ClaimFacts(
        line=line,
        amount_cny=amount,
        claim_type={"motor": "vehicle_damage", "medical": "medical", "property": "property"}.get(line, "injury"),
        liability_clear=rng.random() < 0.7 if line == "motor" else None,
        days_since_policy_start=days,
        reinstated_days=rng.randint(0, 60) if rng.random() < 0.03 else None,
        report_delay_days=delay,
        night=hour >= 22 or hour < 6,
        weekend=rng.random() < 2 / 7,
        repeat_claimant_count=repeat,
        shared_contact_count=shared,
        provider=("HOT-01" if hot else f"P{rng.randint(2, 60):02d}") if line in ("motor", "medical") else None,
        provider_share=round(rng.uniform(0.3, 0.4), 3) if hot else round(rng.uniform(0.0, 0.08), 3),
        provider_claim_count=rng.randint(20, 60) if hot else rng.randint(0, 10),
        region="440000",
        accident_at=(at - dt.timedelta(days=delay)).replace(hour=hour, tzinfo=None),
    )


CHINA = dt.timezone(dt.timedelta(hours=8))
_RING_ACCOUNTS = 6  # bank accounts shared by unrelated claimants (a staged-claims ring), per insurer


def report_details(
    rng: random.Random, tenant_code: str, line: str, region_code: str, reported_at: float
) -> dict[str, object]:
    """The report event's ``details`` for one demo claim (policy start, accident time, provider, payee account…),
    drawn on the generator's own ``:risk`` stream so the rest of the demo is unchanged."""
    reported = dt.datetime.fromtimestamp(reported_at, CHINA)
    late = rng.random() < 0.08
    delay_hours = rng.uniform(8 * 24, 40 * 24) if late else min(rng.expovariate(1 / 18), 6 * 24)
    accident = reported - dt.timedelta(hours=delay_hours)
    early = rng.random() < 0.12
    policy_days = rng.randint(0, 30) if early else rng.randint(31, 1800)
    details: dict[str, object] = {
        "accident_at": accident.replace(microsecond=0).isoformat(),
        "policy_start": (accident.date() - dt.timedelta(days=policy_days)).isoformat(),
    }
    if rng.random() < 0.03:
        details["reinstated_on"] = (accident.date() - dt.timedelta(days=rng.randint(0, 60))).isoformat()
    if line == "motor":
        details["claim_type"] = "injury" if rng.random() < 0.12 else "vehicle_damage"
        details["liability_clear"] = rng.random() < 0.75
        details["injury"] = details["claim_type"] == "injury"
    elif line == "medical":
        details["claim_type"] = "medical"
    elif line == "property":
        details["claim_type"] = "property"
    if line in ("motor", "medical"):
        prefix = "RS" if line == "motor" else "HOS"
        # one repair shop / hospital takes a third of the claims in every third region (concentration)
        hot = rng.random() < (0.35 if int(region_code or "0") % 3 == 0 else 0.03)
        details["provider"] = (
            f"{tenant_code}-{prefix}-01" if hot else f"{tenant_code}-{prefix}-{rng.randint(2, 40):02d}"
        )
    if rng.random() < 0.04:
        details["bank_account"] = f"6222{tenant_code.encode().hex()[:6]}{rng.randrange(_RING_ACCOUNTS):06d}"
    else:
        details["bank_account"] = f"6217{rng.randrange(10**14):014d}"
    return details


def maybe_repeat_claimant(
    rng: random.Random, claimant: dict[str, str], frequent: list[dict[str, str]]
) -> dict[str, str]:
    """About 1 claim in 60 comes from one of a few frequent claimants (the same name, phone and ID number)."""
    if len(frequent) < 8:
        if rng.random() < 0.01:
            frequent.append(claimant)
        return claimant
    return rng.choice(frequent) if rng.random() < 0.015 else claimant


def synthetic_history(seed: int, count: int, start: dt.datetime, days: int = 365) -> Iterator[Labelled]:
    """``count`` labelled claims reported between ``start`` and ``start + days``, in report order. Headroom is
    left for the scorer to compute from the amount (as at report time)."""
    rng = random.Random(f"{seed}:risk-history")
    stamps = sorted(start + dt.timedelta(seconds=rng.uniform(0, days * 86400)) for _ in range(count))
    limits = default_red_flags().authority_limits
    for at in stamps:
        facts = synthetic_facts(rng, at)
        if facts.amount_cny is not None:
            value = float(headroom(np.array([facts.amount_cny]), limits)[0])
            truth = dataclasses.replace(facts, authority_headroom_pct=None if math.isnan(value) else value)
        else:
            truth = facts
        yield Labelled(facts, at, draw_label(truth, rng))


# ------------------------------------------------------------------------------------------- loading the demo

SCORE_CHUNK = 1000


def _facts_from_inputs(inputs: dict[str, object]) -> ClaimFacts:
    kinds = {f.name for f in dataclasses.fields(ClaimFacts)}
    values = {k: v for k, v in inputs.items() if k in kinds and (k in _TEXT_FACTS or not isinstance(v, str))}
    return ClaimFacts(**values)  # type: ignore[arg-type]


_TEXT_FACTS = frozenset({"line", "claim_type", "coverage", "provider", "risk_level", "org_unit", "region", "channel"})


def load(spec: DemoSpec, now: dt.datetime | None = None) -> list[str]:
    """Scores, synthetic review decisions and a trained, active model for every demo insurer; one line each."""
    now = now or utc_now()
    with unit_of_work(TenantContext.system_context()) as session:
        found = [tenancy_repository.tenant_by_code(session, t.code) for t in spec.tenants]
    lines = []
    for tenant in found:
        if tenant is not None:
            lines.append(f"{tenant.code}: {_load_tenant(tenant.id, tenant.code, spec.seed, now)}")
    return lines


def _load_tenant(tenant_id: int, code: str, seed: int, now: dt.datetime) -> str:
    prefix = code.lower()
    with unit_of_work(TenantContext.system_reader()) as session:
        users = {name: auth_repository.user_by_username(session, f"{prefix}.{name}") for name in ("inspector", "qm")}
        reviewer = auth_service.principal_for_user(users["inspector"]) if users["inspector"] else None
        qm = auth_service.principal_for_user(users["qm"]) if users["qm"] else None
    if reviewer is None or qm is None:
        return "no inspector or quality manager: skipped"
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        if session.scalar(select(func.count()).select_from(RiskModel)):
            return "risk model already trained: skipped"
        scored = set(session.scalars(select(RiskScore.claim_id).distinct()))
        unscored = [i for i in session.scalars(select(Claim.id).order_by(Claim.reported_at)) if i not in scored]
    # 1. claims ingested without the triage subscription get their report-time score now
    for start in range(0, len(unscored), SCORE_CHUNK):
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            claims = list(session.scalars(select(Claim).where(Claim.id.in_(unscored[start : start + SCORE_CHUNK]))))
            claims.sort(key=lambda c: (c.reported_at, c.id))
            facts = triage_facts.build_facts(session, tenant_id, claims)
            risk_service.score_claims(session, tenant_id, claims, [facts[c.id] for c in claims], trigger="batch")
    # 2. older claims: decide the open reviews and label a sample of the others (SYNTHETIC labels)
    rng = random.Random(f"{seed}:{code}:risk-labels")
    cutoff = now - dt.timedelta(days=OPEN_DAYS)
    decided = labelled = 0
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        first = (
            select(RiskScore.claim_id, func.min(RiskScore.id).label("score_id")).group_by(RiskScore.claim_id).subquery()
        )
        rows = session.execute(
            select(Claim.id, Claim.reported_at, RiskScore.id, RiskScore.inputs, RiskScore.score, RiskScore.level)
            .join(first, first.c.claim_id == Claim.id)
            .join(RiskScore, RiskScore.id == first.c.score_id)
            .where(Claim.reported_at < cutoff)
            .order_by(Claim.reported_at)
        ).all()
        open_reviews = {
            r.claim_id: r.id for r in session.scalars(select(RiskReview).where(RiskReview.status == "open"))
        }
    for claim_id, reported_at, score_id, inputs, score, level in rows:
        label = draw_label(_facts_from_inputs(inputs), rng)
        review_id = open_reviews.get(claim_id)
        if review_id is not None:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                decision = "fraud_confirmed" if label else "cleared"
                review_service.decide(session, reviewer, review_id, decision, SYNTHETIC_REASON)
            decided += 1
        elif rng.random() < LABEL_SHARE:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                at = reported_at + dt.timedelta(days=rng.uniform(2, 15))
                session.add(
                    RiskReview(
                        tenant_id=tenant_id,
                        claim_id=claim_id,
                        score_id=score_id,
                        score=score,
                        level=level,
                        reasons=[],
                        status="decided",
                        decision="fraud_confirmed" if label else "cleared",
                        decision_reason=SYNTHETIC_REASON,
                        decided_by=reviewer.actor,
                        decided_at=min(at, now),
                        label=label,
                        created_at=reported_at,
                    )
                )
            labelled += 1
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        audit_service.record(
            session,
            tenant_id,
            "risk.demo_labels",
            f"risk-demo-{code}",
            "demo",
            {"decided_reviews": decided, "past_reviews": labelled, "note": "synthetic labels"},
        )
    # 3. train and activate (a refusal, e.g. too few labels in a tiny demo, is reported, not raised)
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            model = model_training.train(session, qm, activate=True, now=now)
            auc = model.metrics.get("holdout_auc")
            summary = f"model v{model.version} on {model.labels} labels, hold-out AUC {auc:.3f}" if auc else ""
    except Problem as exc:
        summary = f"no model: {exc.message}"
    else:
        # 4. the recent claims, scored again with the model (a high probability opens a review too)
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            recent = list(session.scalars(select(Claim).where(Claim.reported_at >= cutoff).order_by(Claim.reported_at)))
            facts = triage_facts.build_facts(session, tenant_id, recent)
            risk_service.score_claims(session, tenant_id, recent, [facts[c.id] for c in recent], trigger="rescore")
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        waiting = session.scalar(select(func.count()).select_from(RiskReview).where(RiskReview.status == "open"))
    return (
        f"{len(unscored)} claims scored, {decided} reviews decided and {labelled} past reviews labelled "
        f"(synthetic), {summary}; {waiting} reviews waiting"
    )
