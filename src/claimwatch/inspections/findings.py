"""Findings (问题) of an inspection: severity 一般/较重/严重, a category of a small fixed list, the
responsible staff member and org unit (by default the case's handler and unit). A finding above 一般 opens
a rectification (整改, :mod:`claimwatch.rectification.service`); a sanction may be proposed from a finding
(:mod:`claimwatch.sanctions.service`). Also the findings list, its filters and CSV export.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import User
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Invalid, NotFound
from claimwatch.inspections import scoring
from claimwatch.inspections.models import Inspection, InspectionFinding
from claimwatch.rectification import service as rectification_service
from claimwatch.sanctions import service as sanctions_service
from claimwatch.sanctions.models import Sanction
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import N_, translate

SEVERITIES: dict[str, str] = {"minor": N_("Minor"), "major": N_("Major"), "severe": N_("Severe")}
RECTIFY = frozenset({"major", "severe"})  # above 一般: a rectification is opened
# The categories of a finding (data: a fixed list, labels zh/en through the catalogue).
CATEGORIES: dict[str, str] = {
    "timeliness": N_("Deadline missed"),
    "materials_notice": N_("Materials not requested at once"),
    "computation": N_("Payment computed wrongly"),
    "wrongful_rejection": N_("Unfounded rejection or under-payment"),
    "notice": N_("Claimant not informed properly"),
    "documentation": N_("File incomplete"),
    "conduct": N_("Conduct or attitude"),
    "mis_selling": N_("Mis-selling"),
    "other": N_("Other"),
}
SOURCE_KIND = "inspection_finding"
MAX_DESCRIPTION = 4000


def finding_url(finding_id: int) -> str:
    return f"/inspections/findings/{finding_id}"


def label(table: dict[str, str], code: str | None, locale: str) -> str:
    return translate(locale, table[code]) if code in table else (code or "")


def get(session: Session, finding_id: int) -> InspectionFinding:
    found = session.get(InspectionFinding, finding_id)
    if found is None:
        raise NotFound("finding", f"no finding {finding_id}")
    return found


def _user(session: Session, tenant_id: int, user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise Invalid(field, f"no user {user_id} at your company")
    return user


def _number(session: Session, tenant_id: int, at: dt.datetime) -> str:
    prefix = f"F-{at.year}-"
    count = session.execute(
        select(func.count()).select_from(InspectionFinding).where(InspectionFinding.number.like(f"{prefix}%"))
    ).scalar_one()
    return f"{prefix}{count + 1:06d}"


def _may_record(session: Session, principal: Principal, inspection: Inspection) -> None:
    if principal.can(Permission.MANAGE_INSPECTION_PLANS):  # a quality manager
        return
    review = scoring.review_of(session, inspection.id)
    if principal.user_id is not None and review is not None and review.reviewer_id == principal.user_id:
        return
    if principal.user_id is None or inspection.inspector_id != principal.user_id:
        raise Forbidden(
            "inspector", "only the inspection's inspector, its reviewer or a quality manager records findings"
        )


def record_finding(
    session: Session,
    principal: Principal,
    inspection_id: int,
    *,
    severity: str,
    category: str,
    description: str,
    item_code: str | None = None,
    responsible_user_id: int | None = None,
    responsible_org_unit_id: int | None = None,
    at: dt.datetime | None = None,
) -> InspectionFinding:
    """Record a finding; a major or severe one opens a rectification owned by the responsible unit and
    person (its id is kept on the finding)."""
    inspection = scoring.get(session, inspection_id)
    _may_record(session, principal, inspection)
    if inspection.status == scoring.ASSIGNED:
        raise Invalid("status", "start the inspection before recording findings")
    if severity not in SEVERITIES:
        raise Invalid("severity", f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    if category not in CATEGORIES:
        raise Invalid("category", f"category must be one of {', '.join(CATEGORIES)}, not {category!r}")
    text = (description or "").strip()
    if not text:
        raise Invalid("description", "describe the finding")
    if len(text) > MAX_DESCRIPTION:
        raise Invalid("description", f"at most {MAX_DESCRIPTION} characters")
    item = (item_code or "").strip() or None
    if item is not None and scoring.card_of(inspection).item(item) is None:
        raise Invalid("item_code", f"{item!r} is not an item of scorecard {inspection.scorecard_code!r}")
    user = _user(session, inspection.tenant_id, responsible_user_id or inspection.handler_id, "responsible_user_id")
    unit_id = responsible_org_unit_id or (user.org_unit_id if user and user.org_unit_id else None)
    unit_id = unit_id or inspection.org_unit_id
    if unit_id is not None:
        unit = session.get(OrgUnit, unit_id)
        if unit is None or unit.tenant_id != inspection.tenant_id:
            raise Invalid("responsible_org_unit_id", f"no org unit {unit_id} at your company")
    at = at or utc_now()
    finding = InspectionFinding(
        tenant_id=inspection.tenant_id,
        number=_number(session, inspection.tenant_id, at),
        inspection_id=inspection.id,
        item_code=item,
        severity=severity,
        category=category,
        description=text,
        responsible_user_id=user.id if user else None,
        responsible_org_unit_id=unit_id,
        created_by=principal.actor,
        created_at=at,
    )
    session.add(finding)
    session.flush()
    if severity in RECTIFY:
        rectification = rectification_service.open_rectification(
            session,
            inspection.tenant_id,
            source_kind=SOURCE_KIND,
            source_id=finding.id,
            source_label=finding.number,
            source_url=finding_url(finding.id),
            title=text[:200],
            severity=severity,
            owner_org_unit_id=unit_id,
            owner_user_id=user.id if user else None,
            actor=principal.actor,
            at=at,
        )
        finding.rectification_id = rectification.id
        session.flush()
    audit_service.record(
        session,
        inspection.tenant_id,
        "inspection.finding_recorded",
        finding.number,
        principal.actor,
        {
            "finding": finding.number,
            "inspection": inspection.id,
            "item": item,
            "severity": severity,
            "category": category,
            "responsible_user": user.username if user else None,
            "responsible_org_unit_id": unit_id,
            "rectification_id": finding.rectification_id,
            "at": at.isoformat(),
        },
    )
    return finding


def propose_sanction(
    session: Session,
    principal: Principal,
    finding_id: int,
    *,
    violation_code: str,
    reason: str,
    kind: str | None = None,
    amount_cny: Decimal | None = None,
    days: int | None = None,
    at: dt.datetime | None = None,
) -> Sanction:
    """Check the finding (it exists at the caller's company and names a responsible staff member), then
    propose the sanction through the sanctions domain, which validates it against its catalogue and audits."""
    finding = get(session, finding_id)
    if finding.responsible_user_id is None:
        raise Invalid("finding", "the finding names no responsible staff member to sanction")
    return sanctions_service.propose(
        session,
        principal,
        violation_code=violation_code,
        user_id=finding.responsible_user_id,
        party=None,
        source_kind=SOURCE_KIND,
        source_id=finding.id,
        source_label=finding.number,
        source_url=finding_url(finding.id),
        kind=kind,
        amount_cny=amount_cny,
        days=days,
        reason=reason,
        at=at,
    )


# -- the list, the page and the CSV ------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    severity: str | None = None
    category: str | None = None
    since: dt.datetime | None = None  # UTC, inclusive
    until: dt.datetime | None = None  # UTC, exclusive
    inspection_id: int | None = None


def _query(filters: Filters) -> Select[InspectionFinding, Inspection, str, str]:
    responsible = aliased(User)
    unit = aliased(OrgUnit)
    query = (
        select(InspectionFinding, Inspection, responsible.display_name, unit.name)
        .join(Inspection, Inspection.id == InspectionFinding.inspection_id)
        .outerjoin(responsible, responsible.id == InspectionFinding.responsible_user_id)
        .outerjoin(unit, unit.id == InspectionFinding.responsible_org_unit_id)
    )
    if filters.severity:
        query = query.where(InspectionFinding.severity == filters.severity)
    if filters.category:
        query = query.where(InspectionFinding.category == filters.category)
    if filters.since:
        query = query.where(InspectionFinding.created_at >= filters.since)
    if filters.until:
        query = query.where(InspectionFinding.created_at < filters.until)
    if filters.inspection_id:
        query = query.where(InspectionFinding.inspection_id == filters.inspection_id)
    return query.order_by(InspectionFinding.created_at.desc(), InspectionFinding.id.desc())


def rows(session: Session, filters: Filters, locale: str, limit: int = 500) -> list[dict[str, Any]]:
    found = []
    for finding, inspection, person, unit_name in session.execute(_query(filters).limit(limit)):
        found.append(as_dict(finding, inspection, locale) | {"responsible": person or "", "org_unit": unit_name or ""})
    return found


def as_dict(finding: InspectionFinding, inspection: Inspection, locale: str) -> dict[str, Any]:
    return {
        "id": finding.id,
        "number": finding.number,
        "url": finding_url(finding.id),
        "inspection_id": finding.inspection_id,
        "subject": f"{inspection.subject_kind}:{inspection.subject_id}",
        "item_code": finding.item_code,
        "severity": finding.severity,
        "severity_label": label(SEVERITIES, finding.severity, locale),
        "category": finding.category,
        "category_label": label(CATEGORIES, finding.category, locale),
        "description": finding.description,
        "responsible_user_id": finding.responsible_user_id,
        "responsible_org_unit_id": finding.responsible_org_unit_id,
        "rectification_id": finding.rectification_id,
        "created_by": finding.created_by,
        "created_at": finding.created_at,
    }


CSV_COLUMNS = (
    ("number", N_("Finding")),
    ("created_at", N_("Recorded at")),
    ("severity_label", N_("Severity")),
    ("category_label", N_("Category")),
    ("subject", N_("Inspected record")),
    ("item_code", N_("Scorecard item")),
    ("responsible", N_("Responsible")),
    ("org_unit", N_("Org unit")),
    ("description", N_("Description")),
    ("rectification_id", N_("Rectification")),
    ("created_by", N_("Recorded by")),
)


def to_csv(items: list[dict[str, Any]], locale: str, zone: ZoneInfo) -> str:
    """UTF-8 with a BOM (Excel opens it right), headers in the reader's language, times in local time."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([translate(locale, title) for _, title in CSV_COLUMNS])
    for item in items:
        row = []
        for key, _ in CSV_COLUMNS:
            value = item.get(key)
            if isinstance(value, dt.datetime):
                aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
                value = aware.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            text = "" if value is None else str(value)
            row.append("'" + text if text[:1] in ("=", "+", "-", "@") else text)  # never a formula
        writer.writerow(row)
    return out.getvalue()
