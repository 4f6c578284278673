"""What the rectification board, the rectification page and the API show (read models; no writes).

The board lists the rectifications the caller may see (quality roles: the whole tenant; others: their org
subtree and their own), overdue first (red, then yellow), then by the nearest running deadline."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from claimwatch.auth.models import User
from claimwatch.auth.principal import Principal
from claimwatch.errors import Invalid
from claimwatch.rectification import repository, service
from claimwatch.rectification.clocks import clock_view, clocks_of
from claimwatch.rectification.loader import tenant_policies
from claimwatch.rectification.models import Rectification, RectificationClock
from claimwatch.rectification.vocabulary import (
    ACTIVE,
    EVENT_LABELS,
    SEVERITIES,
    SEVERITY_LABELS,
    SOURCE_KIND_LABELS,
    STATUS_LABELS,
    STATUSES,
    STEP_LABELS,
    TRANSITIONS,
    label,
)
from claimwatch.sla import engine
from claimwatch.sla import service as sla_service
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import translate

BOARD_LIMIT = 200


@dataclass
class BoardQuery:
    status: str = ""  # "" every active state; "all"; or one state
    severity: str = ""
    overdue: bool = False
    mine: bool = False
    source_kind: str = ""
    limit: int = BOARD_LIMIT

    def check(self) -> BoardQuery:
        if self.status not in ("", "all", *STATUSES):
            raise Invalid("status", f"unknown status {self.status!r} (known: {', '.join(STATUSES)}, all)")
        if self.severity not in ("", *SEVERITIES):
            raise Invalid("severity", f"unknown severity {self.severity!r} (known: {', '.join(SEVERITIES)})")
        if not 1 <= self.limit <= 1000:
            raise Invalid("limit", "limit must be between 1 and 1000")
        return self


@dataclass
class BoardItem:
    id: int
    number: str
    title: str
    severity: str
    severity_label: str
    status: str
    status_label: str
    source_kind: str
    source_kind_label: str
    source_label: str
    source_url: str
    owner: str | None
    owner_unit: str | None
    opened_at: dt.datetime
    due_at: dt.datetime | None
    due_policy: str | None
    light: str | None
    overdue: bool
    url: str


@dataclass
class Board:
    query: BoardQuery
    items: list[BoardItem]
    counts: dict[str, int] = field(default_factory=dict)
    overdue_count: int = 0


def _scope_filter(session: Session, principal: Principal) -> list[ColumnElement[bool]]:
    scope = service.view_scope(session, principal)
    if scope is None:
        return []
    owned = Rectification.owner_user_id == principal.user_id if principal.user_id is not None else None
    in_scope = Rectification.owner_org_unit_id.in_(sorted(scope))
    return [or_(in_scope, owned) if owned is not None else in_scope]


def _utc(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def board(session: Session, principal: Principal, query: BoardQuery, locale: str, now: dt.datetime) -> Board:
    query.check()
    where = _scope_filter(session, principal)
    counted = select(Rectification.status, func.count()).where(*where).group_by(Rectification.status)
    counts = {status: 0 for status in STATUSES} | {s: int(n) for s, n in session.execute(counted)}
    if query.status == "":
        where.append(Rectification.status.in_(ACTIVE))
    elif query.status != "all":
        where.append(Rectification.status == query.status)
    if query.severity:
        where.append(Rectification.severity == query.severity)
    if query.source_kind:
        where.append(Rectification.source_kind == query.source_kind[:32])
    if query.mine:
        where.append(Rectification.owner_user_id == (principal.user_id or -1))
    running = (RectificationClock.rectification_id == Rectification.id) & (RectificationClock.state == engine.RUNNING)
    due = func.min(RectificationClock.yellow_due_at)
    red = func.min(RectificationClock.red_due_at)
    rank = case((red <= now, 2), (due <= now, 1), else_=0)
    statement = (
        select(Rectification, due.label("due"), red.label("red"))
        .select_from(Rectification)
        .outerjoin(RectificationClock, running)
        .where(*where)
        .group_by(Rectification.id)
    )
    if query.overdue:
        statement = statement.having(due <= now)
    statement = statement.order_by(rank.desc(), due.is_(None), due, Rectification.opened_at, Rectification.id)
    rows = session.execute(statement.limit(query.limit)).all()
    overdue_statement = (
        select(func.count())
        .select_from(Rectification)
        .where(*_scope_filter(session, principal), Rectification.status.in_(ACTIVE))
        .where(
            select(RectificationClock.id)
            .where(
                RectificationClock.rectification_id == Rectification.id,
                RectificationClock.state == engine.RUNNING,
                RectificationClock.yellow_due_at <= now,
            )
            .exists()
        )
    )
    overdue_count = int(session.execute(overdue_statement).scalar_one())
    names = _people(session, {r.owner_user_id for r, _, _ in rows if r.owner_user_id})
    units = _units(session)
    clocks = clocks_of(session, [r.id for r, _, _ in rows])
    policy_of: dict[tuple[int, dt.datetime], str] = {}
    policies = tenant_policies(session, principal.tenant_id) if principal.tenant_id is not None else {}
    for clock in clocks:
        if clock.state == engine.RUNNING and clock.yellow_due_at is not None:
            policy = policies.get(clock.policy_code)
            policy_of[(clock.rectification_id, _utc(clock.yellow_due_at))] = (  # type: ignore[index]
                policy.label(locale) if policy else clock.policy_code
            )
    items = []
    for rectification, due_at, red_at in rows:
        yellow_at, red_due = _utc(due_at), _utc(red_at)
        light = None
        if yellow_at is not None:
            light = "red" if red_due is not None and red_due <= now else "yellow" if yellow_at <= now else "green"
        items.append(
            BoardItem(
                id=rectification.id,
                number=rectification.number,
                title=rectification.title,
                severity=rectification.severity,
                severity_label=label(SEVERITY_LABELS, rectification.severity, locale),
                status=rectification.status,
                status_label=label(STATUS_LABELS, rectification.status, locale),
                source_kind=rectification.source_kind,
                source_kind_label=label(SOURCE_KIND_LABELS, rectification.source_kind, locale),
                source_label=rectification.source_label,
                source_url=rectification.source_url,
                owner=names.get(rectification.owner_user_id) if rectification.owner_user_id else None,
                owner_unit=units.get(rectification.owner_org_unit_id) if rectification.owner_org_unit_id else None,
                opened_at=_utc(rectification.opened_at),  # type: ignore[arg-type]
                due_at=yellow_at,
                due_policy=policy_of.get((rectification.id, yellow_at)) if yellow_at else None,
                light=light,
                overdue=light in ("yellow", "red"),
                url=service.rectification_url(rectification.id),
            )
        )
    return Board(query, items, counts, overdue_count)


def _people(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    statement = select(User.id, User.display_name, User.username).where(User.id.in_(sorted(ids)))
    return {uid: display or username for uid, display, username in session.execute(statement)}


def _units(session: Session) -> dict[int, str]:
    return {uid: name for uid, name in session.execute(select(OrgUnit.id, OrgUnit.name))}


def detail(
    session: Session, principal: Principal, rectification_id: int, locale: str, now: dt.datetime
) -> dict[str, Any]:
    """One rectification as its page and ``GET /api/v1/rectifications/{id}`` show it."""
    rectification = service.get_visible(session, principal, rectification_id)
    return describe(session, principal, rectification, locale, now)


def describe(
    session: Session, principal: Principal, rectification: Rectification, locale: str, now: dt.datetime
) -> dict[str, Any]:
    axes = sla_service.Axes(session, rectification.tenant_id)
    policies = tenant_policies(session, rectification.tenant_id)
    clocks = [clock_view(axes, policies, c, locale, now) for c in clocks_of(session, [rectification.id])]
    names = _people(session, {rectification.owner_user_id} if rectification.owner_user_id else set())
    units = _units(session)
    history = []
    for event in repository.events(session, rectification.id):
        data = json.loads(event.data) if event.data else {}
        history.append(
            {
                "kind": event.kind,
                "label": label(EVENT_LABELS, event.kind, locale) if event.kind in EVENT_LABELS else event.kind,
                "at": _utc(event.at),
                "actor": event.actor,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "to_status_label": label(STATUS_LABELS, event.to_status, locale) if event.to_status else "",
                "note": event.note,
                "data": data,
                "level": data.get("level"),
                "policy_label": policies[data["policy"]].label(locale) if data.get("policy") in policies else "",
            }
        )
    evidence = [
        {
            "id": item.id,
            "step": item.step,
            "step_label": label(STEP_LABELS, item.step, locale),
            "filename": item.filename,
            "content_type": item.content_type,
            "size_bytes": item.size_bytes,
            "sha256": item.sha256,
            "note": item.note,
            "uploaded_at": _utc(item.uploaded_at),
            "uploaded_by": item.uploaded_by,
            "url": f"{service.rectification_url(rectification.id)}/evidence/{item.id}",
        }
        for item in repository.evidence(session, rectification.id)
    ]
    actions = service.allowed_actions(session, principal, rectification)
    return {
        "id": rectification.id,
        "number": rectification.number,
        "title": rectification.title,
        "severity": rectification.severity,
        "severity_label": label(SEVERITY_LABELS, rectification.severity, locale),
        "status": rectification.status,
        "status_label": label(STATUS_LABELS, rectification.status, locale),
        "source": {
            "kind": rectification.source_kind,
            "kind_label": label(SOURCE_KIND_LABELS, rectification.source_kind, locale),
            "id": rectification.source_id,
            "label": rectification.source_label,
            "url": rectification.source_url,
        },
        "owner_user_id": rectification.owner_user_id,
        "owner": names.get(rectification.owner_user_id) if rectification.owner_user_id else None,
        "owner_org_unit_id": rectification.owner_org_unit_id,
        "owner_unit": units.get(rectification.owner_org_unit_id) if rectification.owner_org_unit_id else None,
        "plan": rectification.plan,
        "opened_at": _utc(rectification.opened_at),
        "opened_by": rectification.opened_by,
        "plan_due_at": _utc(rectification.plan_due_at),
        "acceptance_due_at": _utc(rectification.acceptance_due_at),
        "plan_submitted_at": _utc(rectification.plan_submitted_at),
        "plan_outcome": rectification.plan_outcome,
        "submitted_at": _utc(rectification.submitted_at),
        "sent_back_count": rectification.sent_back_count,
        "accepted_at": _utc(rectification.accepted_at),
        "accepted_by": rectification.accepted_by,
        "acceptance_outcome": rectification.acceptance_outcome,
        "closed_at": _utc(rectification.closed_at),
        "clocks": clocks,
        "history": history,
        "evidence": evidence,
        "actions": actions,
        "action_titles": {a: translate(locale, TRANSITIONS[a].title) for a in actions},
        "may_upload": rectification.status != "closed" and service.may_upload(session, principal, rectification),
        "url": service.rectification_url(rectification.id),
    }


def status_options(locale: str) -> list[tuple[str, str]]:
    return [(code, label(STATUS_LABELS, code, locale)) for code in STATUSES]


def severity_options(locale: str) -> list[tuple[str, str]]:
    return [(code, label(SEVERITY_LABELS, code, locale)) for code in SEVERITIES]
