"""Peak mode (高峰期, seed 004: "在高峰期響應時間不超過36小時"): from ``starts_at`` to ``ends_at`` a request of the
period's categories (none named: every category) received in it gets the period's first-response target (36 h)
instead of the normal one, and carries ``peak_period_id`` (:func:`claimwatch.servicedesk.clocks.start_for`).

- **Declared** by a supervisor (MANAGE_PEAK_MODE) with a reason and an end: the end after the start, at most
  ``peak.max_days`` days (service_levels.yaml), starting no earlier than a few minutes ago — relief is never granted
  after the fact, so it cannot turn a normal-time breach into an on-time answer.
- **Proposed from the forecast** (:func:`propose_from_forecast`, the staffing page's button): the days the forecast
  exceeds the roster, confirmed by the MANAGE_PEAK_MODE user who presses it (``source`` forecast).
- **Ended early** (:func:`end_early`): ``ended_at``; requests received after it get the normal target.
- Periods whose windows and categories overlap are refused (field ``starts_at``).

Every declaration and end is in the tenant's audit chain (``servicedesk.peak_declared`` / ``servicedesk.peak_ended``;
``audit_seq`` on the row). No HTTP, no commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Invalid, NotFound
from claimwatch.servicedesk import clocks
from claimwatch.servicedesk.models import PeakPeriod
from claimwatch.tenancy.service import tenant_zone

MANUAL, FORECAST = "manual", "forecast"
MAX_REASON = 2000


def effective_end(period: PeakPeriod) -> dt.datetime:
    """When relief stops: the declared end, or the early end."""
    return min(period.ends_at, period.ended_at) if period.ended_at is not None else period.ends_at


def covers(period: PeakPeriod, category: str, at: dt.datetime) -> bool:
    return period.starts_at <= at < effective_end(period) and (not period.categories or category in period.categories)


def active_period(session: Session, tenant_id: int, category: str, at: dt.datetime) -> PeakPeriod | None:
    """The peak period covering ``category`` at ``at``, if any (periods never overlap for one category)."""
    statement = (
        select(PeakPeriod)
        .where(PeakPeriod.tenant_id == tenant_id, PeakPeriod.starts_at <= at, PeakPeriod.ends_at > at)
        .where(or_(PeakPeriod.ended_at.is_(None), PeakPeriod.ended_at > at))
        .order_by(PeakPeriod.starts_at)
    )
    return next((p for p in session.execute(statement).scalars() if covers(p, category, at)), None)


def periods(session: Session, tenant_id: int, since: dt.datetime | None = None) -> list[PeakPeriod]:
    """The tenant's periods, newest first (``since``: those still running or ending after it)."""
    statement = select(PeakPeriod).where(PeakPeriod.tenant_id == tenant_id)
    if since is not None:
        statement = statement.where(PeakPeriod.ends_at > since)
    return list(session.execute(statement.order_by(PeakPeriod.starts_at.desc(), PeakPeriod.id.desc())).scalars())


def get(session: Session, tenant_id: int, period_id: int) -> PeakPeriod:
    period = session.get(PeakPeriod, period_id)
    if period is None or period.tenant_id != tenant_id:
        raise NotFound("period_id", "no such peak period")
    return period


def _tenant(principal: Principal) -> int:
    principal.require(Permission.MANAGE_PEAK_MODE)
    if principal.tenant_id is None:
        raise Invalid("tenant", "peak mode belongs to one insurer")
    return principal.tenant_id


def _utc(value: dt.datetime | None, name: str) -> dt.datetime:
    if value is None:
        raise Invalid(name, f"{name} is required")
    if value.tzinfo is None:
        raise Invalid(name, f"{name} needs a time zone")
    return value.astimezone(dt.UTC)


def _categories(session: Session, tenant_id: int, categories: Iterable[str]) -> list[str]:
    chosen = sorted({str(c).strip() for c in categories if str(c).strip()})
    if chosen:
        from claimwatch.servicedesk import categories as categories_module  # the requests core's categories file

        known = set(categories_module.for_tenant(session, tenant_id).categories)
        unknown = [c for c in chosen if c not in known]
        if unknown:
            raise Invalid("categories", f"unknown category {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return chosen


def _overlapping(
    session: Session, tenant_id: int, starts_at: dt.datetime, ends_at: dt.datetime, categories: list[str]
) -> PeakPeriod | None:
    statement = select(PeakPeriod).where(
        PeakPeriod.tenant_id == tenant_id, PeakPeriod.starts_at < ends_at, PeakPeriod.ends_at > starts_at
    )
    for other in session.execute(statement).scalars():
        if effective_end(other) <= starts_at:
            continue
        if not other.categories or not categories or set(other.categories) & set(categories):
            return other
    return None


def declare(
    session: Session,
    principal: Principal,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    categories: Iterable[str],
    reason: str | None,
    response_hours: float | None = None,
    *,
    source: str = MANUAL,
    now: dt.datetime | None = None,
) -> PeakPeriod:
    """Declare a peak period; refused (Invalid naming the field, nothing written) without a reason or an end, an
    end not after the start, longer than the allowed days, starting in the past, or with a target not above the
    normal one; Conflict (``starts_at``) when it overlaps a period of the same categories."""
    tenant_id = _tenant(principal)
    now = now or utc_now()
    text = (reason or "").strip()
    if not text:
        raise Invalid("reason", "a peak period needs a reason (why the queue exceeds capacity)")
    if len(text) > MAX_REASON:
        raise Invalid("reason", f"at most {MAX_REASON} characters")
    if ends_at is None:
        raise Invalid("ends_at", "a peak period needs an end")
    start, end = _utc(starts_at or now, "starts_at"), _utc(ends_at, "ends_at")
    if end <= start:
        raise Invalid("ends_at", "the end must be after the start")
    levels = clocks.tenant_levels(session, tenant_id)
    if end - start > dt.timedelta(days=levels.peak_max_days):
        raise Invalid("ends_at", f"a peak period lasts at most {levels.peak_max_days} days; declare the next one anew")
    if start < now - dt.timedelta(minutes=levels.peak_backdate_minutes):
        raise Invalid("starts_at", "a peak period cannot start in the past: relief is never granted after the fact")
    hours = float(response_hours if response_hours is not None else levels.peak_response_hours)
    normal = levels.response_target("normal")
    if not normal < hours <= 24 * 31:
        raise Invalid("response_hours", f"the peak response target must be above the normal {normal:g} h")
    if source not in (MANUAL, FORECAST):
        raise Invalid("source", "manual or forecast")
    chosen = _categories(session, tenant_id, categories)
    clash = _overlapping(session, tenant_id, start, end, chosen)
    if clash is not None:
        raise Conflict(
            "starts_at", f"overlaps the peak period declared from {clash.starts_at.isoformat()} (#{clash.id})"
        )
    period = PeakPeriod(
        tenant_id=tenant_id,
        starts_at=start,
        ends_at=end,
        categories=chosen,
        response_hours=hours,
        reason=text,
        source=source,
        declared_by=principal.actor,
        declared_at=now,
    )
    session.add(period)
    session.flush()
    period.audit_seq = audit_service.record(
        session,
        tenant_id,
        "servicedesk.peak_declared",
        str(period.id),
        principal.actor,
        {
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
            "categories": chosen,
            "response_hours": hours,
            "reason": text,
            "source": source,
        },
    )
    session.flush()
    return period


def propose_from_forecast(
    session: Session,
    principal: Principal,
    first_day: dt.date,
    last_day: dt.date,
    *,
    forecast_id: int | None = None,
    categories: Iterable[str] = (),
    reason: str | None = None,
    response_hours: float | None = None,
    now: dt.datetime | None = None,
) -> PeakPeriod:
    """Peak mode for the days the forecast exceeds the roster (local days ``first_day``..``last_day``), confirmed
    by the MANAGE_PEAK_MODE user who asks for it; a period starting today starts now."""
    tenant_id = _tenant(principal)
    now = now or utc_now()
    if last_day < first_day:
        raise Invalid("last_day", "the last day must not be before the first")
    zone = tenant_zone(session, tenant_id)
    start = dt.datetime.combine(first_day, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    source_note = f"（预测 #{forecast_id}）" if forecast_id is not None else ""
    default = f"预测 {first_day.isoformat()}—{last_day.isoformat()} 请求量超出排班能力{source_note}"
    text = (reason or "").strip() or default
    return declare(session, principal, max(start, now), end, categories, text, response_hours, source=FORECAST, now=now)


def end_early(session: Session, principal: Principal, period_id: int, at: dt.datetime | None = None) -> PeakPeriod:
    """End a period before its declared end (Conflict ``ended_at`` when it has ended already). Requests received
    from then on get the normal target; those received before keep theirs."""
    tenant_id = _tenant(principal)
    at = at or utc_now()
    period = get(session, tenant_id, period_id)
    if period.ended_at is not None or effective_end(period) <= at:
        raise Conflict("ended_at", "the peak period has ended already")
    period.ended_at = max(at, period.starts_at)
    period.ended_by = principal.actor
    audit_service.record(
        session,
        tenant_id,
        "servicedesk.peak_ended",
        str(period.id),
        principal.actor,
        {"ended_at": period.ended_at.isoformat(), "declared_end": period.ends_at.isoformat()},
    )
    session.flush()
    return period


def period_view(period: PeakPeriod, now: dt.datetime) -> dict[str, object]:
    """A period as the list page and the API show it; ``state`` planned | active | ended."""
    end = effective_end(period)
    if period.ended_at is not None and (period.ended_at <= now or period.ended_at <= period.starts_at):
        state = "ended"  # ended early, or called off before it began
    else:
        state = "planned" if now < period.starts_at else ("active" if now < end else "ended")
    return {
        "id": period.id,
        "starts_at": period.starts_at,
        "ends_at": period.ends_at,
        "ended_at": period.ended_at,
        "effective_end": end,
        "categories": list(period.categories or []),
        "response_hours": period.response_hours,
        "reason": period.reason,
        "source": period.source,
        "declared_by": period.declared_by,
        "declared_at": period.declared_at,
        "ended_by": period.ended_by,
        "state": state,
    }
