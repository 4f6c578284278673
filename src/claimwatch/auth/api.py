"""``GET /api/v1/auth/logins``: the record of sign-ins to the caller's insurer's accounts (who, when, from
where, and whether it succeeded, failed or was refused by a lock), for quality managers and admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from claimwatch.auth import repository
from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.models import LoginOutcome
from claimwatch.auth.principal import Permission, Principal
from claimwatch.auth.schemas import LoginRecordOut, LoginRecordPage
from claimwatch.auth.service import MAX_USERNAME
from claimwatch.errors import Invalid
from claimwatch.params import checked_instant

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.get("/logins", response_model=LoginRecordPage, summary="Sign-ins and sign-outs (newest first)")
def get_logins(
    session: TenantSession,
    since: AwareDatetime | None = Query(None, description="at or after (ISO 8601 with offset)"),
    until: AwareDatetime | None = Query(None, description="before (ISO 8601 with offset)"),
    outcome: LoginOutcome | None = Query(None, description="success, failure, locked or logout"),
    username: str | None = Query(None, min_length=1, max_length=MAX_USERNAME),
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(require(Permission.VIEW_ACCESS_LOG)),
) -> dict[str, Any]:
    """Attempts with a name that is no account are not kept (it is often a password typed in the wrong
    field); they count against the client address all the same."""
    if principal.tenant_id is None:
        raise Invalid("tenant", "this account belongs to no tenant")
    total, rows = repository.login_records(
        session,
        principal.tenant_id,
        since=checked_instant("since", since),
        until=checked_instant("until", until),
        outcome=outcome,
        username=username,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    items = [LoginRecordOut.model_validate(row, from_attributes=True) for row in rows]
    return {"total": total, "page": page, "page_size": page_size, "items": items}
