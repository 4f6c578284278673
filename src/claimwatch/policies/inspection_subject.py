"""Sales and underwriting cases as inspection subjects (被检对象: 销售, 核保): the population a plan's filter
selects, what an inspector sees (the customer masked, no ID numbers), and who handled the record (never given it
to inspect).

* ``sale``: filters ``policy_number`` (one sale: a revisit's inspection), ``flagged`` (an open flag), ``rule``
  (a flag of the rule, not cleared), ``agent`` (code),
  ``channel``, ``line``, ``period`` (signed in the month or quarter), ``org_unit`` (and below), ``region``.
  A targeted plan ranks by ``score: flags`` (the open flags, ``PolicySale.flag_count``: flagged sales first) or
  ``premium``. Handled by the agent's platform user, if any.
* ``underwriting``: filters ``status``, ``outcome``, ``risk_level``, ``line``, ``period`` (received),
  ``org_unit``, ``reviewer`` (username); ranked by ``risk_points``. Handled by the reviewer and every staff actor of
  its history.

Both keep a stored random ``sample_key``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Select, String, cast, exists, literal, null, select
from sqlalchemy.orm import Session

from claimwatch.cases.inspection_subject import _flag, _text, check_fields, org_unit_id, staff_id
from claimwatch.errors import Invalid
from claimwatch.people import service as people_service
from claimwatch.people.models import StaffMember
from claimwatch.policies.models import PolicySale, SaleFlag, UnderwritingCase, UnderwritingEvent
from claimwatch.policies.sales_rules import ALL_RULES
from claimwatch.subjects.periods import period_bounds, period_dates
from claimwatch.subjects.registry import SubjectSummary, register
from claimwatch.subjects.trail import HandlerTrail, chunks
from claimwatch.tenancy.models import OrgUnit
from claimwatch.tenancy.service import tenant_zone

_FIELD = "population"
SALE_SCORES = {"flags": PolicySale.flag_count, "premium": PolicySale.premium_fen}
UNDERWRITING_SCORES = {"risk_points": UnderwritingCase.risk_points}
UW_STATUSES = ("received", "assessed", "in_review", "decided", "withdrawn")
UW_OUTCOMES = ("accept", "rate_up", "exclusion", "decline")
UW_LEVELS = ("low", "medium", "high")


def _choice(filters: Mapping[str, Any], key: str, known: Iterable[str]) -> str | None:
    value = _text(filters, key)
    options = tuple(known)
    if value is not None and value not in options:
        raise Invalid(f"{_FIELD}.{key}", f"unknown {key} {value!r} (known: {', '.join(options)})")
    return value


def _unit_below(session: Session, filters: Mapping[str, Any], column: Any) -> Any | None:
    unit = org_unit_id(session, _text(filters, "org_unit"))
    if unit is None:
        return None
    top = select(OrgUnit.path).where(OrgUnit.id == unit).scalar_subquery()
    return column.in_(select(OrgUnit.id).where(OrgUnit.path.startswith(top)))


def _score(filters: Mapping[str, Any], scores: Mapping[str, Any], kind: str) -> Any:
    name = _text(filters, "score")
    if name is None:
        return literal(0, Integer)
    if name not in scores:
        raise Invalid(f"{_FIELD}.score", f"{kind} are ranked by {', '.join(scores)}, not {name!r}")
    return scores[name]


class SaleSubject:
    code = "sale"
    label = "Sale"  # msgid (N_ in the pages)
    filter_fields = frozenset(
        {"policy_number", "flagged", "rule", "agent", "channel", "line", "period", "org_unit", "region", "score"}
    )
    scores = tuple(SALE_SCORES)

    def population(self, session: Session, tenant_id: int, filters: Mapping[str, Any], now: dt.datetime) -> Select[Any]:
        check_fields(filters, self.filter_fields)
        where: list[Any] = [PolicySale.tenant_id == tenant_id]
        policy_number = _text(filters, "policy_number")
        if policy_number is not None:
            where.append(PolicySale.policy_number == policy_number)
        if _flag(filters, "flagged"):
            where.append(PolicySale.flag_count > 0)
        rule = _choice(filters, "rule", ALL_RULES)
        if rule is not None:
            where.append(
                exists().where(
                    SaleFlag.tenant_id == tenant_id,
                    SaleFlag.sale_id == PolicySale.id,
                    SaleFlag.rule == rule,
                    SaleFlag.status != "cleared",
                )
            )
        agent_code = _text(filters, "agent")
        if agent_code is not None:
            agent = people_service.staff_by_code(session, tenant_id, agent_code)
            if agent is None:
                raise Invalid(f"{_FIELD}.agent", f"no agent {agent_code!r} in the staff register")
            where.append(PolicySale.agent_id == agent.id)
        for key in ("channel", "line"):
            value = _text(filters, key)
            if value is not None:
                where.append(getattr(PolicySale, key) == value)
        region = _text(filters, "region")
        if region is not None:
            where.append(PolicySale.region_code == region)
        period = _text(filters, "period")
        if period is not None:
            start, end = period_dates(period)
            where += [PolicySale.signed_on >= start, PolicySale.signed_on < end]
        below = _unit_below(session, filters, PolicySale.org_unit_id)
        if below is not None:
            where.append(below)
        score = _score(filters, SALE_SCORES, "sales")
        return (
            select(
                PolicySale.id.label("subject_id"),
                PolicySale.org_unit_id.label("org_unit_id"),
                PolicySale.line.label("line"),
                PolicySale.region_code.label("region_code"),
                StaffMember.user_id.label("handler_id"),
                PolicySale.sample_key.label("sample_key"),
                score.label("score"),
            )
            .outerjoin(StaffMember, StaffMember.id == PolicySale.agent_id)
            .where(*where)
        )

    def describe(self, session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, SubjectSummary]:
        zone = tenant_zone(session, tenant_id)
        found: dict[int, SubjectSummary] = {}
        for chunk in chunks(ids):
            rows = session.execute(
                select(PolicySale, StaffMember.code, StaffMember.user_id)
                .outerjoin(StaffMember, StaffMember.id == PolicySale.agent_id)
                .where(PolicySale.tenant_id == tenant_id, PolicySale.id.in_(chunk))
            )
            for sale, agent_code, agent_user in rows:
                customer = f" · {sale.customer_name_masked}" if sale.customer_name_masked else ""
                flags = f" · ⚑{sale.flag_count}" if sale.flag_count else ""
                found[sale.id] = SubjectSummary(
                    id=sale.id,
                    number=sale.policy_number,
                    title=(
                        f"{sale.product_name} · {sale.channel} · {agent_code or '—'}{customer}"
                        f" · {Decimal(sale.premium_fen) / 100:,.2f} CNY{flags}"
                    ),
                    url=f"/sales/{sale.policy_number}",
                    org_unit_id=sale.org_unit_id,
                    line=sale.line,
                    region_code=sale.region_code,
                    handler_id=agent_user,
                    occurred_at=dt.datetime.combine(sale.signed_on, dt.time(), zone).astimezone(dt.UTC),
                )
        return found

    def handled_by(self, session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, set[int]]:
        """The agent's platform user (an agent who is also a user never inspects their own sales)."""
        wanted = sorted(set(ids))
        found: dict[int, set[int]] = {sale_id: set() for sale_id in wanted}
        for chunk in chunks(wanted):
            rows = session.execute(
                select(PolicySale.id, StaffMember.user_id)
                .join(StaffMember, StaffMember.id == PolicySale.agent_id)
                .where(PolicySale.tenant_id == tenant_id, PolicySale.id.in_(chunk), StaffMember.user_id.is_not(None))
            )
            for sale_id, user_id in rows:
                if user_id is not None:
                    found[sale_id].add(user_id)
        return found

    def facts(self, session: Session, tenant_id: int, subject_id: int) -> dict[str, Any]:
        sale = session.get(PolicySale, subject_id)
        if sale is None or sale.tenant_id != tenant_id:
            return {}
        return {
            "flagged": sale.flag_count > 0,
            "recorded": sale.recording_sha256 is not None,
            "cancelled": sale.cancelled_on is not None,
            "line": sale.line,
            "channel": sale.channel,
        }


class UnderwritingSubject:
    code = "underwriting"
    label = "Underwriting case"  # msgid (N_ in the pages)
    filter_fields = frozenset({"status", "outcome", "risk_level", "line", "period", "org_unit", "reviewer", "score"})
    scores = tuple(UNDERWRITING_SCORES)

    def population(self, session: Session, tenant_id: int, filters: Mapping[str, Any], now: dt.datetime) -> Select[Any]:
        check_fields(filters, self.filter_fields)
        where: list[Any] = [UnderwritingCase.tenant_id == tenant_id]
        for key, known in (("status", UW_STATUSES), ("outcome", UW_OUTCOMES), ("risk_level", UW_LEVELS)):
            value = _choice(filters, key, known)
            if value is not None:
                where.append(getattr(UnderwritingCase, key) == value)
        line = _text(filters, "line")
        if line is not None:
            where.append(UnderwritingCase.line == line)
        period = _text(filters, "period")
        if period is not None:
            start, end = period_bounds(period, tenant_zone(session, tenant_id))
            where += [UnderwritingCase.received_at >= start, UnderwritingCase.received_at < end]
        below = _unit_below(session, filters, UnderwritingCase.org_unit_id)
        if below is not None:
            where.append(below)
        reviewer = staff_id(session, tenant_id, _text(filters, "reviewer"), f"{_FIELD}.reviewer")
        if reviewer is not None:
            where.append(UnderwritingCase.reviewer_id == reviewer)
        score = _score(filters, UNDERWRITING_SCORES, "underwriting cases")
        return select(
            UnderwritingCase.id.label("subject_id"),
            UnderwritingCase.org_unit_id.label("org_unit_id"),
            UnderwritingCase.line.label("line"),
            cast(null(), String(16)).label("region_code"),
            UnderwritingCase.reviewer_id.label("handler_id"),
            UnderwritingCase.sample_key.label("sample_key"),
            score.label("score"),
        ).where(*where)

    def describe(self, session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, SubjectSummary]:
        found: dict[int, SubjectSummary] = {}
        for chunk in chunks(ids):
            rows = session.execute(
                select(UnderwritingCase).where(UnderwritingCase.tenant_id == tenant_id, UnderwritingCase.id.in_(chunk))
            ).scalars()
            for case in rows:
                parts = [case.product_code, case.risk_level or "—", case.status]
                if case.outcome:
                    parts.append(case.outcome)
                found[case.id] = SubjectSummary(
                    id=case.id,
                    number=case.application_number,
                    title=" · ".join(parts) + f" · {Decimal(case.sum_insured_fen) / 100:,.2f} CNY",
                    url=f"/underwriting/{case.application_number}",
                    org_unit_id=case.org_unit_id,
                    line=case.line,
                    handler_id=case.reviewer_id,
                    occurred_at=case.received_at,
                )
        return found

    def handled_by(self, session: Session, tenant_id: int, ids: Iterable[int]) -> dict[int, set[int]]:
        """The reviewer, whoever decided, and every staff actor of the case's history."""
        wanted = sorted(set(ids))
        trail = HandlerTrail(wanted)
        for chunk in chunks(wanted):
            for case_id, reviewer_id, decided_by in session.execute(
                select(UnderwritingCase.id, UnderwritingCase.reviewer_id, UnderwritingCase.decided_by).where(
                    UnderwritingCase.tenant_id == tenant_id, UnderwritingCase.id.in_(chunk)
                )
            ):
                trail.add_user(case_id, reviewer_id)
                trail.add_name(case_id, decided_by)
            for case_id, actor in session.execute(
                select(UnderwritingEvent.case_id, UnderwritingEvent.actor).where(
                    UnderwritingEvent.tenant_id == tenant_id, UnderwritingEvent.case_id.in_(chunk)
                )
            ):
                trail.add_name(case_id, actor)
        return trail.resolve(session, tenant_id)

    def facts(self, session: Session, tenant_id: int, subject_id: int) -> dict[str, Any]:
        case = session.get(UnderwritingCase, subject_id)
        if case is None or case.tenant_id != tenant_id:
            return {}
        return {
            "decided": case.status == "decided",
            "reviewed": case.reviewer_id is not None,
            "outcome": case.outcome or "",
            "risk_level": case.risk_level or "",
            "line": case.line,
        }


SALE_SUBJECT = register(SaleSubject())
UNDERWRITING_SUBJECT = register(UnderwritingSubject())
