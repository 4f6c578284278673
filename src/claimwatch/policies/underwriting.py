"""Underwriting (核保, seed 002): applications assessed at once by the rules in force, decided automatically when
the rules allow it, else reviewed by an underwriter who records reasons; the applicant is told the decision and
its reason through the outbox; the turnaround runs on the SLA engine (:mod:`underwriting_clocks`).

- :func:`load_rules`: a new version of the rules (MANAGE_UNDERWRITING_RULES), audited ``config.underwriting_rules``
  with the YAML. The first application of an insurer without rules loads its rule file (actor ``system``).
- :func:`submit` (SUBMIT_APPLICATIONS): the case, its assessment (fired factors with points), the clock; an
  application number already recorded is returned as it is (``created`` False).
- :func:`assign` and :func:`decide` (DECIDE_UNDERWRITING): an underwriter takes a case (or a supervisor gives it
  to one) and decides it; a decline, a rate-up or an exclusion needs the ``reason`` the applicant is told.
- :func:`withdraw` (SUBMIT_APPLICATIONS): the applicant withdrew; the clock is voided.

Every change is audited (``underwriting.*``) in the caller's transaction and written to the case's history; no
function commits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from random import SystemRandom
from typing import Any

from sqlalchemy.orm import Session

from claimwatch import params
from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.notify import repository as notify_repository
from claimwatch.notify import service as notify_service
from claimwatch.policies import underwriting_clocks as clocks
from claimwatch.policies import underwriting_repository as repository
from claimwatch.policies import underwriting_rules as rules_module
from claimwatch.policies.models import UnderwritingCase, UnderwritingEvent, UnderwritingRuleSet
from claimwatch.policies.underwriting_schemas import ApplicationIn
from claimwatch.privacy import field_cipher, keyed_hash, mask_name
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.web.i18n import N_, translate

SYSTEM_ACTOR = "system:underwriting"
OPEN = ("received", "in_review")
STATUSES = ("received", "assessed", "in_review", "decided", "withdrawn")
NEEDS_REASON = ("rate_up", "exclusion", "decline")
NOTICE_TEMPLATE = "underwriting_decision"
OUTCOME_LABELS: dict[str, str] = {
    "accept": N_("Accepted at standard terms"),
    "rate_up": N_("Accepted with a premium loading"),
    "exclusion": N_("Accepted with exclusions"),
    "decline": N_("Declined"),
}
STATUS_LABELS: dict[str, str] = {
    "received": N_("Received"),
    "assessed": N_("Decided automatically"),
    "in_review": N_("In manual review"),
    "decided": N_("Decided"),
    "withdrawn": N_("Withdrawn"),
}
LEVEL_LABELS: dict[str, str] = {"low": N_("Low risk"), "medium": N_("Medium risk"), "high": N_("High risk")}
_RANDOM = SystemRandom()


def _tenant(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "underwriting belongs to one insurer")
    return principal.tenant_id


def outcome_label(outcome: str | None, locale: str) -> str:
    return translate(locale, OUTCOME_LABELS[outcome]) if outcome in OUTCOME_LABELS else (outcome or "")


def record_event(
    session: Session, case: UnderwritingCase, kind: str, actor: str, detail: dict[str, Any], at: dt.datetime
) -> None:
    session.add(
        UnderwritingEvent(tenant_id=case.tenant_id, case_id=case.id, kind=kind, actor=actor, at=at, detail=detail)
    )


def _audit(session: Session, case: UnderwritingCase, kind: str, actor: str, payload: dict[str, Any]) -> None:
    audit_service.record(session, case.tenant_id, f"underwriting.{kind}", case.application_number, actor, payload)


# -- rules -------------------------------------------------------------------------------------------------


def check_rules(text: str, source: str = "rules.yaml") -> rules_module.RuleSet:
    """Parse and validate; a bad file is :class:`Invalid` on ``content`` with ``file:line`` in the message."""
    if len(text.encode()) > rules_module.MAX_RULE_FILE:
        raise Invalid("content", f"a rule file is at most {rules_module.MAX_RULE_FILE // 1024} KiB")
    try:
        return rules_module.parse_rule_set(text, source)
    except rules_module.ConfigFileError as exc:
        raise Invalid("content", str(exc)) from exc


def _store_rules(
    session: Session, tenant_id: int, actor: str, text: str | None, source: str | None
) -> UnderwritingRuleSet:
    audit_service.open_chain(session, tenant_id).close()
    if text is None:
        tenant = tenancy_repository.tenant_by_id(session, tenant_id)
        path = rules_module.rule_file(tenant.code if tenant is not None else None)
        text, source = path.read_text(encoding="utf-8"), source or path.name
    source = (source or "api")[:300]
    parsed = check_rules(text, source)
    now = utc_now()
    row = UnderwritingRuleSet(
        tenant_id=tenant_id, version=parsed.version, digest=parsed.digest, content=text, loaded_by=actor, loaded_at=now
    )
    session.add(row)
    session.flush()
    row.audit_seq = audit_service.record(
        session,
        tenant_id,
        "config.underwriting_rules",
        parsed.version,
        actor,
        {
            "rule_set_id": row.id,
            "version": parsed.version,
            "sha256": parsed.digest,
            "factors": [factor.code for factor in parsed.factors],
            "source": source,
            "yaml": text,
        },
    )
    return row


def load_rules(
    session: Session, principal: Principal, text: str | None = None, source: str | None = None
) -> UnderwritingRuleSet:
    """Put a new version in force for the caller's insurer. ``text`` None: the insurer's rule file. Nothing is
    stored when it is invalid (:class:`Invalid` on ``content``, naming ``file:line``)."""
    principal.require(Permission.MANAGE_UNDERWRITING_RULES)
    return _store_rules(session, _tenant(principal), principal.actor, text, source)


def rules_in_force(session: Session, tenant_id: int) -> tuple[UnderwritingRuleSet, rules_module.RuleSet]:
    """The version in force and its parsed rules; an insurer without one gets its rule file loaded now."""
    row = repository.rule_set_in_force(session)
    if row is None:
        row = _store_rules(session, tenant_id, "system", None, None)
    return row, rules_module.parsed(row.content, f"version {row.version}")


def rules_of(session: Session, case: UnderwritingCase) -> rules_module.RuleSet | None:
    """The rules a case was assessed under."""
    row = repository.rule_set(session, case.rule_set_id) if case.rule_set_id is not None else None
    return rules_module.parsed(row.content, f"version {row.version}") if row is not None else None


# -- intake ------------------------------------------------------------------------------------------------


def facts_of(data: ApplicationIn) -> dict[str, Any]:
    """The stored facts: as received, with the BMI computed from height and weight when not given."""
    facts = data.facts.model_dump(exclude_none=True)
    if data.facts.bmi is None and data.facts.height_cm and data.facts.weight_kg:
        facts["bmi"] = round(data.facts.weight_kg / (data.facts.height_cm / 100) ** 2, 1)
    if not facts.get("health"):
        facts.pop("health", None)
    return facts


def assessment_facts(case: UnderwritingCase) -> dict[str, Any]:
    """What the rules read: the stored facts with the line, channel and sum insured (yuan)."""
    return dict(case.facts or {}) | {
        "line": case.line,
        "channel": case.channel,
        "sum_insured": case.sum_insured_fen / 100,
    }


def get_case(session: Session, number: str, *, lock: bool = False) -> UnderwritingCase:
    case = repository.case_by_number(session, number, lock=lock)
    if case is None:
        raise NotFound("application_number", f"no application {number}")
    return case


def _fen(value: Decimal | None) -> int | None:
    return None if value is None else int((value * 100).to_integral_value())


def problems_of(session: Session, data: ApplicationIn) -> list[tuple[str, str]]:
    """What the service would refuse about an application beyond its schema (the import checks every row)."""
    found: list[tuple[str, str]] = []
    if data.agent_code and repository.staff_by_code(session, data.agent_code) is None:
        found.append(("agent", f"no agent with code {data.agent_code!r}"))
    if data.org_code and tenancy_repository.org_unit_by_code(session, data.org_code) is None:
        found.append(("org_code", f"no org unit {data.org_code!r}"))
    if data.received_at is not None:
        try:
            params.event_time(data.received_at, field="received_at")
        except Invalid as exc:
            found.append(("received_at", exc.message))
    return found


def submit(
    session: Session, principal: Principal, data: ApplicationIn, source: str = "api"
) -> tuple[UnderwritingCase, bool]:
    """Record an application and assess it at once: an automatic decision (told to the applicant) or manual
    review. Returns (case, created); an application number recorded before returns that case unchanged."""
    principal.require(Permission.SUBMIT_APPLICATIONS)
    tenant_id = _tenant(principal)
    audit_service.open_chain(session, tenant_id).close()
    existing = repository.case_by_number(session, data.application_number)
    if existing is not None:
        return existing, False
    problems = problems_of(session, data)
    if problems:
        name, message = problems[0]
        raise Invalid(name, message, problems=[{"field": f, "message": m} for f, m in problems])
    received = params.event_time(data.received_at, field="received_at")
    agent = repository.staff_by_code(session, data.agent_code) if data.agent_code else None
    org = tenancy_repository.org_unit_by_code(session, data.org_code) if data.org_code else None
    applicant = data.applicant
    case = UnderwritingCase(
        tenant_id=tenant_id,
        application_number=data.application_number,
        product_code=data.product_code,
        line=data.line,
        channel=data.channel,
        agent_id=agent.id if agent is not None else None,
        org_unit_id=org.id if org is not None else (agent.org_unit_id if agent is not None else None),
        applicant_key=keyed_hash(applicant.id_number) if applicant.id_number else None,
        applicant_name_masked=mask_name(applicant.name) if applicant.name else None,
        applicant_phone_enc=field_cipher().encrypt(applicant.phone) if applicant.phone else None,
        sum_insured_fen=_fen(data.sum_insured) or 0,
        premium_fen=_fen(data.premium),
        facts=facts_of(data),
        status="received",
        received_at=received,
        sample_key=_RANDOM.randrange(2**31),
        created_by=principal.actor,
    )
    session.add(case)
    session.flush()
    record_event(session, case, "received", principal.actor, {"source": source}, received)
    _assess(session, case, principal.actor)
    _audit(
        session,
        case,
        "received",
        principal.actor,
        {
            "source": source,
            "line": case.line,
            "product_code": case.product_code,
            "rule_set_id": case.rule_set_id,
            "risk_points": case.risk_points,
            "risk_level": case.risk_level,
            "fired": [fired["code"] for fired in case.fired],
            "proposed_outcome": case.proposed_outcome,
            "status": case.status,
        },
    )
    if case.status == "received":  # nothing needs a person: decided under the rules now
        _decide_automatically(session, case)
    return case, True


def _assess(session: Session, case: UnderwritingCase, actor: str) -> None:
    row, rules = rules_in_force(session, case.tenant_id)
    result = rules_module.assess(rules, assessment_facts(case), get_settings().default_locale)
    now = utc_now()
    case.rule_set_id = row.id
    case.risk_points = result.points
    case.risk_level = result.level
    case.fired = result.fired
    case.proposed_outcome = result.outcome
    case.exclusions = result.exclusions
    case.rate_up_pct = result.rate_up_pct
    record_event(
        session,
        case,
        "assessed",
        SYSTEM_ACTOR,
        {"version": row.version, "points": result.points, "level": result.level, "proposed": result.outcome},
        now,
    )
    clocks.start(session, case, rules.target_days(case.line, result.level), case.received_at)
    if result.review:
        case.status = "in_review"
        record_event(session, case, "review_requested", SYSTEM_ACTOR, {"level": result.level}, now)
    case.updated_at = now


def _automatic_reason(session: Session, case: UnderwritingCase) -> str | None:
    if case.proposed_outcome == "accept":
        return None
    rules = rules_of(session, case)
    locale = get_settings().default_locale
    names = []
    for fired in case.fired:
        factor = rules.factor(str(fired["code"])) if rules is not None else None
        if factor is not None and fired.get("outcome") == case.proposed_outcome:
            names.append(factor.name(locale))
    return "、".join(names) if locale == "zh" else "; ".join(names)


def _decide_automatically(session: Session, case: UnderwritingCase) -> None:
    outcome = case.proposed_outcome or "accept"
    _close(
        session,
        case,
        SYSTEM_ACTOR,
        outcome=outcome,
        reason=_automatic_reason(session, case),
        review_reasons=None,
        exclusions=list(case.exclusions or []) if outcome == "exclusion" else [],
        rate_up_pct=case.rate_up_pct if outcome == "rate_up" else None,
        status="assessed",
    )


# -- review and decision -----------------------------------------------------------------------------------


def _may_decide(principal: Principal, case: UnderwritingCase) -> None:
    principal.require(Permission.DECIDE_UNDERWRITING)
    _tenant(principal)
    if case.status != "in_review":
        raise Conflict("status", f"application {case.application_number} is {case.status}, not in manual review")
    if principal.can(Permission.MANAGE_ASSIGNMENT):
        return  # a supervisor decides or reassigns any case
    if case.reviewer_id is not None and case.reviewer_id != principal.user_id:
        raise Forbidden("reviewer", f"application {case.application_number} is assigned to another underwriter")


def assign(session: Session, principal: Principal, number: str, username: str | None = None) -> UnderwritingCase:
    """Give a case in review to an underwriter: ``username`` None takes it myself. An underwriter may only take
    a case for themselves; a supervisor gives it to anyone who may decide."""
    tenant_id = _tenant(principal)
    audit_service.open_chain(session, tenant_id).close()
    case = get_case(session, number, lock=True)
    _may_decide(principal, case)
    own = repository.usernames(session, [principal.user_id]).get(principal.user_id or 0)
    if username is None or username == own:
        if principal.user_id is None or own is None:
            raise Invalid("username", "an integration key takes no case: name the underwriter")
        user_id, name = principal.user_id, own
    else:
        if not principal.can(Permission.MANAGE_ASSIGNMENT):
            raise Forbidden("username", "an underwriter takes cases for themselves only")
        user = repository.tenant_user(session, tenant_id, username)
        if user is None or not Principal(role=user.role, tenant_id=tenant_id, actor="").can(
            Permission.DECIDE_UNDERWRITING
        ):
            raise Invalid("username", f"{username!r} is not an underwriter of this insurer")
        user_id, name = user.id, user.username
    if case.reviewer_id == user_id:
        return case
    now = utc_now()
    before = case.reviewer_id
    case.reviewer_id = user_id
    case.updated_at = now
    record_event(session, case, "assigned", principal.actor, {"reviewer": name}, now)
    _audit(session, case, "assigned", principal.actor, {"reviewer": name, "before": before})
    return case


def decide(
    session: Session,
    principal: Principal,
    number: str,
    *,
    outcome: str,
    review_reasons: str,
    reason: str | None = None,
    exclusions: list[str] | None = None,
    rate_up_pct: float | None = None,
) -> UnderwritingCase:
    """The underwriter's decision on a case in manual review. ``review_reasons`` (their own reasons) is always
    required; ``reason`` (what the applicant is told) for a decline, rate-up or exclusion; a rate-up needs its
    percentage and an exclusion its texts (default: those the rules proposed). The applicant is told at once."""
    tenant_id = _tenant(principal)
    audit_service.open_chain(session, tenant_id).close()
    case = get_case(session, number, lock=True)
    _may_decide(principal, case)
    if outcome not in rules_module.OUTCOMES:
        raise Invalid("outcome", f"outcome must be one of {', '.join(rules_module.OUTCOMES)}, not {outcome!r}")
    notes = params.clean_text(review_reasons, "review_reasons", True, 2000)
    told = params.clean_text(reason, "reason", outcome in NEEDS_REASON, 2000)
    texts: list[str] = []
    pct: float | None = None
    if outcome == "exclusion":
        texts = [
            t.strip()[:500] for t in (exclusions if exclusions is not None else case.exclusions or []) if t.strip()
        ]
        if not texts:
            raise Invalid("exclusions", "an exclusion decision names what is excluded")
    if outcome == "rate_up":
        pct = rate_up_pct if rate_up_pct is not None else case.rate_up_pct
        if pct is None or not 0 < pct <= 500:
            raise Invalid("rate_up_pct", "a rate-up decision needs its percentage (above 0, at most 500)")
    if principal.user_id is not None and case.reviewer_id is None:
        case.reviewer_id = principal.user_id
    _close(
        session,
        case,
        principal.actor,
        outcome=outcome,
        reason=told,
        review_reasons=notes,
        exclusions=texts,
        rate_up_pct=pct,
        status="decided",
    )
    return case


def _close(
    session: Session,
    case: UnderwritingCase,
    actor: str,
    *,
    outcome: str,
    reason: str | None,
    review_reasons: str | None,
    exclusions: list[str],
    rate_up_pct: float | None,
    status: str,
) -> None:
    now = utc_now()
    case.status = status
    case.outcome = outcome
    case.outcome_reason = reason
    case.review_reasons = review_reasons
    case.exclusions = exclusions
    case.rate_up_pct = rate_up_pct
    case.decided_by = actor
    case.decided_at = now
    case.updated_at = now
    clock = clocks.finish(session, case, now)
    detail: dict[str, Any] = {"outcome": outcome, "proposed": case.proposed_outcome}
    if clock is not None:
        detail["on_time"] = clock.outcome == "met"
    record_event(session, case, "decided", actor, detail, now)
    told = tell_applicant(session, case)
    if told:
        record_event(session, case, "notified", SYSTEM_ACTOR, {"channels": told}, now)
    _audit(
        session,
        case,
        "decided",
        actor,
        {
            "outcome": outcome,
            "proposed_outcome": case.proposed_outcome,
            "reason": reason,
            "review_reasons": review_reasons,
            "exclusions": exclusions,
            "rate_up_pct": rate_up_pct,
            "automatic": status == "assessed",
            "clock": clock.outcome if clock is not None else None,
            "notified": told,
        },
    )


def tell_applicant(session: Session, case: UnderwritingCase) -> list[str]:
    """The decision and its reason to the applicant's phone through the outbox; the channels written."""
    if not case.applicant_phone_enc:
        return []
    locale = get_settings().default_locale
    contact = notify_repository.Contact(
        claim_id=None,
        tenant_id=case.tenant_id,
        number=case.application_number,
        line=case.line,
        name="",
        phone_enc=case.applicant_phone_enc,
        phone_hash=None,
        email_enc=None,
        email_hash=None,
        reported_at=case.received_at,
    )
    messages = notify_service.enqueue_to_contact(
        session,
        contact,
        template=NOTICE_TEMPLATE,
        context={
            "name": case.applicant_name_masked or "",
            "product_code": case.product_code,
            "outcome_label": outcome_label(case.outcome, locale),
            "reason": case.outcome_reason or "",
            "exclusions": list(case.exclusions or []),
            "rate_up_pct": f"{case.rate_up_pct:g}" if case.rate_up_pct else "",
        },
        channels=["sms"],
        idempotency_key=f"underwriting:{case.application_number}:decision",
        locale=locale,
        about_status=case.status,
    )
    if messages:
        case.notice_message_id = messages[0].id
    return [message.channel for message in messages]


def withdraw(session: Session, principal: Principal, number: str, reason: str) -> UnderwritingCase:
    """The applicant withdrew an application not yet decided; its clock is voided."""
    principal.require(Permission.SUBMIT_APPLICATIONS)
    tenant_id = _tenant(principal)
    audit_service.open_chain(session, tenant_id).close()
    case = get_case(session, number, lock=True)
    if case.status not in OPEN:
        raise Conflict("status", f"application {number} is {case.status}: only an undecided one can be withdrawn")
    text = params.clean_text(reason, "reason", True, 2000)
    now = utc_now()
    case.status = "withdrawn"
    case.updated_at = now
    clocks.void(session, case, now)
    record_event(session, case, "withdrawn", principal.actor, {"reason": text}, now)
    _audit(session, case, "withdrawn", principal.actor, {"reason": text})
    return case
