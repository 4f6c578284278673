"""Assignment rules and writes: who may take a case (skills, scope, leave, capacity), who gets it (least
weighted load, round-robin on ties), the tenant's mode, handler profiles and leave, and the supervisors'
rebalancing. Every change is audited; a claim changes hands only through a case event (cases service), a
complaint only through a complaint event (complaints service).

New claims are decided inside the ingesting transaction (a CASE_EVENTS subscriber). That transaction holds
the tenant's audit chain open, so in active mode the decision is recorded as ``pending`` and applied as an
``assigned`` case event by :func:`apply_pending` (worker pass ``assignment.jobs.apply_pending``) right after.
Complaints are assigned at once: the complaint intake publishes after its chain is released.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.assignment import repository
from claimwatch.assignment.loader import MODES, Rules, rules
from claimwatch.assignment.models import (
    AssignmentDecision,
    AssignmentSetting,
    HandlerLeave,
    HandlerProfile,
    LoadSnapshot,
)
from claimwatch.audit import service as audit_service
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role, User
from claimwatch.auth.principal import ROLE_PERMISSIONS, Permission, Principal
from claimwatch.cases import repository as cases_repository
from claimwatch.cases import service as cases_service
from claimwatch.cases.events import CaseChange
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.cases.schemas import EventIn, EventType
from claimwatch.complaints import service as complaints_service
from claimwatch.complaints.models import Complaint
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Invalid, NotFound
from claimwatch.materials.models import MaterialsProfile
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate
from claimwatch.workflow import service as workflow_service

SYSTEM_ACTOR = "system:assignment"
GREEN_ROUTE = "green"  # claims.route of the green channel (triage decides it; assignment reads the column)
UNASSIGNED_KIND = "unassigned"
MAX_REASON = 500
MAX_REBALANCE = 200

# Why a handler may not take a case (codes kept in decisions; messages shown on refusals).
REFUSALS = {
    "inactive": N_("%(user)s is not taking work (profile inactive)"),
    "suspended": N_("%(user)s is suspended from this work by a sanction"),
    "no_profile": N_("%(user)s has no handler profile"),
    "on_leave": N_("%(user)s is on leave today"),
    "kind_claim": N_("%(user)s does not handle claims"),
    "kind_complaint": N_("%(user)s does not handle complaints"),
    "line": N_("%(user)s is not skilled for the line of business of %(case)s"),
    "authority": N_("the amount of %(case)s is above the authority of %(user)s"),
    "claim_type": N_("%(user)s is not skilled for the claim type of %(case)s"),
    "scope": N_("%(case)s is outside the org unit and regions of %(user)s"),
    "capacity": N_("%(user)s is at capacity"),
}


# -- eligibility and choice ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    kind: str  # claim | complaint
    id: int
    number: str
    line: str | None
    amount_fen: int | None
    org_unit_id: int | None
    region_code: str | None
    claim_type: str | None = None
    light: str = "green"
    green: bool = False  # on the green channel (claims.route): a named manual-assistance handler first


@dataclass
class Load:
    weighted: float = 0.0
    claims: int = 0
    complaints: int = 0
    red: int = 0
    yellow: int = 0

    @property
    def open(self) -> int:
        return self.claims + self.complaints


@dataclass
class Desk:
    """What one decision (or a batch of them) needs: profiles, leave, org paths, current loads."""

    rules: Rules
    profiles: dict[int, tuple[HandlerProfile, User]]
    on_leave: set[int]
    org_paths: dict[int, str]
    loads: dict[int, Load] = field(default_factory=dict)
    suspended: set[int] = field(default_factory=set)  # BE_ASSIGNED suspended by a sanction (claimwatch.sanctions)

    def refusal(self, user_id: int, case: Case) -> str | None:
        found = self.profiles.get(user_id)
        if found is None:
            return "no_profile"
        profile, user = found
        if not profile.active or not user.active:
            return "inactive"
        if user_id in self.on_leave:
            return "on_leave"
        if user_id in self.suspended:
            return "suspended"
        if case.kind == "claim" and not profile.handles_claims:
            return "kind_claim"
        if case.kind == "complaint" and not profile.handles_complaints:
            return "kind_complaint"
        if profile.lines and case.line is not None and case.line not in profile.lines:
            return "line"
        if (
            profile.authority_fen is not None
            and case.amount_fen is not None
            and case.amount_fen > profile.authority_fen
        ):
            return "authority"
        if profile.claim_types and case.claim_type is not None and case.claim_type not in profile.claim_types:
            return "claim_type"
        if not self._in_scope(profile, case):
            return "scope"
        if self.rules.respect_capacity and self.loads.get(user_id, Load()).open >= profile.capacity:
            return "capacity"
        return None

    def _in_scope(self, profile: HandlerProfile, case: Case) -> bool:
        if profile.org_unit_id is None and not profile.region_codes:
            return True
        if case.org_unit_id is None and case.region_code is None:
            return True  # a case placed nowhere may go to anyone
        if profile.org_unit_id is not None and case.org_unit_id is not None:
            home = self.org_paths.get(profile.org_unit_id)
            where = self.org_paths.get(case.org_unit_id)
            if home and where and where.startswith(home):
                return True
        return case.region_code is not None and case.region_code in (profile.region_codes or [])

    def available(self, user_id: int) -> bool:
        """Takes work at all today: an active profile and user, not on leave, not suspended."""
        profile, user = self.profiles[user_id]
        return profile.active and user.active and user_id not in self.on_leave and user_id not in self.suspended

    def green_supervisor(self, case: Case) -> int | None:
        """A green-channel claim with no green-channel handler eligible goes to the supervisor of its unit:
        the available supervisor (a handler profile, MANAGE_ASSIGNMENT) whose scope covers the claim, the
        nearest unit first (the longest org path), then the lowest user id. Skills and capacity do not
        refuse them: they take the case in hand or pass it on."""
        managers = ROLE_PERMISSIONS[Permission.MANAGE_ASSIGNMENT]
        found = [
            (-len(self.org_paths.get(profile.org_unit_id or 0, "")), user_id)
            for user_id, (profile, user) in self.profiles.items()
            if user.role in managers
            and profile.handles_claims
            and self.available(user_id)
            and self._in_scope(profile, case)
        ]
        return min(found)[1] if found else None

    def choose(self, case: Case, last_user_id: int | None) -> tuple[int | None, dict[str, Any]]:
        """Least weighted load among the eligible; a tie goes to the next user id after the pointer.
        A green-channel claim goes to the eligible handlers with the green-channel flag, else to the unit's
        supervisor (:meth:`green_supervisor`), else to any eligible handler."""
        refused: dict[str, str] = {}
        eligible: list[int] = []
        for user_id, (_, user) in sorted(self.profiles.items()):
            reason = self.refusal(user_id, case)
            if reason is None:
                eligible.append(user_id)
            else:
                refused[user.username] = reason
        explanation: dict[str, Any] = {"refused": refused, "eligible": {}}
        if case.green:
            green = [user_id for user_id in eligible if self.profiles[user_id][0].green_channel]
            if green:
                eligible, explanation["green_channel"] = green, "handler"
            elif (supervisor := self.green_supervisor(case)) is not None:
                explanation["green_channel"] = "supervisor"
                load = round(self.loads.get(supervisor, Load()).weighted, 6)
                explanation["eligible"] = {self.profiles[supervisor][1].username: load}
                return supervisor, explanation
            else:
                explanation["green_channel"] = "none"
        if not eligible:
            return None, explanation
        loads = {user_id: round(self.loads.get(user_id, Load()).weighted, 6) for user_id in eligible}
        explanation["eligible"] = {self.profiles[u][1].username: loads[u] for u in eligible}
        least = min(loads.values())
        tied = [u for u in eligible if loads[u] == least]
        after = [u for u in tied if last_user_id is not None and u > last_user_id]
        chosen = after[0] if after else tied[0]
        explanation["tie"] = len(tied) > 1
        return chosen, explanation

    def add(self, user_id: int, case: Case) -> None:
        load = self.loads.setdefault(user_id, Load())
        load.weighted += self.rules.weight(case.kind, case.amount_fen, case.light)
        if case.kind == "claim":
            load.claims += 1
        else:
            load.complaints += 1
        if case.light == "red":
            load.red += 1
        elif case.light == "yellow":
            load.yellow += 1


def desk(session: Session, tenant_id: int, now: dt.datetime | None = None) -> Desk:
    now = now or utc_now()
    today = now.astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()
    found = Desk(
        rules=rules(),
        profiles={profile.user_id: (profile, user) for profile, user in repository.profiles(session)},
        on_leave=repository.on_leave(session, today),
        org_paths={unit.id: unit.path for unit in tenancy_repository.org_units(session)},
        suspended=auth_service.suspended_user_ids(session, Permission.BE_ASSIGNED, now),
    )
    pending: dict[int, int] = {}
    for decision in repository.pending_decisions(session, 100_000):
        if decision.user_id is not None:
            pending[decision.user_id] = pending.get(decision.user_id, 0) + 1
    for item in [*repository.open_claims(session), *repository.open_complaints(session)]:
        if item.user_id is not None:
            found.add(
                item.user_id, Case(item.kind, item.id, item.number, None, item.amount_fen, None, None, None, item.light)
            )
    for user_id, count in pending.items():  # decided, not yet applied: already theirs
        for _ in range(count):
            found.add(user_id, Case("claim", 0, "", None, None, None, None))
    return found


def _claim_case(claim: Claim, claim_type: str | None = None, light: str = "green") -> Case:
    amount = claim.assessed_amount_fen if claim.assessed_amount_fen is not None else claim.reported_amount_fen
    return Case(
        "claim",
        claim.id,
        claim.number,
        claim.line,
        amount,
        claim.org_unit_id,
        claim.region_code,
        claim_type,
        light,
        green=claim.route == GREEN_ROUTE,
    )


def _complaint_case(complaint: Complaint, light: str = "green") -> Case:
    return Case(
        "complaint",
        complaint.id,
        complaint.number,
        complaint.line,
        complaint.compensation_fen,
        complaint.org_unit_id,
        complaint.region_code,
        None,
        light,
    )


# -- mode and pointers ----------------------------------------------------------------------------


def _setting(session: Session, tenant_id: int) -> AssignmentSetting:
    found = repository.setting(session)
    if found is None:
        found = AssignmentSetting(
            tenant_id=tenant_id, mode=rules().default_mode, updated_by="system", updated_at=utc_now()
        )
        session.add(found)
        session.flush()
    return found


def tenant_mode(session: Session) -> str:
    found = repository.setting(session)
    return found.mode if found is not None else rules().default_mode


def set_mode(session: Session, principal: Principal, mode: str) -> AssignmentSetting:
    """Switch the tenant between monitor and active; audited with the rules version in force."""
    principal.require(Permission.MANAGE_TENANT)
    tenant_id = _tenant(principal)
    if mode not in MODES:
        raise Invalid("mode", f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    audit_service.open_chain(session, tenant_id).close()
    found = _setting(session, tenant_id)
    before = found.mode
    found.mode = mode
    found.updated_at = utc_now()
    found.updated_by = principal.actor
    audit_service.record(
        session,
        tenant_id,
        "config.assignment_mode",
        mode,
        principal.actor,
        {"mode": mode, "before": before, "rules_version": rules().version, "rules": rules().as_dict()},
    )
    session.flush()
    return found


def _tenant(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "a cross-tenant account cannot change assignment")
    return principal.tenant_id


# -- new cases --------------------------------------------------------------------------------------


def _notify_unassigned(session: Session, tenant_id: int, case: Case, now: dt.datetime) -> None:
    what = "赔案" if case.kind == "claim" else "投诉"
    line = workflow_service.line_label(case.line, "zh") if case.line else "—"
    notify_staff_notices.notify_staff(
        session,
        tenant_id,
        Role.SUPERVISOR.value,
        UNASSIGNED_KIND,
        f"{what} {case.number} 无可分派的处理人",
        f"新{what} {case.number}（{line}）按分派规则没有符合技能、权限、区域且未休假、未满负荷的处理人，"
        f"目前无人处理，请在「工作量与分派」页面指派。",
        f"unassigned:{case.kind}:{case.id}",
        now,
    )


def _decide(
    session: Session, tenant_id: int, found: Desk, setting: AssignmentSetting, case: Case, now: dt.datetime
) -> AssignmentDecision:
    pointer_attr = f"last_{case.kind}_user_id"
    user_id, explanation = found.choose(case, getattr(setting, pointer_attr))
    mode = setting.mode
    if user_id is not None:
        found.add(user_id, case)
        setattr(setting, pointer_attr, user_id)
        status = "monitor" if mode == "monitor" else "pending"
    else:
        status = "monitor" if mode == "monitor" else "unassigned"
        if mode == "active":
            _notify_unassigned(session, tenant_id, case, now)
    decision = AssignmentDecision(
        tenant_id=tenant_id,
        kind=case.kind,
        case_id=case.id,
        case_number=case.number,
        mode=mode,
        rules_version=found.rules.version,
        user_id=user_id,
        status=status,
        eligible=len(explanation["eligible"]),
        explanation=explanation,
        decided_at=now,
    )
    session.add(decision)
    return decision


def on_case_events(session: Session, tenant_id: int, changes: list[CaseChange]) -> int:
    """Decide for each newly reported claim that has no assignee (one the source assigned keeps it).
    Nothing happens for a tenant without handler profiles. Returns the number of decisions."""
    reported = [change.claim_id for change in changes if change.event_type == EventType.REPORTED.value]
    if not reported or not repository.has_profiles(session):
        return 0
    claims = [c for c in repository.claims_by_ids(session, reported) if c.assignee_id is None and c.closed_at is None]
    if not claims:
        return 0
    now = utc_now()
    found = desk(session, tenant_id, now)
    setting = _setting(session, tenant_id)
    for claim in claims:
        _decide(session, tenant_id, found, setting, _claim_case(claim), now)
    session.flush()
    return len(claims)


def on_complaints_received(session: Session, tenant_id: int, complaints: list[Complaint]) -> int:
    """Decide for new open complaints without a handler; active mode assigns at once (a complaint event)."""
    waiting = [c for c in complaints if c.handler_id is None and c.status not in ("closed", "withdrawn", "decided")]
    if not waiting or not repository.has_profiles(session):
        return 0
    now = utc_now()
    found = desk(session, tenant_id, now)
    setting = _setting(session, tenant_id)
    for complaint in waiting:
        decision = _decide(session, tenant_id, found, setting, _complaint_case(complaint), now)
        if decision.status == "pending" and decision.user_id is not None:
            user = found.profiles[decision.user_id][1]
            _assign_complaint(session, complaint, user, SYSTEM_ACTOR, f"分派规则 {found.rules.version}", now)
            decision.status = "applied"
            decision.applied_at = now
    session.flush()
    return len(waiting)


def _assign_complaint(
    session: Session, complaint: Complaint, user: User, actor: str, reason: str, now: dt.datetime
) -> None:
    before = complaint.handler_id
    complaint.handler_id = user.id
    complaints_service.record_event(
        session, complaint, "assigned", now, actor, reason, handler=user.username, before=before
    )


def _system_principal(tenant_id: int) -> Principal:
    return Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor=SYSTEM_ACTOR)


def _assign_claims(
    session: Session, principal: Principal, items: list[tuple[Claim, User, str]], now: dt.datetime
) -> list[int]:
    """One ``assigned`` case event per claim through the cases service (audit chain); the seqs."""
    states = cases_repository.claim_states(session, sorted({claim.number for claim, _, _ in items}))
    events = []
    for claim, user, reason in items:
        last = states[claim.number].last_event_at if claim.number in states else None
        occurred = max(now, last) if last is not None else now
        events.append(
            EventIn(
                event_id=f"asg-{claim.id}-{int(now.timestamp() * 1_000_000)}",
                claim_number=claim.number,
                type=EventType.ASSIGNED,
                occurred_at=occurred,
                actor=principal.actor,
                reason=reason,
                assignee=user.username,
            )
        )
    acks = cases_service.ingest_events(session, principal, events) if events else []
    return [ack.audit_seq for ack in acks]


def _still_fits(found: Desk, decision: AssignmentDecision, user_id: int, claim: Claim) -> bool:
    """Whether a pending decision still holds: the handler is eligible (capacity aside), or, for a
    green-channel claim given to the unit's supervisor, the supervisor still takes work."""
    if (decision.explanation or {}).get("green_channel") == "supervisor":
        return user_id in found.profiles and found.available(user_id)
    return found.refusal(user_id, _claim_case(claim)) in (None, "capacity")


def apply_pending(session: Session, tenant_id: int, limit: int = 500) -> int:
    """Apply the tenant's pending claim decisions as ``assigned`` case events (the chain is free here).
    A claim assigned meanwhile (by the source system or a supervisor) or closed keeps its state: skipped.
    A handler who went on leave or was deactivated meanwhile is decided again."""
    pending = repository.pending_decisions(session, limit)
    if not pending:
        return 0
    audit_service.open_chain(session, tenant_id).close()
    now = utc_now()
    claims = {claim.id: claim for claim in repository.claims_by_ids(session, [d.case_id for d in pending])}
    found = desk(session, tenant_id, now)
    setting = _setting(session, tenant_id)
    todo: list[tuple[Claim, User, str]] = []
    for decision in pending:
        claim = claims.get(decision.case_id)
        if claim is None or claim.assignee_id is not None or claim.closed_at is not None:
            decision.status = "skipped"
            decision.applied_at = now
            continue
        user_id = decision.user_id
        if user_id is None or not _still_fits(found, decision, user_id, claim):
            decision.status = "skipped"
            decision.applied_at = now
            redo = _decide(session, tenant_id, found, setting, _claim_case(claim), now)
            if redo.status != "pending" or redo.user_id is None:
                continue
            decision, user_id = redo, redo.user_id
        todo.append((claim, found.profiles[user_id][1], f"分派规则 {decision.rules_version}"))
        decision.status = "applied"
        decision.applied_at = now
    _assign_claims(session, _system_principal(tenant_id), todo, now)
    session.flush()
    return len(todo)


# -- handler profiles and leave ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileChange:
    username: str
    lines: list[str]
    claim_types: list[str]
    authority: Decimal | None
    org_code: str | None
    region_codes: list[str]
    capacity: int
    handles_claims: bool
    handles_complaints: bool
    active: bool
    green_channel: bool = False  # takes green-channel claims first (the named manual-assistance handler)


def _user(session: Session, tenant_id: int, username: str, field_name: str = "username") -> User:
    user = auth_repository.user_by_username(session, username.strip())
    # Users are not tenant-scoped rows: another insurer's user looks like no user at all.
    if user is None or user.tenant_id != tenant_id or user.role not in ROLE_PERMISSIONS[Permission.BE_ASSIGNED]:
        raise NotFound(field_name, f"no handler {username!r} in this tenant")
    return user


def _fen(amount: Decimal | None) -> int | None:
    return None if amount is None else int((amount * 100).to_integral_value())


def save_profile(session: Session, principal: Principal, change: ProfileChange) -> HandlerProfile:
    principal.require(Permission.MANAGE_ASSIGNMENT)
    tenant_id = _tenant(principal)
    audit_service.open_chain(session, tenant_id).close()
    user = _user(session, tenant_id, change.username)
    lines = sorted(set(change.lines))
    known_lines = set(workflow_service.lines())
    for line in lines:
        if line not in known_lines:
            raise Invalid("lines", f"unknown line of business {line!r} (known: {', '.join(sorted(known_lines))})")
    regions = sorted(set(change.region_codes))
    for code in regions:
        if code not in tenancy_service.region_codes():
            raise Invalid("region_codes", f"unknown region code {code!r}")
    org_unit_id = None
    if change.org_code:
        unit = tenancy_repository.org_unit_by_code(session, change.org_code)
        if unit is None:
            raise Invalid("org_code", f"unknown org unit {change.org_code!r}")
        org_unit_id = unit.id
    if not 0 < change.capacity <= 10_000:
        raise Invalid("capacity", "capacity must be between 1 and 10000 open cases")
    if change.authority is not None and change.authority < 0:
        raise Invalid("authority", "authority must not be negative")
    types = sorted({t.strip() for t in change.claim_types if t.strip()})
    profile = repository.profile_for(session, user.id)
    if profile is None:
        profile = HandlerProfile(tenant_id=tenant_id, user_id=user.id)
        session.add(profile)
    profile.lines = lines
    profile.claim_types = types
    profile.authority_fen = _fen(change.authority)
    profile.org_unit_id = org_unit_id
    profile.region_codes = regions
    profile.capacity = change.capacity
    profile.handles_claims = change.handles_claims
    profile.handles_complaints = change.handles_complaints
    profile.green_channel = change.green_channel
    profile.active = change.active
    profile.updated_at = utc_now()
    profile.updated_by = principal.actor
    audit_service.record(
        session,
        tenant_id,
        "config.handler_profile",
        user.username,
        principal.actor,
        {
            "user": user.username,
            "lines": lines,
            "claim_types": types,
            "authority": str(change.authority) if change.authority is not None else None,
            "org_code": change.org_code or None,
            "region_codes": regions,
            "capacity": change.capacity,
            "handles_claims": change.handles_claims,
            "handles_complaints": change.handles_complaints,
            "green_channel": change.green_channel,
            "active": change.active,
        },
    )
    session.flush()
    return profile


def add_leave(
    session: Session, principal: Principal, username: str, starts_on: dt.date, ends_on: dt.date, note: str | None
) -> HandlerLeave:
    principal.require(Permission.MANAGE_ASSIGNMENT)
    tenant_id = _tenant(principal)
    if ends_on < starts_on:
        raise Invalid("ends_on", "the leave ends before it starts")
    if (ends_on - starts_on).days > 366:
        raise Invalid("ends_on", "a leave period is at most a year")
    audit_service.open_chain(session, tenant_id).close()
    user = _user(session, tenant_id, username)
    leave = HandlerLeave(
        tenant_id=tenant_id,
        user_id=user.id,
        starts_on=starts_on,
        ends_on=ends_on,
        note=(note or "").strip()[:200] or None,
        created_by=principal.actor,
        created_at=utc_now(),
    )
    session.add(leave)
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "config.handler_leave",
        user.username,
        principal.actor,
        {"action": "add", "id": leave.id, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
    )
    return leave


def remove_leave(session: Session, principal: Principal, leave_id: int) -> None:
    principal.require(Permission.MANAGE_ASSIGNMENT)
    tenant_id = _tenant(principal)
    audit_service.open_chain(session, tenant_id).close()
    leave = repository.leave_by_id(session, leave_id)
    if leave is None:
        raise NotFound("leave", f"no leave period {leave_id}")
    user = auth_repository.user_by_id(session, leave.user_id)
    audit_service.record(
        session,
        tenant_id,
        "config.handler_leave",
        user.username if user else str(leave.user_id),
        principal.actor,
        {
            "action": "remove",
            "id": leave.id,
            "starts_on": leave.starts_on.isoformat(),
            "ends_on": leave.ends_on.isoformat(),
        },
    )
    session.delete(leave)
    session.flush()


# -- supervisors: scope and rebalancing -------------------------------------------------------------


def supervisor_path(session: Session, principal: Principal) -> str | None:
    """The org path a supervisor oversees (their unit's subtree); None: the whole tenant."""
    if principal.role is not Role.SUPERVISOR or principal.user_id is None:
        return None
    user = auth_repository.user_by_id(session, principal.user_id)
    if user is None or user.org_unit_id is None:
        return None
    paths = {unit.id: unit.path for unit in tenancy_repository.org_units(session)}
    return paths.get(user.org_unit_id)


def in_subtree(path: str | None, org_paths: dict[int, str], org_unit_id: int | None) -> bool:
    if path is None or org_unit_id is None:
        return True
    return org_paths.get(org_unit_id, "").startswith(path)


@dataclass(frozen=True)
class Rebalanced:
    handler: str
    claims: list[str]
    complaints: list[str]
    audit_seq: int


def _message(locale: str, code: str, user: str, case: str) -> str:
    return translate(locale, REFUSALS[code]) % {"user": user, "case": case}


def rebalance(
    session: Session,
    principal: Principal,
    claim_numbers: Collection[str],
    complaint_numbers: Collection[str],
    handler: str,
    reason: str,
    locale: str = "en",
) -> Rebalanced:
    """Reassign the selected cases to one handler, with a reason (audited; each claim also gets an
    ``assigned`` case event, each complaint an ``assigned`` complaint event). Nothing is written if one
    case or the target is refused: 422 naming the field."""
    principal.require(Permission.MANAGE_ASSIGNMENT)
    tenant_id = _tenant(principal)
    cleaned = (reason or "").strip()
    if not cleaned:
        raise Invalid("reason", translate(locale, N_("a reason is required to reassign cases")))
    if len(cleaned) > MAX_REASON:
        raise Invalid("reason", translate(locale, N_("the reason is too long (at most 500 characters)")))
    claim_numbers = sorted({n.strip() for n in claim_numbers if n.strip()})
    complaint_numbers = sorted({n.strip() for n in complaint_numbers if n.strip()})
    if not claim_numbers and not complaint_numbers:
        raise Invalid("cases", translate(locale, N_("select at least one case")))
    if len(claim_numbers) + len(complaint_numbers) > MAX_REBALANCE:
        raise Invalid("cases", translate(locale, N_("at most 200 cases at a time")))
    audit_service.open_chain(session, tenant_id).close()
    now = utc_now()
    found = desk(session, tenant_id, now)
    target = auth_repository.user_by_username(session, (handler or "").strip())
    if target is None or target.tenant_id != tenant_id or target.id not in found.profiles:
        raise Invalid("handler", translate(locale, N_("choose a handler who has a handler profile")))
    scope = supervisor_path(session, principal)
    profile = found.profiles[target.id][0]
    if not in_subtree(scope, found.org_paths, profile.org_unit_id) or (
        scope is not None and profile.org_unit_id is None
    ):
        raise Invalid("handler", translate(locale, N_("the handler is outside your org unit")))
    claims = {c.number: c for c in repository.claims_by_numbers(session, claim_numbers)}
    complaints = {c.number: c for c in repository.complaints_by_numbers(session, complaint_numbers)}
    for number in claim_numbers:
        if number not in claims:
            raise Invalid("claims", translate(locale, N_("no claim %(number)s")) % {"number": number})
    for number in complaint_numbers:
        if number not in complaints:
            raise Invalid("complaints", translate(locale, N_("no complaint %(number)s")) % {"number": number})
    types = _claim_types(session, [c.id for c in claims.values()])
    lights = {item.id: item.light for item in repository.open_claims(session, [c.id for c in claims.values()])}
    moving: list[tuple[Case, Claim | Complaint]] = []
    for number in claim_numbers:
        claim = claims[number]
        if claim.closed_at is not None:
            raise Invalid("claims", translate(locale, N_("claim %(number)s is closed")) % {"number": number})
        if not in_subtree(scope, found.org_paths, claim.org_unit_id):
            raise Invalid(
                "claims", translate(locale, N_("claim %(number)s is outside your org unit")) % {"number": number}
            )
        moving.append((_claim_case(claim, types.get(claim.id), lights.get(claim.id, "green")), claim))
    for number in complaint_numbers:
        complaint = complaints[number]
        if complaint.status in ("closed", "withdrawn"):
            raise Invalid("complaints", translate(locale, N_("complaint %(number)s is closed")) % {"number": number})
        if not in_subtree(scope, found.org_paths, complaint.org_unit_id):
            raise Invalid(
                "complaints",
                translate(locale, N_("complaint %(number)s is outside your org unit")) % {"number": number},
            )
        moving.append((_complaint_case(complaint), complaint))
    for case, row in moving:
        current = row.assignee_id if isinstance(row, Claim) else row.handler_id
        if current == target.id:
            continue
        code = found.refusal(target.id, case)
        if code is not None:
            raise Invalid("handler", _message(locale, code, target.display_name or target.username, case.number))
        found.add(target.id, case)
    seq = audit_service.record(
        session,
        tenant_id,
        "assignment.rebalance",
        target.username,
        principal.actor,
        {"handler": target.username, "claims": claim_numbers, "complaints": complaint_numbers, "reason": cleaned},
    )
    to_move = [(row, target, cleaned) for _, row in moving if isinstance(row, Claim) and row.assignee_id != target.id]
    _assign_claims(session, principal, to_move, now)
    for _, row in moving:
        if isinstance(row, Complaint) and row.handler_id != target.id:
            _assign_complaint(session, row, target, principal.actor, cleaned, now)
    session.flush()
    return Rebalanced(target.username, claim_numbers, complaint_numbers, seq)


def _claim_types(session: Session, claim_ids: list[int]) -> dict[int, str]:
    if not claim_ids:
        return {}
    rows = session.execute(
        select(MaterialsProfile.claim_id, MaterialsProfile.claim_type).where(MaterialsProfile.claim_id.in_(claim_ids))
    )
    return {claim_id: claim_type for claim_id, claim_type in rows}


# -- load history -----------------------------------------------------------------------------------


def take_snapshot(session: Session, tenant_id: int, now: dt.datetime | None = None) -> int:
    """One row per handler with a profile, and one for the unassigned queue. Returns rows written."""
    now = now or utc_now()
    found = desk(session, tenant_id, now)
    rows = 0
    for user_id, (profile, _) in sorted(found.profiles.items()):
        load = found.loads.get(user_id, Load())
        session.add(
            LoadSnapshot(
                tenant_id=tenant_id,
                taken_at=now,
                user_id=user_id,
                open_claims=load.claims,
                open_complaints=load.complaints,
                weighted_load=round(load.weighted, 3),
                capacity=profile.capacity,
            )
        )
        rows += 1
    claims, complaints = repository.unassigned_counts(session)
    session.add(
        LoadSnapshot(
            tenant_id=tenant_id,
            taken_at=now,
            user_id=None,
            open_claims=claims,
            open_complaints=complaints,
            weighted_load=0.0,
        )
    )
    session.flush()
    return rows + 1


def backfill_snapshots(
    session: Session, tenant_id: int, since: dt.datetime, until: dt.datetime, step: dt.timedelta, note: str
) -> int:
    """Reconstruct load history from the record (e.g. right after handlers get profiles): at each step, a
    handler's open claims are those assigned to them (first ``assigned`` event) and not yet closed; the
    queue, claims reported and not yet assigned. Lights are not historical: every case counts as green.
    Returns snapshots written (times × rows)."""
    found = desk(session, tenant_id, until)
    first_assigned = dict(
        session.execute(
            select(CaseEvent.claim_id, func.min(CaseEvent.occurred_at))
            .where(CaseEvent.event_type == EventType.ASSIGNED.value)
            .group_by(CaseEvent.claim_id)
        ).all()
    )
    claims = session.execute(
        select(Claim.id, Claim.assignee_id, Claim.reported_at, Claim.closed_at, Claim.reported_amount_fen).where(
            (Claim.closed_at.is_(None)) | (Claim.closed_at >= since), Claim.reported_at < until
        )
    ).all()
    rows = 0
    at = since
    while at <= until:
        loads: dict[int, Load] = {}
        queue = 0
        for claim_id, assignee_id, reported_at, closed_at, amount in claims:
            if reported_at > at or (closed_at is not None and closed_at <= at):
                continue
            assigned_at = first_assigned.get(claim_id)
            if assigned_at is None or assigned_at > at or assignee_id is None:
                queue += 1
                continue
            load = loads.setdefault(assignee_id, Load())
            load.claims += 1
            load.weighted += found.rules.weight("claim", amount, "green")
        for user_id, (profile, _) in found.profiles.items():
            load = loads.get(user_id, Load())
            session.add(
                LoadSnapshot(
                    tenant_id=tenant_id,
                    taken_at=at,
                    user_id=user_id,
                    open_claims=load.claims,
                    open_complaints=0,
                    weighted_load=round(load.weighted, 3),
                    capacity=profile.capacity,
                    note=note,
                )
            )
            rows += 1
        session.add(
            LoadSnapshot(
                tenant_id=tenant_id,
                taken_at=at,
                user_id=None,
                open_claims=queue,
                open_complaints=0,
                weighted_load=0.0,
                note=note,
            )
        )
        rows += 1
        at += step
    session.flush()
    return rows
