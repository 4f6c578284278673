"""Assignment routes (thin): load per handler, profiles, leave, the tenant's mode, rebalancing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from claimwatch.assignment import queries, repository, service
from claimwatch.assignment.schemas import LeaveIn, ModeIn, ProfileIn, RebalanceIn
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Forbidden
from claimwatch.params import RowId

router = APIRouter(prefix="/api/v1/assignment", tags=["assignment"])


def _tenant_only(principal: Principal) -> None:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "assignment belongs to one insurer; this account belongs to none")


@router.get("/load", summary="Load per handler (the caller's org subtree) and the unassigned queue")
def get_load(
    request: Request, session: TenantSession, principal: Principal = Depends(require(Permission.MANAGE_ASSIGNMENT))
) -> dict[str, Any]:
    _tenant_only(principal)
    view = queries.load_view(session, principal, request_locale(request))
    return {
        "mode": view.mode,
        "rules_version": view.rules_version,
        "handlers": view.handlers,
        "unassigned": {"claims": view.unassigned_claims, "complaints": view.unassigned_complaints},
    }


@router.get("/profiles", summary="Handler profiles")
def get_profiles(
    session: TenantSession, principal: Principal = Depends(require(Permission.MANAGE_ASSIGNMENT))
) -> list[dict[str, Any]]:
    _tenant_only(principal)
    return [
        {
            "username": user.username,
            "lines": profile.lines,
            "claim_types": profile.claim_types,
            "authority": None if profile.authority_fen is None else str(profile.authority_fen / 100),
            "org_unit_id": profile.org_unit_id,
            "region_codes": profile.region_codes,
            "capacity": profile.capacity,
            "handles_claims": profile.handles_claims,
            "handles_complaints": profile.handles_complaints,
            "green_channel": profile.green_channel,
            "active": profile.active,
        }
        for profile, user in repository.profiles(session)
    ]


@router.put("/profiles/{username}", summary="Create or change a handler's profile (audited)")
def put_profile(
    username: str,
    body: ProfileIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_ASSIGNMENT)),
) -> dict[str, Any]:
    _tenant_only(principal)
    change = service.ProfileChange(username=username, **body.model_dump())
    profile = service.save_profile(session, principal, change)
    return {"username": username, "capacity": profile.capacity, "active": profile.active}


@router.post("/leaves", status_code=201, summary="Record a leave period (no new work on those days)")
def post_leave(
    body: LeaveIn, session: TenantSession, principal: Principal = Depends(require(Permission.MANAGE_ASSIGNMENT))
) -> dict[str, Any]:
    _tenant_only(principal)
    leave = service.add_leave(session, principal, body.username, body.starts_on, body.ends_on, body.note)
    return {"id": leave.id, "username": body.username, "starts_on": leave.starts_on, "ends_on": leave.ends_on}


@router.delete("/leaves/{leave_id}", status_code=204, summary="Remove a leave period")
def delete_leave(
    leave_id: RowId, session: TenantSession, principal: Principal = Depends(require(Permission.MANAGE_ASSIGNMENT))
) -> None:
    _tenant_only(principal)
    service.remove_leave(session, principal, leave_id)


@router.put("/mode", summary="Switch the tenant between monitor and active (admin; audited)")
def put_mode(
    body: ModeIn, session: TenantSession, principal: Principal = Depends(require(Permission.MANAGE_TENANT))
) -> dict[str, Any]:
    _tenant_only(principal)
    found = service.set_mode(session, principal, body.mode)
    return {"mode": found.mode, "rules_version": service.rules().version}


@router.post("/rebalance", summary="Reassign selected cases to one handler, with a reason (audited)")
def post_rebalance(
    body: RebalanceIn,
    request: Request,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_ASSIGNMENT)),
) -> dict[str, Any]:
    _tenant_only(principal)
    done = service.rebalance(
        session, principal, body.claims, body.complaints, body.handler, body.reason, request_locale(request)
    )
    return {"handler": done.handler, "claims": done.claims, "complaints": done.complaints, "audit_seq": done.audit_seq}


@router.get("/decisions", summary="The latest decisions of the rules (monitor mode included)")
def get_decisions(
    request: Request, session: TenantSession, principal: Principal = Depends(require(Permission.MANAGE_ASSIGNMENT))
) -> list[dict[str, Any]]:
    _tenant_only(principal)
    return queries.load_view(session, principal, request_locale(request)).decisions
