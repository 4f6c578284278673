"""Underwriting read models for the API and the pages: the queue (nearest turnaround deadline first, filters),
one case with its fired factors, clock and history, and the rule-set versions. The applicant appears masked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from claimwatch.calendar.workdays import CalendarYearMissing
from claimwatch.db import utc_now
from claimwatch.policies import underwriting, underwriting_clocks
from claimwatch.policies import underwriting_repository as repository
from claimwatch.policies.models import UnderwritingCase, UnderwritingClock, UnderwritingRuleSet
from claimwatch.privacy import field_cipher, mask_phone
from claimwatch.sla import service as sla_service
from claimwatch.tenancy.models import OrgUnit

PAGE_SIZE = 50
STATUS_FILTERS = ("open", *underwriting.STATUSES, "all")


def case_url(number: str) -> str:
    return f"/underwriting/{number}"


def _filters(
    status: str | None,
    level: str | None,
    line: str | None,
    reviewer_id: int | None,
    unassigned: bool,
    overdue: bool,
    now: dt.datetime,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if status in (None, "", "open"):
        where.append(UnderwritingCase.status.in_(underwriting.OPEN))
    elif status != "all":
        where.append(UnderwritingCase.status == status)
    if level:
        where.append(UnderwritingCase.risk_level == level)
    if line:
        where.append(UnderwritingCase.line == line)
    if reviewer_id is not None:
        where.append(UnderwritingCase.reviewer_id == reviewer_id)
    if unassigned:
        where.append(UnderwritingCase.reviewer_id.is_(None))
    if overdue:
        where.append(and_(UnderwritingClock.state != "stopped", UnderwritingClock.red_due_at <= now))
    return where


def queue(
    session: Session,
    *,
    status: str | None = None,
    level: str | None = None,
    line: str | None = None,
    reviewer_id: int | None = None,
    unassigned: bool = False,
    overdue: bool = False,
    page: int = 1,
    limit: int = PAGE_SIZE,
    now: dt.datetime | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """(total, rows): cases by nearest deadline (running clocks first), then newest received."""
    moment = now or utc_now()
    where = _filters(status, level, line, reviewer_id, unassigned, overdue, moment)
    joined = UnderwritingClock.case_id == UnderwritingCase.id
    total = session.execute(
        select(func.count()).select_from(UnderwritingCase).outerjoin(UnderwritingClock, joined).where(*where)
    ).scalar_one()
    if limit <= 0 or total == 0:
        return total, []
    running = or_(UnderwritingClock.state.is_(None), UnderwritingClock.state == "stopped")
    statement = (
        select(UnderwritingCase, UnderwritingClock)
        .outerjoin(UnderwritingClock, joined)
        .where(*where)
        .order_by(running, UnderwritingClock.red_due_at, UnderwritingCase.received_at.desc(), UnderwritingCase.id)
        .limit(limit)
        .offset((page - 1) * limit)
    )
    found = session.execute(statement).all()
    names = repository.usernames(session, [case.reviewer_id for case, _ in found])
    return total, [_item(case, clock, names, moment) for case, clock in found]


def _item(
    case: UnderwritingCase, clock: UnderwritingClock | None, names: dict[int, str], now: dt.datetime
) -> dict[str, Any]:
    return {
        "application_number": case.application_number,
        "product_code": case.product_code,
        "line": case.line,
        "channel": case.channel,
        "status": case.status,
        "risk_level": case.risk_level,
        "risk_points": case.risk_points,
        "proposed_outcome": case.proposed_outcome,
        "outcome": case.outcome,
        "reviewer": names.get(case.reviewer_id) if case.reviewer_id is not None else None,
        "received_at": case.received_at,
        "due_at": clock.red_due_at if clock is not None else None,
        "light": underwriting_clocks.light(clock, now),
    }


def _phone(case: UnderwritingCase) -> str | None:
    if not case.applicant_phone_enc:
        return None
    return mask_phone(field_cipher().decrypt(case.applicant_phone_enc))


def case_view(session: Session, case: UnderwritingCase, locale: str, now: dt.datetime | None = None) -> dict[str, Any]:
    moment = now or utc_now()
    clock = underwriting_clocks.clock_of(session, case)
    names = repository.usernames(session, [case.reviewer_id])
    view = _item(case, clock, names, moment)
    rules = underwriting.rules_of(session, case)
    row = repository.rule_set(session, case.rule_set_id) if case.rule_set_id is not None else None
    fired = []
    for entry in case.fired or []:
        factor = rules.factor(str(entry["code"])) if rules is not None else None
        fired.append(
            {
                "code": entry["code"],
                "name": factor.name(locale) if factor is not None else str(entry["code"]),
                "points": entry.get("points") or 0,
                "outcome": entry.get("outcome"),
                "rate_up_pct": entry.get("rate_up_pct"),
                "exclusion": entry.get("exclusion"),
                "review": bool(entry.get("review")),
            }
        )
    axis = None
    if clock is not None:
        try:
            axis = sla_service.Axes(session, case.tenant_id)(clock.unit)
        except CalendarYearMissing:
            axis = None
    org_code = None
    if case.org_unit_id is not None:
        org_code = session.execute(select(OrgUnit.code).where(OrgUnit.id == case.org_unit_id)).scalar_one_or_none()
    events = [
        {"kind": e.kind, "actor": e.actor, "at": e.at, "detail": e.detail or {}}
        for e in repository.events_of(session, case.id)
    ]
    return view | {
        "agent_code": repository.staff_codes(session, [case.agent_id]).get(case.agent_id or 0),
        "org_code": org_code,
        "applicant_name": case.applicant_name_masked,
        "applicant_phone": _phone(case),
        "sum_insured": Decimal(case.sum_insured_fen) / 100,
        "premium": Decimal(case.premium_fen) / 100 if case.premium_fen is not None else None,
        "facts": dict(case.facts or {}),
        "rule_set_version": row.version if row is not None else None,
        "fired": fired,
        "review_reasons": case.review_reasons,
        "outcome_reason": case.outcome_reason,
        "exclusions": list(case.exclusions or []),
        "rate_up_pct": case.rate_up_pct,
        "decided_by": case.decided_by,
        "decided_at": case.decided_at,
        "notice_sent": case.notice_message_id is not None,
        "clock": underwriting_clocks.clock_view(clock, moment, axis),
        "events": events,
    }


def rule_set_views(session: Session) -> list[dict[str, Any]]:
    rows: list[UnderwritingRuleSet] = repository.rule_sets(session)
    return [
        {
            "id": row.id,
            "version": row.version,
            "digest": row.digest,
            "loaded_by": row.loaded_by,
            "loaded_at": row.loaded_at,
            "in_force": index == 0,
        }
        for index, row in enumerate(rows)
    ]
