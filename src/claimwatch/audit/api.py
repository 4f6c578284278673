from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from claimwatch.audit import service
from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Invalid
from claimwatch.params import RowId

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/verify")
def verify_chain(
    session: TenantSession,
    tenant_id: RowId | None = None,
    principal: Principal = Depends(require(Permission.VERIFY_AUDIT)),
) -> dict[str, Any]:
    """Re-hash the caller's chain (a regulator names the tenant) and report the first problem."""
    target = principal.tenant_id if principal.tenant_id is not None else tenant_id
    if target is None:
        raise Invalid("tenant_id", "a regulator must name the tenant to verify")
    report = service.verify(session, target)
    first = report.first_problem
    return {
        "tenant_id": target,
        "ok": report.ok,
        "entries_checked": report.entries_checked,
        "last_seq": report.last_seq,
        "first_problem": None if first is None else {"seq": first.seq, "what": first.what},
    }
