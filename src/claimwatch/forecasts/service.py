"""Forecast runs, the roster, and peak mode proposed from the staffing plan (rules and writes; never commits).

- :func:`run_forecast` fits one series (``series.SERIES``; a team or the whole insurer) up to yesterday (the
  tenant's local day), stores a :class:`VolumeForecast` with its back-test, and audits it; a series too short is
  refused naming ``history``. :func:`run_all` does every series of the insurer (service requests overall and per
  team, claims), recording what was refused instead of stopping.
- :func:`set_roster` and :func:`import_roster` (CSV, all or nothing with a reject report) write
  :class:`RosterDay` rows, audited; a team must be one of the insurer's (``servicedesk.categories``).
- :func:`propose_peak` asks ``servicedesk.peak.propose_from_forecast`` for peak mode over days the plan flagged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Principal
from claimwatch.calendar import service as calendar_service
from claimwatch.complaints.importer import (
    ImportRejected,
    ImportResult,
    Reject,
    decode,
    parse_day,
    read_table,
    validated,
)
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Invalid, NotFound, Problem
from claimwatch.forecasts import model, series, staffing
from claimwatch.forecasts.models import RosterDay, VolumeForecast
from claimwatch.forecasts.schemas import RosterIn
from claimwatch.servicedesk import categories as servicedesk_categories
from claimwatch.servicedesk import peak
from claimwatch.servicedesk.models import PeakPeriod
from claimwatch.tenancy import service as tenancy_service

AUDIT_FORECAST = "forecast_run"
AUDIT_ROSTER = "roster_set"
AUDIT_ROSTER_IMPORT = "roster_imported"
MAX_IMPORT_BYTES = 2 * 1024 * 1024
ROSTER_HEADERS: dict[str, tuple[str, ...]] = {
    "team": ("team", "班组", "团队", "小组"),
    "day": ("day", "日期", "排班日期"),
    "staff": ("staff", "人数", "排班人数"),
    "hours": ("hours", "每人工时", "工时", "小时"),
}
ROSTER_REQUIRED = ("team", "day", "staff")


def _tenant(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "forecasts and rosters belong to one insurer")
    return principal.tenant_id


def local_today(session: Session, tenant_id: int, now: dt.datetime) -> dt.date:
    return now.astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()


def team_codes(session: Session, tenant_id: int) -> list[str]:
    return list(servicedesk_categories.for_tenant(session, tenant_id).teams)


def _check_team(session: Session, tenant_id: int, team: str) -> None:
    known = team_codes(session, tenant_id)
    if team and team not in known:
        raise Invalid("team", f"unknown team {team!r} (known: {', '.join(known)})")


# --- forecasts ---------------------------------------------------------------------------------------------


def run_forecast(
    session: Session, tenant_id: int, actor: str, series_name: str, team: str = "", now: dt.datetime | None = None
) -> VolumeForecast:
    """Fit ``series_name`` (of ``team``; "" the whole insurer) on its history up to yesterday and store the run."""
    at = now or utc_now()
    series.check_series(series_name, team)
    if series_name == series.SERVICE_REQUESTS:
        _check_team(session, tenant_id, team)
    yesterday = local_today(session, tenant_id, at) - dt.timedelta(days=1)
    found = series.history(session, tenant_id, series_name, team, yesterday)
    if found is None:
        raise Invalid("history", f"no {series_name.replace('_', ' ')} recorded yet: nothing to forecast")
    result = model.forecast(found.counts, found.first_day, calendar_service.get_calendar(session))
    row = VolumeForecast(
        tenant_id=tenant_id,
        series=series_name,
        team=team,
        model=f"{result.model} [{', '.join(result.regressors) or 'no calendar effects in the history'}]"[:200],
        first_day=result.first_day,
        horizon_days=result.horizon_days,
        history_days=result.history_days,
        points=result.points,
        backtest=result.backtest,
        backtest_mape=result.backtest_mape,
        made_by=actor,
        made_at=at,
    )
    session.add(row)
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        AUDIT_FORECAST,
        f"forecast:{row.id}",
        actor,
        {
            "series": series_name,
            "team": team,
            "model": row.model,
            "first_day": row.first_day.isoformat(),
            "horizon_days": row.horizon_days,
            "history_days": row.history_days,
            "backtest_mape": row.backtest_mape,
        },
    )
    return row


@dataclass
class RunAll:
    made: list[VolumeForecast] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # "series/team" -> why


def wanted(session: Session, tenant_id: int) -> list[tuple[str, str]]:
    """Every (series, team) of the insurer: service requests overall and per team that has any, claims."""
    return (
        [(series.SERVICE_REQUESTS, "")]
        + [(series.SERVICE_REQUESTS, team) for team in series.teams(session)]
        + [(series.CLAIMS, "")]
    )


def run_all(session: Session, tenant_id: int, actor: str, now: dt.datetime | None = None) -> RunAll:
    """Every series of the insurer; a refused one (too short) is noted, the others still run. Each in a
    savepoint, so a refusal leaves nothing of its own behind."""
    result = RunAll()
    for series_name, team in wanted(session, tenant_id):
        try:
            with session.begin_nested():
                result.made.append(run_forecast(session, tenant_id, actor, series_name, team, now))
        except Problem as exc:
            result.refused[f"{series_name}/{team}" if team else series_name] = f"{exc.field}: {exc.message}"
    return result


def latest(session: Session, tenant_id: int, series_name: str, team: str = "") -> VolumeForecast | None:
    series.check_series(series_name, team)
    return session.scalars(
        select(VolumeForecast)
        .where(VolumeForecast.tenant_id == tenant_id, VolumeForecast.series == series_name, VolumeForecast.team == team)
        .order_by(VolumeForecast.made_at.desc(), VolumeForecast.id.desc())
        .limit(1)
    ).first()


def get_forecast(session: Session, tenant_id: int, forecast_id: int) -> VolumeForecast:
    row = session.get(VolumeForecast, forecast_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("forecast", "no such forecast")
    return row


# --- the roster --------------------------------------------------------------------------------------------


def _put_roster(session: Session, tenant_id: int, entry: RosterIn, actor: str, at: dt.datetime) -> RosterDay:
    row = session.scalars(
        select(RosterDay).where(
            RosterDay.tenant_id == tenant_id, RosterDay.team == entry.team, RosterDay.day == entry.day
        )
    ).first()
    if row is None:
        row = RosterDay(tenant_id=tenant_id, team=entry.team, day=entry.day)
        session.add(row)
    row.staff, row.hours, row.updated_by, row.updated_at = entry.staff, entry.hours, actor, at
    return row


def set_roster(session: Session, principal: Principal, entry: RosterIn, now: dt.datetime | None = None) -> RosterDay:
    """One team's roster for one day (replacing what was there), audited."""
    tenant_id = _tenant(principal)
    at = now or utc_now()
    if not entry.team:
        raise Invalid("team", "a roster is for one team")
    _check_team(session, tenant_id, entry.team)
    row = _put_roster(session, tenant_id, entry, principal.actor, at)
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        AUDIT_ROSTER,
        f"roster:{entry.team}:{entry.day.isoformat()}",
        principal.actor,
        {"team": entry.team, "day": entry.day.isoformat(), "staff": entry.staff, "hours": entry.hours},
    )
    return row


def import_roster(
    session: Session, principal: Principal, content: bytes, *, dry_run: bool = False, now: dt.datetime | None = None
) -> ImportResult:
    """Roster rows from CSV (team, day, staff, hours; Chinese headers too), all or nothing: any bad row and nothing
    is written, the reject report naming each by line and column. One audit entry for the file."""
    tenant_id = _tenant(principal)
    at = now or utc_now()
    if len(content) > MAX_IMPORT_BYTES:
        raise Problem(413, "file", f"file larger than {MAX_IMPORT_BYTES} bytes")
    written, rows, rejects = read_table(decode(content), ROSTER_HEADERS, ROSTER_REQUIRED)
    teams = set(team_codes(session, tenant_id))
    entries: list[RosterIn] = []
    seen: dict[tuple[str, dt.date], int] = {}
    for line, values in rows:
        body: dict[str, Any] = dict(values)
        if "day" in body:
            body["day"] = parse_day(body["day"])
        entry = validated(RosterIn, body, line, written, rejects)
        if entry is None:
            continue
        if entry.team not in teams:
            rejects.append(Reject(line, written.get("team"), "team", f"unknown team {entry.team!r}"))
            continue
        key = (entry.team, entry.day)
        if key in seen:
            rejects.append(
                Reject(line, written.get("day"), "day", f"{entry.team} {entry.day} repeats line {seen[key]}")
            )
            continue
        seen[key] = line
        entries.append(entry)
    result = ImportResult(rows=len(rows), dry_run=dry_run, rejects=rejects)
    if rejects:
        raise ImportRejected(result)
    if not entries:
        raise ImportRejected(ImportResult(rejects=[Reject(1, None, "file", "no roster rows in the file")]))
    if dry_run:
        result.created = len(entries)
        return result
    for entry in entries:
        _put_roster(session, tenant_id, entry, principal.actor, at)
    session.flush()
    result.created = len(entries)
    audit_service.record(
        session,
        tenant_id,
        AUDIT_ROSTER_IMPORT,
        "roster",
        principal.actor,
        {
            "rows": len(entries),
            "teams": sorted({e.team for e in entries}),
            "from": min(e.day for e in entries).isoformat(),
            "to": max(e.day for e in entries).isoformat(),
        },
    )
    return result


def roster(session: Session, tenant_id: int, first: dt.date, last: dt.date, team: str = "") -> list[RosterDay]:
    query = select(RosterDay).where(RosterDay.tenant_id == tenant_id, RosterDay.day >= first, RosterDay.day <= last)
    if team:
        query = query.where(RosterDay.team == team)
    return list(session.scalars(query.order_by(RosterDay.day, RosterDay.team)))


# --- the plan and peak mode ----------------------------------------------------------------------------------


def plan_for(
    session: Session, tenant_id: int, team: str = "", now: dt.datetime | None = None
) -> tuple[VolumeForecast | None, staffing.Plan | None]:
    """The newest service-request forecast of ``team`` and its staffing plan (None, None: no forecast yet)."""
    forecast = latest(session, tenant_id, series.SERVICE_REQUESTS, team)
    if forecast is None:
        return None, None
    return forecast, staffing.plan(session, tenant_id, forecast, now or utc_now())


def team_categories(session: Session, tenant_id: int, team: str) -> list[str]:
    """The categories a team handles (the insurer's categories file); [] for the whole insurer (all)."""
    if not team:
        return []
    catalogue = servicedesk_categories.for_tenant(session, tenant_id)
    return [code for code, category in catalogue.categories.items() if category.team == team]


def propose_peak(
    session: Session,
    principal: Principal,
    team: str,
    first_day: dt.date,
    last_day: dt.date,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> PeakPeriod:
    """Peak mode over ``first_day``..``last_day`` for the team's categories, from its newest forecast: only for
    days the staffing plan says need it (others are refused naming ``first_day``)."""
    tenant_id = _tenant(principal)
    at = now or utc_now()
    _check_team(session, tenant_id, team)
    forecast, found = plan_for(session, tenant_id, team, at)
    if forecast is None or found is None:
        raise Invalid("forecast", "no forecast for this team yet: run one first")
    flagged = {day["day"] for day in found.peak_days}
    asked = [first_day + dt.timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    if last_day < first_day:
        raise Invalid("last_day", "the last day must not be before the first")
    if not any(day.isoformat() in flagged for day in asked):
        raise Invalid("first_day", "none of these days needs peak mode by the forecast against the roster")
    return peak.propose_from_forecast(
        session,
        principal,
        first_day,
        last_day,
        forecast_id=forecast.id,
        categories=team_categories(session, tenant_id, team),
        reason=reason,
        now=at,
    )
