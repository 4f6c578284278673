"""A service request's deadlines on the SLA engine, as :mod:`claimwatch.policies.underwriting_clocks` runs the
underwriting turnaround: a :class:`ServiceRequestClock` row has the engine's columns, so the same arithmetic (elapsed
hours, the insurer's business hours, working days on its calendar; provisional 暂定 years) runs here.

Two clocks per request (``policy_code``):

- ``first_response``: from receipt to the first reply to the customer. The target is per priority
  (``defaults/servicedesk/service_levels.yaml``: 24 h normal, 8 h urgent, 2 h emergency), in elapsed hours or, when
  the insurer's file says so, business hours. A request received inside a declared :class:`PeakPeriod` of its
  category gets the period's target (36 h) and ``peak_period_id`` (:mod:`claimwatch.servicedesk.peak`); reports
  count it apart (:mod:`claimwatch.servicedesk.kpis`), so peak relief never hides a normal-time breach.
- ``resolution``: from receipt to resolution, the category's target (``categories.yaml``); restarted (a new cycle)
  when a resolved request is reopened.

Both are built in code from those files (as provider and underwriting clocks are): yellow at ``yellow_share`` of the
target (the handler is reminded), red at the target itself (the deadline; supervisors are told). Waiting on the
customer pauses every open clock. Stopping records met or breached against the deadline, ``missed_by`` in axis
seconds; a cancelled request voids its clocks (neither met nor late). No HTTP, no commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.calendar.workdays import Axis, CalendarYearMissing, Unit
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.servicedesk.models import PeakPeriod, ServiceRequest, ServiceRequestClock
from claimwatch.sla import engine, subject_clocks
from claimwatch.sla import service as sla_service
from claimwatch.sla.loader import Policy
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.web.i18n import N_
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
POLICY_CODES = (FIRST_RESPONSE, RESOLUTION)
LABELS: dict[str, str] = {FIRST_RESPONSE: N_("First response"), RESOLUTION: N_("Resolution")}
PRIORITIES = ("normal", "urgent", "emergency")
MET, BREACHED = "met", "breached"
DEFAULTS = PACKAGE_DIR / "defaults" / "servicedesk" / "service_levels.yaml"
OVERRIDES_SUBDIR = "servicedesk"
_COPIED = subject_clocks.COPIED
_UNITS = tuple(unit.value for unit in Unit)


# -- service_levels.yaml -----------------------------------------------------------------------------------


class ServiceLevelsError(ConfigFileError):
    """service_levels.yaml (or an insurer's override) is invalid; ``str()`` is ``file:line: problem``."""


@dataclass(frozen=True)
class ServiceLevels:
    response_unit: Unit = Unit.HOURS
    response_targets: dict[str, float] = field(
        default_factory=lambda: {"normal": 24.0, "urgent": 8.0, "emergency": 2.0}
    )
    yellow_share: float = 0.75
    resolution_target: float = 5.0
    resolution_unit: Unit = Unit.WORKING_DAYS
    peak_response_hours: float = 36.0
    peak_priorities: tuple[str, ...] = ("normal",)
    peak_max_days: int = 31
    peak_backdate_minutes: int = 10
    on_time_target: float = 0.95
    overdue_share_max: float = 0.05
    backlog_bands: tuple[int, ...] = (1, 3, 7)
    source: str = ""

    def response_target(self, priority: str) -> float:
        return self.response_targets.get(priority, self.response_targets["normal"])


_SECTIONS = {
    "first_response": {"unit", "targets"},
    "yellow_share": None,
    "resolution": {"target", "unit"},
    "peak": {"response_hours", "priorities", "max_days", "backdate_minutes"},
    "kpi": {"on_time_target", "overdue_share_max", "backlog_bands"},
}


def _positive(source: str, node: Mapping, key: str, whole: bool = False, upper: float | None = None) -> float:
    value = node.get(key)
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    ok = number is not None and number > 0 and (upper is None or number <= upper)
    if ok and whole and not isinstance(value, int):
        ok = False
    if not ok or number is None:
        kind = "a whole number" if whole else "a number"
        bound = f" at most {upper:g}" if upper is not None else ""
        raise ServiceLevelsError(source, line_of(node, key), f"'{key}' must be {kind} above 0{bound}, not {value!r}")
    return number


def _unit(source: str, node: Mapping, key: str) -> Unit:
    value = node.get(key)
    if value not in _UNITS:
        raise ServiceLevelsError(
            source, line_of(node, key), f"'{key}' must be one of {', '.join(_UNITS)}, not {value!r}"
        )
    return Unit(value)


def parse_levels(text: str, source: str, base: ServiceLevels | None = None) -> ServiceLevels:
    """The service-level file (or an insurer's override of ``base``: only the keys it names change)."""
    document = load_yaml(text, source, ServiceLevelsError)
    levels = replace(base or ServiceLevels(), source=source)
    if document is None:
        return levels
    if not isinstance(document, Mapping):
        raise ServiceLevelsError(source, 1, "the file is a mapping (first_response, yellow_share, resolution, …)")
    values: dict[str, Any] = {}
    for key, node in document.items():
        if key not in _SECTIONS:
            raise ServiceLevelsError(
                source, line_of(document, key), f"unknown key {key!r} (allowed: {', '.join(_SECTIONS)})"
            )
        if key == "yellow_share":
            values["yellow_share"] = _positive(source, document, key, upper=0.99)
            continue
        if not isinstance(node, Mapping):
            raise ServiceLevelsError(source, line_of(document, key), f"'{key}' must be a mapping")
        unknown = sorted(set(node) - (_SECTIONS[key] or set()))
        if unknown:
            allowed = ", ".join(sorted(_SECTIONS[key] or ()))
            raise ServiceLevelsError(
                source, line_of(node, unknown[0]), f"unknown key {unknown[0]!r} (allowed: {allowed})"
            )
        values.update(_section(source, key, node, levels))
    return replace(levels, **values)


def _section(source: str, key: str, node: Mapping, base: ServiceLevels) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if key == "first_response":
        if "unit" in node:
            unit = _unit(source, node, "unit")
            if unit not in (Unit.HOURS, Unit.BUSINESS_HOURS):
                raise ServiceLevelsError(source, line_of(node, "unit"), "'unit' must be hours or business_hours")
            values["response_unit"] = unit
        if "targets" in node:
            targets = node["targets"]
            if not isinstance(targets, Mapping):
                raise ServiceLevelsError(source, line_of(node, "targets"), "'targets' maps priorities to hours")
            merged = dict(base.response_targets)
            for priority in targets:
                if priority not in PRIORITIES:
                    raise ServiceLevelsError(
                        source, line_of(targets, priority), f"unknown priority {priority!r} ({', '.join(PRIORITIES)})"
                    )
                merged[priority] = _positive(source, targets, priority, upper=24 * 366)
            values["response_targets"] = merged
    elif key == "resolution":
        if "target" in node:
            values["resolution_target"] = _positive(source, node, "target", upper=24 * 366)
        if "unit" in node:
            values["resolution_unit"] = _unit(source, node, "unit")
    elif key == "peak":
        if "response_hours" in node:
            values["peak_response_hours"] = _positive(source, node, "response_hours", upper=24 * 31)
        if "max_days" in node:
            values["peak_max_days"] = int(_positive(source, node, "max_days", whole=True, upper=366))
        if "backdate_minutes" in node:
            values["peak_backdate_minutes"] = int(_positive(source, node, "backdate_minutes", whole=True, upper=1440))
        if "priorities" in node:
            chosen = node["priorities"]
            if not isinstance(chosen, Sequence) or not chosen or any(p not in PRIORITIES for p in chosen):
                raise ServiceLevelsError(
                    source, line_of(node, "priorities"), f"'priorities' is a non-empty list of {', '.join(PRIORITIES)}"
                )
            values["peak_priorities"] = tuple(chosen)
    elif key == "kpi":
        if "on_time_target" in node:
            values["on_time_target"] = _positive(source, node, "on_time_target", upper=1)
        if "overdue_share_max" in node:
            values["overdue_share_max"] = _positive(source, node, "overdue_share_max", upper=1)
        if "backlog_bands" in node:
            bands = node["backlog_bands"]
            if (
                not isinstance(bands, Sequence)
                or not bands
                or any(not isinstance(b, int) or isinstance(b, bool) or b <= 0 for b in bands)
                or list(bands) != sorted(set(bands))
            ):
                raise ServiceLevelsError(
                    source, line_of(node, "backlog_bands"), "'backlog_bands' is a rising list of whole days above 0"
                )
            values["backlog_bands"] = tuple(bands)
    return values


@lru_cache
def default_levels() -> ServiceLevels:
    return parse_levels(DEFAULTS.read_text(encoding="utf-8"), str(DEFAULTS))


def levels_for(tenant_code: str) -> ServiceLevels:
    """The defaults with the insurer's override file applied, if it has one."""
    base = default_levels()
    path = tenant_override(OVERRIDES_SUBDIR, tenant_code)
    if path is None:
        return base
    return parse_levels(path.read_text(encoding="utf-8"), str(path), base)


def tenant_levels(session: Session, tenant_id: int) -> ServiceLevels:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return levels_for(tenant.code) if tenant is not None else default_levels()


# -- policies -------------------------------------------------------------------------------------------------


def _policy(code: str, target: float, unit: Unit, yellow_share: float) -> Policy:
    names = {FIRST_RESPONSE: ("首次响应时效", "First response"), RESOLUTION: ("办结时效", "Resolution")}[code]
    return Policy(
        code=code,
        name_zh=names[0],
        name_en=names[1],
        basis="服务时效 (service_levels.yaml / categories.yaml)",
        unit=unit,
        yellow=float(target) * yellow_share,
        red=float(target),
    )


def response_policy(levels: ServiceLevels, priority: str, peak: PeakPeriod | None) -> Policy:
    """The first-response policy of a priority; under peak relief the period's target when it is longer."""
    target = levels.response_target(priority)
    if peak is not None and priority in levels.peak_priorities:
        target = max(target, float(peak.response_hours))
    return _policy(FIRST_RESPONSE, target, levels.response_unit, levels.yellow_share)


def resolution_target(session: Session, request: ServiceRequest, levels: ServiceLevels) -> tuple[float, Unit]:
    """The category's resolution target (h1's ``categories``), else the service-level fallback."""
    found = _category_target(session, request)
    if found is None:
        return levels.resolution_target, levels.resolution_unit
    amount, unit = found
    return float(amount), Unit(unit)


def _category_target(session: Session, request: ServiceRequest) -> tuple[float, str] | None:
    from claimwatch.servicedesk import categories  # the categories file is the requests core's (same domain)

    return categories.resolution_target(session, request.tenant_id, request.category)


def peak_applies(levels: ServiceLevels, request: ServiceRequest) -> bool:
    return request.priority in levels.peak_priorities


# -- the clock rows ------------------------------------------------------------------------------------------


def clocks_of(session: Session, request_ids: list[int]) -> dict[int, list[ServiceRequestClock]]:
    """Each request's clocks, the latest cycle of each policy (first response, then resolution)."""
    if not request_ids:
        return {}
    statement = (
        select(ServiceRequestClock)
        .where(ServiceRequestClock.request_id.in_(sorted(set(request_ids))))
        .order_by(ServiceRequestClock.request_id, ServiceRequestClock.policy_code, ServiceRequestClock.cycle)
    )
    latest: dict[tuple[int, str], ServiceRequestClock] = {}
    for clock in session.execute(statement).scalars():
        latest[(clock.request_id, clock.policy_code)] = clock
    found: dict[int, list[ServiceRequestClock]] = {}
    for (request_id, _), clock in sorted(latest.items(), key=lambda item: (item[0][0], POLICY_CODES.index(item[0][1]))):
        found.setdefault(request_id, []).append(clock)
    return found


def _latest(session: Session, request: ServiceRequest, code: str) -> ServiceRequestClock | None:
    return next((c for c in clocks_of(session, [request.id]).get(request.id, []) if c.policy_code == code), None)


def _start(
    session: Session, axes: sla_service.Axes, request: ServiceRequest, policy: Policy, cycle: int, at: dt.datetime
) -> ServiceRequestClock:
    state = engine.new_clock(axes(policy.unit), policy, request.tenant_id, request.id, cycle, at)
    if state.red_due_at is None:
        # Refuse to guess a deadline in a year without a working-day calendar (409, field ``calendar``).
        raise CalendarYearMissing(state.calendar_gap or at.year)
    clock = ServiceRequestClock(request_id=request.id, **{name: getattr(state, name) for name in _COPIED})
    session.add(clock)
    return clock


def start_for(session: Session, request: ServiceRequest, at: dt.datetime | None = None) -> list[ServiceRequestClock]:
    """Start the request's clocks at receipt (``request.id`` must be set: flush first). A request received inside
    a peak period of its category (and of a priority peak relief applies to) gets ``peak_period_id`` and the
    period's first-response target. A request already answered gets no first-response clock."""
    from claimwatch.servicedesk import peak as peak_module  # peak reads the levels from here

    at = at or request.received_at
    levels = tenant_levels(session, request.tenant_id)
    period = peak_module.active_period(session, request.tenant_id, request.category, at)
    if period is not None and not peak_applies(levels, request):
        period = None
    request.peak_period_id = period.id if period is not None else None
    axes = sla_service.Axes(session, request.tenant_id)
    started = []
    if request.first_response_at is None:
        started.append(_start(session, axes, request, response_policy(levels, request.priority, period), 1, at))
    amount, unit = resolution_target(session, request, levels)
    started.append(_start(session, axes, request, _policy(RESOLUTION, amount, unit, levels.yellow_share), 1, at))
    session.flush()
    return started


def _finish(axis: Axis, clock: ServiceRequestClock, at: dt.datetime) -> None:
    """Stop against the deadline (red): met, or breached by how much (axis seconds past it)."""
    engine.stop(axis, clock, max(at, clock.started_at))
    late = clock.consumed - clock.red_budget - clock.extended
    if late > 1e-6:
        clock.outcome, clock.missed_by = BREACHED, late
    else:
        clock.outcome, clock.missed_by = MET, None
    clock.next_check_at = None


def on_first_response(session: Session, request: ServiceRequest, at: dt.datetime) -> ServiceRequestClock | None:
    """The first reply to the customer went out: the first-response clock stops."""
    clock = _latest(session, request, FIRST_RESPONSE)
    if clock is None or clock.state == engine.STOPPED:
        return clock
    _finish(sla_service.Axes(session, request.tenant_id)(clock.unit), clock, at)
    session.flush()
    return clock


def _open(session: Session, request: ServiceRequest) -> list[ServiceRequestClock]:
    return [c for c in clocks_of(session, [request.id]).get(request.id, []) if c.state != engine.STOPPED]


def pause(session: Session, request: ServiceRequest, at: dt.datetime) -> list[str]:
    """Waiting on the customer: every open clock stops counting. Returns the policies paused."""
    axes = sla_service.Axes(session, request.tenant_id)
    paused = [c.policy_code for c in _open(session, request) if engine.pause(axes(c.unit), c, at)]
    session.flush()
    return paused


def resume(session: Session, request: ServiceRequest, at: dt.datetime) -> list[str]:
    """The customer answered: the paused clocks count again (their deadlines move by the pause)."""
    axes = sla_service.Axes(session, request.tenant_id)
    resumed = [c.policy_code for c in _open(session, request) if engine.resume(axes(c.unit), c, at)]
    session.flush()
    return resumed


def stop_all(session: Session, request: ServiceRequest, at: dt.datetime, void: bool = False) -> list[str]:
    """Resolved: every open clock stops (met | breached). ``void`` (cancelled): they end without a result, except
    a deadline already passed, which stays a breach."""
    axes = sla_service.Axes(session, request.tenant_id)
    stopped = []
    for clock in _open(session, request):
        axis = axes(clock.unit)
        _finish(axis, clock, at)
        if void and clock.outcome == MET:
            clock.outcome = engine.VOID
        stopped.append(clock.policy_code)
    session.flush()
    return stopped


def restart_resolution(session: Session, request: ServiceRequest, at: dt.datetime) -> ServiceRequestClock:
    """A resolved request reopened: the resolution clock starts again (next cycle) from ``at``."""
    previous = _latest(session, request, RESOLUTION)
    if previous is not None and previous.state != engine.STOPPED:
        return previous
    levels = tenant_levels(session, request.tenant_id)
    amount, unit = resolution_target(session, request, levels)
    policy = _policy(RESOLUTION, amount, unit, levels.yellow_share)
    cycle = previous.cycle + 1 if previous is not None else 1
    clock = _start(session, sla_service.Axes(session, request.tenant_id), request, policy, cycle, at)
    session.flush()
    return clock


# -- views -------------------------------------------------------------------------------------------------


def is_late(clock: ServiceRequestClock, now: dt.datetime) -> bool:
    """Past its deadline: stopped late, running past ``red_due_at``, or paused with more used than the target."""
    if clock.state == engine.STOPPED:
        return clock.outcome == BREACHED
    if clock.state == engine.RUNNING:
        return clock.red_due_at is not None and now >= clock.red_due_at
    return clock.consumed > clock.red_budget + clock.extended


def light(clock: ServiceRequestClock | None, now: dt.datetime, axis: Axis | None = None) -> str | None:
    """green | yellow (past the reminder share) | red (past the deadline); a stopped clock is green when met or
    void, red when late."""
    if clock is None:
        return None
    if clock.state == engine.STOPPED:
        return engine.RED if clock.outcome == BREACHED else engine.GREEN
    if is_late(clock, now):
        return engine.RED
    return engine.light_at(clock, now, axis)


def clock_view(axes: sla_service.Axes, clock: ServiceRequestClock, now: dt.datetime) -> dict[str, Any]:
    """A clock as pages and the API show it (UTC instants; target and miss in the clock's unit)."""
    axis = axes(clock.unit)
    per_unit = Unit(clock.unit).seconds_per_unit
    missed: float | None = None
    if clock.state == engine.STOPPED:
        missed = (clock.missed_by or 0.0) / per_unit if clock.outcome == BREACHED else None
    elif is_late(clock, now):
        try:
            used = engine.consumed_at(axis, clock, now)
        except CalendarYearMissing:
            used = clock.consumed
        missed = max(0.0, used - clock.red_budget - clock.extended) / per_unit
    return {
        "policy": clock.policy_code,
        "label": LABELS.get(clock.policy_code, clock.policy_code),
        "cycle": clock.cycle,
        "unit": clock.unit,
        "target": (clock.red_budget + clock.extended) / per_unit,
        "state": clock.state,
        "light": light(clock, now, axis),
        "outcome": clock.outcome,
        "started_at": clock.started_at,
        "remind_at": clock.yellow_due_at,
        "due_at": clock.red_due_at,
        "stopped_at": clock.stopped_at,
        "missed_by": missed,
        "provisional": axis.is_provisional(clock.red_due_at),
        "calendar_gap": clock.calendar_gap,
    }


def views_for(session: Session, request: ServiceRequest, now: dt.datetime) -> list[dict[str, Any]]:
    """The request's clocks (latest cycle of each) for its page and the API; ``label`` is an N_ msgid."""
    axes = sla_service.Axes(session, request.tenant_id)
    return [clock_view(axes, clock, now) for clock in clocks_of(session, [request.id]).get(request.id, [])]


# -- a calendar edit ---------------------------------------------------------------------------------------


def recompute_open_clocks(
    session: Session, tenant_ids: list[int] | None, provisional_from: dt.date | None = None
) -> int:
    """After a calendar edit or new business hours: derive every open request clock's deadlines again. Returns
    how many moved (``servicedesk.subscriptions`` wires it to ``reactions.CALENDAR_CHANGED``)."""
    statement = select(ServiceRequestClock).where(ServiceRequestClock.state != engine.STOPPED)
    if tenant_ids is not None:
        statement = statement.where(ServiceRequestClock.tenant_id.in_(tenant_ids))
    by_tenant: dict[int, list[ServiceRequestClock]] = {}
    for clock in session.execute(statement.order_by(ServiceRequestClock.id)).scalars():
        by_tenant.setdefault(clock.tenant_id, []).append(clock)
    moved = 0
    for tenant_id in sorted(by_tenant):
        moved += sum(
            1 for _ in sla_service.refresh_deadlines(session, tenant_id, by_tenant[tenant_id], provisional_from)
        )
    session.flush()
    return moved
