"""What the SLA clocks put in people's to-do inbox (我的待办, :mod:`claimwatch.todo.registry`):

- an adjuster's open claims, nearest SLA deadline first (here rather than in ``cases``: the deadlines are
  the clocks', and ``cases`` sits below ``sla``);
- a supervisor's unacknowledged escalations of their org subtree, red first, then the longest waiting,
  each with the 督办 (acknowledge) action of the queue;
- a regulator's filings of the last :data:`FILING_DAYS` days, newest first, and the insurers they come
  from (the cross-insurer overview).

Each count and its items come from one filter, so the count equals the full list behind "see all".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.models import Claim
from claimwatch.cases.queries import claim_url
from claimwatch.sla.models import Escalation, RegulatorFiling, SlaClock
from claimwatch.sla.service import org_scope, tenant_policies
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.todo import registry
from claimwatch.todo.registry import Action, Item, Page, Source
from claimwatch.web.i18n import N_, translate
from claimwatch.workflow import service as workflow_service

FILING_DAYS = 30
_BY_ID = 2000  # up to this many escalated claims, their priorities are read by id; beyond, the tenant's all
_LIGHT_RANK = {"green": 0, "yellow": 1, "red": 2}
_RANK_LIGHT = {rank: light for light, rank in _LIGHT_RANK.items()}


def _light(
    stored_rank: int | None, yellow_due: dt.datetime | None, red_due: dt.datetime | None, now: dt.datetime
) -> str:
    """The worst light of a claim's running clocks: what the sweep stored, or what the due times say now."""
    rank = stored_rank or 0
    if red_due is not None and red_due <= now:
        rank = 2
    elif yellow_due is not None and yellow_due <= now:
        rank = max(rank, 1)
    return _RANK_LIGHT[rank]


def _utc(value: dt.datetime | str | None) -> dt.datetime | None:
    """An aggregate (min) of a UTC column comes back untyped on SQLite."""
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# -- an adjuster's claims -----------------------------------------------------------------------------


def _my_claims_filter(principal: Principal) -> list[ColumnElement[bool]]:
    return [Claim.assignee_id == principal.user_id, Claim.closed_at.is_(None)]


def my_claims(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    if principal.user_id is None:
        return Page(0)
    where = _my_claims_filter(principal)
    count = session.execute(select(func.count()).select_from(Claim).where(*where)).scalar_one()
    if limit <= 0 or count == 0:
        return Page(count)
    running = and_(SlaClock.claim_id == Claim.id, SlaClock.state != "stopped")
    due = func.min(SlaClock.yellow_due_at)
    rank = func.max(case((SlaClock.light == "red", 2), (SlaClock.light == "yellow", 1), else_=0))
    statement = (
        select(Claim.id, Claim.number, Claim.line, Claim.status, due.label("due"), func.min(SlaClock.red_due_at), rank)
        .select_from(Claim)
        .outerjoin(SlaClock, running)
        .where(*where)
        .group_by(Claim.id, Claim.number, Claim.line, Claim.status, Claim.priority)
        # The green channel first (claims.priority: catastrophe, major case, vulnerable customer), then by deadline.
        .order_by(Claim.priority.desc(), due.is_(None), due, Claim.id)
        .limit(limit)
        .offset(offset)
    )
    items = []
    for _, number, line, status, yellow_due, red_due, stored in session.execute(statement).all():
        yellow_at, red_at = _utc(yellow_due), _utc(red_due)
        items.append(
            Item(
                title=number,
                url=claim_url(number),
                detail=" · ".join(
                    (workflow_service.line_label(line, locale), workflow_service.state_label(line, status, locale))
                ),
                due_at=yellow_at,
                light=_light(stored, yellow_at, red_at, now) if yellow_at or red_at or stored else None,
                key=number,
            )
        )
    return Page(count, items)


# -- a supervisor's escalations -----------------------------------------------------------------------


def _escalations_filter(session: Session, principal: Principal) -> list[ColumnElement[bool]]:
    """Unacknowledged escalations whose clock still runs (a completed case has nothing left to urge), in the
    caller's org subtree. The clock's state is read per escalation by its key: joined, the planner may hash
    every open clock of the insurer instead (PostgreSQL did, at 1 M claims)."""
    clock_state = select(SlaClock.state).where(SlaClock.id == Escalation.clock_id).scalar_subquery()
    where: list[ColumnElement[bool]] = [Escalation.status == "open", clock_state != "stopped"]
    scope = org_scope(session, principal)
    if scope is not None:
        where.append(Escalation.org_unit_id.in_(sorted(scope)))
    return where


def _priority_first(session: Session, grouped: Sequence[Any]) -> list[Any]:
    """The green channel first (claims.priority), keeping the order within each priority. The claims with a
    priority are few and read from their own index (ix_claims_tenant_priority), not joined per escalation."""
    prioritised = [Claim.priority > 0, Claim.closed_at.is_(None)]
    if len(grouped) <= _BY_ID:
        prioritised.append(Claim.id.in_([row[0] for row in grouped]))
    ranked = dict(session.execute(select(Claim.id, Claim.priority).where(*prioritised)).all())
    if not ranked:
        return list(grouped)
    return sorted(grouped, key=lambda row: -ranked.get(row[0], 0))


def escalations(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    """One item per claim (as the queue shows it): its worst open level, the first time it was escalated,
    the nearest due time; the 督办 action acknowledges the claim's open escalations, as the queue's does."""
    where = _escalations_filter(session, principal)
    if limit <= 0:
        per_claim = select(Escalation.claim_id).where(*where).group_by(Escalation.claim_id).subquery()
        return Page(session.execute(select(func.count()).select_from(per_claim)).scalar_one())
    # One pass over the open escalations gives both the count and the page (each reads its clock's state).
    worst = func.max(case((Escalation.level == "red", 1), else_=0))
    fired = func.min(Escalation.fired_at)
    grouped = session.execute(
        select(Escalation.claim_id, worst, func.min(Escalation.id), func.min(Escalation.due_at), func.count())
        .where(*where)
        .group_by(Escalation.claim_id)
        .order_by(worst.desc(), fired, Escalation.claim_id)
    ).all()
    count = len(grouped)
    grouped = _priority_first(session, grouped)
    chosen = grouped[offset : offset + limit]
    if not chosen:
        return Page(count)
    claims = {
        claim_id: (number, line, status)
        for claim_id, number, line, status in session.execute(
            select(Claim.id, Claim.number, Claim.line, Claim.status).where(Claim.id.in_([row[0] for row in chosen]))
        ).all()
    }
    rows = [(*claims[row[0]], row[1], row[2], row[3], row[4]) for row in chosen if row[0] in claims]
    items = []
    for number, line, status, red, escalation_id, due, open_count in rows:
        parts = [workflow_service.line_label(line, locale), workflow_service.state_label(line, status, locale)]
        if open_count > 1:
            parts.append(translate(locale, N_("%(count)s escalations")) % {"count": open_count})
        items.append(
            Item(
                title=number,
                url=claim_url(number),
                detail=" · ".join(parts),
                due_at=_utc(due),
                light="red" if red else "yellow",
                key=number,
                action=Action(
                    url=f"/sla/queue/{escalation_id}/acknowledge",
                    label=N_("Acknowledge"),
                    field_name="note",
                    field_label=N_("Note (optional)"),
                ),
            )
        )
    return Page(count, items)


# -- a regulator's filings and insurers ----------------------------------------------------------------


def _since(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=FILING_DAYS)


def filings(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    since = _since(now)
    count = session.execute(
        select(func.count()).select_from(RegulatorFiling).where(RegulatorFiling.filed_at >= since)
    ).scalar_one()
    if limit <= 0 or count == 0:
        return Page(count)
    codes = {tid: code for tid, code, _ in tenancy_repository.tenant_codes_and_names(session)}
    rows = session.execute(
        select(RegulatorFiling)
        .where(RegulatorFiling.filed_at >= since)
        .order_by(RegulatorFiling.filed_at.desc(), RegulatorFiling.id.desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    items = []
    for filing in rows:
        code = codes.get(filing.tenant_id, "")
        policy = tenant_policies(session, filing.tenant_id).get(filing.policy_code)
        items.append(
            Item(
                title=f"{code} · {filing.claim_number}",
                url=claim_url(filing.claim_number, code),
                detail=f"{policy.label(locale) if policy else filing.policy_code} · "
                f"{workflow_service.line_label(filing.line, locale)}",
                due_at=filing.red_due_at,
                light="red",
                key=f"{code}:{filing.claim_number}",
            )
        )
    return Page(count, items)


def insurers(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    """Every insurer with its filings of the last days, the most first: where to look across insurers."""
    since = _since(now)
    tenants = tenancy_repository.tenant_codes_and_names(session)
    count = len(tenants)
    if limit <= 0 or count == 0:
        return Page(count)
    filed = dict(
        session.execute(
            select(RegulatorFiling.tenant_id, func.count())
            .where(RegulatorFiling.filed_at >= since)
            .group_by(RegulatorFiling.tenant_id)
        ).all()
    )
    ordered = sorted(tenants, key=lambda t: (-filed.get(t[0], 0), t[1]))[offset : offset + limit]
    items = []
    for tenant_id, code, name in ordered:
        number = filed.get(tenant_id, 0)
        query = urlencode({"tenant": code, "since": (now - dt.timedelta(days=FILING_DAYS)).date().isoformat()})
        items.append(
            Item(
                title=f"{code} · {name}",
                url=f"/sla/filings?{query}",
                detail=translate(locale, N_("Filings in the last %(days)s days: %(count)s"))
                % {"count": number, "days": FILING_DAYS},
                light="red" if number else "green",
                key=code,
            )
        )
    return Page(count, items)


registry.register(
    Source(
        key="claims",
        label=N_("My open claims"),
        permission=Permission.INBOX_MY_CLAIMS,
        fetch=my_claims,
        order=10,
        empty=N_("No open claims are assigned to you."),
        links=((N_("All claims"), "/claims"),),
    )
)
registry.register(
    Source(
        key="escalations",
        label=N_("Escalations of my branch"),
        permission=Permission.INBOX_ESCALATIONS,
        fetch=escalations,
        order=20,
        empty=N_("No escalation waits for acknowledgement."),
        links=((N_("Supervision queue"), "/sla/queue"),),
    )
)
registry.register(
    Source(
        key="filings",
        label=N_("Regulator filings, last 30 days"),
        permission=Permission.INBOX_FILINGS,
        fetch=filings,
        order=10,
        empty=N_("No filings in the last 30 days."),
        links=((N_("Regulator filings"), "/sla/filings"),),
    )
)
registry.register(
    Source(
        key="insurers",
        label=N_("Insurers"),
        permission=Permission.INBOX_FILINGS,
        fetch=insurers,
        order=20,
        waiting=False,
        links=((N_("Claims"), "/claims"), (N_("Quality dashboard"), "/dashboard")),
    )
)
