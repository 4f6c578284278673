"""Evidence routes (thin): signed tree heads, inclusion and consistency proofs, receipts (VIEW_EVIDENCE; a
regulator names the insurer with ``?tenant=CODE`` and reads only: a receipt that would need a new head is
refused until the insurer signs one), and the public list of signing keys (no sign-in)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from claimwatch.auth.deps import require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.schemas import TENANT_CODE_MAX
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid, NotFound
from claimwatch.evidence import service
from claimwatch.evidence.schemas import ConsistencyOut, HeadOut, HeadPage, InclusionOut, PublicKeyOut
from claimwatch.params import RowId
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])


@dataclass(frozen=True)
class Scope:
    """Whose tree a request reads, in a session narrowed to that insurer; ``sign``: may sign a head."""

    session: Session
    tenant_id: int
    code: str
    sign: bool


def evidence_scope(
    principal: Principal = Depends(require(Permission.VIEW_EVIDENCE)),
    tenant: str | None = Query(None, max_length=TENANT_CODE_MAX, description="insurer code; required for a regulator"),
) -> Iterator[Scope]:
    if principal.is_regulator:
        if not tenant:
            raise Invalid("tenant", "a regulator must name the insurer (?tenant=CODE)")
        with unit_of_work(principal.context()) as session:
            found = tenancy_repository.tenant_by_code(session, tenant)
            tenant_id, code = (found.id, found.code) if found is not None else (None, tenant)
        if tenant_id is None:
            raise NotFound("tenant", f"no insurer {tenant!r}")
        with unit_of_work(TenantContext.regulator_of(tenant_id)) as session:
            yield Scope(session, tenant_id, code, sign=False)
        return
    with unit_of_work(principal.context()) as session:
        assert principal.tenant_id is not None
        own = tenancy_repository.tenant_by_id(session, principal.tenant_id)
        assert own is not None
        if tenant is not None and tenant != own.code:
            raise NotFound("tenant", f"no insurer {tenant!r}")
        yield Scope(session, own.id, own.code, sign=True)


EvidenceScope = Annotated[Scope, Depends(evidence_scope, scope="function")]


@router.get("/heads", response_model=HeadPage, summary="Signed tree heads, largest tree first")
def list_heads(
    scope: EvidenceScope,
    limit: int = Query(50, ge=1, le=service.MAX_HEADS_PAGE),
    below_size: int | None = Query(None, ge=0, description="the next page: heads of smaller trees"),
) -> HeadPage:
    found = service.heads(scope.session, scope.tenant_id, limit, below_size)
    more = len(found) == limit
    return HeadPage(
        items=[HeadOut.of(head, scope.code) for head in found],
        next_below_size=found[-1].tree_size if more and found else None,
    )


@router.get("/heads/latest", response_model=HeadOut, summary="The newest signed tree head")
def latest_head(scope: EvidenceScope) -> HeadOut:
    return HeadOut.of(service.latest_head(scope.session, scope.tenant_id), scope.code)


@router.get("/proofs/inclusion", response_model=InclusionOut, summary="Inclusion proof of an audit entry")
def inclusion_proof(
    scope: EvidenceScope,
    seq: int = Query(..., ge=1, description="the audit entry (leaf seq - 1)"),
    size: int | None = Query(None, ge=1, description="tree size (default: the newest head's)"),
) -> InclusionOut:
    return InclusionOut.of(service.inclusion(scope.session, scope.tenant_id, seq, size), scope.code)


@router.get("/proofs/consistency", response_model=ConsistencyOut, summary="Consistency proof between tree sizes")
def consistency_proof(
    scope: EvidenceScope, first: int = Query(..., ge=0), second: int = Query(..., ge=0)
) -> ConsistencyOut:
    return ConsistencyOut.of(service.consistency(scope.session, scope.tenant_id, first, second), scope.code)


@router.get("/receipts/claims/{number}", summary="Receipt of a claim's events, documents and notices")
def claim_receipt(number: str, scope: EvidenceScope) -> dict[str, Any]:
    """Verify offline: ``claimwatch evidence verify RECEIPT.json [--document FILE] [--public-key HEX]``."""
    return service.receipt_for_claim(scope.session, scope.tenant_id, number, sign=scope.sign)


@router.get("/receipts/entries/{seq}", summary="Receipt of one audit entry")
def entry_receipt(seq: RowId, scope: EvidenceScope) -> dict[str, Any]:
    return service.receipt_for_entry(scope.session, scope.tenant_id, seq, sign=scope.sign)


@router.get("/keys", response_model=list[PublicKeyOut], summary="Every public signing key (no sign-in)")
def public_keys() -> list[PublicKeyOut]:
    """Each insurer's tree-head keys and the platform's witness key (tenant null), retired ones included:
    they still verify what they signed."""
    with unit_of_work(TenantContext.system_reader()) as session:
        codes = {tenant.id: tenant.code for tenant in tenancy_repository.all_tenants(session)}
        return [PublicKeyOut.of(key, codes) for key in service.public_keys(session)]


@router.post("/heads", response_model=HeadOut, status_code=201, summary="Sign a tree head now (admin)")
def sign_head(principal: Principal = Depends(require(Permission.MANAGE_EVIDENCE))) -> HeadOut:
    assert principal.tenant_id is not None  # MANAGE_EVIDENCE is an insurer admin's
    with unit_of_work(principal.context()) as session:
        head = service.sign_now(session, principal.tenant_id, principal)
        code = tenancy_repository.tenant_by_id(session, principal.tenant_id)
        assert code is not None
        return HeadOut.of(head, code.code)
