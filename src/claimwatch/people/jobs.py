"""The licence warnings (worker pass ``people.jobs.run_licence_warnings()``, daily is enough): every licence in
force of an active person that ends within 30 days of the tenant's today is warned once (``warned_at``) — a
staff notice (kind ``licence_expiring``) to the person's own account, to their manager and to the tenant's
admins — and licences that ended in the last 30 days without a renewal are listed (the register and the inbox
show them as expired). One audit entry per tenant names the licences warned."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import structlog
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.people import repository, service
from claimwatch.people.models import StaffLicence, StaffMember

log = structlog.get_logger("claimwatch.people.jobs")
SYSTEM_ACTOR = "system:people"
NOTICE_KIND = "licence_expiring"
AUDIT_WARNED = "people.staff_licence_warned"


@dataclass
class WarnResult:
    warned: list[tuple[int, str, str]] = field(default_factory=list)  # (tenant, staff code, licence number)
    notices: int = 0
    expired: list[tuple[int, str, str]] = field(default_factory=list)


def _notice(licence: StaffLicence, staff: StaffMember, day: dt.date) -> tuple[str, str]:
    kind = service.label(service.LICENCE_KIND_LABELS, licence.kind, "zh")
    left = (licence.expires_on - day).days
    subject = f"执业资格即将到期：{staff.name}（{staff.code}）"
    body = (
        f"{staff.name}（{staff.code}）的{kind} {licence.number} 将于 {licence.expires_on.isoformat()} 到期"
        f"（还有 {left} 天），请及时续期；到期后不得从事需要该资格的业务。"
    )
    return subject, body


def _warn(session: Session, licence: StaffLicence, staff: StaffMember, day: dt.date, now: dt.datetime) -> int:
    subject, body = _notice(licence, staff, day)
    link = service.staff_url(staff.code)
    key = f"licence-expiring:{licence.id}"
    sent = 0
    for who, user_id in (("self", staff.user_id), ("manager", staff.manager_user_id)):
        if user_id is not None and notify_staff_notices.notify_user(
            session, staff.tenant_id, user_id, NOTICE_KIND, subject, body, f"{key}:{who}", now, link=link
        ):
            sent += 1
    if notify_staff_notices.notify_staff(
        session, staff.tenant_id, Role.ADMIN.value, NOTICE_KIND, subject, body, f"{key}:admin", now, link=link
    ):
        sent += 1
    licence.warned_at = now
    return sent


def warn_expiring(session: Session, now: dt.datetime | None = None) -> WarnResult:
    """Warn once of every licence ending within 30 days (of each tenant's local today) in the tenants the
    session sees, and list the unrenewed ones that ended in the last 30 days. The caller commits."""
    at = now or utc_now()
    result = WarnResult()
    # Candidates with a day's margin either side of UTC; each tenant's own day decides.
    utc_day = at.date()
    window = dt.timedelta(days=service.EXPIRING_DAYS + 1)
    candidates = repository.licences_expiring(
        session, None, utc_day - dt.timedelta(days=1), utc_day + window, unwarned=True
    )
    days: dict[int, dt.date] = {}
    warned: dict[int, list[str]] = {}
    for licence, staff in candidates:
        if licence.tenant_id not in days:
            days[licence.tenant_id] = service.today(session, licence.tenant_id, at)
        day = days[licence.tenant_id]
        if not day <= licence.expires_on <= day + dt.timedelta(days=service.EXPIRING_DAYS):
            continue
        result.notices += _warn(session, licence, staff, day, at)
        result.warned.append((licence.tenant_id, staff.code, licence.number))
        warned.setdefault(licence.tenant_id, []).append(f"{staff.code}:{licence.kind}:{licence.number}")
    for tenant_id, licences in warned.items():
        payload = {"licences": licences, "at": at.isoformat()}
        audit_service.record(session, tenant_id, AUDIT_WARNED, "licences", SYSTEM_ACTOR, payload)
    since = utc_day - dt.timedelta(days=service.EXPIRING_DAYS)
    for licence, staff in repository.licences_expired_without_successor(session, None, since, utc_day):
        result.expired.append((licence.tenant_id, staff.code, licence.number))
    session.flush()
    return result


def run_licence_warnings(now: dt.datetime | None = None) -> WarnResult:
    """The worker's pass: :func:`warn_expiring` over every tenant in one transaction (a few rows a day)."""
    with unit_of_work(TenantContext.system_context()) as session:
        result = warn_expiring(session, now)
    if result.warned or result.expired:
        log.info("licences: expiring warned, expired listed", warned=len(result.warned), expired=len(result.expired))
    return result
