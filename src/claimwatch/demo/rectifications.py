"""Demo rectifications (整改): moved through their states with backdated times through the real service, so
the board shows every light. Per tenant:

- the rectifications the demo inspections' findings opened (if any) get their plan on time;
- five more from other sources (a regulator's on-site findings, a third-party review), opened in the past:
  one closed on time, one whose plan is overdue (red after the sweep), one sent back and being reworked, one
  accepted late, one waiting for the quality manager's acceptance.

Re-running changes nothing: opening is idempotent per source and a rectification is moved only from its
first state. The sweep at the end turns the lights and sends the staff notices.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.rectification import jobs as rectification_jobs
from claimwatch.rectification import service
from claimwatch.rectification.models import Rectification
from claimwatch.tenancy import repository as tenancy_repository

DAY = dt.timedelta(days=1)
ACTOR = "demo"


@dataclass
class Loaded:
    opened: int = 0
    moved: int = 0
    red: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


# (source kind, source id, label, title, severity, days ago opened, steps: (action, days after opening, text))
_Step = tuple[str, float, str | None]
SCENARIOS: tuple[tuple[str, int, str, str, str, int, tuple[_Step, ...]], ...] = (
    (
        "regulator_finding",
        1,
        "监管现场检查意见 第1项",
        "车险小额案件材料一次性告知执行不到位",
        "major",
        75,
        (
            ("plan", 12, "1. 修订一次性告知书模板\n2. 对理赔员开展专项培训\n3. 品质部每周抽查10件"),
            ("progress", 20, "模板已修订并上线，培训已完成（签到表已上传）"),
            ("submit", 40, "整改措施全部落实，近一个月抽查无新发问题"),
            ("accept", 50, "抽查20件均合规，验收通过"),
            ("close", 52, None),
        ),
    ),
    (
        "regulator_finding",
        2,
        "监管现场检查意见 第2项",
        "拒赔通知书未载明拒赔理由（保险法第24条）",
        "severe",
        45,
        (),
    ),
    (
        "regulator_finding",
        3,
        "监管现场检查意见 第3项",
        "医疗险理算金额复核缺失",
        "major",
        35,
        (
            ("plan", 10, "增加理算复核岗，5000元以上案件双人复核"),
            ("progress", 15, "复核岗已设立"),
            ("submit", 25, "复核制度已执行"),
            ("send-back", 28, "缺少复核记录样本，请补充近两周的复核记录"),
            ("progress", 31, "已补充复核记录样本，继续整改"),
        ),
    ),
    (
        "third_party_review",
        1,
        "第三方理赔服务评估 问题1",
        "理赔进度未主动告知客户",
        "major",
        90,
        (
            ("plan", 25, "上线进度短信通知，每个节点自动推送"),
            ("progress", 30, "短信通知开发中"),
            ("submit", 58, "短信通知已上线"),
            ("accept", 70, "验收通过（超过验收时限）"),
        ),
    ),
    (
        "third_party_review",
        2,
        "第三方理赔服务评估 问题2",
        "投诉回访记录不完整",
        "major",
        20,
        (
            ("plan", 5, "回访记录纳入投诉结案必填项"),
            ("progress", 8, "系统已改造"),
            ("submit", 15, "已落实，请验收"),
        ),
    ),
)


def _principal(username: str) -> Principal | None:
    with unit_of_work(TenantContext.system_context()) as session:
        user = auth_repository.user_by_username(session, username)
        return auth_service.principal_for_user(user) if user is not None else None


def _owner_unit(tenant_id: int) -> int | None:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        units = [u for u in tenancy_repository.org_units(session) if u.parent_id is not None]
        return units[0].id if units else None


def load(tenant_ids: list[int], now: dt.datetime) -> Loaded:
    """Open and move the demo rectifications of every tenant, then run the sweep at ``now``."""
    loaded = Loaded()
    for tenant_id in tenant_ids:
        with unit_of_work(TenantContext.system_context()) as session:
            tenant = tenancy_repository.tenant_by_id(session, tenant_id)
            assert tenant is not None
            prefix = tenant.code.lower()
        qm = _principal(f"{prefix}.qm")
        owners = [p for n in range(1, 4) if (p := _principal(f"{prefix}.adjuster{n:02d}")) is not None]
        if qm is None or not owners:
            continue
        unit = _owner_unit(tenant_id)
        _findings_plans(tenant_id, owners, now, loaded)
        for index, (kind, source_id, label, title, severity, days_ago, steps) in enumerate(SCENARIOS):
            owner = owners[index % len(owners)]
            opened_at = now - days_ago * DAY
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                rectification = service.open_rectification(
                    session,
                    tenant_id,
                    source_kind=kind,
                    source_id=source_id,
                    source_label=label,
                    source_url="/dashboard",
                    title=title,
                    severity=severity,
                    owner_org_unit_id=unit,
                    owner_user_id=owner.user_id,
                    actor=ACTOR,
                    at=opened_at,
                )
                rid, fresh = rectification.id, rectification.status == "open" and rectification.plan is None
                loaded.opened += 1
            if not fresh:
                continue
            for action, after, text in steps:
                who = qm if action in ("accept", "send-back", "close") else owner
                with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                    service.transition(session, who, rid, action, text, at=opened_at + after * DAY)
                loaded.moved += 1
    swept = rectification_jobs.sweep(now=now)
    loaded.red = swept.red
    with unit_of_work(TenantContext.system_context()) as session:
        for (status,) in session.execute(select(Rectification.status).where(Rectification.tenant_id.in_(tenant_ids))):
            loaded.by_status[status] = loaded.by_status.get(status, 0) + 1
    return loaded


def _findings_plans(tenant_id: int, owners: list[Principal], now: dt.datetime, loaded: Loaded) -> None:
    """The rectifications the demo findings opened: the owner submits the plan two days after opening (on
    time), for up to three of them opened at least two days ago."""
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        found = session.execute(
            select(Rectification.id, Rectification.opened_at, Rectification.owner_user_id)
            .where(Rectification.source_kind == "inspection_finding", Rectification.status == "open")
            .order_by(Rectification.opened_at, Rectification.id)
            .limit(3)
        ).all()
    by_id = {p.user_id: p for p in owners}
    for rid, opened_at, owner_id in found:
        at = opened_at + 2 * DAY
        if at > now:
            continue
        principal = by_id.get(owner_id) or _principal_of(owner_id)
        if principal is None:
            continue
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            service.transition(session, principal, rid, "plan", "分析原因，制定培训与抽查措施，30日内完成", at=at)
        loaded.moved += 1


def _principal_of(user_id: int | None) -> Principal | None:
    if user_id is None:
        return None
    with unit_of_work(TenantContext.system_context()) as session:
        user = auth_repository.user_by_id(session, user_id)
        return auth_service.principal_for_user(user) if user is not None else None
