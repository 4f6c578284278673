"""Staff needed per day against the roster (人力排班测算), from a volume forecast and the handling time.

hours needed = forecast × average handling time / utilisation; staff needed = hours needed / shift hours (rounded
up); against the roster (:class:`~claimwatch.forecasts.models.RosterDay`: staff × hours) the gap of each day, and
the days whose hours needed exceed the hours rostered: they need peak mode (seed 004: 36 hours at peak).

The average handling time of a team is the mix of its categories over the last weeks weighted by each category's
minutes: configured in ``defaults/servicedesk/staffing.yaml``, or measured from the requests' events (the working
time from receipt to resolution on the tenant's business hours, waiting on the customer excluded, capped) where
enough requests were resolved. The configuration is validated with file and line."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.calendar import service as calendar_service
from claimwatch.calendar.workdays import Unit
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.forecasts.models import RosterDay, VolumeForecast
from claimwatch.servicedesk.models import ServiceRequest, ServiceRequestEvent
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.yaml_source import ConfigFileError, Mapping, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULT_FILE = PACKAGE_DIR / "defaults" / "servicedesk" / "staffing.yaml"
PLAN_ON = ("forecast", "upper")
HANDLING_TIME = ("configured", "measured")
_TOP_KEYS = {"version", "utilisation", "shift_hours", "plan_on", "handling_time", "handling_minutes", "measured"}
_MEASURED_KEYS = {"window_days", "min_requests", "cap_minutes"}


class StaffingFileError(ConfigFileError):
    pass


@dataclass(frozen=True)
class StaffingConfig:
    version: str
    utilisation: float
    shift_hours: float
    plan_on: str
    handling_time: str
    default_minutes: float
    category_minutes: dict[str, float]
    window_days: int = 56
    min_requests: int = 20
    cap_minutes: float = 240.0
    source: str = ""

    def minutes_for(self, category: str) -> float:
        return self.category_minutes.get(category, self.default_minutes)


def _fail(source: str, node: Any, problem: str, key: str | None = None) -> StaffingFileError:
    return StaffingFileError(source, line_of(node, key), problem)


def _number(source: str, node: Mapping, key: str, low: float, high: float, default: float | None = None) -> float:
    value = node.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _fail(source, node, f"{key} is a number from {low:g} to {high:g}, not {value!r}", key)
    return float(value)


def parse_config(text: str, source: str) -> StaffingConfig:
    doc = load_yaml(text, source, StaffingFileError)
    if not isinstance(doc, Mapping):
        raise StaffingFileError(source, 1, "the staffing file is a mapping (version, utilisation, shift_hours, …)")
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(source, doc, f"unknown key {key!r} (expected {', '.join(sorted(_TOP_KEYS))})", str(key))
    version = doc.get("version")
    if not isinstance(version, str | int | float) or isinstance(version, bool) or not str(version).strip():
        raise _fail(source, doc, "'version' is required (e.g. \"2026.1\")", "version")
    utilisation = _number(source, doc, "utilisation", 0.05, 1.0)
    shift_hours = _number(source, doc, "shift_hours", 0.5, 24.0)
    plan_on = doc.get("plan_on", "forecast")
    if plan_on not in PLAN_ON:
        raise _fail(source, doc, f"plan_on is one of {', '.join(PLAN_ON)}, not {plan_on!r}", "plan_on")
    handling_time = doc.get("handling_time", "configured")
    if handling_time not in HANDLING_TIME:
        raise _fail(source, doc, f"handling_time is one of {', '.join(HANDLING_TIME)}", "handling_time")
    minutes = doc.get("handling_minutes")
    if not isinstance(minutes, Mapping):
        raise _fail(source, doc, "'handling_minutes' is a mapping with default and categories", "handling_minutes")
    for key in minutes:
        if key not in ("default", "categories"):
            raise _fail(source, minutes, f"unknown key {key!r} in handling_minutes (default, categories)", str(key))
    default = _number(source, minutes, "default", 0.5, 480.0)
    categories: dict[str, float] = {}
    by_category = minutes.get("categories", Mapping())
    if not isinstance(by_category, Mapping):
        raise _fail(source, minutes, "handling_minutes.categories maps a category code to minutes", "categories")
    for code in by_category:
        if not isinstance(code, str) or not code.replace("_", "").replace("-", "").isalnum():
            raise _fail(source, by_category, f"category code {code!r}: letters, digits, '_' and '-'", str(code))
        categories[code] = _number(source, by_category, code, 0.5, 480.0)
    measured = doc.get("measured", Mapping())
    if not isinstance(measured, Mapping):
        raise _fail(source, doc, "'measured' is a mapping (window_days, min_requests, cap_minutes)", "measured")
    for key in measured:
        if key not in _MEASURED_KEYS:
            known = ", ".join(sorted(_MEASURED_KEYS))
            raise _fail(source, measured, f"unknown key {key!r} in measured ({known})", str(key))
    window = _number(source, measured, "window_days", 7, 365, 56)
    min_requests = _number(source, measured, "min_requests", 1, 100_000, 20)
    if not window.is_integer() or not min_requests.is_integer():
        raise _fail(source, measured, "window_days and min_requests are whole numbers")
    return StaffingConfig(
        version=str(version),
        utilisation=utilisation,
        shift_hours=shift_hours,
        plan_on=str(plan_on),
        handling_time=str(handling_time),
        default_minutes=default,
        category_minutes=categories,
        window_days=int(window),
        min_requests=int(min_requests),
        cap_minutes=_number(source, measured, "cap_minutes", 1, 24 * 60, 240),
        source=source,
    )


def load_config(path: Path) -> StaffingConfig:
    return parse_config(path.read_text(encoding="utf-8"), str(path))


@lru_cache
def base_config() -> StaffingConfig:
    return load_config(DEFAULT_FILE)


def config_for(tenant_code: str | None) -> StaffingConfig:
    """The tenant's own file when it has one, else the bundled one."""
    path = tenant_override("servicedesk/staffing", tenant_code)
    return load_config(path) if path is not None else base_config()


def config_for_tenant(session: Session, tenant_id: int) -> StaffingConfig:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return config_for(tenant.code if tenant is not None else None)


# --- handling time ----------------------------------------------------------------------------------------


def category_mix(session: Session, tenant_id: int, team: str, since: dt.datetime) -> Counter[str]:
    """Requests received since ``since`` by category (the team's, or all)."""
    query = select(ServiceRequest.category, func.count()).where(
        ServiceRequest.tenant_id == tenant_id, ServiceRequest.received_at >= since
    )
    if team:
        query = query.where(ServiceRequest.team == team)
    return Counter({category: int(n) for category, n in session.execute(query.group_by(ServiceRequest.category))})


_RUNNING_FROM = ("received", "resumed", "reopened")
_RUNNING_TO = ("waiting", "resolved")


def measured_minutes(session: Session, tenant_id: int, since: dt.datetime, cap: float) -> dict[str, tuple[float, int]]:
    """Category -> (mean working minutes from receipt to resolution, requests) over the requests resolved since
    ``since``: business hours of the tenant, the spans waiting on the customer left out, each request capped at
    ``cap`` minutes (a request left lying is not handling time)."""
    resolved = (
        select(ServiceRequest.id)
        .where(ServiceRequest.tenant_id == tenant_id, ServiceRequest.resolved_at >= since)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            ServiceRequestEvent.request_id, ServiceRequestEvent.kind, ServiceRequestEvent.at, ServiceRequest.category
        )
        .join(ServiceRequest, ServiceRequest.id == ServiceRequestEvent.request_id)
        .where(
            ServiceRequestEvent.tenant_id == tenant_id,
            ServiceRequestEvent.request_id.in_(resolved),
            ServiceRequestEvent.kind.in_(_RUNNING_FROM + _RUNNING_TO),
        )
        .order_by(ServiceRequestEvent.request_id, ServiceRequestEvent.at, ServiceRequestEvent.id)
    ).all()
    starts: list[float] = []
    ends: list[float] = []
    owners: list[int] = []
    category_of: dict[int, str] = {}
    open_at: dict[int, float] = {}
    for request_id, kind, at, category in rows:
        category_of[request_id] = category
        if kind in _RUNNING_FROM:
            open_at.setdefault(request_id, at.timestamp())
        elif request_id in open_at:
            starts.append(open_at.pop(request_id))
            ends.append(at.timestamp())
            owners.append(request_id)
    if not starts:
        return {}
    axis = calendar_service.axis_for(session, tenant_id, Unit.BUSINESS_HOURS)
    seconds = axis.value(np.asarray(ends)) - axis.value(np.asarray(starts))
    per_request: dict[int, float] = defaultdict(float)
    for request_id, span in zip(owners, seconds.tolist(), strict=True):
        per_request[request_id] += max(span, 0.0) / 60
    totals: dict[str, list[float]] = defaultdict(list)
    for request_id, minutes in per_request.items():
        totals[category_of[request_id]].append(min(minutes, cap))
    return {category: (sum(values) / len(values), len(values)) for category, values in totals.items()}


@dataclass(frozen=True)
class HandlingTime:
    minutes: float  # the team's average, weighted by its category mix
    by_category: list[dict[str, Any]]  # {category, share, minutes, source (configured | measured), measured, n}


def handling_time(
    session: Session, tenant_id: int, team: str, config: StaffingConfig, now: dt.datetime
) -> HandlingTime:
    since = now - dt.timedelta(days=config.window_days)
    mix = category_mix(session, tenant_id, team, since)
    measured = measured_minutes(session, tenant_id, since, config.cap_minutes)
    total = sum(mix.values())
    rows: list[dict[str, Any]] = []
    weighted = 0.0
    for category in sorted(set(mix) | set(config.category_minutes)):
        found = measured.get(category)
        use_measured = config.handling_time == "measured" and found is not None and found[1] >= config.min_requests
        minutes = found[0] if use_measured and found is not None else config.minutes_for(category)
        share = mix[category] / total if total else 0.0
        weighted += share * minutes
        rows.append(
            {
                "category": category,
                "share": round(share, 4),
                "minutes": round(minutes, 1),
                "source": "measured" if use_measured else "configured",
                "measured": None if found is None else round(found[0], 1),
                "requests": 0 if found is None else found[1],
            }
        )
    return HandlingTime(round(weighted if total else config.default_minutes, 2), rows)


# --- the plan ---------------------------------------------------------------------------------------------


@dataclass
class Plan:
    team: str
    forecast_id: int | None
    aht_minutes: float
    utilisation: float
    shift_hours: float
    plan_on: str
    days: list[dict[str, Any]] = field(default_factory=list)
    handling: list[dict[str, Any]] = field(default_factory=list)
    config_version: str = ""

    @property
    def peak_days(self) -> list[dict[str, Any]]:
        return [day for day in self.days if day["needs_peak"]]

    def peak_windows(self) -> list[tuple[dt.date, dt.date]]:
        """Runs of consecutive days that need peak mode, (first, last)."""
        windows: list[tuple[dt.date, dt.date]] = []
        for day in self.peak_days:
            current = dt.date.fromisoformat(day["day"])
            if windows and windows[-1][1] + dt.timedelta(days=1) == current:
                windows[-1] = (windows[-1][0], current)
            else:
                windows.append((current, current))
        return windows

    def as_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "forecast_id": self.forecast_id,
            "aht_minutes": self.aht_minutes,
            "utilisation": self.utilisation,
            "shift_hours": self.shift_hours,
            "plan_on": self.plan_on,
            "config_version": self.config_version,
            "handling": self.handling,
            "days": self.days,
            "peak_days": [day["day"] for day in self.peak_days],
            "peak_windows": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in self.peak_windows()],
        }


def rostered(
    session: Session, tenant_id: int, team: str, first: dt.date, last: dt.date
) -> dict[dt.date, tuple[int, float]]:
    """Day -> (staff, hours) rostered: the team's, or every team's summed."""
    query = select(RosterDay.day, RosterDay.staff, RosterDay.hours).where(
        RosterDay.tenant_id == tenant_id, RosterDay.day >= first, RosterDay.day <= last
    )
    if team:
        query = query.where(RosterDay.team == team)
    found: dict[dt.date, tuple[int, float]] = {}
    for day, staff, hours in session.execute(query):
        before = found.get(day, (0, 0.0))
        found[day] = (before[0] + staff, before[1] + staff * hours)
    return found


def day_plan(
    volume: float, aht_minutes: float, config: StaffingConfig, roster: tuple[int, float] | None
) -> dict[str, Any]:
    """One day's figures (pure): hours and staff needed, what is rostered, the gap, whether peak mode is needed."""
    hours = volume * aht_minutes / 60 / config.utilisation
    staff_needed = math.ceil(round(hours / config.shift_hours, 6)) if hours > 0 else 0
    staff, rostered_hours = roster if roster is not None else (None, None)
    gap = None if rostered_hours is None else round(rostered_hours - hours, 2)
    return {
        "volume": round(volume, 2),
        "hours_needed": round(hours, 2),
        "staff_needed": staff_needed,
        "rostered_staff": staff,
        "rostered_hours": None if rostered_hours is None else round(rostered_hours, 2),
        "gap_hours": gap,
        "needs_peak": gap is not None and gap < 0,
        "unrostered": roster is None and hours > 0,
    }


def plan(
    session: Session,
    tenant_id: int,
    forecast: VolumeForecast,
    now: dt.datetime,
    config: StaffingConfig | None = None,
) -> Plan:
    """The staffing plan of a service-request forecast (its team; "" sums every team's roster)."""
    if config is None:
        config = config_for_tenant(session, tenant_id)
    handling = handling_time(session, tenant_id, forecast.team, config, now)
    points = forecast.points or []
    days = [dt.date.fromisoformat(str(point["day"])) for point in points]
    roster = rostered(session, tenant_id, forecast.team, days[0], days[-1]) if days else {}
    result = Plan(
        team=forecast.team,
        forecast_id=forecast.id,
        aht_minutes=handling.minutes,
        utilisation=config.utilisation,
        shift_hours=config.shift_hours,
        plan_on=config.plan_on,
        handling=handling.by_category,
        config_version=config.version,
    )
    for day, point in zip(days, points, strict=True):
        volume = float(point["upper"] if config.plan_on == "upper" else point["forecast"])  # type: ignore[arg-type]
        result.days.append({"day": day.isoformat()} | day_plan(volume, handling.minutes, config, roster.get(day)))
    return result
