"""Sanctions API (thin): the catalogue, proposing and deciding sanctions, violations per person, mandatory
trainings and the blacklist. A refusal is the one error body naming the field (422 for a fine or days outside
the catalogue's range, 409 for a sanction already decided)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Invalid, NotFound
from claimwatch.params import RowId
from claimwatch.sanctions import queries, repository, service
from claimwatch.sanctions.schemas import BlacklistIn, DecisionIn, ProposeIn, ReasonIn

router = APIRouter(prefix="/api/v1", tags=["sanctions"])

VIEW = Depends(require(Permission.VIEW_SANCTIONS))
PROPOSE = Depends(require(Permission.PROPOSE_SANCTIONS))
DECIDE = Depends(require(Permission.APPROVE_SANCTIONS))


def _sanction_id(session: TenantSession, number: str) -> int:
    found = repository.sanction_by_number(session, number)
    if found is None:
        raise NotFound("sanction", f"no sanction {number}")
    return found.id


@router.get("/sanctions/catalogue", summary="The violation catalogue: default sanctions, ranges, repeat rule")
def get_catalogue(session: TenantSession, principal: Principal = VIEW) -> dict[str, Any]:
    return service.catalogue(session, service.tenant_of(principal)).as_dict()


@router.get("/sanctions", summary="Sanctions, newest first (status: proposed, approved, rejected, revoked)")
def list_sanctions(
    request: Request,
    session: TenantSession,
    status: str | None = Query(default=None, max_length=16),
    principal: Principal = VIEW,
) -> list[dict[str, Any]]:
    if status is not None and status not in service.STATUSES:
        raise Invalid("status", f"status is one of {', '.join(service.STATUSES)}")
    return queries.sanctions(session, principal, request_locale(request), status)


@router.post("/sanctions", status_code=201, summary="Record a violation and propose its sanction (audited)")
def post_sanction(request: Request, body: ProposeIn, session: TenantSession, principal: Principal = PROPOSE) -> Any:
    user_id = body.user_id
    if body.username:
        if user_id is not None:
            raise Invalid("username", "name the staff member by user_id or username, not both")
        user = repository.user_in_tenant(session, service.tenant_of(principal), username=body.username)
        if user is None:
            raise Invalid("username", f"no staff member {body.username!r}")
        user_id = user.id
    sanction = service.propose(
        session,
        principal,
        violation_code=body.violation_code,
        user_id=user_id,
        party=body.party,
        party_kind=body.party_kind,
        source_kind=body.source_kind,
        source_id=body.source_id,
        source_label=body.source_label,
        source_url=body.source_url,
        kind=body.kind,
        amount_cny=body.amount_cny,
        days=body.days,
        reason=body.reason,
    )
    return queries.sanction(session, principal, request_locale(request), sanction.number)


@router.get("/sanctions/people", summary="Violations per person with the repeat count of the window")
def get_people(request: Request, session: TenantSession, principal: Principal = VIEW) -> dict[str, Any]:
    return queries.people(session, principal, request_locale(request))


@router.get("/sanctions/trainings", summary="Mandatory trainings of repeat offenders (open ones with open=true)")
def get_trainings(session: TenantSession, open: bool = False, principal: Principal = VIEW) -> list[dict[str, Any]]:
    service.tenant_of(principal)
    return queries.trainings(session, open_only=open)


@router.post("/sanctions/trainings/{training_id}/complete", summary="Record a mandatory training as completed")
def complete_training(training_id: RowId, session: TenantSession, principal: Principal = DECIDE) -> dict[str, Any]:
    training = service.complete_training(session, principal, training_id)
    return {"id": training.id, "completed_at": training.completed_at, "completed_by": training.completed_by}


@router.get("/sanctions/{number}", summary="One sanction with its violation, period and training")
def get_sanction(request: Request, number: str, session: TenantSession, principal: Principal = VIEW) -> dict[str, Any]:
    return queries.sanction(session, principal, request_locale(request), number)


@router.post("/sanctions/{number}/approve", summary="Approve (another quality manager than the proposer)")
def approve(
    request: Request, number: str, body: DecisionIn, session: TenantSession, principal: Principal = DECIDE
) -> dict[str, Any]:
    service.approve(session, principal, _sanction_id(session, number), body.note)
    return queries.sanction(session, principal, request_locale(request), number)


@router.post("/sanctions/{number}/reject", summary="Reject a proposed sanction, with the reason")
def reject(
    request: Request, number: str, body: ReasonIn, session: TenantSession, principal: Principal = DECIDE
) -> dict[str, Any]:
    service.reject(session, principal, _sanction_id(session, number), body.reason)
    return queries.sanction(session, principal, request_locale(request), number)


@router.post("/sanctions/{number}/revoke", summary="Revoke an approved sanction (lifts a suspension in force)")
def revoke(
    request: Request, number: str, body: ReasonIn, session: TenantSession, principal: Principal = DECIDE
) -> dict[str, Any]:
    service.revoke(session, principal, _sanction_id(session, number), body.reason)
    return queries.sanction(session, principal, request_locale(request), number)


@router.get("/blacklist", summary="The blacklist: staff, agents and third parties, lifted entries too")
def get_blacklist(
    request: Request, session: TenantSession, principal: Principal = Depends(require(Permission.VIEW_BLACKLIST))
) -> list[dict[str, Any]]:
    return queries.blacklist(session, principal, request_locale(request))


@router.get("/blacklist/check", summary="Whether a party is listed now (by code or name)")
def check_blacklist(
    session: TenantSession,
    party_kind: str = Query(max_length=16),
    q: str = Query(min_length=1, max_length=200),
    principal: Principal = Depends(require(Permission.VIEW_BLACKLIST)),
) -> dict[str, Any]:
    if party_kind not in service.PARTY_KINDS:
        raise Invalid("party_kind", f"party kind is one of {', '.join(service.PARTY_KINDS)}")
    entry = service.is_blacklisted(session, service.tenant_of(principal), party_kind, q)
    if entry is None:
        return {"listed": False}
    return {"listed": True, "id": entry.id, "name": entry.name, "reason": entry.reason, "ends_on": entry.ends_on}


@router.post("/blacklist", status_code=201, summary="List a party (audited)")
def post_blacklist(
    request: Request,
    body: BlacklistIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_BLACKLIST)),
) -> dict[str, Any]:
    entry = service.add_to_blacklist(
        session,
        principal,
        party_kind=body.party_kind,
        name=body.name,
        code=body.code,
        reason=body.reason,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
    )
    return {
        "id": entry.id,
        "name": entry.name,
        "code": entry.code,
        "starts_on": entry.starts_on,
        "ends_on": entry.ends_on,
    }


@router.post("/blacklist/{entry_id}/lift", summary="Lift a blacklist entry, with the reason (audited)")
def lift_blacklist(
    entry_id: RowId,
    body: ReasonIn,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.MANAGE_BLACKLIST)),
) -> dict[str, Any]:
    entry = service.lift_from_blacklist(session, principal, entry_id, body.reason)
    return {"id": entry.id, "lifted_at": entry.lifted_at, "lifted_by": entry.lifted_by}
