"""Tells the admins, once per stale episode, that the worker has gone silent (a staff notice through
``notify_staff``, routed at once to their in-app inbox: the worker that would route it is the one that is
silent). Called by the pages' stale check (``heartbeat.watch``, on a thread), by /readyz and by the worker
after each round of passes, which also closes the episode when every kind is fresh again."""

from __future__ import annotations

import datetime as dt

import structlog

from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.heartbeat import service as heartbeat_service
from claimwatch.heartbeat import watch as heartbeat_watch
from claimwatch.heartbeat.service import KindAge
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.tenancy import repository as tenancy_repository

log = structlog.get_logger("claimwatch.ops")

NOTICE_KIND = "worker_stale"
ADMIN_ROLE = "admin"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f}"


def notice_text(stale: list[KindAge]) -> tuple[str, str]:
    kinds = ", ".join(age.kind for age in stale)
    subject = f"后台任务停止运行：{kinds} / Background worker silent: {kinds}"
    lines = [
        f"- {age.kind}: 已 {_minutes(age.age_seconds)} 分钟无成功运行（阈值 {_minutes(age.threshold_seconds)} 分钟）"
        f" / no successful pass for {_minutes(age.age_seconds)} min (threshold {_minutes(age.threshold_seconds)} min)"
        + ("" if age.last_ok else f"; {age.last_error or 'failing'}")
        for age in stale
    ]
    body = (
        "时效扫描、消息发送、回访或指标快照可能已停止：请检查 `claimwatch worker`（或 `claimwatch run`）进程，"
        "并查看 /readyz。\nSLA sweeps, message delivery, surveys or the KPI snapshot may have stopped: check the "
        "`claimwatch worker` (or `claimwatch run`) process and /readyz.\n" + "\n".join(lines)
    )
    return subject, body


def alert(stale: list[KindAge], now: dt.datetime | None = None) -> int:
    """Open the episode and notify the admins when ``stale`` is not empty and no episode is open; close
    the open episode when it is empty. Returns the tenants notified (0: nothing new)."""
    now = now or utc_now()
    platform = get_settings().platform_tenant
    with unit_of_work(TenantContext.system_context()) as session:
        if not stale:
            if heartbeat_service.end_episode(session, now) is not None:
                log.info("worker heartbeats fresh again: stale episode closed")
            return 0
        episode = heartbeat_service.start_episode(session, [age.kind for age in stale], now)
        if episode is None:
            return 0
        tenants = [
            tenant.id
            for tenant in tenancy_repository.all_tenants(session)
            if platform is None or tenant.code == platform
        ]
        subject, body = notice_text(stale)
        dedupe = f"worker-stale:{episode.id}"
        for tenant_id in tenants:
            notify_staff_notices.notify_staff(session, tenant_id, ADMIN_ROLE, NOTICE_KIND, subject, body, dedupe, now)
    log.warning("worker heartbeats stale: admins notified", kinds=[age.kind for age in stale], tenants=len(tenants))
    batch = get_settings().staff_route_batch
    for tenant_id in tenants:
        try:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                notify_staff_notices.route_staff_notices(session, tenant_id, now, batch)
        except Exception:  # noqa: BLE001 - the notice stays queued; the delivery pass routes it when it runs
            log.exception("routing the stale-worker notice failed", tenant=tenant_id)
    return len(tenants)


def check(now: dt.datetime | None = None) -> list[KindAge]:
    """Read the heartbeats now and alert or close the episode (the worker and /readyz call it)."""
    now = now or utc_now()
    with unit_of_work(TenantContext.system_reader()) as session:
        stale = heartbeat_service.stale(session, now)
        episode_open = heartbeat_service.open_episode(session) is not None
    if stale or episode_open:
        alert(stale, now)
    return stale


def install() -> None:
    """Let the pages' cached check alert the admins (``heartbeat.watch`` calls back on a thread)."""
    heartbeat_watch.on_change(alert)
