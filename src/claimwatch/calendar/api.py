from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, UploadFile
from pydantic import BaseModel, Field

from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.calendar import service
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Forbidden, Invalid, Problem
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])

MAX_CALENDAR_FILE = 256 * 1024


@router.get("/years", summary="Years with working-day data (built-in or loaded)")
def get_years(session: TenantSession, _: Principal = Depends(require(Permission.VIEW_CLAIMS))) -> list[dict[str, Any]]:
    return service.year_summaries(session)


@router.post("/years", summary="Load a year's holidays and make-up working days (YAML or CSV)", status_code=201)
async def post_year(
    file: UploadFile = File(..., description="YAML {year, holidays, workdays} or CSV date,kind,name"),
    principal: Principal = Depends(require(Permission.MANAGE_TENANT)),
) -> dict[str, Any]:
    platform = get_settings().platform_tenant
    with unit_of_work(TenantContext.system_context()) as session:
        own = tenancy_repository.tenant_by_id(session, principal.tenant_id) if principal.tenant_id else None
    if platform is None or own is None or own.code != platform:
        raise Forbidden(
            "role",
            "the national calendar is shared by every insurer: it is loaded by the platform operator "
            "(claimwatch calendar load FILE, or an admin of CLAIMWATCH_PLATFORM_TENANT)",
        )
    content = await file.read(MAX_CALENDAR_FILE + 1)
    if len(content) > MAX_CALENDAR_FILE:
        raise Problem(413, "file", f"larger than {MAX_CALENDAR_FILE} bytes")
    try:
        parsed = service.parse_year_file(content, file.filename or "calendar.yaml")
    except (service.CalendarFileError, UnicodeDecodeError) as exc:
        raise Invalid("file", str(exc)) from exc
    # The national calendar spans every tenant: the platform operator's change runs in the system context.
    with unit_of_work(TenantContext.system_context()) as session:
        loaded = service.load_year(session, parsed, principal.actor)
    return {
        "year": loaded.year,
        "holidays": len(parsed.arrangement.holidays),
        "workdays": len(parsed.arrangement.workdays),
        "deadlines_moved": loaded.deadlines_moved,
    }


class BusinessHoursIn(BaseModel):
    intervals: str = Field(examples=["09:00-12:00,13:30-17:30"], description="HH:MM-HH:MM, comma separated")


@router.get("/business-hours")
def get_business_hours(
    session: TenantSession, principal: Principal = Depends(require(Permission.VIEW_CLAIMS))
) -> dict[str, str]:
    if principal.tenant_id is None:
        raise Invalid("tenant", "business hours are per insurer")
    return {"intervals": service.business_hours_text(session, principal.tenant_id)}


@router.put("/business-hours")
def put_business_hours(
    body: BusinessHoursIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_TENANT)),
) -> dict[str, Any]:
    assert principal.tenant_id is not None
    changed = service.set_business_hours(session, principal.tenant_id, body.intervals, principal.actor)
    return {"intervals": changed.intervals, "deadlines_moved": changed.deadlines_moved}
