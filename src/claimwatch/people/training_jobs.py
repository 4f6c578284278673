"""Overdue mandatory training (worker pass ``people.training_jobs.run_overdue_training()``, daily is enough):
every mandatory course past its due date (the rules file's or a sanction's) is told once to the person's
manager — a staff notice of kind ``training_overdue`` (to the tenant's quality managers when the person has no
manager). Once: the notice's dedupe key names the person, the course and its due date, so the next due date of
a recurring course is told again. One audit entry per tenant names the people told."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.people import training
from claimwatch.people.models import StaffMember

log = structlog.get_logger("claimwatch.people.training_jobs")
SYSTEM_ACTOR = "system:training"
AUDIT_TOLD = "people.training_overdue"


@dataclass
class OverdueResult:
    told: list[tuple[int, str, str]] = field(default_factory=list)  # (tenant, staff code, course)
    notices: int = 0


def _notice(person: training.PersonRequirements, requirement: training.Requirement) -> tuple[str, str]:
    subject = f"培训逾期：{person.name}（{person.code}）"
    body = (
        f"{person.name}（{person.code}）的必修培训「{requirement.title}」应于 {requirement.due_on.isoformat()} 前完成，"
        "现已逾期，请督促尽快参加。"
    )
    return subject, body


def warn_overdue(session: Session, now: dt.datetime | None = None) -> OverdueResult:
    """Tell each person's manager of every overdue mandatory course, once, in the tenants the session sees.
    The caller commits."""
    at = now or utc_now()
    result = OverdueResult()
    tenants = sorted(set(session.execute(select(StaffMember.tenant_id).distinct()).scalars()))
    for tenant_id in tenants:
        day = training.today(session, tenant_id, at)
        told: list[str] = []
        for person in training.requirements(session, tenant_id, day):
            for requirement in person.requirements:
                if requirement.state != "overdue":
                    continue
                subject, body = _notice(person, requirement)
                key = f"training-overdue:{person.staff_id}:{requirement.source}:{requirement.course}"
                key = f"{key[:100]}:{requirement.due_on.isoformat()}"
                link = f"/people/{person.code}"
                if person.manager_user_id is not None:
                    sent = notify_staff_notices.notify_user(
                        session, tenant_id, person.manager_user_id, training.NOTICE_OVERDUE, subject, body, key, at,
                        link=link,
                    )  # fmt: skip
                else:
                    sent = notify_staff_notices.notify_staff(
                        session, tenant_id, Role.QUALITY_MANAGER.value, training.NOTICE_OVERDUE, subject, body, key,
                        at, org_unit_id=person.org_unit_id, link=link,
                    )  # fmt: skip
                if sent:
                    result.notices += 1
                    result.told.append((tenant_id, person.code, requirement.course))
                    told.append(f"{person.code}:{requirement.course}:{requirement.due_on.isoformat()}")
        if told:
            payload = {"overdue": told, "at": at.isoformat()}
            audit_service.record(session, tenant_id, AUDIT_TOLD, "training", SYSTEM_ACTOR, payload)
    session.flush()
    return result


def run_overdue_training(now: dt.datetime | None = None) -> OverdueResult:
    """The worker's pass: :func:`warn_overdue` over every tenant in one transaction."""
    with unit_of_work(TenantContext.system_context()) as session:
        result = warn_overdue(session, now)
    if result.told:
        log.info("training: overdue mandatory courses told", told=len(result.told))
    return result
