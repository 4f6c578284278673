"""What the sales pages and API show: the sales list (filters agent, channel, line, flagged, rule, signed period,
text; CSV/XLSX), one sale (facts, disclosure and recording, flags, complaints), the flags (open first) and the
summary by agent. The customer appears only masked; the ID number's hash never leaves the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from claimwatch.errors import Invalid
from claimwatch.people import service as people_service
from claimwatch.people.models import StaffMember
from claimwatch.policies import sales_repository as repository
from claimwatch.policies.models import PolicyRevisit, PolicySale, SaleComplaintLink, SaleFlag
from claimwatch.policies.sales import facts_of
from claimwatch.policies.sales_repository import CLEARED, CONFIRMED, OPEN
from claimwatch.policies.sales_rules import ALL_RULES, RULE_LABELS, SalesRules, recording_reasons
from claimwatch.subjects.periods import period_dates
from claimwatch.web.i18n import N_, translate

MAX_ROWS = 2000
CHANNEL_LABELS = {
    "agent": N_("Agent (个险)"),
    "bank": N_("Bancassurance"),
    "telesales": N_("Telesales"),
    "online": N_("Online"),
    "broker": N_("Broker"),
}
LINE_LABELS = {
    "life": N_("Life"),
    "health": N_("Health"),
    "accident": N_("Accident"),
    "motor": N_("Motor"),
    "property": N_("Property"),
}
FLAG_STATUS_LABELS = {OPEN: N_("Open"), CLEARED: N_("Cleared"), CONFIRMED: N_("Confirmed")}
FLAGGED = ("flagged", "clean")


def label(table: Mapping[str, str], code: str | None, locale: str) -> str:
    if code is None:
        return ""
    return translate(locale, table[code]) if code in table else code


def money(fen: int | None) -> str:
    return "" if fen is None else f"{Decimal(fen) / 100:,.2f}"


def _text(params: Mapping[str, Any], key: str, limit: int = 64) -> str | None:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


@dataclass(frozen=True)
class SaleFilter:
    agent: str | None = None
    channel: str | None = None
    line: str | None = None
    flagged: str | None = None  # flagged | clean
    rule: str | None = None
    period: str | None = None  # signed in a month or quarter
    q: str | None = None  # policy number or product

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> SaleFilter:
        found = cls(**{key: _text(params, key) for key in cls.__dataclass_fields__})
        if found.flagged is not None and found.flagged not in FLAGGED:
            raise Invalid("flagged", f"flagged is flagged or clean, not {found.flagged!r}")
        if found.rule is not None and found.rule not in ALL_RULES:
            raise Invalid("rule", f"unknown rule {found.rule!r} (known: {', '.join(ALL_RULES)})")
        if found.period is not None:
            period_dates(found.period, "period")
        return found

    def as_params(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if value}


def _where(session: Session, tenant_id: int, where: SaleFilter) -> list[Any]:
    conditions: list[Any] = [PolicySale.tenant_id == tenant_id]
    if where.agent:
        agent = people_service.staff_by_code(session, tenant_id, where.agent)
        conditions.append(PolicySale.agent_id == (agent.id if agent is not None else -1))
    if where.channel:
        conditions.append(PolicySale.channel == where.channel)
    if where.line:
        conditions.append(PolicySale.line == where.line)
    if where.flagged == "flagged":
        conditions.append(PolicySale.flag_count > 0)
    elif where.flagged == "clean":
        conditions.append(PolicySale.flag_count == 0)
    if where.rule:
        flagged = select(SaleFlag.sale_id).where(
            SaleFlag.tenant_id == tenant_id, SaleFlag.rule == where.rule, SaleFlag.sale_id.is_not(None)
        )
        conditions.append(PolicySale.id.in_(flagged))
    if where.period:
        start, end = period_dates(where.period, "period")
        conditions += [PolicySale.signed_on >= start, PolicySale.signed_on < end]
    if where.q:
        pattern = f"%{where.q.replace('%', '').replace('_', '')}%"
        conditions.append(or_(PolicySale.policy_number.like(pattern), PolicySale.product_name.like(pattern)))
    return conditions


def _row(sale: PolicySale, agent_code: str | None, agent_name: str | None, locale: str) -> dict[str, Any]:
    return {
        "policy_number": sale.policy_number,
        "url": f"/sales/{sale.policy_number}",
        "product": f"{sale.product_code} {sale.product_name}",
        "line": sale.line,
        "line_label": label(LINE_LABELS, sale.line, locale),
        "channel": sale.channel,
        "channel_label": label(CHANNEL_LABELS, sale.channel, locale),
        "agent": agent_code or "",
        "agent_name": agent_name or "",
        "customer": sale.customer_name_masked or "",
        "customer_age": sale.customer_age,
        "premium": money(sale.premium_fen),
        "signed_on": sale.signed_on.isoformat(),
        "long_term": sale.long_term,
        "disclosure": sale.disclosure_signed_on.isoformat() if sale.disclosure_signed_on else "",
        "recorded": sale.recording_sha256 is not None,
        "cancelled_on": sale.cancelled_on.isoformat() if sale.cancelled_on else "",
        "cooling_off_cancel": sale.cancelled_in_cooling_off,
        "flag_count": sale.flag_count,
    }


def sale_rows(
    session: Session, tenant_id: int, where: SaleFilter, locale: str, limit: int = MAX_ROWS
) -> list[dict[str, Any]]:
    statement = (
        select(PolicySale, StaffMember.code, StaffMember.name)
        .outerjoin(StaffMember, StaffMember.id == PolicySale.agent_id)
        .where(*_where(session, tenant_id, where))
        .order_by(PolicySale.flag_count.desc(), PolicySale.signed_on.desc(), PolicySale.id.desc())
        .limit(limit)
    )
    rows = [_row(sale, code, name, locale) for sale, code, name in session.execute(statement)]
    rules = _rules_by_sale(session, tenant_id, [row["policy_number"] for row in rows])
    for row in rows:
        row["rules"] = [label(RULE_LABELS, rule, locale) for rule in rules.get(row["policy_number"], [])]
    return rows


def _rules_by_sale(session: Session, tenant_id: int, numbers: list[str]) -> dict[str, list[str]]:
    if not numbers:
        return {}
    statement = (
        select(PolicySale.policy_number, SaleFlag.rule)
        .join(SaleFlag, SaleFlag.sale_id == PolicySale.id)
        .where(PolicySale.tenant_id == tenant_id, PolicySale.policy_number.in_(numbers), SaleFlag.status == OPEN)
        .order_by(SaleFlag.id)
    )
    found: dict[str, list[str]] = {}
    for number, rule in session.execute(statement):
        found.setdefault(number, []).append(rule)
    return found


TABLE_HEADER = (
    N_("Policy number"), N_("Product"), N_("Line"), N_("Channel"), N_("Agent"), N_("Customer"), N_("Premium (CNY)"),
    N_("Signed on"), N_("Disclosure signed on"), N_("Recorded"), N_("Cancelled on"), N_("Open flags"),
)  # fmt: skip


def table(rows: list[dict[str, Any]], locale: str) -> tuple[list[str], list[list[Any]]]:
    """The list as a download (CSV with BOM or XLSX through claimwatch.tables)."""
    yes, no = translate(locale, N_("Yes")), translate(locale, N_("No"))
    body = [
        [
            r["policy_number"], r["product"], r["line_label"], r["channel_label"], f"{r['agent']} {r['agent_name']}",
            r["customer"], r["premium"], r["signed_on"], r["disclosure"], yes if r["recorded"] else no,
            r["cancelled_on"], "; ".join(r["rules"]) or "",
        ]
        for r in rows
    ]  # fmt: skip
    return [translate(locale, title) for title in TABLE_HEADER], body


def flag_view(
    flag: SaleFlag, locale: str, policy_number: str | None = None, agent: str | None = None
) -> dict[str, Any]:
    return {
        "id": flag.id,
        "rule": flag.rule,
        "rule_label": label(RULE_LABELS, flag.rule, locale),
        "status": flag.status,
        "status_label": label(FLAG_STATUS_LABELS, flag.status, locale),
        "period": flag.period,
        "detail": flag.detail or {},
        "raised_at": flag.raised_at,
        "decided_by": flag.cleared_by,
        "decided_at": flag.cleared_at,
        "reason": flag.clear_reason,
        "finding_id": flag.finding_id,
        "policy_number": policy_number,
        "agent": agent,
    }


def sale_view(session: Session, sale: PolicySale, rules: SalesRules, locale: str) -> dict[str, Any]:
    agent = session.get(StaffMember, sale.agent_id) if sale.agent_id is not None else None
    view = _row(sale, agent.code if agent else None, agent.name if agent else None, locale)
    licensed = agent is not None and people_service.licence_valid(
        session, sale.tenant_id, agent.id, rules.licence_kind, sale.signed_on
    )
    view |= {
        "product_code": sale.product_code,
        "product_name": sale.product_name,
        "effective_on": sale.effective_on.isoformat(),
        "cooling_off_days": sale.cooling_off_days,
        "recording_ref": sale.recording_ref,
        "recording_sha256": sale.recording_sha256,
        "recording_required": recording_reasons(facts_of(session, sale, rules, licensed), rules),
        "agent_licensed": licensed,
        "agent_url": f"/people/{agent.code}" if agent else None,
        "source": sale.source,
        "created_by": sale.created_by,
        "created_at": sale.created_at,
        "flags": [flag_view(f, locale) for f in repository.flags_of_sale(session, sale.tenant_id, sale.id)],
        "complaints": [
            {
                "number": c.number,
                "url": f"/complaints/{c.number}",
                "category": c.category,
                "status": c.status,
                "linked_by": link.linked_by,
                "linked_at": link.linked_at,
            }
            for link, c in repository.complaint_links_of_sale(session, sale.tenant_id, sale.id)
        ],  # fmt: skip
        "revisit": _revisit(session, sale),
    }
    return view


def _revisit(session: Session, sale: PolicySale) -> dict[str, Any] | None:
    revisit = session.execute(
        select(PolicyRevisit).where(PolicyRevisit.tenant_id == sale.tenant_id, PolicyRevisit.sale_id == sale.id)
    ).scalar_one_or_none()
    if revisit is None:
        return None
    return {"id": revisit.id, "url": f"/revisits/{revisit.id}", "status": revisit.status, "outcome": revisit.outcome,
            "due_on": revisit.due_on.isoformat()}  # fmt: skip


def flag_rows(session: Session, tenant_id: int, locale: str, status: str | None = None) -> list[dict[str, Any]]:
    """Flags, the open ones first (oldest first), then the decided ones (latest decision first)."""
    statement = (
        select(SaleFlag, PolicySale.policy_number, StaffMember.code)
        .outerjoin(PolicySale, PolicySale.id == SaleFlag.sale_id)
        .outerjoin(StaffMember, StaffMember.id == SaleFlag.agent_id)
        .where(SaleFlag.tenant_id == tenant_id)
        .order_by(
            case((SaleFlag.status == OPEN, 0), else_=1),
            case((SaleFlag.status == OPEN, SaleFlag.raised_at), else_=None),
            SaleFlag.cleared_at.desc(),
            SaleFlag.id,
        )
        .limit(MAX_ROWS)
    )
    if status is not None:
        if status not in FLAG_STATUS_LABELS:
            raise Invalid("status", f"status is one of {', '.join(FLAG_STATUS_LABELS)}, not {status!r}")
        statement = statement.where(SaleFlag.status == status)
    return [flag_view(flag, locale, number, code) for flag, number, code in session.execute(statement)]


def agent_summary(
    session: Session, tenant_id: int, period: str | None, on: dt.date, licence_kind: str = "sales"
) -> list[dict[str, Any]]:
    """Per agent with sales (in the period, or ever): sales, flagged sales, cooling-off cancellations and their
    rate, open flags, mis-selling complaints, and whether their sales licence is valid ``on`` that day."""
    conditions: list[Any] = [PolicySale.tenant_id == tenant_id, PolicySale.agent_id.is_not(None)]
    if period:
        start, end = period_dates(period, "period")
        conditions += [PolicySale.signed_on >= start, PolicySale.signed_on < end]
    statement = (
        select(
            PolicySale.agent_id,
            func.count(PolicySale.id),
            func.sum(case((PolicySale.flag_count > 0, 1), else_=0)),
            func.sum(PolicySale.flag_count),
            func.sum(case((PolicySale.cancelled_in_cooling_off.is_(True), 1), else_=0)),
            func.sum(PolicySale.premium_fen),
        )
        .where(*conditions)
        .group_by(PolicySale.agent_id)
    )
    figures = {row[0]: row[1:] for row in session.execute(statement)}
    if not figures:
        return []
    complaints = dict(
        session.execute(
            select(SaleComplaintLink.agent_id, func.count(func.distinct(SaleComplaintLink.complaint_id)))
            .where(SaleComplaintLink.tenant_id == tenant_id, SaleComplaintLink.agent_id.in_(list(figures)))
            .group_by(SaleComplaintLink.agent_id)
        ).all()
    )
    agents = {a.id: a for a in session.execute(select(StaffMember).where(StaffMember.id.in_(list(figures)))).scalars()}
    licensed = people_service.valid_licence_staff_ids(session, tenant_id, licence_kind, on)
    rows: list[dict[str, Any]] = []
    for agent_id, (sales, flagged, flags, cancelled, premium) in figures.items():
        agent = agents.get(agent_id)
        rows.append(
            {
                "agent": agent.code if agent else str(agent_id),
                "name": agent.name if agent else "",
                "url": f"/sales?agent={agent.code}" if agent else "",
                "sales": int(sales),
                "flagged": int(flagged or 0),
                "open_flags": int(flags or 0),
                "cooling_off": int(cancelled or 0),
                "cooling_off_rate": round(100 * int(cancelled or 0) / int(sales), 1) if sales else None,
                "premium": money(int(premium or 0)),
                "complaints": int(complaints.get(agent_id, 0)),
                "licensed": agent_id in licensed,
            }
        )
    rows.sort(key=lambda r: (-r["open_flags"], -r["flagged"], r["agent"]))
    return rows
