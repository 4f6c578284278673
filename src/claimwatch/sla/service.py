"""SLA clock actions. Case events and signals drive the clocks; staff suspend and extend them.

Lock order, to keep PostgreSQL free of deadlocks: a transaction that changes clocks takes the
tenant's audit-chain head first (ingestion already holds it), then the clock rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import AccessDenied, Principal
from claimwatch.calendar import service as calendar_service
from claimwatch.calendar.workdays import Axis, Unit
from claimwatch.cases.events import CaseChange
from claimwatch.cases.models import Claim
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, NotFound
from claimwatch.sla import engine, repository
from claimwatch.sla.engine import ClockState
from claimwatch.sla.loader import SIGNALS, Policy, policies_for_tenant
from claimwatch.sla.models import ClockColumns, SlaClock, SlaClockEvent
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.workflow.loader import ROUTE_NORMAL

SYSTEM_ACTOR = "system:sla"


class Axes:
    """The axis of each unit for one tenant, built once per transaction."""

    def __init__(self, session: Session, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self._axes: dict[Unit, Axis] = {}

    def __call__(self, unit: str | Unit) -> Axis:
        axis = self._axes.get(unit)  # type: ignore[arg-type]  # a StrEnum: "hours" finds Unit.HOURS
        if axis is None:
            unit = Unit(unit)
            axis = self._axes[unit] = calendar_service.axis_for(self.session, self.tenant_id, unit)
        return axis


def tenant_policies(session: Session, tenant_id: int) -> dict[str, Policy]:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    assert tenant is not None
    return policies_for_tenant(tenant.code)


class _ClockBook:
    """The clocks of a set of claims while a batch of changes is applied to them."""

    def __init__(
        self, session: Session, tenant_id: int, claim_ids: set[int], routes: dict[int, str] | None = None
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.claim_ids = claim_ids
        self.axes = Axes(session, tenant_id)
        self.policies = tenant_policies(session, tenant_id)
        # The claims' routes (claims.route), read only when a route-selected policy could start.
        self.routes = routes
        self.latest: dict[tuple[int, str], ClockState] = {}
        for clock in repository.clock_states(session, tenant_id, claim_ids):
            key = (clock.claim_id, clock.policy_code)
            if key not in self.latest or self.latest[key].cycle < clock.cycle:
                self.latest[key] = clock
        self._starting: dict[tuple[bool, str | None], list[Policy]] = {}
        self.new: list[ClockState] = []
        self.log: list[
            tuple[ClockState, str, dt.datetime, str, str | None, dt.datetime | None, dt.datetime | None]
        ] = []

    def note(
        self,
        clock: ClockState,
        kind: str,
        at: dt.datetime,
        actor: str,
        reason: str | None = None,
        due_before: dt.datetime | None = None,
        due_after: dt.datetime | None = None,
    ) -> None:
        self.log.append((clock, kind, at, actor, reason, due_before, due_after))

    def start(self, policy: Policy, claim_id: int, at: dt.datetime, actor: str) -> None:
        previous = self.latest.get((claim_id, policy.code))
        if previous is not None and previous.state != engine.STOPPED:
            return
        cycle = previous.cycle + 1 if previous is not None else 1
        clock = engine.new_clock(self.axes(policy.unit), policy, self.tenant_id, claim_id, cycle, at)
        self.new.append(clock)
        self.latest[(claim_id, policy.code)] = clock
        self.note(clock, "started", at, actor, due_after=clock.yellow_due_at)

    def route(self, claim_id: int) -> str:
        if self.routes is None:
            self.routes = repository.claim_routes(self.session, self.claim_ids)
        return self.routes.get(claim_id, ROUTE_NORMAL)

    def open_clocks(self, claim_id: int) -> list[tuple[ClockState, Policy]]:
        found = []
        for code, policy in self.policies.items():
            clock = self.latest.get((claim_id, code))
            if clock is not None and clock.state != engine.STOPPED:
                found.append((clock, policy))
        return found

    def starting(self, reported: bool, to_status: str | None) -> list[Policy]:
        """The policies a change starts (or restarts), in policy order: worked out once per kind of change."""
        key = (reported, to_status)
        found = self._starting.get(key)
        if found is None:
            found = self._starting[key] = [
                policy
                for policy in self.policies.values()
                if (reported and "reported" in policy.start_events)
                or (
                    to_status is not None
                    and (to_status in policy.start_statuses or to_status in policy.restart_statuses)
                )
            ]
        return found

    def apply(self, change: CaseChange) -> None:
        for clock, policy in self.open_clocks(change.claim_id):
            axis = self.axes(clock.unit)
            before = clock.yellow_due_at
            if change.to_status in policy.stop_statuses:
                if engine.stop(axis, clock, change.at):
                    self.note(clock, "stopped", change.at, change.actor, due_before=before)
            elif change.to_status in policy.pause_statuses and change.from_status not in policy.pause_statuses:
                if engine.pause(axis, clock, change.at):
                    self.note(clock, "paused", change.at, change.actor, reason=change.to_status, due_before=before)
            elif (
                change.from_status in policy.pause_statuses
                and change.to_status is not None
                and change.to_status not in policy.pause_statuses
            ):
                # Leaving the waiting status means the claimant answered (if no upload already did).
                if engine.resume(axis, clock, change.at):
                    self.note(
                        clock,
                        "resumed",
                        change.at,
                        change.actor,
                        reason=change.to_status,
                        due_after=clock.yellow_due_at,
                    )
        for policy in self.starting(change.event_type == "reported", change.to_status):
            # The claim's route is read only for a route-selected policy (claims.route, set by triage first).
            route = self.route(change.claim_id) if policy.routes is not None else ROUTE_NORMAL
            if not policy.applies_to(change.line, change.amount_fen, route, coverage=change.coverage):
                continue
            previous = self.latest.get((change.claim_id, policy.code))
            if (
                previous is not None
                and change.to_status in policy.restart_statuses
                and previous.state == engine.STOPPED
            ):
                self.start(policy, change.claim_id, change.at, change.actor)
            elif previous is None:
                self.start(policy, change.claim_id, change.at, change.actor)

    def signal(
        self, claim_id: int, name: str, at: dt.datetime, actor: str, reason: str | None, claim: Claim | None = None
    ) -> int:
        """Stop, pause or resume the claim's open clocks on ``name``; then start the clocks that start on it
        (``claim`` given: the art. 23 decision clock starts when the materials are complete), once per cycle."""
        changed = 0
        for clock, policy in self.open_clocks(claim_id):
            axis = self.axes(clock.unit)
            before = clock.yellow_due_at
            if name in policy.stop_signals:
                if engine.stop(axis, clock, at):
                    self.note(clock, "stopped", at, actor, reason=reason or name, due_before=before)
                    changed += 1
            elif name in policy.pause_signals:
                if engine.pause(axis, clock, at):
                    self.note(clock, "paused", at, actor, reason=reason or name, due_before=before)
                    changed += 1
            elif name in policy.resume_signals:
                if engine.resume(axis, clock, at):
                    self.note(clock, "resumed", at, actor, reason=reason or name, due_after=clock.yellow_due_at)
                    changed += 1
        if claim is not None:
            for policy in self.policies.values():
                if (
                    name in policy.start_signals
                    and (claim_id, policy.code) not in self.latest
                    and policy.applies_to(claim.line, claim.reported_amount_fen, claim.route, claim.coverage)
                ):
                    self.start(policy, claim_id, at, actor)
                    changed += 1
        return changed

    def reroute(self, change: RouteChange) -> int:
        """The claim's route changed: void the open clocks of route policies that no longer apply and start
        those that now apply and whose start already happened (the report, or the status the claim is in)."""
        changed = 0
        for clock, policy in self.open_clocks(change.claim_id):
            if policy.routes is None or change.route in policy.routes:
                continue
            before = clock.yellow_due_at
            if engine.void(self.axes(clock.unit), clock, change.at):
                reason = f"route {change.route}" + (f": {change.reason}" if change.reason else "")
                self.note(clock, "stopped", change.at, change.actor, reason=reason, due_before=before)
                changed += 1
        for policy in self.policies.values():
            if policy.routes is None or not policy.applies_to(change.line, change.amount_fen, change.route):
                continue
            if not ("reported" in policy.start_events or change.status in policy.start_statuses):
                continue
            previous = self.latest.get((change.claim_id, policy.code))
            if previous is None or previous.state == engine.STOPPED:
                self.start(policy, change.claim_id, change.at, change.actor)
                changed += 1
        return changed

    def flush(self) -> None:
        """Write new and changed clocks and their log in three bulk statements."""
        repository.insert_clock_states(self.session, self.new)
        fresh = {id(clock) for clock in self.new}
        changed = {id(clock): clock for clock, *_ in self.log if id(clock) not in fresh}
        repository.update_clock_states(self.session, sorted(changed.values(), key=lambda c: c.id or 0))
        repository.insert_clock_events(
            self.session,
            [
                (self.tenant_id, clock.id, kind, at, actor, reason, None, due_before, due_after)
                for clock, kind, at, actor, reason, due_before, due_after in self.log
            ],
        )
        self.new = []
        self.log = []


def on_case_events(session: Session, tenant_id: int, changes: list[CaseChange]) -> None:
    """Drive the clocks with a batch of applied case events, in order, in the caller's transaction.

    The caller holds the tenant's audit chain (the case events themselves are the audit record).
    """
    if not changes:
        return
    book = _ClockBook(session, tenant_id, {change.claim_id for change in changes})
    for change in changes:
        book.apply(change)
    book.flush()


@dataclass(frozen=True)
class RouteChange:
    """Triage moved a claim to ``route`` (claims.route is already updated) at ``at``."""

    claim_id: int
    line: str
    amount_fen: int | None
    status: str
    route: str
    at: dt.datetime
    actor: str
    reason: str | None = None

    @classmethod
    def of(cls, claim: Claim, at: dt.datetime, actor: str, reason: str | None = None) -> RouteChange:
        return cls(claim.id, claim.line, claim.reported_amount_fen, claim.status, claim.route, at, actor, reason)


def route_changed(session: Session, tenant_id: int, changes: list[RouteChange]) -> int:
    """Triage changed the route of claims (at report time or later): the policies selected by ``routes:``
    follow it. Returns how many clocks started or were voided. Safe in either order with the case-event
    subscription: a clock already started is not started twice. The caller records the decision in the
    audit chain (the clocks' log names the route and the reason)."""
    if not changes:
        return 0
    routes = {change.claim_id: change.route for change in changes}
    book = _ClockBook(session, tenant_id, set(routes), routes)
    changed = sum(book.reroute(change) for change in changes)
    book.flush()
    return changed


def expected_completion(session: Session, tenant_id: int, claim_ids: list[int]) -> dict[int, dt.datetime]:
    """The target of each claim's timeliness clock (small, middle or large tier): what the claimant is
    told to expect. Claims whose clock is paused or has no computable deadline are left out."""
    return {
        claim_id: due
        for claim_id, due in repository.due_dates(session, tenant_id, claim_ids, "timeliness_")
        if due is not None
    }


def signal(
    session: Session, tenant_id: int, claim_id: int, name: str, at: dt.datetime, actor: str, reason: str | None = None
) -> int:
    """Tell the claim's clocks that something happened outside the workflow: the one-time
    missing-materials notice went out (``materials_requested``) or the awaited documents arrived
    (``materials_received``), the checklist is complete (``materials_complete``), the refusal notice was
    sent (``refusal_notice_sent``). Returns how many clocks changed; audited when any did."""
    if name not in SIGNALS:
        raise ValueError(f"unknown SLA signal {name!r} (known: {', '.join(sorted(SIGNALS))})")
    chain = audit_service.open_chain(session, tenant_id)
    chain.close()
    book = _ClockBook(session, tenant_id, {claim_id})
    starts = any(name in policy.start_signals for policy in book.policies.values())
    claim = session.get(Claim, claim_id) if starts else None
    changed = book.signal(claim_id, name, at, actor, reason, claim)
    book.flush()
    if changed:
        audit_service.record(
            session,
            tenant_id,
            "sla.signal",
            str(claim_id),
            actor,
            {"claim_id": claim_id, "signal": name, "at": at.isoformat()},
        )
    return changed


# -- staff actions: suspension and extension ---------------------------------------------------


class ClockNotFound(NotFound):
    """No such policy, or the claim has no clock of it (404, field ``policy``)."""

    def __init__(self, message: str) -> None:
        super().__init__("policy", message)


class ClockActionRefused(Conflict):
    """The clock's state refuses the staff action (409)."""

    def __init__(self, message: str, field: str = "policy") -> None:
        super().__init__(field, message)


def _open_clock(session: Session, claim: Claim, policy_code: str) -> tuple[SlaClock, Policy]:
    policies = tenant_policies(session, claim.tenant_id)
    policy = policies.get(policy_code)
    if policy is None:
        raise ClockNotFound(f"unknown policy {policy_code!r} (known: {', '.join(sorted(policies))})")
    clocks = [c for c in repository.clocks_for_claims(session, [claim.id]) if c.policy_code == policy_code]
    if not clocks:
        raise ClockNotFound(f"claim {claim.number} has no {policy_code} clock")
    return max(clocks, key=lambda c: c.cycle), policy


def _staff_action(
    session: Session, principal: Principal, claim: Claim, policy_code: str, kind: str, reason: str, at: dt.datetime
) -> tuple[SlaClock, Policy, Axis, dt.datetime | None]:
    if not reason or not reason.strip():
        raise ClockActionRefused(f"{kind} needs a reason", field="reason")
    if at > utc_now() + dt.timedelta(minutes=5):
        raise ClockActionRefused("'at' is in the future", field="at")
    audit_service.open_chain(session, claim.tenant_id).close()
    clock, policy = _open_clock(session, claim, policy_code)
    if clock.state == engine.STOPPED:
        raise ClockActionRefused(f"the {policy_code} clock of claim {claim.number} has stopped")
    axis = Axes(session, claim.tenant_id)(clock.unit)
    return clock, policy, axis, clock.yellow_due_at


def _record(
    session: Session, principal: Principal, claim: Claim, clock: SlaClock, kind: str, at: dt.datetime, **extra: Any
) -> None:
    session.add(
        SlaClockEvent(tenant_id=claim.tenant_id, clock_id=clock.id, kind=kind, at=at, actor=principal.actor, **extra)
    )
    payload = {
        "claim": claim.number,
        "policy": clock.policy_code,
        "cycle": clock.cycle,
        "action": kind,
        "at": at.isoformat(),
        "reason": extra.get("reason"),
        "amount": extra.get("amount"),
        "due_after": clock.yellow_due_at.isoformat() if clock.yellow_due_at else None,
    }
    audit_service.record(session, claim.tenant_id, f"sla.{kind}", claim.number, principal.actor, payload)
    session.flush()


def suspend(
    session: Session, principal: Principal, claim: Claim, policy_code: str, reason: str, at: dt.datetime | None = None
) -> SlaClock:
    """Exclude time by law (e.g. external appraisal): the clock stops counting until the suspension ends."""
    at = at or utc_now()
    clock, _, axis, before = _staff_action(session, principal, claim, policy_code, "suspension", reason, at)
    if not engine.pause(axis, clock, at, suspension=True):
        raise ClockActionRefused(f"the {policy_code} clock is already suspended")
    _record(session, principal, claim, clock, "suspended", at, reason=reason, due_before=before)
    return clock


def end_suspension(
    session: Session, principal: Principal, claim: Claim, policy_code: str, reason: str, at: dt.datetime | None = None
) -> SlaClock:
    at = at or utc_now()
    clock, _, axis, before = _staff_action(session, principal, claim, policy_code, "ending a suspension", reason, at)
    if clock.suspended_since is not None and at < clock.suspended_since:
        raise ClockActionRefused("a suspension cannot end before it began", field="at")
    if not engine.resume(axis, clock, at, suspension=True):
        raise ClockActionRefused(f"the {policy_code} clock is not suspended")
    _record(
        session,
        principal,
        claim,
        clock,
        "suspension_ended",
        at,
        reason=reason,
        due_before=before,
        due_after=clock.yellow_due_at,
    )
    return clock


def extend(
    session: Session, principal: Principal, claim: Claim, policy_code: str, amount: float, reason: str
) -> SlaClock:
    """A reasoned extension approved by a role the policy names, bounded by the policy's maximum."""
    at = utc_now()
    clock, policy, axis, before = _staff_action(session, principal, claim, policy_code, "an extension", reason, at)
    if principal.role.value not in policy.approver_roles:
        raise AccessDenied(f"role {principal.role.value!r} may not approve extensions of {policy_code}")
    engine.extend(axis, clock, policy, amount, at)  # raises ExtensionRefused (409)
    _record(
        session,
        principal,
        claim,
        clock,
        "extended",
        at,
        reason=reason,
        amount=amount,
        due_before=before,
        due_after=clock.yellow_due_at,
    )
    return clock


# -- calendar edits ------------------------------------------------------------------------------


def recompute_open_clocks(session: Session, reason: str, actor: str, provisional_from: dt.date | None = None) -> int:
    """After a calendar edit: derive every open clock's deadlines again and record why when they move, or
    when a provisional (暂定) deadline became exact: ``provisional_from`` is the first day the calendar
    counted provisionally before the edit (``calendar.service.CalendarChange``).

    Runs in a system context (all tenants); takes each tenant's chain before its clocks.
    """
    tenant_ids = sorted(tenant.id for tenant in tenancy_repository.all_tenants(session))
    return _recompute(session, tenant_ids, reason, actor, provisional_from)


def recompute_tenant_clocks(session: Session, tenant_id: int, reason: str, actor: str) -> int:
    """After a tenant's business hours change."""
    return _recompute(session, [tenant_id], reason, actor)


def was_provisional(axis: Axis, due: dt.datetime | None, provisional_from: dt.date | None) -> bool:
    """Whether ``due`` was marked 暂定 on a calendar whose provisional years began on ``provisional_from``."""
    if due is None or provisional_from is None or axis.unit is Unit.HOURS:
        return False
    return (due - dt.timedelta(microseconds=1)).astimezone(axis.tz).date() >= provisional_from


ClockT = TypeVar("ClockT", bound=ClockColumns)


def refresh_deadlines(
    session: Session,
    tenant_id: int,
    clocks: Iterable[ClockT],
    provisional_from: dt.date | None = None,
    on_refresh: Callable[[ClockT], None] | None = None,
) -> Iterator[tuple[ClockT, dt.datetime | None]]:
    """Derive one tenant's open clocks' deadlines again on its calendar (after a calendar edit or new business
    hours) and yield, with its target (yellow) deadline before, each clock whose deadlines moved or whose
    provisional (暂定) deadline became exact. Claim, complaint and rectification clocks all go through here;
    each caller records why on its own record. ``on_refresh`` runs on every clock once it is derived again."""
    now = utc_now()
    axes = Axes(session, tenant_id)
    for clock in clocks:
        axis = axes(clock.unit)
        before = (clock.yellow_due_at, clock.red_due_at, clock.calendar_gap)
        provisional_before = was_provisional(axis, clock.yellow_due_at, provisional_from) or was_provisional(
            axis, clock.red_due_at, provisional_from
        )
        engine.refresh(axis, clock)
        if on_refresh is not None:
            on_refresh(clock)
        confirmed = provisional_before and not any(engine.provisional_dues(axis, clock))
        if (clock.yellow_due_at, clock.red_due_at, clock.calendar_gap) != before or confirmed:
            clock.updated_at = now
            yield clock, before[0]


def _recompute(
    session: Session, tenant_ids: list[int], reason: str, actor: str, provisional_from: dt.date | None = None
) -> int:
    now = utc_now()
    moved = 0
    for tenant_id in tenant_ids:
        audit_service.open_chain(session, tenant_id).close()
    by_tenant: dict[int, list[SlaClock]] = {}
    for clock in repository.open_clocks(session, tenant_ids):
        by_tenant.setdefault(clock.tenant_id, []).append(clock)
    for tenant_id in sorted(by_tenant):
        for clock, due_before in refresh_deadlines(session, tenant_id, by_tenant[tenant_id], provisional_from):
            session.add(
                SlaClockEvent(
                    tenant_id=tenant_id,
                    clock_id=clock.id,
                    kind="recomputed",
                    at=now,
                    actor=actor,
                    reason=reason,
                    due_before=due_before,
                    due_after=clock.yellow_due_at,
                )
            )
            moved += 1
    session.flush()
    return moved


# -- the supervisors' queue ------------------------------------------------------------------------


class EscalationNotFound(NotFound):
    """Unknown, another insurer's, or outside the supervisor's branch: all look the same (404)."""

    def __init__(self, message: str) -> None:
        super().__init__("escalation", message)


class AlreadyAcknowledged(ClockActionRefused):
    """Someone took the case in hand first (409)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="escalation")


def org_scope(session: Session, principal: Principal) -> set[int] | None:
    """A user attached to an org unit works that unit and the units below it; None: the whole tenant."""
    if principal.user_id is None:
        return None
    user = auth_repository.user_by_id(session, principal.user_id)
    if user is None or user.org_unit_id is None:
        return None
    units = tenancy_repository.org_units(session)
    mine = next((unit for unit in units if unit.id == user.org_unit_id), None)
    if mine is None:
        return None
    return {unit.id for unit in units if unit.path.startswith(mine.path)}


def acknowledge(session: Session, principal: Principal, escalation_id: int, note: str | None) -> None:
    """A supervisor takes an escalated case in hand (督办); audited."""
    escalation = repository.escalation(session, escalation_id)
    scope = org_scope(session, principal)
    # Outside the supervisor's branch it is as unknown as another insurer's.
    if escalation is None or (scope is not None and escalation.org_unit_id not in scope):
        raise EscalationNotFound(f"no escalation {escalation_id}")
    audit_service.open_chain(session, escalation.tenant_id).close()
    if escalation.status != "open":
        raise AlreadyAcknowledged(
            f"escalation {escalation_id} was already acknowledged by {escalation.acknowledged_by}"
        )
    escalation.status = "acknowledged"
    escalation.acknowledged_by = principal.actor
    escalation.acknowledged_at = utc_now()
    escalation.note = note
    audit_service.record(
        session,
        escalation.tenant_id,
        "sla.acknowledged",
        str(escalation_id),
        principal.actor,
        {"escalation": escalation_id, "clock": escalation.clock_id, "level": escalation.level, "note": note},
    )
