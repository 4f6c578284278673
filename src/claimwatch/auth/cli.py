"""The command line's side of auth, for every domain's commands: the tenant a ``--tenant CODE`` names, and who the
audit trail names for a command-line run."""

from __future__ import annotations

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cli_output import fail
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.tenancy import repository as tenancy_repository


def tenant_id_of(code: str) -> int:
    """The insurer's id, or the command fails with one line naming the unknown code."""
    with unit_of_work(TenantContext.system_context()) as session:
        tenant = tenancy_repository.tenant_by_code(session, code)
        if tenant is None:
            raise fail(f"unknown tenant {code!r}")
        return tenant.id


def operator(tenant_id: int, source: str) -> Principal:
    """Who the audit trail names for a command-line run."""
    return Principal(role=Role.ADMIN, tenant_id=tenant_id, actor=f"cli:{source}"[:100])
