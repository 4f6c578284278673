"""Demo complaints: about 3 % of claims lead to one, plus complaints about sales, surrender and service,
handled through the complaints service the way a complaint desk would — accepted, investigated, decided
(most on time, some late, some complex or extended), some withdrawn or taken to review, some repeats —
and the monthly volumes (policies in force, premium) that complaint rates are measured against."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.complaints import intake as complaints_intake
from claimwatch.complaints import schemas as complaint_schemas
from claimwatch.complaints import service as complaints_service
from claimwatch.complaints.vocabulary import ComplaintError
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.demo.complaint_texts import CATEGORY_WEIGHTS, CHANNEL_WEIGHTS, TEXTS
from claimwatch.demo.generator import CHINA, MODEL_TENANT, DemoSpec, iter_tenant_events
from claimwatch.workflow import service as workflow_service

COMPLAINTS_PER_CLAIM = 0.03
# The model insurer (generator.MODEL_TENANT): a third of the complaints per claim, on a book twice as large per
# claim (fewer claims per policy), so its complaints per 10 000 policies stay below the industry's every month.
MODEL_COMPLAINTS_PER_CLAIM = 0.01
POLICIES_PER_CLAIM = 40
MODEL_POLICIES_PER_CLAIM = 80
REPEAT_SHARE = 0.15
# Complaints still on the desk: received in the last RECENT_DAYS, some of them stalled (no decision yet),
# so the queue and the overdue lights have something to show.
RECENT_SHARE = 0.2
RECENT_DAYS = 24
STALLED_SHARE = 0.2
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class ClaimFacts:
    number: str
    line: str
    reported_at: dt.datetime
    claimant: dict[str, str]
    org_code: str
    region_code: str


def _claims(spec: DemoSpec, tenant_index: int) -> list[ClaimFacts]:
    """The tenant's claims as the generator made them (same seed, same claims), with the claimants' details."""
    found = []
    for event in iter_tenant_events(spec, tenant_index):
        if event["type"] == "reported":
            claim = event["claim"]
            found.append(
                ClaimFacts(
                    number=event["claim_number"],
                    line=claim["line"],
                    reported_at=dt.datetime.fromisoformat(event["occurred_at"]),
                    claimant=claim["claimant"],
                    org_code=claim["org_code"],
                    region_code=claim["region_code"],
                )
            )
    return found


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _sub_cause(rng: random.Random, category: str) -> str:
    return rng.choice([sub for cat, sub in TEXTS if cat == category])


def _text(rng: random.Random, category: str, sub_cause: str, line: str) -> tuple[str, str]:
    subject, description = rng.choice(TEXTS[(category, sub_cause)])
    filled = description.format(line=workflow_service.line_label(line, "zh"), days=rng.randint(3, 40))
    return subject, filled


@dataclass
class _Plan:
    received_at: dt.datetime
    channel: str
    category: str
    sub_cause: str
    claim: ClaimFacts
    about_claim: bool
    external_ref: str | None
    stalled: bool = False


def _plans(rng: random.Random, claims: list[ClaimFacts], now: dt.datetime, code: str) -> Iterator[_Plan]:
    share = MODEL_COMPLAINTS_PER_CLAIM if code == MODEL_TENANT else COMPLAINTS_PER_CLAIM
    wanted = max(1, int(len(claims) * share))
    earlier: list[_Plan] = []
    for serial in range(wanted):
        if earlier and rng.random() < REPEAT_SHARE:
            first = rng.choice(earlier)
            received = first.received_at + dt.timedelta(days=rng.uniform(5, 60))
            plan = _Plan(
                received,
                _pick(rng, CHANNEL_WEIGHTS),
                first.category,
                first.sub_cause,
                first.claim,
                first.about_claim,
                None,
            )
        else:
            claim = rng.choice(claims)
            category = _pick(rng, CATEGORY_WEIGHTS)
            about_claim = category == "claims"
            base = claim.reported_at if about_claim else claim.reported_at - dt.timedelta(days=rng.uniform(0, 90))
            received = base + dt.timedelta(days=rng.uniform(1, 25))
            plan = _Plan(
                received, _pick(rng, CHANNEL_WEIGHTS), category, _sub_cause(rng, category), claim, about_claim, None
            )
        if plan.received_at >= now or plan.received_at < claims[0].reported_at:
            continue
        if plan.channel == "regulator_12378":
            plan.external_ref = f"12378-{code}-{serial:06d}"
        earlier.append(plan)
        yield plan
    recent_claims = [c for c in claims if c.reported_at > now - dt.timedelta(days=90)] or claims
    for serial in range(wanted, wanted + max(3, int(wanted * RECENT_SHARE))):
        claim = rng.choice(recent_claims)
        category = _pick(rng, CATEGORY_WEIGHTS)
        channel = _pick(rng, CHANNEL_WEIGHTS)
        plan = _Plan(
            now - dt.timedelta(days=rng.uniform(0.2, RECENT_DAYS)),
            channel,
            category,
            _sub_cause(rng, category),
            claim,
            category == "claims",
            f"12378-{code}-{serial:06d}" if channel == "regulator_12378" else None,
            stalled=rng.random() < STALLED_SHARE,
        )
        yield plan


def _intake(rng: random.Random, plan: _Plan) -> complaint_schemas.ComplaintIn:
    subject, description = _text(rng, plan.category, plan.sub_cause, plan.claim.line)
    who = plan.claim.claimant
    majors = []
    if rng.random() < 0.03:
        majors.append("vulnerable")
    if rng.random() < 0.01:
        majors.append("media")
    return complaint_schemas.ComplaintIn(
        channel=plan.channel,
        received_at=plan.received_at,
        external_ref=plan.external_ref,
        claim_number=plan.claim.number if plan.about_claim else None,
        org_code=None if plan.about_claim else plan.claim.org_code,
        region_code=None if plan.about_claim else plan.claim.region_code,
        line=None if plan.about_claim else plan.claim.line,
        complainant=complaint_schemas.ComplainantIn(name=who["name"], phone=who["phone"], id_number=who["id_number"]),
        category=plan.category,
        sub_cause=plan.sub_cause,
        subject=subject,
        description=description,
        major_reasons=majors,
    )


_DECISION_FACTS = {
    "upheld": (
        "经核实，投诉反映的问题属实。",
        "依据合同约定及公司服务规范，相关处理存在不当。",
        "已督促相关部门整改并向客户致歉。",
    ),
    "partly_upheld": (
        "经核实，投诉反映的问题部分属实。",
        "依据合同条款，部分诉求合理。",
        "对合理部分予以处理，其余按合同执行。",
    ),
    "not_upheld": ("经核实，相关处理符合合同约定。", "依据保险合同条款及相关法律规定。", "向客户解释说明处理依据。"),
}


def _decision(rng: random.Random, first_contact: bool) -> complaint_schemas.DecisionIn:
    outcome = rng.choices(list(_DECISION_FACTS), weights=[0.45, 0.3, 0.25])[0]
    facts, basis, remedy = _DECISION_FACTS[outcome]
    compensation = Decimal(rng.randrange(100, 3000)) if outcome != "not_upheld" and rng.random() < 0.3 else None
    return complaint_schemas.DecisionIn(
        outcome=outcome,  # type: ignore[arg-type]
        facts=facts,
        basis=basis,
        remedy=remedy,
        compensation=compensation,
        first_contact_resolved=first_contact,
    )


def _handle(
    rng: random.Random, plan: _Plan, tenant_id: int, desk: Principal, approver: Principal, now: dt.datetime
) -> None:
    """One complaint from intake to wherever its story has reached by ``now``, each step in its own transaction."""

    def step(at: dt.datetime) -> bool:
        return at < now

    first_contact = not plan.stalled and plan.channel in ("hotline", "walk_in", "app", "wechat") and rng.random() < 0.35
    data = _intake(rng, plan)
    if first_contact:
        data.decision = _decision(rng, True)
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        complaint = complaints_intake.create_complaint(session, desk, data)
        number = complaint.number
    if first_contact:
        _settle_after_decision(rng, number, tenant_id, desk, plan.received_at, now)
        return
    t = plan.received_at + dt.timedelta(hours=rng.uniform(2, 40))
    actions: list[tuple[dt.datetime, str, Any]] = []
    actions.append((t, "accept", None))
    t += dt.timedelta(hours=rng.uniform(4, 72))
    actions.append((t, "note", "已联系投诉人了解诉求，调取案件资料核实。"))
    complex_case = rng.random() < 0.1
    if complex_case:
        actions.append(
            (plan.received_at + dt.timedelta(days=rng.uniform(5, 12)), "complex", "涉及多方责任认定，需调查取证")
        )
        if rng.random() < 0.25:
            actions.append(
                (plan.received_at + dt.timedelta(days=rng.uniform(22, 28)), "extend", "需等待第三方鉴定结论")
            )
    if rng.random() < 0.05:
        actions.append(
            (plan.received_at + dt.timedelta(days=rng.uniform(1, 10)), "withdraw", "投诉人表示问题已解决，撤回投诉")
        )
    else:
        limit = 55 if complex_case else 20
        days = min(limit, rng.lognormvariate(1.9, 0.6))  # median ≈ 6.7 days; about 1 in 10 runs past 15
        actions.append((plan.received_at + dt.timedelta(days=days), "decide", None))
    for at, action, text in sorted(actions, key=lambda item: item[0]):
        if not step(at):
            return
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            if action == "accept":
                complaints_service.accept(session, desk, number, at=at)
            elif action == "note":
                complaints_service.add_note(session, desk, number, text, at=at)
            elif action == "complex":
                complaints_service.mark_complex(session, desk, number, text, at=at)
            elif action == "extend":
                complaints_service.extend(session, approver, number, text, at=at)
            elif action == "withdraw":
                complaints_service.withdraw(session, desk, number, text, at=at)
                return
            else:
                complaints_service.decide(session, desk, number, _decision(rng, False), at=at)
        if action == "decide":
            _settle_after_decision(rng, number, tenant_id, desk, at, now)
            return


def _settle_after_decision(
    rng: random.Random, number: str, tenant_id: int, desk: Principal, decided_at: dt.datetime, now: dt.datetime
) -> None:
    """Most complainants accept the decision (closed in a few days); some ask for a review; the rest let
    the 30-day window lapse (the sweep closes those)."""
    roll = rng.random()
    if roll < 0.06:
        asked = decided_at + dt.timedelta(days=rng.uniform(3, 20))
        decided = asked + dt.timedelta(days=rng.uniform(5, 25))
        if asked < now:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                complaints_service.request_review(
                    session, desk, number, "投诉人对处理结果不满意，申请核查", received_at=asked
                )
        if decided < now:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                outcome = "upheld" if rng.random() < 0.7 else "changed"
                complaints_service.decide_review(session, desk, number, outcome, "核查完毕", at=decided)
                complaints_service.close(session, desk, number, at=decided)
    elif roll < 0.75:
        closed = decided_at + dt.timedelta(days=rng.uniform(0.5, 5))
        if closed < now:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                complaints_service.close(session, desk, number, "投诉人接受处理结果", at=closed)


def _months(first: dt.date, last: dt.date) -> Iterator[str]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield f"{year}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _volumes(rng: random.Random, claims: list[ClaimFacts], tenant_id: int, admin: Principal, code: str) -> None:
    """Policies in force and premium per month: a book about 40 times the month's claims, ~2 000 CNY a policy."""
    book = MODEL_POLICIES_PER_CLAIM if code == MODEL_TENANT else POLICIES_PER_CLAIM
    per_month: dict[str, int] = {}
    for claim in claims:
        key = claim.reported_at.astimezone(CHINA).strftime("%Y-%m")
        per_month[key] = per_month.get(key, 0) + 1
    for period in _months(claims[0].reported_at.date(), claims[-1].reported_at.date()):
        policies = max(1000, int(per_month.get(period, 0) * book * rng.uniform(0.9, 1.1)))
        premium = Decimal(int(policies * 2000 / 12 * rng.uniform(0.85, 1.15)))
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            complaints_service.set_volume(
                session,
                admin,
                complaint_schemas.VolumeIn(period=period, policies_in_force=policies, premium=premium),
            )


@dataclass
class Loaded:
    filed: int = 0
    refused: list[str] | None = None  # a step the service refused: the story of that complaint stops there


def load(spec: DemoSpec, tenant_index: int, tenant_id: int, now: dt.datetime) -> Loaded:
    """Complaints and volumes for one demo tenant."""
    tenant = spec.tenants[tenant_index]
    claims = _claims(spec, tenant_index)
    if not claims:
        return Loaded(0, [])
    rng = random.Random(f"{spec.seed}:{tenant.code}:complaints")
    prefix = tenant.code.lower()
    desk = Principal(role=Role.COMPLAINT_HANDLER, tenant_id=tenant_id, actor=f"user:{prefix}.cs")
    approver = Principal(role=Role.SUPERVISOR, tenant_id=tenant_id, actor=f"user:{prefix}.supervisor")
    admin = Principal(role=Role.ADMIN, tenant_id=tenant_id, actor=f"user:{prefix}.admin")
    loaded = Loaded(0, [])
    for plan in sorted(_plans(rng, claims, now, tenant.code), key=lambda p: p.received_at):
        try:
            _handle(rng, plan, tenant_id, desk, approver, now)
        except ComplaintError as refused:
            assert loaded.refused is not None
            loaded.refused.append(f"{plan.claim.number}: {refused.field}: {refused.message}")
        loaded.filed += 1
    _volumes(rng, claims, tenant_id, admin, tenant.code)
    return loaded
