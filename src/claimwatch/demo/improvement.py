"""Demo: improvement actions (PDCA) whose Check measures whether the KPI moved: one worked, one did not.

The generator makes one branch per insurer slow (``generator.LAGGING_BRANCHES``): PICC's 江苏分公司 handled small
claims late for months and got back to normal on a known day; PAIC's 浙江分公司 stayed slow. In the month before the
actions (``generator.lagging_alert_month``) both fell further behind, and the platform's own p-chart evaluation of
that month (``kpi.jobs.evaluate_alerts``, default minimum count and sigma) records a quality alert on each branch's
small-claim timeliness (the org unit's, else its region's). Each insurer's quality manager raised an action from that
alert (from the KPI, with the reason printed, when too few demo claims let no alert fire) about a month before that
day, with a root-cause analysis and steps with owners; the steps were done and Do ended on that day; now the Check
runs on the KPI snapshot (the 180 days before against the days since): PICC's says improved, and the action is
standardised (Act) and closed; PAIC's shows no significant change, and a second cycle starts from it. Besides:
CPIC has an action on complaint handling whose due date passed with a step still open (overdue), and PICC's newest
quality alert has an action raised from it today.

Every step goes through ``claimwatch.actions.service`` with ``at=`` for the past dates. Call after the KPI
snapshot, the alerts and ``demo.quality_loop`` (the Check reads the current snapshot); it retakes the snapshot
at the end so the dashboard's action KPIs count these actions: ``demo_improvement.load(spec)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from claimwatch.actions import effectiveness
from claimwatch.actions import phases as actions_phases
from claimwatch.actions import repository as actions_repository
from claimwatch.actions import service as actions_service
from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import (
    CHINA,
    LAGGING_RAISED_DAYS,
    DemoSpec,
    lagging,
    lagging_alert_month,
    lagging_do_ended,
)
from claimwatch.kpi import jobs as kpi_jobs
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.engine import Period
from claimwatch.kpi.models import QualityAlert
from claimwatch.tenancy import repository as tenancy_repository

KPI = "small_timeliness"
BEFORE_DAYS = 180  # the slow months before Do ended
AFTER_DAYS = 180  # at most; the after window ends at the snapshot's day


@dataclass
class Loaded:
    raised: list[str] = field(default_factory=list)  # "PICC GJ-2026-0001"
    alerts: int = 0  # quality alerts recorded for the month before the slow branches' actions
    sources: dict[str, str] = field(default_factory=dict)  # number → the alert (or KPI) it was raised from
    verdicts: dict[str, str] = field(default_factory=dict)  # number → check verdict
    standardised: list[str] = field(default_factory=list)
    new_cycles: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    snapshot_taken: bool = False

    def lines(self) -> list[str]:
        checked = ", ".join(f"{number} {verdict}" for number, verdict in self.verdicts.items()) or "none"
        return [
            f"improvement actions: {len(self.raised)} raised; checked {checked}; standardised "
            f"{', '.join(self.standardised) or 'none'}; new cycle {', '.join(self.new_cycles) or 'none'}; "
            f"overdue {', '.join(self.overdue) or 'none'}; {self.alerts} quality alerts of the month before",
            *(f"  {number} raised from {source}" for number, source in self.sources.items()),
            *(f"  skipped: {reason}" for reason in self.skipped),
        ]


@dataclass(frozen=True)
class _Tenant:
    id: int
    code: str
    qm: Principal
    people: dict[str, int]  # role suffix (qm, supervisor, inspector, cs, adjuster01) → user id


def _local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), CHINA)


def _tenant(code: str) -> _Tenant | None:
    with unit_of_work(TenantContext.system_context()) as session:
        found = tenancy_repository.tenant_by_code(session, code)
        if found is None:
            return None
        people: dict[str, int] = {}
        qm = None
        for suffix in ("qm", "supervisor", "inspector", "cs", "adjuster01"):
            user = auth_repository.user_by_username(session, f"{code.lower()}.{suffix}")
            if user is not None:
                people[suffix] = user.id
                if suffix == "qm":
                    qm = auth_service.principal_for_user(user)
        if qm is None:
            return None
        return _Tenant(found.id, code, qm, people)


def _org_unit(tenant: _Tenant, code: str) -> tuple[int, str | None] | None:
    """The org unit's id and region code."""
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        unit = tenancy_repository.org_unit_by_code(session, code)
        return (unit.id, unit.region_code) if unit is not None else None


def _newest_alert(tenant: _Tenant, after_period: str) -> int | None:
    """The newest quality alert on the KPI for an org unit of a month after ``after_period``, if any."""
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        query = select(QualityAlert.id).where(
            QualityAlert.kpi_code == KPI, QualityAlert.dimension == "org", QualityAlert.period > after_period
        )
        return session.scalars(query.order_by(QualityAlert.period.desc(), QualityAlert.id.desc()).limit(1)).first()


def _branch_alert(tenant: _Tenant, org_unit_id: int, region: str | None, period: str) -> QualityAlert | None:
    """The alert of ``period`` on the KPI for the branch itself, else for its region (its sub-branches too)."""
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        for dimension, key in (("org", str(org_unit_id)), ("region", region)):
            if key is None:
                continue
            alert = session.scalars(
                select(QualityAlert).where(
                    QualityAlert.kpi_code == KPI,
                    QualityAlert.period == period,
                    QualityAlert.dimension == dimension,
                    QualityAlert.unit_key == key,
                )
            ).first()
            if alert is not None:
                session.expunge(alert)
                return alert
    return None


def _described(alert: QualityAlert) -> str:
    return (
        f"alert {alert.id} ({alert.period} {alert.dimension} {alert.unit_label}: {alert.rate:.1%} = "
        f"{alert.numerator}/{alert.count}, limits {alert.lower_limit:.1%}–{alert.upper_limit:.1%} "
        f"around {alert.expected:.1%})"
    )


_FISHBONE = {
    "man": ["新入职理赔员占比高，小额快赔流程不熟", "查勘员周末轮班不足"],
    "method": ["小额案件仍走完整审核，未按快赔通道分流", "补材料通知未在首次告知时列全"],
    "machine": ["移动查勘系统上传影像经常失败"],
    "measurement": ["分公司未按日跟踪 24 小时时效达成率"],
}
_FIVE_WHYS = [
    {"why": "为什么小额赔案超过 24 小时才结案？", "answer": "案件在审核环节排队等待"},
    {"why": "为什么在审核环节排队？", "answer": "所有案件由两名审核岗人工逐一复核"},
    {"why": "为什么小额案件也要人工逐一复核？", "answer": "分公司未启用总公司的小额快赔规则"},
    {"why": "为什么未启用快赔规则？", "answer": "担心快赔带来渗漏，未评估过风险与时效的取舍"},
]


def _branch_action(
    tenant: _Tenant, branch_code: str, done_on: dt.date, period: str, now: dt.datetime, loaded: Loaded
) -> tuple[int, str] | None:
    """Raise the branch's action from its alert of ``period`` (else from the KPI) about a month before ``done_on``,
    plan → do, finish its steps, end Do on ``done_on``, run the Check on the current snapshot. Answers (action id,
    number)."""
    unit = _org_unit(tenant, branch_code)
    if unit is None:
        loaded.skipped.append(f"{tenant.code}: no org unit {branch_code}")
        return None
    org_unit_id, region = unit
    alert = _branch_alert(tenant, org_unit_id, region, period)
    source: dict[str, Any] = {"source_kind": "kpi", "source_ref": KPI}
    if alert is not None:
        source = {"source_kind": "alert", "source_id": alert.id}
    raised_at = _local(done_on - dt.timedelta(days=LAGGING_RAISED_DAYS), 10)
    owner = tenant.people.get("supervisor", tenant.people["qm"])
    helper = tenant.people.get("adjuster01", owner)
    inspector = tenant.people.get("inspector", tenant.people["qm"])
    fishbone = tenant.code == "PICC"
    steps = [
        {"text": "小额案件启用快赔通道：5000 元以下、资料齐全的案件免调查直接理算", "owner_user_id": owner,
         "due_on": done_on - dt.timedelta(days=12)},
        {"text": "首次告知使用统一材料清单，一次列全所需材料", "owner_user_id": helper,
         "due_on": done_on - dt.timedelta(days=5)},
        {"text": "品质部每日通报分公司 24 小时时效达成率", "owner_user_id": inspector, "due_on": done_on},
    ]  # fmt: skip
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        action = actions_service.raise_action(
            session,
            tenant.qm,
            **source,
            title=f"{branch_code} 小额赔案 24 小时时效提升",
            problem="该分公司小额赔案 24 小时结案时效达成率长期低于 75%，远低于 95% 的目标，也低于公司其他分公司。",
            owner_user_id=owner,
            due_on=done_on + dt.timedelta(days=7),
            kpi_code=KPI,
            scope_org_unit_id=org_unit_id,
            steps=steps,
            rca_method="fishbone" if fishbone else "five_whys",
            rca=_FISHBONE if fishbone else _FIVE_WHYS,
            root_cause="小额案件未走快赔通道，且首次告知材料不全导致反复补材料。",
            at=raised_at,
        )
        action_id, number = action.id, f"{tenant.code} {action.number}"
        actions_phases.move_phase(session, tenant.qm, action_id, "do", at=raised_at + dt.timedelta(days=2))
        step_ids = [step.id for step in actions_repository.steps(session, tenant.id, [action_id])]
        for offset, step_id in zip((14, 6, 0), step_ids, strict=False):
            at = _local(done_on - dt.timedelta(days=offset), 9)
            actions_service.finish_step(session, tenant.qm, step_id, note="已完成", at=at)
        actions_phases.move_phase(session, tenant.qm, action_id, "check", at=_local(done_on, 10))
    loaded.raised.append(number)
    loaded.sources[number] = (
        _described(alert)
        if alert is not None
        else f"the KPI {KPI}: no quality alert on {branch_code} or its region in {period} "
        f"(too few small claims there that month, or none beyond the control limit)"
    )
    before, after = effectiveness.default_windows(
        done_on, now.astimezone(CHINA).date(), before_days=BEFORE_DAYS, after_days=AFTER_DAYS
    )
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        checked = actions_phases.run_check(session, tenant.qm, action_id, before=before, after=after, at=now)
        loaded.verdicts[number] = checked.check_verdict or "none"
    return action_id, number


def _act(tenant: _Tenant, action_id: int, number: str, verdict: str, now: dt.datetime, loaded: Loaded) -> None:
    """Act on the Check: standardise what worked, start a new cycle of what did not."""
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        if verdict == "improved":
            actions_phases.move_phase(session, tenant.qm, action_id, "act", at=now)
            refs = [
                {"kind": "workflow", "code": "motor", "note": "小额车险快赔通道纳入标准作业流程"},
                {"kind": "document", "code": "小额快赔作业指引", "version": "2026版", "note": "全省推广"},
            ]
            actions_phases.standardise(session, tenant.qm, action_id, refs, note="措施有效，固化为标准", at=now)
            loaded.standardised.append(number)
        else:
            following = actions_phases.new_cycle(
                session, tenant.qm, action_id, due_on=now.astimezone(CHINA).date() + dt.timedelta(days=45), at=now
            )
            loaded.new_cycles.append(f"{tenant.code} {following.number}")


def _overdue(tenant: _Tenant, now: dt.datetime, loaded: Loaded) -> None:
    """An action on complaint handling, due four days ago, one of its two steps still open."""
    raised_at = now - dt.timedelta(days=26)
    today = raised_at.astimezone(CHINA).date()
    owner = tenant.people.get("cs", tenant.people["qm"])
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        action = actions_service.raise_action(
            session,
            tenant.qm,
            source_kind="kpi",
            source_ref="complaint_on_time_rate",
            title="投诉按时办结率提升",
            problem="投诉按时办结率低于 100% 的监管要求，部分复杂投诉临近时限才开始处理。",
            owner_user_id=owner,
            due_on=today + dt.timedelta(days=22),
            kpi_code="complaint_on_time_rate",
            steps=[
                {
                    "text": "投诉受理后 2 日内完成分级并指定处理人",
                    "owner_user_id": owner,
                    "due_on": today + dt.timedelta(days=10),
                },
                {
                    "text": "每周复盘临近时限的投诉",
                    "owner_user_id": tenant.people["qm"],
                    "due_on": today + dt.timedelta(days=20),
                },
            ],  # fmt: skip
            rca_method="five_whys",
            rca=[{"why": "为什么投诉超时？", "answer": "复杂投诉分级晚，处理人临近时限才接手"}],
            at=raised_at,
        )
        actions_phases.move_phase(session, tenant.qm, action.id, "do", at=raised_at + dt.timedelta(days=1))
        first = actions_repository.steps(session, tenant.id, [action.id])[0]
        actions_service.finish_step(session, tenant.qm, first.id, at=raised_at + dt.timedelta(days=8))
        loaded.raised.append(f"{tenant.code} {action.number}")
        if action.due_at is not None and action.due_at < now:
            loaded.overdue.append(f"{tenant.code} {action.number}")


def _from_newest_alert(tenant: _Tenant, after_period: str, now: dt.datetime, loaded: Loaded) -> None:
    """The insurer's newest alert (the storm's, not the slow branch's) leads to an action today (plan, then do)."""
    alert_id = _newest_alert(tenant, after_period)
    if alert_id is None:
        loaded.skipped.append(f"{tenant.code}: no quality alert to act on")
        return
    owner = tenant.people.get("supervisor", tenant.people["qm"])
    today = now.astimezone(CHINA).date()
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        action = actions_service.raise_action(
            session,
            tenant.qm,
            source_kind="alert",
            source_id=alert_id,
            title="预警机构积压案件清理",
            problem="近六周该机构案件量骤增，各环节处理时间成倍延长，小额赔案时效达成率跌出控制下限。",
            owner_user_id=owner,
            due_on=today + dt.timedelta(days=30),
            steps=[
                {
                    "text": "从相邻分公司抽调 4 名理赔员支援两周",
                    "owner_user_id": owner,
                    "due_on": today + dt.timedelta(days=7),
                },
                {
                    "text": "积压案件按报案时间排序逐件清理",
                    "owner_user_id": owner,
                    "due_on": today + dt.timedelta(days=21),
                },
            ],  # fmt: skip
            rca_method="fishbone",
            rca={"environment": ["暴雨导致集中报案"], "man": ["查勘人手不足"]},
            at=now,
        )
        actions_phases.move_phase(session, tenant.qm, action.id, "do", at=now)
        loaded.raised.append(f"{tenant.code} {action.number}")


def load(spec: DemoSpec, now: dt.datetime | None = None, take_snapshot: bool = True) -> Loaded:
    now = now or utc_now()
    loaded = Loaded()
    # The platform's monthly alert pass over the month before the actions, on the current snapshot.
    period = Period.containing(lagging_alert_month(spec)[0])
    loaded.alerts = kpi_jobs.evaluate_alerts(periods=[period]).created
    for tenant_spec in spec.tenants:
        tenant = _tenant(tenant_spec.code)
        if tenant is None:
            continue
        slow = lagging(spec, tenant.code)
        if slow is not None:
            branch_code, fixed_on = slow
            # The day Do ended: when the branch got back to normal, or (it never did) as many days before the end.
            done_on = fixed_on or lagging_do_ended(spec)
            made = _branch_action(tenant, branch_code, done_on, period.label, now, loaded)
            if made is not None:
                _act(tenant, made[0], made[1], loaded.verdicts[made[1]], now, loaded)
        if tenant.code == "PICC":
            _from_newest_alert(tenant, period.label, now, loaded)
        if tenant.code == "CPIC":
            _overdue(tenant, now, loaded)
    if take_snapshot:
        kpi_snapshot.take_snapshot(now=now)
        loaded.snapshot_taken = True
    return loaded
