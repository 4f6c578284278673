"""Demo: last month's quality committee (品质管理委员会) and the public disclosures (信息披露).

For each insurer the quality manager generates last month's agenda (red KPIs, open alerts, overdue
rectifications and actions, major complaints, proposed sanctions), records the meeting (held on the third
day of this month) and decides every item but the last two: the first red KPI (else the first alert) raises
an improvement action owned by the claims supervisor, the others are noted, escalated or deferred. The
minutes stay open (two items wait for a decision). Then the last two finished quarters' disclosures are
published from the KPI snapshot, and the snapshot is retaken so ``disclosure_completeness`` counts them.

Every write goes through ``committee.service`` and ``reports.disclosure`` (audited). Call after
``demo.improvement`` (the agenda lists its overdue action): ``demo_committee.load(spec)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.principal import Principal
from claimwatch.committee import service as committee_service
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import DemoSpec
from claimwatch.errors import Problem
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.reports import disclosure, periods
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service

UNDECIDED = 2  # the last items wait for the next sitting
ACTION_DUE_DAYS = 45
DECISIONS: dict[str, tuple[str, str]] = {
    "red_kpi": ("noted", "已知悉，责成指标责任部门下月汇报改进情况。"),
    "alert": ("escalated", "提交分管领导督办，专项检查结果报委员会。"),
    "overdue_rectification": ("noted", "督促责任机构两周内提交整改方案。"),
    "overdue_action": ("escalated", "约谈措施责任人，逾期原因下次会议汇报。"),
    "major_complaint": ("noted", "由客户服务部专项跟进，处理结果报委员会。"),
    "sanction_proposed": ("deferred", "违规事实待复核，下次会议再议。"),
}


@dataclass
class Loaded:
    meetings: list[str] = field(default_factory=list)  # "PICC 2026-11: 14 items, 12 decided"
    actions: list[str] = field(default_factory=list)
    disclosures: list[str] = field(default_factory=list)  # "PICC 2026-Q3 5/5"
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"quality committee: {'; '.join(self.meetings) or 'none'}; "
            f"actions raised {', '.join(self.actions) or 'none'}",
            f"disclosures published: {', '.join(self.disclosures) or 'none'}",
            *(f"  skipped: {reason}" for reason in self.skipped),
        ]


def _principal(username: str) -> Principal | None:
    with unit_of_work(TenantContext.system_reader()) as session:
        user = auth_repository.user_by_username(session, username)
        return auth_service.principal_for_user(user, session) if user is not None else None


def _meeting(code: str, tenant_id: int, now: dt.datetime, loaded: Loaded) -> None:
    prefix = code.lower()
    qm, supervisor = _principal(f"{prefix}.qm"), _principal(f"{prefix}.supervisor")
    if qm is None or supervisor is None:
        loaded.skipped.append(f"{code}: no quality manager or supervisor")
        return
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        zone = tenancy_service.tenant_zone(session, tenant_id)
        today = now.astimezone(zone).date()
        month = periods.last_finished(today).label
        meeting = committee_service.generate_agenda(session, qm, month, at=now)
        meeting_id = meeting.id
        items = [item for item, _ in committee_service.items_with_decisions(session, meeting)]
        held_on = min(today, today.replace(day=3))
        committee_service.record_meeting(
            session,
            qm,
            meeting_id,
            held_on=held_on,
            chair="品质管理委员会主任",
            attendees="品质管理部、理赔部、客户服务部、合规部负责人；各分公司品质专员列席",
            at=now,
        )
    candidates = [i for i in items if i.kind == "red_kpi"] or [i for i in items if i.kind == "alert"]
    raising = candidates[0] if candidates else None
    decided = 0
    for item in items[: max(0, len(items) - UNDECIDED)]:
        decision, text = DECISIONS.get(item.kind, ("noted", "已知悉。"))
        draft = None
        if raising is not None and item.id == raising.id:
            decision, text = "action_raised", "成立专项改进小组，由理赔主管牵头制定改进措施。"
            draft = committee_service.ActionDraft(
                title=f"委员会督办：{item.label}"[:300],
                owner_user_id=supervisor.user_id,
                due_on=today + dt.timedelta(days=ACTION_DUE_DAYS),
            )
        try:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                record = committee_service.record_decision(
                    session, qm, item.id, decision=decision, text=text, raise_action=draft, at=now
                )
                if record.action_id is not None:
                    loaded.actions.append(f"{code} #{record.action_id}")
            decided += 1
        except Problem as refused:
            loaded.skipped.append(f"{code} item {item.id}: {refused.message}")
    loaded.meetings.append(f"{code} {month}: {len(items)} items, {decided} decided")


def _disclose(code: str, tenant_id: int, now: dt.datetime, loaded: Loaded) -> None:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        today = now.astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()
    last = periods.last_finished(today, "quarter")
    for quarter in (last.shift(-1), last):
        try:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                row = disclosure.publish(session, "demo", tenant_id=tenant_id, quarter=quarter.label, at=now)
                loaded.disclosures.append(f"{code} {row.quarter} {row.present}/{row.required}")
        except Problem as refused:
            loaded.skipped.append(f"{code} disclosure {quarter.label}: {refused.message}")


def load(spec: DemoSpec, now: dt.datetime | None = None) -> list[str]:
    now = now or utc_now()
    loaded = Loaded()
    tenants: list[tuple[str, int]] = []
    with unit_of_work(TenantContext.system_reader()) as session:
        for demo_tenant in spec.tenants:
            found = tenancy_repository.tenant_by_code(session, demo_tenant.code)
            if found is not None:
                tenants.append((demo_tenant.code, found.id))
    for code, tenant_id in tenants:
        _meeting(code, tenant_id, now, loaded)
    if kpi_snapshot.current() is None:
        loaded.skipped.append("disclosures: no KPI snapshot")
        return loaded.lines()
    for code, tenant_id in tenants:
        _disclose(code, tenant_id, now, loaded)
    kpi_snapshot.take_snapshot()
    return loaded.lines()
