"""Imports every domain's tables so metadata (Alembic, tests) sees them all."""

from claimwatch.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from claimwatch.auth.models import ApiKey, User
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.tenancy.models import OrgUnit, Region, Tenant

__all__ = [
    "ApiKey",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "CaseEvent",
    "Claim",
    "OrgUnit",
    "Region",
    "Tenant",
    "User",
]
