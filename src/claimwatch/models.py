"""Imports every domain's tables so metadata (Alembic, tests) sees them all."""

from claimwatch.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from claimwatch.auth.models import ApiKey, User
from claimwatch.calendar.models import BusinessHours, CalendarDay, CalendarYear
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.materials.models import MaterialsDocument, MaterialsNotice, MaterialsProfile
from claimwatch.notify.models import StaffNotification
from claimwatch.sla.models import Escalation, RegulatorFiling, SlaClock, SlaClockEvent
from claimwatch.tenancy.models import OrgUnit, Region, Tenant

__all__ = [
    "BusinessHours",
    "CalendarDay",
    "CalendarYear",
    "Escalation",
    "RegulatorFiling",
    "SlaClock",
    "SlaClockEvent",
    "StaffNotification",
    "ApiKey",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "CaseEvent",
    "Claim",
    "MaterialsDocument",
    "MaterialsNotice",
    "MaterialsProfile",
    "OrgUnit",
    "Region",
    "Tenant",
    "User",
]
