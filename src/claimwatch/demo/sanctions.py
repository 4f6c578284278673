"""Demo violations, sanctions and blacklist (违规处理), through the real service with backdated times. Per tenant:

- up to three findings of the demo inspections that name a responsible staff member get a proposed sanction
  (source "inspection_finding"); without findings, two are recorded from a "quality_review" source instead;
- adjuster03 gets a 7-day suspension of claims handling, proposed by the inspector two days ago and approved
  by the quality manager yesterday: signed in as ``<tenant>.adjuster03`` the handler is refused claim work
  with the end date and the sanction's number, and the assignment rules pass them over;
- adjuster05 is a repeat offender: three violations within twelve months, the third raised one step
  (warning → public reprimand) with a mandatory training; the first two approved, the third waiting;
- one proposal rejected by the quality manager;
- blacklist: a repair shop, a hospital (for a period) and an agent, and a lifted entry.

Re-running changes nothing: a tenant that has sanctions already is skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from claimwatch.auth import repository as auth_repository
from claimwatch.auth import service as auth_service
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.inspections.models import InspectionFinding
from claimwatch.sanctions import service
from claimwatch.sanctions.models import Sanction
from claimwatch.tenancy import repository as tenancy_repository

DAY = dt.timedelta(days=1)
# A finding's severity → the violation the demo records for it.
_BY_SEVERITY = {"minor": "MATERIALS_NOTICE", "major": "PAYMENT_ERROR", "severe": "REJECTION_NO_REASON"}
# (party kind, name, code, reason, days ago listed, days listed (None: until lifted), days ago lifted)
BLACKLIST: tuple[tuple[str, str, str | None, str, int, int | None, int | None], ...] = (
    ("repair_shop", "鑫达汽车修理厂", "RS-0042", "多次虚增维修项目和工时费，经核实属实", 40, None, None),
    ("hospital", "博爱医院", "HOS-0007", "出具与病历不符的费用清单", 25, 180, None),
    ("agent", "王某（代理人）", "AG-20231", "误导销售，诱导客户不如实告知健康状况", 15, None, None),
    ("repair_shop", "顺通汽修", "RS-0013", "配件以旧充新", 120, None, 30),
)


@dataclass
class Loaded:
    proposed: int = 0
    approved: int = 0
    rejected: int = 0
    suspended: list[str] | None = None
    blacklisted: int = 0


def _principal(username: str) -> Principal | None:
    with unit_of_work(TenantContext.system_reader()) as session:
        user = auth_repository.user_by_username(session, username)
        return auth_service.principal_for_user(user) if user is not None else None


def _propose(tenant_id: int, principal: Principal, **values: Any) -> int:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        return service.propose(session, principal, **values).id


def _findings(tenant_id: int) -> list[tuple[int, str, str, int]]:
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        rows = session.execute(
            select(
                InspectionFinding.id,
                InspectionFinding.number,
                InspectionFinding.severity,
                InspectionFinding.responsible_user_id,
            )
            .where(InspectionFinding.responsible_user_id.is_not(None))
            .order_by(InspectionFinding.id)
            .limit(3)
        )
        return [(int(i), str(n), str(s), int(u)) for i, n, s, u in rows if u is not None]


def load(tenant_ids: list[int], now: dt.datetime) -> Loaded:
    loaded = Loaded(suspended=[])
    for tenant_id in tenant_ids:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            tenant = tenancy_repository.tenant_by_id(session, tenant_id)
            done = session.execute(select(func.count()).select_from(Sanction)).scalar_one()
        if tenant is None or done:
            continue
        prefix = tenant.code.lower()
        qm, inspector = _principal(f"{prefix}.qm"), _principal(f"{prefix}.inspector")
        suspended, repeat = _principal(f"{prefix}.adjuster03"), _principal(f"{prefix}.adjuster05")
        if qm is None or inspector is None or suspended is None or repeat is None:
            continue
        _from_findings(tenant_id, prefix, inspector, qm, now, loaded)
        _suspension(tenant_id, inspector, qm, suspended, now, loaded)
        _repeat_offender(tenant_id, inspector, qm, repeat, now, loaded)
        _blacklist(tenant_id, qm, now, loaded)
    return loaded


def _from_findings(
    tenant_id: int, prefix: str, inspector: Principal, qm: Principal, now: dt.datetime, loaded: Loaded
) -> None:
    found = _findings(tenant_id)
    if found:
        sources = [
            ("inspection_finding", fid, number, f"/inspections/findings/{fid}", _BY_SEVERITY.get(severity), user)
            for fid, number, severity, user in found
        ]
    else:
        adjuster = _principal(f"{prefix}.adjuster02")
        user_id = adjuster.user_id if adjuster is not None else None
        if user_id is None:
            return
        sources = [
            ("quality_review", 1, "品质回顾 第1项", "/sanctions", "PAYMENT_ERROR", user_id),
            ("quality_review", 2, "品质回顾 第2项", "/sanctions", "DEADLINE_MISSED", user_id),
        ]
    for index, (kind, source_id, label, url, code, user_id) in enumerate(sources):
        sanction_id = _propose(
            tenant_id,
            inspector,
            violation_code=code or "FILE_INCOMPLETE",
            user_id=user_id,
            party=None,
            source_kind=kind,
            source_id=source_id,
            source_label=label,
            source_url=url,
            reason="抽检发现，见问题记录",
            at=now - (6 - index) * DAY,
        )
        loaded.proposed += 1
        if index == 1:  # one is rejected; the others wait for the quality manager
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                service.reject(session, qm, sanction_id, "情节轻微，已当面提醒，不予处罚", at=now - 2 * DAY)
            loaded.rejected += 1


def _suspension(
    tenant_id: int, inspector: Principal, qm: Principal, adjuster: Principal, now: dt.datetime, loaded: Loaded
) -> None:
    sanction_id = _propose(
        tenant_id,
        inspector,
        violation_code="REPEATED_SERIOUS_ERROR",
        user_id=adjuster.user_id,
        party=None,
        source_kind="quality_review",
        source_id=100,
        source_label="专项检查：赔款计算与告知",
        source_url="/sanctions",
        # Chosen, not defaulted: when the sampled findings already named this adjuster twice, the repeat rule
        # would raise the default to dismissal, and the story is a 7-day suspension.
        kind="suspension",
        days=7,
        reason="连续三件赔款计算错误且未告知客户，情节严重",
        at=now - 2 * DAY,
    )
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        service.approve(session, qm, sanction_id, "同意暂停理赔处理权限7天", at=now - DAY)
    loaded.proposed += 1
    loaded.approved += 1
    assert loaded.suspended is not None
    loaded.suspended.append(adjuster.actor.removeprefix("user:"))


def _repeat_offender(
    tenant_id: int, inspector: Principal, qm: Principal, adjuster: Principal, now: dt.datetime, loaded: Loaded
) -> None:
    steps = (("MATERIALS_NOTICE", 200), ("CLAIMANT_NOT_TOLD", 90), ("FILE_INCOMPLETE", 10))
    for index, (code, days_ago) in enumerate(steps):
        sanction_id = _propose(
            tenant_id,
            inspector,
            violation_code=code,
            user_id=adjuster.user_id,
            party=None,
            source_kind="quality_review",
            source_id=200 + index,
            source_label=f"日常抽查 第{index + 1}次",
            source_url="/sanctions",
            reason="日常抽查发现",
            at=now - days_ago * DAY,
        )
        loaded.proposed += 1
        if index < 2:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                service.approve(session, qm, sanction_id, at=now - (days_ago - 1) * DAY)
            loaded.approved += 1


def _blacklist(tenant_id: int, qm: Principal, now: dt.datetime, loaded: Loaded) -> None:
    for kind, name, code, reason, days_ago, days, lifted_ago in BLACKLIST:
        listed_at = now - days_ago * DAY
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            starts_on = listed_at.date()
            entry = service.add_to_blacklist(
                session,
                qm,
                party_kind=kind,
                name=name,
                code=code,
                reason=reason,
                starts_on=starts_on,
                ends_on=starts_on + days * DAY if days else None,
                at=listed_at,
            )
            if lifted_ago is not None:
                service.lift_from_blacklist(session, qm, entry.id, "整改完毕，恢复合作", at=now - lifted_ago * DAY)
        loaded.blacklisted += 1
