"""What the actions board, the action page and the API show (read models; no writes).

The board lists the actions the caller may see (a user attached to an org unit: its subtree and the actions
they own or own a step of; otherwise the whole tenant) in PDCA columns, overdue first, then by due date.
The detail of one action carries its steps, clocks, history (its audit entries), the Check's result and
what the caller may do now (:func:`claimwatch.actions.access.allowed`)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from claimwatch.actions import access, clocks, effectiveness, repository, service, sources
from claimwatch.actions.models import ActionClock, ActionStep, ImprovementAction
from claimwatch.actions.vocabulary import (
    EVENT_LABELS,
    FISHBONE_CATEGORIES,
    FISHBONE_LABELS,
    OPEN_PHASES,
    OUTCOME_LABELS,
    PDCA,
    PHASE_LABELS,
    PHASES,
    RCA_LABELS,
    SOURCE_KIND_LABELS,
    SOURCE_KINDS,
    STANDARD_LABELS,
    label,
)
from claimwatch.auth.models import User
from claimwatch.auth.principal import ROLE_PERMISSIONS, Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Invalid
from claimwatch.kpi import loader as kpi_loader
from claimwatch.sla import engine
from claimwatch.sla import service as sla_service
from claimwatch.tenancy import service as tenancy_service
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import N_, translate
from claimwatch.workflow import service as workflow_service

BOARD_LIMIT = 500
WHOLE_COMPANY = N_("Whole company")


def verdict_text(verdict: str | None, locale: str) -> str:
    """有效 / 无显著变化 / 变差 / 数据不足 (the effectiveness check's own labels)."""
    if verdict not in effectiveness.VERDICTS:
        return ""
    return translate(locale, effectiveness.verdict_label(verdict))


@dataclass
class BoardFilters:
    owner: int | None = None  # owner user id (of the action or of a step)
    source_kind: str = ""
    kpi_code: str = ""
    overdue: bool = False
    phase: str = ""  # "" the four open phases; one phase; "all"
    limit: int = BOARD_LIMIT

    def check(self) -> BoardFilters:
        if self.phase not in ("", "all", *PHASES):
            raise Invalid("phase", f"unknown phase {self.phase!r} (known: {', '.join(PHASES)}, all)")
        if self.source_kind not in ("", *SOURCE_KINDS):
            raise Invalid("source_kind", f"unknown source kind {self.source_kind!r} (known: {', '.join(SOURCE_KINDS)})")
        if self.kpi_code and self.kpi_code not in kpi_loader.by_code():
            raise Invalid("kpi_code", f"no KPI {self.kpi_code!r} in the catalogue")
        if not 1 <= self.limit <= 1000:
            raise Invalid("limit", "limit must be between 1 and 1000")
        return self


@dataclass
class BoardRow:
    id: int
    number: str
    title: str
    phase: str
    phase_label: str
    source_kind: str
    source_kind_label: str
    source_label: str
    source_url: str | None
    kpi_code: str | None
    kpi_name: str | None
    owner_user_id: int
    owner: str | None
    scope_label: str
    due_at: dt.datetime
    light: str | None
    overdue: bool
    steps_done: int
    steps_total: int
    cycle: int
    check_verdict: str | None
    verdict_label: str
    url: str


@dataclass
class Board:
    filters: BoardFilters
    columns: dict[str, list[BoardRow]]  # phase → rows (the four PDCA phases, or the phase asked for)
    counts: dict[str, int] = field(default_factory=dict)  # every phase, before the filters but visibility
    overdue_count: int = 0

    @property
    def rows(self) -> list[BoardRow]:
        return [row for rows in self.columns.values() for row in rows]


def _utc(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def visibility(session: Session, principal: Principal) -> list[ColumnElement[bool]]:
    """The WHERE clause of what the principal sees (the session already holds the tenant)."""
    if principal.tenant_id is None:
        return [ImprovementAction.id.is_(None)]
    where: list[ColumnElement[bool]] = [ImprovementAction.tenant_id == principal.tenant_id]
    scope = access.view_scope(session, principal)
    if scope is None:
        return where
    me = principal.user_id or -1
    step_owned = (
        select(ActionStep.id)
        .where(ActionStep.action_id == ImprovementAction.id, ActionStep.owner_user_id == me)
        .exists()
    )
    where.append(
        or_(ImprovementAction.scope_org_unit_id.in_(sorted(scope)), ImprovementAction.owner_user_id == me, step_owned)
    )
    return where


def _light(due_at: dt.datetime, red_at: dt.datetime | None, running: bool, now: dt.datetime) -> str | None:
    if not running:
        return None
    if red_at is not None and red_at <= now:
        return "red"
    return "yellow" if due_at <= now else "green"


def _people(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    statement = select(User.id, User.display_name, User.username).where(User.id.in_(sorted(ids)))
    return {uid: display or username for uid, display, username in session.execute(statement)}


def _units(session: Session) -> dict[int, str]:
    return {uid: name for uid, name in session.execute(select(OrgUnit.id, OrgUnit.name))}


def scope_label(action: ImprovementAction, units: dict[int, str], locale: str) -> str:
    parts = []
    if action.scope_org_unit_id is not None:
        parts.append(units.get(action.scope_org_unit_id, str(action.scope_org_unit_id)))
    if action.scope_region:
        names = tenancy_service.region_names().get(action.scope_region)
        parts.append(names[0 if locale == "zh" else 1] if names else action.scope_region)
    if action.scope_line:
        parts.append(workflow_service.line_label(action.scope_line, locale))
    return " · ".join(parts) if parts else translate(locale, WHOLE_COMPANY)


def _kpi_name(code: str | None, locale: str) -> str | None:
    if not code:
        return None
    kpi = kpi_loader.by_code().get(code)
    return kpi.name(locale) if kpi else code


def board(
    session: Session,
    principal: Principal,
    filters: BoardFilters | None = None,
    locale: str = "zh",
    now: dt.datetime | None = None,
) -> Board:
    """The actions the caller may see, grouped by PDCA phase, overdue (red, yellow) first, then by due date."""
    filters = (filters or BoardFilters()).check()
    now = now or utc_now()
    where = visibility(session, principal)
    counted = select(ImprovementAction.phase, func.count()).where(*where).group_by(ImprovementAction.phase)
    counts = {phase: 0 for phase in PHASES} | {p: int(n) for p, n in session.execute(counted)}
    overdue_count = int(
        session.execute(
            select(func.count()).where(
                *where, ImprovementAction.phase.in_(OPEN_PHASES), ImprovementAction.due_at <= now
            )
        ).scalar_one()
    )
    if filters.phase == "":
        where.append(ImprovementAction.phase.in_(PDCA))
    elif filters.phase != "all":
        where.append(ImprovementAction.phase == filters.phase)
    if filters.source_kind:
        where.append(ImprovementAction.source_kind == filters.source_kind)
    if filters.kpi_code:
        where.append(ImprovementAction.kpi_code == filters.kpi_code)
    if filters.owner is not None:
        owns_step = (
            select(ActionStep.id)
            .where(ActionStep.action_id == ImprovementAction.id, ActionStep.owner_user_id == filters.owner)
            .exists()
        )
        where.append(or_(ImprovementAction.owner_user_id == filters.owner, owns_step))
    if filters.overdue:
        where.append(ImprovementAction.phase.in_(OPEN_PHASES))
        where.append(ImprovementAction.due_at <= now)
    statement = (
        select(ImprovementAction)
        .where(*where)
        .order_by(ImprovementAction.due_at, ImprovementAction.id)
        .limit(filters.limit)
    )
    actions = list(session.execute(statement).scalars())
    tenant_id = principal.tenant_id or 0
    ids = [a.id for a in actions]
    steps = repository.steps(session, tenant_id, ids)
    running: dict[int, ActionClock] = {}
    for clock in repository.clocks(session, tenant_id, ids):
        if clock.step_id is None and clock.state == engine.RUNNING:
            running[clock.action_id] = clock
    names = _people(session, {a.owner_user_id for a in actions})
    units = _units(session)
    rows: list[BoardRow] = []
    for action in actions:
        mine = [s for s in steps if s.action_id == action.id]
        own = running.get(action.id)
        due = _utc(action.due_at) or now
        light = _light(due, _utc(own.red_due_at) if own else None, action.phase in OPEN_PHASES, now)
        rows.append(
            BoardRow(
                id=action.id,
                number=action.number,
                title=action.title,
                phase=action.phase,
                phase_label=label(PHASE_LABELS, action.phase, locale),
                source_kind=action.source_kind,
                source_kind_label=label(SOURCE_KIND_LABELS, action.source_kind, locale),
                source_label=action.source_label,
                source_url=action.source_url,
                kpi_code=action.kpi_code,
                kpi_name=_kpi_name(action.kpi_code, locale),
                owner_user_id=action.owner_user_id,
                owner=names.get(action.owner_user_id),
                scope_label=scope_label(action, units, locale),
                due_at=due,
                light=light,
                overdue=light in ("yellow", "red"),
                steps_done=sum(1 for s in mine if s.done_at is not None),
                steps_total=len(mine),
                cycle=action.cycle,
                check_verdict=action.check_verdict,
                verdict_label=verdict_text(action.check_verdict, locale),
                url=service.action_url(action.id),
            )
        )
    rank = {"red": 0, "yellow": 1}
    rows.sort(key=lambda r: (rank.get(r.light or "", 2), r.due_at, r.id))
    phases = PDCA if filters.phase == "" else (PHASES if filters.phase == "all" else (filters.phase,))
    columns = {phase: [r for r in rows if r.phase == phase] for phase in phases}
    return Board(filters, columns, counts, overdue_count)


def _history(session: Session, action: ImprovementAction, locale: str) -> list[dict[str, Any]]:
    found = []
    for entry in repository.history(session, action.tenant_id, action.number):
        data = json.loads(entry.payload) if entry.payload else {}
        event = entry.kind.removeprefix("action.")
        found.append(
            {
                "kind": event,
                "label": label(EVENT_LABELS, event, locale),
                "at": _utc(data.get("at")) or _utc(entry.recorded_at),
                "actor": entry.actor,
                "seq": entry.seq,
                "data": {k: v for k, v in data.items() if k not in ("action", "event", "at")},
            }
        )
    return found


def _rca_view(action: ImprovementAction, locale: str) -> dict[str, Any] | None:
    if action.rca_method is None:
        return None
    view: dict[str, Any] = {"method": action.rca_method, "label": label(RCA_LABELS, action.rca_method, locale)}
    if action.rca_method == "fishbone" and isinstance(action.rca, dict):
        view["categories"] = [
            {"code": code, "label": label(FISHBONE_LABELS, code, locale), "causes": action.rca.get(code, [])}
            for code in FISHBONE_CATEGORIES
        ]
    elif isinstance(action.rca, dict):
        view["whys"] = action.rca.get("whys", [])
    return view


def detail(
    session: Session, principal: Principal, action_id: int, locale: str = "zh", now: dt.datetime | None = None
) -> dict[str, Any]:
    """One action as its page and ``GET /api/v1/actions/{id}`` show it."""
    action = access.get_visible(session, principal, action_id)
    return describe(session, principal, action, locale, now or utc_now())


def describe(
    session: Session, principal: Principal, action: ImprovementAction, locale: str, now: dt.datetime
) -> dict[str, Any]:
    axes = sla_service.Axes(session, action.tenant_id)
    steps = repository.steps(session, action.tenant_id, [action.id])
    all_clocks = repository.clocks(session, action.tenant_id, [action.id])
    names = _people(session, {action.owner_user_id} | {s.owner_user_id for s in steps})
    units = _units(session)
    own_clock = next((c for c in reversed(all_clocks) if c.step_id is None and c.state == engine.RUNNING), None)
    due = _utc(action.due_at) or now
    light = _light(due, _utc(own_clock.red_due_at) if own_clock else None, action.phase in OPEN_PHASES, now)
    previous = (
        repository.get(session, action.tenant_id, action.previous_action_id) if action.previous_action_id else None
    )
    following = repository.next_of(session, action.tenant_id, action.id)
    step_views = []
    for step in steps:
        step_due = _utc(step.due_at) or now
        step_views.append(
            {
                "id": step.id,
                "position": step.position,
                "text": step.text,
                "owner_user_id": step.owner_user_id,
                "owner": names.get(step.owner_user_id),
                "due_at": step_due,
                "done_at": _utc(step.done_at),
                "done_by": step.done_by,
                "note": step.note,
                "overdue": step.done_at is None and action.phase in OPEN_PHASES and step_due <= now,
                "may_finish": access.may_finish(session, principal, action, step),
            }
        )
    check: dict[str, Any] | None = None
    if action.check_result:
        check = dict(action.check_result)
    return {
        "id": action.id,
        "number": action.number,
        "title": action.title,
        "problem": action.problem,
        "phase": action.phase,
        "phase_label": label(PHASE_LABELS, action.phase, locale),
        "phases": [(p, label(PHASE_LABELS, p, locale)) for p in PDCA],
        "source": {
            "kind": action.source_kind,
            "kind_label": label(SOURCE_KIND_LABELS, action.source_kind, locale),
            "id": action.source_id,
            "ref": action.source_ref,
            "label": action.source_label,
            "url": action.source_url,
        },
        "kpi_code": action.kpi_code,
        "kpi_name": _kpi_name(action.kpi_code, locale),
        "scope": {
            "org_unit_id": action.scope_org_unit_id,
            "region": action.scope_region,
            "line": action.scope_line,
            "label": scope_label(action, units, locale),
        },
        "owner_user_id": action.owner_user_id,
        "owner": names.get(action.owner_user_id),
        "due_at": due,
        "light": light,
        "overdue": light in ("yellow", "red"),
        "rca_method": action.rca_method,
        "rca": action.rca,
        "rca_view": _rca_view(action, locale),
        "root_cause": action.root_cause,
        "cycle": action.cycle,
        "previous_action_id": action.previous_action_id,
        "previous_number": previous.number if previous else None,
        "next_action_id": following.id if following else None,
        "next_number": following.number if following else None,
        "done_at": _utc(action.done_at),
        "check_verdict": action.check_verdict,
        "verdict_label": verdict_text(action.check_verdict, locale),
        "check_result": check,
        "checked_at": _utc(action.checked_at),
        "standard_refs": [
            ref | {"kind_label": label(STANDARD_LABELS, ref.get("kind"), locale)} for ref in action.standard_refs or []
        ],
        "outcome": action.outcome,
        "outcome_label": label(OUTCOME_LABELS, action.outcome, locale) if action.outcome else "",
        "outcome_note": action.outcome_note,
        "completed_at": _utc(action.completed_at),
        "created_at": _utc(action.created_at),
        "created_by": action.created_by,
        "steps": step_views,
        "clocks": [clocks.view(axes, c, locale, now) for c in all_clocks],
        "history": _history(session, action, locale),
        "allowed": access.allowed(session, principal, action),
        "url": service.action_url(action.id),
    }


def for_source(
    session: Session,
    principal: Principal,
    source_kind: str,
    source_id: int | None = None,
    source_ref: str | None = None,
) -> list[dict[str, Any]]:
    """The actions raised from a source that the caller may see (for the source's own page)."""
    if principal.tenant_id is None:
        return []
    found = sources.actions_for_source(session, principal.tenant_id, source_kind, source_id, source_ref)
    return [
        {"id": a.id, "number": a.number, "title": a.title, "phase": a.phase, "url": service.action_url(a.id)}
        for a in found
        if access.visible(session, principal, a)
    ]


def owner_options(session: Session, tenant_id: int) -> list[tuple[int, str]]:
    """Who may own an action or a step (active staff of the tenant), for the forms."""
    roles = ROLE_PERMISSIONS[Permission.WORK_ACTIONS]
    statement = (
        select(User.id, User.display_name, User.username, User.role)
        .where(User.tenant_id == tenant_id, User.active.is_(True))
        .order_by(User.display_name, User.id)
    )
    return [(uid, display or username) for uid, display, username, role in session.execute(statement) if role in roles]
