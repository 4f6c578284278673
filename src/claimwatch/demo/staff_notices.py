"""Demo staff notices (issue 12, item 1): e-mail addresses for the demo staff (one left without, as in
real life), preferences (the busy supervisor takes yellow lights in the daily digest), a DingTalk group robot
of the second branch whose address is wrong (its messages fail, retry and end as dead letters: the
bad case; a real robot needs the group's own URL), then every queued notice routed to inboxes, most
of them read, the newest unread.

Call after the sweeps and the KPI alerts have queued their notices: ``staff_notices.load(spec)``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import DemoSpec
from claimwatch.notify import jobs as notify_jobs
from claimwatch.notify import repository as notify_repository
from claimwatch.notify import robots as notify_robots
from claimwatch.notify import staff_inbox as notify_staff_inbox
from claimwatch.tenancy import repository as tenancy_repository

UNREAD_PER_USER = 6
# Nothing listens on the discard port: the misconfigured robot's messages fail, retry and die.
BROKEN_ROBOT_URL = "http://127.0.0.1:9/robot/send?access_token=demo-wrong-token"


@dataclass
class Loaded:
    addresses: int = 0
    routed: int = 0
    unread: int = 0


def _email(username: str, tenant_code: str) -> str:
    return f"{username.replace('.', '_')}@{tenant_code.lower()}.example.cn"


def load(spec: DemoSpec, now: dt.datetime | None = None) -> Loaded:
    now = now or utc_now()
    loaded = Loaded()
    for tenant in spec.tenants:
        with unit_of_work(TenantContext.system_context()) as session:
            found = tenancy_repository.tenant_by_code(session, tenant.code)
        if found is None:
            continue
        tenant_id = found.id
        prefix = tenant.code.lower()
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            users = {u.username: u for u in notify_repository.staff_users(session, tenant_id)}
            for username in users:
                if username == f"{prefix}.inspector":
                    continue  # no address: notices stay in the app (the settings page says so)
                notify_staff_inbox.set_user_email(session, tenant_id, username, _email(username, tenant.code), "demo")
                loaded.addresses += 1
            supervisor = users.get(f"{prefix}.supervisor")
            if supervisor is not None:
                notify_staff_inbox.set_preferences(
                    session,
                    supervisor.id,
                    tenant_id,
                    {"sla_yellow": "digest", "complaint_overdue": "digest", "sla_red": "instant"},
                    "zh",
                    "demo",
                )
            qm = users.get(f"{prefix}.qm")
            if qm is not None:
                notify_staff_inbox.set_preferences(
                    session, qm.id, tenant_id, {"kpi_alert": "instant", "complaint_overdue_red": "digest"}, "en", "demo"
                )
            admin = users.get(f"{prefix}.admin")
            if admin is not None:
                notify_staff_inbox.set_preferences(
                    session, admin.id, tenant_id, {"notify_failures": "off"}, "zh", "demo"
                )
            if len(tenant.branches) > 1:
                broken = tenant.branches[1]
                notify_robots.save_robot(
                    session,
                    tenant_id,
                    name=f"{broken.name}督办群（地址有误）",
                    provider="dingtalk",
                    url=BROKEN_ROBOT_URL,
                    secret="SECdemo0000000000000000000000000000",
                    org=broken.code,
                    kinds=["sla_red"],
                    actor="demo",
                )
    loaded.routed = notify_jobs.route_notices(now)
    for tenant in spec.tenants:
        with unit_of_work(TenantContext.system_context()) as session:
            found = tenancy_repository.tenant_by_code(session, tenant.code)
        if found is None:
            continue
        with unit_of_work(TenantContext.for_tenant(found.id)) as session:
            for user in notify_repository.staff_users(session, found.id):
                newest = notify_staff_inbox.inbox(session, user.id, "zh", limit=UNREAD_PER_USER)
                notify_staff_inbox.mark_all_read(session, user.id)
                for item in newest:
                    notify_staff_inbox.mark_read(session, user.id, item["id"], read=False)
                loaded.unread += len(newest)
    return loaded
