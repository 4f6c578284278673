"""Sales quality (销售品质管理, seed 002): recording the policies sold, the rules that flag a sale
(:mod:`claimwatch.policies.sales_rules`), cancellations in the cooling-off period, complaints about a sale
(mis-selling) and the review of flags (cleared with a reason, or confirmed).

A sale names its agent by code in the staff register (``people``): an unknown agent is refused, naming
``agent``. The customer's ID number is turned into a keyed hash (matching their complaints) and their age at
signing; the name is stored masked; nothing clear is kept or logged. Every change is in the audit chain, in the
caller's transaction; nothing here commits.

Other domains use :func:`flag_sale` (the revisit flags ``revisit_misled``) and read ``PolicySale.flag_count``
(the open flags: the sampling score of the ``sale`` inspection subject).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.models import new_sample_key
from claimwatch.cases.service import claimant_age
from claimwatch.complaints.models import Complaint
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, FieldProblem, Forbidden, Invalid, NotFound
from claimwatch.people import service as people_service
from claimwatch.people.models import StaffMember
from claimwatch.policies import revisits, sales_rules
from claimwatch.policies import sales_repository as repository
from claimwatch.policies.models import PolicySale, SaleComplaintLink, SaleFlag
from claimwatch.policies.sales_repository import CLEARED, CONFIRMED, OPEN
from claimwatch.policies.sales_rules import SaleFacts, SalesRules
from claimwatch.policies.sales_schemas import SaleIn
from claimwatch.privacy import keyed_hash, mask_name
from claimwatch.subjects.periods import period_dates
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone

DECISIONS = {"clear": CLEARED, "confirm": CONFIRMED}
SOURCES = ("api", "import", "form")


def tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "sales belong to one insurer; this account belongs to none")
    return principal.tenant_id


def rules_of(session: Session, tenant_id: int) -> SalesRules:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return sales_rules.rules_for(tenant.code if tenant is not None else None)


def get_sale(session: Session, tenant_id: int, policy_number: str) -> PolicySale:
    sale = repository.sale_by_number(session, tenant_id, policy_number)
    if sale is None:
        raise NotFound("policy_number", f"no sale {policy_number!r}")
    return sale


# -- recording -------------------------------------------------------------------------------------------


def problems_of(
    session: Session, data: SaleIn, rules: SalesRules, agent: StaffMember | None, *, known_number: bool
) -> list[FieldProblem]:
    """Everything the schema cannot check alone, each naming its field (the import reports them by row)."""
    found: list[FieldProblem] = []
    if known_number:
        found.append(FieldProblem("policy_number", f"policy {data.policy_number!r} is already recorded"))
    if agent is None:
        found.append(FieldProblem("agent", f"no agent {data.agent!r} in the staff register"))
    if data.channel not in rules.channels:
        found.append(FieldProblem("channel", f"unknown channel {data.channel!r} (known: {', '.join(rules.channels)})"))
    if data.line not in rules.lines:
        found.append(FieldProblem("line", f"unknown line {data.line!r} (known: {', '.join(rules.lines)})"))
    if data.org_unit is not None and tenancy_repository.org_unit_by_code(session, data.org_unit) is None:
        found.append(FieldProblem("org_unit", f"no org unit {data.org_unit!r} at this insurer"))
    if data.recording_ref is not None and data.recording_sha256 is None:
        found.append(FieldProblem("recording_sha256", "a recording needs its SHA-256 (64 hex digits)"))
    if data.recording_sha256 is not None and data.recording_ref is None:
        found.append(FieldProblem("recording_ref", "the SHA-256 needs the recording's reference"))
    if data.effective_on is not None and data.effective_on < data.signed_on:
        found.append(FieldProblem("effective_on", "the policy cannot take effect before it is signed"))
    if data.customer_name is not None and data.customer_id_number is None:
        found.append(FieldProblem("customer_id_number", "a customer named needs their ID number (it is hashed)"))
    return found


def refuse(problems: list[FieldProblem]) -> None:
    if problems:
        first = problems[0]
        raise Invalid(first.field, first.message, problems=problems)


def record_sale(
    session: Session, principal: Principal, data: SaleIn, *, source: str = "api", now: dt.datetime | None = None
) -> PolicySale:
    """Record a sale, evaluate its rules (flags), link earlier sales complaints of the customer and schedule its
    revisit (long-term policies). Refused, naming the field, for an unknown agent, a known policy number…"""
    principal.require(Permission.MANAGE_SALES)
    tenant_id = tenant_of(principal)
    rules = rules_of(session, tenant_id)
    agent = people_service.staff_by_code(session, tenant_id, data.agent)
    refuse(problems_of(session, data, rules, agent, known_number=False))
    assert agent is not None
    if repository.sale_by_number(session, tenant_id, data.policy_number) is not None:
        raise Conflict("policy_number", f"policy {data.policy_number!r} is already recorded")
    return create_sale(session, tenant_id, data, rules, agent, principal.actor, source, now or utc_now())


def create_sale(
    session: Session,
    tenant_id: int,
    data: SaleIn,
    rules: SalesRules,
    agent: StaffMember,
    actor: str,
    source: str,
    now: dt.datetime,
    licensed: bool | None = None,
) -> PolicySale:
    """The checked sale written, audited and evaluated (the import calls this per row after checking all).
    ``licensed``: the agent's licence on the signing day when the caller read it in bulk."""
    unit_id = agent.org_unit_id
    if data.org_unit is not None:
        unit = tenancy_repository.org_unit_by_code(session, data.org_unit)
        unit_id = unit.id if unit is not None else unit_id
    sale = PolicySale(
        tenant_id=tenant_id,
        policy_number=data.policy_number,
        product_code=data.product_code,
        product_name=data.product_name.strip(),
        line=data.line,
        long_term=data.long_term,
        channel=data.channel,
        agent_id=agent.id,
        org_unit_id=unit_id,
        region_code=data.region_code,
        customer_key=keyed_hash(data.customer_id_number),
        customer_name_masked=mask_name(data.customer_name.strip()) if data.customer_name else None,
        customer_age=claimant_age(data.customer_id_number, data.signed_on),
        premium_fen=int(data.premium * 100),
        signed_on=data.signed_on,
        effective_on=data.effective_on or data.signed_on,
        cooling_off_days=data.cooling_off_days,
        disclosure_signed_on=data.disclosure_signed_on,
        recording_ref=data.recording_ref,
        recording_sha256=data.recording_sha256,
        flag_count=0,
        sample_key=new_sample_key(),
        source=source,
        created_by=actor,
        created_at=now,
    )
    session.add(sale)
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "sales.sale_recorded",
        sale.policy_number,
        actor,
        {
            "policy_number": sale.policy_number,
            "product_code": sale.product_code,
            "line": sale.line,
            "channel": sale.channel,
            "agent": agent.code,
            "premium_fen": sale.premium_fen,
            "signed_on": sale.signed_on.isoformat(),
            "long_term": sale.long_term,
            "disclosure_signed_on": data.disclosure_signed_on.isoformat() if data.disclosure_signed_on else None,
            "recording_sha256": sale.recording_sha256,
            "source": source,
        },
    )
    evaluate_sale(session, sale, rules, actor=actor, now=now, licensed=licensed)
    if sale.customer_key:
        _link_earlier_complaints(session, sale, rules, now)
    _schedule_revisit(session, sale, actor, data.customer_phone, now)
    return sale


def facts_of(session: Session, sale: PolicySale, rules: SalesRules, licensed: bool | None = None) -> SaleFacts:
    if licensed is None:
        licensed = sale.agent_id is not None and people_service.licence_valid(
            session, sale.tenant_id, sale.agent_id, rules.licence_kind, sale.signed_on
        )
    return SaleFacts(
        channel=sale.channel,
        line=sale.line,
        long_term=sale.long_term,
        customer_age=sale.customer_age,
        signed_on=sale.signed_on,
        disclosure_signed_on=sale.disclosure_signed_on,
        recorded=sale.recording_sha256 is not None,
        agent_licensed=licensed,
    )


def evaluate_sale(
    session: Session,
    sale: PolicySale,
    rules: SalesRules,
    *,
    actor: str = "system",
    now: dt.datetime | None = None,
    licensed: bool | None = None,
) -> list[SaleFlag]:
    """Raise the per-sale rules that fire (a flag already raised, even cleared, stays as it is)."""
    raised = []
    for rule, detail in sales_rules.sale_findings(facts_of(session, sale, rules, licensed), rules):
        flag, created = flag_sale(session, sale, rule, detail, actor=actor, at=now)
        if created:
            raised.append(flag)
    return raised


def flag_sale(
    session: Session,
    sale: PolicySale,
    rule: str,
    detail: Mapping[str, Any],
    *,
    actor: str,
    at: dt.datetime | None = None,
    finding_id: int | None = None,
) -> tuple[SaleFlag, bool]:
    """Flag a sale by a rule (:data:`sales_rules.ALL_RULES`; the revisit's ``revisit_misled``): (flag, created).
    A rule flags a sale once; raising it again adds nothing (the finding is kept when given). Audited; the
    sale's ``flag_count`` follows."""
    if rule not in sales_rules.ALL_RULES:
        raise Invalid("rule", f"unknown sales rule {rule!r} (known: {', '.join(sales_rules.ALL_RULES)})")
    existing = repository.flag(session, sale.tenant_id, rule, sale_id=sale.id, agent_id=sale.agent_id)
    if existing is not None:
        if finding_id is not None and existing.finding_id is None:
            existing.finding_id = finding_id
        return existing, False
    flag = SaleFlag(
        tenant_id=sale.tenant_id,
        rule=rule,
        sale_id=sale.id,
        agent_id=sale.agent_id,
        period="",
        detail=dict(detail),
        status=OPEN,
        raised_at=at or utc_now(),
        finding_id=finding_id,
    )
    session.add(flag)
    session.flush()
    sale.flag_count = repository.open_flag_count(session, sale.tenant_id, sale.id)
    audit_service.record(
        session,
        sale.tenant_id,
        "sales.flag_raised",
        sale.policy_number,
        actor,
        {"flag": flag.id, "rule": rule, "policy_number": sale.policy_number, "detail": dict(detail)},
    )
    return flag, True


def _schedule_revisit(session: Session, sale: PolicySale, actor: str, phone: str | None, now: dt.datetime) -> None:
    """The post-issue revisit of a long-term policy (the revisits module decides whether one is due)."""
    if sale.long_term:
        revisits.schedule_for_sale(session, sale, actor=actor, customer_phone=phone, now=now)


# -- cancellation and the cooling-off rate ------------------------------------------------------------


def cancel_sale(
    session: Session, principal: Principal, policy_number: str, cancelled_on: dt.date, *, now: dt.datetime | None = None
) -> PolicySale:
    """The policy was cancelled; within the cooling-off period it counts towards the agent's month. Audited."""
    principal.require(Permission.MANAGE_SALES)
    tenant_id = tenant_of(principal)
    sale = get_sale(session, tenant_id, policy_number)
    if sale.cancelled_on is not None:
        raise Conflict("cancelled_on", f"the policy was cancelled already on {sale.cancelled_on.isoformat()}")
    if cancelled_on < sale.signed_on:
        raise Invalid("cancelled_on", "a policy cannot be cancelled before it was signed")
    now = now or utc_now()
    sale.cancelled_on = cancelled_on
    sale.cancelled_in_cooling_off = sales_rules.in_cooling_off(sale.signed_on, sale.cooling_off_days, cancelled_on)
    audit_service.record(
        session,
        tenant_id,
        "sales.sale_cancelled",
        sale.policy_number,
        principal.actor,
        {"policy_number": sale.policy_number, "cancelled_on": cancelled_on.isoformat(),
         "in_cooling_off": sale.cancelled_in_cooling_off},
    )  # fmt: skip
    if sale.cancelled_in_cooling_off and sale.agent_id is not None:
        month = sale.signed_on.strftime("%Y-%m")
        evaluate_cooling_off(session, tenant_id, month, now=now, actor=principal.actor, agent_ids=[sale.agent_id])
    return sale


def cooling_off_counts(
    session: Session, tenant_id: int, month: str, agent_ids: Iterable[int] | None = None
) -> dict[int, tuple[int, int]]:
    """Per agent: (sales signed in the month, of them cancelled in the cooling-off period). One GROUP BY."""
    start, end = period_dates(month, "month")
    statement = (
        select(
            PolicySale.agent_id,
            func.count(PolicySale.id),
            func.sum(case((PolicySale.cancelled_in_cooling_off.is_(True), 1), else_=0)),
        )
        .where(
            PolicySale.tenant_id == tenant_id,
            PolicySale.signed_on >= start,
            PolicySale.signed_on < end,
            PolicySale.agent_id.is_not(None),
        )
        .group_by(PolicySale.agent_id)
    )
    if agent_ids is not None:
        statement = statement.where(PolicySale.agent_id.in_(list(agent_ids)))
    return {agent: (int(sales), int(cancelled or 0)) for agent, sales, cancelled in session.execute(statement)}


def evaluate_cooling_off(
    session: Session,
    tenant_id: int,
    month: str,
    *,
    now: dt.datetime | None = None,
    actor: str = "system",
    agent_ids: Iterable[int] | None = None,
) -> list[SaleFlag]:
    """Flag each agent whose month's cooling-off cancellation share is above the rule's threshold. Idempotent:
    an open flag has its figures brought up to date; a reviewed one stays as decided."""
    rules = rules_of(session, tenant_id)
    if not rules.on(sales_rules.COOLING_OFF):
        return []
    raised = []
    for agent_id, (sales, cancelled) in sorted(cooling_off_counts(session, tenant_id, month, agent_ids).items()):
        if not sales_rules.cooling_off_fires(sales, cancelled, rules):
            continue
        detail: dict[str, object] = {"sales": sales, "cancelled": cancelled, "rate": round(cancelled / sales, 4),
                  "rate_above": rules.cooling_off_rate}  # fmt: skip
        existing = repository.flag(session, tenant_id, sales_rules.COOLING_OFF, sale_id=None, agent_id=agent_id,
                                   period=month)  # fmt: skip
        if existing is not None:
            if existing.status == OPEN and existing.detail != detail:
                existing.detail = detail
            continue
        flag = SaleFlag(
            tenant_id=tenant_id, rule=sales_rules.COOLING_OFF, sale_id=None, agent_id=agent_id, period=month,
            detail=detail, status=OPEN, raised_at=now or utc_now(),
        )  # fmt: skip
        session.add(flag)
        session.flush()
        agent = session.get(StaffMember, agent_id)
        audit_service.record(
            session,
            tenant_id,
            "sales.flag_raised",
            agent.code if agent is not None else str(agent_id),
            actor,
            {"flag": flag.id, "rule": sales_rules.COOLING_OFF, "period": month, "detail": detail},
        )
        raised.append(flag)
    session.flush()
    return raised


# -- complaints about a sale -----------------------------------------------------------------------------


def _local_day(session: Session, tenant_id: int, at: dt.datetime) -> dt.date:
    return at.astimezone(tenant_zone(session, tenant_id)).date()


def _link(
    session: Session, sale: PolicySale, complaint: Complaint, actor: str, now: dt.datetime
) -> SaleComplaintLink | None:
    """Link a complaint to a sale and flag the sale (mis-selling); None when linked already."""
    if repository.link(session, sale.tenant_id, complaint.id, sale.id) is not None:
        return None
    link = SaleComplaintLink(
        tenant_id=sale.tenant_id, complaint_id=complaint.id, sale_id=sale.id, agent_id=sale.agent_id,
        linked_by=actor, linked_at=now,
    )  # fmt: skip
    session.add(link)
    session.flush()
    audit_service.record(
        session,
        sale.tenant_id,
        "sales.complaint_linked",
        sale.policy_number,
        actor,
        {"policy_number": sale.policy_number, "complaint": complaint.number, "category": complaint.category},
    )
    detail = {"complaints": [complaint.number], "category": complaint.category}
    flag, created = flag_sale(session, sale, sales_rules.MIS_SELLING, detail, actor=actor, at=now)
    if not created:
        previous = flag.detail.get("complaints") if isinstance(flag.detail, dict) else None
        numbers = [str(n) for n in previous] if isinstance(previous, list) else []
        if complaint.number not in numbers:
            flag.detail = {**(flag.detail or {}), "complaints": [*numbers, complaint.number]}
    return link


def link_complaint(
    session: Session, principal: Principal, policy_number: str, complaint_number: str, *, now: dt.datetime | None = None
) -> SaleComplaintLink:
    """Staff link a complaint to the sale it is about: a mis-selling complaint against the agent (flagged)."""
    principal.require(Permission.MANAGE_SALES)
    tenant_id = tenant_of(principal)
    sale = get_sale(session, tenant_id, policy_number)
    complaint = repository.complaint_by_number(session, tenant_id, complaint_number.strip())
    if complaint is None:
        raise NotFound("complaint_number", f"no complaint {complaint_number!r}")
    link = _link(session, sale, complaint, principal.actor, now or utc_now())
    if link is None:
        raise Conflict("complaint_number", f"complaint {complaint.number} is linked to this sale already")
    return link


def _window_start(rules: SalesRules, day: dt.date) -> dt.date:
    return day - dt.timedelta(days=rules.complaint_within_days)


def _link_earlier_complaints(session: Session, sale: PolicySale, rules: SalesRules, now: dt.datetime) -> int:
    """A sale recorded after its customer's sales complaint arrived (an import of last month's sales)."""
    if not rules.on(sales_rules.MIS_SELLING) or sale.customer_key is None:
        return 0
    zone = tenant_zone(session, sale.tenant_id)
    since = dt.datetime.combine(sale.signed_on, dt.time(), zone).astimezone(dt.UTC)
    linked = 0
    for complaint in repository.complaints_of_customer(
        session, sale.tenant_id, sale.customer_key, rules.complaint_categories, since
    ):
        received = complaint.received_at.astimezone(zone).date()
        if received - sale.signed_on <= dt.timedelta(days=rules.complaint_within_days):
            linked += _link(session, sale, complaint, "system", now) is not None
    return linked


def on_complaints_received(session: Session, tenant_id: int | None, complaints: list[Complaint]) -> int:
    """A new complaint of a sales category from a customer who bought a policy in the window: linked to each
    such sale (``linked_by`` system) and the sale flagged. Returns how many links were made."""
    if tenant_id is None or not complaints:
        return 0
    rules = rules_of(session, tenant_id)
    if not rules.on(sales_rules.MIS_SELLING):
        return 0
    linked = 0
    now = utc_now()
    for complaint in complaints:
        if complaint.category not in rules.complaint_categories or not complaint.customer_key:
            continue
        day = _local_day(session, tenant_id, complaint.received_at)
        for sale in repository.sales_of_customer(
            session, tenant_id, complaint.customer_key, day, _window_start(rules, day)
        ):
            linked += _link(session, sale, complaint, "system", now) is not None
    return linked


# -- review of flags ---------------------------------------------------------------------------------------


def get_flag(session: Session, tenant_id: int, flag_id: int) -> SaleFlag:
    flag = session.get(SaleFlag, flag_id)
    if flag is None or flag.tenant_id != tenant_id:
        raise NotFound("flag", f"no sales flag {flag_id}")
    return flag


def decide_flag(
    session: Session,
    principal: Principal,
    flag_id: int,
    decision: str,
    reason: str,
    *,
    finding_id: int | None = None,
    now: dt.datetime | None = None,
) -> SaleFlag:
    """Clear (not a problem) or confirm an open flag, with the reason; the sale's open-flag count follows."""
    principal.require(Permission.MANAGE_SALES)
    tenant_id = tenant_of(principal)
    if decision not in DECISIONS:
        raise Invalid("decision", f"decision must be clear or confirm, not {decision!r}")
    text = (reason or "").strip()[:4000]
    if not text:
        raise Invalid("reason", "say why the flag is cleared or confirmed")
    flag = get_flag(session, tenant_id, flag_id)
    if flag.status != OPEN:
        raise Conflict("status", f"this flag was decided already ({flag.status})")
    flag.status = DECISIONS[decision]
    flag.cleared_by = principal.actor
    flag.cleared_at = now or utc_now()
    flag.clear_reason = text
    if finding_id is not None:
        flag.finding_id = finding_id
    subject = str(flag.id)
    if flag.sale_id is not None:
        sale = session.get(PolicySale, flag.sale_id)
        if sale is not None:
            session.flush()
            sale.flag_count = repository.open_flag_count(session, tenant_id, sale.id)
            subject = sale.policy_number
    audit_service.record(
        session,
        tenant_id,
        f"sales.flag_{flag.status}",
        subject,
        principal.actor,
        {"flag": flag.id, "rule": flag.rule, "decision": decision, "reason": text, "finding_id": flag.finding_id},
    )
    session.flush()
    return flag
