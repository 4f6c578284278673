"""What the quality figures put in a quality manager's to-do inbox (我的待办,
:mod:`claimwatch.todo.registry`): the KPIs that miss their target in the last complete month (red on the
dashboard), and the statistical alerts of the recent months (``CLAIMWATCH_ALERT_LOOKBACK_MONTHS``).

The KPI values come from the snapshot (DuckDB), which changes only when the worker takes a new one, so they
are kept per snapshot and tenant: the inbox does not recompute the catalogue on every visit. No snapshot
yet: no red KPIs (the dashboard says "no data").
"""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.config import get_settings
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service, snapshot
from claimwatch.kpi.engine import Period, Scope
from claimwatch.kpi.models import QualityAlert
from claimwatch.kpi.queries import DashboardQuery, format_target, format_value
from claimwatch.todo import registry
from claimwatch.todo.registry import Item, Page, Source
from claimwatch.web.i18n import N_, translate

_cache: dict[tuple[str, int, str], list[tuple[str, float]]] = {}
_cache_lock = threading.Lock()


def last_complete_month(local_now: dt.datetime) -> Period:
    return service.default_period(local_now).shift(-1)


def _red_values(tenant_id: int) -> tuple[Period, list[tuple[str, float]]] | None:
    """(period, [(kpi code, value)]) of the KPIs that miss their target, from the snapshot in force."""
    info = snapshot.current()
    if info is None:
        return None
    with service.opened() as snap:
        period = last_complete_month(snap.local_now)
        key = (str(info.directory), tenant_id, period.label)
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None:
            return period, cached
        scope = Scope(tenant_ids=(tenant_id,), org_unit_id=None, region=None, line=None)
        result = service.values(snap, scope, [period])
    catalogue = kpi_loader.by_code()
    red = []
    for value in result.values:
        kpi = catalogue.get(value.kpi)
        if kpi is not None and value.value is not None and kpi.light(value.value) == "misses":
            red.append((kpi.code, value.value))
    order = list(catalogue)
    red.sort(key=lambda pair: order.index(pair[0]))
    with _cache_lock:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = red
    return period, red


def red_kpis(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    if principal.tenant_id is None:
        return Page(0)
    found = _red_values(principal.tenant_id)
    if found is None:
        return Page(0)
    period, red = found
    catalogue = kpi_loader.by_code()
    url = DashboardQuery(period=period).url()
    items = []
    for code, value in red[offset : offset + max(limit, 0)]:
        kpi = catalogue[code]
        target = translate(locale, N_("target %(target)s")) % {"target": format_target(kpi, kpi.target, locale)}
        items.append(
            Item(
                title=kpi.name(locale),
                url=f"{url}#kpi-{code}",
                detail=f"{period.label}: {format_value(kpi, value, locale)} · {target}",
                light="red",
                key=code,
            )
        )
    return Page(len(red), items)


def _alert_periods(now: dt.datetime) -> list[str]:
    local_now = now.astimezone(snapshot.snapshot_zone()).replace(tzinfo=None)
    current = service.default_period(local_now)
    return [p.label for p in current.trailing(get_settings().alert_lookback_months)]


def alerts(session: Session, principal: Principal, locale: str, now: dt.datetime, limit: int, offset: int) -> Page:
    periods = _alert_periods(now)
    where = [QualityAlert.period.in_(periods)]
    count = session.execute(select(func.count()).select_from(QualityAlert).where(*where)).scalar_one()
    if limit <= 0 or count == 0:
        return Page(count)
    rows = session.execute(
        select(QualityAlert)
        .where(*where)
        .order_by(QualityAlert.period.desc(), QualityAlert.created_at.desc(), QualityAlert.id.desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    catalogue = kpi_loader.by_code()
    items = []
    for alert in rows:
        kpi = catalogue.get(alert.kpi_code)
        drill = {"region": alert.unit_key} if alert.dimension == "region" else {}
        if alert.dimension == "org" and alert.unit_key.isdigit():
            drill = {"org": alert.unit_key}
        url = DashboardQuery(period=Period.parse(alert.period)).url(**drill)
        limit_value = alert.upper_limit if kpi is None or kpi.better == "lower" else alert.lower_limit
        items.append(
            Item(
                title=f"{kpi.name(locale) if kpi else alert.kpi_code} · {alert.unit_label}",
                url=url,
                detail=f"{alert.period}: {alert.rate:.1%} ({translate(locale, N_('limit'))} {limit_value:.1%}, "
                f"n = {alert.count})",
                light="red",
                key=str(alert.id),
            )
        )
    return Page(count, items)


registry.register(
    Source(
        key="red-kpis",
        label=N_("KPIs off target, last complete month"),
        permission=Permission.INBOX_QUALITY,
        fetch=red_kpis,
        order=10,
        empty=N_("Every KPI with data meets its target (or no snapshot yet)."),
        links=((N_("Quality dashboard"), "/dashboard"),),
    )
)
registry.register(
    Source(
        key="alerts",
        label=N_("Quality alerts"),
        permission=Permission.INBOX_QUALITY,
        fetch=alerts,
        order=20,
        empty=N_("No quality alert in the recent months."),
    )
)
